# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 02 · Multi-head attention, sketched and built
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/02_multihead_attention/multihead_attention.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. give the shape of every matrix in a multi-head self-attention layer for sequence length $S$,
#    embedding size $E$, $H$ heads, query/key size $M_{QK}$ and value size $M_V$, and draw the layer;
# 2. count its parameters and compare the count with PyTorch's `nn.MultiheadAttention`;
# 3. implement multi-head self-attention with masks in NumPy, split a fused QKV projection into heads,
#    and read per-head attention maps;
# 4. compute one encoder layer and one decoder-only layer by hand (the exercise sheet's
#    "hello world !") and say which conventions the sheet's answer uses; write the decoder's
#    cross-attention and generate tokens autoregressively;
# 5. implement layer normalisation and explain where it sits in a transformer block.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. Run the test cell under each answer: it checks small examples and says what
# it expected. More (hidden) checks run when your notebook is graded, so try your functions on your own
# inputs too. Do not delete, copy or retype the locked cells.
#
# **Running time and hardware.** About 10 seconds from top to bottom on a laptop CPU; no GPU needed.
# Works in JupyterLab and on Google Colab (the first cell installs the course package there).

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

# %% [markdown] nbgrader={"grade": false, "grade_id": "imports_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Notebook 01 had you write a stable softmax. From now on the course package provides one (notebook 01's
# reference answer, handed out after its deadline): `tfscourse.unlocked.self_attention.softmax(x, axis=-1)`
# subtracts the maximum first, gives weight 0 to entries equal to `-np.inf`, and returns all-zero
# weights for a slice that is entirely `-np.inf` (a query that may look at nothing). Use it in your
# answers.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from tfscourse.unlocked.self_attention import softmax


# %% [markdown] nbgrader={"grade": false, "grade_id": "shapes_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · The sketch: every matrix and its shape
#
# A multi-head self-attention layer reads a sequence of $S$ tokens, each an $E$-dimensional row of
# $X \in \mathbb{R}^{S \times E}$. Head $h = 1, \dots, H$ has its own three projection matrices
# $W_Q^h, W_K^h$ (queries and keys of $M_{QK}$ entries) and $W_V^h$ (values of $M_V$ entries), and runs
# ordinary scaled dot-product attention:
#
# $$Q_h = X W_Q^h,\quad K_h = X W_K^h,\quad V_h = X W_V^h,\qquad
#   A_h = \mathrm{softmax}\!\left(\frac{Q_h K_h^\top}{\sqrt{M_{QK}}}\right),\qquad \mathrm{head}_h = A_h V_h .$$
#
# The heads are then put **side by side** (head 1's columns first, then head 2's, ...) and one more
# matrix mixes them back to the embedding size:
#
# $$\mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_H)\, W_O .$$
#
# Write `mha_shapes(S, E, H, M_QK, M_V)` returning a dict with **exactly these keys**, each mapped to a
# tuple `(rows, columns)` of ints (per head unless marked *layer*):
#
# | key | what it is |
# |---|---|
# | `"W_Q"`, `"W_K"`, `"W_V"` | the projection matrices of one head |
# | `"Q_h"`, `"K_h"`, `"V_h"` | the queries, keys and values of one head |
# | `"scores"` | $Q_h K_h^\top / \sqrt{M_{QK}}$ |
# | `"weights"` | $A_h$, the softmax of the scores |
# | `"head_output"` | $\mathrm{head}_h = A_h V_h$ |
# | `"concat"` | *layer*: all heads side by side |
# | `"W_O"` | *layer*: the output projection |
# | `"output"` | *layer*: the result |
#
# *Where the course departs from a handout:* the homework sheet gives $W^O \in \mathbb{R}^{h \cdot d_k \times d_{out}}$.
# The concatenation has $H \cdot M_V$ columns (the value size, not the key size), so $W_O$ must have
# $H \cdot M_V$ rows; the two only agree when $M_{QK} = M_V$.

