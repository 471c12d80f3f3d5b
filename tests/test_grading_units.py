"""Fast checks of the grading package's pure parts: repair, tamper scan, statuses, feedback, sandbox argv."""

from __future__ import annotations

import base64
import copy
import csv
import json
import os
import subprocess
import sys

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
    mask_points = next(c.metadata.nbgrader["points"] for c in nb.cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "test_causal_mask")
    assert f"| `test_causal_mask` | {mask_points:g} | passed |" in safe.cells[0].source


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


def _snapshot(path):
    info = path.stat()
    return path.read_bytes(), info.st_mode, info.st_mtime_ns, info.st_nlink


def test_collect_reads_no_link_and_touches_no_target(tmp_path):
    from tfscourse_staff.grading import untrusted

    canary = tmp_path / "canary.txt"
    canary.write_text("root only")
    canary.chmod(0o600)
    before = _snapshot(canary)
    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "notes.txt").symlink_to(canary)
    (folder / "a_up.json").symlink_to(tmp_path)
    (folder / "hard.txt").hardlink_to(canary)
    os.mkfifo(folder / "a_pipe.txt")
    (folder / "big.json").write_bytes(b"x" * (3 * 2**20))
    for name in ("x.ipynb", "y.py", "z.html", "w.svg", ".hidden.txt"):
        (folder / name).write_text("not on the list")
    for i in range(25):
        (folder / f"out{i:02d}.txt").write_text(str(i))
    files, skipped = untrusted.collect(folder, caps=untrusted.Caps(max_files=20))
    assert sorted(files) == [f"out{i:02d}.txt" for i in range(20)]
    reasons = " ".join(skipped)
    for name, why in [("notes.txt", "link"), ("a_up.json", "link"), ("hard.txt", "hard link"), ("a_pipe.txt", "regular"),
                      ("big.json", "larger"), ("out24.txt", "more than 20"), ("'x.ipynb'", "list")]:
        assert f"{name}: " in reasons and why in next(s for s in skipped if s.startswith(f"{name}:")), (name, skipped)
    canary_now = _snapshot(canary)
    assert canary_now[:3] == before[:3], "the canary was read through or changed"


def test_a_parser_that_blows_up_costs_a_result_not_the_grader():
    from tfscourse_staff.grading import untrusted

    cells = [{"cell_type": "code", "metadata": {}, "source": "x", "outputs": [], "execution_count": None}] * 200_000
    payload = {"files": {"self_attention.ipynb": base64.b64encode(json.dumps({"cells": cells}).encode()).decode()},
               "releases": {"self_attention": nbformat.writes(RELEASE)}}
    with pytest.raises(untrusted.LimitExceeded):
        untrusted.run_limited("check", payload, untrusted.Caps(memory_mb=300, cpu_seconds=20, wall_seconds=60))


def test_the_limited_check_repairs_and_scans_like_the_direct_one():
    from tfscourse_staff.grading import untrusted

    files = cases.build("monkeypatch", RELEASE, MASTER, PROBE)
    payload = {"files": {k: base64.b64encode(v).decode() for k, v in files.items()},
               "releases": {"self_attention": nbformat.writes(RELEASE)}}
    got = untrusted.run_limited("check", payload)["self_attention"]
    assert not got["invalid"] and got["repairs"] == []
    assert "patch-library" in {f["rule"] for f in got["findings"]}
    assert "np.allclose = lambda" in got["notebook"]


def test_a_huge_file_is_invalid_without_being_parsed():
    checked = repair.check_notebook("self_attention", b"{" + b" " * (repair.MAX_NOTEBOOK_BYTES + 1), RELEASE)
    assert "limit is 20 MB" in checked.invalid


def test_a_huge_cell_is_flagged_not_parsed():
    found = tamper.scan_source("x = 1\n" + "# " + "y" * (tamper.MAX_SCANNED_SOURCE + 1))
    assert [f["rule"] for f in found] == ["huge-cell"] and tamper.is_suspicious(found)


