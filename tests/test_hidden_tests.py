"""Hidden test blocks: read as strictly as nbgrader, never shown in feedback, helpers from one place."""

from __future__ import annotations

import html
import math
import re
import shutil

import nbformat
import numpy as np
import pytest
import torch
from nbgrader.preprocessors import ClearHiddenTests

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse_staff import hidden_helpers, notebooks, submissions
from tfscourse_staff.cycle import nbgrader_api
from tfscourse_staff.grading import feedback
from tfscourse_staff.nbgrader_runs import ScratchCourse

TWO_BLOCKS = "\n".join([
    '"""Check f on the handout\'s example, then twice in secret."""',
    "assert f(1) == 2",
    "### BEGIN HIDDEN TESTS",
    "assert f(10) == 20, 'first secret check'",
    "### END HIDDEN TESTS",
    "assert f(0) == 0",
    "### BEGIN HIDDEN TESTS",
    "assert _close(float(f(0.5)), 1.0), 'second secret check'",
    "### END HIDDEN TESTS",
])
SECRET_LINES = ("first secret check", "second secret check", "f(10) == 20", "f(0.5)")


def _test_cell(source: str, gid: str = "test_f"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": 2.0,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def test_several_hidden_blocks_split_like_nbgrader_releases_them():
    parsed = notebooks.parse_hidden_tests(TWO_BLOCKS)
    assert parsed.blocks == ("assert f(10) == 20, 'first secret check'",
                             "assert _close(float(f(0.5)), 1.0), 'second secret check'")
    released = _test_cell(TWO_BLOCKS)
    assert ClearHiddenTests()._remove_hidden_test_region(released)
    assert parsed.visible == released.source
    visible, hidden = notebooks.split_hidden_tests(TWO_BLOCKS)
    assert visible == released.source and hidden == "\n".join(parsed.blocks)


def test_a_cell_without_markers_is_all_visible():
    assert notebooks.split_hidden_tests("assert True") == ("assert True", "")


@pytest.mark.parametrize("source, message", [
    ("### BEGIN HIDDEN TESTS\nx = 1\n### BEGIN HIDDEN TESTS\ny = 2\n### END HIDDEN TESTS", "line 3.*cannot nest"),
    ("a = 1\n### BEGIN HIDDEN TESTS\nx = 1", "opened on line 2 has no '### END HIDDEN TESTS'"),
    ("x = 1\n### END HIDDEN TESTS", "line 2.*without a '### BEGIN HIDDEN TESTS'"),
    ("print('BEGIN HIDDEN TESTS here')", "line 1 mentions a hidden-test marker but is not one"),
    ("### BEGIN HIDDEN TESTS  # the secret part\nx = 1\n### END HIDDEN TESTS", "line 1 mentions"),
])
def test_malformed_markers_are_refused_with_the_line(source, message):
    with pytest.raises(notebooks.HiddenTestsError, match=message):
        notebooks.parse_hidden_tests(source)


def _source_file(tmp_path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "tiny.py"
    notebooks.write_source(nb, path)
    return path


def test_build_refuses_a_broken_hidden_block_naming_file_and_cell(tmp_path):
    source = _source_file(tmp_path, [_test_cell("### BEGIN HIDDEN TESTS\nassert f(1) == 2", gid="test_broken")])
    with pytest.raises(notebooks.HiddenTestsError, match=r"tiny\.py, cell test_broken: the hidden block opened on line 1"):
        notebooks.build_master(source)


def test_build_refuses_hidden_tests_outside_a_test_cell(tmp_path):
    solution = nbformat.v4.new_code_cell("def f(x):\n    return 2 * x\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS")
    solution.metadata["nbgrader"] = {"grade": False, "grade_id": "f", "locked": False, "schema_version": 3,
                                     "solution": True, "task": False}
    with pytest.raises(notebooks.HiddenTestsError, match="cell f: hidden tests belong in a test cell"):
        notebooks.build_master(_source_file(tmp_path, [solution]))


def test_build_starts_every_hidden_block_with_its_helpers(tmp_path):
    master = notebooks.build_master(_source_file(tmp_path, [_test_cell(TWO_BLOCKS)]))
    first, second = notebooks.parse_hidden_tests(master.cells[0].source).blocks
    assert first.startswith(hidden_helpers.PREAMBLE + "\n") and "def _close" not in first
    assert second.startswith(hidden_helpers.prelude("_close(")) and second.endswith("'second secret check'")
    hidden = notebooks.split_hidden_tests(master.cells[0].source)[1]
    exec(hidden, {"f": lambda x: 2 * x})
    with pytest.raises(AssertionError, match="second secret check"):
        exec(hidden, {"f": lambda x: 2 * x if x == 10 else 2 * x + 1e-3})


def test_feedback_shows_no_hidden_block_of_a_cell_with_two():
    """The student's feedback keeps the visible checks and loses both hidden blocks (and their helpers)."""
    nb = nbformat.v4.new_notebook(cells=[_test_cell(TWO_BLOCKS)])
    notebooks.add_hidden_helpers(nb)
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="second secret check",
                                                  traceback=["Traceback", "assert f(10) == 20, 'first secret check'"])]
    shown = nbformat.writes(feedback.sanitize(nb))
    for secret in (*SECRET_LINES, "def _close", "BEGIN HIDDEN", "END HIDDEN"):
        if secret == "second secret check":  # the error message itself is the student's feedback
            continue
        assert secret not in shown, f"feedback shows {secret!r}"
    assert "assert f(1) == 2" in shown and "assert f(0) == 0" in shown


