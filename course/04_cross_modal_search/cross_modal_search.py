# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 04 · Cross-modal search and cross-lingual alignment
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/04_cross_modal_search/cross_modal_search.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. project images and sentences into one shared space and rank sentences for an image by dot product
#    and by cosine similarity, and say when the two rankings can differ;
# 2. turn that search into **cross-attention** (images attending to sentences): what carries over and what
#    has to be added;
# 3. align two word-embedding spaces with a linear map, by least squares and by the orthogonal
#    Procrustes solution, and tell the two apart;
# 4. measure a search with **recall@k**, ties included;
# 5. write the symmetric contrastive loss of CLIP (InfoNCE) in PyTorch and use it to train a tiny
#    image–caption model whose search you can query by typing a caption.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. Run the test cell under each answer: it checks a small example and tells you
# what it expected. More (hidden) checks run when your notebook is graded, so test your functions on your
# own inputs too. Do not delete, copy or retype the locked cells.
#
# **Running time and hardware.** About 15 seconds from top to bottom on a laptop CPU (the contrastive
# model in section 6 trains for a few seconds); no GPU needed. Everything works offline: the images are
# scikit-learn's bundled 8×8 digits. Works in JupyterLab and on Google Colab (the first cell installs the
# course package there).

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

# %% [markdown] nbgrader={"grade": false, "grade_id": "shared_space_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Searching across modalities in a shared space
#
# An image encoder gives each image a vector, a text encoder gives each sentence a vector, but the two
# kinds of vectors live in different spaces (here even of different sizes: 4 and 2), so they cannot be
# compared directly. Two learned linear maps fix that: $W_i$ sends an image vector into a common
# $m$-dimensional space and $W_t$ sends a sentence vector into the same space. With images as the
# **rows** of $I$ and sentences as the rows of $T$,
#
# $$\hat I = I W_i \in \mathbb{R}^{n_{img} \times m}, \qquad \hat T = T W_t \in \mathbb{R}^{n_{txt} \times m},$$
#
# and every image can be scored against every sentence in one matrix product $\hat I \hat T^\top$.
#
# Two scores are common. The **dot product** $\hat\imath \cdot \hat t$ grows with the lengths of both
# vectors. The **cosine similarity** $\hat\imath \cdot \hat t \,/\, (\lVert \hat\imath \rVert \lVert \hat t \rVert)$
# only looks at the angle and lies in $[-1, 1]$.
#
# Write `cosine_similarity_matrix(A, B)`: for $A \in \mathbb{R}^{n \times d}$ and $B \in \mathbb{R}^{m \times d}$
# return the $(n, m)$ matrix of cosine similarities between every row of $A$ and every row of $B$.
# A zero vector has no direction: give it similarity **0** with everything (never `nan`).

# %% nbgrader={"grade": false, "grade_id": "cosine_similarity_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
import numpy as np


def cosine_similarity_matrix(A, B):
    """Cosine similarity of every row of A with every row of B; zero rows give 0.

    A: (n, d), B: (m, d) -> (n, m).
    Example: cosine_similarity_matrix([[1, 0]], [[2, 0], [0, 3], [1, 1]]) -> [[1.0, 0.0, 0.7071]]
    """
    ### BEGIN SOLUTION
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    norm_a = np.linalg.norm(A, axis=1, keepdims=True)  # (n, 1)
    norm_b = np.linalg.norm(B, axis=1, keepdims=True)  # (m, 1)
    A_unit = np.divide(A, norm_a, out=np.zeros_like(A), where=norm_a > 0)
    B_unit = np.divide(B, norm_b, out=np.zeros_like(B), where=norm_b > 0)
    return A_unit @ B_unit.T  # (n, d) x (d, m) -> (n, m)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cosine_similarity_matrix", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check cosine similarities on a small example: shape, range, and lengths that must not matter."""
S = cosine_similarity_matrix(np.array([[1.0, 0.0], [3.0, 4.0]]), np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]]))
assert S.shape == (2, 3), f"expected shape (2, 3) (one row per row of A, one column per row of B), got {S.shape}"
expected = np.array([[1.0, 0.0, 1 / np.sqrt(2)], [0.6, 0.8, 7 / (5 * np.sqrt(2))]])
assert np.allclose(S, expected), f"expected\n{expected.round(4)}\ngot\n{np.round(S, 4)}\n(divide by both vectors' lengths)"
S0 = cosine_similarity_matrix(np.zeros((1, 2)), np.array([[1.0, 2.0]]))
assert np.all(np.isfinite(S0)) and np.allclose(S0, 0.0), f"a zero vector should get similarity 0, got {S0}"
### BEGIN HIDDEN TESTS
import numpy as np
from sklearn.metrics.pairwise import cosine_similarity as _sk_cosine


def _reference_cosine(A, B):
    out = np.zeros((len(A), len(B)))
    for i, a in enumerate(A.tolist()):
        for j, b in enumerate(B.tolist()):
            na = sum(x * x for x in a) ** 0.5
            nb = sum(x * x for x in b) ** 0.5
            out[i, j] = 0.0 if na == 0 or nb == 0 else sum(x * y for x, y in zip(a, b)) / (na * nb)
    return out


_rng = np.random.default_rng(41)
for _n, _m, _d in [(1, 1, 1), (3, 5, 4), (6, 2, 7), (4, 4, 3)]:
    _A = _rng.normal(size=(_n, _d)) * _rng.uniform(0.1, 10, size=(_n, 1))
    _B = _rng.normal(size=(_m, _d)) * _rng.uniform(0.1, 10, size=(_m, 1))
    _got = cosine_similarity_matrix(_A.copy(), _B.copy())
    assert _close(_got, _reference_cosine(_A, _B)), f"wrong similarities for A of shape {_A.shape} and B of shape {_B.shape}"
    assert _close(_got, _sk_cosine(_A, _B)), "disagrees with sklearn.metrics.pairwise.cosine_similarity"
# zero rows on either side
_A = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
_B = np.array([[2.0, 1.0, -2.0], [0.0, 0.0, 0.0]])
_got = cosine_similarity_matrix(_A.copy(), _B.copy())
assert _close(_got, np.array([[0.0, 0.0], [0.0, 0.0]])), "zero vectors must give 0, and orthogonal vectors 0"
# integer input
_got = cosine_similarity_matrix(np.array([[3, 4]]), np.array([[4, 3], [-3, -4]]))
assert _close(_got, np.array([[24 / 25, -1.0]])), "integer inputs must work too"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "best_annotation_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Now the whole search. Write `best_annotation(I, T, W_i, W_t, metric="cosine")`: project the images
# and the sentences, score every image against every sentence with `metric` (`"cosine"` or `"dot"`; any
# other value raises `ValueError`), and return a NumPy array of integers with, for each image, the index
# of its best sentence. On a tie take the sentence with the smallest index: that is what `np.argmax` does,
# and a convention of this course, not a standard (a search engine may break ties by another score, at
# random, or return all tied items). Use your `cosine_similarity_matrix`.

# %% nbgrader={"grade": false, "grade_id": "best_annotation", "locked": false, "schema_version": 3, "solution": true, "task": false}
def best_annotation(I, T, W_i, W_t, metric="cosine"):
    """Index of the best sentence for each image after projecting both into the shared space.

    I: (n_img, d_img), T: (n_txt, d_txt), W_i: (d_img, m), W_t: (d_txt, m). Returns an int array (n_img,).
    """
    ### BEGIN SOLUTION
    image_emb = np.asarray(I, dtype=float) @ np.asarray(W_i, dtype=float)  # (n_img, d_img) x (d_img, m) -> (n_img, m)
    text_emb = np.asarray(T, dtype=float) @ np.asarray(W_t, dtype=float)  # (n_txt, d_txt) x (d_txt, m) -> (n_txt, m)
    if metric == "cosine":
        scores = cosine_similarity_matrix(image_emb, text_emb)
    elif metric == "dot":
        scores = image_emb @ text_emb.T  # (n_img, m) x (m, n_txt) -> (n_img, n_txt)
    else:
        raise ValueError(f"metric must be 'cosine' or 'dot', got {metric!r}")
    return np.argmax(scores, axis=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_best_annotation", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the search on a toy example where the dot product and the cosine disagree."""
I_toy = np.array([[1.0, 0.0]])
T_toy = np.array([[1.0, 0.0], [3.0, 3.0]])
picked_dot = best_annotation(I_toy, T_toy, np.eye(2), np.eye(2), metric="dot")
assert np.shape(picked_dot) == (1,), f"expected one index per image, shape (1,), got {np.shape(picked_dot)}"
assert picked_dot.tolist() == [1], f"by dot product, the long sentence 1 scores 3 > 1; got {picked_dot.tolist()}"
# metric="cosine" uses your cosine_similarity_matrix: when that fails its own test, fix it first
cosine_ok = np.allclose(cosine_similarity_matrix(np.array([[3.0, 4.0]]), np.array([[6.0, 8.0], [4.0, -3.0], [0.0, 0.0]])),
                        [[1.0, 0.0, 0.0]])
if not cosine_ok:
    print("metric='cosine' is not checked here: your cosine_similarity_matrix fails its own test; fix that first")
else:
    picked_cos = best_annotation(I_toy, T_toy, np.eye(2), np.eye(2), metric="cosine")
    assert picked_cos.tolist() == [0], (
        f"by cosine, sentence 0 points exactly the same way as the image; got {picked_cos.tolist()}")
    picked_default = best_annotation(I_toy, T_toy, np.eye(2), np.eye(2))
    assert picked_default.tolist() == [0], f"the default metric is cosine; got {picked_default.tolist()}"
    picked_tie = best_annotation(I_toy, np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0]]), np.eye(2), np.eye(2))
    assert picked_tie.tolist() == [1], (
        f"sentences 1 and 2 both have cosine 1 with the image: on a tie take the smallest index, got {picked_tie.tolist()}")
