"""Files the student or the sandboxed kernel produced, handled by the privileged grader as untrusted data.

Two rules, for everything a student could have written or shaped:

* **Read without following links, within caps.** ``collect(folder, ...)`` takes from
  the kernel's scratch folder only regular files on an allow-list of names, each
  opened with ``O_NOFOLLOW`` relative to the folder's own descriptor and checked
  with ``fstat`` (a symbolic link, a hard link to a file elsewhere, a device or a
  FIFO is skipped, never opened for writing), with a cap on their count, on each
  file's size and on the total. The grader never writes into that folder.
* **Parse in a subprocess with limits.** ``run_limited(task, payload)`` runs
  ``python -m tfscourse_staff.grading.untrusted`` with an address-space and a CPU-time
  limit and a wall-clock timeout; data goes in and out as JSON files, never as
  pickles, so a parser that misbehaves can cost a result, not the grader's memory,
  time or control. The task here is ``check``: repair and tamper scan of the
  submitted notebooks (``repair.py``, ``tamper.py``). The executed notebook is made
  safe by the grading worker itself (``worker.py``), a subprocess under the same kind
  of watch that has parsed it anyway.

Example:
    >>> files, skipped = collect(Path("scratch"), ALLOWED_SUFFIXES)  # doctest: +SKIP
    >>> files, skipped
    ({'probe.json': b'{...}'}, ['self_attention.ipynb: a link, not a regular file'])
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import resource
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: files a kernel may hand back next to the executed notebook (no notebooks, code, HTML or SVG)
ALLOWED_SUFFIXES = (".json", ".txt", ".csv", ".png", ".jpg", ".jpeg")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Caps:
    """How much comes back from the kernel's folder, and how much a parser may use."""

    max_files: int = 20  # files copied back from the scratch folder
    max_file_bytes: int = 2 * 2**20  # each
    max_total_bytes: int = 10 * 2**20  # all together
    memory_mb: int = 2048  # address space of a parsing subprocess
    cpu_seconds: int = 120  # its CPU time
    wall_seconds: float = 180.0  # its wall-clock time


def read_regular(path: Path | str, max_bytes: int, folder_fd: int | None = None) -> bytes:
    """The bytes of one regular file, refusing links, devices and files larger than ``max_bytes``.

    Raises ``ValueError`` with the reason when the file is refused.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        handle = os.open(path, flags, dir_fd=folder_fd)
    except OSError as error:
        raise ValueError("a link, not a regular file" if error.errno == errno.ELOOP else f"unreadable ({error.strerror})") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_nlink != 1:
            raise ValueError("a hard link to another file")
        if info.st_size > max_bytes:
            raise ValueError(f"larger than {max_bytes} bytes")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(handle, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise ValueError(f"larger than {max_bytes} bytes")
        return data
    finally:
        os.close(handle)


def collect(folder: Path, suffixes: tuple[str, ...] = ALLOWED_SUFFIXES, caps: Caps = Caps()) -> tuple[dict[str, bytes], list[str]]:
    """Allowed files at the top of ``folder`` (name -> bytes) and a note for each file left behind."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    total = 0
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        names = sorted(os.listdir(folder_fd))
        for name in names:
            if not SAFE_NAME.match(name) or not name.lower().endswith(suffixes):
                skipped.append(f"{name[:60]!r}: not on the list of files that come back")
                continue
            if len(files) >= caps.max_files:
                skipped.append(f"{name}: more than {caps.max_files} files")
                continue
            try:
                data = read_regular(name, min(caps.max_file_bytes, caps.max_total_bytes - total), folder_fd)
            except ValueError as why:
                skipped.append(f"{name}: {why}")
                continue
            files[name] = data
            total += len(data)
    finally:
        os.close(folder_fd)
    return files, skipped


def _limit(memory_mb: int, cpu_seconds: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


class LimitExceeded(RuntimeError):
    """The parsing subprocess ran out of memory or time, or crashed."""


def run_limited(task: str, payload: dict, caps: Caps = Caps()) -> dict:
    """Run ``TASKS[task](payload)`` in a subprocess under ``caps``; its JSON answer, or ``LimitExceeded``."""
    with tempfile.TemporaryDirectory(prefix="tfsgrade-parse-") as tmp:
        given, answer = Path(tmp) / "in.json", Path(tmp) / "out.json"
        given.write_text(json.dumps(payload))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tfscourse_staff.grading.untrusted", task, str(given), str(answer)],
                preexec_fn=_limit(caps.memory_mb, caps.cpu_seconds), capture_output=True, text=True,
                timeout=caps.wall_seconds,
            )
        except subprocess.TimeoutExpired:
            raise LimitExceeded(f"took longer than {caps.wall_seconds:g} s") from None
        if done.returncode != 0 or not answer.exists():
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            if "MemoryError" in done.stderr or done.returncode in (-9, -24):  # SIGKILL, SIGXCPU
                last = f"past {caps.memory_mb} MB or {caps.cpu_seconds} s of CPU ({last})"
            raise LimitExceeded(last[:300])
        return json.loads(answer.read_text())


def check_submission(payload: dict) -> dict:
    """Task ``check``: repair and scan the submitted notebooks.

    In: ``files`` (name -> base64 bytes), ``releases`` (stem -> release JSON text).
    Out: per stem ``notebook`` (JSON text, or None when invalid), ``repairs``, ``invalid``, ``findings``
    and ``borrowed`` (the ``not-own-answer`` findings among them, whose test cells lose their points).
    """
    import nbformat

    from tfscourse_staff.grading import own_answers, repair, tamper

    files = {name: base64.b64decode(data) for name, data in payload["files"].items()}
    releases = {stem: nbformat.reads(text, as_version=4) for stem, text in payload["releases"].items()}
    out = {}
    for stem, checked in repair.check_and_repair(files, releases).items():
        findings = [] if checked.invalid else tamper.scan_notebook(checked.notebook)
        borrowed = [] if checked.invalid else own_answers.scan_answers(checked.notebook, releases[stem])
        text = None if checked.invalid else json.dumps(checked.notebook, indent=1)
        out[stem] = {"notebook": text, "repairs": checked.repairs, "invalid": checked.invalid,
                     "findings": findings + borrowed, "borrowed": borrowed}
    return out


TASKS = {"check": check_submission}


def skip_iri_grammar() -> None:
    """Call before importing nbformat in a grading subprocess: about 1.5 s of CPU less per submission.

    jsonschema (imported by nbformat) compiles an IRI grammar at import when ``rfc3987_syntax``
    is installed, for a string format that notebook schemas never use; without the module,
    jsonschema skips that one format check.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def main(task: str, given: str, answer: str) -> int:
    skip_iri_grammar()
    payload = json.loads(Path(given).read_text())
    Path(answer).write_text(json.dumps(TASKS[task](payload)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
