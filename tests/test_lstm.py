"""Fast checks of the package code behind notebook 05: cell diagram, gate explorer, char-LSTM model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfscourse.char_lstm import CharLMConfig, CharLSTM, CharVocab, random_windows
from tfscourse.lstm_diagram import format_vector, lstm_cell_figure
from tfscourse.lstm_gates import (
    GATES,
    GateExplorer,
    GatePicture,
    gate_activations,
    most_variable_units,
    show_gates,
    text_features,
    units_that_track,
)
from tfscourse.widgets import figure_png

PNG_MAGIC = b"\x89PNG"


def _torch_weights(lstm: torch.nn.LSTM):
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    return [getattr(lstm, n).detach().double().numpy() for n in names]


def _torch_sigmoid(z):
    return torch.sigmoid(torch.as_tensor(z)).numpy()


def _torch_cell(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One step of torch.nn.LSTMCell with the given weights (the notebook passes the student's lstm_cell)."""
    cell = torch.nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh), strict=True):
            getattr(cell, name).copy_(torch.as_tensor(value))
        h, c = cell(torch.as_tensor(x_t), (torch.as_tensor(h_prev), torch.as_tensor(c_prev)))
    return h.numpy(), c.numpy()


def test_format_vector():
    assert format_vector([0.9, -0.25]) == "[0.90, -0.25]"
    assert format_vector(0.5) == "0.500"
    assert format_vector(None) == "?"


def test_cell_diagram_renders_with_and_without_values():
    for values in (None, {"c_prev": [0.8, -1.5], "f": [0.9, 0.2], "c": None, "h": None}):
        png = figure_png(lstm_cell_figure(values))
        assert png.startswith(PNG_MAGIC) and len(png) > 5000


def test_gate_activations_match_torch_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5).double()
    X = np.random.default_rng(0).normal(size=(7, 3))
    acts = gate_activations(X, *_torch_weights(lstm), sigmoid=_torch_sigmoid, cell=_torch_cell)
    assert set(acts) == set(GATES) and all(a.shape == (7, 5) for a in acts.values())
    with torch.no_grad():
        out, (h_n, c_n) = lstm(torch.tensor(X)[:, None, :])
    assert np.abs(acts["hidden state h"] - out[:, 0].numpy()).max() < 1e-12
    assert np.abs(acts["cell state c"][-1] - c_n[0, 0].numpy()).max() < 1e-12
    for gate in ("input gate i", "forget gate f", "output gate o"):
        assert ((acts[gate] > 0) & (acts[gate] < 1)).all()


def _toy_explorer_inputs():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6).double()
    vocab = CharVocab.from_text("abc def")
    table = np.random.default_rng(1).normal(size=(len(vocab), 4))

    def encode(text):
        ids = vocab.encode(text)
        return table[ids].reshape(len(ids), 4), [vocab.chars[i] for i in ids]

    return encode, _torch_weights(lstm)


def test_gate_explorer_redraws_and_leaves_a_png():
    encode, weights = _toy_explorer_inputs()
    explorer = GateExplorer(encode, weights, sigmoid=_torch_sigmoid, cell=_torch_cell, text="abc")
    first = bytes(explorer.image.value)
    assert first.startswith(PNG_MAGIC)
    assert "image/png" in explorer._repr_mimebundle_()
    explorer.dropdown.value = "cell state c"
    assert bytes(explorer.image.value) != first
    explorer.text.value = "zzz"  # nothing the vocabulary knows
    assert bytes(explorer.image.value) == b"" and "no characters" in explorer.message.value
    explorer.text.value = "fed cab"
    assert explorer.activations["cell state c"].shape == (7, 6)
    shown = bytes(explorer.image.value)
    first_unit, other_unit = explorer.unit.options[0][1], explorer.unit.options[-1][1]
    assert explorer.unit.value == first_unit and first_unit != other_unit
    explorer.unit.value = other_unit  # colour the text by another unit
    assert bytes(explorer.image.value) != shown and bytes(explorer.image.value).startswith(PNG_MAGIC)


def test_marked_units_are_offered_and_chosen_first():
    encode, weights = _toy_explorer_inputs()
    explorer = GateExplorer(encode, weights, sigmoid=_torch_sigmoid, cell=_torch_cell, text="abc fed",
                            gate="cell state c", marked={4: "inside a word (r = +0.50)"})
    labels = [label for label, _ in explorer.unit.options]
    assert explorer.unit.value == 4 and labels[0] == "unit 4: inside a word (r = +0.50)"
    assert [u for _, u in explorer.unit.options].count(4) == 1 and len(labels) == 6


