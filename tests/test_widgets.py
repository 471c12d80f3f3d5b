"""The attention-map widget builds, redraws the plot itself on a dropdown change, and leaves that PNG behind.

"Redraws" is checked on the decoded pixels (tests/pictures.py): the heatmap must change, not
only the title, and coming back to a choice must show its first picture again.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.pictures import PLOT_CHANGED, PNG_MAGIC, changed_share
from tfscourse.widgets import AttentionExplorer, AttentionMap, attention_figure, figure_png


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


def test_a_new_title_alone_stays_below_the_change_threshold():
    """The measure used below tells a redrawn plot from a relabelled one."""
    amap = AttentionMap(np.full((3, 3), 1 / 3), ["The", "cat", "sat"])
    relabelled = changed_share(figure_png(attention_figure(amap, "test: uniform")),
                               figure_png(attention_figure(amap, "test: diagonal")))
    assert 0 < relabelled < PLOT_CHANGED


def test_dropdown_change_redraws(explorer):
    first = bytes(explorer.image.value)
    pictures = {"uniform": first}
    for label in ("diagonal", "two heads"):
        before = bytes(explorer.image.value)
        explorer.dropdown.value = label
        pictures[label] = bytes(explorer.image.value)
        share = changed_share(before, pictures[label])
        assert share > PLOT_CHANGED, f"choosing {label!r} changed only {share:.1%} of the picture"
    assert changed_share(pictures["uniform"], pictures["two heads"]) > PLOT_CHANGED
    explorer.dropdown.value = "uniform"
    assert changed_share(first, bytes(explorer.image.value)) == 0, "the same choice must show the same picture"


def test_display_data_carries_a_static_png(explorer):
    explorer.dropdown.value = "diagonal"
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = base64.b64decode(bundle["image/png"])
    assert changed_share(static, bytes(explorer.image.value)) == 0, "the static picture must be the current selection"


def test_set_maps_replaces_content(explorer):
    before = bytes(explorer.image.value)
    explorer.set_maps({"new": AttentionMap(np.eye(2), ["a", "b"])})
    assert list(explorer.dropdown.options) == ["new"] and explorer.selected == "new"
    assert changed_share(before, bytes(explorer.image.value)) > PLOT_CHANGED


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
