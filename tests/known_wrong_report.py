"""What the known-wrong suite found, printed at the end of the run, per notebook.

``tests/test_known_wrong.py`` records, for every known-wrong answer:
- for each hidden block, whether it failed with an ``AssertionError`` (a check that names the
  mistake) or with any other exception (it crashed on the answer): both counts, and the crashes;
- whether the visible tests already reject it (what a student sees before handing in), and
  whether it stands for a named pitfall: how many of all cases, and of the pitfalls, they catch;
- what it costs when the notebook runs with it: the points of the cells it breaks, and the
  points of any other cell (the cascade): the cases that cost more than their own cells.
Under pytest-xdist the controller gathers the records from the workers' reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict

REJECTION_PROPERTY = "known_wrong_hidden_rejection"  # value: (assignment, test cell, "assertion" | "crash")
VISIBLE_PROPERTY = "known_wrong_visible"  # value: (assignment, case label, caught by a visible test, is a pitfall)
CASCADE_PROPERTY = "known_wrong_cascade"  # value: (assignment, case label, points of its own cells, other points)


class RejectionReport:
    """Counts the recorded rejections and prints them after the tests."""

    def __init__(self):
        self.kinds: dict[str, Counter] = defaultdict(Counter)
        self.crashes: dict[str, list[str]] = defaultdict(list)
        self.visible: dict[str, Counter] = defaultdict(Counter)
        self.cascades: dict[str, list[tuple[str, float, float]]] = defaultdict(list)

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == REJECTION_PROPERTY:
                assignment, test_id, kind = value
                self.kinds[assignment][kind] += 1
                if kind == "crash":
                    self.crashes[assignment].append(f"{test_id} ({report.nodeid.split('[', 1)[-1].rstrip(']')})")
            elif name == VISIBLE_PROPERTY:
                assignment, _, caught, pitfall = value
                counts = self.visible[assignment]
                counts["cases"] += 1
                counts["caught"] += caught
                counts["pitfalls"] += pitfall
                counts["pitfalls caught"] += caught and pitfall
            elif name == CASCADE_PROPERTY:
                assignment, label, own, other = value
                self.cascades[assignment].append((label, own, other))

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        if self.kinds:
            terminalreporter.write_sep("=", "known-wrong answers: how the hidden blocks rejected them")
            for assignment in sorted(self.kinds):
                counts = self.kinds[assignment]
                write(f"{assignment:<26} {counts['assertion']:>4} by assertion {counts['crash']:>4} by crash")
                for crash in self.crashes[assignment]:
                    write(f"    crashed: {crash}")
        if self.visible:
            terminalreporter.write_sep("=", "known-wrong answers: caught by the visible tests")
            for assignment in sorted(self.visible):
                c = self.visible[assignment]
                write(f"{assignment:<26} {c['caught']:>4} of {c['cases']:>3} cases"
                      f" {c['pitfalls caught']:>4} of {c['pitfalls']:>3} named pitfalls")
        if self.cascades:
            terminalreporter.write_sep("=", "known-wrong answers: points lost when the notebook runs with them")
            for assignment in sorted(self.cascades):
                rows = self.cascades[assignment]
                beyond = [(label, own, other) for label, own, other in rows if other]
                write(f"{assignment:<26} {len(rows):>4} cases, {len(beyond):>3} cost points beyond their own cells")
                for label, own, other in sorted(beyond):
                    write(f"    {label}: {own:g} own + {other:g} other")


def register(config) -> None:
    """Install the report in this pytest process (not in xdist workers: they send their reports)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RejectionReport(), "tfscourse-known-wrong-report")
