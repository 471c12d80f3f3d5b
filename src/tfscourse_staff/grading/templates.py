"""What every job of one assignment shares: a template gradebook, the release notebooks, extra files.

``assignment_bundle(root, assignment)`` runs ``nbgrader generate_assignment`` on the
master notebook in a throw-away course whose SQLite gradebook then knows exactly
this assignment (its notebooks, grade cells, hidden test sources and checksums)
and nothing else: no students, no other assignments. Each job copies it, so
workers never open the course's own gradebook (SQLite or PostgreSQL).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tfscourse_staff.notebooks import SOURCE_FORMAT

#: nbgrader_config.py of a throw-away course (the template's and every grading job's)
COURSE_CONFIG = '''c = get_config()  # noqa
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = "sqlite:///" + {db!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
'''
TEMPLATE_CONFIG = COURSE_CONFIG + 'c.CourseDirectory.release_directory = "release"\n'


@dataclass
class Bundle:
    template_db: bytes
    releases: dict[str, str]  # notebook stem -> release notebook JSON text (what students downloaded)
    extra_files: dict[str, bytes]  # non-notebook files in course/ASSIGNMENT/
    max_score: float  # autograded points (test cells)
    course_id: str


def course_id(root: Path) -> str:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return str(config.CourseDirectory.get("course_id", "course")) or "course"


def assignment_bundle(root: Path, assignment: str) -> Bundle:
    from nbgrader.api import Gradebook

    master_dir = Path(root) / "course" / assignment
    cid = course_id(root)
    with tempfile.TemporaryDirectory(prefix="tfsgrade-template-") as tmp:
        course = Path(tmp)
        shutil.copytree(master_dir, course / "source" / assignment, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        db = course / "gradebook.db"
        (course / "nbgrader_config.py").write_text(TEMPLATE_CONFIG.format(root=str(course), course_id=cid, db=str(db)))
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
        return Bundle(db.read_bytes(), releases, extra, max_score, cid)