# %% nbgrader={"grade": false, "grade_id": "mha_shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mha_shapes(S, E, H, M_QK, M_V):
    """Shapes (rows, columns) of every matrix of a multi-head self-attention layer.

    Example: mha_shapes(4, 6, 2, 3, 3)["scores"] -> (4, 4)
    """
    ### BEGIN SOLUTION
    return {
        "W_Q": (E, M_QK),
        "W_K": (E, M_QK),
        "W_V": (E, M_V),
        "Q_h": (S, M_QK),
        "K_h": (S, M_QK),
        "V_h": (S, M_V),
        "scores": (S, S),
        "weights": (S, S),
        "head_output": (S, M_V),
        "concat": (S, H * M_V),
        "W_O": (H * M_V, E),
        "output": (S, E),
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mha_shapes", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the keys and the shapes that are most often wrong, for S=4, E=6, H=2, M_QK=3, M_V=5 (M_QK != M_V on purpose)."""
KEYS = {"W_Q", "W_K", "W_V", "Q_h", "K_h", "V_h", "scores", "weights", "head_output", "concat", "W_O", "output"}
shapes = mha_shapes(4, 6, 2, 3, 5)
assert isinstance(shapes, dict), f"expected a dict, got {type(shapes).__name__}"
assert set(shapes) == KEYS, f"missing keys {sorted(KEYS - set(shapes))}, unexpected keys {sorted(set(shapes) - KEYS)}"
for key, value in shapes.items():
    assert isinstance(value, tuple) and len(value) == 2, f"{key}: expected a tuple (rows, columns), got {value!r}"
assert shapes["W_Q"] != (3, 6), "W_Q is (M_QK, E): that is the column-vector convention; here tokens are rows and Q_h = X W_Q, so W_Q is (E, M_QK)"
assert shapes["W_Q"] != (6, 6), "W_Q is (E, H * M_QK): that is all heads stacked; the table asks for ONE head's matrix, (E, M_QK)"
assert shapes["W_Q"] == (6, 3), f"W_Q maps an E = 6 row to M_QK = 3 entries: expected (6, 3), got {shapes['W_Q']}"
assert shapes["Q_h"] == (4, 3), f"one query row per token: expected (4, 3), got {shapes['Q_h']}"
assert shapes["scores"] == (4, 4), f"scores compare every query with every key: expected (S, S) = (4, 4), got {shapes['scores']}"
assert shapes["concat"] != (4, 6), "concat has H * M_QK = 6 columns: that is the handout's slip; each head outputs M_V = 5 columns, so concat has H * M_V"
assert shapes["concat"] == (4, 10), f"H = 2 heads of M_V = 5 columns side by side: expected (4, 10), got {shapes['concat']}"
assert shapes["W_O"] == (10, 6), f"W_O maps the H * M_V = 10 concatenated columns back to E = 6: expected (10, 6), got {shapes['W_O']}"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(22)
_dims = [(4, 6, 2, 3, 3), (5, 8, 2, 3, 4), (1, 7, 3, 2, 5), (9, 12, 4, 5, 2), (3, 2, 1, 4, 1)]
_dims += [tuple(int(v) for v in _rng.integers(1, 12, size=5)) for _ in range(5)]
for _S, _E, _H, _M_QK, _M_V in _dims:
    _got = mha_shapes(_S, _E, _H, _M_QK, _M_V)
    _want = {
        "W_Q": (_E, _M_QK), "W_K": (_E, _M_QK), "W_V": (_E, _M_V), "Q_h": (_S, _M_QK), "K_h": (_S, _M_QK),
        "V_h": (_S, _M_V), "scores": (_S, _S), "weights": (_S, _S), "head_output": (_S, _M_V),
        "concat": (_S, _H * _M_V), "W_O": (_H * _M_V, _E), "output": (_S, _E),
    }
    assert type(_got) is dict and sorted(_got) == sorted(_want), "wrong set of keys"
    for _key, _shape in _want.items():
        _value = _got[_key]
        assert type(_value) is tuple and len(_value) == 2, f"{_key} must be a tuple of two ints"
        assert tuple(int(d) for d in _value) == _shape and all(int(d) == d for d in _value), (
            f"{_key} is wrong for S={_S}, E={_E}, H={_H}, M_QK={_M_QK}, M_V={_M_V}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sketch_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below draws the layer from **your** `mha_shapes`: one box per matrix, sized by its
# dimensions and labelled with them, arrows for the operations with their formulas. A shape that does
# not fit is drawn in red, with a note underneath. Change the sizes and look again: which boxes grow
# when you double $M_V$? Which never depend on $H$?

# %% nbgrader={"grade": false, "grade_id": "sketch_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.mha_sketch import show_mha_sketch

sketch_sizes = dict(S=5, E=8, H=2, M_QK=3, M_V=4)
try:
    student_shapes = mha_shapes(**sketch_sizes)
except NotImplementedError:
    student_shapes = {}
sketch_problems = show_mha_sketch(student_shapes, **sketch_sizes)
print("every shape fits" if not sketch_problems else f"{len(sketch_problems)} shape(s) to fix (in red)")


# %% [markdown] nbgrader={"grade": true, "grade_id": "sketch_formulas", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question (the sketch in words).** Go through the layer from $X$ to the output. For every step say
# whether it has parameters, give its formula and the shapes it turns into which, and name the
# non-parametric steps (splitting into heads, dot products, scaling, softmax, concatenation). Say how the
# picture changes when you add a mask.
#
# ### BEGIN SOLUTION
# 1. Projections (parameters $W_Q^h, W_K^h \in \mathbb{R}^{E \times M_{QK}}$, $W_V^h \in \mathbb{R}^{E \times M_V}$ per head):
#    $Q_h = X W_Q^h$, $K_h = X W_K^h$ ($S \times M_{QK}$), $V_h = X W_V^h$ ($S \times M_V$). In practice the
#    $H$ matrices are stored side by side ($E \times H M_{QK}$) and the result is *split* into heads by slicing
#    columns $h M_{QK}, \dots, (h+1) M_{QK} - 1$ — a non-parametric reshape.
# 2. Dot products and scaling (no parameters): $\mathrm{scores}_h = Q_h K_h^\top / \sqrt{M_{QK}}$, $S \times S$,
#    entry $(i, j)$ = how well query $i$ matches key $j$.
# 3. Mask (optional, no parameters): hidden entries set to $-\infty$.
# 4. Softmax over each row (no parameters): $A_h$, $S \times S$, rows sum to one.
# 5. Weighted sum (no parameters): $\mathrm{head}_h = A_h V_h$, $S \times M_V$.
# 6. Concatenation (no parameters): $[\mathrm{head}_1, \dots, \mathrm{head}_H]$, $S \times H M_V$.
# 7. Output projection (parameter $W_O \in \mathbb{R}^{H M_V \times E}$): $\mathrm{Concat} \cdot W_O$, $S \times E$,
#    the same shape as $X$, so a residual connection can add them and layers can be stacked.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "params_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · How many parameters?
#
# Write `mha_param_count(E, H, M_QK, M_V, bias=False)`: the number of learned numbers in the layer.
# With `bias=True` every projection also has a bias vector: one per head for each of the query, key and
# value projections (of length $M_{QK}$, $M_{QK}$ and $M_V$) and one of length $E$ for $W_O$.
# The hidden tests compare your count with PyTorch's `nn.MultiheadAttention` (which uses
# $M_{QK} = M_V = E / H$).

# %% nbgrader={"grade": false, "grade_id": "mha_param_count", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mha_param_count(E, H, M_QK, M_V, bias=False):
    """Number of parameters of a multi-head self-attention layer (an int).

    Example: mha_param_count(8, 2, 4, 4) -> 256  (4 matrices of 8 x 8)
    """
    ### BEGIN SOLUTION
    count = H * (2 * E * M_QK + E * M_V) + H * M_V * E  # per-head W_Q, W_K, W_V, then W_O
    if bias:
        count += H * (2 * M_QK + M_V) + E
    return count
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mha_param_count", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the count for E = 8, H = 2: with M_QK = M_V = 4, with M_QK = 2 != M_V = 5, and with biases."""
n_params = mha_param_count(8, 2, 4, 4)
assert n_params == 256, f"four 8 x 8 matrices hold 256 numbers, got {n_params}"
n_params = mha_param_count(8, 2, 2, 5)
assert n_params != 176, "got 176: W_O sized with H * M_QK rows; the concatenation has H * M_V = 10 columns, so W_O is (10, 8)"
assert n_params == 224, f"per head 8x2 + 8x2 + 8x5 = 72, times 2 heads = 144, plus W_O (10 x 8) = 80: expected 224, got {n_params}"
n_params = mha_param_count(8, 2, 4, 4, bias=True)
assert n_params != 256, "bias=True must add the bias vectors: H * (M_QK + M_QK + M_V) for the heads and E for W_O"
assert n_params == 288, f"256 weights + 2 * (4 + 4 + 4) + 8 = 32 biases: expected 288, got {n_params}"
### BEGIN HIDDEN TESTS
import torch

for _E, _H in [(8, 2), (12, 3), (6, 6), (5, 1)]:
    for _bias in (False, True):
        _got = mha_param_count(_E, _H, _E // _H, _E // _H, bias=_bias)
        _layer = torch.nn.MultiheadAttention(_E, _H, bias=_bias)
        _want = sum(p.numel() for p in _layer.parameters())
        assert int(_got) == _got and int(_got) == _want, f"E={_E}, H={_H}, bias={_bias}: the count differs from torch.nn.MultiheadAttention's"
for _E, _H, _M_QK, _M_V in [(8, 2, 3, 5), (10, 4, 2, 7), (3, 5, 1, 2)]:
    for _bias in (False, True):
        _want = _H * (2 * _E * _M_QK + _E * _M_V) + _H * _M_V * _E + (_H * (2 * _M_QK + _M_V) + _E if _bias else 0)
        _got = mha_param_count(_E, _H, _M_QK, _M_V, bias=_bias)
        assert int(_got) == _got and int(_got) == _want, f"wrong count for E={_E}, H={_H}, M_QK={_M_QK}, M_V={_M_V}, bias={_bias}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "warmup_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Multi-head attention in NumPy
#
# **Warm-up (from the hands-on slides).** One head has queries $q_1 = [1, 0]$, $q_2 = [0, 1]$,
# $q_3 = [1, 1]$ and keys $k_1 = [0, 1]$, $k_2 = [1, 0]$, $k_3 = [1, 1]$. Store in `q1_scores` the raw
# dot products of $q_1$ with the three keys and in `q1_weights` its attention weights (scaled by
# $\sqrt{2}$, then softmax), both as arrays of length 3.
#
# *Where the course departs from the handout:* the slides pose this exercise and then answer with the
# scores of *The* against *cat*, *sat*, ... from the earlier "The cat sat on the mat" table, not with
# these vectors. The scores of $q_1$ here are $0, 1, 1$.

# %% nbgrader={"grade": false, "grade_id": "q1_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
warm_Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
warm_K = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
q1_scores = warm_K @ warm_Q[0]
q1_weights = softmax(q1_scores / np.sqrt(2))
### END SOLUTION
print("scores :", np.round(q1_scores, 4))
print("weights:", np.round(q1_weights, 4))

# %% nbgrader={"grade": true, "grade_id": "test_q1_answers", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the scores and weights of q_1."""
assert np.shape(q1_scores) == (3,) and np.shape(q1_weights) == (3,), "expected two arrays of length 3"
assert np.allclose(q1_scores, [0, 1, 1]), f"q_1 = [1, 0] against the keys k_1, k_2, k_3 gives 0, 1, 1 (dot products with the KEYS), got {q1_scores}"
assert abs(float(np.sum(q1_weights)) - 1.0) < 1e-9, f"weights should sum to 1, got {np.sum(q1_weights)}"
assert np.all(np.asarray(q1_weights) > 0), f"softmax weights are positive (normalise with exp, not by the sum of the scores), got {q1_weights}"
ratio = float(q1_weights[1] / q1_weights[0])
assert not np.isclose(ratio, np.e), "the ratio of the weights of k_2 and k_1 is e^1: the scores were not divided by sqrt(2)"
assert np.isclose(ratio, np.exp(1 / np.sqrt(2))), f"weights are softmax(scores / sqrt(2)), so w_2 / w_1 = e^(1/sqrt 2); got {ratio:.4f}"
### BEGIN HIDDEN TESTS
import math

_e = math.exp(1 / math.sqrt(2))
_want_w = [1 / (1 + 2 * _e), _e / (1 + 2 * _e), _e / (1 + 2 * _e)]
assert [float(v) for v in q1_scores] == [0.0, 1.0, 1.0], "q_1 . k_j are 0, 1 and 1"
assert all(abs(float(a) - b) < 1e-6 for a, b in zip(q1_weights, _want_w)), "the weights of q_1 are wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "mha_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **The layer.** Write `multi_head_attention(X, W_Q, W_K, W_V, W_O, mask=None)` with the per-head
# matrices stacked along a first axis:
#
# * `X`: $(S, E)$; `W_Q`, `W_K`: $(H, E, M_{QK})$; `W_V`: $(H, E, M_V)$; `W_O`: $(H M_V, E)$;
# * `mask`: `None` or a boolean $(S, S)$ array, `True` = *query i may look at key j*, the same for every head;
#   a query row with no visible key gets all-zero weights (the `softmax` above does that for you once the
#   hidden scores are `-np.inf`);
# * return `(output, weights)`: output $(S, E)$ and the weights of every head $(H, S, S)$.
#
# Concatenate the heads in order (head 0's $M_V$ columns first). You may loop over the heads or use
# batched matrix products (`@` broadcasts over a leading head axis: `X @ W_Q` has shape $(H, S, M_{QK})$); both are fine.

# %% nbgrader={"grade": false, "grade_id": "multi_head_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def multi_head_attention(X, W_Q, W_K, W_V, W_O, mask=None):
    """Multi-head self-attention of the rows of X; returns (output (S, E), weights (H, S, S))."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    M_QK = W_Q.shape[-1]
    Q = X @ W_Q  # (S, E) x (H, E, M_QK) -> (H, S, M_QK), the same X for every head (broadcast)
    K = X @ W_K  # (S, E) x (H, E, M_QK) -> (H, S, M_QK)
    V = X @ W_V  # (S, E) x (H, E, M_V) -> (H, S, M_V)
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(M_QK)  # (H, S, M_QK) x (H, M_QK, S) -> (H, S, S)
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)  # (S, S) broadcast over heads
    weights = softmax(scores, axis=-1)  # (H, S, S)
    heads = weights @ V  # (H, S, S) x (H, S, M_V) -> (H, S, M_V)
    concat = heads.transpose(1, 0, 2).reshape(X.shape[0], -1)  # (H, S, M_V) -> (S, H, M_V) -> (S, H * M_V)
    return concat @ W_O, weights  # (S, H * M_V) x (H * M_V, E) -> (S, E)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_multi_head_attention", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Weights: shapes, rows that sum to one, and each head's own softmax(X W_Q[h] (X W_K[h])^T / sqrt(M_QK)) (H=2, M_QK=3, M_V=5)."""
rng = np.random.default_rng(0)
X_small = rng.normal(size=(4, 6))
W_Q_small, W_K_small = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 3))
W_V_small, W_O_small = rng.normal(size=(2, 6, 5)), rng.normal(size=(10, 6))
out, w = multi_head_attention(X_small, W_Q_small, W_K_small, W_V_small, W_O_small)
assert w.shape == (2, 4, 4), f"expected weights of shape (H, S, S) = (2, 4, 4), got {w.shape}"
assert np.allclose(w.sum(axis=-1), 1.0), (
    "every row of every head's weights should sum to 1: take the softmax over the keys (the last axis); "
    f"row sums {np.round(w.sum(axis=-1), 3).tolist()}"
    + (" (your columns sum to 1: the softmax ran over the queries)" if np.allclose(w.sum(axis=-2), 1.0) else ""))


def head_weights(h, scale):
    """softmax(X W_Q[h] (X W_K[h])^T / scale), row by row."""
    scores = (X_small @ W_Q_small[h]) @ (X_small @ W_K_small[h]).T / scale
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


assert not np.allclose(w[0], w[1]), "both heads have the same weights: each head needs its own scores from W_Q[h] and W_K[h]"
for h in range(2):
    if np.allclose(w[h], head_weights(h, np.sqrt(6))):
        raise AssertionError(f"head {h}: scores divided by sqrt(E) = sqrt(6); divide by sqrt(M_QK) = sqrt(3), the size of a query")
    if np.allclose(w[h], head_weights(h, np.sqrt(5))):
        raise AssertionError(f"head {h}: scores divided by sqrt(M_V) = sqrt(5); divide by sqrt(M_QK) = sqrt(3), the size of a query")
    if np.allclose(w[h], head_weights(h, 1.0)):
        raise AssertionError(f"head {h}: the scores are not scaled; divide them by sqrt(M_QK) = sqrt(3)")
    assert np.allclose(w[h], head_weights(h, np.sqrt(3))), f"head {h}: weights should be softmax(X W_Q[{h}] (X W_K[{h}])^T / sqrt(3))"
### BEGIN HIDDEN TESTS
import numpy as np
import torch


def _reference_weights(X, W_Q, W_K):
    H, S = W_Q.shape[0], X.shape[0]
    weights = np.zeros((H, S, S))
    for h in range(H):
        scores = (X @ W_Q[h]) @ (X @ W_K[h]).T / np.sqrt(W_Q.shape[2])
        for i in range(S):
            top = max(scores[i].tolist())
            exps = [np.exp(v - top) for v in scores[i].tolist()]
            weights[h, i] = [e / sum(exps) for e in exps]
    return weights


_rng = np.random.default_rng(31)
for _S, _E, _H, _M_QK, _M_V in [(5, 7, 3, 2, 4), (1, 3, 2, 5, 1), (6, 4, 1, 3, 2), (4, 9, 4, 1, 3)]:
    _X = _rng.normal(size=(_S, _E))
    _W_Q, _W_K = _rng.normal(size=(_H, _E, _M_QK)), _rng.normal(size=(_H, _E, _M_QK))
    _W_V, _W_O = _rng.normal(size=(_H, _E, _M_V)), _rng.normal(size=(_H * _M_V, _E))
    _out, _w = multi_head_attention(_X.copy(), _W_Q.copy(), _W_K.copy(), _W_V.copy(), _W_O.copy())
    assert _close(_w, _reference_weights(_X, _W_Q, _W_K)), f"weights are wrong for S={_S}, E={_E}, H={_H}, M_QK={_M_QK}, M_V={_M_V}"

# agreement with torch.nn.MultiheadAttention's weights (M_QK = M_V = E / H, weights copied, batch_first)
for _S, _E, _H in [(5, 8, 2), (3, 12, 4), (7, 6, 1)]:
    _M = _E // _H
    _X = _rng.normal(size=(_S, _E))
    _W_Q, _W_K, _W_V = (_rng.normal(size=(_H, _E, _M)) / np.sqrt(_E) for _ in range(3))
    _W_O = _rng.normal(size=(_E, _E)) / np.sqrt(_E)
    _layer = torch.nn.MultiheadAttention(_E, _H, bias=False, batch_first=True, dtype=torch.float64)

    def _stack(W):
        heads, embed, per_head = W.shape
        return torch.tensor(W.transpose(1, 0, 2).reshape(embed, heads * per_head).T.copy())  # (H, E, M) -> (H*M, E)

    with torch.no_grad():
        _layer.in_proj_weight.copy_(torch.cat([_stack(_W_Q), _stack(_W_K), _stack(_W_V)], dim=0))
        _layer.out_proj.weight.copy_(torch.tensor(_W_O.T.copy()))
    _out, _w = multi_head_attention(_X.copy(), _W_Q.copy(), _W_K.copy(), _W_V.copy(), _W_O.copy())
    _tx = torch.tensor(_X)[None]
    with torch.no_grad():
        _t_out, _t_w = _layer(_tx, _tx, _tx, need_weights=True, average_attn_weights=False)
    assert _close(_w, _t_w[0].numpy()), f"weights disagree with torch.nn.MultiheadAttention (S={_S}, E={_E}, H={_H})"

# large scores stay finite
_X = np.array([[50.0, 0.0], [0.0, 50.0]])
_out, _w = multi_head_attention(_X, np.ones((1, 2, 1)) * 10, np.ones((1, 2, 1)) * 10, np.eye(2)[None], np.eye(2))
assert all(np.isfinite(v) for v in _w.ravel().tolist()), "large scores must not overflow"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_multi_head_attention_output", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Output: Concat(head_0, head_1) W_O with head_h = A_h (X W_V[h]), built from YOUR weights A_h (so a wrong softmax or scale is not counted twice)."""
rng = np.random.default_rng(0)
X_small = rng.normal(size=(4, 6))
W_Q_small, W_K_small = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 3))
W_V_small, W_O_small = rng.normal(size=(2, 6, 5)), rng.normal(size=(10, 6))
out, w = multi_head_attention(X_small, W_Q_small, W_K_small, W_V_small, W_O_small)
assert out.shape == (4, 6) and w.shape == (2, 4, 4), f"expected shapes (4, 6) and (2, 4, 4), got {out.shape} and {w.shape}"
assert np.abs(w).sum(axis=(1, 2)).min() > 0, "every head's weights are zero: compute the weights first (see the test above)"
heads = [w[h] @ (X_small @ W_V_small[h]) for h in range(2)]  # (S, M_V) each, from your weights
if np.allclose(out, np.stack(heads).reshape(4, 10) @ W_O_small):
    raise AssertionError("the heads (H, S, M_V) were reshaped to (S, H * M_V) without moving the head axis: rows of "
                         "different tokens got mixed. Transpose to (S, H, M_V) first, or concatenate along axis 1")
