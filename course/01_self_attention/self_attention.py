# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 01 · Self-attention from scratch
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/01_self_attention/self_attention.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. write a numerically stable softmax and scaled dot-product attention (with masks) in NumPy;
# 2. turn word vectors into queries, keys and values, stack two attention layers, and read the result as an attention map;
# 3. compute sinusoidal positional encodings, say why they are built from sines and cosines, and rotate
#    queries and keys with rotary position embeddings (RoPE);
# 4. explain what *argmax* attention would break, how attention can copy or mix values, and how masks hide positions;
#    batch attention over padded sequences with padding and causal masks;
# 5. count the cost of a self-attention layer and measure how it grows with the sequence length.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. Run the test cell under each answer: it checks the examples from the
# exercise sheets and tells you what it expected. More (hidden) checks run when your notebook is graded,
# so test your functions on your own inputs too. Do not delete, copy or retype the locked cells.
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

# %% [markdown] nbgrader={"grade": false, "grade_id": "softmax_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Softmax, the stable way
#
# Attention turns a row of scores into weights that are positive and sum to one with the softmax
# $\mathrm{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}$. Taken literally, this overflows: `np.exp(1000.0)`
# is `inf`, and `inf / inf` is `nan`. Because softmax does not change when the same constant is
# subtracted from every entry, subtract the **maximum along the axis you normalise over** first: the
# largest exponent becomes $e^0 = 1$ and nothing overflows.
#
# Write `softmax(x, axis=-1)` for an array of any shape. Entries equal to `-np.inf` must get weight 0
# (as long as the slice has at least one finite entry); we use that for masking below.

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
import numpy as np


def softmax(x, axis=-1):
    """Softmax of `x` along `axis`, computed without overflow.

    Example: softmax(np.array([1000.0, 1000.0])) -> array([0.5, 0.5])
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=axis, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that softmax is positive, sums to one along the chosen axis, survives huge logits and gives -inf weight 0."""
w = softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
assert w.shape == (2, 3), f"expected shape (2, 3), got {w.shape}"
assert np.allclose(w.sum(axis=-1), 1.0), f"rows should sum to 1 (divide by the sum along the axis, not over the whole array), got {w.sum(axis=-1)}"
assert np.allclose(w[1], 1 / 3), f"equal scores should give equal weights, got {w[1]}"
big = softmax(np.array([1000.0, 1001.0]))
assert np.all(np.isfinite(big)), f"softmax overflowed on [1000, 1001]: {big} (subtract the maximum before np.exp)"
two_rows = softmax(np.array([[1000.0, 1001.0], [0.0, 1.0]]))
assert np.all(np.isfinite(two_rows)) and np.allclose(two_rows[1], two_rows[0]), (
    "[[1000, 1001], [0, 1]]: both rows should be [0.269, 0.731]. Subtract the maximum of EACH row "
    f"(np.max(x, axis=axis, keepdims=True)), not of the whole array; got {np.round(two_rows, 3).tolist()}")
cols = softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), axis=0)
assert np.allclose(cols.sum(axis=0), 1.0), f"softmax(x, axis=0) must make each COLUMN sum to 1: use the axis argument, got column sums {cols.sum(axis=0)}"
masked = softmax(np.array([0.0, -np.inf, 0.0]))
assert np.allclose(masked, [0.5, 0.0, 0.5]), f"an entry equal to -inf must get weight 0, got {masked}"
### BEGIN HIDDEN TESTS
import math

import numpy as np


def _reference_softmax(x, axis):
    x = np.array(x, dtype=float)
    rows = np.moveaxis(x, axis, -1)
    out = np.empty_like(rows)
    for index in np.ndindex(rows.shape[:-1]):
        values = rows[index].tolist()
        top = max(values)
        exps = [math.exp(v - top) for v in values]
        total = sum(exps)
        out[index] = [e / total for e in exps]
    return np.moveaxis(out, -1, axis)


_rng = np.random.default_rng(2024)
_cases = [
    (_rng.normal(size=(4, 7)), -1),
    (_rng.normal(size=(4, 7)), 0),
    (_rng.normal(size=(2, 3, 5)) * 30, 1),
    (np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]]), -1),
    (np.array([[1000.0, 1001.0], [0.0, 1.0]]), -1),
    (np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -np.inf]]), -1),
    (np.array([5.0]), -1),
]
for _x, _axis in _cases:
    _got = softmax(_x.copy(), axis=_axis)
    _want = _reference_softmax(_x, _axis)
    assert _close(_got, _want), f"softmax along axis {_axis} of an input of shape {_x.shape} is wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sdpa_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Scaled dot-product attention
#
# Given queries $Q \in \mathbb{R}^{n_q \times d_k}$, keys $K \in \mathbb{R}^{n_k \times d_k}$ and values
# $V \in \mathbb{R}^{n_k \times d_v}$,
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V .$$
#
# Row $i$ of the weight matrix says how much query $i$ takes from each key's value. Dividing by
# $\sqrt{d_k}$ keeps the scores' spread independent of the key size: the dot product of two random
# vectors with unit-variance entries has variance $d_k$, and without the scale the softmax would
# saturate to a one-hot vector as $d_k$ grows.
#
# **Masks.** `mask` is a boolean array of shape $(n_q, n_k)$ in which `True` means *query i may look at
# key j*. Masked pairs must get weight **exactly 0** and the remaining weights in the row must still sum
# to one, so mask the *scores* (set them to $-\infty$) **before** the softmax.
#
# **A row with no allowed key** has no sensible distribution. This course's convention: such a row gets
# all-zero weights and therefore an all-zero output, never `nan` (a `nan` spreads through everything
# computed after it). Libraries do not agree here; the cell after the tests shows what the PyTorch you
# have installed does.
#
# Return `(output, weights)` with shapes $(n_q, d_v)$ and $(n_q, n_k)$. Use your `softmax`.

# %% nbgrader={"grade": false, "grade_id": "scaled_dot_product_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V, with an optional boolean mask (True = may attend).

    Q: (n_q, d_k), K: (n_k, d_k), V: (n_k, d_v), mask: (n_q, n_k) or None.
    Returns (output (n_q, d_v), weights (n_q, n_k)).
    """
    ### BEGIN SOLUTION
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    d_k = Q.shape[-1]
    scores = Q @ K.T / np.sqrt(d_k)  # (n_q, d_k) x (d_k, n_k) -> (n_q, n_k)
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        mask = np.asarray(mask, dtype=bool)
        has_key = mask.any(axis=-1, keepdims=True)  # (n_q, 1)
        scores = np.where(mask, scores, -np.inf)
        scores = np.where(has_key, scores, 0.0)  # keep fully masked rows finite
        weights = softmax(scores, axis=-1) * mask  # fully masked rows become all zeros
    output = weights @ V  # (n_q, n_k) x (n_k, d_v) -> (n_q, d_v)
    return output, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_scaled_dot_product_attention", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check attention without a mask: shapes, weights that sum to one, the scaling by sqrt(d_k), output = weights @ V, huge scores."""
probes = softmax(np.array([[0.0, 1.0], [1.0, 2.0]])), softmax(np.array([[1000.0, 1001.0]]))
assert all(np.allclose(p, [0.26894142, 0.73105858]) for p in probes), "your softmax is wrong (its own test above fails): fix it first, this function uses it"
Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
K = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
V = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
out, w = scaled_dot_product_attention(Q, K, V)
assert out.shape == (3, 3), f"expected output of shape (3, 3), got {out.shape}"
assert w.shape == (3, 3), f"expected weights of shape (3, 3), got {w.shape}"
assert np.allclose(w.sum(axis=1), 1.0), (
    f"each row of weights should sum to 1 (softmax over the keys, axis=-1), got {w.sum(axis=1)}"
    + (": your COLUMNS sum to 1, the softmax ran over the queries" if np.allclose(w.sum(axis=0), 1.0) else ""))


def row0(divisor):
    """Weights of query 0, whose raw scores are 0, 1, 1, after dividing by `divisor`."""
    e = np.exp(np.array([0.0, 1.0, 1.0]) / divisor)
    return e / e.sum()


assert not np.allclose(w[0], row0(1.0)), "the scores were not scaled: divide Q K^T by sqrt(d_k) = sqrt(2)"
assert not np.allclose(w[0], row0(2.0)), "the scores were divided by d_k = 2: divide by its square root, sqrt(2)"
assert not np.allclose(w[0], row0(np.sqrt(3))), "the scores were divided by sqrt(d_v) = sqrt(3): divide by sqrt(d_k) = sqrt(2), the size of a key"
assert np.allclose(w[0], row0(np.sqrt(2))), f"query 0 (raw scores 0, 1, 1): expected softmax([0, 1, 1] / sqrt(2)), got {w[0]}"
assert np.allclose(out, w @ V), "the output is the weighted sum of the values: weights @ V"
_, w_big = scaled_dot_product_attention(np.array([[300.0, 300.0]]), np.array([[300.0, 300.0], [-300.0, 300.0]]), np.array([[1.0], [2.0]]))
assert np.all(np.isfinite(w_big)), "scores of about 10^5 gave nan or inf: use your stable softmax (subtract the maximum)"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(7)
for _n_q, _n_k, _d_k, _d_v in [(1, 1, 1, 1), (3, 5, 4, 2), (7, 2, 3, 6), (4, 4, 16, 16), (2, 9, 5, 1)]:
    _Q, _K, _V = (_rng.normal(size=s) * 3 for s in ((_n_q, _d_k), (_n_k, _d_k), (_n_k, _d_v)))
    _out, _w = scaled_dot_product_attention(_Q.copy(), _K.copy(), _V.copy())
    _t = [torch.tensor(a) for a in (_Q, _K, _V)]
    _ref_w = torch.softmax(_t[0] @ _t[1].T / _d_k ** 0.5, dim=-1).numpy()
    _torch_out = torch.nn.functional.scaled_dot_product_attention(*_t).numpy()
    _what = f"n_q={_n_q}, n_k={_n_k}, d_k={_d_k}, d_v={_d_v}"
    assert _close(_w, _ref_w), f"weights are wrong for {_what}"
    assert _close(_out, _torch_out), f"output disagrees with torch's scaled_dot_product_attention for {_what}"

