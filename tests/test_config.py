"""Configuration files agree with each other: pyproject.toml, environment.yml, nbgrader_config.py."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_installs_the_package_with_the_tested_extras():
    text = (ROOT / "environment.yml").read_text()
    extras = re.search(r"-e \.\[([a-z,]+)\]", text)
    assert extras, "environment.yml must pip-install the package itself (-e .[extras])"
    defined = set(_pyproject()["project"]["optional-dependencies"])
    assert set(extras.group(1).split(",")) <= defined
    makefile = (ROOT / "Makefile").read_text()
    assert f'-e ".[{extras.group(1)}]"' in makefile, "environment.yml and the Makefile install different extras"


def test_environment_yml_python_satisfies_requires_python():
    version = re.search(r"python=(\d+)\.(\d+)", (ROOT / "environment.yml").read_text())
    minimum = re.search(r">=(\d+)\.(\d+)", _pyproject()["project"]["requires-python"])
    assert tuple(map(int, version.groups())) >= tuple(map(int, minimum.groups()))


def test_environment_yml_lists_no_package_of_its_own():
    """Every dependency comes from pyproject.toml; conda only provides python and pip."""
    lines = [ln.strip() for ln in (ROOT / "environment.yml").read_text().splitlines()]
    listed = [ln[2:] for ln in lines if ln.startswith("- ") and not ln.startswith("- -e")]
    assert set(listed) <= {"conda-forge", "python=3.11", "pip", "pip:"}, listed


def test_required_stack_is_declared():
    pyproject = _pyproject()["project"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in pyproject["dependencies"]}
    names |= {re.split(r"[<>=\[ ]", d)[0].lower() for deps in pyproject["optional-dependencies"].values() for d in deps}
    assert {"jupyterlab", "numpy", "torch", "nbgrader", "ipywidgets", "matplotlib"} <= names


def test_nbgrader_config():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "course"
    assert config.OverwriteCells.add_missing_cells is True
    assert 10 <= config.ExecutePreprocessor.timeout <= 600
    assert config.CourseDirectory.db_url.startswith("sqlite:///")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
