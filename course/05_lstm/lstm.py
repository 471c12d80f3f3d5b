# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 05 · LSTM gates and recurrent language models
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/05_lstm/lstm.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. write a sigmoid that never overflows, and compute one LSTM step by hand from its gate values;
# 2. implement the full LSTM cell and a forward pass over a sequence with exactly the weight layout of
#    `torch.nn.LSTM` (gate order i, f, g, o), and check it against PyTorch;
# 3. explain with a plot why gradients vanish in a plain RNN and how the forget gate keeps them alive;
# 4. recognise exploding gradients and clip them by their global norm;
# 5. train a character-level LSTM language model, sample from it with a temperature, and look at what
#    its gates do while it reads a text you type.
#
# **NumPy or PyTorch?** Every function you write here takes and returns **NumPy arrays** (float64).
# PyTorch appears only where we need automatic differentiation (the gradient experiments and the
# language model) and as the reference your functions are compared with: your `lstm_cell` and
# `lstm_forward` must agree with `torch.nn.LSTMCell` and `torch.nn.LSTM` when given the same weights.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. Run the test cell under each answer: it checks small examples and says what
# it expected. More (hidden) checks run when your notebook is graded, so test your functions on your own
# inputs too. Do not delete, copy or retype the locked cells.
#
# **Running time and hardware.** About a minute from top to bottom on a laptop CPU: the recall experiment at
# the end of section 5 needs about 25 seconds, and the language model trains for 15-20 seconds (it stops
# after 40 seconds on a slow machine); no GPU needed. Works in JupyterLab and on Google Colab.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Setup (locked). Installs the course helper package if it is missing (e.g. on Colab).
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("tfscourse") is None:
    _source = os.environ.get("TFSCOURSE_PACKAGE_SOURCE", "git+https://github.com/transformers-from-scratch/course-notebooks.git")
    print(f"Installing the course package from {_source} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()

import tfscourse

tfscourse.setup()

# %% [markdown] nbgrader={"grade": false, "grade_id": "sigmoid_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · A sigmoid that does not overflow
#
# Three of the four LSTM gates squash their input with the logistic sigmoid
# $\sigma(z) = 1 / (1 + e^{-z})$, which maps any real number into $(0, 1)$. Written literally it
# computes $e^{-z}$, and for $z = -1000$ that is $e^{1000}$: NumPy overflows to `inf` and warns. The
# equivalent form $e^{z} / (1 + e^{z})$ has the same trouble for large positive $z$ (and gives `inf/inf = nan`).
# The cure is to pick, **per entry**, the form whose exponent is never positive:
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}} \;\text{ for } z \ge 0, \qquad \sigma(z) = \frac{e^{z}}{1 + e^{z}} \;\text{ for } z < 0 .$$
#
# Write `sigmoid(x)` for a NumPy array of any shape (return an array of the same shape). It must not
# produce `nan`, `inf` or an overflow warning, even for $|x|$ in the thousands.

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
import numpy as np


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), entry by entry, without overflow.

    Example: sigmoid(np.array([-1000.0, 0.0, 1000.0])) -> array([0. , 0.5, 1. ])
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sigmoid", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the sigmoid on small and huge inputs."""
s = sigmoid(np.array([-2.0, 0.0, 2.0]))
assert s.shape == (3,), f"expected shape (3,), got {s.shape}"
assert np.allclose(s, [0.11920292, 0.5, 0.88079708]), f"expected [0.1192, 0.5, 0.8808], got {s}"
big = sigmoid(np.array([[-1000.0, 1000.0]]))
assert big.shape == (1, 2) and np.all(np.isfinite(big)), f"sigmoid must stay finite on +-1000, got {big}"
assert np.allclose(big, [[0.0, 1.0]]), f"expected [[0, 1]] for [[-1000, 1000]], got {big}"
tiny = sigmoid(np.array([-720.0]))
assert tiny[0] > 0, f"sigmoid(-720) is about 2.0e-313, a positive number, got {tiny[0]}: exp(720) overflowed (use the stable form)"
### BEGIN HIDDEN TESTS
import math

import numpy as np


def _ref_sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


_rng = np.random.default_rng(11)
_cases = [_rng.normal(size=7) * 3, _rng.normal(size=(3, 4)) * 10, np.array([-1000.0, -745.0, -50.0, -5.0, 0.0, 5.0, 50.0, 745.0, 1000.0]),
          np.array([[1e6, -1e6]]), np.array([0.25])]
for _x in _cases:
    _got = sigmoid(_x.copy())
    assert type(_got) is np.ndarray and _got.shape == _x.shape, f"sigmoid must return an array of shape {_x.shape}"
    for _a, _v in zip(_got.ravel().tolist(), _x.ravel().tolist()):
        _b = _ref_sigmoid(_v)
        assert _a == _a, f"sigmoid({_v}) is nan"
        _tol = 1e-9 * abs(_b) if abs(_v) <= 5 else 1e-12
        assert abs(_a - _b) <= _tol + 1e-15, f"sigmoid({_v}) should be {_b:.6g}, got {_a:.6g}"
# exp(720) overflows float64 while exp(-720) is a tiny positive (subnormal) number: only the stable form
# gets sigma(-720) = 2.0e-313 (the literal 1 / (1 + exp(-x)) gives exactly 0 there, with an overflow)
_tiny = sigmoid(np.array([-720.0, -740.0]))
for _a, _v in zip(np.asarray(_tiny, dtype=float).ravel().tolist(), [-720.0, -740.0]):
    _b = math.exp(_v)
    assert _a > 0 and abs(_a - _b) <= 0.05 * _b, (
        f"sigmoid({_v}) should be exp({_v}) = {_b:.3g} (positive), got {_a:.3g}: exp(-x) overflowed; use the stable form")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "q9_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · One LSTM step by hand
#
# An LSTM carries two vectors from step to step: the **cell state** $c$ (its long-term memory) and the
# **hidden state** $h$ (what it shows to the next layer). At step $t$ it computes four vectors from the
# input $x_t$ and the previous hidden state $h_{t-1}$ (the yellow boxes below):
#
# * the **forget gate** $f_t \in (0, 1)^H$: how much of each entry of the old memory to keep;
# * the **input gate** $i_t \in (0, 1)^H$: how much of the new candidate to write;
# * the **candidate** $g_t \in (-1, 1)^H$ (often written $\tilde c_t$): what could be written;
# * the **output gate** $o_t \in (0, 1)^H$: how much of the memory to show.
#
# With $\odot$ the entry-by-entry product, the memory and the output are then
#
# $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).$$
#
# Note that $\tanh$ is applied to the **new** memory $c_t$, never to $c_{t-1}$, and that the output
# gate multiplies $h_t$.
#
# *Where the course departs from the handout:* the exercise sheet (seed 000, question 9) asks for
# $c_t$ and $h_t$ from the values in a figure, but the figure is missing from the sheet. The cell below
# draws our own cell with our own numbers (hidden size 2). As in the sheet, you do not need to evaluate
# the yellow blocks: their outputs are written on the wires.

# %% nbgrader={"grade": false, "grade_id": "q9_diagram", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.lstm_diagram import show_lstm_cell

q9_values = {
    "c_prev": [0.8, -1.5], "h_prev": [0.1, -0.4], "x": [1.0, 0.5],
    "f": [0.9, 0.2], "i": [0.3, 0.7], "g": [-0.5, 0.6], "o": [0.6, 0.95],
    "c": None, "h": None,
}
_ = show_lstm_cell(q9_values, title="Seed 000, question 9 (our numbers): find c_t and h_t")


# %% [markdown] nbgrader={"grade": false, "grade_id": "lstm_step_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Write `lstm_step_from_gates(f_t, i_t, g_t, o_t, c_prev)` returning `(c_t, h_t)` for arrays of any
# (equal) shape.

