"""Check a submission before grading and repair what can be repaired, reporting every repair.

``check_and_repair(files, release)`` takes the raw bytes of the files a student
submitted and the release notebooks (what students downloaded), and returns one
``Checked`` per expected notebook: the repaired notebook, the list of repairs,
or the reason it is invalid. Nothing here runs student code.

What is checked and repaired:

* wrong file name (``Self_Attention (1).ipynb``): the only unexpected notebook is
  used for the expected one;
* not valid JSON, or JSON that is not a notebook: ``invalid`` with the reason;
* broken notebook structure (missing fields, source as a list, missing ids): cells
  are rebuilt with nbformat;
* cells whose nbgrader metadata was stripped: matched back to the release by their
  content (identical source for locked and test cells; for answer cells, the names
  they define or their position between matched cells) and given the release metadata;
* duplicated cells (two cells with one grade_id): the copy that holds the student's
  work keeps the grade_id, the other answer copies stay as ordinary cells, extra
  copies of locked or test cells are removed;
* retyped cells (an answer cell turned into markdown or raw): the release type comes back;
* deleted cells: the release cell is put back where it was (an answer cell gets the
  release stub, so it scores what an unanswered cell scores);
* changed metadata: every cell with a release grade_id gets the release's nbgrader
  metadata back (a test cell marked ``"solution": true`` or ``"grade": false`` by the
  student is a test cell again), and nbgrader metadata without a grade_id is removed
  (nbgrader would refuse the notebook);
* a file larger than ``MAX_NOTEBOOK_BYTES`` is invalid without being parsed.

Example:
    >>> checked = check_and_repair({"nb.ipynb": b"{not json"}, {"nb": release_nb})  # doctest: +SKIP
    >>> checked["nb"].invalid
    'not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)'
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 2**20  # the largest example submission is 72 kB; outputs with pictures add a few MB
_DEFINED = re.compile(r"^\s*(?:def|class)\s+(\w+)|^(\w+)\s*=", re.M)


@dataclass
class Checked:
    """The outcome of checking one expected notebook."""

    name: str
    notebook: object | None = None  # nbformat NotebookNode, None when invalid
    repairs: list[str] = field(default_factory=list)
    invalid: str = ""


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nb = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nb if isinstance(nb, dict) else {}


def _gid(cell) -> str | None:
    return _meta(cell).get("grade_id")


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def _rebuild(raw: dict, repairs: list[str]):
    """A valid nbformat v4 notebook from a dict that looks like a notebook."""
    cells = []
    for i, rc in enumerate(raw["cells"]):
        if not isinstance(rc, dict):
            repairs.append(f"dropped cell {i}: not a JSON object")
            continue
        kind = rc.get("cell_type", "code")
        source = _text(rc.get("source", ""))
        metadata = rc.get("metadata") if isinstance(rc.get("metadata"), dict) else {}
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        elif kind == "raw":
            cell = nbformat.v4.new_raw_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
        cell.metadata = nbformat.from_dict(copy.deepcopy(metadata))
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    meta = raw.get("metadata")
    nb.metadata = nbformat.from_dict(copy.deepcopy(meta) if isinstance(meta, dict) else {})
    return nb


def _names(source: str) -> set[str]:
    return {a or b for a, b in _DEFINED.findall(source)}


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _restore(cell, rel_cell, repairs: list[str], why: str) -> None:
    cell.metadata["nbgrader"] = copy.deepcopy(rel_cell.metadata["nbgrader"])
    repairs.append(f"cell {_gid(rel_cell)}: nbgrader metadata restored ({why})")


def repair_cells(nb, release, repairs: list[str]):
    """Match ``nb``'s cells to ``release``'s by grade_id or content; fix types, duplicates, deletions."""
    rel_cells = [c for c in release.cells if _gid(c)]
    rel_by_id = {_gid(c): c for c in rel_cells}
    order = [_gid(c) for c in rel_cells]

    # 1. duplicates: keep one cell per grade_id
    by_id: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = _gid(cell)
        if gid in rel_by_id:
            by_id.setdefault(gid, []).append(i)
        elif gid:
            cell.metadata.pop("nbgrader", None)
            repairs.append(f"cell {gid!s:.60}: unknown grade_id removed (kept as an ordinary cell)")
        elif "nbgrader" in cell.get("metadata", {}) and _meta(cell):
            cell.metadata.pop("nbgrader", None)
            repairs.append(f"cell {i}: nbgrader metadata without a grade_id removed")
    drop: set[int] = set()
    for gid, places in by_id.items():
        if len(places) < 2:
            continue
        rel = rel_by_id[gid]
        if _meta(rel).get("solution"):
            changed = [i for i in places if not _same(nb.cells[i].source, rel.source)]
            keep = changed[-1] if changed else places[0]
            for i in places:
                if i != keep:
                    nb.cells[i].metadata.pop("nbgrader", None)
            repairs.append(f"cell {gid}: {len(places)} copies; the last edited one is graded, the others run as ordinary cells")
        else:
            drop.update(places[1:])
            repairs.append(f"cell {gid}: {len(places) - 1} duplicate(s) of a locked cell removed")
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]

    # 2. cells without metadata: match by identical source, then answer cells by names or position
    present = {_gid(c) for c in nb.cells if _gid(c)}
    for cell in nb.cells:
        if _gid(cell):
            continue
        for gid in order:
            if gid not in present and _same(cell.source, rel_by_id[gid].source) and cell.source.strip():
                _restore(cell, rel_by_id[gid], repairs, "same source as the release")
                present.add(gid)
                break
    for gid in order:
        rel = rel_by_id[gid]
        if gid in present or not _meta(rel).get("solution"):
            continue
        before, after = _neighbours(order, gid, present)
        window = _window(nb, before, after)
        wanted = _names(rel.source)
        candidates = [c for c in window if not _gid(c) and c.cell_type == rel.cell_type]
        named = [c for c in candidates if wanted and wanted & _names(c.source)]
        if named:
            _restore(named[-1], rel, repairs, f"defines {', '.join(sorted(wanted & _names(named[-1].source)))}")
            present.add(gid)
        elif len(candidates) == 1:
            _restore(candidates[0], rel, repairs, "only unlabelled cell at its place")
            present.add(gid)

    # 3. retyped cells
    for i, cell in enumerate(nb.cells):
        gid = _gid(cell)
        if gid in rel_by_id and cell.cell_type != rel_by_id[gid].cell_type:
            new = (nbformat.v4.new_code_cell if rel_by_id[gid].cell_type == "code" else nbformat.v4.new_markdown_cell)(cell.source)
            new.metadata = cell.metadata
            repairs.append(f"cell {gid}: type changed back from {cell.cell_type} to {new.cell_type}")
            nb.cells[i] = new

    # 4. metadata changed by the student: the release's, for every grade_id
    for cell in nb.cells:
        gid = _gid(cell)
        if gid in rel_by_id and _meta(cell) != _meta(rel_by_id[gid]):
            _restore(cell, rel_by_id[gid], repairs, "changed in the submission")

    # 5. deleted cells: put the release cell back after its matched predecessor
    for gid in order:
        if gid in present:
            continue
        before, _ = _neighbours(order, gid, present)
        index = 0
        if before is not None:
            index = next(i for i, c in enumerate(nb.cells) if _gid(c) == before) + 1
        nb.cells.insert(index, copy.deepcopy(rel_by_id[gid]))
        present.add(gid)
        kind = "answer" if _meta(rel_by_id[gid]).get("solution") else "locked"
        repairs.append(f"cell {gid}: deleted {kind} cell put back from the release")
    return nb


def _neighbours(order: list[str], gid: str, present: set[str]) -> tuple[str | None, str | None]:
    i = order.index(gid)
    before = next((g for g in reversed(order[:i]) if g in present), None)
    after = next((g for g in order[i + 1:] if g in present), None)
    return before, after


def _window(nb, before: str | None, after: str | None) -> list:
    ids = [_gid(c) for c in nb.cells]
    start = ids.index(before) + 1 if before in ids else 0
    end = ids.index(after) if after in ids else len(nb.cells)
    return nb.cells[start:end] if start <= end else []


def check_notebook(name: str, data: bytes, release) -> Checked:
    """Parse, validate and repair one submitted notebook against its release version."""
    out = Checked(name)
    if len(data) > MAX_NOTEBOOK_BYTES:
        out.invalid = f"the file has {len(data) / 2**20:.0f} MB; the limit is {MAX_NOTEBOOK_BYTES // 2**20} MB"
        return out
    try:
        raw = json.loads(data.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as error:
        out.invalid = f"not valid JSON: {error}"
        return out
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        out.invalid = "not a Jupyter notebook (no list of cells)"
        return out
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
        if any(not isinstance(c.get("source"), str) for c in nb.cells):
            raise ValueError("cell source is not text")
    except Exception as error:  # noqa: BLE001 - any structural problem means: rebuild
        nb = _rebuild(raw, out.repairs)
        out.repairs.append(f"notebook structure rebuilt ({type(error).__name__})")
    if not nb.metadata.get("kernelspec"):
        nb.metadata["kernelspec"] = copy.deepcopy(release.metadata.get("kernelspec", {}))
        out.repairs.append("kernelspec restored")
    out.notebook = repair_cells(nb, release, out.repairs)
    return out


def check_and_repair(files: dict[str, bytes], releases: dict[str, object]) -> dict[str, Checked]:
    """Check every expected notebook (``releases``: stem -> release notebook) among ``files`` (name -> bytes)."""
    notebooks = {n: b for n, b in files.items() if n.endswith(".ipynb") and "/" not in n}
    unexpected = [n for n in sorted(notebooks) if n[: -len(".ipynb")] not in releases]
    results = {}
    for stem, release in releases.items():
        name = f"{stem}.ipynb"
        repairs = []
        if name not in notebooks:
            if len(unexpected) == 1 or (unexpected and len(releases) == 1):
                wrong = unexpected.pop(0)
                repairs.append(f"file {wrong!r} graded as {name!r} (wrong notebook name)")
                notebooks[name] = notebooks[wrong]
            else:
                results[stem] = Checked(stem, invalid=f"no notebook named {name!r} in the submission")
                continue
        checked = check_notebook(stem, notebooks[name], release)
        checked.repairs[:0] = repairs
        results[stem] = checked
    return results
