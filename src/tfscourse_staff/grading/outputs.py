"""Make an executed student notebook safe to store and to show: outputs capped, no student HTML or script.

The executed notebook is the student's: every output, every markdown answer and
much of the metadata came from code the student controlled. Before it reaches
the course's ``autograded/`` folder (read by formgrader) and the feedback, it is
*rebuilt* here from an allow-list instead of cleaned from a deny-list:

* outputs keep only ``text/plain``, PNG and JPEG images (base64 checked) and
  text streams; ``text/html`` and ``text/markdown`` are sanitised with ``bleach``
  (unknown tags escaped, no attributes that run script, links only to http(s),
  mailto and cell attachments); JavaScript, SVG, LaTeX, widget views and every
  other type are dropped, leaving a note when nothing else was shown;
* every output of every type is capped: text past ``MAX_TEXT`` characters is cut,
  an image past ``MAX_IMAGE`` bytes is replaced by a note, a cell keeps at most
  ``MAX_OUTPUTS`` outputs and the notebook at most ``MAX_TOTAL`` characters of them;
* markdown cells are rendered to HTML and sanitised the same way (raw HTML and
  ``javascript:`` links in a written answer become text), raw cells are escaped;
* cell metadata keeps only nbgrader's (with a well-formed grade_id), notebook
  metadata only the kernel's name; execution counts are numbers or nothing.

``scan(nb)`` reads the flags an executed notebook carries: ``MemoryError`` ->
out of memory, an interrupted cell -> timed out.

Example:
    >>> notes = make_safe(nb)  # doctest: +SKIP
    >>> notes
    ['cell 12: text/html sanitised', 'cell 14: image of 3145728 bytes replaced by a note']
"""

from __future__ import annotations

import html
import re

from tfscourse_staff.grading import status

MAX_TEXT = 100_000  # characters per text output (a huge print)
MAX_IMAGE = 1_500_000  # base64 characters per image (about 1.1 MB of PNG)
MAX_OUTPUTS = 50  # outputs per cell
MAX_TOTAL = 20_000_000  # characters of outputs in the whole notebook
IMAGE_TYPES = ("image/png", "image/jpeg")
SANITISED_TYPES = ("text/html", "text/markdown")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
CELL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "td": ["align"], "th": ["align"]}
ALLOWED_PROTOCOLS = {"http", "https", "mailto", "attachment"}
TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")


def scan(nb) -> list[str]:
    """Flags from an executed notebook: MemoryError -> out of memory, interrupted cell -> timed out."""
    flags = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if not isinstance(out, dict) or out.get("output_type") != "error":
                continue
            if out.get("ename") == "MemoryError":
                flags.append(status.OUT_OF_MEMORY)
            if out.get("ename") in TIMEOUT_ERRORS or (out.get("ename") == "NotRunError" and "time limit" in out.get("evalue", "")):
                flags.append(status.TIMED_OUT)
    return list(dict.fromkeys(flags))


def clean_html(text: str) -> str:
    """HTML with only harmless tags and attributes left as markup; everything else shown as text."""
    import bleach

    cleaned = bleach.clean(text, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
                           strip=False, strip_comments=True)
    # one line, so that a markdown renderer keeps it a single HTML block (a blank line would end it)
    return cleaned.replace("\r", "").replace("\n", "&#10;")