try:
    best_annotation(I_toy, T_toy, np.eye(2), np.eye(2), metric="euclid")
except ValueError:
    pass
else:
    raise AssertionError("metric='euclid' must raise ValueError (only 'cosine' and 'dot' are known)")
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(42)
for _n_img, _n_txt, _d_img, _d_txt, _m in [(1, 1, 2, 3, 2), (5, 7, 4, 2, 3), (9, 4, 6, 5, 4), (3, 12, 3, 3, 5)]:
    _I = _rng.normal(size=(_n_img, _d_img))
    _T = _rng.normal(size=(_n_txt, _d_txt)) * _rng.uniform(0.1, 5.0, size=(_n_txt, 1))  # sentences of very different lengths
    _W_i, _W_t = _rng.normal(size=(_d_img, _m)), _rng.normal(size=(_d_txt, _m))
    for _metric in ("cosine", "dot"):
        _got = best_annotation(_I.copy(), _T.copy(), _W_i.copy(), _W_t.copy(), metric=_metric)
        _a, _b = _I @ _W_i, _T @ _W_t
        _scores = _a @ _b.T
        if _metric == "cosine":
            _scores = _scores / np.linalg.norm(_a, axis=1)[:, None] / np.linalg.norm(_b, axis=1)[None, :]
        _want = [max(range(_n_txt), key=lambda j, row=row: (row[j], -j)) for row in _scores.tolist()]
        assert type(_got) is np.ndarray and _got.shape == (_n_img,), f"expected an array of shape ({_n_img},)"
        _ok = [int(x) for x in _got.tolist()] == _want
        if not _ok and _metric == "cosine":  # right on the student's own cosine_similarity_matrix: its bug costs once
            try:
                _theirs = np.asarray(cosine_similarity_matrix(_a, _b), dtype=float).tolist()
                _ok = [int(x) for x in _got.tolist()] == [max(range(_n_txt), key=lambda j, row=row: (row[j], -j))
                                                          for row in _theirs]
            except Exception:
                _ok = False
        assert _ok, f"wrong best sentences with metric={_metric!r} for {_n_img} images, {_n_txt} sentences"
# ties go to the smallest index, with either metric
_got = best_annotation(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.0, 1.0], [1.0, 0.0], [4.0, 0.0], [0.0, 1.0]]),
                       np.eye(2), np.eye(2), metric="dot")
assert [int(x) for x in _got.tolist()] == [2, 0], "dot product: on a tie take the sentence with the smallest index"
_T_tie = np.array([[0.0, 1.0], [1.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
_got = best_annotation(np.array([[1.0, 0.0], [0.0, 2.0]]), _T_tie, np.eye(2), np.eye(2), metric="cosine")
_theirs = np.asarray(cosine_similarity_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]), _T_tie), dtype=float)
if _close(_theirs, np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])):  # else test_cosine_similarity_matrix costs
    assert [int(x) for x in _got.tolist()] == [1, 0], "cosine: on a tie take the sentence with the smallest index"
# the default metric is cosine; an unknown metric raises ValueError
_I_def, _T_def = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [3.0, 3.0], [0.0, 0.5]])
_got = best_annotation(_I_def, _T_def, np.eye(2), np.eye(2))
assert _got.tolist() == best_annotation(_I_def, _T_def, np.eye(2), np.eye(2), metric="cosine").tolist(), (
    "the default metric must be cosine")
try:
    best_annotation(np.eye(2), np.eye(2), np.eye(2), np.eye(2), metric="euclid")
except ValueError:
    pass
else:
    raise AssertionError("an unknown metric must raise ValueError")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "q7_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 1.1 · The exercise sheet's search (seed 000, question 7)
#
# Two images ($I$, $2 \times 4$) and three sentences ($T$, $3 \times 2$), with the projections $W_i$
# ($4 \times 3$) and $W_t$ ($2 \times 3$) into a 3-dimensional shared space. Compute both score
# matrices (shape $(2, 3)$: images down, sentences across): `q7_dot_scores` with the dot product and
# `q7_cosine_scores` with the cosine, and look at which sentence each image picks.
#
# *Where the course departs from the handout:* the sheet does not say which similarity to use; this
# notebook computes both and asks whether they agree.

# %% nbgrader={"grade": false, "grade_id": "q7_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
I_sheet = np.array([[0.2, -1.5, 0.6, 0.3], [-0.4, -0.5, 1.2, -0.1]])
T_sheet = np.array([[0.9, 0.3], [-0.8, -0.1], [0.3, -0.5]])
W_i_sheet = np.array([[0.6, 0.3, -0.2], [1.3, 0.3, -0.6], [0.8, 0.2, -0.3], [0.4, 0.4, 0.7]])
W_t_sheet = np.array([[-1.2, 0.5, 0.8], [0.4, -0.1, -1.6]])

# %% nbgrader={"grade": false, "grade_id": "q7_scores", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
I_hat = I_sheet @ W_i_sheet  # (2, 4) x (4, 3) -> (2, 3)
T_hat = T_sheet @ W_t_sheet  # (3, 2) x (2, 3) -> (3, 3)
q7_dot_scores = I_hat @ T_hat.T  # (2, 3) x (3, 3) -> (2, 3)
q7_cosine_scores = cosine_similarity_matrix(I_hat, T_hat)
### END SOLUTION
print("dot products:\n", np.round(q7_dot_scores, 4))
print("cosine similarities:\n", np.round(q7_cosine_scores, 4))
print("best sentence per image, dot:", best_annotation(I_sheet, T_sheet, W_i_sheet, W_t_sheet, "dot"),
      " cosine:", best_annotation(I_sheet, T_sheet, W_i_sheet, W_t_sheet, "cosine"))

# %% nbgrader={"grade": true, "grade_id": "test_q7_scores", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the shapes of the two score matrices of question 7 (their values are checked when grading)."""
assert np.shape(q7_dot_scores) == (2, 3), f"expected (2, 3): images down, sentences across; got {np.shape(q7_dot_scores)}"
assert np.shape(q7_cosine_scores) == (2, 3), f"expected (2, 3), got {np.shape(q7_cosine_scores)}"
### BEGIN HIDDEN TESTS
import numpy as np

_I = [[0.2, -1.5, 0.6, 0.3], [-0.4, -0.5, 1.2, -0.1]]
_T = [[0.9, 0.3], [-0.8, -0.1], [0.3, -0.5]]
_Wi = [[0.6, 0.3, -0.2], [1.3, 0.3, -0.6], [0.8, 0.2, -0.3], [0.4, 0.4, 0.7]]
_Wt = [[-1.2, 0.5, 0.8], [0.4, -0.1, -1.6]]


