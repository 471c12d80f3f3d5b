"""``python -m tfscourse_staff.grading.autograde_process TMP ASSIGNMENT STUDENT``: nbgrader autograde in a private course.

Started by ``job.py`` in its own process group, with ``TMP/course/nbgrader_config.py``
pointing at a private SQLite gradebook and the sandboxed kernelspec. Writes
``TMP/result.json``: ``success``, nbgrader's log and error, the submission timestamp
and, per notebook, ``grades`` (grade_id -> [auto_score, needs_manual_grade]),
``comments`` (grade_id -> auto_comment) and ``late_penalty``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def read_grades(db_url: str, assignment: str, student: str) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        out["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
        out["notebooks"] = {
            nb.name: {
                "grades": {g.name: [g.auto_score, bool(g.needs_manual_grade)] for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "late_penalty": nb.late_submission_penalty,
            }
            for nb in submission.notebooks
        }
    return out


def main(tmp: str, assignment: str, student: str) -> int:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.umask(0o000)  # the sandboxed kernel runs as another user and must write in its autograded folder
    course = Path(tmp) / "course"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.autograde(assignment, student, force=True, create=True)
    out = {"success": bool(result.get("success")), "log": (result.get("log") or "")[-6000:],
           "error": (result.get("error") or "")[-6000:]}
    if out["success"]:
        out.update(read_grades(coursedir.db_url, assignment, student))
    (Path(tmp) / "result.json").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
