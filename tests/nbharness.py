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

Two more questions are asked of each case. Does the *visible* part of a test cell (what the
student sees fail before handing in) already reject it? A case marked ``pitfall`` (a mistake the
notebook's prose names, or a classic mistake of the exercise) must be. And what does the mistake
cost across the whole notebook? ``NotebookHarness.cascade`` runs the master again from the cell
that defines the answer, with the wrong answer in its place, and returns every test cell that
then fails: only the cells the case names (plus ``also_costs``, with the reason in ``why``)
may lose points.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import inspect
import io
import os
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tfscourse_staff.grading.tamper import strip_magics
from tfscourse_staff.notebooks import grade_id, is_test_cell, nbgrader_meta, split_hidden_tests


@dataclass
class Wrong:
    """A plausible wrong answer and the test cells that must take points for it."""

    target: str
    answer: object
    tests: tuple[str, ...] = ()
    why: str = field(default="")
    pitfall: bool = False  # a visible test must reject it too, with an assertion
    also_costs: tuple[str, ...] = ()  # other test cells it may fail when the notebook runs with it (say why)

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
        # Every code cell in order, with the namespace just before it (for re-running from a cell).
        self.code_cells: list[tuple[str, str, bool]] = []  # (grade_id, source, is a test cell)
        self.cell_names: list[tuple[set[str], set[str] | None]] = []  # (names bound at top level, names read)
        self.cell_snapshots: list[dict] = []
        self.solution_results: dict[str, CellResult] = {}
        with _autograde_environment():
            self._run_master()

    def _run_master(self) -> None:
        import matplotlib.pyplot as plt

        namespace: dict = {"__name__": "__main__"}
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            gid = grade_id(cell) or "cell"
            self.code_cells.append((gid, cell.source, is_test_cell(cell)))
            self.cell_names.append(_cell_names(cell.source))
            self.cell_snapshots.append(dict(namespace))
            if is_test_cell(cell):
                self.test_sources[gid] = cell.source
                self.snapshots[gid] = dict(namespace)
                self.solution_results[gid] = run_cell(cell.source, namespace, gid)
            else:
                result = run_cell(cell.source, namespace, gid)
                if not result.passed:
                    raise RuntimeError(f"{self.path.name}: cell {gid} failed with the solution: {result.error}")
            plt.close("all")
        self.final_namespace = dict(namespace)

    def _bound_by(self, index: int) -> dict:
        """The names code cell ``index`` bound or rebound in the master's run (imports included), with their values."""
        before = self.cell_snapshots[index]
        after = self.cell_snapshots[index + 1] if index + 1 < len(self.cell_snapshots) else self.final_namespace
        return {name: value for name, value in after.items() if name not in before or before[name] is not value}

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
        if wrong is not None:
            _put_answer(namespace, wrong)
        return namespace

    def visible_part(self, test_id: str) -> str:
        return split_hidden_tests(self.test_sources[test_id])[0]

    def run_test(self, test_id: str, wrong: Wrong | None = None, hidden_only: bool = False,
                 visible_only: bool = False) -> CellResult:
        if hidden_only:
            source = self.hidden_block(test_id)
        elif visible_only:
            source = self.visible_part(test_id)
        else:
            source = self.test_sources[test_id]
        return run_cell(source, self.namespace_with(test_id, wrong), test_id)

    def defining_cell(self, name: str) -> int:
        """Index in ``code_cells`` of the first non-test cell that defines ``name`` at top level."""
        for index, (_, _, is_test) in enumerate(self.code_cells):
            if not is_test and name in self.cell_names[index][0]:
                return index
        raise KeyError(f"{self.path.name}: no cell defines {name!r}")

    def cascade(self, wrong: Wrong) -> dict[str, CellResult]:
        """The test cells that fail when the notebook runs again with ``wrong`` in place.

        The run starts after the cell that defines ``wrong.target``, from a copy of the namespace
        the master had there (so nothing of the cached master changes), puts the wrong answer in,
        and executes every later cell that reads the answer or a name bound by a cell that did
        (anywhere in its code, function bodies included), as autograde would: a failing ordinary
        cell is recorded and the run goes on. A cell that reads none of them would do what it did
        in the master's run, so its bindings are taken from there (a notebook's slow experiments
        run only when they depend on the answer). The test cells the case names, and those it may
        also cost, are not run (that it fails its own is checked on its own). Returns the other
        failing test cells with how they failed.
        """
        start = self.defining_cell(wrong.target) + 1
        namespace = _detached(self.cell_snapshots[start] if start < len(self.cell_snapshots) else {})
        _put_answer(namespace, wrong)
        failed: dict[str, CellResult] = {}
        affected = {wrong.target}  # names whose value may differ from the master's
        import matplotlib.pyplot as plt

        with _autograde_environment():
            for index in range(start, len(self.code_cells)):
                gid, source, is_test = self.code_cells[index]
                bound, read = self.cell_names[index]
                if is_test and (gid in wrong.tests or gid in wrong.also_costs):
                    continue  # cells the case may fail anyway: not re-run (that it fails its own is checked elsewhere)
                if read is not None and not read & affected:
                    # it cannot see the wrong answer: take what the master's run of it bound
                    namespace.update(_detached(self._bound_by(index)))
                    continue
                result = run_cell(source, namespace, gid)
                affected |= bound
                if is_test and not result.passed:
                    failed[gid] = result
                plt.close("all")
        return failed


@contextlib.contextmanager
def _autograde_environment():
    """NBGRADER_EXECUTION=autograde (and a picture-only matplotlib) while master cells run here.

    Only for that while: a leftover MPLBACKEND=Agg would reach the kernels of later real nbgrader
    runs in the same test process, and their outputs (and feedback HTML) would have no pictures.
    """
    saved = {name: os.environ.get(name) for name in ("NBGRADER_EXECUTION", "MPLBACKEND")}
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _private_helpers(answer) -> list:
    """The private functions (``_name``) of ``answer``'s module that its source names, and those theirs name.

    Several known-wrong answers can differ in one detail of the same code: they share it as such a
    helper, which goes into the notebook's namespace with them, as a student's cell would define it.
    """
    module = sys.modules[answer.__module__]
    found, todo = [], [answer]
    while todo:
        tree = ast.parse(textwrap.dedent(inspect.getsource(todo.pop())))
        for name in sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}):
            helper = getattr(module, name, None)
            if (name.startswith("_") and inspect.isfunction(helper) and helper.__module__ == module.__name__
                    and helper not in found):
                found.append(helper)
                todo.append(helper)
    return found


