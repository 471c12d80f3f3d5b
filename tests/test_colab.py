"""Every release notebook, completed, runs top to bottom on an emulated Colab and still grades.

The emulation (tests/colab_emulation.py) is a separate virtual environment with only
Colab's stack and a stand-in ``google.colab``; the notebook's own setup cell installs
the course package from a locally built wheel (``TFSCOURSE_PACKAGE_SOURCE``). The run
must produce no error, must have called Colab's widget manager, and the notebook, saved
the way Colab saves it, must get full marks from ``nbgrader autograde``.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from tests import colab_emulation
from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse.colab import PACKAGE_SOURCE_ENV
from tfscourse_staff import submissions
from tfscourse_staff.nbgrader_runs import ScratchCourse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("colab")]


@pytest.fixture(scope="session")
def colab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colab")
    python = colab_emulation.colab_python(ROOT / ".cache")
    wheel = colab_emulation.build_wheel(ROOT, tmp / "wheel")
    return {"python": python, "wheel": wheel, "stub": colab_emulation.stub_dir(tmp)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_completed_notebook_runs_on_colab_and_grades(assignment, colab, tmp_path):
    master_path = ASSIGNMENTS[assignment]
    master = nbformat.read(str(master_path), as_version=4)
    release = nbformat.read(str(ROOT / "release" / assignment / master_path.name), as_version=4)
    completed = tmp_path / "content" / master_path.name  # Colab's working folder holds nothing else
    completed.parent.mkdir()
    nbformat.write(submissions.fill(release, master), str(completed))
    marker = tmp_path / "colab_calls.txt"
    colab_emulation.uninstall_course_package(colab["python"])  # every notebook must install it itself
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "NBGRADER", "PYTHONPATH"))}
    env.update({PACKAGE_SOURCE_ENV: str(colab["wheel"]), "PYTHONPATH": str(colab["stub"]),
                "COLAB_STUB_MARKER": str(marker), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                # training loops run at their grading size: this test is about installing and running
                # on Colab's stack, and the full-length runs are timed by benchmarks/bench_notebooks.py
                "NBGRADER_EXECUTION": "validate"})
    env["PATH"] = f"{colab['python'].parent}:{env['PATH']}"
    executed = tmp_path / "executed.ipynb"
    colab_emulation.run_notebook(colab["python"], completed, executed, env)

    nb = nbformat.read(str(executed), as_version=4)
    errors = [(c.get("id"), o.get("ename"), o.get("evalue")) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{assignment} fails on the emulated Colab: {errors}"
    setup_text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "Installing the course package" in setup_text, "the setup cell did not install the package"
    assert "Google Colab" in setup_text, f"setup() did not detect Colab: {setup_text!r}"
    assert marker.is_file() and "enable_custom_widget_manager" in marker.read_text()

    # Save it the way Colab does and grade it.
    course = ScratchCourse(ROOT, tmp_path / "course_copy", [assignment])
    course.release(assignment)
    course.submit("colab_student", assignment, colab_emulation.as_colab_saves_it(nb))
    course.autograde(assignment)
    for test_id, (score, max_score) in course.scores(assignment, "colab_student").items():
        assert score == max_score, f"{test_id}: {score}/{max_score} after a Colab save"