# %% nbgrader={"grade": false, "grade_id": "lstm_step_from_gates", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_step_from_gates(f_t, i_t, g_t, o_t, c_prev):
    """The new cell state and hidden state from the gate values: returns (c_t, h_t).

    Example: f=1, i=0 keeps the memory: c_t = c_prev and h_t = o_t * tanh(c_prev).
    """
    ### BEGIN SOLUTION
    f_t, i_t, g_t, o_t, c_prev = (np.asarray(a, dtype=float) for a in (f_t, i_t, g_t, o_t, c_prev))
    c_t = f_t * c_prev + i_t * g_t
    h_t = o_t * np.tanh(c_t)
    return c_t, h_t
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_step_from_gates", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check one step on a tiny example: full forgetting, full writing, an open and a half-open output gate."""
c_demo, h_demo = lstm_step_from_gates(np.array([0.0, 1.0]), np.array([1.0, 0.0]), np.array([0.5, -0.5]),
                                      np.array([1.0, 0.5]), np.array([2.0, 3.0]))
assert np.shape(c_demo) == (2,) and np.shape(h_demo) == (2,), "expected c_t and h_t of shape (2,)"
assert np.allclose(c_demo, [0.5, 3.0]), f"c_t = f*c_prev + i*g should be [0.5, 3.0], got {c_demo}"
assert np.allclose(h_demo, [1.0, 0.5] * np.tanh([0.5, 3.0])), f"h_t = o*tanh(c_t) should be {[1.0, 0.5] * np.tanh([0.5, 3.0])}, got {h_demo}"
### BEGIN HIDDEN TESTS
import math

import numpy as np

_rng = np.random.default_rng(21)
for _shape in [(1,), (5,), (3, 4), (2, 1, 6)]:
    _f, _i, _o = (1 / (1 + np.exp(-_rng.normal(size=_shape) * 2)) for _ in range(3))
    _g = np.tanh(_rng.normal(size=_shape) * 2)
    _c = _rng.normal(size=_shape) * 3
    _got_c, _got_h = lstm_step_from_gates(_f.copy(), _i.copy(), _g.copy(), _o.copy(), _c.copy())
    _want_c = [f * c + i * g for f, c, i, g in zip(_f.ravel().tolist(), _c.ravel().tolist(), _i.ravel().tolist(), _g.ravel().tolist())]
    _want_h = [o * math.tanh(c) for o, c in zip(_o.ravel().tolist(), _want_c)]
    assert type(_got_c) is np.ndarray and _got_c.shape == _shape, f"c_t must be an array of shape {_shape}"
    assert type(_got_h) is np.ndarray and _got_h.shape == _shape, f"h_t must be an array of shape {_shape}"
    assert all(abs(a - b) < 1e-12 for a, b in zip(_got_c.ravel().tolist(), _want_c)), f"c_t is wrong for shape {_shape}"
    assert all(abs(a - b) < 1e-12 for a, b in zip(_got_h.ravel().tolist(), _want_h)), f"h_t is wrong for shape {_shape}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "q9_by_hand_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Now work question 9 **by hand** (a calculator for $\tanh$ is fine): fill in $c_t$ and $h_t$ for the
# diagram above, rounded to three decimals, as lists of two numbers. Then write your working in the
# answer cell below, and compare with what your function gives.

# %% nbgrader={"grade": false, "grade_id": "q9_by_hand", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
c_t_by_hand = [0.570, 0.120]
h_t_by_hand = [0.309, 0.113]
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_q9_by_hand", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the format of the hand-computed c_t and h_t (the values are checked when grading; compare with the diagram below)."""
assert np.shape(c_t_by_hand) == (2,) and np.shape(h_t_by_hand) == (2,), "c_t_by_hand and h_t_by_hand must hold two numbers each"
### BEGIN HIDDEN TESTS
import numpy as np

_want_c = [0.9 * 0.8 + 0.3 * -0.5, 0.2 * -1.5 + 0.7 * 0.6]
_want_h = [0.6 * np.tanh(_want_c[0]), 0.95 * np.tanh(_want_c[1])]
assert all(abs(a - b) <= 2e-3 for a, b in zip(np.asarray(c_t_by_hand, dtype=float).ravel().tolist(), _want_c)), "c_t is wrong"
assert all(abs(a - b) <= 2e-3 for a, b in zip(np.asarray(h_t_by_hand, dtype=float).ravel().tolist(), _want_h)), "h_t is wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "q9_working", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Show your computation of $c_t$ and $h_t$ entry by entry, and say in one sentence what the
# forget gate did to each entry of the memory.
#
# ### BEGIN SOLUTION
# $c_t = f_t \odot c_{t-1} + i_t \odot g_t$:
# entry 1: $0.9 \cdot 0.8 + 0.3 \cdot (-0.5) = 0.72 - 0.15 = 0.570$;
# entry 2: $0.2 \cdot (-1.5) + 0.7 \cdot 0.6 = -0.30 + 0.42 = 0.120$.
#
# $h_t = o_t \odot \tanh(c_t)$: entry 1: $0.6 \cdot \tanh(0.57) = 0.6 \cdot 0.5154 = 0.309$;
# entry 2: $0.95 \cdot \tanh(0.12) = 0.95 \cdot 0.1194 = 0.113$.
#
# The first entry keeps 90 % of its old memory (0.8 becomes 0.72, then the input adds −0.15); the second
# forgets 80 % of it (−1.5 becomes −0.3) and the new write (+0.42) flips its sign.
# ### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "q9_filled", "locked": true, "schema_version": 3, "solution": false, "task": false}
c_student, h_student = lstm_step_from_gates(*(np.array(q9_values[k]) for k in ("f", "i", "g", "o", "c_prev")))
_ = show_lstm_cell({**q9_values, "c": c_student, "h": h_student}, title="The same step, finished by your lstm_step_from_gates")


# %% [markdown] nbgrader={"grade": false, "grade_id": "lstm_cell_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · The full LSTM cell, in PyTorch's layout
#
# In a real cell the gates come from learned weights. PyTorch stacks the weights of all four gates into
# one matrix per input, in the order **i, f, g, o** (input gate, forget gate, candidate, output gate):
#
# * `W_ih` of shape $(4H, D)$ multiplies the input $x_t \in \mathbb{R}^D$;
# * `W_hh` of shape $(4H, H)$ multiplies the previous hidden state $h_{t-1} \in \mathbb{R}^H$;
# * two biases `b_ih` and `b_hh`, each of shape $(4H,)$ (PyTorch keeps both; only their sum matters).
#
# For a batch of $B$ rows, $x_t$ is $(B, D)$ and $h_{t-1}, c_{t-1}$ are $(B, H)$. The pre-activations
# $z = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$ have shape $(B, 4H)$; split them into four
# blocks of $H$ columns, **in the order i, f, g, o**, then
# $i_t = \sigma(z_i)$, $f_t = \sigma(z_f)$, $g_t = \tanh(z_g)$, $o_t = \sigma(z_o)$ and finish with
# your `lstm_step_from_gates`.
#
# Write `lstm_cell(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)` returning `(h_t, c_t)` — note the order,
# the same as `torch.nn.LSTMCell`, which returns `(h, c)`. Use your `sigmoid`.

# %% nbgrader={"grade": false, "grade_id": "lstm_cell", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_cell(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step for a batch: x_t (B, D), h_prev and c_prev (B, H) -> (h_t, c_t), each (B, H).

    Weights in torch's layout: W_ih (4H, D), W_hh (4H, H), b_ih and b_hh (4H,), gate order i, f, g, o.
    """
    ### BEGIN SOLUTION
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, D) x (D, 4H) + (B, H) x (H, 4H) -> (B, 4H)
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)  # 4 x (B, H)
    c_t, h_t = lstm_step_from_gates(sigmoid(z_f), sigmoid(z_i), np.tanh(z_g), sigmoid(z_o), c_prev)
    return h_t, c_t
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_cell", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the cell's shapes and compare it with torch.nn.LSTMCell on one small case."""
import torch

rng = np.random.default_rng(0)
B, D, H = 2, 3, 4
cell_args = (rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H)),
             rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H)), rng.normal(size=4 * H), rng.normal(size=4 * H))
