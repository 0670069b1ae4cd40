"""Make labs/ from solutions/: the learner's notebooks are the solutions with answers removed.

    python tools/make_labs.py          # write labs/
    python tools/make_labs.py --check  # exit 1 when labs/ differ from what would be written

In a solution notebook, a cell tagged `exercise` holds its answer between the lines
`### BEGIN SOLUTION` and `### END SOLUTION`; the lab gets a placeholder there instead. A
cell tagged `check` tests an exercise. In labs both are tagged `raises-exception`, so the
notebook tests (nbval) accept that an unsolved exercise raises. Outputs are never kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PLACEHOLDER = "# YOUR CODE HERE: replace the next line with your answer\nchecks.todo()"


def clear_solution(source: str) -> str:
    lines, inside = source.splitlines(), False
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + p for p in PLACEHOLDER.splitlines())
        elif stripped == END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("a solution region has no END SOLUTION line")
    return "\n".join(out)


def make_lab(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    lab = nbformat.from_dict(solution)
    for cell in lab.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "exercise" in tags:
                if BEGIN not in cell.source:
                    raise ValueError(f"exercise cell {cell.get('id')} has no solution region")
                cell.source = clear_solution(cell.source)
            cell.metadata.pop("wrong_answers", None)
    return lab


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def expected_labs() -> dict[Path, str]:
    return {
        ROOT / "labs" / path.name: render(make_lab(nbformat.read(path, as_version=4)))
        for path in sorted((ROOT / "solutions").glob("*.ipynb"))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args(argv)
    expected = expected_labs()
    actual = {p: p.read_text() for p in (ROOT / "labs").glob("*.ipynb")}
    drift = sorted(
        {p for p in expected if actual.get(p) != expected[p]} | (set(actual) - set(expected))
    )
    if args.check:
        for path in drift:
            print(f"labs/{path.name} is not what tools/make_labs.py makes from solutions/")
        return 1 if drift else 0
    (ROOT / "labs").mkdir(exist_ok=True)
    for path, text in expected.items():
        path.write_text(text)
    for path in set(actual) - set(expected):
        path.unlink()
    print(f"Wrote {len(expected)} notebooks to labs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
