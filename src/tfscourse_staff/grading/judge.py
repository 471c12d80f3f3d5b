"""The trusted judge: runs a master test cell on its own side and asks the student's kernel for values.

A test cell's code (visible checks and hidden block, from the master notebook,
never from the submission) runs here, in a fresh namespace:

- built-ins are the real ones; ``np``, ``numpy``, ``math``, ``torch``, ``nn`` and ``F``
  are this process's own modules (``TRUSTED_MODULES``);
- every other name the cell reads but never assigns (``softmax``, ``cat_weights``,
  ``GPT``...) is looked up in the kernel once, when the cell starts: plain data
  comes back as a value (a NumPy array is a real array here), anything else as a
  ``KernelObject`` whose calls, attributes and items are requests to the kernel.

So ``w = softmax(x)`` sends ``x`` to the kernel, runs the student's function there
and gives back a real array, which the cell then checks with the judge's own NumPy.
What the kernel does to itself can change only the values it sends; a frame that
breaks the schema, a call that does not answer within the time limit, or an error
in the student's code fails the test cell like a wrong value.

Example:
    >>> outcome = run_test(source, Channel(sock), points=2.0, label="test_softmax")  # doctest: +SKIP
    >>> outcome.points, outcome.error
    (0.0, "AssertionError: softmax along axis 0 of an input of shape (4, 7) is wrong")
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import os
import socket
import time
from dataclasses import dataclass, field

from tfscourse_staff.grading.judge_wire import (
    DEFAULT_LIMITS,
    Limits,
    WireError,
    decode,
    encode,
    recv_frame,
    send_frame,
)

TRUSTED_MODULES = {"np": "numpy", "numpy": "numpy", "math": "math", "torch": "torch", "nn": "torch.nn",
                   "F": "torch.nn.functional"}
#: exceptions of the student's code that the judge raises as themselves (others become StudentError)
KNOWN_EXCEPTIONS = {name: getattr(builtins, name) for name in (
    "ArithmeticError", "AssertionError", "AttributeError", "IndexError", "KeyError", "LookupError",
    "NameError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration", "TypeError",
    "ValueError", "ZeroDivisionError")}
_BUILTIN_NAMES = frozenset(dir(builtins))


class StudentError(Exception):
    """The student's code raised an exception the judge has no built-in class for."""


class ChannelError(Exception):
    """The kernel did not answer, or answered with something that is not valid data."""


class Channel:
    """The judge's end of one connection to the kernel's endpoint."""

    def __init__(self, sock: socket.socket, limits: Limits = DEFAULT_LIMITS):
        self.sock, self.limits = sock, limits
        self.broken = ""
        self.calls = 0
        self.deadline = float("inf")  # time.monotonic() value past which requests fail

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def request(self, op: str, **fields):
        if self.broken:
            raise ChannelError(self.broken)
        buffers: list[bytes] = []
        header = {"op": op, **{k: encode(v, buffers, _handle_id) for k, v in fields.items()}}
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelError("the test cell ran out of time")
        self.calls += 1
        try:
            self.sock.settimeout(min(remaining, 1e6))
            send_frame(self.sock, header, buffers)
            reply, reply_buffers = recv_frame(self.sock, self.limits)
        except TimeoutError:
            self.broken = "the student's code did not answer within the time limit"
        except (OSError, ConnectionError) as error:
            self.broken = f"the kernel closed the channel ({type(error).__name__})"
        except WireError as error:
            self.broken = f"the kernel sent data the judge does not accept: {error}"
        if self.broken:
            self.close()
            raise ChannelError(self.broken)
        return self._reply_value(reply, reply_buffers)

    def _reply_value(self, reply: dict, buffers: list[bytes]):
        keys = set(reply) - {"buffers"}
        try:
            if keys == {"ok"}:
                return decode(reply["ok"], buffers, self.limits, resolve_handle=lambda h: KernelObject(self, h))
            if keys == {"error"} and type(reply["error"]) is dict and set(reply["error"]) == {"type", "message"}:
                kind, message = reply["error"]["type"], reply["error"]["message"]
                if type(kind) is str and type(message) is str:
                    raise KNOWN_EXCEPTIONS.get(kind, StudentError)(
                        message[:2000] if kind in KNOWN_EXCEPTIONS else f"{kind[:100]}: {message[:2000]}")
        except WireError as error:
            self.broken = f"the kernel sent data the judge does not accept: {error}"
            raise ChannelError(self.broken) from None
        self.broken = "the kernel sent a reply the judge does not accept"
        raise ChannelError(self.broken)


