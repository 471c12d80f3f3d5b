"""The ``tfscourse`` command line (run ``tfscourse --help``).

Maintainers:
    tfscourse build [A ...]    text sources course/*/*.py -> master notebooks -> release/
    tfscourse sync-setup       rewrite every setup cell and Colab badge from tfscourse.colab
    tfscourse release [A ...]  nbgrader generate_assignment for the given (default: all) assignments
    tfscourse publish DEST [--stage NN]   the student-facing repository (see tfscourse_staff.publish)
Instructors:
    tfscourse demo             release, autograde the example submissions, feedback, grades table
    tfscourse grade [A] [--workers N] [--timeout S] [--memory MB] [--distributed ADDRESS] [--judge auto|on|off]
                               sandboxed parallel grading of every submission (see tfscourse_staff.grading)
    tfscourse report [A]       class report per assignment: reports/A/report.html and CSVs (tfscourse_staff.grading.report)
    tfscourse export-grades    Canvas and Moodle grade files with late penalties (tfscourse_staff.grading.lms_export)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tfscourse_staff import notebooks
from tfscourse_staff.nbgrader_runs import put_own_scripts_on_path


def _course_root() -> Path:
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "course").is_dir():
            return folder
    raise SystemExit("run this inside the course repository (no nbgrader_config.py with a course/ folder found)")


def _chosen(root: Path, names: list[str]) -> dict[str, Path]:
    """The masters of the named assignments (all when none is named); an unknown name stops here."""
    masters = notebooks.assignments(root)
    unknown = [name for name in names if name not in masters]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; the course has {', '.join(masters)}")
    return {name: masters[name] for name in names} if names else masters


def _stale_masters(masters: dict[str, Path]) -> list[str]:
    """The masters that differ from what their text sources build (or that are missing)."""
    stale = []
    for path in masters.values():
        built = notebooks.build_master(notebooks.source_path_of(path))
        if not path.is_file() or nbformat.read(str(path), as_version=4) != built:
            stale.append(str(path))
    return stale


def cmd_build(args) -> int:
    root = _course_root()
    masters = _chosen(root, args.assignments)
    for path in masters.values():
        source = notebooks.source_path_of(path)
        if notebooks.tidy_source(source):
            print(f"rewrote {source.relative_to(root)} in jupytext's layout")
        notebooks.write(notebooks.build_master(source), path)
        print(f"built {path.relative_to(root)} from {source.name}")
    return cmd_release(args)


def cmd_sync_setup(args) -> int:
    root = _course_root()
    for path in notebooks.assignments(root).values():
        source = notebooks.source_path_of(path)
        nb = notebooks.read_source(source)
        setup_changed = notebooks.sync_setup_cell(nb)
        badge_changed = notebooks.sync_colab_badge(nb, notebooks.release_path_of(path))
        if setup_changed or badge_changed:
            notebooks.write_source(nb, source)
            print(f"updated the setup cell and Colab badge of {source.relative_to(root)}; run `tfscourse build`")
    return 0


def cmd_release(args) -> int:
    from tfscourse_staff.cycle import release_all

    root = _course_root()
    masters = _chosen(root, args.assignments)
    stale = _stale_masters(masters)
    if stale:
        raise SystemExit(f"master notebooks out of date with their text sources: {', '.join(stale)}; run `tfscourse build`")
    names = list(masters)
    release_all(root, names, record_in_gradebook=False)  # grading records them when it needs them
    print(f"released {', '.join(names)}")
    return 0


def cmd_publish(args) -> int:
    from tfscourse_staff.publish import publish, resolve_stage

    root = _course_root()
    try:
        stage = resolve_stage(root, args.stage)
        written = publish(root, Path(args.dest), stage)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"tfscourse publish: {error}") from None
    print(f"published stage {stage} to {args.dest}: {len(written)} files; push it to the student repository")
    return 0


def cmd_demo(args) -> int:
    from tfscourse_staff.cycle import run_demo

    return run_demo(_course_root())


def cmd_grade(args) -> int:
    from tfscourse_staff.cycle import run_grade
    from tfscourse_staff.grading.job import Limits

    root = _course_root()
    names = [args.assignment] if args.assignment else list(notebooks.assignments(root))
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, sandbox=not args.no_sandbox)
    run_grade(root, names, workers=args.workers, limits=limits, distributed=args.distributed, feedback=not args.no_feedback,
              judge={"auto": None, "on": True, "off": False}[args.judge])
    return 0


def cmd_report(args) -> int:
    from tfscourse_staff.grading.report import main as write_reports

    root = _course_root()
    return write_reports(root, [args.assignment] if args.assignment else list(notebooks.assignments(root)))


def cmd_export_grades(args) -> int:
    from tfscourse_staff.grading.lms_export import main as export

    return export(_course_root(), args.mapping, args.out)


def main(argv: list[str] | None = None) -> int:
    put_own_scripts_on_path()
    parser = argparse.ArgumentParser(prog="tfscourse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the master notebooks from their text sources, then release them")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_build)
    sub.add_parser("sync-setup", help="rewrite the setup cells and Colab badges from tfscourse.colab").set_defaults(func=cmd_sync_setup)
    p = sub.add_parser("release", help="generate release/ with nbgrader")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("publish", help="write the student-facing repository (release notebooks, student package)")
    p.add_argument("dest", help="folder of the student repository (its .git is kept)")
    p.add_argument("--stage", help="last notebook handed out, e.g. 07 (default: the last one); "
                   "the deadlines of the notebooks before it must have passed")
    p.set_defaults(func=cmd_publish)
    sub.add_parser("demo", help="the instructor's full cycle on the example submissions").set_defaults(func=cmd_demo)
    p = sub.add_parser("grade", help="grade every submission: sandboxed, in parallel, with statuses")
    p.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: all cores)")
    p.add_argument("--timeout", type=float, default=900.0, help="wall-clock seconds per submission (default 900)")
    p.add_argument("--memory", type=int, default=3072, help="memory limit per submission in MB (default 3072)")
    p.add_argument("--distributed", metavar="ADDRESS", help="Dask scheduler address, or 'local' (needs tfscourse[scale])")
    p.add_argument("--no-sandbox", action="store_true", help="run student code without bubblewrap (unsafe; debugging only)")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    p.add_argument("--judge", choices=("auto", "on", "off"), default="auto",
                   help="score test cells with the judge outside the kernel: auto (default), the master test cells "
                        "tagged judge; on, the same, failing when an assignment has none; off, nbgrader's in-kernel "
                        "tests everywhere (for comparison only: student code can defeat them)")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("report", help="class report: per-cell analytics, figures, similar answers")
    p.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("export-grades", help="grade files for Canvas and Moodle, late penalties applied")
    p.add_argument("--mapping", default="student_ids.csv", help="nbgrader id -> platform ids (default student_ids.csv)")
    p.add_argument("--out", default="exports", help="folder for the files (default exports/)")
    p.set_defaults(func=cmd_export_grades)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
