"""`make demo` on a machine where bubblewrap cannot run, and what still needs the sandbox.

The course used here is a small git checkout made in a temporary folder: notebook 01,
its release, the three example students, and the course's nbgrader_config.py,
committed as a fresh clone would have them. "No bubblewrap" is a PATH on which every
program of the real PATH is present except ``bwrap``.

- the demo completes with grades for the examples and a clear note that they ran
  unsandboxed, and skips a submission that is not one of the course's own files;
- ``tfscourse grade`` refuses to run student code unsandboxed unless ``--no-sandbox``;
- ``bundled_examples.find`` recognises only committed, unchanged files.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tfscourse_staff import bundled_examples

ASSIGNMENT = "01_self_attention"
NOTEBOOK = "self_attention.ipynb"
EXAMPLES = ("ada_complete", "ben_untouched", "cleo_partial")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=course", "-c", "user.email=course@example.org", *args],
                   check=True, capture_output=True)


def _clone_like(folder: Path) -> Path:
    """A committed course with notebook 01 and the three example students, as a fresh clone has it."""
    for part in ("course", "release"):
        shutil.copytree(ROOT / part / ASSIGNMENT, folder / part / ASSIGNMENT)
    for student in EXAMPLES:
        shutil.copytree(ROOT / "submitted" / student / ASSIGNMENT, folder / "submitted" / student / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    _git(folder, "init", "-q")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "course")
    return folder


def _hand_in(course: Path, student: str) -> None:
    """A student's own submission (a changed copy of an example), put in submitted/ by the instructor."""
    target = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
    target.parent.mkdir(parents=True)
    text = (ROOT / "submitted" / "ada_complete" / ASSIGNMENT / NOTEBOOK).read_text()
    target.write_text(text.replace("YOUR ANSWER HERE", "My own words."))


def _path_without_bwrap(folder: Path) -> str:
    """A PATH with a link to every program on the current PATH (first one wins) except bwrap."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = folder / entry.name
            if entry.name != "bwrap" and not link.exists() and os.access(entry.path, os.X_OK) and not entry.is_dir():
                link.symlink_to(entry.path)
    return str(folder)


def _tfscourse(course: Path, path: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFSCOURSE_")}
    env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_examples_are_the_committed_unchanged_files(tmp_path):
    course = _clone_like(tmp_path)
    _hand_in(course, "zoe")  # not committed
    (course / "submitted" / "ben_untouched" / ASSIGNMENT / NOTEBOOK).write_text("{}")  # changed after the commit
    (course / "submitted" / "ada_complete" / ASSIGNMENT / ".ipynb_checkpoints").mkdir()  # never graded: ignored
    (course / "submitted" / "ada_complete" / ASSIGNMENT / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    found = bundled_examples.find(course)
    assert found.students == {"ada_complete", "cleo_partial"}
    assert set(found.others) == {"ben_untouched", "zoe"}
    assert "differ from the committed examples" in found.others["zoe"]
    assert not found.problem


def test_an_added_file_disqualifies_an_example(tmp_path):
    course = _clone_like(tmp_path)
    (course / "submitted" / "cleo_partial" / ASSIGNMENT / "helper.py").write_text("print('mine')\n")
    assert bundled_examples.find(course).students == {"ada_complete", "ben_untouched"}


def test_outside_a_git_checkout_nothing_is_an_example(tmp_path):
    course = _clone_like(tmp_path)
    shutil.rmtree(course / ".git")
    found = bundled_examples.find(course)
    assert not found.students and set(found.others) == set(EXAMPLES)
    assert found.problem


def test_grading_without_the_sandbox_needs_no_sandbox_flag(tmp_path):
    course = _clone_like(tmp_path / "course")
    shutil.rmtree(course / "submitted")
    (course / "submitted" / "zoe" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "zoe" / ASSIGNMENT / NOTEBOOK).write_text("not a notebook")  # invalid: graded without a kernel
    path = _path_without_bwrap(tmp_path / "bin")
    refused = _tfscourse(course, path, "grade", ASSIGNMENT, "--no-feedback")
    assert refused.returncode != 0
    assert "cannot sandbox student code: bwrap is not installed" in refused.stderr
    assert "--no-sandbox" in refused.stderr
    assert not (course / "grading_summary.csv").exists(), "nothing may be graded after the refusal"
    allowed = _tfscourse(course, path, "grade", ASSIGNMENT, "--no-feedback", "--no-sandbox")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    rows = list(csv.DictReader((course / "grading_summary.csv").open()))
    assert [(r["student"], r["status"]) for r in rows] == [("zoe", "invalid")]


@pytest.mark.slow
def test_demo_without_bubblewrap_grades_the_bundled_examples(tmp_path):
    course = _clone_like(tmp_path / "course")
    _hand_in(course, "zoe")
    done = _tfscourse(course, _path_without_bwrap(tmp_path / "bin"), "demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "student code cannot be sandboxed on this machine: bwrap is not installed" in out
    assert "WITHOUT the sandbox" in out
    assert "SKIPPED zoe: not a bundled example" in out
    rows = {r["student"]: r for r in csv.DictReader((course / "grading_summary.csv").open())}
    assert set(rows) == set(EXAMPLES)
    assert {s: r["status"] for s, r in rows.items()} == dict.fromkeys(EXAMPLES, "graded")
    ada, ben, cleo = (float(rows[s]["autograded_score"]) for s in EXAMPLES)
    assert ada == float(rows["ada_complete"]["autograded_max"]) > cleo > ben == 0
    grades = list(csv.DictReader((course / "grades.csv").open()))
    assert {g["student_id"] for g in grades} == set(EXAMPLES)
    assert (course / "feedback" / "ada_complete" / ASSIGNMENT / "self_attention.html").is_file()
    assert not (course / "autograded" / "zoe").exists()
