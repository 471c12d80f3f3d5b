"""nbgrader configuration of the course "Transformers from scratch".

Run nbgrader from this folder (the Makefile and ``tfscourse`` do). Environment
variables let tests and large classes change the two things that differ
between installations:

    TFSCOURSE_DB_URL        the gradebook (default: SQLite file gradebook.db here;
                            e.g. postgresql://user@host/course for a big class)
    TFSCOURSE_CELL_TIMEOUT  seconds a single cell may run while grading (default 60)

This file is the course's only nbgrader configuration. ``tfscourse grade`` and the
tests' scratch courses write theirs from it (``tfscourse.nbgrader_settings``): every
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
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

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
