"""Grade files for Canvas and Moodle (``tfscourse_staff.grading.lms_export``), checked against the documented formats.

Canvas's gradebook import (Canvas guide "How do I import grades in the Gradebook?"): a CSV
whose first row names the columns; the student is identified by ``Student``/``ID``/``SIS
User ID``/``SIS Login ID`` and ``Section`` comes with them; every further column is an
assignment, ``Name (id)`` for an existing one; a ``Points Possible`` row may follow the
header; a blank cell changes nothing. Moodle's CSV grade import (MoodleDocs "Grade import"):
a header row, one column that identifies the user (email address or ID number, chosen under
"Identify user by"), grade columns mapped to grade items, optional feedback columns.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import ASSIGNMENTS, ROOT
from tfscourse_staff.grading import class_generator as cg
from tfscourse_staff.grading import lms_export
from tfscourse_staff.grading.lms_export import Grade, GradeExport
from tfscourse_staff.nbgrader_runs import ScratchCourse

nbformat = pytest.importorskip("nbformat")

DAY = 86400
MAPPING = {
    "ada": {"nbgrader_id": "ada", "name": "Lovelace, Ada", "email": "ada@example.org", "canvas_id": "101",
            "sis_user_id": "S-1", "sis_login_id": "ada.l", "section": "Section A", "moodle_idnumber": "2026001"},
    "ben": {"nbgrader_id": "ben", "name": "Ng, Ben", "email": "ben@example.org", "canvas_id": "102",
            "sis_user_id": "S-2", "sis_login_id": "ben.n", "section": "Section A", "moodle_idnumber": "2026002"},
}


def parse(text_rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(text_rows)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def policy(**values) -> GradeExport:
    return GradeExport(late_percent_per_day=10, late_max_percent=50, late_grace_minutes=15, **values)


@pytest.mark.parametrize("seconds_late, expected", [
    (0, 0.0),
    (14 * 60, 0.0),  # within the grace period
    (16 * 60, 2.7),  # one started day: 10 % of 27
    (DAY + 1, 5.4),  # two started days
    (30 * DAY, 13.5),  # capped at 50 %
])
def test_late_penalty_follows_the_policy(seconds_late, expected):
    assert policy().penalty(seconds_late, 20, 27) == pytest.approx(expected)


def test_a_penalty_never_takes_more_than_the_score():
    assert policy().penalty(10 * DAY, 3, 27) == 3
    assert Grade("ada", "a", 3, 27, 10 * DAY, 3).final == 0


def test_no_policy_means_no_penalty():
    assert GradeExport().penalty(5 * DAY, 20, 27) == 0


def test_canvas_file_matches_the_documented_layout():
    grades = [Grade("ada", "01_self_attention", 25, 27), Grade("ben", "01_self_attention", 20, 27, DAY + 5, 5.4),
              Grade("ada", "02_multihead_attention", None, 30), Grade("ben", "02_multihead_attention", 30, 30)]
    rows = parse(lms_export.canvas_rows(grades, MAPPING, policy(canvas_assignment_ids={"01_self_attention": 5551})))
    # the example a Canvas import accepts, written out by hand for these grades
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_self_attention (5551)", "02_multihead_attention"],
        ["Points Possible", "", "", "", "", "27", "30"],
        ["Lovelace, Ada", "101", "S-1", "ada.l", "Section A", "25", ""],
        ["Ng, Ben", "102", "S-2", "ben.n", "Section A", "14.6", "30"],
    ]


def test_canvas_rules_hold_for_every_row():
    grades = [Grade(s, "01_self_attention", 10.5, 27) for s in MAPPING]
    header, points, *students = parse(lms_export.canvas_rows(grades, MAPPING, policy()))
    assert header[:5] == lms_export.CANVAS_IDENTITY
    assert points[0] == "Points Possible" and all(v == "" for v in points[1:5])
    for row in students:
        assert len(row) == len(header)
        assert row[1] or row[2], "Canvas needs the user's ID or SIS User ID to match the row"
        assert all(cell == "" or float(cell) >= 0 for cell in row[5:])


def test_moodle_file_matches_the_documented_layout():
    grades = [Grade("ada", "01_self_attention", 25, 27, 0, 0, written_pending=True),
              Grade("ben", "01_self_attention", 20, 27, DAY + 5, 5.4)]
    rows = parse(lms_export.moodle_rows(grades, MAPPING))
    assert rows == [
        ["ID number", "Email address", "Full name", "01_self_attention", "Feedback: 01_self_attention"],
        ["2026001", "ada@example.org", "Lovelace, Ada", "25", "25/27, written answers not graded yet"],
        ["2026002", "ben@example.org", "Ng, Ben", "14.6", "20/27, 2 day(s) late: -5.4"],
    ]
    identifiers = [row[1] for row in rows[1:]]
    assert len(set(identifiers)) == len(identifiers), "Moodle maps each row to one user"


def test_a_mapping_file_without_its_id_column_is_refused_clearly(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("student,email\nada,ada@example.org\n")
    with pytest.raises(SystemExit, match="nbgrader_id"):
        lms_export.read_mapping(path)
    with pytest.raises(SystemExit, match="no student id mapping"):
        lms_export.read_mapping(tmp_path / "absent.csv")


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """Six generated students of notebook 01 graded (from planted outcomes), with a due date."""
    from nbgrader.api import Gradebook

    assignment = "01_self_attention"
    folder = tmp_path_factory.mktemp("export")
    course = ScratchCourse(ROOT, folder, [assignment])
    release = course.release(assignment)
    master = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    variants = cg.answer_variants(master, release, [])
    effects = {v.key: {} for options in variants.values() for v in options}  # every answer given passes
    students = cg.generate_class(master, variants, 6, seed=3, mix=cg.Mix(right=0.5, wrong=0, crash=0, timeout=0, copy_pairs=0))
    cg.fill_synthetic(folder, assignment, ASSIGNMENTS[assignment].stem, release, master, students, effects, seed=3)
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gb:
        handed_in = sorted(gb.find_submission(assignment, s.name).timestamp for s in students)
        # due between the third and fourth hand-in, 20 minutes after the third: some late, some not
        gb.update_or_create_assignment(assignment, duedate=handed_in[2] + timedelta(minutes=20))
    return folder, [s.name for s in students]


def test_export_reads_the_gradebook_and_applies_the_configured_penalty(graded_course, capsys):
    folder, students = graded_course
    mapping = folder / "student_ids.csv"
    with mapping.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(lms_export.MAPPING_COLUMNS)
        for i, s in enumerate(students[:-1]):  # the last student is missing from the mapping
            writer.writerow([s, f"Student {i}", f"{s}@example.org", 900 + i, f"S{i}", s, "A", f"ID{i}"])
    files = lms_export.export(folder, mapping, folder / "exports")
    assert f"left out of the platform files): {students[-1]}" in capsys.readouterr().out
    details = list(csv.DictReader(files["details"].open()))
    assert {d["student"] for d in details} == set(students)
    late = [d for d in details if float(d["seconds_late"]) > 15 * 60]
    on_time = [d for d in details if float(d["seconds_late"]) <= 15 * 60]
    assert late and on_time, "the generated timestamps fall on both sides of the due date"
    rules = policy()  # the values set in the course's nbgrader_config.py
    for d in details:
        expected = rules.penalty(float(d["seconds_late"]), float(d["score"]), float(d["max_score"]))
        assert float(d["penalty"]) == pytest.approx(expected)
        assert float(d["final"]) == pytest.approx(float(d["score"]) - expected)
    canvas = list(csv.reader(files["canvas"].open()))
    finals = {d["student"]: d["final"] for d in details}
    assert [float(row[5]) for row in canvas[2:]] == [float(finals[s]) for s in sorted(students[:-1])]
    moodle = list(csv.reader(files["moodle"].open()))
    assert [row[1] for row in moodle[1:]] == [f"{s}@example.org" for s in sorted(students[:-1])]


def test_the_course_config_sets_a_late_policy():
    loaded = lms_export.load_policy(ROOT)
    assert (loaded.late_percent_per_day, loaded.late_max_percent, loaded.late_grace_minutes) == (10, 50, 15)


def test_export_command_writes_the_three_files(graded_course, monkeypatch, capsys):
    from tfscourse_staff import cli

    folder, students = graded_course
    with (folder / "ids.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nbgrader_id", "name", "email"])
        writer.writerows([s, s.title(), f"{s}@example.org"] for s in students)
    monkeypatch.chdir(folder)
    assert cli.main(["export-grades", "--mapping", "ids.csv", "--out", "lms"]) == 0
    assert {p.name for p in (folder / "lms").iterdir()} == {"canvas_grades.csv", "moodle_grades.csv", "grade_details.csv"}
    printed = capsys.readouterr().out
    assert "left out" not in printed and "Canvas cannot match their rows" in printed
    canvas = list(csv.reader((folder / "lms" / "canvas_grades.csv").open()))
    assert len(canvas) == 2 + len(students)
