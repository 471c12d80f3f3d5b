"""Time every solution notebook top to bottom, and one real ``nbgrader autograde`` of it.

Usage: ``.venv/bin/python benchmarks/bench_notebooks.py [ASSIGNMENT ...]``
(``--smoke``: the first notebook, the quickest, without the student-mode run: a check that the
benchmark still runs)

For each assignment it prints
* the run time of the solution notebook as a student runs it (NBGRADER_EXECUTION unset),
* the run time under ``NBGRADER_EXECUTION=autograde`` (training loops shrink), and
* the wall time of ``nbgrader autograde`` for one complete submission in a temporary
  course copy (kernel start, execution, database writes: what one student costs).
Targets: notebook 01/02 < 20 s, 03 < 30 s, 04/05 < 90 s; autograding one
submission of notebook 01 < 15 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfscourse_staff import submissions  # noqa: E402
from tfscourse_staff.nbgrader_runs import ScratchCourse  # noqa: E402
from tfscourse_staff.notebooks import assignments  # noqa: E402


def run_seconds(nb_path: Path, autograde_mode: bool) -> float:
    nb = nbformat.read(str(nb_path), as_version=4)
    saved = os.environ.pop("NBGRADER_EXECUTION", None)
    if autograde_mode:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(nb_path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
        if saved is not None:
            os.environ["NBGRADER_EXECUTION"] = saved


def autograde_seconds(assignment: str, master_path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        course = ScratchCourse(ROOT, Path(tmp), [assignment])
        release = course.release(assignment)
        master = nbformat.read(str(master_path), as_version=4)
        course.submit("student", assignment, submissions.fill(release, master))
        start = time.perf_counter()
        course.autograde(assignment)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    found = assignments(ROOT)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all of them")
    parser.add_argument("--smoke", action="store_true",
                        help="the first assignment only, no student-mode run: checks that the benchmark still runs")
    args = parser.parse_args(argv)
    names = args.assignments or list(found)
    if args.smoke:
        names = names[:1]
    unknown = [name for name in names if name not in found]
    if unknown:
        parser.error(f"no such assignment: {', '.join(unknown)} (known: {', '.join(found)})")
    print(f"{'assignment':<26}{'student run':>12}{'autograde-mode run':>20}{'nbgrader autograde':>20}")
    for name in names:
        path = found[name]
        full = "-" if args.smoke else f"{run_seconds(path, autograde_mode=False):.1f}s"
        quick = run_seconds(path, autograde_mode=True)
        graded = autograde_seconds(name, path)
        print(f"{name:<26}{full:>12}{quick:>19.1f}s{graded:>19.1f}s", flush=True)


if __name__ == "__main__":
    main()
