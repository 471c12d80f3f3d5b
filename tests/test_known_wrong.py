"""The notebooks' tests pass the solutions and reject known-wrong answers.

For every assignment: each test cell passes with the master solution; each
known-wrong answer fails every test cell it names, and fails its *hidden* block
on its own too (a visible check may catch it first for a student, but the hidden
tests must not rely on that); each hidden block rejects at least three wrong
answers; and replacing numpy's and torch's comparison functions with
always-true ones, shadowing built-ins, or rebinding the hidden blocks' own helpers
(``tfscourse_staff.hidden_helpers``) changes none of this.

A hidden block must reject a known-wrong answer with an assertion that says what is wrong,
not by crashing on it (a crash is a rejection by luck, and its message does not help the
student). Each rejection is recorded, and the run ends with a count of both kinds per
notebook (tests/known_wrong_report.py).

Two more rules make the tests teach and the grades fair:
- a case marked ``pitfall`` (a mistake the prose names, or a classic one) fails a *visible* test,
  with an assertion: the student sees it before handing in;
- in the notebooks of ``CASCADE_CHECKED``, a case costs only the points of the cells it names:
  the master runs again with the wrong answer in place (``NotebookHarness.cascade``) and no other
  test cell may fail, except those the case lists in ``also_costs`` (its ``why`` says why).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from tests.conftest import ASSIGNMENTS, harness, known_wrong_cases
from tests.known_wrong_report import CASCADE_PROPERTY, REJECTION_PROPERTY, VISIBLE_PROPERTY
from tests.nbharness import run_cell
from tfscourse_staff.hidden_helpers import HELPER_NAMES

CASES = [
    pytest.param(assignment, case, id=f"{assignment}-{case.label}-{index}")
    for assignment in ASSIGNMENTS
    for index, case in enumerate(known_wrong_cases(assignment))
]
MIN_WRONG_PER_HIDDEN_BLOCK = 3
# Notebooks whose known-wrong cases must cost only their own cells' points (05-07 train models:
# re-running them once per case would take too long).
CASCADE_CHECKED = ("01_self_attention", "02_multihead_attention", "03_bpe", "04_cross_modal_search")
CASCADE_CASES = [param for param in CASES if param.values[0] in CASCADE_CHECKED]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_test_cell(assignment):
    h = harness(assignment)
    assert h.test_sources, f"{assignment} has no autograded test cells"
    failures = {tid: r.error for tid, r in h.solution_results.items() if not r.passed}
    assert not failures, f"the master solution fails: {failures}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_blocks_are_self_contained(assignment):
    """Each hidden block passes on its own with the solution: it must not lean on the visible part."""
    h = harness(assignment)
    failures = {}
    for tid in h.test_sources:
        if h.hidden_block(tid).strip():
            result = h.run_test(tid, hidden_only=True)
            if not result.passed:
                failures[tid] = result.error
    assert not failures, f"hidden blocks that fail alone with the solution: {failures}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hidden_block_rejects_three_wrong_answers(assignment):
    h = harness(assignment)
    cases = known_wrong_cases(assignment)
    assert cases, f"tests/known_wrong has no cases for {assignment}"
    counts = Counter(test for case in cases for test in case.tests)
    with_hidden = [tid for tid in h.test_sources if h.hidden_block(tid).strip()]
    weak = {tid: counts[tid] for tid in with_hidden if counts[tid] < MIN_WRONG_PER_HIDDEN_BLOCK}
    assert not weak, f"hidden blocks with fewer than {MIN_WRONG_PER_HIDDEN_BLOCK} known-wrong answers: {weak}"


@pytest.mark.parametrize("assignment, case", CASES)
def test_known_wrong_answer_loses_points(assignment, case, record_property):
    h = harness(assignment)
    for test_id in case.tests:
        assert test_id in h.test_sources, f"{case.label} names an unknown test cell {test_id}"
        whole = h.run_test(test_id, case)
        assert not whole.passed, f"{case.why!r} passes {test_id}"
        if h.hidden_block(test_id).strip():
            hidden = h.run_test(test_id, case, hidden_only=True)
            assert not hidden.passed, f"{case.why!r} passes the hidden block of {test_id}"
            record_property(REJECTION_PROPERTY, (assignment, test_id, hidden.rejection))
            assert hidden.rejection == "assertion", (
                f"the hidden block of {test_id} rejects {case.why!r} only by crashing ({hidden.error}); "
                "it should assert what is wrong")


@pytest.mark.parametrize("assignment, case", CASES)
def test_named_pitfalls_fail_a_visible_test(assignment, case, record_property):
    h = harness(assignment)
    visible = {tid: h.run_test(tid, case, visible_only=True) for tid in case.tests}
    caught = {tid: r for tid, r in visible.items() if r.rejection == "assertion"}
    record_property(VISIBLE_PROPERTY, (assignment, case.label, bool(caught), case.pitfall))
    if case.pitfall:
        assert caught, (
            f"the named pitfall {case.why!r} passes the visible tests of {list(case.tests)} (or only crashes them: "
            f"{ {tid: r.error for tid, r in visible.items() if r.crashed} }); a student sees no warning before grading")


@pytest.mark.parametrize("assignment, case", CASCADE_CASES)
def test_known_wrong_answer_costs_only_its_own_points(assignment, case, record_property):
    h = harness(assignment)
    for test_id in case.also_costs:
        assert test_id in h.test_sources, f"{case.label} lists an unknown test cell {test_id} in also_costs"
    failed = h.cascade(case)
    allowed = set(case.tests) | set(case.also_costs)
    own = sum(h.points(tid) for tid in failed if tid in case.tests)
    other = {tid: h.points(tid) for tid in failed if tid not in case.tests}
    record_property(CASCADE_PROPERTY, (assignment, case.label, own, sum(other.values())))
    beyond = {tid: points for tid, points in other.items() if tid not in allowed}
    assert not beyond, (
        f"{case.why!r} also costs {beyond} (points per test cell) beyond the cells it names {sorted(allowed)}: "
        f"{ {tid: failed[tid].error[:200] for tid in beyond} }")


def _always_true(*args, **kwargs):
    return True


@pytest.mark.parametrize("assignment, case", CASES)
def test_patched_comparisons_do_not_rescue_wrong_answers(assignment, case, monkeypatch):
    monkeypatch.setattr(np, "allclose", _always_true)
    monkeypatch.setattr(np, "array_equal", _always_true)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(np.testing, "assert_array_equal", lambda *a, **k: None)
    monkeypatch.setattr(torch, "allclose", _always_true)
    monkeypatch.setattr(torch.testing, "assert_close", lambda *a, **k: None)
    h = harness(assignment)
    for test_id in case.tests:
        if h.hidden_block(test_id).strip():
            assert not h.run_test(test_id, case, hidden_only=True).passed, (
                f"{case.why!r} passes the hidden block of {test_id} once numpy/torch comparisons are patched"
            )


def _shadowed_builtins():
    """Globals a submission could define to make naive checks pass."""
    import numpy

    return {
        "abs": lambda *a, **k: 0,
        "all": lambda *a, **k: True,
        "any": lambda *a, **k: True,
        "isinstance": lambda *a, **k: True,
        "type": lambda *a, **k: numpy.ndarray,
        "len": lambda *a, **k: 0,
        "max": lambda *a, **k: 0,
        "min": lambda *a, **k: 0,
        "sum": lambda *a, **k: 0,
        "float": lambda *a, **k: 0.0,
        "zip": lambda *a, **k: iter(()),
    }


@pytest.mark.parametrize("assignment, case", CASES)
def test_shadowed_builtins_do_not_rescue_wrong_answers(assignment, case):
    h = harness(assignment)
    for test_id in case.tests:
        if h.hidden_block(test_id).strip():
            namespace = h.namespace_with(test_id, case)
            namespace.update(_shadowed_builtins())
            result = run_cell(h.hidden_block(test_id), namespace, test_id)
            assert not result.passed, f"{case.why!r} passes the hidden block of {test_id} once built-ins are shadowed"


def _rebound_helpers():
    """What a submission could define, hoping the hidden checks use its helpers instead of theirs."""
    return {
        "_close": lambda *a, **k: True,
        "_TOL_64_BIT": float("inf"),
        "_TOL_32_BIT": float("inf"),
    }


def test_rebound_helpers_cover_every_injected_name():
    assert set(_rebound_helpers()) == set(HELPER_NAMES)


@pytest.mark.parametrize("assignment, case", CASES)
def test_rebound_helpers_do_not_rescue_wrong_answers(assignment, case):
    """A submission that defines ``_close`` (or the tolerances) gains nothing: each hidden block
    defines them again from tfscourse_staff.hidden_helpers before its checks."""
    h = harness(assignment)
    for test_id in case.tests:
        if h.hidden_block(test_id).strip():
            namespace = h.namespace_with(test_id, case)
            namespace.update(_rebound_helpers())
            namespace.update(_shadowed_builtins())
            result = run_cell(h.hidden_block(test_id), namespace, test_id)
            assert not result.passed, f"{case.why!r} passes the hidden block of {test_id} once its helpers are rebound"
