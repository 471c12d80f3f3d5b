"""The known-wrong suite against the judge: the same cases as test_known_wrong.py, judged outside the kernel.

For each test cell tagged ``judge`` in a master, the "kernel" is an ``Endpoint`` serving the master's
namespace just before a test cell (``tests/nbharness.py``) with one answer replaced;
the test cell's code runs on the judge's side. The solution must pass every test
cell; every known-wrong answer must fail the cells it names, whole and hidden
block alone; and a kernel whose globals shadow the built-ins (``abs``, ``all``,
``isinstance``...) rescues none of them, since the judge's built-ins are its own.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.conftest import ASSIGNMENTS, harness, known_wrong_cases
from tests.test_known_wrong import _shadowed_builtins
from tfscourse_staff.grading.judge import Channel, run_test
from tfscourse_staff.grading.judge_endpoint import Endpoint
from tfscourse_staff.grading.judge_execute import master_tests

JUDGED = {a: set(master_tests(json.loads(path.read_text()))) for a, path in ASSIGNMENTS.items()}
JUDGE_READY = [a for a, cells in JUDGED.items() if cells]
CASES = [
    pytest.param(assignment, case, id=f"{assignment}-{case.label}-{index}")
    for assignment in JUDGE_READY
    for index, case in enumerate(known_wrong_cases(assignment))
]


def _judge(source: str, namespace: dict, test_id: str):
    judge_end, kernel_end = socket.socketpair()
    threading.Thread(target=Endpoint(namespace).serve, args=(kernel_end,), daemon=True).start()
    channel = Channel(judge_end)
    try:
        return run_test(source, channel, 1.0, test_id)
    finally:
        channel.close()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_judged(assignment):
    """``tfscourse grade`` judges the tagged cells by default: an untagged one would run in the student's kernel."""
    untagged = set(harness(assignment).test_sources) - JUDGED[assignment]
    assert not untagged, f"{assignment}: test cells not tagged judge (they would be graded in the student's kernel): {sorted(untagged)}"


@pytest.mark.parametrize("assignment", JUDGE_READY)
def test_solution_passes_every_test_cell_on_the_judge(assignment):
    h = harness(assignment)
    failures = {}
    for test_id, source in h.test_sources.items():
        if test_id not in JUDGED[assignment]:
            continue
        for label, code in (("whole", source), ("hidden", h.hidden_block(test_id))):
            if code.strip():
                outcome = _judge(code, h.namespace_with(test_id), test_id)
                if outcome.error:
                    failures[f"{test_id} ({label})"] = outcome.error
    assert not failures, f"the master solution fails on the judge: {failures}"


@pytest.mark.parametrize("assignment, case", CASES)
def test_known_wrong_answer_loses_points_on_the_judge(assignment, case):
    h = harness(assignment)
    for test_id in set(case.tests) & JUDGED[assignment]:
        namespace = h.namespace_with(test_id, case)
        assert _judge(h.test_sources[test_id], namespace, test_id).error, f"{case.why!r} passes {test_id}"
        if h.hidden_block(test_id).strip():
            assert _judge(h.hidden_block(test_id), namespace, test_id).error, (
                f"{case.why!r} passes the hidden block of {test_id}")
            namespace.update(_shadowed_builtins())
            assert _judge(h.hidden_block(test_id), namespace, test_id).error, (
                f"{case.why!r} passes the hidden block of {test_id} once the kernel shadows the built-ins")
