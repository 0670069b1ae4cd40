"""The exercise probes: a solution notebook with, in front of each exercise, the lab's
untouched cell and every plausible wrong answer kept in the exercise cell's metadata
("wrong_answers"), each followed by the exercise's check; then the solution and its check.

Run with LAB_CHECKS=no-fallback (the solution's answer stays out of the failed runs, so
each is judged on its own), the checks' record (helpers.checks.history, printed by the last
cell) must read "not yet" for each of those and "done" for the solution. The second learner
of tests/test_course_flow.py takes the course through these notebooks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from tools import make_labs

REGION = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION$", re.M | re.S
)
HISTORY = "HISTORY "


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
            f"print({HISTORY!r} + json.dumps(_checks.history))"
        )
    )
    notebook.cells = cells
    return notebook, expected


def history(notebook: nbformat.NotebookNode) -> list[list]:
    """What the checks recorded in a probe notebook that ran: [[exercise, passed], ...]."""
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert HISTORY in printed, f"the probe's last cell printed no history: {printed!r}"
    return json.loads(printed.split(HISTORY, 1)[1])
