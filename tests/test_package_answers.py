"""The student package holds no answer to a graded cell of a notebook students are still working on.

For every notebook NN, the package published at stage NN (``tfscourse_staff.publish``) is
what a student installs while NN is graded. Two checks:

* substitution: no function or class of that package, put in place of a graded answer
  of NN (as ``from tfscourse.x import answer`` or ``class Answer(tfscourse.x.Y): pass``
  would), passes a test cell that checks that answer, hidden tests included;
* source: no line of a solution region of NN or of a later notebook (normalised, beyond
  trivial lines and lines that the release notebook shows anyway) appears in the
  package's files at stage NN.
"""

from __future__ import annotations

import importlib
import inspect
import re

import nbformat
import pytest

from tests.conftest import ASSIGNMENTS, ROOT, harness, known_wrong_cases
from tests.nbharness import run_cell
from tfscourse_staff import publish
from tfscourse_staff.grading.own_answers import graded_names
from tfscourse_staff.notebooks import nbgrader_meta

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
MIN_LINE = 24  # shorter normalised lines (``return x``, ``x = x + 1``) say nothing about where code came from
# imports, input conversions and bare exception handlers (``except Exception as error:``)
TRIVIAL = re.compile(r"^(?:import .*|from \S+ import .*|\w+ = np\.asarray\(\w+(?:, dtype=\w+)?\)"
                     r"|except(?: \w+(?: as \w+)?)?:)$")


def package_objects(stage: str) -> dict[str, object]:
    """``module.name`` -> every function and class defined by a module published at ``stage``."""
    out = {}
    for path in publish.package_files(stage):
        module = importlib.import_module(publish.module_name(path))
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == module.__name__:
                out[f"{module.__name__}.{name}"] = obj
    return out


def _accepts(candidate, answer) -> bool:
    """Whether ``candidate`` takes the positional arguments ``answer`` requires (a cheap first filter)."""
    if inspect.isclass(answer) != inspect.isclass(candidate):
        return False
    if inspect.isclass(answer):  # it must at least have the methods the answer defines
        return all(hasattr(candidate, name) for name in vars(answer) if not name.startswith("_"))
    try:
        required = [p for p in inspect.signature(answer).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        inspect.signature(candidate).bind(*[None] * len(required))
    except (TypeError, ValueError):
        return False
    return True


def graded_tests(assignment: str) -> dict[str, list[str]]:
    """Graded answer name -> the autograded test cells that check it, from the master notebook."""
    return {name: tests for name, tests in graded_names(harness(assignment).nb).items() if tests}


def test_graded_names_are_found_in_every_notebook():
    for assignment in ASSIGNMENTS:
        found = graded_tests(assignment)
        assert found, f"{assignment}: no graded answer names found"
    assert "ByteLevelBPE" in graded_tests("03_bpe") and "CausalSelfAttention" in graded_tests("06_gpt")


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_no_package_object_passes_a_graded_cell(assignment, tmp_path, monkeypatch):
    h = harness(assignment)
    candidates = package_objects(assignment)
    # a candidate may write files with the test's arguments (save_checkpoint("abbc", merges) in place of
    # bpe_encode_word): let it write into a scratch folder, not into the repository
    monkeypatch.chdir(tmp_path)
    passing = []
    for name, tests in graded_tests(assignment).items():
        for test_id in tests:
            answer = h.snapshots[test_id].get(name)
            if answer is None or not _grades(assignment, test_id, name):
                continue
            for label, obj in candidates.items():
                if not _accepts(obj, answer):
                    continue
                namespace = h.namespace_with(test_id)
                namespace[name] = obj
                if run_cell(h.test_sources[test_id], namespace, test_id).passed:
                    passing.append(f"{label} as {name} passes {test_id} ({h.points(test_id):g} points)")
    assert not passing, f"the stage-{assignment} package answers graded cells: {passing}"


def _grades(assignment: str, test_id: str, name: str) -> bool:
    """Whether ``test_id`` grades ``name``: a known-wrong answer for ``name`` names that cell (when there
    is none, every cell that mentions the name). A test of a later function may call an earlier one
    and judge the later function on its own: it does not grade the earlier one."""
    cells = {t for case in known_wrong_cases(assignment) if case.target == name for t in case.tests}
    return not cells or test_id in cells


def test_the_reference_answers_would_be_caught():
    """The check above has teeth: notebook 06's reference GPT, reachable at stage 07, passes 06's cells."""
    h = harness("06_gpt")
    namespace = h.namespace_with("test_causal_self_attention")
    reference = package_objects("07_finetuning")["tfscourse.unlocked.gpt.CausalSelfAttention"]

    class ExplicitReference(reference):  # the explicit path: 06 asks for the mask buffer, not is_causal=True
        def __init__(self, config):
            super().__init__(config)
            self.use_sdpa = False

    namespace["CausalSelfAttention"] = ExplicitReference
    assert run_cell(h.test_sources["test_causal_self_attention"], namespace, "test").passed


def normalised(line: str) -> str:
    return re.sub(r"\s+", " ", line.split("#", 1)[0]).strip()


def solution_lines(assignment: str) -> set[str]:
    """Non-trivial normalised lines of the master's solution regions that its release does not show."""
    master = nbformat.read(str(ASSIGNMENTS[assignment]), as_version=4)
    release = nbformat.read(str(ROOT / publish.release_path_of(ASSIGNMENTS[assignment])), as_version=4)
    shown = {normalised(line) for cell in release.cells for line in cell.source.splitlines()}
    lines = set()
    for cell in master.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            for region in SOLUTION.findall(cell.source):
                lines.update(normalised(line) for line in region.splitlines())
    return {line for line in lines if not is_trivial(line) and line not in shown}


def is_trivial(line: str) -> bool:
    """Lines that say nothing about where code came from: short ones, imports, input conversions."""
    return len(line) < MIN_LINE or bool(TRIVIAL.match(line))


@pytest.mark.parametrize("stage", sorted(ASSIGNMENTS))
def test_no_solution_code_in_the_package_of_a_stage(stage):
    still_graded = [name for name in ASSIGNMENTS if name >= stage]
    found = []
    for path in publish.package_files(stage):
        text = {normalised(line) for line in path.read_text(encoding="utf-8").splitlines()}
        for assignment in still_graded:
            for line in sorted(solution_lines(assignment) & text):
                found.append(f"{path.name}: {assignment}: {line}")
    assert not found, f"solution code in the stage-{stage} package: {found}"


def test_solution_lines_are_found():
    lines = solution_lines("01_self_attention")
    assert lines and all(len(line) >= MIN_LINE for line in lines)
    assert "angles = positions / 10000 ** (pair / d_model)" in lines  # positional_encoding's answer
