// The front end of tfscourse.widgets.AttentionExplorer, loaded by anywidget.
//
// Plain JavaScript in one ES module: no build step, nothing fetched from the network.
// The kernel sends, once per set of maps:
//   map_info [{label, query_tokens, key_tokens, heads, head_names, n_q, n_k, offset, mask_offset,
//              self_attention}]
//   weights  float32 bytes, every map's (heads, n_q, n_k) weights one after the other
//   masked   uint8 bytes, 1 where a query may not attend to a key (maps without a mask: none)
//   palette  colour stops (hex) of a colour-blind-friendly colour map, low to high
// and the view state it shares with Python: selected_index (map), head (-1: all heads as
// small multiples), view ("heatmap" | "lines") and focus (the clicked token or cell); message
// is a line of text from Python (e.g. why a typed sentence could not be shown).
// Hovering only redraws a thin overlay on top of cached images, so a few hundred tokens
// stay responsive. The root element's data-* attributes say what is drawn (for tests).

const MASKED_RGB = [221, 221, 221];
const HATCH_COLOUR = "#8a8a8a";
const ATTENDS_TO = "#D55E00"; // Okabe-Ito vermillion: what the focused token attends to
const ATTENDED_BY = "#009E73"; // Okabe-Ito bluish green: what attends to the focused token
const LINE_COLOUR = "#0072B2"; // Okabe-Ito blue: the lines of the lines view
const SINGLE_PX = 520; // the longer side of a single heatmap or lines diagram
const SMALL_PX = 210; // the same for each small multiple
const WIDTH_BUCKETS = 24; // lines are stroked in this many batches of equal width

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function asBytes(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

function asFloat32(value) {
  const bytes = asBytes(value);
  const copy = new Uint8Array(bytes.byteLength); // aligned copy: a view may start at any offset
  copy.set(bytes);
  return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
}

function paletteTable(stops) {
  // 256 RGB triples interpolated linearly between the colour stops.
  const rgb = stops.map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
  const table = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) {
    const x = (k / 255) * (rgb.length - 1);
    const lo = Math.min(Math.floor(x), rgb.length - 2);
    const t = x - lo;
    for (let c = 0; c < 3; c++) table[3 * k + c] = rgb[lo][c] * (1 - t) + rgb[lo + 1][c] * t;
  }
  return table;
}

function hatchPattern(ctx) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 6;
  const t = tile.getContext("2d");
  t.fillStyle = `rgb(${MASKED_RGB.join(",")})`;
  t.fillRect(0, 0, 6, 6);
  t.strokeStyle = HATCH_COLOUR;
  t.lineWidth = 1;
  t.beginPath();
  t.moveTo(0, 6); t.lineTo(6, 0);
  t.moveTo(-1, 1); t.lineTo(1, -1);
  t.moveTo(5, 7); t.lineTo(7, 5);
  t.stroke();
  return ctx.createPattern(tile, "repeat");
}