h_new, c_new = lstm_cell(*cell_args)
assert np.shape(h_new) == (B, H) and np.shape(c_new) == (B, H), f"expected (h_t, c_t) of shapes ({B}, {H}), got {np.shape(h_new)}, {np.shape(c_new)}"
torch_cell = torch.nn.LSTMCell(D, H).double()
with torch.no_grad():
    for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), cell_args[3:]):
        getattr(torch_cell, name).copy_(torch.tensor(value))
    h_torch, c_torch = torch_cell(torch.tensor(cell_args[0]), (torch.tensor(cell_args[1]), torch.tensor(cell_args[2])))
assert np.allclose(c_new, c_torch.numpy()), f"c_t differs from torch.nn.LSTMCell:\nyours {c_new}\ntorch {c_torch.numpy()}\n(gate order i, f, g, o?)"
assert np.allclose(h_new, h_torch.numpy()), f"h_t differs from torch.nn.LSTMCell:\nyours {h_new}\ntorch {h_torch.numpy()}"
### BEGIN HIDDEN TESTS
import math

import numpy as np
import torch


def _ref_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    sig = np.vectorize(lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)))
    i, f, g, o = sig(z[:, :H]), sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sig(z[:, 3 * H:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


_rng = np.random.default_rng(31)
for _B, _D, _H, _scale in [(1, 1, 1, 1.0), (3, 5, 2, 1.0), (4, 2, 7, 0.5), (1, 6, 3, 2.0), (5, 3, 3, 30.0)]:
    _args = [_rng.normal(size=s) * _scale for s in ((_B, _D), (_B, _H), (_B, _H), (4 * _H, _D), (4 * _H, _H), (4 * _H,), (4 * _H,))]
    _h, _c = lstm_cell(*[a.copy() for a in _args])
    _torch = torch.nn.LSTMCell(_D, _H).double()
    with torch.no_grad():
        for _name, _value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), _args[3:]):
            getattr(_torch, _name).copy_(torch.tensor(_value))
        _h_t, _c_t = _torch(torch.tensor(_args[0]), (torch.tensor(_args[1]), torch.tensor(_args[2])))
    _h_ref, _c_ref = _ref_cell(*_args)
    _size = f"B={_B}, D={_D}, H={_H}"
    assert _close(_c, _c_t.numpy()), f"c_t disagrees with torch.nn.LSTMCell ({_size})"
    assert _close(_h, _h_t.numpy()), f"h_t disagrees with torch.nn.LSTMCell ({_size})"
    assert _close(_c, _c_ref) and _close(_h, _h_ref), f"(h_t, c_t) is wrong ({_size})"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "lstm_forward_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Running the cell over a sequence
#
# `torch.nn.LSTM` (with its default `batch_first=False`) takes the whole sequence at once, time first:
# $X$ of shape $(T, B, D)$. Starting from $(h_0, c_0)$, it applies the **same** cell at every step and
# returns all hidden states plus the final state.
#
# Write `lstm_forward(X, h0, c0, W_ih, W_hh, b_ih, b_hh)` returning `(outputs, (h_T, c_T))` with
# `outputs` of shape $(T, B, H)$ (the hidden state after each step) and $h_T, c_T$ of shape $(B, H)$.
# (PyTorch's `h_n` has an extra leading layer axis, $(1, B, H)$; ours does not.) Use your `lstm_cell`.

# %% nbgrader={"grade": false, "grade_id": "lstm_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_forward(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """LSTM over a sequence: X (T, B, D), h0 and c0 (B, H) -> (outputs (T, B, H), (h_T, c_T))."""
    ### BEGIN SOLUTION
    h, c = np.asarray(h0, dtype=float), np.asarray(c0, dtype=float)
    outputs = []
    for x_t in np.asarray(X, dtype=float):  # x_t: (B, D)
        h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return np.stack(outputs), (h, c)  # T x (B, H) -> (T, B, H)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lstm_forward", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the shapes and compare with torch.nn.LSTM on one small case."""
T_demo, B, D, H = 5, 2, 3, 4
rng = np.random.default_rng(1)
X_demo = rng.normal(size=(T_demo, B, D))
h0_demo, c0_demo = rng.normal(size=(B, H)), rng.normal(size=(B, H))
weights_demo = (rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H)), rng.normal(size=4 * H), rng.normal(size=4 * H))
out_demo, (hT_demo, cT_demo) = lstm_forward(X_demo, h0_demo, c0_demo, *weights_demo)
assert np.shape(out_demo) == (T_demo, B, H), f"expected outputs of shape {(T_demo, B, H)}, got {np.shape(out_demo)}"
assert np.shape(hT_demo) == (B, H) and np.shape(cT_demo) == (B, H), f"h_T and c_T should have shape {(B, H)}"
assert np.allclose(out_demo[-1], hT_demo), "the last output should be h_T"
torch_lstm = torch.nn.LSTM(D, H).double()
with torch.no_grad():
    for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), weights_demo):
        getattr(torch_lstm, name).copy_(torch.tensor(value))
    out_torch, (hn_torch, cn_torch) = torch_lstm(torch.tensor(X_demo), (torch.tensor(h0_demo)[None], torch.tensor(c0_demo)[None]))
assert np.allclose(out_demo, out_torch.numpy()), "outputs differ from torch.nn.LSTM"
assert np.allclose(cT_demo, cn_torch[0].numpy()), "c_T differs from torch.nn.LSTM"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(41)
for _T, _B, _D, _H in [(1, 1, 1, 1), (6, 3, 4, 2), (9, 1, 3, 5), (4, 5, 2, 3), (12, 2, 7, 4)]:
    _X = _rng.normal(size=(_T, _B, _D))
    _h0, _c0 = _rng.normal(size=(_B, _H)), _rng.normal(size=(_B, _H)) * 2
    _W = [_rng.normal(size=s) for s in ((4 * _H, _D), (4 * _H, _H), (4 * _H,), (4 * _H,))]
    _out, (_hT, _cT) = lstm_forward(_X.copy(), _h0.copy(), _c0.copy(), *[w.copy() for w in _W])
    _lstm = torch.nn.LSTM(_D, _H).double()
    with torch.no_grad():
        for _name, _value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), _W):
            getattr(_lstm, _name).copy_(torch.tensor(_value))
        _o_t, (_h_t, _c_t) = _lstm(torch.tensor(_X), (torch.tensor(_h0)[None], torch.tensor(_c0)[None]))
    _size = f"T={_T}, B={_B}, D={_D}, H={_H}"
    assert _close(_out, _o_t.numpy()), f"outputs disagree with torch.nn.LSTM ({_size})"
    assert _close(_hT, _h_t[0].numpy()), f"h_T disagrees with torch.nn.LSTM ({_size})"
    assert _close(_cT, _c_t[0].numpy()), f"c_T disagrees with torch.nn.LSTM ({_size})"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "gradients_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Why gates help: gradients through time
#
# Training a recurrent network back-propagates through every step. In a plain (Elman) RNN,
# $h_t = \tanh(W_{hh} h_{t-1} + W_{ih} x_t + b)$, the gradient that reaches step $t - k$ has been multiplied
# by $k$ Jacobians $\mathrm{diag}(1 - h^2)\,W_{hh}$. If they shrink vectors, the signal **vanishes**
# exponentially in $k$; if they stretch them, it **explodes**.
#
# In an LSTM the memory has a second path: $\partial c_t / \partial c_{t-1} = \mathrm{diag}(f_t)$ (plus
# smaller terms through the gates). When the forget gate is close to 1, the gradient flows back along
# the cell state almost unchanged — the network can *learn* to keep its memory open.
#
# The experiment below uses one task for both networks: a sequence of 100 noisy numbers, where the label
# is the sign of the **first** one, read out from the last hidden state. For freshly initialised
# networks we measure how strongly the loss reacts to each input, $\lVert \partial L / \partial x_t \rVert$,
# for a plain `torch.nn.RNN`, a `torch.nn.LSTM` with PyTorch's default initialisation (forget gate
# $\approx \sigma(0) = 0.5$) and the same LSTM with its forget-gate bias set to 3 ($f \approx 0.95$), a common
# initialisation trick.

