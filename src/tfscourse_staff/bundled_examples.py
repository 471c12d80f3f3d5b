"""Which submissions in ``submitted/`` are the course's own example files.

``make demo`` may grade these without the sandbox where bubblewrap cannot run (no
root to install it, macOS, a container without namespaces): they were written by
the course (``tools/make_examples.py``), not by a student. A submission counts as
a bundled example only when every file of that student is committed in the
repository's current commit (``git ls-tree HEAD``) and unchanged on disk (same
blob hash, ``git hash-object``). A file a student hands in is in no commit of the
instructor's repository, so it is never recognised, whatever its name; copying
an example file byte for byte only reproduces the course's own file.

    examples = find(root)       # Examples(students={"ada_complete", ...}, others={"zoe": "why not"}, problem="")
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SUBMITTED = "submitted"


@dataclass
class Examples:
    students: set[str] = field(default_factory=set)  # every file of theirs is committed and unchanged
    others: dict[str, str] = field(default_factory=dict)  # student -> why not an example
    problem: str = ""  # why nothing could be checked (no git, not a checkout), else ''


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


def _committed_blobs(root: Path) -> dict[str, str]:
    """Path (relative to the root) -> blob hash of every file under submitted/ in HEAD."""
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", SUBMITTED)
    blobs = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split()
        if kind == "blob" and mode != "120000":  # a committed link is no example file
            blobs[path] = blob
    return blobs


def _graded_files(folder: Path, root: Path) -> list[str]:
    """The files of one student that grading reads (as ``runner.submitted_files``), relative to ``root``."""
    return sorted(
        str(p.relative_to(root)) for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _why_not(folder: Path, files: list[str], on_disk: dict[str, str], committed: dict[str, str]) -> str:
    """'' when every file is committed and unchanged, else why this student is no bundled example."""
    if folder.is_symlink():
        return "the folder is a link"
    if not files:
        return "no files"
    changed = [path for path in files if path not in on_disk or on_disk[path] != committed.get(path)]
    if changed:
        return f"{len(changed)} file(s) differ from the committed examples, e.g. {changed[0]}"
    return ""


def find(root: Path) -> Examples:
    """Sort the students of ``root/submitted`` into bundled examples and others."""
    root = Path(root).resolve()
    folder = root / SUBMITTED
    students = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").strip()).resolve()
        if top != root:
            return Examples(others=dict.fromkeys(students, "not a checkout"),
                            problem=f"{root} is not the top of a git checkout (that is {top})")
        committed = _committed_blobs(root)
        files = {s: _graded_files(folder / s, root) for s in students}
        paths = [path for s in students for path in files[s] if "\n" not in path]  # one path per line for git
        hashes = _git(root, "hash-object", "--stdin-paths", stdin="".join(f"{path}\n" for path in paths)).split()
        on_disk = dict(zip(paths, hashes, strict=True))
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        message = getattr(error, "stderr", "") or str(error)
        return Examples(others=dict.fromkeys(students, "not a checkout"),
                        problem=f"cannot ask git which example files are committed: {message.strip()[:200]}")
    found = Examples()
    for student in students:
        if why := _why_not(folder / student, files[student], on_disk, committed):
            found.others[student] = why
        else:
            found.students.add(student)
    return found
