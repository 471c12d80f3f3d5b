"""The code the build writes at the top of every hidden test block: real built-ins, one comparison.

Hidden tests run in the student's kernel after the student's cells, so a submission may have
defined globals named ``abs``, ``all`` or ``_close`` that would shadow what the checks rely on.
``notebooks.build_master`` therefore starts each hidden block of a master with ``prelude(block)``:

1. ``PREAMBLE``, which imports the real built-ins again (``from builtins import abs, ...``);
2. when the block uses them, the tolerance constants and ``_close`` below, copied from this
   module's source, so every hidden block defines them afresh after any student code ran;
3. the shared reference functions of ``hidden_references`` that the block names (one notebook's
   references, written once instead of pasted into each block that needs them).

The notebooks' text sources hold only the checks; this module is the one place the helpers and
the tolerance policy are written. The code is plain Python that needs nothing but the values it
compares, so a grader outside the kernel can import and run it as it is.

Tolerance policy: ``_close(got, want)`` accepts ``got`` when it has exactly ``want``'s type
(``numpy.ndarray``, ``torch.Tensor``, ``list`` of numbers or ``float``; no subclasses, no
look-alikes) and shape, and every entry lies within ``tol * (1 + |expected|)`` of the expected
one: absolute near zero, relative for large values; NaN never matches. ``tol`` follows the
precision of the expected values, never the test: ``_TOL_64_BIT`` (1e-6) for 64-bit arrays and
plain Python numbers (float64 formulas computed in another order or by another algorithm, such as
a least-squares solve), ``_TOL_32_BIT`` (1e-4) for anything narrower (float32 tensors through a
layer or a whole model). Checks that need an exact answer compare with ``==`` instead.
"""

from __future__ import annotations

import inspect

from tfscourse_staff import hidden_references

# The built-ins hidden checks use, imported again because a submission's global of the same name
# would shadow them.
PREAMBLE = (
    "from builtins import abs, all, any, bool, dict, enumerate, float, int, isinstance, len, list, "
    "map, max, min, range, round, set, sorted, str, sum, tuple, type, zip  # the real built-ins"
)

_TOL_64_BIT = 1e-6
_TOL_32_BIT = 1e-4


def _close(got, want):
    """True when ``got`` has ``want``'s exact type and shape and entries within the policy's tolerance."""
    if type(got) is not type(want):
        return False
    if type(want) is float:
        got, want = [got], [want]
    if type(want) is list:
        got_values, want_values, tol = got, want, _TOL_64_BIT
    else:
        if tuple(got.shape) != tuple(want.shape):
            return False
        got_values, want_values = got.reshape(-1).tolist(), want.reshape(-1).tolist()
        tol = _TOL_64_BIT if str(want.dtype).endswith("64") else _TOL_32_BIT
    return len(got_values) == len(want_values) and all(
        abs(a - b) <= tol * (1.0 + abs(b)) for a, b in zip(got_values, want_values)
    )


#: what a hidden block gets when it calls ``_close``: the constants and the function, as source
COMPARISON_SOURCE = "\n".join(
    [f"_TOL_64_BIT = {_TOL_64_BIT!r}", f"_TOL_32_BIT = {_TOL_32_BIT!r}", "", "", inspect.getsource(_close).rstrip()]
)
#: the names ``prelude`` defines in a hidden block (a submission that rebinds them gains nothing)
HELPER_NAMES = ("_TOL_64_BIT", "_TOL_32_BIT", "_close")


def prelude(block: str) -> str:
    """The lines the build puts at the top of the hidden block ``block``: the preamble, the
    comparison helper when ``block`` calls it, and the shared reference functions it uses
    (``hidden_references``; none for a block that names none of them)."""
    parts = [COMPARISON_SOURCE] if "_close(" in block else []
    references = hidden_references.source_for(block)
    if references:
        parts.append(references)
    if not parts:
        return PREAMBLE
    body = "\n\n\n".join(parts)
    return f"{PREAMBLE}\n{body}\n\n"
