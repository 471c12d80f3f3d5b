"""The attention explorer's Python side: what it sends to the front end, masks, and the static picture.

The front end itself (hover, click, views) is exercised in Chromium by tests/test_browser.py.
The static picture is compared as decoded pixels (tests/pictures.py): choosing another map must
redraw the heatmap, not only its title.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.pictures import PLOT_CHANGED, PNG_MAGIC, changed_share
from tfscourse import widgets
from tfscourse.widget_page import explorer_page
from tfscourse.widgets import (
    AttentionExplorer,
    AttentionMap,
    AttentionPicture,
    attention_figure,
    figure_png,
    front_end_payload,
    show_attention,
)

TOKENS = ["The", "cat", "sat"]


def causal_weights(n: int, seed: int = 0) -> np.ndarray:
    """(n, n) rows that sum to one over the keys a causal mask allows, exactly 0 elsewhere."""
    w = np.random.default_rng(seed).random((n, n)) * np.tril(np.ones((n, n)))
    return w / w.sum(-1, keepdims=True)


@pytest.fixture
def explorer():
    maps = {
        "uniform": AttentionMap(np.full((3, 3), 1 / 3), TOKENS),
        "causal": AttentionMap(causal_weights(3), TOKENS, mask="causal"),
        "two heads": AttentionMap(np.stack([np.eye(3), np.full((3, 3), 1 / 3)]), TOKENS),
    }
    return AttentionExplorer(maps, title="test")


def test_payload_holds_every_map_as_float32_in_order(explorer):
    info = explorer.map_info
    assert [m["label"] for m in info] == ["uniform", "causal", "two heads"]
    assert [(m["heads"], m["n_q"], m["n_k"]) for m in info] == [(1, 3, 3), (1, 3, 3), (2, 3, 3)]
    assert [m["offset"] for m in info] == [0, 9, 18]
    sent = np.frombuffer(explorer.weights, dtype="<f4")
    assert sent.size == 9 + 9 + 18
    two_heads = sent[18:].reshape(2, 3, 3)
    assert two_heads[0].tolist() == np.eye(3).tolist()
    assert all(m["self_attention"] for m in info)


def test_masks_are_sent_as_masked_not_as_zero(explorer):
    info = {m["label"]: m for m in explorer.map_info}
    assert info["uniform"]["mask_offset"] == -1 and info["two heads"]["mask_offset"] == -1
    start = info["causal"]["mask_offset"]
    masked = np.frombuffer(explorer.masked, dtype=np.uint8)[start:start + 9].reshape(3, 3)
    assert masked.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]


def test_padding_mask_broadcasts_over_queries_and_heads():
    weights = np.full((2, 3, 4), 1 / 3)
    weights[..., 3] = 0.0
    amap = AttentionMap(weights, TOKENS, ["a", "b", "c", "<pad>"], mask=np.array([True, True, True, False]))
    assert amap.masked.shape == (2, 3, 4)
    assert amap.masked[..., 3].all() and not amap.masked[..., :3].any()
    info, _, masked = front_end_payload({"padded": amap})
    assert not info[0]["self_attention"]
    assert np.frombuffer(masked, dtype=np.uint8).reshape(2, 3, 4)[..., 3].all()


def test_nan_weights_count_as_masked_and_are_sent_as_zero():
    weights = np.array([[np.nan, np.nan], [0.4, 0.6]])  # a fully masked row, as some softmaxes give it
    info, sent, masked = front_end_payload({"nan": AttentionMap(weights, ["a", "b"])})
    assert np.frombuffer(sent, dtype="<f4").tolist()[:2] == [0.0, 0.0]
    assert np.frombuffer(masked, dtype=np.uint8).tolist() == [1, 1, 0, 0]


def test_zero_one_masks_and_head_names_reach_the_front_end():
    amap = AttentionMap(np.stack([np.eye(2), np.eye(2)]), ["a", "b"], mask=np.array([[1, 0], [1, 1]]),
                        head_names=["plain", "LoRA"])
    assert amap.masked[0].tolist() == [[False, True], [False, False]]
    info, _, _ = front_end_payload({"variants": amap})
    assert info[0]["head_names"] == ["plain", "LoRA"]
    assert front_end_payload({"x": AttentionMap(np.ones((3, 2, 2)) / 2, ["a", "b"])})[0][0]["head_names"] == [
        "head 0", "head 1", "head 2"]


def test_causal_mask_with_a_prefix_keeps_the_prefix_visible():
    amap = AttentionMap(np.full((2, 4), 0.25), ["q1", "q2"], ["P1", "P2", "k1", "k2"], mask="causal")
    assert amap.masked.tolist() == [[False, False, False, True], [False, False, False, False]]


def test_bad_maps_and_masks_are_refused_with_a_message():
    AttentionMap(np.ones((2, 3)) / 3, ["q1", "q2"], ["k1", "k2", "k3"])
    with pytest.raises(ValueError, match="do not label"):
        AttentionMap(np.ones((2, 3)), ["q1", "q2"])
    with pytest.raises(ValueError, match="does not fit"):
        AttentionMap(np.ones((2, 2)), ["a", "b"], mask=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="booleans or 0/1"):
        AttentionMap(np.ones((2, 2)), ["a", "b"], mask=np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="2 head names for 3"):
        AttentionMap(np.ones((3, 2, 2)) / 2, ["a", "b"], head_names=["plain", "LoRA"])
    with pytest.raises(ValueError, match="'causal'"):
        AttentionMap(np.ones((2, 2)), ["a", "b"], mask="upper")
    with pytest.raises(ValueError, match="at least one"):
        AttentionExplorer({})
    with pytest.raises(TypeError, match="expected an AttentionMap"):
        AttentionExplorer({"raw": np.eye(2)})


def test_selection_by_label_and_set_maps_keeps_the_label(explorer):
    explorer.selected = "causal"
    assert explorer.selected_index == 1
    explorer.focus = {"query": 2, "key": 2}
    explorer.set_maps({"two heads": AttentionMap(np.ones((2, 4, 4)) / 4, list("abcd")),
                       "causal": AttentionMap(causal_weights(4), list("abcd"), mask="causal")})
    assert explorer.selected == "causal" and explorer.focus == {}
    explorer.set_maps({"new": AttentionMap(np.eye(2), ["a", "b"])})
    assert explorer.selected == "new"
    with pytest.raises(KeyError, match="no map labelled"):
        explorer.selected = "missing"


def test_display_data_carries_a_static_png_of_the_selection(explorer):
    bundle = explorer._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert base64.b64decode(data["image/png"]).startswith(PNG_MAGIC)


def test_picture_hatches_masked_cells_and_writes_no_value_in_them():
    fig = attention_figure(AttentionMap(causal_weights(4), list("abcd"), mask="causal"), "causal")
    ax = fig.axes[0]
    assert ax.patch.get_hatch() == "///"
    written = {(round(t.get_position()[0]), round(t.get_position()[1])) for t in ax.texts}
    assert written == {(j, i) for i in range(4) for j in range(i + 1)}  # (x = key, y = query)
    image = ax.images[0].get_array()
    assert image.mask.tolist() == np.triu(np.ones((4, 4), dtype=bool), 1).tolist()


def _static_png(explorer) -> bytes:
    bundle = explorer._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    return base64.b64decode(data["image/png"])


def test_a_new_title_alone_stays_below_the_change_threshold():
    """The measure used below tells a redrawn plot from a relabelled one."""
    amap = AttentionMap(np.full((3, 3), 1 / 3), TOKENS)
    relabelled = changed_share(figure_png(attention_figure(amap, "test: uniform")),
                               figure_png(attention_figure(amap, "test: diagonal")))
    assert 0 < relabelled < PLOT_CHANGED


def test_static_picture_follows_the_selection(explorer):
    first = _static_png(explorer)
    explorer.selected = "two heads"
    share = changed_share(first, _static_png(explorer))
    assert share > PLOT_CHANGED, f"choosing 'two heads' changed only {share:.1%} of the picture"
    explorer.selected = "uniform"
    assert changed_share(first, _static_png(explorer)) == 0, "the same choice must show the same picture"


def test_grid_of_heads_has_one_axes_per_head():
    fig = attention_figure(AttentionMap(np.ones((6, 4, 4)) / 4, list("abcd")), "heads")
    heatmaps = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(heatmaps) == 6
    assert figure_png(fig).startswith(PNG_MAGIC)


@pytest.fixture
def displayed(monkeypatch):
    """What show_attention passes to IPython's display."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_under_nbgrader_only_a_picture_is_shown(monkeypatch, displayed):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv(widgets.WIDGETS_ENV, raising=False)
    shown = show_attention({"causal": AttentionMap(causal_weights(3), TOKENS, mask="causal")}, "graded")
    assert isinstance(shown, AttentionPicture) and displayed == [shown]
    assert shown._repr_png_().startswith(PNG_MAGIC)
    assert not hasattr(shown, "comm")  # no widget, so nothing talks to a front end


