"""nbgrader's Execute step with a time limit per submission that student code cannot turn into a crash.

nbgrader limits each cell (``Execute.timeout``) and interrupts a cell that runs
past it. Two things escape that: a notebook of many slow cells (no limit for the
whole), and a cell that swallows ``KeyboardInterrupt`` (or blocks SIGINT): nbclient
then gives up with ``CellTimeoutError`` and nbgrader saves no grade at all, so the
submission reads "failed to run".

``BoundedExecute`` (put in place of ``Execute`` by the grading job's config):

* runs each cell with at most the time left before ``deadline`` (a wall-clock time
  set by the worker from the submission's limit);
* when a cell ignores the interrupt, ends the kernel (the sandbox goes with it) and
  records ``CellTimeoutError`` in that cell;
* when the kernel answers with something nbclient cannot follow (a fork bomb's
  children interrupted in the middle of a cell answer too), ends it and records
  ``KernelStoppedError`` in that cell;
* once the time is up or the kernel was ended, runs nothing more: every later code
  cell gets a ``NotRunError`` output, so its tests score 0 and never the full points
  of a cell without error.

The cells that ran before keep their grades: the submission is "timed out" with
the points earned before it.
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class BoundedExecute(Execute):
    deadline = Float(0.0, help="time.time() after which no cell runs (0: no limit for the whole notebook)").tag(config=True)

    _stopped = ""  # why no more cells run, once that is so

    def _seconds_left(self) -> float:
        return self.deadline - time.time() if self.deadline else float("inf")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        left = self._seconds_left()
        if left <= 1 and not self._stopped:
            self._stopped = "the submission reached its time limit earlier"
        if self._stopped:
            cell.outputs = [_error("NotRunError", f"not run: {self._stopped}")]
            cell.execution_count = None
            return cell, resources
        cell_limit = self.timeout
        if self.timeout is None or left < self.timeout:
            self.timeout = max(1, int(left))
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # the interrupt did not stop it: end the kernel, keep what ran
            self._stop("a cell ignored the interrupt and was stopped")
            cell.outputs.append(_error("CellTimeoutError", "the cell ignored the interrupt and was stopped; "
                                       "the cells after it were not run"))
            return cell, resources
        except DeadKernelError:
            raise  # the student's code ended the kernel: "kernel died", as in plain nbgrader
        except Exception as error:  # noqa: BLE001 - whatever the kernel sent, it must not fail the whole grading
            self._stop("the kernel stopped answering properly")
            cell.outputs.append(_error("KernelStoppedError", f"the kernel stopped answering properly "
                                       f"({type(error).__name__}); the cells after it were not run"))
            return cell, resources
        finally:
            self.timeout = cell_limit
            if self._seconds_left() <= 1 and not self._stopped:
                self._stopped = "the submission reached its time limit earlier"

    def _stop(self, why: str) -> None:
        self._stopped = why
        self._end_kernel()

    def _end_kernel(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # noqa: BLE001 - already gone: nothing left to end
            self.log.warning("could not end the kernel: %s", error)
