"""Attention-map widgets that work in JupyterLab, classic Notebook, Colab and static HTML.

The central piece is ``AttentionExplorer``: a dropdown over several attention
matrices (one per sentence, layer or head) and a heatmap of the chosen one, with
the query tokens down the side and the key tokens along the top. Small matrices
get their values written in the cells. A 3-D array ``(H, n_q, n_k)`` is drawn
as a grid of heads.

The heatmap is a PNG shown in an ``ipywidgets.Image``, so a redraw needs no
kernel round-trip through an ``Output`` widget, and the widget's display data
also carries the PNG of the first selection: feedback HTML, GitHub and other
non-interactive viewers still show a picture. Nothing here blocks execution.

Example:
    >>> import numpy as np
    >>> w = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> explorer = AttentionExplorer({"toy": AttentionMap(w, ["a", "b"])})
    >>> explorer.selected
    'toy'
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

ANNOTATE_MAX_TOKENS = 12  # write values in the cells up to this many queries and keys


@dataclass
class AttentionMap:
    """Attention weights with the tokens that label them.

    weights: (n_q, n_k) for one matrix, or (H, n_q, n_k) for H heads.
    query_tokens: n_q labels for the rows; key_tokens: n_k labels for the
    columns (defaults to the query tokens, as in self-attention).
    """

    weights: np.ndarray
    query_tokens: Sequence[str]
    key_tokens: Sequence[str] | None = None

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=float)
        if self.key_tokens is None:
            self.key_tokens = self.query_tokens
        if self.weights.ndim not in (2, 3):
            raise ValueError(f"weights must be (n_q, n_k) or (H, n_q, n_k), got shape {self.weights.shape}")
        n_q, n_k = self.weights.shape[-2:]
        if (len(self.query_tokens), len(self.key_tokens)) != (n_q, n_k):
            raise ValueError(
                f"{len(self.query_tokens)} query and {len(self.key_tokens)} key tokens "
                f"do not label a weight matrix of shape {self.weights.shape}"
            )


def _draw_matrix(ax, weights: np.ndarray, query_tokens, key_tokens, title: str, annotate: bool):
    n_q, n_k = weights.shape
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=max(1e-12, float(np.nanmax(weights))))
    ax.set_xticks(range(n_k), [str(t) for t in key_tokens], rotation=60, ha="right")
    ax.set_yticks(range(n_q), [str(t) for t in query_tokens])
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title)
    if annotate:
        threshold = 0.6 * float(np.nanmax(weights))
        for i in range(n_q):
            for j in range(n_k):
                value = weights[i, j]
                color = "black" if value > threshold else "white"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
    return image


def attention_figure(amap: AttentionMap, title: str = "") -> Figure:
    """A matplotlib Figure (not attached to pyplot) with the heatmap(s) of ``amap``."""
    weights = amap.weights
    heads = weights[None] if weights.ndim == 2 else weights
    n_heads = heads.shape[0]
    n_q, n_k = heads.shape[1:]
    cols = min(n_heads, 4)
    rows = math.ceil(n_heads / cols)
    cell = 0.45 if max(n_q, n_k) <= ANNOTATE_MAX_TOKENS else 0.25
    width = max(3.5, cell * n_k + 2.0) * cols
    height = max(3.0, cell * n_q + 1.8) * rows
    fig = Figure(figsize=(width, height), layout="constrained")
    annotate = max(n_q, n_k) <= ANNOTATE_MAX_TOKENS and n_heads <= 4
    for h in range(n_heads):
        ax = fig.add_subplot(rows, cols, h + 1)
        sub = title if n_heads == 1 else f"head {h}"  # a grid of heads: the title goes on top, once
        image = _draw_matrix(ax, heads[h], amap.query_tokens, amap.key_tokens, sub, annotate)
    if n_heads > 1 and title:
        fig.suptitle(title)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="attention weight")
    return fig


def figure_png(fig: Figure) -> bytes:
    """Render a Figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class AttentionExplorer(widgets.VBox):
    """A dropdown over labelled attention maps and a heatmap of the selected one."""

    def __init__(self, maps: Mapping[str, AttentionMap], title: str = "Attention weights"):
        self.title = title
        self.dropdown = widgets.Dropdown(description="show", layout=widgets.Layout(width="max-content"))
        self.image = widgets.Image(format="png")
        super().__init__([self.dropdown, self.image])
        self.dropdown.observe(self._on_select, names="value")
        self.set_maps(maps)

    @property
    def selected(self) -> str:
        return self.dropdown.value

    def set_maps(self, maps: Mapping[str, AttentionMap]) -> None:
        """Replace the maps (e.g. after the student types a new sentence) and draw the first."""
        if not maps:
            raise ValueError("AttentionExplorer needs at least one attention map")
        self.maps = dict(maps)
        labels = list(self.maps)
        self.dropdown.options = labels
        self.dropdown.layout.display = None if len(labels) > 1 else "none"
        if self.dropdown.value != labels[0]:
            self.dropdown.value = labels[0]  # triggers a redraw
        else:
            self.redraw()

    def _on_select(self, change) -> None:
        if change["new"] is not None:
            self.redraw()

    def redraw(self) -> None:
        label = self.dropdown.value
        fig = attention_figure(self.maps[label], f"{self.title}: {label}")
        self.image.value = figure_png(fig)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        # A static picture of the current selection for viewers without a widget manager.
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


def show_attention(maps: Mapping[str, AttentionMap], title: str = "Attention weights") -> AttentionExplorer:
    """Display an ``AttentionExplorer`` for ``maps`` and return it."""
    from IPython.display import display

    explorer = AttentionExplorer(maps, title)
    display(explorer)
    return explorer
