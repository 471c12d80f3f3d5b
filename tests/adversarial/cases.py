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
without cheating), ``"before:GRADE_ID"`` (the points of the test cells before that
answer cell: the rest of the notebook did not run), ``"some"`` (a score, less than
full marks: graded up to a time limit that depends on the machine's speed) or
``"any"`` (not checked: the student's own code broke, or the
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
    status: str  # expected status in grading_summary.csv ("A or B": either, depending on the machine's speed)
    score: float | str | None  # see the module docstring
    why: str


CASES = [
    Case("correct", "graded", FULL, "the instructor's solution"),
    Case("correct_twin", "graded", FULL, "a second correct submission in the same batch"),
    Case("infinite_loop", "timed out", FULL, "an endless loop after softmax: the cell is interrupted, the rest is graded"),
    Case("memory_bomb", "out of memory", FULL, "allocates 8 GB after causal_mask: MemoryError at the limit"),
    Case("fork_bomb", "suspicious or timed out", "any", "forks until the process limit (children sleep): stopped there, "
         "flagged; timed out where forking a few hundred copies of the kernel takes longer than the cell limit"),
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
    Case("links_out", "suspicious", FULL, "plants symbolic and hard links in its folder toward a root-only canary file, "
         "the gradebook, another student's notebook and the master notebook, for the grader to write or read through"),
    Case("html_payload", "graded", FULL, "HTML, JavaScript, SVG and markdown outputs, a written answer, a raw cell and "
         "cell tags that carry scripts: nothing of it may run in the feedback or formgrader"),
    Case("leaks_hidden", "suspicious", FULL, "a post_run_cell hook prints every cell it ran and an answer prints In: "
         "the hidden tests must not reach the feedback"),
    Case("test_marked_solution", "repaired", "as_control", "wrong softmax; its test cell marked as an answer "
         "(\"solution\": true) and emptied"),
    Case("test_marked_ungraded", "repaired", "as_control", "wrong softmax; its test cell marked \"grade\": false"),
    Case("ignores_interrupt", "timed out", "before:causal_mask", "an endless loop that swallows KeyboardInterrupt in "
         "causal_mask: the kernel is ended, the tests before it keep their points"),
    Case("slow_cells", "timed out", "some", "every answer cell sleeps just under the cell limit: the submission's limit "
         "stops it, with the points earned before"),
    Case("tmp_filler", "graded", FULL, "writes up to 3 GB into /tmp and /dev/shm (memory the address-space limit "
         "does not see): the sandbox's /tmp is capped"),
    Case("many_files", "graded", FULL, "leaves 3000 files and a 30 MB file in its folder: only a few small "
         "allowed files come back"),
    Case("image_flood", "graded", FULL, "displays 20 images of 3 MB each: each image over the cap becomes a note"),
    Case("bad_ipynb_left", "suspicious", FULL, "leaves a broken .ipynb in its folder (it once stopped everyone's feedback); the .ipynb path is flagged"),
    Case("huge_cell", "out of memory or suspicious or timed out", "any", "a 12 MB answer cell: the grader checks it "
         "within limits and flags it instead of scanning it; the kernel runs out of memory compiling it, or (with memory "
         "to spare) runs it, flagged for review, or (on a busy machine) passes the time limit while compiling it"),
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


ASSIGNMENT_FOLDER = "01_self_attention"
SCRIPT = "document.title = 'PWNED'; window.__pwned = true"

LINKS = '''
import json, os
_targets = {{"self_attention.ipynb": {canary!r}, "gradebook.db": {root!r} + "/gradebook.db", "notes.txt": {other!r},
            "master.json": {master!r}, "probe.json": {canary!r}}}
_made = {{}}
for _name, _target in _targets.items():
    for _kind, _link in (("symlink", os.symlink), ("hardlink", os.link)):
        _as = _name if _kind == "symlink" else "hard_" + _name + ".txt"
        try:
            _link(_target, _as)
            _made[_as] = _kind
        except OSError as _e:
            _made[_as] = str(_e)
os.symlink("/", "root.txt")
with open("links.json", "w") as _f:
    json.dump(_made, _f)
'''

HTML_OUTPUTS = f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML({f'<script>{SCRIPT}</script><img src=x onerror="{SCRIPT}">'!r}))
display(Javascript({SCRIPT!r}))
display(SVG({f'<svg xmlns="http://www.w3.org/2000/svg"><script>{SCRIPT}</script></svg>'!r}))
display(Markdown({f'[click me](javascript:window.__pwned=true) <img src=x onerror="{SCRIPT}">'!r}))
display({{"image/png": {f'x" onerror="{SCRIPT}'!r}, "text/plain": "a picture"}}, raw=True)
"""
HTML_ANSWER = (f"<script>{SCRIPT}</script>\n\n<img src=x onerror=\"{SCRIPT}\">\n\n"
               "[a link](javascript:window.__pwned=true) ![a picture](javascript:window.__pwned=true)\n")

HOOK = '''
from IPython import get_ipython


def _echo(result):
    print("ran:", result.info.raw_cell)


get_ipython().events.register("post_run_cell", _echo)
'''

SWALLOW = '''
import time
while True:
    try:
        time.sleep(0.5)
    except KeyboardInterrupt:
        pass
'''

TMP_FILLER = '''
import json, os
_written = {}
for _folder in ("/tmp", "/dev/shm"):
    _written[_folder] = 0
    _chunk = b"x" * 2**20  # written a megabyte at a time: the kernel's own memory stays small
    try:
        for _i in range(30):
            with open(f"{_folder}/fill{_i}", "wb") as _f:
                for _ in range(100):
                    _f.write(_chunk)
                    _written[_folder] += len(_chunk)
    except OSError:
        pass
    for _i in range(30):
        if os.path.exists(f"{_folder}/fill{_i}"):
            os.remove(f"{_folder}/fill{_i}")
with open("tmpfill.json", "w") as _f:
    json.dump(_written, _f)
'''

MANY_FILES = '''
for _i in range(3000):
    with open(f"f{_i}.txt", "w") as _f:
        _f.write("x")
with open("big.txt", "wb") as _f:
    for _ in range(30):
        _f.write(b"x" * 2**20)
'''

IMAGE_FLOOD = '''
import base64, os
from IPython.display import display
for _i in range(20):
    display({"image/png": base64.b64encode(os.urandom(3_000_000)).decode(), "text/plain": "noise"}, raw=True)
'''

ANSWER_CELLS = ("softmax", "scaled_dot_product_attention", "cat_answers", "self_attention", "positional_encoding",
                "argmax_attention", "extraction_matrix", "weight_on_a", "causal_mask", "attention_multiply_adds", "concept_answers")


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
        _append(nb, "attention_multiply_adds", (
            "import os, time\n_children = 0\nwhile _children < 100000:\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(120)\n        os._exit(0)\n    _children += 1\n"
            "print('forked', _children)"))
    elif name == "os_exit":
        _append(nb, "concept_answers", "import os\nos._exit(1)")
    elif name == "sys_exit":
        _append(nb, "causal_mask", "import sys\nsys.exit(0)")
    elif name == "huge_output":
        _append(nb, "attention_multiply_adds", "print('x' * 5_000_000)\nfor _i in range(20000):\n    print(_i)")
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
        _append(nb, "attention_multiply_adds", PROBE.format(**probe) + SAVE)
    elif name == "network":
        _append(nb, "attention_multiply_adds", PROBE.format(**probe) + NET.format(**probe) + SAVE)
    elif name == "links_out":
        root = probe["root"]
        _append(nb, "attention_multiply_adds", LINKS.format(
            root=root, canary=f"{root}/canary.txt", other=f"{root}/submitted/correct/{ASSIGNMENT_FOLDER}/{NOTEBOOK}",
            master=f"{root}/course/{ASSIGNMENT_FOLDER}/{NOTEBOOK}"))
    elif name == "html_payload":
        _append(nb, "attention_multiply_adds", HTML_OUTPUTS)
        _cell(nb, "juventus_discussion").source = HTML_ANSWER
        raw = nbformat.v4.new_raw_cell(f"<script>{SCRIPT}</script>")
        raw.metadata = {"format": "text/html", "raw_mimetype": "text/html"}
        nb.cells.append(raw)
        _cell(nb, "timing_plot").metadata["tags"] = [f'x" onmouseover="{SCRIPT}']
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
                                  "state": {"w1": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                                                   "model_module_version": "2.0.0",
                                                   "state": {"value": f"<img src=x onerror=\"{SCRIPT}\">"}}}}}
    elif name == "leaks_hidden":
        _append(nb, "softmax", HOOK)
        _append(nb, "concept_answers", "print(In)")
        nb.cells.append(nbformat.v4.new_code_cell("raise ValueError(str(In))"))
    elif name in ("test_marked_solution", "test_marked_ungraded"):
        _cell(nb, "softmax").source = WRONG_SOFTMAX
        test = _cell(nb, "test_softmax")
        if name == "test_marked_solution":
            test.metadata["nbgrader"]["solution"] = True
            test.source = "pass"
        else:
            test.metadata["nbgrader"]["grade"] = False
    elif name == "ignores_interrupt":
        _append(nb, "causal_mask", SWALLOW)
    elif name == "slow_cells":
        for gid in ANSWER_CELLS:
            _append(nb, gid, "import time\ntime.sleep(19)")
    elif name == "tmp_filler":
        _append(nb, "attention_multiply_adds", TMP_FILLER)
    elif name == "many_files":
        _append(nb, "concept_answers", MANY_FILES)
    elif name == "image_flood":
        _append(nb, "attention_multiply_adds", IMAGE_FLOOD)
    elif name == "bad_ipynb_left":
        _append(nb, "attention_multiply_adds", "with open('broken.ipynb', 'w') as _f:\n    _f.write('{not json')")
    elif name == "huge_cell":
        _append(nb, "softmax", "# " + "x" * 12_000_000)
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
