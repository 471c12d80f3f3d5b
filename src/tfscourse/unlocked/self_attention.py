"""Notebook 01's reference softmax, published after 01's deadline for the notebooks that follow.

Notebook 01 asks students to write a numerically stable softmax, so the published
student package leaves this module out until the instructor publishes stage 02 (see
``tfscourse_staff.publish``); from notebook 02 on softmax is no longer the exercise and
the notebooks import this one. NumPy only: it is a reference students can read.

Conventions shared by the notebooks:

* a softmax slice whose entries are all ``-inf`` (a query that may attend to
  nothing) gets all-zero weights, never ``nan``;
* masks are boolean with ``True`` meaning *may attend*.

Example:
    >>> import numpy as np
    >>> softmax(np.array([1000.0, 1000.0])).tolist()
    [0.5, 0.5]
    >>> softmax(np.array([[0.0, -np.inf], [-np.inf, -np.inf]])).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax"]


def softmax(x, axis: int = -1) -> np.ndarray:
    """Softmax of ``x`` along ``axis`` without overflow; all ``-inf`` slices give zeros.

    The maximum of each slice is subtracted before exponentiating (softmax does
    not change when a constant is added to every entry), so ``exp`` never sees
    a positive argument. Entries equal to ``-inf`` get weight exactly 0.

    Example: softmax(np.array([1.0, 2.0, -np.inf])) -> array([0.2689, 0.7311, 0.0])
    """
    x = np.asarray(x, dtype=float)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # an all -inf slice: exp(-inf) = 0 below
    exps = np.exp(x - top)
    total = np.sum(exps, axis=axis, keepdims=True)
    return exps / np.where(total > 0, total, 1.0)
