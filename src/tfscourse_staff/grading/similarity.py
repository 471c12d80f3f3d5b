"""Pairs of students whose answer cells are unusually similar: the similarity part of the class report.

How a pair is found (winnowing, Schleimer, Wilkerson and Aiken 2003, the method behind MOSS;
the hashing and winnowing are ``copydetect``'s):

1. Each student's *answer cells* (code cells that hold a solution; never the locked cells or
   tests) are joined into one document and normalised: comments and whitespace dropped,
   every variable and attribute name becomes ``V``, a defined function ``F``, a class ``O``,
   a string ``S``; keywords, builtins, numbers and operators stay. Renaming variables or
   adding comments therefore changes nothing. This follows ``copydetect.utils.filter_code``
   but uses Python's own tokenizer: copydetect's (pygments) costs about 80 ms per student on
   this machine, Python's about 15 ms; code Python cannot tokenize falls back to copydetect's.
2. The normalised text is cut into k-grams, hashed and winnowed
   (``copydetect.utils.get_document_fingerprints``): a sample of hashes that still guarantees
   every shared passage of ``GUARANTEE`` characters is seen. Fingerprints are a set:
   reordering whole functions keeps all but those across the moved boundaries.
3. Fingerprints of the release notebook's answer cells (the code and stubs every student
   starts from) are removed, and so are those that more than ``max_share`` of the class
   holds (the model solution and common mistakes: shared by many, evidence of nothing).
4. Only students who share a remaining, *rare* fingerprint become candidate pairs (an
   inverted index: fingerprint -> holders), so 1000 students are not compared in all 500 000
   pairs. A pair's score is the share of the smaller set of rare fingerprints that the other
   holds.

copydetect's own ``CopyDetector`` compares every pair of files and has no class-wide filter,
which is why only its fingerprinting is used here.

Example: find_similar({"ada": {...}, "ben": {...}}, boilerplate={...})[0] -> Pair("ada", "ben", 0.93, 41)
"""

from __future__ import annotations

import builtins
import io
import json
import keyword
import math
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from tfscourse_staff.grading.class_data import MAX_NOTEBOOK_BYTES

NOISE = 25  # k: normalised characters per k-gram (shorter shared passages are noise)
GUARANTEE = 30  # every shared passage this long is certain to be caught
MIN_FINGERPRINTS = 10  # a student with fewer rare fingerprints than this counts as having this many
_BUILTINS = set(dir(builtins))


@dataclass
class Pair:
    first: str
    second: str
    score: float  # share of the smaller set of rare fingerprints found in the other
    shared: int  # number of rare fingerprints in common


def normalise(code: str) -> str:
    """Python ``code`` normalised in the manner of copydetect's ``filter_code``.

    Example: "def f(x):  # hi\n    return len(x.shape) + 1" -> "defF(V):returnlen(V.V)+1"
    """
    from copydetect.utils import filter_code

    out = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME:
                if keyword.iskeyword(tok.string) or (tok.string in _BUILTINS and previous != "."):
                    out.append(tok.string)
                else:
                    out.append({"def": "F", "class": "O"}.get(previous, "V"))
            elif tok.type == tokenize.STRING:
                out.append("S")
            elif tok.type in (tokenize.OP, tokenize.NUMBER):
                out.append(tok.string)
            previous = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return filter_code(code, "answer.py", language="python")[0]
    return "".join(out)


def fingerprints(code: str) -> set:
    """Winnowed fingerprints of normalised Python ``code`` (empty for very short code)."""
    from copydetect.utils import get_document_fingerprints

    normalised = normalise(code)
    if len(normalised) < NOISE:
        return set()
    hashes, _ = get_document_fingerprints(normalised, NOISE, GUARANTEE - NOISE + 1)
    return {int(h) for h in hashes}


def answer_sources(nb) -> dict[str, str]:
    """Answer cell grade_id -> source, for the code answer cells of a notebook (JSON as read, or nbformat's)."""
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and isinstance(meta.get("grade_id"), str):
            source = cell.get("source", "")
            found[meta["grade_id"]] = source if isinstance(source, str) else "".join(map(str, source))
    return found


def read_answers(root: Path, assignment: str) -> dict[str, dict[str, str]]:
    """Student -> answer cell -> source, from ``submitted/`` (unreadable notebooks are skipped)."""
    answers: dict[str, dict[str, str]] = {}
    for path in sorted((Path(root) / "submitted").glob(f"*/{assignment}/*.ipynb")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
            continue
        try:
            nb = json.loads(path.read_bytes())
            cells = answer_sources(nb)
        except (ValueError, AttributeError, TypeError):  # broken notebooks are reported by grading
            continue
        answers.setdefault(path.parts[-3], {}).update({f"{path.stem}/{k}": v for k, v in cells.items()})
    return answers


def find_similar(answers: dict[str, dict[str, str]], boilerplate: set | None = None, *,
                 max_share: float = 0.02, min_holders_cap: int = 4, top: int = 20) -> list[Pair]:
    """The ``top`` most similar pairs of students, best first.

    A fingerprint held by more than ``max(min_holders_cap, max_share * class size)`` students is
    common knowledge and ignored (so a group of up to ``min_holders_cap`` students sharing a
    passage is always looked at, also in small classes).
    """
    boilerplate = boilerplate or set()
    prints = {s: fingerprints("\n".join(cells.values())) - boilerplate for s, cells in answers.items()}
    holders: dict[int, list[str]] = defaultdict(list)
    for student, found in prints.items():
        for value in found:
            holders[value].append(student)
    cap = max(min_holders_cap, math.floor(max_share * len(answers)))
    rare = {value: who for value, who in holders.items() if len(who) <= cap}
    rare_count = Counter(s for who in rare.values() for s in who)
    shared: Counter = Counter()
    for who in rare.values():
        if len(who) > 1:
            ordered = sorted(who)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    shared[(a, b)] += 1
    pairs = [Pair(a, b, n / max(min(rare_count[a], rare_count[b]), MIN_FINGERPRINTS), n)
             for (a, b), n in shared.items()]
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.first, p.second))
    return pairs[:top]


def release_boilerplate(release_nbs) -> set:
    """Fingerprints of the answer cells as released (stubs and given code): never evidence."""
    found: set = set()
    for nb in release_nbs:
        for source in answer_sources(nb).values():
            found |= fingerprints(source)
    return found


def shared_cells(first: dict[str, str], second: dict[str, str], boilerplate: set) -> list[tuple[str, float]]:
    """Per answer cell of a pair: the share of its non-boilerplate fingerprints in common (side-by-side view)."""
    rows = []
    for cell in first:
        a = fingerprints(first.get(cell, "")) - boilerplate
        b = fingerprints(second.get(cell, "")) - boilerplate
        rows.append((cell, len(a & b) / min(len(a), len(b)) if a and b else 0.0))
    return rows
