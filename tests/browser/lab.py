"""Start JupyterLab on loopback in a copy of the course, and drive it with Playwright + Chromium.

``LabServer`` copies the course (config, course/, release/, submitted/) into a temporary
folder, autogrades the example submissions there (so formgrader has scores to show), and
starts ``jupyter lab`` on 127.0.0.1 without a token. ``browser()`` launches Debian's
Chromium through Playwright with the flags this machine needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tfscourse_staff.nbgrader_runs import ScratchCourse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    def __init__(self, repo: Path, workdir: Path, assignments: list[str]):
        self.dir = workdir
        course = ScratchCourse(repo, workdir, assignments, folders=("course", "release", "submitted"))
        for name in assignments:
            course.release(name)
            course.autograde(name)
        # Render every cell (JupyterLab 4 otherwise detaches cells scrolled out of view).
        # No news pop-up over the screenshots (JupyterLab asks once whether to fetch news).
        for extension, name, value in [("notebook-extension", "tracker", {"windowingMode": "none"}),
                                       ("apputils-extension", "notification", {"fetchNews": "false"})]:
            settings = workdir / ".lab-settings" / "@jupyterlab" / extension
            settings.mkdir(parents=True)
            (settings / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "jupyterlab.log", "w")  # noqa: SIM115 - closed in stop()
        # Kernels run as under `nbgrader validate`: training loops shrink, so completed notebooks
        # run in seconds; what the browser tests check (cells, widgets, buttons) is unchanged.
        # TFSCOURSE_WIDGETS=live: the attention explorers stay live widgets, as a student sees
        # them (under nbgrader they would otherwise be pictures only).
        env = {**os.environ, "NBGRADER_EXECUTION": "validate", "TFSCOURSE_WIDGETS": "live"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
             "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
             f"--ServerApp.root_dir={workdir}", "--LabApp.expose_app_in_browser=True",
             "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
             f"--LabApp.user_settings_dir={workdir / '.lab-settings'}"],
            cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: see {self.dir / 'jupyterlab.log'}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                    if json.load(response):
                        return
            time.sleep(0.5)
        raise TimeoutError("jupyter lab did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def lab_url(server: LabServer, path: str) -> str:
    """The page that opens ``path`` alone (``?reset``: no tabs restored from earlier tests)."""
    return f"{server.url}/lab/tree/{path}?reset"


def wait_for_notebook(page) -> None:
    """Wait until the open notebook is loaded (all its cells in the view) and its kernel is idle.

    The kernel can be idle before the notebook's cells exist in the page; running cells
    then would run nothing.
    """
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp?.shell?.currentWidget;
            const cells = panel?.content?.model?.cells?.length ?? 0;
            return panel?.context?.isReady && cells > 0 && panel.content.widgets.length === cells
                && panel.sessionContext?.session?.kernel?.status === 'idle';
        }""",
        timeout=120_000, polling=500)


def run_all_and_wait(page, timeout_s: float = 300.0) -> None:
    """Run every cell through JupyterLab's own command and wait until the kernel is done."""
    wait_for_notebook(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(1000)
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const busy = panel.sessionContext.session.kernel.status !== 'idle';
            const pending = [...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
            return !busy && !pending;
        }""",
        timeout=timeout_s * 1000,
        polling=1000,
    )


def run_each_cell(page, timeout_s: float = 600.0) -> None:
    """Run the cells one by one, as a student pressing Shift+Enter would: an error does not stop the rest."""
    wait_for_notebook(page)
    page.evaluate(
        """async (timeoutMs) => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = () => panel.sessionContext.session.kernel;
            const count = panel.content.widgets.length;
            const start = Date.now();
            const pending = (i) => kernel().status !== 'idle' || (panel.content.widgets[i].model.type === 'code'
                && panel.content.widgets[i].model.executionCount === null
                && panel.content.widgets[i].model.sharedModel.getSource().trim() !== '');
            for (let i = 0; i < count; i++) {
                let issued = 0, since = 0;
                while (pending(i)) {
                    // (re)issue the command when the kernel sits idle and the cell has not run yet
                    if (kernel().status === 'idle' && Date.now() - since > 5000 && issued < 3) {
                        panel.content.activeCellIndex = i;
                        await new Promise(r => setTimeout(r, 100));
                        await window.jupyterapp.commands.execute('notebook:run-cell');
                        issued += 1;
                        since = Date.now();
                    }
                    if (Date.now() - start > timeoutMs) { throw new Error('cell ' + i + ' did not finish'); }
                    await new Promise(r => setTimeout(r, 200));
                }
            }
        }""",
        timeout_s * 1000,
    )


def save(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1500)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
