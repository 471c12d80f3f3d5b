"""Grade one submission in a private, throw-away course folder: the unit of parallel work.

``run_job(job, limits)`` is all a grading worker does, on this machine or on a
Dask worker elsewhere. A ``Job`` carries everything needed (the submitted files,
the release notebooks, a template gradebook holding only this assignment), so it
needs no shared file system and never touches the course's gradebook:

1. check and repair the notebooks (``repair.py``), scan them for tampering (``tamper.py``);
2. build ``TMP/course/`` with its own ``nbgrader_config.py`` and SQLite gradebook,
   and a kernelspec that starts the kernel in the sandbox (``sandbox.py``);
3. run ``python -m tfscourse_staff.grading.autograde_process TMP`` (nbgrader autograde, in its own
   process group) under a wall-clock limit and a memory watchdog;
4. return a plain dict: flags, repairs, findings, the grades read from the private
   gradebook, and the autograded files. The parent merges it (``merge.py``).

Example:
    >>> result = run_job(job, Limits(timeout=30, memory_mb=1500))  # doctest: +SKIP
    >>> result["flags"], result["notebooks"]["self_attention"]["grades"]["test_softmax"]
    ([], [2.0, False])
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tfscourse_staff.grading import own_answers, repair, sandbox, status, tamper, templates

MAX_COPY_BACK = 5 * 2**20  # autograded files larger than this are not copied back


@dataclass
class Limits:
    """Per-submission limits. Defaults suit the course's notebooks on a laptop-class machine."""

    timeout: float = 900.0  # wall-clock seconds for the whole submission (the slowest solution needs ~2 min)
    memory_mb: int = 3072  # kernel address space and watchdog limit (torch training peaks ~1.5 GB)
    cell_timeout: int = 60  # seconds per cell (nbgrader_config.py), interrupted and graded on
    nproc: int = 256  # processes and threads per sandbox
    sandbox: bool = True  # False: run without bubblewrap (only with --no-sandbox, for debugging)


@dataclass
class Job:
    """Everything needed to grade one student's assignment, with no access to the course folder."""

    assignment: str
    student: str
    files: dict[str, bytes]  # the submitted files, path relative to the submission folder
    releases: dict[str, str]  # notebook stem -> release notebook (JSON text)
    template_db: bytes  # SQLite gradebook that knows only this assignment (see templates.py)
    extra_files: dict[str, bytes] = field(default_factory=dict)  # non-notebook files of course/ASSIGNMENT/
    course_id: str = "course"


_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def _take_uid() -> int:
    """A user id no other sandbox of this process uses (61000 + pid-based block + slot)."""
    base = 61000 + (os.getpid() % 64) * 64
    with _uid_lock:
        uid = next(u for u in itertools.count(base) if u not in _uids_in_use)
        _uids_in_use.add(uid)
        return uid


def _give_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


CONFIG = templates.COURSE_CONFIG + '''c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = {kernel!r}
c.OverwriteCells.add_missing_cells = True
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {ip!r}
c.KernelManager.connection_file = {conn!r}
'''


def _write_course(tmp: Path, job: Job, notebooks: dict, limits: Limits, uid: int) -> None:
    course = tmp / "course"
    sub = course / "submitted" / job.student / job.assignment
    sub.mkdir(parents=True)
    for rel, data in job.files.items():
        if not rel.endswith(".ipynb") and "/" not in rel and not rel.startswith("."):
            (sub / rel).write_bytes(data)
    for stem, nb in notebooks.items():
        (sub / f"{stem}.ipynb").write_text(json.dumps(nb, indent=1))
    source = course / "source" / job.assignment
    source.mkdir(parents=True)
    for rel, data in job.extra_files.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    (course / "gradebook.db").write_bytes(job.template_db)
    sockets = tmp / "kernel"
    sockets.mkdir()
    sockets.chmod(0o777)
    cell_timeout = int(max(5, min(limits.cell_timeout, limits.timeout / 3)))
    (course / "nbgrader_config.py").write_text(CONFIG.format(
        root=str(course), course_id=job.course_id, db=str(course / "gradebook.db"),
        cell_timeout=cell_timeout, kernel=sandbox.KERNEL_NAME, ip=str(sockets / "k"),
        conn=str(sockets / "connection.json"),
    ))
    workdir = course / "autograded" / job.student / job.assignment
    policy = sandbox.Policy(
        workdir=str(workdir), socket_dir=str(sockets), readonly=sandbox.python_folders(), uid=uid,
        memory_mb=limits.memory_mb, nproc=limits.nproc, sandbox=limits.sandbox,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "NBGRADER_EXECUTION": "autograde",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        },
    )
    sandbox.write_kernelspec(tmp / "jupyter", sandbox.write_policy(tmp / "policy.json", policy))


