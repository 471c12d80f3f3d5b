"""How long the class report and the similarity analysis take for a large generated class.

Builds a class of N students of notebook 01 (``tfscourse_staff.grading.class_generator``: right,
wrong and blank answers, crashes, timeouts, planted copies), writes it as grading would
(gradebook, autograded/, grading_summary.csv: from the planted outcomes, since grading
1000 real submissions takes hours here), then times:

    report      reading the class (gradebook, autograded notebooks, summary), the CSVs,
                the five figures and the HTML page, similarity left out
    similarity  fingerprints of every student's answer cells, the rare-fingerprint index,
                the top pairs

and checks that the figures are the planted ones. The class is kept in ``.cache/bench_report/``
(built once per N and seed; ``--rebuild`` builds it again).

    .venv/bin/python benchmarks/bench_report.py              # 1000 students
    .venv/bin/python benchmarks/bench_report.py --smoke      # 40 students, a quick check
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_self_attention"


def build_class(folder: Path, students: int, seed: int) -> dict:
    """The generated, 'graded' class in ``folder``; returns what was planted."""
    sys.path.insert(0, str(ROOT))  # the known-wrong answers and the effect measurement live in tests/
    from tests.class_effects import measure_effects
    from tests.conftest import harness, known_wrong_cases
    from tfscourse_staff.grading import class_generator as cg
    from tfscourse_staff.nbgrader_runs import ScratchCourse

    started = time.perf_counter()
    course = ScratchCourse(ROOT, folder, [ASSIGNMENT])
    release = course.release(ASSIGNMENT)
    master = harness(ASSIGNMENT).nb
    variants = cg.answer_variants(master, release, known_wrong_cases(ASSIGNMENT))
    effects = measure_effects(harness(ASSIGNMENT), variants)
    generated = cg.generate_class(master, variants, students, seed=seed, mix=cg.Mix(copy_pairs=5))
    cg.fill_synthetic(folder, ASSIGNMENT, "self_attention", release, master, generated, effects, seed=seed)
    tests = list(cg.test_cell_points(master))
    planted = {
        "passed": {t: sum(1 for s in generated if (p := cg.predict(s, effects, tests)) and p[t][0]) for t in tests},
        "pairs": sorted(sorted((s.name, s.copied_from)) for s in generated if s.copied_from),
    }
    (folder / "planted.json").write_text(json.dumps(planted))
    print(f"built the class of {students} in {time.perf_counter() - started:.0f} s (not part of the figures)")
    return planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1000, help="class size (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="40 students: checks the benchmark runs")
    parser.add_argument("--rebuild", action="store_true", help="build the cached class again")
    args = parser.parse_args()
    students = 40 if args.smoke else args.students

    from tfscourse_staff.grading import report
    from tfscourse_staff.grading.class_data import read_class
    from tfscourse_staff.nbgrader_runs import put_own_scripts_on_path

    put_own_scripts_on_path()
    folder = ROOT / ".cache" / "bench_report" / f"{ASSIGNMENT}-{students}-{args.seed}"
    if args.rebuild or not (folder / "planted.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        planted = build_class(folder, students, args.seed)
    else:
        planted = json.loads((folder / "planted.json").read_text())
    out = folder / "reports" / ASSIGNMENT
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    data = read_class(folder, ASSIGNMENT)
    read_s = time.perf_counter() - started
    report.write_csvs(data, out, [])
    html = report.render_html(data, [], {}, set())
    report_s = time.perf_counter() - started

    started = time.perf_counter()
    pairs, _, _ = report.similarity_pairs(folder, ASSIGNMENT)
    similarity_s = time.perf_counter() - started

    (out / "report.html").write_text(html)
    found = {t: c.passed for t, c in data.tests.items()}
    top = sorted(sorted((p.first, p.second)) for p in pairs[: len(planted["pairs"])])
    print(f"class: {len(data.students)} students of {ASSIGNMENT}, {len(data.tests)} test cells")
    print(f"report (no similarity): {report_s:.2f} s ({read_s:.2f} s reading), "
          f"{1000 * report_s / len(data.students):.2f} ms per student")
    print(f"similarity:             {similarity_s:.2f} s, {1000 * similarity_s / len(data.students):.2f} ms per student")
    print(f"pass counts as planted: {found == planted['passed']}; planted pairs are the top {len(top)}: "
          f"{top == [list(p) for p in planted['pairs']]}")
    return 0 if found == planted["passed"] and top == [list(p) for p in planted["pairs"]] else 1


if __name__ == "__main__":
    sys.exit(main())
