"""The helper package: setup(), the offline corpus, the Colab setup cell, and the CLI's draft builder."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import tfscourse
from tfscourse import colab, data


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
    text = data.reference_text()
    assert len(text) > 400_000 and "for" in text and "while" in text
    assert data.reference_text(max_chars=100) == text[:100]
    train, val = data.train_val_split(text, 0.1)
    assert train + val == text and 0.09 < len(val) / len(text) < 0.11


def test_load_text_errors_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file"):
        data.load_text(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("hello", encoding="utf-8")
    assert data.load_text(tmp_path / "a.txt") == "hello"


def test_setup_cell_installs_from_the_configured_source():
    source = colab.setup_cell_source()
    assert colab.PACKAGE_SOURCE in source and colab.PACKAGE_SOURCE_ENV in source
    compile(source, "setup", "exec")
    assert colab.colab_url("release/01_self_attention/self_attention.ipynb").startswith("https://colab.research.google.com/github/")


def test_cli_help_runs():
    result = subprocess.run([sys.executable, "-m", "tfscourse.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
