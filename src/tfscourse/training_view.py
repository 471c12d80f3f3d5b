"""A live view of a training run in a notebook: a progress bar widget and a loss plot.

Used as the ``callback`` of ``tfscourse.gpt_training.train``. The plot is a PNG shown with an
IPython display handle and replaced in place at every evaluation, so the last picture
stays in the cell's outputs (feedback HTML, GitHub, Colab). The progress bar is an
``ipywidgets.IntProgress``; the text log goes to stdout. Nothing is written to stderr,
and outside a notebook kernel (scripts, the test harness) the view does nothing.

Example:
    >>> view = LiveLossView(total_steps=100)   # outside a kernel: a silent no-op
    >>> view.active
    False
"""

from __future__ import annotations

import io


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveLossView:
    """Progress bar + loss curves, updated by ``callback(history, step)``."""

    def __init__(self, total_steps: int, title: str = "GPT training"):
        self.total_steps = total_steps
        self.title = title
        self.active = _in_kernel()
        if not self.active:
            return
        import ipywidgets as widgets
        from IPython.display import display

        self.bar = widgets.IntProgress(value=0, min=0, max=max(total_steps, 1), description="step 0")
        display(self.bar)
        self.handle = display(self._png([], [], []), display_id=True)

    def _png(self, steps, train, val):
        from IPython.display import Image
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.2), layout="constrained")
        ax = fig.add_subplot()
        if steps:
            ax.plot(steps, train, "o-", label="train")
            ax.plot(steps, val, "s-", label="validation")
            ax.legend()
        ax.set(xlabel="step", ylabel="cross-entropy loss (nats)", title=self.title)
        ax.set_xlim(0, max(self.total_steps, 1))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return Image(data=buffer.getvalue(), format="png")

    def __call__(self, history, step: int) -> None:
        if not self.active:
            return
        self.bar.value = step
        self.bar.description = f"step {step}"
        self.handle.update(self._png(history.steps, history.train_loss, history.val_loss))
