"""Graded answers must be the student's own: the tamper scan's ``not-own-answer`` rule.

In every notebook, an answer that imports, subclasses, wraps, re-exports, dynamically
imports or copies a reference (``tfscourse_staff``, ``tfscourse.unlocked``, notebook 03's
baseline trainer) is flagged and loses the points of the test cells that check it; the
master solutions, and answers that only use the student package's helpers, are not flagged.
"""

from __future__ import annotations

import ast
import inspect

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse.unlocked import gpt, self_attention
from tfscourse_staff.grading import own_answers, tamper
from tfscourse_staff.notebooks import grade_id, nbgrader_meta
from tfscourse_staff.reference import bpe
from tfscourse_staff.submissions import fill


def notebooks(assignment: str):
    master_path = ASSIGNMENTS[assignment]
    release = nbformat.read(str(ROOT / "release" / assignment / master_path.name), as_version=4)
    return release, nbformat.read(str(master_path), as_version=4)


def answer_cell_of(master, name: str) -> str:
    """The grade_id of the answer cell whose solution defines ``name``."""
    for cell in master.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution") and not nbgrader_meta(cell).get("grade"):
            if any(name in own_answers._bound_names(node) for node in ast.parse(cell.source).body):
                return grade_id(cell)
    raise KeyError(name)


def first_graded(assignment: str, want_class: bool | None = None) -> str:
    """The first graded name of a notebook (a class when ``want_class``, a function when False)."""
    release, master = notebooks(assignment)
    for name, tests in own_answers.graded_names(master).items():
        kinds = {type(node) for cell in master.cells if cell.cell_type == "code" and nbgrader_meta(cell).get("solution")
                 for node in ast.parse(cell.source).body if name in own_answers._bound_names(node)}
        is_class = ast.ClassDef in kinds
        is_function = ast.FunctionDef in kinds
        if tests and (want_class is None and (is_class or is_function) or want_class is True and is_class
                      or want_class is False and is_function):
            return name
    return ""


def variants(name: str, is_class: bool) -> dict[str, str]:
    """Ways of handing in ``name`` without writing it."""
    out = {
        "import": f"from tfscourse_staff.reference.bpe import {name}\n",
        "import-unlocked": f"from tfscourse.unlocked.gpt import {name} as {name}\n",
        "re-export": f"import tfscourse\n{name} = tfscourse.unlocked.gpt.{name}\n",
        "dynamic-import": (f"import importlib\n_ref = importlib.import_module('tfscourse_' + 'staff.reference.bpe')\n"
                           f"{name} = getattr(_ref, {name!r})\n"),
    }
    if is_class:
        out["subclass"] = f"import tfscourse_staff.reference.bpe as ref\n\n\nclass {name}(ref.{name}):\n    pass\n"
        out["wrapper"] = (f"from tfscourse.unlocked import gpt as _g\n\n\nclass {name}:\n    def __init__(self, *args):\n"
                          f"        self._inner = _g.{name}(*args)\n\n    def __getattr__(self, attr):\n"
                          f"        return getattr(self._inner, attr)\n")
    else:
        out["wrapper"] = (f"import tfscourse_staff.reference.bpe as ref\n\n\ndef {name}(*args, **kwargs):\n"
                          f"    return ref.{name}(*args, **kwargs)\n")
        out["dynamic-in-body"] = (f"def {name}(*args, **kwargs):\n    module = __import__('tfscourse.unlocked.gpt', "
                                  f"fromlist=['x'])\n    return getattr(module, {name!r})(*args, **kwargs)\n")
    return out


CASES = [
    pytest.param(assignment, want_class, variant, id=f"{assignment}-{'class' if want_class else 'function'}-{variant}")
    for assignment in sorted(ASSIGNMENTS)
    for want_class in (True, False)
    if first_graded(assignment, want_class)
    for variant in variants("x", want_class)
]


@pytest.mark.parametrize("assignment, want_class, variant", CASES)
def test_borrowed_answer_is_flagged_and_loses_its_cells(assignment, want_class, variant):
    release, master = notebooks(assignment)
    name = first_graded(assignment, want_class)
    cell = answer_cell_of(master, name)
    submission = fill(release, master, {cell: variants(name, want_class)[variant]})
    findings = [f for f in own_answers.scan_answers(submission, release) if f["name"] == name]
    assert findings, f"{variant} of {name} is not flagged"
    assert all(f["rule"] == "not-own-answer" and f["severity"] == "high" for f in findings)
    assert tamper.is_suspicious(findings)
    expected = own_answers.graded_names(release)[name]
    assert expected and findings[0]["tests"] == expected
    grades = {test_id: [2.0, False] for test_id in expected} | {"unrelated": [1.0, False]}
    assert sorted(own_answers.withdraw_points(grades, findings)) == sorted(expected)
    assert all(grades[test_id][0] == 0.0 for test_id in expected) and grades["unrelated"] == [1.0, False]


