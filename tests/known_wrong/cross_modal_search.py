"""Known-wrong answers for 04_cross_modal_search (see tests/known_wrong/__init__.py)."""

import numpy as np

from tests.nbharness import Wrong

# ---- cosine similarity ------------------------------------------------------------------


def cosine_without_normalisation(A, B):
    """Plain dot products: forgets to divide by the lengths."""
    return np.asarray(A, dtype=float) @ np.asarray(B, dtype=float).T


def cosine_normalises_a_only(A, B):
    """Divides by the lengths of the rows of A but not of B."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, norms, out=np.zeros_like(A), where=norms > 0) @ B.T


def cosine_normalises_columns(A, B):
    """Normalises each column (axis 0) instead of each row vector."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    return (A / np.linalg.norm(A, axis=0, keepdims=True)) @ (B / np.linalg.norm(B, axis=0, keepdims=True)).T


def cosine_nan_on_zero_rows(A, B):
    """Right for non-zero vectors, but a zero vector gives nan."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (A / np.linalg.norm(A, axis=1, keepdims=True)) @ (B / np.linalg.norm(B, axis=1, keepdims=True)).T


# ---- best annotation ----------------------------------------------------------------------


def best_annotation_ignores_metric(I, T, W_i, W_t, metric="cosine"):  # noqa: E741 - the graded signature
    """Always ranks by dot product."""
    return np.argmax((I @ W_i) @ (T @ W_t).T, axis=1)


def best_annotation_over_images(I, T, W_i, W_t, metric="cosine"):  # noqa: E741 - the graded signature
    """Takes the argmax over the images (axis 0): the best image for each sentence."""
    a, b = I @ W_i, T @ W_t
    scores = cosine_similarity_matrix(a, b) if metric == "cosine" else a @ b.T  # noqa: F821
    return np.argmax(scores, axis=0)


def best_annotation_argmin(I, T, W_i, W_t, metric="cosine"):  # noqa: E741 - the graded signature
    """Picks the least similar sentence."""
    a, b = I @ W_i, T @ W_t
    scores = cosine_similarity_matrix(a, b) if metric == "cosine" else a @ b.T  # noqa: F821
    return np.argmin(scores, axis=1)


def best_annotation_last_on_tie(I, T, W_i, W_t, metric="cosine"):  # noqa: E741 - the graded signature
    """Breaks ties towards the largest index (argmax of the reversed scores) instead of the smallest."""
    a, b = np.asarray(I, dtype=float) @ W_i, np.asarray(T, dtype=float) @ W_t
    if metric not in ("cosine", "dot"):
        raise ValueError(metric)
    scores = cosine_similarity_matrix(a, b) if metric == "cosine" else a @ b.T  # noqa: F821
    scores = np.round(scores, 12)  # cosines of parallel vectors may differ in the last bit
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


def best_annotation_cosine_of_images_only(I, T, W_i, W_t, metric="cosine"):  # noqa: E741 - the graded signature
    """'Cosine' that only normalises the image side, which ranks sentences exactly like the dot product."""
    a, b = I @ W_i, T @ W_t
    if metric == "cosine":
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return np.argmax(a @ b.T, axis=1)


# ---- cross-attention ----------------------------------------------------------------------


def cross_attention_softmax_over_images(X_img, X_txt, W_q, W_k, W_v):
    """Normalises each column (over the images) instead of each image's row."""
    scores = (X_img @ W_q) @ (X_txt @ W_k).T / np.sqrt(W_q.shape[1])
    e = np.exp(scores - scores.max(axis=0, keepdims=True))
    weights = e / e.sum(axis=0, keepdims=True)
    return weights @ (X_txt @ W_v), weights


def cross_attention_no_scale(X_img, X_txt, W_q, W_k, W_v):
    """Forgets to divide the scores by sqrt(d_k)."""
    scores = (X_img @ W_q) @ (X_txt @ W_k).T
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights = e / e.sum(axis=1, keepdims=True)
    return weights @ (X_txt @ W_v), weights


def cross_attention_values_are_keys(X_img, X_txt, W_q, W_k, W_v):
    """Uses the keys as values (no value projection)."""
    K = X_txt @ W_k
    scores = (X_img @ W_q) @ K.T / np.sqrt(W_q.shape[1])
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights = e / e.sum(axis=1, keepdims=True)
    return weights @ K, weights


