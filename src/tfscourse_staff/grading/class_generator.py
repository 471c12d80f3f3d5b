"""A realistic synthetic class: N submissions of one notebook with known, planted outcomes.

Used to test and benchmark the class report (``report.py``) and the similarity
analysis (``similarity.py``) on classes of any size. Each generated student answers
every answer cell of the release notebook in one of three ways:

* ``right``: the instructor's solution, with a few lines of the student's own around it
  (a stray check, a leftover variable: every real student leaves traces of their own,
  and without them all right answers would be identical);
* ``wrong``: one of the known-wrong answers for that cell (``tests/known_wrong``), put in
  place of the solution's definition of the same name;
* ``blank``: the release stub left as it was (``raise NotImplementedError()``).

Some students also crash the kernel (``os._exit``) or leave an endless loop in a cell
(the cell times out); some copy another student's answers and disguise them (renamed
local names, reordered definitions, added comments): these are the *planted pairs*.

What grading must report is predicted from ``effects``: for every variant, the test
cells it fails and with what message (measured by the caller, e.g. by running the
master notebook once with that variant). A test cell fails when any variant the
student chose fails it. ``fill_synthetic`` writes a graded class (submitted and
autograded notebooks, the gradebook rows, ``grading_summary.csv``) straight from
those predictions, through the same writer real grading uses (``merge.merge_result``).

Example::

    variants = answer_variants(master, wrong_answers)
    effects = {v.key: measure(v) for vs in variants.values() for v in vs}   # caller's judge
    students = generate_class(release, master, variants, 30, seed=1)
    predicted = predict(students[0], effects)          # {"test_softmax": (False, "AssertionError: ...")}
"""

from __future__ import annotations

import ast
import copy
import inspect
import random
import re
import textwrap
from dataclasses import dataclass, field

from tfscourse_staff.notebooks import grade_id, is_test_cell, nbgrader_meta
from tfscourse_staff.submissions import answer_cells, solved_source

RIGHT, WRONG, BLANK = "right", "wrong", "blank"
OK, CRASH, TIMEOUT = "ok", "crash", "timeout"
CRASH_LINE = "import os as _os\n_os._exit(3)  # the kernel dies here"
TIMEOUT_LINE = "while True:  # never ends: the cell runs past its time limit\n    pass"


@dataclass(frozen=True)
class Variant:
    """One way of answering one answer cell."""

    cell: str  # grade_id of the answer cell
    kind: str  # RIGHT, WRONG or BLANK
    name: str  # "solution", "blank" or the known-wrong answer's label, e.g. "softmax:softmax_unstable"
    source: str

    @property
    def key(self) -> str:
        return f"{self.cell}/{self.name}"


@dataclass
class Student:
    """A generated student: the variant chosen per answer cell and what happens when graded."""

    name: str
    answers: dict[str, Variant]
    sources: dict[str, str]  # answer cell -> the source handed in (variant plus the student's own lines)
    fate: str = OK  # OK, CRASH or TIMEOUT
    copied_from: str | None = None
    disguises: list[str] = field(default_factory=list)


def _value_source(value) -> str:
    """Python source for a plain answer value. Example: {"B", "A"} -> "{'A', 'B'}"."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
    if hasattr(value, "tolist"):  # a NumPy array
        return f"np.array({value.tolist()!r})"
    return repr(value)


def _replace_definition(source: str, target: str, new_code: str) -> str | None:
    """``source`` with its top-level definition of ``target`` (def, class or assignment) replaced."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lines = source.split("\n")
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if target in names:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            return "\n".join([*lines[:start], new_code.rstrip("\n"), *lines[node.end_lineno:]])
    return None


def wrong_code(target: str, answer) -> str:
    """The source a student would write for a known-wrong ``answer`` to ``target``."""
    if inspect.isfunction(answer) or inspect.isclass(answer):
        code = textwrap.dedent(inspect.getsource(answer))
        keyword = "class" if inspect.isclass(answer) else "def"
        return re.sub(rf"^{keyword} {re.escape(answer.__name__)}\b", f"{keyword} {target}", code, count=1, flags=re.M)
    return f"{target} = {_value_source(answer)}"