def clean_markdown(source: str) -> str:
    """A written answer as sanitised HTML in one block: its formatting kept, its HTML and script made text."""
    from nbconvert.filters.markdown import markdown2html

    if not source.strip():
        return source
    return f"<div>{clean_html(markdown2html(source))}</div>"


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _cut(text: str, notes: list[str], where: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    notes.append(f"{where}: output of {len(text)} characters cut")
    return text[:MAX_TEXT] + f"\n... [output cut: {len(text)} characters in all]\n"


def _data(data: dict, metadata: dict, notes: list[str], where: str) -> tuple[dict, dict]:
    """The safe part of a display_data/execute_result bundle, and its safe metadata."""
    kept, kept_meta = {}, {}
    for kind, value in data.items():
        if kind in IMAGE_TYPES:
            image = _text(value)
            if not BASE64.match(image):
                notes.append(f"{where}: {kind} that is not base64 removed")
            elif len(image) > MAX_IMAGE:
                kept["text/plain"] = f"[image of {len(image) * 3 // 4} bytes not kept: the limit is {MAX_IMAGE * 3 // 4}]"
                notes.append(f"{where}: image of {len(image) * 3 // 4} bytes replaced by a note")
            else:
                kept[kind] = image
                size = metadata.get(kind) if isinstance(metadata.get(kind), dict) else {}
                numbers = {k: v for k, v in size.items() if k in ("width", "height") and type(v) in (int, float)}
                if numbers:
                    kept_meta[kind] = numbers
        elif kind == "text/plain":
            kept.setdefault(kind, _cut(_text(value), notes, where))
        elif kind in SANITISED_TYPES:
            text = _cut(_text(value), notes, where)
            kept[kind] = clean_html(text) if kind == "text/html" else clean_markdown(text)
        else:
            notes.append(f"{where}: {kind[:40]} output removed")
    if not kept:
        kept["text/plain"] = "[output removed: only types that are not shown to keep the page safe]"
    return kept, kept_meta


def _count(value) -> int | None:
    return value if type(value) is int else None


def _output(out, notes: list[str], where: str) -> dict | None:
    """One output rebuilt from its known fields only; None when it is not an output at all."""
    if not isinstance(out, dict):
        return None
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _cut(_text(out.get("text")), notes, where)}
    if kind == "error":
        ename, evalue = str(out.get("ename", "Error"))[:200], _cut(str(out.get("evalue", "")), notes, where)
        trace = out.get("traceback") if isinstance(out.get("traceback"), list) else []
        return {"output_type": "error", "ename": ename, "evalue": evalue,
                "traceback": [_cut(str(line), notes, where) for line in trace[:200]]}
    if kind in ("display_data", "execute_result"):
        data = out.get("data") if isinstance(out.get("data"), dict) else {}
        metadata = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
        data, metadata = _data(data, metadata, notes, where)
        rebuilt = {"output_type": kind, "data": data, "metadata": metadata}
        if kind == "execute_result":
            rebuilt["execution_count"] = _count(out.get("execution_count"))
        return rebuilt
    notes.append(f"{where}: output of unknown type removed")
    return None


def _size(out: dict) -> int:
    parts = [out.get("text", ""), out.get("evalue", ""), *out.get("traceback", []), *out.get("data", {}).values()]
    return sum(len(p) for p in parts if isinstance(p, str))


def _cell_metadata(metadata) -> dict:
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str) and GRADE_ID.match(meta["grade_id"]):
        return {"nbgrader": meta}
    return {}


def _attachments(cell: dict) -> dict:
    found = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
    kept = {}
    for name, bundle in found.items():
        if not isinstance(bundle, dict) or not re.match(r"^[\w.-]{1,100}$", str(name)):
            continue
        images = {k: v for k, v in bundle.items() if k in IMAGE_TYPES and isinstance(v, str)
                  and BASE64.match(v) and len(v) <= MAX_IMAGE}
        if images:
            kept[name] = images
    return kept


def make_safe(nb: dict) -> list[str]:
    """Rebuild ``nb`` (a notebook as a dict, changed in place) as described above; the notes say what changed."""
    notes: list[str] = []
    total = 0
    kernelspec = nb.get("metadata", {}).get("kernelspec") if isinstance(nb.get("metadata"), dict) else None
    safe_spec = {k: str(v)[:100] for k, v in kernelspec.items() if k in ("name", "display_name", "language")} if isinstance(kernelspec, dict) else {}
    nb["metadata"] = {"kernelspec": safe_spec, "language_info": {"name": "python"}}
    for index, cell in enumerate(nb.get("cells", [])):
        where = f"cell {index}"
        cell["metadata"] = _cell_metadata(cell.get("metadata"))
        if "id" in cell and not (isinstance(cell["id"], str) and CELL_ID.match(cell["id"])):
            cell["id"] = f"cell-{index}"
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            cell["source"] = clean_markdown(source)
            attachments = _attachments(cell)
            cell.pop("attachments", None)
            if attachments:
                cell["attachments"] = attachments
            continue
        if cell.get("cell_type") != "code":
            cell["cell_type"] = "raw"
            cell["source"] = html.escape(source)
            cell.pop("attachments", None)
            continue
        cell["source"] = source
        cell["execution_count"] = _count(cell.get("execution_count"))
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        kept = []
        for out in outputs:
            rebuilt = _output(out, notes, where)
            if rebuilt is None:
                continue
            if len(kept) >= MAX_OUTPUTS or total + _size(rebuilt) > MAX_TOTAL:
                notes.append(f"{where}: outputs past the cap removed")
                break
            total += _size(rebuilt)
            kept.append(rebuilt)
        cell["outputs"] = kept
    return notes
