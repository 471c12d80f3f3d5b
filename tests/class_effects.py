"""What each answer variant of a generated class does to the test cells, measured in-process.

``measure_effects(harness, variants)`` -> {variant.key: {test cell: failure message}}: the
test cells that fail when a student gives that one variant and the solution everywhere else.
For every test cell it starts from the master's namespace just before that cell
(``NotebookHarness``), runs again every answer cell above it (the variant in its cell, the
solution in the others, so that the student's functions call each other as in a real
kernel) and then the test cell. Each answer cell first loses the names its solution binds
(the master's values must not survive a cell that stops half-way); a blank cell then runs
the release stub (given lines, then ``raise NotImplementedError()``).

Used by the class-report tests and ``benchmarks/bench_report.py`` to predict what grading
reports for a generated class (``tfscourse_staff.grading.class_generator``).
"""

from __future__ import annotations

import ast
import contextlib
import io

from tests.nbharness import NotebookHarness, run_cell
from tfscourse_staff.grading.class_generator import Variant
from tfscourse_staff.notebooks import grade_id


def bound_names(source: str) -> set[str]:
    """Top-level names a cell binds. Example: "def f(): ...\\nx = 1" -> {"f", "x"}."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def measure_effects(harness: NotebookHarness, variants: dict[str, list[Variant]]) -> dict[str, dict[str, str]]:
    order = [grade_id(c) for c in harness.nb.cells if c.cell_type == "code" and grade_id(c)]
    solutions = {cell: options[0] for cell, options in variants.items()}
    effects = {}
    for options in variants.values():
        for variant in options:
            effects[variant.key] = _effects_of(harness, order, solutions, variant)
    return effects


def _effects_of(harness, order, solutions, variant) -> dict[str, str]:
    failing = {}
    for test in harness.test_sources:
        namespace = dict(harness.snapshots[test])
        above = order[: order.index(test)]
        if variant.cell not in above:
            continue
        for cell in above:
            if cell not in solutions:
                continue
            chosen = variant if cell == variant.cell else solutions[cell]
            # as in a fresh kernel: a cell that stops half-way leaves its later names unbound
            for name in bound_names(solutions[cell].source):
                namespace.pop(name, None)
            with contextlib.redirect_stderr(io.StringIO()):
                run_cell(chosen.source, namespace, cell)
        result = run_cell(harness.test_sources[test], namespace, test)
        if not result.passed:
            failing[test] = result.error.removesuffix(": ")
    return failing
