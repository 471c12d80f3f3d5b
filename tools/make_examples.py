"""Regenerate the example submissions in ``submitted/`` from ``release/`` and ``course/``.

Three students, so that the demo and the tests see every kind of result:

* ``ada_complete``: every answer is the instructor's solution (full marks expected);
* ``ben_untouched``: the release notebook as downloaded (0 on every autograded cell);
* ``cleo_partial``: the solutions, except two graded functions replaced by typical
  mistakes from ``tests/known_wrong/<notebook>.py`` and the last two answer cells left
  as released (partial marks expected).

Run after changing a notebook: ``python tools/make_examples.py [ASSIGNMENT ...]`` (default: all).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfscourse_staff import submissions  # noqa: E402
from tfscourse_staff.notebooks import assignments  # noqa: E402


def partial_answers(stem: str, release_nb) -> dict[str, str | None]:
    """Two typical mistakes (first known-wrong function for two different answer cells) and two blanks."""
    cell_ids = [submissions.grade_id(c) for c in submissions.answer_cells(release_nb)]
    answers: dict[str, str | None] = {}
    try:
        cases = importlib.import_module(f"tests.known_wrong.{stem}").CASES
    except ModuleNotFoundError:
        cases = []
    for case in cases:
        if len(answers) == 2:
            break
        if case.target in cell_ids and case.target not in answers and (inspect.isfunction(case.answer) or inspect.isclass(case.answer)):
            answers[case.target] = "import numpy as np\n\n" + submissions.function_source_as(case.answer, case.target)
    for gid in cell_ids[-2:]:
        answers.setdefault(gid, None)
    return answers


def main(names: list[str]) -> None:
    for name, master_path in assignments(ROOT).items():
        if names and name not in names:
            continue
        release_path = ROOT / "release" / name / master_path.name
        master = nbformat.read(str(master_path), as_version=4)
        release = nbformat.read(str(release_path), as_version=4)
        versions = {
            "ada_complete": submissions.fill(release, master),
            "ben_untouched": release,
            "cleo_partial": submissions.fill(release, master, partial_answers(master_path.stem, release)),
        }
        for student, nb in versions.items():
            target = ROOT / "submitted" / student / name / master_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(target))
            print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
