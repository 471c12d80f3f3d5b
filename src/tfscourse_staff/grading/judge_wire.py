"""The judge's wire format: plain data between the trusted judge and the student's kernel.

One message is a frame::

    b"TFSJ" | header length (8 bytes, big-endian) | body length (8 bytes) | header JSON | body

The header is a JSON object; arrays travel as raw bytes in the body, referenced by
index (``"buf"``) and described by dtype and shape. A *node* (a value) is one of:

- JSON ``null``, ``true``/``false``, an integer, a float (NaN and infinities as
  Python's ``json`` writes them) or a string: the Python value itself;
- ``{"t": "list" | "tuple" | "set" | "frozenset", "v": [node, ...]}``;
- ``{"t": "dict", "v": [[key node, value node], ...]}`` (keys: scalars or tuples of them);
- ``{"t": "ndarray", "dtype": "<f8", "shape": [2, 3], "buf": 0, "scalar": false}``
  (``scalar``: a NumPy scalar such as ``np.float64(1.5)``);
- ``{"t": "tensor", "dtype": "float32", "shape": [2, 3], "buf": 1}`` (a torch tensor);
- ``{"t": "bytes", "buf": 2}``, ``{"t": "complex", "re": 1.0, "im": 0.0}``;
- ``{"t": "handle", "id": 7, "type": "Linear"}``: an object that stays in the kernel.

Nothing is ever unpickled or evaluated. ``decode`` (used by the judge on whatever the
kernel sends) checks every node against this schema and the ``Limits``; a frame that
breaks either raises ``WireError`` and is treated like a wrong answer. ``encode`` is
used by both sides; the kernel side's copy is the student's to break, which is fine:
the judge trusts only what ``decode`` accepts.
"""

from __future__ import annotations

import json
import math
import re
import socket
import struct
from dataclasses import dataclass

MAGIC = b"TFSJ"
_PREFIX = struct.Struct("!4sQQ")
_NUMPY_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248]|c(8|16))$")
TENSOR_DTYPES = {
    "bool": "|b1", "uint8": "|u1", "int8": "|i1", "int16": "<i2", "int32": "<i4", "int64": "<i8",
    "float16": "<f2", "float32": "<f4", "float64": "<f8", "complex64": "<c8", "complex128": "<c16",
    "bfloat16": "<f4",  # sent widened to float32, narrowed again on arrival
}
SINGLE_WRITE_BYTES = 4 * 2**20
SEQUENCES = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}


class WireError(Exception):
    """A frame or value that breaks the schema or the limits."""


@dataclass(frozen=True)
class Limits:
    """The most one frame may hold; what the kernel sends beyond it is refused, not truncated."""

    header_bytes: int = 16 * 2**20
    body_bytes: int = 256 * 2**20
    nodes: int = 200_000
    depth: int = 32
    string_chars: int = 1_000_000
    ndim: int = 16


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Handle:
    """A reference to an object that stays in the kernel (what ``decode`` gives for a handle node)."""

    id: int
    type_name: str


# ---- framing ---------------------------------------------------------------


def send_frame(sock: socket.socket, header: dict, buffers: list[bytes]) -> None:
    header = dict(header, buffers=[len(b) for b in buffers])
    text = json.dumps(header, separators=(",", ":")).encode()
    body_len = sum(len(b) for b in buffers)
    head = _PREFIX.pack(MAGIC, len(text), body_len) + text
    if body_len <= SINGLE_WRITE_BYTES:  # one write, one wake-up of the reader (round trips on a busy machine)
        sock.sendall(b"".join([head, *buffers]))
        return
    sock.sendall(head)
    for buffer in buffers:
        sock.sendall(buffer)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], min(size - got, 1 << 22))
        if n == 0:
            raise ConnectionError("the other side closed the channel")
        got += n
    return bytes(data)


