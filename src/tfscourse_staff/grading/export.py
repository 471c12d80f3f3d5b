"""``grades.csv`` for the whole class even when one student's rows cannot be exported.

``export_grades(root, outcomes)`` runs ``nbgrader export`` (the course's configured
plugin and options). Should it fail, the grades are exported again one student at a
time with nbgrader's CSV plugin: every student who can be exported is in
``grades.csv`` (nbgrader's columns), and each one who cannot has the reason in the
``detail`` of their outcomes instead of the whole export being lost.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def export_grades(root: Path, outcomes=(), db_url: str | None = None) -> tuple[Path, list[str]]:
    """Write ``root/grades.csv``; returns its path and the students left out (with why, as 'student: reason')."""
    root = Path(root)
    target = root / "grades.csv"
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--log-level=WARN"], cwd=root,
                          capture_output=True, text=True)
    if done.returncode == 0:
        return target, []
    from tfscourse_staff.grading.runner import course_db_url

    return target, _export_each(db_url or course_db_url(root), target, outcomes)


def _export_each(db_url: str, target: Path, outcomes) -> list[str]:
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with Gradebook(db_url) as gradebook:
        students = [s.id for s in gradebook.students]
    header, rows, left_out = None, [], []
    with tempfile.TemporaryDirectory(prefix="tfsgrade-export-") as tmp:
        for student in students:
            part = Path(tmp) / f"{len(rows)}.csv"
            try:
                with Gradebook(db_url) as gradebook:
                    CsvExportPlugin(to=str(part), student=[student]).export(gradebook)
                lines = part.read_text().splitlines()
            except Exception as error:  # noqa: BLE001 - record it, export the others
                left_out.append(f"{student}: grades not exported ({type(error).__name__}: {error})"[:300])
                continue
            header = header or lines[0]
            rows += lines[1:]
    target.write_text("\n".join([header or "", *rows]) + "\n")
    for note in left_out:
        student = note.split(":", 1)[0]
        for outcome in outcomes:
            if outcome.student == student:
                outcome.detail = (outcome.detail + "; " if outcome.detail else "") + note.split(": ", 1)[1]
    return left_out
