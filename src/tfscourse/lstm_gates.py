"""Gate activations of an LSTM over a text the student types (notebook 05).

``gate_activations`` runs an LSTM with torch's weight layout (gate order i, f,
g, o) over a sequence of input vectors and records, at every time step, the
four gates and the new cell and hidden states. The state is advanced with the
student's own ``lstm_cell`` and the gates use the student's ``sigmoid``, so the
picture shows the student's code at work.

``GateExplorer`` is the widget: a text box, a dropdown over the gates and a
heatmap of time (one column per character) by hidden unit. Like
``tfscourse.widgets.AttentionExplorer`` it draws into an ``ipywidgets.Image``
and also puts a static PNG of the current picture in its display data, so
feedback HTML and non-interactive viewers still show something.

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
import numpy as np
from matplotlib.figure import Figure

from tfscourse.widgets import figure_png

GATES = ("input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h")
SQUASHED_01 = {"input gate i", "forget gate f", "output gate o"}  # values in (0, 1)
MAX_CHARS = 80  # wider heatmaps become unreadable


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


def gate_figure(activations: np.ndarray, tokens: Sequence[str], name: str, title: str = "") -> Figure:
    """Heatmap of one gate: hidden units down the side, time (the tokens) along the bottom."""
    T, H = activations.shape
    fig = Figure(figsize=(min(14.0, max(5.0, 0.18 * T + 2.5)), min(7.0, max(3.0, 0.04 * H + 2.0))), layout="constrained")
    ax = fig.add_subplot()
    if name in SQUASHED_01:
        image = ax.imshow(activations.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        bound = max(1e-12, float(np.abs(activations).max())) if activations.size else 1.0
        image = ax.imshow(activations.T, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    ax.set_xticks(range(T), [_show_char(t) for t in tokens], fontsize=8)
    ax.set_xlabel("time step (input character)")
    ax.set_ylabel("hidden unit")
    ax.set_title(title or name)
    fig.colorbar(image, ax=ax, label=name)
    return fig


class GateExplorer(widgets.VBox):
    """A text box and a gate dropdown over the heatmap of that gate's activations.

    encode(text) -> (X (T, D), tokens) turns the typed text into LSTM inputs;
    weights = (W_ih, W_hh, b_ih, b_hh) in torch's layout.
    """

    def __init__(self, encode: Callable, weights: Sequence, *, sigmoid: Callable,
                 cell: Callable, text: str = "def f(x):\n    return x", gate: str = "forget gate f"):
        self.encode, self.weights = encode, tuple(weights)
        self.sigmoid, self.cell = sigmoid, cell
        self.text = widgets.Text(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="90%"))
        self.dropdown = widgets.Dropdown(options=GATES, value=gate, description="show")
        self.message = widgets.HTML()
        self.image = widgets.Image(format="png")
        super().__init__([self.text, self.dropdown, self.message, self.image])
        self.activations, self.tokens = {}, []
        self.text.observe(lambda change: self.update(), names="value")
        self.dropdown.observe(lambda change: self.redraw(), names="value")
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
        self.redraw()

    def redraw(self) -> None:
        if not self.activations:
            self.image.value = b""
            return
        name = self.dropdown.value
        fig = gate_figure(self.activations[name], self.tokens, name, f"{name} while reading the text")
        self.image.value = figure_png(fig)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.image.value:  # a static picture for viewers without a widget manager
            bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


def show_gates(encode: Callable, weights: Sequence, **kwargs) -> GateExplorer:
    """Display a ``GateExplorer`` and return it."""
    from IPython.display import display

    explorer = GateExplorer(encode, weights, **kwargs)
    display(explorer)
    return explorer
