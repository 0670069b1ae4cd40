"""The notebooks as committed: labs/ generated from solutions/, no outputs, the setup cell."""

from __future__ import annotations

import json
import re
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


# -- what every lab has (CONTRIBUTING.md "Add a lab") ------------------------------------


def markdown(cells) -> list[str]:
    return [c.source for c in cells if c.cell_type == "markdown"]


def code(cells) -> list[str]:
    return [c.source for c in cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_lab_opens_with_objectives_needs_time_cost_and_a_diagram(path):
    cells = nbformat.read(path, as_version=4).cells
    opening = cells[0].source
    assert cells[0].cell_type == "markdown" and opening.startswith("# Lab ")
    objectives = opening.split("**You will be able to**", 1)[-1].split("**You need**")[0]
    count = len(re.findall(r"^\d+\. \S", objectives, re.M))
    assert "**You will be able to**" in opening and 3 <= count <= 5, f"{count} objectives"
    for line in ("**You need**:", "**Time**: about ", "**Cost on a real account**:"):
        assert line in opening, f"{path.name}'s first cell lacks {line!r}"
    diagram = next((s for s in markdown(cells) if "```mermaid" in s), None)
    assert diagram and "## What you will build" in diagram, "a Mermaid diagram of what it builds"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_lab_closes_with_questions_extensions_and_production_notes(path):
    cells = nbformat.read(path, as_version=4).cells
    headings = [s.splitlines()[0] for s in markdown(cells) if s.strip()]
    for heading in (
        "## Check your understanding",
        "## Extension tasks",
        "## On a real account, in production",
    ):
        assert heading in headings, f"{path.name} has no {heading!r}"
    questions = sum(s.count("quiz.ask(") for s in code(cells))
    assert 3 <= questions <= 4, f"{path.name} asks {questions} questions"
    extensions = next(s for s in markdown(cells) if s.startswith("## Extension tasks"))
    tasks = re.findall(r"^(?:\d+\.|###) ", extensions, re.M)
    assert len(tasks) == 2, f"{path.name}: {len(tasks)} extension tasks, not two"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_labs_read_alike(path):
    cells = nbformat.read(path, as_version=4).cells
    source = "\n".join(code(cells))
    assert len(cells) <= 75, f"{path.name} has {len(cells)} cells: split it"
    assert "view.close()" not in source, "view.close() empties the outputs: use view.stop()"
    aliases = re.findall(r"from helpers import (\w+) as (\w+)", source)
    for module, alias in aliases:
        assert (
            alias
            == {
                "codecommit": "cc",
                "codebuild": "cb",
                "codedeploy": "cd",
                "codepipeline": "cp",
            }.get(module, module)
            + "_helpers"
        ), alias
    assert "advanced" not in re.findall(r"from helpers import ([\w, ]+)", source)
    assert "raise NotImplementedError" not in source


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_dollar_signs_in_markdown_are_written_so_jupyterlab_shows_them(path):
    """JupyterLab 4 typesets what lies between two `$` of a paragraph as LaTeX, even two
    escaped `\\$` (seen in Chromium); `\\\\$` shows a dollar sign. Code is left as it is."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"```.*?```|`[^`]*`", "", cell.source, flags=re.S)
        bare = re.findall(r".{0,20}(?<!\\\\)\$.{0,10}", prose)
        assert not bare, f"{path.name}: write \\\\$ for a dollar sign: {bare}"