def answer_variants(master_nb, release_nb, wrong_answers) -> dict[str, list[Variant]]:
    """Answer cell grade_id -> its variants: the solution, the release stub and every known-wrong answer.

    ``wrong_answers``: objects with ``target`` (the name the student defines), ``answer``
    (a function, class or value) and ``label`` (``tests.nbharness.Wrong`` has all three).
    A known-wrong answer goes to the code answer cell that defines its target.
    """
    variants: dict[str, list[Variant]] = {}
    stubs = {grade_id(c): c.source for c in answer_cells(release_nb)}
    for cell in answer_cells(master_nb):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        solution = solved_source(cell)
        found = [Variant(gid, RIGHT, "solution", solution), Variant(gid, BLANK, "blank", stubs[gid])]
        for wrong in wrong_answers:
            replaced = _replace_definition(solution, wrong.target, wrong_code(wrong.target, wrong.answer))
            if replaced is not None:
                found.append(Variant(gid, WRONG, wrong.label, replaced))
        variants[gid] = found
    return variants


# ---- each student's own lines ---------------------------------------------------------------

_OWN_LINES = [
    "check_{a} = {b} * {c} - {d}",
    "steps_{a} = [{b}, {c}, {d}]",
    "limit_{a} = max({b}, {c}) + {d}",
    "if {b} > {c}:\n    note_{a} = {d}",
    "scale_{a} = ({b} + {c}) / {d}",
    "for i_{a} in range({b}):\n    total_{a} = i_{a} * {c}",
]


def _own_lines(rng: random.Random, count: int) -> str:
    """A few harmless lines with this student's own structure and numbers (leftovers of their work)."""
    picked = rng.sample(_OWN_LINES, count)
    return "\n".join(t.format(a=rng.randrange(1000), b=rng.randrange(2, 97), c=rng.randrange(2, 97),
                              d=rng.randrange(2, 97)) for t in picked)


def _with_own_lines(source: str, rng: random.Random) -> str:
    own = _own_lines(rng, rng.randint(2, 3))
    return f"{own}\n{source}" if rng.random() < 0.5 else f"{source}\n{own}"


# ---- disguising a copy -----------------------------------------------------------------------

class _Renamer(ast.NodeTransformer):
    """Renames the local variables of every function (not its arguments: tests pass them by keyword)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.mapping: dict[str, str] = {}
        self.renamed = False

    def _new(self, name: str) -> str:
        if name not in self.mapping:
            self.mapping[name] = f"{name}_{self.rng.choice(['mine', 'tmp', 'val', 'x'])}{self.rng.randrange(10)}"
        return self.mapping[name]

    def visit_FunctionDef(self, node):
        outer = dict(self.mapping)
        arguments = {a.arg for a in [*node.args.args, *node.args.kwonlyargs]}
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) and inner.id not in arguments:
                self._new(inner.id)
        self.generic_visit(node)
        self.mapping = outer
        return node

    def visit_Name(self, node):
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
            self.renamed = True
        return node


def disguise(source: str, rng: random.Random) -> tuple[str, list[str]]:
    """A copied cell made to look different: locals renamed, definitions moved up and shuffled, comments added."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    done = []
    renamer = _Renamer(rng)
    tree = renamer.visit(tree)
    if renamer.renamed:
        done.append("renamed")
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    rest = [n for n in tree.body if n not in imports and n not in defs]
    rng.shuffle(defs)  # definitions first (never after a line that uses them), in another order
    reordered = [*imports, *defs, *rest]
    if [id(n) for n in reordered] != [id(n) for n in tree.body]:
        tree.body = reordered
        done.append("reordered")
    lines = ast.unparse(tree).split("\n")
    out = []
    for line in lines:
        if line.strip() and rng.random() < 0.3:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# {rng.choice(['my own idea', 'check this', 'works now', 'see lecture'])}")
            done.append("commented")
        out.append(line)
    return "\n".join(out), sorted(set(done))