# huge logits stay finite
_out, _w = scaled_dot_product_attention(np.array([[300.0, 300.0]]), np.array([[300.0, 300.0], [-300.0, 300.0]]), np.array([[1.0], [2.0]]))
assert _close(_w, np.array([[1.0, 0.0]])), "large scores must give finite weights (subtract the maximum)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_scaled_dot_product_attention_mask", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check masks: masked weights exactly 0, the other weights YOUR unmasked ones renormalised, and a fully masked row all zeros."""
Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
K = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
V = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
_, w = scaled_dot_product_attention(Q, K, V)
mask = np.array([[True, False, True], [True, True, True], [False, False, True]])
out_m, w_m = scaled_dot_product_attention(Q, K, V, mask=mask)
assert w_m.shape == (3, 3), f"expected weights of shape (3, 3), got {w_m.shape}"
assert np.all(w_m[~mask] == 0), f"masked weights must be exactly 0, got {w_m[~mask]} (True in the mask means 'may attend')"
assert np.allclose(w_m.sum(axis=1), 1.0), (
    f"rows should still sum to 1 after masking, got {w_m.sum(axis=1)}: mask the SCORES (-inf) before the softmax, not the weights after it")
assert np.allclose(w_m, w * mask / (w * mask).sum(axis=1, keepdims=True)), "the visible keys should keep the proportions of their unmasked weights"
assert np.allclose(out_m, w_m @ V), "the output is the weighted sum of the values: weights @ V"
out_e, w_e = scaled_dot_product_attention(Q, K, V, mask=np.array([[True, True, True], [False, False, False], [True, False, False]]))
assert not np.any(np.isnan(w_e)), "a row with no allowed key gave nan: this course's convention is all-zero weights (see above)"
assert np.all(w_e[1] == 0) and np.all(out_e[1] == 0), f"a row with no allowed key must get all-zero weights and output, got {w_e[1]}, {out_e[1]}"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(8)
for _n_q, _n_k, _d_k, _d_v in [(1, 1, 1, 1), (3, 5, 4, 2), (7, 2, 3, 6), (4, 4, 16, 16), (2, 9, 5, 1)]:
    _Q, _K, _V = (_rng.normal(size=s) * 3 for s in ((_n_q, _d_k), (_n_k, _d_k), (_n_k, _d_v)))
    _, _w_full = scaled_dot_product_attention(_Q.copy(), _K.copy(), _V.copy())
    _mask = _rng.random((_n_q, _n_k)) < 0.6
    _mask[0] = False  # a query that may look at nothing
    for _m in (_mask, np.ones((_n_q, _n_k), dtype=bool)):
        _out, _w = scaled_dot_product_attention(_Q.copy(), _K.copy(), _V.copy(), mask=_m.copy())
        assert type(_w) is np.ndarray and _w.shape == (_n_q, _n_k), "weights must be an array of shape (n_q, n_k)"
        for _i in range(_n_q):
            _keep = [_j for _j in range(_n_k) if _m[_i, _j]]
            _row = _w[_i].tolist()
            assert all(_row[_j] == 0.0 for _j in range(_n_k) if not _m[_i, _j]), "masked weights must be exactly 0"
            if not _keep:
                assert all(v == 0.0 for v in _row), "a query with no allowed key must get all-zero weights"
                continue
            _total = sum(float(_w_full[_i, _j]) for _j in _keep)
            assert all(abs(_row[_j] - float(_w_full[_i, _j]) / _total) < 1e-6 for _j in _keep), (
                f"the allowed weights are not the softmax over the allowed keys (n_q={_n_q}, n_k={_n_k})")
        _want_out = np.array([[sum(_w[_i, _j] * _V[_j, _c] for _j in range(_n_k)) for _c in range(_d_v)] for _i in range(_n_q)])
        assert _close(_out, _want_out), "with a mask, the output must be weights @ V (zeros for a row with no allowed key)"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "why_scale_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 2.1 · Why divide by $\sqrt{d_k}$? Measured
#
# Take queries and keys with independent entries of mean 0 and variance 1. Each product $q_i k_i$ then
# has variance 1, so the score $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$ has variance $d_k$: its typical size
# grows like $\sqrt{d_k}$, and the softmax of such scores puts almost all weight on one key (its gradient
# then almost vanishes). Dividing by $\sqrt{d_k}$ brings the variance back to 1 for every $d_k$. The cell
# below measures both effects for one query and 16 keys.
#
# *Where the course departs from a handout:* one handout writes
# $\mathrm{Var}(\sum_i q_i k_i) = \sigma \cdot d_k$ for entries drawn from $\mathcal{N}(0, \sigma)$. With
# entries of variance $\sigma^2$ the variance is $\sigma^4 d_k$ (with entries of variance $\sigma$, $\sigma^2 d_k$);
# never $\sigma d_k$, unless $\sigma = 1$, the case that matters at initialisation.

# %% nbgrader={"grade": false, "grade_id": "why_scale_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

scale_rng = np.random.default_rng(0)
key_sizes = [4, 16, 64, 256, 1024]
max_weight = {"raw": [], "scaled": []}
print(" d_k   Var(q.k)   Var(q.k / sqrt(d_k))   mean largest weight: raw   scaled")
for d_k in key_sizes:
    q_demo = scale_rng.normal(size=(300, 1, d_k))
    k_demo = scale_rng.normal(size=(300, 16, d_k))
    raw_scores = (q_demo * k_demo).sum(axis=-1)  # (300 queries, 16 keys)
    for name, scores in (("raw", raw_scores), ("scaled", raw_scores / np.sqrt(d_k))):
        max_weight[name].append(softmax(scores, axis=-1).max(axis=-1).mean())
    print(f"{d_k:5d} {raw_scores.var():9.1f} {(raw_scores / np.sqrt(d_k)).var():16.2f} "
          f"{max_weight['raw'][-1]:24.3f} {max_weight['scaled'][-1]:8.3f}")
plt.figure(figsize=(5, 3))
plt.semilogx(key_sizes, max_weight["raw"], "o-", label="softmax(q·k)")
plt.semilogx(key_sizes, max_weight["scaled"], "o-", label="softmax(q·k / √d_k)")
plt.axhline(1 / 16, color="gray", linestyle="--", label="uniform (1/16)")
plt.xlabel("d_k")
plt.ylabel("mean largest weight")
plt.legend()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "torch_masked_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What PyTorch does with a row that may look at nothing.** The cell below asks the installed PyTorch.
# On PyTorch 2.13 (the version this notebook was checked with) `torch.nn.functional.scaled_dot_product_attention`
# returns zeros for that row, as this course does; `torch.nn.MultiheadAttention` returns `nan` when it also
# returns the weights (`need_weights=True`, its default) and zeros with `need_weights=False` (it then calls
# the same fused function); `torch.softmax` of a row of `-inf` is `nan`. Other versions may differ, which is
# one more reason to decide the convention yourself rather than rely on a library's.

# %% nbgrader={"grade": false, "grade_id": "torch_masked_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    import torch
except ImportError:  # PyTorch is optional for this notebook
    torch = None
if torch is not None:
    t_q, t_k, t_v = (torch.ones(1, 2, 2, dtype=torch.float64) for _ in range(3))
    allowed = torch.tensor([[True, True], [False, False]])  # query 1 may look at nothing
    fused = torch.nn.functional.scaled_dot_product_attention(t_q, t_k, t_v, attn_mask=allowed)[0, 1]
    layer = torch.nn.MultiheadAttention(2, 1, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        with_weights = layer(t_q, t_k, t_v, attn_mask=~allowed)[0][0, 1]  # True = hidden in this API
        without_weights = layer(t_q, t_k, t_v, attn_mask=~allowed, need_weights=False)[0][0, 1]
    print(f"PyTorch {torch.__version__}, the row with no allowed key:")
    print("  F.scaled_dot_product_attention            ->", fused.tolist())
    print("  nn.MultiheadAttention (need_weights=True)  ->", with_weights.tolist())
    print("  nn.MultiheadAttention (need_weights=False) ->", without_weights.tolist())
    print("  torch.softmax([-inf, -inf])                ->", torch.softmax(torch.tensor([-float("inf")] * 2), -1).tolist())

# %% [markdown] nbgrader={"grade": false, "grade_id": "cat_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 2.2 · "The cat sat on the mat" by hand
#
# One of the handouts gives every token of *The cat sat on the mat* a 2-dimensional query, key and value:
#
# | token | query | key | value |
# |---|---|---|---|
# | The | [1, 0] | [1, 0] | [0, 1] |
# | cat | [0, 1] | [0, 1] | [1, 0] |
# | sat | [1, 1] | [1, 1] | [0, 0] |
# | on  | [0, 0] | [1, 1] | [1, 1] |
# | the | [1, 0] | [0, 0] | [0, 0] |
# | mat | [0, 1] | [1, 0] | [1, 1] |
#
# Work out, for the query of **cat**, its raw scores against all six keys, its attention weights
# (with $d_k = 2$) and its output. Compute them **without** your function, by hand or with a few lines of
# NumPy (`np.exp`), so that they are an independent check of it: the cell then prints what your
# `scaled_dot_product_attention` gives for the same query, and the two should agree.
#
# *Where the course departs from the handout:* the handout's worked scores for the query **The** use
# the wrong keys for *on*, *the* and *mat* (it reports 0, 1 and 0; the table gives 1, 0 and 1). The
# numbers below follow the table.

# %% nbgrader={"grade": false, "grade_id": "cat_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
cat_tokens = ["The", "cat", "sat", "on", "the", "mat"]
cat_Q = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]], dtype=float)
cat_K = np.array([[1, 0], [0, 1], [1, 1], [1, 1], [0, 0], [1, 0]], dtype=float)
cat_V = np.array([[0, 1], [1, 0], [0, 0], [1, 1], [0, 0], [1, 1]], dtype=float)

# %% nbgrader={"grade": false, "grade_id": "cat_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Fill in three arrays for the query of "cat" (row 1):
# cat_scores: its 6 raw dot products with the keys, cat_weights: its 6 attention weights, cat_output: its output.
### BEGIN SOLUTION
cat_scores = cat_Q[1] @ cat_K.T  # (6,)
cat_exp = np.exp(cat_scores / np.sqrt(2))
cat_weights = cat_exp / cat_exp.sum()
cat_output = cat_weights @ cat_V  # (6,) x (6, 2) -> (2,)
### END SOLUTION
print("scores :", np.round(cat_scores, 4))
print("weights:", np.round(cat_weights, 4))
print("output :", np.round(cat_output, 4))
try:
    cat_check_out, cat_check_w = scaled_dot_product_attention(cat_Q, cat_K, cat_V)
    print("your scaled_dot_product_attention, row 1:", np.round(cat_check_w[1], 4), np.round(cat_check_out[1], 4))
except NotImplementedError:
    print("(scaled_dot_product_attention is not written yet)")

# %% nbgrader={"grade": true, "grade_id": "test_cat_answers", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the scores, weights and output for the query of "cat"."""
assert np.shape(cat_scores) == (6,), f"expected 6 scores, got shape {np.shape(cat_scores)}"
assert np.allclose(cat_scores, [0, 1, 1, 1, 0, 0]), f"raw scores are plain dot products, got {cat_scores}"
assert np.shape(cat_weights) == (6,) and np.shape(cat_output) == (2,), "expected 6 weights and a 2-d output"
assert np.isclose(np.sum(cat_weights), 1.0) and np.all(np.asarray(cat_weights) > 0), f"softmax weights are positive and sum to 1, got {cat_weights}"
ratio = float(cat_weights[1] / cat_weights[0])  # "cat" against "cat" (score 1) and against "The" (score 0)
assert not np.isclose(ratio, np.e), "the scores were not divided by sqrt(d_k) = sqrt(2) (w_cat / w_The = e)"
assert np.isclose(ratio, np.exp(1 / np.sqrt(2))), f"weights are softmax(scores / sqrt(2)): w_cat / w_The should be e^(1/sqrt 2) = 2.028, got {ratio:.3f}"
assert np.allclose(cat_output, np.asarray(cat_weights) @ cat_V), "the output is the weighted sum of the values: cat_weights @ V"
### BEGIN HIDDEN TESTS
import math