# %% nbgrader={"grade": false, "grade_id": "gradients_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
import torch

# the language model of section 7, and two helpers the test cells use
from tfscourse import char_lstm

torch_threads_before = torch.get_num_threads()
torch.set_num_threads(1)  # these models are tiny: one thread is as fast, and much faster on a busy machine
SEQ_LEN, HIDDEN = 100, 32


def memory_task(n, generator):
    """n noisy sequences (n, SEQ_LEN, 1) whose label is the sign of the first entry."""
    label = torch.randint(0, 2, (n,), generator=generator).float()
    x = 0.1 * torch.randn(n, SEQ_LEN, 1, generator=generator)
    x[:, 0, 0] += 2 * label - 1
    return x, label


def input_gradient_norms(kind, forget_bias=None, seed=0):
    """||dL/dx_t|| for t = 0..SEQ_LEN-1 of a fresh RNN or LSTM with a linear read-out of the last state."""
    torch.manual_seed(seed)
    net = torch.nn.RNN(1, HIDDEN, batch_first=True) if kind == "rnn" else torch.nn.LSTM(1, HIDDEN, batch_first=True)
    if forget_bias is not None:
        with torch.no_grad():  # torch's gate order i, f, g, o: the forget gate is the second block
            net.bias_ih_l0[HIDDEN:2 * HIDDEN] = forget_bias
            net.bias_hh_l0[HIDDEN:2 * HIDDEN] = 0.0
    readout = torch.nn.Linear(HIDDEN, 1)
    x, label = memory_task(256, torch.Generator().manual_seed(seed))
    x.requires_grad_(True)
    states, _ = net(x)  # (N, T, H)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(readout(states[:, -1]).squeeze(-1), label)
    loss.backward()
    # The entries of the early steps' gradients are about 1e-25: tiny, but float32 holds numbers down to
    # about 1e-45. Their squares (about 1e-50) do not fit, so the norm is taken in float64.
    return x.grad.double().norm(dim=(0, 2)).numpy()  # (T,)


curves = {
    "plain RNN (tanh)": input_gradient_norms("rnn"),
    "LSTM, default init (f ≈ 0.5)": input_gradient_norms("lstm"),
    "LSTM, forget-gate bias 3 (f ≈ 0.95)": input_gradient_norms("lstm", forget_bias=3.0),
}
steps_back = np.arange(SEQ_LEN)[::-1]  # distance from the last step
fig, ax = plt.subplots(figsize=(7, 4))
for label, norms in curves.items():
    ax.semilogy(steps_back, norms, label=label)
ax.set(xlabel="steps before the end (k = T - 1 - t)", ylabel="||dL / dx_t||", title="How far back does the gradient reach?")
ax.invert_xaxis()
ax.legend()
plt.show()
for label, norms in curves.items():
    print(f"{label:38s} last step {norms[-1]:.1e}   first step {norms[0]:.1e}   "
          f"a drop of {np.log10(norms[-1] / norms[0]):.1f} orders of magnitude")

# %% [markdown] nbgrader={"grade": true, "grade_id": "gradients_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Read the plot. By how many orders of magnitude does the gradient shrink over the 100 steps
# for each network, what does that mean for learning this task, and why does the forget-gate bias change
# the picture so much? Why does a plain RNN have no such knob?
#
# ### BEGIN SOLUTION
# For the plain RNN the gradient falls by about 21 orders of magnitude over the 100 steps (from about
# $10^{-3}$ at the last step to $2\cdot 10^{-24}$ at the first), for the default LSTM by about 20 (to
# $10^{-23}$). These numbers are still representable in float32 (down to about $10^{-45}$); what the
# float32 arithmetic cannot hold is their squares, which is why the norms are computed in float64. Either
# way the loss is practically blind to $x_0$, which is exactly the input that decides the label, so
# gradient descent gets no signal to learn the task. With the forget
# gate near 0.95 the LSTM's gradient falls by less than two orders of magnitude over all 100 steps, because
# along the cell state it is multiplied by $f \approx 0.95$ per step ($0.95^{100} \approx 6\cdot 10^{-3}$)
# instead of by a shrinking Jacobian of a squashing layer. The default LSTM starts with $f \approx 0.5$
# ($0.5^{100} \approx 10^{-30}$), which is why practitioners initialise the forget bias positive; the
# point is that it *can* learn to open the gate. A plain RNN must push all memory through
# $\tanh(W_{hh} h)$ at every step, so preserving information means a carefully scaled $W_{hh}$ with no
# saturation — nothing lets it copy its state forward unchanged.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "memory_training_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### What the two networks learn
#
# Gradients at initialisation are only a prediction. The cell below **trains** both networks on a recall
# task and measures what they have learned. The input is one long stream of tokens: a *key* (one of 4
# symbols) followed by $d$ *noise* tokens (4 other symbols), then the next key, and so on, with each delay
# $d$ drawn uniformly from 1 to 60. At the $d$-th noise token after a key, the network must name that key
# (4 classes, so guessing gives 25 %); nothing is asked at the other steps.
#
# The stream is far too long to back-propagate through, so training uses **truncated back-propagation
# through time**: the stream is cut into chunks of 100 steps; each chunk starts from the state $(h, c)$ that
# the previous chunk ended with (the memory carries on), but the gradient stops at the chunk's start
# (`detach`). A key can therefore be recalled in the next chunk, but only what happens inside one chunk
# teaches the network.
#
# Both networks use PyTorch's `torch.nn.RNN` (tanh) and `torch.nn.LSTM` with 32 hidden units, not your
# NumPy cell: training needs gradients, and the fused PyTorch layers are fast enough to train six small
# networks in seconds. Both get the same embedding, read-out, optimiser (Adam, learning rate 0.01,
# gradients clipped at norm 1) and 300 chunks of 32 streams; the LSTM's forget-gate bias starts at 3, as
# in the plot above. Three seeds each (one under autograding).

# %% nbgrader={"grade": false, "grade_id": "memory_training", "locked": true, "schema_version": 3, "solution": false, "task": false}
N_KEYS, N_NOISE, MAX_DELAY, CHUNK = 4, 4, 60, 100
DELAY_BINS = [(1, 2), (3, 5), (6, 10), (11, 20), (21, 40), (41, 60)]


def recall_stream(rows, length, rng):
    """Token streams (rows, length): a key (0-3), then d noise tokens (4-7), d uniform in 1..MAX_DELAY, repeated.

    Returns the tokens, the targets (the key at the d-th noise token after it, -100 = no target elsewhere)
    and the delay of each target (0 where there is none), all (rows, length).
    """
    tokens = np.empty((rows, length), dtype=np.int64)
    targets = np.full((rows, length), -100, dtype=np.int64)
    delays = np.zeros((rows, length), dtype=np.int64)
    for r in range(rows):
        t = 0
        while t < length:
            key, d = int(rng.integers(N_KEYS)), int(rng.integers(1, MAX_DELAY + 1))
            tokens[r, t] = key
            n = min(d, length - t - 1)
            tokens[r, t + 1:t + 1 + n] = N_KEYS + rng.integers(N_NOISE, size=n)
            if t + d < length:
                targets[r, t + d], delays[r, t + d] = key, d
            t += d + 1
    return torch.from_numpy(tokens), torch.from_numpy(targets), delays


class Recaller(torch.nn.Module):
    """Embedding -> torch.nn.RNN (tanh) or torch.nn.LSTM -> a linear read-out of the 4 keys at every step."""

    def __init__(self, kind, hidden=32, forget_bias=3.0):
        super().__init__()
        self.embed = torch.nn.Embedding(N_KEYS + N_NOISE, 8)
        self.rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.RNN)(8, hidden, batch_first=True)
        if kind == "lstm":
            with torch.no_grad():  # gate order i, f, g, o: the forget gate is the second block
                self.rnn.bias_ih_l0[hidden:2 * hidden] = forget_bias
                self.rnn.bias_hh_l0[hidden:2 * hidden] = 0.0
        self.readout = torch.nn.Linear(hidden, N_KEYS)

    def forward(self, tokens, state=None):
        states, state = self.rnn(self.embed(tokens), state)  # (B, T, H), last state
        return self.readout(states), state


