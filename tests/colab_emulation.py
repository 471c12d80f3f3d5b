"""A stand-in for Google Colab: a separate virtual environment with only Colab's stack.

* ``colab_python(cache_dir)`` builds (once, then reuses) a virtual environment with the
  packages Colab preinstalls that the notebooks use, but not nbgrader;
  ``uninstall_course_package`` removes tfscourse from it before each notebook.
* ``stub_dir(tmp)`` writes a stand-in ``google.colab`` package plus a ``sitecustomize``
  that imports it at interpreter start (Colab's kernel has it imported), so that
  ``tfscourse.on_colab()`` is true; ``output.enable_custom_widget_manager()`` leaves a
  marker file to prove the set-up called it.
* ``as_colab_saves_it(nb)`` rewrites a notebook the way Colab's "Download .ipynb" does.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

# What Colab preinstalls and the notebooks import (plus the kernel and a notebook runner).
COLAB_STACK = [
    "torch==2.13.0",
    "numpy",
    "matplotlib",
    "ipywidgets",
    "ipykernel",
    "nbclient",
    "nbformat",
    "scikit-learn",
    "tokenizers",
]

STUB_OUTPUT = '''"""Stand-in for google.colab.output used by the course's Colab emulation."""
import os


def enable_custom_widget_manager():
    marker = os.environ.get("COLAB_STUB_MARKER")
    if marker:
        with open(marker, "a") as handle:
            handle.write("enable_custom_widget_manager\\n")
'''


def colab_python(cache_dir: Path) -> Path:
    """Path to the Python of the cached Colab-like environment (built on first use).

    The build holds a file lock, so two test processes never build it at once, and
    the ``.complete`` marker is written last, so a failed build is started afresh next
    time; pip's own output is part of the error when it fails.
    """
    key = hashlib.sha256("\n".join(COLAB_STACK).encode()).hexdigest()[:12]
    cache_dir.mkdir(parents=True, exist_ok=True)
    env_dir = cache_dir / f"colab-venv-{key}"
    with open(cache_dir / f"colab-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (env_dir / ".complete").is_file():
            shutil.rmtree(env_dir, ignore_errors=True)
            venv.EnvBuilder(with_pip=True).create(env_dir)
            done = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", *COLAB_STACK],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"building the Colab-like environment failed (pip exit {done.returncode}):\n"
                                   f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            (env_dir / ".complete").write_text("\n".join(COLAB_STACK))
    return env_dir / "bin" / "python"


def uninstall_course_package(python: Path) -> None:
    """Remove tfscourse from the Colab environment, as on a fresh Colab runtime."""
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "tfscourse"], check=False,
                   capture_output=True)


def stub_dir(tmp: Path) -> Path:
    root = tmp / "colab_stub"
    package = root / "google" / "colab"
    package.mkdir(parents=True)
    (root / "google" / "__init__.py").write_text("")
    (package / "__init__.py").write_text('"""Stand-in for google.colab."""\nfrom google.colab import output  # noqa: F401\n')
    (package / "output.py").write_text(STUB_OUTPUT)
    (root / "sitecustomize.py").write_text("import google.colab  # noqa: F401  (Colab's kernel has it imported)\n")
    return root


def build_wheel(source: Path, out_dir: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out_dir), str(source)],
        check=True,
    )
    return next(out_dir.glob("tfscourse-*.whl"))


RUNNER = '''
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
nbformat.write(nb, sys.argv[2])
'''


def run_notebook(python: Path, notebook: Path, executed: Path, env: dict) -> None:
    """Execute ``notebook`` with the Colab environment's kernel; errors are kept in the outputs."""
    subprocess.run([str(python), "-c", RUNNER, str(notebook), str(executed)], check=True, env=env, timeout=1500)


def as_colab_saves_it(nb):
    """Colab's download: no cell ids, nbformat 4.0, Colab metadata added, nbgrader metadata kept."""
    saved = copy.deepcopy(nb)
    saved.nbformat_minor = 0
    for cell in saved.cells:
        cell.pop("id", None)
        cell.metadata["id"] = "x" + hashlib.md5(cell.source.encode()).hexdigest()[:11]
    saved.metadata["colab"] = {"provenance": [], "name": "notebook.ipynb"}
    saved.metadata["accelerator"] = "NONE"
    saved.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return saved