def recv_frame(sock: socket.socket, limits: Limits = DEFAULT_LIMITS) -> tuple[dict, list[bytes]]:
    """Read one frame; refuse it before reading its body when its sizes break ``limits``."""
    magic, header_len, body_len = _PREFIX.unpack(_recv_exactly(sock, _PREFIX.size))
    if magic != MAGIC:
        raise WireError("not a judge frame")
    if header_len > limits.header_bytes or body_len > limits.body_bytes:
        raise WireError(f"frame too large ({header_len} + {body_len} bytes)")
    try:
        header = json.loads(_recv_exactly(sock, header_len))
    except (ValueError, RecursionError) as error:  # bad UTF-8, bad JSON, an integer of 5000 digits
        raise WireError(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise WireError("header is not an object")
    sizes = header.get("buffers")
    if type(sizes) is not list or any(type(s) is not int or s < 0 for s in sizes) or sum(sizes) != body_len:
        raise WireError("buffer sizes do not match the body")
    body = _recv_exactly(sock, body_len)
    buffers, start = [], 0
    for size in sizes:
        buffers.append(body[start:start + size])
        start += size
    return header, buffers


# ---- values ----------------------------------------------------------------


def _is_tensor(value) -> bool:
    module = type(value).__module__ or ""
    return module.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter")


def encode(value, buffers: list[bytes], handle_of=None, depth: int = 0):
    """``value`` as a node; arrays go into ``buffers``. ``handle_of(obj)`` gives an id for any other object.

    Without ``handle_of`` an object that is not plain data raises ``TypeError`` (the judge
    sends only data, and handles it received).
    """
    if depth > DEFAULT_LIMITS.depth:
        raise TypeError("value nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind is Handle:
        return {"t": "handle", "id": value.id, "type": value.type_name}
    if kind in (list, tuple, set, frozenset):
        items = sorted(value, key=repr) if kind in (set, frozenset) else value
        return {"t": kind.__name__, "v": [encode(v, buffers, handle_of, depth + 1) for v in items]}
    if kind is dict or (handle_of is not None and isinstance(value, dict)):  # kernel side: OrderedDict too
        return {"t": "dict", "v": [[encode(k, buffers, None, depth + 1), encode(v, buffers, handle_of, depth + 1)]
                                   for k, v in value.items()]}
    if kind is complex:
        return {"t": "complex", "re": encode(value.real, buffers), "im": encode(value.imag, buffers)}
    if kind in (bytes, bytearray):
        buffers.append(bytes(value))
        return {"t": "bytes", "buf": len(buffers) - 1}
    array_node = _encode_array(value, buffers)
    if array_node is not None:
        return array_node
    if handle_of is None:
        raise TypeError(f"cannot send a {kind.__name__} to the kernel: only plain data and kernel handles")
    return {"t": "handle", "id": handle_of(value), "type": kind.__name__[:100]}


def _encode_array(value, buffers: list[bytes]):
    import sys

    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)) and value.dtype.kind in "biufc":
        array = numpy.asarray(value)
        buffers.append(array.tobytes(order="C"))
        return {"t": "ndarray", "dtype": array.dtype.str, "shape": list(array.shape), "buf": len(buffers) - 1,
                "scalar": isinstance(value, numpy.generic)}
    if _is_tensor(value):
        name = str(value.dtype).removeprefix("torch.")
        if name not in TENSOR_DTYPES:
            return None
        tensor = value.detach().cpu()
        if name == "bfloat16":
            tensor = tensor.float()
        array = tensor.numpy()
        buffers.append(array.tobytes(order="C"))
        return {"t": "tensor", "dtype": name, "shape": list(array.shape), "buf": len(buffers) - 1}
    return None