# ---- the class ---------------------------------------------------------------------------------

@dataclass
class Mix:
    """How a generated class answers. Fractions per answer cell and per student."""

    right: float = 0.65  # an answer cell gets the solution
    wrong: float = 0.2  # ... a known-wrong answer (else it is left blank)
    crash: float = 0.03  # a student's kernel dies (nothing is graded)
    timeout: float = 0.04  # a student leaves an endless loop in one cell (that cell times out)
    copy_pairs: int = 3  # planted pairs: the second student copies the first one's answers


def generate_class(master_nb, variants: dict[str, list[Variant]], n: int, *, seed: int = 0,
                   mix: Mix | None = None) -> list[Student]:
    """``n`` students (``student_0001`` ...) with planted answers, fates and copied pairs."""
    mix = mix or Mix()
    rng = random.Random(seed)
    students = []
    for index in range(n):
        answers, sources = {}, {}
        for cell, options in variants.items():
            wrongs = [v for v in options if v.kind == WRONG]
            roll = rng.random()
            if roll < mix.right or (roll < mix.right + mix.wrong and not wrongs):
                chosen = options[0]
            elif roll < mix.right + mix.wrong:
                chosen = rng.choice(wrongs)
            else:
                chosen = options[1]
            answers[cell] = chosen
            sources[cell] = _with_own_lines(chosen.source, rng) if chosen.kind != BLANK else chosen.source
        fate = OK
        roll = rng.random()
        if roll < mix.crash:
            fate = CRASH
        elif roll < mix.crash + mix.timeout:
            fate = TIMEOUT
        students.append(Student(f"student_{index + 1:04d}", answers, sources, fate))
    _plant_copies(students, mix.copy_pairs, rng)
    for student in students:
        _plant_fate(student, rng)
    return students


def _plant_copies(students: list[Student], pairs: int, rng: random.Random) -> None:
    """Students 2k+1 copy students 2k (pairs spread over the class, disjoint, none crashing)."""
    candidates = [s for s in students if s.fate == OK and sum(v.kind != BLANK for v in s.answers.values()) >= 4]
    rng.shuffle(candidates)
    for original, copier in zip(candidates[0:2 * pairs:2], candidates[1:2 * pairs:2]):
        copier.answers = dict(original.answers)
        copier.copied_from = original.name
        for cell, source in original.sources.items():
            text, done = disguise(source, rng) if original.answers[cell].kind != BLANK else (source, [])
            copier.sources[cell] = text
            copier.disguises = sorted(set(copier.disguises) | set(done))


def _plant_fate(student: Student, rng: random.Random) -> None:
    if student.fate == OK:
        return
    line = CRASH_LINE if student.fate == CRASH else TIMEOUT_LINE
    cell = rng.choice(sorted(student.sources))
    student.sources[cell] = f"{student.sources[cell]}\n{line}".lstrip("\n")


def notebook_of(student: Student, release_nb):
    """The student's submission: the release notebook with their answer cells filled in."""
    nb = copy.deepcopy(release_nb)
    for cell in answer_cells(nb):
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid in student.sources:
            cell.source = student.sources[gid]
    return nb


def predict(student: Student, effects: dict[str, dict[str, str]], test_ids: list[str]) -> dict[str, tuple[bool, str]] | None:
    """Test cell -> (passed, failure message) that grading must report; None when nothing is graded.

    ``effects[variant.key]``: test cell -> message, for the tests that variant fails alone.
    The message reported is the one of the earliest answer cell whose variant fails the test.
    """
    if student.fate == CRASH:
        return None
    results = {}
    for test in test_ids:
        message = next((effects[v.key][test] for v in student.answers.values() if test in effects[v.key]), None)
        results[test] = (message is None, message or "")
    return results


