"""Kernel side of the judge's channel: answers the judge's requests with plain data.

The grader starts it in the student's kernel before the first cell runs
(``start(SOCKET_PATH)``): daemon threads connect to the judge's Unix socket (a few
spare channels, for after a call that never returns) and serve one request at a
time, while the kernel's main thread waits for the next cell. Requests (see ``judge_wire`` for values):

- ``{"op": "lookup", "names": [...]}``: the notebook's globals of those names that exist;
- ``{"op": "call", "target": HANDLE, "args": [...], "kwargs": {...}}``;
- ``{"op": "getattr", "target": HANDLE, "name": "weight"}``, ``{"op": "getitem", "target": HANDLE, "key": KEY}``.

Each reply is ``{"ok": value}`` or ``{"error": {"type": ..., "message": ...}}``. Values
that are not plain data (functions, classes, modules, ``nn.Module`` objects) are kept
here in a table and sent as handles.

Nothing here is trusted: the student's code runs in this process and may replace any
of it. The judge only accepts what ``judge_wire.decode`` lets through.
"""

from __future__ import annotations

import socket
import threading
import time

from tfscourse_staff.grading.judge_wire import decode, encode, recv_frame, send_frame

CONNECT_SECONDS = 30.0


def _notebook_globals() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    import __main__

    return vars(__main__)


class Endpoint:
    """Serves the judge's requests against one namespace (the notebook's globals by default)."""

    def __init__(self, namespace: dict | None = None):
        self.namespace = namespace
        self.objects: dict[int, object] = {}

    def _handle_of(self, obj) -> int:
        handle = len(self.objects) + 1
        self.objects[handle] = obj
        return handle

    def _value(self, node, buffers):
        return decode(node, buffers, resolve_handle=lambda h: self.objects[h.id])

    def answer(self, request: dict, buffers: list[bytes]):
        """The value the request asks for; raises whatever the student's code raises."""
        op = request.get("op")
        if op == "lookup":
            namespace = self.namespace if self.namespace is not None else _notebook_globals()
            return {name: namespace[name] for name in self._value(request["names"], buffers) if name in namespace}
        target = self._value(request["target"], buffers)
        if op == "call":
            return target(*self._value(request["args"], buffers), **self._value(request["kwargs"], buffers))
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "getitem":
            return target[self._value(request["key"], buffers)]
        raise ValueError(f"unknown request {op!r}")

    def serve(self, sock: socket.socket) -> None:
        """Answer requests until the judge closes the channel."""
        while True:
            try:
                request, buffers = recv_frame(sock)
            except (ConnectionError, OSError):
                return
            reply_buffers: list[bytes] = []
            try:
                reply = {"ok": encode(self.answer(request, buffers), reply_buffers, self._handle_of)}
            except BaseException as error:  # noqa: BLE001 - the student's error goes back as data
                reply_buffers = []
                reply = {"error": {"type": type(error).__name__, "message": str(error)[:2000]}}
            try:
                send_frame(sock, reply, reply_buffers)
            except OSError:  # the judge gave up on this channel (a call past its time limit)
                return


def _connect(path: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start(path: str, namespace: dict | None = None, connections: int = 3) -> None:
    """Open ``connections`` channels to the judge at ``path``, each served by a daemon thread.

    The judge uses one at a time; when a call does not return in time (an endless loop
    stuck in its thread), it drops that channel and takes the next one.
    """
    endpoint = Endpoint(namespace)

    def run():
        with _connect(path) as sock:
            endpoint.serve(sock)

    for index in range(connections):
        threading.Thread(target=run, name=f"tfscourse-judge-endpoint-{index}", daemon=True).start()
