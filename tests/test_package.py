"""The student package: setup(), the offline corpus, the Colab setup cell; and the staff CLI's draft builder."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tfscourse
from tests.conftest import ASSIGNMENTS
from tfscourse import colab, corpora
from tfscourse_staff import publish


def test_setup_sends_warnings_to_stdout(capsys):
    tfscourse.setup(seed=3, quiet=True)
    warnings.warn("a course warning", UserWarning, stacklevel=1)
    captured = capsys.readouterr()
    assert "a course warning" in captured.out and captured.err == ""


def test_setup_seeds_numpy_and_torch():
    import torch

    tfscourse.setup(seed=5, quiet=True)
    a, ta = np.random.rand(3), torch.rand(3)
    tfscourse.setup(seed=5, quiet=True)
    assert np.random.rand(3).tolist() == a.tolist() and torch.rand(3).tolist() == ta.tolist()


def test_grading_mode(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert tfscourse.grading_mode() is None
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert tfscourse.grading_mode() == "autograde"


def test_reference_text_is_real_offline_prose():
    text = corpora.reference_text()
    assert len(text) > 400_000 and "for" in text and "while" in text
    assert corpora.reference_text(max_chars=100) == text[:100]
    train, val = corpora.train_val_split(text, 0.1)
    assert train + val == text and 0.09 < len(val) / len(text) < 0.11


def test_load_text_errors_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file"):
        corpora.load_text(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("hello", encoding="utf-8")
    assert corpora.load_text(tmp_path / "a.txt") == "hello"


def test_setup_cell_installs_from_the_configured_source():
    source = colab.setup_cell_source()
    assert colab.PACKAGE_SOURCE in source and colab.PACKAGE_SOURCE_ENV in source
    compile(source, "setup", "exec")
    assert colab.colab_url("release/01_self_attention/self_attention.ipynb").startswith("https://colab.research.google.com/github/")


def test_cli_help_runs():
    result = subprocess.run([sys.executable, "-m", "tfscourse_staff.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout


# ---- the layers: the student package never reaches the staff package ----------------------

STUDENT_PACKAGE = Path(tfscourse.__file__).parent


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` imports, relative imports resolved against ``package``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join([*parts[: len(parts) - node.level + 1], node.module or ""]).strip(".") if node.level else node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def imports_of(path: Path) -> set[str]:
    module = publish.module_name(path)
    return imported_modules(path.read_text(encoding="utf-8"), module if path.name == "__init__.py" else module.rpartition(".")[0])


def test_no_student_module_imports_the_staff_package():
    offenders = {publish.module_name(path): sorted(m for m in imports_of(path) if m.split(".")[0] == "tfscourse_staff")
                 for path in STUDENT_PACKAGE.rglob("*.py")}
    offenders = {module: names for module, names in offenders.items() if names}
    assert not offenders, f"student modules importing the staff package: {offenders}"
    texts = {path.name: path.read_text(encoding="utf-8") for path in STUDENT_PACKAGE.rglob("*.py")}
    dynamic = [name for name, text in texts.items() if re.search(r"import_module\(|__import__\(", text)]
    assert not dynamic, f"student modules importing by name at run time (the layer test cannot follow them): {dynamic}"


def test_imported_modules_finds_staff_imports_in_every_form():
    assert "tfscourse_staff.grading" in imported_modules("from tfscourse_staff.grading import tamper\n", "tfscourse")
    assert "tfscourse_staff" in imported_modules("def f():\n    import tfscourse_staff\n", "tfscourse")
    assert "tfscourse.unlocked.gpt" in imported_modules("from .unlocked import gpt\n", "tfscourse")
    assert "tfscourse.corpora" in imported_modules("from ..corpora import reference_text\n", "tfscourse.unlocked")


@pytest.mark.parametrize("stage", sorted(ASSIGNMENTS))
def test_each_stage_publishes_every_module_its_modules_import(stage):
    published = {publish.module_name(path) for path in publish.package_files(stage)}
    missing = {}
    for path in publish.package_files(stage):
        wanted = {m for m in imports_of(path) if m.split(".")[0] == "tfscourse"}
        # "from tfscourse.x import name" names both the module and the object: keep what is a module
        absent = sorted(m for m in wanted if m not in published and m.rpartition(".")[0] not in published)
        if absent:
            missing[publish.module_name(path)] = absent
    assert not missing, f"stage {stage}: published modules import modules that stage leaves out: {missing}"


def test_unlocked_answers_are_published_only_after_their_notebook():
    by_topic = {name.split("_", 1)[1]: name for name in ASSIGNMENTS}
    for path in (STUDENT_PACKAGE / "unlocked").glob("*.py"):
        if path.stem == "__init__":
            continue
        module = publish.module_name(path)
        notebook = by_topic.get(path.stem)
        assert notebook, f"{module} must be named after the notebook whose answers it holds"
        assert publish.PUBLISHED_FROM.get(module, "") > notebook, (
            f"{module} holds answers of {notebook}: PUBLISHED_FROM must name a later stage")
        assert module not in {publish.module_name(p) for p in publish.package_files(notebook)}