class KernelObject:
    """An object that lives in the kernel: calling it, reading its attributes or items asks the kernel."""

    __slots__ = ("_channel", "_handle")

    def __init__(self, channel: Channel, handle):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)

    def __call__(self, *args, **kwargs):
        return self._channel.request("call", target=self, args=list(args), kwargs=dict(kwargs))

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)  # NumPy and friends probe dunders: never ask the kernel for those
        return self._channel.request("getattr", target=self, name=name)

    def __getitem__(self, key):
        return self._channel.request("getitem", target=self, key=key)

    def __repr__(self) -> str:
        return f"<kernel object of type {self._handle.type_name}>"


def _handle_id(obj) -> int:
    if type(obj) is KernelObject:
        return obj._handle.id
    raise TypeError(f"a test cell cannot send a {type(obj).__name__} to the kernel: only plain data")


def kernel_names(tree: ast.AST) -> set[str]:
    """Names the cell reads but never binds (anywhere in it) and that are neither built-ins nor trusted modules."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - _BUILTIN_NAMES - set(TRUSTED_MODULES)


def _trusted_modules(tree: ast.AST) -> dict:
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return {alias: importlib.import_module(module) for alias, module in TRUSTED_MODULES.items() if alias in used}


@dataclass
class Outcome:
    """What the judge decided for one test cell."""

    points: float
    max_points: float
    error: str = ""  # "ExceptionName: message" when the cell failed
    stdout: str = ""  # what the cell's own code printed
    calls: int = 0  # requests sent to the kernel
    seconds: float = 0.0
    channel_failed: bool = field(default=False)

    @property
    def passed(self) -> bool:
        return not self.error

    def as_dict(self) -> dict:
        return {"points": self.points, "max_points": self.max_points, "error": self.error, "calls": self.calls,
                "seconds": round(self.seconds, 4), "channel_failed": self.channel_failed}

    def outputs(self) -> list[dict]:
        """The cell's outputs as nbformat dicts: what the feedback shows for this test cell."""
        outputs = []
        if self.stdout:
            outputs.append({"output_type": "stream", "name": "stdout", "text": self.stdout[:20_000]})
        if self.error:
            name, _, value = self.error.partition(": ")
            outputs.append({"output_type": "error", "ename": name, "evalue": value, "traceback": [self.error]})
        return outputs


def run_test(source: str, channel: Channel, points: float, label: str, seconds: float = 60.0) -> Outcome:
    """Run one test cell's code in a fresh judge namespace; full points when it raises nothing."""
    start, calls_before = time.monotonic(), channel.calls
    channel.deadline = start + seconds
    stdout = io.StringIO()
    error, channel_failed = "", False
    try:
        tree = ast.parse(source)
        code = compile(tree, label, "exec")
        namespace = {"__builtins__": builtins, "__name__": "__judge__", **_trusted_modules(tree)}
        names = sorted(kernel_names(tree))
        found = channel.request("lookup", names=names) if names else {}
        if type(found) is not dict or not set(found) <= set(names):
            raise ChannelError("the kernel answered a lookup with other names")
        namespace.update(found)
        with contextlib.redirect_stdout(stdout):
            exec(code, namespace)
    except ChannelError as failure:
        error, channel_failed = f"ChannelError: {failure}", True
    except Exception as failure:  # noqa: BLE001 - a failed check, or the student's error
        error = f"{type(failure).__name__}: {failure}"[:2000]
    finally:
        channel.deadline = float("inf")
    return Outcome(0.0 if error else float(points), float(points), error, stdout.getvalue(),
                   channel.calls - calls_before, time.monotonic() - start, channel_failed)


class Judge:
    """The listening socket a kernel's endpoint connects to, and the channel over it."""

    def __init__(self, path: str, accept_seconds: float = 30.0):
        self.path, self.accept_seconds = path, accept_seconds
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.listener.bind(path)
        # the sandboxed kernel runs as its own user: it may connect whatever the grader's umask
        os.chmod(path, 0o666)
        self.listener.listen(4)
        self.channel: Channel | None = None
        self.waited = False

    def _connect(self) -> Channel | None:
        if self.channel is not None and not self.channel.broken:
            return self.channel
        # the first wait covers the kernel's start; later ones only pick up a spare channel already open
        self.listener.settimeout(self.accept_seconds if self.channel is None and not self.waited else 2.0)
        self.waited = True
        try:
            sock, _ = self.listener.accept()
        except TimeoutError:
            return None
        self.channel = Channel(sock)
        return self.channel

    def judge(self, source: str, points: float, label: str, seconds: float) -> Outcome:
        channel = self._connect()
        if channel is None:
            return Outcome(0.0, float(points), "ChannelError: the kernel never connected to the judge",
                           channel_failed=True)
        return run_test(source, channel, points, label, seconds)

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        self.listener.close()