def train_recaller(kind, seed, chunks=300, rows=32):
    """Truncated BPTT over one long stream: chunks of CHUNK steps, the state carried over but detached."""
    torch.manual_seed(seed)
    net = Recaller(kind)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    tokens, targets, _ = recall_stream(rows, chunks * CHUNK, np.random.default_rng(seed))
    state = None
    for k in range(chunks):
        window = slice(k * CHUNK, (k + 1) * CHUNK)
        logits, state = net(tokens[:, window], state)
        # keep the values of the state for the next chunk, cut the gradient's path through it
        state = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, N_KEYS), targets[:, window].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    return net


def recall_by_delay(net):
    """Accuracy on a fresh stream (64 rows of 3000 steps, read in one pass), per bin of delays."""
    tokens, targets, delays = recall_stream(64, 3000, np.random.default_rng(12345))
    with torch.no_grad():
        logits, _ = net(tokens)
    right = (logits.argmax(-1) == targets).numpy()
    return np.array([right[(delays >= lo) & (delays <= hi)].mean() for lo, hi in DELAY_BINS])


memory_seeds = (0,) if tfscourse.grading_mode() else (0, 1, 2)
recall = {kind: np.array([recall_by_delay(train_recaller(kind, seed)) for seed in memory_seeds]) for kind in ("rnn", "lstm")}
fig, ax = plt.subplots(figsize=(7, 3.8))
centres = np.arange(len(DELAY_BINS))
for kind, label, colour in (("rnn", "plain RNN (tanh)", "tab:blue"), ("lstm", "LSTM, forget-gate bias 3", "tab:orange")):
    for run in recall[kind]:
        ax.plot(centres, run, "o", color=colour, alpha=0.5)
    ax.plot(centres, recall[kind].mean(axis=0), "-", color=colour, label=f"{label} (line: mean of {len(memory_seeds)} seeds)")
ax.axhline(1 / N_KEYS, color="gray", linestyle="--", label="guessing (25 %)")
ax.set_xticks(centres, [f"{lo}-{hi}" for lo, hi in DELAY_BINS])
ax.set_yticks(np.linspace(0, 1, 6))  # the space above 1 is for the legend
ax.set(xlabel="delay d (steps between the key and the question)", ylabel="recall accuracy", ylim=(0, 1.4),
       title="Trained on the same stream: which keys can each network recall?")
ax.legend(loc="upper center", fontsize=8)
plt.show()
for kind in recall:
    print(f"{kind:4s} accuracy per delay bin, one row per seed:")
    for seed, run in zip(memory_seeds, recall[kind]):
        print(f"     seed {seed}: " + "  ".join(f"{lo}-{hi}: {a:.2f}" for (lo, hi), a in zip(DELAY_BINS, run)))


# %% [markdown] nbgrader={"grade": true, "grade_id": "memory_training_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Read the plot and the printed accuracies. What has each network learned, at short and at
# long delays, and how do the three seeds differ? Relate what you see to the gradient plot above. Why can a
# network trained on chunks of 100 steps still answer a question whose key arrived in the previous chunk,
# and what could it not learn with chunks of 20 steps?
#
# ### BEGIN SOLUTION
# With the same data, optimiser and number of steps, the two networks learn very different things. All
# three LSTMs recall the key at every delay from 1 to 60 steps (accuracy 1.00 in every bin). The plain
# RNNs learn little: their best bin is the shortest delay (1-2 steps: 0.34, 0.72 and 0.55 for the three
# seeds), and beyond 10 steps two seeds are at guessing level (0.24-0.27) while the third stays at about
# 0.50 from 6 steps on: above guessing, but far from recalling the key. The seeds of the RNN differ a lot,
# those of the LSTM not at all. This is what the gradient plot predicted: in the RNN the gradient from a
# question back to its key shrinks by orders of magnitude within a few dozen steps, so the long-delay
# questions (most of them, with d uniform in 1-60) give it almost no signal, and each noise token passes
# through the same squashing update that is supposed to keep the key. The LSTM starts with
# $f \approx 0.95$, so the gradient still reaches a key 60 steps back, and its additive cell state can keep
# the key while the noise goes by. The state carried from chunk to chunk is what lets a network answer a
# question whose key came in the previous chunk: the forward pass never restarts from zero. But the
# gradient stops at the chunk boundary, so only key-question pairs inside one chunk teach anything; with
# chunks of 20 steps no pair with a delay of 20 or more would ever be learned from, and nothing would
# train the network to hold a key longer than 19 steps.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "clipping_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Exploding gradients and clipping by the global norm
#
# The opposite failure: when the recurrent Jacobians stretch vectors, the gradient grows exponentially with
# the sequence length. One huge gradient step throws the weights far away, the next forward pass overflows,
# and the weights and activations become `nan`. The standard remedy is **clipping by the global norm**:
# treat all gradients of the model as one long vector $g$, compute its norm
# $\lVert g \rVert = \sqrt{\sum_{\text{tensors}} \sum_{\text{entries}} g^2}$, and if it exceeds `max_norm`,
# rescale **every** tensor by the same factor `max_norm / ||g||`. The direction of the step is kept;
# only its length is capped. (Clipping each tensor on its own changes the direction.)
#
# Write `clip_grad_norm(grads, max_norm)` for a list of NumPy arrays. Return `(clipped_grads, total_norm)`:
# a **new** list of arrays with the same shapes (do not modify the inputs) and the norm **before** clipping
# as a float. When the norm is at most `max_norm`, return the gradients unchanged (as copies). It should
# match `torch.nn.utils.clip_grad_norm_`, which does the same in place. (PyTorch divides by `norm + 1e-6`
# to avoid dividing by zero; the tests accept that rule as well as the exact `max_norm / norm`.)

# %% nbgrader={"grade": false, "grade_id": "clip_grad_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def clip_grad_norm(grads, max_norm):
    """Rescale a list of gradient arrays so that their joint L2 norm is at most max_norm.

    Returns (clipped_grads, total_norm), total_norm measured before clipping.
    Example: [array([3., 0.]), array([4.])] with max_norm 1 -> [array([0.6, 0.]), array([0.8])], 5.0
    """
    ### BEGIN SOLUTION
    grads = [np.asarray(g, dtype=float) for g in grads]
    total_norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return [g * scale for g in grads], total_norm
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_clip_grad_norm", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check clipping on the docstring's example and on gradients that are already small."""
grads_demo = [np.array([3.0, 0.0]), np.array([4.0])]
clipped, norm = clip_grad_norm(grads_demo, 1.0)
assert grads_demo[0].tolist() == [3.0, 0.0] and grads_demo[1].tolist() == [4.0], "clip_grad_norm must not modify its inputs: return new arrays"
assert np.isclose(norm, 5.0), f"the global norm of [3, 0] and [4] is 5, got {norm}"
assert len(clipped) == 2, f"expected 2 clipped arrays, got {len(clipped)}"
assert np.allclose(clipped[0], [0.6, 0.0]) and np.allclose(clipped[1], [0.8]), f"expected [0.6, 0] and [0.8], got {clipped}"
small, small_norm = clip_grad_norm([np.array([0.3]), np.array([[0.4]])], 1.0)
assert np.isclose(small_norm, 0.5) and np.allclose(small[0], [0.3]) and np.allclose(small[1], [[0.4]]), "gradients with norm 0.5 < 1 must stay unchanged"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(51)
_cases = [
    ([(3, 4), (4,), (2, 2, 2)], 10.0, 1.0),
    ([(5,), (1, 7)], 0.1, 2.0),
    ([(6, 2)], 3.0, 0.5),
    ([(2, 3), (3,)], 1.0, 100.0),
    ([(1,), (4, 1), (2, 5)], 50.0, 3.0),
]
for _shapes, _scale, _max_norm in _cases:
    _grads = [_rng.normal(size=s) * _scale for s in _shapes]
    _before = [g.copy() for g in _grads]
    # called through a helper that also returns the arguments as they are after the call
    (_clipped, _norm), (_after, _) = char_lstm.call_keeping_arguments(clip_grad_norm, _grads, _max_norm)
    assert all(np.asarray(g).tolist() == b.tolist() for g, b in zip(_after, _before)), "clip_grad_norm must not modify its inputs"
    _tensors = [torch.tensor(g) for g in _before]
    for _t in _tensors:
        _t.grad = _t.clone()
    _want_norm = float(torch.nn.utils.clip_grad_norm_(_tensors, _max_norm))
    _exact = sum(v * v for g in _before for v in g.ravel().tolist()) ** 0.5
    assert abs(float(_norm) - _exact) <= 1e-9 * _exact, f"total_norm should be the global norm before clipping, {_exact:.6g}, got {float(_norm):.6g}"
    assert abs(float(_norm) - _want_norm) <= 1e-6 * _want_norm, "total_norm disagrees with torch.nn.utils.clip_grad_norm_"
    assert type(_clipped) in (list, tuple) and len(_clipped) == len(_before), "return one clipped array per gradient"
    # the exact rule max_norm / norm and torch's own max_norm / (norm + 1e-6) are both right
    _factors = (min(1.0, _max_norm / _exact), min(1.0, _max_norm / (_exact + 1e-6)))
    for _g, _b, _t in zip(_clipped, _before, _tensors):
        assert any(_close(_g, _b * _f) for _f in _factors), f"clipped gradients are wrong (max_norm={_max_norm}, norm={_exact:.3g})"
        assert _close(_g, _t.grad.numpy()), "clipped gradients disagree with torch.nn.utils.clip_grad_norm_"
