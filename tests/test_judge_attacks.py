"""Attacks on the in-kernel tests gain nothing against the judge (notebook 01, real sandboxed grading).

One batch of ``tests/judge_attacks.py`` submissions graded by ``tfscourse grade``
with the judge: each attack scores no more than the honest submission it starts
from, the solutions keep full marks, and the hidden blocks never reach the kernel
(a hook that writes every cell the kernel runs into a file finds none of them).
Needs bubblewrap: skipped with the reason only where it cannot run.
"""

from __future__ import annotations

import json

import pytest

from tests import judge_attacks
from tests.adversarial.course import REPO
from tfscourse_staff.grading import sandbox
from tfscourse_staff.grading.job import Limits

pytestmark = pytest.mark.slow
# 1500 MB of address space: the judge's endpoint threads must fit next to torch (the kernel runs with
# MALLOC_ARENA_MAX=2; with glibc's default of one 64 MB arena reservation per thread it died here)
LIMITS = Limits(timeout=120, memory_mb=1500, cell_timeout=20)
CONTROLS = {"blank": "control_blank", "wrong": "control_wrong", "full": "control_full"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    why = sandbox.available()
    if why:
        pytest.skip(f"bubblewrap sandbox unavailable: {why}")
    from tfscourse_staff.grading import runner
    from tfscourse_staff.nbgrader_runs import put_own_scripts_on_path

    put_own_scripts_on_path()
    root = judge_attacks.make_course(tmp_path_factory.mktemp("judge_attacks") / "course_root", REPO)
    outcomes = runner.grade(root, [judge_attacks.ASSIGNMENT], workers=2, limits=LIMITS, judge=True, quiet=True)
    return root, {o.student: o for o in outcomes}


def test_controls_score_as_expected(graded):
    _, outcomes = graded
    full = outcomes["control_full"]
    assert full.score == full.max_score == 27.0, (full.status, full.detail)
    assert outcomes["control_blank"].score == 0.0
    assert 0.0 < outcomes["control_wrong"].score < 27.0


@pytest.mark.parametrize("attack", [a for a in judge_attacks.ATTACKS if not a.name.startswith("control")],
                         ids=lambda a: a.name)
def test_attack_scores_no_more_than_its_honest_base(graded, attack):
    _, outcomes = graded
    got, control = outcomes[attack.name], outcomes[CONTROLS[attack.base]]
    assert got.score is not None and got.score <= control.score, f"{attack.why}: {got.score} > {control.score} ({got.detail})"


def test_autograded_test_cells_keep_their_grade_and_show_the_judges_outcome(graded):
    """The autograded notebook (what feedback and the class report read) has each judged test cell
    with its nbgrader metadata and the judge's error, not the kernel's outputs of the visible part."""
    root, _ = graded
    path = root / "autograded" / "control_blank" / judge_attacks.ASSIGNMENT / judge_attacks.NOTEBOOK
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    graded_ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells
                  if c["metadata"].get("nbgrader", {}).get("grade")]
    release = json.loads((root / "release" / judge_attacks.ASSIGNMENT / judge_attacks.NOTEBOOK).read_text())
    want = [c["metadata"]["nbgrader"]["grade_id"] for c in release["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade")]
    assert graded_ids == want, f"judged test cells lost their metadata: {graded_ids}"
    softmax_test = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_softmax")
    errors = [o for o in softmax_test["outputs"] if o["output_type"] == "error"]
    assert [o["ename"] for o in errors] == ["NotImplementedError"], softmax_test["outputs"]


def test_hidden_blocks_never_reach_the_kernel(graded):
    root, _ = graded
    path = root / "autograded" / "leak_hidden_source" / judge_attacks.ASSIGNMENT / judge_attacks.NOTEBOOK
    nb = json.loads(path.read_text())
    reports = [line for cell in nb["cells"] for out in cell.get("outputs", []) if out.get("name") == "stdout"
               for line in "".join(out["text"]).splitlines() if line.startswith("SEEN ")]
    assert reports, "the hooks did not run: the test proves nothing"
    count, hidden = reports[-1].split(" ", 2)[1:]
    assert int(count) > 0 and hidden == "[]", reports[-1][:500]
