"""The sandbox every student kernel runs in: bubblewrap, a private user id and resource limits.

nbgrader starts the kernel through a kernelspec whose command is this module
(``python -m tfscourse_staff.grading.sandbox POLICY.json -f CONNECTION_FILE ...``). It
execs, in this order:

1. ``bwrap`` (bubblewrap, Debian package ``bubblewrap``): new PID, network,
   IPC and UTS namespaces, so there is **no network** (not even the host's loopback);
   a file system made only of the read-only system and Python folders, an empty
   ``/tmp``, the kernel's socket folder, and the submission's own autograded folder,
   the only writable place that outlives the kernel. Other students' folders,
   the gradebook, ``course/`` (master notebooks, hidden tests) and ``release/`` do
   not exist inside; ``--die-with-parent`` ends everything when the grader goes;
2. ``setpriv`` (inside): a user id of its own per grading slot (``uid``), no groups,
   no capabilities, so the process limit below counts only this submission's
   processes (root ignores it) and nothing can be remounted;
3. ``prlimit``: address space (``memory_mb``), processes (``nproc``), file size
   (``fsize_mb``) and core dumps.

The kernel's ``sys.stderr`` is its stdout: plain nbgrader scores 0 a correct test
cell that prints a warning to stderr.

The kernel talks to nbgrader over Unix sockets (jupyter's ``ipc`` transport) in the
socket folder, which is why it needs no network namespace of the host.

Example policy (written by ``job.py``)::

    {"workdir": "/tmp/job/course/autograded/ada/01_x", "socket_dir": "/tmp/job/kernel",
     "readonly": ["/usr", "/root/.pyenv/versions/3.11.7", "/work/main/.venv", "/work/main/src"],
     "uid": 61000, "memory_mb": 2048, "nproc": 256, "fsize_mb": 256}
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

KERNEL_NAME = "tfscourse-sandbox"
STDERR_TO_STDOUT = '["import sys as _tfs_sys; _tfs_sys.stderr = _tfs_sys.stdout; del _tfs_sys"]'
APT_PACKAGES = "bubblewrap util-linux"  # util-linux brings setpriv and prlimit


@dataclass
class Policy:
    """What one sandboxed kernel may see and use."""

    workdir: str  # the submission's autograded folder: cwd, the only persistent writable path
    socket_dir: str  # connection file and ipc sockets shared with the grader
    readonly: list[str] = field(default_factory=list)  # folders bound read-only (system, Python)
    uid: int = 61000  # a user id per grading slot, so that RLIMIT_NPROC really limits
    memory_mb: int = 2048  # address space; MemoryError past it (numpy, torch import fine at 1 GB)
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


def _system_binds() -> list[str]:
    args = []
    for path in ("/usr", "/etc", "/opt"):
        if Path(path).is_dir():
            args += ["--ro-bind", path, path]
    for path in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(path), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    return args


def command(policy: Policy, kernel_argv: list[str]) -> list[str]:
    """The full argv that starts ``kernel_argv`` inside the sandbox.

    bubblewrap runs first (as the grader's user, so that it can bind the Python
    folders even under a private home), without a user namespace; inside it,
    ``setpriv`` drops to the slot's own uid with no capabilities, and ``prlimit``
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
    bwrap = ["bwrap", *namespaces, "--die-with-parent", "--clearenv", *_system_binds()]
    bwrap += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    mounts = [*policy.readonly, policy.socket_dir, policy.workdir]
    parents = sorted({str(p) for m in mounts for p in Path(m).parents if str(p) not in ("/", "/tmp", "/usr", "/etc", "/opt")},
                     key=lambda p: p.count("/"))
    for folder in parents:  # bubblewrap would create them 0700, out of reach of the kernel's uid
        bwrap += ["--perms", "0755", "--dir", folder]
    for path in policy.readonly:
        bwrap += ["--ro-bind", path, path]
    bwrap += [
        "--bind", policy.socket_dir, policy.socket_dir,
        "--bind", policy.workdir, policy.workdir, "--chdir", policy.workdir,
        "--setenv", "HOME", "/tmp", "--setenv", "IPYTHONDIR", "/tmp/.ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib", "--setenv", "TMPDIR", "/tmp",
        "--setenv", "JUPYTER_RUNTIME_DIR", policy.socket_dir,
    ]
    for key, value in policy.env.items():
        bwrap += ["--setenv", key, str(value)]
    return bwrap + ["--", *user, *limits, *kernel_argv]


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


def main(argv: list[str]) -> None:
    """Kernel entry point: ``sandbox.py POLICY.json -f CONNECTION_FILE [ipykernel options]``."""
    policy = Policy(**json.loads(Path(argv[0]).read_text()))
    if "-f" in argv:  # jupyter_client writes it 0600 for root; the kernel runs as policy.uid
        os.chmod(argv[argv.index("-f") + 1], 0o644)
    if policy.sandbox and Path(policy.workdir).is_dir():  # nbgrader made it 0755 for root
        os.chmod(policy.workdir, 0o777)
    # nbgrader scores 0 a test cell with any stderr output, even a correct one: stderr goes to stdout
    kernel = [sys.executable, "-m", "ipykernel_launcher", *argv[1:], f"--IPKernelApp.exec_lines={STDERR_TO_STDOUT}"]
    full = command(policy, kernel)
    os.execvp(full[0], full)


if __name__ == "__main__":
    main(sys.argv[1:])