@pytest.mark.parametrize("name", ["test_marked_solution", "test_marked_ungraded"])
def test_test_cell_metadata_comes_back_from_the_release(name):
    checked = _check(name)
    test = next(c for c in checked.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    release = next(c for c in RELEASE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    assert test.metadata["nbgrader"] == release.metadata["nbgrader"]
    assert "cell test_softmax: nbgrader metadata restored (changed in the submission)" in checked.repairs


def test_nbgrader_metadata_without_a_grade_id_is_removed():
    nb = fill(RELEASE, MASTER)
    extra = nbformat.v4.new_code_cell("x = 1")
    extra.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 50}
    nb.cells.append(extra)
    checked = repair.check_notebook("self_attention", nbformat.writes(nb).encode(), RELEASE)
    assert "nbgrader" not in checked.notebook.cells[-1].metadata
    assert any("without a grade_id removed" in r for r in checked.repairs)


SCRIPT = cases.SCRIPT


def _payload_notebook():
    nb = copy.deepcopy(MASTER)
    cell = next(c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade"))
    big_image = base64.b64encode(b"\x89PNG" + b"\0" * 2_000_000).decode()
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f"<script>{SCRIPT}</script><b onclick='{SCRIPT}'>bold</b>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": SCRIPT, "text/plain": "js"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": f"<svg><script>{SCRIPT}</script></svg>"}),
        nbformat.v4.new_output("display_data", data={"image/png": f'x" onerror="{SCRIPT}', "text/plain": "bad"}),
        nbformat.v4.new_output("display_data", data={"image/png": big_image}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                               metadata={"image/png": {"width": f'1 onload="{SCRIPT}"', "height": 20}}),
        nbformat.v4.new_output("stream", name=f'x" onclick="{SCRIPT}', text="y" * 300_000),
        *[nbformat.v4.new_output("stream", name="stdout", text="line\n")] * 80,
    ]
    cell.execution_count = f"<script>{SCRIPT}</script>"
    cell.metadata["tags"] = [f'x" onmouseover="{SCRIPT}']
    answer = next(c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = cases.HTML_ANSWER
    nb.cells.append(nbformat.v4.new_raw_cell(f"<script>{SCRIPT}</script>"))
    nb.metadata["widgets"] = {"state": {"value": f"<script>{SCRIPT}</script>"}}
    return nb, cell, answer


def test_outputs_and_answers_are_rebuilt_without_script_and_capped():
    from tfscourse_staff.grading import outputs

    nb, cell, answer = _payload_notebook()
    notes = outputs.make_safe(nb)
    text = json.dumps(nb)
    for bad in ("<script", "onerror=", "onclick=", "onmouseover=", "onload=", 'href=\\"javascript', 'src=\\"javascript',
                "<svg"):
        assert bad not in text, bad
    assert set(nb["metadata"]) == {"kernelspec", "language_info"}, "no widget state or other student metadata"
    kinds = [sorted(o.get("data", {})) for o in cell["outputs"] if o["output_type"] == "display_data"]
    assert kinds == [["text/html"], ["text/plain"], ["text/plain"], ["text/plain"], ["text/plain"], ["image/png"]]
    assert cell["outputs"][5]["metadata"] == {"image/png": {"height": 20}}
    assert cell["outputs"][6]["name"] == "stdout" and len(cell["outputs"][6]["text"]) < 101_000
    assert len(cell["outputs"]) == outputs.MAX_OUTPUTS and cell["execution_count"] is None and set(cell["metadata"]) <= {"nbgrader"}
    assert "&lt;script&gt;" in answer["source"] and nb["cells"][-1]["cell_type"] == "raw"
    assert any("image of" in n for n in notes) and any("cut" in n for n in notes)
    assert outputs.make_safe(copy.deepcopy(nb)) == [] or json.dumps(nb) == text, "safe once, unchanged after"


def test_feedback_shows_no_student_output_of_a_test_cell_and_no_quote_of_hidden_tests():
    nb = copy.deepcopy(MASTER)
    hidden = sorted(feedback.hidden_lines(nb), key=len)[-1]
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran: " + test.source),
                    nbformat.v4.new_output("error", ename="AssertionError", evalue=f"leak {hidden}", traceback=[])]
    other = next(c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade"))
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"In = ['{hidden}']")]
    safe = feedback.sanitize(nb)
    text = nbformat.writes(safe)
    assert hidden not in text and "ran: " not in text
    assert f"AssertionError: {feedback.QUOTED_NOTE}" in safe.cells[0].source
    assert feedback.QUOTED_NOTE in text


