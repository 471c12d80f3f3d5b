"""Gate activations of an LSTM over a text the student types (notebook 05).

``gate_activations`` runs an LSTM with torch's weight layout (gate order i, f,
g, o) over a sequence of input vectors and records, at every time step, the
four gates and the new cell and hidden states. The state is advanced with the
student's own ``lstm_cell`` and the gates use the student's ``sigmoid``, so the
picture shows the student's code at work.

``GateExplorer`` is the widget: a text box, a dropdown over the gates, a
heatmap of time (one column per character) by the hidden units that change
most over the text (a saturated unit says nothing), and the text itself with
each character coloured by one chosen unit, so a unit that tracks something
(inside a string, indentation, the end of a line) shows itself. It draws a
matplotlib picture into an ``ipywidgets.Image`` and also puts a static PNG of
the current picture in its display data, so feedback HTML and non-interactive
viewers still show something. While nbgrader runs the notebook (see
``tfscourse.widgets.live_widgets``) ``show_gates`` shows only that picture
(a ``GatePicture``): no widget, no comm traffic.

``text_features`` and ``units_that_track`` find, over a longer text, the unit
whose activation follows a simple property of the text most closely (the
position in the line, being inside brackets, quotes or a word); the explorer
offers those units first, so the student starts from a unit that tracks
something instead of searching 128 of them.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W_ih, W_hh = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    >>> b_ih, b_hh = np.zeros(8), np.zeros(8)
    >>> acts = gate_activations(rng.normal(size=(5, 3)), W_ih, W_hh, b_ih, b_hh)
    >>> acts["forget gate f"].shape
    (5, 2)
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib
import matplotlib.patches
import numpy as np
from matplotlib.figure import Figure

from tfscourse.widgets import figure_png, live_widgets

GATES = ("input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h")
SQUASHED_01 = {"input gate i", "forget gate f", "output gate o"}  # values in (0, 1)
MAX_CHARS = 80  # wider heatmaps become unreadable
UNITS_SHOWN = 12  # rows of the heatmap: the units that change most over the text


def gate_activations(X, W_ih, W_hh, b_ih, b_hh, *, sigmoid: Callable, cell: Callable,
                     h0=None, c0=None) -> dict[str, np.ndarray]:
    """Gates and states of an LSTM at every step: a dict from the names in GATES to arrays (T, H).

    X: (T, D) inputs; W_ih: (4H, D), W_hh: (4H, H), b_ih, b_hh: (4H,) in torch's layout.
    ``sigmoid(z)`` and ``cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh) -> (h, c)`` are the caller's:
    the notebook passes the student's functions (they are notebook 05's exercises).
    """
    X, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (X, W_ih, W_hh, b_ih, b_hh))
    H = W_hh.shape[1]
    h = np.zeros((1, H)) if h0 is None else np.asarray(h0, dtype=float).reshape(1, H)
    c = np.zeros((1, H)) if c0 is None else np.asarray(c0, dtype=float).reshape(1, H)
    rows = {name: [] for name in GATES}
    for t in range(X.shape[0]):
        x_t = X[t : t + 1]  # (1, D)
        pre = (x_t @ W_ih.T + h @ W_hh.T + b_ih + b_hh).reshape(4, H)  # (1, 4H) -> rows i, f, g, o (torch's order)
        rows["input gate i"].append(sigmoid(pre[0]))
        rows["forget gate f"].append(sigmoid(pre[1]))
        rows["candidate g"].append(np.tanh(pre[2]))
        rows["output gate o"].append(sigmoid(pre[3]))
        h, c = cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        h, c = np.asarray(h, dtype=float).reshape(1, H), np.asarray(c, dtype=float).reshape(1, H)
        rows["cell state c"].append(c[0])
        rows["hidden state h"].append(h[0])
    return {name: np.array(values).reshape(len(values), H) for name, values in rows.items()}


def _show_char(ch: str) -> str:
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(ch, ch)


def most_variable_units(activations: np.ndarray, count: int = UNITS_SHOWN) -> list[int]:
    """The ``count`` hidden units whose activation changes most over the text, most variable first.

    activations: (T, H). A unit that stays saturated says nothing about the text; one that
    swings is the one worth reading.
    """
    spread = activations.std(axis=0) if activations.shape[0] > 1 else np.abs(activations).max(axis=0)
    order = np.argsort(-spread, kind="stable")  # (H,) unit indices, most variable first
    return [int(u) for u in order[:count]]


def text_features(text: str) -> dict[str, np.ndarray]:
    """Simple properties of ``text`` after each character, as float arrays (T,).

    "position in the line": characters since the last newline (0 right after it);
    "inside brackets": 1 while more (, [ or { than closing ones have been read on the text so far;
    "inside quotes": 1 between an opening and a closing quote character (' or ", toggled; reset at a newline);
    "inside a word": 1 on letters and digits.
    """
    column, depth, quoted = 0, 0, False
    rows = []
    for ch in text:
        column = 0 if ch == "\n" else column + 1
        depth = depth + 1 if ch in "([{" else max(0, depth - 1) if ch in ")]}" else depth
        quoted = False if ch == "\n" else (not quoted) if ch in "\"'" else quoted
        rows.append((column, depth > 0, quoted, ch.isalnum()))
    values = np.array(rows, dtype=float).reshape(len(rows), 4)
    names = ("position in the line", "inside brackets", "inside quotes", "inside a word")
    return {name: values[:, k] for k, name in enumerate(names)}


def units_that_track(activations: np.ndarray, features: dict[str, np.ndarray]) -> dict[str, tuple[int, float]]:
    """For each feature, the unit whose activation correlates most with it: {name: (unit, r)}.

    activations: (T, H); features: {name: (T,)}. r is Pearson's correlation over the T steps
    (0 for a unit or a feature that never changes).
    """
    A = np.asarray(activations, dtype=float)
    A = A - A.mean(axis=0)
    a_norm = np.sqrt((A * A).sum(axis=0))  # (H,)
    found = {}
    for name, values in features.items():
        f = np.asarray(values, dtype=float) - np.mean(values)
        denominator = a_norm * np.sqrt(float(f @ f))
        r = np.divide(f @ A, denominator, out=np.zeros(A.shape[1]), where=denominator > 0)  # (H,)
        unit = int(np.argmax(np.abs(r)))
        found[name] = (unit, float(r[unit]))
    return found


def _colour_scale(name: str, activations: np.ndarray) -> dict:
    """imshow/colour arguments: viridis on (0, 1) for the gates, a diverging map around 0 otherwise."""
    if name in SQUASHED_01:
        return {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
    bound = max(1e-12, float(np.abs(activations).max())) if activations.size else 1.0
    return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}  # red/blue stays readable with red-green deficiencies


def _highlighted_text(ax, values: np.ndarray, tokens: Sequence[str], scale: dict) -> None:
    """The text as typed, each character on a background coloured by one unit's activation."""
    norm = matplotlib.colors.Normalize(scale["vmin"], scale["vmax"])
    cmap = matplotlib.colormaps[scale["cmap"]]
    line, column = 0, 0
    for ch, value in zip(tokens, values):
        colour = cmap(norm(value))
        ax.add_patch(matplotlib.patches.Rectangle((column, -line - 1), 1, 1, color=colour))
        light = sum(colour[:3]) / 3 > 0.55
        ax.text(column + 0.5, -line - 0.5, _show_char(ch) if ch in " \n\t" else ch, ha="center", va="center",
                family="monospace", fontsize=10, color="black" if light else "white")
        column += 1
        if ch == "\n":
            line, column = line + 1, 0
    width = max(1, max((len(row) + 1 for row in "".join(tokens).split("\n")), default=1))
    ax.set_xlim(0, width)
    ax.set_ylim(-line - 1, 0)
    ax.set_aspect("equal")
    ax.axis("off")


def gate_figure(activations: np.ndarray, tokens: Sequence[str], name: str, title: str = "",
                unit: int | None = None, marked: Sequence[int] = ()) -> Figure:
    """The most variable units of one gate over time, and the text highlighted by one unit.

    activations: (T, H). Top: a heatmap of the ``marked`` units, then the most variable
    units (rows, UNITS_SHOWN in all) by time step (the characters). Bottom: the text itself,
    each character coloured by ``unit``'s activation (default: the first row).
    """
    T, H = activations.shape
    marked = [int(u) for u in marked if 0 <= int(u) < H]
    units = (marked + [u for u in most_variable_units(activations, H) if u not in marked])[:max(UNITS_SHOWN, len(marked))]
    unit = units[0] if unit is None else unit
    shown = activations[:, units]  # (T, units)
    label = name
    if name not in SQUASHED_01:  # unbounded (c) or small-ranged units: each row on its own scale, else the widest hides the rest
        shown = shown / np.maximum(np.abs(shown).max(axis=0), 1e-12)
        label = f"{name} / the unit's largest |value|"
    scale = _colour_scale(name, shown)
    lines = "".join(tokens).count("\n") + 1
    fig = Figure(figsize=(min(14.0, max(6.0, 0.2 * T + 2.5)), 2.6 + 0.22 * len(units) + 0.35 * lines),
                 layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[0.22 * len(units) + 0.8, 0.35 * lines + 0.3])
    image = top.imshow(shown.T, aspect="auto", interpolation="nearest", **scale)  # (units, T)
    top.set_xticks(range(T), [_show_char(t) for t in tokens], fontsize=8)
    top.set_yticks(range(len(units)), [f"unit {u}" for u in units], fontsize=8)
    top.set_xlabel("time step (input character)")
    what = f"units {', '.join(map(str, marked))}, then those that change most" if marked else "the units that change most"
    top.set_title((title or name) + f": {len(units)} of {H} units ({what})")
    fig.colorbar(image, ax=top, label=label)
    _highlighted_text(bottom, activations[:, unit], tokens, _colour_scale(name, activations[:, unit]))
    low, high = float(activations[:, unit].min()), float(activations[:, unit].max())
    bottom.set_title(f"the text coloured by unit {unit} (from {low:.2f} to {high:.2f} over this text)", fontsize=10)
    return fig


class GateExplorer(widgets.VBox):
    """A text box, a gate dropdown and a unit dropdown over the picture of that gate (``gate_figure``).

    encode(text) -> (X (T, D), tokens) turns the typed text into LSTM inputs;
    weights = (W_ih, W_hh, b_ih, b_hh) in torch's layout. ``marked`` = {unit: description}
    (e.g. from ``units_that_track``) are offered first, and the first of them is chosen.
    """

    def __init__(self, encode: Callable, weights: Sequence, *, sigmoid: Callable,
                 cell: Callable, text: str = "def f(x):\n    return x", gate: str = "forget gate f",
                 marked: dict[int, str] | None = None):
        self.encode, self.weights = encode, tuple(weights)
        self.marked = {int(u): str(d) for u, d in (marked or {}).items()}
        self.sigmoid, self.cell = sigmoid, cell
        self.text = widgets.Text(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="90%"))
        self.dropdown = widgets.Dropdown(options=GATES, value=gate, description="show")
        self.unit = widgets.Dropdown(description="colour by", layout=widgets.Layout(width="max-content"))
        self.message = widgets.HTML()
        self.image = widgets.Image(format="png")
        super().__init__([self.text, widgets.HBox([self.dropdown, self.unit]), self.message, self.image])
        self.activations, self.tokens = {}, []
        self.text.observe(lambda change: self.update(), names="value")
        self.dropdown.observe(lambda change: self.choose_units(), names="value")
        self._choosing = False
        self.unit.observe(lambda change: None if self._choosing else self.redraw(), names="value")
        self.update()

    def update(self) -> None:
        """Run the LSTM over the current text (at most MAX_CHARS characters) and redraw."""
        X, tokens = self.encode(self.text.value[:MAX_CHARS])
        X = np.asarray(X, dtype=float)
        self.tokens = list(tokens)
        if not self.tokens:
            self.activations = {}
            self.message.value = "<i>Type some text the model knows (no characters left to show).</i>"
        else:
            self.activations = gate_activations(X, *self.weights, sigmoid=self.sigmoid, cell=self.cell)
            self.message.value = ""
        self.choose_units()

    def choose_units(self) -> None:
        """Offer the chosen gate's most variable units (most variable first), then redraw."""
        if self.activations:
            variable = [u for u in most_variable_units(self.activations[self.dropdown.value]) if u not in self.marked]
            options = [(f"unit {u}: {d}", u) for u, d in self.marked.items()]
            options += [(f"unit {u}" + (" (changes most)" if k == 0 else ""), u) for k, u in enumerate(variable)]
            units = [u for _, u in options]
            if list(self.unit.options) != options:
                self._choosing = True  # one redraw below, not one per trait change
                self.unit.options = options
                self.unit.value = units[0]
                self._choosing = False
        self.redraw()

    def redraw(self) -> None:
        if not self.activations:
            self.image.value = b""
            return
        name = self.dropdown.value
        fig = gate_figure(self.activations[name], self.tokens, name, f"{name} while reading the text",
                          unit=self.unit.value, marked=list(self.marked))
        self.image.value = figure_png(fig)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.image.value:  # a static picture for viewers without a widget manager
            bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


class GatePicture:
    """The explorer's first picture without a widget: what ``show_gates`` shows while nbgrader runs."""

    def __init__(self, encode: Callable, weights: Sequence, *, sigmoid: Callable, cell: Callable,
                 text: str = "def f(x):\n    return x", gate: str = "forget gate f", marked: dict[int, str] | None = None):
        X, tokens = encode(text[:MAX_CHARS])
        self.tokens = list(tokens)
        self.png = b""
        if self.tokens:
            acts = gate_activations(np.asarray(X, dtype=float), *weights, sigmoid=sigmoid, cell=cell)
            marked = [int(u) for u in (marked or {})]
            fig = gate_figure(acts[gate], self.tokens, gate, f"{gate} while reading the text",
                              unit=marked[0] if marked else None, marked=marked)
            self.png = figure_png(fig)

    def _repr_png_(self):
        return self.png or None

    def __repr__(self) -> str:
        return f"<picture of an LSTM's gates over {len(self.tokens)} characters>"


def show_gates(encode: Callable, weights: Sequence, **kwargs) -> GateExplorer | GatePicture:
    """Display a ``GateExplorer`` and return it (a ``GatePicture`` only while nbgrader runs)."""
    from IPython.display import display

    explorer = GateExplorer(encode, weights, **kwargs) if live_widgets() else GatePicture(encode, weights, **kwargs)
    display(explorer)
    return explorer
