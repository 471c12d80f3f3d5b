"""Maintainer tools for the master notebooks in ``course/``.

* ``assignments(root)`` lists the assignments (one folder and one notebook each).
* ``normalize(nb)`` makes a notebook reviewable: no outputs, no execution
  counts, stable cell ids (the nbgrader grade_id where there is one) and a
  fixed kernelspec, so that a diff shows only real changes. It also starts
  every hidden block with ``HIDDEN_PREAMBLE``, which re-imports the built-ins
  the checks use, so that a student's ``def abs(x): return 0`` fools nothing.
* ``sync_setup_cell(nb)`` puts the current setup cell (see ``colab.py``) in, and
  ``sync_colab_badge(nb, release_path)`` the "Open in Colab" badge under the title.
* ``split_hidden_tests(source)`` separates a test cell's visible checks from its
  hidden block; the course's tests run the hidden block on its own.
* ``from_text(text)`` turns a notebook drafted as text (the "percent" format,
  ``# %%`` between cells) into a master notebook. A cell header may carry one
  nbgrader role: ``locked=ID``, ``solution=ID``, ``tests=ID points=N`` or
  ``manual=ID points=N``, e.g. ``# %% [markdown] manual=why_scale points=2``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from tfscourse.colab import SETUP_CELL_ID, colab_badge_markdown, setup_cell_source

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
# First line of every hidden block: a submission may have defined its own `abs`, `all` or `type`
# (a global of the same name shadows the built-in); the checks must use the real ones.
HIDDEN_PREAMBLE = (
    "from builtins import abs, all, any, bool, dict, enumerate, float, int, isinstance, len, list, "
    "map, max, min, range, round, set, sorted, str, sum, tuple, type, zip  # the real built-ins"
)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def assignments(root: Path | str = ".") -> dict[str, Path]:
    """Map each assignment name to its master notebook, e.g. {"01_self_attention": .../self_attention.ipynb}."""
    found = {}
    for folder in sorted((Path(root) / "course").iterdir()):
        notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(notebooks) == 1:
            found[folder.name] = notebooks[0]
        elif len(notebooks) > 1:
            raise ValueError(f"{folder} holds {len(notebooks)} notebooks; the course uses one per assignment")
    return found


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def split_hidden_tests(source: str) -> tuple[str, str]:
    """Return (visible part, hidden block) of a test cell's source; the hidden block may be empty."""
    if HIDDEN_BEGIN not in source:
        return source, ""
    before, rest = source.split(HIDDEN_BEGIN, 1)
    hidden, after = rest.split(HIDDEN_END, 1) if HIDDEN_END in rest else (rest, "")
    return before + after, hidden


def with_hidden_preamble(source: str) -> str:
    """A test cell's source whose hidden block starts with ``HIDDEN_PREAMBLE`` (added when missing)."""
    if HIDDEN_BEGIN not in source:
        return source
    before, rest = source.split(HIDDEN_BEGIN, 1)
    body = rest.lstrip("\n")
    if body.startswith(HIDDEN_PREAMBLE):
        return source
    return f"{before}{HIDDEN_BEGIN}\n{HIDDEN_PREAMBLE}\n{body}"


def normalize(nb) -> None:
    """Strip outputs, give the notebook stable ids and metadata, and guard hidden blocks (in place)."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    )
    seen: set[str] = set()
    anchor, counter = "top", 0
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid:
            anchor, counter = gid, 0
            cell_id = gid
        else:
            counter += 1
            cell_id = f"{anchor}-{counter}"
        if cell_id in seen:
            raise ValueError(f"two cells would get the id {cell_id!r}; grade_ids must be unique")
        seen.add(cell_id)
        cell.id = cell_id
        keep = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "tags")}
        cell.metadata = nbformat.from_dict(keep)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if is_test_cell(cell):
                cell.source = with_hidden_preamble(cell.source)


def sync_setup_cell(nb) -> bool:
    """Make the setup cell match ``setup_cell_source()``; return True when it changed."""
    for cell in nb.cells:
        if grade_id(cell) == SETUP_CELL_ID:
            if cell.source != setup_cell_source():
                cell.source = setup_cell_source()
                return True
            return False
    raise ValueError(f"notebook has no cell with grade_id {SETUP_CELL_ID!r}")


def sync_colab_badge(nb, release_path: str) -> bool:
    """Put the "Open in Colab" badge of ``release_path`` under the title; return True when it changed."""
    title = nb.cells[0]
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        raise ValueError("the first cell of a course notebook is its markdown title")
    lines = [line for line in title.source.split("\n") if "colab-badge.svg" not in line]
    heading, rest = lines[0], "\n".join(lines[1:]).lstrip("\n")
    source = f"{heading}\n\n{colab_badge_markdown(release_path)}\n\n{rest}".rstrip("\n")
    changed = source != title.source
    title.source = source
    return changed


def release_path_of(master_path: Path | str) -> str:
    """``course/01_x/x.ipynb`` -> ``release/01_x/x.ipynb`` (relative, with forward slashes)."""
    master_path = Path(master_path)
    return f"release/{master_path.parent.name}/{master_path.name}"


_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<args>.*)$")
_ROLES = {
    # role: (grade, solution, locked)
    "locked": (False, False, True),
    "solution": (False, True, False),
    "tests": (True, False, True),
    "manual": (True, True, False),
}


def _cell_from_text(is_markdown: bool, args: str, lines: list[str]):
    body = "\n".join(lines).strip("\n")
    if is_markdown:
        body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n"))
        cell = nbformat.v4.new_markdown_cell(body)
    else:
        cell = nbformat.v4.new_code_cell(body)
    options = dict(item.split("=", 1) for item in args.split())
    roles = [r for r in _ROLES if r in options]
    if len(roles) > 1:
        raise ValueError(f"a cell has one role, got {roles}")
    if roles:
        role = roles[0]
        grade, solution, locked = _ROLES[role]
        meta = {
            "grade": grade,
            "grade_id": options[role],
            "locked": locked,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if grade:
            meta["points"] = float(options.get("points", 1))
        cell.metadata["nbgrader"] = meta
    return cell


def from_text(text: str, release_path: str | None = None):
    """Build a master notebook from its percent-format draft (see the module docstring).

    With ``release_path`` the title cell gets the notebook's "Open in Colab" badge.
    """
    nb = nbformat.v4.new_notebook()
    header, lines = None, []
    for line in text.split("\n"):
        match = _HEADER.match(line)
        if match:
            if header is not None:
                nb.cells.append(_cell_from_text(*header, lines))
            header, lines = (bool(match["md"]), match["args"]), []
        elif header is not None:
            lines.append(line)
    if header is not None:
        nb.cells.append(_cell_from_text(*header, lines))
    for cell in nb.cells:
        if grade_id(cell) == SETUP_CELL_ID:
            cell.source = setup_cell_source()
    if release_path:
        sync_colab_badge(nb, release_path)
    normalize(nb)
    return nb


def write(nb, path: Path | str) -> None:
    nbformat.write(nb, str(path))
