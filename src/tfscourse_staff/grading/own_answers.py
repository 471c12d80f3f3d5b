"""Graded answers must be the student's own: the tamper scan's ``not-own-answer`` rule.

A graded name (what an answer cell of the release defines: ``softmax``, ``ByteLevelBPE``)
that a submission binds by importing, subclassing, wrapping, re-exporting or importing at run
time an object of a reference module (``tfscourse_staff``, ``tfscourse.unlocked``, notebook
03's baseline trainer), or by copying a reference's source, earns nothing on the test cells
that check it: ``scan_answers`` returns high findings (listed in ``tamper_report.csv`` with the
other tamper findings) and ``withdraw_points`` sets those cells' scores to 0. Using the student
package's helpers (plots, data) is not flagged, nor is a reference module that the notebook's
own locked cells import (notebook 02 hands out 01's softmax). Nothing is executed.
"""

from __future__ import annotations

import ast
import re

from tfscourse_staff.grading.tamper import Scanner, make_finding, strip_magics, student_cells

COURSE_PACKAGES = ("tfscourse", "tfscourse_staff")
# where answers live, or what an answer may not call (notebook 03's naive trainer, its speed baseline)
REFERENCE_MODULES = ("tfscourse_staff", "tfscourse.unlocked", "tfscourse.bpe_baseline")
IMPORT_CALLS = {"__import__", "importlib.import_module", "importlib.__import__", "importlib.util.find_spec"}
MIN_COPIED_LINES = 6  # a definition needs this many non-trivial lines to count as copied
COPIED_SHARE = 0.9  # ... and this share of them found, verbatim after normalising, in a reference
_TRIVIAL_LINE = re.compile(r"^(?:return|pass|else:|try:|finally:|\)|\]|\}|\"\"\"|super\(\)\.__init__\(\)|.{0,15})$")


def _is_under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _normalized_lines(source: str) -> list[str]:
    """Non-trivial code lines, comments and docstring quotes stripped, spaces collapsed."""
    out = []
    for line in source.splitlines():
        code = re.sub(r"\s+", " ", line.split("#", 1)[0]).strip()
        if code and not _TRIVIAL_LINE.match(code):
            out.append(code)
    return out


def reference_lines() -> set[str]:
    """Normalised lines of every reference module (staff references and unlocked answers)."""
    import importlib.util
    from pathlib import Path

    lines: set[str] = set()
    for package in ("tfscourse_staff.reference", "tfscourse.unlocked", "tfscourse.bpe_baseline"):
        spec = importlib.util.find_spec(package)
        if spec is None:
            continue
        folders = spec.submodule_search_locations or []
        paths = [p for folder in folders for p in Path(folder).glob("*.py")] or [Path(spec.origin)]
        for path in paths:
            lines.update(_normalized_lines(path.read_text(encoding="utf-8")))
    return lines


