"""Every benchmark script starts and explains itself: ``--help`` prints its usage and exits 0.

The benchmarks are run by hand (they print figures, never assert timings); this keeps their
command lines from rotting between runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks():
    assert BENCHMARKS, "no benchmarks/bench_*.py found"


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.stem)
def test_help_works(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script.name} --help failed:\n{done.stderr[-2000:]}"
    assert "usage:" in done.stdout.lower(), f"{script.name} --help printed no usage line:\n{done.stdout[:500]}"