# all-zero gradients: nothing to clip, no division by zero
_zero, _zero_norm = clip_grad_norm([np.zeros(3), np.zeros((2, 2))], 1.0)
assert float(_zero_norm) == 0.0 and all(type(z) is np.ndarray and not z.any() for z in _zero), "zero gradients must stay zero with norm 0"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "exploding_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below makes gradients explode on purpose: a **linear** RNN $h_t = W h_{t-1} + U x_t$ (no
# squashing, like a tanh RNN in its linear range) whose recurrent matrix stretches vectors by 1.1 per
# step, trained for 200 plain gradient steps (learning rate 0.05) to output the first of 30 inputs, which
# are standard normal numbers. It trains twice from the same start: without clipping, and with **your**
# `clip_grad_norm` (`max_norm = 1`). To judge the losses, compare them with a model that always outputs 0:
# its mean squared error is the variance of $x_1$, which is 1.

# %% nbgrader={"grade": false, "grade_id": "exploding_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import tfscourse


def train_linear_rnn(clip, steps=200, seq_len=30, hidden=16, lr=0.05):
    """Plain gradient descent on 'output the first input'; returns the losses and gradient norms per step."""
    torch.manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(hidden, hidden))
    params = [(1.1 * q).requires_grad_(), torch.randn(1, hidden).requires_grad_(), (torch.randn(hidden, 1) / 4).requires_grad_()]
    W, U, v = params
    generator = torch.Generator().manual_seed(1)
    losses, norms = [], []
    for _ in range(steps):
        x = torch.randn(32, seq_len, 1, generator=generator)
        h = torch.zeros(32, hidden)
        for t in range(seq_len):
            h = x[:, t] @ U + h @ W  # (32, 1) x (1, H) + (32, H) x (H, H) -> (32, H)
        loss = ((h @ v).squeeze(-1) - x[:, 0, 0]).pow(2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        grads = [p.grad.numpy() for p in params]
        if clip:
            grads, norm = clip_grad_norm(grads, 1.0)
        else:
            norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        losses.append(loss.item())
        norms.append(float(norm))
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * torch.as_tensor(np.asarray(g), dtype=p.dtype)
    return np.array(losses), np.array(norms)


with np.errstate(all="ignore"):
    runs = {"no clipping": train_linear_rnn(False), "your clip_grad_norm, max_norm = 1": train_linear_rnn(True)}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for (label, (losses, norms)), style in zip(runs.items(), ("o-", "-")):
    axes[0].semilogy(losses, style, label=label)
    axes[1].semilogy(norms, style, label=label)
axes[0].axhline(1.0, color="gray", linestyle="--", label="always answering 0")
axes[0].annotate("no clipping: nan after step 0", xy=(0, runs["no clipping"][0][0]), xytext=(30, runs["no clipping"][0][0]),
                 arrowprops=dict(arrowstyle="->"))
axes[0].legend(loc="upper right")
axes[0].set(xlabel="training step", ylabel="loss", title="Loss (a curve that stops has become nan)")
axes[1].set(xlabel="training step", ylabel="gradient norm before clipping", title="Global gradient norm")
axes[1].legend(loc="upper right")
plt.show()
for label, (losses, _) in runs.items():
    first_nan = next((i for i, value in enumerate(losses) if not np.isfinite(value)), None)
    print(f"{label:34s} first loss {losses[0]:.4g}, mean loss of the last 20 steps {losses[-20:].mean():.3g}"
          + ("" if first_nan is None else f", loss not finite from step {first_nan}"))
print("always answering 0 would have a mean squared error of 1 (the variance of the first input)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "charlm_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7 · A character-level LSTM language model
#
# A language model predicts the next token from the ones before it. Here the tokens are single
# characters and the text is the Python language reference that ships with every Python installation
# (`tfscourse.corpora.reference_text()`, about 460 000 characters of English prose and code examples). The
# model (in `tfscourse.char_lstm`) is an embedding of each character, one `torch.nn.LSTM` layer with 128
# hidden units, and a linear layer that turns every hidden state into scores (logits) for the next
# character. Training minimises the cross-entropy of the next character on random windows of 64
# characters, with Adam and **your** `clip_grad_norm` on every step. The last 10 % of the text is kept
# aside to measure the loss on text the model never trained on.
#
# Under autograding the run is cut to a few seconds (the samples are then poor; nothing is graded here).

# %% nbgrader={"grade": false, "grade_id": "charlm_train", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

from tfscourse.char_lstm import CharLMConfig, CharLSTM, CharVocab, random_windows
from tfscourse.corpora import reference_text, train_val_split

corpus = reference_text()
vocab = CharVocab.from_text(corpus)
train_text, val_text = train_val_split(corpus, CharLMConfig.val_fraction)
train_ids = torch.tensor(vocab.encode(train_text))
val_ids = torch.tensor(vocab.encode(val_text))
config = CharLMConfig(steps=60 if tfscourse.grading_mode() else CharLMConfig.steps)
torch.manual_seed(0)
model = CharLSTM(len(vocab), config)
optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
batch_generator = torch.Generator().manual_seed(0)


def mean_loss(ids, batches=8):
    """Average next-character cross-entropy (nats) on random windows of ids."""
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        losses = []
        for _ in range(batches):
            x, y = random_windows(ids, config.seq_len, config.batch_size, g)
            logits, _ = model(x)
            losses.append(torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1)).item())
    return float(np.mean(losses))


start = time.perf_counter()
history = []
for step in range(config.steps):
    if time.perf_counter() - start > config.max_seconds:
        print(f"stopped after {step} steps: the time budget of {config.max_seconds:.0f} s is used up (a slow or busy machine)")
        break
    x, y = random_windows(train_ids, config.seq_len, config.batch_size, batch_generator)  # (B, T), (B, T)
    logits, _ = model(x)  # (B, T, V)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    clipped, _ = clip_grad_norm([p.grad.numpy() for p in params], config.max_norm)
    for p, g in zip(params, clipped):
        p.grad.copy_(torch.as_tensor(np.asarray(g)))
    optimizer.step()
    history.append(loss.item())
