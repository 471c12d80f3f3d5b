"""One batch of adversarial submissions graded together, sandboxed and in parallel (``tests/adversarial``).

A correct submission in the same batch keeps full marks; each adversarial one
gets its expected status and score; the sandbox hides the gradebook, the other
students, ``course/`` and the network, and lets nothing be written outside the
submission's own folder; links the kernel plants lead the grader nowhere; only a
few small allowed files come back; feedback never shows hidden tests nor runs a
student's script (checked in Chromium); and the gradebook after parallel grading
equals the one after a sequential ``nbgrader autograde``.
Needs bubblewrap (``apt-get install -y bubblewrap``): skipped with the reason
only where it cannot run.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.adversarial import cases
from tests.adversarial.course import (
    ASSIGNMENT,
    REPO,
    loopback_server,
    make_course,
    master_and_release,
    submit,
)
from tfscourse_staff.cycle import ensure_released
from tfscourse_staff.grading import feedback, sandbox, status, untrusted
from tfscourse_staff.grading.job import Limits

pytestmark = pytest.mark.slow

# short limits keep the batch at a few minutes on two cores: a 20 s cell limit stops the endless loop (the
# setup cell needs ~10 s on a busy machine), 180 s per submission leaves room for a notebook on a busy machine
# and stops ``slow_cells`` (11 cells of 19 s)
# 3 GB, the default: the kernel imports torch and serves the judge (with 1.5 GB of address space it dies)
LIMITS = Limits(timeout=180, memory_mb=3072, cell_timeout=20)


def _need_sandbox():
    why = sandbox.available()
    if why:
        pytest.skip(f"bubblewrap sandbox unavailable: {why}")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    _need_sandbox()
    from tfscourse_staff.cycle import run_grade

    root = make_course(tmp_path_factory.mktemp("adversarial") / "course_root")
    master, release = master_and_release(root)
    port, accepted = loopback_server()
    probe = {"root": str(root), "repo": str(REPO), "port": port}
    for case in cases.CASES:
        submit(root, case.name, cases.build(case.name, release, master, probe))
    canary = root / "canary.txt"
    canary.write_text("root only")
    canary.chmod(0o600)
    ensure_released(root, [ASSIGNMENT])  # the gradebook exists before grading: its file must stay the same
    targets = {"canary": canary, "gradebook": root / "gradebook.db", "master": root / "course" / ASSIGNMENT / cases.NOTEBOOK,
               "other": root / "submitted" / "correct" / ASSIGNMENT / cases.NOTEBOOK}
    before = {name: _identity(path) for name, path in targets.items()}
    outcomes = run_grade(root, [ASSIGNMENT], workers=2, limits=LIMITS)
    after = {name: _identity(path) for name, path in targets.items()}
    return root, {o.student: o for o in outcomes}, accepted, (before, after, targets)


def _identity(path):
    """What a write, a replacement or a chmod through a link would change (the gradebook's content changes anyway)."""
    info = path.lstat()
    content = None if path.name == "gradebook.db" else path.read_bytes()
    return info.st_ino, info.st_mode, info.st_nlink, content


def _points_before(release, answer_id: str) -> float:
    total = 0.0
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == answer_id:
            return total
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            total += meta.get("points", 0)
    raise KeyError(answer_id)


@pytest.mark.parametrize("case", cases.CASES, ids=[c.name for c in cases.CASES])
def test_status_and_score(batch, case):
    root, outcomes, _, _ = batch
    got = outcomes[case.name]
    assert got.status in case.status.split(" or "), f"{case.why}: {got.flags} {got.detail}"
    if case.score == "as_control":
        assert got.score == outcomes["control_wrong_softmax"].score < cases.FULL
    elif str(case.score).startswith("before:"):
        expected = _points_before(master_and_release(root)[1], case.score.split(":", 1)[1])
        assert got.score == expected, f"{case.why}: {got.flags} {got.detail}"
    elif case.score == "some":
        assert got.score is not None and got.score < cases.FULL, f"{case.why}: {got.flags} {got.detail}"
    elif case.score != "any":
        assert got.score == case.score, f"{case.why}: {got.flags} {got.detail}"


def test_summary_csv_has_every_status(batch):
    root, outcomes, _, _ = batch
    rows = {r["student"]: r for r in csv.DictReader((root / "grading_summary.csv").open())}
    assert set(rows) == set(outcomes)
    assert rows["os_exit"]["status"] == status.KERNEL_DIED and rows["os_exit"]["autograded_score"] == ""
    assert "wrong notebook name" in rows["wrong_name"]["repairs"]
    assert "patch-library" in rows["monkeypatch"]["tamper_findings"]
    tamper = list(csv.DictReader((root / "tamper_report.csv").open()))
    assert {"monkeypatch", "shadow_builtin", "os_exit", "sys_exit", "network"} <= {r["student"] for r in tamper}


def test_grades_csv_never_shows_a_crash_as_plain_zero(batch):
    root, _, _, _ = batch
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading.runner import course_db_url

    with Gradebook(course_db_url(root)) as gb:
        died = gb.find_submission_notebook("self_attention", ASSIGNMENT, "os_exit")
        assert died.flagged and all(g.needs_manual_grade for g in died.grades)
        ok = gb.find_submission_notebook("self_attention", ASSIGNMENT, "correct")
        assert not ok.flagged


@pytest.mark.parametrize("student", ["reads_others", "network"])
def test_sandbox_hid_everything(batch, student):
    root, _, accepted, _ = batch

    probe = json.loads((root / "autograded" / student / ASSIGNMENT / "probe.json").read_text())
    seen = {path: value for path, value in probe["read"].items() if value is not None}
    assert seen == {"../../..": ["autograded"]}, f"the kernel could see {seen}"
    assert not any(probe["write"].values()), probe["write"]
    assert not (root / "hacked.txt").exists() and not (REPO / "hacked.txt").exists()
    assert not (root / "autograded" / "hacked.txt").exists()
    if student == "network":
        assert probe["net"] == {"127.0.0.1": False, "1.1.1.1": False, "pypi.org": False}
        assert accepted == [], "the host's loopback server was reached"


def test_huge_output_is_cut(batch):
    root, _, _, _ = batch
    path = root / "autograded" / "huge_output" / ASSIGNMENT / cases.NOTEBOOK
    assert path.stat().st_size < 2_000_000


def test_feedback_shows_results_not_hidden_tests(batch):
    root, _, _, _ = batch
    html = (root / "feedback" / "control_wrong_softmax" / ASSIGNMENT / "self_attention.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "_close" not in html
    assert "Test results" in html and "failed" in html and "passed" in html
    assert not (root / "feedback" / "os_exit").exists(), "no feedback for a submission that was not graded"


def test_links_the_kernel_planted_lead_the_grader_nowhere(batch):
    root, _, _, (before, after, targets) = batch
    assert after == before, "a file outside the sandbox was written, replaced or chmodded through a link"
    made = json.loads((root / "autograded" / "links_out" / ASSIGNMENT / "links.json").read_text())
    assert all(made[name] == "symlink" for name in made if not name.startswith("hard_")), made
    assert not any(made[name] == "hardlink" for name in made if name.startswith("hard_")), made
    folder = root / "autograded" / "links_out" / ASSIGNMENT
    secrets = {targets[name].read_bytes() for name in ("canary", "master", "other")}
    for path in folder.rglob("*"):
        assert not path.is_symlink() and path.stat().st_nlink == 1, path
        assert path.read_bytes() not in secrets, f"{path.name} holds a file the kernel linked to"
    assert sorted(p.name for p in folder.iterdir()) == ["links.json", cases.NOTEBOOK]
    assert json.loads((folder / cases.NOTEBOOK).read_text())["cells"], "the executed notebook is nbgrader's, not the canary"


def test_only_a_few_small_files_come_back(batch):
    root, _, _, _ = batch
    folder = root / "autograded" / "many_files" / ASSIGNMENT
    files = list(folder.iterdir())
    assert len(files) <= untrusted.Caps().max_files + 1
    assert sum(p.stat().st_size for p in files) <= untrusted.Caps().max_total_bytes + 2 * 2**20
    assert not (root / "autograded" / "bad_ipynb_left" / ASSIGNMENT / "broken.ipynb").exists()
    for student in ("correct", "bad_ipynb_left", "many_files"):
        assert (root / "feedback" / student / ASSIGNMENT / "self_attention.html").is_file(), student


def test_tmp_and_images_are_capped(batch):
    root, _, _, _ = batch
    written = json.loads((root / "autograded" / "tmp_filler" / ASSIGNMENT / "tmpfill.json").read_text())
    assert written["/tmp"] <= LIMITS.tmp_mb * 2**20 and written["/dev/shm"] <= 2**20, written
    flood = root / "autograded" / "image_flood" / ASSIGNMENT / cases.NOTEBOOK
    assert flood.stat().st_size < 3 * 2**20, "images past the cap must not be kept"


def test_feedback_never_quotes_hidden_tests(batch):
    root, _, _, _ = batch
    import nbformat

    hidden = feedback.hidden_lines(nbformat.read(str(root / "course" / ASSIGNMENT / cases.NOTEBOOK), as_version=4))
    page = (root / "feedback" / "leaks_hidden" / ASSIGNMENT / "self_attention.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # what a reader sees, highlighted code joined again
    # a hidden line counts where it starts a statement, not inside a longer visible one
    # (``_rng = ...`` within ``batch_rng = ...``)
    assert hidden and not [line for line in hidden if re.search(r"(?<![\w.])" + re.escape(line), text)]
    assert feedback.QUOTED_NOTE in text


def _open_in_chromium(url: str) -> tuple[str, bool, str]:
    """(document.title, whether window.__pwned was set, the page's text) after ``url`` loaded and settled."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import lab

    if not shutil.which(lab.CHROMIUM):
        pytest.skip(f"Chromium is not installed at {lab.CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        browser = lab.launch_browser(p)
        try:
            page = browser.new_page()
            page.goto(url, timeout=120_000)
            page.wait_for_timeout(3000)
            title, pwned = page.evaluate("() => [document.title, window.__pwned === true]")
            return title, pwned, page.inner_text("body")
        finally:
            browser.close()


def test_feedback_runs_no_student_script_in_chromium(batch):
    root, _, _, _ = batch
    page_file = root / "feedback" / "html_payload" / ASSIGNMENT / "self_attention.html"
    html = page_file.read_text()
    assert 'href="javascript' not in html and 'src="javascript' not in html
    title, pwned, text = _open_in_chromium(page_file.as_uri())
    assert title != "PWNED" and not pwned, "a student's script ran in the feedback page"
    assert "<script>document.title" in text, "the written answer's HTML is shown as text"


@pytest.fixture
def formgrader(batch):
    """Formgrader of the graded course on loopback (a Jupyter server without a token), and its URL."""
    import time
    import urllib.request

    from tests.browser import lab

    root = batch[0]
    port = lab.free_port()
    with (root / "formgrader.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
             f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, (root / "formgrader.log").read_text()[-2000:]
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_formgrader_runs_no_student_script_in_chromium(batch, formgrader):
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading.runner import course_db_url

    root = batch[0]
    with Gradebook(course_db_url(root)) as gb:
        submission = gb.find_submission_notebook("self_attention", ASSIGNMENT, "html_payload").id
    title, pwned, text = _open_in_chromium(f"{formgrader}/formgrader/submissions/{submission}")
    assert "juventus_discussion" in text or "Submission" in text or "self_attention" in text, text[:500]
    assert title != "PWNED" and not pwned, "a student's script ran in formgrader, as the instructor"
    assert "<script>document.title" in text, "the written answer's HTML is shown as text"


def _grades(root):
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading.runner import course_db_url

    out = {}
    with Gradebook(course_db_url(root)) as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student_id, nb.name, g.name)] = (g.auto_score, g.needs_manual_grade)
                for c in nb.comments:
                    out[(sub.student_id, nb.name, c.name, "comment")] = c.auto_comment
    return out


def test_gradebook_equals_sequential_nbgrader(tmp_path):
    """ada, ben and cleo graded in parallel give the same gradebook rows as plain ``nbgrader autograde``."""
    _need_sandbox()
    from tfscourse_staff.grading.runner import grade

    roots = {}
    for kind in ("parallel", "sequential"):
        root = roots[kind] = make_course(tmp_path / kind)
        for student in ("ada_complete", "ben_untouched", "cleo_partial"):
            shutil.copytree(REPO / "submitted" / student / ASSIGNMENT, root / "submitted" / student / ASSIGNMENT)
    grade(roots["parallel"], [ASSIGNMENT], workers=2, limits=Limits(timeout=120, memory_mb=2000), quiet=True)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"],
                   cwd=roots["sequential"], check=True, capture_output=True)
    parallel, sequential = _grades(roots["parallel"]), _grades(roots["sequential"])
    assert len(parallel) > 40 and parallel == sequential
