"""``tfscourse publish``: the student-facing repository holds no hidden tests and no solutions, its
notebooks install the student package from it, and they run against that package alone."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tests.test_package_answers import is_trivial, normalised, solution_lines
from tfscourse import colab
from tfscourse_staff import publish
from tfscourse_staff.notebooks import is_test_cell, split_hidden_tests
from tfscourse_staff.submissions import fill

STAGES = sorted(ASSIGNMENTS)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Path]:
    """The student repository of every stage."""
    base = tmp_path_factory.mktemp("published")
    for stage in STAGES:
        publish.publish(ROOT, base / stage, stage)
    return {stage: base / stage for stage in STAGES}


def text_files(dest: Path) -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in dest.rglob("*") if path.is_file() and ".git" not in path.parts}


def hidden_lines() -> set[str]:
    lines = set()
    for path in ASSIGNMENTS.values():
        master = nbformat.read(str(path), as_version=4)
        for cell in master.cells:
            if is_test_cell(cell):
                lines.update(normalised(line) for line in split_hidden_tests(cell.source)[1].splitlines())
    return {line for line in lines if not is_trivial(line)}


def test_layout_of_the_student_repository(published):
    dest = published[STAGES[-1]]
    top = sorted(path.name for path in dest.iterdir())
    assert top == ["README.md", "pyproject.toml", "release", "src"]
    assert sorted(p.name for p in (dest / "src").iterdir()) == ["tfscourse"]
    assert sorted(p.name for p in (dest / "release").iterdir()) == STAGES
    assert not list(dest.rglob("*.db")) and not (dest / "course").exists()


def test_stages_hand_out_notebooks_and_unlocked_answers_in_order(published):
    for stage, dest in published.items():
        assert sorted(p.name for p in (dest / "release").iterdir()) == [s for s in STAGES if s <= stage]
        unlocked = sorted(p.stem for p in (dest / "src/tfscourse/unlocked").glob("*.py") if p.stem != "__init__")
        assert unlocked == sorted(name.split("_", 1)[1] for name in STAGES if name < stage
                                  and (ROOT / "src/tfscourse/unlocked" / f"{name.split('_', 1)[1]}.py").exists())
    assert not (published["06_gpt"] / "src/tfscourse/unlocked/gpt.py").exists()
    assert (published["07_finetuning"] / "src/tfscourse/unlocked/gpt.py").exists()


def test_no_hidden_tests_and_no_solution_markers(published):
    hidden = hidden_lines()
    assert hidden, "no hidden-test lines found to look for"
    for dest in published.values():
        for path, text in text_files(dest).items():
            assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
            found = hidden & {normalised(line) for line in text.replace("\\n", "\n").splitlines()}
            assert not found, f"{path} holds hidden-test code: {sorted(found)[:3]}"


def test_no_solution_code_of_a_notebook_still_being_graded(published):
    for stage, dest in published.items():
        graded_now = set().union(*(solution_lines(name) for name in STAGES if name >= stage))
        for path, text in text_files(dest).items():
            found = graded_now & {normalised(line) for line in text.replace("\\n", "\n").splitlines()}
            assert not found, f"stage {stage}: {path} holds solution code: {sorted(found)[:3]}"


def test_release_notebooks_install_the_package_from_the_student_repository(published):
    assert colab.STUDENT_REPOSITORY_URL in colab.PACKAGE_SOURCE
    for path in (published[STAGES[-1]] / "release").rglob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        setup = next(cell for cell in nb.cells if cell.cell_type == "code")
        assert setup.source == colab.setup_cell_source(), f"{path.name}: setup cell differs from tfscourse.colab"
        assert colab.PACKAGE_SOURCE in setup.source
        release_path = str(path.relative_to(published[STAGES[-1]]))
        assert colab.colab_url(release_path) in nb.cells[0].source, f"{path.name}: Colab badge is not the student repository's"
    readme = (published[STAGES[-1]] / "README.md").read_text(encoding="utf-8")
    assert all(colab.colab_url(f"release/{name}/{ASSIGNMENTS[name].name}") in readme for name in STAGES)


def test_student_pyproject_has_the_student_dependencies_only(published):
    project = tomllib.loads((published[STAGES[-1]] / "pyproject.toml").read_text(encoding="utf-8"))
    instructor = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["project"]["name"] == "tfscourse"
    assert project["project"]["dependencies"] == instructor["dependencies"]
    assert "optional-dependencies" not in project["project"] and "scripts" not in project["project"]
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["tfscourse", "tfscourse.*"]


def test_every_stage_carries_the_widgets_front_end(published):
    """The attention explorer's JavaScript and CSS are package data: published and declared at every stage."""
    shipped = sorted(p.name for p in (ROOT / "src" / "tfscourse" / "static").iterdir() if p.is_file())
    assert "attention_explorer.js" in shipped
    for dest in published.values():
        assert sorted(p.name for p in (dest / "src" / "tfscourse" / "static").iterdir()) == shipped
        project = tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
        assert project["tool"]["setuptools"]["package-data"]["tfscourse"] == ["static/*"]


