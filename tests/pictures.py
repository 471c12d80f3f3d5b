"""Pictures in tests: decode a widget's PNG and measure how much of it changed."""

from __future__ import annotations

import io

import numpy as np

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pixels(png: bytes) -> np.ndarray:
    """The RGB(A) pixels of a PNG as floats in [0, 1], shape (height, width, channels)."""
    import matplotlib.image

    assert bytes(png).startswith(PNG_MAGIC), "not a PNG"
    return matplotlib.image.imread(io.BytesIO(bytes(png)), format="png")


def changed_share(before: bytes, after: bytes) -> float:
    """Share of pixels that differ between two PNGs (1.0 when their sizes differ)."""
    a, b = pixels(before), pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float(np.mean(np.any(np.abs(a - b) > 1e-6, axis=-1)))


# A new title or label moves about 1% of a widget's pixels; a redrawn heatmap or a different
# set of images moves a third or more. Above this share, the plot itself changed.
PLOT_CHANGED = 0.05
