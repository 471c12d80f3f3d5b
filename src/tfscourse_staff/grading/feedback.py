"""Feedback HTML that tells students what passed and what failed, never how the hidden tests read.

nbgrader's own feedback is the autograded notebook rendered as HTML: the hidden
tests it ran are in it, in the test cells' source and in the tracebacks. Here each
autograded notebook is first *sanitized*:

* a summary cell at the top lists every test: points, passed or failed, and the
  error message (``AssertionError: expected shape (3, 3), got (3,)``);
* each test cell keeps only its visible checks, with a note where hidden tests ran;
* every error output of a test cell keeps its type and message but loses the
  traceback (which would quote the hidden lines);

then nbgrader's ``generate_feedback`` renders it (its template, scores from the
gradebook) into ``feedback/STUDENT/ASSIGNMENT/``.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat

from tfscourse_staff.notebooks import HIDDEN_BEGIN, split_hidden_tests

HIDDEN_NOTE = "# Hidden tests ran here; they are not shown. Their result is in the summary at the top."
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _message(outputs) -> str | None:
    """``None`` when the cell passed, else ``ErrorName: message``."""
    for out in outputs:
        if out.get("output_type") == "error":
            text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip().rstrip(":")
            return _ANSI.sub("", text)[:500]
    return None


def sanitize(nb):
    """A copy of an autograded notebook that is safe to show to the student."""
    nb = copy.deepcopy(nb)
    rows = []
    for cell in nb.cells:
        if not _is_test(cell):
            continue
        meta = cell.metadata["nbgrader"]
        message = _message(cell.get("outputs", []))
        rows.append((meta.get("grade_id"), meta.get("points", 0), message))
        if HIDDEN_BEGIN in cell.source:
            visible, _ = split_hidden_tests(cell.source)
            cell.source = visible.rstrip() + "\n\n" + HIDDEN_NOTE
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [_ANSI.sub("", f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")]
    lines = ["## Test results", "", "| test | points | result | message |", "|---|---|---|---|"]
    for gid, points, message in rows:
        result = "passed" if message is None else "**failed**"
        text = (message or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{gid}` | {points:g} | {result} | {text} |")
    passed = sum(1 for r in rows if r[2] is None)
    lines += ["", f"{passed} of {len(rows)} tests passed. Hidden tests are not shown; "
              "the message says what they found."]
    summary = nbformat.v4.new_markdown_cell("\n".join(lines))
    nb.cells.insert(0, summary)
    return nb


def generate(root: Path, api, assignment: str, student: str) -> dict:
    """Sanitize ``autograded/STUDENT/ASSIGNMENT/*.ipynb`` and render the feedback with nbgrader."""
    root = Path(root)
    staging_name = ".feedback_staging"
    source = root / "autograded" / student / assignment
    staging = root / staging_name / student / assignment
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging)
    for path in staging.glob("*.ipynb"):
        nbformat.write(sanitize(nbformat.read(str(path), as_version=4)), str(path))
    previous = api.coursedir.autograded_directory
    api.coursedir.autograded_directory = staging_name
    try:
        return api.generate_feedback(assignment, student, force=True)
    finally:
        api.coursedir.autograded_directory = previous
        shutil.rmtree(root / staging_name, ignore_errors=True)
