"""nbgrader configuration of the course "Transformers from scratch".

Run nbgrader from this folder (the Makefile and ``tfscourse`` do). Environment
variables let tests and large classes change the two things that differ
between installations:

    TFSCOURSE_DB_URL        the gradebook (default: SQLite file gradebook.db here;
                            e.g. postgresql://user@host/course for a big class)
    TFSCOURSE_CELL_TIMEOUT  seconds a single cell may run while grading (default 60)

This file is the course's only nbgrader configuration. ``tfscourse grade`` and the
tests' scratch courses write theirs from it (``tfscourse_staff.nbgrader_settings``): every
option set here reaches each grading job, which changes only its own folder and
gradebook, the sandboxed kernel and its sockets, and caps a cell at a third of the
submission's time limit. Give options plain values (text, numbers, lists, dicts):
a job carries them to the machine that grades it.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

root = Path(__file__).resolve().parent

c.CourseDirectory.root = str(root)
c.CourseDirectory.course_id = "transformers-from-scratch"
c.CourseDirectory.source_directory = "course"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = os.environ.get("TFSCOURSE_DB_URL", f"sqlite:///{root / 'gradebook.db'}")
# "*.py": the notebooks' text sources in course/ (solutions and hidden tests) never reach a
# release or a grading folder; the course ships its helper code in the tfscourse package.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]

# Cells are executed one by one with this limit. The slowest honest cell in any
# solution notebook takes under 10 s while grading (training loops shrink when
# NBGRADER_EXECUTION is set), so 60 s leaves a wide margin on a slow or busy
# machine while an endless loop costs a submission one minute per cell, not hours.
c.ExecutePreprocessor.timeout = int(os.environ.get("TFSCOURSE_CELL_TIMEOUT", "60"))
c.Execute.timeout = c.ExecutePreprocessor.timeout
c.Execute.interrupt_on_timeout = True
# After a cell finishes, nbgrader waits for its last outputs (a figure) only 4 s by default and
# then fails the whole submission ("Timeout waiting for IOPub output"); on a busy grading
# machine that wait is often longer. It costs nothing when the outputs arrive at once.
c.Execute.iopub_timeout = 30

# A student who deletes a graded cell (or whose editor strips its metadata) must
# not lose the test silently: put the instructor's cell back before grading.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# `nbgrader zip_collect <assignment>` (submissions downloaded from a learning platform):
# put the platform's zip files in downloaded/<assignment>/archive/; each file inside is named
# <student_id>__<notebook>.ipynb (two underscores), e.g. ada_complete__self_attention.ipynb.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/]+?)__(?P<file_id>[^/]+\.ipynb)$"

# Grade files for Canvas and Moodle (`tfscourse export-grades`, tfscourse_staff/grading/lms_export.py).
# Late policy: after the assignment's nbgrader duedate (`nbgrader db assignment add NAME
# --duedate="2026-03-01 17:00:00 UTC"`, or formgrader) plus the student's extension, each
# started day costs this share of the assignment's maximum, up to a cap; a grace period is free.
c.GradeExport.late_percent_per_day = 10
c.GradeExport.late_max_percent = 50
c.GradeExport.late_grace_minutes = 15
# Canvas's ids of the assignments, so that an import updates them instead of creating new ones:
# c.GradeExport.canvas_assignment_ids = {"01_self_attention": 123456}
