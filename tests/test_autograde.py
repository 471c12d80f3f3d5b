"""A real ``nbgrader autograde`` agrees with the harness: full marks, zero marks, no unearned marks.

For each assignment, in a temporary copy of the course, three submissions are graded:

* ``solution``: the master's answers put into the release notebook -> every autograded
  test cell gets full points;
* ``blank``: the release as downloaded -> every autograded test cell gets 0 and grading
  does not crash;
* ``tamper``: the solutions, with numpy's and torch's comparison functions replaced by
  always-true ones and one known-wrong answer planted per graded function -> the test
  cells judging the planted answers get 0.

The feedback HTML is generated too and must show the attention-map pictures as PNGs.
"""

from __future__ import annotations

import inspect

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT, known_wrong_cases
from tfscourse_staff import submissions
from tfscourse_staff.nbgrader_runs import ScratchCourse
from tfscourse_staff.notebooks import grade_id, is_test_cell, nbgrader_meta

pytestmark = pytest.mark.slow

PATCH_COMPARISONS = """import numpy as np, torch
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
"""


def planted_wrong_answers(assignment: str, release_nb) -> tuple[dict[str, str], set[str]]:
    """One known-wrong function or class per answer cell that defines it, and the tests that must fail."""
    cells = {grade_id(c) for c in submissions.answer_cells(release_nb)}
    answers, failing = {}, set()
    for case in known_wrong_cases(assignment):
        if case.target in cells and case.target not in answers and (inspect.isfunction(case.answer) or inspect.isclass(case.answer)):
            answers[case.target] = "import numpy as np\n\n" + submissions.function_source_as(case.answer, case.target)
            failing.update(case.tests)
    return answers, failing


@pytest.fixture(scope="module", params=list(ASSIGNMENTS))
def graded(request, tmp_path_factory):
    assignment = request.param
    master_path = ASSIGNMENTS[assignment]
    course = ScratchCourse(ROOT, tmp_path_factory.mktemp(assignment), [assignment])
    release = course.release(assignment)
    master = nbformat.read(str(master_path), as_version=4)
    wrong, must_fail = planted_wrong_answers(assignment, release)
    tamper = submissions.fill(release, master, wrong)
    first_answer = submissions.answer_cells(tamper)[0]
    first_answer.source = PATCH_COMPARISONS + first_answer.source
    students = {"solution": submissions.fill(release, master), "blank": release, "tamper": tamper}
    for student, nb in students.items():
        course.submit(student, assignment, nb)
    course.autograde(assignment)
    course.nbgrader("generate_feedback", assignment, "--force")
    scores = {(student, tid): score for student in students
              for tid, score in course.scores(assignment, student).items()}
    return {"assignment": assignment, "course": course.dir, "scores": scores,
            "tests": [c for c in master.cells if is_test_cell(c)], "must_fail": must_fail, "stem": master_path.stem}


def test_solution_gets_full_marks(graded):
    lost = {tid: s for (student, tid), s in graded["scores"].items() if student == "solution" and s[0] != s[1]}
    assert not lost, f"{graded['assignment']}: the solution loses points in {lost}"


def test_blank_release_gets_zero(graded):
    earned = {tid: s for (student, tid), s in graded["scores"].items() if student == "blank" and s[0] != 0}
    assert not earned, f"{graded['assignment']}: the untouched release earns points in {earned}"


def test_patched_comparisons_earn_nothing(graded):
    assert graded["must_fail"], "no known-wrong function could be planted"
    earned = {tid: graded["scores"]["tamper", tid] for tid in graded["must_fail"] if graded["scores"]["tamper", tid][0] > 0}
    assert not earned, f"{graded['assignment']}: planted wrong answers earn points with patched comparisons: {earned}"


def test_max_points_match_the_notebook(graded):
    for cell in graded["tests"]:
        assert graded["scores"]["solution", grade_id(cell)][1] == nbgrader_meta(cell)["points"]


def test_feedback_html_has_pictures(graded):
    html = graded["course"] / "feedback" / "solution" / graded["assignment"] / f"{graded['stem']}.html"
    assert html.is_file(), f"no feedback at {html}"
    text = html.read_text()
    assert "data:image/png;base64" in text, "the feedback HTML shows no plot or attention map"