def test_show_gates_is_a_picture_while_grading(monkeypatch):
    encode, weights = _toy_explorer_inputs()
    monkeypatch.setenv("TFSCOURSE_WIDGETS", "picture")
    monkeypatch.setattr("IPython.display.display", lambda *objects: None)
    shown = show_gates(encode, weights, sigmoid=_torch_sigmoid, cell=_torch_cell, text="abc", marked={2: "x"})
    assert isinstance(shown, GatePicture) and shown._repr_png_().startswith(PNG_MAGIC)
    assert GatePicture(encode, weights, sigmoid=_torch_sigmoid, cell=_torch_cell, text="zzz")._repr_png_() is None
    monkeypatch.setenv("TFSCOURSE_WIDGETS", "live")
    assert isinstance(show_gates(encode, weights, sigmoid=_torch_sigmoid, cell=_torch_cell, text="abc"), GateExplorer)


def test_text_features_follow_lines_brackets_quotes_and_words():
    f = text_features('ab (c)\n"d e"')
    assert f["position in the line"].tolist() == [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5]
    assert f["inside brackets"].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert f["inside quotes"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    assert f["inside a word"].tolist() == [1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]


def test_units_that_track_find_the_correlated_unit_and_its_sign():
    rng = np.random.default_rng(0)
    feature = np.tile([0.0, 0.0, 1.0, 1.0, 1.0], 8)  # (40,)
    activations = rng.normal(size=(40, 5)) * 0.1
    activations[:, 3] -= 2 * feature  # unit 3 follows the feature, with the opposite sign
    activations[:, 1] = 0.7  # a unit that never changes: r = 0, not nan
    found = units_that_track(activations, {"f": feature, "constant": np.ones(40)})
    unit, r = found["f"]
    assert unit == 3 and r < -0.95
    assert found["constant"][1] == 0.0


def test_units_offered_are_the_most_variable_first():
    steady = np.full(10, 0.99)  # a saturated unit: says nothing about the text
    swinging = np.tile([0.1, 0.9], 5)
    drifting = np.linspace(0.3, 0.6, 10)
    activations = np.stack([steady, drifting, swinging], axis=1)  # (T, H) = (10, 3)
    assert most_variable_units(activations) == [2, 1, 0]
    assert most_variable_units(activations, count=1) == [2]


def test_char_vocab_roundtrip_and_unknown_characters():
    vocab = CharVocab.from_text("hello world")
    assert vocab.decode(vocab.encode("hello")) == "hello"
    assert vocab.encode("hXe") == vocab.encode("he")


def test_random_windows_are_shifted_by_one():
    data = torch.arange(100)
    x, y = random_windows(data, 10, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y, x + 1)


def test_char_lstm_shapes_and_numpy_weights():
    config = CharLMConfig(embed_size=4, hidden_size=6)
    model = CharLSTM(9, config)
    logits, (h, c) = model(torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, 9) and h.shape == c.shape == (1, 2, 6)
    W_ih, W_hh, b_ih, b_hh = model.lstm_weights()
    assert W_ih.shape == (24, 4) and W_hh.shape == (24, 6) and b_ih.shape == b_hh.shape == (24,)
    assert model.embed_ids([1, 2, 3]).shape == (3, 4)


@pytest.mark.parametrize("field", ["steps", "max_seconds", "seq_len"])
def test_config_defaults_are_positive(field):
    assert getattr(CharLMConfig(), field) > 0


def clip_torch_rule(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_'s own rule: scale by max_norm / (norm + 1e-6), at most 1."""
    grads = [np.asarray(g, dtype=float) for g in grads]
    total = float(np.sqrt(sum(float((g * g).sum()) for g in grads)))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], total


def test_clip_grad_norm_accepts_torchs_rule():
    """The task says to match torch.nn.utils.clip_grad_norm_, so its epsilon in the divisor must pass."""
    from tests.conftest import harness
    from tests.nbharness import Wrong

    result = harness("05_lstm").run_test("test_clip_grad_norm", Wrong("clip_grad_norm", clip_torch_rule))
    assert result.passed, result.error


def test_q9_visible_test_does_not_print_the_answer():
    """The visible check of the hand computation must not compute c_t for the student."""
    from tests.conftest import harness
    from tfscourse_staff.notebooks import split_hidden_tests

    visible = split_hidden_tests(harness("05_lstm").test_sources["test_q9_by_hand"])[0]
    assert "print" not in visible and "lstm_step_from_gates" not in visible
