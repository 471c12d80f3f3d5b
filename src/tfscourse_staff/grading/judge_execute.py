"""The judge inside nbgrader autograde: a drop-in for nbgrader's ``Execute`` preprocessor, and its scores.

A master test cell tagged ``judge`` is scored by the judge. With a judge spec (``judge.json``, written by ``job.py`` outside the sandbox)::

    {"socket": "/tmp/tfsgrade-x/kernel/judge.sock", "results": "/tmp/tfsgrade-x/judge_results.json",
     "tests": {"self_attention": {"test_softmax": {"source": "...", "points": 2.0}, ...}}}

``JudgeExecute`` runs the notebook in the sandboxed kernel as nbgrader's ``Execute``
does, except that:

1. before the first code cell, the kernel starts the endpoint (``judge_endpoint``),
   which connects to the judge's socket;
2. each test cell named in the spec is judged on this side (``judge.Judge``) with the
   master's source from the spec; the kernel then runs only the cell's *visible*
   part (so that names it defines exist for later cells), and its outputs are
   thrown away: the cell's outputs are the judge's (what the feedback shows);
3. the judge's points per test cell go to ``results``, and ``write_scores`` puts
   them into the gradebook through nbgrader's API after autograde, whatever the
   autograded notebook's own outputs say.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from traitlets import Unicode

from tfscourse_staff.grading.execute import BoundedExecute
from tfscourse_staff.grading.judge import Judge
from tfscourse_staff.notebooks import grade_id, split_hidden_tests

JUDGE_TAG = "judge"  # a test cell with this tag is judged outside the kernel (its hidden block is judge-ready)
BOOTSTRAP = "import tfscourse_staff.grading.judge_endpoint as _tfs_judge; _tfs_judge.start({path!r}); del _tfs_judge"


class JudgeExecute(BoundedExecute):
    """nbgrader's ``Execute`` (with the submission's deadline) and the test cells judged outside the kernel.

    A test cell reached after the deadline, or after the kernel was ended, is not judged
    (``BoundedExecute`` marks it not run; ``write_scores`` gives it 0).
    """

    spec_path = Unicode("", help="judge.json of this grading job").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        spec = json.loads(Path(self.spec_path).read_text())
        stem = (resources or {}).get("unique_key") or (resources or {}).get("metadata", {}).get("name", "")
        self._tests = spec["tests"].get(stem, {})
        if not self._tests:
            return super().preprocess(nb, resources, km)
        self._socket_path, self._results = spec["socket"], {}
        _prewarm(self._tests)
        self._judge = Judge(self._socket_path)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._judge.close()
            _save_results(Path(spec["results"]), stem, self._results)

    def preprocess_cell(self, cell, resources, index):
        if index == 0:
            self._started = False
        if cell.cell_type != "code" or not self._tests:
            return super().preprocess_cell(cell, resources, index)
        if not self._started:  # runs before any student code: nothing can have been tampered with yet
            self.execute_cell(nbformat.v4.new_code_cell(BOOTSTRAP.format(path=self._socket_path)), index,
                              store_history=False)
            self._started = True
        test = self._tests.get(grade_id(cell))
        if test is None or self._stopped or self._seconds_left() <= 1:
            return super().preprocess_cell(cell, resources, index)
        outcome = self._judge.judge(test["source"], test["points"], grade_id(cell), float(self.timeout or 60))
        self._results[grade_id(cell)] = outcome.as_dict()
        visible = nbformat.v4.new_code_cell(split_hidden_tests(test["source"])[0])
        self.execute_cell(visible, index, store_history=True)
        # nbclient puts the cell it executed into the notebook at ``index``: put the test cell back
        # (its nbgrader metadata names the grade; the kernel's outputs of the visible part are dropped)
        self.nb.cells[index] = cell
        cell.outputs = [nbformat.from_dict(out) for out in outcome.outputs()]
        cell.execution_count = visible.get("execution_count")
        return cell, self.resources


def _prewarm(tests: dict) -> None:
    """Import the trusted modules the test cells use (torch: seconds) while the kernel runs the first cells."""
    import ast
    import importlib
    import threading

    from tfscourse_staff.grading.judge import TRUSTED_MODULES

    used = {node.id for test in tests.values() for node in ast.walk(ast.parse(test["source"])) if isinstance(node, ast.Name)}
    modules = sorted({TRUSTED_MODULES[name] for name in used if name in TRUSTED_MODULES})
    threading.Thread(target=lambda: [importlib.import_module(m) for m in modules], daemon=True).start()


def _save_results(path: Path, stem: str, results: dict) -> None:
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[stem] = results
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(everything, handle)


def write_scores(db_url: str, assignment: str, student: str, spec: dict, results: dict) -> None:
    """Put the judge's points into the gradebook; a test cell the judge never reached gets 0."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        for stem, tests in spec["tests"].items():
            notebook = gb.find_submission_notebook(stem, assignment, student)
            judged = results.get(stem, {})
            for grade in notebook.grades:
                if grade.name in tests:
                    grade.auto_score = float(judged[grade.name]["points"]) if grade.name in judged else 0.0
                    grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def master_tests(master: dict) -> dict:
    """grade_id -> {"source", "points"} of the master's test cells tagged ``judge`` (read outside any sandbox)."""
    from tfscourse_staff.notebooks import is_test_cell, nbgrader_meta

    nb = nbformat.reads(json.dumps(master), as_version=4)  # sources joined into strings
    return {grade_id(c): {"source": c.source, "points": float(nbgrader_meta(c).get("points", 0))}
            for c in nb.cells if is_test_cell(c) and JUDGE_TAG in c.metadata.get("tags", [])}
