"""``tfscourse publish DEST [--stage NN]``: write the student-facing repository.

The instructor's repository holds the master notebooks (solutions, hidden tests) and the
staff package, so it stays private. Students get a separate repository, written by this
module and nothing else:

    DEST/README.md                 how to open, run and hand in the notebooks
    DEST/pyproject.toml            the student package alone, with the student dependencies
    DEST/src/tfscourse/            the student package (files published at this stage)
    DEST/release/NN_topic/...      the release notebooks up to this stage

The Colab badges and every setup cell point at that repository (``tfscourse.colab``).

**Stages.** A notebook's answers must not reach students while that notebook is graded,
yet a later notebook may need them (07 fine-tunes notebook 06's GPT). Such answers live
in ``tfscourse/unlocked/`` and ``PUBLISHED_FROM`` names the first stage whose package
carries them (and every module that imports them). Publishing stage ``NN`` means: notebooks
up to ``NN`` are handed out, the deadlines of the notebooks before ``NN`` have passed. So
an instructor publishes stage 01 at the start of term, and each later stage once the
deadline of the notebook before it has passed (``tfscourse publish DEST --stage 07`` after
notebook 06's deadline), then pushes DEST.

Nothing is written when a file to publish contains a solution or hidden-test marker.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from tfscourse.colab import STUDENT_REPOSITORY_URL, colab_badge_markdown
from tfscourse_staff.notebooks import HIDDEN_BEGIN, assignments, release_path_of

# module of the student package -> the first stage whose package includes it
PUBLISHED_FROM = {
    "tfscourse.unlocked.self_attention": "02_multihead_attention",  # notebook 01's softmax
    "tfscourse.unlocked.gpt": "07_finetuning",  # notebook 06's GPT, get_batch, lr_at
    "tfscourse.finetune": "07_finetuning",  # builds on tfscourse.unlocked.gpt
}
FORBIDDEN_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", HIDDEN_BEGIN, "### END HIDDEN TESTS")
STUDENT_PACKAGE = Path(__file__).resolve().parents[1] / "tfscourse"


def resolve_stage(root: Path, stage: str | None) -> str:
    """The assignment named by ``stage`` ("07" or "07_finetuning"); the last one when None."""
    names = sorted(assignments(root))
    if stage is None:
        return names[-1]
    matches = [name for name in names if name == stage or name.split("_")[0] == stage]
    if len(matches) != 1:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(names)} (or its number)")
    return matches[0]


def module_name(path: Path) -> str:
    """``tfscourse.unlocked.gpt`` for ``.../tfscourse/unlocked/gpt.py`` (packages by their ``__init__``)."""
    parts = path.relative_to(STUDENT_PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_published(module: str, stage: str) -> bool:
    """Whether the package of ``stage`` carries ``module``."""
    return PUBLISHED_FROM.get(module, "") <= stage


def package_files(stage: str) -> list[Path]:
    """The student package's modules published at ``stage``."""
    return [path for path in sorted(STUDENT_PACKAGE.rglob("*.py"))
            if "__pycache__" not in path.parts and is_published(module_name(path), stage)]


def package_data_files() -> list[Path]:
    """The student package's data files, published at every stage (the widgets' JavaScript and CSS)."""
    return sorted(path for path in (STUDENT_PACKAGE / "static").rglob("*") if path.is_file())


def student_pyproject(instructor_pyproject: Path) -> str:
    """A pyproject for the student package alone: its name, version and student dependencies."""
    settings = tomllib.loads(instructor_pyproject.read_text(encoding="utf-8"))
    project = settings["project"]
    deps = "".join(f'    "{dep}",\n' for dep in project["dependencies"])
    data = ", ".join(f'"{pattern}"' for pattern in settings["tool"]["setuptools"]["package-data"]["tfscourse"])
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tfscourse"
version = "{project["version"]}"
description = "The helper package of the course 'Transformers from scratch': notebook setup, widgets, data."
requires-python = "{project["requires-python"]}"
license = {{ text = "MIT" }}
dependencies = [
{deps}]

[tool.setuptools.packages.find]
where = ["src"]
include = ["tfscourse", "tfscourse.*"]

[tool.setuptools.package-data]
tfscourse = [{data}]
'''


def student_readme(release_paths: list[str]) -> str:
    """The student repository's README: the notebooks with their Colab badges, and how to hand in."""
    rows = "".join(f"| {Path(path).parent.name} | [{Path(path).stem}]({path}) {colab_badge_markdown(path)} |\n"
                   for path in release_paths)
    return f"""# Transformers from scratch: the notebooks

| # | notebook |
|---|---|
{rows}
**On Google Colab.** Click a notebook's *Open in Colab* badge. Its first code cell installs the
course's helper package from this repository ({STUDENT_REPOSITORY_URL}); nothing else is needed.

**On your own machine.** Clone this repository, then `python -m venv .venv`,
`.venv/bin/pip install . jupyterlab` and `.venv/bin/jupyter lab`, and open a notebook in `release/`.

**Working through a notebook.** Fill in every cell that raises `NotImplementedError` and every
answer marked *YOUR ANSWER HERE*, and run the test cell under each answer. Hidden tests run when
your work is graded, so also try your functions on your own inputs. Write your answers yourself:
a graded cell whose answer is imported, subclassed or copied from the course's packages earns no
points. Do not delete, duplicate or retype the locked cells.

**Handing in.** *Kernel → Restart Kernel and Run All Cells*, check that nothing fails except cells
you did not finish, save, and upload `<notebook>.ipynb` (from Colab: *File → Download → Download
.ipynb*) to your course's learning platform. Keep the file name.
"""


def _refuse_answers(files: dict[Path, str]) -> None:
    for path, text in files.items():
        for marker in FORBIDDEN_MARKERS:
            if marker in text:
                raise ValueError(f"refusing to publish {path}: it contains {marker!r}")


def _empty_keeping_git(dest: Path) -> None:
    """Remove what an earlier publication wrote; a ``.git`` folder (the repository being pushed) stays."""
    if not dest.exists():
        return
    for child in dest.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def publish(root: Path, dest: Path, stage: str | None = None) -> list[Path]:
    """Write the student repository of ``stage`` into ``dest`` (emptied first, except ``.git``); return the files written."""
    root, dest = Path(root), Path(dest)
    stage = resolve_stage(root, stage)
    masters = {name: path for name, path in assignments(root).items() if name <= stage}
    release_paths = [release_path_of(path) for path in masters.values()]
    missing = [path for path in release_paths if not (root / path).is_file()]
    if missing:
        raise FileNotFoundError(f"release notebooks missing (run `tfscourse release` first): {', '.join(missing)}")
    files: dict[Path, str | bytes] = {
        Path("README.md"): student_readme(release_paths),
        Path("pyproject.toml"): student_pyproject(root / "pyproject.toml"),
    }
    for path in [*package_files(stage), *package_data_files()]:
        files[Path("src") / path.relative_to(STUDENT_PACKAGE.parent)] = path.read_text(encoding="utf-8")
    for name in masters:
        folder = root / "release" / name
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            files[path.relative_to(root)] = path.read_bytes()
    _refuse_answers({path: text if isinstance(text, str) else text.decode("utf-8", "replace")
                     for path, text in files.items()})
    _empty_keeping_git(dest)
    for path, content in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
    return sorted(dest / path for path in files)