def test_live_override_and_student_kernels_get_the_widget(monkeypatch, displayed):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    monkeypatch.setenv(widgets.WIDGETS_ENV, "live")
    assert isinstance(show_attention({"a": AttentionMap(np.eye(2), ["a", "b"])}), AttentionExplorer)
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv(widgets.WIDGETS_ENV, "picture")
    assert isinstance(show_attention({"a": AttentionMap(np.eye(2), ["a", "b"])}), AttentionPicture)


def test_a_control_recomputes_the_maps_and_bad_values_leave_a_message(monkeypatch, displayed):
    import ipywidgets

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(widgets.WIDGETS_ENV, raising=False)

    def maps_for(sentence):
        tokens = sentence.split()
        if not tokens:
            raise ValueError("type at least one word")
        n = len(tokens)
        return {"sentence": AttentionMap(causal_weights(n), tokens, mask="causal")}

    box = ipywidgets.Text(value="the cat sat")
    explorer = show_attention(maps_for, "typed", control=box)
    assert displayed == [box, explorer] and explorer.map_info[0]["n_q"] == 3
    box.value = "the cat sat on the mat"
    assert explorer.map_info[0]["query_tokens"] == "the cat sat on the mat".split() and explorer.message == ""
    box.value = "   "
    assert "type at least one word" in explorer.message and explorer.map_info[0]["n_q"] == 6
    with pytest.raises(ValueError, match="needs control"):
        show_attention(maps_for, "no control")


def test_standalone_page_embeds_the_state_and_the_module(explorer):
    page = explorer_page(explorer)
    assert "export default" in page and "explorerReady" in page
    assert base64.b64encode(explorer.weights).decode("ascii") in page
    assert page.count("</script>") == 1  # the embedded module cannot close its script element early