import numpy as np

_e = math.exp(1 / math.sqrt(2))
_z = 3 * _e + 3
_want_w = [1 / _z, _e / _z, _e / _z, _e / _z, 1 / _z, 1 / _z]
_want_out = [_want_w[1] + _want_w[3] + _want_w[5], _want_w[0] + _want_w[3] + _want_w[5]]
_got_w = np.asarray(cat_weights, dtype=float).tolist()
_got_out = np.asarray(cat_output, dtype=float).tolist()
assert len(_got_w) == 6 and all(abs(a - b) < 1e-6 for a, b in zip(_got_w, _want_w)), "the weights of 'cat' are wrong"
assert len(_got_out) == 2 and all(abs(a - b) < 1e-6 for a, b in zip(_got_out, _want_out)), "the output of 'cat' is wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "self_attention_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Self-attention: queries, keys and values from the same words
#
# In self-attention every token supplies a query, a key and a value, each a linear map of its vector.
# This course stores tokens as **rows** of $X \in \mathbb{R}^{n \times d}$ and writes
#
# $$Q = X W_q, \quad K = X W_k, \quad V = X W_v, \qquad \text{output} = \mathrm{Attention}(Q, K, V),$$
#
# with $W_q, W_k \in \mathbb{R}^{d \times d_k}$ and $W_v \in \mathbb{R}^{d \times d_v}$ (the same
# convention as PyTorch and the GPT notebook).
#
# The first exercise sheet uses **column** vectors instead: a word is $x \in \mathbb{R}^{2}$ and its key
# is $k = W_K x$ with $W_K \in \mathbb{R}^{3 \times 2}$. Transposing gives $k^\top = x^\top W_K^\top$, so
# the sheet's matrices become this notebook's by a transpose: $W_k = W_K^\top$ ($2 \times 3$),
# $W_q = W_Q^\top$, $W_v = W_V^\top$.

# %% nbgrader={"grade": false, "grade_id": "self_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def self_attention(X, W_q, W_k, W_v):
    """Single-head self-attention of the rows of X.

    X: (n, d), W_q and W_k: (d, d_k), W_v: (d, d_v). Returns (output (n, d_v), weights (n, n)).
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    Q = X @ W_q  # (n, d) x (d, d_k) -> (n, d_k)
    K = X @ W_k  # (n, d) x (d, d_k) -> (n, d_k)
    V = X @ W_v  # (n, d) x (d, d_v) -> (n, d_v)
    return scaled_dot_product_attention(Q, K, V)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_self_attention", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check self-attention against YOUR scaled_dot_product_attention on X W_q, X W_k, X W_v (so a wrong attention is not counted twice)."""
X_small = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
W_q_small = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
W_k_small = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, -1.0]])
W_v_small = np.array([[1.0], [2.0]])
out, w = self_attention(X_small, W_q_small, W_k_small, W_v_small)
assert w.shape == (3, 3), f"expected weights of shape (n, n) = (3, 3), got {w.shape} (tokens are ROWS: Q = X W_q)"
assert out.shape == (3, 1), f"expected output of shape (n, d_v) = (3, 1), got {out.shape}: the values are V = X W_v"
want_out, want_w = scaled_dot_product_attention(X_small @ W_q_small, X_small @ W_k_small, X_small @ W_v_small)
raw = (X_small @ W_q_small) @ (X_small @ W_k_small).T
if not np.allclose(w, want_w):
    _, swapped_w = scaled_dot_product_attention(X_small @ W_k_small, X_small @ W_q_small, X_small @ W_v_small)
    assert not np.allclose(w, swapped_w), "queries and keys are swapped: Q = X W_q and K = X W_k"
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    assert not np.allclose(w, e / e.sum(axis=1, keepdims=True)), "the scores were not scaled by sqrt(d_k): call your scaled_dot_product_attention on Q, K, V"
    raise AssertionError("weights should be those of scaled_dot_product_attention(X W_q, X W_k, X W_v)")
assert np.allclose(out, want_out), "output should be that of scaled_dot_product_attention(X W_q, X W_k, X W_v)"
scaled = raw / np.sqrt(3)
e = np.exp(scaled - scaled.max(axis=1, keepdims=True))
if not np.allclose(want_w, e / e.sum(axis=1, keepdims=True)):
    print("Note: your scaled_dot_product_attention fails its own test; this test judges self_attention against it, so fix that first")
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(11)
for _n, _d, _d_k, _d_v in [(1, 2, 3, 2), (5, 4, 3, 2), (6, 3, 5, 7), (4, 8, 8, 8)]:
    _X = _rng.normal(size=(_n, _d))
    _Wq, _Wk, _Wv = _rng.normal(size=(_d, _d_k)), _rng.normal(size=(_d, _d_k)), _rng.normal(size=(_d, _d_v))
    _out, _w = self_attention(_X.copy(), _Wq.copy(), _Wk.copy(), _Wv.copy())
    _q, _k, _v = (torch.tensor(_X @ m) for m in (_Wq, _Wk, _Wv))
    _want_w = torch.softmax(_q @ _k.T / _d_k ** 0.5, dim=-1).numpy()
    _want_out = torch.nn.functional.scaled_dot_product_attention(_q, _k, _v).numpy()
    if not (_close(_w, _want_w) and _close(_out, _want_out)):
        # accepted when it is exactly the student's own attention on the right Q, K, V (judged by its own test)
        _s_out, _s_w = scaled_dot_product_attention(_X @ _Wq, _X @ _Wk, _X @ _Wv)
        _what = f"n={_n}, d={_d}, d_k={_d_k}, d_v={_d_v}"
        assert not _close(_s_w, _want_w), f"weights wrong for {_what} (Q = X W_q, K = X W_k)"
        assert _close(_w, _s_w) and _close(_out, _s_out), f"self_attention is not attention on X W_q, X W_k, X W_v for {_what}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "juventus_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 3.1 · Who are "they"? Two layers of attention
