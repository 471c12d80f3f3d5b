"""Statuses of a graded submission, the summary CSV and the printed table.

Every submission ends with one *status* (the most serious thing that happened)
and a list of *flags* (everything that happened), for example::

    status "timed out", flags ["timed out", "repaired", "suspicious"]

Order of seriousness (first wins):

    invalid        not valid JSON or not a notebook: nothing could be run
    kernel died    the kernel exited (os._exit, a crash): no grades were saved
    out of memory  a cell hit the memory limit (MemoryError or killed by the watchdog)
    timed out      a cell or the whole submission ran past its time limit
    suspicious     the static tamper scan found code to review (score kept)
    repaired       the notebook was repaired before grading (see the repairs)
    graded         nothing unusual
    missing        no submission at all

A submission that could not be graded has no score (``None``): the table shows
its status instead of a 0, and the gradebook marks its cells as needing a
manual grade, so formgrader never shows it as an ordinary 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

INVALID = "invalid"
KERNEL_DIED = "kernel died"
OUT_OF_MEMORY = "out of memory"
TIMED_OUT = "timed out"
SUSPICIOUS = "suspicious"
REPAIRED = "repaired"
GRADED = "graded"
MISSING = "missing"
FAILED = "failed to run"  # the grader itself failed (a bug or a broken installation)

ORDER = [INVALID, FAILED, KERNEL_DIED, OUT_OF_MEMORY, TIMED_OUT, SUSPICIOUS, REPAIRED, GRADED, MISSING]
#: statuses after which no grades exist
UNGRADED = {INVALID, FAILED, MISSING}


def worst(flags) -> str:
    """The most serious of ``flags``; ``graded`` when there are none.

    Example: worst(["repaired", "timed out"]) -> "timed out"
    """
    present = set(flags)
    return next((s for s in ORDER if s in present), GRADED)


@dataclass
class Outcome:
    """What happened to one student's submission of one assignment."""

    student: str
    assignment: str
    status: str = GRADED
    flags: list[str] = field(default_factory=list)
    score: float | None = None  # autograded points (code cells); None when nothing was graded
    max_score: float | None = None
    written_pending: bool = False  # written answers still to be graded by hand in formgrader
    repairs: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)  # tamper scan, see tamper.py
    detail: str = ""
    seconds: float = 0.0

    def add(self, flag: str) -> None:
        if flag not in self.flags:
            self.flags.append(flag)
        self.status = worst(self.flags)

    @property
    def cell(self) -> str:
        """The table cell: ``27/27``, ``12/27 (timed out)`` or just the status when there is no score."""
        if self.score is None or self.max_score is None:
            return self.status
        pending = " + written" if self.written_pending else ""
        text = f"{self.score:g}/{self.max_score:g}{pending}"
        return text if self.status == GRADED else f"{text} ({self.status})"


SUMMARY_COLUMNS = [
    "student", "assignment", "status", "flags", "autograded_score", "autograded_max",
    "written_pending", "seconds", "repairs", "tamper_findings", "detail",
]


def write_summary(path: Path, outcomes: list[Outcome]) -> Path:
    """One row per student and assignment (``grading_summary.csv`` next to ``grades.csv``)."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for o in outcomes:
            writer.writerow([
                o.student, o.assignment, o.status, ";".join(o.flags), o.score, o.max_score,
                o.written_pending, f"{o.seconds:.1f}", " | ".join(o.repairs),
                " | ".join(f"{f['cell']}:{f['line']} {f['rule']}" for f in o.findings), o.detail,
            ])
    return Path(path)


def write_tamper_report(path: Path, outcomes: list[Outcome]) -> Path:
    """Every finding of the tamper scan, one per row, for the instructor to review."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "cell", "line", "rule", "severity", "code"])
        for o in outcomes:
            for f in o.findings:
                writer.writerow([o.student, o.assignment, f["cell"], f["line"], f["rule"], f["severity"], f["code"]])
    return Path(path)


def format_table(outcomes: list[Outcome]) -> str:
    """Students as rows, assignments as columns, then a status column per student.

    A cell is ``27/27``, ``12/27 (timed out)`` or, with no score, the status itself
    (``invalid``, ``failed to run``, ``missing``); the last column counts the statuses of
    the student's row, e.g. ``graded 5, timed out 1, missing 1``.
    """
    students = sorted({o.student for o in outcomes})
    names = sorted({o.assignment for o in outcomes})
    by_key = {(o.student, o.assignment): o for o in outcomes}
    header = ["student", *names, "status"]
    rows = []
    for student in students:
        row = [by_key.get((student, a)) or Outcome(student, a, status=MISSING) for a in names]
        rows.append([student, *(o.cell for o in row), count_by_status(row)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def count_by_status(outcomes: list[Outcome]) -> str:
    """e.g. ``graded 40, repaired 3, timed out 1``."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return ", ".join(f"{s} {counts[s]}" for s in ORDER if s in counts)
