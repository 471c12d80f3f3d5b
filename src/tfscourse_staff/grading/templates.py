"""What every job of one assignment shares: a template gradebook, the release notebooks, extra files.

``assignment_bundle(root, assignment)`` runs ``nbgrader generate_assignment`` on the
master notebook in a throw-away course (configured from the course's
``nbgrader_config.py``, see ``private_course``) whose SQLite gradebook then knows exactly
this assignment (its notebooks, grade cells, hidden test sources and checksums)
and nothing else: no students, no other assignments. Each job copies it, so
workers never open the course's own gradebook (SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tfscourse_staff import nbgrader_settings
from tfscourse_staff.notebooks import SOURCE_FORMAT


def private_course(folder: Path) -> dict:
    """Options every throw-away course of grading overrides: its own folder, gradebook and layout.

    The template and each grading job are private copies of one assignment; they must never
    read or write the course's folders or gradebook (which ``TFSCOURSE_DB_URL`` may put on a
    PostgreSQL server), so the paths are theirs; every other option is the course's.
    """
    return {"CourseDirectory": {
        "root": str(folder), "db_url": f"sqlite:///{folder / 'gradebook.db'}", "source_directory": "source",
        "release_directory": "release", "submitted_directory": "submitted", "autograded_directory": "autograded",
    }}


@dataclass
class Bundle:
    template_db: bytes
    releases: dict[str, str]  # notebook stem -> release notebook JSON text (what students downloaded)
    extra_files: dict[str, bytes]  # non-notebook files in course/ASSIGNMENT/
    max_score: float  # autograded points (test cells)
    settings: dict  # the course's nbgrader_config.py as plain data (nbgrader_settings.load)
    judge_tests: dict  # notebook stem -> master test cells tagged for the judge (judge_execute.master_tests)


def assignment_bundle(root: Path, assignment: str) -> Bundle:
    from nbgrader.api import Gradebook

    master_dir = Path(root) / "course" / assignment
    settings = nbgrader_settings.load(root)
    with tempfile.TemporaryDirectory(prefix="tfsgrade-template-") as tmp:
        course = Path(tmp)
        shutil.copytree(master_dir, course / "source" / assignment, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        db = course / "gradebook.db"
        nbgrader_settings.write(course, nbgrader_settings.derive(settings, private_course(course)))
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--log-level=ERROR"],
            cwd=course, check=True, capture_output=True,
        )
        main_release = Path(root) / "release" / assignment
        release_dir = main_release if main_release.is_dir() else course / "release" / assignment
        releases = {p.stem: p.read_text() for p in sorted(release_dir.glob("*.ipynb"))}
        # Neither notebooks nor text sources (solutions and hidden tests) go into a grading job.
        extra = {
            str(p.relative_to(master_dir)): p.read_bytes()
            for p in sorted(master_dir.rglob("*"))
            if p.is_file() and p.suffix not in (".ipynb", SOURCE_FORMAT["extension"])
            and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
        }
        with Gradebook(f"sqlite:///{db}") as gb:
            max_score = float(gb.find_assignment(assignment).max_code_score)
        return Bundle(db.read_bytes(), releases, extra, max_score, settings, judge_tests(master_dir))


def judge_tests(master_dir: Path) -> dict:
    """Test cells tagged ``judge`` of the master notebooks in ``master_dir``, per notebook that has any."""
    from tfscourse_staff.grading.judge_execute import master_tests

    tests = {p.stem: master_tests(json.loads(p.read_text())) for p in sorted(Path(master_dir).glob("*.ipynb"))}
    return {stem: cells for stem, cells in tests.items() if cells}
