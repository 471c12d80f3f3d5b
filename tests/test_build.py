"""The course builds: masters are what their text sources build, release/ is what nbgrader generates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse.colab import SETUP_CELL_ID, colab_badge_markdown, setup_cell_source
from tfscourse_staff import notebooks


@pytest.fixture(scope="module")
def generated_release(tmp_path_factory):
    """Run nbgrader generate_assignment for every assignment in a temporary copy of the course."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course", course / "course")
    for name in ASSIGNMENTS:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=ERROR"],
            cwd=course, check=True, capture_output=True, text=True,
        )
    return course / "release"


def test_there_are_assignments():
    assert "01_self_attention" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_in_git_equals_generated_release(assignment, generated_release):
    name = ASSIGNMENTS[assignment].name
    committed = ROOT / "release" / assignment / name
    assert committed.is_file(), f"release/{assignment}/{name} is missing: run `tfscourse release {assignment}`"
    fresh = json.loads((generated_release / assignment / name).read_text())
    assert json.loads(committed.read_text()) == fresh, (
        f"release/{assignment} is out of date with course/: run `tfscourse release {assignment}` and commit it"
    )


def test_release_holds_no_text_source(generated_release):
    """The text sources hold the solutions and hidden tests: nbgrader must not copy them out."""
    leaked = sorted(str(path.relative_to(generated_release)) for path in generated_release.rglob("*.py"))
    assert not leaked, f"text sources copied into the release: {leaked}"


def test_grading_jobs_get_no_text_source():
    """The files a grading job copies next to the submission leave out the text source."""
    from tfscourse_staff.grading.templates import assignment_bundle

    assignment = "01_self_attention"
    assert notebooks.source_path_of(ASSIGNMENTS[assignment]).is_file()
    bundle = assignment_bundle(ROOT, assignment)
    assert not [name for name in bundle.extra_files if name.endswith(".py")], sorted(bundle.extra_files)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_is_built_from_its_text_source(assignment):
    """The committed master is exactly what its text source builds (cell ids, metadata, sources)."""
    path = ASSIGNMENTS[assignment]
    source = notebooks.source_path_of(path)
    assert path.is_file(), f"{path.name} is missing: run `tfscourse build {assignment}`"
    built = notebooks.build_master(source)
    master = nbformat.read(str(path), as_version=4)
    assert [c.id for c in master.cells] == [c.id for c in built.cells], (
        f"{path.name} and {source.name} have different cells: run `tfscourse build {assignment}`"
    )
    differing = [c.id for c, b in zip(master.cells, built.cells, strict=True) if c != b]
    assert not differing, f"{path.name} differs from {source.name} in cells {differing}: run `tfscourse build {assignment}`"
    assert master == built, f"{path.name} differs from {source.name}: run `tfscourse build {assignment}`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_text_source_is_in_jupytext_layout(assignment, tmp_path):
    """Writing the master back as text gives the source unchanged: JupyterLab's jupytext saves the same file."""
    source = notebooks.source_path_of(ASSIGNMENTS[assignment])
    rewritten = tmp_path / source.name
    notebooks.write_source(notebooks.read_source(source), rewritten)
    assert rewritten.read_text(encoding="utf-8") == source.read_text(encoding="utf-8"), (
        f"{source.name} is not in jupytext's layout: run `tfscourse build {assignment}`"
    )


