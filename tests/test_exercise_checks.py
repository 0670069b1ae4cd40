"""Every exercise check can fail, and passes its solution.

For each solution notebook, one kernel runs the notebook top to bottom; in front of each
exercise it first runs the lab's untouched cell and then every plausible wrong answer kept
in the exercise cell's metadata ("wrong_answers"), each followed by the check, and only
then the solution and its check. The checks' own record (helpers.checks.history) must read
"not yet" for each of those and "done" for the solution. LAB_CHECKS=no-fallback keeps the
solution's answer out of the failed runs, so each one is judged on its own.

The checks' one-line feedback (no traceback) is tested in tests/test_checks.py; that an
untouched lab runs to its end is nbval's run of labs/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from tools import make_labs

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
REGION = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION$", re.M | re.S
)


def exercise_cells(path: Path) -> list[nbformat.NotebookNode]:
    cells = nbformat.read(path, as_version=4).cells
    return [c for c in cells if "exercise" in c.metadata.get("tags", [])]


def with_answer(source: str, answer: str) -> str:
    """The exercise cell with its solution region replaced by `answer` (indented alike)."""
    match = REGION.search(source)
    assert match, "an exercise cell has a solution region"
    indent = match.group("indent")
    body = "\n".join(indent + line if line else line for line in answer.splitlines())
    return source[: match.start()] + body + source[match.end() :]


def probe_notebook(path: Path) -> tuple[nbformat.NotebookNode, list[list]]:
    """The solution with every exercise's failing variants run (and checked) before it."""
    notebook = nbformat.read(path, as_version=4)
    cells, expected = [], []
    for index, cell in enumerate(notebook.cells):
        if "exercise" in cell.metadata.get("tags", []):
            check = next(c for c in notebook.cells[index + 1 :] if c.cell_type == "code")
            name = cell.metadata["exercise"]
            variants = [make_labs.clear_solution(cell.source)] + [
                with_answer(cell.source, wrong) for wrong in cell.metadata["wrong_answers"]
            ]
            for variant in variants:
                cells += [nbformat.v4.new_code_cell(variant), check]
                expected.append([name, False])
            expected.append([name, True])
        cells.append(cell)
    cells.append(
        nbformat.v4.new_code_cell(
            "import json\nfrom helpers import checks as _checks\n"
            "print('HISTORY ' + json.dumps(_checks.history))"
        )
    )
    notebook.cells = cells
    return notebook, expected


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


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in SOLUTIONS if exercise_cells(p)], ids=lambda p: p.name)
def test_each_check_fails_the_untouched_lab_and_wrong_answers_and_passes_the_solution(
    path, monkeypatch
):
    from nbclient import NotebookClient

    monkeypatch.setenv("LAB_CHECKS", "no-fallback")
    monkeypatch.setenv("LAB_PACE_SECONDS", "0")  # nobody watches: lab.pace() does not slow it
    monkeypatch.setenv("LAB_PREFIX", "labprobe")
    notebook, expected = probe_notebook(path)
    NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    history = json.loads(printed.split("HISTORY ", 1)[1])
    assert history == expected