def cross_attention_unstable(X_img, X_txt, W_q, W_k, W_v):
    """Exponentiates the raw scores: overflows to nan on large scores."""
    scores = (X_img @ W_q) @ (X_txt @ W_k).T / np.sqrt(W_q.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(scores)
        weights = e / e.sum(axis=1, keepdims=True)
    return weights @ (X_txt @ W_v), weights


# ---- recall@k -----------------------------------------------------------------------------


def recall_ties_as_hits(similarity, k):
    """Counts only items scoring strictly higher: a tie is a hit."""
    S = np.asarray(similarity, dtype=float)
    n = S.shape[0]
    better = (S > S[np.arange(n), np.arange(n)][:, None]).sum(axis=1)
    return float(np.mean(better < k))


def recall_argsort_top_k(similarity, k):
    """Looks for i in the first k columns of an argsort: ties are broken by position."""
    S = np.asarray(similarity, dtype=float)
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return float(np.mean([i in top[i] for i in range(S.shape[0])]))


def recall_off_by_one(similarity, k):
    """Allows k other items at least as good (rank <= k + 1)."""
    S = np.asarray(similarity, dtype=float)
    n = S.shape[0]
    others = (S >= S[np.arange(n), np.arange(n)][:, None]).sum(axis=1) - 1
    return float(np.mean(others <= k))


def recall_over_columns(similarity, k):
    """Ranks the queries for each item (columns) instead of the items for each query."""
    S = np.asarray(similarity, dtype=float)
    n = S.shape[0]
    S = S[:, :n]
    others = (S >= S[np.arange(n), np.arange(n)][None, :]).sum(axis=0) - 1
    return float(np.mean(others < k))


# ---- alignment losses ----------------------------------------------------------------------


def alignment_sum_of_squares(X, Y, W):
    """The squared loss instead of the sheet's sum of distances."""
    return float(np.sum((X @ W - Y) ** 2))


def alignment_frobenius(X, Y, W):
    """The Frobenius norm ||XW - Y||_F: square root of the total, not a sum of distances."""
    return float(np.sqrt(np.sum((X @ W - Y) ** 2)))


def alignment_mean_distance(X, Y, W):
    """Averages the distances instead of summing them."""
    return float(np.mean(np.linalg.norm(X @ W - Y, axis=1)))


def alignment_column_norms(X, Y, W):
    """Sums the norms of the columns (dimensions) instead of the rows (words)."""
    return float(np.linalg.norm(X @ W - Y, axis=0).sum())


def alignment_mse(X, Y, W):
    """The mean squared error over all entries (a candidate of the table: 5.8571 on the sheet's projection)."""
    residual = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) - np.asarray(Y, dtype=float)
    return float(np.mean(residual ** 2))


def squared_loss_frobenius(X, Y, W):
    """Forgets to square: returns ||XW - Y||_F."""
    return float(np.linalg.norm(X @ W - Y))


def squared_loss_mean(X, Y, W):
    """Mean squared error over all entries instead of the sum."""
    return float(np.mean((X @ W - Y) ** 2))


def squared_loss_half(X, Y, W):
    """Half the sum of squares (a common convention, not this notebook's)."""
    return float(0.5 * np.sum((X @ W - Y) ** 2))


def squared_loss_of_distances(X, Y, W):
    """Squares the sum of the distances instead of summing the squared distances."""
    return float(np.linalg.norm(X @ W - Y, axis=1).sum() ** 2)


# ---- learning the map -----------------------------------------------------------------------


def fit_normal_equations(X, Y):
    """Solves X^T X W = X^T Y directly: fails when X^T X is singular."""
    return np.linalg.solve(X.T @ X, X.T @ Y)


def fit_cross_covariance(X, Y):
    """X^T Y without inverting anything."""
    return X.T @ Y


def fit_orthogonal(X, Y):
    """Returns the Procrustes map where the unconstrained least-squares map is asked for."""
    U, _, Vt = np.linalg.svd(X.T @ Y, full_matrices=False)
    return U @ Vt


def procrustes_least_squares(X, Y):
    """Procrustes without the orthogonality constraint: plain least squares."""
    return np.linalg.lstsq(X, Y, rcond=None)[0]


def procrustes_keeps_singular_values(X, Y):
    """U S V^T: just X^T Y again, not orthogonal."""
    U, S, Vt = np.linalg.svd(X.T @ Y)
    return U @ np.diag(S) @ Vt


