"""One nbgrader configuration: what nbgrader_config.py sets reaches every throw-away course and job.

The fast tests follow an option from a course's ``nbgrader_config.py`` through the
template bundle (what ``tfscourse grade`` builds per assignment) into the
``nbgrader_config.py`` a grading job writes, read back the way the job's worker
reads it. The slow one grades a submission whose cell sleeps longer than the
course file allows and checks that the job interrupted it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from tests.conftest import ROOT
from tfscourse_staff import nbgrader_settings
from tfscourse_staff.grading import sandbox, status, templates
from tfscourse_staff.grading.job import Job, Limits, job_settings, run_job
from tfscourse_staff.nbgrader_runs import ScratchCourse

ASSIGNMENT = "01_self_attention"
COURSE_EDITS = '''
c.Execute.timeout = 41
c.OverwriteCells.add_missing_cells = False
c.TfsProbe.marker = "set by the instructor"
'''


def _course(folder: Path, edits: str = COURSE_EDITS) -> Path:
    """A course with notebook 01 whose nbgrader_config.py is the course's plus ``edits``."""
    shutil.copytree(ROOT / "course" / ASSIGNMENT, folder / "course" / ASSIGNMENT)
    shutil.copytree(ROOT / "release" / ASSIGNMENT, folder / "release" / ASSIGNMENT)
    (folder / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + edits)
    return folder


def _effective(folder: Path):
    """The configuration a worker or nbgrader gets from ``folder/nbgrader_config.py``."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def _job(settings: dict) -> Job:
    return Job(ASSIGNMENT, "ada", {}, {}, b"", settings=settings)


def test_the_course_file_loads_as_plain_data():
    settings = nbgrader_settings.load(ROOT)
    assert settings["CourseDirectory"]["source_directory"] == "course"
    assert settings["OverwriteCells"]["add_missing_cells"] is True
    assert nbgrader_settings.cell_timeout(settings) == settings["Execute"]["timeout"]


def test_an_option_set_in_nbgrader_config_reaches_the_job(tmp_path):
    course = _course(tmp_path / "course_root")
    bundle = templates.assignment_bundle(course, ASSIGNMENT)  # as runner.grade builds every job
    job_folder, sockets, conn = tmp_path / "job" / "course", tmp_path / "job" / "kernel", tmp_path / "job" / "conn"
    job_folder.mkdir(parents=True)
    nbgrader_settings.write(job_folder, job_settings(_job(bundle.settings), Limits(), job_folder, sockets, conn))
    config = _effective(job_folder)
    assert config.TfsProbe.marker == "set by the instructor"
    assert config.Execute.timeout == 41
    assert config.OverwriteCells.add_missing_cells is False
    assert config.ClearSolutions.text_stub == "YOUR ANSWER HERE"  # untouched options come along too
    # what the job overrides: its own place, the sandboxed kernel, ipc sockets
    assert config.CourseDirectory.root == str(job_folder)
    assert config.CourseDirectory.db_url == f"sqlite:///{job_folder / 'gradebook.db'}"
    assert config.Execute.kernel_name == sandbox.KERNEL_NAME
    assert config.KernelManager.transport == "ipc"
    assert config.KernelManager.connection_file == str(conn / "connection.json")
    assert config.Autograde.autograde_preprocessors[0] == "tfscourse_staff.grading.execute.BoundedExecute"


def test_a_job_caps_the_cell_limit_at_a_third_of_its_own(tmp_path):
    settings = nbgrader_settings.load(_course(tmp_path))
    assert job_settings(_job(settings), Limits(timeout=60), tmp_path, tmp_path, tmp_path)["Execute"]["timeout"] == 20
    assert job_settings(_job(settings), Limits(cell_timeout=7), tmp_path, tmp_path, tmp_path)["Execute"]["timeout"] == 7


def test_scratch_courses_keep_the_options_but_not_the_gradebook(tmp_path, monkeypatch):
    monkeypatch.setenv("TFSCOURSE_DB_URL", "postgresql://grader@db.invalid/course")
    source = _course(tmp_path / "source")
    scratch = ScratchCourse(source, tmp_path / "scratch", [ASSIGNMENT])
    config = _effective(scratch.dir)
    assert config.CourseDirectory.db_url == scratch.db_url == f"sqlite:///{scratch.dir / 'gradebook.db'}"
    assert config.CourseDirectory.root == str(scratch.dir)
    assert config.TfsProbe.marker == "set by the instructor"
    assert config.Execute.timeout == 41


def test_an_option_no_job_can_carry_is_refused_with_its_name(tmp_path):
    course = _course(tmp_path, "\nc.Autograde.exclude_overwriting.update({'x': ['y']})\n")
    with pytest.raises(ValueError, match=r"c\.Autograde\.exclude_overwriting is a LazyConfigValue.*whole list or dict"):
        nbgrader_settings.load(course)


@pytest.mark.slow
def test_the_course_cell_timeout_interrupts_a_job(tmp_path):
    """A cell sleeping 30 s (well within the course default of 60 s) is interrupted when nbgrader_config.py allows 5 s per cell."""
    course = _course(tmp_path, "\nc.Execute.timeout = 5\n")
    submission = nbformat.read(str(ROOT / "submitted" / "ada_complete" / ASSIGNMENT / "self_attention.ipynb"), as_version=4)
    code_answers = [c for c in submission.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    code_answers[0].source += "\nimport time\ntime.sleep(30)\n"
    bundle = templates.assignment_bundle(course, ASSIGNMENT)
    job = Job(ASSIGNMENT, "slow_sam", {"self_attention.ipynb": nbformat.writes(submission).encode()}, bundle.releases,
              bundle.template_db, bundle.extra_files, bundle.settings)
    result = run_job(job, Limits(timeout=300, sandbox=not sandbox.available()))
    assert status.TIMED_OUT in result["flags"], result["detail"]
    assert result["notebooks"], "the rest of the notebook is graded after the interrupted cell"
