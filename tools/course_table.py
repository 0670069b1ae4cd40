"""The course's times and costs, one source: each solution notebook's opening cell says them,
and docs/instructor-guide.md's table is made from those lines.

    python tools/course_table.py           # print the table (markdown) from the notebooks
    python tools/course_table.py --write   # put it in docs/instructor-guide.md
    python tools/course_table.py --check   # exit 1 when the guide's table differs

A lab's first markdown cell carries, each on its own line, exactly:

    **Time**: about N minutes offline, M minutes on a real AWS account
    **Cost on a real account**: <text, dollar signs written \\\\$>

(JupyterLab 4 reads two `\\$` in one paragraph as LaTeX; `\\\\$` shows a plain dollar sign.
The guide, read on GitHub, gets the usual `\\$`.)

The guide's table sits between the lines TABLE_BEGIN and TABLE_END below;
tests/test_course_facts.py checks both (every notebook has the lines, the guide agrees).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
GUIDE = ROOT / "docs" / "instructor-guide.md"
TABLE_BEGIN = "<!-- course-table: made by `python tools/course_table.py --write`; do not edit -->"
TABLE_END = "<!-- end of course-table -->"

TIME_FORM = "**Time**: about N minutes offline, M minutes on a real AWS account"
COST_FORM = "**Cost on a real account**: <what it costs, and why, in one line>"
TIME_LINE = re.compile(
    r"^\*\*Time\*\*: about (\d+) minutes offline, (\d+) minutes on a real AWS account$"
)
COST_LINE = re.compile(r"^\*\*Cost on a real account\*\*: (\S.*)$")


class MissingFact(ValueError):
    """A notebook's opening cell lacks a line, or has it in another form."""


@dataclass(frozen=True)
class LabFacts:
    notebook: str  # the learner's file, e.g. labs/04_codepipeline.ipynb
    minutes_offline: int
    minutes_aws: int
    cost: str


def solution_notebooks() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def _opening_lines(path: Path) -> list[str]:
    """The lines of the first markdown cell, without markdown's line-break endings."""
    nb = nbformat.read(path, as_version=4)
    opening = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if opening is None:
        return []
    lines = []
    for line in opening.source.splitlines():
        line = line.rstrip()
        for hard_break in ("<br>", "<br/>", "\\"):
            line = line.removesuffix(hard_break).rstrip()
        lines.append(line)
    return lines


def _similar(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    return f"; it has: {found[0]!r}" if found else ""


def read_facts(path: Path) -> LabFacts:
    """The time and cost lines of one solution notebook; MissingFact says what lacks."""
    lines = _opening_lines(path)
    problems = []
    time = next((m for m in map(TIME_LINE.match, lines) if m), None)
    if time is None:
        problems.append(f"a line {TIME_FORM!r}{_similar(lines, '**Time**')}")
    cost = next((m for m in map(COST_LINE.match, lines) if m), None)
    if cost is None:
        problems.append(f"a line {COST_FORM!r}{_similar(lines, '**Cost')}")
    if time is None or cost is None:
        raise MissingFact(
            f"solutions/{path.name}: its first markdown cell lacks " + " and ".join(problems)
        )
    return LabFacts(f"labs/{path.name}", int(time[1]), int(time[2]), cost[1])


def table(facts: list[LabFacts]) -> str:
    """The guide's table: a row per lab, then the course's total time."""
    rows = [
        "| Lab | Minutes offline | Minutes on a real account | Cost on a real account |",
        "|---|---|---|---|",
    ]
    for lab in facts:
        cost = lab.cost.replace("\\\\$", "\\$").replace("|", "\\|")
        rows.append(f"| `{lab.notebook}` | {lab.minutes_offline} | {lab.minutes_aws} | {cost} |")
    offline = sum(lab.minutes_offline for lab in facts)
    aws = sum(lab.minutes_aws for lab in facts)
    rows.append(f"| **Course** | **{offline}** | **{aws}** | — |")
    return "\n".join(rows)


def course_facts() -> tuple[list[LabFacts], list[str]]:
    """Every solution notebook's facts, and what is missing where."""
    facts, missing = [], []
    for path in solution_notebooks():
        try:
            facts.append(read_facts(path))
        except MissingFact as error:
            missing.append(str(error))
    return facts, missing


def guide_table(text: str) -> str:
    """The table between the guide's markers ('' when the markers are missing)."""
    if TABLE_BEGIN not in text or TABLE_END not in text:
        return ""
    return text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0].strip()


def with_table(text: str, new_table: str) -> str:
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise ValueError(f"{GUIDE.name} has no {TABLE_BEGIN!r} ... {TABLE_END!r} block")
    head, rest = text.split(TABLE_BEGIN, 1)
    tail = rest.split(TABLE_END, 1)[1]
    return f"{head}{TABLE_BEGIN}\n{new_table}\n{TABLE_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The course's times and costs, from the notebooks."
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="put the table in the guide")
    action.add_argument("--check", action="store_true", help="exit 1 if the guide differs")
    args = parser.parse_args(argv)
    facts, missing = course_facts()
    for problem in missing:
        print(problem, file=sys.stderr)
    made = table(facts)
    if args.check:
        if guide_table(GUIDE.read_text()) != made:
            print("docs/instructor-guide.md: run python tools/course_table.py --write")
            return 1
    elif args.write:
        GUIDE.write_text(with_table(GUIDE.read_text(), made))
        print(f"wrote {len(facts)} labs into {GUIDE.relative_to(ROOT)}")
    else:
        print(made)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
