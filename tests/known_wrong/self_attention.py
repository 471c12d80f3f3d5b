"""Known-wrong answers for 01_self_attention (see tests/known_wrong/__init__.py)."""

import numpy as np

from tests.nbharness import Wrong

# ---- softmax -------------------------------------------------------------


def softmax_unstable(x, axis=-1):
    """No maximum subtracted: overflows to nan on large logits."""
    e = np.exp(np.asarray(x, dtype=float))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_ignores_axis(x, axis=-1):
    """Always normalises over the last axis, whatever axis is asked for."""
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_global_max(x, axis=-1):
    """Subtracts the maximum of the whole array: rows far below it underflow to 0/0."""
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max())
    return e / e.sum(axis=axis, keepdims=True)


def softmax_sum_all(x, axis=-1):
    """Divides by the sum over the whole array instead of along the axis."""
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum()


# ---- scaled dot-product attention -----------------------------------------


def sdpa_no_scaling(Q, K, V, mask=None):
    """Forgets to divide the scores by sqrt(d_k)."""
    scores = Q @ K.T
    weights = softmax(scores, axis=-1)  # noqa: F821
    if mask is not None:  # masked as the solution does (this case has one mistake only)
        has_key = mask.any(axis=-1, keepdims=True)
        weights = softmax(np.where(has_key, np.where(mask, scores, -np.inf), 0.0), axis=-1) * mask  # noqa: F821
    return weights @ V, weights


def sdpa_scaled_by_d_v(Q, K, V, mask=None):
    """Scales by sqrt(d_v) instead of sqrt(d_k)."""
    scores = Q @ K.T / np.sqrt(V.shape[1])
    weights = softmax(scores, axis=-1)  # noqa: F821
    if mask is not None:  # masked as the solution does (this case has one mistake only)
        has_key = mask.any(axis=-1, keepdims=True)
        weights = softmax(np.where(has_key, np.where(mask, scores, -np.inf), 0.0), axis=-1) * mask  # noqa: F821
    return weights @ V, weights


def sdpa_softmax_over_queries(Q, K, V, mask=None):
    """Normalises each column (over the queries) instead of each row."""
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores, axis=0)  # noqa: F821
    return weights @ V, weights


def sdpa_mask_after_softmax(Q, K, V, mask=None):
    """Zeroes masked weights after the softmax, so rows no longer sum to one."""
    weights = softmax(Q @ K.T / np.sqrt(Q.shape[1]), axis=-1)  # noqa: F821
    if mask is not None:
        weights = weights * mask
    return weights @ V, weights


def sdpa_nan_on_empty_rows(Q, K, V, mask=None):
    """Masks correctly but lets a fully masked row become nan."""
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ V, weights


def sdpa_scaled_by_d_k(Q, K, V, mask=None):
    """Divides the scores by d_k instead of sqrt(d_k)."""
    scores = Q @ K.T / Q.shape[1]
    weights = softmax(scores, axis=-1)  # noqa: F821
    if mask is not None:  # masked as the solution does (this case has one mistake only)
        has_key = mask.any(axis=-1, keepdims=True)
        weights = softmax(np.where(has_key, np.where(mask, scores, -np.inf), 0.0), axis=-1) * mask  # noqa: F821
    return weights @ V, weights


