"""Adversarial submissions of notebook 01, each with the status and score the grader must give.

Every case starts from the *release* of notebook 01 with the instructor's
solutions filled in (``tfscourse_staff.submissions.fill``: 27/27 autograded points)
and then does one bad thing. ``build(case, release, master, probe)`` returns the
submitted files (name -> bytes); ``probe`` is a dict of paths the sandbox must
hide (``root``: the test course, ``repo``: this repository, ``port``: a TCP
server on the host's loopback), written into the payloads that try to reach them.

``score`` is the expected autograded score: a number, ``None`` (no score: the
submission could not be graded, never shown as 0) or ``"as_control"`` (the same
score as the ``control_wrong_softmax`` submission, which makes the same mistake
without cheating) or ``"any"`` (not checked: the student's own code broke, or the
score is left to the instructor's review of the tamper report). Run ``python -m tests.adversarial.cases OUT/`` to write the
notebooks out for a look (one folder per case).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import nbformat

from tfscourse_staff.submissions import fill

FULL = 27.0
NOTEBOOK = "self_attention.ipynb"


@dataclass(frozen=True)
class Case:
    name: str
    status: str  # expected status in grading_summary.csv
    score: float | str | None  # see the module docstring
    why: str


CASES = [
    Case("correct", "graded", FULL, "the instructor's solution"),
    Case("correct_twin", "graded", FULL, "a second correct submission in the same batch"),
    Case("infinite_loop", "timed out", FULL, "an endless loop after softmax: the cell is interrupted, the rest is graded"),
    Case("memory_bomb", "out of memory", FULL, "allocates 8 GB after causal_mask: MemoryError at the limit"),
    Case("fork_bomb", "suspicious", "any", "forks until the process limit (children sleep): stopped there, flagged"),
    Case("os_exit", "kernel died", None, "os._exit(1) in the last answer cell: no grades, no ordinary 0"),
    Case("sys_exit", "suspicious", FULL, "sys.exit() in an answer cell: IPython catches it, the process exit is flagged"),
    Case("huge_output", "graded", FULL, "prints 5 MB on one line and 20000 lines: the autograded notebook keeps 100 kB per output"),
    Case("stderr_output", "graded", FULL, "a correct softmax that prints to stderr (plain nbgrader: 0 for its tests)"),
    Case("control_wrong_softmax", "graded", "as_control", "softmax returns its input (an honest mistake)"),
    Case("monkeypatch", "suspicious", "as_control", "same wrong softmax, np.allclose/np.testing/torch.allclose patched"),
    Case("shadow_builtin", "suspicious", "any", "wrong softmax plus abs() and isinstance() redefined: flagged for review"),
    Case("deleted_cells", "repaired", FULL, "test_softmax and cat_data deleted: put back from the release"),
    Case("duplicated_cells", "repaired", FULL, "answer and test cells duplicated"),
    Case("retyped_cells", "repaired", FULL, "the causal_mask answer cell turned into markdown"),
    Case("stripped_metadata", "repaired", FULL, "all nbgrader metadata removed (an editor that drops it)"),
    Case("malformed_json", "invalid", None, "the file is cut in the middle"),
    Case("not_a_notebook", "invalid", None, "valid JSON, but not a notebook"),
    Case("wrong_name", "repaired", FULL, "saved as 'Self_Attention (1).ipynb'"),
    Case("reads_others", "suspicious", FULL, "tries to read and write other students, the gradebook, course/"),
    Case("network", "suspicious", FULL, "tries to open TCP connections to the host's loopback and the internet"),
]
BY_NAME = {c.name: c for c in CASES}


def _cell(nb, gid):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def _append(nb, gid, code):
    cell = _cell(nb, gid)
    cell.source = cell.source.rstrip() + "\n\n" + code.strip() + "\n"


WRONG_SOFTMAX = "import numpy as np\n\n\ndef softmax(x, axis=-1):\n    return np.asarray(x, dtype=float)\n"

PROBE = '''
import json, os, socket
_probe = {{"read": {{}}, "write": {{}}, "net": {{}}}}
for _p in [{root!r} + "/gradebook.db", {root!r} + "/submitted", {root!r} + "/course", {root!r} + "/release",
           {root!r} + "/autograded", {repo!r} + "/course", {repo!r} + "/gradebook.db", {repo!r} + "/tests", "../../..", "../other"]:
    try:
        _probe["read"][_p] = sorted(os.listdir(_p)) if os.path.isdir(_p) else len(open(_p, "rb").read())
    except Exception as _e:
        _probe["read"][_p] = None
for _p in [{root!r} + "/hacked.txt", {repo!r} + "/hacked.txt", "../hacked.txt", "/tmp/../hacked.txt"]:
    try:
        with open(_p, "w") as _f:
            _f.write("hacked")
        _probe["write"][_p] = os.path.realpath(_p)
    except Exception:
        _probe["write"][_p] = None
'''

NET = '''
for _host, _port in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("pypi.org", 443)]:
    try:
        socket.create_connection((_host, _port), timeout=3).close()
        _probe["net"][_host] = True
    except Exception:
        _probe["net"][_host] = False
'''

SAVE = '''
with open("probe.json", "w") as _f:
    json.dump(_probe, _f)
'''


def build(name: str, release, master, probe: dict) -> dict[str, bytes]:
    """The files one adversarial student submits (see the module docstring)."""
    nb = fill(release, master)
    files_name = NOTEBOOK
    if name in ("correct", "correct_twin"):
        pass
    elif name == "infinite_loop":
        _append(nb, "softmax", "while True:\n    pass")
    elif name == "memory_bomb":
        _append(nb, "causal_mask", "_bomb = bytearray(8 * 2**30)")
    elif name == "fork_bomb":
        _append(nb, "attention_flops", (
            "import os, time\n_children = 0\nwhile _children < 100000:\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(120)\n        os._exit(0)\n    _children += 1\n"
            "print('forked', _children)"))
    elif name == "os_exit":
        _append(nb, "concept_answers", "import os\nos._exit(1)")
    elif name == "sys_exit":
        _append(nb, "causal_mask", "import sys\nsys.exit(0)")
    elif name == "huge_output":
        _append(nb, "attention_flops", "print('x' * 5_000_000)\nfor _i in range(20000):\n    print(_i)")
    elif name == "stderr_output":
        cell = _cell(nb, "softmax")
        cell.source = "import sys\n" + cell.source.replace(
            "def softmax(x, axis=-1):\n", "def softmax(x, axis=-1):\n    print('softmax called', file=sys.stderr)\n", 1)
    elif name == "control_wrong_softmax":
        _cell(nb, "softmax").source = WRONG_SOFTMAX
    elif name == "monkeypatch":
        _cell(nb, "softmax").source = WRONG_SOFTMAX + (
            "\nimport torch\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "np.array_equal = lambda *a, **k: True\ntorch.allclose = lambda *a, **k: True\n")
    elif name == "shadow_builtin":
        _cell(nb, "softmax").source = WRONG_SOFTMAX + (
            "\n\ndef abs(x):\n    return 0.0\n\n\ndef isinstance(obj, kind):\n    return True\n")
    elif name == "deleted_cells":
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in ("test_softmax", "cat_data")]
    elif name == "duplicated_cells":
        i = nb.cells.index(_cell(nb, "softmax"))
        stub = copy.deepcopy(_cell(release, "softmax"))
        nb.cells.insert(i, stub)  # the release stub first, the student's answer after it
        t = nb.cells.index(_cell(nb, "test_causal_mask"))
        nb.cells.insert(t + 1, copy.deepcopy(nb.cells[t]))
    elif name == "retyped_cells":
        cell = _cell(nb, "causal_mask")
        md = nbformat.v4.new_markdown_cell(cell.source)
        md.metadata = copy.deepcopy(cell.metadata)
        nb.cells[nb.cells.index(cell)] = md
    elif name == "stripped_metadata":
        for cell in nb.cells:
            cell.metadata = {}
        nb.metadata = {}
    elif name == "malformed_json":
        text = nbformat.writes(nb)
        return {files_name: text[: len(text) // 2].encode()}
    elif name == "not_a_notebook":
        return {files_name: json.dumps({"answers": {"softmax": "def softmax(x): ..."}}).encode()}
    elif name == "wrong_name":
        files_name = "Self_Attention (1).ipynb"
    elif name == "reads_others":
        _append(nb, "attention_flops", PROBE.format(**probe) + SAVE)
    elif name == "network":
        _append(nb, "attention_flops", PROBE.format(**probe) + NET.format(**probe) + SAVE)
    else:
        raise KeyError(name)
    return {files_name: nbformat.writes(nb).encode()}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    release = nbformat.read(str(repo / "release/01_self_attention" / NOTEBOOK), as_version=4)
    master = nbformat.read(str(repo / "course/01_self_attention" / NOTEBOOK), as_version=4)
    out = Path(sys.argv[1])
    for case in CASES:
        for fname, data in build(case.name, release, master, {"root": "/course", "repo": str(repo), "port": 9}).items():
            target = out / case.name / "01_self_attention" / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        print(f"{case.name:24s} {case.status:14s} {case.score!s:10s} {case.why}")
