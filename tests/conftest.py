"""Shared fixtures (the repository root, the assignments, cached notebook harnesses) and run-wide hooks."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import pytest

from tests import known_wrong_report, system_groups
from tests.nbharness import NotebookHarness
from tfscourse_staff.nbgrader_runs import put_own_scripts_on_path
from tfscourse_staff.notebooks import assignments

ROOT = Path(__file__).resolve().parents[1]
put_own_scripts_on_path()  # nbgrader runs `alembic` by name, also when tests call it in-process
ASSIGNMENTS = assignments(ROOT)


@cache
def harness(assignment: str) -> NotebookHarness:
    """The master notebook of ``assignment`` executed once per test process."""
    return NotebookHarness(ASSIGNMENTS[assignment])


def known_wrong_cases(assignment: str):
    """The ``CASES`` of tests/known_wrong/<notebook>.py (empty when the module is missing)."""
    name = ASSIGNMENTS[assignment].stem
    try:
        module = importlib.import_module(f"tests.known_wrong.{name}")
    except ModuleNotFoundError:
        return []
    return module.CASES


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def pytest_configure(config):
    """Install the end-of-run reports; refuse ``--dist loadgroup`` under a pytest that ignores it.

    The reports: which system groups ran (tests/system_groups.py) and how the hidden blocks
    rejected the known-wrong answers (tests/known_wrong_report.py).

    pytest-xdist keeps each ``xdist_group`` on one worker by renaming its tests'
    node ids; pytest 9.2 made node ids read-only, so the rename is silently lost and
    the slow groups (the cached Colab environment, JupyterLab servers) run on two workers
    at once and break each other. Stopping here names the cause.
    """
    system_groups.register(config)
    known_wrong_report.register(config)
    if hasattr(config, "workerinput") or config.getoption("dist", "no") != "loadgroup":
        return
    if pytest.version_tuple[:2] >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} ignores pytest-xdist's xdist_group marks; "
            "install the pytest range pinned in pyproject.toml (pip install -e '.[dev]')")