def test_jupyterlab_saves_sources_with_the_build_format():
    """pyproject.toml's [tool.jupytext] keeps the same metadata as the build reads."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["jupytext"]
    for option in ("notebook_metadata_filter", "cell_metadata_filter"):
        assert config[option] == notebooks.SOURCE_FORMAT[option], f"[tool.jupytext] {option} differs from SOURCE_FORMAT"


def test_a_text_source_with_nbgrader_roles_builds_a_master(tmp_path):
    source = tmp_path / "tiny.py"
    source.write_text(
        '# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}\n'
        "# # Tiny\n#\n# A notebook.\n\n"
        '# %% nbgrader={"grade": false, "grade_id": "f", "locked": false, "schema_version": 3, "solution": true, "task": false}\n'
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n"
        "# %%\nprint(f())\n\n"
        '# %% nbgrader={"grade": true, "grade_id": "test_f", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}\n'
        '"""f returns one."""\nassert f() == 1\n',
        encoding="utf-8",
    )
    nb = notebooks.build_master(source)
    assert [c.id for c in nb.cells] == ["intro", "f", "f-1", "test_f"]
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[0].source == "# Tiny\n\nA notebook."
    assert notebooks.nbgrader_meta(nb.cells[3])["points"] == 2 and notebooks.is_test_cell(nb.cells[3])
    assert nb.cells[2].metadata == {} and nb.cells[1].source.endswith("### END SOLUTION")
    assert nb.metadata.kernelspec == notebooks.KERNELSPEC


def test_build_regenerates_master_and_release_and_release_refuses_a_stale_master(tmp_path):
    course = tmp_path / "course_copy"
    assignment = "01_self_attention"
    (course / "course").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / assignment, course / "course" / assignment)
    master = course / "course" / assignment / ASSIGNMENTS[assignment].name
    source = notebooks.source_path_of(master)
    source.write_text(source.read_text(encoding="utf-8").replace(
        "## 1 · Softmax, the stable way", "## 1 · Softmax, computed stably"), encoding="utf-8")

    def tfscourse(*args):
        return subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", *args], cwd=course, capture_output=True, text=True)

    refused = tfscourse("release", assignment)
    assert refused.returncode != 0 and "tfscourse build" in refused.stderr
    built = tfscourse("build", assignment)
    assert built.returncode == 0, built.stderr
    assert "Softmax, computed stably" in master.read_text()
    release = course / notebooks.release_path_of(master)
    assert "Softmax, computed stably" in release.read_text()
    assert not list(release.parent.glob("*.py")), "the text source must not be released"
    assert tfscourse("release", assignment).returncode == 0


def test_sync_setup_rewrites_the_text_source(tmp_path):
    """`tfscourse sync-setup` puts a lost Colab badge and a stale setup cell back into the source."""
    assignment = "03_bpe"
    course = tmp_path / "course_copy"
    (course / "course").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / assignment, course / "course" / assignment)
    source = notebooks.source_path_of(course / "course" / assignment / ASSIGNMENTS[assignment].name)
    original = source.read_text(encoding="utf-8")
    badge = colab_badge_markdown(notebooks.release_path_of(ASSIGNMENTS[assignment]))
    broken = original.replace(f"# {badge}\n#\n", "").replace("tfscourse.setup()", "tfscourse.setup(seed=1)")
    assert broken != original and badge not in broken
    source.write_text(broken, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", "sync-setup"], cwd=course, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"course/{assignment}/{source.name}" in done.stdout
    assert source.read_text(encoding="utf-8") == original


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_notebook_is_normalized(assignment):
    """No outputs, no execution counts, stable ids and metadata (`tfscourse build` writes it so)."""
    path = ASSIGNMENTS[assignment]
    nb = nbformat.read(str(path), as_version=4)
    with_outputs = [c.id for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{path.name}: cells with outputs {with_outputs}; run `tfscourse build`"
    normalized = nbformat.read(str(path), as_version=4)
    notebooks.normalize(normalized)
    assert normalized == nb, f"{path.name} is not normalized; run `tfscourse build`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_setup_cell_is_current_and_first(assignment):
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert notebooks.grade_id(code[0]) == SETUP_CELL_ID, "the first code cell must be the locked setup cell"
    assert code[0].source == setup_cell_source(), "setup cell is stale: run `tfscourse sync-setup` and `tfscourse build`"
    assert notebooks.nbgrader_meta(code[0]).get("locked"), "the setup cell must be locked"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_title_has_the_colab_badge_of_its_release(assignment):
    path = ASSIGNMENTS[assignment]
    nb = nbformat.read(str(path), as_version=4)
    expected = colab_badge_markdown(notebooks.release_path_of(path))
    assert expected in nb.cells[0].source, "the title cell lacks its Open in Colab badge: run `tfscourse sync-setup`"
    assert expected in (ROOT / "README.md").read_text(), f"README.md lacks the Colab badge of {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_start_with_a_docstring_and_are_locked(assignment):
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    for cell in nb.cells:
        if notebooks.is_test_cell(cell):
            first = cell.source.lstrip().split("\n", 1)[0]
            assert first.startswith('"""') and first.endswith('"""') and len(first) > 6, (
                f"{notebooks.grade_id(cell)}: a test cell starts with a one-line docstring"
            )
            assert notebooks.nbgrader_meta(cell).get("locked"), f"{notebooks.grade_id(cell)} must be locked"
            assert notebooks.grade_id(cell).startswith("test_"), f"{notebooks.grade_id(cell)}: test ids start with test_"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_opens_with_title_goals_time_and_hardware(assignment):
    """Every notebook opens the same way: title, learning goals, how to run, running time, GPU or not."""
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the first cell is the title"
    text = first.source.lower()
    for needle in ("learning goals", "how to work", "running time", "gpu"):
        assert needle in text, f"the opening cell of {assignment} should mention {needle!r}"


def test_example_submissions_exist_for_every_assignment():
    for assignment, path in ASSIGNMENTS.items():
        for student in ("ada_complete", "ben_untouched", "cleo_partial"):
            assert (ROOT / "submitted" / student / assignment / path.name).is_file(), (
                f"missing example submission {student}/{assignment}: run `python tools/make_examples.py`"
            )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_blocks_do_not_trust_library_comparisons(assignment):
    """Students can replace np.allclose & co. in their kernel: hidden blocks compare in plain Python."""
    nb = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    banned = ("allclose", "isclose", "array_equal", "testing.assert", "assert_close")
    offenders = [
        (notebooks.grade_id(cell), word)
        for cell in nb.cells if notebooks.is_test_cell(cell)
        for word in banned if word in notebooks.split_hidden_tests(cell.source)[1]
    ]
    assert not offenders, f"hidden blocks use library comparisons: {offenders}"
