"""Scale-out: the same grading over a Dask cluster on loopback, with the gradebook in a real PostgreSQL.

The test starts its own PostgreSQL server (Debian's ``postgresql`` package:
``initdb``/``pg_ctl`` from ``/usr/lib/postgresql/*/bin``) on 127.0.0.1 in a temporary
folder, as the ``postgres`` user when run as root, points the course at it with
``TFSCOURSE_DB_URL``, grades with ``--distributed local`` (a ``LocalCluster`` of
two worker processes on 127.0.0.1) and checks the scores in PostgreSQL against
those of the SQLite gradebook of the local path. Skipped with the reason only
where PostgreSQL, Dask or bubblewrap cannot be installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.adversarial.course import ASSIGNMENT, REPO, make_course
from tfscourse_staff.grading import sandbox
from tfscourse_staff.grading.job import Limits

pytestmark = pytest.mark.slow
STUDENTS = ("ada_complete", "ben_untouched", "cleo_partial")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("psycopg2", reason="psycopg2 missing: pip install 'tfscourse[scale]'")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="tfscourse-pg-"))  # not under pytest's 0700 folders: postgres must reach it
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    prefix = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = _free_port()
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "start",
                    "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"], check=True, capture_output=True)
    try:
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "course"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/course"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _scores(db_url: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {s.student_id: (s.code_score, s.max_code_score) for s in gb.assignment_submissions(ASSIGNMENT)}


def test_dask_cluster_with_postgres_gradebook(postgres, tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed", reason="dask missing: pip install 'tfscourse[scale]'")
    if why := sandbox.available():
        pytest.skip(f"bubblewrap sandbox unavailable: {why}")
    from tfscourse_staff.cycle import run_grade
    from tfscourse_staff.grading.runner import grade

    monkeypatch.setenv("TFSCOURSE_DB_URL", postgres)
    root = make_course(tmp_path / "pg_course")  # generate_assignment writes into PostgreSQL
    for student in STUDENTS:
        shutil.copytree(REPO / "submitted" / student / ASSIGNMENT, root / "submitted" / student / ASSIGNMENT)
    started = time.monotonic()
    outcomes = run_grade(root, [ASSIGNMENT], workers=2, limits=Limits(timeout=120, memory_mb=2000), distributed="local")
    assert time.monotonic() - started < 600
    assert {o.student: o.status for o in outcomes} == dict.fromkeys(STUDENTS, "graded")
    in_postgres = _scores(postgres)
    assert not (root / "gradebook.db").exists(), "the SQLite gradebook must not be used"
    assert (root / "feedback" / "ada_complete" / ASSIGNMENT / "self_attention.html").exists()

    monkeypatch.delenv("TFSCOURSE_DB_URL")
    local = make_course(tmp_path / "sqlite_course")
    for student in STUDENTS:
        shutil.copytree(REPO / "submitted" / student / ASSIGNMENT, local / "submitted" / student / ASSIGNMENT)
    grade(local, [ASSIGNMENT], workers=2, limits=Limits(timeout=120, memory_mb=2000), quiet=True)
    assert in_postgres == _scores(f"sqlite:///{local / 'gradebook.db'}")
    assert in_postgres["ada_complete"][0] == in_postgres["ada_complete"][1] > 0
