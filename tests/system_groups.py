"""What became of the test groups that need system tools, and the strict switch for CI.

Three groups of tests need more than Python: the browser tests drive Debian's Chromium,
the adversarial grading tests need a bubblewrap that can create namespaces, and the scale-out
test starts a PostgreSQL server (and grades in the sandbox too). Where a tool is missing these
tests skip with the reason, which a green run would otherwise hide in pytest's summary.

At the end of every run this plugin prints one line per group: how many of its tests ran, or
which were skipped and why. With ``TFSCOURSE_STRICT=1`` (``.ci/run`` sets it) a group that
skipped any test, or of which no test ran at all, fails the run and the reason is printed.
Loaded from ``tests/conftest.py``; under pytest-xdist the controller process does the counting
(workers send it their reports).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

STRICT_VARIABLE = "TFSCOURSE_STRICT"

# group name -> (test file, relative to the repository root; what the group needs)
SYSTEM_GROUPS = {
    "browser": ("tests/test_browser.py", "Chromium, Playwright, JupyterLab"),
    "sandbox": ("tests/test_grading_adversarial.py", "bubblewrap able to create namespaces"),
    "postgresql": ("tests/test_grading_scale.py", "a PostgreSQL server, Dask, bubblewrap"),
}


def strict() -> bool:
    """True when a skipped system group must fail the run."""
    return os.environ.get(STRICT_VARIABLE, "") not in ("", "0")


@dataclass
class GroupOutcome:
    """The tests of one group in this run, by outcome, with the reasons of its skips."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add_skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def problem(self) -> str:
        """Why this group does not count as run ('' when every selected test of it ran)."""
        if self.skipped:
            return "skipped: " + "; ".join(self.reasons)
        if not self.passed + self.failed:
            return "no test of this group was collected or selected"
        return ""

    def line(self) -> str:
        ran = self.passed + self.failed
        if not ran and not self.skipped:
            return "not run: " + self.problem()
        text = f"ran {ran} ({self.passed} passed, {self.failed} failed)" if ran else "ran none"
        if self.skipped:
            text += ", SKIPPED: " + "; ".join(reason if n == 1 else f"{reason} ({n} tests)"
                                             for reason, n in self.reasons.items())
        return text


def group_of(nodeid: str) -> str | None:
    """The system group a test or module node id belongs to, or None."""
    path = nodeid.split("::", 1)[0]
    for name, (test_file, _) in SYSTEM_GROUPS.items():
        if path == test_file:
            return name
    return None


def skip_reason(report) -> str:
    """The message of a skip report, without pytest's 'Skipped: ' prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ").strip()


class SystemGroups:
    """Counts the outcomes of the system groups, prints them, and applies the strict switch."""

    def __init__(self):
        self.outcomes = {name: GroupOutcome() for name in SYSTEM_GROUPS}

    def pytest_collectreport(self, report):
        # a module-level skip (e.g. Chromium missing) skips every test of the file at collection
        name = group_of(report.nodeid)
        if name and report.skipped:
            self.outcomes[name].add_skip("the whole file: " + skip_reason(report))

    def pytest_runtest_logreport(self, report):
        name = group_of(report.nodeid)
        if name is None:
            return
        outcome = self.outcomes[name]
        if report.skipped and not hasattr(report, "wasxfail"):
            outcome.add_skip(skip_reason(report))
        elif report.failed and report.when != "teardown":  # pytest reports teardown errors itself
            outcome.failed += 1
        elif report.passed and report.when == "call":
            outcome.passed += 1

    def problems(self) -> dict[str, str]:
        return {name: why for name, outcome in self.outcomes.items() if (why := outcome.problem())}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if session.config.option.collectonly:
            return
        if strict() and self.problems() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "system test groups")
        for name, outcome in self.outcomes.items():
            write(f"{name:<11} {outcome.line()}   [{SYSTEM_GROUPS[name][0]}: needs {SYSTEM_GROUPS[name][1]}]")
        problems = self.problems()
        if strict() and problems:
            for name, why in problems.items():
                write(f"{STRICT_VARIABLE}=1: the {name} group must run in full; {why}", red=True, bold=True)
        elif any(outcome.skipped for outcome in self.outcomes.values()):
            write(f"(set {STRICT_VARIABLE}=1 to make a skipped group fail the run, as .ci/run does)")


def register(config) -> None:
    """Install the counting in this pytest process (xdist workers send their reports to the controller)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(SystemGroups(), "tfscourse-system-groups")
