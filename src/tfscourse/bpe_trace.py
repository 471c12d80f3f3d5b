"""Step through byte-pair-encoding merges on a toy corpus: a static table and a stepper widget.

Notebook 03 builds the trace from the student's own ``pair_counts`` and ``merge_pair``,
so the picture shows the student's result. Merged symbols can be shown with the
handout's names (A, B, C, ...) instead of their spelled-out strings.

Example:
    >>> from collections import Counter
    >>> def counts(vocab):
    ...     out = Counter()
    ...     for word, f in vocab.items():
    ...         for pair in zip(word, word[1:]):
    ...             out[pair] += f
    ...     return dict(out)
    >>> def merge(vocab, pair, new):  # enough for this one-word corpus
    ...     return {("ab", "</w>"): 2}
    >>> steps = trace_steps({("a", "b", "</w>"): 2}, [(("a", "b"), "ab")], counts, merge)
    >>> [s.vocab for s in steps]
    [{('a', 'b', '</w>'): 2}, {('ab', '</w>'): 2}]
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets

Vocab = Mapping[tuple[str, ...], int]
Merge = tuple[tuple[str, str], str]


@dataclass
class TraceStep:
    """The corpus before a merge, its pair counts, and the merge chosen (None at the end)."""

    vocab: dict
    counts: dict
    merge: Merge | None


def call_and_inputs(fn: Callable, *args) -> dict:
    """Call ``fn(*args)`` and report its result and whether it changed its (deep-copied) arguments.

    A grader that runs outside the notebook's process sends arguments as copies, so it cannot see
    a function change its input; this does the check where the function lives.
    Returns ``{"result": ..., "inputs_changed": bool}``.

    Example:
        >>> def grow(vocab):
        ...     vocab["x"] = 1
        ...     return vocab
        >>> call_and_inputs(grow, {})["inputs_changed"]
        True
    """
    import copy

    before = copy.deepcopy(args)
    result = fn(*args)
    return {"result": result, "inputs_changed": args != before}


def trace_steps(vocab: Vocab, merges: Sequence[Merge], pair_counts: Callable, merge_pair: Callable) -> list[TraceStep]:
    """Apply ``merges`` one at a time with the given functions, recording every state."""
    steps = []
    current = dict(vocab)
    for merge in merges:
        steps.append(TraceStep(current, dict(pair_counts(current)), merge))
        current = dict(merge_pair(current, merge[0], merge[1]))
    steps.append(TraceStep(current, dict(pair_counts(current)), None))
    return steps


def handout_names(merges: Sequence[Merge]) -> dict[str, str]:
    """Name the new symbols A, B, C, ... in the order they are created (as the handout does)."""
    letters = [chr(ord("A") + i) for i in range(26)]
    return {new: (letters[i] if i < 26 else f"N{i}") for i, (_, new) in enumerate(merges)}


def _name(symbol: str, names: Mapping[str, str]) -> str:
    return html.escape(names.get(symbol, symbol))


def _word(word: Sequence[str], names: Mapping[str, str]) -> str:
    return " ".join(_name(s, names) for s in word)


def step_html(step: TraceStep, index: int, names: Mapping[str, str]) -> str:
    """One step: the segmented words with their counts, and every pair count (the winner in bold)."""
    best = step.merge[0] if step.merge else None
    words = "".join(f"<tr><td><code>{_word(w, names)}</code></td><td>{f}</td></tr>" for w, f in step.vocab.items())
    pairs = []
    for pair, c in sorted(step.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        cell = f"({_name(pair[0], names)}, {_name(pair[1], names)}): {c}"
        pairs.append(f"<b>{cell}</b>" if pair == best else cell)
    if step.merge:
        (left, right), new = step.merge
        verdict = (f"merge <b>({_name(left, names)}, {_name(right, names)})</b> into "
                   f"<b>{_name(new, names)}</b> = <code>{html.escape(new)}</code>")
    elif max(step.counts.values(), default=0) <= 1:
        verdict = "no pair occurs more than once: stop"
    else:
        verdict = "end of the list of merges"
    return (f"<div><p><b>Step {index}</b>: {verdict}</p>"
            f"<table><tr><th>word</th><th>count</th></tr>{words}</table>"
            f"<p>pair counts: {'; '.join(pairs) or '(none)'}</p></div>")


def summary_html(steps: Sequence[TraceStep], names: Mapping[str, str]) -> str:
    """All merges in one table: step, pair, count, new symbol, words after the merge."""
    rows = []
    for i, step in enumerate(steps[:-1], start=1):
        (left, right), new = step.merge
        after = steps[i].vocab
        rows.append(
            f"<tr><td>{i}</td><td>({_name(left, names)}, {_name(right, names)})</td>"
            f"<td>{step.counts.get((left, right), '?')}</td>"
            f"<td>{_name(new, names)} = <code>{html.escape(new)}</code></td>"
            f"<td><code>{' · '.join(f'{_word(w, names)} ×{f}' for w, f in after.items())}</code></td></tr>"
        )
    return ("<table><tr><th>step</th><th>pair</th><th>count</th><th>new symbol</th>"
            f"<th>corpus after the merge</th></tr>{''.join(rows)}</table>")


class MergeStepper(widgets.VBox):
    """A slider over the steps of a trace; each position shows ``step_html`` of that step."""

    def __init__(self, steps: Sequence[TraceStep], names: Mapping[str, str] | None = None):
        self.steps = list(steps)
        self.names = dict(names or {})
        self.slider = widgets.IntSlider(value=0, min=0, max=len(self.steps) - 1, description="step")
        self.view = widgets.HTML(step_html(self.steps[0], 0, self.names))
        self.slider.observe(self._show, names="value")
        super().__init__([self.slider, self.view])

    def _show(self, change) -> None:
        self.view.value = step_html(self.steps[change["new"]], change["new"], self.names)


def show_merge_trace(steps: Sequence[TraceStep], names: Mapping[str, str] | None = None) -> MergeStepper:
    """Display the summary table (static, survives in any viewer) and return a stepper widget."""
    from IPython.display import HTML, display

    names = dict(names or {})
    display(HTML(summary_html(steps, names)))
    stepper = MergeStepper(steps, names)
    display(stepper)
    return stepper
