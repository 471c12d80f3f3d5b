"""Fast tests for the package code notebook 02 uses: the reference softmax and the MHA sketch."""

from __future__ import annotations

import numpy as np
import pytest

from tfscourse.mha_sketch import SHAPE_KEYS, check_mha_shapes, draw_mha_sketch, show_mha_sketch
from tfscourse.unlocked.self_attention import softmax


def right_shapes(S, E, H, M_QK, M_V):
    return {"W_Q": (E, M_QK), "W_K": (E, M_QK), "W_V": (E, M_V), "Q_h": (S, M_QK), "K_h": (S, M_QK),
            "V_h": (S, M_V), "scores": (S, S), "weights": (S, S), "head_output": (S, M_V),
            "concat": (S, H * M_V), "W_O": (H * M_V, E), "output": (S, E)}


def test_softmax_is_stable_and_sums_to_one():
    w = softmax(np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0]]))
    assert np.all(np.isfinite(w))
    assert np.allclose(w.sum(axis=-1), 1.0)
    assert np.allclose(w[1], 1 / 3)


def test_softmax_axis_and_masked_entries():
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert np.allclose(softmax(x, axis=0).sum(axis=0), 1.0)
    w = softmax(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]))
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_softmax_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(2, 5, 7)) * 10
    assert np.allclose(softmax(x, axis=1), torch.softmax(torch.tensor(x), dim=1).numpy())


@pytest.mark.parametrize("dims", [(5, 8, 2, 3, 4), (1, 3, 4, 2, 1), (9, 12, 3, 4, 4)])
def test_right_shapes_have_no_problems(dims):
    assert check_mha_shapes(right_shapes(*dims), *dims) == {}


def test_each_wrong_shape_is_marked_alone():
    dims = (5, 8, 2, 3, 4)
    for key in SHAPE_KEYS:
        shapes = right_shapes(*dims)
        rows, cols = shapes[key]
        shapes[key] = (rows + 1, cols)
        assert set(check_mha_shapes(shapes, *dims)) == {key}


def test_missing_and_malformed_entries():
    dims = (5, 8, 2, 3, 4)
    shapes = right_shapes(*dims)
    del shapes["V_h"]
    shapes["scores"] = "5x5"
    shapes["W_O"] = (8.5, 8)
    problems = check_mha_shapes(shapes, *dims)
    assert set(problems) == {"V_h", "scores", "W_O"}
    assert problems["V_h"] == "missing key"


def test_the_handouts_w_o_is_flagged():
    """The homework sheet sizes W_O with h * d_k rows; with M_QK != M_V that must show up."""
    dims = (5, 8, 2, 3, 4)
    shapes = dict(right_shapes(*dims), concat=(5, 6), W_O=(6, 8))
    assert set(check_mha_shapes(shapes, *dims)) == {"concat", "W_O"}


def test_drawing_marks_problems_in_red():
    dims = (5, 8, 2, 3, 4)
    good = draw_mha_sketch(right_shapes(*dims), *dims)
    bad = draw_mha_sketch(dict(right_shapes(*dims), scores=(5, 3)), *dims)
    red = (0.8392156862745098, 0.15294117647058825, 0.1568627450980392)

    def reds(fig):
        ax = fig.axes[0]
        return sum(1 for p in ax.patches if tuple(p.get_edgecolor()[:3]) == pytest.approx(red))

    assert reds(good) == 0 and reds(bad) == 1
    assert "do not fit" in bad.axes[0].get_title()
    draw_mha_sketch({}, *dims)  # an empty answer (blank notebook) still draws


def test_show_returns_problems(capsys):
    dims = (4, 6, 3, 2, 2)
    assert show_mha_sketch(right_shapes(*dims), *dims) == {}
