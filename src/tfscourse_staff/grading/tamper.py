"""Static tamper scan: flag student code that an instructor should look at before trusting a score.

``scan_notebook(nb)`` parses every code cell the student wrote (answer cells and
cells they added; locked and test cells are replaced by the instructor's anyway)
and returns findings ``{"cell", "line", "rule", "severity", "code"}``. Nothing is
executed. ``high`` findings make the submission ``suspicious`` (its score is kept,
for a human to confirm); ``info`` findings are only listed.

Rules (high):
    patch-library    assigning to / setattr on numpy, torch, builtins, IPython, math,
                     operator, inspect or unittest (``np.allclose = lambda *a: True``)
    shadow-builtin   rebinding a builtin the tests rely on (``def isinstance(...)``)
    frame-inspection ``inspect``, ``sys._getframe``, ``f_back``/``f_locals``, ``gc.get_referrers``
    own-source       reading the notebook or cell history (``In``, ``_ih``, ``get_ipython``,
                     ``history_manager``, ``__file__``, ``.ipynb`` paths, ``%history``)
    process-exit     ``os._exit``, ``sys.exit``, ``exit()``, ``quit()``, ``os.kill``,
                     ``os.abort``, ``SystemExit``, ``os.fork``
    escape           ``subprocess``, ``ctypes``, ``socket``, ``urllib``, ``requests``,
                     shell escapes ``!cmd``, paths to the gradebook or other students
    huge-cell        a cell longer than ``MAX_SCANNED_SOURCE`` characters: not parsed, to review
Rules (info):
    syntax-error     the cell does not parse (it will fail when run, nothing to scan)

Example:
    >>> [f["rule"] for f in scan_source("import numpy as np\\nnp.allclose = lambda *a, **k: True")]
    ['patch-library']
"""

from __future__ import annotations

import ast
import re

PROTECTED_MODULES = {"numpy", "torch", "builtins", "IPython", "math", "operator", "inspect", "unittest", "random", "sys"}
TEST_BUILTINS = {
    "type", "isinstance", "issubclass", "abs", "all", "any", "float", "int", "len", "round", "bool",
    "set", "list", "tuple", "dict", "zip", "range", "str", "repr", "sorted", "hasattr", "getattr",
    "AssertionError", "Exception", "print", "min", "max", "sum", "enumerate", "callable", "object",
}
FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_code", "tb_frame", "gi_frame", "cr_frame"}
HISTORY_NAMES = {"In", "Out", "_ih", "_oh", "get_ipython", "__file__", "_dh"}
EXIT_CALLS = {"os._exit", "sys.exit", "exit", "quit", "os.kill", "os.abort", "os.killpg", "os.fork", "os.forkpty", "signal.signal", "signal.alarm"}
ESCAPE_MODULES = {"subprocess", "ctypes", "socket", "urllib", "requests", "http", "multiprocessing", "pty", "shutil", "cffi"}
FRAME_CALLS = {"sys._getframe", "gc.get_referrers", "gc.get_objects", "traceback.extract_stack", "traceback.walk_stack", "sys.settrace", "sys.setprofile"}
PATH_HINTS = re.compile(r"gradebook|submitted|autograded|\.\./|/work/|/home/|\.ipynb|nbgrader|feedback/|course/")


def make_finding(line: int, rule: str, code: str, severity: str = "high") -> dict:
    return {"line": line, "rule": rule, "severity": severity, "code": code.strip()[:120]}