train_seconds = time.perf_counter() - start
print(f"{len(history)} steps in {train_seconds:.1f} s; vocabulary of {len(vocab)} characters")
print(f"loss on held-out text: {mean_loss(val_ids):.3f} nats/char (uniform guessing: {math.log(len(vocab)):.3f})")
plt.figure(figsize=(6, 3))
plt.plot(history, lw=0.8)
plt.xlabel("training step")
plt.ylabel("training loss (nats / char)")
plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "sample_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8 · Sampling with a temperature
#
# To generate text, give the model a prompt, take the logits $z$ it predicts for the next character,
# **draw** a character from them, append it, and feed it back in as the next input — over and over. The
# *temperature* $\tau$ reshapes the distribution before drawing:
#
# $$p_k = \mathrm{softmax}(z / \tau)_k = \frac{e^{z_k / \tau}}{\sum_j e^{z_j / \tau}} .$$
#
# $\tau = 1$ uses the model's own probabilities; $\tau < 1$ sharpens them (safer, more repetitive text);
# $\tau > 1$ flattens them (more surprising, more errors). As $\tau \to 0$ sampling becomes *greedy*: always
# the most likely character. We define $\tau = 0$ to mean exactly that (`argmax`, first index on ties).
#
# Write `sample_next(logits, temperature, rng)` for a 1-D array of logits. Draw **only** with the
# NumPy generator `rng` that you are given (e.g. `rng.choice(len(p), p=p)`), so that a seeded generator
# gives reproducible text, and compute the softmax stably (a temperature of 0.01 multiplies the logits by 100).
# Return the index as a Python `int`.