#
# *Juventus lost from Ajax because they were too strong* — "they" is Ajax. Replace *strong* by *weak* and
# "they" becomes Juventus. The first exercise sheet encodes each word as a 2-d vector: the first
# coordinate is a "team" axis (Juventus $+1$, Ajax $-1$, *strong* $-1$, *weak* $+1$) and the second marks
# words that look for or carry a property (*they*, *strong*, *weak*). Its matrices, rewritten for rows
# as explained above, are $W_q = W_k = \begin{bmatrix}1&0&0\\0&1&0\end{bmatrix}$ and $W_v = I_2$.
#
# The code cell after the next question applies **your** `self_attention` twice (the output of layer 1 is the input of layer 2,
# with the same matrices) to both sentences and shows the attention maps. Use *show* to switch
# between sentences and layers, and hover over **they**: its row (what it attends to) and its column
# (what attends to it) light up, with the weights on the token chips; click a token to pin it. The
# *query scale* slider multiplies $W_q$ before your function runs: every score grows by that factor,
# like a softmax at temperature $1/\text{scale}$. Watch the row of *they* sharpen or flatten.
#
# Read the numbers honestly: these are hand-made, untrained weights on 2-d word vectors. At scale 1 the
# layer-2 row of *they* is nearly uniform (about 0.11 for each of the nine words, uniform being $1/9 = 0.111$):
# the preference for the right team shows only in the third decimal. The slider shows that it is a real
# preference, not noise: the printout below gives the row at scale 1 and at scale 4.
#
# *Where the course departs from the handout:* the sheet does not say whether to scale the scores; this
# notebook uses the scaled form ($d_k = 3$) throughout. The conclusion is the same without scaling.

# %% [markdown] nbgrader={"grade": true, "grade_id": "juventus_formulas", "locked": false, "points": 1.0, "schema_version": 3, "solution": true, "task": false}
# **Question (the sheet's first step: the formulas).** Before running anything, write down, in the sheet's
# column-vector notation ($x_j \in \mathbb{R}^2$ the vector of word $j$, $W_Q, W_K \in \mathbb{R}^{3 \times 2}$,
# $W_V \in \mathbb{R}^{2 \times 2}$), the key, query and value of each word, the attention weight $\alpha_{ij}$
# of query word $i$ on word $j$, and the output $z_i$ of one layer; then say what the second layer takes
# as its input. State whether you scale the scores and by what.
#
# ### BEGIN SOLUTION
# $k_j = W_K x_j$, $q_i = W_Q x_i$ (both in $\mathbb{R}^3$), $v_j = W_V x_j \in \mathbb{R}^2$;
# $s_{ij} = q_i^\top k_j / \sqrt{d_k}$ with $d_k = 3$;
# $\alpha_{ij} = \exp(s_{ij}) / \sum_{j'=1}^{n} \exp(s_{ij'})$ over the $n = 9$ words of the sentence;
# $z_i = \sum_{j=1}^{n} \alpha_{ij} v_j$. The second layer applies the same formulas (same matrices) to
# $z_1, \dots, z_n$ instead of $x_1, \dots, x_n$. (In this notebook's row convention: $Q = X W_Q^\top$,
# $K = X W_K^\top$, $V = X W_V^\top$, $Z = \mathrm{softmax}(Q K^\top / \sqrt{3})\, V$.)
# ### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "juventus_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
import ipywidgets as widgets

from tfscourse.widgets import AttentionMap, show_attention

word_vectors = {
    "Juventus": [1, 0], "lost": [0, 0], "from": [0, 0], "Ajax": [-1, 0], "because": [0, 0],
    "they": [0, 1], "were": [0, 0], "too": [0, 0], "strong": [-1, 1], "weak": [1, 1],
}
W_q_sheet = np.array([[1, 0, 0], [0, 1, 0]], dtype=float)  # = W_Q^T from the sheet
W_k_sheet = np.array([[1, 0, 0], [0, 1, 0]], dtype=float)  # = W_K^T
W_v_sheet = np.eye(2)  # = W_V^T

def juventus_maps_at(scale):
    """{label: AttentionMap} for both sentences and both layers, with W_q multiplied by `scale`."""
    maps = {}
    for last_word in ("strong", "weak"):
        tokens = "Juventus lost from Ajax because they were too".split() + [last_word]
        H = np.array([word_vectors[t] for t in tokens], dtype=float)
        for layer in (1, 2):
            H, weights = self_attention(H, scale * W_q_sheet, W_k_sheet, W_v_sheet)
            maps[f"'...too {last_word}', layer {layer}"] = AttentionMap(weights, tokens)
    return maps


for scale in (1.0, 4.0):
    for label, amap in juventus_maps_at(scale).items():
        they = dict(zip(amap.key_tokens, amap.weights[amap.query_tokens.index("they")]))
        top = max(they, key=they.get)
        print(f"scale {scale:g}, {label}: they -> Juventus {they['Juventus']:.3f}, Ajax {they['Ajax']:.3f} "
              f"(largest: {top} {they[top]:.3f}; uniform {1 / len(they):.3f})")
scale_slider = widgets.FloatSlider(value=1.0, min=0.25, max=4.0, step=0.25, description="query scale",
                                   continuous_update=False)
juventus_explorer = show_attention(juventus_maps_at, title="Juventus vs Ajax", control=scale_slider)


# %% [markdown] nbgrader={"grade": true, "grade_id": "juventus_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Compare the row of *they* in both sentences and both layers. Which team gets more
# attention in layer 2, does that match the meaning of the sentence, and why is one layer not enough?
#
# ### BEGIN SOLUTION
# In layer 1 "they" gives Juventus and Ajax exactly the same weight (0.095 each): its query $(0, 1, 0)$
# has a zero team coordinate, so it only matches words with a second coordinate (itself and
# *strong*/*weak*, 0.169 each). Attending to *strong* $(-1, 1)$ pulls "they" towards the Ajax side of the
# team axis; attending to *weak* $(1, 1)$ pulls it towards Juventus. In layer 2 the new query of "they"
# has a team component, so it prefers Ajax in the *strong* sentence and Juventus in the *weak* one: the
# right referent each time, but only just at scale 1 (0.113 vs 0.107, with every weight near the uniform
# 0.111). With the query scale at 4 the same preference is clear (0.146 vs 0.025), although the largest
# weight of "they" then goes to the adjective itself (0.353), not to a team: these untrained weights show
# the mechanism, not a resolved reference. One layer cannot do it because the information that decides
# the referent (the adjective) must first be moved into "they" before it can be used to pick the team:
# composition of two attention steps.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "pe_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Sinusoidal positional encodings
#
# Attention treats its input as a *set*: permuting the tokens permutes the outputs in the same way. To
# let the model use word order, the original Transformer adds to each token embedding a position vector
#
# $$PE(pos, 2i) = \sin\!\left(\frac{pos}{10000^{2i/d_{model}}}\right), \qquad PE(pos, 2i+1) = \cos\!\left(\frac{pos}{10000^{2i/d_{model}}}\right),$$
#
# where $pos = 0, 1, 2, \dots$ and $i$ counts **pairs** of dimensions: dimensions $2i$ and $2i+1$ share
# one frequency, sine in the even one and cosine in the odd one (interleaved, not two halves). Write
# `positional_encoding(num_positions, d_model)` for an even `d_model`.
#
# *Where the course departs from the handout:* the slides compute $PE(1, 1)$ with the exponent $1/4$
# and still write $\cos(1)$, and give the position-2 vector as $[0.909, -0.416, 0.909, -0.416]$.
# With the formula above, dimensions 2 and 3 use the frequency $1/10000^{2/4} = 1/100$, so the correct
# rows for $d_{model}=4$ are $[0, 1, 0, 1]$, $[0.841, 0.540, 0.010, 1.000]$ and $[0.909, -0.416, 0.020, 1.000]$.

# %% nbgrader={"grade": false, "grade_id": "positional_encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def positional_encoding(num_positions, d_model):
    """Sinusoidal position vectors, one row per position: array of shape (num_positions, d_model)."""
    ### BEGIN SOLUTION
    positions = np.arange(num_positions)[:, None]  # (P, 1)
    pair = np.arange(0, d_model, 2)  # (d_model / 2,) even dimension indices 2i
    angles = positions / 10000 ** (pair / d_model)  # (P, 1) / (d_model/2,) -> (P, d_model/2)
    pe = np.zeros((num_positions, d_model))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_positional_encoding", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the positional encodings of 3 positions with d_model = 4 (recomputed from the formula)."""