class Scanner(ast.NodeVisitor):
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.aliases: dict[str, str] = {"__builtins__": "builtins"}
        self.found: list[dict] = []
        self.depth = 0  # > 0 inside a function or class body

    def flag(self, node, rule: str, severity: str = "high") -> None:
        line = getattr(node, "lineno", 1)
        self.found.append(make_finding(line, rule, self.lines[line - 1] if line <= len(self.lines) else "", severity))

    def dotted(self, node) -> str:
        """``np.linalg.norm`` -> ``numpy.linalg.norm`` (aliases resolved); '' when not a dotted name."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Subscript):
            return self.dotted(node.value)
        if not isinstance(node, ast.Name):
            return ""
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def root_module(self, node) -> str:
        return self.dotted(node).split(".")[0]

    # imports
    def visit_Import(self, node):
        for a in node.names:
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            self._check_import(node, a.name)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{module}.{a.name}"
            self._check_import(node, f"{module}.{a.name}")

    def _check_import(self, node, name: str) -> None:
        top = name.split(".")[0]
        if top == "inspect" or name in FRAME_CALLS:
            self.flag(node, "frame-inspection")
        elif top in ESCAPE_MODULES:
            self.flag(node, "escape")
        elif name in EXIT_CALLS or name in {"os._exit", "sys.exit"}:
            self.flag(node, "process-exit")
        elif name.startswith("IPython") and "get_ipython" in name:
            self.flag(node, "own-source")

    # assignments
    def _check_target(self, target, node) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._check_target(t, node)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            if self.root_module(target) in PROTECTED_MODULES:
                self.flag(node, "patch-library")
        elif isinstance(target, ast.Name) and self.depth == 0 and target.id in TEST_BUILTINS:
            self.flag(node, "shadow-builtin")

    def visit_Assign(self, node):
        for t in node.targets:
            self._check_target(t, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for t in node.targets:
            self._check_target(t, node)

    def _definition(self, node):
        if self.depth == 0 and node.name in TEST_BUILTINS:
            self.flag(node, "shadow-builtin")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition

    # calls, names, attributes, strings
    def visit_Call(self, node):
        name = self.dotted(node.func)
        if name in ("setattr", "delattr", "builtins.setattr", "builtins.delattr") and node.args:
            if self.root_module(node.args[0]) in PROTECTED_MODULES:
                self.flag(node, "patch-library")
        if name in EXIT_CALLS:
            self.flag(node, "process-exit")
        if name in FRAME_CALLS or name.startswith("inspect."):
            self.flag(node, "frame-inspection")
        if name in ("eval", "exec", "compile", "__import__", "globals", "vars", "importlib.import_module"):
            self.flag(node, "escape", "info")
        self.generic_visit(node)

    def visit_Raise(self, node):
        if node.exc is not None and self.dotted(getattr(node.exc, "func", node.exc)).endswith("SystemExit"):
            self.flag(node, "process-exit")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in HISTORY_NAMES:
            self.flag(node, "own-source")

    def visit_Attribute(self, node):
        if node.attr in FRAME_ATTRS:
            self.flag(node, "frame-inspection")
        elif node.attr in ("history_manager", "user_ns_hidden", "execution_count") or node.attr.startswith("_ih"):
            self.flag(node, "own-source")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and PATH_HINTS.search(node.value):
            self.flag(node, "escape" if ".ipynb" not in node.value else "own-source")


def strip_magics(source: str) -> tuple[str, list[dict]]:
    """Turn IPython magics and shell escapes into ``pass`` (so the cell parses), flagging the risky ones."""
    lines, found = [], []
    for i, line in enumerate(source.split("\n"), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("!", "%", "?")) or stripped.endswith("?"):
            indent = line[: len(line) - len(stripped)]
            if stripped.startswith("!") or stripped.startswith(("%%bash", "%%sh", "%sx", "%system", "%%script")):
                found.append(make_finding(i, "escape", line))
            elif stripped.startswith(("%history", "%hist", "%recall", "%rerun", "%save", "%load", "%notebook")):
                found.append(make_finding(i, "own-source", line))
            lines.append(indent + "pass")
        else:
            lines.append(line)
    return "\n".join(lines), found


MAX_SCANNED_SOURCE = 200_000  # characters; the longest solution cell of the course has a few thousand


def scan_source(source: str) -> list[dict]:
    """Findings for one cell's source (without the cell name)."""
    if len(source) > MAX_SCANNED_SOURCE:  # parsing it could take minutes and gigabytes
        return [make_finding(1, "huge-cell", f"{len(source)} characters, not scanned")]
    code, found = strip_magics(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return [*found, make_finding(error.lineno or 1, "syntax-error", str(error.msg), "info")]
    scanner = Scanner(code.split("\n"))
    scanner.visit(tree)
    unique = {(f["line"], f["rule"]): f for f in [*found, *scanner.found]}
    return sorted(unique.values(), key=lambda f: (f["line"], f["rule"]))


def student_cells(nb) -> list:
    """Code cells the student wrote: answer cells and cells without nbgrader metadata."""
    out = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or not meta.get("locked")):
            out.append(cell)
    return out


def scan_notebook(nb) -> list[dict]:
    """Findings for every student-written code cell, each with ``cell`` (grade_id or index)."""
    findings = []
    mine = {id(c) for c in student_cells(nb)}
    for index, cell in enumerate(nb.cells):
        if id(cell) not in mine:
            continue
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell{index}"
        for f in scan_source(cell.source):
            findings.append({"cell": name, **f})
    return findings


def is_suspicious(findings: list[dict]) -> bool:
    return any(f["severity"] == "high" for f in findings)
