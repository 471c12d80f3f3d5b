"""The course's one nbgrader configuration, and the configurations derived from it.

``nbgrader_config.py`` at the course root is the only place where grading options
are set (cell timeouts, ``add_missing_cells``, solution stubs, ...). Every
throw-away course that runs nbgrader on the course's behalf (a scratch course for
the tests, the template gradebook of an assignment, the private course of each
grading job) writes its own ``nbgrader_config.py`` from it:

    settings = load(root)                              # the course file, as plain data
    write(folder, derive(settings, {"CourseDirectory": {"root": str(folder)}}))

``derive`` starts from every option of the course file and changes only the ones
given; each caller says which and why. The settings are plain data (dicts, lists,
tuples, strings, numbers), so that a grading job can carry them to a Dask worker on
another machine, where the course folder does not exist.
"""

from __future__ import annotations

import copy
import pprint
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"
DEFAULT_CELL_TIMEOUT = 60  # seconds; nbgrader's own default is 30, the course file sets its own

PLAIN_TYPES = (str, int, float, bool, type(None))


def _plain(value, where: str):
    """``value`` as plain data (what ``repr`` writes back); a clear error for anything else."""
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, (list, tuple)):  # a tuple stays one: traitlets' Tuple traits accept nothing else
        return type(value)(_plain(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, dict):
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    hint = " (assign the whole list or dict instead of .append() / .update())" if type(value).__name__ == "LazyConfigValue" else ""
    raise ValueError(
        f"{CONFIG_FILE}: {where} is a {type(value).__name__}; grading jobs can only carry plain values "
        f"(text, numbers, booleans, lists, dicts){hint}"
    )


def load(root: Path) -> dict:
    """Every option ``root/nbgrader_config.py`` sets, as ``{"Section": {"option": value}}``."""
    from traitlets.config.loader import PyFileConfigLoader

    return _plain(PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config(), "c")


def derive(settings: dict, overrides: dict) -> dict:
    """A copy of ``settings`` with the options in ``overrides`` (same shape) replaced."""
    derived = copy.deepcopy(settings)
    for section, options in overrides.items():
        derived.setdefault(section, {}).update(_plain(options, f"c.{section}"))
    return derived


def write(folder: Path, settings: dict) -> Path:
    """``folder/nbgrader_config.py`` that sets exactly ``settings`` (read by nbgrader and by ``to_config``)."""
    path = Path(folder) / CONFIG_FILE
    path.write_text(
        '"""Written by tfscourse from the course\'s nbgrader_config.py (see tfscourse_staff.nbgrader_settings)."""\n\n'
        "from traitlets.config import Config\n\n"
        "c = get_config()  # noqa: F821 - provided by the loader\n"
        f"c.merge(Config({pprint.pformat(settings, width=110, sort_dicts=True)}))\n"
    )
    return path


def cell_timeout(settings: dict) -> int:
    """Seconds one cell may run while grading: ``Execute.timeout``, else ``ExecutePreprocessor.timeout``."""
    for section in ("Execute", "ExecutePreprocessor"):
        value = settings.get(section, {}).get("timeout")
        if value:
            return int(value)
    return DEFAULT_CELL_TIMEOUT
