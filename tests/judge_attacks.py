"""Attacks on the in-kernel tests of notebook 01, each paired with the honest submission it starts from.

Every case is a submission built from the release of notebook 01: ``blank`` (the
release as handed out), ``wrong`` (solutions everywhere except a softmax that
ignores its ``axis``: an honest mistake the hidden tests catch) or ``full`` (all
solutions), plus one attack put at the top of the softmax answer cell, so that it
runs before any test cell. With the judge, an attack must score no more than its
honest base (``control_blank``, ``control_wrong``).

``python -m tests.judge_attacks OUT`` grades all of them twice, nbgrader's tests in
the kernel (judge off) and the judge, and prints the before/after table.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from tfscourse_staff.submissions import fill

ASSIGNMENT = "01_self_attention"
NOTEBOOK = "self_attention.ipynb"

WRONG_SOFTMAX = '''import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''


@dataclass(frozen=True)
class Attack:
    name: str
    base: str  # "blank", "wrong" or "full"
    code: str  # put at the top of the softmax answer cell ("" for the controls)
    why: str
    files: tuple[tuple[str, str], ...] = ()  # side files handed in next to the notebook


ATTACKS = [
    Attack("control_full", "full", "", "the instructor's solutions"),
    Attack("control_blank", "blank", "", "the release as handed out"),
    Attack("control_wrong", "wrong", "", "softmax ignores its axis (an honest mistake)"),
    Attack("input_transformer", "blank", '''
def _no_asserts(lines):
    return ["pass\\n"] if any("assert" in line for line in lines) else lines
get_ipython().input_transformers_cleanup.append(_no_asserts)
''', "an IPython input transformer turns every cell with an assert into pass"),
    Attack("minus_one_display", "blank", '''
from IPython.display import display as _display
get_ipython().events.register("post_run_cell", lambda result: _display(-1) if "assert" in result.info.raw_cell else None)
''', "a post_run_cell hook displays -1 after every test cell (nbgrader: full partial credit)"),
    Attack("leak_hidden_source", "full", '''
_seen = []
get_ipython().events.register("pre_run_cell", lambda info: _seen.append(info.raw_cell))
get_ipython().events.register("post_run_cell", lambda result: print(
    "SEEN", sum("assert" in cell for cell in _seen), [cell for cell in _seen if "HIDDEN" in cell or "_reference" in cell]))
''', "hooks print, after every cell, how many cells with asserts the kernel ran and any hidden block among them"),
    Attack("side_module", "blank", "", "a numpy.py next to the notebook: the real NumPy with comparisons that always pass",
           files=(("numpy.py", '''import importlib.machinery, importlib.util, os, sys
del sys.modules["numpy"]
_spec = importlib.machinery.PathFinder.find_spec("numpy", [p for p in sys.path if p and os.path.abspath(p) != os.getcwd()])
_real = importlib.util.module_from_spec(_spec)
sys.modules["numpy"] = _real
_spec.loader.exec_module(_real)
_real.allclose = lambda *a, **k: True
_real.all = lambda *a, **k: True
'''),)),
    Attack("global_rebinding", "wrong", '''
_honest_softmax = None


def _rebinding_softmax(x, axis=-1):
    global _close, abs, all
    _close = lambda *a, **k: True
    abs = lambda *a, **k: 0.0
    all = lambda *a, **k: True
    return _honest_softmax(x, axis)
''', "softmax rebinds _close, abs and all with global before it returns"),
    Attack("reference_call", "wrong", '''
def _softmax_or_reference(x, axis=-1):
    reference = globals().get("_reference_softmax")
    return reference(x, axis) if reference is not None else _honest_softmax(x, axis)
''', "softmax calls the hidden block's _reference_softmax when it exists"),
    Attack("fake_sys_modules", "wrong", '''
import builtins as _builtins, sys as _sys, types as _types
_fake = _types.ModuleType("builtins")
_fake.__dict__.update(vars(_builtins))
_fake.all = lambda *a, **k: True
_sys.modules["builtins"] = _fake
''', "sys.modules['builtins'] replaced: the hidden block's 'from builtins import all' gets a fake"),
    Attack("patched_comparisons", "wrong", '''
import numpy as _np, torch as _torch
_np.allclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_torch.allclose = lambda *a, **k: True
''', "np.allclose, np.array_equal, np.testing and torch.allclose patched in the kernel"),
    Attack("shadowed_builtins", "wrong", '''
def abs(x):
    return 0.0


def isinstance(obj, kind):
    return True
''', "abs and isinstance redefined as notebook globals"),
    Attack("lying_object", "wrong", '''
import numpy as _np


class _Liar(_np.ndarray):
    def __eq__(self, other):
        return _np.ones(_np.shape(self), dtype=bool)

    def tolist(self):
        return [0.0] * self.size


def _lying_softmax(x, axis=-1):
    return _honest_softmax(x, axis).view(_Liar)
''', "softmax returns an ndarray subclass whose == is always true and whose tolist lies"),
    Attack("endpoint_forgery", "blank", '''
import sys as _sys
_endpoint = _sys.modules.get("tfscourse_staff.grading.judge_endpoint")
if _endpoint is not None:
    _endpoint.encode = lambda value, buffers, handle_of=None: {"t": "ndarray", "dtype": "<f8", "shape": [10**9], "buf": 0, "scalar": False}
''', "replaces the kernel endpoint's encoder to send a forged array header"),
]
BY_NAME = {a.name: a for a in ATTACKS}
# attacks whose code wraps the honest wrong softmax: which function becomes the notebook's softmax
WRAPPERS = {"global_rebinding": "_rebinding_softmax", "reference_call": "_softmax_or_reference",
            "lying_object": "_lying_softmax"}


def _cell(nb, gid):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def build(attack: Attack, release, master) -> dict[str, bytes]:
    """The files the attacking student hands in."""
    if attack.base == "blank":
        nb = copy.deepcopy(release)
    else:
        nb = fill(release, master, {"softmax": WRONG_SOFTMAX} if attack.base == "wrong" else None)
    cell = _cell(nb, "softmax")
    source = attack.code.strip() + "\n\n" + cell.source if attack.code else cell.source
    if attack.name in WRAPPERS:
        source += f"\n\n_honest_softmax = softmax\nsoftmax = {WRAPPERS[attack.name]}\n"
    cell.source = source
    files = {NOTEBOOK: nbformat.writes(nb).encode()}
    files.update({name: text.encode() for name, text in attack.files})
    return files


def make_course(root, repo):
    """A course at ``root`` with notebook 01 released and one submission per attack."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(repo / "course" / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(repo / "nbgrader_config.py", root / "nbgrader_config.py")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=ERROR"],
                   cwd=root, check=True, capture_output=True)
    master = nbformat.read(str(root / "course" / ASSIGNMENT / NOTEBOOK), as_version=4)
    release = nbformat.read(str(root / "release" / ASSIGNMENT / NOTEBOOK), as_version=4)
    for attack in ATTACKS:
        folder = root / "submitted" / attack.name / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, data in build(attack, release, master).items():
            (folder / name).write_bytes(data)
    return root


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from tfscourse_staff.grading import runner
    from tfscourse_staff.grading.job import Limits
    from tfscourse_staff.nbgrader_runs import put_own_scripts_on_path

    put_own_scripts_on_path()
    repo = Path(__file__).resolve().parents[1]
    root = make_course(Path(sys.argv[1]), repo)
    limits = Limits(timeout=300, memory_mb=2000, cell_timeout=30)
    scores = {judge: {o.student: o.score for o in runner.grade(root, [ASSIGNMENT], limits=limits, judge=judge, quiet=True)}
              for judge in (False, True)}
    print("| attack | base | in-kernel tests | judge | what it does |\n|---|---|---|---|---|")
    for attack in ATTACKS:
        print(f"| {attack.name} | {attack.base} | {scores[False][attack.name]} | {scores[True][attack.name]} | {attack.why} |")
