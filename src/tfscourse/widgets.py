"""Attention maps a student can explore: an interactive widget that always leaves a picture behind.

``show_attention(maps, title)`` is what the notebooks call. ``maps`` is a dict from a
label (a sentence, a layer, a model variant) to an ``AttentionMap``: weights of shape
(n_q, n_k), or (H, n_q, n_k) for H heads, with the tokens that label them and,
optionally, the mask that was applied (masked entries are drawn hatched, never as 0).

In a live notebook (JupyterLab 4, Notebook 7, Colab, VS Code) it shows an
``AttentionExplorer``: an anywidget whose JavaScript is a plain ES module shipped in this
package (``static/attention_explorer.js``), so nothing is built or fetched from a CDN.
Hovering over or clicking a token highlights what it attends to (its row) and what
attends to it (its column), with the weights on the token chips and under the pointer;
a heatmap view and a lines view (queries left, keys right, line width = weight); one
head or all heads of a map as small multiples; a colour-blind-friendly palette (viridis,
with Okabe-Ito colours for the highlights).

The widget's display data also carries a matplotlib PNG of the first selection, so
feedback HTML, GitHub and nbviewer show a picture. While nbgrader runs the notebook
(``NBGRADER_EXECUTION`` set) only that picture is produced: no widget, no comm traffic
(see ``live_widgets``).

``show_attention(compute, title, control=slider_or_text_box)`` recomputes the maps with
``compute(control.value)`` whenever the control changes (a temperature slider, a text box
for the sentence).

Example:
    >>> import numpy as np
    >>> w = np.array([[1.0, 0.0], [0.3, 0.7]])
    >>> explorer = AttentionExplorer({"toy": AttentionMap(w, ["a", "b"], mask="causal")})
    >>> explorer.selected
    'toy'
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anywidget
import matplotlib
import numpy as np
import traitlets
from matplotlib.figure import Figure

from tfscourse.environment import grading_mode

STATIC = Path(__file__).parent / "static"
ANNOTATE_MAX_TOKENS = 12  # write values in the cells of the picture up to this many queries and keys
COLOUR_MAP = "viridis"  # perceptually uniform and readable with the common colour-vision deficiencies
MASKED_GREY, HATCH_GREY = "#dddddd", "#8a8a8a"
WIDGETS_ENV = "TFSCOURSE_WIDGETS"  # "live" or "picture" overrides the choice made from NBGRADER_EXECUTION


def palette_stops(count: int = 17) -> list[str]:
    """``count`` hex colours of the colour map from low to high: the front end interpolates them."""
    cmap = matplotlib.colormaps[COLOUR_MAP]
    return [matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0.0, 1.0, count)]


@dataclass
class AttentionMap:
    """Attention weights with the tokens that label them and the mask that was applied.

    weights: (n_q, n_k) for one matrix, or (H, n_q, n_k) for H heads.
    query_tokens: n_q labels for the rows; key_tokens: n_k labels for the columns
    (defaults to the query tokens, as in self-attention).
    mask: None, ``"causal"``, or a boolean (or 0/1) array that broadcasts to the weights'
    shape, True where a query may attend to a key (the course's convention): a (n_q, n_k)
    mask, a (n_k,) padding mask, or one per head. NaN weights count as masked too.
    head_names: names of the H matrices (default "head 0", "head 1", ...), e.g. the model
    variants when the matrices are several models' attention, shown side by side.
    """

    weights: np.ndarray
    query_tokens: Sequence[str]
    key_tokens: Sequence[str] | None = None
    mask: np.ndarray | str | None = None
    head_names: Sequence[str] | None = None
    masked: np.ndarray = field(init=False, repr=False)  # bool, weights' shape: True = masked

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=float)
        if self.key_tokens is None:
            self.key_tokens = self.query_tokens
        self.query_tokens = [str(t) for t in self.query_tokens]
        self.key_tokens = [str(t) for t in self.key_tokens]
        if self.weights.ndim not in (2, 3):
            raise ValueError(f"weights must be (n_q, n_k) or (H, n_q, n_k), got shape {self.weights.shape}")
        n_q, n_k = self.weights.shape[-2:]
        if (len(self.query_tokens), len(self.key_tokens)) != (n_q, n_k):
            raise ValueError(
                f"{len(self.query_tokens)} query and {len(self.key_tokens)} key tokens "
                f"do not label a weight matrix of shape {self.weights.shape}"
            )
        self.masked = ~self._allowed(n_q, n_k) | np.isnan(self.weights)
        n_heads = self.heads.shape[0]
        self.head_names = [f"head {h}" for h in range(n_heads)] if self.head_names is None else [str(n) for n in self.head_names]
        if len(self.head_names) != n_heads:
            raise ValueError(f"{len(self.head_names)} head names for {n_heads} attention matrices")

    def _allowed(self, n_q: int, n_k: int) -> np.ndarray:
        """Where a query may attend, broadcast to the weights' shape."""
        if self.mask is None:
            return np.ones(self.weights.shape, dtype=bool)
        if isinstance(self.mask, str):
            if self.mask != "causal":
                raise ValueError(f"mask must be 'causal', None or a boolean array, got {self.mask!r}")
            # Query t sees the keys up to its own position; extra leading keys (a prefix) stay visible.
            allowed = np.tril(np.ones((n_q, n_k), dtype=bool), k=n_k - n_q)
        else:
            allowed = np.asarray(self.mask)
            if allowed.dtype != bool:
                if not np.isin(allowed, (0, 1)).all():
                    raise ValueError(f"mask must hold booleans or 0/1 (1 = may attend), got values like {allowed.ravel()[:4]}")
                allowed = allowed.astype(bool)
        try:
            return np.broadcast_to(allowed, self.weights.shape)
        except ValueError:
            raise ValueError(f"a mask of shape {allowed.shape} does not fit weights of shape {self.weights.shape}") from None

    @property
    def heads(self) -> np.ndarray:
        """The weights as (H, n_q, n_k), H = 1 for a single matrix."""
        return self.weights if self.weights.ndim == 3 else self.weights[None]

    @property
    def top(self) -> float:
        """The largest weight that is not masked (the top of the colour scale)."""
        shown = self.weights[~self.masked]
        return float(shown.max()) if shown.size and shown.max() > 0 else 1.0


def live_widgets() -> bool:
    """Whether to show live widgets: not while nbgrader runs the notebook, unless TFSCOURSE_WIDGETS=live.

    The override is for the course's browser tests, whose kernels run as under ``nbgrader
    validate`` (short training runs) but must still show the widgets a student sees;
    ``TFSCOURSE_WIDGETS=picture`` gives the pictures alone anywhere.
    """
    choice = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if choice in ("live", "picture"):
        return choice == "live"
    return not grading_mode()


def _checked_maps(maps: Mapping[str, AttentionMap]) -> dict[str, AttentionMap]:
    if not maps:
        raise ValueError("an attention explorer needs at least one attention map")
    for label, amap in maps.items():
        if not isinstance(amap, AttentionMap):
            raise TypeError(f"maps[{label!r}] is a {type(amap).__name__}, expected an AttentionMap")
    return {str(label): amap for label, amap in maps.items()}


def _draw_matrix(ax, amap: AttentionMap, head: int, title: str, *, annotate: bool, max_labels: int,
                 label_keys: bool = True, label_queries: bool = True):
    weights = amap.heads[head]
    masked = amap.masked if amap.weights.ndim == 2 else amap.masked[head]
    cmap = matplotlib.colormaps[COLOUR_MAP].with_extremes(bad=(0, 0, 0, 0))  # masked: see-through
    ax.set_facecolor(MASKED_GREY)  # ... onto a hatched grey background
    ax.patch.set_hatch("///")
    ax.patch.set_edgecolor(HATCH_GREY)
    image = ax.imshow(np.ma.masked_array(weights, masked), cmap=cmap, vmin=0.0, vmax=amap.top,
                      interpolation="nearest")
    n_q, n_k = weights.shape
    step = max(1, math.ceil(max(n_q, n_k) / max_labels))  # tick labels are what makes big pictures slow
    if label_keys:
        ax.set_xticks(range(0, n_k, step), amap.key_tokens[::step], rotation=60, ha="right")
        ax.set_xlabel("key (attended to)")
    else:
        ax.set_xticks([])
    if label_queries:
        ax.set_yticks(range(0, n_q, step), amap.query_tokens[::step])
        ax.set_ylabel("query (attending)")
    else:
        ax.set_yticks([])
    ax.set_title(title)
    if annotate:
        for i, j in zip(*np.nonzero(~masked)):
            value = weights[i, j]
            color = "black" if value > 0.6 * amap.top else "white"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
    return image


def attention_figure(amap: AttentionMap, title: str = "") -> Figure:
    """A matplotlib Figure (not attached to pyplot) with the heatmap(s) of ``amap``; masked cells hatched."""
    n_heads, n_q, n_k = amap.heads.shape
    cols = min(n_heads, 4)
    rows = math.ceil(n_heads / cols)
    longest = max(n_q, n_k)
    # inches per heatmap side: 0.45 per token for short sentences, at most 6 (one head), 3.5 (a few
    # heads) or 2.5 (many heads: the picture's pixels are most of its cost)
    side = min(0.45 * longest, 6.0 if n_heads == 1 else 3.5 if n_heads <= 4 else 2.5)
    width = (max(2.0, side * n_k / longest) + 2.0) * cols
    height = (max(1.5, side * n_q / longest) + 1.8) * rows
    fig = Figure(figsize=(width, height), layout="constrained")
    annotate = max(n_q, n_k) <= ANNOTATE_MAX_TOKENS and n_heads <= 4
    # Long sequences in a grid: tokens on the outer edges only (the rest of the labels repeat them).
    outer_only = n_heads > 1 and longest > ANNOTATE_MAX_TOKENS
    for h in range(n_heads):
        ax = fig.add_subplot(rows, cols, h + 1)
        sub = title if n_heads == 1 else amap.head_names[h]  # a grid of heads: the title goes on top, once
        image = _draw_matrix(ax, amap, h, sub, annotate=annotate, max_labels=40 if n_heads == 1 else 12,
                             label_keys=not outer_only or h + cols >= n_heads,
                             label_queries=not outer_only or h % cols == 0)
    if n_heads > 1 and title:
        fig.suptitle(title)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="attention weight (hatched: masked)")
    return fig


