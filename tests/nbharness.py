"""Run a master notebook's cells in-process and judge its test cells against other answers.

A full ``nbgrader autograde`` costs a kernel start and a whole notebook run per
case. To try dozens of known-wrong answers quickly, this harness executes the
master notebook once in a plain namespace (as autograde would, with
``NBGRADER_EXECUTION=autograde``), keeps a snapshot of the namespace just
before each test cell, and then runs one test cell (or only its hidden block)
in a copy of that snapshot where one student answer has been replaced.

A replacement is a ``Wrong`` case: the name the student defines (``target``),
the wrong answer (a function or class, whose *source* is executed in the
notebook's namespace so that it calls the notebook's other functions, or a
plain value such as ``{"A"}`` for a concept question), and the test cells
that must reject it (by default ``test_<target>``).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tfscourse_staff.notebooks import grade_id, is_test_cell, nbgrader_meta, split_hidden_tests


@dataclass
class Wrong:
    """A plausible wrong answer and the test cells that must take points for it."""

    target: str
    answer: object
    tests: tuple[str, ...] = ()
    why: str = field(default="")

    def __post_init__(self):
        if not self.tests:
            self.tests = (f"test_{self.target}",)
        if not self.why:
            doc = inspect.getdoc(self.answer) if callable(self.answer) else None
            value = self.answer
            if isinstance(value, (set, frozenset)):
                value = sorted(value)
            self.why = (doc or repr(value)).splitlines()[0]

    @property
    def label(self) -> str:
        """A name that is the same in every process (test ids must not depend on set order)."""
        answer = self.answer
        if hasattr(answer, "__name__"):
            name = answer.__name__
        elif isinstance(answer, (set, frozenset)):
            name = "{" + ",".join(sorted(map(str, answer))) + "}"
        else:
            name = type(answer).__name__
        return f"{self.target}:{name}"


@dataclass
class CellResult:
    """How one cell ended: passed, or failed with the error, by an assertion or by a crash."""

    passed: bool
    error: str = ""
    crashed: bool = False  # failed with an exception other than AssertionError

    @property
    def rejection(self) -> str:
        """'assertion' or 'crash' for a failed cell, '' for a passed one."""
        if self.passed:
            return ""
        return "crash" if self.crashed else "assertion"


def run_cell(source: str, namespace: dict, label: str) -> CellResult:
    """Execute ``source`` in ``namespace`` (its prints swallowed); a raised exception means failed.

    An ``AssertionError`` is a test that named what is wrong; any other exception is a crash
    (the test could not even check the answer, e.g. a wrong shape broke its arithmetic).
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, label, "exec"), namespace)
    except Exception as exc:  # a failing test is the expected outcome in many cases
        return CellResult(False, f"{type(exc).__name__}: {exc}", crashed=not isinstance(exc, AssertionError))
    return CellResult(True)


class NotebookHarness:
    """The master notebook executed once, with a namespace snapshot before each test cell."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.nb = nbformat.read(str(self.path), as_version=4)
        self.test_sources: dict[str, str] = {}
        self.snapshots: dict[str, dict] = {}
        self.solution_results: dict[str, CellResult] = {}
        # Only while the master runs in this process: a leftover MPLBACKEND=Agg would reach the
        # kernels of later real nbgrader runs in the same test process, and their outputs
        # (and feedback HTML) would have no pictures.
        saved = {name: os.environ.get(name) for name in ("NBGRADER_EXECUTION", "MPLBACKEND")}
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        os.environ.setdefault("MPLBACKEND", "Agg")
        try:
            self._run_master()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _run_master(self) -> None:
        import matplotlib.pyplot as plt

        namespace: dict = {"__name__": "__main__"}
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            gid = grade_id(cell) or "cell"
            if is_test_cell(cell):
                self.test_sources[gid] = cell.source
                self.snapshots[gid] = dict(namespace)
                self.solution_results[gid] = run_cell(cell.source, namespace, gid)
            else:
                result = run_cell(cell.source, namespace, gid)
                if not result.passed:
                    raise RuntimeError(f"{self.path.name}: cell {gid} failed with the solution: {result.error}")
            plt.close("all")

    def points(self, test_id: str) -> float:
        for cell in self.nb.cells:
            if grade_id(cell) == test_id:
                return float(nbgrader_meta(cell).get("points", 0))
        raise KeyError(test_id)

    def hidden_block(self, test_id: str) -> str:
        return split_hidden_tests(self.test_sources[test_id])[1]

    def namespace_with(self, test_id: str, wrong: Wrong | None = None) -> dict:
        """A copy of the namespace before ``test_id`` with ``wrong`` put in place of the student's answer."""
        namespace = dict(self.snapshots[test_id])
        if wrong is None:
            return namespace
        answer = wrong.answer
        if inspect.isfunction(answer) or inspect.isclass(answer):
            source = textwrap.dedent(inspect.getsource(answer))
            exec(compile(source, f"wrong:{wrong.label}", "exec"), namespace)
            namespace[wrong.target] = namespace[answer.__name__]
        else:
            namespace[wrong.target] = answer
        return namespace

    def run_test(self, test_id: str, wrong: Wrong | None = None, hidden_only: bool = False) -> CellResult:
        source = self.hidden_block(test_id) if hidden_only else self.test_sources[test_id]
        return run_cell(source, self.namespace_with(test_id, wrong), test_id)
