"""pyproject.toml declares what the code imports, and the package data it lists exists.

Every module imported by the package, the notebooks' text sources, the benchmarks, the tools
and the tests is either in the standard library, one of this repository's own packages, an
optional import named below (with why it may be missing), or comes from a distribution that
pyproject.toml lists as a dependency or in an extra. A package that merely happens to be
installed (pulled in by another one) does not count as declared.
"""

from __future__ import annotations

import ast
import glob
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# imported inside a try/except or only where they exist
OPTIONAL = {
    "datasets": "WikiText-2 for notebook 06 when reachable; the offline corpus otherwise",
    "google": "google.colab, present only on Colab",
}


def python_files() -> list[Path]:
    files = [path for folder in ("src", "benchmarks", "tools", "tests") for path in (ROOT / folder).rglob("*.py")]
    return files + sorted(ROOT.glob("course/*/*.py")) + [ROOT / "nbgrader_config.py"]


def imported_modules() -> dict[str, set[str]]:
    """Top-level module name -> files that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {normalized(re.match(r"[A-Za-z0-9_.-]+", requirement).group()) for requirement in requirements}


def own_packages() -> set[str]:
    packages = {path.parent.name for path in (ROOT / "src").glob("*/__init__.py")}
    return packages | {"tests"}


def test_every_imported_module_is_declared():
    declared, own = declared_distributions(), own_packages()
    distributions = packages_distributions()
    undeclared = {}
    for module, files in sorted(imported_modules().items()):
        if module in sys.stdlib_module_names or module == "__main__" or module in own or module in OPTIONAL:
            continue
        providers = {normalized(d) for d in distributions.get(module, [])}
        if not providers & declared:
            undeclared[module] = f"from {sorted(providers) or 'no installed distribution'}, imported by {sorted(files)[:3]}"
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_scan_sees_the_imports():
    """The scan above finds the project's known third-party imports (so its pass means something)."""
    modules = imported_modules()
    for module in ("numpy", "torch", "nbgrader", "pytest"):
        assert module in modules, f"no import of {module} found"


def test_declared_package_data_exists():
    package_data = PYPROJECT.get("tool", {}).get("setuptools", {}).get("package-data", {})
    missing = [f"{package}: {pattern}" for package, patterns in package_data.items() for pattern in patterns
               if not glob.glob(str(ROOT / "src" / package.replace(".", "/") / pattern))]
    assert not missing, f"package data declared in pyproject.toml matches no file: {missing}"
