"""Package code that a locked notebook cell repeats (so students can read it) stays the same code.

A locked cell of 03 defines ``SPLIT_PATTERN``, ``split_chunks`` and ``merge_ids`` for the student
to read and use; ``tfscourse.bpe_baseline`` defines them for the baseline trainer and the reference tokenizer. Each copy is
checked against the package here: constants by value, functions by their code (the syntax tree
without docstrings and type annotations), and every other name a locked cell shares with the
package must be listed as a different thing, so a new copy cannot slip in unchecked.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import pkgutil
import textwrap

import nbformat
import pytest

import tfscourse
from tests.conftest import ASSIGNMENTS
from tfscourse import bpe_baseline
from tfscourse_staff import notebooks

# (assignment, locked cell) -> {name: the package module that holds the same code}
COPIES = {
    ("03_bpe", "pretokenizer"): {"SPLIT_PATTERN": bpe_baseline, "split_chunks": bpe_baseline, "merge_ids": bpe_baseline},
}
# Names a locked cell shares with some package module for another thing: (assignment, name) -> why.
SAME_NAME_OTHER_THING = {
    ("05_lstm", "generate"): "the notebook samples text; grading.feedback.generate renders feedback",
    ("05_lstm", "encode"): "the notebook maps characters to ids; lm_corpus.encode runs the BPE tokenizer",
}


def _top_level_names(tree: ast.Module) -> dict[str, ast.AST]:
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            names.update({target.id: node for target in node.targets if isinstance(target, ast.Name)})
    return names


def _locked_cells(assignment: str):
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    for cell in nb.cells:
        meta = notebooks.nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            yield cell


def _cell(assignment: str, cell_id: str):
    return next(cell for cell in _locked_cells(assignment) if cell.id == cell_id)


def _code_shape(node: ast.AST) -> str:
    """The syntax tree of a definition without its docstring and annotations, as text."""
    node = ast.parse(ast.unparse(node)).body[0]  # a fresh copy
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = child.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                child.body = body[1:] or [ast.Pass()]
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            child.returns = None
            for arg in (*child.args.posonlyargs, *child.args.args, *child.args.kwonlyargs):
                arg.annotation = None
    return ast.dump(node)


def _package_definition(module, name: str) -> ast.AST:
    return _top_level_names(ast.parse(textwrap.dedent(inspect.getsource(module))))[name]


# Inputs on which a copy that is not a plain definition (e.g. ``split_chunks = re.compile(...).findall``)
# must behave as the package's.
SAMPLE_CALLS = {
    "split_chunks": ["Hello world's  end: naïve café_2024 🙂🙂 日本語\n\n", "x=1;  y = 22\t\tz", "", "  it's ³½ ok\n"],
}


def _run_cell(cell) -> dict:
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(cell.source, cell.id, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("assignment, cell_id, name", [
    (assignment, cell_id, name) for (assignment, cell_id), names in COPIES.items() for name in names
])
def test_locked_copy_is_the_package_code(assignment, cell_id, name):
    module = COPIES[(assignment, cell_id)][name]
    cell = _cell(assignment, cell_id)
    ours = _top_level_names(ast.parse(cell.source))[name]
    value, package_value = _run_cell(cell)[name], getattr(module, name)
    where = f"{assignment}/{cell_id}: {name} differs from {module.__name__}.{name}; change both together"
    if isinstance(ours, (ast.FunctionDef, ast.ClassDef)):
        assert _code_shape(ours) == _code_shape(_package_definition(module, name)), where
    elif callable(value):
        assert SAMPLE_CALLS[name], f"give {name} sample inputs in SAMPLE_CALLS"
        for argument in SAMPLE_CALLS[name]:
            assert value(argument) == package_value(argument), f"{where} (on {argument!r})"
    else:
        assert type(value) is type(package_value) and value == package_value, where


def test_code_shape_tells_different_code_apart():
    """The comparison is real: the same function with a changed line is a different shape."""
    theirs = _package_definition(bpe_baseline, "merge_ids")
    source = ast.unparse(theirs)
    assert _code_shape(ast.parse(source).body[0]) == _code_shape(theirs)
    changed = source.replace("i += 2", "i += 1")
    assert changed != source and _code_shape(ast.parse(changed).body[0]) != _code_shape(theirs)


def _package_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for info in pkgutil.walk_packages(tfscourse.__path__, "tfscourse."):
        source = importlib.util.find_spec(info.name).origin
        if source and source.endswith(".py"):
            tree = ast.parse(open(source, encoding="utf-8").read())
            for name in _top_level_names(tree):
                found.setdefault(name, []).append(info.name)
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_shared_name_is_a_checked_copy_or_explained(assignment):
    package = _package_names()
    unexplained = []
    for cell in _locked_cells(assignment):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # a cell with shell or magic lines is no copy of package code
            continue
        for name in _top_level_names(tree):
            if name in package and not name.startswith("__"):
                checked = name in COPIES.get((assignment, cell.id), {})
                if not checked and (assignment, name) not in SAME_NAME_OTHER_THING:
                    unexplained.append(f"{cell.id}: {name} (also in {', '.join(package[name])})")
    assert not unexplained, f"locked cells define names the package also defines; add them to COPIES or explain: {unexplained}"