def _matmul(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


_a, _b = _matmul(_I, _Wi), _matmul(_T, _Wt)
_dot = _matmul(_a, [list(c) for c in zip(*_b)])
_na = [sum(x * x for x in r) ** 0.5 for r in _a]
_nb = [sum(x * x for x in r) ** 0.5 for r in _b]
_cos = [[_dot[i][j] / (_na[i] * _nb[j]) for j in range(3)] for i in range(2)]

def _same(got, want):
    g = np.asarray(got, dtype=float)
    return g.shape == (2, 3) and all(abs(x - y) < 1e-6 for x, y in zip(g.ravel().tolist(), [v for r in want for v in r]))


assert np.asarray(q7_dot_scores).shape == (2, 3) and _same(q7_dot_scores, _dot), "q7_dot_scores is wrong"
_ok = _same(q7_cosine_scores, _cos)
if not _ok:  # the cosines of the student's own cosine_similarity_matrix: its bug costs once
    try:
        _ok = _same(q7_cosine_scores, np.asarray(cosine_similarity_matrix(np.array(_a), np.array(_b)), dtype=float).tolist())
    except Exception:
        _ok = False
assert _ok, "q7_cosine_scores is wrong"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "q7_concepts", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question 7 (choose all that hold).** Answer with a set of letters in `answer_q7`.
#
# A. On the sheet's data, dot product and cosine pick the same sentence for both images.
# B. On the sheet's data, image 0 is best annotated by sentence 0.
# C. Multiplying one *image* vector by a positive number can change which sentence the dot product picks
#    for that image.
# D. Multiplying one *sentence* vector by a positive number can change which sentence the dot product
#    picks for an image.
# E. The two metrics always agree once the *sentence* embeddings all have the same length.

# %% nbgrader={"grade": false, "grade_id": "q7_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answer_q7 = ...  # a set of letters, e.g. {"A"}
### BEGIN SOLUTION
answer_q7 = {"A", "D", "E"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q7", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q7: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q7, set) and answer_q7 <= set("ABCDE"), "answer_q7 must be a set of letters among A-E"
### BEGIN HIDDEN TESTS
assert type(answer_q7) is set and answer_q7 == {"A", "D", "E"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "cross_attention_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · From search to cross-attention (question 8)
#
# The search above *picks* one sentence per image. Suppose we want instead to *update* each image
# representation with information from the sentences. That is cross-attention with the images as
# queries and the sentences as keys and values:
#
# $$Q = X_{img} W_q, \quad K = X_{txt} W_k, \quad V = X_{txt} W_v, \qquad
# \text{weights} = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right), \quad \text{output} = \text{weights}\; V .$$
#
# The two inputs may have different sizes ($d_{img} \ne d_{txt}$) and different numbers of rows; $W_q$ is
# $d_{img} \times d_k$, $W_k$ is $d_{txt} \times d_k$ and $W_v$ is $d_{txt} \times d_v$. Each **image** row
# of the weights is a distribution over the **sentences**, so the softmax runs over the sentence axis.
#
# Write `cross_attention(X_img, X_txt, W_q, W_k, W_v)` returning `(output, weights)` with shapes
# $(n_{img}, d_v)$ and $(n_{img}, n_{txt})$. Keep the softmax numerically stable.

# %% nbgrader={"grade": false, "grade_id": "cross_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_attention(X_img, X_txt, W_q, W_k, W_v):
    """Images attend to sentences: softmax(X_img W_q (X_txt W_k)^T / sqrt(d_k)) X_txt W_v.

    X_img: (n_img, d_img), X_txt: (n_txt, d_txt), W_q: (d_img, d_k), W_k: (d_txt, d_k), W_v: (d_txt, d_v).
    Returns (output (n_img, d_v), weights (n_img, n_txt)).
    """
    ### BEGIN SOLUTION
    X_img = np.asarray(X_img, dtype=float)
    X_txt = np.asarray(X_txt, dtype=float)
    Q = X_img @ W_q  # (n_img, d_img) x (d_img, d_k) -> (n_img, d_k)
    K = X_txt @ W_k  # (n_txt, d_txt) x (d_txt, d_k) -> (n_txt, d_k)
    V = X_txt @ W_v  # (n_txt, d_txt) x (d_txt, d_v) -> (n_txt, d_v)
    scores = Q @ K.T / np.sqrt(Q.shape[1])  # (n_img, d_k) x (d_k, n_txt) -> (n_img, n_txt)
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=1, keepdims=True)  # each image's row sums to 1 over the sentences
    return weights @ V, weights  # (n_img, n_txt) x (n_txt, d_v) -> (n_img, d_v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_attention", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check cross-attention: shapes, rows that sum to one over the sentences, and a value worked by hand."""
out, w = cross_attention(np.ones((2, 3)), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
                         np.ones((3, 2)), np.eye(2), np.array([[1.0], [2.0]]))
assert w.shape == (2, 4), f"weights: one row per image, one column per sentence, expected (2, 4), got {w.shape}"
assert out.shape == (2, 1), f"output: one row per image of size d_v, expected (2, 1), got {out.shape}"
assert np.allclose(w.sum(axis=1), 1.0), f"each image's weights must sum to 1 over the sentences, got {w.sum(axis=1)}"
# both queries are [3, 3]; scores against the keys: [3, 3, 6, 0] / sqrt(2)
want = np.exp(np.array([3.0, 3.0, 6.0, 0.0]) / np.sqrt(2))
want /= want.sum()
assert np.allclose(w[0], want), f"expected weights {want.round(4)}, got {np.round(w[0], 4)} (divide the scores by sqrt(d_k))"
out_big, w_big = cross_attention(np.array([[30.0]]), np.array([[30.0], [-30.0]]), np.array([[1.0]]), np.array([[1.0]]),
                                 np.array([[1.0]]))
assert np.all(np.isfinite(w_big)) and np.allclose(w_big, [[1.0, 0.0]]), (
    f"scores of 900 must give the weights [[1, 0]], got {w_big}: exp(900) overflows, so subtract each row's "
    "maximum score before exponentiating")
### BEGIN HIDDEN TESTS
import numpy as np
import torch

_rng = np.random.default_rng(43)
for _n_img, _n_txt, _d_img, _d_txt, _d_k, _d_v in [(1, 1, 2, 3, 2, 1), (3, 5, 4, 2, 3, 6), (6, 2, 5, 7, 4, 3), (4, 9, 3, 3, 8, 2)]:
    _Xi, _Xt = _rng.normal(size=(_n_img, _d_img)), _rng.normal(size=(_n_txt, _d_txt))
    _Wq, _Wk, _Wv = _rng.normal(size=(_d_img, _d_k)), _rng.normal(size=(_d_txt, _d_k)), _rng.normal(size=(_d_txt, _d_v))
    _out, _w = cross_attention(_Xi.copy(), _Xt.copy(), _Wq.copy(), _Wk.copy(), _Wv.copy())
    _q, _k, _v = torch.tensor(_Xi @ _Wq), torch.tensor(_Xt @ _Wk), torch.tensor(_Xt @ _Wv)
    _want_w = torch.softmax(_q @ _k.T / _d_k ** 0.5, dim=-1).numpy()
    _want_out = torch.nn.functional.scaled_dot_product_attention(_q, _k, _v).numpy()
    _shape = f"n_img={_n_img}, n_txt={_n_txt}, d_img={_d_img}, d_txt={_d_txt}, d_k={_d_k}, d_v={_d_v}"
    assert _close(_w, _want_w), f"weights are wrong for {_shape}"
    assert _close(_out, _want_out), f"output is wrong for {_shape}"

# the same as torch.nn.MultiheadAttention with one head, no biases and an identity output projection
_d = 4
_Xi, _Xt = _rng.normal(size=(3, _d)), _rng.normal(size=(5, 6))
_Wq, _Wk, _Wv = _rng.normal(size=(_d, _d)), _rng.normal(size=(6, _d)), _rng.normal(size=(6, _d))
_out, _w = cross_attention(_Xi.copy(), _Xt.copy(), _Wq.copy(), _Wk.copy(), _Wv.copy())
_mha = torch.nn.MultiheadAttention(_d, 1, bias=False, kdim=6, vdim=6, batch_first=True).double()
with torch.no_grad():
    _mha.q_proj_weight.copy_(torch.tensor(_Wq.T))
    _mha.k_proj_weight.copy_(torch.tensor(_Wk.T))
    _mha.v_proj_weight.copy_(torch.tensor(_Wv.T))
    _mha.out_proj.weight.copy_(torch.eye(_d, dtype=torch.float64))
    _mha_out, _mha_w = _mha(torch.tensor(_Xi)[None], torch.tensor(_Xt)[None], torch.tensor(_Xt)[None])
assert _close(_out, _mha_out[0].numpy()), "output disagrees with torch.nn.MultiheadAttention (1 head, no bias)"
assert _close(_w, _mha_w[0].numpy()), "weights disagree with torch.nn.MultiheadAttention (1 head, no bias)"

# huge scores stay finite
_out, _w = cross_attention(np.array([[100.0]]), np.array([[100.0], [-100.0]]), np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]]))
assert _close(_w, np.array([[1.0, 0.0]])), "large scores must give finite weights (subtract the row maximum)"
assert _close(_out, np.array([[100.0]])), "large scores: the output must be the best sentence's value"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "cross_attention_demo_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below runs **your** `cross_attention` on the sheet's images and sentences, reusing the search's
# projections as the query and key maps ($W_q = W_i$, $W_k = W_t$), with a value map $W_v$ ($2 \times 4$)
# that brings sentence information back to the images' 4-dimensional space, where it is **added** to the
# image vectors (a residual connection). Compare the attention map with the scores of section 1.1: hover
# over an image to see how its attention splits over the three sentences, or over a sentence to see
# which image draws on it; *lines* draws each weight as a line from an image to a sentence.

# %% nbgrader={"grade": false, "grade_id": "cross_attention_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.widgets import AttentionMap, show_attention

W_v_demo = np.random.default_rng(8).normal(size=(2, 4)) / 2
update, q8_weights = cross_attention(I_sheet, T_sheet, W_i_sheet, W_t_sheet, W_v_demo)
print("updated image vectors (I + attention output):\n", np.round(I_sheet + update, 3))
q8_explorer = show_attention(
    {"Q8": AttentionMap(q8_weights, ["image 0", "image 1"], ["sentence 0", "sentence 1", "sentence 2"])},
    title="cross-attention",
)


