"""The instructor's nbgrader cycle, run end to end on the submissions in ``submitted/``.

``run_demo(root)`` is what ``make demo`` runs:

1. generate every student version (``release/``) from the master notebooks in ``course/``;
2. autograde every submission (``submitted/<student>/<assignment>/``);
3. write the feedback HTML (``feedback/``);
4. export the grades (``grades.csv``, nbgrader's format) and a summary with a status per
   student and assignment (``grading_summary.csv``), printed as a table.

Status values in the summary:
    graded         autograded; the score counts
    failed to run  a submission exists but nbgrader could not grade it (see the log)
    missing        no submission for this assignment
"""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tfscourse.notebooks import assignments

GRADED, FAILED, MISSING = "graded", "failed to run", "missing"


@dataclass
class Outcome:
    student: str
    assignment: str
    status: str
    score: float | None = None  # autograded points (code cells)
    max_score: float | None = None
    written_pending: bool = False  # written answers still to be graded by hand in formgrader
    detail: str = ""

    @property
    def cell(self) -> str:
        if self.status == GRADED:
            pending = " + written" if self.written_pending else ""
            return f"{self.score:g}/{self.max_score:g}{pending}"
        return self.status


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


def release_all(root: Path, names: list[str]) -> None:
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"],
            cwd=root,
            check=True,
        )


def _last_error_line(result: dict) -> str:
    text = (result.get("error") or result.get("log") or "").strip().splitlines()
    return text[-1][:200] if text else "nbgrader reported a failure without a message"


def autograde_all(root: Path, names: list[str], students: list[str]) -> list[Outcome]:
    """Autograde each existing submission on its own, so that one failure never stops the others."""
    api = nbgrader_api(root)
    outcomes = []
    for assignment in names:
        for student in students:
            if not any(submission_dir(root, student, assignment).glob("*.ipynb")):
                outcomes.append(Outcome(student, assignment, MISSING))
                continue
            print(f"autograding {student} / {assignment} ...", flush=True)
            result = api.autograde(assignment, student, force=True, create=True)
            if result.get("success"):
                outcomes.append(Outcome(student, assignment, GRADED))
            else:
                outcomes.append(Outcome(student, assignment, FAILED, detail=_last_error_line(result)))
    _fill_scores(api, outcomes)
    return outcomes


def _fill_scores(api, outcomes: list[Outcome]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(api.coursedir.db_url) as gradebook:
        for outcome in outcomes:
            if outcome.status != GRADED:
                continue
            try:
                submission = gradebook.find_submission(outcome.assignment, outcome.student)
            except MissingEntry:
                outcome.status, outcome.detail = FAILED, "no gradebook entry after autograding"
                continue
            outcome.score, outcome.max_score = submission.code_score, submission.max_code_score
            outcome.written_pending = bool(submission.needs_manual_grade)


def generate_feedback(root: Path, outcomes: list[Outcome]) -> None:
    api = nbgrader_api(root)
    for outcome in outcomes:
        if outcome.status == GRADED:
            result = api.generate_feedback(outcome.assignment, outcome.student, force=True)
            if not result.get("success"):
                outcome.detail = f"feedback failed: {_last_error_line(result)}"


def export_grades(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--log-level=WARN"], cwd=root, check=True)
    return root / "grades.csv"


def write_summary(root: Path, outcomes: list[Outcome]) -> Path:
    path = root / "grading_summary.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", "autograded_score", "autograded_max", "written_pending", "detail"])
        for o in outcomes:
            writer.writerow([o.student, o.assignment, o.status, o.score, o.max_score, o.written_pending, o.detail])
    return path


def format_table(outcomes: list[Outcome]) -> str:
    """Students as rows, assignments as columns, e.g. ``27/33`` or ``missing``."""
    students = sorted({o.student for o in outcomes})
    names = sorted({o.assignment for o in outcomes})
    by_key = {(o.student, o.assignment): o for o in outcomes}
    header = ["student", *names]
    rows = [[s, *(by_key[(s, a)].cell if (s, a) in by_key else MISSING for a in names)] for s in students]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def run_demo(root: Path) -> int:
    names = list(assignments(root))
    print(f"1/4 releasing {len(names)} assignment(s) into release/")
    release_all(root, names)
    students = students_with_submissions(root)
    print(f"2/4 autograding {len(students)} student(s)")
    outcomes = autograde_all(root, names, students)
    print("3/4 writing feedback into feedback/")
    generate_feedback(root, outcomes)
    print("4/4 exporting grades")
    grades = export_grades(root)
    summary = write_summary(root, outcomes)
    print()
    print(format_table(outcomes))
    print()
    for o in outcomes:
        if o.detail:
            print(f"note: {o.student} / {o.assignment}: {o.detail}")
    print("Scores are autograded points; '+ written' means answers await manual grading in formgrader.")
    print(f"grades: {grades.relative_to(root)}  summary with statuses: {summary.relative_to(root)}  feedback: feedback/")
    return 0
