"""How the hidden blocks rejected the known-wrong answers: by an assertion, or by a crash.

``tests/test_known_wrong.py`` records, for every known-wrong answer and hidden block, whether the
block failed with an ``AssertionError`` (a check that names the mistake) or with any other
exception (it crashed on the answer). At the end of the run this plugin prints the two counts
per notebook and lists the crashes. Under pytest-xdist the controller gathers the records from
the workers' reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict

REJECTION_PROPERTY = "known_wrong_hidden_rejection"  # value: (assignment, test cell, "assertion" | "crash")


class RejectionReport:
    """Counts the recorded rejections and prints them after the tests."""

    def __init__(self):
        self.kinds: dict[str, Counter] = defaultdict(Counter)
        self.crashes: dict[str, list[str]] = defaultdict(list)

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == REJECTION_PROPERTY:
                assignment, test_id, kind = value
                self.kinds[assignment][kind] += 1
                if kind == "crash":
                    self.crashes[assignment].append(f"{test_id} ({report.nodeid.split('[', 1)[-1].rstrip(']')})")

    def pytest_terminal_summary(self, terminalreporter):
        if not self.kinds:
            return
        terminalreporter.write_sep("=", "known-wrong answers: how the hidden blocks rejected them")
        for assignment in sorted(self.kinds):
            counts = self.kinds[assignment]
            terminalreporter.write_line(f"{assignment:<26} {counts['assertion']:>4} by assertion {counts['crash']:>4} by crash")
            for crash in self.crashes[assignment]:
                terminalreporter.write_line(f"    crashed: {crash}")


def register(config) -> None:
    """Install the report in this pytest process (not in xdist workers: they send their reports)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RejectionReport(), "tfscourse-known-wrong-report")