def test_publishing_again_keeps_git_and_drops_stale_files(tmp_path):
    dest = tmp_path / "student"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "stale.txt").write_text("from an older publication")
    publish.publish(ROOT, dest, "01")
    assert (dest / ".git" / "HEAD").exists() and not (dest / "stale.txt").exists()
    assert sorted(p.name for p in (dest / "release").iterdir()) == ["01_self_attention"]


def test_bad_stage_and_answers_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown stage"):
        publish.resolve_stage(ROOT, "99")
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        publish._refuse_answers({Path("x.py"): "### BEGIN SOLUTION\nx = 1\n"})


def test_cli_publish(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", "publish", str(tmp_path / "s"), "--stage", "02"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "published stage 02_multihead_attention" in result.stdout
    assert (tmp_path / "s/release/02_multihead_attention").is_dir()


# ---- the release notebooks run against the published package alone ---------------------------


def student_environment(dest: Path, folder: Path) -> Path:
    """A virtual environment whose ``tfscourse`` is the published one and where ``tfscourse_staff`` is absent.

    It reuses this environment's installed libraries by listing their folder in a ``.pth``
    file: plain path lines are not processed further, so the instructor's editable install
    of both packages (itself a ``.pth`` hook) is not active there.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "course_libraries.pth").write_text(f"{dest / 'src'}\n{sysconfig.get_paths()['purelib']}\n")
    return python


@pytest.mark.slow
def test_release_notebooks_run_against_the_published_package(published, tmp_path, monkeypatch):
    """Each notebook, completed with the master's answers, runs in a kernel that has only its stage's package."""
    from nbclient import NotebookClient

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # the notebooks' short training runs
    failures = {}
    for stage, dest in published.items():
        python = student_environment(dest, tmp_path / f"venv-{stage}")
        probe = subprocess.run([str(python), "-c", "import tfscourse, importlib.util; print(tfscourse.__file__); "
                                "print(importlib.util.find_spec('tfscourse_staff'))"], capture_output=True, text=True, check=True)
        assert probe.stdout.split() == [str(dest / "src/tfscourse/__init__.py"), "None"], probe.stdout
        kernels = tmp_path / f"jupyter-{stage}" / "kernels" / "student"
        kernels.mkdir(parents=True)
        (kernels / "kernel.json").write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                         "display_name": "student", "language": "python"}))
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / f"jupyter-{stage}"))
        release_path = dest / "release" / stage / ASSIGNMENTS[stage].name
        nb = fill(nbformat.read(str(release_path), as_version=4), nbformat.read(str(ASSIGNMENTS[stage]), as_version=4))
        client = NotebookClient(nb, kernel_name="student", timeout=600, allow_errors=True,
                                resources={"metadata": {"path": str(release_path.parent)}})
        client.execute()
        errors = [f"{cell.metadata.get('nbgrader', {}).get('grade_id')}: {out.get('ename')}: {out.get('evalue')}"
                  for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
                  if out.get("output_type") == "error"]
        if errors:
            failures[stage] = errors
    assert not failures, f"release notebooks that fail against the published package: {failures}"
