"""The instructor's nbgrader cycle, run end to end on the submissions in ``submitted/``.

``run_demo(root)`` is what ``make demo`` runs:

1. generate every student version (``release/``) from the master notebooks in ``course/``;
2. grade every submission (``submitted/<student>/<assignment>/``) with ``tfscourse_staff.grading``:
   each in its own sandboxed process, N at a time, checked and repaired first;
3. write the feedback HTML (``feedback/``), without the hidden tests;
4. export the grades (``grades.csv``, nbgrader's format) and a summary with a status per
   student and assignment (``grading_summary.csv``, see ``tfscourse_staff.grading.status``),
   printed as a table.

``run_grade(root, ...)`` is ``tfscourse grade``: steps 2 to 4 for the given assignments.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tfscourse_staff.grading import status
from tfscourse_staff.grading.job import Limits
from tfscourse_staff.grading.status import Outcome
from tfscourse_staff.notebooks import assignments


def nbgrader_api(root: Path):
    """An ``NbGraderAPI`` configured by the course's ``nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir=coursedir, config=config)


def students_with_submissions(root: Path) -> list[str]:
    folder = root / "submitted"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def submission_dir(root: Path, student: str, assignment: str) -> Path:
    return root / "submitted" / student / assignment


STALE_GRADEBOOK = "because there are submissions associated with it"


def release_all(root: Path, names: list[str], *, record_in_gradebook: bool = True) -> None:
    """nbgrader generate_assignment for each name; a clear message when the gradebook blocks it."""
    for name in names:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"]
        if not record_in_gradebook:
            command.append("--no-db")
        result = subprocess.run(command, cwd=root, capture_output=True, text=True)
        if result.returncode == 0:
            continue
        if STALE_GRADEBOOK in result.stderr:
            raise SystemExit(
                f"cannot release {name}: the gradebook holds submissions graded against an older version of it, "
                "and nbgrader will not add or remove its graded cells. For the example submissions, start "
                "afresh with `make clean` (removes gradebook.db, autograded/, feedback/); with real students, "
                "keep the cells as they were or grade the change in a new assignment."
            )
        raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{result.stderr[-3000:]}")


def _last_error_line(result: dict) -> str:
    text = (result.get("error") or result.get("log") or "").strip().splitlines()
    return text[-1][:200] if text else "nbgrader reported a failure without a message"


def generate_feedback(root: Path, outcomes: list[Outcome]) -> None:
    """Feedback HTML for every graded submission, hidden tests removed (``grading.feedback``)."""
    from tfscourse_staff.grading import feedback

    api = nbgrader_api(root)
    for outcome in outcomes:
        if outcome.score is None:  # not graded this time: no stale feedback from an earlier run
            shutil.rmtree(root / "feedback" / outcome.student / outcome.assignment, ignore_errors=True)
        elif (root / "autograded" / outcome.student / outcome.assignment).is_dir():
            result = feedback.generate(root, api, outcome.assignment, outcome.student)
            if not result.get("success"):
                outcome.detail = (outcome.detail + "; " if outcome.detail else "") + f"feedback failed: {_last_error_line(result)}"


def export_grades(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--log-level=WARN"], cwd=root, check=True)
    return root / "grades.csv"


def ensure_released(root: Path, names: list[str]) -> None:
    """Release (generate_assignment) the assignments the course gradebook does not know yet."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(nbgrader_api(root).coursedir.db_url) as gradebook:
        for name in names:
            try:
                gradebook.find_assignment(name)
            except MissingEntry:
                missing.append(name)
    if missing:
        release_all(root, missing)


def run_grade(root: Path, names: list[str], *, workers: int | None = None, limits: Limits | None = None,
              distributed: str | None = None, feedback: bool = True, steps: tuple[str, str] = ("", "")) -> list[Outcome]:
    """Grade, write feedback, export; print the table and notes. Returns the outcomes."""
    from tfscourse_staff.grading import runner, sandbox

    limits = limits or Limits(cell_timeout=runner.cell_timeout(root))
    if limits.sandbox and (why := sandbox.available()):
        raise SystemExit(f"cannot sandbox student code: {why}. Install it or pass --no-sandbox (unsafe).")
    ensure_released(root, names)
    outcomes = runner.grade(root, names, workers=workers, limits=limits, distributed=distributed)
    if feedback:
        print(f"{steps[0]}writing feedback into feedback/ (hidden tests removed)")
        generate_feedback(root, outcomes)
    print(f"{steps[1]}exporting grades")
    grades = export_grades(root)
    status.write_summary(root / "grading_summary.csv", outcomes)
    runner.print_report(root, outcomes)
    print(f"grades: {grades.relative_to(root)}  summary with statuses: grading_summary.csv  feedback: feedback/")
    return outcomes


def run_demo(root: Path) -> int:
    names = list(assignments(root))
    print(f"1/4 releasing {len(names)} assignment(s) into release/")
    release_all(root, names)
    students = students_with_submissions(root)
    print(f"2/4 grading {len(students)} student(s), sandboxed and in parallel")
    run_grade(root, names, steps=("3/4 ", "4/4 "))
    return 0
