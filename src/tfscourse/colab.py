"""Where the student package comes from, and the setup cell that installs it.

Every notebook starts with the same locked setup cell. On a machine where the
package is missing (a fresh Google Colab runtime, for instance) the cell
pip-installs it, then imports it and calls ``tfscourse.setup()``.

Students get the notebooks and the package from the student-facing repository
that ``tfscourse publish`` writes, never from the instructor's repository (which
holds the solutions). Its address is configured here and only here:
``STUDENT_REPOSITORY_URL``, from which the Colab badges and ``PACKAGE_SOURCE`` follow.
The setup cells in ``course/`` are rendered from ``setup_cell_source()``;
``tfscourse sync-setup`` rewrites them after a change and the test suite checks
that they agree. At run time the environment variable named by
``PACKAGE_SOURCE_ENV`` overrides the location (the Colab emulation tests point
it at a locally built wheel).
"""

from __future__ import annotations

# The public, student-facing repository (`tfscourse publish` writes it); a fork changes this line,
# runs `tfscourse sync-setup` and `tfscourse release`, and publishes again.
STUDENT_REPOSITORY_URL = "https://github.com/transformers-from-scratch/course-notebooks"
PACKAGE_SOURCE = f"git+{STUDENT_REPOSITORY_URL}.git"
PACKAGE_SOURCE_ENV = "TFSCOURSE_PACKAGE_SOURCE"
SETUP_CELL_ID = "setup"


def colab_url(release_path: str, branch: str = "main") -> str:
    """The "Open in Colab" address of a release notebook, e.g. ``release/01_x/x.ipynb``, in the student repository."""
    repo = STUDENT_REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{release_path}"


def colab_badge_markdown(release_path: str) -> str:
    """A markdown "Open in Colab" badge for a release notebook."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open in Colab]({badge})]({colab_url(release_path)})"


def setup_cell_source() -> str:
    """The source of the locked setup cell shared by every notebook."""
    return f'''# Setup (locked). Installs the course helper package if it is missing (e.g. on Colab).
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("tfscourse") is None:
    _source = os.environ.get("{PACKAGE_SOURCE_ENV}", "{PACKAGE_SOURCE}")
    print(f"Installing the course package from {{_source}} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()

import tfscourse

tfscourse.setup()'''