def test_cell_points(master_nb) -> dict[str, float]:
    """Autograded test cell -> points, in notebook order."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0)) for c in master_nb.cells if is_test_cell(c)}


# ---- a graded class without running it ------------------------------------------------------------

def _error_output(message: str) -> dict:
    ename, _, evalue = message.partition(": ")
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"]}


def autograded_notebook(student: Student, release_nb, predicted: dict[str, tuple[bool, str]]):
    """The student's notebook as autograde leaves it: failed test cells carry their error output."""
    nb = notebook_of(student, release_nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            passed, message = predicted.get(grade_id(cell), (True, ""))
            cell.outputs = [] if passed else [_error_output(message)]
    return nb


def fill_synthetic(root, assignment: str, stem: str, release_nb, master_nb, students: list[Student],
                   effects: dict[str, dict[str, str]], *, seed: int = 0, written_graded: float = 0.5):
    """Write a graded class from the predictions: what ``tfscourse grade`` would have written.

    ``root`` is a course whose gradebook already knows ``assignment`` (released). Writes
    ``submitted/`` and ``autograded/`` notebooks, the gradebook rows (through the writer real
    grading uses, ``merge.record_result`` and ``merge.write_files``, in one gradebook session),
    hand grades for a fraction ``written_graded`` of the written answers, and
    ``grading_summary.csv``. Returns the outcomes.
    """
    import json
    import warnings
    from datetime import datetime, timedelta
    from pathlib import Path

    import nbformat
    from nbgrader.api import Gradebook

    from tfscourse_staff.grading import merge, status
    from tfscourse_staff.grading.runner import course_db_url

    root = Path(root)
    rng = random.Random(seed)
    points = test_cell_points(master_nb)
    written = {grade_id(c) for c in master_nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("grade")}
    start = datetime(2026, 1, 15, 12, 0, 0)
    outcomes = []
    with warnings.catch_warnings(), Gradebook(course_db_url(root)) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes inside nbgrader's own API
        for student in students:
            predicted = predict(student, effects, list(points))
            submitted = root / "submitted" / student.name / assignment / f"{stem}.ipynb"
            submitted.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook_of(student, release_nb), str(submitted))
            timestamp = start + timedelta(minutes=rng.randrange(-3000, 600))
            (submitted.parent / "timestamp.txt").write_text(str(timestamp))
            outcome = status.Outcome(student.name, assignment, max_score=sum(points.values()),
                                     seconds=rng.uniform(12, 30))
            result = {"assignment": assignment, "student": student.name, "timestamp": timestamp.isoformat(),
                      "notebooks": {}, "files": {}}
            if predicted is None:
                outcome.add(status.KERNEL_DIED)
                outcome.detail = "the kernel died (exit code 3)"
            else:
                grades = {test: [points[test] if passed else 0.0, False] for test, (passed, _) in predicted.items()}
                grades.update({w: [None, True] for w in written})
                result["notebooks"][stem] = {"grades": grades, "comments": {}, "late_penalty": None}
                graded_nb = autograded_notebook(student, release_nb, predicted)
                result["files"][f"{stem}.ipynb"] = json.dumps(graded_nb).encode()
                if student.fate == TIMEOUT:
                    outcome.add(status.TIMED_OUT)
                    outcome.seconds += 60
                outcome.score = sum(grades[t][0] for t in points)
                outcome.written_pending = True
            merge.record_result(gb, result)
            merge.write_files(root, result)
            if predicted is not None:
                _grade_some_written(gb, assignment, student.name, written, written_graded, rng)
            outcomes.append(outcome)
    status.write_summary(root / "grading_summary.csv", outcomes)
    return outcomes


def _grade_some_written(gb, assignment: str, student: str, written: set[str], fraction: float, rng) -> None:
    """Hand grades (as formgrader saves them) for about ``fraction`` of one student's written answers."""
    for nb in gb.find_submission(assignment, student).notebooks:
        for grade in nb.grades:
            if grade.name in written and rng.random() < fraction:
                grade.manual_score = float(rng.randint(0, int(grade.max_score)))
                grade.needs_manual_grade = False
    gb.db.commit()
