"""``python -m tfscourse_staff.grading.autograde_process TMP ASSIGNMENT STUDENT SECONDS``: nbgrader autograde in a private course.

Started by ``job.py`` in its own process group, with ``TMP/course/nbgrader_config.py``
pointing at a private SQLite gradebook and the sandboxed kernelspec. The cells run
until ``SECONDS`` from now (``execute.BoundedExecute``), then the rest is not run. Writes
``TMP/result.json``: ``success``, nbgrader's log and error, the submission timestamp
and, per notebook, ``grades`` (grade_id -> [auto_score, needs_manual_grade]),
``comments`` (grade_id -> auto_comment) and ``late_penalty``; and each executed
notebook made safe (``outputs.make_safe``) into ``TMP/safe/``, its flags and notes
in ``safe`` of the result. This process is watched by ``job.py`` (memory, wall clock),
so a notebook whose outputs would blow up the parsing costs this job only. With a judge
spec (``TMP/judge.json``), the judge's points replace the test cells' scores in the
private gradebook first (``judge_execute.write_scores``) and ``judge`` holds its
per-cell results.
"""

from __future__ import annotations

import json
import sys
import time
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


def make_safe_copies(folder: Path, target: Path) -> dict:
    """Each executed notebook in ``folder`` made safe into ``target``; name -> {flags, notes}."""
    from tfscourse_staff.grading import outputs

    found = {}
    target.mkdir(exist_ok=True)
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text(errors="replace"))
        flags = outputs.scan(nb)
        notes = outputs.make_safe(nb)
        (target / path.name).write_text(json.dumps(nb, indent=1))
        found[path.name] = {"flags": flags, "notes": notes}
    return found


def main(tmp: str, assignment: str, student: str, seconds: str) -> int:
    from tfscourse_staff.grading.untrusted import skip_iri_grammar

    skip_iri_grammar()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(tmp) / "course"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.BoundedExecute.deadline = time.time() + float(seconds)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.autograde(assignment, student, force=True, create=True)
    out = {"success": bool(result.get("success")), "log": (result.get("log") or "")[-6000:],
           "error": (result.get("error") or "")[-6000:]}
    judge_spec = Path(tmp) / "judge.json"
    if out["success"] and judge_spec.exists():
        from tfscourse_staff.grading.judge_execute import write_scores

        results_path = Path(tmp) / "judge_results.json"
        results = json.loads(results_path.read_text()) if results_path.exists() else {}
        write_scores(coursedir.db_url, assignment, student, json.loads(judge_spec.read_text()), results)
        out["judge"] = results
    if out["success"]:
        out.update(read_grades(coursedir.db_url, assignment, student))
        out["safe"] = make_safe_copies(course / "autograded" / student / assignment, Path(tmp) / "safe")
    (Path(tmp) / "result.json").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
