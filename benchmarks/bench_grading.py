"""Benchmark ``tfscourse grade`` against plain ``nbgrader autograde``, per notebook.

For every assignment in ``course/`` (or those given with ``--assignments``), in a
throw-away copy of the course: release it, submit ``--count`` copies of the
instructor's solution (default 50), then time, in one run:

* plain ``nbgrader autograde`` of all of them (one process, one after another);
* ``tfscourse grade`` with 1 worker and with 2 workers (sandboxed, one process each);
* the fixed per-notebook cost of ``tfscourse grade``: building the template gradebook
  (``templates.assignment_bundle``: one ``generate_assignment``), next to the fixed cost of
  one plain ``nbgrader autograde`` run (its first submission minus the average of the rest).

Printed per notebook: seconds per submission of each path, the 2-worker speed-up
over 1 worker and over plain nbgrader, and the fixed and per-submission overheads.
The machine is shared (2 cores, other jobs running): timings are noisy.

    python benchmarks/bench_grading.py                  # 50 submissions of every notebook
    python benchmarks/bench_grading.py --count 10 --assignments 01_self_attention
    python benchmarks/bench_grading.py --smoke          # 1 submission of 01, 1 worker: a check that it still runs

Where bubblewrap cannot sandbox, ``tfscourse grade`` runs unsandboxed and the header says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfscourse_staff.grading import runner, sandbox, templates  # noqa: E402
from tfscourse_staff.grading.job import Limits  # noqa: E402
from tfscourse_staff.nbgrader_runs import ScratchCourse, put_own_scripts_on_path  # noqa: E402
from tfscourse_staff.notebooks import assignments  # noqa: E402
from tfscourse_staff.submissions import fill  # noqa: E402


def make_course(folder: Path, assignment: str, count: int) -> ScratchCourse:
    """A scratch course with ``count`` students who all hand in the complete notebook."""
    course = ScratchCourse(ROOT, folder, [assignment])
    release = course.release(assignment)
    solved = fill(release, nbformat.read(str(course.masters[assignment]), as_version=4))
    for i in range(count):
        course.submit(f"student{i:03d}", assignment, solved)
    return course


def bench(assignment: str, count: int, workers: list[int], limits: Limits) -> dict:
    row = {"assignment": assignment, "count": count}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        plain = make_course(Path(tmp) / "plain", assignment, count)
        start = time.perf_counter()
        plain.nbgrader("autograde", assignment, "--student", "student000")
        first = time.perf_counter() - start
        rest = 0.0
        if count > 1:
            start = time.perf_counter()
            plain.nbgrader("autograde", assignment)  # skips the one already graded
            rest = time.perf_counter() - start
        row["plain"] = (first + rest) / count
        per = rest / (count - 1) if count > 1 else first
        row["plain_fixed_s"] = first - per  # start-up of one nbgrader autograde run
        ours = make_course(Path(tmp) / "ours", assignment, count).dir
        start = time.perf_counter()
        templates.assignment_bundle(ours, assignment)
        row["bundle_s"] = time.perf_counter() - start
        for n in workers:
            start = time.perf_counter()
            outcomes = runner.grade(ours, [assignment], workers=n, limits=limits, quiet=True)
            row[f"w{n}"] = (time.perf_counter() - start - row["bundle_s"]) / count  # bundle is rebuilt by grade()
            row[f"w{n}_statuses"] = sorted({o.status for o in outcomes})
            row[f"w{n}_full"] = sum(o.score is not None and o.score == o.max_score for o in outcomes)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50, help="submissions per notebook (default 50)")
    parser.add_argument("--assignments", nargs="*", help="default: every assignment in course/")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--smoke", action="store_true",
                        help="one submission of the first notebook, 1 worker: checks that the benchmark still runs")
    args = parser.parse_args()
    put_own_scripts_on_path()  # nbgrader (plain autograde, the bundle) runs alembic by name
    names = args.assignments or [a for a in assignments(ROOT) if (ROOT / "release" / a).is_dir()]
    if args.smoke:
        names, args.count, args.workers = names[:1], 1, [1]
    unsandboxed = sandbox.available()
    limits = Limits(timeout=1800, memory_mb=4096, cell_timeout=runner.cell_timeout(ROOT), sandbox=not unsandboxed)
    print(f"{os.cpu_count()} cores; machine shared with other jobs: timings are noisy.")
    if unsandboxed:
        print(f"NOT SANDBOXED ({unsandboxed}): the tfscourse grade columns leave out the sandbox's cost.")
    head = f"{'assignment':24s} {'n':>3s} {'plain s/nb':>10s} " + " ".join(f"{f'{w}w s/nb':>8s}" for w in args.workers)
    head += f" {'speed-up':>8s} {'vs plain':>8s} {'fixed s':>7s} {'plain fixed s':>13s} {'extra s/nb':>10s}  full marks, statuses"
    print(head, flush=True)
    for name in names:
        row = bench(name, args.count, args.workers, limits)
        w1, wmax = row[f"w{args.workers[0]}"], row[f"w{args.workers[-1]}"]
        print(f"{name:24s} {row['count']:3d} {row['plain']:10.2f} " + " ".join(f"{row[f'w{w}']:8.2f}" for w in args.workers)
              + f" {w1 / wmax:8.2f} {row['plain'] / wmax:8.2f} {row['bundle_s']:7.1f} {row['plain_fixed_s']:13.1f} {w1 - row['plain']:10.2f}  "
              + f"{row[f'w{args.workers[-1]}_full']}/{row['count']}, " + ",".join(row[f"w{args.workers[-1]}_statuses"]), flush=True)
    print("speed-up: 1 worker / last worker count; vs plain: plain nbgrader / last worker count; fixed: template "
          "gradebook per notebook (tfscourse grade); plain fixed: start-up of one `nbgrader autograde` run (first "
          "submission minus the average of the others); extra: per-submission cost of the sandboxed path with 1 "
          "worker over plain nbgrader (own process, kernel start, sandbox, merge).")


if __name__ == "__main__":
    main()
