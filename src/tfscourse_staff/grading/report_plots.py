"""The figures of the class report, each returned as PNG bytes (embedded in the HTML as data URIs).

Drawn with matplotlib's Agg canvas directly (no pyplot state, nothing shown on screen).
Every function takes a ``ClassData`` (``class_data.py``).
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

UNGRADED_GREY = "#bbbbbb"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def score_histogram(data) -> bytes:
    """Autograded points per graded student; the ungraded count in the title."""
    totals = [t for t in data.totals.values() if t is not None]
    ungraded = len(data.totals) - len(totals)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    bins = np.arange(0, data.max_score + 2) - 0.5
    ax.hist(totals, bins=bins, color="#3b75af", edgecolor="white")
    ax.set_xlabel(f"autograded points (of {data.max_score:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{len(totals)} graded submissions; {ungraded} without a score")
    return _png(fig)


def pass_rates(data) -> bytes:
    """Share of graded students who got full points, per test cell."""
    names = list(data.tests)
    rates = [data.tests[n].pass_rate for n in names]
    fig = Figure(figsize=(7, 0.35 * len(names) + 1))
    ax = fig.add_subplot()
    ax.barh(names[::-1], rates[::-1], color="#4c9a5b")
    ax.set_xlim(0, 1)
    ax.set_xlabel("pass rate (full points)")
    return _png(fig)


def heatmap(data) -> bytes:
    """Students (rows, best first) x test cells: share of the cell's points; grey where not graded."""
    names = list(data.tests)
    students = sorted(data.students, key=lambda s: -(data.totals[s] if data.totals[s] is not None else -1))
    grid = np.full((len(students), len(names)), np.nan)  # (students, cells)
    for i, student in enumerate(students):
        for j, name in enumerate(names):
            value = data.scores[student][name]
            if value is not None and data.tests[name].points:
                grid[i, j] = value / data.tests[name].points
    cmap = ListedColormap(["#d9534f", "#f0ad4e", "#5cb85c"]).with_extremes(bad=UNGRADED_GREY)
    fig = Figure(figsize=(7, min(12, 2 + 0.012 * len(students) + 0.2 * min(len(students), 40))))
    ax = fig.add_subplot()
    ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    if len(students) <= 40:
        ax.set_yticks(range(len(students)), students, fontsize=7)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(students)} students, best first")
    ax.set_title("points per test cell (green full, red none, grey not graded)", fontsize=9)
    return _png(fig)


def statuses_and_times(data) -> bytes:
    """Submissions per grading status, and the spread of grading times."""
    counts: dict[str, int] = {}
    for value in data.statuses.values():
        counts[value] = counts.get(value, 0) + 1
    fig = Figure(figsize=(9, 3))
    left, right = fig.subplots(1, 2)
    left.bar(list(counts), list(counts.values()), color="#777777")
    left.set_ylabel("submissions")
    left.tick_params(axis="x", labelrotation=30)
    right.hist(list(data.seconds.values()), bins=30, color="#8e6bb8")
    right.set_xlabel("grading time per submission (s)")
    return _png(fig)


def written_progress(data) -> bytes:
    """Per written answer: answers graded by hand and answers still waiting."""
    names = list(data.written)
    graded = [data.written[n].graded for n in names]
    pending = [data.written[n].pending for n in names]
    fig = Figure(figsize=(7, 0.35 * len(names) + 1))
    ax = fig.add_subplot()
    ax.barh(names[::-1], graded[::-1], color="#4c9a5b", label="graded")
    ax.barh(names[::-1], pending[::-1], left=graded[::-1], color="#cccccc", label="waiting")
    ax.set_xlabel("submissions")
    ax.legend(loc="lower right")
    return _png(fig)
