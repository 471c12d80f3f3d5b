"""Known-wrong answers for 02_multihead_attention (see tests/known_wrong/__init__.py)."""

import numpy as np

from tests.nbharness import Wrong

# ---- mha_shapes ----------------------------------------------------------


def shapes_concat_with_m_qk(S, E, H, M_QK, M_V):
    """The homework sheet's slip: concatenation and W_O sized with M_QK instead of M_V."""
    return {"W_Q": (E, M_QK), "W_K": (E, M_QK), "W_V": (E, M_V), "Q_h": (S, M_QK), "K_h": (S, M_QK),
            "V_h": (S, M_V), "scores": (S, S), "weights": (S, S), "head_output": (S, M_V),
            "concat": (S, H * M_QK), "W_O": (H * M_QK, E), "output": (S, E)}


def shapes_heads_not_split(S, E, H, M_QK, M_V):
    """Gives the stacked projections of all heads as if they were one head's."""
    return {"W_Q": (E, H * M_QK), "W_K": (E, H * M_QK), "W_V": (E, H * M_V), "Q_h": (S, H * M_QK),
            "K_h": (S, H * M_QK), "V_h": (S, H * M_V), "scores": (S, S), "weights": (S, S),
            "head_output": (S, H * M_V), "concat": (S, H * M_V), "W_O": (H * M_V, E), "output": (S, E)}


def shapes_column_convention(S, E, H, M_QK, M_V):
    """Column-vector convention: every matrix transposed."""
    return {"W_Q": (M_QK, E), "W_K": (M_QK, E), "W_V": (M_V, E), "Q_h": (M_QK, S), "K_h": (M_QK, S),
            "V_h": (M_V, S), "scores": (S, S), "weights": (S, S), "head_output": (M_V, S),
            "concat": (H * M_V, S), "W_O": (E, H * M_V), "output": (E, S)}


def shapes_scores_by_key_size(S, E, H, M_QK, M_V):
    """Confuses the score matrix with the queries: (S, M_QK)."""
    return {"W_Q": (E, M_QK), "W_K": (E, M_QK), "W_V": (E, M_V), "Q_h": (S, M_QK), "K_h": (S, M_QK),
            "V_h": (S, M_V), "scores": (S, M_QK), "weights": (S, M_QK), "head_output": (S, M_V),
            "concat": (S, H * M_V), "W_O": (H * M_V, E), "output": (S, E)}


# ---- mha_param_count -----------------------------------------------------


def params_without_output(E, H, M_QK, M_V, bias=False):
    """Forgets W_O."""
    return H * (2 * E * M_QK + E * M_V) + (H * (2 * M_QK + M_V) if bias else 0)


def params_output_with_m_qk(E, H, M_QK, M_V, bias=False):
    """Sizes W_O with H * M_QK rows."""
    return H * (2 * E * M_QK + E * M_V) + H * M_QK * E + (H * (2 * M_QK + M_V) + E if bias else 0)


def params_bias_ignored(E, H, M_QK, M_V, bias=False):
    """Never counts the biases."""
    return H * (2 * E * M_QK + E * M_V) + H * M_V * E


def params_one_head(E, H, M_QK, M_V, bias=False):
    """Counts the projections of one head only."""
    return 2 * E * M_QK + E * M_V + H * M_V * E + (2 * M_QK + M_V + E if bias else 0)


# ---- multi_head_attention ------------------------------------------------


def mha_heads_not_split(X, W_Q, W_K, W_V, W_O, mask=None):
    """One big head: all heads' queries and keys in one dot product, the same weights for every head."""
    H, E, M_QK = W_Q.shape
    Q = X @ W_Q.transpose(1, 0, 2).reshape(E, -1)  # (S, H*M_QK)
    K = X @ W_K.transpose(1, 0, 2).reshape(E, -1)
    V = X @ W_V.transpose(1, 0, 2).reshape(E, -1)
    scores = Q @ K.T / np.sqrt(M_QK)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821 - the notebook's softmax
    return (w @ V) @ W_O, np.stack([w] * H)


