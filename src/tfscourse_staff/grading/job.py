"""Grade one submission in a private, throw-away course folder: the unit of parallel work.

``run_job(job, limits)`` is all a grading worker does, on this machine or on a
Dask worker elsewhere. A ``Job`` carries everything needed (the submitted files,
the release notebooks, a template gradebook holding only this assignment), so it
needs no shared file system and never touches the course's gradebook:

1. check and repair the notebooks (``repair.py``), scan them for tampering (``tamper.py``),
   in a subprocess with memory and time limits (``untrusted.py``);
2. build ``TMP/course/`` with its own SQLite gradebook and ``nbgrader_config.py``
   (the course's, with the overrides listed in ``job_settings``),
   a kernelspec that starts the kernel in the sandbox (``sandbox.py``), and the
   kernel's scratch folder: the kernel sees it at the path of its autograded folder,
   so nbgrader (privileged) and the kernel never write into the same folder;
3. run ``python -m tfscourse_staff.grading.autograde_process TMP`` (nbgrader autograde, in its own
   process group, cells run by ``execute.BoundedExecute`` against the submission's
   deadline) under a wall-clock backstop and a memory watchdog;
4. return a plain dict: flags, repairs, findings, the grades read from the private
   gradebook, the executed notebooks made safe (``outputs.py``, by the watched
   worker) and the few allowed files the kernel left (``untrusted.collect``).
   The parent merges it (``merge.py``).

Example:
    >>> result = run_job(job, Limits(timeout=30, memory_mb=1500))  # doctest: +SKIP
    >>> result["flags"], result["notebooks"]["self_attention"]["grades"]["test_softmax"]
    ([], [2.0, False])
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tfscourse_staff import nbgrader_settings
from tfscourse_staff.grading import own_answers, sandbox, status, tamper, templates, untrusted

MAX_COPY_BACK = 5 * 2**20  # files nbgrader wrote into the autograded folder larger than this are not copied back
BACKSTOP = 60.0  # seconds past the submission's limit before the whole worker is killed (nbgrader's own saving)


@dataclass
class Limits:
    """Per-submission limits. Defaults suit the course's notebooks on a laptop-class machine."""

    timeout: float = 900.0  # wall-clock seconds for the whole submission (the slowest solution needs ~2 min)
    memory_mb: int = 3072  # kernel address space and watchdog limit (torch training peaks ~1.5 GB)
    cell_timeout: int | None = None  # seconds per cell, interrupted and graded on; None: nbgrader_config.py's
    tmp_mb: int = 256  # the sandbox's in-memory /tmp, counted on top of memory_mb
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
    settings: dict = field(default_factory=dict)  # the course's nbgrader_config.py (nbgrader_settings.load)
    judge_tests: dict = field(default_factory=dict)  # notebook stem -> master test cells the judge runs