def test_import_in_an_earlier_cell_is_followed():
    release, master = notebooks("01_self_attention")
    extra = nbformat.v4.new_code_cell("from tfscourse.unlocked import self_attention as helpers")
    submission = fill(release, master, {"softmax": "def softmax(x, axis=-1):\n    return helpers.softmax(x, axis)\n"})
    submission.cells.insert(2, extra)
    assert [f["name"] for f in own_answers.scan_answers(submission, release)] == ["softmax"]


def test_a_borrowed_answer_costs_only_its_own_cells_where_later_answers_call_it():
    """Own attention code that calls a borrowed softmax keeps its cells; the same code calling the
    reference under softmax's name (another object) does not."""
    release, master = notebooks("01_self_attention")
    borrowed = "import numpy as np\nfrom tfscourse.unlocked.self_attention import softmax\n"
    submission = fill(release, master, {"softmax": borrowed})
    assert [f["name"] for f in own_answers.scan_answers(submission, release)] == ["softmax"]
    disguised = "import numpy as np\nfrom tfscourse.unlocked.gpt import lr_at as softmax\n"
    submission = fill(release, master, {"softmax": disguised})
    names = {f["name"] for f in own_answers.scan_answers(submission, release)}
    assert {"softmax", "scaled_dot_product_attention"} <= names


@pytest.mark.parametrize("assignment, cell, reference", [
    ("01_self_attention", "softmax", self_attention.softmax),
    ("03_bpe", "byte_level_bpe", bpe.ByteLevelBPE),
    ("06_gpt", "causal_self_attention", gpt.CausalSelfAttention),
    ("06_gpt", "gpt", gpt.GPT),
    ("06_gpt", "lr_at", gpt.lr_at),
    ("06_gpt", "configure_optimizer", gpt.configure_optimizer),
    ("06_gpt", "train_step", gpt.train_step),
])
def test_copied_reference_source_is_flagged(assignment, cell, reference):
    release, master = notebooks(assignment)
    source = "import math\n\nimport numpy as np\n\n" + inspect.getsource(reference)
    submission = fill(release, master, {cell: source})
    names = {f["name"] for f in own_answers.scan_answers(submission, release)}
    assert reference.__name__ in names, f"a copy of {reference.__qualname__} is not flagged"


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_master_solutions_are_their_own_answers(assignment):
    release, master = notebooks(assignment)
    findings = own_answers.scan_answers(fill(release, master), release)
    assert not findings, f"{assignment}: the master solution is flagged: {findings}"


def test_using_permitted_helpers_is_not_flagged():
    release, master = notebooks("01_self_attention")
    answer = ("import tfscourse\nfrom tfscourse.corpora import reference_text\nfrom tfscourse.widgets import figure_png\n\n\n"
              "def softmax(x, axis=-1):\n    _ = (reference_text, figure_png, tfscourse.grading_mode())\n"
              "    z = x - x.max(axis=axis, keepdims=True)\n    e = np.exp(z)\n    return e / e.sum(axis=axis, keepdims=True)\n")
    assert own_answers.scan_answers(fill(release, master, {"softmax": answer}), release) == []


def test_reference_lines_cover_the_references():
    lines = own_answers.reference_lines()
    assert own_answers._normalized_lines(inspect.getsource(gpt.lr_at))[1] in lines
    assert own_answers._normalized_lines(inspect.getsource(bpe.ByteLevelBPE))[3] in lines


@pytest.mark.slow
def test_a_grading_job_withdraws_the_points_of_a_borrowed_answer():
    """Through a real grading job (sandboxed where bubblewrap runs): notebook 01 with the course's
    unlocked softmax imported in place of the student's loses exactly softmax's test cells."""
    from tfscourse_staff.grading import sandbox, templates
    from tfscourse_staff.grading.job import Job, Limits, run_job

    assignment = "01_self_attention"
    release, master = notebooks(assignment)
    bundle = templates.assignment_bundle(ROOT, assignment)
    borrowed = "import numpy as np\nfrom tfscourse.unlocked.self_attention import softmax\n"
    files = {
        student: nbformat.writes(fill(release, master, answers)).encode()
        for student, answers in (("own", {}), ("borrowed", {"softmax": borrowed}))
    }
    limits = Limits(timeout=300, memory_mb=2000, sandbox=not sandbox.available())
    results = {
        student: run_job(Job(assignment, student, {ASSIGNMENTS[assignment].name: data}, bundle.releases,
                             bundle.template_db, bundle.extra_files, bundle.settings, bundle.judge_tests), limits)
        for student, data in files.items()
    }
    stem = ASSIGNMENTS[assignment].stem
    own, taken = (results[s]["notebooks"][stem]["grades"] for s in ("own", "borrowed"))
    withdrawn = own_answers.graded_names(release)["softmax"]
    assert withdrawn and all(own[test_id][0] > 0 for test_id in withdrawn), "the solution must earn softmax's cells"
    assert all(taken[test_id][0] == 0.0 for test_id in withdrawn), f"borrowed softmax kept points: {taken}"
    assert {k: v for k, v in taken.items() if k not in withdrawn} == {k: v for k, v in own.items() if k not in withdrawn}
    assert any(f["rule"] == "not-own-answer" and f["name"] == "softmax" for f in results["borrowed"]["findings"])
    assert not any(f["rule"] == "not-own-answer" for f in results["own"]["findings"])
