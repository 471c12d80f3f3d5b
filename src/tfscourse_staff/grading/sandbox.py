"""The sandbox every student kernel runs in: bubblewrap, a private user id and resource limits.

nbgrader starts the kernel through a kernelspec whose command is this module
(``python -m tfscourse_staff.grading.sandbox POLICY.json -f CONNECTION_FILE ...``). It
execs, in this order:

1. ``bwrap`` (bubblewrap, Debian package ``bubblewrap``): new PID, network,
   IPC and UTS namespaces, so there is **no network** (not even the host's loopback);
   a file system made only of the read-only system and Python folders, the few
   files of ``/etc`` a Python process reads (no ``/etc`` wholesale, no ``/opt``), a
   size-capped ``/tmp``, the kernel's socket folder and its *scratch* folder, seen
   at the path of the submission's autograded folder (nbgrader's working folder for
   the kernel) but a different folder on the host: nbgrader, which runs privileged,
   writes the executed notebook into the real autograded folder, which the kernel
   never sees, and nothing privileged writes into the scratch folder once the kernel
   has started. Other students' folders, the gradebook, ``course/`` (master
   notebooks, hidden tests) and ``release/`` do not exist inside;
   ``--die-with-parent`` ends everything when the grader goes;
2. ``setpriv`` (inside): a user id of its own per concurrent job (``uid``, from
   ``take_uid``), no groups, no capabilities, so the process limit below counts only
   this submission's processes (root ignores it) and nothing can be remounted;
3. ``prlimit``: address space (``memory_mb``), processes (``nproc``), file size
   (``fsize_mb``) and core dumps. ``/tmp`` is an in-memory file system that the
   address-space limit does not see: it is capped on its own (``tmp_mb``), so a
   kernel holds at most ``memory_mb + tmp_mb``.

The kernel's ``sys.stderr`` is its stdout: plain nbgrader scores 0 a correct test
cell that prints a warning to stderr.

The kernel talks to nbgrader over Unix sockets (jupyter's ``ipc`` transport) in the
socket folder, which is why it needs no network namespace of the host. The
connection file lies in another folder (``conn_dir``) that the kernel sees read-only,
so the privileged side never writes where the kernel could have planted a link.

Example policy (written by ``job.py``)::

    {"workdir": "/tmp/job/course/autograded/ada/01_x", "scratch": "/tmp/job/scratch",
     "socket_dir": "/tmp/job/kernel", "conn_dir": "/tmp/job/conn", "etc_dir": "/tmp/job/etc",
     "readonly": ["/usr", "/root/.pyenv/versions/3.11.7", "/work/main/.venv", "/work/main/src"],
     "uid": 61000, "memory_mb": 2048, "tmp_mb": 256, "nproc": 256, "fsize_mb": 256}
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

KERNEL_NAME = "tfscourse-sandbox"
STDERR_TO_STDOUT = '["import sys as _tfs_sys; _tfs_sys.stderr = _tfs_sys.stdout; del _tfs_sys"]'
APT_PACKAGES = "bubblewrap util-linux"  # util-linux brings setpriv and prlimit
#: what a Python kernel reads of /etc: the dynamic linker's cache, time zone, name-service order, fonts for plots
ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "mime.types", "fonts")
#: user ids handed to sandboxes: FIRST_UID, FIRST_UID + 1, ... (one per job running on this machine)
FIRST_UID, UID_COUNT = 61000, 4096
UID_LOCKS = Path("/run/tfscourse-sandbox-uids")  # lock files of the ids in use (root only)


@dataclass
class Policy:
    """What one sandboxed kernel may see and use."""

    workdir: str  # where the kernel believes it runs: the submission's autograded folder (its cwd)
    socket_dir: str  # ipc sockets shared with the grader (writable by the kernel)
    scratch: str = ""  # the host folder seen at ``workdir``: the only persistent writable path ('' = workdir)
    conn_dir: str = ""  # the connection file's folder, read-only inside ('' = in socket_dir)
    etc_dir: str = ""  # holds the passwd and group files the kernel sees ('' = none)
    readonly: list[str] = field(default_factory=list)  # folders bound read-only (system, Python)
    uid: int = FIRST_UID  # a user id per concurrent job, so that RLIMIT_NPROC really limits
    memory_mb: int = 2048  # address space; MemoryError past it (numpy, torch import fine at 1 GB)
    tmp_mb: int = 256  # size of the in-memory /tmp, on top of memory_mb
    nproc: int = 256  # processes + threads of this uid: a fork bomb stops here
    fsize_mb: int = 256  # largest file the kernel may write (a disk filler stops here)
    sandbox: bool = True  # False only when bubblewrap is missing and the instructor allowed it
    env: dict = field(default_factory=dict)  # the only environment the kernel gets (no secrets)


def python_folders() -> list[str]:
    """Folders the kernel's Python needs: the interpreter, the venv, and where tfscourse is imported from."""
    import tfscourse

    paths = {sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    paths.add(str(Path(tfscourse.__file__).resolve().parents[1]))
    return sorted(p for p in paths if p and Path(p).exists())


def available() -> str:
    """'' when bubblewrap, setpriv and prlimit work here, else why not."""
    for tool in ("bwrap", "setpriv", "prlimit"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y {APT_PACKAGES})"
    probe = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
        capture_output=True, text=True, timeout=30,
    )
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return ""


