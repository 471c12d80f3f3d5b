"""Every benchmark script starts, explains itself, and runs end to end in its smoke mode.

The benchmarks print figures and never assert timings. ``--help`` keeps their command lines
from rotting; ``--smoke`` runs each one on tiny inputs (a few steps, small data, one short
notebook) so that a change in the package that breaks a benchmark fails the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))
# these two run a real nbgrader autograde of notebook 01 even in smoke mode
REAL_AUTOGRADE = {"bench_grading", "bench_judge", "bench_notebooks"}


def test_there_are_benchmarks():
    assert BENCHMARKS, "no benchmarks/bench_*.py found"


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.stem)
def test_help_works(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script.name} --help failed:\n{done.stderr[-2000:]}"
    assert "usage:" in done.stdout.lower(), f"{script.name} --help printed no usage line:\n{done.stdout[:500]}"
    assert "--smoke" in done.stdout, f"{script.name} has no --smoke mode for the test suite"


@pytest.mark.parametrize("script", [
    pytest.param(path, marks=[pytest.mark.slow] if path.stem in REAL_AUTOGRADE else [], id=path.stem)
    for path in BENCHMARKS
])
def test_smoke_run(script):
    done = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{script.name} --smoke failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{script.name} --smoke printed no figures"
