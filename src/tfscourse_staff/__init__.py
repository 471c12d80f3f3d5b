"""The instructor's side of the course "Transformers from scratch": never installed by students.

Everything that a student's kernel must not be able to import lives here, apart from the
student package ``tfscourse`` (which never imports this one):

    cli            the ``tfscourse`` command line
    notebooks      maintainer tools: list assignments, normalise master notebooks
    publish        ``tfscourse publish DEST``: the student-facing repository, stage by stage
    submissions    build submissions from a release (examples, tests)
    nbgrader_runs  nbgrader from this Python: its scripts on PATH, throw-away course copies
    cycle          the instructor's cycle (release, grade, feedback, grades table)
    grading        ``tfscourse grade``: sandboxed, parallel, repairing, tamper-scanning grading
    reference      reference solutions the notebooks' graded cells ask for (never published)
"""
