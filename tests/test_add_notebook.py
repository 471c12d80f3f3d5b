"""Adding a notebook takes what the README's *Adding a notebook* steps say, and nothing else.

The steps are followed on a throw-away course: a notebook 08 written as a text source by hand,
``tfscourse sync-setup`` and ``tfscourse build`` (steps 1 and 2), then ``tfscourse grade`` on a
complete and an untouched submission. No file of the course is changed by it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.conftest import ROOT
from tfscourse_staff.grading import sandbox
from tfscourse_staff.submissions import fill

pytestmark = pytest.mark.slow

NAME = "08_tiny"
SOURCE = '''# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 08 · Doubling
#
# A notebook added by following the README.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
# written by tfscourse sync-setup

# %% nbgrader={"grade": false, "grade_id": "double", "locked": false, "schema_version": 3, "solution": true, "task": false}
def double(x):
    """Twice ``x``. Example: double(2) -> 4"""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_double", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
"""Check that double doubles."""
assert double(2) == 4, f"double(2) should be 4, got {double(2)}"
### BEGIN HIDDEN TESTS
assert double(-3) == -6, "double(-3) should be -6"
### END HIDDEN TESTS
'''


def tfscourse(root, *args) -> str:
    """Run the ``tfscourse`` command in ``root``; a failure shows its output."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"tfscourse {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_readme_lists_the_steps_this_test_follows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "**Adding a notebook**" in readme
    for step in ("course/08_topic/topic.py", "tfscourse sync-setup", "tfscourse build 08_topic", "tests/test_add_notebook.py"):
        assert step in readme, f"the README's steps no longer mention {step!r}"


def test_a_new_notebook_is_built_released_and_graded(tmp_path):
    root = tmp_path / "course_root"
    (root / "course" / NAME).mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "course" / NAME / "tiny.py").write_text(SOURCE, encoding="utf-8")

    tfscourse(root, "sync-setup")
    out = tfscourse(root, "build", NAME)
    assert f"released {NAME}" in out
    master = nbformat.read(str(root / "course" / NAME / "tiny.ipynb"), as_version=4)
    release = nbformat.read(str(root / "release" / NAME / "tiny.ipynb"), as_version=4)
    released = nbformat.writes(release)
    assert "import tfscourse" in released and "colab-badge.svg" in released, "no setup cell or Colab badge"
    assert "return 2 * x" not in released and "double(-3)" not in released, "a solution or hidden test was released"
    assert not list((root / "release" / NAME).glob("*.py")), "the text source was released"

    for student, nb in (("alice", fill(release, master)), ("bob", release)):
        target = root / "submitted" / student / NAME / "tiny.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    tfscourse(root, "grade", NAME, "--workers", "1", *([] if not sandbox.available() else ["--no-sandbox"]))

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission(NAME, student).score for student in ("alice", "bob")}
    assert scores == {"alice": 2.0, "bob": 0.0}
    assert (root / "feedback" / "alice" / NAME / "tiny.html").is_file()