pe = positional_encoding(3, 4)
assert pe.shape == (3, 4), f"expected shape (3, 4), got {pe.shape}"
assert np.allclose(pe[0], [0, 1, 0, 1]), f"position 0 should be [0, 1, 0, 1], got {pe[0]}"
assert np.allclose(pe[1, :2], [np.sin(1), np.cos(1)]), f"position 1, dims 0-1 should be [sin 1, cos 1], got {pe[1, :2]}"
### BEGIN HIDDEN TESTS
import math

import numpy as np

for _P, _d in [(3, 4), (1, 2), (50, 16), (7, 6)]:
    _pe = positional_encoding(_P, _d)
    assert type(_pe) is np.ndarray and _pe.shape == (_P, _d), f"expected an array of shape {(_P, _d)}"
    _got = _pe.tolist()
    for _pos in range(_P):
        for _j in range(_d):
            _angle = _pos / 10000 ** ((_j - _j % 2) / _d)
            _want = math.sin(_angle) if _j % 2 == 0 else math.cos(_angle)
            assert abs(_got[_pos][_j] - _want) < 1e-9, f"PE({_pos}, {_j}) for d_model={_d} should be {_want:.6f}, got {_got[_pos][_j]:.6f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "pe_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

pe_big = positional_encoding(64, 32)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].imshow(pe_big.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
axes[0].set(xlabel="position", ylabel="dimension", title="Your positional encodings (64 positions, d_model = 32)")
similarity = pe_big @ pe_big.T
axes[1].plot(similarity[10], label="PE(10) · PE(pos)")
axes[1].plot(similarity[40], label="PE(40) · PE(pos)")
axes[1].set(xlabel="pos", title="Dot products depend on the distance only")
axes[1].legend()
plt.show()


# %% [markdown] nbgrader={"grade": true, "grade_id": "why_sinusoids", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Why does the original Transformer build positions from sines and cosines of many
# frequencies? Name at least two useful properties (the plots above help).
#
# ### BEGIN SOLUTION
# (1) Every position gets a distinct, bounded vector (values in $[-1, 1]$), whatever the sequence
# length, with no parameters to learn, and the formula extends to positions longer than any seen in
# training. (2) For each frequency, $PE(pos + k)$ is a rotation of $PE(pos)$ by an angle that depends only
# on $k$, so a relative offset is a *linear* function of the encoding and attention can learn "look $k$
# tokens back"; the dot product $PE(p) \cdot PE(q)$ depends only on $p - q$ (right plot). (3) The
# frequencies form a geometric series from fast to slow, like the digits of a number: fast dimensions
# separate neighbours, slow ones tell far-apart positions apart.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "rope_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 4.1 · Extension: rotary position embeddings (RoPE)
#
# Most recent language models (LLaMA, GPT-NeoX, ...) do not add position vectors to the embeddings. They
# **rotate** each query and key instead: the pair of dimensions $(2i, 2i+1)$ of the vector at position $p$ is
# rotated by the angle $p\,\theta_i$ with the sinusoids' frequencies $\theta_i = 10000^{-2i/d}$:
#
# $$x'_{2i} = x_{2i}\cos(p\theta_i) - x_{2i+1}\sin(p\theta_i), \qquad x'_{2i+1} = x_{2i}\sin(p\theta_i) + x_{2i+1}\cos(p\theta_i).$$
#
# A rotation keeps lengths, and rotating $q$ by $p\theta$ and $k$ by $s\theta$ leaves $q' \cdot k'$ depending on
# the positions only through $p - s$: attention scores become *relative*. Write `rope(x)` for an array
# $(n, d)$ with even $d$, the rows being positions $0, 1, \dots, n-1$.
#
# *Convention:* this is the interleaved form of the RoFormer paper. Some libraries (e.g. Hugging Face's LLaMA)
# pair dimension $j$ with $j + d/2$ instead; the two differ by a fixed permutation of the dimensions.

# %% nbgrader={"grade": false, "grade_id": "rope", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rope(x):
    """Rotate the pairs (2i, 2i+1) of row p of x (n, d) by the angle p * 10000 ** (-2i / d)."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    n, d = x.shape
    angles = np.arange(n)[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)  # (n, d/2)
    cos, sin = np.cos(angles), np.sin(angles)
    even, odd = x[:, 0::2], x[:, 1::2]  # (n, d/2) each
    out = np.empty_like(x)
    out[:, 0::2] = even * cos - odd * sin
    out[:, 1::2] = even * sin + odd * cos
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rope", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check RoPE: shape, position 0 unchanged, the rotation's direction and frequencies, lengths kept, relative scores."""
x_r = np.tile([1.0, 0.0, 1.0, 0.0], (3, 1))  # three positions of the same vector, d = 4
r = rope(x_r)
assert np.shape(r) == (3, 4), f"expected shape (3, 4), got {np.shape(r)}"
assert np.allclose(r[0], x_r[0]), f"position 0 is rotated by angle 0: it must stay [1, 0, 1, 0], got {r[0]}"
assert not np.allclose(r[1, :2], [np.cos(1), -np.sin(1)]), "rotated the wrong way: x'_(2i+1) = x_(2i) sin + x_(2i+1) cos"
assert not np.allclose(r[1], [np.cos(1) - np.sin(1), 0, np.sin(1) + np.cos(1), 0]), (
    "that is the 'halves' layout (dimension j paired with j + d/2); here the pairs are (0, 1), (2, 3), ...")
assert np.allclose(r[1, :2], [np.cos(1), np.sin(1)]), f"position 1, pair 0 (theta = 1): expected [cos 1, sin 1], got {r[1, :2]}"
assert np.allclose(r[1, 2:], [np.cos(0.01), np.sin(0.01)]), (
    f"position 1, pair 1: theta_1 = 10000^(-2/4) = 0.01, expected [cos 0.01, sin 0.01], got {r[1, 2:]}")
rope_rng = np.random.default_rng(4)
q_r, k_r = rope_rng.normal(size=6), rope_rng.normal(size=6)
rotated_q, rotated_k = rope(np.tile(q_r, (6, 1))), rope(np.tile(k_r, (6, 1)))
assert np.allclose(np.linalg.norm(rotated_q, axis=1), np.linalg.norm(q_r)), "a rotation keeps every vector's length"
assert np.isclose(rotated_q[4] @ rotated_k[2], rotated_q[3] @ rotated_k[1]), "q at 4 . k at 2 must equal q at 3 . k at 1 (same distance 2)"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(101)
for _n, _d in [(5, 8), (1, 2), (12, 6), (3, 16)]:
    _x = _rng.normal(size=(_n, _d))
    _z = _x[:, 0::2] + 1j * _x[:, 1::2]  # pair i as one complex number
    _theta = np.array([10000.0 ** (-2 * _i / _d) for _i in range(_d // 2)])
    _z = _z * np.exp(1j * np.outer(np.arange(_n), _theta))  # rotation = multiplication by e^(i p theta)
    _want = np.empty((_n, _d))
    _want[:, 0::2], _want[:, 1::2] = _z.real, _z.imag
    _got = rope(_x.copy())
    assert type(_got) is np.ndarray, "return a numpy array"
    assert _close(_got.astype(float), _want), f"rope is wrong for n={_n}, d={_d}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "argmax_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · What attention can and cannot do
#
# ### 5.1 · Argmax attention
#
# Suppose attention returned exactly the value whose key has the largest dot product with the query
# (an `argmax` instead of a softmax). Write `argmax_attention(q, K, V)` for one query `q` of shape
# $(d_k,)$, keys $K$ $(n, d_k)$ and values $V$ $(n, d_v)$. If several keys tie for the largest score,
# take the **first** one (as `np.argmax` does). Return a vector of shape $(d_v,)$.

# %% nbgrader={"grade": false, "grade_id": "argmax_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def argmax_attention(q, K, V):
    """The value whose key has the largest dot product with q (first one on ties)."""
    ### BEGIN SOLUTION
    scores = np.asarray(K, dtype=float) @ np.asarray(q, dtype=float)  # (n, d_k) x (d_k,) -> (n,)
    return np.asarray(V, dtype=float)[int(np.argmax(scores))]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_argmax_attention", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check argmax attention on the handout's keys, values and query."""
keys = np.array([[0, 1, 2], [1, 1, 2], [-1, 1, -2], [0, -1, -2]], dtype=float)
values = np.array([[3, 2, -4], [3, -2, 4], [3, 2, 0], [3, 2, 0]], dtype=float)
query = np.array([-2, 1, 1], dtype=float)
result = argmax_attention(query, keys, values)
print("argmax attention output:", result)
assert np.shape(result) == (3,), f"expected a vector of shape (3,), got {np.shape(result)}"
assert not np.allclose(result, [3, -2, 4]), "you picked the value with the largest q . v: compare the query with the KEYS, then return that key's value"
assert not np.allclose(result, [3, 2, 0]), "you picked a value of a key with a low score: take the LARGEST q . k"
assert np.asarray(result, dtype=float).tolist() == [3.0, 2.0, -4.0], (
    f"scores q . k are 3, 1, 1, -3: return exactly the value of key 0 (no softmax average), got {result}")
tie = argmax_attention(np.array([1.0, 0.0]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [2.0], [3.0]]))
assert np.allclose(tie, [1.0]), f"keys 0 and 2 tie for the largest score: take the FIRST one (as np.argmax does), got {tie}"
### BEGIN HIDDEN TESTS
import numpy as np

_handout = argmax_attention(np.array([-2.0, 1.0, 1.0]), np.array([[0, 1, 2], [1, 1, 2], [-1, 1, -2], [0, -1, -2]], dtype=float),
                            np.array([[3, 2, -4], [3, -2, 4], [3, 2, 0], [3, 2, 0]], dtype=float))
assert np.asarray(_handout, dtype=float).tolist() == [3.0, 2.0, -4.0], "the handout's query has scores 3, 1, 1, -3: it picks the first value"
_rng = np.random.default_rng(3)
for _n, _d_k, _d_v in [(1, 2, 3), (6, 4, 2), (9, 3, 5)]:
    _K, _V, _q = _rng.normal(size=(_n, _d_k)), _rng.normal(size=(_n, _d_v)), _rng.normal(size=_d_k)
    _scores = [sum(a * b for a, b in zip(row, _q.tolist())) for row in _K.tolist()]
    _best = _scores.index(max(_scores))
    assert np.asarray(argmax_attention(_q.copy(), _K.copy(), _V.copy()), dtype=float).tolist() == _V[_best].tolist(), f"wrong value picked for n={_n}"
# ties go to the first maximum
_K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
_V = np.array([[1.0], [2.0], [3.0]])
assert np.asarray(argmax_attention(np.array([1.0, 0.0]), _K, _V), dtype=float).tolist() == [1.0], "on a tie, take the first key"
assert np.asarray(argmax_attention(np.array([1.0, 1.0]), _K, _V), dtype=float).tolist() == [1.0], "on a tie, take the first key"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "argmax_training", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Why would a network with argmax attention be hard to train? Think about the gradient of
# the output with respect to the queries and keys.
#
# ### BEGIN SOLUTION
# The output of argmax attention is piecewise constant in $q$ and the keys: a small change of a query or
# key either changes nothing (the same value is picked) or makes the output jump to another value. The
# gradient with respect to $q$, $W_q$, $K$ and $W_k$ is therefore zero almost everywhere (and undefined at
# the jumps), so gradient descent never learns *where* to look; only the values (and $W_v$) get a
# gradient. Softmax is a smooth relaxation: every key gets some weight, and the gradient tells the
# model how to shift weight towards better keys.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": true, "grade_id": "copy_mechanism", "locked": false, "points": 1.0, "schema_version": 3, "solution": true, "task": false}
# ### 5.2 · Copying and mixing values
#
# **Question (copying).** What must hold for the queries and keys so that the output at position $t$ is
# almost exactly one value vector $v_j$?
#
# ### BEGIN SOLUTION
# The score $q_t \cdot k_j / \sqrt{d_k}$ must exceed every other score $q_t \cdot k_i / \sqrt{d_k}$ by a
# wide margin (several units): then $\alpha_j = 1 / (1 + \sum_{i \ne j} e^{s_i - s_j}) \approx 1$ and the
# output is $\approx v_j$. For instance $q_t$ large and aligned with $k_j$ while nearly orthogonal to
# the other keys.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "extraction_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Extracting a value from an average.** Suppose the output is the average $\bar v = \tfrac12 (v_a + v_b)$,
# where $v_a$ lies in a subspace spanned by orthonormal vectors $a_1, \dots, a_m$ and $v_b$ in a subspace
# orthogonal to it. Stack the $a_i$ as the **columns** of $A \in \mathbb{R}^{d \times m}$. Write
# `extraction_matrix(A)` returning a $d \times d$ matrix $M$ with $M \bar v = v_a$ for every such pair.
# (Hint: $A A^\top$ projects onto the span of the $a_i$.)

# %% nbgrader={"grade": false, "grade_id": "extraction_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def extraction_matrix(A):
    """M (d, d) with M @ (v_a + v_b) / 2 == v_a when v_a is in the column span of A and v_b is orthogonal to it."""
    ### BEGIN SOLUTION
    A = np.asarray(A, dtype=float)
    return 2.0 * A @ A.T  # (d, m) x (m, d) -> (d, d)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_extraction_matrix", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that M recovers v_a from the average of v_a and v_b."""
A_basis = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
M = extraction_matrix(A_basis)
v_a, v_b = np.array([2.0, -1.0, 0.0]), np.array([0.0, 0.0, 5.0])
assert np.shape(M) == (3, 3), f"expected M of shape (3, 3), got {np.shape(M)}"
assert np.allclose(M @ ((v_a + v_b) / 2), v_a), f"M v_bar should be v_a = {v_a}, got {M @ ((v_a + v_b) / 2)}"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(5)
for _d, _m in [(4, 1), (6, 3), (5, 2)]:
    _basis, _ = np.linalg.qr(_rng.normal(size=(_d, _d)))
    _A, _B = _basis[:, :_m], _basis[:, _m:]
    _va, _vb = _A @ _rng.normal(size=_m), _B @ _rng.normal(size=_d - _m)
    _M = np.asarray(extraction_matrix(_A.copy()), dtype=float)
    assert _M.shape == (_d, _d), f"expected M of shape {(_d, _d)}"
    _got = (_M @ ((_va + _vb) / 2)).tolist()
    assert all(abs(a - b) < 1e-9 for a, b in zip(_got, _va.tolist())), f"M v_bar != v_a for d={_d}, m={_m}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "averaging_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Averaging two values: check the handout's answer.** With orthonormal keys, one handout proposes the
# query $q = k_a + k_b$ to obtain exactly $\tfrac12(v_a + v_b)$. Test the claim: with $n = 4$ orthonormal
# keys in $\mathbb{R}^4$ and the usual scaling $1/\sqrt{d_k}$, $d_k = 4$, what weight does $q = k_a + k_b$
# give to $v_a$? Store it in `weight_on_a` (a float; compute it with your functions or by hand).

# %% nbgrader={"grade": false, "grade_id": "averaging_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
keys_orthonormal = np.eye(4)  # rows are 4 orthonormal keys; use k_a = keys_orthonormal[0], k_b = keys_orthonormal[1]

# %% nbgrader={"grade": false, "grade_id": "weight_on_a", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
_, weights_ab = scaled_dot_product_attention((keys_orthonormal[0] + keys_orthonormal[1])[None, :], keys_orthonormal, np.eye(4))
weight_on_a = float(weights_ab[0, 0])
### END SOLUTION
print(f"weight on v_a: {weight_on_a:.4f}")

# %% nbgrader={"grade": true, "grade_id": "test_weight_on_a", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the weight that q = k_a + k_b gives to v_a."""
assert isinstance(weight_on_a, float), f"weight_on_a should be a float, got {type(weight_on_a).__name__}"
_, yours = scaled_dot_product_attention((keys_orthonormal[0] + keys_orthonormal[1])[None, :], keys_orthonormal, np.eye(4))
if abs(weight_on_a - float(yours[0, 0])) > 1e-6:  # a weight that follows YOUR attention is judged by that function's test
    assert 0 < weight_on_a < 1, "a softmax weight lies between 0 and 1"
    assert weight_on_a != 0.5, "0.5 is the handout's claim: compute the softmax, the two other keys keep some weight"
    assert abs(weight_on_a - np.e / (2 * np.e + 2)) > 1e-6, "the scores were not scaled: q . k_a = 1 becomes 1 / sqrt(d_k) = 1/2"
### BEGIN HIDDEN TESTS
import math

import numpy as np

_want = math.exp(0.5) / (2 * math.exp(0.5) + 2)
assert type(weight_on_a) is float, "weight_on_a must be a float"
if abs(weight_on_a - _want) >= 1e-6:  # consistent with the student's own (wrong) attention: judged by its own test
    _, _w_s = scaled_dot_product_attention(np.array([[1.0, 1.0, 0.0, 0.0]]), np.eye(4), np.eye(4))
    _own = float(np.asarray(_w_s, dtype=float)[0, 0])
    assert abs(_own - _want) >= 1e-6 and abs(weight_on_a - _own) < 1e-6, (
        "q . k_a / sqrt(4) = 1/2 for k_a and k_b, 0 for the two other keys")
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "averaging_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
scales = np.linspace(0, 12, 61)
weights_a = []
for c in scales:
    _, w_c = scaled_dot_product_attention((c * (keys_orthonormal[0] + keys_orthonormal[1]))[None, :], keys_orthonormal, np.eye(4))
    weights_a.append(w_c[0, 0])
plt.figure(figsize=(5, 3))
plt.plot(scales, weights_a, label="weight on $v_a$ (= weight on $v_b$)")
plt.axhline(0.5, color="gray", linestyle="--", label="1/2")
plt.xlabel("c in q = c (k_a + k_b)")
plt.legend()
plt.show()


# %% [markdown] nbgrader={"grade": true, "grade_id": "averaging_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Does $q = k_a + k_b$ give $\tfrac12(v_a + v_b)$? If not, which query does (approximately),
# and can any finite query give it exactly when other keys exist?
#
# ### BEGIN SOLUTION
# No: the scores are $1/2, 1/2, 0, 0$, so $v_a$ and $v_b$ get $e^{0.5} / (2e^{0.5} + 2) \approx 0.311$
# each and the other two values still get $\approx 0.189$ each. Scaling the query, $q = c(k_a + k_b)$,
# gives weights $e^{c/2} / (2e^{c/2} + n - 2)$ on $v_a$ and $v_b$, which tend to $\tfrac12$ as $c \to \infty$
# (the plot). Because every other key keeps a weight $1 / (2e^{c/2} + n - 2) > 0$, no finite query gives
# exactly $\tfrac12(v_a + v_b)$; the handout's answer is only right in this limit.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "masking_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Masks
#
# A boolean mask decides which keys each query may see (`True` = visible). A language model that
# predicts the next token must not look ahead: position $t$ may attend to positions $0, \dots, t$ only.
# Write `causal_mask(n)` returning this $(n, n)$ boolean mask (the diagonal is visible: a token sees itself).

# %% nbgrader={"grade": false, "grade_id": "causal_mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(n):
    """Boolean (n, n) mask, True where query t may attend to key s, i.e. s <= t."""
    ### BEGIN SOLUTION
    return np.tril(np.ones((n, n), dtype=bool))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_causal_mask", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the causal mask for n = 3."""
m3 = causal_mask(3)
assert m3.dtype == bool, f"expected a boolean mask, got dtype {m3.dtype}"
assert m3.tolist() == [[True, False, False], [True, True, False], [True, True, True]], f"got {m3.tolist()}"
### BEGIN HIDDEN TESTS
import numpy as np

for _n in (1, 2, 5, 9):
    _m = causal_mask(_n)
    assert type(_m) is np.ndarray and _m.dtype == bool and _m.shape == (_n, _n), f"causal_mask({_n}) must be a boolean array of shape {(_n, _n)}"
    assert _m.tolist() == [[s <= t for s in range(_n)] for t in range(_n)], f"causal_mask({_n}) is wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "batched_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.1 · Batched attention with padding and causal masks
#
# Real models attend over a whole batch at once: sentences of different lengths are **padded** to the same
# length $n$, and the padding tokens must never be attended to. Write
# `batched_attention(Q, K, V, key_padding=None, causal=False)` for inputs with any number of leading
# (batch, head, ...) axes:
#
# * `Q`: $(\dots, n_q, d_k)$, `K`: $(\dots, n_k, d_k)$, `V`: $(\dots, n_k, d_v)$ (the same leading axes);
# * `key_padding`: `None` or a boolean array $(\dots, n_k)$, `True` = a real token, `False` = padding:
#   it marks **keys** (columns of the weight matrix), the same for every query of that sequence;
# * `causal=True`: query $i$ may also only look at keys $j \le i$;
# * a query with no allowed key gets all-zero weights and output, as before;
# * return `(output, weights)` of shapes $(\dots, n_q, d_v)$ and $(\dots, n_q, n_k)$.
#
# Transpose only the last two axes of `K` (`np.swapaxes(K, -1, -2)`; `K.T` would reverse all of them), and
# let `@` broadcast over the leading axes. You may use your `softmax`.

# %% nbgrader={"grade": false, "grade_id": "batched_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batched_attention(Q, K, V, key_padding=None, causal=False):
    """softmax(Q K^T / sqrt(d_k)) V over leading batch axes, with a key padding mask and/or a causal mask."""
    ### BEGIN SOLUTION
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])  # (..., n_q, d_k) x (..., d_k, n_k) -> (..., n_q, n_k)
    allowed = np.ones(scores.shape, dtype=bool)
    if key_padding is not None:
        allowed = allowed & np.asarray(key_padding, dtype=bool)[..., None, :]  # (..., 1, n_k): the same for every query
    if causal:
        allowed = allowed & np.tril(np.ones((n_q, n_k), dtype=bool))  # key j <= query i
    has_key = allowed.any(axis=-1, keepdims=True)
    scores = np.where(has_key, np.where(allowed, scores, -np.inf), 0.0)
    weights = softmax(scores, axis=-1) * allowed  # rows with no allowed key become zeros
    return weights @ V, weights  # (..., n_q, n_k) x (..., n_k, d_v) -> (..., n_q, d_v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batched_attention", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check a batch of two sequences of 3 tokens: shapes, no mask, padding on the keys, causal, and a query with nothing to see."""
batch_rng = np.random.default_rng(5)
Qb, Kb, Vb = batch_rng.normal(size=(2, 3, 4)), batch_rng.normal(size=(2, 3, 4)), batch_rng.normal(size=(2, 3, 2))
out_b, w_b = batched_attention(Qb, Kb, Vb)
assert out_b.shape == (2, 3, 2) and w_b.shape == (2, 3, 3), f"expected shapes (2, 3, 2) and (2, 3, 3), got {out_b.shape} and {w_b.shape}"
assert np.allclose(w_b.sum(axis=-1), 1.0), f"each row of weights should sum to 1 (softmax over the keys, the last axis), got {w_b.sum(axis=-1)}"
for b in range(2):
    s_b = Qb[b] @ Kb[b].T / 2.0
    e_b = np.exp(s_b - s_b.max(axis=-1, keepdims=True))
    assert np.allclose(w_b[b], e_b / e_b.sum(axis=-1, keepdims=True)), f"sequence {b}: weights should be softmax(Q K^T / sqrt(4)) of that sequence alone"
assert np.allclose(out_b, w_b @ Vb), "the output is weights @ V"
padding = np.array([[True, True, False], [True, False, False]])  # sequence 0 has 2 real tokens, sequence 1 has 1
_, w_p = batched_attention(Qb, Kb, Vb, key_padding=padding)
assert np.all(w_p[0][:, 2] == 0) and np.all(w_p[1][:, 1:] == 0), (
    "padded KEYS (columns) must get weight exactly 0 for every query; key_padding[b, j] == False hides key j of sequence b")
assert np.allclose(w_p.sum(axis=-1), 1.0), "every query still sees a real key here: rows must sum to 1 (mask the scores before the softmax)"
_, w_c = batched_attention(Qb, Kb, Vb, causal=True)
assert np.all(w_c[:, np.triu_indices(3, k=1)[0], np.triu_indices(3, k=1)[1]] == 0), "causal: query i must not see keys j > i (the upper triangle)"
assert np.allclose(w_c[:, 0, 0], 1.0), "causal: the first query sees only the first key, so its weight is 1"
out_e, w_e = batched_attention(Qb, Kb, Vb, key_padding=np.array([[False, True, True], [True, True, True]]), causal=True)
assert not np.any(np.isnan(w_e)), "a query with no allowed key gave nan: it must get all-zero weights"
assert np.all(w_e[0, 0] == 0) and np.all(out_e[0, 0] == 0), "sequence 0, query 0 may only see key 0, which is padding: all-zero weights and output"
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(61)
for _lead, _n_q, _n_k, _d_k, _d_v in [((3,), 4, 4, 5, 2), ((2, 3), 5, 5, 3, 4), ((), 3, 6, 2, 3), ((1,), 1, 1, 1, 1), ((2,), 6, 4, 4, 3)]:
    _Q, _K, _V = (_rng.normal(size=(*_lead, *s)) * 2 for s in ((_n_q, _d_k), (_n_k, _d_k), (_n_k, _d_v)))
    _pad = _rng.random((*_lead, _n_k)) < 0.7
    for _kp in (None, _pad):
        for _causal in (False, True):
            _out, _w = batched_attention(_Q.copy(), _K.copy(), _V.copy(), key_padding=None if _kp is None else _kp.copy(), causal=_causal)
            _allowed = np.ones((*_lead, _n_q, _n_k), dtype=bool)
            if _kp is not None:
                _allowed = _allowed & _kp[..., None, :]
            if _causal:
                _allowed = _allowed & np.tril(np.ones((_n_q, _n_k), dtype=bool))
            _rows = _allowed.any(axis=-1)
            _scores = torch.tensor(_Q) @ torch.tensor(_K).transpose(-1, -2) / _d_k ** 0.5
            _scores = _scores.masked_fill(~torch.tensor(_allowed), -float("inf"))
            _want_w = torch.softmax(_scores, dim=-1).nan_to_num(0.0).numpy() * _rows[..., None]  # torch: nan for an empty row
            _want_out = _want_w @ _V
            _what = f"leading axes {_lead}, n_q={_n_q}, n_k={_n_k}, padding={'yes' if _kp is not None else 'no'}, causal={_causal}"
            assert type(_w) is np.ndarray and _w.shape == _allowed.shape, f"weights must be an array of shape {_allowed.shape} ({_what})"
            assert all(v == 0.0 for v in _w[~_allowed].tolist()), f"masked weights must be exactly 0 ({_what})"
            assert _close(_w, _want_w), f"weights are wrong ({_what})"
            assert _close(_out, _want_out), f"output is wrong ({_what})"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "masking_demo_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below masks out position $t = 3$ for every query (a column of `False`), then applies your
# causal mask, to six random tokens, and shows both weight matrices. Masked entries are drawn hatched:
# they are not small weights, they are pairs the softmax never saw. Hover over *eat* in the causal map
# to see which tokens it may look at, and which later tokens look back at it.

# %% nbgrader={"grade": false, "grade_id": "masking_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
demo_tokens = ["Life", "is", "short", "eat", "dessert", "first"]
X_demo = rng.normal(size=(6, 4))
hide_3 = np.ones((6, 6), dtype=bool)
hide_3[:, 3] = False
_, w_hide_3 = scaled_dot_product_attention(X_demo, X_demo, X_demo, mask=hide_3)
_, w_causal = scaled_dot_product_attention(X_demo, X_demo, X_demo, mask=causal_mask(6))
mask_explorer = show_attention(
    {"position 3 masked": AttentionMap(w_hide_3, demo_tokens, mask=hide_3),
     "causal": AttentionMap(w_causal, demo_tokens, mask=causal_mask(6))},
    title="Masked attention",
)


# %% [markdown] nbgrader={"grade": true, "grade_id": "masking_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Describe how to stop every query from looking at position $t = 3$, and why setting the
# masked *weights* to zero after the softmax is not the same as setting the *scores* to $-\infty$ before it.
#
# ### BEGIN SOLUTION
# Set column 3 of the mask to `False` (score $-\infty$ before the softmax), so $\alpha^{(t)}_3 = 0$ for every
# query and $k_3, v_3$ have no influence. If instead the weights are zeroed after the softmax, the rest of
# each row no longer sums to one (the output shrinks by the missing mass), and key 3 still influenced
# the other weights through the normaliser. A causal mask is the same idea with the whole upper triangle
# masked.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "multiply_adds_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7 · What does self-attention cost?
#
# Take the single-head layer of the homework sheet: $X \in \mathbb{R}^{n \times h}$ and
# $W_q, W_k, W_v \in \mathbb{R}^{h \times h}$. Count **multiply-adds** (one multiplication and one addition
# count as one): the three projections, the scores $Q K^\top$ and the weighted sum of the values. Ignore
# the softmax and the scaling. Write `attention_multiply_adds(n, h)` returning the total as an integer.
#
# *Multiply-adds are not FLOPs.* A multiply-add (often called a MAC) is one multiplication and one
# addition. Most papers and courses (e.g. Stanford CS336) count these as **two** floating-point
# operations, so the FLOP count of the layer is twice the number your function returns.

# %% nbgrader={"grade": false, "grade_id": "attention_multiply_adds", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention_multiply_adds(n, h):
    """Multiply-adds of one single-head self-attention layer with n tokens of size h."""
    ### BEGIN SOLUTION
    projections = 3 * n * h * h  # three (n, h) x (h, h) products
    scores = n * n * h  # (n, h) x (h, n)
    weighted_sum = n * n * h  # (n, n) x (n, h)
    return projections + scores + weighted_sum
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_attention_multiply_adds", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the multiply-add count on one small case."""
assert attention_multiply_adds(1, 1) == 5, f"n = h = 1: three projections, one score, one weighted sum = 5, got {attention_multiply_adds(1, 1)}"
### BEGIN HIDDEN TESTS
for _n, _h in [(2, 3), (128, 64), (1000, 16), (7, 1)]:
    _got = attention_multiply_adds(_n, _h)
    assert int(_got) == _got and int(_got) == 3 * _n * _h * _h + 2 * _n * _n * _h, f"wrong count for n={_n}, h={_h}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "timing_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below times **your** `self_attention` for growing $n$ (with $h = 64$) and plots time against $n$
# on log-log axes, next to your multiply-add count and a line of slope 2 ($\propto n^2$). A slope of 1 means
# linear growth, a slope of 2 quadratic. To make the measurement fair it takes the best of five runs per
# length (the least disturbed one) and, where `threadpoolctl` is installed, lets NumPy's matrix products use
# one thread only, so that more cores do not hide the growth.
#
# Do not expect a clean 2. Below $n \approx 1.5h$ the $n h^2$ projections dominate; the matrix products run
# faster per operation as they grow, while the $n \times n$ matrices fall out of the processor's caches
# (a jump); and on a shared machine other programs steal time. On the machine this notebook was written on,
# the slope between $n = 1024$ and $2048$ measured 1.5 to 1.8 from run to run, while the multiply-add count
# predicts 1.94. The count is what theory promises; the time follows it only roughly.

# %% nbgrader={"grade": false, "grade_id": "timing_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
import contextlib
import time

import tfscourse

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # without it NumPy uses all cores: the slope may come out lower
    threadpool_limits = None

h_dim = 64
lengths = [32, 64, 128, 256] if tfscourse.grading_mode() else [64, 128, 256, 512, 1024, 2048]
rng = np.random.default_rng(1)
W_time = [rng.normal(size=(h_dim, h_dim)) / 8 for _ in range(3)]
seconds = []
with threadpool_limits(limits=1) if threadpool_limits else contextlib.nullcontext():
    for n_tokens in lengths:
        X_time = rng.normal(size=(n_tokens, h_dim))
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            self_attention(X_time, *W_time)
            best = min(best, time.perf_counter() - start)
        seconds.append(best)
multiply_adds = np.array([attention_multiply_adds(n_tokens, h_dim) for n_tokens in lengths], dtype=float)
slope = np.log(seconds[-1] / seconds[-2]) / np.log(lengths[-1] / lengths[-2])
count_slope = np.log(multiply_adds[-1] / multiply_adds[-2]) / np.log(lengths[-1] / lengths[-2])
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.loglog(lengths, seconds, "o-", label="measured time (best of 5)")
ax.loglog(lengths, multiply_adds * seconds[-1] / multiply_adds[-1], "--", label="multiply-adds (scaled)")
ax.loglog(lengths, seconds[-1] * (np.array(lengths) / lengths[-1]) ** 2, ":", color="gray", label="∝ n² (slope 2)")
ax.set(xlabel="sequence length n", ylabel="seconds",
       title=f"last doubling: time slope {slope:.2f}, count slope {count_slope:.2f}")
ax.legend()
plt.show()
print("n:", lengths)
print("best time (ms):", [round(t * 1000, 2) for t in seconds])

# %% [markdown] nbgrader={"grade": true, "grade_id": "complexity_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Give the complexity of the layer in $n$ and $h$, say which term wins for long sequences,
# and explain (at most five sentences) why GPUs still compute it fast.
#
# ### BEGIN SOLUTION
# $3nh^2 + 2n^2h$ multiply-adds, i.e. $O(nh^2 + n^2h)$; once $n > 1.5h$ the $n^2h$ term of the scores and the
# weighted sum dominates, so the cost (and the $n \times n$ weight matrix in memory) grows quadratically.
# All of it is a few large matrix products with no dependence between positions: every score and every
# output row can be computed at the same time, unlike an RNN whose step $t$ waits for step $t-1$. GPUs
# are built for exactly this kind of dense, parallel arithmetic, so the wall-clock time grows much more
# slowly than the operation count until the hardware is saturated.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "concepts_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8 · Concept questions
#
# Each answer is a **set** of letters, e.g. `{"A", "C"}`; a question may have one or several correct
# options. Put your answers in `answer_q1` to `answer_q4` in the cell below the questions; they are
# checked when the notebook is graded.
#
# **Q1.** Which kind of model would you use to complete a prompt with generated text?
# A. an encoder model · B. a decoder model
#
# **Q2.** Which kind of model would you use to classify texts into given labels?
# A. an encoder model · B. a decoder model
#
# **Q3.** Compared with RNN language models and fixed-window language models, attention-based language
# models have the largest advantage when … A. the input sequence is long · B. the input sequence is short
#
# **Q4.** What must you take care of when you put sequences of different lengths in one batch?
# A. truncating · B. returning tensors · C. padding · D. attention masking

# %% nbgrader={"grade": false, "grade_id": "concept_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answer_q1 = ...  # a set of letters, e.g. {"A"}
answer_q2 = ...  # a set of letters
answer_q3 = ...  # a set of letters
answer_q4 = ...  # a set of letters, e.g. {"B", "C"}
### BEGIN SOLUTION
answer_q1 = {"B"}
answer_q2 = {"A"}
answer_q3 = {"A"}
answer_q4 = {"A", "C", "D"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q1: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q1, set) and answer_q1 <= {"A", "B"}, "answer_q1 must be a set of letters among A, B"
### BEGIN HIDDEN TESTS
assert type(answer_q1) is set and answer_q1 == {"B"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q2: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q2, set) and answer_q2 <= {"A", "B"}, "answer_q2 must be a set of letters among A, B"
### BEGIN HIDDEN TESTS
assert type(answer_q2) is set and answer_q2 == {"A"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q3: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q3, set) and answer_q3 <= {"A", "B"}, "answer_q3 must be a set of letters among A, B"
### BEGIN HIDDEN TESTS
assert type(answer_q3) is set and answer_q3 == {"A"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q4", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q4: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q4, set) and answer_q4 <= {"A", "B", "C", "D"}, "answer_q4 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q4) is set and answer_q4 == {"A", "C", "D"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You built the attention operation every later notebook relies on. Notebook 02 splits it into several
# heads; notebook 06 puts it in a GPT. Before handing in: *Kernel → Restart and run all*, check that every
# visible test passes, then save (on Colab: *File → Download → Download .ipynb*).
