"""Benchmark the judge: plain nbgrader, today's ``tfscourse grade`` and ``tfscourse grade`` with the judge.

For each judge-ready assignment given (default ``01_self_attention``), in a
throw-away copy of the course with ``--count`` copies of the instructor's solution:

* plain ``nbgrader autograde`` of all of them (one process);
* ``tfscourse grade --judge off`` (the test cells run in the sandboxed kernel), 1 worker;
* ``tfscourse grade --judge on`` (the test cells run in the judge), 1 worker;

then one more judged submission through ``job.run_job`` for the judge's own figures:
requests sent to the kernel and seconds spent in the judge's test cells.
Last, the channel's cost per request, against an endpoint in a separate Python
process: a call with a scalar, with 1,000 floats and with 1,000,000 floats.

    python benchmarks/bench_judge.py                    # 6 submissions of notebook 01
    python benchmarks/bench_judge.py --count 3 --rounds 2

The machine is shared: timings are noisy; ``--rounds`` repeats the two grading runs
alternately and keeps the best of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfscourse_staff.grading import runner, templates  # noqa: E402
from tfscourse_staff.grading.job import Job, Limits, run_job  # noqa: E402
from tfscourse_staff.nbgrader_runs import ScratchCourse, put_own_scripts_on_path  # noqa: E402
from tfscourse_staff.submissions import fill  # noqa: E402

ENDPOINT = """
import sys, time
from tfscourse_staff.grading.judge_endpoint import start
start(sys.argv[1], {"identity": lambda x: x})
time.sleep(600)
"""


def make_course(folder: Path, assignment: str, count: int) -> ScratchCourse:
    course = ScratchCourse(ROOT, folder, [assignment])
    solved = fill(course.release(assignment), nbformat.read(str(course.masters[assignment]), as_version=4))
    for i in range(count):
        course.submit(f"student{i:03d}", assignment, solved)
    return course


def judge_figures(root: Path, assignment: str, limits: Limits) -> tuple[int, float, float]:
    """(requests, seconds in the judge's test cells, score) of one judged submission."""
    bundle = templates.assignment_bundle(root, assignment)
    folder = root / "submitted" / "student000" / assignment
    job = Job(assignment, "student000", runner.submitted_files(folder), bundle.releases, bundle.template_db,
              bundle.extra_files, bundle.settings, bundle.judge_tests)
    result = run_job(job, limits)
    cells = [cell for notebook in result.get("judge", {}).values() for cell in notebook.values()]
    return sum(c["calls"] for c in cells), sum(c["seconds"] for c in cells), sum(c["points"] for c in cells)


def channel_cost(repeats: int = 200) -> dict[str, float]:
    """Microseconds per request through a Unix socket to an endpoint in another process."""
    from tfscourse_staff.grading.judge import Judge

    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        path = str(Path(tmp) / "judge.sock")
        judge = Judge(path, accept_seconds=60)
        process = subprocess.Popen([sys.executable, "-c", ENDPOINT, path])
        try:
            channel = judge._connect()
            identity = channel.request("lookup", names=["identity"])["identity"]
            costs = {}
            for label, value in (("scalar", 1.0), ("1e3 floats", np.ones(1000)), ("1e6 floats", np.ones(10**6))):
                count = repeats if value is not None and np.size(value) < 10**6 else max(5, repeats // 20)
                start = time.perf_counter()
                for _ in range(count):
                    identity(value)
                costs[label] = (time.perf_counter() - start) / count * 1e6
            return costs
        finally:
            process.kill()
            judge.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=6, help="submissions (default 6)")
    parser.add_argument("--assignments", nargs="*", default=["01_self_attention"])
    parser.add_argument("--rounds", type=int, default=1, help="grading runs per path, best kept (default 1)")
    parser.add_argument("--smoke", action="store_true",
                        help="one submission of notebook 01, one round (minutes): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.smoke:
        args.count, args.assignments, args.rounds = 1, ["01_self_attention"], 1
    disagreements = []
    put_own_scripts_on_path()
    limits = Limits(timeout=1800, memory_mb=4096, cell_timeout=runner.cell_timeout(ROOT))
    print("machine shared with other jobs: timings are noisy.")
    print(f"{'assignment':20s} {'n':>3s} {'plain s/nb':>10s} {'today s/nb':>10s} {'judge s/nb':>10s} {'judge/today':>11s}"
          f" {'requests/nb':>11s} {'judge cells s':>13s}  scores (today, judge)")
    for assignment in args.assignments:
        with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
            course = make_course(Path(tmp) / "course", assignment, args.count)
            start = time.perf_counter()
            course.nbgrader("autograde", assignment)
            plain = (time.perf_counter() - start) / args.count
            best = {False: float("inf"), True: float("inf")}
            scores = {}
            for _ in range(args.rounds):
                for judge in (False, True):
                    start = time.perf_counter()
                    outcomes = runner.grade(course.dir, [assignment], workers=1, limits=limits, judge=judge, quiet=True)
                    best[judge] = min(best[judge], (time.perf_counter() - start) / args.count)
                    scores[judge] = sorted({o.score for o in outcomes})
            requests, seconds, _ = judge_figures(course.dir, assignment, limits)
            print(f"{assignment:20s} {args.count:3d} {plain:10.2f} {best[False]:10.2f} {best[True]:10.2f} "
                  f"{best[True] / best[False]:11.2f} {requests:11d} {seconds:13.2f}  {scores[False]}, {scores[True]}",
                  flush=True)
            if scores[False] != scores[True]:
                disagreements.append(f"{assignment}: in-kernel tests {scores[False]}, judge {scores[True]}")
    costs = channel_cost()
    print("channel cost per request (judge -> endpoint in another process -> judge), identity function: "
          + ", ".join(f"{label} {us:.0f} us" for label, us in costs.items()))
    if disagreements:
        raise SystemExit("the judge and the in-kernel tests gave different scores: " + "; ".join(disagreements))


if __name__ == "__main__":
    main()
