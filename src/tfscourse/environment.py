"""Notebook set-up: one call in each notebook's locked setup cell.

``setup()`` makes a notebook reproducible and safe to autograde:

* seeds Python's, NumPy's and (when installed) PyTorch's random generators;
* sends warnings to stdout, because nbgrader gives 0 points to a test cell that
  writes anything to stderr, even when the answer is right;
* sets plotting defaults that read well in JupyterLab, on Colab and in the
  feedback HTML;
* on Google Colab, turns on the widget manager that ipywidgets 8 needs there.
"""

from __future__ import annotations

import os
import random
import sys
import warnings

DEFAULT_SEED = 0


def on_colab() -> bool:
    """True when the kernel runs on Google Colab (its runtime imports ``google.colab``)."""
    return "google.colab" in sys.modules


def grading_mode() -> str | None:
    """Return ``"autograde"`` or ``"validate"`` while nbgrader runs the notebook, else None.

    Notebooks use it to shrink long training runs and skip interactive waits;
    it must never change what a test checks.
    """
    return os.environ.get("NBGRADER_EXECUTION") or None


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    """A ``warnings.showwarning`` replacement that prints to the current stdout."""
    print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=sys.stdout)


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and PyTorch (if it is installed) with ``seed``."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules or _importable("torch"):
        import torch

        torch.manual_seed(seed)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _plot_defaults() -> None:
    import matplotlib

    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.0, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.grid": False,
            "font.size": 10,
        }
    )


def _enable_colab_widgets() -> None:
    from google.colab import output  # only reached on Colab

    output.enable_custom_widget_manager()


def setup(seed: int = DEFAULT_SEED, *, quiet: bool = False) -> None:
    """Prepare a course notebook: seeds, warnings to stdout, plotting defaults, Colab widgets.

    Example:
        >>> import tfscourse
        >>> tfscourse.setup(quiet=True)
    """
    warnings.showwarning = _warning_to_stdout
    seed_everything(seed)
    _plot_defaults()
    if on_colab():
        _enable_colab_widgets()
    if not quiet:
        where = "Google Colab" if on_colab() else "a local kernel"
        mode = grading_mode()
        extra = f", graded by nbgrader ({mode})" if mode else ""
        print(f"tfscourse ready on {where}{extra}; random seed {seed}.")