if np.allclose(out, np.concatenate(heads[::-1], axis=1) @ W_O_small):
    raise AssertionError("the heads are concatenated last one first: head 0's M_V columns come first")
assert np.allclose(out, np.concatenate(heads, axis=1) @ W_O_small), (
    "output should be Concat(head_0, head_1) W_O, with head_h = weights[h] @ (X W_V[h])")
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(32)
for _S, _E, _H, _M_QK, _M_V in [(5, 7, 3, 2, 4), (1, 3, 2, 5, 1), (6, 4, 1, 3, 2), (4, 9, 4, 1, 3), (3, 2, 5, 2, 2)]:
    _X = _rng.normal(size=(_S, _E))
    _W_Q, _W_K = _rng.normal(size=(_H, _E, _M_QK)), _rng.normal(size=(_H, _E, _M_QK))
    _W_V, _W_O = _rng.normal(size=(_H, _E, _M_V)), _rng.normal(size=(_H * _M_V, _E))
    for _m in (None, np.tril(np.ones((_S, _S), dtype=bool))):
        _out, _w = multi_head_attention(_X.copy(), _W_Q.copy(), _W_K.copy(), _W_V.copy(), _W_O.copy(),
                                        mask=None if _m is None else _m.copy())
        assert type(_w) is np.ndarray and _w.shape == (_H, _S, _S), "weights must be an array of shape (H, S, S)"
        assert type(_out) is np.ndarray and _out.shape == (_S, _E), "output must be an array of shape (S, E)"
        if _m is None:
            assert all(abs(v) > 0 for v in np.abs(_w).sum(axis=(1, 2)).tolist()), "a head's weights are all zero"
        _columns = []
        for _h in range(_H):
            _head = np.zeros((_S, _M_V))
            _V = _X @ _W_V[_h]
            for _i in range(_S):
                for _j in range(_S):
                    _head[_i] += _w[_h, _i, _j] * _V[_j]
            _columns.append(_head)
        _want = np.hstack(_columns) @ _W_O
        assert _close(_out, _want), f"output != Concat(heads) W_O for S={_S}, E={_E}, H={_H}, M_QK={_M_QK}, M_V={_M_V}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_multi_head_attention_mask", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Mask: hidden pairs get weight exactly 0 in every head, and the visible weights are YOUR unmasked weights renormalised."""
rng = np.random.default_rng(0)
X_small = rng.normal(size=(4, 6))
W_Q_small, W_K_small = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 3))
W_V_small, W_O_small = rng.normal(size=(2, 6, 5)), rng.normal(size=(10, 6))
causal = np.tril(np.ones((4, 4), dtype=bool))
_, w_full = multi_head_attention(X_small, W_Q_small, W_K_small, W_V_small, W_O_small)
_, w_masked = multi_head_attention(X_small, W_Q_small, W_K_small, W_V_small, W_O_small, mask=causal)
assert w_masked.shape == (2, 4, 4), f"expected weights of shape (2, 4, 4), got {w_masked.shape}"
assert np.all(w_masked[:, ~causal] == 0), "masked weights must be exactly 0 in every head: set the masked scores to -inf before the softmax"
assert np.allclose(w_masked.sum(axis=-1), 1.0), (
    "with a mask, each row must still sum to 1: mask the scores before the softmax, not the weights after it")
renormalised = w_full * causal / (w_full * causal).sum(axis=-1, keepdims=True)
assert np.allclose(w_masked, renormalised), "the weights of the visible keys should keep their proportions (softmax over the visible keys only)"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(33)
for _S, _E, _H, _M_QK, _M_V in [(5, 7, 3, 2, 4), (1, 3, 2, 5, 1), (6, 4, 1, 3, 2), (4, 9, 4, 1, 3)]:
    _X = _rng.normal(size=(_S, _E))
    _W_Q, _W_K = _rng.normal(size=(_H, _E, _M_QK)), _rng.normal(size=(_H, _E, _M_QK))
    _W_V, _W_O = _rng.normal(size=(_H, _E, _M_V)), _rng.normal(size=(_H * _M_V, _E))
    _, _w_full = multi_head_attention(_X.copy(), _W_Q.copy(), _W_K.copy(), _W_V.copy(), _W_O.copy())
    _mask = _rng.random((_S, _S)) < 0.6
    _mask[0] = False  # a query that may look at nothing
    for _m in (_mask, np.tril(np.ones((_S, _S), dtype=bool)), ~np.eye(_S, dtype=bool)):
        _, _w = multi_head_attention(_X.copy(), _W_Q.copy(), _W_K.copy(), _W_V.copy(), _W_O.copy(), mask=_m.copy())
        assert type(_w) is np.ndarray and _w.shape == (_H, _S, _S), "weights must be an array of shape (H, S, S)"
        for _h in range(_H):
            for _i in range(_S):
                _keep = [_j for _j in range(_S) if _m[_i, _j]]
                _row = _w[_h, _i].tolist()
                assert all(_row[_j] == 0.0 for _j in range(_S) if not _m[_i, _j]), "masked weights must be exactly 0"
                if not _keep:
                    assert all(v == 0.0 for v in _row), "a query with no visible key must get all-zero weights"
                    continue
                _total = sum(float(_w_full[_h, _i, _j]) for _j in _keep)
                assert all(abs(_row[_j] - float(_w_full[_h, _i, _j]) / _total) < 1e-6 for _j in _keep), (
                    f"visible weights are not the softmax over the visible keys (S={_S}, H={_H})")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "widget_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 3.1 · What do different heads look at?
#
# The cell below builds a toy layer by hand and runs it with **your** `multi_head_attention`. Every
# token is the concatenation of a one-hot code of its word (lower-cased), a one-hot code of its position
# and a constant 1. The three heads use different parts of that vector:
#
# * head 0's queries come from the position and its keys from the position **one step earlier**: each
#   token looks at the previous one;
# * head 1's queries and keys both come from the word: each token looks at every copy of itself;
# * head 2's query is the constant and its key marks position 0: every token looks at the first token.
#
# Pick an input with *show*; the three heads are drawn side by side (rows: queries, columns: keys).
# Hover over a token to see, in every head at once, what it attends to (its row) and what attends to
# it (its column); *head* shows one head alone, *lines* draws each weight as a line from a query on
# the left to a key on the right. In the causal inputs the hatched cells are masked.

# %% nbgrader={"grade": false, "grade_id": "widget_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.widgets import AttentionMap, show_attention

demo_inputs = ["The quick brown fox", "the cat sat on the mat", "the dog saw the cat and the cat ran"]
demo_vocab = sorted({w.lower() for sentence in demo_inputs for w in sentence.split()})
n_words, n_positions = len(demo_vocab), max(len(s.split()) for s in demo_inputs)
E_demo = n_words + n_positions + 1  # word one-hot | position one-hot | constant 1
M_demo = max(n_words, n_positions)
sharp = 4.0 * np.sqrt(M_demo)  # makes the wanted score about 4 after the 1/sqrt(M_QK) scaling


def embed_tokens(tokens):
    """Rows [one-hot word | one-hot position | 1] for a list of tokens."""
    X = np.zeros((len(tokens), E_demo))
    for position, token in enumerate(tokens):
        X[position, demo_vocab.index(token.lower())] = 1.0
        X[position, n_words + position] = 1.0
        X[position, -1] = 1.0
    return X


W_Q_demo, W_K_demo = np.zeros((3, E_demo, M_demo)), np.zeros((3, E_demo, M_demo))
for p in range(n_positions):  # head 0: the query of position p matches the key of position p - 1
    W_Q_demo[0, n_words + p, max(p - 1, 0)] = sharp
    W_K_demo[0, n_words + p, p] = 1.0
for v in range(n_words):  # head 1: same word
    W_Q_demo[1, v, v] = sharp
    W_K_demo[1, v, v] = 1.0
W_Q_demo[2, -1, 0] = sharp  # head 2: the constant asks for ...
W_K_demo[2, n_words, 0] = 1.0  # ... position 0
demo_rng = np.random.default_rng(2)
W_V_demo = demo_rng.normal(size=(3, E_demo, 4))
W_O_demo = demo_rng.normal(size=(12, E_demo))

demo_maps = {}
for sentence in demo_inputs:
    tokens = sentence.split()
    _, head_weights = multi_head_attention(embed_tokens(tokens), W_Q_demo, W_K_demo, W_V_demo, W_O_demo)
    demo_maps[sentence] = AttentionMap(head_weights, tokens)
    causal_tokens = np.tril(np.ones((len(tokens), len(tokens)), dtype=bool))
    _, head_weights = multi_head_attention(embed_tokens(tokens), W_Q_demo, W_K_demo, W_V_demo, W_O_demo, mask=causal_tokens)
    demo_maps[sentence + " (causal mask)"] = AttentionMap(head_weights, tokens, mask=causal_tokens)
head_explorer = show_attention(demo_maps, title="Your multi_head_attention")


# %% [markdown] nbgrader={"grade": true, "grade_id": "why_heads", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Using the maps above, explain why a layer with several heads can do something that one
# head with the same total size cannot. Then say how the causal mask changes head 1 on
# *the cat sat on the mat*.
#
# ### BEGIN SOLUTION
# One head produces a single weighted average per query: if a token needs its previous word *and* every
# earlier copy of itself *and* the first token, one softmax has to spread its weight over all of them and
# the three pieces of information are mixed into one vector. With three heads each query gets three
# separate distributions, each with its own query/key space, and the concatenation keeps the three
# results in separate columns, so $W_O$ can use them independently. The cost is the same order of
# parameters as one head of size $E$ when $M_V = E / H$. Under the causal mask, the second "the" still
# attends to the first "the" (earlier), but the first "the" can no longer see the second one: it only
# attends to itself.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "fused_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 3.2 · One matrix for all heads: the fused QKV projection
#
# Implementations do not keep $3H$ small matrices. They store one matrix
# $W_{QKV} = [W_Q \mid W_K \mid W_V] \in \mathbb{R}^{E \times 3E}$ (here $M_{QK} = M_V = M = E / H$), compute
# `qkv = X @ W_QKV` of shape $(S, 3E)$ in one product, and then split it: the first $E$ columns are the
# queries of all heads, the next $E$ the keys, the last $E$ the values, and inside each block head $h$
# owns columns $hM, \dots, (h+1)M - 1$ (the layout of `torch.nn.MultiheadAttention` and of notebook 06's GPT).
#
# Write `split_heads(qkv, H)` returning `(Q, K, V)`, each of shape $(H, S, M)$. Careful: reshaping
# $(S, E)$ straight to $(H, S, M)$ keeps the numbers in memory order and mixes tokens across heads;
# reshape to $(S, H, M)$ first, then move the head axis to the front.

# %% nbgrader={"grade": false, "grade_id": "split_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split_heads(qkv, H):
    """(S, 3E) fused projections -> Q, K, V of shape (H, S, E // H) each."""
    ### BEGIN SOLUTION
    qkv = np.asarray(qkv)
    S, three_E = qkv.shape
    E = three_E // 3
    blocks = (qkv[:, :E], qkv[:, E:2 * E], qkv[:, 2 * E:])  # (S, E) each
    return tuple(b.reshape(S, H, E // H).transpose(1, 0, 2) for b in blocks)  # (S, H, M) -> (H, S, M)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_split_heads", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the split of a (3, 12) qkv (S = 3 tokens, E = 4, H = 2 heads of M = 2) whose entries are 0, 1, 2, ..."""
qkv_small = np.arange(36.0).reshape(3, 12)
Q_s, K_s, V_s = split_heads(qkv_small, 2)
assert np.shape(Q_s) == np.shape(K_s) == np.shape(V_s) == (2, 3, 2), (
    f"expected Q, K and V of shape (H, S, M) = (2, 3, 2), got {np.shape(Q_s)}, {np.shape(K_s)}, {np.shape(V_s)}")
assert not np.allclose(Q_s[0, 0], [0, 2]), "head 0 got every H-th column (0, 2, ...): a head owns a block of M consecutive columns"
assert not np.allclose(Q_s[1, 0], [6, 7]), (
    "that is the per-head layout [q_0 k_0 v_0 | q_1 k_1 v_1]: here the E query columns of all heads come first, then the keys, then the values")
assert np.allclose(Q_s[0, 0], [0, 1]), f"head 0 of token 0 is columns 0-1 of the query block: expected [0, 1], got {Q_s[0, 0]}"
assert not np.allclose(Q_s[0, 1], [2, 3]), (
    "Q[0, 1] holds columns 2-3 of token 0: you reshaped (S, E) straight to (H, S, M). Reshape to (S, H, M), then transpose")
assert np.allclose(Q_s[0, 1], qkv_small[1, 0:2]), f"head 0 of token 1 is qkv[1, 0:2] = [12, 13], got {Q_s[0, 1]}"
assert np.allclose(Q_s[1, 0], qkv_small[0, 2:4]), (
    f"head 1 of token 0 is qkv[0, 2:4] = [2, 3], got {Q_s[1, 0]}")
assert np.allclose(K_s[0, 0], qkv_small[0, 4:6]), f"the keys are the second block of E = 4 columns: K[0, 0] = qkv[0, 4:6], got {K_s[0, 0]}"
assert np.allclose(V_s[1, 2], qkv_small[2, 10:12]), f"the values are the last block: V[1, 2] = qkv[2, 10:12], got {V_s[1, 2]}"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(71)
for _S, _E, _H in [(5, 8, 2), (3, 12, 4), (1, 6, 3), (4, 5, 1), (7, 6, 6)]:
    _qkv = _rng.normal(size=(_S, 3 * _E))
    _got = split_heads(_qkv.copy(), _H)
    assert len(_got) == 3, "return three arrays (Q, K, V)"
    _t = torch.tensor(_qkv)
    for _name, _mine, _block in zip("QKV", _got, _t.chunk(3, dim=-1)):
        _want = _block.reshape(_S, _H, _E // _H).transpose(0, 1).contiguous().numpy()  # how torch's attention splits heads
        assert type(_mine) is np.ndarray, f"{_name} must be a numpy array"
        assert _close(_mine.astype(float), _want), f"{_name} is wrong for S={_S}, E={_E}, H={_H}"
# the split heads give torch.nn.MultiheadAttention's weights
_S, _E, _H = 4, 6, 2
_X = _rng.normal(size=(_S, _E))
_layer = torch.nn.MultiheadAttention(_E, _H, bias=False, batch_first=True, dtype=torch.float64)
_qkv = (torch.tensor(_X) @ _layer.in_proj_weight.detach().T).numpy()  # (S, 3E), torch's fused projection
_Q, _K, _V = split_heads(_qkv.copy(), _H)
_scores = _Q @ _K.transpose(0, 2, 1) / np.sqrt(_E // _H)
_w = np.exp(_scores - _scores.max(axis=-1, keepdims=True))
_w = _w / _w.sum(axis=-1, keepdims=True)
with torch.no_grad():
    _, _t_w = _layer(torch.tensor(_X)[None], torch.tensor(_X)[None], torch.tensor(_X)[None], average_attn_weights=False)
assert _close(_w, _t_w[0].numpy()), "attention on your split heads differs from torch.nn.MultiheadAttention's"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "layer_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · One transformer layer by hand: "hello world !"
#
# The PEFT exercise sheet computes one layer of an encoder and of a decoder-only transformer **without
# layer normalisation**, with one head, no biases and a ReLU feed-forward network, on three tokens
# $X \in \mathbb{R}^{3 \times 3}$ and $3 \times 3$ matrices $W_q, W_k, W_v, W_1, W_2$. The sheet does not
# write down its formulas. Working backwards from its numbers, this layer reproduces them:
#
# $$Z = \mathrm{softmax}\!\left(\frac{(X W_q)(X W_k)^\top}{\sqrt{d_k}}\right) X W_v, \qquad
#   Y = X + Z, \qquad \text{output} = Y + \mathrm{ReLU}(Y W_1)\, W_2,$$
#
# i.e. tokens are rows, the scores **are** scaled by $\sqrt{d_k}$ ($d_k = 3$), $Z$ is the attention output
# **before** the residual connection, and a residual connection is added around both the attention and the
# feed-forward network (the ReLU sits between $W_1$ and $W_2$). The decoder-only layer is the same with a
# causal mask. Write `transformer_layer(X, W_q, W_k, W_v, W_1, W_2, causal=False)` returning `(Z, output)`.
# It must work for any sizes: $X$ $(S, d)$, $W_q, W_k$ $(d, d_k)$, $W_v$ $(d, d)$, $W_1$ $(d, d_{ff})$, $W_2$ $(d_{ff}, d)$.
#
# *Where the course departs from the handout:* the sheet's numbers are rounded from a computation with
# rounded intermediate values: recomputed exactly, they differ from the sheet by up to $9 \cdot 10^{-4}$
# (the largest gap is in the second row of the outputs, e.g. 14.9017 instead of 14.9026 for the encoder);
# the sheet even prints the same last row twice with different last digits (4.9465 and 4.9466). Tests
# compare with the sheet to $2 \cdot 10^{-3}$ only.

# %% nbgrader={"grade": false, "grade_id": "hello_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
hello_tokens = ["hello", "world", "!"]
X_hello = np.array([[0.8109, -0.9391, 0.2519], [2.1968, 0.4785, 1.5207], [-0.3264, 0.1585, 0.8469]])
W_q_hello = np.array([[0.8571, 0.1942, -1.1185], [1.6184, -0.2665, -0.9808], [-1.2820, -0.1892, 0.7269]])
W_k_hello = np.array([[0.2176, -0.2462, 0.0557], [0.6926, -2.0236, -0.2968], [-0.6658, -2.5785, -0.4534]])
W_v_hello = np.array([[-0.2016, 1.4234, -0.1733], [1.3098, -0.4815, 0.0123], [0.1350, 0.3998, 0.4573]])
W_1_hello = np.array([[0.5325, 0.7081, -1.1454], [0.5511, 0.6274, -0.8078], [1.0224, 0.4148, -0.4800]])
W_2_hello = np.array([[-1.3081, 1.9878, 2.6332], [2.6049, 0.9369, -0.9614], [0.2293, 0.3262, 0.7968]])
# the sheet's answers (rounded to 4 decimals)
Z_encoder_sheet = np.array([[-0.7098, 1.4047, 0.1288], [0.1002, 1.9549, 0.3040], [-0.1147, 1.7538, 0.2594]])
out_encoder_sheet = np.array([[0.5448, 2.3451, 1.7216], [6.6879, 14.9026, 9.7301], [0.5152, 7.0498, 4.9465]])
Z_decoder_sheet = np.array([[-1.3596, 1.7072, -0.0369], [-0.0467, 3.0566, 0.2315], [-0.1147, 1.7538, 0.2594]])
out_decoder_sheet = np.array([[-0.5321, 1.6367, 0.9634], [7.3975, 17.4307, 10.3197], [0.5152, 7.0499, 4.9466]])


# %% nbgrader={"grade": false, "grade_id": "transformer_layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def transformer_layer(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """One single-head transformer layer without layer norm or biases; returns (Z, output), both (S, d)."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    Q, K, V = X @ W_q, X @ W_k, X @ W_v  # (S, d) x (d, d_k) -> (S, d_k); V: (S, d)
    scores = Q @ K.T / np.sqrt(Q.shape[1])  # (S, d_k) x (d_k, S) -> (S, S)
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores, axis=-1) @ V  # (S, S) x (S, d) -> (S, d)
    Y = X + Z  # residual around the attention
    output = Y + np.maximum(Y @ W_1, 0.0) @ W_2  # (S, d) x (d, d_ff) x (d_ff, d) -> (S, d)
    return Z, output
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_transformer_layer", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Z, the attention output before the residual: encoder against the sheet (to 2e-3), decoder row 0 = x_0 W_v."""
Z_enc, out_enc = transformer_layer(X_hello, W_q_hello, W_k_hello, W_v_hello, W_1_hello, W_2_hello)
assert Z_enc.shape == (3, 3) and out_enc.shape == (3, 3), f"expected two (3, 3) arrays, got {Z_enc.shape} and {out_enc.shape}"
gap = np.abs(Z_enc - Z_encoder_sheet).max()
if gap >= 2e-3:
    raw = (X_hello @ W_q_hello) @ (X_hello @ W_k_hello).T
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    assert not np.allclose(Z_enc, e / e.sum(axis=1, keepdims=True) @ X_hello @ W_v_hello), (
        "Z matches attention WITHOUT the 1/sqrt(d_k) scaling: divide the scores by sqrt(3)")
    assert not np.allclose(Z_enc - X_hello, Z_encoder_sheet, atol=2e-3), "your Z already contains the residual X + ...: Z is the attention output alone"
    raise AssertionError(f"encoder Z differs from the sheet by {gap:.4f}:\n{np.round(Z_enc, 4)}")
Z_dec, out_dec = transformer_layer(X_hello, W_q_hello, W_k_hello, W_v_hello, W_1_hello, W_2_hello, causal=True)
assert not np.allclose(Z_dec, Z_enc), "causal=True gives the encoder's Z: the decoder must mask the future (keys after the query)"
assert np.allclose(Z_dec[0], X_hello[0] @ W_v_hello), (
    "with the causal mask, token 0 can only attend to itself: Z[0] = x_0 W_v (did you keep the upper triangle instead of the lower?)")
gap = np.abs(Z_dec - Z_decoder_sheet).max()
assert gap < 2e-3, f"decoder Z differs from the sheet by {gap:.4f}:\n{np.round(Z_dec, 4)}"
### BEGIN HIDDEN TESTS
import numpy as np


def _reference_z(X, W_q, W_k, W_v, causal):
    S = X.shape[0]
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    Z = np.zeros_like(V)
    for i in range(S):
        keys = range(i + 1) if causal else range(S)
        s = [float(Q[i] @ K[j]) / np.sqrt(W_q.shape[1]) for j in keys]
        e = [np.exp(v - max(s)) for v in s]
        Z[i] = sum(e[n] / sum(e) * V[j] for n, j in enumerate(keys))
    return Z


_sheet_Z = {
    False: np.array([[-0.7098, 1.4047, 0.1288], [0.1002, 1.9549, 0.3040], [-0.1147, 1.7538, 0.2594]]),
    True: np.array([[-1.3596, 1.7072, -0.0369], [-0.0467, 3.0566, 0.2315], [-0.1147, 1.7538, 0.2594]]),
}
_hello = [np.array(m) for m in (
    [[0.8109, -0.9391, 0.2519], [2.1968, 0.4785, 1.5207], [-0.3264, 0.1585, 0.8469]],
    [[0.8571, 0.1942, -1.1185], [1.6184, -0.2665, -0.9808], [-1.2820, -0.1892, 0.7269]],
    [[0.2176, -0.2462, 0.0557], [0.6926, -2.0236, -0.2968], [-0.6658, -2.5785, -0.4534]],
    [[-0.2016, 1.4234, -0.1733], [1.3098, -0.4815, 0.0123], [0.1350, 0.3998, 0.4573]],
    [[0.5325, 0.7081, -1.1454], [0.5511, 0.6274, -0.8078], [1.0224, 0.4148, -0.4800]],
    [[-1.3081, 1.9878, 2.6332], [2.6049, 0.9369, -0.9614], [0.2293, 0.3262, 0.7968]],
)]
for _causal in (False, True):
    _Z, _out = transformer_layer(*[m.copy() for m in _hello], causal=_causal)
    _name = "decoder" if _causal else "encoder"
    assert type(_Z) is np.ndarray, "return two numpy arrays"
    assert all(abs(a - b) < 2e-3 for a, b in zip(_Z.ravel().tolist(), _sheet_Z[_causal].ravel().tolist())), f"{_name} Z differs from the sheet"
_rng = np.random.default_rng(41)
for _S, _d, _d_k, _d_ff in [(4, 5, 3, 7), (1, 2, 2, 3), (6, 3, 1, 8)]:
    _args = [_rng.normal(size=s) for s in ((_S, _d), (_d, _d_k), (_d, _d_k), (_d, _d), (_d, _d_ff), (_d_ff, _d))]
    for _causal in (False, True):
        _Z, _out = transformer_layer(*[a.copy() for a in _args], causal=_causal)
        assert _close(_Z, _reference_z(*_args[:4], _causal)), f"Z wrong for S={_S}, d={_d}, d_k={_d_k}, d_ff={_d_ff}, causal={_causal}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_transformer_layer_output", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""The output from YOUR Z: Y = X + Z, output = Y + ReLU(Y W_1) W_2 (so a wrong Z is not counted twice)."""
Z_enc, out_enc = transformer_layer(X_hello, W_q_hello, W_k_hello, W_v_hello, W_1_hello, W_2_hello)
assert Z_enc.shape == (3, 3) and out_enc.shape == (3, 3), f"expected two (3, 3) arrays, got {Z_enc.shape} and {out_enc.shape}"
Y_enc = X_hello + Z_enc
assert not np.allclose(out_enc, np.maximum(Z_enc @ W_1_hello, 0) @ W_2_hello), "no residual connections: use Y = X + Z and output = Y + FFN(Y)"
assert not np.allclose(out_enc, Y_enc + Y_enc @ W_1_hello @ W_2_hello), "the feed-forward network is ReLU(Y W_1) W_2: yours acts linearly on Y W_1 (no ReLU, or a ReLU after W_2 that cuts nothing here)"
assert not np.allclose(out_enc, Y_enc + np.maximum(Y_enc @ W_1_hello @ W_2_hello, 0)), "the ReLU sits between W_1 and W_2, not after W_2"
assert np.allclose(out_enc, Y_enc + np.maximum(Y_enc @ W_1_hello, 0) @ W_2_hello), (
    "output should be Y + ReLU(Y W_1) W_2 with Y = X + Z (residuals around the attention and around the FFN)")
if np.abs(Z_enc - Z_encoder_sheet).max() < 2e-3:
    gap = np.abs(out_enc - out_encoder_sheet).max()
    assert gap < 2e-3, f"encoder output differs from the sheet by {gap:.4f}:\n{np.round(out_enc, 4)}"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(42)
for _S, _d, _d_k, _d_ff in [(3, 3, 3, 3), (4, 5, 3, 7), (1, 2, 2, 3), (6, 3, 1, 8)]:
    _args = [_rng.normal(size=s) for s in ((_S, _d), (_d, _d_k), (_d, _d_k), (_d, _d), (_d, _d_ff), (_d_ff, _d))]
    for _causal in (False, True):
        _Z, _out = transformer_layer(*[a.copy() for a in _args], causal=_causal)
        assert type(_Z) is np.ndarray and type(_out) is np.ndarray, "return two numpy arrays"
        assert _Z.shape == (_S, _d) and _out.shape == (_S, _d), "Z and the output have the shape of X"
        _Y = _args[0] + _Z
        _hidden = np.maximum(_Y @ _args[4], 0.0)
        _want = _Y + np.array([[sum(_hidden[i, k] * _args[5][k, j] for k in range(_d_ff)) for j in range(_d)] for i in range(_S)])
        assert _close(_out, _want), f"output != Y + ReLU(Y W_1) W_2 with Y = X + Z for S={_S}, d={_d}, d_ff={_d_ff}, causal={_causal}"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "hello_print", "locked": true, "schema_version": 3, "solution": false, "task": false}
Z_enc, out_enc = transformer_layer(X_hello, W_q_hello, W_k_hello, W_v_hello, W_1_hello, W_2_hello)
Z_dec, out_dec = transformer_layer(X_hello, W_q_hello, W_k_hello, W_v_hello, W_1_hello, W_2_hello, causal=True)
for name, mine, sheet in [("encoder Z", Z_enc, Z_encoder_sheet), ("encoder output", out_enc, out_encoder_sheet),
                          ("decoder Z", Z_dec, Z_decoder_sheet), ("decoder output", out_dec, out_decoder_sheet)]:
    print(f"{name}: largest gap to the sheet {np.abs(mine - sheet).max():.4f}")
    print(np.round(mine, 4))


# %% [markdown] nbgrader={"grade": true, "grade_id": "encoder_decoder", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** What changes between the encoder layer and the decoder-only layer, row by row? Why is the
# last row identical in both, and why is the decoder's first row of $Z$ simply $x_1 W_v$? Then explain,
# for *The quick brown fox*, what the feed-forward network adds after the attention.
#
# ### BEGIN SOLUTION
# Only the attention changes: the decoder masks the upper triangle, so token $t$ mixes only the values of
# tokens $1..t$. Row 1 ("hello") may only look at itself, its single weight is 1, so $Z_1 = x_1 W_v$. Row 2
# averages two values instead of three. Row 3 ("!") is the last token, the mask hides nothing from it, so
# its weights, its $Z$ row and (because the residuals and the FFN act on each row separately) its output
# are the same as the encoder's. The feed-forward network is applied to each token on its own, with the
# same weights: after attention has gathered context into each position ("fox" now carries "quick" and
# "brown"), the FFN transforms that mixture non-linearly (ReLU) into new features; it moves no information
# between tokens. The residual connections keep each token's own input, so its identity and position are
# not lost.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "cross_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 4.1 · Cross-attention: the decoder reads the encoder
#
# In an encoder-decoder transformer (the original one, used for translation), each decoder layer has a
# second attention after its masked self-attention: its **queries** come from the decoder's $T$ tokens,
# its **keys and values** from the encoder's output for the $S$ source tokens. Every target token may look
# at every source token, so there is no causal mask here (the source is known in full).
#
# Write `cross_attention(Y, H_enc, W_q, W_k, W_v)` for decoder states $Y$ $(T, d)$ and encoder outputs
# $H_{enc}$ $(S, d)$, returning `(output, weights)` of shapes $(T, d_v)$ and $(T, S)$, with scores scaled by
# $\sqrt{d_k}$. Use the `softmax` imported above.

# %% nbgrader={"grade": false, "grade_id": "cross_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_attention(Y, H_enc, W_q, W_k, W_v):
    """Queries from the decoder states Y (T, d), keys and values from the encoder outputs H_enc (S, d)."""
    ### BEGIN SOLUTION
    Q = np.asarray(Y, dtype=float) @ W_q  # (T, d) x (d, d_k) -> (T, d_k)
    K = np.asarray(H_enc, dtype=float) @ W_k  # (S, d) x (d, d_k) -> (S, d_k)
    V = np.asarray(H_enc, dtype=float) @ W_v  # (S, d) x (d, d_v) -> (S, d_v)
    weights = softmax(Q @ K.T / np.sqrt(Q.shape[1]), axis=-1)  # (T, S)
    return weights @ V, weights  # (T, S) x (S, d_v) -> (T, d_v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_attention", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check cross-attention of T = 2 target tokens over S = 4 source tokens (d = 3, d_k = 2, d_v = 5)."""
cross_rng = np.random.default_rng(3)
Y_c, H_c = cross_rng.normal(size=(2, 3)), cross_rng.normal(size=(4, 3))
Wq_c, Wk_c, Wv_c = cross_rng.normal(size=(3, 2)), cross_rng.normal(size=(3, 2)), cross_rng.normal(size=(3, 5))
out_c, w_c = cross_attention(Y_c, H_c, Wq_c, Wk_c, Wv_c)
assert np.shape(w_c) == (2, 4), (
    f"expected weights of shape (T, S) = (2, 4), got {np.shape(w_c)}: queries come from the decoder (Y), keys from the encoder (H_enc)")
assert np.shape(out_c) == (2, 5), f"expected output of shape (T, d_v) = (2, 5), got {np.shape(out_c)}: the values come from the encoder"
assert np.allclose(w_c.sum(axis=-1), 1.0), f"each target token's weights over the source tokens should sum to 1, got {w_c.sum(axis=-1)}"
assert np.all(w_c[0, 1:] > 0), "target token 0 must see every source token: cross-attention has no causal mask"
s_c = (Y_c @ Wq_c) @ (H_c @ Wk_c).T
for divisor, message in ((1.0, "the scores were not scaled: divide by sqrt(d_k) = sqrt(2)"), (np.sqrt(5), "divide by sqrt(d_k) = sqrt(2), not sqrt(d_v)")):
    e_c = np.exp(s_c / divisor - (s_c / divisor).max(axis=1, keepdims=True))
    assert not np.allclose(w_c, e_c / e_c.sum(axis=1, keepdims=True)), message
e_c = np.exp(s_c / np.sqrt(2) - (s_c / np.sqrt(2)).max(axis=1, keepdims=True))
assert np.allclose(w_c, e_c / e_c.sum(axis=1, keepdims=True)), "weights should be softmax((Y W_q)(H_enc W_k)^T / sqrt(d_k))"
assert np.allclose(out_c, w_c @ (H_c @ Wv_c)), "the output is weights @ (H_enc W_v): the values of the SOURCE tokens"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(81)
for _T, _S, _d, _d_k, _d_v in [(3, 5, 4, 2, 3), (1, 1, 2, 2, 2), (6, 2, 3, 4, 1), (4, 7, 5, 3, 6)]:
    _Y, _H = _rng.normal(size=(_T, _d)), _rng.normal(size=(_S, _d))
    _Wq, _Wk, _Wv = _rng.normal(size=(_d, _d_k)), _rng.normal(size=(_d, _d_k)), _rng.normal(size=(_d, _d_v))
    _out, _w = cross_attention(_Y.copy(), _H.copy(), _Wq.copy(), _Wk.copy(), _Wv.copy())
    _q, _k, _v = torch.tensor(_Y @ _Wq), torch.tensor(_H @ _Wk), torch.tensor(_H @ _Wv)
    _want_w = torch.softmax(_q @ _k.T / _d_k ** 0.5, dim=-1).numpy()
    _want_out = torch.nn.functional.scaled_dot_product_attention(_q, _k, _v).numpy()
    _what = f"T={_T}, S={_S}, d={_d}, d_k={_d_k}, d_v={_d_v}"
    assert _close(_w, _want_w), f"weights are wrong for {_what}"
    assert _close(_out, _want_out), f"output disagrees with torch's attention for {_what}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "generate_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 4.2 · Generating text one token at a time
#
# A decoder-only model generates **autoregressively**: it reads the tokens so far, predicts a distribution
# for the *next* token from the output at the **last** position, appends the chosen token, and repeats with
# the longer sequence. Here is a one-layer toy model with a vocabulary of $N$ tokens: an embedding table
# `embed` $(N, d)$, one causal self-attention head ($W_q, W_k$ $(d, d_k)$, $W_v$ $(d, d)$) with a residual
# connection, and an output matrix `W_out` $(d, N)$:
#
# $$X = \mathrm{embed}[\text{tokens}], \quad Z = X + \mathrm{softmax}_{\text{causal}}\!\left(\frac{(X W_q)(X W_k)^\top}{\sqrt{d_k}}\right) X W_v,
#   \quad \text{logits} = Z_{\text{last}}\, W_{out}.$$
#
# Write `greedy_generate(prompt, n_new, embed, W_q, W_k, W_v, W_out)`: starting from the list of token ids
# `prompt`, append `n_new` tokens, each the `argmax` of the logits (the first one on ties), and return the
# whole sequence (prompt included) as a list of ints.

# %% nbgrader={"grade": false, "grade_id": "greedy_generate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def greedy_generate(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    """Prompt plus n_new greedily chosen token ids (a list of ints)."""
    ### BEGIN SOLUTION
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        X = np.asarray(embed, dtype=float)[tokens]  # (t, d)
        scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])  # (t, t)
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
        Z = X + softmax(scores, axis=-1) @ (X @ W_v)  # (t, d)
        logits = Z[-1] @ W_out  # (N,) from the LAST position
        tokens.append(int(np.argmax(logits)))
    return tokens
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_greedy_generate", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check greedy generation with a toy model whose output simply favours "the token after the last one" (t -> t + 1 mod 5)."""
embed_g = np.eye(5)
shift_g = np.roll(np.eye(5), 1, axis=1) * 10.0  # token t votes for token t + 1
first = greedy_generate([2, 4], 1, embed_g, np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 5)), shift_g)
assert isinstance(first, list) and all(isinstance(t, int) for t in first), f"return a list of ints, got {first!r}"
assert first[:2] == [2, 4], f"return the prompt too, followed by the new tokens: got {first}"
assert first != [2, 4, 3], "you predicted from the FIRST position's output; the next token comes from the LAST position"
assert first == [2, 4, 0], f"after [2, 4] the last token is 4, which votes for 0: expected [2, 4, 0], got {first}"
generated = greedy_generate([0], 3, embed_g, np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 5)), shift_g)
assert len(generated) == 4, f"prompt of 1 token + 3 new tokens = 4 tokens, got {len(generated)}"
assert generated != [0, 1, 1, 1], "you always predicted from the prompt alone: feed each new token back in before predicting the next"
assert generated == [0, 1, 2, 3], f"each step should follow the LAST token (0 -> 1 -> 2 -> 3), got {generated}"
### BEGIN HIDDEN TESTS
import numpy as np
import torch


