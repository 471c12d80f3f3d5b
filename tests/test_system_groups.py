"""The system-group summary and the strict switch (tests/system_groups.py), on a small fake suite.

Each test writes a suite with the three group files (tests/test_browser.py, ...) into a
temporary folder and runs pytest on it in a subprocess, with and without TFSCOURSE_STRICT=1
and with and without pytest-xdist: a skip must fail the strict run and name its reason.
"""

from __future__ import annotations

import pytest

from tests.fake_suite import run_suite
from tests.system_groups import STRICT_VARIABLE

PASSING = "def test_works():\n    assert 1 + 1 == 2\n"
MODULE_SKIP = "import pytest\n\npytest.skip('Chromium is not installed here', allow_module_level=True)\n"
RUNTIME_SKIP = (
    "import pytest\n\n\ndef test_sandboxed():\n    pytest.skip('bubblewrap cannot create namespaces here')\n\n\n"
    + PASSING
)


def run_groups(folder, files, strict: bool, workers: int = 0):
    """The fake suite with the system-groups plugin, with or without the strict switch."""
    return run_suite(folder, files, "system_groups", {STRICT_VARIABLE: "1" if strict else "0"}, workers)


SKIPPING = {"test_browser.py": MODULE_SKIP, "test_grading_adversarial.py": RUNTIME_SKIP, "test_grading_scale.py": PASSING}
ALL_RUN = {"test_browser.py": PASSING, "test_grading_adversarial.py": PASSING, "test_grading_scale.py": PASSING}


@pytest.mark.parametrize("workers", [0, 2], ids=["one process", "xdist"])
def test_skips_are_listed_and_pass_without_the_switch(tmp_path, workers):
    done = run_groups(tmp_path, SKIPPING, strict=False, workers=workers)
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.split("system test groups", 1)[1]
    assert "browser     ran none, SKIPPED: the whole file: Chromium is not installed here   [" in summary
    assert "sandbox     ran 1 (1 passed, 0 failed), SKIPPED: bubblewrap cannot create namespaces here   [" in summary
    assert "postgresql  ran 1 (1 passed, 0 failed)   [" in summary
    assert f"set {STRICT_VARIABLE}=1" in summary


@pytest.mark.parametrize("workers", [0, 2], ids=["one process", "xdist"])
def test_strict_switch_fails_a_run_with_skips_and_says_why(tmp_path, workers):
    done = run_groups(tmp_path, SKIPPING, strict=True, workers=workers)
    assert done.returncode == 1, done.stdout[-3000:]
    assert (f"{STRICT_VARIABLE}=1: the browser group must run in full; skipped: the whole file: "
            "Chromium is not installed here" in done.stdout)
    assert "the sandbox group must run in full; skipped: bubblewrap cannot create namespaces here" in done.stdout
    assert "the postgresql group" not in done.stdout


def test_strict_switch_passes_when_every_group_ran(tmp_path):
    done = run_groups(tmp_path, ALL_RUN, strict=True, workers=2)
    assert done.returncode == 0, done.stdout[-3000:]
    assert done.stdout.count("ran 1 (1 passed, 0 failed)   [") == 3


def test_strict_switch_fails_when_a_group_is_missing(tmp_path):
    files = dict(ALL_RUN)
    del files["test_browser.py"]
    done = run_groups(tmp_path, files, strict=True)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "the browser group must run in full; no test of this group was collected or selected" in done.stdout


def test_failures_keep_their_own_exit_code(tmp_path):
    files = dict(ALL_RUN, **{"test_grading_scale.py": "def test_broken():\n    assert False\n"})
    done = run_groups(tmp_path, files, strict=True)
    assert done.returncode == 1
    assert "postgresql  ran 1 (0 passed, 1 failed)" in done.stdout
