"""``tfscourse export-grades``: grade files for Canvas and Moodle, with late penalties applied.

Inputs
    gradebook            each submission's score (autograded points plus hand grades, as
                         nbgrader counts them), maximum, timestamp, and the assignment's
                         ``duedate`` (set with ``nbgrader db assignment add NAME --duedate=...`` or
                         in formgrader; a student's extension is added, as nbgrader does)
    nbgrader_config.py   the late policy and Canvas assignment ids, ``c.GradeExport.*``:
                           late_percent_per_day  points lost per started day late, in % of the
                                                 assignment's maximum (default 0: no penalty)
                           late_max_percent      the most a late submission can lose (default 100)
                           late_grace_minutes    lateness forgiven entirely (default 0)
                           canvas_assignment_ids {"01_self_attention": 1234, ...}: Canvas's own ids,
                                                 so the import updates those columns
    student_ids.csv      one row per student: nbgrader_id, name, email, canvas_id,
                         sis_user_id, sis_login_id, section, moodle_idnumber (blank where unknown)

Outputs (``exports/``)
    canvas_grades.csv    Canvas *Grades -> Import*. Columns ``Student`` (name), ``ID`` (Canvas
                         user id), ``SIS User ID``, ``SIS Login ID``, ``Section`` (from the
                         mapping; Canvas matches a row by ID or SIS ids), then one column per
                         assignment named ``NAME (CANVAS_ID)`` (an existing assignment) or just
                         ``NAME`` (Canvas creates it). The second row, ``Points Possible``, holds
                         each assignment's maximum, as Canvas's own export does. A cell is the
                         score after the late penalty; blank (no change in Canvas) when the
                         student handed nothing in.
    moodle_grades.csv    Moodle *Grades -> Import -> CSV file*. Columns ``ID number`` and
                         ``Email address`` (choose one under *Identify user by*), ``Full name``,
                         one grade column per assignment (map each to its grade item) and one
                         ``Feedback: NAME`` column (map it to the item's feedback: Moodle asks
                         for grade and feedback together).
    grade_details.csv    every figure behind the two files: raw score, maximum, seconds late,
                         penalty, final score, written answers still waiting for a hand grade.

Students missing from the mapping are left out of the platform files and named on screen.
Nothing here changes the gradebook.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from traitlets import Dict, Float
from traitlets.config import Configurable

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MAPPING_COLUMNS = ["nbgrader_id", "name", "email", "canvas_id", "sis_user_id", "sis_login_id", "section",
                   "moodle_idnumber"]


class GradeExport(Configurable):
    """Late policy and Canvas ids, configured in nbgrader_config.py as ``c.GradeExport.*``."""

    late_percent_per_day = Float(0.0, help="% of the maximum lost per started day late").tag(config=True)
    late_max_percent = Float(100.0, help="the most, in % of the maximum, a late submission loses").tag(config=True)
    late_grace_minutes = Float(0.0, help="lateness up to this many minutes costs nothing").tag(config=True)
    canvas_assignment_ids = Dict(help="assignment name -> Canvas assignment id").tag(config=True)

    def penalty(self, seconds_late: float, score: float, max_score: float) -> float:
        """Points taken off. Example: 10 %/day, 26 h late, 20/27 -> 2 days -> 5.4 points."""
        if seconds_late <= self.late_grace_minutes * 60 or self.late_percent_per_day <= 0:
            return 0.0
        days = math.ceil(seconds_late / 86400)
        percent = min(self.late_max_percent, days * self.late_percent_per_day)
        return round(min(score, max_score * percent / 100), 2)


@dataclass
class Grade:
    student: str
    assignment: str
    score: float | None  # None: nothing handed in
    max_score: float
    seconds_late: float = 0.0
    penalty: float = 0.0
    written_pending: bool = False

    @property
    def final(self) -> float | None:
        return None if self.score is None else round(max(0.0, self.score - self.penalty), 2)


def load_policy(root: Path) -> GradeExport:
    from traitlets.config.loader import PyFileConfigLoader

    return GradeExport(config=PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())


def read_mapping(path: Path) -> dict[str, dict[str, str]]:
    """nbgrader id -> the row of ``student_ids.csv``; a clear message when the file is wrong."""
    if not Path(path).is_file():
        raise SystemExit(f"no student id mapping at {path}: write a CSV with the columns {', '.join(MAPPING_COLUMNS)}")
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("nbgrader_id",) if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: no column {missing[0]!r} (expected {', '.join(MAPPING_COLUMNS)})")
        return {row["nbgrader_id"].strip(): {c: (row.get(c) or "").strip() for c in MAPPING_COLUMNS}
                for row in reader if row.get("nbgrader_id", "").strip()}


def read_grades(db_url: str, policy: GradeExport) -> list[Grade]:
    """One ``Grade`` per student and assignment in the gradebook, late penalty applied."""
    from nbgrader.api import Gradebook, MissingEntry

    grades = []
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    grades.append(Grade(student.id, assignment.name, None, float(assignment.max_score)))
                    continue
                score, max_score = float(sub.score), float(sub.max_score)
                late = float(sub.total_seconds_late)
                pending = any(g.needs_manual_grade for nb in sub.notebooks for g in nb.grades)
                grades.append(Grade(student.id, assignment.name, score, max_score, late,
                                    policy.penalty(late, score, max_score), pending))
    return grades


def _header(assignment: str, policy: GradeExport) -> str:
    canvas_id = policy.canvas_assignment_ids.get(assignment)
    return f"{assignment} ({canvas_id})" if canvas_id else assignment


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def canvas_rows(grades: list[Grade], mapping: dict, policy: GradeExport) -> list[list[str]]:
    assignments = sorted({g.assignment for g in grades})
    by_key = {(g.student, g.assignment): g for g in grades}
    maxima = {g.assignment: g.max_score for g in grades}
    rows = [[*CANVAS_IDENTITY, *(_header(a, policy) for a in assignments)],
            ["Points Possible", "", "", "", "", *(_cell(maxima[a]) for a in assignments)]]
    for student in sorted({g.student for g in grades} & set(mapping)):
        ids = mapping[student]
        rows.append([ids["name"], ids["canvas_id"], ids["sis_user_id"], ids["sis_login_id"], ids["section"],
                     *(_cell(by_key[(student, a)].final) if (student, a) in by_key else "" for a in assignments)])
    return rows


def _feedback(grade: Grade) -> str:
    if grade.score is None:
        return "no submission"
    text = f"{grade.score:g}/{grade.max_score:g}"
    if grade.penalty:
        text += f", {math.ceil(grade.seconds_late / 86400)} day(s) late: -{grade.penalty:g}"
    if grade.written_pending:
        text += ", written answers not graded yet"
    return text


def moodle_rows(grades: list[Grade], mapping: dict) -> list[list[str]]:
    assignments = sorted({g.assignment for g in grades})
    by_key = {(g.student, g.assignment): g for g in grades}
    rows = [["ID number", "Email address", "Full name", *assignments, *(f"Feedback: {a}" for a in assignments)]]
    for student in sorted({g.student for g in grades} & set(mapping)):
        ids = mapping[student]
        own = [by_key.get((student, a)) for a in assignments]
        rows.append([ids["moodle_idnumber"], ids["email"], ids["name"],
                     *(_cell(g.final) if g else "" for g in own), *(_feedback(g) if g else "" for g in own)])
    return rows


def detail_rows(grades: list[Grade]) -> list[list[str]]:
    rows = [["student", "assignment", "score", "max_score", "seconds_late", "penalty", "final", "written_pending"]]
    rows += [[g.student, g.assignment, _cell(g.score), _cell(g.max_score), f"{g.seconds_late:.0f}",
              _cell(g.penalty), _cell(g.final), g.written_pending] for g in grades]
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return Path(path)


def export(root: Path, mapping_path: Path, out: Path, db_url: str | None = None) -> dict[str, Path]:
    from tfscourse_staff.grading.runner import course_db_url

    root = Path(root)
    policy = load_policy(root)
    mapping = read_mapping(mapping_path)
    grades = read_grades(db_url or course_db_url(root), policy)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unmapped = sorted({g.student for g in grades} - set(mapping))
    if unmapped:
        print(f"not in {mapping_path} (left out of the platform files): {', '.join(unmapped)}")
    no_canvas_id = sorted(s for s in mapping if not (mapping[s]["canvas_id"] or mapping[s]["sis_user_id"]))
    if no_canvas_id:
        print(f"no canvas_id or sis_user_id in {mapping_path} (Canvas cannot match their rows): {', '.join(no_canvas_id)}")
    return {
        "canvas": write_csv(out / "canvas_grades.csv", canvas_rows(grades, mapping, policy)),
        "moodle": write_csv(out / "moodle_grades.csv", moodle_rows(grades, mapping)),
        "details": write_csv(out / "grade_details.csv", detail_rows(grades)),
    }


def main(root: Path, mapping: str, out: str) -> int:
    files = export(root, root / mapping, root / out)
    print("wrote " + ", ".join(str(p) for p in files.values()))
    return 0