def procrustes_transposed(X, Y):
    """V U^T: the inverse rotation (the map from Y to X)."""
    U, _, Vt = np.linalg.svd(X.T @ Y)
    return Vt.T @ U.T


def procrustes_normalised_cross_covariance(X, Y):
    """X^T Y scaled to unit Frobenius norm: not orthogonal either."""
    M = X.T @ Y
    return M / np.linalg.norm(M)


# ---- InfoNCE --------------------------------------------------------------------------------


def info_nce_temperature_multiplied(image_emb, text_emb, temperature):
    """Multiplies the logits by the temperature instead of dividing."""
    import torch
    import torch.nn.functional as F

    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T * temperature
    y = torch.arange(len(logits))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def info_nce_temperature_before_normalising(image_emb, text_emb, temperature):
    """Divides the embeddings by the temperature before normalising, which cancels it."""
    import torch
    import torch.nn.functional as F

    logits = F.normalize(image_emb / temperature, dim=-1) @ F.normalize(text_emb / temperature, dim=-1).T
    y = torch.arange(len(logits))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def info_nce_no_normalisation(image_emb, text_emb, temperature):
    """Uses raw dot products instead of cosines."""
    import torch
    import torch.nn.functional as F

    logits = image_emb @ text_emb.T / temperature
    y = torch.arange(len(logits))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def info_nce_image_to_text_only(image_emb, text_emb, temperature):
    """Only the image->text direction: not symmetric."""
    import torch
    import torch.nn.functional as F

    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(logits)))


def info_nce_softmax_same_axis_twice(image_emb, text_emb, temperature):
    """Both terms normalise over the images (the wrong axis for the image->text term)."""
    import torch
    import torch.nn.functional as F

    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T / temperature
    y = torch.arange(len(logits))
    log_p = torch.log_softmax(logits, dim=0)  # over images, for every column
    return -(log_p[y, y].mean() + log_p[y, y].mean()) / 2


def info_nce_summed(image_emb, text_emb, temperature):
    """Sums over the batch instead of averaging."""
    import torch
    import torch.nn.functional as F

    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T / temperature
    y = torch.arange(len(logits))
    return (F.cross_entropy(logits, y, reduction="sum") + F.cross_entropy(logits.T, y, reduction="sum")) / 2


def info_nce_detached(image_emb, text_emb, temperature):
    """Right value, computed in NumPy: no gradient reaches the encoders."""
    import numpy as np
    import torch

    u = image_emb.detach().numpy()
    v = text_emb.detach().numpy()
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    L = u @ v.T / temperature
    rows = np.log(np.exp(L).sum(axis=1)) - np.diag(L)
    cols = np.log(np.exp(L).sum(axis=0)) - np.diag(L)
    return torch.tensor((rows.mean() + cols.mean()) / 2)


_SHEET_PROJECTION = np.array([[0.0216, -0.7099, 2.9810], [3.2295, 4.8086, -0.1822], [-0.3033, 1.3120, -3.2315]])
_X_DE = np.array([[-0.7085, -0.8577, 1.3898], [-0.4311, -1.6566, -1.9603], [1.5719, -0.5320, -0.7148]])
_W_DE_EN = np.array([[-0.8262, -0.2042, -1.8096], [-0.7249, -1.2263, -0.5002], [-0.8531, -1.3717, 0.9136]])
_Q7_A = np.array([[0.2, -1.5, 0.6, 0.3], [-0.4, -0.5, 1.2, -0.1]]) @ np.array(
    [[0.6, 0.3, -0.2], [1.3, 0.3, -0.6], [0.8, 0.2, -0.3], [0.4, 0.4, 0.7]])
_Q7_B = np.array([[0.9, 0.3], [-0.8, -0.1], [0.3, -0.5]]) @ np.array([[-1.2, 0.5, 0.8], [0.4, -0.1, -1.6]])
_Q7_DOT = _Q7_A @ _Q7_B.T