def test_one_failing_feedback_does_not_stop_the_others(tmp_path, monkeypatch):
    calls = []

    def fake_generate(root, api, assignment, student):
        calls.append(student)
        if student == "broken":
            raise ValueError("Notebook does not appear to be JSON")
        return {"success": True}

    monkeypatch.setattr(feedback, "generate", fake_generate)
    outcomes = [status.Outcome(s, "a1", score=1, max_score=2) for s in ("ada", "broken", "cleo")]
    for s in ("ada", "broken", "cleo"):
        (tmp_path / "autograded" / s / "a1").mkdir(parents=True)
    feedback.generate_all(tmp_path, None, outcomes)
    assert calls == ["ada", "broken", "cleo"]
    assert "feedback failed: ValueError" in outcomes[1].detail and not outcomes[0].detail and not outcomes[2].detail


def test_export_leaves_out_only_the_student_it_cannot_export(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    from tfscourse_staff.grading import export

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("a1")
        for s in ("ada", "broken", "cleo"):
            gb.add_student(s)
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.db_url = {db!r}\n"
                                                 "c.ExportApp.plugin_class = 'no.such.Plugin'\n")
    real_export = CsvExportPlugin.export

    def export_or_fail(self, gradebook):
        if self.student == ["broken"]:
            raise RuntimeError("bad row")
        return real_export(self, gradebook)

    monkeypatch.setattr(CsvExportPlugin, "export", export_or_fail)
    outcomes = [status.Outcome(s, "a1") for s in ("ada", "broken", "cleo")]
    grades, left_out = export.export_grades(tmp_path, outcomes, db_url=db)
    rows = list(csv.DictReader(grades.open()))
    assert [r["student_id"] for r in rows] == ["ada", "cleo"]
    assert left_out == ["broken: grades not exported (RuntimeError: bad row)"]
    assert "grades not exported" in outcomes[1].detail


def test_sandbox_shows_the_kernel_only_what_it_needs():
    policy = sandbox.Policy(workdir="/tmp/job/course/autograded/s/a", scratch="/tmp/job/scratch-1",
                            socket_dir="/tmp/job/kernel", conn_dir="/tmp/job/conn", etc_dir="/tmp/job/etc",
                            readonly=["/opt/python"], uid=61001, memory_mb=1000, tmp_mb=64)
    argv = sandbox.command(policy, ["python", "-m", "ipykernel_launcher"])
    pairs = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    sources = [s for s, _ in pairs]
    assert "/etc" not in sources and "/opt" not in sources and "/opt/python" in sources
    assert ("/tmp/job/etc/passwd", "/etc/passwd") in pairs and ("/etc/ld.so.cache", "/etc/ld.so.cache") in pairs
    writable = [argv[i + 1:i + 3] for i, a in enumerate(argv) if a == "--bind"]
    assert writable == [["/tmp/job/kernel", "/tmp/job/kernel"], ["/tmp/job/scratch-1", "/tmp/job/course/autograded/s/a"]]
    tmp = argv.index("/tmp", argv.index("--tmpfs"))
    assert argv[tmp - 3:tmp - 1] == ["--size", str(64 * 2**20)]


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox user ids are handed out only when grading as root")
def test_sandbox_user_ids_are_unique_across_grader_processes(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom tfscourse_staff.grading.sandbox import UidLease\n"
         f"with UidLease(Path({str(tmp_path)!r})) as uid:\n    print(uid, flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        theirs = int(holder.stdout.readline())
        with sandbox.UidLease(tmp_path) as mine, sandbox.UidLease(tmp_path) as second:
            assert len({theirs, mine, second}) == 3
        with sandbox.UidLease(tmp_path) as again:
            assert again != theirs, "an id is free again only when its holder ends"
    finally:
        holder.kill()
        holder.wait()