AUTOGRADE_PREPROCESSORS = [
    "tfscourse_staff.grading.execute.BoundedExecute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
JUDGE_EXECUTE = "tfscourse_staff.grading.judge_execute.JudgeExecute"


def job_settings(job: Job, limits: Limits, course: Path, sockets: Path, conn: Path,
                 judge_spec: Path | None = None) -> dict:
    """The job's nbgrader configuration: the course's, with what grading in a private sandbox needs.

    Overridden, and why:
    - the folder, gradebook and layout (``templates.private_course``): the job's own copies;
    - ``Execute.kernel_name``: the sandboxed kernelspec, so that student code never runs outside it;
    - ``KernelManager`` transport, ip and connection file: Unix sockets in the folder shared with
      the sandbox, which has no network; the connection file in a folder the kernel may only read;
    - ``Autograde.autograde_preprocessors``: nbgrader's list with ``execute.BoundedExecute`` in place
      of ``Execute``, so that cells run against the submission's deadline; with a ``judge_spec``,
      ``judge_execute.JudgeExecute`` (a ``BoundedExecute`` whose test cells the judge scores);
    - ``Execute.timeout``: at most a third of the submission's wall-clock limit (``Limits.timeout``,
      at least 5 s), so that a slow cell is interrupted and graded on before the whole job is stopped;
      ``Limits.cell_timeout``, when given, replaces the course's value;
    - ``Execute.interrupt_on_timeout``: on, because the ``timed out`` status reads the interrupted cell.
    """
    course_limit = limits.cell_timeout or nbgrader_settings.cell_timeout(job.settings)
    overrides = templates.private_course(course)
    overrides["Execute"] = {
        "kernel_name": sandbox.KERNEL_NAME, "timeout": int(max(5, min(course_limit, limits.timeout / 3))),
        "interrupt_on_timeout": True,
    }
    overrides["KernelManager"] = {"transport": "ipc", "ip": str(sockets / "k"), "connection_file": str(conn / "connection.json")}
    if judge_spec is None:
        overrides["Autograde"] = {"autograde_preprocessors": AUTOGRADE_PREPROCESSORS}
    else:
        overrides["Autograde"] = {"autograde_preprocessors": [JUDGE_EXECUTE, *AUTOGRADE_PREPROCESSORS[1:]]}
        overrides["JudgeExecute"] = {"spec_path": str(judge_spec)}
    return nbgrader_settings.derive(job.settings, overrides)


def _write_course(tmp: Path, job: Job, notebooks: dict[str, str], limits: Limits, uid: int) -> Path:
    """The private course, the kernel's scratch folder and its sandbox policy; returns the scratch folder.

    Only the notebooks go into ``submitted/``: files a student hands in next to them
    never reach the kernel (a ``numpy.py`` there would shadow numpy).
    """
    course = tmp / "course"
    sub = course / "submitted" / job.student / job.assignment
    sub.mkdir(parents=True)
    for stem, text in notebooks.items():
        (sub / f"{stem}.ipynb").write_text(text)
    source = course / "source" / job.assignment
    source.mkdir(parents=True)
    scratch = sandbox.make_scratch(tmp, uid)
    for rel, data in job.extra_files.items():  # the assignment's data files: for nbgrader, and for the kernel
        for folder in (source, scratch):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
    if os.geteuid() == 0:
        for path in scratch.rglob("*"):
            os.chown(path, uid, uid, follow_symlinks=False)
    (course / "gradebook.db").write_bytes(job.template_db)
    sockets, conn = tmp / "kernel", tmp / "conn"
    sockets.mkdir()
    sockets.chmod(0o777)  # the kernel creates its ipc sockets here; nothing privileged writes here
    conn.mkdir(mode=0o755)  # the connection file: written by nbgrader, read-only for the kernel
    nbgrader_settings.write(course, job_settings(job, limits, course, sockets, conn, _write_judge_spec(tmp, job)))
    workdir = course / "autograded" / job.student / job.assignment
    policy = sandbox.Policy(
        workdir=str(workdir), scratch=str(scratch), socket_dir=str(sockets), conn_dir=str(conn),
        etc_dir=str(sandbox.write_etc(tmp / "etc", uid)), readonly=sandbox.python_folders(), uid=uid,
        memory_mb=limits.memory_mb, tmp_mb=limits.tmp_mb, nproc=limits.nproc, sandbox=limits.sandbox,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "NBGRADER_EXECUTION": "autograde",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        },
    )
    sandbox.write_kernelspec(tmp / "jupyter", sandbox.write_policy(tmp / "policy.json", policy))
    return scratch


def _write_judge_spec(tmp: Path, job: Job) -> Path | None:
    """judge.json (outside the sandbox; its socket inside the kernel's socket folder), when the job has judged cells."""
    if not job.judge_tests:
        return None
    spec = {"socket": str(tmp / "kernel" / "judge.sock"), "results": str(tmp / "judge_results.json"),
            "tests": job.judge_tests}
    (tmp / "judge.json").write_text(json.dumps(spec))
    return tmp / "judge.json"


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


def _supervise(cmd: list[str], env: dict, limits: Limits, log_path: Path, seconds: float) -> str:
    """Run the worker for at most ``seconds``; return '' when it ended by itself, else the flag it was killed for."""
    # the worker itself holds a few hundred MB (nbgrader, nbclient): allow it on top of the kernel's limit
    ceiling = limits.memory_mb + 1024
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        start = time.monotonic()
        killed = ""
        while proc.poll() is None:
            time.sleep(0.2)
            procs = _tree(proc.pid)
            if time.monotonic() - start > seconds:
                killed = status.TIMED_OUT
            elif _rss_mb(procs) > ceiling and _pss_mb(procs) > ceiling:
                killed = status.OUT_OF_MEMORY
            if killed:
                _kill(procs)
                proc.wait()
    return killed


def failed_result(job: Job, error: BaseException) -> dict:
    """The result of a job whose grader (not the submission) failed: status ``failed to run``."""
    return {"assignment": job.assignment, "student": job.student, "flags": [status.FAILED], "repairs": [],
            "findings": [], "detail": f"grader error: {type(error).__name__}: {error}"[:300], "notebooks": {},
            "files": {}, "timestamp": None, "seconds": 0.0}


