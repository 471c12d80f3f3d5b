"""Feedback HTML that tells students what passed and what failed, never how the hidden tests read.

nbgrader's own feedback is the autograded notebook rendered as HTML: the hidden
tests it ran are in it, in the test cells' source and in the tracebacks. Here each
autograded notebook is first *sanitized*:

* a summary cell at the top lists every test: points, passed or failed, and the
  error message (``AssertionError: expected shape (3, 3), got (3,)``);
* each test cell keeps only its visible checks, with a note where hidden tests ran;
* a test cell shows none of the student's output (a hook can print there): only
  its error's type and message, without the traceback (which would quote the
  hidden lines);
* any output or message that quotes a line of the hidden tests (``print(In)``, a
  ``post_run_cell`` hook printing the cell it ran) is replaced by a note;
* every output and written answer is made safe for a browser and capped
  (``outputs.make_safe``: no student HTML or script reaches the page);

then nbgrader's ``generate_feedback`` renders it (its template, scores from the
gradebook) into ``feedback/STUDENT/ASSIGNMENT/``. ``generate_all`` does that for
every graded submission and records a failure in that submission's outcome
instead of stopping the others.
"""

from __future__ import annotations

import copy
import html
import re
import shutil
from pathlib import Path

import nbformat

from tfscourse_staff.grading import outputs
from tfscourse_staff.notebooks import HIDDEN_BEGIN, split_hidden_tests

HIDDEN_NOTE = "# Hidden tests ran here; they are not shown. Their result is in the summary at the top."
QUOTED_NOTE = "(removed: this output quoted the hidden tests)"
MIN_QUOTED = 12  # characters: shorter hidden lines ("x = 1", "assert ok") are too common to count as a quote
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


def hidden_lines(nb) -> set[str]:
    """Lines found only in the hidden blocks of ``nb``, long enough to recognise when an output quotes them.

    A line that also stands in a visible place (``import numpy as np`` in an answer) tells nothing.
    """
    hidden, visible = set(), set()
    for cell in nb.cells:
        if _is_test(cell) and HIDDEN_BEGIN in cell.source:
            shown, block = split_hidden_tests(cell.source)
            hidden |= {line.strip() for line in block.splitlines() if len(line.strip()) >= MIN_QUOTED}
        else:
            shown = cell.source
        visible |= {line.strip() for line in shown.splitlines()}
    return hidden - visible


def _quotes(text: str, hidden: set[str]) -> bool:
    return any(line in text for line in hidden)


def _output_text(out) -> str:
    data = out.get("data", {})
    parts = [out.get("text", ""), out.get("evalue", ""), *out.get("traceback", []), *data.values()]
    return "\n".join(p if isinstance(p, str) else "".join(map(str, p)) if isinstance(p, list) else "" for p in parts)


def _redact(cell, hidden: set[str]) -> None:
    for i, out in enumerate(cell.get("outputs", [])):
        if _quotes(_output_text(out), hidden):
            cell.outputs[i] = nbformat.v4.new_output("stream", name="stdout", text=QUOTED_NOTE + "\n")


def sanitize(nb):
    """A copy of an autograded notebook that is safe to show to the student."""
    nb = copy.deepcopy(nb)
    hidden = hidden_lines(nb)
    rows = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not _is_test(cell):
            _redact(cell, hidden)
        if not _is_test(cell):
            continue
        meta = cell.metadata["nbgrader"]
        message = _message(cell.get("outputs", []))
        if message is not None and _quotes(message, hidden):
            message = f"{message.split(':')[0][:60]}: {QUOTED_NOTE}"
        rows.append((meta.get("grade_id"), meta.get("points", 0), message))
        if HIDDEN_BEGIN in cell.source:
            visible, _ = split_hidden_tests(cell.source)
            cell.source = visible.rstrip() + "\n\n" + HIDDEN_NOTE
        cell.outputs = []
        if message is not None:  # the error alone: no output of the student's, no traceback
            ename, _, evalue = message.partition(": ")
            cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[message]))
    lines = ["## Test results", "", "| test | points | result | message |", "|---|---|---|---|"]
    for gid, points, message in rows:
        result = "passed" if message is None else "**failed**"
        text = _plain(message or "")
        lines.append(f"| `{gid}` | {points:g} | {result} | {text} |")
    passed = sum(1 for r in rows if r[2] is None)
    lines += ["", f"{passed} of {len(rows)} tests passed. Hidden tests are not shown; "
              "the message says what they found."]
    outputs.make_safe(nb)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
    return nbformat.from_dict(nb)


def _plain(message: str) -> str:
    """A student's error message as plain text in a markdown table cell: no HTML, no link, one line."""
    text = html.escape(message).replace("\n", " ")
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", text)


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


def generate_all(root: Path, api, outcomes) -> None:
    """Feedback for every graded outcome; a failure is recorded in its ``detail`` and the others go on."""
    for outcome in outcomes:
        target = Path(root) / "feedback" / outcome.student / outcome.assignment
        if outcome.score is None:  # not graded this time: no stale feedback from an earlier run
            shutil.rmtree(target, ignore_errors=True)
            continue
        if not (Path(root) / "autograded" / outcome.student / outcome.assignment).is_dir():
            continue
        try:
            result = generate(root, api, outcome.assignment, outcome.student)
            failure = "" if result.get("success") else _last_line(result.get("error") or result.get("log") or "")
        except Exception as error:  # noqa: BLE001 - one broken notebook must not stop everyone's feedback
            failure = f"{type(error).__name__}: {error}"
        if failure:
            outcome.detail = (outcome.detail + "; " if outcome.detail else "") + f"feedback failed: {failure[:200]}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "nbgrader reported a failure without a message"