CASES = [
    Wrong("cosine_similarity_matrix", cosine_without_normalisation, pitfall=True),
    Wrong("cosine_similarity_matrix", cosine_normalises_a_only, pitfall=True),
    Wrong("cosine_similarity_matrix", cosine_normalises_columns, pitfall=True),
    Wrong("cosine_similarity_matrix", cosine_nan_on_zero_rows, pitfall=True),
    Wrong("best_annotation", best_annotation_ignores_metric, pitfall=True),
    Wrong("best_annotation", best_annotation_over_images, pitfall=True),
    Wrong("best_annotation", best_annotation_argmin, pitfall=True),
    Wrong("best_annotation", best_annotation_cosine_of_images_only, pitfall=True),
    Wrong("best_annotation", best_annotation_last_on_tie, pitfall=True),
    Wrong("q7_cosine_scores", _Q7_DOT, ("test_q7_scores",), "cosine scores that are the dot products"),
    Wrong("q7_cosine_scores", _Q7_DOT / np.linalg.norm(_Q7_B, axis=1)[None, :], ("test_q7_scores",),
          "cosine normalised by the sentence lengths only"),
    Wrong("q7_dot_scores", np.round(_Q7_DOT, 1), ("test_q7_scores",), "dot products rounded to one decimal"),
    Wrong("q7_dot_scores", _Q7_DOT / np.sqrt(3), ("test_q7_scores",), "dot products scaled by 1/sqrt(3) as in attention"),
    Wrong("answer_q7", {"A", "D"}, ("test_concept_q7",)),
    Wrong("answer_q7", {"A", "C", "D", "E"}, ("test_concept_q7",)),
    Wrong("answer_q7", {"B", "D", "E"}, ("test_concept_q7",)),
    Wrong("cross_attention", cross_attention_softmax_over_images, pitfall=True),
    Wrong("cross_attention", cross_attention_no_scale, pitfall=True),
    Wrong("cross_attention", cross_attention_values_are_keys, pitfall=True),
    Wrong("cross_attention", cross_attention_unstable, pitfall=True),
    Wrong("recall_at_k", recall_ties_as_hits, pitfall=True),
    Wrong("recall_at_k", recall_argsort_top_k, pitfall=True),
    Wrong("recall_at_k", recall_off_by_one, pitfall=True),
    Wrong("recall_at_k", recall_over_columns, pitfall=True),
    Wrong("alignment_loss", alignment_sum_of_squares, pitfall=True),
    Wrong("alignment_loss", alignment_frobenius, pitfall=True),
    Wrong("alignment_loss", alignment_mean_distance, pitfall=True),
    Wrong("alignment_loss", alignment_column_norms, pitfall=True),
    Wrong("alignment_loss", alignment_mse, pitfall=True),
    Wrong("squared_alignment_loss", squared_loss_frobenius, pitfall=True),
    Wrong("squared_alignment_loss", squared_loss_mean, pitfall=True),
    Wrong("squared_alignment_loss", squared_loss_half, pitfall=True),
    Wrong("squared_alignment_loss", squared_loss_of_distances, pitfall=True),
    Wrong("projected_de", _SHEET_PROJECTION, ("test_sheet_projection",), "the sheet's rounded projection", pitfall=True),
    Wrong("projected_de", _W_DE_EN @ _X_DE, ("test_sheet_projection",), "the product in the wrong order"),
    Wrong("loss_de", 12.1270, ("test_sheet_projection",), "the sheet's 12.1270 typed in", pitfall=True),
    Wrong("squared_loss_de", 7.2602, ("test_sheet_projection",), "the Frobenius norm instead of the squared loss"),
    Wrong("fit_linear_map", fit_normal_equations, pitfall=True),
    Wrong("fit_linear_map", fit_cross_covariance, pitfall=True),
    Wrong("fit_linear_map", fit_orthogonal, pitfall=True),
    Wrong("procrustes", procrustes_least_squares, pitfall=True),
    Wrong("procrustes", procrustes_keeps_singular_values, pitfall=True),
    Wrong("procrustes", procrustes_transposed, pitfall=True),
    Wrong("procrustes", procrustes_normalised_cross_covariance, pitfall=True),
    Wrong("answer_q9", {"A", "B"}, ("test_concept_q9",)),
    Wrong("answer_q9", {"A", "B", "C", "D"}, ("test_concept_q9",)),
    Wrong("answer_q9", {"B", "D"}, ("test_concept_q9",)),
    Wrong("info_nce_loss", info_nce_temperature_multiplied, pitfall=True),
    Wrong("info_nce_loss", info_nce_temperature_before_normalising, pitfall=True),
    Wrong("info_nce_loss", info_nce_no_normalisation, pitfall=True),
    Wrong("info_nce_loss", info_nce_image_to_text_only, pitfall=True),
    Wrong("info_nce_loss", info_nce_softmax_same_axis_twice, pitfall=True),
    Wrong("info_nce_loss", info_nce_summed, pitfall=True),
    Wrong("info_nce_loss", info_nce_detached, pitfall=True),
]