# %% [markdown] nbgrader={"grade": true, "grade_id": "q8_reuse_and_add", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question 8.** If the goal is not to pick the best sentence but to update the image representations by
# cross-attention on the sentences, which parts of the cross-modal search can you reuse, and which parts
# must be added? Answer in a few sentences.
#
# ### BEGIN SOLUTION
# Reused: the image projection $W_i$ becomes the query map and the text projection $W_t$ the key map
# (both already map into one space where a dot product measures fit), and the score matrix
# $\hat I \hat T^\top$ is exactly the attention logit matrix (now divided by $\sqrt{d_k}$). Added: a
# **value** projection of the sentences (what an image takes from a sentence, not how well it matches);
# a **softmax** over the sentences for each image, replacing the hard argmax with differentiable
# weights; the weighted sum of values; and, to update the images, an **output projection** back to the
# image space with a residual connection $I + \text{output}$ (in a full layer also layer normalisation, a
# feed-forward block and usually several heads). These new parameters need training, e.g. on a
# downstream task, since the contrastive search objective did not train them.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "recall_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Measuring a search: recall@k
#
# A search is judged by how often the right item shows up near the top. Take a similarity matrix $S$ of
# shape $(n_q, n_{items})$ with $n_{items} \ge n_q$, where query $i$ has exactly one correct item: item
# $i$. Query $i$ is a **hit at k** when its correct item is among the $k$ best. With ties the "$k$ best" is
# ambiguous, and a careless definition rewards a useless model: a model that gives every item the same
# score would find everything "at rank 1". This course counts ties **against** the query:
#
# $$\text{hit}_k(i) \iff \#\{\, j \ne i : S_{ij} \ge S_{ii} \,\} < k, \qquad
# \text{recall@}k = \frac{1}{n_q} \sum_i \text{hit}_k(i).$$
#
# So an item that scores *as high as* the correct one pushes it down. This pessimistic rule is the course's
# choice, not a standard: much evaluation code sorts the scores (`argsort`) and lets the position in the
# array break ties, or counts only items that score strictly higher, and on a model with many ties the
# reported recall then depends on that choice. Write `recall_at_k(similarity, k)` returning this fraction
# as a float.

# %% nbgrader={"grade": false, "grade_id": "recall_at_k", "locked": false, "schema_version": 3, "solution": true, "task": false}
def recall_at_k(similarity, k):
    """Fraction of queries i whose item i is among the k best, ties counted against the query.

    similarity: (n_queries, n_items) with n_items >= n_queries. Example:
    recall_at_k([[0.9, 0.1], [0.5, 0.5]], 1) -> 0.5  (query 1 ties with item 0: not a hit)
    """
    ### BEGIN SOLUTION
    S = np.asarray(similarity, dtype=float)
    n_q = S.shape[0]
    correct = S[np.arange(n_q), np.arange(n_q)][:, None]  # (n_q, 1)
    at_least_as_good = (S >= correct).sum(axis=1) - 1  # other items scoring >= the correct one
    return float(np.mean(at_least_as_good < k))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_recall_at_k", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check recall@k on a small example with a tie."""
S_toy = np.array([[0.9, 0.1, 0.3], [0.5, 0.5, 0.4], [0.2, 0.8, 0.7]])
got = recall_at_k(S_toy, 1)
assert isinstance(got, float), f"recall_at_k should return a float, got {type(got).__name__}"
assert abs(got - 1 / 3) < 1e-12, f"at k=1 only query 0 is a hit (query 1 ties, query 2 is beaten): expected 1/3, got {got}"
assert abs(recall_at_k(S_toy, 2) - 1.0) < 1e-12, f"at k=2 every query is a hit, got {recall_at_k(S_toy, 2)}"
assert recall_at_k(np.zeros((4, 4)), 1) == 0.0, "a model that gives every item the same score must not score hits at k=1"
### BEGIN HIDDEN TESTS
import numpy as np


def _reference_recall(S, k):
    hits = 0
    for i, row in enumerate(S.tolist()):
        others = sum(1 for j, s in enumerate(row) if j != i and s >= row[i])
        hits += others < k
    return hits / len(S)


_rng = np.random.default_rng(44)
_cases = [
    (_rng.normal(size=(6, 6)), (1, 2, 5, 6)),
    (_rng.normal(size=(5, 9)), (1, 3, 9)),  # more items than queries
    (np.round(_rng.normal(size=(12, 12)), 0), (1, 2, 4, 10)),  # many ties
    (np.zeros((5, 5)), (1, 4, 5)),  # everything tied
    (np.eye(3), (1,)),
    (np.array([[1.0]]), (1,)),
    (np.array([[0.3, 0.3, 0.1], [0.2, 0.9, 0.9], [0.0, 0.0, 0.5]]), (1, 2, 3)),
    (np.array([[0.5, 0.9, 0.1, 0.2], [0.4, 0.8, 0.2, 0.9], [0.1, 0.2, 0.3, 0.4]]), (1, 2, 3)),
]
for _S, _ks in _cases:
    for _k in _ks:
        _got = recall_at_k(_S.copy(), _k)
        _want = _reference_recall(_S, _k)
        assert isinstance(_got, float) and abs(_got - _want) < 1e-12, f"recall@{_k} of a {_S.shape} similarity matrix: expected {_want}, got {_got}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "alignment_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Aligning two languages with a linear map
#
# Word embeddings trained separately on German and on English text end up in unrelated coordinates, but
# their *shapes* are alike: words with related meanings sit in similar arrangements. A linear map $W$
# can therefore move German vectors into the English space. With the German vectors of a small bilingual
# dictionary as the rows of $X$ and their English translations as the rows of $Y$ (row $i$ of $X$
# translates to row $i$ of $Y$), a good map makes each projected row $x_i W$ close to $y_i$.
#
# The third exercise sheet (seed 003, section 4) gives three German words (*Hallo*, *Welt*, *Programm*),
# their English translations (*hello*, *world*, *program*) and a map $W_{de \to en}$, and asks for the
# projection $X W_{de \to en}$ and its "least squares" loss, which it reports as **12.1270**. It does not
# say which formula gave that number, and "least squares" fits several. With $r_i = x_i W - y_i$ the
# residual of word $i$ ($n$ words, $d$ dimensions), the candidates are
#
# | name | formula |
# |---|---|
# | sum of distances | $\sum_i \lVert r_i \rVert_2$ |
# | Frobenius norm | $\lVert X W - Y \rVert_F = \sqrt{\sum_i \lVert r_i \rVert_2^2}$ |
# | sum of squared distances | $\sum_i \lVert r_i \rVert_2^2 = \lVert X W - Y \rVert_F^2$ |
# | mean squared error | $\frac{1}{n d} \sum_i \lVert r_i \rVert_2^2$ |
# | mean distance | $\frac{1}{n} \sum_i \lVert r_i \rVert_2$ |
#
# Write two losses, each returning a float:
# * `alignment_loss(X, Y, W)`: **the sheet's definition**. Find out which of the candidates it is: the
#   cell below holds the projection as the sheet prints it (`projection_sheet`, already multiplied out and
#   rounded); the sheet's loss of it, i.e. `alignment_loss(projection_sheet, Y_en, np.eye(3))`, must be
#   12.1270 to four decimals. Try the candidates on it (a few lines of NumPy), then implement the one that
#   matches;
# * `squared_alignment_loss(X, Y, W)`: the usual least-squares objective, the sum of **squared** distances
#   $\sum_i \lVert x_i W - y_i \rVert_2^2 = \lVert X W - Y \rVert_F^2$ (the quantity that
#   `np.linalg.lstsq` minimises).
#
# *Where the course departs from the handout.* The matrix printed under "Result of the projection" is
# labelled $W_{de \to en}$, but it is the product $X W_{de \to en}$; and its entries differ in the fourth
# decimal from the product of the printed matrices (for example 0.0216 and 2.9810 where the product gives
# 0.0215 and 2.9808), presumably because the sheet multiplied unrounded numbers. This notebook computes
# with the printed $X$, $Y$ and $W_{de \to en}$, so its own numbers differ from the sheet's in the fourth
# decimal.

# %% nbgrader={"grade": false, "grade_id": "alignment_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
words_de = ["Hallo", "Welt", "Programm"]
words_en = ["hello", "world", "program"]
X_de = np.array([[-0.7085, -0.8577, 1.3898], [-0.4311, -1.6566, -1.9603], [1.5719, -0.5320, -0.7148]])
Y_en = np.array([[0.5787, -1.4529, -0.1379], [0.3200, 0.4139, 1.7434], [0.4766, 1.5077, -0.0707]])
W_de_en = np.array([[-0.8262, -0.2042, -1.8096], [-0.7249, -1.2263, -0.5002], [-0.8531, -1.3717, 0.9136]])
# the sheet's "Result of the projection": X_de @ W_de_en as the sheet prints it (rounded)
projection_sheet = np.array([[0.0216, -0.7099, 2.9810], [3.2295, 4.8086, -0.1822], [-0.3033, 1.3120, -3.2315]])


# %% nbgrader={"grade": false, "grade_id": "alignment_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def alignment_loss(X, Y, W):
    """The sheet's loss of the map W (the candidate that gives 12.1270 on the sheet's projection).

    X: (n, d_src), Y: (n, d_tgt), W: (d_src, d_tgt). Example: alignment_loss([[1, 0]], [[0, 0]], eye(2)) -> 1.0
    """
    ### BEGIN SOLUTION
    residual = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) - np.asarray(Y, dtype=float)  # (n, d_tgt)
    return float(np.linalg.norm(residual, axis=1).sum())
    ### END SOLUTION


