"""Run pytest on a small made-up suite in a subprocess: how the tests of the suite's own plugins work.

The suite's files go under ``folder/tests/``; its conftest installs the plugin under test from
this repository (``PYTHONPATH`` points here) the way ``tests/conftest.py`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_suite(folder: Path, files: dict[str, str], plugin: str, env: dict[str, str] | None = None,
              workers: int = 0) -> subprocess.CompletedProcess:
    """pytest over ``files`` (name -> source) with ``tests.<plugin>`` registered; ``workers`` > 0 uses xdist."""
    (folder / "tests").mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text(
        f"from tests import {plugin}\n\n\ndef pytest_configure(config):\n    {plugin}.register(config)\n")
    for name, source in files.items():
        (folder / "tests" / name).write_text(source)
    environment = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    environment.update(env or {}, PYTHONPATH=str(ROOT))
    xdist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *xdist, "tests"],
                          cwd=folder, env=environment, capture_output=True, text=True, timeout=300)