class UidLease:
    """A sandbox user id that no other job on this machine holds while the lease is open.

    Each id has a lock file; a job holds an exclusive ``flock`` on it for as long as it
    runs, so two grader processes (or Dask workers) never share an id, whatever their
    process ids. An id still owning a process (a leftover of a killed job) is skipped.
    Without root the kernel keeps the grader's own id (bubblewrap's user namespace).

    Example:
        >>> with UidLease() as uid:  # doctest: +SKIP
        ...     uid
        61000
    """

    def __init__(self, locks: Path = UID_LOCKS):
        self.locks = locks
        self.uid = FIRST_UID
        self._handle = None

    def __enter__(self) -> int:
        if os.geteuid() != 0:
            return self.uid
        self.locks.mkdir(mode=0o700, parents=True, exist_ok=True)
        busy = _uids_with_processes()
        for uid in range(FIRST_UID, FIRST_UID + UID_COUNT):
            if uid in busy:
                continue
            handle = os.open(self.locks / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            self.uid, self._handle = uid, handle
            return uid
        raise RuntimeError(f"all {UID_COUNT} sandbox user ids are in use")

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing the descriptor releases the lock
            self._handle = None


def _uids_with_processes() -> set[int]:
    import psutil

    owners = set()
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids is not None:
            owners.add(uids.real)
    return owners


def _system_binds(etc_dir: str) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(path), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    if etc_dir:
        for name in ("passwd", "group"):
            args += ["--ro-bind", str(Path(etc_dir) / name), f"/etc/{name}"]
    return args


def write_etc(folder: Path, uid: int) -> Path:
    """``passwd`` and ``group`` naming only root and the sandbox user (the host's accounts stay hidden)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:{uid}:{uid}:student:/tmp:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\n")
    for path in (folder, folder / "passwd", folder / "group"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def command(policy: Policy, kernel_argv: list[str]) -> list[str]:
    """The full argv that starts ``kernel_argv`` inside the sandbox.

    bubblewrap runs first (as the grader's user, so that it can bind the Python
    folders even under a private home), without a user namespace; inside it,
    ``setpriv`` drops to the job's own uid with no capabilities, and ``prlimit``
    sets the limits on that uid's processes.
    """
    user = ["setpriv", f"--reuid={policy.uid}", f"--regid={policy.uid}", "--clear-groups", "--"]
    limits = [
        "prlimit", f"--as={policy.memory_mb * 2**20}", f"--nproc={policy.nproc}",
        f"--fsize={policy.fsize_mb * 2**20}", "--core=0", "--",
    ]
    if not policy.sandbox:
        return limits + kernel_argv
    if os.geteuid() != 0:  # an unprivileged grader: bubblewrap's user namespace, no uid change
        user = []
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not user:
        namespaces.append("--unshare-user")
    bwrap = ["bwrap", *namespaces, "--die-with-parent", "--clearenv", *_system_binds(policy.etc_dir)]
    bwrap += ["--proc", "/proc", "--dev", "/dev",
              "--perms", "1777", "--size", str(policy.tmp_mb * 2**20), "--tmpfs", "/tmp",
              "--perms", "1777", "--size", str(2**20), "--tmpfs", "/dev/shm"]
    scratch = policy.scratch or policy.workdir
    conn = [policy.conn_dir] if policy.conn_dir else []
    mounts = [*policy.readonly, policy.socket_dir, *conn, policy.workdir]
    parents = sorted({str(p) for m in mounts for p in Path(m).parents if str(p) not in ("/", "/tmp", "/usr", "/etc")},
                     key=lambda p: p.count("/"))
    for folder in parents:  # bubblewrap would create them 0700, out of reach of the kernel's uid
        bwrap += ["--perms", "0755", "--dir", folder]
    for path in policy.readonly:
        bwrap += ["--ro-bind", path, path]
    for path in conn:
        bwrap += ["--ro-bind", path, path]
    bwrap += [
        "--bind", policy.socket_dir, policy.socket_dir,
        "--bind", scratch, policy.workdir, "--chdir", policy.workdir,
        "--setenv", "HOME", "/tmp", "--setenv", "IPYTHONDIR", "/tmp/.ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib", "--setenv", "TMPDIR", "/tmp",
        "--setenv", "JUPYTER_RUNTIME_DIR", policy.socket_dir,
    ]
    for key, value in policy.env.items():
        bwrap += ["--setenv", key, str(value)]
    return bwrap + ["--", *user, *limits, *kernel_argv]


def make_scratch(parent: Path, uid: int) -> Path:
    """A fresh folder that only the sandbox user may write (the kernel's working folder)."""
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=parent))
    if os.geteuid() == 0:
        os.chown(scratch, uid, uid)
    scratch.chmod(0o700)
    return scratch


