"""Known-wrong answers for 05_lstm (see tests/known_wrong/__init__.py)."""

import numpy as np

from tests.nbharness import Wrong

# ---- sigmoid ---------------------------------------------------------------


def sigmoid_naive(x):
    """The literal formula: right values, but exp overflows (and warns) for large negative x."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def sigmoid_naive_positive_form(x):
    """exp(x) / (1 + exp(x)) everywhere: inf / inf = nan for large positive x."""
    e = np.exp(np.asarray(x, dtype=float))
    return e / (1.0 + e)


def sigmoid_sign_flipped(x):
    """Stable, but computes sigma(-x)."""
    x = -np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_is_tanh(x):
    """Uses tanh instead of the logistic function."""
    return np.tanh(np.asarray(x, dtype=float))


# ---- one step from the gates -------------------------------------------------


def step_tanh_on_c_prev(f_t, i_t, g_t, o_t, c_prev):
    """Squashes the old memory: c_t = f * tanh(c_prev) + i * g."""
    c_t = f_t * np.tanh(c_prev) + i_t * g_t
    return c_t, o_t * np.tanh(c_t)


def step_no_output_gate(f_t, i_t, g_t, o_t, c_prev):
    """h_t = tanh(c_t), forgetting the output gate."""
    c_t = f_t * c_prev + i_t * g_t
    return c_t, np.tanh(c_t)


def step_no_tanh_on_c(f_t, i_t, g_t, o_t, c_prev):
    """h_t = o * c_t without the tanh."""
    c_t = f_t * c_prev + i_t * g_t
    return c_t, o_t * c_t


def step_swapped_gates(f_t, i_t, g_t, o_t, c_prev):
    """Multiplies the old memory by the input gate and the candidate by the forget gate."""
    c_t = i_t * c_prev + f_t * g_t
    return c_t, o_t * np.tanh(c_t)


# ---- the full cell -------------------------------------------------------------


def cell_gate_order_figo(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Reads the blocks in the order f, i, g, o instead of torch's i, f, g, o."""
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    z_f, z_i, z_g, z_o = np.split(z, 4, axis=-1)
    c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821 - the notebook's sigmoid
    return sigmoid(z_o) * np.tanh(c_t), c_t  # noqa: F821