def graded_names(nb) -> dict[str, list[str]]:
    """Name an answer cell defines -> the autograded test cells that refer to it (or are named after it).

    ``nb`` is the release (or master) notebook: what its answer cells define is what is graded.
    """
    defined: list[str] = []
    tests: dict[str, str] = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(strip_magics(cell.source)[0])
        except SyntaxError:
            continue
        if meta.get("solution") and not meta.get("grade"):
            defined += [name for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))
                        for name in _bound_names(node)]
        elif meta.get("grade") and not meta.get("solution"):
            tests[meta.get("grade_id", "")] = " ".join(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    snake = {name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in defined}
    return {name: [tid for tid, used in tests.items() if name in used.split() or tid.startswith(f"test_{snake[name]}")]
            for name in dict.fromkeys(defined)}


def _bound_names(node) -> list[str]:
    """Top-level names a statement binds (definitions, assignments, imports)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names]
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


class _AnswerScanner(Scanner):
    """Follows imports across cells and says which course objects a statement uses."""

    def course_uses(self, node, answers=frozenset()) -> set[str]:
        """Dotted course-package names (aliases resolved) used anywhere inside ``node``.

        A bare name in ``answers`` (the notebook's graded names) that stands for the reference object
        of the same name is left out: calling a borrowed ``softmax`` from one's own attention costs
        the points of ``softmax`` (its own finding), not those of the attention.
        """
        used = set()
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Name, ast.Attribute)):
                name = self.dotted(sub)
                if isinstance(sub, ast.Name) and sub.id in answers and name.endswith(f".{sub.id}"):
                    continue
                if _is_under(name, COURSE_PACKAGES):
                    used.add(name)
        return used

    def dynamic_imports(self, node) -> list[str]:
        """Modules reached at run time inside ``node`` (import calls, ``sys.modules``, ``getattr`` on a
        course module): the module name when it is a constant, '?' when it is computed."""
        out = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and self.dotted(sub.func) in IMPORT_CALLS and sub.args:
                arg = sub.args[0]
                out.append(arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "?")
            elif isinstance(sub, ast.Call) and self.dotted(sub.func) in ("getattr", "vars") and sub.args:
                if _is_under(self.dotted(sub.args[0]), COURSE_PACKAGES):
                    out.append("?")
            elif isinstance(sub, ast.Subscript) and self.dotted(sub.value) == "sys.modules":
                out.append("?")
        return out

    def reference_imports(self, tree, permitted: tuple[str, ...]) -> list[str]:
        """Reference modules a cell imports, statically or at run time ('?' for a computed name)."""
        static = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        static += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        found = [name for name in static if _forbidden(name, permitted)]
        return found + [n for n in self.dynamic_imports(tree) if n == "?" or _forbidden(n, permitted)]

    def remember_imports(self, tree) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module or ''}.{a.name}"


def handed_out_modules(release) -> tuple[str, ...]:
    """Reference modules the notebook's locked, ungraded cells import: there they are helpers it hands
    out (notebook 02 imports 01's softmax), so its answers may use them."""
    modules = []
    for cell in release.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            try:
                tree = ast.parse(strip_magics(cell.source)[0])
            except SyntaxError:
                continue
            modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return tuple(m for m in modules if _is_under(m, REFERENCE_MODULES))


def _forbidden(name: str, permitted: tuple[str, ...]) -> bool:
    """Whether a graded answer may not use the course module or object ``name``."""
    return _is_under(name, REFERENCE_MODULES) and not _is_under(name, permitted)


def _borrowed(scanner: _AnswerScanner, node, reference: set[str], permitted: tuple[str, ...],
              answers=frozenset()) -> str:
    """Why the top-level statement ``node`` does not define its graded name itself ('' when it does).

    ``answers``: the notebook's graded names (a borrowed one is a finding of its own, see ``course_uses``).
    """
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return f"imported from {module}" if _is_under(module, COURSE_PACKAGES) else ""
    if isinstance(node, ast.Import):
        modules = [a.name for a in node.names if _is_under(a.name, COURSE_PACKAGES)]
        return f"imported from {modules[0]}" if modules else ""
    if isinstance(node, ast.ClassDef):
        for base in node.bases:
            if _is_under(scanner.dotted(base), COURSE_PACKAGES):
                return f"subclass of {scanner.dotted(base)}"
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.Name, ast.Attribute)):
        if _is_under(scanner.dotted(node.value), COURSE_PACKAGES):
            return f"bound to {scanner.dotted(node.value)}"
    dynamic = [name for name in scanner.dynamic_imports(node) if name == "?" or _forbidden(name, permitted)]
    if dynamic:
        return f"imports {dynamic[0] if dynamic[0] != '?' else 'a computed module name'} at run time"
    wrapped = sorted(name for name in scanner.course_uses(node, answers) if _forbidden(name, permitted))
    if wrapped:
        return f"uses {wrapped[0]}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        lines = _normalized_lines("\n".join(scanner.lines[node.lineno - 1 : node.end_lineno]))
        if len(lines) >= MIN_COPIED_LINES and sum(line in reference for line in lines) >= COPIED_SHARE * len(lines):
            return "copied from a reference solution"
    return ""


def scan_answers(nb, release, reference: set[str] | None = None) -> list[dict]:
    """``not-own-answer`` findings of submission ``nb``: graded names of ``release`` the student did not
    define, with the test cells they lose.

    Each finding also has ``name`` and ``tests`` (grade_ids whose points are withdrawn, see
    ``withdraw_points``). ``reference`` defaults to ``reference_lines()``. Reference modules that
    the release's own locked cells import (notebook 02's softmax) are helpers there, not answers.
    """
    graded = graded_names(release)
    permitted = handed_out_modules(release)
    reference = reference_lines() if reference is None else reference
    scanner = _AnswerScanner([])
    mine = {id(c) for c in student_cells(nb)}
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(strip_magics(cell.source)[0])
        except SyntaxError:
            continue
        scanner.remember_imports(tree)
        if id(cell) in mine:
            scanner.lines = cell.source.split("\n")
            module_wide = scanner.reference_imports(tree, permitted)
            for node in tree.body:
                for name in _bound_names(node):
                    why = _borrowed(scanner, node, reference, permitted, frozenset(graded)) if name in graded else ""
                    if not why and name in graded and module_wide:
                        why = f"its cell imports {module_wide[0] if module_wide[0] != '?' else 'a computed module name'}"
                    if why:
                        line = getattr(node, "lineno", 1)
                        cell_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell{index}"
                        findings.append({"cell": cell_id, **make_finding(line, "not-own-answer", f"{name}: {why}"),
                                         "name": name, "tests": graded[name]})
    return findings


def withdraw_points(grades: dict[str, list], findings: list[dict]) -> list[str]:
    """Set the auto score of every test cell a ``not-own-answer`` finding names to 0; return those cells."""
    withdrawn = []
    for finding in findings:
        for test_id in finding.get("tests", []):
            if test_id in grades and grades[test_id][0]:
                grades[test_id][0] = 0.0
                withdrawn.append(test_id)
    return withdrawn
