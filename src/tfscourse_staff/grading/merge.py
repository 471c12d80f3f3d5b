"""Write one job's result into the course gradebook (SQLite or PostgreSQL) and autograded/ folder.

Only the parent process calls this, one result at a time, so the gradebook sees
one writer: no SQLite locking between workers, and the same rows as a sequential
``nbgrader autograde``: the student, the submission (with its timestamp), and for
every grade cell ``auto_score`` and ``needs_manual_grade`` computed exactly like
nbgrader's ``SaveAutoGrades`` (a manual grade given earlier is kept and marks the
cell for review), the ``auto_comment`` of answer cells and the late penalty.

A submission that could not be graded (invalid, kernel died, out of memory or
timed out before the end) gets its cells marked ``needs_manual_grade`` and its
notebooks ``flagged``: formgrader shows it for review instead of an ordinary 0.
"""

from __future__ import annotations

import shutil
import warnings
from datetime import datetime
from pathlib import Path


def merge_result(db_url: str, result: dict, root: Path | None = None, autograded: str = "autograded") -> None:
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes inside nbgrader's own API
        record_result(gb, result)
    if root is not None:
        write_files(Path(root), result, autograded)


def record_result(gb, result: dict) -> None:
    """The gradebook part of ``merge_result``, into an open nbgrader ``Gradebook``."""
    assignment, student = result["assignment"], result["student"]
    gb.update_or_create_student(student)
    timestamp = datetime.fromisoformat(result["timestamp"]) if result.get("timestamp") else None
    if timestamp is not None:
        submission = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    else:
        submission = gb.update_or_create_submission(assignment, student)
    graded = result.get("notebooks") or {}
    for nb in submission.notebooks:
        got = graded.get(nb.name)
        for grade in nb.grades:
            if got is None or grade.name not in got["grades"]:
                grade.auto_score = None  # not graded this time: no stale or ordinary 0 score
                grade.needs_manual_grade = True
                continue
            grade.auto_score = got["grades"][grade.name][0]
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for comment in nb.comments:
            if got is not None and comment.name in got["comments"]:
                comment.auto_comment = got["comments"][comment.name]
        if got is not None:
            nb.late_submission_penalty = got.get("late_penalty")
        nb.flagged = got is None
    gb.db.commit()


def write_files(root: Path, result: dict, autograded: str = "autograded") -> None:
    """The autograded files of ``result`` into ``root/autograded/STUDENT/ASSIGNMENT/`` (replacing older ones)."""
    folder = root / autograded / result["student"] / result["assignment"]
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in (result.get("files") or {}).items():
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            continue  # never written outside the submission's folder, whatever a result holds
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def read_scores(db_url: str, assignment: str, student: str) -> tuple[float | None, float | None, bool]:
    """(autograded score, autograded max, written answers pending) from the course gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None, None, False
        pending = any(g.needs_manual_grade and g.cell.cell_type == "markdown" for nb in sub.notebooks for g in nb.grades)
        return float(sub.code_score), float(sub.max_code_score), pending
