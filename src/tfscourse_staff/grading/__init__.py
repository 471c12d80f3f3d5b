"""Autograding the course at scale: sandboxed, parallel, robust, with honest feedback.

Built on nbgrader 0.9.6 (its gradebook, formgrader and commands keep working):

    runner.py       ``tfscourse grade``: bundles, jobs, dispatch, merge, summary
    job.py          grade one submission in a private course copy (the unit of work)
    autograde_process.py  the process that runs nbgrader autograde for one job
    sandbox.py      bubblewrap + own uid + rlimits around every student kernel
    repair.py       check and repair submitted notebooks against the release
    tamper.py       static scan for monkeypatching, frame inspection, exits...
    own_answers.py  graded answers must be the student's own (no imported or copied references)
    status.py       statuses, summary CSV and table
    merge.py        write results into the course gradebook (one writer)
    templates.py    per-assignment template gradebook and release notebooks
    local_pool.py   N jobs at a time on this machine, progress bar
    distributed.py  the same on a Dask cluster (gradebook in PostgreSQL)
    feedback.py     feedback HTML without hidden tests
"""
