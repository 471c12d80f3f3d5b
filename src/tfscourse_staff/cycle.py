"""The instructor's nbgrader cycle, run end to end on the submissions in ``submitted/``.

``run_demo(root)`` is what ``make demo`` runs:

1. generate every student version (``release/``) from the master notebooks in ``course/``;
2. grade every submission (``submitted/<student>/<assignment>/``) with ``tfscourse_staff.grading``:
   each in its own sandboxed process, N at a time, checked and repaired first. Where
   bubblewrap cannot run, it says so and grades only the course's own example submissions
   (``tfscourse_staff.bundled_examples``), without the sandbox; every other one is skipped;
3. write the feedback HTML (``feedback/``), without the hidden tests;
4. export the grades (``grades.csv``, nbgrader's format) and a summary with a status per
   student and assignment (``grading_summary.csv``, see ``tfscourse_staff.grading.status``),
   printed as a table.

``run_grade(root, ...)`` is ``tfscourse grade``: steps 2 to 4 for the given assignments.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tfscourse_staff import bundled_examples
from tfscourse_staff.grading import status
from tfscourse_staff.grading.job import Limits
from tfscourse_staff.grading.status import Outcome
from tfscourse_staff.notebooks import assignments


def nbgrader_api(root: Path):
    """An ``NbGraderAPI`` configured by the course's ``nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir=coursedir, config=config)


def students_with_submissions(root: Path) -> list[str]:
    folder = root / "submitted"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


STALE_GRADEBOOK = "because there are submissions associated with it"


def release_all(root: Path, names: list[str], *, record_in_gradebook: bool = True) -> None:
    """nbgrader generate_assignment for each name; a clear message when the gradebook blocks it."""
    for name in names:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"]
        if not record_in_gradebook:
            command.append("--no-db")
        result = subprocess.run(command, cwd=root, capture_output=True, text=True)
        if result.returncode == 0:
            continue
        if STALE_GRADEBOOK in result.stderr:
            raise SystemExit(
                f"cannot release {name}: the gradebook holds submissions graded against an older version of it, "
                "and nbgrader will not add or remove its graded cells. For the example submissions, start "
                "afresh with `make clean` (removes gradebook.db, autograded/, feedback/); with real students, "
                "keep the cells as they were or grade the change in a new assignment."
            )
        raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{result.stderr[-3000:]}")


def generate_feedback(root: Path, outcomes: list[Outcome]) -> None:
    """Feedback HTML for every graded submission, hidden tests removed; a failure stays with its student."""
    from tfscourse_staff.grading import feedback

    feedback.generate_all(root, nbgrader_api(root), outcomes)


def export_grades(root: Path, outcomes: list[Outcome] = ()) -> Path:
    """grades.csv; a student whose grades cannot be exported is noted in their outcomes, the others are exported."""
    from tfscourse_staff.grading.export import export_grades as export_each_student

    grades, left_out = export_each_student(root, outcomes)
    for note in left_out:
        print(f"export: {note}")
    return grades


def ensure_released(root: Path, names: list[str]) -> None:
    """Release (generate_assignment) the assignments the course gradebook does not know yet."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(nbgrader_api(root).coursedir.db_url) as gradebook:
        for name in names:
            try:
                gradebook.find_assignment(name)
            except MissingEntry:
                missing.append(name)
    if missing:
        release_all(root, missing)


def run_grade(root: Path, names: list[str], *, workers: int | None = None, limits: Limits | None = None,
              distributed: str | None = None, feedback: bool = True, steps: tuple[str, str] = ("", ""),
              students: list[str] | None = None, judge: bool | None = None) -> list[Outcome]:
    """Grade (``students``, default: everyone in submitted/), write feedback, export; print the table."""
    from tfscourse_staff.grading import runner, sandbox

    limits = limits or Limits()
    if limits.sandbox and (why := sandbox.available()):
        raise SystemExit(f"cannot sandbox student code: {why}. Install it or pass --no-sandbox (unsafe).")
    ensure_released(root, names)
    outcomes = runner.grade(root, names, workers=workers, limits=limits, distributed=distributed, students=students,
                            judge=judge)
    if feedback:
        print(f"{steps[0]}writing feedback into feedback/ (hidden tests removed)")
        generate_feedback(root, outcomes)
    print(f"{steps[1]}exporting grades")
    grades = export_grades(root, outcomes)
    status.write_summary(root / "grading_summary.csv", outcomes)
    runner.print_report(root, outcomes)
    print(f"grades: {grades.relative_to(root)}  summary with statuses: grading_summary.csv  feedback: feedback/")
    return outcomes


def examples_without_sandbox(root: Path, why: str) -> list[str]:
    """The bundled example students, after saying clearly that they run unsandboxed and who is left out.

    Only the course's own files (``tfscourse_staff.bundled_examples``) are graded this way; any other
    submission needs the sandbox or an explicit ``tfscourse grade --no-sandbox``.
    """
    examples = bundled_examples.find(root)
    rule = "=" * 78
    print(f"{rule}\nNOTE: student code cannot be sandboxed on this machine: {why}.")
    if not examples.students:
        reason = examples.problem or "; ".join(f"{s}: {w}" for s, w in sorted(examples.others.items())) or "submitted/ is empty"
        raise SystemExit(
            f"No bundled example submission to grade without the sandbox ({reason}).\n"
            "Install bubblewrap (Debian: apt-get install -y bubblewrap) and run `make demo` again, "
            "or grade with `tfscourse grade --no-sandbox` if you trust every submission."
        )
    print(f"The demo grades the course's own example submissions ({', '.join(sorted(examples.students))}) "
          "WITHOUT the sandbox:\nthey are committed in this repository and unchanged, so no student wrote them.")
    for student, reason in sorted(examples.others.items()):
        print(f"SKIPPED {student}: not a bundled example ({reason}); it needs the sandbox.")
    print("Real submissions: `tfscourse grade` where bubblewrap works, or `tfscourse grade --no-sandbox` (unsafe).")
    print(rule, flush=True)
    return sorted(examples.students)


def run_demo(root: Path) -> int:
    from tfscourse_staff.grading import sandbox

    names = list(assignments(root))
    print(f"1/4 releasing {len(names)} assignment(s) into release/")
    release_all(root, names)
    if why := sandbox.available():
        students = examples_without_sandbox(root, why)
        print(f"2/4 grading the {len(students)} bundled example student(s), in parallel, without the sandbox")
        run_grade(root, names, steps=("3/4 ", "4/4 "), students=students, limits=Limits(sandbox=False))
        return 0
    print(f"2/4 grading {len(students_with_submissions(root))} student(s), sandboxed and in parallel")
    run_grade(root, names, steps=("3/4 ", "4/4 "))
    return 0
