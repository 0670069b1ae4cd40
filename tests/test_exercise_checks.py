"""Every exercise has a name, a check that names it, and wrong answers to probe it with.

That each check fails the lab's untouched cell and every wrong answer and passes the
solution is run by the course test: its second learner takes the course through the probe
notebooks (tests/exercise_probes.py, tests/test_course_flow.py), so the solutions are not
run once more for it. The checks' one-line feedback (no traceback) is tested in
tests/test_checks.py; that an untouched lab runs to its end is nbval's run of labs/.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.exercise_probes import HISTORY, exercise_cells, probe_notebook
from tools import make_labs

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_every_exercise_has_a_unique_name_and_a_wrong_answer():
    names = []
    for path in SOLUTIONS:
        for cell in exercise_cells(path):
            name = cell.metadata.get("exercise")
            assert name, f"{path.name}: exercise cell {cell.get('id')} has no metadata 'exercise'"
            assert cell.metadata.get("wrong_answers"), f"{path.name}: {name} has no wrong answer"
            names.append(name)
    assert len(names) == len(set(names)), f"exercise names repeat: {names}"


def test_check_cells_name_their_exercise():
    for path in SOLUTIONS:
        cells = nbformat.read(path, as_version=4).cells
        for index, cell in enumerate(cells):
            if "exercise" in cell.metadata.get("tags", []):
                check = next(c for c in cells[index + 1 :] if c.cell_type == "code")
                name = cell.metadata["exercise"]
                assert f'checks.exercise("{name}")' in check.source, (
                    f"{path.name}: the check after {name} does not run in "
                    f'`with checks.exercise("{name}"):`'
                )


def test_a_probe_runs_each_wrong_variant_and_its_check_before_the_solution():
    """The probes' cells, read without a kernel: each exercise's untouched cell and wrong
    answers, each followed by the check, then the solution and (next code cell) its check;
    the expected record has a "not yet" per variant and one "done"."""
    for path in (p for p in SOLUTIONS if exercise_cells(p)):
        solution = nbformat.read(path, as_version=4).cells
        notebook, expected = probe_notebook(path)
        cells = notebook.cells
        assert HISTORY in cells[-1].source
        for cell in exercise_cells(path):
            name, wrong = cell.metadata["exercise"], cell.metadata["wrong_answers"]
            check = next(c for c in solution[solution.index(cell) + 1 :] if c.cell_type == "code")
            at = [c.source for c in cells].index(cell.source)
            before = [c.source for c in cells[at - 2 * (len(wrong) + 1) : at]]
            assert before[0::2][0] == make_labs.clear_solution(cell.source), path.name
            assert all("### BEGIN SOLUTION" not in v for v in before[0::2]), path.name
            assert before[1::2] == [check.source] * (len(wrong) + 1), path.name
            after = next(c for c in cells[at + 1 :] if c.cell_type == "code")
            assert after.source == check.source, path.name
            records = [r for r in expected if r[0] == name]
            assert records == [[name, False]] * (len(wrong) + 1) + [[name, True]], path.name