# %% nbgrader={"grade": false, "grade_id": "sample_next", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample_next(logits, temperature, rng):
    """Draw an index from softmax(logits / temperature) with the NumPy Generator rng; temperature 0 = argmax.

    Example: sample_next(np.array([0.0, 5.0, 1.0]), 0, rng) -> 1
    """
    ### BEGIN SOLUTION
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    p = np.exp(scaled - scaled.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sample_next", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check greedy sampling, the type of the result and the frequencies at temperature 1."""
# char_lstm.numpy_generator(0) is np.random.default_rng(0), made through the course package: when the
# notebook is graded the checks run in a separate process, and the generator must live in yours.
rng = char_lstm.numpy_generator(0)
assert sample_next(np.array([0.0, 5.0, 1.0]), 0, rng) == 1, "temperature 0 should return the argmax"
draw = sample_next(np.array([0.0, 1.0]), 1.0, rng)
assert isinstance(draw, (int, np.integer)) and 0 <= draw < 2, f"expected an index 0 or 1, got {draw!r}"
counts = np.bincount([sample_next(np.array([0.0, np.log(3.0)]), 1.0, rng) for _ in range(2000)], minlength=2)
assert abs(counts[1] / 2000 - 0.75) < 0.05, f"logits [0, log 3] at temperature 1 give P(1) = 0.75, you drew index 1 in {counts[1] / 2000:.2f} of the cases"
counts = np.bincount([sample_next(np.array([0.0, np.log(3.0)]), 0.5, rng) for _ in range(2000)], minlength=2)
assert abs(counts[1] / 2000 - 0.9) < 0.04, f"at temperature 0.5 the logits become [0, 2 log 3]: P(1) = 9 / 10, you drew index 1 in {counts[1] / 2000:.2f} of the cases"
assert sample_next(np.array([10.0, 11.0]), 0.01, rng) == 1, "temperature 0.01 makes the logits [1000, 1100]: subtract the maximum before exp"
rng_a, rng_b = char_lstm.numpy_generator(5), char_lstm.numpy_generator(5)
draws_a = [sample_next(np.array([0.0, 0.5, 1.0]), 1.0, rng_a) for _ in range(20)]
assert draws_a == [sample_next(np.array([0.0, 0.5, 1.0]), 1.0, rng_b) for _ in range(20)], "two generators with the same seed must give the same draws: draw with the rng you are given"
### BEGIN HIDDEN TESTS
import math

import numpy as np


def _probs(logits, temperature):
    scaled = [z / temperature for z in logits]
    top = max(scaled)
    e = [math.exp(s - top) for s in scaled]
    return [v / sum(e) for v in e]


# the rng that is passed in decides everything
_seq1, _seq2 = [], []
_r1, _r2 = char_lstm.numpy_generator(99), char_lstm.numpy_generator(99)
for _ in range(60):
    _seq1.append(sample_next(np.array([0.5, -1.0, 2.0, 0.0]), 1.3, _r1))
    _seq2.append(sample_next(np.array([0.5, -1.0, 2.0, 0.0]), 1.3, _r2))
assert _seq1 == _seq2, "two generators with the same seed must give the same samples: draw with the rng argument"
assert all(int(s) == s and 0 <= s < 4 for s in _seq1), "samples must be integer indices in range"
# frequencies match softmax(logits / temperature)
_n = 4000
for _logits, _temperature, _seed in [([2.0, 1.0, 0.0, -1.0], 2.0, 1), ([2.0, 1.0, 0.0, -1.0], 0.5, 2), ([1000.0, 999.0, -1000.0], 1.0, 3),
                                     ([0.3, 0.1, 0.2], 0.05, 4), ([3.0, -2.0, 1.0, 1.0, 0.0], 1.7, 5)]:
    _rng = char_lstm.numpy_generator(_seed)
    _draws = [sample_next(np.array(_logits), _temperature, _rng) for _ in range(_n)]
    _want = _probs(_logits, _temperature)
    for _k, _p in enumerate(_want):
        _freq = sum(1 for d in _draws if d == _k) / _n
        assert abs(_freq - _p) < 0.035, f"logits {_logits}, temperature {_temperature}: index {_k} should have probability {_p:.3f}, drew it {_freq:.3f} of the time"
# temperature 0 is greedy, and tiny temperatures do not overflow
_rng = char_lstm.numpy_generator(6)
assert all(sample_next(np.array([0.1, 0.7, 0.3, 0.7]), 0, _rng) == 1 for _ in range(20)), "temperature 0 must return the first argmax"
assert all(sample_next(np.array([0.1, 0.7, 0.3]), 1e-4, _rng) == 1 for _ in range(20)), "a tiny temperature must behave almost greedily"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "generate_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below generates text with **your** `sample_next`: it feeds the prompt through the model,
# then repeats *sample a character → feed it back*, carrying the LSTM state $(h, c)$ from step to step.

# %% nbgrader={"grade": false, "grade_id": "generate_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
def generate(prompt, n_chars, temperature, seed=0):
    """Continue `prompt` by n_chars characters sampled from the model with the given temperature."""
    rng = np.random.default_rng(seed)
    ids = vocab.encode(prompt)
    with torch.no_grad():
        logits, state = model(torch.tensor([ids]))  # read the whole prompt, keep the state
        out = []
        for _ in range(n_chars):
            next_id = sample_next(logits[0, -1].double().numpy(), temperature, rng)
            out.append(next_id)
            logits, state = model(torch.tensor([[next_id]]), state)  # feed the sample back in
    return prompt + vocab.decode(out)


n_chars = 80 if tfscourse.grading_mode() else 240
for temperature in (0, 0.5, 1.0, 1.5):
    print(f"---- temperature {temperature} ----")
    print(generate("The value of ", n_chars, temperature))

# %% [markdown] nbgrader={"grade": true, "grade_id": "temperature_discussion", "locked": false, "points": 1.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Compare the samples at the four temperatures. What goes wrong at temperature 0 and at 1.5,
# and why does the model keep producing plausible indentation and words although it only ever sees one
# character at a time?
#
# ### BEGIN SOLUTION
# At temperature 0 the model always takes the most likely character, so it quickly falls into a loop and
# repeats the same phrase. At 1.5 the flattened distribution often picks unlikely characters: misspelled
# words, odd symbols. Temperatures around 0.5-1 trade these off. The model still writes plausible words
# and indentation because its state $(h, c)$ summarises everything it has read so far: the cell state
# can keep, for example, "we are inside a word" or "this line is indented" for many steps, and each new
# character is sampled conditioned on that memory, not on the last character alone.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "gates_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 9 · What do the gates do? An explorer
#
# Your `lstm_forward` uses the same layout as `torch.nn.LSTM`, so it can run the trained model: the cell
# below copies the model's LSTM weights into NumPy, feeds the embedded characters of a text through your
# function and compares with PyTorch. Everything after that is computed with your `sigmoid` and `lstm_cell`.
#
# The model has 128 units, and most of them mean nothing a person can name. To start from units that do,
# the cell reads 3000 characters of held-out text and, for four simple properties of the text (the position
# in the line, being inside brackets, inside quotes, inside a word), prints the unit whose **cell state**
# follows that property most closely, with the correlation $r$ between the two over the 3000 characters
# ($r = \pm 1$: a perfect straight-line relation, $r = 0$: none). Which units these are, and how high $r$ is,
# depends on the training run; a short run (as under autograding) finds weaker ones.
#
# The explorer below then reads a text you type (at most 80 characters). The first dropdown picks a gate or
# a state; the heatmap shows those units first (four, or fewer when one unit
# tracks two properties), then the units whose value changes most over your text
# (one column per character). Below it, your text is printed with each character on a background coloured
# by one unit (the second dropdown; it starts with the unit that tracks its property best). Type text with
# long lines, brackets and quotes and check whether the unit really follows its property, and look among the
# other units for one that tracks something else.

# %% nbgrader={"grade": false, "grade_id": "gates_widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.lstm_gates import gate_activations, show_gates, text_features, units_that_track

lstm_weights = model.lstm_weights()  # W_ih (4H, E), W_hh (4H, H), b_ih, b_hh in torch's layout
check_text = "def f(x):\n    return x + 1"
X_check = model.embed_ids(vocab.encode(check_text))[:, None, :]  # (T, 1, E)
H_model = config.hidden_size
ours, _ = lstm_forward(X_check, np.zeros((1, H_model)), np.zeros((1, H_model)), *lstm_weights)
with torch.no_grad():
    theirs, _ = model.lstm(torch.tensor(X_check, dtype=torch.float32).transpose(0, 1))  # (1, T, H) batch first
print(f"largest difference between your lstm_forward and the trained torch.nn.LSTM: {np.abs(ours[:, 0] - theirs[0].numpy()).max():.2e}")


def encode(text):
    """Characters the model knows -> (LSTM inputs (T, E), the characters)."""
    ids = vocab.encode(text)
    return model.embed_ids(ids), [vocab.chars[i] for i in ids]


reading = val_text[5000:8000]  # 3000 held-out characters: prose, code examples, brackets and quotes
reading_X, reading_chars = encode(reading)
cell_states = gate_activations(reading_X, *lstm_weights, sigmoid=sigmoid, cell=lstm_cell)["cell state c"]  # (T, H)
tracking = units_that_track(cell_states, text_features("".join(reading_chars)))
for feature, (unit, r) in sorted(tracking.items(), key=lambda item: -abs(item[1][1])):
    print(f"{feature:22s} followed best by the cell state of unit {unit:3d}: r = {r:+.2f}")
marked = {}
for feature, (unit, r) in sorted(tracking.items(), key=lambda item: -abs(item[1][1])):
    marked.setdefault(unit, f"{feature} (r = {r:+.2f})")
gate_explorer = show_gates(encode, lstm_weights, sigmoid=sigmoid, cell=lstm_cell, gate="cell state c", marked=marked,
                           text='for item in (a, b):\n    print("item", item[0], len(item))')
torch.set_num_threads(torch_threads_before)  # the last cell that trains or runs a model: restore the default

# %% [markdown] nbgrader={"grade": false, "grade_id": "concepts_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 10 · Concept questions on recurrent networks
#
# Each answer is a **set** of letters, e.g. `{"A", "C"}`; a question may have one or several correct
# options. Your answers are checked when the notebook is graded. (The numbers are those of the homework
# sheet, seed 004 §1.)
#
# **Q3.** A *many-to-one* RNN reads a whole sequence and produces one output. For which tasks would you use it?
# A. speech recognition (audio clip in, transcript out) ·
# B. sentiment classification (a text in, 0/1 for negative/positive out) ·
# C. recognising the speaker's gender from an audio clip (one label out)
#
# **Q6.** You train an RNN language model. At time step $t$ it is …
# A. estimating $P(y_1, \dots, y_{t-1})$ · B. estimating $P(y_1)$ ·
# C. estimating $P(y_t \mid y_1, \dots, y_{t-1})$ · D. estimating $P(y_t \mid y_1, \dots, y_t)$
#
# **Q7.** While training an RNN, all weights and activations become `nan`. The most likely cause is …
# A. vanishing gradients · B. exploding gradients ·
# C. a ReLU $g(z)$ applied to a very large $z$ · D. a sigmoid $g(z)$ applied to a very large $z$
#
# **Q8.** You sample random sentences from a trained RNN language model. At each step $t$ you …
# A. take the most probable word as $y_t$, then feed the ground-truth word from the training set to the next step ·
# B. draw $y_t$ at random from the predicted probabilities, then feed the ground-truth word to the next step ·
# C. take the most probable word as $y_t$, then feed this word to the next step ·
# D. draw $y_t$ at random from the predicted probabilities, then feed this word to the next step
#
# **Q9.** Your pet crab's mood on a day depends on that day's and the past few days' weather. You have the
# weather $x_1, \dots, x_{42}$ and the moods $y_1, \dots, y_{42}$ of 42 days and want a model $x \to y$.
# A. a bidirectional RNN, because the prediction for day $t$ can then use more information ·
# B. a bidirectional RNN, because backpropagation then computes more accurate gradients ·
# C. a unidirectional RNN, because $y_t$ depends only on $x_1, \dots, x_t$ and not on $x_{t+1}, \dots, x_{42}$ ·
# D. a unidirectional RNN, because $y_t$ depends only on $x_t$ and not on the other days' weather
#
# **Q10.** In an encoder-decoder RNN for translation, an encoder RNN reads the source sentence $x$ and its
# final state starts a decoder RNN that generates the target sentence $y$ word by word. It is called a
# *conditional language model*. True or false: the **encoder** part models the probability of the input
# sentence $x$. A. true · B. false
#
# *Where the course departs from the handout:* the sheet's figure for Q10 is missing (described in words
# above), and the check marks of Q9 are scrambled in the text of the sheet; the answers are checked
# against our own reasoning, not the sheet's marks.

# %% nbgrader={"grade": false, "grade_id": "concept_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
answer_q3 = {"B", "C"}
answer_q6 = {"C"}
answer_q7 = {"B"}
answer_q8 = {"D"}
answer_q9 = {"C"}
answer_q10 = {"B"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q3: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q3, set) and answer_q3 <= {"A", "B", "C"}, "answer_q3 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q3) is set and answer_q3 == {"B", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q6", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q6: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q6, set) and answer_q6 <= {"A", "B", "C", "D"}, "answer_q6 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q6) is set and answer_q6 == {"C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q7", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q7: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q7, set) and answer_q7 <= {"A", "B", "C", "D"}, "answer_q7 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q7) is set and answer_q7 == {"B"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q8", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q8: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q8, set) and answer_q8 <= {"A", "B", "C", "D"}, "answer_q8 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q8) is set and answer_q8 == {"D"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q9", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q9: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q9, set) and answer_q9 <= {"A", "B", "C", "D"}, "answer_q9 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q9) is set and answer_q9 == {"C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q10", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q10: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q10, set) and answer_q10 <= {"A", "B"}, "answer_q10 must be a set of letters among A, B"
### BEGIN HIDDEN TESTS
assert type(answer_q10) is set and answer_q10 == {"B"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You built an LSTM that matches PyTorch's, saw why its additive memory lets gradients survive where a
# plain RNN's vanish, capped exploding gradients by their global norm, and generated text one sampled
# character at a time. Notebook 06 replaces recurrence by attention in a GPT. Before handing in:
# *Kernel → Restart and run all*, check that every visible test passes, then save (on Colab:
# *File → Download → Download .ipynb*).
#
# *Running time (solution notebook, measured on 2 CPU cores shared with other jobs, load about 5):* about
# 2 minutes from top to bottom, of which 53 s for the recall experiment (about 23 s of CPU time) and 41 s for
# the language model (stopped by its 40 s budget after about 800 steps); about 36 s under autograding, where
# the recall experiment trains one seed per network (13 s) and the language model 60 steps.
