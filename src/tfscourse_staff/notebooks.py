"""Maintainer tools for the notebooks in ``course/``: text sources, master notebooks, cell roles.

Each assignment folder ``course/NN_topic/`` holds two files:

* ``topic.py``, the **text source**: the notebook in jupytext's percent format
  (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell written as
  ``#`` comments; each cell's nbgrader role is the JSON on its ``# %%`` line). It is
  what maintainers edit, review and lint.
* ``topic.ipynb``, the **master** that nbgrader reads, generated from the source by
  ``build_master`` (``tfscourse build``) and committed; never edited by hand.

Functions:

* ``assignments(root)`` lists the assignments (one folder, one source, one master each).
* ``read_source(path)`` / ``write_source(nb, path)`` convert between a text source and a
  notebook with jupytext, keeping of each cell only its nbgrader metadata and tags.
* ``build_master(source_path)`` is the master notebook of a source: read, normalised, and
  each hidden block started with the code of ``hidden_helpers`` (the real built-ins and the
  one comparison helper), so the sources hold only the checks;
  ``tidy_source(source_path)`` rewrites a source in jupytext's layout (as JupyterLab saves it).
* ``normalize(nb)`` makes a notebook reviewable: no outputs, no execution counts, stable
  cell ids (the nbgrader grade_id where there is one) and a fixed kernelspec, so that a
  diff shows only real changes.
* ``parse_hidden_tests(source)`` reads a cell's ``### BEGIN/END HIDDEN TESTS`` markers as
  strictly as nbgrader (several blocks, nesting, a missing END are handled or refused with the
  line number); ``split_hidden_tests(source)`` separates a test cell's visible checks from its
  hidden code, which the course's tests run on its own.
* ``sync_setup_cell(nb)`` puts the current setup cell (see ``colab.py``) in, and
  ``sync_colab_badge(nb, release_path)`` the "Open in Colab" badge under the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from tfscourse.colab import SETUP_CELL_ID, colab_badge_markdown, setup_cell_source
from tfscourse_staff import hidden_helpers

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# jupytext's percent format; of the metadata it keeps each cell's nbgrader role and tags only
# (``normalize`` sets the notebook's metadata and the cell ids). pyproject.toml's
# [tool.jupytext] holds the same filters, for JupyterLab: tests/test_build.py checks they agree.
SOURCE_FORMAT = {
    "extension": ".py",
    "format_name": "percent",
    "notebook_metadata_filter": "-all",
    "cell_metadata_filter": "nbgrader,tags,-all",
}


def assignments(root: Path | str = ".") -> dict[str, Path]:
    """Map each assignment name to its master notebook, e.g. {"01_self_attention": .../self_attention.ipynb}.

    An assignment is a folder of ``course/`` with one text source ``topic.py``; its master is
    ``topic.ipynb`` beside it (which ``tfscourse build`` writes).
    """
    found = {}
    for folder in sorted((Path(root) / "course").iterdir()):
        sources = sorted(folder.glob("*" + SOURCE_FORMAT["extension"])) if folder.is_dir() else []
        if len(sources) == 1:
            found[folder.name] = sources[0].with_suffix(".ipynb")
        elif len(sources) > 1:
            names = ", ".join(path.name for path in sources)
            raise ValueError(f"{folder} holds {len(sources)} text sources ({names}); the course uses one per assignment")
    return found


def source_path_of(master_path: Path | str) -> Path:
    """``course/01_x/x.ipynb`` -> ``course/01_x/x.py``, the text source the master is built from."""
    return Path(master_path).with_suffix(SOURCE_FORMAT["extension"])


def read_source(path: Path | str):
    """The notebook written in the text source at ``path``, normalised (hidden blocks as written)."""
    nb = jupytext.reads(Path(path).read_text(encoding="utf-8"), fmt=SOURCE_FORMAT)
    normalize(nb)
    return nb


def write_source(nb, path: Path | str) -> None:
    """Write ``nb`` as a text source (cell ids, outputs and other metadata are left out)."""
    Path(path).write_text(jupytext.writes(nb, fmt=SOURCE_FORMAT), encoding="utf-8")


def build_master(source_path: Path | str):
    """The master notebook of the text source at ``source_path``: normalised, hidden blocks
    checked and started with their helpers (``hidden_helpers``)."""
    nb = read_source(source_path)
    add_hidden_helpers(nb, Path(source_path).name)
    return nb


def tidy_source(source_path: Path | str) -> bool:
    """Rewrite a text source in jupytext's own layout when that changes only its layout.

    Returns True when the file was rewritten. A text whose rewrite would read back as a
    different notebook is left alone (so no edit is ever lost).
    """
    path = Path(source_path)
    nb = read_source(path)
    text = jupytext.writes(nb, fmt=SOURCE_FORMAT)
    if text == path.read_text(encoding="utf-8"):
        return False
    tidied = jupytext.reads(text, fmt=SOURCE_FORMAT)
    normalize(tidied)
    if tidied != nb:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


class HiddenTestsError(ValueError):
    """A cell whose hidden-test markers nbgrader would reject or read differently from the author."""


@dataclass(frozen=True)
class HiddenTests:
    """A test cell's source split at its hidden-test markers.

    ``visible`` is the cell as nbgrader releases it (each hidden block and its two marker lines
    removed); ``blocks`` holds each hidden block's code, in order, without its markers.
    """

    visible: str
    blocks: tuple[str, ...]


def parse_hidden_tests(source: str) -> HiddenTests:
    """Split ``source`` at its hidden-test markers the way nbgrader does, refusing what it would misread.

    nbgrader takes any line that contains ``BEGIN HIDDEN TESTS`` or ``END HIDDEN TESTS`` for a
    marker. Here such a line must be the marker alone; blocks may not nest; every BEGIN needs
    its END and every END its BEGIN. Several blocks in one cell are fine. Errors name the line.
    """
    marker_words = (HIDDEN_BEGIN.lstrip("# "), HIDDEN_END.lstrip("# "))
    visible: list[str] = []
    blocks: list[str] = []
    block: list[str] | None = None
    begin_line = 0
    for number, line in enumerate(source.split("\n"), start=1):
        if not any(word in line for word in marker_words):
            (visible if block is None else block).append(line)
        elif line.strip() not in (HIDDEN_BEGIN, HIDDEN_END):
            raise HiddenTestsError(f"line {number} mentions a hidden-test marker but is not one: {line.strip()!r} "
                                   f"(nbgrader would take it for a marker; write {HIDDEN_BEGIN!r} or {HIDDEN_END!r} alone)")
        elif line.strip() == HIDDEN_BEGIN:
            if block is not None:
                raise HiddenTestsError(f"line {number}: {HIDDEN_BEGIN!r} inside the hidden block opened on line "
                                       f"{begin_line}; hidden blocks cannot nest (close it with {HIDDEN_END!r} first)")
            block, begin_line = [], number
        else:
            if block is None:
                raise HiddenTestsError(f"line {number}: {HIDDEN_END!r} without a {HIDDEN_BEGIN!r} before it")
            blocks.append("\n".join(block))
            block = None
    if block is not None:
        raise HiddenTestsError(f"the hidden block opened on line {begin_line} has no {HIDDEN_END!r}")
    return HiddenTests("\n".join(visible), tuple(blocks))


def split_hidden_tests(source: str) -> tuple[str, str]:
    """(visible part, hidden code) of a test cell's source; the hidden code joins every hidden block
    in order (empty when there is none), so it can run on its own."""
    parsed = parse_hidden_tests(source)
    return parsed.visible, "\n".join(parsed.blocks)


def with_hidden_helpers(source: str) -> str:
    """``source`` with each hidden block starting with ``hidden_helpers.prelude`` of that block."""
    parsed = parse_hidden_tests(source)
    if not parsed.blocks:
        return source
    lines = []
    blocks = iter(parsed.blocks)
    for line in source.split("\n"):
        lines.append(line)
        if line.strip() == HIDDEN_BEGIN:
            lines.append(hidden_helpers.prelude(next(blocks)))
    return "\n".join(lines)


def add_hidden_helpers(nb, label: str = "notebook") -> None:
    """Check every cell's hidden-test markers and start each hidden block with its helpers (in place).

    Hidden blocks belong in test cells only (nbgrader refuses them elsewhere). ``label`` names the
    notebook in error messages.
    """
    for cell in nb.cells:
        where = f"{label}, cell {grade_id(cell) or cell.get('id')}"
        try:
            parsed = parse_hidden_tests(cell.source)
        except HiddenTestsError as error:
            raise HiddenTestsError(f"{where}: {error}") from None
        if parsed.blocks and not is_test_cell(cell):
            raise HiddenTestsError(f"{where}: hidden tests belong in a test cell (graded, locked, not a solution)")
        if parsed.blocks:
            cell.source = with_hidden_helpers(cell.source)


def normalize(nb) -> None:
    """Strip outputs and give the notebook stable ids and metadata (in place)."""
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


def write(nb, path: Path | str) -> None:
    nbformat.write(nb, str(path))
