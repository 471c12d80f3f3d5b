"""The class report, its similarity part and the LMS exports on a generated class of notebook 01.

A class of 24 students is generated with planted outcomes (right, wrong and blank answers,
crashed kernels, timed-out cells, three copied pairs), written as grading would write it
(gradebook, autograded/, grading_summary.csv: ``class_generator.fill_synthetic``), and the
report must show exactly what was planted. ``test_class_report_real.py`` does the same
through a real grading run on a smaller class.
"""

from __future__ import annotations

import csv
import re

import nbformat
import pytest

from tests.class_effects import measure_effects
from tests.conftest import ASSIGNMENTS, ROOT, harness, known_wrong_cases
from tfscourse_staff.grading import class_generator as cg
from tfscourse_staff.grading import report, similarity
from tfscourse_staff.grading.class_data import error_message, message_group, read_class
from tfscourse_staff.nbgrader_runs import ScratchCourse
from tfscourse_staff.notebooks import split_hidden_tests

ASSIGNMENT = "01_self_attention"
STEM = ASSIGNMENTS[ASSIGNMENT].stem
MIX = cg.Mix(crash=0.12, timeout=0.12, copy_pairs=3)


def planted_group(message: str) -> str:
    """How the report groups a predicted message (as an error output would carry it)."""
    ename, _, evalue = message.partition(": ")
    return message_group(error_message({"ename": ename, "evalue": evalue}))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    course = ScratchCourse(ROOT, folder, [ASSIGNMENT])
    release = course.release(ASSIGNMENT)
    master = harness(ASSIGNMENT).nb
    variants = cg.answer_variants(master, release, known_wrong_cases(ASSIGNMENT))
    effects = measure_effects(harness(ASSIGNMENT), variants)
    students = cg.generate_class(master, variants, 24, seed=7, mix=MIX)
    cg.fill_synthetic(folder, ASSIGNMENT, STEM, release, master, students, effects, seed=7)
    page = report.write_report(folder, ASSIGNMENT)
    tests = list(cg.test_cell_points(master))
    predicted = {s.name: cg.predict(s, effects, tests) for s in students}
    return {"root": folder, "page": page, "students": students, "predicted": predicted, "master": master,
            "release": release, "variants": variants, "effects": effects}


def test_the_generated_class_has_every_kind_of_student(generated):
    students = generated["students"]
    kinds = {v.kind for s in students for v in s.answers.values()}
    assert kinds == {cg.RIGHT, cg.WRONG, cg.BLANK}
    assert {s.fate for s in students} == {cg.OK, cg.CRASH, cg.TIMEOUT}
    copiers = [s for s in students if s.copied_from]
    assert len(copiers) == MIX.copy_pairs
    assert set().union(*(s.disguises for s in copiers)) == {"renamed", "reordered", "commented"}


def test_every_test_cell_shows_the_planted_pass_rate_and_failures(generated):
    data = read_class(generated["root"], ASSIGNMENT)
    graded = {s: p for s, p in generated["predicted"].items() if p is not None}
    assert data.max_score == 27
    for test, stats in data.tests.items():
        assert stats.graded == len(graded), test
        assert stats.passed == sum(p[test][0] for p in graded.values()), test
        expected = {}
        for p in graded.values():
            if not p[test][0]:
                expected[planted_group(p[test][1])] = expected.get(planted_group(p[test][1]), 0) + 1
        assert dict(stats.failures) == expected, test


def test_cells_csv_matches_the_class_data(generated):
    data = read_class(generated["root"], ASSIGNMENT)
    with (generated["page"].parent / "cells.csv").open() as handle:
        rows = {row["test_cell"]: row for row in csv.DictReader(handle)}
    assert list(rows) == list(data.tests)
    for test, stats in data.tests.items():
        assert int(rows[test]["passed"]) == stats.passed
        assert float(rows[test]["mean_points"]) == pytest.approx(stats.mean_points, rel=1e-2)
        for message, count in stats.top_failures():
            assert f"{count}x {message}" in rows[test]["top_failures"]


