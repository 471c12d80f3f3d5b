"""A throw-away course for the grading tests: notebook 01 only, its release, the course's config."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat

from tests.adversarial import cases

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_self_attention"


def make_course(root: Path) -> Path:
    """``root`` with course/01, release/01 and nbgrader_config.py; released into its own gradebook."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "course" / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"],
                   cwd=root, check=True, capture_output=True)
    return root


def master_and_release(root: Path):
    master = nbformat.read(str(root / "course" / ASSIGNMENT / cases.NOTEBOOK), as_version=4)
    release = nbformat.read(str(root / "release" / ASSIGNMENT / cases.NOTEBOOK), as_version=4)
    return master, release


def submit(root: Path, student: str, files: dict[str, bytes]) -> None:
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def loopback_server() -> tuple[int, list]:
    """A TCP server on the host's 127.0.0.1; returns (port, list of accepted peers)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list = []

    def serve():
        while True:
            try:
                conn, peer = server.accept()
            except OSError:
                return
            accepted.append(peer)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], accepted