def _reference_generate(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    tokens = list(prompt)
    E, Wq, Wk, Wv, Wo = (torch.tensor(a) for a in (embed, W_q, W_k, W_v, W_out))
    for _ in range(n_new):
        X = E[torch.tensor(tokens)]
        Z = X + torch.nn.functional.scaled_dot_product_attention(X @ Wq, X @ Wk, X @ Wv, is_causal=True)
        tokens.append(int(torch.argmax(Z[-1] @ Wo)))
    return tokens


_rng = np.random.default_rng(91)
for _N, _d, _d_k, _prompt, _n_new in [(7, 4, 3, [1, 5], 6), (5, 6, 2, [0], 4), (9, 3, 3, [8, 2, 2], 5), (4, 4, 1, [3], 0)]:
    _args = [_rng.normal(size=s) * 2 for s in ((_N, _d), (_d, _d_k), (_d, _d_k), (_d, _d), (_d, _N))]
    _got = greedy_generate(list(_prompt), _n_new, *[a.copy() for a in _args])
    _want = _reference_generate(_prompt, _n_new, *_args)
    assert type(_got) is list and all(type(t) is int for t in _got), "return a list of ints"
    assert _got == _want, f"wrong tokens for a vocabulary of {_N}, prompt {_prompt}, {_n_new} new tokens"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "layer_norm_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Layer normalisation
#
# Real transformer blocks normalise each token's vector: for a row $x \in \mathbb{R}^E$,
#
# $$\mathrm{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta, \qquad
#   \mu = \frac1E \sum_i x_i, \quad \sigma^2 = \frac1E \sum_i (x_i - \mu)^2,$$
#
# over the **last axis** (the features of one token, never across tokens or across a batch), with the
# biased variance (divide by $E$) and $\varepsilon$ inside the square root, as PyTorch does. Write
# `layer_norm(x, gamma, beta, eps=1e-5)` for an array of any shape $(\dots, E)$; `gamma` and `beta` have shape $(E,)$.

# %% nbgrader={"grade": false, "grade_id": "layer_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise every vector along the last axis of x, then scale by gamma and shift by beta."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # (..., 1), biased
    return gamma * (x - mean) / np.sqrt(var + eps) + beta  # (..., E)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_layer_norm", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that each row gets mean beta and standard deviation about gamma."""
x_ln = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 10.0, 10.0, 14.0], [0.0, 0.0, 0.0, 0.0]])
y_ln = layer_norm(x_ln, np.ones(4), np.zeros(4))
assert y_ln.shape == (3, 4), f"expected shape (3, 4), got {y_ln.shape}"
assert np.allclose(y_ln.mean(axis=-1), 0.0), f"every row should have mean 0 (normalise each token over its own features, the last axis), got {y_ln.mean(axis=-1)}"
assert np.allclose(y_ln[:2].std(axis=-1), 1.0, atol=1e-4), f"rows 0 and 1 should have std 1 (use the biased variance: divide by E, not E - 1), got {y_ln[:2].std(axis=-1)}"
assert np.all(np.isfinite(y_ln[2])) and np.allclose(y_ln[2], 0.0), "a constant row must give zeros (eps avoids 0 / 0)"
y_eps = layer_norm(np.array([[0.0, 2.0]]), np.ones(2), np.zeros(2), eps=1.0)
assert not np.allclose(y_eps, [[-0.5, 0.5]]), "eps was added to the standard deviation; it goes inside the square root: sqrt(var + eps)"
assert np.allclose(y_eps, [[-1 / np.sqrt(2), 1 / np.sqrt(2)]]), f"[0, 2] with eps = 1: (x - 1) / sqrt(1 + 1), got {y_eps}"
y_affine = layer_norm(x_ln[:1], np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 0.0, 0.0, 0.0]))
assert np.allclose(y_affine, y_ln[:1] * [1, 2, 3, 4] + [10, 0, 0, 0]), "scale the normalised row by gamma and shift it by beta"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(51)
for _shape in [(5, 7), (2, 3, 4), (1, 6), (3, 1), (4, 2)]:
    _x = _rng.normal(size=_shape) * 3 + 1
    _gamma, _beta = _rng.normal(size=_shape[-1]), _rng.normal(size=_shape[-1])
    for _eps in (1e-5, 0.5):
        _got = layer_norm(_x.copy(), _gamma.copy(), _beta.copy(), eps=_eps)
        _want = torch.nn.functional.layer_norm(torch.tensor(_x), (_shape[-1],), torch.tensor(_gamma),
                                               torch.tensor(_beta), eps=_eps).numpy()
        assert _close(_got, _want), f"layer_norm disagrees with torch for shape {_shape}, eps={_eps}"
