"""One batch of adversarial submissions graded together, sandboxed and in parallel (``tests/adversarial``).

A correct submission in the same batch keeps full marks; each adversarial one
gets its expected status and score; the sandbox hides the gradebook, the other
students, ``course/`` and the network, and lets nothing be written outside the
submission's own folder; feedback never shows hidden tests; and the gradebook
after parallel grading equals the one after a sequential ``nbgrader autograde``.
Needs bubblewrap (``apt-get install -y bubblewrap``): skipped with the reason
only where it cannot run.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import pytest

from tests.adversarial import cases
from tests.adversarial.course import (
    ASSIGNMENT,
    REPO,
    loopback_server,
    make_course,
    master_and_release,
    submit,
)
from tfscourse_staff.grading import sandbox, status
from tfscourse_staff.grading.job import Limits

pytestmark = pytest.mark.slow

# short limits keep the batch at a few minutes on two cores: a 10 s cell limit stops the endless loop,
# 60 s per submission leaves room for the rest of that notebook on a busy machine
LIMITS = Limits(timeout=60, memory_mb=1500, cell_timeout=10)


def _need_sandbox():
    why = sandbox.available()
    if why:
        pytest.skip(f"bubblewrap sandbox unavailable: {why}")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    _need_sandbox()
    from tfscourse_staff.cycle import run_grade

    root = make_course(tmp_path_factory.mktemp("adversarial") / "course_root")
    master, release = master_and_release(root)
    port, accepted = loopback_server()
    probe = {"root": str(root), "repo": str(REPO), "port": port}
    for case in cases.CASES:
        submit(root, case.name, cases.build(case.name, release, master, probe))
    outcomes = run_grade(root, [ASSIGNMENT], workers=2, limits=LIMITS)
    return root, {o.student: o for o in outcomes}, accepted


@pytest.mark.parametrize("case", cases.CASES, ids=[c.name for c in cases.CASES])
def test_status_and_score(batch, case):
    _, outcomes, _ = batch
    got = outcomes[case.name]
    assert got.status == case.status, f"{case.why}: {got.flags} {got.detail}"
    if case.score == "as_control":
        assert got.score == outcomes["control_wrong_softmax"].score < cases.FULL
    elif case.score != "any":
        assert got.score == case.score, f"{case.why}: {got.flags} {got.detail}"


def test_summary_csv_has_every_status(batch):
    root, outcomes, _ = batch
    rows = {r["student"]: r for r in csv.DictReader((root / "grading_summary.csv").open())}
    assert set(rows) == set(outcomes)
    assert rows["os_exit"]["status"] == status.KERNEL_DIED and rows["os_exit"]["autograded_score"] == ""
    assert "wrong notebook name" in rows["wrong_name"]["repairs"]
    assert "patch-library" in rows["monkeypatch"]["tamper_findings"]
    tamper = list(csv.DictReader((root / "tamper_report.csv").open()))
    assert {"monkeypatch", "shadow_builtin", "os_exit", "sys_exit", "network"} <= {r["student"] for r in tamper}


def test_grades_csv_never_shows_a_crash_as_plain_zero(batch):
    root, _, _ = batch
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading.runner import course_db_url

    with Gradebook(course_db_url(root)) as gb:
        died = gb.find_submission_notebook("self_attention", ASSIGNMENT, "os_exit")
        assert died.flagged and all(g.needs_manual_grade for g in died.grades)
        ok = gb.find_submission_notebook("self_attention", ASSIGNMENT, "correct")
        assert not ok.flagged


@pytest.mark.parametrize("student", ["reads_others", "network"])
def test_sandbox_hid_everything(batch, student):
    root, _, accepted = batch
    import json

    probe = json.loads((root / "autograded" / student / ASSIGNMENT / "probe.json").read_text())
    seen = {path: value for path, value in probe["read"].items() if value is not None}
    assert seen == {"../../..": ["autograded"]}, f"the kernel could see {seen}"
    assert not any(probe["write"].values()), probe["write"]
    assert not (root / "hacked.txt").exists() and not (REPO / "hacked.txt").exists()
    assert not (root / "autograded" / "hacked.txt").exists()
    if student == "network":
        assert probe["net"] == {"127.0.0.1": False, "1.1.1.1": False, "pypi.org": False}
        assert accepted == [], "the host's loopback server was reached"


def test_huge_output_is_cut(batch):
    root, _, _ = batch
    path = root / "autograded" / "huge_output" / ASSIGNMENT / cases.NOTEBOOK
    assert path.stat().st_size < 2_000_000


def test_feedback_shows_results_not_hidden_tests(batch):
    root, _, _ = batch
    html = (root / "feedback" / "control_wrong_softmax" / ASSIGNMENT / "self_attention.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "_close" not in html
    assert "Test results" in html and "failed" in html and "passed" in html
    assert not (root / "feedback" / "os_exit").exists(), "no feedback for a submission that was not graded"


def _grades(root):
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading.runner import course_db_url

    out = {}
    with Gradebook(course_db_url(root)) as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student_id, nb.name, g.name)] = (g.auto_score, g.needs_manual_grade)
                for c in nb.comments:
                    out[(sub.student_id, nb.name, c.name, "comment")] = c.auto_comment
    return out


def test_gradebook_equals_sequential_nbgrader(tmp_path):
    """ada, ben and cleo graded in parallel give the same gradebook rows as plain ``nbgrader autograde``."""
    _need_sandbox()
    from tfscourse_staff.grading.runner import grade

    roots = {}
    for kind in ("parallel", "sequential"):
        root = roots[kind] = make_course(tmp_path / kind)
        for student in ("ada_complete", "ben_untouched", "cleo_partial"):
            shutil.copytree(REPO / "submitted" / student / ASSIGNMENT, root / "submitted" / student / ASSIGNMENT)
    grade(roots["parallel"], [ASSIGNMENT], workers=2, limits=Limits(timeout=120, memory_mb=2000), quiet=True)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"],
                   cwd=roots["sequential"], check=True, capture_output=True)
    parallel, sequential = _grades(roots["parallel"]), _grades(roots["sequential"])
    assert len(parallel) > 40 and parallel == sequential