def mha_concat_wrong_order(X, W_Q, W_K, W_V, W_O, mask=None):
    """Reshapes (H, S, M_V) to (S, H*M_V) without moving the head axis: rows of different tokens get mixed."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    heads = w @ V
    return heads.reshape(X.shape[0], -1) @ W_O, w


def mha_concat_heads_reversed(X, W_Q, W_K, W_V, W_O, mask=None):
    """Concatenates the heads last one first."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    heads = w @ V
    return np.concatenate(list(heads[::-1]), axis=1) @ W_O, w


def mha_mask_ignored(X, W_Q, W_K, W_V, W_O, mask=None):
    """Never applies the mask."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    w = softmax(Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1]))  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_scaled_by_sqrt_e(X, W_Q, W_K, W_V, W_O, mask=None):
    """Scales the scores by sqrt(E), the model size, instead of sqrt(M_QK)."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(X.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_scaled_by_sqrt_m_v(X, W_Q, W_K, W_V, W_O, mask=None):
    """Scales the scores by sqrt(M_V) instead of sqrt(M_QK)."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_V.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_softmax_over_queries(X, W_Q, W_K, W_V, W_O, mask=None):
    """Normalises over the queries (axis -2) instead of the keys."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores, axis=-2)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_no_scaling(X, W_Q, W_K, W_V, W_O, mask=None):
    """Forgets the 1/sqrt(M_QK) scaling."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_mask_after_softmax(X, W_Q, W_K, W_V, W_O, mask=None):
    """Zeroes the masked weights after the softmax, so rows no longer sum to one."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    w = softmax(Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1]))  # noqa: F821
    if mask is not None:
        w = w * mask
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_no_output_projection(X, W_Q, W_K, W_V, W_O, mask=None):
    """Returns the concatenated heads without multiplying by W_O."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1), w


def mha_mask_inverted(X, W_Q, W_K, W_V, W_O, mask=None):
    """Reads True in the mask as 'hidden' (the opposite of this notebook's convention)."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, -np.inf, scores)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


def mha_mask_large_negative(X, W_Q, W_K, W_V, W_O, mask=None):
    """Masks with -1e9 instead of -inf: a query with no visible key gets uniform weights, not zeros."""
    Q, K, V = (np.einsum("se,hem->hsm", X, W) for W in (W_Q, W_K, W_V))
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(W_Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    w = softmax(scores)  # noqa: F821
    return np.concatenate(list(w @ V), axis=1) @ W_O, w


# ---- split_heads ---------------------------------------------------------


def split_no_transpose(qkv, H):
    """Reshapes each (S, E) block straight to (H, S, M): tokens get mixed across heads."""
    S, E = qkv.shape[0], qkv.shape[1] // 3
    return tuple(qkv[:, i * E:(i + 1) * E].reshape(H, S, E // H) for i in range(3))


def split_strided_heads(qkv, H):
    """Gives head h every H-th column (columns h, h + H, ...) instead of a consecutive block."""
    S, E = qkv.shape[0], qkv.shape[1] // 3
    return tuple(qkv[:, i * E:(i + 1) * E].reshape(S, E // H, H).transpose(2, 0, 1) for i in range(3))


def split_per_head_qkv(qkv, H):
    """Assumes the per-head interleaved layout [q_h | k_h | v_h] for each head in turn."""
    S, E = qkv.shape[0], qkv.shape[1] // 3
    per_head = qkv.reshape(S, H, 3, E // H)
    return tuple(per_head[:, :, i].transpose(1, 0, 2) for i in range(3))


def split_heads_last(qkv, H):
    """Returns (S, H, M) without moving the head axis to the front."""
    S, E = qkv.shape[0], qkv.shape[1] // 3
    return tuple(qkv[:, i * E:(i + 1) * E].reshape(S, H, E // H) for i in range(3))


# ---- transformer_layer ---------------------------------------------------


def layer_no_scaling(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Forgets the 1/sqrt(d_k) scaling."""
    scores = (X @ W_q) @ (X @ W_k).T
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores) @ (X @ W_v)  # noqa: F821
    Y = X + Z
    return Z, Y + np.maximum(Y @ W_1, 0) @ W_2


def layer_no_residuals(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Feeds Z straight into the feed-forward network, with no residual connections."""
    scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores) @ (X @ W_v)  # noqa: F821
    return Z, np.maximum(Z @ W_1, 0) @ W_2


def layer_residual_inside_z(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Returns X + attention as Z."""
    scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = X + softmax(scores) @ (X @ W_v)  # noqa: F821
    return Z, Z + np.maximum(Z @ W_1, 0) @ W_2


def layer_relu_after_w2(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Puts the ReLU after W_2 instead of between W_1 and W_2."""
    scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores) @ (X @ W_v)  # noqa: F821
    Y = X + Z
    return Z, Y + np.maximum(Y @ W_1 @ W_2, 0)


def layer_causal_ignored(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Computes the encoder layer even when causal=True."""
    Z = softmax((X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])) @ (X @ W_v)  # noqa: F821
    Y = X + Z
    return Z, Y + np.maximum(Y @ W_1, 0) @ W_2


def layer_mask_future_only(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Masks the past instead of the future (upper triangle kept)."""
    scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
    if causal:
        scores = np.where(np.triu(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores) @ (X @ W_v)  # noqa: F821
    Y = X + Z
    return Z, Y + np.maximum(Y @ W_1, 0) @ W_2


def layer_no_relu(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Leaves out the ReLU: the feed-forward network becomes one linear map."""
    scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    Z = softmax(scores) @ (X @ W_v)  # noqa: F821
    Y = X + Z
    return Z, Y + Y @ W_1 @ W_2


def layer_causal_after_softmax(X, W_q, W_k, W_v, W_1, W_2, causal=False):
    """Applies the causal mask to the weights after the softmax (rows no longer sum to one)."""
    w = softmax((X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1]))  # noqa: F821
    if causal:
        w = np.tril(w)
    Z = w @ (X @ W_v)
    Y = X + Z
    return Z, Y + np.maximum(Y @ W_1, 0) @ W_2


# ---- cross_attention and greedy_generate ----------------------------------


def cross_self_attention(Y, H_enc, W_q, W_k, W_v):
    """Takes queries, keys and values all from the decoder (self-attention, the encoder ignored)."""
    Q, K, V = Y @ W_q, Y @ W_k, Y @ W_v
    w = softmax(Q @ K.T / np.sqrt(Q.shape[1]))  # noqa: F821
    return w @ V, w


def cross_queries_from_encoder(Y, H_enc, W_q, W_k, W_v):
    """Swaps the roles: queries from the encoder, keys and values from the decoder."""
    Q, K, V = H_enc @ W_q, Y @ W_k, Y @ W_v
    w = softmax(Q @ K.T / np.sqrt(Q.shape[1]))  # noqa: F821
    return w @ V, w


def cross_causal(Y, H_enc, W_q, W_k, W_v):
    """Applies a causal mask to the cross-attention (target token t sees source tokens 0..t only)."""
    Q, K, V = Y @ W_q, H_enc @ W_k, H_enc @ W_v
    scores = Q @ K.T / np.sqrt(Q.shape[1])
    scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    w = softmax(scores)  # noqa: F821
    return w @ V, w


def cross_values_from_decoder(Y, H_enc, W_q, W_k, W_v):
    """Keys from the encoder but values from the decoder (only works when T == S)."""
    Q, K = Y @ W_q, H_enc @ W_k
    w = softmax(Q @ K.T / np.sqrt(Q.shape[1]))  # noqa: F821
    V = Y @ W_v
    return (w @ V if V.shape[0] == w.shape[1] else w @ np.resize(V, (w.shape[1], V.shape[1]))), w


def cross_no_scaling(Y, H_enc, W_q, W_k, W_v):
    """Forgets the 1/sqrt(d_k) scaling."""
    Q, K, V = Y @ W_q, H_enc @ W_k, H_enc @ W_v
    w = softmax(Q @ K.T)  # noqa: F821
    return w @ V, w


def generate_first_position(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    """Predicts the next token from the FIRST position's output instead of the last."""
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        X = embed[tokens]
        scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
        Z = X + softmax(scores) @ (X @ W_v)  # noqa: F821
        tokens.append(int(np.argmax(Z[0] @ W_out)))
    return tokens


def generate_no_feedback(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    """Predicts every new token from the prompt alone (never feeds the generated tokens back)."""
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        X = embed[list(prompt)]
        scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
        Z = X + softmax(scores) @ (X @ W_v)  # noqa: F821
        tokens.append(int(np.argmax(Z[-1] @ W_out)))
    return tokens


def generate_only_new(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    """Returns only the new tokens, without the prompt."""
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        X = embed[tokens]
        scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
        Z = X + softmax(scores) @ (X @ W_v)  # noqa: F821
        tokens.append(int(np.argmax(Z[-1] @ W_out)))
    return tokens[np.asarray(prompt).size:]


def generate_no_residual(prompt, n_new, embed, W_q, W_k, W_v, W_out):
    """Leaves out the residual connection (Z = attention output only)."""
    tokens = [int(t) for t in prompt]
    for _ in range(n_new):
        X = embed[tokens]
        scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(W_q.shape[1])
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
        Z = softmax(scores) @ (X @ W_v)  # noqa: F821
        tokens.append(int(np.argmax(Z[-1] @ W_out)))
    return tokens


# ---- layer_norm ----------------------------------------------------------


def layer_norm_wrong_axis(x, gamma, beta, eps=1e-5):
    """Normalises over the first axis (across tokens) instead of the features."""
    mean = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm_whole_array(x, gamma, beta, eps=1e-5):
    """Normalises with the mean and variance of the whole array."""
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def layer_norm_unbiased(x, gamma, beta, eps=1e-5):
    """Uses the unbiased variance (divides by E - 1)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, ddof=1, keepdims=True) if x.shape[-1] > 1 else np.zeros_like(mean)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm_eps_outside(x, gamma, beta, eps=1e-5):
    """Adds eps to the standard deviation instead of the variance."""
    mean = x.mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / (x.std(axis=-1, keepdims=True) + eps) + beta


def layer_norm_no_affine(x, gamma, beta, eps=1e-5):
    """Ignores gamma and beta."""
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


MHA_OUT = ("test_multi_head_attention_output",)
MHA_MASK = ("test_multi_head_attention_mask",)
LAYER_OUT = ("test_transformer_layer_output",)

CASES = [
    Wrong("mha_shapes", shapes_concat_with_m_qk, pitfall=True),
    Wrong("mha_shapes", shapes_heads_not_split, pitfall=True),
    Wrong("mha_shapes", shapes_column_convention, pitfall=True),
    Wrong("mha_shapes", shapes_scores_by_key_size, pitfall=True),
    Wrong("mha_param_count", params_without_output, pitfall=True),
    Wrong("mha_param_count", params_output_with_m_qk, pitfall=True),
    Wrong("mha_param_count", params_bias_ignored, pitfall=True),
    Wrong("mha_param_count", params_one_head, pitfall=True),
    Wrong("multi_head_attention", mha_heads_not_split, pitfall=True),
    Wrong("multi_head_attention", mha_concat_wrong_order, MHA_OUT, pitfall=True),
    Wrong("multi_head_attention", mha_concat_heads_reversed, MHA_OUT, pitfall=True),
    Wrong("multi_head_attention", mha_no_output_projection, MHA_OUT, pitfall=True),
    Wrong("multi_head_attention", mha_mask_ignored, MHA_MASK, pitfall=True),
    Wrong("multi_head_attention", mha_mask_after_softmax, MHA_MASK, pitfall=True),
    Wrong("multi_head_attention", mha_mask_inverted, MHA_MASK, pitfall=True),
    Wrong("multi_head_attention", mha_mask_large_negative, MHA_MASK),
    Wrong("multi_head_attention", mha_scaled_by_sqrt_e, pitfall=True),
    Wrong("multi_head_attention", mha_scaled_by_sqrt_m_v, pitfall=True),
    Wrong("multi_head_attention", mha_no_scaling, pitfall=True),
    Wrong("multi_head_attention", mha_softmax_over_queries, pitfall=True, also_costs=MHA_MASK,
          why="normalises over the queries (axis -2) instead of the keys; the mask test then fails too, because "
              "it checks that each ROW is renormalised over its visible keys, which a column softmax never does"),
    Wrong("split_heads", split_no_transpose, pitfall=True),
    Wrong("split_heads", split_strided_heads, pitfall=True),
    Wrong("split_heads", split_per_head_qkv, pitfall=True),
    Wrong("split_heads", split_heads_last, pitfall=True),
    Wrong("transformer_layer", layer_no_scaling, pitfall=True),
    Wrong("transformer_layer", layer_no_residuals, LAYER_OUT, pitfall=True),
    Wrong("transformer_layer", layer_residual_inside_z, ("test_transformer_layer", *LAYER_OUT), pitfall=True),
    Wrong("transformer_layer", layer_relu_after_w2, LAYER_OUT, pitfall=True),
    Wrong("transformer_layer", layer_no_relu, LAYER_OUT, pitfall=True),
    Wrong("transformer_layer", layer_causal_ignored, pitfall=True),
    Wrong("transformer_layer", layer_mask_future_only, pitfall=True),
    Wrong("transformer_layer", layer_causal_after_softmax, pitfall=True),
    Wrong("cross_attention", cross_self_attention, pitfall=True),
    Wrong("cross_attention", cross_queries_from_encoder, pitfall=True),
    Wrong("cross_attention", cross_causal, pitfall=True),
    Wrong("cross_attention", cross_values_from_decoder, pitfall=True),
    Wrong("cross_attention", cross_no_scaling, pitfall=True),
    Wrong("greedy_generate", generate_first_position, pitfall=True),
    Wrong("greedy_generate", generate_no_feedback, pitfall=True),
    Wrong("greedy_generate", generate_only_new, pitfall=True),
    Wrong("greedy_generate", generate_no_residual),
    Wrong("layer_norm", layer_norm_wrong_axis, pitfall=True),
    Wrong("layer_norm", layer_norm_whole_array, pitfall=True),
    Wrong("layer_norm", layer_norm_unbiased, pitfall=True),
    Wrong("layer_norm", layer_norm_eps_outside, pitfall=True),
    Wrong("layer_norm", layer_norm_no_affine, pitfall=True),
    # numbers the student types in
    Wrong("q1_weights", np.array([0.0, 0.5, 0.5]), ("test_q1_answers",), "scores normalised linearly", pitfall=True),
    Wrong("q1_weights", np.exp([0, 1, 1]) / np.exp([0, 1, 1]).sum(), ("test_q1_answers",), "softmax without the sqrt(2) scale",
          pitfall=True),
    Wrong("q1_scores", np.array([1.0, 0.0, 1.0]), ("test_q1_answers",), "dot products with the queries instead of the keys",
          pitfall=True),
    Wrong("answer_q1", {"B"}, ("test_concept_q1",)),
    Wrong("answer_q1", {"A", "B"}, ("test_concept_q1",)),
    Wrong("answer_q1", set(), ("test_concept_q1",)),
    Wrong("answer_q2", {"A", "B", "C", "D"}, ("test_concept_q2",)),
    Wrong("answer_q2", {"A", "B"}, ("test_concept_q2",)),
    Wrong("answer_q2", {"B", "C", "D"}, ("test_concept_q2",)),
    Wrong("answer_q3", {"A", "B", "D"}, ("test_concept_q3",)),
    Wrong("answer_q3", {"B"}, ("test_concept_q3",)),
    Wrong("answer_q3", {"B", "C"}, ("test_concept_q3",)),
    Wrong("answer_q4", {"B"}, ("test_concept_q4",)),
    Wrong("answer_q4", {"B", "C"}, ("test_concept_q4",)),
    Wrong("answer_q4", {"A", "B"}, ("test_concept_q4",)),
    Wrong("answer_q5", {"B"}, ("test_concept_q5",)),
    Wrong("answer_q5", {"A"}, ("test_concept_q5",)),
    Wrong("answer_q5", {"B", "C"}, ("test_concept_q5",)),
    Wrong("answer_q6", {"B"}, ("test_concept_q6",)),
    Wrong("answer_q6", {"A", "C"}, ("test_concept_q6",)),
    Wrong("answer_q6", set(), ("test_concept_q6",)),
]