def _tree(pid: int):
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss_mb(procs) -> float:
    """Private resident memory of a process tree (RSS minus shared pages: forked copies count once)."""
    total = 0
    for p in procs:
        try:
            info = p.memory_info()
            total += info.rss - getattr(info, "shared", 0)
        except Exception:  # noqa: BLE001 - a process may end while we look
            pass
    return total / 2**20


def _pss_mb(procs) -> float:
    """Proportional memory of a process tree (pages shared by forked copies divided among them); slower."""
    total = 0
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:")) * 1024
        except Exception:  # noqa: BLE001 - ended meanwhile, or no smaps_rollup
            pass
    return total / 2**20


def _kill(procs) -> None:
    for p in reversed(procs):
        try:
            p.send_signal(signal.SIGKILL)
        except Exception:  # noqa: BLE001
            pass


def _supervise(cmd: list[str], env: dict, limits: Limits, log_path: Path) -> str:
    """Run the worker; return '' when it ended by itself, else the flag it was killed for."""
    # the worker itself holds a few hundred MB (nbgrader, nbclient): allow it on top of the kernel's limit
    ceiling = limits.memory_mb + 1024
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        start = time.monotonic()
        killed = ""
        while proc.poll() is None:
            time.sleep(0.2)
            procs = _tree(proc.pid)
            if time.monotonic() - start > limits.timeout:
                killed = status.TIMED_OUT
            elif _rss_mb(procs) > ceiling and _pss_mb(procs) > ceiling:
                killed = status.OUT_OF_MEMORY
            if killed:
                _kill(procs)
                proc.wait()
    return killed


def _scan_outputs(notebook: dict) -> list[str]:
    """Flags from an executed notebook: MemoryError -> out of memory, interrupted cell -> timed out."""
    flags = []
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "MemoryError":
                flags.append(status.OUT_OF_MEMORY)
            if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                flags.append(status.TIMED_OUT)
    return flags


def _shrink_outputs(notebook: dict, limit: int = 100_000) -> bool:
    """Cut stream and text outputs longer than ``limit`` characters (a huge print); True when cut."""
    cut = False
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []):
            targets = [(out, "text")] + [(out.get("data", {}), k) for k in ("text/plain", "text/html")]
            for holder, key in targets:
                text = holder.get(key)
                if isinstance(text, list):
                    text = "".join(text)
                if isinstance(text, str) and len(text) > limit:
                    holder[key] = text[:limit] + f"\n... [output cut: {len(text)} characters in all]\n"
                    cut = True
    return cut


def failed_result(job: Job, error: BaseException) -> dict:
    """The result of a job whose grader (not the submission) failed: status ``failed to run``."""
    return {"assignment": job.assignment, "student": job.student, "flags": [status.FAILED], "repairs": [],
            "findings": [], "detail": f"grader error: {type(error).__name__}: {error}"[:300], "notebooks": {},
            "files": {}, "timestamp": None, "seconds": 0.0}


