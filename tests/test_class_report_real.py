"""A small generated class graded for real (``tfscourse grade``'s runner, nbgrader inside), then reported.

Five students of notebook 01 with planted answers, one kernel that dies and one cell that
never ends: the scores, statuses and failure messages the report reads from the real
gradebook, autograded notebooks and grading_summary.csv must be the predicted ones. This
is what makes the large synthetic classes of ``test_class_report.py`` and the benchmark
trustworthy: their predictions are checked here against real grading.
"""

from __future__ import annotations

import nbformat
import pytest

from tests.adversarial.course import ASSIGNMENT, make_course
from tests.class_effects import measure_effects
from tests.conftest import harness, known_wrong_cases
from tests.test_class_report import planted_group
from tfscourse_staff.grading import class_generator as cg
from tfscourse_staff.grading import report, runner, sandbox
from tfscourse_staff.grading.class_data import message_group, read_class
from tfscourse_staff.grading.job import Limits

pytestmark = pytest.mark.slow


def _small_class(master, variants):
    """The first seeded class of five with a crash, a timeout and a copied pair."""
    for seed in range(200):
        students = cg.generate_class(master, variants, 5, seed=seed,
                                     mix=cg.Mix(crash=0.2, timeout=0.2, copy_pairs=1))
        fates = {s.fate for s in students}
        if {cg.CRASH, cg.TIMEOUT} <= fates and any(s.copied_from for s in students):
            return students
    raise AssertionError("no seed below 200 gives the class this test needs")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("real") / "course")
    stem = "self_attention"
    release = nbformat.read(str(root / "release" / ASSIGNMENT / f"{stem}.ipynb"), as_version=4)
    master = harness(ASSIGNMENT).nb
    variants = cg.answer_variants(master, release, known_wrong_cases(ASSIGNMENT))
    effects = measure_effects(harness(ASSIGNMENT), variants)
    students = _small_class(master, variants)
    for student in students:
        target = root / "submitted" / student.name / ASSIGNMENT / f"{stem}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(cg.notebook_of(student, release), str(target))
    # 30 s per cell: the setup cell imports torch, slow on a busy machine; the endless loop costs 30 s
    limits = Limits(timeout=400, memory_mb=2000, cell_timeout=30, sandbox=not sandbox.available())
    runner.grade(root, [ASSIGNMENT], workers=2, limits=limits, quiet=True)
    tests = list(cg.test_cell_points(master))
    return root, students, {s.name: cg.predict(s, effects, tests) for s in students}


def test_real_grading_reports_what_was_planted(graded):
    root, students, predicted = graded
    data = read_class(root, ASSIGNMENT)
    statuses = {cg.OK: {"graded", "suspicious"}, cg.CRASH: {"kernel died"}, cg.TIMEOUT: {"timed out"}}
    for student in students:
        assert data.statuses[student.name] in statuses[student.fate], student.name
        expected = predicted[student.name]
        if expected is None:
            assert data.totals[student.name] is None
            continue
        for test, (passed, message) in expected.items():
            points = data.tests[test].points
            assert data.scores[student.name][test] == (points if passed else 0), (student.name, test)
            if not passed:
                # The exception's kind is predicted exactly; its text not always: a cell that judges a
                # function against the student's own earlier one (self_attention against their attention)
                # says different things for different combinations of answers, and the prediction takes
                # each planted answer on its own.
                got = message_group(data.messages[(student.name, test)])
                assert got.split(":")[0] == planted_group(message).split(":")[0], (student.name, test, got, message)


def test_real_grading_report_finds_the_copied_pair(graded):
    root, students, _ = graded
    pairs, _, _ = report.similarity_pairs(root, ASSIGNMENT)
    copier = next(s for s in students if s.copied_from)
    assert {pairs[0].first, pairs[0].second} == {copier.name, copier.copied_from}
    assert report.write_report(root, ASSIGNMENT).is_file()
