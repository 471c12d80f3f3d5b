"""The attention explorer as one self-contained HTML page, running without a kernel.

``explorer_page(explorer)`` writes the explorer's JavaScript, its styles and its current
state (maps, weights, masks, palette, view) into a single HTML file: open it in any
browser, offline, to hover and click exactly as in a notebook. A tiny stand-in for the
widget model (get, set, on, off, save_changes) takes the kernel's place; changes made in
the page stay in the page.

The course's browser tests and ``benchmarks/bench_widgets.py`` use it to drive the front
end in Chromium without starting JupyterLab. The page sets ``window.explorerReady`` (a
promise) and ``window.explorerModel`` (the stand-in model) for them.

Example:
    >>> import numpy as np
    >>> from tfscourse.widgets import AttentionExplorer, AttentionMap
    >>> html = explorer_page(AttentionExplorer({"toy": AttentionMap(np.eye(2), ["a", "b"])}))
    >>> html.startswith("<!DOCTYPE html>")
    True
"""

from __future__ import annotations

import base64
import json

from tfscourse.widgets import STATIC, AttentionExplorer

BINARY_TRAITS = ("weights", "masked")
STATE_TRAITS = ("title", "map_info", "palette", "selected_index", "head", "view", "focus", "message")

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head>
<body><div id="explorer"></div>
<script type="module">
const state = {state};
for (const name of {binary}) {{
  const bytes = Uint8Array.from(atob(state[name]), (c) => c.charCodeAt(0));
  state[name] = new DataView(bytes.buffer);
}}
// Stand-in for the widget model: the same calls anywidget's model answers.
const listeners = new Map();
const model = {{
  get: (name) => state[name],
  set(name, value) {{
    state[name] = value;
    for (const callback of listeners.get("change:" + name) || []) callback();
  }},
  on(events, callback) {{
    for (const e of events.split(/\\s+/)) listeners.set(e, [...(listeners.get(e) || []), callback]);
  }},
  off(events, callback) {{
    for (const e of events.split(/\\s+/)) listeners.set(e, (listeners.get(e) || []).filter((c) => c !== callback));
  }},
  save_changes() {{ model.saves = (model.saves || 0) + 1; }},
}};
window.explorerModel = model;
const source = {esm};
const url = URL.createObjectURL(new Blob([source], {{ type: "text/javascript" }}));
window.explorerReady = import(url).then((module) => {{
  module.default.render({{ model, el: document.getElementById("explorer") }});
}});
</script></body></html>
"""


def explorer_state(explorer: AttentionExplorer) -> dict:
    """The explorer's synced state as plain JSON (bytes as base64)."""
    state = {name: getattr(explorer, name) for name in STATE_TRAITS}
    for name in BINARY_TRAITS:
        state[name] = base64.b64encode(getattr(explorer, name)).decode("ascii")
    return state


def explorer_page(explorer: AttentionExplorer) -> str:
    """A standalone HTML page showing ``explorer`` (see the module docstring)."""
    from html import escape

    esm = (STATIC / "attention_explorer.js").read_text()
    css = (STATIC / "attention_explorer.css").read_text()
    # "</" would end the script element early; JSON allows writing it as "<\/".
    as_script = lambda value: json.dumps(value).replace("</", "<\\/")  # noqa: E731
    return PAGE.format(title=escape(explorer.title), css=css, state=as_script(explorer_state(explorer)),
                       binary=json.dumps(list(BINARY_TRAITS)), esm=as_script(esm))
