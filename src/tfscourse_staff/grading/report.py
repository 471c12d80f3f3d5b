"""``tfscourse report [ASSIGNMENT]``: one self-contained HTML report per assignment, plus CSVs.

Writes ``reports/ASSIGNMENT/``:

    report.html      everything below, figures embedded as PNG data URIs (opens offline)
    cells.csv        per autograded test cell: points, graded, passed, pass rate, mean points,
                     the three most common failure messages with their counts
    failures.csv     every failure message group per test cell, with its count
    students.csv     per student: status, grading seconds, autograded total, points per test cell
    written.csv      per written answer: graded by hand, still waiting, mean points given
    similarity.csv   the most similar pairs of students (see ``similarity.py``)

The data come from the gradebook, ``autograded/`` and ``grading_summary.csv``
(``class_data.py``); nothing here changes a grade. Failure messages are the exception
name and message a test printed, never the test's source.
"""

from __future__ import annotations

import base64
import csv
import html
import math
import time
from pathlib import Path

from tfscourse_staff.grading import report_plots, similarity
from tfscourse_staff.grading.class_data import ClassData, read_class

TOP_PAIRS = 10  # pairs shown side by side in the HTML report


def _fmt(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def write_csvs(data: ClassData, folder: Path, pairs: list[similarity.Pair]) -> None:
    def write(name, header, rows):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    write("cells.csv", ["test_cell", "points", "graded", "passed", "pass_rate", "mean_points", "top_failures"],
          [[c.name, c.points, c.graded, c.passed, _fmt(c.pass_rate), _fmt(c.mean_points),
            " | ".join(f"{n}x {m}" for m, n in c.top_failures())] for c in data.tests.values()])
    write("failures.csv", ["test_cell", "count", "message"],
          [[c.name, n, c.examples[group]] for c in data.tests.values() for group, n in c.failures.most_common()])
    write("students.csv", ["student", "status", "seconds", "autograded_score", *data.tests],
          [[s, data.statuses[s], f"{data.seconds[s]:.1f}", _fmt(data.totals[s]),
            *(_fmt(data.scores[s][t]) for t in data.tests)] for s in data.students])
    write("written.csv", ["written_answer", "points", "graded", "waiting", "mean_points_given"],
          [[w.name, w.points, w.graded, w.pending, _fmt(w.total_points / w.graded if w.graded else float("nan"))]
           for w in data.written.values()])
    write("similarity.csv", ["first", "second", "score", "shared_fingerprints"],
          [[p.first, p.second, f"{p.score:.3f}", p.shared] for p in pairs])


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _cells_table(data: ClassData) -> str:
    rows = []
    for c in data.tests.values():
        failures = "".join(f"<li><b>{n}</b> × <code>{html.escape(m)}</code></li>" for m, n in c.top_failures())
        rows.append(f"<tr><td>{html.escape(c.name)}</td><td>{c.points:g}</td><td>{c.graded}</td>"
                    f"<td>{_fmt(c.pass_rate)}</td><td>{_fmt(c.mean_points)}</td><td><ul>{failures}</ul></td></tr>")
    return ("<table><tr><th>test cell</th><th>points</th><th>graded</th><th>pass rate</th>"
            f"<th>mean points</th><th>most common failures</th></tr>{''.join(rows)}</table>")


def _pairs_section(pairs, answers, boilerplate) -> str:
    if not pairs:
        return "<p>No pair of students shares unusual code.</p>"
    parts = ["<table><tr><th>#</th><th>first</th><th>second</th><th>score</th><th>shared fingerprints</th></tr>"]
    parts += [f"<tr><td>{i}</td><td>{html.escape(p.first)}</td><td>{html.escape(p.second)}</td>"
              f"<td>{p.score:.2f}</td><td>{p.shared}</td></tr>" for i, p in enumerate(pairs, 1)]
    parts.append("</table>")
    for i, p in enumerate(pairs[:TOP_PAIRS], 1):
        first, second = answers.get(p.first, {}), answers.get(p.second, {})
        parts.append(f'<details class="pair"{" open" if i == 1 else ""}><summary>#{i} {html.escape(p.first)} and '
                     f"{html.escape(p.second)} (score {p.score:.2f})</summary><table class=side>")
        for cell, overlap in similarity.shared_cells(first, second, boilerplate):
            mark = ' class="hot"' if overlap >= 0.5 else ""
            parts.append(f"<tr{mark}><th colspan=2>{html.escape(cell)}: {overlap:.0%} of fingerprints shared</th></tr>"
                         f"<tr{mark}><td><pre>{html.escape(first.get(cell, ''))}</pre></td>"
                         f"<td><pre>{html.escape(second.get(cell, ''))}</pre></td></tr>")
        parts.append("</table></details>")
    return "".join(parts)


STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}ul{margin:0;padding-left:1.2em}
img{max-width:100%;display:block;margin:1em 0}pre{white-space:pre-wrap;font-size:12px;margin:0}
table.side td{width:50%}tr.hot th{background:#fde2e1}code{font-size:12px}"""


def render_html(data: ClassData, pairs, answers, boilerplate: set) -> str:
    graded = [t for t in data.totals.values() if t is not None]
    mean = sum(graded) / len(graded) if graded else float("nan")
    statuses = ", ".join(f"{s} {n}" for s, n in sorted(_count(data.statuses.values()).items()))
    written_total = sum(w.graded + w.pending for w in data.written.values())
    written_done = sum(w.graded for w in data.written.values())
    figures = [
        ("Scores", report_plots.score_histogram(data), "score histogram"),
        ("Pass rate per test cell", report_plots.pass_rates(data), "pass rate per test cell"),
        ("Students × test cells", report_plots.heatmap(data), "students by test cells heatmap"),
        ("Grading statuses and times", report_plots.statuses_and_times(data), "grading statuses and times"),
        ("Written answers graded by hand", report_plots.written_progress(data), "written answer grading progress"),
    ]
    body = [f"<h1>Class report: {html.escape(data.assignment)}</h1>",
            f"<p>{len(data.students)} students; {len(graded)} with an autograded score (mean {_fmt(mean)} of "
            f"{data.max_score:g}); statuses: {html.escape(statuses)}; written answers graded: {written_done} of "
            f"{written_total}.</p>"]
    for title, png, alt in figures[:2]:
        body += [f"<h2>{title}</h2>", _img(png, alt)]
    body += ["<h2>Test cells and their most common failures</h2>", _cells_table(data)]
    for title, png, alt in figures[2:]:
        body += [f"<h2>{title}</h2>", _img(png, alt)]
    body += ["<h2>Similar answers</h2>",
             "<p>Pairs whose answer cells share unusual code after names, comments and whitespace are "
             "normalised and the released code is left out. A high score asks for a look, not a verdict.</p>",
             _pairs_section(pairs, answers, boilerplate)]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(data.assignment)} report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def similarity_pairs(root: Path, assignment: str):
    """(pairs, answers, boilerplate) for ``assignment``: the release's answer cells are the boilerplate."""
    import nbformat

    answers = similarity.read_answers(root, assignment)
    releases = [nbformat.read(str(p), as_version=4) for p in sorted((Path(root) / "release" / assignment).glob("*.ipynb"))]
    boilerplate = similarity.release_boilerplate(releases)
    return similarity.find_similar(answers, boilerplate), answers, boilerplate


def write_report(root: Path, assignment: str, out: Path | None = None, db_url: str | None = None) -> Path:
    """Write ``reports/ASSIGNMENT/`` (or ``out``); returns the HTML file's path."""
    root = Path(root)
    folder = Path(out) if out else root / "reports" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    data = read_class(root, assignment, db_url)
    pairs, answers, boilerplate = similarity_pairs(root, assignment)
    write_csvs(data, folder, pairs)
    page = folder / "report.html"
    page.write_text(render_html(data, pairs, answers, boilerplate), encoding="utf-8")
    return page


def main(root: Path, assignments: list[str]) -> int:
    for assignment in assignments:
        started = time.monotonic()
        page = write_report(root, assignment)
        print(f"{assignment}: {page.relative_to(root)} and CSVs ({time.monotonic() - started:.1f} s)")
    return 0
