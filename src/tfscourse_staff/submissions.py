"""Build student submissions from a release notebook: complete, blank, or with chosen answers.

Used by ``tools/make_examples.py`` (the example submissions in ``submitted/``)
and by the course's tests. A submission starts from the *release* notebook (what
a student downloads) and gets answers put into its answer cells:

* ``solved_source(master_cell)``: the instructor's solution without the
  ``### BEGIN/END SOLUTION`` marker lines;
* ``fill(release_nb, master_nb, answers)``: every answer cell gets the
  solution, except those named in ``answers`` (grade_id -> source, or None to
  leave the release stub untouched).
"""

from __future__ import annotations

import copy
import inspect
import re
import textwrap

from tfscourse_staff.notebooks import grade_id, nbgrader_meta

_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def solved_source(cell) -> str:
    """A master cell's source with the solution markers removed (the answer a perfect student gives)."""
    return "\n".join(line for line in cell.source.split("\n") if not _MARKERS.match(line))


def answer_cells(nb) -> list:
    return [cell for cell in nb.cells if nbgrader_meta(cell).get("solution", False)]


def fill(release_nb, master_nb, answers: dict[str, str | None] | None = None):
    """A copy of ``release_nb`` with solutions in every answer cell except those overridden by ``answers``."""
    answers = answers or {}
    masters = {grade_id(cell): cell for cell in master_nb.cells if grade_id(cell)}
    submission = copy.deepcopy(release_nb)
    for cell in answer_cells(submission):
        gid = grade_id(cell)
        if gid in answers:
            if answers[gid] is not None:
                cell.source = answers[gid]
        else:
            cell.source = solved_source(masters[gid])
    return submission


def function_source_as(obj, name: str) -> str:
    """The source of a function or class, renamed to ``name`` (to plant a known-wrong answer in a cell).

    Example: function_source_as(softmax_unstable, "softmax") -> "def softmax(x, axis=-1): ..."
    """
    source = textwrap.dedent(inspect.getsource(obj))
    return re.sub(rf"^(def|class) {re.escape(obj.__name__)}\b", rf"\1 {name}", source, count=1, flags=re.M)
