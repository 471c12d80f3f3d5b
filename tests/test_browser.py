"""The course as a person uses it: JupyterLab in Chromium, driven by Playwright.

A JupyterLab server runs on loopback in a copy of the course (tests/browser/lab.py).
* Each release notebook, run top to bottom, fails only where the student has work to do
  (NotImplementedError in an answer, or a test/demo cell that needs that answer).
* Each completed notebook (the example submission ``ada_complete``) runs without error;
  every dropdown and text box of its widgets is used and the picture must change.
* nbgrader's *Validate* button reports success on the completed notebook.
* Formgrader lists the example submissions with their scores.
Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import ast
import re
import shutil

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse_staff.notebooks import nbgrader_meta

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

playwright_api = pytest.importorskip("playwright.sync_api")
from tests.browser import lab  # noqa: E402

if not shutil.which(lab.CHROMIUM):
    pytest.skip(f"Chromium is not installed at {lab.CHROMIUM} (make test installs Debian's chromium)",
                allow_module_level=True)

ARTIFACTS = ROOT / "artifacts" / "browser"
RELEASED = [a for a, p in ASSIGNMENTS.items() if (ROOT / "release" / a / p.name).is_file()
            and (ROOT / "submitted" / "ada_complete" / a / p.name).is_file()]
STUDENT_ERRORS = {"NotImplementedError"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    srv = lab.LabServer(ROOT, tmp_path_factory.mktemp("lab"), RELEASED)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = lab.launch_browser(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def _bound_names(source: str) -> set[str]:
    """Top-level names a cell binds (assignments, defs, classes, imports, loop targets)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _errors(path):
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                yield cell, out.ename, out.evalue


@pytest.mark.parametrize("assignment", RELEASED)
def test_release_notebook_fails_only_where_the_student_has_work(assignment, server, page):
    rel = f"release/{assignment}/{ASSIGNMENTS[assignment].name}"
    page.goto(lab.lab_url(server, rel))
    lab.run_each_cell(page)
    lab.save(page)
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-release.png"))
    nb = nbformat.read(str(server.dir / rel), as_version=4)
    unrun = [c.get("id") for c in nb.cells if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    assert not unrun, f"{assignment}: cells that never ran: {unrun}"
    errors = list(_errors(server.dir / rel))
    # Names the completed notebook binds in the cells that failed here: a later NameError for one
    # of them is a consequence of unfinished work, not a fault of the notebook.
    master = {c.get("id"): c for c in nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4).cells}
    unbound = set().union(*(_bound_names(master[c.get("id")].source) for c, _, _ in errors if c.get("id") in master))
    unexpected = []
    for cell, ename, evalue in errors:
        is_test = nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution")
        missing = re.match(r"name '(\w+)' is not defined", evalue)
        if ename in STUDENT_ERRORS or (is_test and ename == "AssertionError"):
            continue
        if ename == "NameError" and missing and missing.group(1) in unbound:
            continue
        unexpected.append((cell.get("id"), ename, evalue[:200]))
    assert not unexpected, f"{assignment}: cells fail for reasons other than unfinished answers: {unexpected}"


def _widget_pictures(page):
    """What the outputs show: each picture (by its data) and each widget's text (tables, labels)."""
    return page.eval_on_selector_all(
        ".jp-OutputArea-output",
        "outs => outs.map(o => [...o.querySelectorAll('img')].map(i => i.src.length + ':' + i.src.slice(-64)).join('|')"
        " + '#' + [...o.querySelectorAll('.widget-html-content')].map(h => h.innerText).join('|'))",
    )


@pytest.mark.parametrize("assignment", RELEASED)
def test_completed_notebook_runs_and_its_widgets_react(assignment, server, page):
    rel = f"submitted/ada_complete/{assignment}/{ASSIGNMENTS[assignment].name}"
    page.goto(lab.lab_url(server, rel))
    lab.run_all_and_wait(page, timeout_s=600)
    lab.save(page)
    errors = [(c.get("id"), e, v[:200]) for c, e, v in _errors(server.dir / rel)]
    assert not errors, f"the completed {assignment} fails: {errors}"
    selects = page.locator(".jp-OutputArea-output .widget-dropdown select")
    texts = page.locator(".jp-OutputArea-output .widget-text input")
    used = 0
    for i in range(selects.count()):
        select = selects.nth(i)
        options = select.locator("option").all_inner_texts()
        if len(options) < 2 or not select.is_visible():  # a one-entry dropdown is hidden on purpose
            continue
        select.scroll_into_view_if_needed()
        before = _widget_pictures(page)
        select.select_option(label=options[-1])
        page.wait_for_timeout(2500)
        assert _widget_pictures(page) != before, f"{assignment}: choosing {options[-1]!r} in dropdown {i} changed no picture"
        used += 1
    for i in range(texts.count()):
        box = texts.nth(i)
        if not box.is_visible():
            continue
        box.scroll_into_view_if_needed()
        before = _widget_pictures(page)
        box.fill("the cat sat on the mat")
        box.press("Enter")
        page.wait_for_timeout(4000)
        assert _widget_pictures(page) != before, f"{assignment}: typing into text box {i} changed no picture"
        used += 1
    handles = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle")
    for i in range(handles.count()):
        handle = handles.nth(i)
        if not handle.is_visible():
            continue
        handle.scroll_into_view_if_needed()
        before = _widget_pictures(page)
        handle.focus()
        for _ in range(2):
            handle.press("ArrowRight")
        page.wait_for_timeout(2500)
        assert _widget_pictures(page) != before, f"{assignment}: moving slider {i} changed nothing shown"
        used += 1
    assert used, f"{assignment}: no dropdown, text box or slider to try: every notebook has at least one widget"
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-completed.png"), full_page=True)


@pytest.mark.parametrize("assignment", RELEASED[:1])
def test_validate_button_reports_success_on_a_completed_notebook(assignment, server, page):
    rel = f"submitted/ada_complete/{assignment}/{ASSIGNMENTS[assignment].name}"
    page.goto(lab.lab_url(server, rel))
    lab.wait_for_notebook(page)
    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')", timeout=300_000)
    text = dialog.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-validate.png"))
    assert "Success" in text and "passes all the tests" in text, f"validate said: {text[:500]}"


def test_formgrader_shows_example_submissions_and_scores(server, page):
    page.goto(f"{server.url}/formgrader/manage_students")
    page.wait_for_selector("text=ada_complete", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "formgrader-students.png"), full_page=True)
    rows = {line.split("\t")[1]: line for line in page.inner_text("table").splitlines() if line.count("\t") >= 3}
    for student in ("ada_complete", "ben_untouched", "cleo_partial"):
        assert student in rows, f"formgrader does not list {student}: {list(rows)}"
    score = lambda student: float(re.search(r"([\d.]+) / [\d.]+", rows[student]).group(1))  # noqa: E731
    assert score("ada_complete") > score("cleo_partial") > score("ben_untouched") == 0
    assignment = RELEASED[0]
    page.goto(f"{server.url}/formgrader/gradebook/{assignment}/{ASSIGNMENTS[assignment].stem}")
    page.wait_for_selector("text=Submission #3", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "formgrader-gradebook.png"), full_page=True)
