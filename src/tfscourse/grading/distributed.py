"""Spread the jobs over a Dask distributed cluster (``--distributed ADDRESS``).

``ADDRESS`` is a scheduler (``tcp://10.0.0.5:8786``) or ``local`` for a
``LocalCluster`` on loopback with ``workers`` single-threaded worker processes.
Every Dask worker needs the same environment as this machine (the tfscourse
package with nbgrader, bubblewrap); it needs **no** shared file system and no
access to the gradebook: a job carries its files (``job.Job``) and the result
comes back as a dict, which the calling process merges into the gradebook
(PostgreSQL for a large class: ``TFSCOURSE_DB_URL=postgresql+psycopg2://user@host/db``;
SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3).
Install with ``pip install 'tfscourse[scale]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tfscourse.grading.job import Job, Limits, run_job
from tfscourse.grading.workers import progress


def client_for(address: str, workers: int):
    """A Dask ``Client``: a local cluster on 127.0.0.1 for ``local``, else the given scheduler."""
    from dask.distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=40,
        )
        return Client(cluster)
    return Client(address)


def run_distributed(jobs: Iterable[Job], limits: Limits, address: str, workers: int,
                    on_result: Callable[[dict], None], total: int, quiet: bool = False) -> None:
    from dask.distributed import as_completed

    client = client_for(address, workers)
    try:
        futures = [client.submit(run_job, job, limits, pure=False, key=f"grade-{job.assignment}-{job.student}") for job in jobs]
        with progress(total, desc="grading (dask)", quiet=quiet) as bar:
            for future in as_completed(futures):
                result = future.result()
                on_result(result)
                bar.update(1)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if address == "local" and cluster is not None:
            cluster.close()