def _put_answer(namespace: dict, wrong: Wrong) -> None:
    """Replace the student's ``wrong.target`` in ``namespace`` by the wrong answer (with the helpers it calls)."""
    answer = wrong.answer
    if inspect.isfunction(answer) or inspect.isclass(answer):
        for code in [*_private_helpers(answer), answer]:
            source = textwrap.dedent(inspect.getsource(code))
            exec(compile(source, f"wrong:{wrong.label}", "exec"), namespace)
        namespace[wrong.target] = namespace[answer.__name__]
    else:
        namespace[wrong.target] = answer


def _cell_names(source: str) -> tuple[set[str], set[str] | None]:
    """(names a cell binds at top level: functions, classes, imports, assignments, loop and ``with`` targets;
    every name it reads, in function and class bodies too). Magics are ignored; a cell that does not
    parse binds nothing and reads None (unknown)."""
    try:
        tree = ast.parse(strip_magics(source)[0])
    except SyntaxError:
        return set(), None
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.With):
                targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
            else:
                targets = [node.target]
            for target in targets:
                bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return bound, read


_SHARED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)


def _detached(namespace: dict) -> dict:
    """A copy of ``namespace`` whose data a re-run cannot change in the original: values are deep-copied
    where they can be (modules, functions and classes are shared; anything that refuses a copy too)."""
    memo: dict = {}
    copied = {}
    for name, value in namespace.items():
        if isinstance(value, _SHARED):
            copied[name] = value
            continue
        try:
            copied[name] = copy.deepcopy(value, memo)
        except Exception:  # an object that cannot be copied (a generator, a lock...) is shared
            copied[name] = value
    return copied