def cell_tanh_on_c_prev(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Applies tanh to c_prev inside the memory update."""
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    c_t = sigmoid(z_f) * np.tanh(c_prev) + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821
    return sigmoid(z_o) * np.tanh(c_t), c_t  # noqa: F821


def cell_no_output_gate(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """h_t = tanh(c_t) without the output gate."""
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821
    return np.tanh(c_t), c_t


def cell_one_bias_only(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Drops b_hh (torch keeps two biases and adds both)."""
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821
    return sigmoid(z_o) * np.tanh(c_t), c_t  # noqa: F821


def cell_returns_c_h(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Returns (c_t, h_t) instead of torch's (h_t, c_t)."""
    z = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821
    return c_t, sigmoid(z_o) * np.tanh(c_t)  # noqa: F821


# ---- over a sequence -----------------------------------------------------------


def forward_ignores_initial_state(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Starts from zeros instead of (h0, c0)."""
    h, c = np.zeros_like(h0), np.zeros_like(c0)
    outputs = []
    for x_t in X:
        h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)  # noqa: F821 - the notebook's cell
        outputs.append(h)
    return np.stack(outputs), (h, c)


def forward_outputs_cell_states(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Collects the cell states c_t as outputs instead of the hidden states."""
    h, c = h0, c0
    outputs = []
    for x_t in X:
        h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)  # noqa: F821
        outputs.append(c)
    return np.stack(outputs), (h, c)


def forward_resets_memory(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Carries h but restarts the cell state from c0 at every step."""
    h, c = h0, c0
    outputs = []
    for x_t in X:
        h, c = lstm_cell(x_t, h, c0, W_ih, W_hh, b_ih, b_hh)  # noqa: F821
        outputs.append(h)
    return np.stack(outputs), (h, c)


def forward_gate_order_figo(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """A self-contained loop that reads the gate blocks as f, i, g, o."""
    h, c = h0, c0
    outputs = []
    for x_t in X:
        z = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        z_f, z_i, z_g, z_o = np.split(z, 4, axis=-1)
        c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_g)  # noqa: F821
        h = sigmoid(z_o) * np.tanh(c)  # noqa: F821
        outputs.append(h)
    return np.stack(outputs), (h, c)


# ---- clipping ------------------------------------------------------------------


def clip_each_tensor(grads, max_norm):
    """Clips every tensor to max_norm on its own instead of by the global norm."""
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = float(np.sqrt(sum(float((g * g).sum()) for g in grads)))
    out = []
    for g in grads:
        n = float(np.sqrt((g * g).sum()))
        out.append(g * (max_norm / n) if n > max_norm else g.copy())
    return out, total


def clip_always_rescale(grads, max_norm):
    """Rescales to max_norm even when the norm is already smaller."""
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = float(np.sqrt(sum(float((g * g).sum()) for g in grads)))
    return [g * (max_norm / total) for g in grads], total


def clip_returns_norm_after(grads, max_norm):
    """Clips correctly but reports the norm after clipping."""
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = float(np.sqrt(sum(float((g * g).sum()) for g in grads)))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads], total * scale


def clip_sum_of_norms(grads, max_norm):
    """Uses the sum of the tensors' norms instead of the global L2 norm."""
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = sum(float(np.sqrt((g * g).sum())) for g in grads)
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in grads], total


def clip_in_place(grads, max_norm):
    """Right numbers, but overwrites the caller's arrays."""
    total = float(np.sqrt(sum(float((g * g).sum()) for g in grads)))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return list(grads), total


# ---- sampling ------------------------------------------------------------------


def sample_temperature_multiplied(logits, temperature, rng):
    """Multiplies the logits by the temperature instead of dividing."""
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits * temperature
    p = np.exp(scaled - scaled.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample_greedy(logits, temperature, rng):
    """Always returns the argmax, whatever the temperature."""
    return int(np.argmax(logits))


def sample_global_rng(logits, temperature, rng):
    """Draws with np.random instead of the rng it was given: not reproducible."""
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    p = np.exp(scaled - scaled.max())
    return int(np.random.choice(len(p), p=p / p.sum()))


def sample_unstable_softmax(logits, temperature, rng):
    """No maximum subtracted: large logits or tiny temperatures give nan probabilities."""
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    with np.errstate(all="ignore"):
        p = np.exp(logits / temperature)
        p = p / p.sum()
    if not np.all(np.isfinite(p)):
        return 0
    return int(rng.choice(len(p), p=p))


def sample_temperature_squared(logits, temperature, rng):
    """Divides by the temperature twice."""
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature**2
    p = np.exp(scaled - scaled.max())
    return int(rng.choice(len(p), p=p / p.sum()))


_Q9_F, _Q9_I, _Q9_G, _Q9_O, _Q9_C = (np.array(v) for v in ([0.9, 0.2], [0.3, 0.7], [-0.5, 0.6], [0.6, 0.95], [0.8, -1.5]))
_Q9_TANH_PREV = _Q9_F * np.tanh(_Q9_C) + _Q9_I * _Q9_G
_Q9_SWAPPED = _Q9_I * _Q9_C + _Q9_F * _Q9_G

CASES = [
    Wrong("sigmoid", sigmoid_naive, pitfall=True),
    Wrong("sigmoid", sigmoid_naive_positive_form, pitfall=True),
    Wrong("sigmoid", sigmoid_sign_flipped),
    Wrong("sigmoid", sigmoid_is_tanh),
    Wrong("lstm_step_from_gates", step_tanh_on_c_prev, pitfall=True),
    Wrong("lstm_step_from_gates", step_no_output_gate, pitfall=True),
    Wrong("lstm_step_from_gates", step_no_tanh_on_c),
    Wrong("lstm_step_from_gates", step_swapped_gates),
    Wrong("lstm_cell", cell_gate_order_figo, pitfall=True),
    Wrong("lstm_cell", cell_tanh_on_c_prev, pitfall=True),
    Wrong("lstm_cell", cell_no_output_gate),
    Wrong("lstm_cell", cell_one_bias_only, pitfall=True),
    Wrong("lstm_cell", cell_returns_c_h, pitfall=True),
    Wrong("lstm_forward", forward_ignores_initial_state),
    Wrong("lstm_forward", forward_outputs_cell_states),
    Wrong("lstm_forward", forward_resets_memory),
    Wrong("lstm_forward", forward_gate_order_figo, pitfall=True),
    Wrong("clip_grad_norm", clip_each_tensor, pitfall=True),
    Wrong("clip_grad_norm", clip_always_rescale, pitfall=True),
    Wrong("clip_grad_norm", clip_returns_norm_after, pitfall=True),
    Wrong("clip_grad_norm", clip_sum_of_norms),
    Wrong("clip_grad_norm", clip_in_place, pitfall=True),
    Wrong("sample_next", sample_temperature_multiplied, pitfall=True),
    Wrong("sample_next", sample_greedy),
    Wrong("sample_next", sample_global_rng, pitfall=True),
    Wrong("sample_next", sample_unstable_softmax, pitfall=True),
    Wrong("sample_next", sample_temperature_squared),
    # the hand computation of seed 000 Q9 (our numbers)
    Wrong("h_t_by_hand", list(np.round(_Q9_O * np.tanh(_Q9_TANH_PREV), 3)), ("test_q9_by_hand",), "tanh applied to c_prev"),
    Wrong("h_t_by_hand", [0.515, 0.119], ("test_q9_by_hand",), "h_t without the output gate"),
    Wrong("h_t_by_hand", [0.342, 0.114], ("test_q9_by_hand",), "h_t = o * c_t without tanh"),
    Wrong("c_t_by_hand", list(np.round(_Q9_SWAPPED, 3)), ("test_q9_by_hand",), "forget and input gates swapped"),
    Wrong("answer_q3", {"B"}, ("test_concept_q3",)),
    Wrong("answer_q3", {"A", "B", "C"}, ("test_concept_q3",)),
    Wrong("answer_q3", {"A"}, ("test_concept_q3",)),
    Wrong("answer_q6", {"D"}, ("test_concept_q6",)),
    Wrong("answer_q6", {"A"}, ("test_concept_q6",)),
    Wrong("answer_q6", {"C", "D"}, ("test_concept_q6",)),
    Wrong("answer_q7", {"A"}, ("test_concept_q7",)),
    Wrong("answer_q7", {"C"}, ("test_concept_q7",)),
    Wrong("answer_q7", {"B", "C"}, ("test_concept_q7",)),
    Wrong("answer_q8", {"C"}, ("test_concept_q8",)),
    Wrong("answer_q8", {"B"}, ("test_concept_q8",)),
    Wrong("answer_q8", {"B", "D"}, ("test_concept_q8",)),
    Wrong("answer_q9", {"A"}, ("test_concept_q9",)),
    Wrong("answer_q9", {"D"}, ("test_concept_q9",)),
    Wrong("answer_q9", {"C", "D"}, ("test_concept_q9",)),
    Wrong("answer_q10", {"A"}, ("test_concept_q10",)),
    Wrong("answer_q10", {"A", "B"}, ("test_concept_q10",)),
    Wrong("answer_q10", set(), ("test_concept_q10",)),
]