_got = layer_norm(np.full((2, 3), 7.0), np.ones(3), np.array([1.0, 2.0, 3.0]))
assert _close(_got, np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])), "a constant row gives beta"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "pre_post_ln", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question (where the norm goes).** The original Transformer puts the layer norm *after* each residual
# addition (post-LN): $y = \mathrm{LN}(x + \mathrm{Sublayer}(x))$. GPT-2 and most recent models put it
# *before* the sublayer, inside the residual branch (pre-LN): $y = x + \mathrm{Sublayer}(\mathrm{LN}(x))$,
# with one more layer norm after the last block. Write both for a block with attention and a feed-forward
# network, say which one leaves an unnormalised path straight from the block's input to its output, and
# why that path helps when many blocks are stacked (think of the gradient of the output with respect to
# the input of block 1). What do the residual connections add in either case?
#
# ### BEGIN SOLUTION
# Post-LN: $h = \mathrm{LN}(x + \mathrm{Attn}(x))$, $y = \mathrm{LN}(h + \mathrm{FFN}(h))$. Pre-LN:
# $h = x + \mathrm{Attn}(\mathrm{LN}(x))$, $y = h + \mathrm{FFN}(\mathrm{LN}(h))$. In pre-LN the input $x$
# reaches the output through additions only, so after $L$ blocks $x_L = x_0 + \sum_l F_l(\cdot)$ and
# $\partial x_L / \partial x_0 = I + \dots$: the gradient has an identity term that neither shrinks
# nor grows with depth. In post-LN every block's output passes through a normalisation, the identity path
# is rescaled $L$ times, and the gradients near the output are larger than near the input at
# initialisation, which is why post-LN needs a learning-rate warm-up and is harder to train deep; pre-LN
# trains stably without it (at the cost of a final LN and, in very deep models, of later blocks
# contributing less). In both, the residual connections keep each token's own input (identity and
# position) and let each sublayer learn a correction to it rather than a whole new representation.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "concepts_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Concept questions
#
# Each answer is a **set** of letters, e.g. `{"A", "C"}`; a question may have one or several correct
# options. Put your answers in `answer_q1` to `answer_q6` in the cell below the questions;
# they are checked when the notebook is graded.
#
# **Q1.** How does self-attention in a decoder differ from self-attention in an encoder?
# A. each position may only attend to itself and earlier positions ·
# B. it only attends to the encoder's output, never to its own tokens ·
# C. it uses no softmax ·
# D. it uses different projection matrices for every position
#
# **Q2.** In the "hello world !" layers above, which statements are true?
# A. the last token's output is the same in the encoder and the decoder ·
# B. the decoder's first row of $Z$ equals $x_1 W_v$ ·
# C. the decoder's output for "world" does not depend on the input vector of "!" ·
# D. the encoder's output for "hello" does not depend on the input vector of "!"
#
# **Q3.** A layer has $H$ heads with $M_{QK} = M_V = E / H$. Which statements are true?
# A. it has as many projection parameters as a single head with $M_{QK} = M_V = E$ ·
# B. for the same query, different heads can put their weight on different keys ·
# C. all heads share one softmax over $H \cdot S$ scores ·
# D. its output has $H \cdot E$ columns
#
# **Q4** (from the course's question sheet). What can the bias observed in a model come from?
# A. it was fine-tuned from a pretrained model and picked up that model's bias ·
# B. the data it was trained on is biased ·
# C. the metric it was optimised for is biased
#
# **Q5** (from the sheet, options reworded). A batch of token sequences goes through the body of a
# decoder transformer (no head on top). How many dimensions does the output tensor have, and what are they?
# A. 2: the sequence length and the batch size ·
# B. 2: the sequence length and the hidden size ·
# C. 3: the batch size, the sequence length and the hidden size
#
# **Q6** (the sheet's Q12). What is a model *head*?
# A. a component of the base transformer that routes tensors to the right layers ·
# B. another name for self-attention, which adapts a token's representation to the other tokens ·
# C. an additional component, usually one or a few layers, that turns the transformer's outputs into a
# task-specific output

