"""Running nbgrader from this Python: its helper scripts on PATH, and throw-away course copies.

``put_own_scripts_on_path()``: nbgrader starts helper programs such as ``alembic`` by
name, so the scripts next to this interpreter must come first on PATH even when
nobody activated the virtual environment (``.venv/bin/python ...``).

``ScratchCourse(root, folder, assignments)`` copies the masters of ``assignments``
into ``folder`` and writes its ``nbgrader_config.py`` from the course's (every option,
with the scratch folder as root and its own SQLite gradebook); then ``release`` runs ``nbgrader
generate_assignment``, ``submit`` writes a student's notebook where nbgrader collects
it, ``autograde`` grades every submission, and ``scores`` reads one student's points
per test cell back from the scratch gradebook. Nothing touches the course's own
gradebook or folders. Example::

    course = ScratchCourse(ROOT, tmp, ["01_self_attention"])
    release = course.release("01_self_attention")       # the release notebook, read
    course.submit("ada", "01_self_attention", solution_nb)
    course.autograde("01_self_attention")
    course.scores("01_self_attention", "ada")            # {"test_softmax": (3.0, 3.0), ...}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from tfscourse_staff import nbgrader_settings
from tfscourse_staff.notebooks import assignments as find_assignments
from tfscourse_staff.notebooks import grade_id, is_test_cell, release_path_of


def put_own_scripts_on_path() -> None:
    own_bin = str(Path(sys.executable).parent)
    if own_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = own_bin + os.pathsep + os.environ.get("PATH", "")


class ScratchCourse:
    def __init__(self, root: Path, folder: Path, assignments: list[str], *, folders: tuple[str, ...] = ()):
        """Copy the config and the masters of ``assignments``; ``folders`` (e.g. "release") are copied whole."""
        root = Path(root)
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.masters = {name: path for name, path in find_assignments(root).items() if name in assignments}
        # the course's options, but never its gradebook (TFSCOURSE_DB_URL may name a shared server)
        self.db_url = f"sqlite:///{self.dir / 'gradebook.db'}"
        own_place = {"CourseDirectory": {"root": str(self.dir), "db_url": self.db_url}}
        nbgrader_settings.write(self.dir, nbgrader_settings.derive(nbgrader_settings.load(root), own_place))
        for folder_name in folders:
            shutil.copytree(root / folder_name, self.dir / folder_name)
        for name in assignments:
            if not (self.dir / "course" / name).exists():
                shutil.copytree(root / "course" / name, self.dir / "course" / name,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))

    def nbgrader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in the scratch course; a failure raises with nbgrader's own message."""
        put_own_scripts_on_path()
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=self.dir,
                              capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def release(self, assignment: str):
        """Generate the release of ``assignment`` and return its notebook (read)."""
        self.nbgrader("generate_assignment", assignment, "--force")
        return nbformat.read(str(self.dir / release_path_of(self.masters[assignment])), as_version=4)

    def submit(self, student: str, assignment: str, nb) -> Path:
        """Write ``nb`` as ``student``'s submission of ``assignment``."""
        target = self.dir / "submitted" / student / assignment / self.masters[assignment].name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
        return target

    def autograde(self, assignment: str) -> subprocess.CompletedProcess:
        return self.nbgrader("autograde", assignment, "--force", "--create")

    def scores(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """grade_id -> (score, max_score) of every autograded test cell, from the scratch gradebook."""
        from nbgrader.api import Gradebook

        master_path = self.masters[assignment]
        master = nbformat.read(str(master_path), as_version=4)
        with Gradebook(self.db_url) as gradebook:
            return {
                grade_id(cell): (grade.score, grade.max_score)
                for cell in master.cells if is_test_cell(cell)
                for grade in [gradebook.find_grade(grade_id(cell), master_path.stem, assignment, student)]
            }