def _check(job: Job, result: dict) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """Repair and scan the submission in a limited subprocess.

    Returns the notebooks to grade (stem -> JSON text) and, per notebook, the graded answers that
    are not the student's own (``own_answers``: their test cells lose their points).
    """
    payload = {"files": {name: base64.b64encode(data).decode() for name, data in job.files.items() if name.endswith(".ipynb")},
               "releases": job.releases}
    try:
        checked = untrusted.run_limited("check", payload)
    except untrusted.LimitExceeded as why:
        result["flags"].append(status.INVALID)
        result["detail"] = f"the submission could not be checked within the limits: {why}"
        return {}, {}
    notebooks, borrowed = {}, {}
    for stem, c in checked.items():
        result["repairs"] += [f"{stem}: {r}" for r in c["repairs"]] if len(checked) > 1 else c["repairs"]
        if c["invalid"]:
            result["flags"].append(status.INVALID)
            result["detail"] = f"{stem}: {c['invalid']}"
            continue
        notebooks[stem] = c["notebook"]
        borrowed[stem] = c["borrowed"]
        result["findings"] += c["findings"]
    return notebooks, borrowed


def _collect(tmp: Path, scratch: Path, job: Job, worker: dict, result: dict) -> None:
    """The executed notebooks (made safe by the worker), nbgrader's other files, the allowed files the kernel left."""
    folder = tmp / "course" / "autograded" / job.student / job.assignment
    for path in sorted(folder.rglob("*")):  # written by nbgrader only: the kernel never saw this folder
        rel = str(path.relative_to(folder))
        if not path.is_file() or path.is_symlink():
            continue
        if path.suffix == ".ipynb":
            safe = worker.get("safe", {}).get(rel)
            if safe is None:
                continue
            result["flags"] += safe["flags"]
            if any("cut" in note or "replaced" in note for note in safe["notes"]):
                result["detail"] = "huge output cut in the autograded notebook"
            result["files"][rel] = (tmp / "safe" / rel).read_bytes()
        elif path.stat().st_size <= MAX_COPY_BACK:
            result["files"][rel] = path.read_bytes()
    left, skipped = untrusted.collect(scratch)
    for name, data in left.items():
        if name not in result["files"] and name not in job.extra_files:
            result["files"][name] = data
    if skipped:
        note = f"{len(skipped)} file(s) the kernel left were not copied back (e.g. {skipped[0]})"
        result["detail"] = f"{result['detail']}; {note}" if result["detail"] else note


def run_job(job: Job, limits: Limits | None = None) -> dict:
    """Grade one submission; never raises for anything the submission does."""
    limits = limits or Limits()
    start = time.monotonic()
    result = {"assignment": job.assignment, "student": job.student, "flags": [], "repairs": [],
              "findings": [], "detail": "", "notebooks": {}, "files": {}, "timestamp": None}

    def done():
        result["flags"] = list(dict.fromkeys(result["flags"]))
        result["seconds"] = time.monotonic() - start
        return result

    notebooks, borrowed = _check(job, result)
    if result["repairs"]:
        result["flags"].append(status.REPAIRED)
    if tamper.is_suspicious(result["findings"]):
        result["flags"].append(status.SUSPICIOUS)
    if not notebooks:
        return done()

    tmp = Path(tempfile.mkdtemp(prefix=f"tfsgrade-{job.student[:20]}-"))
    tmp.chmod(0o711)
    try:
        with sandbox.UidLease() as uid:
            scratch = _write_course(tmp, job, notebooks, limits, uid)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "TFSCOURSE_DB"))}
            env.update(JUPYTER_PATH=str(tmp / "jupyter"), JUPYTER_RUNTIME_DIR=str(tmp / "kernel"),
                       JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_PLATFORM_DIRS="1")
            budget = max(1.0, limits.timeout - (time.monotonic() - start))
            cmd = [sys.executable, "-m", "tfscourse_staff.grading.autograde_process", str(tmp), job.assignment, job.student, f"{budget:.1f}"]
            killed = _supervise(cmd, env, limits, tmp / "worker.log", budget + BACKSTOP)
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
        result["judge"] = worker.get("judge", {})
        result["timestamp"] = worker.get("timestamp")
        _collect(tmp, scratch, job, worker, result)
        return done()
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the batch
        result["flags"].append(status.FAILED)
        result["detail"] = f"grader error: {type(error).__name__}: {error}"[:300]
        return done()
    finally:
        if not os.environ.get("TFSCOURSE_KEEP_JOBS"):  # keep the private course to debug the grader
            shutil.rmtree(tmp, ignore_errors=True)