# %% nbgrader={"grade": false, "grade_id": "concept_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answer_q1 = ...  # a set of letters, e.g. {"C"}
answer_q2 = ...  # a set of letters, e.g. {"B", "D"}
answer_q3 = ...  # a set of letters
answer_q4 = ...  # a set of letters
answer_q5 = ...  # a set of letters
answer_q6 = ...  # a set of letters
### BEGIN SOLUTION
answer_q1 = {"A"}
answer_q2 = {"A", "B", "C"}
answer_q3 = {"A", "B"}
answer_q4 = {"A", "B", "C"}
answer_q5 = {"C"}
answer_q6 = {"C"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q1: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q1, set) and answer_q1 <= {"A", "B", "C", "D"}, "answer_q1 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q1) is set and answer_q1 == {"A"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q2: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q2, set) and answer_q2 <= {"A", "B", "C", "D"}, "answer_q2 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q2) is set and answer_q2 == {"A", "B", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q3: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q3, set) and answer_q3 <= {"A", "B", "C", "D"}, "answer_q3 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q3) is set and answer_q3 == {"A", "B"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q4", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q4: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q4, set) and answer_q4 <= {"A", "B", "C"}, "answer_q4 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q4) is set and answer_q4 == {"A", "B", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q5", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q5: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q5, set) and answer_q5 <= {"A", "B", "C"}, "answer_q5 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q5) is set and answer_q5 == {"C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q6", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q6: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q6, set) and answer_q6 <= {"A", "B", "C"}, "answer_q6 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q6) is set and answer_q6 == {"C"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You drew a multi-head layer, counted its parameters, built it and checked it against PyTorch, and
# assembled a whole transformer layer. Notebook 06 stacks such layers (with layer norm) into a GPT.
# Before handing in: *Kernel → Restart and run all*, check that every visible test passes, then save
# (on Colab: *File → Download → Download .ipynb*).
