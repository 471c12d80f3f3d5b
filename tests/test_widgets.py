"""The attention-map widget builds, redraws on a dropdown change, and leaves a PNG behind."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tfscourse.widgets import AttentionExplorer, AttentionMap, attention_figure, figure_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def explorer():
    tokens = ["The", "cat", "sat"]
    maps = {
        "uniform": AttentionMap(np.full((3, 3), 1 / 3), tokens),
        "diagonal": AttentionMap(np.eye(3), tokens),
        "two heads": AttentionMap(np.stack([np.eye(3), np.full((3, 3), 1 / 3)]), tokens),
    }
    return AttentionExplorer(maps, title="test")


def test_widget_shows_first_map_as_png(explorer):
    assert explorer.selected == "uniform"
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)
    assert list(explorer.dropdown.options) == ["uniform", "diagonal", "two heads"]


def test_dropdown_change_redraws(explorer):
    before = bytes(explorer.image.value)
    explorer.dropdown.value = "diagonal"
    assert bytes(explorer.image.value) != before and bytes(explorer.image.value).startswith(PNG_MAGIC)
    explorer.dropdown.value = "two heads"
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)


def test_display_data_carries_a_static_png(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)


def test_set_maps_replaces_content(explorer):
    explorer.set_maps({"new": AttentionMap(np.eye(2), ["a", "b"])})
    assert list(explorer.dropdown.options) == ["new"] and explorer.selected == "new"


def test_grid_of_heads_has_one_axes_per_head():
    fig = attention_figure(AttentionMap(np.ones((6, 4, 4)) / 4, list("abcd")), "heads")
    heatmaps = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(heatmaps) == 6
    assert figure_png(fig).startswith(PNG_MAGIC)


def test_cross_attention_labels_and_bad_shapes():
    AttentionMap(np.ones((2, 3)) / 3, ["q1", "q2"], ["k1", "k2", "k3"])
    with pytest.raises(ValueError, match="do not label"):
        AttentionMap(np.ones((2, 3)), ["q1", "q2"])
    with pytest.raises(ValueError, match="needs at least one"):
        AttentionExplorer({})
