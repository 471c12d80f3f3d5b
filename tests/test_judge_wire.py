"""The judge's wire format and channel: every kind of value round-trips, and nothing else gets through.

The kernel side here is an ``Endpoint`` on a thread of the test process (the same
code the sandboxed kernel runs), connected by a socket pair; a raw socket stands
in for a kernel that sends frames of its own making.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import numpy as np
import pytest
import torch

from tfscourse_staff.grading import judge_wire
from tfscourse_staff.grading.judge import (
    Channel,
    ChannelError,
    KernelObject,
    StudentError,
    kernel_names,
    run_test,
)
from tfscourse_staff.grading.judge_endpoint import Endpoint


def _roundtrip(value, limits=judge_wire.DEFAULT_LIMITS):
    a, b = socket.socketpair()
    with a, b:
        buffers: list[bytes] = []
        judge_wire.send_frame(a, {"ok": judge_wire.encode(value, buffers)}, buffers)
        header, got = judge_wire.recv_frame(b, limits)
        return judge_wire.decode(header["ok"], got, limits)


def _channel(namespace: dict) -> Channel:
    judge_end, kernel_end = socket.socketpair()
    threading.Thread(target=Endpoint(namespace).serve, args=(kernel_end,), daemon=True).start()
    return Channel(judge_end)


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 1.5, float("inf"), "héllo", b"\x00\xff", 2 + 3j,
    [1, [2.0, "x"]], (1, (2, None)), {"a", "b"}, frozenset({1, 2}), {"k": [1], 2: (3,), (1, "t"): None},
    np.arange(6, dtype=np.int16).reshape(2, 3), np.array([True, False]), np.zeros((0, 4)), np.float64(0.25),
    np.int64(7), np.array([1 + 2j], dtype=np.complex64),
])
def test_values_round_trip_with_their_types(value):
    got = _roundtrip(value)
    assert type(got) is type(value)
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape and np.array_equal(got, value)
        assert got.flags.writeable
    else:
        assert got == value


def test_tensors_round_trip_as_tensors():
    for tensor in (torch.arange(6.0).reshape(2, 3), torch.ones(3, dtype=torch.bfloat16), torch.tensor([1, 2])):
        got = _roundtrip(tensor)
        assert type(got) is torch.Tensor and got.dtype == tensor.dtype and torch.equal(got, tensor)


def test_non_contiguous_arrays_keep_their_values():
    value = np.arange(12.0).reshape(3, 4).T
    assert np.array_equal(_roundtrip(value), value)


def test_judge_side_refuses_to_send_objects():
    with pytest.raises(TypeError, match="only plain data"):
        judge_wire.encode(object(), [])


def _decode(node, buffers=(), **kwargs):
    return judge_wire.decode(node, list(buffers), **kwargs)


@pytest.mark.parametrize("node, buffers, message", [
    ({"t": "pickle", "v": "gASV"}, [], "unknown value tag"),
    ({"t": "list", "v": [1], "extra": 1}, [], "fields"),
    ({"a": 1}, [], "unexpected value"),
    ({"t": "ndarray", "dtype": "|O", "shape": [1], "buf": 0, "scalar": False}, [b"12345678"], "not allowed"),
    ({"t": "ndarray", "dtype": "<f8", "shape": [2], "buf": 0, "scalar": False}, [b"12345678"], "do not match"),
    ({"t": "ndarray", "dtype": "<f8", "shape": [-1], "buf": 0, "scalar": False}, [b""], "bad shape"),
    ({"t": "ndarray", "dtype": "<f8", "shape": [1], "buf": 3, "scalar": False}, [b"12345678"], "buffer"),
    ({"t": "ndarray", "dtype": "<f8", "shape": [1], "buf": 0, "scalar": True}, [b"12345678"], "scalar with a shape"),
    ({"t": "tensor", "dtype": "object", "shape": [1], "buf": 0}, [b"1"], "not allowed"),
    ({"t": "set", "v": [{"t": "list", "v": []}]}, [], "cannot be a set member"),
    ({"t": "dict", "v": [[{"t": "handle", "id": 1, "type": "X"}, 1]]}, [], "cannot be a set member or dict key"),
    ({"t": "float", "v": "__import__('os')"}, [], "special float"),
])
def test_decode_refuses_what_breaks_the_schema(node, buffers, message):
    with pytest.raises(judge_wire.WireError, match=message):
        _decode(node, buffers)


def test_decode_refuses_handles_where_only_data_may_come():
    with pytest.raises(judge_wire.WireError, match="unexpected handle"):
        _decode({"t": "handle", "id": 1, "type": "X"}, allow_handles=False)


def test_decode_limits_depth_nodes_and_strings():
    limits = judge_wire.Limits(nodes=50, depth=5, string_chars=10)
    deep = 1
    for _ in range(10):
        deep = {"t": "list", "v": [deep]}
    for node in (deep, {"t": "list", "v": list(range(100))}, "x" * 11):
        with pytest.raises(judge_wire.WireError):
            _decode(node, limits=limits)


def test_frames_past_the_limits_are_refused_before_reading_their_body():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!4sQQ", b"TFSJ", 10, 2**40))
        with pytest.raises(judge_wire.WireError, match="too large"):
            judge_wire.recv_frame(b)
        a.sendall(b"XXXX" + bytes(16))
        with pytest.raises(judge_wire.WireError, match="not a judge frame"):
            judge_wire.recv_frame(b)


def test_kernel_names_are_the_free_names_of_the_cell():
    import ast

    source = ("import math\nw = softmax(np.ones(3))\n\ndef _close(a, b):\n    return abs(a - b) < tol\n"
              "for _i in range(3):\n    assert _close(w[_i], cat_weights[_i])\n[q for q in answer_q1]\n")
    assert kernel_names(ast.parse(source)) == {"softmax", "cat_weights", "tol", "answer_q1"}


def test_a_test_cell_runs_on_the_judge_side_with_kernel_values():
    def softmax(x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    channel = _channel({"softmax": softmax, "layer": torch.nn.Linear(2, 3), "answer": {"B"}, "weight": np.float64(0.3)})
    source = (
        "w = softmax(np.array([[1.0, 2.0], [3.0, 4.0]]))\n"
        "assert type(w) is np.ndarray and np.allclose(w.sum(axis=1), 1)\n"
        "state = layer.state_dict()\n"
        "assert set(state) == {'weight', 'bias'} and type(state['weight']) is torch.Tensor\n"
        "assert layer(torch.ones(1, 2)).shape == (1, 3) and layer.out_features == 3\n"
        "assert answer == {'B'} and type(weight) is np.float64\n"
        "print('checked')\n"
    )
    outcome = run_test(source, channel, 2.0, "test_x")
    assert (outcome.points, outcome.error, outcome.stdout) == (2.0, "", "checked\n")
    assert outcome.calls == 6  # lookup, softmax, state_dict + its call, layer, out_features


def test_student_errors_fail_the_cell_with_their_message():
    def unfinished(x):
        raise NotImplementedError("fill me in")

    class Custom(Exception):
        pass

    def odd(x):
        raise Custom("no")

    channel = _channel({"f": unfinished, "g": odd})
    assert run_test("f(1)", channel, 1.0, "t").error == "NotImplementedError: fill me in"
    with pytest.raises(StudentError, match="Custom: no"):
        channel.request("lookup", names=["g"])["g"](1)


def test_objects_that_lie_come_back_as_handles_and_compare_unequal():
    class Liar:
        def __eq__(self, other):
            return True

        def __float__(self):
            return 0.5

    channel = _channel({"liar": lambda: Liar()})
    value = channel.request("lookup", names=["liar"])["liar"]()
    assert type(value) is KernelObject and value != 0.5 and value != value.__class__
    outcome = run_test("assert liar() == 0.5\n", channel, 1.0, "t")
    assert outcome.points == 0.0


def test_a_call_past_the_time_limit_fails_and_breaks_the_channel():
    channel = _channel({"slow": lambda: time.sleep(5)})
    outcome = run_test("slow()", channel, 1.0, "t", seconds=0.3)
    assert outcome.points == 0.0 and outcome.channel_failed and "time limit" in outcome.error
    with pytest.raises(ChannelError):
        channel.request("lookup", names=["slow"])


def test_after_a_timeout_the_judge_takes_the_next_channel(tmp_path):
    from tfscourse_staff.grading.judge import Judge
    from tfscourse_staff.grading.judge_endpoint import start

    judge = Judge(str(tmp_path / "judge.sock"), accept_seconds=10)
    try:
        start(judge.path, {"slow": lambda: time.sleep(3), "fast": lambda: 1}, connections=2)
        assert judge.judge("slow()", 1.0, "t1", seconds=0.3).channel_failed
        assert judge.judge("assert fast() == 1", 1.0, "t2", seconds=5).points == 1.0
    finally:
        judge.close()


def test_a_kernel_that_sends_garbage_fails_the_cell():
    judge_end, kernel_end = socket.socketpair()

    def forge():
        judge_wire.recv_frame(kernel_end)
        text = json.dumps({"ok": {"t": "ndarray", "dtype": "<f8", "shape": [10**6], "buf": 0, "scalar": False},
                           "buffers": [8]}).encode()
        kernel_end.sendall(struct.pack("!4sQQ", b"TFSJ", len(text), 8) + text + bytes(8))

    threading.Thread(target=forge, daemon=True).start()
    outcome = run_test("assert softmax is not None", Channel(judge_end), 1.0, "t")
    assert outcome.points == 0.0 and "does not accept" in outcome.error