def test_statuses_scores_and_written_progress_are_the_planted_ones(generated):
    data = read_class(generated["root"], ASSIGNMENT)
    by_name = {s.name: s for s in generated["students"]}
    expected_status = {cg.OK: "graded", cg.CRASH: "kernel died", cg.TIMEOUT: "timed out"}
    for student, predicted in generated["predicted"].items():
        assert data.statuses[student] == expected_status[by_name[student].fate]
        points = cg.test_cell_points(generated["master"])
        expected = None if predicted is None else sum(points[t] for t, (ok, _) in predicted.items() if ok)
        assert data.totals[student] == expected
    written = list(data.written.values())
    written_cells = [c for c in generated["master"].cells if c.cell_type == "markdown"
                     and c.metadata.get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution")]
    assert len(written) == len(written_cells) >= 7
    assert all(w.graded + w.pending == len(generated["students"]) for w in written)
    assert 0 < sum(w.graded for w in written) < sum(w.graded + w.pending for w in written)


def test_every_planted_copy_is_found_and_no_independent_pair_is_among_the_top(generated):
    pairs, _, _ = report.similarity_pairs(generated["root"], ASSIGNMENT)
    planted = {frozenset((s.name, s.copied_from)) for s in generated["students"] if s.copied_from}
    top = [frozenset((p.first, p.second)) for p in pairs[: len(planted)]]
    assert set(top) == planted
    copies = [p.score for p in pairs if frozenset((p.first, p.second)) in planted]
    others = [p.score for p in pairs if frozenset((p.first, p.second)) not in planted]
    assert min(copies) > 2 * max(others, default=0)


def test_renaming_commenting_and_reordering_keep_most_fingerprints_of_a_cell():
    source = (
        "import numpy as np\n\n"
        "def scores(q, k):\n    raw = q @ k.T\n    scale = np.sqrt(q.shape[-1])\n    return raw / scale\n\n"
        "def weights(s, axis=-1):\n    shifted = s - s.max(axis=axis, keepdims=True)\n"
        "    e = np.exp(shifted)\n    return e / e.sum(axis=axis, keepdims=True)\n"
    )
    rng = cg.random.Random(3)
    disguised, done = cg.disguise(source, rng)
    assert disguised != source and {"renamed", "reordered"} <= set(done)
    original = similarity.fingerprints(source)
    unrelated = similarity.fingerprints("def count(words):\n    seen = {}\n    for w in words:\n"
                                        "        seen[w] = seen.get(w, 0) + 1\n    return sorted(seen.items())\n")
    # only the k-grams across the moved boundaries are lost
    assert len(original & similarity.fingerprints(disguised)) >= 0.5 * len(original)
    assert len(original & unrelated) <= 0.1 * len(original)


def test_the_html_report_is_self_contained_and_never_quotes_hidden_tests(generated):
    page = generated["page"].read_text()
    assert page.count('src="data:image/png;base64,') == 5
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    cells = generated["master"].cells
    # the hidden reference implementations repeat lines of the solution, which students hand in
    elsewhere = {line.strip() for c in cells if c.cell_type == "code" and "HIDDEN TESTS" not in c.source
                 for line in c.source.splitlines()}
    for cell in cells:
        hidden = split_hidden_tests(cell.source)[1] if cell.cell_type == "code" else ""
        for line in hidden.splitlines():
            if len(line.strip()) > 30 and line.strip() not in elsewhere:
                assert line.strip() not in page, f"hidden test line in the report: {line.strip()}"


def test_report_command_writes_every_file(generated, monkeypatch, capsys):
    from tfscourse_staff import cli

    monkeypatch.chdir(generated["root"])
    assert cli.main(["report", ASSIGNMENT]) == 0
    folder = generated["root"] / "reports" / ASSIGNMENT
    names = {p.name for p in folder.iterdir()}
    assert names == {"report.html", "cells.csv", "failures.csv", "students.csv", "written.csv", "similarity.csv"}
    assert "report.html" in capsys.readouterr().out


def test_a_broken_autograded_notebook_is_skipped_not_fatal(generated, tmp_path):
    student = next(s.name for s in generated["students"] if s.fate == cg.OK)
    target = generated["root"] / "autograded" / student / ASSIGNMENT / f"{STEM}.ipynb"
    saved = target.read_bytes()
    try:
        target.write_text("{not json")
        data = read_class(generated["root"], ASSIGNMENT)
        assert student in data.students
    finally:
        target.write_bytes(saved)


def test_generated_submissions_are_valid_notebooks(generated):
    for path in (generated["root"] / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb"):
        nbformat.validate(nbformat.read(str(path), as_version=4))


@pytest.mark.slow
@pytest.mark.xdist_group("browser")
def test_report_shows_its_figures_in_chromium(generated):
    """The page opened offline in Chromium: every figure decodes and has a size, the pairs are listed."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import lab

    if not shutil.which(lab.CHROMIUM):
        pytest.skip(f"Chromium is not installed at {lab.CHROMIUM} (make test installs Debian's chromium)")
    artifacts = ROOT / "artifacts" / "report"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = lab.launch_browser(playwright)
        context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=True)
        page = context.new_page()
        page.goto(generated["page"].as_uri())
        images = page.evaluate("() => [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
        pairs = page.locator("details.pair").count()
        page.screenshot(path=str(artifacts / "report_01_self_attention.png"), full_page=True)
        browser.close()
    assert [alt for alt, *_ in images] == ["score histogram", "pass rate per test cell", "students by test cells heatmap",
                                          "grading statuses and times", "written answer grading progress"]
    assert all(complete and width > 200 and height > 100 for _, complete, width, height in images), images
    listed = report.similarity_pairs(generated["root"], ASSIGNMENT)[0]
    assert pairs == min(report.TOP_PAIRS, len(listed)) >= MIX.copy_pairs  # the top pairs, side by side