class _Decoder:
    """Checks and rebuilds one frame's nodes; counts nodes so that no frame can exhaust the judge."""

    def __init__(self, buffers: list[bytes], limits: Limits, allow_handles: bool, resolve_handle=None):
        self.buffers, self.limits = buffers, limits
        self.allow_handles, self.resolve_handle = allow_handles, resolve_handle
        self.nodes = 0

    def node(self, node, depth: int = 0):
        self.nodes += 1
        if self.nodes > self.limits.nodes or depth > self.limits.depth:
            raise WireError("value too large or nested too deeply")
        kind = type(node)
        if node is None or kind in (bool, int):
            return node
        if kind is float:
            return node
        if kind is str:
            if len(node) > self.limits.string_chars:
                raise WireError("string too long")
            return node
        if kind is not dict or type(node.get("t")) is not str:
            raise WireError(f"unexpected value of type {kind.__name__}")
        tag = node["t"]
        if tag in SEQUENCES:
            self._keys(node, {"t", "v"})
            items = node["v"]
            if type(items) is not list:
                raise WireError(f"{tag} without a list of items")
            values = [self.node(v, depth + 1) for v in items]
            if tag in ("set", "frozenset"):
                return SEQUENCES[tag](self._hashable(v) for v in values)
            return SEQUENCES[tag](values)
        if tag == "dict":
            self._keys(node, {"t", "v"})
            pairs = node["v"]
            if type(pairs) is not list or any(type(p) is not list or len(p) != 2 for p in pairs):
                raise WireError("dict without a list of pairs")
            return {self._hashable(self.node(k, depth + 1)): self.node(v, depth + 1) for k, v in pairs}
        if tag == "float":
            self._keys(node, {"t", "v"})
            if node["v"] not in ("nan", "inf", "-inf"):
                raise WireError("bad special float")
            return float(node["v"])
        if tag == "complex":
            self._keys(node, {"t", "re", "im"})
            parts = [node["re"], node["im"]]
            if any(type(p) not in (int, float) for p in parts):
                raise WireError("bad complex")
            return complex(*parts)
        if tag == "bytes":
            self._keys(node, {"t", "buf"})
            return self._buffer(node["buf"])
        if tag in ("ndarray", "tensor"):
            return self._array(node)
        if tag == "handle":
            self._keys(node, {"t", "id", "type"})
            if not self.allow_handles or type(node["id"]) is not int or type(node["type"]) is not str:
                raise WireError("unexpected handle")
            handle = Handle(node["id"], node["type"][:100])
            return self.resolve_handle(handle) if self.resolve_handle else handle
        raise WireError(f"unknown value tag {tag[:40]!r}")

    @staticmethod
    def _keys(node: dict, expected: set) -> None:
        if set(node) != expected:
            raise WireError(f"fields {sorted(node)[:10]} where {sorted(expected)} were expected")

    @staticmethod
    def _hashable(value):
        if type(value) in (type(None), bool, int, float, str, complex, bytes, frozenset) or (
                type(value) is tuple and all(type(v) in (type(None), bool, int, float, str) for v in value)):
            return value
        raise WireError(f"a {type(value).__name__} cannot be a set member or dict key")

    def _buffer(self, index) -> bytes:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise WireError("bad buffer reference")
        return self.buffers[index]

    def _array(self, node: dict):
        import numpy as np

        is_tensor = node["t"] == "tensor"
        self._keys(node, {"t", "dtype", "shape", "buf"} | (set() if is_tensor else {"scalar"}))
        dtype_name, shape = node["dtype"], node["shape"]
        if type(dtype_name) is not str or (is_tensor and dtype_name not in TENSOR_DTYPES) or (
                not is_tensor and not _NUMPY_DTYPE.match(dtype_name)):
            raise WireError(f"dtype {str(dtype_name)[:20]!r} not allowed")
        if type(shape) is not list or len(shape) > self.limits.ndim or any(type(n) is not int or n < 0 for n in shape):
            raise WireError("bad shape")
        dtype = np.dtype(TENSOR_DTYPES[dtype_name] if is_tensor else dtype_name)
        data = self._buffer(node["buf"])
        if math.prod(shape) * dtype.itemsize != len(data):
            raise WireError("array bytes do not match dtype and shape")
        array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        if is_tensor:
            import torch

            tensor = torch.from_numpy(array)
            return tensor.to(torch.bfloat16) if dtype_name == "bfloat16" else tensor
        if node["scalar"] is True:
            if shape:
                raise WireError("a scalar with a shape")
            return array[()]
        if node["scalar"] is not False:
            raise WireError("bad scalar flag")
        return array


def decode(node, buffers: list[bytes], limits: Limits = DEFAULT_LIMITS, allow_handles: bool = True,
           resolve_handle=None):
    """The value a node stands for, checked against the schema; ``WireError`` when it breaks it."""
    return _Decoder(buffers, limits, allow_handles, resolve_handle).node(node)