def run_job(job: Job, limits: Limits | None = None) -> dict:
    """Grade one submission; never raises for anything the submission does."""
    import nbformat

    limits = limits or Limits()
    start = time.monotonic()
    result = {"assignment": job.assignment, "student": job.student, "flags": [], "repairs": [],
              "findings": [], "detail": "", "notebooks": {}, "files": {}, "timestamp": None}

    def done():
        result["seconds"] = time.monotonic() - start
        return result

    releases = {stem: nbformat.reads(text, as_version=4) for stem, text in job.releases.items()}
    checked = repair.check_and_repair(job.files, releases)
    notebooks = {}
    borrowed: dict[str, list[dict]] = {}  # per notebook: graded answers that are not the student's own
    for stem, c in checked.items():
        result["repairs"] += [f"{stem}: {r}" for r in c.repairs] if len(checked) > 1 else c.repairs
        if c.invalid:
            result["flags"].append(status.INVALID)
            result["detail"] = f"{stem}: {c.invalid}"
            continue
        notebooks[stem] = c.notebook
        result["findings"] += tamper.scan_notebook(c.notebook)
        borrowed[stem] = own_answers.scan_answers(c.notebook, releases[stem])
        result["findings"] += borrowed[stem]
    if result["repairs"]:
        result["flags"].append(status.REPAIRED)
    if tamper.is_suspicious(result["findings"]):
        result["flags"].append(status.SUSPICIOUS)
    if not notebooks:
        return done()

    uid = _take_uid()
    tmp = Path(tempfile.mkdtemp(prefix=f"tfsgrade-{job.student[:20]}-"))
    tmp.chmod(0o711)
    try:
        _write_course(tmp, job, notebooks, limits, uid)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "TFSCOURSE_DB"))}
        env.update(JUPYTER_PATH=str(tmp / "jupyter"), JUPYTER_RUNTIME_DIR=str(tmp / "kernel"),
                   JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_PLATFORM_DIRS="1")
        cmd = [sys.executable, "-m", "tfscourse_staff.grading.autograde_process", str(tmp), job.assignment, job.student]
        killed = _supervise(cmd, env, limits, tmp / "worker.log")
        log = (tmp / "worker.log").read_text(errors="replace")
        if killed:
            result["flags"].append(killed)
            result["detail"] = f"stopped after {time.monotonic() - start:.0f} s: {killed}"
            return done()
        out_path = tmp / "result.json"
        worker = json.loads(out_path.read_text()) if out_path.exists() else {"success": False, "error": log[-2000:]}
        message = (worker.get("error") or "") + (worker.get("log") or "")
        if not worker.get("success"):
            if "DeadKernelError" in message or "Kernel died" in message or "kernel died" in message.lower():
                result["flags"].append(status.KERNEL_DIED)
                result["detail"] = "the kernel died while running the notebook (e.g. os._exit or a crash)"
            else:
                result["flags"].append(status.FAILED)
                lines = [line for line in message.strip().splitlines() if line.strip()]
                result["detail"] = lines[-1][:300] if lines else "the grader failed without a message"
            return done()
        result["notebooks"] = worker["notebooks"]
        for stem, graded in result["notebooks"].items():
            own_answers.withdraw_points(graded["grades"], borrowed.get(stem, []))
        result["timestamp"] = worker.get("timestamp")
        folder = tmp / "course" / "autograded" / job.student / job.assignment
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            rel = str(path.relative_to(folder))
            if path.suffix == ".ipynb":
                nb = json.loads(path.read_text())
                result["flags"] += _scan_outputs(nb)
                if _shrink_outputs(nb):
                    result["detail"] = "huge output cut in the autograded notebook"
                result["files"][rel] = json.dumps(nb, indent=1).encode()
            elif path.stat().st_size <= MAX_COPY_BACK:
                result["files"][rel] = path.read_bytes()
        result["flags"] = list(dict.fromkeys(result["flags"]))
        return done()
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the batch
        result["flags"].append(status.FAILED)
        result["detail"] = f"grader error: {type(error).__name__}: {error}"[:300]
        return done()
    finally:
        _give_uid(uid)
        if not os.environ.get("TFSCOURSE_KEEP_JOBS"):  # keep the private course to debug the grader
            shutil.rmtree(tmp, ignore_errors=True)