def squared_alignment_loss(X, Y, W):
    """Least squares: sum over rows of the squared Euclidean distance, i.e. ||X W - Y||_F^2."""
    ### BEGIN SOLUTION
    residual = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) - np.asarray(Y, dtype=float)  # (n, d_tgt)
    return float(np.sum(residual ** 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_alignment_loss", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the sheet's loss: it must reproduce the sheet's 12.1270 on the sheet's own projection."""
got = alignment_loss(projection_sheet, Y_en, np.eye(3))
assert isinstance(got, float), f"alignment_loss should return a float, got {type(got).__name__}"
assert abs(got - 12.1270) < 5e-5, (
    f"on the sheet's projection your loss is {got:.4f}, the sheet's is 12.1270: try the other candidates "
    "of the table on projection_sheet and Y_en")
got = alignment_loss(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.eye(2))
assert abs(got) < 1e-12, f"a map that sends every word onto its translation has loss 0, got {got}"
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(45)
for _n, _d_src, _d_tgt in [(1, 1, 1), (3, 3, 3), (7, 4, 2), (5, 2, 6)]:
    _X, _Y, _W = _rng.normal(size=(_n, _d_src)), _rng.normal(size=(_n, _d_tgt)), _rng.normal(size=(_d_src, _d_tgt))
    _got = alignment_loss(_X.copy(), _Y.copy(), _W.copy())
    _P = (_X @ _W).tolist()
    _want = sum(sum((p - y) ** 2 for p, y in zip(pr, yr)) ** 0.5 for pr, yr in zip(_P, _Y.tolist()))
    assert isinstance(_got, (float, np.floating)) and abs(float(_got) - _want) < 1e-9 * (1 + _want), f"wrong loss for n={_n}, d_src={_d_src}, d_tgt={_d_tgt}"
# the sheet's number, from its own rounded projection
_P_sheet = np.array([[0.0216, -0.7099, 2.9810], [3.2295, 4.8086, -0.1822], [-0.3033, 1.3120, -3.2315]])
_Y_sheet = np.array([[0.5787, -1.4529, -0.1379], [0.3200, 0.4139, 1.7434], [0.4766, 1.5077, -0.0707]])
_got = alignment_loss(_P_sheet, _Y_sheet, np.eye(3))
assert abs(float(_got) - 12.1270) < 5e-5, f"with the sheet's projection the loss must be the sheet's 12.1270, got {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_squared_alignment_loss", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the squared loss on a two-word example."""
X_toy, Y_toy = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[4.0, 4.0], [0.0, 1.0]])
got = squared_alignment_loss(X_toy, Y_toy, np.eye(2))
assert isinstance(got, float), f"squared_alignment_loss should return a float, got {type(got).__name__}"
assert abs(got - 25.0) < 1e-9, (
    f"word 0 is at distance sqrt(3^2 + 4^2) = 5 from its translation, word 1 at 0: expected 5^2 + 0^2 = 25.0, got {got}"
    + (" (that is half of it: this notebook does not halve the squared loss)" if abs(got - 12.5) < 1e-9 else "")
    + (" (that is the mean over the entries: sum them instead)" if abs(got - 6.25) < 1e-9 else ""))
got = squared_alignment_loss(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[4.0, 0.0], [0.0, 3.0]]), np.eye(2))
assert abs(got - 13.0) < 1e-9, (
    f"distances 3 and 2: expected 3^2 + 2^2 = 13.0, got {got} (square each distance, then add; 25 would be the "
    "square of the summed distances)")
### BEGIN HIDDEN TESTS
import numpy as np

_rng = np.random.default_rng(46)
for _n, _d_src, _d_tgt in [(1, 1, 1), (3, 3, 3), (7, 4, 2), (5, 2, 6)]:
    _X, _Y, _W = _rng.normal(size=(_n, _d_src)), _rng.normal(size=(_n, _d_tgt)), _rng.normal(size=(_d_src, _d_tgt))
    _got = squared_alignment_loss(_X.copy(), _Y.copy(), _W.copy())
    _P = (_X @ _W).tolist()
    _want = sum(sum((p - y) ** 2 for p, y in zip(pr, yr)) for pr, yr in zip(_P, _Y.tolist()))
    assert isinstance(_got, (float, np.floating)) and abs(float(_got) - _want) < 1e-9 * (1 + _want), f"wrong squared loss for n={_n}, d_src={_d_src}, d_tgt={_d_tgt}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sheet_projection_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What the sheet computed.** Of the candidates, only the *sum of distances* gives 12.1270 on the sheet's
# rounded projection (the Frobenius norm gives 7.2604, the sum of squares 52.7137, the mean squared error
# 5.8571, the mean distance 4.0423): the sheet's "least squares" loss is not squared. Computed from the
# printed $X$, $Y$ and $W_{de \to en}$ instead, the sum of distances is **12.1266** and the usual squared
# loss **52.7104**.
#
# Now the sheet's numbers: store the projection $X W_{de \to en}$ (rows: the three German words in the
# English space) in `projected_de`, and the two losses of the sheet's map in `loss_de` and
# `squared_loss_de` (floats).

# %% nbgrader={"grade": false, "grade_id": "sheet_projection", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
projected_de = X_de @ W_de_en  # (3, 3) x (3, 3) -> (3, 3)
loss_de = alignment_loss(X_de, Y_en, W_de_en)
squared_loss_de = squared_alignment_loss(X_de, Y_en, W_de_en)
### END SOLUTION
print("projection X_de W_de->en:\n", np.round(projected_de, 4))
print(f"sheet's loss (sum of distances): {loss_de:.4f}   squared loss: {squared_loss_de:.4f}")

# %% nbgrader={"grade": true, "grade_id": "test_sheet_projection", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the shapes and types of the sheet's projection and losses (values are checked when grading)."""
assert np.shape(projected_de) == (3, 3), f"expected a (3, 3) projection, got shape {np.shape(projected_de)}"
assert isinstance(loss_de, float) and isinstance(squared_loss_de, float), "loss_de and squared_loss_de must be floats"
assert np.abs(np.asarray(projected_de) - projection_sheet).max() > 1e-6, (
    "projected_de is the sheet's printed (rounded) matrix: compute X_de @ W_de_en from the printed matrices instead")
assert abs(loss_de - 12.1270) > 5e-5, (
    "loss_de is the sheet's 12.1270, which comes from its rounded projection: compute it with alignment_loss "
    "from X_de, Y_en and W_de_en")
### BEGIN HIDDEN TESTS
import numpy as np

_X = [[-0.7085, -0.8577, 1.3898], [-0.4311, -1.6566, -1.9603], [1.5719, -0.5320, -0.7148]]
_Y = [[0.5787, -1.4529, -0.1379], [0.3200, 0.4139, 1.7434], [0.4766, 1.5077, -0.0707]]
_W = [[-0.8262, -0.2042, -1.8096], [-0.7249, -1.2263, -0.5002], [-0.8531, -1.3717, 0.9136]]
_P = [[sum(x * w for x, w in zip(row, col)) for col in zip(*_W)] for row in _X]
_dist = [sum((p - y) ** 2 for p, y in zip(pr, yr)) ** 0.5 for pr, yr in zip(_P, _Y)]
_got = np.asarray(projected_de, dtype=float)
assert _got.shape == (3, 3) and all(abs(a - b) < 1e-9 for a, b in zip(_got.ravel().tolist(), [v for r in _P for v in r])), \
    "projected_de must be X_de @ W_de_en computed from the printed matrices (the sheet's own matrix is rounded differently)"

def _theirs(fn):
    """The student's own loss function on the sheet's matrices (its bug costs the points of its own test)."""
    try:
        return float(fn(np.array(_X), np.array(_Y), np.array(_W)))
    except Exception:
        return float("nan")


assert abs(float(loss_de) - sum(_dist)) < 1e-9 or abs(float(loss_de) - _theirs(alignment_loss)) < 1e-9, (
    "loss_de must be the sheet's loss of X_de, Y_en and W_de_en, computed with alignment_loss")
assert (abs(float(squared_loss_de) - sum(d * d for d in _dist)) < 1e-9
        or abs(float(squared_loss_de) - _theirs(squared_alignment_loss)) < 1e-9), (
    "squared_loss_de must be the squared loss of X_de, Y_en and W_de_en, computed with squared_alignment_loss")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "fit_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 4.1 · Learning the map
#
# **Least squares.** The map that minimises the squared loss, $\min_W \lVert X W - Y \rVert_F^2$, solves
# the normal equations $X^\top X W = X^\top Y$. When $X^\top X$ is singular (fewer dictionary words than
# dimensions, or repeated words) there are many minimisers; return the one of smallest norm, which
# `np.linalg.lstsq` and the pseudo-inverse $W = X^{+} Y$ give.
#
# **Orthogonal Procrustes.** If the two spaces really differ only by a rotation (or reflection), it is
# better to look for an **orthogonal** $W$ ($W^\top W = I$, so lengths and angles are kept):
# $\min_{W^\top W = I} \lVert X W - Y \rVert_F$. Its solution is closed-form: take the singular value
# decomposition $X^\top Y = U \Sigma V^\top$ and set $W = U V^\top$. (Expanding the square, only the term
# $-2\,\mathrm{tr}(W^\top X^\top Y)$ depends on $W$, and the trace is largest when $W$ "undoes" the
# rotations $U$ and $V$.)
#
# Write `fit_linear_map(X, Y)` and `procrustes(X, Y)`, each returning $W$ of shape $(d_{src}, d_{tgt})$
# (for Procrustes both spaces have the same size $d$).

# %% nbgrader={"grade": false, "grade_id": "fit_linear_map", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_linear_map(X, Y):
    """Least-squares map: the minimum-norm W minimising ||X W - Y||_F^2. X: (n, d_src), Y: (n, d_tgt)."""
    ### BEGIN SOLUTION
    W, *_ = np.linalg.lstsq(np.asarray(X, dtype=float), np.asarray(Y, dtype=float), rcond=None)
    return W  # (d_src, d_tgt)
    ### END SOLUTION


def procrustes(X, Y):
    """Orthogonal W (W^T W = I) minimising ||X W - Y||_F: W = U V^T with U S V^T = svd(X^T Y). X, Y: (n, d)."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    U, _, Vt = np.linalg.svd(X.T @ Y)  # (d, n) x (n, d) -> (d, d)
    return U @ Vt  # (d, d)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fit_linear_map", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check least squares on data that a linear map fits exactly."""
rng_fit = np.random.default_rng(0)
X_fit, W_true = rng_fit.normal(size=(10, 3)), rng_fit.normal(size=(3, 2))
W_fit = fit_linear_map(X_fit, X_fit @ W_true)
assert np.shape(W_fit) == (3, 2), f"expected W of shape (d_src, d_tgt) = (3, 2), got {np.shape(W_fit)}"
assert np.allclose(W_fit, W_true), f"the data were made with\n{W_true.round(3)}\nbut got\n{np.round(W_fit, 3)}"
X_few, Y_few = rng_fit.normal(size=(2, 3)), rng_fit.normal(size=(2, 2))  # 2 word pairs, 3 dimensions
try:
    W_few = fit_linear_map(X_few, Y_few)
except Exception as error:
    raise AssertionError(f"with 2 word pairs in 3 dimensions X^T X is singular and fit_linear_map raised "
                         f"{type(error).__name__}: {error}; np.linalg.lstsq or np.linalg.pinv handle any X") from None
assert np.allclose(X_few @ W_few, Y_few), "with fewer pairs than dimensions the least-squares map fits every pair exactly"
assert np.allclose(W_few, np.linalg.pinv(X_few) @ Y_few), (
    "with fewer pairs than dimensions many maps fit exactly: return the one of smallest norm (np.linalg.lstsq, pinv)")
### BEGIN HIDDEN TESTS
import numpy as np


def _fit(X, Y):
    """fit_linear_map(X, Y); a singular-matrix error fails with what is wrong."""
    try:
        return fit_linear_map(X.copy(), Y.copy())
    except Exception as error:  # in the judge the student's LinAlgError arrives under another class
        if "LinAlgError" not in f"{type(error).__name__}: {error}":
            raise
        raise AssertionError(f"fit_linear_map failed on an X with {X.shape[0]} rows and {X.shape[1]} columns "
                             f"({error}): X^T X is singular there; np.linalg.lstsq or np.linalg.pinv "
                             "give the least-squares map for any X") from None


_rng = np.random.default_rng(47)
for _n, _d_src, _d_tgt in [(20, 4, 3), (6, 2, 5), (3, 3, 3), (2, 5, 4), (1, 3, 2), (8, 1, 1)]:
    _X, _Y = _rng.normal(size=(_n, _d_src)), _rng.normal(size=(_n, _d_tgt))
    _got = _fit(_X, _Y)
    _want = np.linalg.pinv(_X) @ _Y
    assert _close(np.asarray(_got), _want), f"wrong least-squares map for n={_n}, d_src={_d_src}, d_tgt={_d_tgt}"
# a singular X^T X (a repeated word): the minimum-norm solution
_X = np.array([[1.0, 2.0], [2.0, 4.0], [1.0, 2.0]])
_Y = np.array([[1.0], [2.0], [1.5]])
_got = _fit(_X, _Y)
assert _close(np.asarray(_got), np.linalg.pinv(_X) @ _Y), "with a singular X^T X return the minimum-norm least-squares map"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_procrustes", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check Procrustes: an orthogonal W that recovers a rotation."""
rng_rot = np.random.default_rng(1)
R_true, _ = np.linalg.qr(rng_rot.normal(size=(3, 3)))
X_rot = rng_rot.normal(size=(8, 3))
W_rot = procrustes(X_rot, X_rot @ R_true)
assert np.shape(W_rot) == (3, 3), f"expected a (3, 3) map, got {np.shape(W_rot)}"
assert np.allclose(W_rot.T @ W_rot, np.eye(3)), f"W must be orthogonal (W^T W = I), got W^T W =\n{np.round(W_rot.T @ W_rot, 3)}"
assert np.allclose(W_rot, R_true), "the targets are an exact rotation of X: Procrustes must find it"
X_noisy, Y_noisy = rng_rot.normal(size=(6, 3)), rng_rot.normal(size=(6, 3))  # no rotation fits these exactly
W_noisy = procrustes(X_noisy, Y_noisy)
assert np.allclose(W_noisy.T @ W_noisy, np.eye(3)), (
    "on data that no rotation fits, W must still be orthogonal (W^T W = I): W = U V^T, without the singular values "
    "and without solving least squares")
### BEGIN HIDDEN TESTS
import numpy as np
from scipy.linalg import orthogonal_procrustes as _scipy_procrustes

_rng = np.random.default_rng(48)
for _n, _d in [(10, 3), (4, 4), (30, 6), (5, 2), (3, 3)]:
    _X, _Y = _rng.normal(size=(_n, _d)), _rng.normal(size=(_n, _d)) * 3  # noisy, not a rotation
    _got = procrustes(_X.copy(), _Y.copy())
    _want, _ = _scipy_procrustes(_X, _Y)
    assert _close(np.asarray(_got), _want), f"disagrees with scipy.linalg.orthogonal_procrustes for n={_n}, d={_d}"
    _gram = (np.asarray(_got).T @ np.asarray(_got)).tolist()
    assert all(abs(_gram[i][j] - (i == j)) < 1e-9 for i in range(_d) for j in range(_d)), "W must be orthogonal"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sheet_fits_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# On the sheet's three words, both maps are easy to compare. The cell below fits both with **your**
# functions and prints both losses for each map (and for the sheet's own $W_{de \to en}$).

# %% nbgrader={"grade": false, "grade_id": "sheet_fits", "locked": true, "schema_version": 3, "solution": false, "task": false}
maps = {"sheet's W_de->en": W_de_en, "least squares": fit_linear_map(X_de, Y_en), "Procrustes": procrustes(X_de, Y_en)}
for name, W in maps.items():
    print(f"{name:>17}: distances {alignment_loss(X_de, Y_en, W):8.4f}   squared {squared_alignment_loss(X_de, Y_en, W):8.4f}"
          f"   ||W^T W - I|| = {np.linalg.norm(W.T @ W - np.eye(3)):.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "lexicon_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Three words in three dimensions say little: least squares fits *any* three pairs exactly. The real test
# is how well a map learned on a small **seed dictionary** translates words it has not seen. The cell
# below builds a synthetic pair of languages: 400 "English" word vectors in 20 dimensions and "German"
# vectors that are a random rotation of them plus noise (standard deviation 0.5 per coordinate). It learns
# both maps on the first $n$ word pairs, translates the 300 German words that were never in a seed
# dictionary by nearest neighbour (your `cosine_similarity_matrix`) and reports precision@1, which is your
# `recall_at_k(..., 1)` (German word $i$ should find English word $i$). It does so for five such language
# pairs (random seeds 0-4) and plots the mean with one standard deviation across them: one pair alone can
# mislead.

# %% nbgrader={"grade": false, "grade_id": "lexicon_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

n_words, dim = 400, 20
seed_sizes = [5, 10, 15, 20, 25, 30, 40, 60, 100]
lexicon_seeds = range(5)  # five synthetic language pairs: the spread shows how much is luck
held_out = slice(100, None)  # the seed dictionary is drawn from the first 100 words; 300 words are never seen
precision = {"least squares": [], "Procrustes": []}  # one row per language pair, one column per seed size
for seed in lexicon_seeds:
    rng_lex = np.random.default_rng(seed)
    english = rng_lex.normal(size=(n_words, dim))
    rotation, _ = np.linalg.qr(rng_lex.normal(size=(dim, dim)))
    german = english @ rotation.T + 0.5 * rng_lex.normal(size=(n_words, dim))  # german @ rotation ~ english, plus noise
    for name, fit in (("least squares", fit_linear_map), ("Procrustes", procrustes)):
        row = []
        for n_seed in seed_sizes:
            W = fit(german[:n_seed], english[:n_seed])
            row.append(recall_at_k(cosine_similarity_matrix(german[held_out] @ W, english[held_out]), 1))
        precision[name].append(row)
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for name, rows in precision.items():
    rows = np.array(rows)  # (seeds, sizes)
    ax.errorbar(seed_sizes, rows.mean(axis=0), yerr=rows.std(axis=0, ddof=1), fmt="o-", capsize=3, label=name)
ax.axvline(dim, color="gray", linestyle=":", label=f"dimension = {dim}")
ax.set(xlabel="seed dictionary size (word pairs)", ylabel="precision@1 on 300 unseen words", ylim=(-0.02, 1.02),
       title=f"mean and standard deviation over {len(lexicon_seeds)} language pairs")
ax.legend()
plt.show()
print(f"{'pairs':>13}:" + "".join(f"{n:>11}" for n in seed_sizes))
for name, rows in precision.items():
    rows = np.array(rows)
    print(f"{name:>13}:" + "".join(f"{m:6.2f}±{sd:.2f}" for m, sd in zip(rows.mean(axis=0), rows.std(axis=0, ddof=1))))

# %% [markdown] nbgrader={"grade": true, "grade_id": "ls_vs_procrustes", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Compare the two maps: on the sheet's three words (which one has the lower loss, and why is
# that no reason to prefer it?) and on the synthetic dictionary (which map is better with very few pairs,
# what happens to least squares near $n = d$ word pairs and after it, and why?). When would you still prefer
# the unconstrained map?
#
# ### BEGIN SOLUTION
# On the sheet, least squares reaches loss 0: with three independent German vectors in three dimensions,
# $X$ is invertible and $W = X^{-1} Y$ maps every word exactly onto its translation, whatever the words
# mean (9 free numbers for 9 equations). Procrustes cannot (sum of distances about 1.53, squared loss
# 0.89) because it may only rotate or reflect. A perfect fit of three pairs therefore says nothing about
# other words.
#
# On the synthetic lexicon (mean ± standard deviation over five language pairs) the answer depends on $n$.
# With very few pairs least squares is *better*: 0.31 ± 0.07 against 0.14 ± 0.04 at $n = 10$ (0.10 against
# 0.03 at $n = 5$). Its minimum-norm solution lives in the span of the $n$ seed words, while Procrustes
# must commit to a full orthogonal map that $n \ll d$ pairs barely constrain. From $n = 15$ Procrustes is
# ahead (0.49 against 0.44), and at $n = d = 20$ least squares collapses to 0.11 ± 0.07 while Procrustes
# reaches 0.73 ± 0.12. That dip is **double descent**: at $n = d$ the least-squares map just interpolates
# the seed pairs, $X$ is square and badly conditioned, and the noise is amplified by its small singular
# values; with more pairs than dimensions the fit averages the noise away again (0.75 at 30, 0.96 at 40),
# and beyond about 40 pairs both maps are near 1. Procrustes has only $d(d-1)/2$ degrees of freedom
# instead of $d^2$, cannot stretch or collapse directions to chase noise, and keeps the monolingual
# geometry (lengths and cosines between German words are unchanged), which is why it is the safer choice
# from about $n = d$ on. Least squares is preferable with very small dictionaries, when the spaces really
# differ by more than a rotation (different scales per direction, different sizes $d_{src} \ne d_{tgt}$),
# and when the dictionary is large enough to estimate all $d_{src} d_{tgt}$ parameters.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "q9_concepts", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question 9 (choose all that hold).** Answer with a set of letters in `answer_q9`. Let $W$ be the
# Procrustes solution for $d \times d$ spaces.
#
# A. $W^{-1} = W^\top$.
# B. For two German words, the cosine similarity of $x_a W$ and $x_b W$ equals that of $x_a$ and $x_b$.
# C. On any three word pairs in three dimensions, its loss is 0.
# D. It keeps the length of every vector.
# E. It is also the least-squares solution whenever $n > d$.

# %% nbgrader={"grade": false, "grade_id": "q9_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answer_q9 = ...  # a set of letters, e.g. {"A"}
### BEGIN SOLUTION
answer_q9 = {"A", "B", "D"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q9", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q9: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q9, set) and answer_q9 <= set("ABCDE"), "answer_q9 must be a set of letters among A-E"
### BEGIN HIDDEN TESTS
assert type(answer_q9) is set and answer_q9 == {"A", "B", "D"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "info_nce_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · The contrastive loss of CLIP
#
# How are $W_i$ and $W_t$ learned? CLIP trains an image encoder and a text encoder on a batch of $B$
# matching (image, caption) pairs with a **symmetric InfoNCE** loss:
#
# 1. L2-normalise each image embedding $u_i$ and each text embedding $v_j$ (so scores are cosines);
# 2. form the $B \times B$ logits $L_{ij} = u_i \cdot v_j / \tau$ with a **temperature** $\tau > 0$ (a small
#    $\tau$ *sharpens* the softmax: divide by it);
# 3. image $i$ must pick caption $i$ among the $B$ captions: a cross-entropy over row $i$ of $L$ with target
#    $i$; caption $j$ must pick image $j$ among the $B$ images: a cross-entropy over **column** $j$;
# 4. the loss is the average of the two directions, each averaged over the batch:
#
# $$\mathcal{L} = \frac{1}{2B} \sum_{i=1}^{B} \left[-\log \frac{e^{L_{ii}}}{\sum_j e^{L_{ij}}}\right]
#   + \frac{1}{2B} \sum_{j=1}^{B} \left[-\log \frac{e^{L_{jj}}}{\sum_i e^{L_{ij}}}\right].$$
#
# Every other caption in the batch is a negative for image $i$, and every other image a negative for
# caption $j$. Write `info_nce_loss(image_emb, text_emb, temperature)` in PyTorch for tensors of shape
# $(B, d)$, returning a scalar tensor through which gradients flow back to both inputs (stay in torch:
# no NumPy, no `.detach()`). `torch.nn.functional.cross_entropy` and `normalize` are allowed.

# %% nbgrader={"grade": false, "grade_id": "info_nce_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
import torch
import torch.nn.functional as F


def info_nce_loss(image_emb, text_emb, temperature):
    """Symmetric InfoNCE (CLIP): mean of the image->text and text->image cross-entropies over cosine logits / temperature.

    image_emb, text_emb: (B, d) tensors, row i of each is a matching pair. Returns a scalar tensor.
    """
    ### BEGIN SOLUTION
    u = F.normalize(image_emb, dim=-1)  # (B, d), rows of length 1
    v = F.normalize(text_emb, dim=-1)  # (B, d)
    logits = u @ v.T / temperature  # (B, d) x (d, B) -> (B, B): row i = image i against every caption
    targets = torch.arange(logits.shape[0], device=logits.device)  # (B,) pair i is the right answer
    image_to_text = F.cross_entropy(logits, targets)  # softmax over each row (captions)
    text_to_image = F.cross_entropy(logits.T, targets)  # softmax over each column (images)
    return (image_to_text + text_to_image) / 2
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "info_nce_helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The test below calls your loss through this helper: it runs the loss and its backward pass on fresh
# copies of the inputs and returns the value and the two gradients as plain numbers.
from tfscourse.retrieval import loss_and_gradients

# %% nbgrader={"grade": true, "grade_id": "test_info_nce_loss", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check InfoNCE on small examples: a scalar with a gradient, symmetry, and a value worked by hand."""
a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
b = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
result = loss_and_gradients(info_nce_loss, a, b, 0.5)  # your loss and its gradients (see the cell above this test)
assert result["type"] == "Tensor" and result["shape"] == [], (
    f"expected a scalar tensor (shape []), got a {result['type']} of shape {result['shape']}")
# unit vectors: image 0 = (1, 0), image 1 = (0, 1); captions (1, 0) and (0.707, 0.707); logits = cosines / 0.5
c = 1 / np.sqrt(2)
L = np.array([[1.0, c], [0.0, c]]) / 0.5
rows = -np.log(np.exp(L[0, 0]) / np.exp(L[0]).sum()) - np.log(np.exp(L[1, 1]) / np.exp(L[1]).sum())
cols = -np.log(np.exp(L[0, 0]) / np.exp(L[:, 0]).sum()) - np.log(np.exp(L[1, 1]) / np.exp(L[:, 1]).sum())
expected = (rows + cols) / 4
only_rows, only_cols = rows / 2, cols / 2
assert abs(result["loss"] - only_rows) > 1e-5, (
    f"got {result['loss']:.5f}, the image->text direction alone: average it with the text->image one (columns)")
assert abs(result["loss"] - only_cols) > 1e-5, (
    f"got {result['loss']:.5f}, the text->image direction alone: average it with the image->text one (rows)")
assert abs(result["loss"] - expected) < 1e-5, f"expected {expected:.5f}, got {result['loss']:.5f}"
assert result["requires_grad"] and result["grad_image"] is not None and result["grad_text"] is not None, (
    "no gradient reaches the embeddings: stay in torch (no .detach(), .numpy() or torch.tensor(...) inside)")
assert bool(torch.isfinite(result["grad_image"]).all()), "the gradient with respect to image_emb must be finite"
swapped = loss_and_gradients(info_nce_loss, b, a, 0.5)
assert abs(swapped["loss"] - result["loss"]) < 1e-5, "the symmetric loss must not change when images and captions swap roles"
### BEGIN HIDDEN TESTS
import math

import torch
import torch.nn.functional as F


def _reference_info_nce(u, v, tau):
    u, v = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
    logits = u @ v.T / tau
    y = torch.arange(len(u))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def _plain_info_nce(u, v, tau):
    """The same loss in plain Python."""
    u = [[x / math.sqrt(sum(t * t for t in r)) for x in r] for r in u]
    v = [[x / math.sqrt(sum(t * t for t in r)) for x in r] for r in v]
    L = [[sum(a * b for a, b in zip(ru, rv)) / tau for rv in v] for ru in u]
    B = len(L)
    rows = sum(math.log(sum(math.exp(x) for x in L[i])) - L[i][i] for i in range(B))
    cols = sum(math.log(sum(math.exp(L[i][j]) for i in range(B))) - L[j][j] for j in range(B))
    return (rows + cols) / (2 * B)


_gen = torch.Generator().manual_seed(49)
for _B, _d, _tau, _scale in [(1, 3, 0.1, 1.0), (2, 2, 1.0, 1.0), (5, 7, 0.07, 3.0), (9, 4, 2.5, 0.2), (16, 8, 0.5, 10.0)]:
    _u = (torch.randn(_B, _d, generator=_gen, dtype=torch.float64) * _scale).requires_grad_(True)
    _v = (torch.randn(_B, _d, generator=_gen, dtype=torch.float64) * _scale).requires_grad_(True)
    _res = loss_and_gradients(info_nce_loss, _u.detach().clone(), _v.detach().clone(), _tau)
    assert _res["type"] == "Tensor" and _res["shape"] == [], f"expected a scalar tensor for B={_B}"
    assert _res["requires_grad"], ("the loss is cut off from image_emb and text_emb (no gradient can flow): "
                                   "compute it with torch operations, without .detach(), .numpy() or torch.tensor(...)")
    assert _res["grad_image"] is not None and _res["grad_text"] is not None, "gradients must flow back to both inputs"
    _got_grads = _res["grad_image"].ravel().tolist() + _res["grad_text"].ravel().tolist()
    _got_loss = _res["loss"]
    _u2, _v2 = _u.detach().clone().requires_grad_(True), _v.detach().clone().requires_grad_(True)
    _want = _reference_info_nce(_u2, _v2, _tau)
    _want.backward()
    _want_grads = _u2.grad.ravel().tolist() + _v2.grad.ravel().tolist()
    _plain = _plain_info_nce(_u.detach().tolist(), _v.detach().tolist(), _tau)
    _where = f"B={_B}, d={_d}, temperature={_tau}"
    assert _close(_got_loss, _want.item()), f"wrong loss for {_where}"
    assert _close(_got_loss, _plain), f"wrong loss for {_where} (plain-Python reference)"
    assert _close(_got_grads, _want_grads), f"wrong gradient for {_where}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "digits_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · A real search: captions and digits
#
# Time to train a (tiny) CLIP. The images are the 1,797 handwritten digits of 8×8 pixels that ship with
# scikit-learn. The captions are generated from each image's label and two attributes measured on its
# pixels, each split into thirds *within the digit's class*: the amount of ink (*thin*, regular,
# *thick*) and the slant of the strokes (*leaning left*, *upright*, *leaning right*). That makes
# $10 \times 3 \times 3 = 90$ different captions, such as "a thick seven leaning right". During training
# the captions are paraphrased at random ("the digit 7 tilted right", "a bold 7 slanted right", ...).
#
# The model (in `tfscourse.retrieval`) is a **dual encoder**: a small MLP maps the 64 pixels into a
# 32-dimensional shared space, and a bag-of-words text encoder maps a caption into the same space. It is
# trained with **your** `info_nce_loss` (temperature 0.1, batches of 128 pairs), so if the loss is wrong, the
# search below will be poor.

# %% nbgrader={"grade": false, "grade_id": "digits_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
from IPython.display import display

from tfscourse import retrieval

digits = retrieval.load_captioned_digits()
print(f"{len(digits)} images, {len(set(digits.captions))} distinct captions")
examples = np.random.default_rng(0).choice(len(digits), size=10, replace=False)
fig = retrieval.digits_figure(digits.images[examples], [digits.captions[i] for i in examples], ncols=5)
display(fig)

# %% nbgrader={"grade": false, "grade_id": "digits_training", "locked": true, "schema_version": 3, "solution": false, "task": false}
config = retrieval.RetrievalConfig()
run = retrieval.train_dual_encoder(digits, info_nce_loss, config)
print(f"trained for {len(run.losses)} epochs in {run.seconds:.1f} s; loss {run.losses[0]:.3f} -> {run.losses[-1]:.3f}")
plt.figure(figsize=(5, 3))
plt.plot(range(1, len(run.losses) + 1), run.losses)
plt.xlabel("epoch")
plt.ylabel("InfoNCE loss (training)")
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "digits_eval_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Evaluation.** The gallery holds one held-out image for each caption that occurs among the test
# images, so caption $i$ describes image $i$ and nothing else in the gallery. Text→image search ranks the
# images for each caption, image→text search ranks the captions for each image. The cell below scores
# them with **your** `cosine_similarity_matrix` and `recall_at_k`; chance level is $k / n$.

# %% nbgrader={"grade": false, "grade_id": "digits_eval", "locked": true, "schema_version": 3, "solution": false, "task": false}
gallery = retrieval.gallery_indices(digits, run.test_indices)
gallery_captions = [digits.captions[i] for i in gallery]
image_emb = run.model.embed_images(digits.images[gallery])  # (G, 32)
text_emb = run.model.embed_texts(gallery_captions)  # (G, 32)
text_to_image = cosine_similarity_matrix(text_emb, image_emb)  # (G captions, G images)
image_to_text = text_to_image.T
print(f"gallery: {len(gallery)} held-out images, one per caption")
print(f"{'':>14}" + "".join(f"{f'R@{k}':>8}" for k in (1, 5, 10)))
for name, similarity in (("text->image", text_to_image), ("image->text", image_to_text)):
    print(f"{name:>14}" + "".join(f"{recall_at_k(similarity, k):8.3f}" for k in (1, 5, 10)))
print(f"{'chance':>14}" + "".join(f"{k / len(gallery):8.3f}" for k in (1, 5, 10)))

# %% [markdown] nbgrader={"grade": false, "grade_id": "search_widget_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Search by typing.** Type a caption (words the model knows: the digit as a word or numeral, *thin*,
# *light*, *thick*, *bold*, *leaning*, *slanted*, *tilted*, *left*, *right*, *upright*, ...) and choose $k$;
# the widget shows the $k$ gallery images whose embeddings are most similar to your caption's under your
# `cosine_similarity_matrix`, each with its true caption and score. Try a digit alone, an attribute alone,
# and contradictory captions.

# %% nbgrader={"grade": false, "grade_id": "search_widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
search = retrieval.show_caption_search(run.model, digits, gallery, cosine_similarity_matrix,
                                       query="a thick seven leaning right", k=8)

# %% [markdown] nbgrader={"grade": true, "grade_id": "search_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Look at the recall table and try the widget. Which part of a caption does the model get
# right most reliably, and which least? Why is recall@1 well below recall@5 here, and what does the
# temperature of the loss control during training?
#
# ### BEGIN SOLUTION
# The digit itself is almost always right (the top images for "seven" are sevens; the wrong digits that
# appear are look-alikes such as a one or an eight with the right slant and ink). The two attributes cause
# the errors, about equally often: they are thirds taken within each class, so an image near a border
# between "thin" and regular, or between "upright" and "leaning", is as close to the neighbouring caption
# as to its own. Recall@1 asks for the exact combination digit + ink + slant among 90 gallery items whose
# nearest competitors differ in one borderline attribute, so the correct image is often second or third;
# recall@5 already covers those near misses. The temperature scales the logits: a small $\tau$ makes the
# softmax over the batch sharp, so the loss concentrates on the hardest negatives and pushes matching
# pairs well above non-matching ones; a large $\tau$ spreads the weight over all negatives and gives a
# smoother but weaker signal. Dividing cosines in $[-1, 1]$ by $\tau = 0.1$ also lets the logits span
# $[-10, 10]$, enough for confident probabilities.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# A cross-modal search is two projections into one space and a similarity; cross-attention reuses the
# projections as query and key maps and adds values and a softmax; cross-lingual alignment is the same
# idea with one map learned from a dictionary, best kept orthogonal unless the dictionary is tiny (here 10
# pairs or fewer in 20 dimensions) or large; and a contrastive
# loss is how such shared spaces are learned from pairs. Before handing in: *Kernel → Restart and run
# all*, check that every visible test passes, then save (on Colab: *File → Download → Download .ipynb*).
#
# *Running time of this solution notebook:* 14–17 s from top to bottom with `jupyter nbconvert --execute`
# (kernel start included) on 2 shared CPU cores, of which training takes 1.4–2.3 s for 60 epochs; the same
# while grading, when the training runs 10 epochs (0.3–0.5 s). Timings on a busy machine are noisy.