function shortLabel(token, max = 14) {
  const text = String(token).replace(/\n/g, "⏎").replace(/\t/g, "⇥");
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function fmt(value) {
  return value >= 0.995 ? value.toFixed(2) : value.toFixed(3).replace(/^0\./, ".");
}

// One map's numbers: weights, masks and the largest weight (the top of the colour scale).
class MapData {
  constructor(meta, weights, masked) {
    Object.assign(this, meta);
    this.weights = weights;
    this.masked = masked;
    let top = 0;
    for (let h = 0; h < this.heads; h++) {
      for (let i = 0; i < this.n_q; i++) {
        for (let j = 0; j < this.n_k; j++) {
          if (!this.isMasked(h, i, j)) top = Math.max(top, this.value(h, i, j));
        }
      }
    }
    this.top = top > 0 ? top : 1;
  }
  index(h, i, j) { return (h * this.n_q + i) * this.n_k + j; }
  value(h, i, j) { return this.weights[this.offset + this.index(h, i, j)]; }
  isMasked(h, i, j) { return this.mask_offset >= 0 && this.masked[this.mask_offset + this.index(h, i, j)] === 1; }
  // The weight shown for a token chip: one head's, or the mean over heads when all are shown.
  shown(head, i, j) {
    if (head >= 0) return this.value(head, i, j);
    let sum = 0;
    for (let h = 0; h < this.heads; h++) sum += this.value(h, i, j);
    return sum / this.heads;
  }
  maskedShown(head, i, j) {
    if (head >= 0) return this.isMasked(head, i, j);
    for (let h = 0; h < this.heads; h++) if (!this.isMasked(h, i, j)) return false;
    return true;
  }
}

// One drawing (a heatmap or a lines diagram) of one head of one map, on its own canvas.
// The full picture is drawn once into an off-screen canvas; a focus change redraws that
// image plus an overlay.
class Panel {
  constructor(explorer, data, head, small) {
    this.explorer = explorer;
    this.data = data;
    this.head = head;
    this.small = small;
    this.canvas = make("canvas", "tfs-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.layout();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(this.width * dpr);
    this.canvas.height = Math.ceil(this.height * dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.base = document.createElement("canvas");
    this.base.width = this.canvas.width;
    this.base.height = this.canvas.height;
    const b = this.base.getContext("2d");
    b.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawBase(b);
    this.canvas.addEventListener("mousemove", (event) => this.onMove(event));
    this.canvas.addEventListener("mouseleave", () => explorer.setHover(null));
    this.canvas.addEventListener("click", (event) => {
      const hit = this.hit(event);
      if (hit) explorer.togglePin(hit);
    });
  }

  font(px) { return `${px}px ui-sans-serif, system-ui, sans-serif`; }

  labelStep(px) { return Math.max(1, Math.ceil(11 / px)); }

  measure(tokens, px, step) {
    this.ctx.font = this.font(px);
    let widest = 0;
    tokens.forEach((t, k) => { if (k % step === 0) widest = Math.max(widest, this.ctx.measureText(shortLabel(t)).width); });
    return Math.ceil(widest);
  }

  pointer(event) {
    const box = this.canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  onMove(event) {
    const hit = this.hit(event);
    this.explorer.setHover(hit);
  }

  draw(focus) {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.restore();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (focus) this.drawFocus(ctx, focus);
  }
}

class HeatmapPanel extends Panel {
  layout() {
    const d = this.data;
    const longest = Math.max(d.n_q, d.n_k);
    this.cell = Math.max(1, Math.min(40, Math.floor((this.small ? SMALL_PX : SINGLE_PX) / longest)));
    this.fontPx = this.small ? 9 : Math.max(9, Math.min(12, Math.floor(this.cell * 0.7)));
    this.rowStep = this.labelStep(this.cell);
    const showLabels = !this.small || this.cell >= 10;
    this.left = showLabels ? Math.min(110, this.measure(d.query_tokens, this.fontPx, this.rowStep) + 8) : 4;
    this.top = showLabels ? Math.min(90, Math.ceil(this.measure(d.key_tokens, this.fontPx, this.rowStep) * 0.75) + 12) : 4;
    this.showLabels = showLabels;
    this.width = this.left + this.cell * d.n_k + 4;
    this.height = this.top + this.cell * d.n_q + 4;
    Object.assign(this.canvas.dataset, { left: this.left, top: this.top, cell: this.cell, head: this.head });
  }

  drawBase(b) {
    const d = this.data;
    const h = this.head;
    const table = this.explorer.table;
    const image = new ImageData(d.n_k, d.n_q);
    const mask = new ImageData(d.n_k, d.n_q);
    let anyMasked = false;
    for (let i = 0; i < d.n_q; i++) {
      for (let j = 0; j < d.n_k; j++) {
        const p = 4 * (i * d.n_k + j);
        if (d.isMasked(h, i, j)) {
          image.data.set(MASKED_RGB, p);
          mask.data[p + 3] = 255;
          anyMasked = true;
        } else {
          const k = 3 * Math.max(0, Math.min(255, Math.round((255 * d.value(h, i, j)) / d.top)));
          image.data[p] = table[k]; image.data[p + 1] = table[k + 1]; image.data[p + 2] = table[k + 2];
        }
        image.data[p + 3] = 255;
      }
    }
    const w = this.cell * d.n_k;
    const hgt = this.cell * d.n_q;
    b.fillStyle = "#fff";
    b.fillRect(0, 0, this.width, this.height);
    b.imageSmoothingEnabled = false;
    b.drawImage(this.scaled(image, w, hgt), this.left, this.top, w, hgt);
    if (anyMasked) {
      const hatch = this.scaled(mask, w, hgt);
      const hc = hatch.getContext("2d");
      hc.globalCompositeOperation = "source-in";
      hc.fillStyle = hatchPattern(hc);
      hc.fillRect(0, 0, hatch.width, hatch.height);
      b.drawImage(hatch, this.left, this.top, w, hgt);
    }
    if (this.cell >= 28) this.writeValues(b);
    if (this.showLabels) this.writeLabels(b);
    b.strokeStyle = "#999";
    b.lineWidth = 1;
    b.strokeRect(this.left - 0.5, this.top - 0.5, w + 1, hgt + 1);
  }

  scaled(image, w, h) {
    // Nearest-neighbour upscaling of a one-pixel-per-cell image.
    const small = document.createElement("canvas");
    small.width = image.width;
    small.height = image.height;
    small.getContext("2d").putImageData(image, 0, 0);
    const big = document.createElement("canvas");
    big.width = w;
    big.height = h;
    const c = big.getContext("2d");
    c.imageSmoothingEnabled = false;
    c.drawImage(small, 0, 0, w, h);
    return big;
  }

  writeValues(b) {
    const d = this.data;
    b.font = this.font(Math.min(12, Math.floor(this.cell * 0.36)));
    b.textAlign = "center";
    b.textBaseline = "middle";
    for (let i = 0; i < d.n_q; i++) {
      for (let j = 0; j < d.n_k; j++) {
        if (d.isMasked(this.head, i, j)) continue;
        const v = d.value(this.head, i, j);
        b.fillStyle = v / d.top > 0.6 ? "#000" : "#fff"; // the palette is dark at the bottom
        b.fillText(fmt(v), this.left + (j + 0.5) * this.cell, this.top + (i + 0.5) * this.cell);
      }
    }
  }

  writeLabels(b) {
    const d = this.data;
    b.fillStyle = "#222";
    b.font = this.font(this.fontPx);
    b.textAlign = "right";
    b.textBaseline = "middle";
    for (let i = 0; i < d.n_q; i += this.rowStep) {
      b.fillText(shortLabel(d.query_tokens[i]), this.left - 4, this.top + (i + 0.5) * this.cell);
    }
    b.textAlign = "left";
    for (let j = 0; j < d.n_k; j += this.rowStep) {
      b.save();
      b.translate(this.left + (j + 0.5) * this.cell, this.top - 4);
      b.rotate(-Math.PI / 4);
      b.fillText(shortLabel(d.key_tokens[j]), 0, 0);
      b.restore();
    }
  }

  hit(event) {
    const [x, y] = this.pointer(event);
    const d = this.data;
    const j = Math.floor((x - this.left) / this.cell);
    const i = Math.floor((y - this.top) / this.cell);
    const inRows = i >= 0 && i < d.n_q;
    const inCols = j >= 0 && j < d.n_k;
    if (inRows && inCols) return { query: i, key: j, head: this.head, cell: true };
    if (inRows && x < this.left) return this.explorer.tokenFocus("query", i, this.head);
    if (inCols && y < this.top) return this.explorer.tokenFocus("key", j, this.head);
    return null;
  }

  drawFocus(ctx, focus) {
    const d = this.data;
    const w = this.cell * d.n_k;
    const hgt = this.cell * d.n_q;
    const band = (x, y, bw, bh, colour) => {
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#000";
      ctx.strokeRect(x - 1, y - 1, bw + 2, bh + 2);
      ctx.lineWidth = 2;
      ctx.strokeStyle = colour;
      ctx.strokeRect(x - 1, y - 1, bw + 2, bh + 2);
    };
    if (focus.query !== null) band(this.left, this.top + focus.query * this.cell, w, this.cell, ATTENDS_TO);
    if (focus.key !== null) band(this.left + focus.key * this.cell, this.top, this.cell, hgt, ATTENDED_BY);
    if (focus.query !== null && focus.key !== null && focus.cell) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(this.left + focus.key * this.cell + 1, this.top + focus.query * this.cell + 1,
        Math.max(1, this.cell - 2), Math.max(1, this.cell - 2));
    }
  }
}

class LinesPanel extends Panel {
  layout() {
    const d = this.data;
    const longest = Math.max(d.n_q, d.n_k);
    const span = this.small ? SMALL_PX : SINGLE_PX;
    this.row = Math.max(1, Math.min(this.small ? 16 : 24, Math.floor(span / longest)));
    this.fontPx = this.small ? 9 : Math.max(9, Math.min(12, Math.floor(this.row * 0.7)));
    this.rowStep = this.labelStep(this.row);
    this.span = this.row * longest;
    this.labelsLeft = Math.min(this.small ? 60 : 110, this.measure(d.query_tokens, this.fontPx, this.rowStep) + 6);
    this.labelsRight = Math.min(this.small ? 60 : 110, this.measure(d.key_tokens, this.fontPx, this.rowStep) + 6);
    this.gap = this.small ? 70 : 220;
    this.top = 6;
    this.x0 = this.labelsLeft + 4;
    this.x1 = this.x0 + this.gap;
    this.maxWidth = this.small ? 3 : Math.max(2, Math.min(10, this.row * 0.8));
    this.width = this.x1 + 6 + this.labelsRight;
    this.height = this.top * 2 + this.span;
  }

  yQuery(i) { return this.top + ((i + 0.5) * this.span) / this.data.n_q; }

  yKey(j) { return this.top + ((j + 0.5) * this.span) / this.data.n_k; }

  strokeLines(b, pairs, colour, alphaFloor, maxWidth = this.maxWidth) {
    // pairs: [i, j, weight]; batched by width so that thousands of lines cost a few strokes.
    // Width is proportional to the weight: maxWidth pixels for the map's largest weight.
    const buckets = Array.from({ length: WIDTH_BUCKETS }, () => []);
    for (const [i, j, v] of pairs) {
      const k = Math.min(WIDTH_BUCKETS - 1, Math.floor((v / this.data.top) * WIDTH_BUCKETS));
      if ((v / this.data.top) * maxWidth < 0.05) continue; // thinner than a twentieth of a pixel: invisible
      buckets[k].push(i, j);
    }
    b.strokeStyle = colour;
    buckets.forEach((list, k) => {
      if (!list.length) return;
      const level = (k + 0.5) / WIDTH_BUCKETS;
      b.lineWidth = Math.max(0.25, level * maxWidth);
      b.globalAlpha = alphaFloor + (1 - alphaFloor) * level;
      b.beginPath();
      for (let n = 0; n < list.length; n += 2) {
        b.moveTo(this.x0, this.yQuery(list[n]));
        b.lineTo(this.x1, this.yKey(list[n + 1]));
      }
      b.stroke();
    });
    b.globalAlpha = 1;
  }

  pairs(filter) {
    const d = this.data;
    const out = [];
    for (let i = 0; i < d.n_q; i++) {
      for (let j = 0; j < d.n_k; j++) {
        if (filter && !filter(i, j)) continue;
        if (!d.isMasked(this.head, i, j)) out.push([i, j, d.value(this.head, i, j)]);
      }
    }
    return out;
  }

  drawBase(b) {
    b.fillStyle = "#fff";
    b.fillRect(0, 0, this.width, this.height);
    this.strokeLines(b, this.pairs(null), LINE_COLOUR, 0.25);
    this.writeLabels(b, null);
  }

  writeLabels(b, focus) {
    const d = this.data;
    b.font = this.font(this.fontPx);
    b.textBaseline = "middle";
    const maskedKey = (j) => focus && focus.query !== null && d.isMasked(this.head, focus.query, j);
    for (let i = 0; i < d.n_q; i++) {
      const focused = focus && focus.query === i;
      if (i % this.rowStep && !focused) continue;
      b.textAlign = "right";
      b.fillStyle = focused ? ATTENDS_TO : "#222";
      b.fillText(shortLabel(d.query_tokens[i]), this.x0 - 4, this.yQuery(i));
    }
    const step = this.span / d.n_k;
    for (let j = 0; j < d.n_k; j++) {
      const focused = focus && focus.key === j;
      if (maskedKey(j)) { // masked for the focused query: a hatched mark, not a zero-width line
        b.fillStyle = this.hatch || (this.hatch = hatchPattern(b));
        b.fillRect(this.x1, this.yKey(j) - step / 2, 4, Math.max(1, step));
      }
      if (j % this.rowStep && !focused) continue;
      b.textAlign = "left";
      b.fillStyle = focused ? ATTENDED_BY : maskedKey(j) ? "#999" : "#222";
      b.fillText(shortLabel(d.key_tokens[j]), this.x1 + 6, this.yKey(j));
    }
  }

  hit(event) {
    const [x, y] = this.pointer(event);
    const d = this.data;
    if (x < this.x0 + 6) {
      const i = Math.floor(((y - this.top) * d.n_q) / this.span);
      if (i >= 0 && i < d.n_q) return this.explorer.tokenFocus("query", i, this.head);
    } else if (x > this.x1 - 6) {
      const j = Math.floor(((y - this.top) * d.n_k) / this.span);
      if (j >= 0 && j < d.n_k) return this.explorer.tokenFocus("key", j, this.head);
    }
    return null;
  }

  drawFocus(ctx, focus) {
    ctx.fillStyle = "rgba(255,255,255,0.75)"; // fade the full picture, then draw the focus on top
    ctx.fillRect(0, 0, this.width, this.height);
    // The focused token's lines are drawn wider (same scale for all of them), to stand out of the fan.
    const wide = Math.max(this.maxWidth, this.small ? 5 : 12);
    if (focus.query !== null) this.strokeLines(ctx, this.pairs((i) => i === focus.query), ATTENDS_TO, 0.6, wide);
    if (focus.key !== null) this.strokeLines(ctx, this.pairs((i, j) => j === focus.key), ATTENDED_BY, 0.6, wide);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.x0, this.height);
    ctx.fillRect(this.x1, 0, this.width - this.x1, this.height);
    this.writeLabels(ctx, focus);
  }
}

class Explorer {
  constructor(model, el) {
    this.model = model;
    this.root = make("div", "tfs-attn");
    el.appendChild(this.root);
    this.renders = 0;
    this.hover = null;
    this.panels = [];
    this.buildControls();
    this.handlers = [
      ["change:map_info change:weights change:masked change:palette", () => this.load()],
      ["change:selected_index change:head change:view", () => this.render()],
      ["change:focus", () => this.drawFocus()],
      ["change:title", () => { this.title.textContent = model.get("title"); }],
      ["change:message", () => { this.message.textContent = model.get("message"); }],
    ];
    for (const [events, handler] of this.handlers) model.on(events, handler);
    this.load();
  }

  dispose() {
    for (const [events, handler] of this.handlers) this.model.off(events, handler);
  }

  buildControls() {
    this.title = make("div", "tfs-title", this.model.get("title"));
    const bar = make("div", "tfs-controls");
    this.mapLabel = make("label", "tfs-field", "show ");
    this.mapSelect = make("select", "tfs-map");
    this.mapLabel.appendChild(this.mapSelect);
    this.headLabel = make("label", "tfs-field", "head ");
    this.headSelect = make("select", "tfs-head");
    this.headLabel.appendChild(this.headSelect);
    this.viewButtons = {};
    const views = make("span", "tfs-views");
    for (const view of ["heatmap", "lines"]) {
      const button = make("button", "tfs-view", view);
      button.type = "button";
      button.addEventListener("click", () => this.save({ view }));
      views.appendChild(button);
      this.viewButtons[view] = button;
    }
    this.clearButton = make("button", "tfs-clear", "clear pin");
    this.clearButton.type = "button";
    this.clearButton.addEventListener("click", () => this.save({ focus: {} }));
    bar.append(this.mapLabel, this.headLabel, views, this.clearButton);
        this.mapSelect.addEventListener("change", () => this.save({ selected_index: Number(this.mapSelect.value) }));
    this.headSelect.addEventListener("change", () => this.save({ head: Number(this.headSelect.value) }));
    this.message = make("div", "tfs-message", this.model.get("message"));
    this.readout = make("div", "tfs-readout", " ");
    this.tokens = make("div", "tfs-tokens");
    this.stage = make("div", "tfs-stage");
    this.legend = make("div", "tfs-legend");
    this.root.append(this.title, this.message, bar, this.tokens, this.readout, this.stage, this.legend);
  }

  save(changes) {
    for (const [key, value] of Object.entries(changes)) this.model.set(key, value);
    this.model.save_changes(); // set() has already fired the change events that redraw
  }

  load() {
    const weights = asFloat32(this.model.get("weights"));
    const masked = asBytes(this.model.get("masked"));
    this.table = paletteTable(this.model.get("palette"));
    this.maps = this.model.get("map_info").map((meta) => new MapData(meta, weights, masked));
    this.mapSelect.replaceChildren(...this.maps.map((m, k) => {
      const option = make("option", null, m.label);
      option.value = String(k);
      return option;
    }));
    this.mapLabel.style.display = this.maps.length > 1 ? "" : "none";
    this.hover = null;
    this.render();
  }

  current() {
    const k = Math.max(0, Math.min(this.maps.length - 1, this.model.get("selected_index")));
    return this.maps[k];
  }

  currentHead(data) {
    const head = this.model.get("head");
    return data.heads === 1 ? 0 : head >= data.heads ? -1 : head;
  }

  render() {
    const started = performance.now();
    const data = this.current();
    if (!data) return;
    const head = this.currentHead(data);
    const view = this.model.get("view") === "lines" ? "lines" : "heatmap";
    this.mapSelect.value = String(this.maps.indexOf(data));
    this.headSelect.replaceChildren(...[-1, ...Array.from({ length: data.heads }, (_, h) => h)].map((h) => {
      const option = make("option", null, h < 0 ? `all ${data.heads} side by side` : data.head_names[h]);
      option.value = String(h);
      return option;
    }));
    this.headSelect.value = String(head);
    this.headLabel.style.display = data.heads > 1 ? "" : "none";
    for (const [name, button] of Object.entries(this.viewButtons)) button.classList.toggle("tfs-active", name === view);
    this.hover = null; // the chips and canvases under the pointer are about to be replaced
    this.buildTokens(data);
    const Kind = view === "lines" ? LinesPanel : HeatmapPanel;
    const heads = head >= 0 ? [head] : Array.from({ length: data.heads }, (_, h) => h);
    this.panels = heads.map((h) => new Kind(this, data, h, heads.length > 1));
    this.stage.classList.toggle("tfs-multiples", heads.length > 1);
    this.stage.replaceChildren(...this.panels.map((panel) => {
      if (heads.length === 1) return panel.canvas;
      const figure = make("figure", "tfs-small");
      const caption = make("button", "tfs-small-title", data.head_names[panel.head]);
      caption.type = "button";
      caption.title = "show this head alone";
      caption.addEventListener("click", () => this.save({ head: panel.head }));
      figure.append(caption, panel.canvas);
      return figure;
    }));
    this.buildLegend(data, view);
    this.data = data;
    this.renders += 1;
    Object.assign(this.root.dataset, { map: data.label, head: String(head), view, renders: String(this.renders) });
    this.drawFocus();
    this.root.dataset.renderMs = (performance.now() - started).toFixed(1);
  }

  buildTokens(data) {
    const row = (side, tokens, caption) => {
      const line = make("div", "tfs-token-row");
      line.appendChild(make("span", "tfs-token-caption", caption));
      const chips = tokens.map((token, k) => {
        const chip = make("span", "tfs-chip", shortLabel(token, 24));
        chip.dataset.side = side;
        chip.dataset.index = String(k);
        chip.addEventListener("mouseenter", () => this.setHover(this.tokenFocus(side, k, null)));
        chip.addEventListener("mouseleave", () => this.setHover(null));
        chip.addEventListener("click", () => this.togglePin(this.tokenFocus(side, k, null)));
        return chip;
      });
      line.append(...chips);
      return [line, chips];
    };
    const [queryLine, queryChips] = row("query", data.query_tokens, "queries (rows):");
    const [keyLine, keyChips] = row("key", data.key_tokens, "keys (columns):");
    this.queryChips = queryChips;
    this.keyChips = keyChips;
    this.tokens.replaceChildren(queryLine, keyLine);
  }

  buildLegend(data, view) {
    const bar = document.createElement("canvas");
    bar.width = 160;
    bar.height = 10;
    const b = bar.getContext("2d");
    for (let x = 0; x < 160; x++) {
      const k = 3 * Math.round((255 * x) / 159);
      b.fillStyle = `rgb(${this.table[k]},${this.table[k + 1]},${this.table[k + 2]})`;
      b.fillRect(x, 0, 1, 10);
    }
    const swatch = document.createElement("canvas");
    swatch.width = 18;
    swatch.height = 10;
    const s = swatch.getContext("2d");
    s.fillStyle = hatchPattern(s);
    s.fillRect(0, 0, 18, 10);
    const parts = view === "heatmap"
      ? [make("span", null, "0"), bar, make("span", null, fmt(data.top)), make("span", "tfs-gap")]
      : [make("span", null, "line width = weight;"), make("span", "tfs-gap")];
    if (data.mask_offset >= 0) parts.push(swatch, make("span", null, "masked (may not attend)"), make("span", "tfs-gap"));
    const to = make("span", "tfs-key-to", "■ what the token attends to");
    const by = make("span", "tfs-key-by", "■ what attends to it");
    parts.push(to, by);
    this.legend.replaceChildren(...parts);
  }

  // The focus a token gives: in self-attention a token is both a query and a key.
  tokenFocus(side, index, head) {
    const data = this.current();
    if (data.self_attention) return { query: index, key: index, head, cell: false };
    return side === "query" ? { query: index, key: null, head, cell: false } : { query: null, key: index, head, cell: false };
  }

  pinned() {
    const focus = this.model.get("focus") || {};
    if (focus.query === undefined && focus.key === undefined) return null;
    if (focus.map !== this.maps.indexOf(this.current())) return null; // a pin names positions in one map
    return { query: focus.query ?? null, key: focus.key ?? null, head: null, cell: Boolean(focus.cell) };
  }

  togglePin(focus) {
    const now = this.pinned();
    const same = now && now.query === focus.query && now.key === focus.key;
    const map = this.maps.indexOf(this.current());
    this.save({ focus: same ? {} : { map, query: focus.query, key: focus.key, cell: focus.cell } });
  }

  setHover(focus) {
    const same = (a, b) => a === b || (a && b && a.query === b.query && a.key === b.key && a.head === b.head);
    if (same(focus, this.hover)) return;
    this.hover = focus;
    this.drawFocus();
  }

  drawFocus() {
    const data = this.data;
    if (!data) return;
    const focus = this.hover || this.pinned();
    for (const panel of this.panels) panel.draw(focus);
    const head = focus && focus.head !== null && focus.head !== undefined ? focus.head : this.currentHead(data);
    this.tint(this.keyChips, focus && focus.query !== null ? (j) => [data.shown(head, focus.query, j), data.maskedShown(head, focus.query, j)] : null);
    this.tint(this.queryChips, focus && focus.key !== null ? (i) => [data.shown(head, i, focus.key), data.maskedShown(head, i, focus.key)] : null);
    for (const chip of this.queryChips) chip.classList.toggle("tfs-focus", Boolean(focus) && focus.query === Number(chip.dataset.index));
    for (const chip of this.keyChips) chip.classList.toggle("tfs-focus", Boolean(focus) && focus.key === Number(chip.dataset.index));
    this.readout.textContent = this.describe(data, focus, head);
    this.root.dataset.focusQuery = focus && focus.query !== null ? String(focus.query) : "";
    this.root.dataset.focusKey = focus && focus.key !== null ? String(focus.key) : "";
    this.root.dataset.pinned = this.pinned() ? "yes" : "no";
    this.root.dataset.pin = JSON.stringify(this.model.get("focus") || {});
    this.clearButton.style.visibility = this.pinned() ? "visible" : "hidden";
  }

  tint(chips, weightOf) {
    chips.forEach((chip, k) => {
      chip.classList.remove("tfs-masked");
      if (!weightOf) {
        chip.style.background = "";
        chip.style.color = "";
        chip.title = "";
        return;
      }
      const [value, masked] = weightOf(k);
      if (masked) {
        chip.classList.add("tfs-masked");
        chip.style.background = "";
        chip.style.color = "";
        chip.title = "masked";
        return;
      }
      const level = Math.max(0, Math.min(255, Math.round((255 * value) / this.data.top)));
      const t = this.table;
      chip.style.background = `rgb(${t[3 * level]},${t[3 * level + 1]},${t[3 * level + 2]})`;
      chip.style.color = level > 150 ? "#000" : "#fff";
      chip.title = fmt(value);
    });
  }

  describe(data, focus, head) {
    if (!focus) return "Hover over a token or a cell; click to pin it.";
    const which = head >= 0 ? (data.heads > 1 ? ` (${data.head_names[head]})` : "") : ` (mean of the ${data.heads})`;
    const q = focus.query !== null ? `“${shortLabel(data.query_tokens[focus.query], 24)}”` : null;
    const k = focus.key !== null ? `“${shortLabel(data.key_tokens[focus.key], 24)}”` : null;
    if (focus.cell) {
      const value = data.maskedShown(head, focus.query, focus.key) ? "masked" : fmt(data.shown(head, focus.query, focus.key));
      return `${q} attends to ${k}: ${value}${which}`;
    }
    const strongest = (values) => values.filter((e) => !e[2]).sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([token, v]) => `“${shortLabel(token, 16)}” ${fmt(v)}`).join(", ");
    const parts = [];
    if (focus.query !== null) {
      parts.push(`${q} attends most to ${strongest(data.key_tokens.map((t, j) => [t, data.shown(head, focus.query, j), data.maskedShown(head, focus.query, j)]))}`);
    }
    if (focus.key !== null) {
      parts.push(`${k} is attended most by ${strongest(data.query_tokens.map((t, i) => [t, data.shown(head, i, focus.key), data.maskedShown(head, i, focus.key)]))}`);
    }
    return parts.join(" · ") + which;
  }
}

function render({ model, el }) {
  const explorer = new Explorer(model, el);
  return () => explorer.dispose();
}

export default { render };
