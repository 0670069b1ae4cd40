"""The notebooks as committed: labs/ generated from solutions/, no outputs, the setup cell."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tools import make_labs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))


def test_labs_are_generated_from_solutions():
    expected = make_labs.expected_labs()
    actual = {p: p.read_text() for p in (ROOT / "labs").glob("*.ipynb")}
    assert set(actual) == set(expected), "run: python tools/make_labs.py"
    drift = [p.name for p in expected if actual[p] != expected[p]]
    assert not drift, f"labs/ drifted from solutions/ ({drift}): run python tools/make_labs.py"


def test_generator_clears_solutions_and_keeps_wrong_answers_out():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "x = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n",
                metadata={"tags": ["exercise"], "exercise": "a", "wrong_answers": ["answer = 4"]},
            ),
            nbformat.v4.new_code_cell(
                "with checks.exercise('a'):\n    check(answer == 42)", metadata={"tags": ["check"]}
            ),
        ]
    )
    lab = make_labs.make_lab(nb)
    assert "answer = 42" not in lab.cells[0].source
    assert lab.cells[0].source.splitlines()[-1] == "checks.todo()"
    assert "wrong_answers" not in lab.cells[0].metadata
    assert "raises-exception" not in lab.cells[0].metadata.tags + lab.cells[1].metadata.tags
    with pytest.raises(ValueError):
        make_labs.clear_solution("### BEGIN SOLUTION\nno end")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_is_clean(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name} has outputs committed"
            )
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "lab.setup()" in "".join(first_code["source"])


def test_every_exercise_has_a_check():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for index, cell in enumerate(cells):
            if "exercise" in cell.metadata.get("tags", []):
                following = [c for c in cells[index + 1 :] if c.cell_type == "code"][:1]
                assert following and "check" in following[0].metadata.get("tags", []), (
                    f"{path.name}: exercise cell {cell.get('id')} is not followed by a check"
                )
