"""Draw the sketch of a multi-head self-attention layer from a student's table of shapes.

Notebook 02 asks for the shape of every matrix in one multi-head self-attention
layer as a dict (``mha_shapes``). This module turns that dict into a diagram: a
box per matrix, sized by its dimensions and labelled with them, arrows for the
operations with their formulas, and every shape that does not fit its operation
drawn in red with a note saying why.

Each box is checked on its own against the operation that makes it (``Q_h K_h^T``
gives one score per query and key, so ``scores`` is ``S x S``), so one wrong
entry marks that box only, and the note names the operation. The notebook's
hidden tests do not use this module.

Keys of the dict (all per head unless said otherwise)::

    W_Q, W_K, W_V          the projection matrices of one head
    Q_h, K_h, V_h          queries, keys and values of one head
    scores, weights        scaled dot products and their softmax
    head_output            the weighted sum of the values of one head
    concat                 all heads side by side (whole layer)
    W_O, output            output projection and result (whole layer)

Example:
    >>> shapes = {"W_Q": (8, 3), "W_K": (8, 3), "W_V": (8, 4), "Q_h": (5, 3), "K_h": (5, 3),
    ...           "V_h": (5, 4), "scores": (5, 5), "weights": (5, 5), "head_output": (5, 4),
    ...           "concat": (5, 8), "W_O": (8, 8), "output": (5, 8)}
    >>> check_mha_shapes(shapes, S=5, E=8, H=2, M_QK=3, M_V=4)
    {}
    >>> fig = draw_mha_sketch(shapes, S=5, E=8, H=2, M_QK=3, M_V=4)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

SHAPE_KEYS = (
    "W_Q", "W_K", "W_V", "Q_h", "K_h", "V_h", "scores", "weights", "head_output", "concat", "W_O", "output",
)

# Centre of each box in the diagram's coordinates (x to the right, y up).
_POSITIONS = {
    "X": (0.7, 2.5),
    "W_Q": (2.7, 4.3), "W_K": (2.7, 2.5), "W_V": (2.7, 0.7),
    "Q_h": (4.8, 4.3), "K_h": (4.8, 2.5), "V_h": (4.8, 0.7),
    "scores": (6.9, 3.4), "weights": (8.9, 3.4), "head_output": (10.7, 1.6),
    "concat": (12.9, 2.5), "W_O": (14.9, 2.5), "output": (16.9, 2.5),
}
_TITLES = {
    "X": "$X$ (input)", "W_Q": "$W_Q^{h}$", "W_K": "$W_K^{h}$", "W_V": "$W_V^{h}$", "Q_h": "$Q_h$",
    "K_h": "$K_h$", "V_h": "$V_h$", "scores": "scores$_h$", "weights": "$A_h$ (weights)",
    "head_output": "head$_h$", "concat": "Concat(head$_1$ … head$_H$)", "W_O": "$W_O$", "output": "output",
}
_MAX_SIDE = 1.25  # largest box side, in diagram units (boxes are 2 units apart)
_MIN_SIDE = 0.22


def _as_shape(value) -> tuple[int, int] | None:
    """A pair of positive ints, or None when ``value`` is not one."""
    try:
        dims = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        return None
    if len(dims) != 2 or any(d <= 0 for d in dims) or any(int(d) != d for d in value):
        return None
    return dims


def _expected(S: int, E: int, H: int, M_QK: int, M_V: int) -> dict[str, tuple[tuple[int, int], str]]:
    """The shape each box must have, with the reason in words (the operation that makes it)."""
    return {
        "W_Q": ((E, M_QK), f"maps a token's E = {E} features to a query of M_QK = {M_QK} entries"),
        "W_K": ((E, M_QK), f"maps a token's E = {E} features to a key of M_QK = {M_QK} entries"),
        "W_V": ((E, M_V), f"maps a token's E = {E} features to a value of M_V = {M_V} entries"),
        "Q_h": ((S, M_QK), "X W_Q^h: one query row per token"),
        "K_h": ((S, M_QK), "X W_K^h: one key row per token"),
        "V_h": ((S, M_V), "X W_V^h: one value row per token"),
        "scores": ((S, S), "Q_h K_h^T: one score per (query, key) pair"),
        "weights": ((S, S), "the softmax keeps the shape of the scores"),
        "head_output": ((S, M_V), "A_h V_h: one weighted sum of values per query"),
        "concat": ((S, H * M_V), f"{H} head outputs side by side"),
        "W_O": ((H * M_V, E), "maps the concatenation back to the embedding size"),
        "output": ((S, E), "one E-vector per token, so layers can be stacked"),
    }


def check_mha_shapes(shapes: Mapping, S: int, E: int, H: int, M_QK: int, M_V: int) -> dict[str, str]:
    """Problems with a student's shapes, as {key: why}; an empty dict when every shape is right.

    Example: with H=2, M_QK=3, M_V=5, a W_O of 6 x E rows (H * M_QK) gives
    {"W_O": "got 6 x 8: maps the concatenation back to the embedding size (needs 10 x 8)"}.
    """
    problems: dict[str, str] = {}
    for key, (want, why) in _expected(S, E, H, M_QK, M_V).items():
        if key not in shapes:
            problems[key] = "missing key"
            continue
        got = _as_shape(shapes[key])
        if got is None:
            problems[key] = f"not a pair of positive integers: {shapes[key]!r}"
        elif got != want:
            problems[key] = f"got {got[0]} x {got[1]}: {why} (needs {want[0]} x {want[1]})"
    return problems


def _side(d: int, largest: int) -> float:
    return _MIN_SIDE + (_MAX_SIDE - _MIN_SIDE) * math.sqrt(d / largest)


def _box(ax, key: str, shape, largest: int, problem: str | None) -> tuple[float, float]:
    """Draw one matrix; return its half width and half height."""
    x, y = _POSITIONS[key]
    color = "#d62728" if problem else "#1f77b4"
    if shape is None:
        w = h = 0.5
        ax.add_patch(Rectangle((x - w, y - h), 2 * w, 2 * h, fill=False, ls="--", ec=color, lw=2))
        ax.text(x, y, "?", ha="center", va="center", fontsize=16, color=color)
        label = "?"
    else:
        rows, cols = shape
        w, h = _side(cols, largest) / 2, _side(rows, largest) / 2
        ax.add_patch(Rectangle((x - w, y - h), 2 * w, 2 * h, fc=color, alpha=0.25, ec=color, lw=3 if problem else 1.5))
        label = f"{rows} × {cols}"
    ax.text(x, y + h + 0.08, _TITLES[key], ha="center", va="bottom", fontsize=10, weight="bold")
    ax.text(x, y - h - 0.08, label + ("  ✗" if problem else ""), ha="center", va="top", fontsize=10, color=color)
    return w, h


def _arrow(ax, start, end, sizes, text: str = "", offset=(0.0, 0.18)) -> None:
    (x0, y0), (x1, y1) = _POSITIONS[start], _POSITIONS[end]
    w0, w1 = sizes[start][0], sizes[end][0]
    p0, p1 = (x0 + w0 + 0.05, y0), (x1 - w1 - 0.05, y1)
    ax.add_patch(FancyArrowPatch(p0, p1, arrowstyle="-|>", mutation_scale=14, color="0.3", lw=1.2))
    if text:
        ax.text((p0[0] + p1[0]) / 2 + offset[0], (p0[1] + p1[1]) / 2 + offset[1], text,
                ha="center", va="bottom", fontsize=9, color="0.15")


def draw_mha_sketch(shapes: Mapping, S: int, E: int, H: int, M_QK: int, M_V: int, title: str | None = None) -> Figure:
    """A Figure (not attached to pyplot) of the layer drawn from ``shapes``; wrong shapes in red."""
    problems = check_mha_shapes(shapes, S, E, H, M_QK, M_V)
    parsed = {key: _as_shape(shapes.get(key)) for key in SHAPE_KEYS}
    parsed["X"] = (S, E)
    largest = max([d for shape in parsed.values() if shape for d in shape] + [1])

    fig = Figure(figsize=(17, 7.2 if problems else 6.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.2, 17.8)
    ax.set_ylim(-1.0 - 0.3 * len(problems), 6.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((1.75, -0.55), 9.95, 6.3, boxstyle="round,pad=0.05", fill=False, ls="--", ec="0.5"))
    ax.text(1.85, 5.7, f"one head h (repeated for h = 1 … H = {H})", fontsize=10, color="0.35", va="top")

    sizes = {key: _box(ax, key, parsed[key], largest, problems.get(key)) for key in _POSITIONS}
    _arrow(ax, "X", "W_Q", sizes)
    _arrow(ax, "X", "W_K", sizes)
    _arrow(ax, "X", "W_V", sizes)
    _arrow(ax, "W_Q", "Q_h", sizes, "$X W_Q^{h}$")
    _arrow(ax, "W_K", "K_h", sizes, "$X W_K^{h}$")
    _arrow(ax, "W_V", "V_h", sizes, "$X W_V^{h}$")
    _arrow(ax, "Q_h", "scores", sizes)
    ax.text(6.9, 4.75, r"$Q_h K_h^{\top} / \sqrt{M_{QK}}$", ha="center", fontsize=10, color="0.15")
    _arrow(ax, "K_h", "scores", sizes)
    _arrow(ax, "scores", "weights", sizes, "softmax\n(each row)")
    _arrow(ax, "weights", "head_output", sizes, "$A_h V_h$", offset=(0.35, 0.0))
    _arrow(ax, "V_h", "head_output", sizes)
    _arrow(ax, "head_output", "concat", sizes, "concatenate\ncolumns", offset=(0.0, 0.25))
    _arrow(ax, "concat", "W_O", sizes)
    _arrow(ax, "W_O", "output", sizes)
    ax.text(15.9, 1.2, r"output = Concat $\cdot\, W_O$", ha="center", fontsize=10, color="0.15")
    ax.text(6.9, 1.75, "optional mask: scores → −∞\nwhere a key is hidden", ha="center", fontsize=8, color="0.4")

    if problems:
        lines = [f"✗ {key}: {why}" for key, why in problems.items()]
        ax.text(0.0, -0.85, "\n".join(lines), ha="left", va="top", fontsize=10, color="#d62728")
    heading = title or f"Multi-head self-attention, S={S}, E={E}, H={H}, M_QK={M_QK}, M_V={M_V}"
    ax.set_title(heading + ("" if not problems else f"  ({len(problems)} shape(s) do not fit)"), fontsize=12)
    return fig


def show_mha_sketch(shapes: Mapping, S: int, E: int, H: int, M_QK: int, M_V: int) -> dict[str, str]:
    """Display the sketch as a PNG (works in every front end and in feedback HTML); return the problems."""
    from IPython.display import Image, display

    from tfscourse.widgets import figure_png

    display(Image(figure_png(draw_mha_sketch(shapes, S, E, H, M_QK, M_V))))
    return check_mha_shapes(shapes, S, E, H, M_QK, M_V)