@pytest.mark.slow
def test_two_hidden_blocks_release_grade_and_stay_out_of_feedback(tmp_path):
    """A master cell with two hidden blocks, through nbgrader: released without either block, both
    run when grading (the second one alone takes the points), and neither is in the feedback."""
    root = tmp_path / "course_root"
    (root / "course" / "99_tiny").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    title = nbformat.v4.new_markdown_cell("# Tiny")
    title.metadata["nbgrader"] = {"grade": False, "grade_id": "intro", "locked": True, "schema_version": 3,
                                  "solution": False, "task": False}
    answer = nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "f", "locked": False, "schema_version": 3,
                                   "solution": True, "task": False}
    source = root / "course" / "99_tiny" / "tiny.py"
    notebooks.write_source(nbformat.v4.new_notebook(cells=[title, answer, _test_cell(TWO_BLOCKS)]), source)
    master = notebooks.build_master(source)
    notebooks.write(master, source.with_suffix(".ipynb"))

    course = ScratchCourse(root, tmp_path / "scratch", ["99_tiny"])
    release = course.release("99_tiny")
    released = nbformat.writes(release)
    assert not [secret for secret in (*SECRET_LINES, "def _close") if secret in released]
    assert not list((course.dir / "release" / "99_tiny").glob("*.py")), "the text source was released"
    course.submit("right", "99_tiny", submissions.fill(release, master))
    off_at_half = "def f(x):\n    return 2 * x if x != 0.5 else 1.5"
    course.submit("off_at_half", "99_tiny", submissions.fill(release, master, {"f": off_at_half}))
    course.autograde("99_tiny")
    assert course.scores("99_tiny", "right") == {"test_f": (2.0, 2.0)}
    assert course.scores("99_tiny", "off_at_half") == {"test_f": (0.0, 2.0)}

    api = nbgrader_api(course.dir)
    for student in ("right", "off_at_half"):
        feedback.generate(course.dir, api, "99_tiny", student)
        page = (course.dir / "feedback" / student / "99_tiny" / "tiny.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))  # what the student reads, highlighting removed
        assert "assert f(0) == 0" in text and "assert f(1) == 2" in text
        shown = [secret for secret in (*SECRET_LINES[:1], *SECRET_LINES[2:], "def _close", "HIDDEN TESTS") if secret in text]
        assert not shown, f"the feedback of {student} shows {shown}"


# ---- the helpers come from one place -------------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_text_sources_leave_helpers_to_the_build(assignment):
    """No source writes the preamble or a comparison helper itself: the build injects them."""
    text = notebooks.source_path_of(ASSIGNMENTS[assignment]).read_text(encoding="utf-8")
    assert "from builtins import" not in text, "the built-ins preamble comes from tfscourse_staff.hidden_helpers"
    assert "def _close" not in text, "comparison helpers come from tfscourse_staff.hidden_helpers"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hidden_block_of_a_master_starts_with_the_module_prelude(assignment):
    master = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    for cell in master.cells:
        for block in notebooks.parse_hidden_tests(cell.source).blocks:
            assert block.startswith(hidden_helpers.prelude(block) + "\n"), f"{notebooks.grade_id(cell)}: stale helpers"


_close = hidden_helpers._close


def test_close_follows_the_tolerance_policy():
    want64 = np.array([[1.0, -2.0], [1000.0, 0.0]])
    assert _close(want64 * (1 + 5e-7), want64)
    assert not _close(want64 + 3e-6, want64), "64-bit values use the 1e-6 tolerance"
    want32 = torch.tensor([0.5, 2.0])
    assert _close(want32 + 5e-5, want32)
    assert not _close(want32 + 5e-4, want32), "32-bit values use the 1e-4 tolerance"
    assert _close([1.0, 2.0], [1.0, 2.0 + 1e-7]) and not _close([1.0], [1.0, 2.0])
    assert _close(0.1 + 0.2, 0.3) and not _close(0.31, 0.3)


@pytest.mark.parametrize("got, want", [
    (np.array([1.0, math.nan]), np.array([1.0, math.nan])),       # NaN never matches
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]])),                 # shape
    (np.array([1.0, 2.0]).tolist(), np.array([1.0, 2.0])),          # type
    (torch.tensor([1.0]), np.array([1.0], dtype=np.float32)),       # tensor for an array
    (np.array([1.0]).view(np.matrix), np.array([[1.0]])),           # a subclass
    (np.float64(1.0), 1.0),                                         # a NumPy scalar for a float
])
def test_close_rejects_look_alikes(got, want):
    assert not _close(got, want)


def test_injected_helpers_are_this_modules_code():
    """What the build writes defines the same function as the module (one source of truth)."""
    namespace: dict = {}
    exec(hidden_helpers.prelude("_close(a, b)"), namespace)
    assert set(hidden_helpers.HELPER_NAMES) <= set(namespace)
    for name in hidden_helpers.HELPER_NAMES[:-1]:
        assert namespace[name] == getattr(hidden_helpers, name)
    assert namespace["_close"].__code__.co_code == hidden_helpers._close.__code__.co_code
