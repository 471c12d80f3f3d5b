"""The course builds: release/ is what nbgrader generates, master notebooks are clean and consistent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse.colab import SETUP_CELL_ID, colab_badge_markdown, setup_cell_source
from tfscourse_staff import notebooks


@pytest.fixture(scope="module")
def generated_release(tmp_path_factory):
    """Run nbgrader generate_assignment for every assignment in a temporary copy of the course."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course", course / "course")
    for name in ASSIGNMENTS:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=ERROR"],
            cwd=course, check=True, capture_output=True, text=True,
        )
    return course / "release"


def test_there_are_assignments():
    assert "01_self_attention" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_in_git_equals_generated_release(assignment, generated_release):
    name = ASSIGNMENTS[assignment].name
    committed = ROOT / "release" / assignment / name
    assert committed.is_file(), f"release/{assignment}/{name} is missing: run `tfscourse release {assignment}`"
    fresh = json.loads((generated_release / assignment / name).read_text())
    assert json.loads(committed.read_text()) == fresh, (
        f"release/{assignment} is out of date with course/: run `tfscourse release {assignment}` and commit it"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_notebook_is_normalized(assignment):
    """No outputs, no execution counts, stable ids and metadata (`tfscourse normalize` fixes it)."""
    path = ASSIGNMENTS[assignment]
    nb = nbformat.read(str(path), as_version=4)
    with_outputs = [c.id for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{path.name}: cells with outputs {with_outputs}; run `tfscourse normalize`"
    normalized = nbformat.read(str(path), as_version=4)
    notebooks.normalize(normalized)
    assert normalized == nb, f"{path.name} is not normalized; run `tfscourse normalize`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_setup_cell_is_current_and_first(assignment):
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert notebooks.grade_id(code[0]) == SETUP_CELL_ID, "the first code cell must be the locked setup cell"
    assert code[0].source == setup_cell_source(), "setup cell is stale: run `tfscourse sync-setup`"
    assert notebooks.nbgrader_meta(code[0]).get("locked"), "the setup cell must be locked"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_title_has_the_colab_badge_of_its_release(assignment):
    path = ASSIGNMENTS[assignment]
    nb = nbformat.read(str(path), as_version=4)
    expected = colab_badge_markdown(notebooks.release_path_of(path))
    assert expected in nb.cells[0].source, "the title cell lacks its Open in Colab badge: run `tfscourse sync-setup`"
    assert expected in (ROOT / "README.md").read_text(), f"README.md lacks the Colab badge of {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_start_with_a_docstring_and_are_locked(assignment):
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    for cell in nb.cells:
        if notebooks.is_test_cell(cell):
            first = cell.source.lstrip().split("\n", 1)[0]
            assert first.startswith('"""') and first.endswith('"""') and len(first) > 6, (
                f"{notebooks.grade_id(cell)}: a test cell starts with a one-line docstring"
            )
            assert notebooks.nbgrader_meta(cell).get("locked"), f"{notebooks.grade_id(cell)} must be locked"
            assert notebooks.grade_id(cell).startswith("test_"), f"{notebooks.grade_id(cell)}: test ids start with test_"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_opens_with_title_goals_time_and_hardware(assignment):
    """Every notebook opens the same way: title, learning goals, how to run, running time, GPU or not."""
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the first cell is the title"
    text = first.source.lower()
    for needle in ("learning goals", "how to work", "running time", "gpu"):
        assert needle in text, f"the opening cell of {assignment} should mention {needle!r}"


def test_example_submissions_exist_for_every_assignment():
    for assignment, path in ASSIGNMENTS.items():
        for student in ("ada_complete", "ben_untouched", "cleo_partial"):
            assert (ROOT / "submitted" / student / assignment / path.name).is_file(), (
                f"missing example submission {student}/{assignment}: run `python tools/make_examples.py`"
            )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_blocks_do_not_trust_library_comparisons(assignment):
    """Students can replace np.allclose & co. in their kernel: hidden blocks compare in plain Python."""
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    banned = ("allclose", "isclose", "array_equal", "testing.assert", "assert_close")
    offenders = [
        (notebooks.grade_id(cell), word)
        for cell in nb.cells if notebooks.is_test_cell(cell)
        for word in banned if word in notebooks.split_hidden_tests(cell.source)[1]
    ]
    assert not offenders, f"hidden blocks use library comparisons: {offenders}"
