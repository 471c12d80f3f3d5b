"""nbgrader's zip_collect path: an LMS download of the example submissions lands in submitted/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ASSIGNMENTS, ROOT

STUDENTS = ("ada_complete", "ben_untouched", "cleo_partial")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_zip_collect_places_every_example_submission(assignment, tmp_path):
    name = ASSIGNMENTS[assignment].name
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "release" / assignment, tmp_path / "release" / assignment)
    archive = tmp_path / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as bundle:
        for student in STUDENTS:
            bundle.write(ROOT / "submitted" / student / assignment / name, f"{student}__{name}")
    result = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", assignment], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    for student in STUDENTS:
        collected = tmp_path / "submitted" / student / assignment / name
        assert collected.is_file(), f"{student} was not collected:\n{result.stderr[-2000:]}"
        assert collected.read_bytes() == (ROOT / "submitted" / student / assignment / name).read_bytes()