def sdpa_own_unstable_softmax(Q, K, V, mask=None):
    """Writes its own softmax without subtracting the maximum (overflows on large scores)."""
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:  # masked as the solution does (this case has one mistake only)
        scores = np.where(mask.any(axis=-1, keepdims=True), np.where(mask, scores, -np.inf), 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(scores)
        weights = e / e.sum(axis=-1, keepdims=True)
    if mask is not None:
        weights = weights * mask
    return weights @ V, weights


def sdpa_mask_large_negative(Q, K, V, mask=None):
    """Masks with -1e9 instead of -inf: a row with no allowed key gets uniform weights, not zeros."""
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = softmax(scores, axis=-1)  # noqa: F821
    return weights @ V, weights


def sdpa_mask_inverted(Q, K, V, mask=None):
    """Reads True in the mask as 'hidden'."""
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:
        has_key = (~mask).any(axis=-1, keepdims=True)
        scores = np.where(has_key, np.where(mask, -np.inf, scores), 0.0)
        weights = softmax(scores, axis=-1) * ~mask  # noqa: F821
    else:
        weights = softmax(scores, axis=-1)  # noqa: F821
    return weights @ V, weights


# ---- self-attention ------------------------------------------------------


def self_attention_transposed(X, W_q, W_k, W_v):
    """Uses the column-vector convention (W X^T) without transposing back."""
    Q, K, V = (W.T @ X.T for W in (W_q, W_k, W_v))
    out, w = scaled_dot_product_attention(Q.T, K.T, V.T)  # noqa: F821
    return out, w.T


def self_attention_swapped_qk(X, W_q, W_k, W_v):
    """Builds the queries with W_k and the keys with W_q."""
    return scaled_dot_product_attention(X @ W_k, X @ W_q, X @ W_v)  # noqa: F821


def self_attention_values_from_input(X, W_q, W_k, W_v):
    """Attends over X itself instead of V = X W_v."""
    return scaled_dot_product_attention(X @ W_q, X @ W_k, X)  # noqa: F821


def self_attention_no_scale(X, W_q, W_k, W_v):
    """Skips the 1/sqrt(d_k) scaling."""
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    w = softmax(Q @ K.T)  # noqa: F821
    return w @ V, w


# ---- positional encoding -------------------------------------------------


def pe_exponent_per_dimension(num_positions, d_model):
    """The handout's slip: exponent j/d_model with the dimension index j, not 2i/d_model."""
    pe = np.zeros((num_positions, d_model))
    for pos in range(num_positions):
        for j in range(d_model):
            angle = pos / 10000 ** (j / d_model)
            pe[pos, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return pe


def pe_sin_cos_swapped(num_positions, d_model):
    """Cosine in the even dimensions and sine in the odd ones."""
    pos = np.arange(num_positions)[:, None]
    angles = pos / 10000 ** (np.arange(0, d_model, 2) / d_model)
    pe = np.zeros((num_positions, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.cos(angles), np.sin(angles)
    return pe


def pe_halves(num_positions, d_model):
    """Sines in the first half and cosines in the second half (not interleaved)."""
    pos = np.arange(num_positions)[:, None]
    angles = pos / 10000 ** (np.arange(0, d_model, 2) / d_model)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def pe_one_based(num_positions, d_model):
    """Counts positions from 1."""
    pos = np.arange(1, num_positions + 1)[:, None]
    angles = pos / 10000 ** (np.arange(0, d_model, 2) / d_model)
    pe = np.zeros((num_positions, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


# ---- rope ----------------------------------------------------------------


def rope_wrong_direction(x):
    """Rotates by -p theta (the sine terms with the wrong sign)."""
    n, d = x.shape
    angles = np.arange(n)[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)
    out = np.empty_like(x, dtype=float)
    out[:, 0::2] = x[:, 0::2] * np.cos(angles) + x[:, 1::2] * np.sin(angles)
    out[:, 1::2] = -x[:, 0::2] * np.sin(angles) + x[:, 1::2] * np.cos(angles)
    return out


def rope_halves(x):
    """Pairs dimension j with j + d/2 (the 'halves' layout) instead of (2i, 2i+1)."""
    n, d = x.shape
    angles = np.arange(n)[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)
    first, second = x[:, : d // 2], x[:, d // 2:]
    return np.concatenate([first * np.cos(angles) - second * np.sin(angles),
                           first * np.sin(angles) + second * np.cos(angles)], axis=1)


def rope_exponent_per_dimension(x):
    """Frequency 10000^(-i/d) with the pair index i instead of 10000^(-2i/d)."""
    n, d = x.shape
    angles = np.arange(n)[:, None] * 10000.0 ** (-np.arange(d // 2) / d)
    out = np.empty_like(x, dtype=float)
    out[:, 0::2] = x[:, 0::2] * np.cos(angles) - x[:, 1::2] * np.sin(angles)
    out[:, 1::2] = x[:, 0::2] * np.sin(angles) + x[:, 1::2] * np.cos(angles)
    return out


def rope_one_based(x):
    """Counts positions from 1, so the first row is rotated too."""
    n, d = x.shape
    angles = np.arange(1, n + 1)[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)
    out = np.empty_like(x, dtype=float)
    out[:, 0::2] = x[:, 0::2] * np.cos(angles) - x[:, 1::2] * np.sin(angles)
    out[:, 1::2] = x[:, 0::2] * np.sin(angles) + x[:, 1::2] * np.cos(angles)
    return out


# ---- argmax attention ----------------------------------------------------


def argmax_last_tie(q, K, V):
    """Takes the last key on ties."""
    scores = (K @ q).tolist()
    best = len(scores) - 1 - scores[::-1].index(max(scores))
    return V[best]


def argmax_of_values(q, K, V):
    """Picks the value with the largest dot product with q, ignoring the keys."""
    return V[int(np.argmax(V @ q))] if V.shape[1] == q.shape[0] else V[0]


def argmin_attention(q, K, V):
    """Picks the least similar key."""
    return V[int(np.argmin(K @ q))]


def argmax_softmax_average(q, K, V):
    """Returns the softmax average, not the single best value."""
    return softmax(K @ q) @ V  # noqa: F821


# ---- extraction matrix ---------------------------------------------------


def extraction_projection_only(A):
    """A A^T without the factor 2: recovers v_a / 2."""
    return A @ A.T


def extraction_gram(A):
    """2 A^T A, the m x m Gram matrix instead of the projection."""
    return 2 * A.T @ A


def extraction_identity_times_two(A):
    """2 I: doubles the average instead of projecting it."""
    return 2 * np.eye(A.shape[0])


# ---- batched attention ---------------------------------------------------


def batched_padding_on_queries(Q, K, V, key_padding=None, causal=False):
    """Applies the padding mask to the queries (rows) instead of the keys (columns)."""
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool)
    if key_padding is not None:
        allowed = allowed & np.asarray(key_padding, dtype=bool)[..., :, None]
    if causal:
        allowed = allowed & np.tril(np.ones((n_q, n_k), dtype=bool))
    has_key = allowed.any(axis=-1, keepdims=True)
    weights = softmax(np.where(has_key, np.where(allowed, scores, -np.inf), 0.0), axis=-1) * allowed  # noqa: F821
    return weights @ V, weights


def batched_causal_upper(Q, K, V, key_padding=None, causal=False):
    """Keeps the upper triangle: each query sees the future instead of the past."""
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool)
    if key_padding is not None:
        allowed = allowed & np.asarray(key_padding, dtype=bool)[..., None, :]
    if causal:
        allowed = allowed & np.triu(np.ones((n_q, n_k), dtype=bool))
    has_key = allowed.any(axis=-1, keepdims=True)
    weights = softmax(np.where(has_key, np.where(allowed, scores, -np.inf), 0.0), axis=-1) * allowed  # noqa: F821
    return weights @ V, weights


def batched_padding_ignored(Q, K, V, key_padding=None, causal=False):
    """Never applies the padding mask."""
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool)
    if causal:
        allowed = allowed & np.tril(np.ones((n_q, n_k), dtype=bool))
    weights = softmax(np.where(allowed, scores, -np.inf), axis=-1)  # noqa: F821
    return weights @ V, weights


def batched_softmax_over_queries(Q, K, V, key_padding=None, causal=False):
    """Normalises over the queries (axis -2) instead of the keys."""
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool)
    if key_padding is not None:
        allowed = allowed & np.asarray(key_padding, dtype=bool)[..., None, :]
    if causal:
        allowed = allowed & np.tril(np.ones((n_q, n_k), dtype=bool))
    has_col = allowed.any(axis=-2, keepdims=True)
    weights = softmax(np.where(has_col, np.where(allowed, scores, -np.inf), 0.0), axis=-2) * allowed  # noqa: F821
    return weights @ V, weights


def batched_nan_on_empty_rows(Q, K, V, key_padding=None, causal=False):
    """Masks correctly but lets a query with no allowed key become nan."""
    n_q, n_k = Q.shape[-2], K.shape[-2]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool)
    if key_padding is not None:
        allowed = allowed & np.asarray(key_padding, dtype=bool)[..., None, :]
    if causal:
        allowed = allowed & np.tril(np.ones((n_q, n_k), dtype=bool))
    scores = np.where(allowed, scores, -np.inf)
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ V, weights


# ---- causal mask ---------------------------------------------------------


def causal_mask_upper(n):
    """Upper triangle: lets each token see the future instead of the past."""
    return np.triu(np.ones((n, n), dtype=bool))


def causal_mask_no_diagonal(n):
    """Strictly lower triangle: a token may not see itself (off by one)."""
    return np.tril(np.ones((n, n), dtype=bool), k=-1)


def causal_mask_inverted(n):
    """True marks the hidden positions (the opposite convention)."""
    return np.triu(np.ones((n, n), dtype=bool), k=1)


def causal_mask_float(n):
    """Right pattern, but floats instead of booleans."""
    return np.tril(np.ones((n, n)))


# ---- multiply-adds -------------------------------------------------------


def multiply_adds_without_weighted_sum(n, h):
    """Forgets the weighted sum of the values."""
    return 3 * n * h * h + n * n * h


def multiply_adds_scores_only(n, h):
    """Counts only the n x n score matrix."""
    return n * n * h


def multiply_adds_with_output_projection(n, h):
    """Adds an output projection that this single-head layer does not have."""
    return 4 * n * h * h + 2 * n * n * h


SDPA = ("test_scaled_dot_product_attention",)
BATCHED = ("test_batched_attention",)
SDPA_MASK = ("test_scaled_dot_product_attention_mask",)
SOFTMAX_IN_SDPA = ("scaled_dot_product_attention (and batched_attention) call the student's softmax inside the kernel, "
                   "where the judge cannot put a reference in its place: their tests fail too")

CASES = [
    Wrong("softmax", softmax_unstable, pitfall=True, also_costs=SDPA,
          why="no maximum subtracted: overflows to nan on large logits; " + SOFTMAX_IN_SDPA),
    Wrong("softmax", softmax_ignores_axis, pitfall=True),
    Wrong("softmax", softmax_global_max, pitfall=True),
    Wrong("softmax", softmax_sum_all, pitfall=True, also_costs=SDPA + SDPA_MASK + BATCHED,
          why="divides by the sum over the whole array instead of along the axis; " + SOFTMAX_IN_SDPA),
    Wrong("scaled_dot_product_attention", sdpa_no_scaling, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_scaled_by_d_v, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_scaled_by_d_k, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_own_unstable_softmax, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_softmax_over_queries, pitfall=True, also_costs=SDPA_MASK,
          why="normalises each column (over the queries) instead of each row; the mask test then fails too, because "
              "it checks that each ROW is renormalised over its allowed keys, which a column softmax never does"),
    Wrong("scaled_dot_product_attention", sdpa_mask_after_softmax, SDPA_MASK, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_nan_on_empty_rows, SDPA_MASK, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_mask_large_negative, SDPA_MASK, pitfall=True),
    Wrong("scaled_dot_product_attention", sdpa_mask_inverted, SDPA_MASK, pitfall=True),
    Wrong("self_attention", self_attention_transposed, pitfall=True),
    Wrong("self_attention", self_attention_swapped_qk, pitfall=True),
    Wrong("self_attention", self_attention_values_from_input, pitfall=True),
    Wrong("self_attention", self_attention_no_scale, pitfall=True),
    Wrong("positional_encoding", pe_exponent_per_dimension, pitfall=True),
    Wrong("positional_encoding", pe_sin_cos_swapped, pitfall=True),
    Wrong("positional_encoding", pe_halves, pitfall=True),
    Wrong("positional_encoding", pe_one_based, pitfall=True),
    Wrong("rope", rope_wrong_direction, pitfall=True),
    Wrong("rope", rope_halves, pitfall=True),
    Wrong("rope", rope_exponent_per_dimension, pitfall=True),
    Wrong("rope", rope_one_based, pitfall=True),
    Wrong("argmax_attention", argmax_last_tie, pitfall=True),
    Wrong("argmax_attention", argmax_of_values, pitfall=True),
    Wrong("argmax_attention", argmin_attention, pitfall=True),
    Wrong("argmax_attention", argmax_softmax_average, pitfall=True),
    Wrong("extraction_matrix", extraction_projection_only, pitfall=True),
    Wrong("extraction_matrix", extraction_gram, pitfall=True),
    Wrong("extraction_matrix", extraction_identity_times_two, pitfall=True),
    Wrong("batched_attention", batched_padding_on_queries, pitfall=True),
    Wrong("batched_attention", batched_causal_upper, pitfall=True),
    Wrong("batched_attention", batched_padding_ignored, pitfall=True),
    Wrong("batched_attention", batched_softmax_over_queries, pitfall=True),
    Wrong("batched_attention", batched_nan_on_empty_rows, pitfall=True),
    Wrong("causal_mask", causal_mask_upper, pitfall=True),
    Wrong("causal_mask", causal_mask_no_diagonal, pitfall=True),
    Wrong("causal_mask", causal_mask_inverted, pitfall=True),
    Wrong("causal_mask", causal_mask_float, pitfall=True),
    Wrong("attention_multiply_adds", multiply_adds_without_weighted_sum, pitfall=True),
    Wrong("attention_multiply_adds", multiply_adds_scores_only, pitfall=True),
    Wrong("attention_multiply_adds", multiply_adds_with_output_projection, pitfall=True),
    # numbers the student types in
    Wrong("cat_weights", np.array([0.1, 0.2, 0.2, 0.2, 0.1, 0.2]), ("test_cat_answers",), "weights that do not follow the table",
          pitfall=True),
    Wrong("cat_weights", np.array([1, 2, 2, 2, 1, 1]) / 9, ("test_cat_answers",), "scores normalised linearly instead of by softmax",
          pitfall=True),
    Wrong("cat_weights", np.exp([0, 1, 1, 1, 0, 0]) / np.exp([0, 1, 1, 1, 0, 0]).sum(), ("test_cat_answers",), "softmax without the sqrt(2) scale",
          pitfall=True),
    Wrong("weight_on_a", 0.5, ("test_weight_on_a",), "the handout's claim of exactly 1/2",
          pitfall=True),
    Wrong("weight_on_a", float(np.exp(1) / (2 * np.exp(1) + 2)), ("test_weight_on_a",), "no 1/sqrt(d_k) scale",
          pitfall=True),
    Wrong("weight_on_a", float(np.exp(0.5) / (np.exp(0.5) + 3)), ("test_weight_on_a",), "only k_a in the query"),
    Wrong("answer_q1", {"A"}, ("test_concept_q1",)),
    Wrong("answer_q1", {"A", "B"}, ("test_concept_q1",)),
    Wrong("answer_q1", set(), ("test_concept_q1",)),
    Wrong("answer_q2", {"B"}, ("test_concept_q2",)),
    Wrong("answer_q2", {"A", "B"}, ("test_concept_q2",)),
    Wrong("answer_q2", set(), ("test_concept_q2",)),
    Wrong("answer_q3", {"B"}, ("test_concept_q3",)),
    Wrong("answer_q3", {"A", "B"}, ("test_concept_q3",)),
    Wrong("answer_q3", set(), ("test_concept_q3",)),
    Wrong("answer_q4", {"A", "B", "C", "D"}, ("test_concept_q4",)),
    Wrong("answer_q4", {"C", "D"}, ("test_concept_q4",)),
    Wrong("answer_q4", {"A", "C"}, ("test_concept_q4",)),
]