def figure_png(fig: Figure) -> bytes:
    """Render a Figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def front_end_payload(maps: Mapping[str, AttentionMap]) -> tuple[list[dict], bytes, bytes]:
    """What the front end receives: per-map metadata, all weights as float32, all masks as uint8.

    Map k's weights are ``(heads, n_q, n_k)`` float32 values starting at element
    ``info[k]["offset"]``; its mask (1 = masked) starts at ``info[k]["mask_offset"]``
    (-1 when nothing in it is masked). Masked and NaN weights are sent as 0.
    """
    info, weight_parts, mask_parts = [], [], []
    offset = mask_offset = 0
    for label, amap in maps.items():
        heads = amap.heads  # (H, n_q, n_k)
        masked = amap.masked.reshape(heads.shape)
        has_mask = bool(masked.any())
        info.append({
            "label": label, "query_tokens": amap.query_tokens, "key_tokens": amap.key_tokens,
            "heads": heads.shape[0], "n_q": heads.shape[1], "n_k": heads.shape[2], "head_names": amap.head_names,
            "offset": offset, "mask_offset": mask_offset if has_mask else -1,
            "self_attention": amap.query_tokens == amap.key_tokens,
        })
        weight_parts.append(np.where(masked, 0.0, heads).astype("<f4").tobytes())
        offset += heads.size
        if has_mask:
            mask_parts.append(masked.astype(np.uint8).tobytes())
            mask_offset += heads.size
    return info, b"".join(weight_parts), b"".join(mask_parts)


class AttentionExplorer(anywidget.AnyWidget):
    """The interactive explorer over labelled attention maps (see the module docstring)."""

    _esm = STATIC / "attention_explorer.js"
    _css = STATIC / "attention_explorer.css"

    title = traitlets.Unicode("Attention weights").tag(sync=True)
    map_info = traitlets.List().tag(sync=True)
    weights = traitlets.Bytes().tag(sync=True)
    masked = traitlets.Bytes().tag(sync=True)
    palette = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected_index = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(-1).tag(sync=True)  # -1: all heads of the map as small multiples
    view = traitlets.CaselessStrEnum(["heatmap", "lines"], default_value="heatmap").tag(sync=True)
    focus = traitlets.Dict().tag(sync=True)  # the pinned token or cell: {"map": k, "query": i, "key": j}
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, maps: Mapping[str, AttentionMap], title: str = "Attention weights", *,
                 head: int = -1, view: str = "heatmap"):
        super().__init__(title=title, head=head, view=view, palette=palette_stops())
        self.set_maps(maps)

    @property
    def selected(self) -> str:
        """The label of the map on show."""
        return list(self.maps)[self.selected_index]

    @selected.setter
    def selected(self, label: str) -> None:
        if label not in self.maps:
            raise KeyError(f"no map labelled {label!r}; the labels are {list(self.maps)}")
        self.selected_index = list(self.maps).index(label)

    def set_maps(self, maps: Mapping[str, AttentionMap]) -> None:
        """Replace the maps (e.g. after the student types a new sentence); the same label stays selected."""
        maps = _checked_maps(maps)
        keep = self.selected if getattr(self, "maps", None) else None
        self.maps = maps
        info, weights, masked = front_end_payload(maps)
        with self.hold_sync():
            self.map_info, self.weights, self.masked = info, weights, masked
            self.selected_index = list(maps).index(keep) if keep in maps else 0
            self.focus = {}
            self.message = ""

    def picture(self) -> bytes:
        """A PNG of the map on show (all its heads)."""
        return figure_png(attention_figure(self.maps[self.selected], f"{self.title}: {self.selected}"))

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle  # anywidget returns (data, metadata)
        data["image/png"] = base64.b64encode(self.picture()).decode("ascii")
        return bundle


class AttentionPicture:
    """What ``show_attention`` displays while nbgrader runs a notebook: the picture, nothing live."""

    def __init__(self, maps: Mapping[str, AttentionMap], title: str = "Attention weights"):
        self.title = title
        self.set_maps(maps)

    def set_maps(self, maps: Mapping[str, AttentionMap]) -> None:
        self.maps = _checked_maps(maps)
        self.selected = next(iter(self.maps))

    def _repr_png_(self) -> bytes:
        return figure_png(attention_figure(self.maps[self.selected], f"{self.title}: {self.selected}"))


def show_attention(maps: Mapping[str, AttentionMap] | Callable[..., Mapping[str, AttentionMap]],
                   title: str = "Attention weights", *, control=None, head: int = -1,
                   view: str = "heatmap") -> AttentionExplorer | AttentionPicture:
    """Display an explorer for ``maps`` and return it (a picture only while nbgrader runs).

    ``maps`` may be a function of ``control.value`` (``control``: an ipywidgets slider or
    text box, shown above the explorer); the maps are recomputed when the control changes.
    """
    from IPython.display import display

    if callable(maps):
        if control is None:
            raise ValueError("show_attention(compute, ...) needs control=: the widget whose value compute takes")
        compute, maps = maps, maps(control.value)
    elif control is not None:
        raise ValueError("control= only makes sense when maps is a function of the control's value")
    if not live_widgets():
        picture = AttentionPicture(maps, title)
        display(picture)
        return picture
    explorer = AttentionExplorer(maps, title, head=head, view=view)
    if control is not None:
        def recompute(change):
            try:
                explorer.set_maps(compute(change["new"]))
            except Exception as error:  # a sentence the model cannot take: say so, keep the old maps
                explorer.message = f"Could not show {change['new']!r}: {error}"
        control.observe(recompute, names="value")
        display(control)
    display(explorer)
    return explorer