def write_kernelspec(folder: Path, policy_file: Path) -> Path:
    """A kernelspec ``tfscourse-sandbox`` in ``folder/kernels/`` that starts the kernel through this module."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "tfscourse_staff.grading.sandbox", str(policy_file), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "Python 3 (sandboxed grading)", "language": "python",
        # a SIGINT to the process group would end bubblewrap itself: ask ipykernel over its control channel
        "interrupt_mode": "message",
    }))
    return spec


def write_policy(path: Path, policy: Policy) -> Path:
    path.write_text(json.dumps(asdict(policy)))
    return path


def _make_readable(path: str) -> None:
    """chmod 0644 without following a link (the connection file, written 0600 for root)."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(handle, 0o644)
    finally:
        os.close(handle)


def main(argv: list[str]) -> None:
    """Kernel entry point: ``sandbox.py POLICY.json -f CONNECTION_FILE [ipykernel options]``."""
    policy = Policy(**json.loads(Path(argv[0]).read_text()))
    if "-f" in argv:  # jupyter_client writes it 0600 for root; the kernel runs as policy.uid
        _make_readable(argv[argv.index("-f") + 1])
    # nbgrader scores 0 a test cell with any stderr output, even a correct one: stderr goes to stdout
    kernel = [sys.executable, "-m", "ipykernel_launcher", *argv[1:], f"--IPKernelApp.exec_lines={STDERR_TO_STDOUT}"]
    if not policy.sandbox and policy.scratch:  # unsandboxed (--no-sandbox): still keep out of nbgrader's folder
        os.chdir(policy.scratch)
    full = command(policy, kernel)
    os.execvp(full[0], full)


if __name__ == "__main__":
    main(sys.argv[1:])
