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
from dataclasses import replace

from tfscourse_staff.grading.job import Job, Limits, failed_result, run_job
from tfscourse_staff.grading.local_pool import progress


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


def _run_with_bundle(job: Job, bundle: tuple, limits: Limits) -> dict:
    template_db, releases, extra_files = bundle
    return run_job(replace(job, template_db=template_db, releases=releases, extra_files=extra_files), limits)


def run_distributed(jobs: Iterable[Job], limits: Limits, address: str, workers: int,
                    on_result: Callable[[dict], None], total: int, quiet: bool = False) -> None:
    from dask.distributed import as_completed

    client = client_for(address, workers)
    try:
        shared: dict[str, object] = {}  # one copy of each assignment's bundle on every worker, not one per job
        futures, owners = [], {}
        for job in jobs:
            if job.assignment not in shared:
                bundle = (job.template_db, job.releases, job.extra_files)
                shared[job.assignment] = client.scatter([bundle], broadcast=True, hash=False)[0]
            light = replace(job, template_db=b"", releases={}, extra_files={})
            future = client.submit(_run_with_bundle, light, shared[job.assignment], limits, pure=False,
                                   key=f"grade-{job.assignment}-{job.student}")
            futures.append(future)
            owners[future.key] = job
        with progress(total, desc="grading (dask)", quiet=quiet) as bar:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - a lost worker fails one job, not the batch
                    result = failed_result(owners[future.key], error)
                on_result(result)
                bar.update(1)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if address == "local" and cluster is not None:
            cluster.close()
