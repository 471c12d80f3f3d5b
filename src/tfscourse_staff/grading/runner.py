"""``tfscourse grade``: grade every submission of one or all assignments, safely and in parallel.

``grade(root, assignments, workers=N, limits=Limits(...), distributed=None)``:

1. per assignment, a bundle (template gradebook, release notebooks: ``templates.py``);
2. one ``Job`` per submission in ``submitted/STUDENT/ASSIGNMENT/``;
3. the jobs run N at a time here (``workers.py``) or on a Dask cluster (``distributed.py``);
4. each result is merged into the course gradebook by this process only (``merge.py``);
5. outcomes get their scores from the gradebook; ``grading_summary.csv`` (statuses)
   and ``tamper_report.csv`` are written next to ``grades.csv``.

The course gradebook is whatever ``nbgrader_config.py`` says (``TFSCOURSE_DB_URL``).
"""

from __future__ import annotations

import time
from pathlib import Path

from tfscourse_staff import nbgrader_settings
from tfscourse_staff.grading import merge, status, templates
from tfscourse_staff.grading.job import Job, Limits
from tfscourse_staff.grading.local_pool import default_workers, run_local


def course_db_url(root: Path) -> str:
    return str(nbgrader_settings.load(root)["CourseDirectory"]["db_url"])


def cell_timeout(root: Path) -> int:
    """Seconds per cell that ``nbgrader_config.py`` allows (every job starts from that file)."""
    return nbgrader_settings.cell_timeout(nbgrader_settings.load(root))


def submitted_files(folder: Path) -> dict[str, bytes]:
    """Files of one submission folder (no hidden files, no checkpoints), path -> bytes."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(part.startswith(".") for part in rel.parts):
            files[str(rel)] = path.read_bytes()
    return files


def grade(root: Path, assignments: list[str], *, workers: int | None = None, limits: Limits | None = None,
          distributed: str | None = None, students: list[str] | None = None, quiet: bool = False,
          judge: bool | None = None) -> list[status.Outcome]:
    """Grade and merge; ``judge``: None judges the master test cells tagged ``judge``, False none, True the same
    but fails when an assignment has none."""
    root = Path(root)
    limits = limits or Limits()
    workers = workers or default_workers()
    db_url = course_db_url(root)
    submitted = root / "submitted"
    if students is None:
        students = sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    outcomes: dict[tuple[str, str], status.Outcome] = {}
    jobs: list[Job] = []
    bundles = {}
    for assignment in assignments:
        present = [s for s in students if (submitted / s / assignment).is_dir() and any((submitted / s / assignment).iterdir())]
        bundle = bundles[assignment] = templates.assignment_bundle(root, assignment) if present else None
        if judge and bundle is not None and not bundle.judge_tests:
            raise ValueError(f"{assignment}: --judge on asked for, but no test cell of its master is tagged judge")
        for student in students:
            folder = submitted / student / assignment
            outcome = outcomes[(student, assignment)] = status.Outcome(student, assignment)
            if student not in present:
                outcome.status = status.MISSING
                continue
            outcome.max_score = bundle.max_score
            jobs.append(Job(assignment, student, submitted_files(folder), bundle.releases, bundle.template_db,
                            bundle.extra_files, bundle.settings, bundle.judge_tests if judge is not False else {}))

    def on_result(result: dict) -> None:
        outcome = outcomes[(result["student"], result["assignment"])]
        for flag in result["flags"]:
            outcome.add(flag)
        outcome.repairs, outcome.findings = result["repairs"], result["findings"]
        outcome.detail, outcome.seconds = result["detail"], result.get("seconds", 0.0)
        merge.merge_result(db_url, result, root)

    started = time.monotonic()
    if not quiet:
        where = f"Dask cluster {distributed}" if distributed else f"{workers} worker(s)"
        print(f"grading {len(jobs)} submission(s) of {len(assignments)} assignment(s) on {where}, "
              f"limits {limits.timeout:g} s and {limits.memory_mb} MB per submission", flush=True)
    if distributed:
        from tfscourse_staff.grading.distributed import run_distributed

        run_distributed(jobs, limits, distributed, workers, on_result, len(jobs), quiet)
    else:
        run_local(jobs, limits, workers, on_result, len(jobs), quiet)
    for (student, assignment), outcome in outcomes.items():
        if outcome.status == status.MISSING:
            continue
        score, max_score, pending = merge.read_scores(db_url, assignment, student)
        outcome.written_pending = pending
        if max_score is not None:
            outcome.max_score = max_score
        graded_cells = outcome.status not in status.UNGRADED | {status.KERNEL_DIED} and not (
            outcome.status in (status.TIMED_OUT, status.OUT_OF_MEMORY) and outcome.detail.startswith("stopped after"))
        outcome.score = score if graded_cells else None
    ordered = sorted(outcomes.values(), key=lambda o: (o.assignment, o.student))
    status.write_summary(root / "grading_summary.csv", ordered)
    status.write_tamper_report(root / "tamper_report.csv", ordered)
    if not quiet:
        print(f"graded in {time.monotonic() - started:.1f} s: {status.count_by_status(ordered)}")
    return ordered


def print_report(root: Path, outcomes: list[status.Outcome]) -> None:
    print()
    print(status.format_table(outcomes))
    print()
    for o in outcomes:
        notes = [*o.repairs, *(f"tamper: {f['cell']} line {f['line']}: {f['rule']}: {f['code']}" for f in o.findings if f["severity"] == "high")]
        if o.detail:
            notes.insert(0, o.detail)
        for note in notes:
            print(f"note: {o.student} / {o.assignment}: {note}")
    print("Scores are autograded points; '+ written' means answers await manual grading in formgrader.")
    print("Statuses: grading_summary.csv; tamper findings: tamper_report.csv")
