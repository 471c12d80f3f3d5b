"""Autograding the course at scale: sandboxed, parallel, robust, with honest feedback.

Built on nbgrader 0.9.6 (its gradebook, formgrader and commands keep working):

    runner.py       ``tfscourse grade``: bundles, jobs, dispatch, merge, summary
    job.py          grade one submission in a private course copy (the unit of work)
    worker.py       the process that runs nbgrader autograde for one job
    execute.py      nbgrader's Execute step with a deadline per submission
    sandbox.py      bubblewrap + own uid + rlimits around every student kernel
    untrusted.py    files the kernel left, read without links; parsing in a limited subprocess
    outputs.py      executed notebooks rebuilt safe: outputs capped, no student HTML or script
    repair.py       check and repair submitted notebooks against the release
    tamper.py       static scan for monkeypatching, frame inspection, exits...
    own_answers.py  graded answers must be the student's own (no imported or copied references)
    status.py       statuses, summary CSV and table
    merge.py        write results into the course gradebook (one writer)
    templates.py    per-assignment template gradebook and release notebooks
    local_pool.py   N jobs at a time on this machine, progress bar
    distributed.py  the same on a Dask cluster (gradebook in PostgreSQL)
    feedback.py     feedback HTML without hidden tests, one submission at a time
    export.py       grades.csv, one student at a time when the whole export fails
    feedback.py     feedback HTML without hidden tests
    judge.py        the trusted judge: test cells run outside the kernel, student names as kernel proxies
    judge_wire.py   the plain-data wire format between judge and kernel (schema, limits; no pickle, no code)
    judge_endpoint.py  the kernel side of that channel (untrusted: started in the sandboxed kernel)
    judge_execute.py   nbgrader's Execute with the judge: test cells tagged ``judge``, scores into the gradebook

After grading (``tfscourse report``, ``tfscourse export-grades``):

    report.py           the class report: HTML page with embedded figures, CSVs
    class_data.py       what grading left (gradebook, autograded/, summary) as plain tables
    report_plots.py     the report's figures
    similarity.py       pairs of students with unusually similar answer cells (winnowing)
    lms_export.py       grade files for Canvas and Moodle, late penalties
    class_generator.py  synthetic classes with planted outcomes (tests and benchmarks)
"""
