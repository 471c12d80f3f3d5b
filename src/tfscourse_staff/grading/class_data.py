"""What grading left behind for one assignment, read into plain tables for the class report.

``read_class(root, assignment)`` reads the three things that ``tfscourse grade`` (or
``nbgrader autograde``) writes:

* the gradebook (``nbgrader_config.py``'s database): every grade of every test cell and
  written answer, in one query through nbgrader's own tables;
* ``autograded/STUDENT/ASSIGNMENT/*.ipynb``: the error each failed test cell printed
  (exception name and message only: tracebacks quote the hidden tests, so they are never read);
* ``grading_summary.csv``: each submission's status and grading time (absent after a plain
  ``nbgrader autograde``: every submission is then reported as ``graded``).

The autograded notebooks were written by student code running in a sandbox: they are read
as untrusted data (no links followed, a size limit, anything malformed skipped).

Example: read_class(root, "01_self_attention").cells["test_softmax"].pass_rate -> 0.81
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tfscourse_staff.notebooks import grade_id, is_test_cell, nbgrader_meta

MAX_NOTEBOOK_BYTES = 20 * 2**20  # an autograded notebook larger than this is not read for messages
MAX_MESSAGE = 160  # characters of a failure message kept


def message_group(message: str) -> str:
    """The failure message with its numbers masked, so the same mistake groups together.

    Example: "AssertionError: expected shape (3, 3), got (3, 4)" -> "AssertionError: expected shape (#, #), got (#, #)"
    """
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", message)


def error_message(output: dict) -> str:
    """``Name: message`` (first line, shortened) of an error output; never the traceback."""
    evalue = str(output.get("evalue", "")).strip().split("\n")[0]
    text = f"{output.get('ename', 'Error')}: {evalue}" if evalue else str(output.get("ename", "Error"))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


@dataclass
class CellStats:
    """One autograded test cell over the class (graded submissions only)."""

    name: str
    points: float
    graded: int = 0
    passed: int = 0
    total_points: float = 0.0
    failures: Counter = field(default_factory=Counter)  # message group -> count
    examples: dict[str, str] = field(default_factory=dict)  # message group -> one message as printed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else float("nan")

    @property
    def mean_points(self) -> float:
        return self.total_points / self.graded if self.graded else float("nan")

    def top_failures(self, count: int = 3) -> list[tuple[str, int]]:
        """[(message as printed, number of students)] most common first."""
        return [(self.examples[group], n) for group, n in self.failures.most_common(count)]


@dataclass
class WrittenStats:
    """One written answer (graded by hand in formgrader)."""

    name: str
    points: float
    graded: int = 0
    pending: int = 0
    total_points: float = 0.0


@dataclass
class ClassData:
    assignment: str
    tests: dict[str, CellStats]  # in notebook order
    written: dict[str, WrittenStats]
    students: list[str]
    scores: dict[str, dict[str, float | None]]  # student -> test cell -> points (None: not graded)
    totals: dict[str, float | None]  # student -> autograded points (None: not graded)
    statuses: dict[str, str]  # student -> status from grading_summary.csv
    seconds: dict[str, float]  # student -> grading time
    messages: dict[tuple[str, str], str] = field(default_factory=dict)  # (student, test) -> message

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.tests.values())


def master_notebooks(root: Path, assignment: str) -> dict[str, object]:
    folder = Path(root) / "course" / assignment
    if not folder.is_dir():
        raise SystemExit(f"no assignment {assignment!r}: {folder} does not exist")
    return {p.stem: nbformat.read(str(p), as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def _grade_rows(db_url: str, assignment: str):
    """(student, notebook, cell, cell_type, max_score, auto, manual, needs_manual) for every grade."""
    from nbgrader.api import (
        Assignment,
        Grade,
        Gradebook,
        GradeCell,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    with Gradebook(db_url) as gb:
        query = (
            gb.db.query(SubmittedAssignment.student_id, Notebook.name, GradeCell.name, GradeCell.cell_type,
                        GradeCell.max_score, Grade.auto_score, Grade.manual_score, Grade.needs_manual_grade)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
            .join(GradeCell, Grade.cell_id == GradeCell.id)
            .filter(Assignment.name == assignment)
        )
        return query.all()


def _read_summary(path: Path, assignment: str) -> dict[str, dict]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle) if row.get("assignment") == assignment}


def _failure_messages(folder: Path, tests: set[str]) -> dict[str, str]:
    """Test cell -> error message of one student's autograded notebooks (untrusted files)."""
    found = {}
    if not folder.is_dir() or folder.is_symlink():
        return found
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
            continue
        try:
            nb = json.loads(path.read_bytes())
            cells = [c for c in nb.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"]
        except (ValueError, AttributeError, UnicodeDecodeError):
            continue
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
            name = meta.get("grade_id") if isinstance(meta, dict) else None
            errors = [o for o in cell.get("outputs", []) if isinstance(o, dict) and o.get("output_type") == "error"]
            if name in tests and errors:
                found[name] = error_message(errors[-1])
    return found


def read_class(root: Path, assignment: str, db_url: str | None = None) -> ClassData:
    """Everything the report shows about ``assignment``, from the gradebook, autograded/ and the summary."""
    from tfscourse_staff.grading.runner import course_db_url

    root = Path(root)
    masters = master_notebooks(root, assignment)
    tests: dict[str, CellStats] = {}
    written: dict[str, WrittenStats] = {}
    for nb in masters.values():
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if is_test_cell(cell):
                tests[grade_id(cell)] = CellStats(grade_id(cell), float(meta.get("points", 0)))
            elif cell.cell_type == "markdown" and meta.get("grade"):
                written[grade_id(cell)] = WrittenStats(grade_id(cell), float(meta.get("points", 0)))
    summary = _read_summary(root / "grading_summary.csv", assignment)
    scores: dict[str, dict[str, float | None]] = {}
    for student, _nb, cell, cell_type, _max, auto, manual, needs_manual in _grade_rows(db_url or course_db_url(root), assignment):
        if cell_type == "markdown" and cell in written:
            w = written[cell]
            if manual is not None and not needs_manual:
                w.graded += 1
                w.total_points += manual
            else:
                w.pending += 1
        elif cell in tests:
            score = manual if manual is not None else auto
            scores.setdefault(student, {})[cell] = score
    students = sorted(set(scores) | set(summary))
    data = ClassData(assignment, tests, written, students, {}, {}, {}, {})
    for student in students:
        row = summary.get(student, {})
        data.statuses[student] = row.get("status") or "graded"
        data.seconds[student] = float(row.get("seconds") or 0.0)
        cell_scores = {t: scores.get(student, {}).get(t) for t in tests}
        graded = any(v is not None for v in cell_scores.values()) and row.get("autograded_score", "x") != ""
        data.scores[student] = cell_scores if graded else dict.fromkeys(tests)
        data.totals[student] = sum(v or 0.0 for v in cell_scores.values()) if graded else None
        if not graded:
            continue
        messages = _failure_messages(root / "autograded" / student / assignment, set(tests))
        for test, stats in tests.items():
            value = cell_scores[test]
            if value is None:
                continue
            stats.graded += 1
            stats.total_points += value
            if value >= stats.points:
                stats.passed += 1
                continue
            message = messages.get(test, "no error printed (partial or zero score)")
            group = message_group(message)
            stats.failures[group] += 1
            stats.examples.setdefault(group, message)
            data.messages[(student, test)] = message
    return data
