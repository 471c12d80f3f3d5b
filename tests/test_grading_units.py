"""Fast checks of the grading package's pure parts: repair, tamper scan, statuses, feedback, sandbox argv."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from tests.adversarial import cases
from tests.conftest import ROOT
from tfscourse_staff.grading import feedback, repair, sandbox, status, tamper
from tfscourse_staff.submissions import fill

RELEASE = nbformat.read(str(ROOT / "release/01_self_attention/self_attention.ipynb"), as_version=4)
MASTER = nbformat.read(str(ROOT / "course/01_self_attention/self_attention.ipynb"), as_version=4)
PROBE = {"root": "/course", "repo": str(ROOT), "port": 9}


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def _check(name):
    files = cases.build(name, RELEASE, MASTER, PROBE)
    return repair.check_and_repair(files, {"self_attention": RELEASE})["self_attention"]


def test_correct_submission_needs_no_repair():
    checked = _check("correct")
    assert not checked.invalid and checked.repairs == []


@pytest.mark.parametrize("name", ["deleted_cells", "duplicated_cells", "retyped_cells", "stripped_metadata", "wrong_name"])
def test_repairs_restore_the_release_structure(name):
    checked = _check(name)
    assert checked.repairs, "every repair must be reported"
    got = [g for g in _ids(checked.notebook) if g]
    assert got == [g for g in _ids(RELEASE) if g], "each release cell once, in the release order"
    for cell, ref in zip([c for c in checked.notebook.cells if c.metadata.get("nbgrader")], RELEASE.cells):
        assert cell.cell_type == ref.cell_type


def test_duplicated_answer_keeps_the_students_work():
    checked = _check("duplicated_cells")
    softmax = [c for c in checked.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax"]
    assert len(softmax) == 1 and "np.exp" in softmax[0].source


@pytest.mark.parametrize("name, reason", [("malformed_json", "not valid JSON"), ("not_a_notebook", "not a Jupyter notebook")])
def test_invalid_files_get_a_reason(name, reason):
    assert reason in _check(name).invalid


def test_missing_notebook_is_invalid():
    out = repair.check_and_repair({"notes.txt": b"hi"}, {"self_attention": RELEASE})["self_attention"]
    assert "no notebook" in out.invalid


def test_broken_cell_structure_is_rebuilt():
    nb = json.loads(nbformat.writes(fill(RELEASE, MASTER)))
    for cell in nb["cells"]:
        cell.pop("outputs", None)
        cell.pop("id", None)
    checked = repair.check_notebook("self_attention", json.dumps(nb).encode(), RELEASE)
    assert not checked.invalid and any("rebuilt" in r for r in checked.repairs)


@pytest.mark.parametrize("source, rule", [
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "patch-library"),
    ("import numpy\nsetattr(numpy, 'isclose', None)", "patch-library"),
    ("import torch as T\nT.Tensor.__eq__ = lambda a, b: True", "patch-library"),
    ("import builtins\nbuiltins.abs = lambda x: 0", "patch-library"),
    ("__builtins__.isinstance = lambda a, b: True", "patch-library"),
    ("from IPython import get_ipython\nget_ipython().events.register('pre_run_cell', f)", "own-source"),
    ("def abs(x):\n    return 0", "shadow-builtin"),
    ("import inspect\nf = inspect.currentframe().f_back.f_locals", "frame-inspection"),
    ("import sys\nv = sys._getframe(1).f_locals", "frame-inspection"),
    ("print(In[-1])", "own-source"),
    ("src = open('self_attention.ipynb').read()", "own-source"),
    ("%history -g", "own-source"),
    ("import os\nos._exit(0)", "process-exit"),
    ("import sys\nsys.exit()", "process-exit"),
    ("raise SystemExit(1)", "process-exit"),
    ("quit()", "process-exit"),
    ("import socket", "escape"),
    ("!cat ../../*/gradebook.db", "escape"),
    ("open('../../other_student/01/x.ipynb')", "own-source"),
])
def test_tamper_rules(source, rule):
    assert rule in {f["rule"] for f in tamper.scan_source(source)}


@pytest.mark.parametrize("source", [
    "import numpy as np\n\ndef softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis, keepdims=True))\n    return e / e.sum(axis, keepdims=True)",
    "import torch\nx = torch.zeros(3)\nx[0] = 1.0\nmodel = torch.nn.Linear(2, 2)\nmodel.weight.data[:] = 0",
    "def f(values):\n    total = sum(values)\n    return abs(total)",
    "for i in range(3):\n    print(i)",
])
def test_tamper_scan_ignores_honest_code(source):
    assert not tamper.is_suspicious(tamper.scan_source(source))


def test_solutions_of_every_notebook_are_not_suspicious():
    from tfscourse_staff.notebooks import assignments

    for name, path in assignments(ROOT).items():
        release = ROOT / "release" / name / path.name
        if release.exists():
            nb = fill(nbformat.read(str(release), as_version=4), nbformat.read(str(path), as_version=4))
            findings = [f for f in tamper.scan_notebook(nb) if f["severity"] == "high"]
            assert not findings, f"{name}: {findings}"


def test_worst_status_wins():
    assert status.worst([status.REPAIRED, status.TIMED_OUT, status.SUSPICIOUS]) == status.TIMED_OUT
    assert status.worst([]) == status.GRADED
    o = status.Outcome("s", "a", score=None, max_score=27)
    o.add(status.KERNEL_DIED)
    assert o.cell == "kernel died", "a crash is never shown as a score"



def test_table_tells_graded_failed_and_missing_apart():
    outcomes = [
        status.Outcome("ada", "01", score=27, max_score=27, written_pending=True),
        status.Outcome("ada", "02", status=status.FAILED),
        status.Outcome("ben", "01", score=0, max_score=27),
    ]
    timed_out = status.Outcome("ben", "02", score=3, max_score=21)
    timed_out.add(status.TIMED_OUT)
    lines = status.format_table([*outcomes, timed_out]).splitlines()
    assert lines[0].split() == ["student", "01", "02", "status"]
    ada, ben = lines[2], lines[3]
    assert ada.startswith("ada") and "27/27 + written" in ada and "failed to run" in ada
    assert ada.endswith("failed to run 1, graded 1")
    assert "3/21 (timed out)" in ben and ben.endswith("timed out 1, graded 1")
    only_ada = status.format_table([outcomes[0], status.Outcome("ben", "02", score=1, max_score=21)])
    assert only_ada.splitlines()[2].endswith("graded 1, missing 1"), "an absent submission counts as missing"

def test_feedback_hides_hidden_tests_and_tracebacks():
    nb = copy.deepcopy(MASTER)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    assert "### BEGIN HIDDEN TESTS" in test.source
    hidden = test.source.split("### BEGIN HIDDEN TESTS")[1].strip().split("\n")[0]
    test.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="softmax is wrong",
                                           traceback=[f"---> 12 {hidden}", "AssertionError: softmax is wrong"])]
    safe = feedback.sanitize(nb)
    text = nbformat.writes(safe)
    assert hidden not in text and "BEGIN HIDDEN" not in text
    assert "| `test_softmax` | 2 | **failed** | AssertionError: softmax is wrong |" in safe.cells[0].source
    assert "| `test_causal_mask` | 2 | passed |" in safe.cells[0].source


def test_sandbox_command_hides_the_course():
    policy = sandbox.Policy(workdir="/tmp/job/course/autograded/s/a", socket_dir="/tmp/job/kernel",
                            readonly=["/opt/python"], uid=61001, memory_mb=1000)
    argv = sandbox.command(policy, ["python", "-m", "ipykernel_launcher"])
    assert argv[0] == "bwrap" and "--unshare-net" in argv and "--clearenv" in argv
    binds = [argv[i + 1] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    assert str(ROOT) not in binds and not any(b.endswith(("submitted", "gradebook.db", "course")) for b in binds)
    writable = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert writable == ["/tmp/job/kernel", "/tmp/job/course/autograded/s/a"]
    assert f"--as={1000 * 2**20}" in argv


def test_cli_has_the_grade_command(capsys):
    from tfscourse_staff.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--workers", "--timeout", "--memory", "--distributed"):
        assert option in text
