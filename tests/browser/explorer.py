"""What a browser test reads off the attention explorer on a page.

The explorer's root element carries data-* attributes naming what is drawn (map, head,
view, focused query and key, pinned); the heatmap canvases carry their geometry (left,
top, cell), so a test can point at a cell and read back the pixels of the drawn outlines.
"""

from __future__ import annotations

ATTENDS_TO = (213, 94, 0)  # the outline of the focused row (attention_explorer.js: ATTENDS_TO)
ATTENDED_BY = (0, 158, 115)  # the outline of the focused column (ATTENDED_BY)

NOTEBOOK_CELL = '''import numpy as np
from tfscourse.widgets import AttentionMap, show_attention

tokens = "Juventus lost from Ajax because they were too strong".split()
rng = np.random.default_rng(0)
w = rng.random((3, 9, 9)) * np.tril(np.ones((9, 9)))  # three heads, causal
w /= w.sum(-1, keepdims=True)
explorer = show_attention({"causal": AttentionMap(w, tokens, mask="causal"),
                           "cross": AttentionMap(w[0, 5:], tokens[5:], tokens)}, title="browser test")'''


def state(page, nth: int = 0) -> dict:
    """The data-* attributes of the nth explorer on the page."""
    return page.locator(".tfs-attn").nth(nth).evaluate("root => ({...root.dataset})")


def outline_colours(page, index: int, nth: int = 0) -> dict:
    """Pixel colours just outside row ``index``'s top edge and column ``index``'s left edge.

    In the first heatmap canvas of the nth explorer: the row's outline is drawn there in
    ATTENDS_TO when that query is focused, the column's in ATTENDED_BY when that key is.
    """
    return page.locator(".tfs-attn").nth(nth).evaluate(
        """(root, index) => {
            const canvas = root.querySelector('canvas.tfs-canvas');
            const [left, top, cell] = ['left', 'top', 'cell'].map((k) => Number(canvas.dataset[k]));
            const n = Math.round((canvas.height / (window.devicePixelRatio || 1) - top - 4) / cell);
            const ctx = canvas.getContext('2d');
            const dpr = window.devicePixelRatio || 1;
            const at = (x, y) => [...ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data.slice(0, 3)];
            return {row: at(left + cell * 0.5, top + index * cell - 1),
                    column: at(left + index * cell - 1, top + (n - 0.5) * cell)};
        }""",
        index,
    )


def near(colour, wanted, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, wanted))


def cell_centre(page, query: int, key: int, nth: int = 0) -> tuple[float, float]:
    """Page coordinates of the centre of heatmap cell (query, key) in the nth explorer's first canvas."""
    canvas = page.locator(".tfs-attn").nth(nth).locator("canvas.tfs-canvas").first
    box = canvas.bounding_box()
    left, top, cell = (float(canvas.get_attribute(f"data-{k}")) for k in ("left", "top", "cell"))
    return box["x"] + left + (key + 0.5) * cell, box["y"] + top + (query + 0.5) * cell
