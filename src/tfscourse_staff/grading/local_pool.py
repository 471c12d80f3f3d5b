"""Run jobs N at a time on this machine, with a progress bar on stdout.

Each job already runs in its own processes (``job.py``), so a thread per slot is
enough here: the threads only wait. Results come back in the order they finish
and are handed to ``on_result`` in the calling thread, one at a time (that is
where the gradebook is written).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from tfscourse_staff.grading.job import Job, Limits, failed_result, run_job


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def progress(total: int, desc: str = "grading", quiet: bool = False):
    """A tqdm bar on stdout (stderr stays free for real errors); silent when ``quiet``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="nb", file=sys.stdout, dynamic_ncols=False, ncols=90,
                mininterval=0.5, disable=quiet)


def run_local(jobs: Iterable[Job], limits: Limits, workers: int, on_result: Callable[[dict], None], total: int,
              quiet: bool = False) -> None:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool, progress(total, quiet=quiet) as bar:
        owners = {pool.submit(run_job, job, limits): job for job in jobs}
        for future in as_completed(owners):
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - a grader bug fails one job, not the batch
                result = failed_result(owners[future], error)
            bar.set_postfix_str(f"{result['student'][:16]} {','.join(result['flags']) or 'graded'}"[:40])
            on_result(result)
            bar.update(1)
