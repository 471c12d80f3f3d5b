"""A drawing of one LSTM cell with the numbers on its wires (notebook 05).

The exercise sheet asks for c_t and h_t "given the intermediate values in the
figure", but its figure is lost. This module draws a cell in the familiar
layout instead: the cell state runs along the top, the gates (yellow boxes)
read the previous hidden state and the input from the bottom, and every wire
can carry a value. Pass ``None`` for the values the student must compute: they
are shown as "?".

Example:
    >>> values = {"c_prev": [0.8, -1.5], "f": [0.9, 0.2], "i": [0.3, 0.7],
    ...           "g": [-0.5, 0.6], "o": [0.6, 0.95]}
    >>> fig = lstm_cell_figure(values)
    >>> len(figure_png(fig)) > 1000
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from tfscourse.widgets import figure_png

GATE_COLOR = "#f7d154"  # the "yellow blocks": layers whose output is given
OP_COLOR = "#f4a6a6"  # pointwise operations the student carries out
WIRE = dict(color="#333333", lw=1.6, zorder=1)
LABEL_BOX = dict(boxstyle="round,pad=0.25", fc="white", ec="#888888", lw=0.8)

# name on the wire -> (LaTeX symbol, label position, text alignment)
WIRE_LABELS = {
    "c_prev": (r"$c_{t-1}$", (-0.4, 5.35), "left"),
    "h_prev": (r"$h_{t-1}$", (-0.4, 0.65), "left"),
    "x": (r"$x_t$", (1.0, -1.05), "center"),
    "f": (r"$f_t$", (1.7, 3.75), "center"),
    "i": (r"$i_t$", (3.95, 3.15), "right"),
    "g": (r"$g_t$", (5.75, 3.05), "left"),
    "o": (r"$o_t$", (7.45, 3.55), "center"),
    "c": (r"$c_t$", (10.9, 5.35), "right"),
    "h": (r"$h_t$", (10.9, 0.65), "right"),
}


def format_vector(value) -> str:
    """'[0.90, 0.20]' for a vector, '0.900' for a scalar, '?' for None."""
    if value is None:
        return "?"
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.3f}"
    return "[" + ", ".join(f"{v:.2f}" for v in array.ravel().tolist()) + "]"


def _line(ax, *points):
    xs, ys = zip(*points)
    ax.plot(xs, ys, **WIRE)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=WIRE["color"], lw=WIRE["lw"]), zorder=2)


def _gate(ax, x, y, text):
    ax.add_patch(FancyBboxPatch((x - 0.45, y - 0.3), 0.9, 0.6, boxstyle="round,pad=0.05", fc=GATE_COLOR, ec="black", zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=4)


def _op(ax, x, y, text, radius=0.27):
    ax.add_patch(Circle((x, y), radius, fc=OP_COLOR, ec="black", zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=4)


def lstm_cell_figure(values: Mapping[str, object] | None = None, title: str = "One LSTM step") -> Figure:
    """A Figure of one LSTM cell; ``values`` maps wire names to numbers written on the wires.

    Wire names: c_prev, h_prev, x (inputs), f, i, g, o (gate outputs), c, h (results).
    A missing name shows its symbol only; a name mapped to None shows "= ?".
    """
    values = dict(values or {})
    fig = Figure(figsize=(9.5, 5.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.9, 11.4)
    ax.set_ylim(-1.5, 6.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    ax.add_patch(FancyBboxPatch((0.4, -0.1), 9.6, 5.7, boxstyle="round,pad=0.1", fc="#eef3fb", ec="#6b8cc7", lw=1.2, zorder=0))

    # cell state highway along the top: c_{t-1} -> (x f) -> (+ i*g) -> c_t
    _line(ax, (-0.5, 5.0), (1.43, 5.0))
    _line(ax, (1.97, 5.0), (4.48, 5.0))
    _arrow(ax, (5.02, 5.0), (11.0, 5.0))
    _op(ax, 1.7, 5.0, "×")
    _op(ax, 4.75, 5.0, "+")
    # input bus: h_{t-1} from the left, x_t from below, feeding the four gates
    _line(ax, (-0.5, 1.0), (7.5, 1.0))
    _line(ax, (1.0, -0.75), (1.0, 1.0))
    for x, text in ((1.7, "σ"), (4.0, "σ"), (5.5, "tanh"), (7.5, "σ")):
        _line(ax, (x, 1.0), (x, 2.0))
        _gate(ax, x, 2.3, text)
    # forget gate -> multiply the old cell state
    _arrow(ax, (1.7, 2.6), (1.7, 4.73))
    # input gate and candidate -> product -> added to the cell state
    _op(ax, 4.75, 3.6, "×")
    _arrow(ax, (4.0, 2.6), (4.6, 3.37))
    _arrow(ax, (5.5, 2.6), (4.9, 3.37))
    _arrow(ax, (4.75, 3.87), (4.75, 4.73))
    # output: h_t = o_t * tanh(c_t)
    _line(ax, (8.75, 5.0), (8.75, 4.62))
    ax.add_patch(FancyBboxPatch((8.3, 4.05), 0.9, 0.5, boxstyle="round,pad=0.05", fc=OP_COLOR, ec="black", zorder=3))
    ax.text(8.75, 4.3, "tanh", ha="center", va="center", fontsize=10, zorder=4)
    _op(ax, 8.75, 3.0, "×")
    _arrow(ax, (8.75, 4.0), (8.75, 3.27))
    _arrow(ax, (7.5, 2.6), (8.5, 2.9))
    _line(ax, (8.75, 2.73), (8.75, 1.0))
    _arrow(ax, (8.75, 1.0), (11.0, 1.0))

    for name, (symbol, (x, y), align) in WIRE_LABELS.items():
        text = symbol if name not in values else f"{symbol} = {format_vector(values[name])}"
        ax.text(x, y, text, ha=align, va="center", fontsize=9.5, bbox=LABEL_BOX, zorder=5)
    ax.text(10.0, -1.05, "yellow: gate layers (already evaluated)   red: pointwise operations",
            ha="right", va="center", fontsize=8, color="#555555")
    return fig


def show_lstm_cell(values: Mapping[str, object] | None = None, title: str = "One LSTM step"):
    """Display the cell diagram as a PNG (shows in every viewer) and return the Figure."""
    from IPython.display import Image, display

    fig = lstm_cell_figure(values, title)
    display(Image(data=figure_png(fig)))
    return fig
