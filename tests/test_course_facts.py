"""Facts about the course that live in more than one place agree.

* Times and costs: each solution notebook's opening cell says them; the instructor guide's
  table is made from those lines (tools/course_table.py) and must say the same.
* A learner's server made by repo2docker (Binder, JupyterHub) has every command the labs
  run: what the buildspecs, the AppSpec hook scripts and the notebooks' `!` lines call is in
  apt.txt, in the image's Python environment (requirements.txt) or in the base image.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from helpers import prerequisites
from tools import course_table

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = course_table.solution_notebooks()

# -- times and costs: one source ------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_lab_says_its_time_and_cost(path):
    try:
        facts = course_table.read_facts(path)
    except course_table.MissingFact as missing:
        pytest.fail(str(missing), pytrace=False)
    assert 0 < facts.minutes_offline <= facts.minutes_aws, (
        f"solutions/{path.name}: a real account takes at least as long as offline"
    )


def test_instructor_guide_table_says_what_the_labs_say():
    facts, missing = course_table.course_facts()
    guide = course_table.guide_table(course_table.GUIDE.read_text())
    assert guide, (
        f"docs/instructor-guide.md lacks the course table between {course_table.TABLE_BEGIN!r} "
        f"and {course_table.TABLE_END!r}"
    )
    assert guide == course_table.table(facts), (
        "docs/instructor-guide.md's table differs from the notebooks: run "
        "python tools/course_table.py --write"
        + ("".join(f"\n  (and {problem})" for problem in missing) if missing else "")
    )


def test_course_table_reads_the_opening_lines(tmp_path):
    opening = (
        "# Lab 09 — Example\n\n**You need**: nothing  \n"
        "**Time**: about 20 minutes offline, 35 minutes on a real AWS account\\\n"
        "**Cost on a real account**: under \\$0.05 | if torn down the same day  \n"
    )
    path = tmp_path / "09_example.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(opening)])
    nbformat.write(nb, path)
    facts = course_table.read_facts(path)
    assert facts == course_table.LabFacts(
        "labs/09_example.ipynb", 20, 35, "under \\$0.05 | if torn down the same day"
    )
    row = course_table.table([facts]).splitlines()[2]
    assert row == (
        "| `labs/09_example.ipynb` | 20 | 35 | under \\$0.05 \\| if torn down the same day |"
    )
    nb.cells[0].source = opening.replace("on a real AWS account", "on AWS")
    nbformat.write(nb, path)
    with pytest.raises(course_table.MissingFact, match="09_example.*Time.*on AWS"):
        course_table.read_facts(path)


# -- what a learner's server must have: repo2docker's files -------------------------------

# Shell words that are not programs to install.
SHELL_BUILTINS = set(
    "echo export cd set exit source . test [ true false printf read local unset eval exec "
    "shift return trap wait umask type pwd command".split()
)
SHELL_KEYWORDS = set("if then else elif fi for while until do done case esac ! { }".split())
# Programs every Debian/Ubuntu image has: its Essential packages (bash, coreutils, grep, sed,
# findutils, tar, gzip, diffutils). Only the ones the labs use need naming.
BASE_IMAGE_COMMANDS = {
    "bash": "bash",
    "sh": "dash",
    "cat": "coreutils",
    "chmod": "coreutils",
    "cp": "coreutils",
    "head": "coreutils",
    "ls": "coreutils",
    "mkdir": "coreutils",
    "mv": "coreutils",
    "rm": "coreutils",
    "sleep": "coreutils",
    "tail": "coreutils",
    "tee": "coreutils",
    "touch": "coreutils",
    "grep": "grep",
    "sed": "sed",
    "find": "findutils",
    "tar": "tar",
    "gzip": "gzip",
}
# Programs of the image's Python environment: the Python repo2docker installs (runtime.txt)
# and the console scripts of requirements.txt's packages.
PYTHON_ENVIRONMENT_COMMANDS = {"python": "runtime.txt", "python3": "runtime.txt", "aws": "awscli"}
# Programs that come from a Debian package of the same name when apt.txt lists it.
APT_COMMANDS = {"git": "git", "zip": "zip", "unzip": "unzip", "curl": "curl", "jq": "jq"}


def _without_substitutions(command: str, found: list[str]) -> str:
    """command with each $( ... ) replaced by a word; their contents go into found."""
    out, index = [], 0
    while (start := command.find("$(", index)) != -1:
        depth, end = 0, start + 1
        for end in range(start + 1, len(command)):
            depth += {"(": 1, ")": -1}.get(command[end], 0)
            if depth == 0:
                break
        found.append(command[start + 2 : end])
        out.append(command[index:start] + "SUBSTITUTED")
        index = end + 1
    return "".join(out) + command[index:]


def programs_called(command: str) -> set[str]:
    """The programs a shell command line runs (first words of its simple commands)."""
    programs: set[str] = set()
    pending = [command]
    while pending:
        inner: list[str] = []
        text = _without_substitutions(pending.pop(), inner)
        pending.extend(inner)
        lexer = shlex.shlex(text, posix=True, punctuation_chars="();<>|&\n")
        lexer.whitespace, lexer.whitespace_split = " \t\r", True  # a newline ends a command
        expect_program, skip_next = True, False
        for token in lexer:
            if skip_next:
                skip_next = False
            elif set(token) <= set("<>&") and ("<" in token or ">" in token):
                skip_next = True  # a redirection: the next word is a file or a descriptor
            elif set(token) <= set("|&;()\n"):
                expect_program = True
            elif expect_program:
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
                    continue  # VARIABLE=value before the program
                if token not in SHELL_KEYWORDS:
                    programs.add(token)
                    expect_program = False
    return programs


def _shell_texts_in_notebook(path: Path) -> list[tuple[str, str]]:
    """(where, shell text): the notebook's `!` lines, and the buildspecs and hook scripts
    its code cells write (string constants: YAML with phases, or text starting with #!)."""
    texts = []
    transformer = TransformerManager()
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        where = f"solutions/{path.name} cell {index}"
        try:
            tree = ast.parse(transformer.transform_cell(cell.source))
        except SyntaxError:
            continue  # not Python: the notebook tests (nbval) report it
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") in ("system", "getoutput")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                # IPython puts {expression} values in: a word for the shell
                line = re.sub(r"\{[^{}]*\}", "VALUE", str(node.args[0].value))
                texts.append((where + " (! line)", line))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.extend((where, text) for text in _shell_texts_in(node.value))
    return texts


def _shell_texts_in(value: str) -> list[str]:
    if value.startswith("#!"):
        return [value]
    if "phases:" not in value:
        return []
    try:
        spec = yaml.safe_load(value)
    except yaml.YAMLError:
        return []
    if not isinstance(spec, dict) or not isinstance(spec.get("phases"), dict):
        return []
    return [
        command
        for phase in spec["phases"].values()
        for key in ("commands", "finally")
        for command in (phase or {}).get(key) or []
    ]


def shell_texts() -> list[tuple[str, str]]:
    texts = [
        ("helpers/prerequisites.py BUILDSPEC", c) for c in _shell_texts_in(prerequisites.BUILDSPEC)
    ]
    texts += [(f"helpers/prerequisites.py {name}", s) for name, s in prerequisites.SCRIPTS.items()]
    for path in SOLUTIONS:
        texts += _shell_texts_in_notebook(path)
    return texts


def apt_packages() -> set[str]:
    lines = (ROOT / "apt.txt").read_text().splitlines()
    return {line.partition("#")[0].strip() for line in lines} - {""}


def test_programs_called_reads_shell_lines():
    line = 'export V=$(python3 -c "import a; print(a.V)") && X=1 zip -r a.zip . > out.txt 2>&1'
    assert programs_called(line) == {"export", "python3", "zip"}
    script = 'if grep -q "Hello" "$P"; then\n  echo ok | tee log\nelse\n  cat "$P" >&2\nfi'
    assert programs_called(script) == {"grep", "echo", "tee", "cat"}


def test_apt_txt_has_git_and_what_the_labs_run():
    apt = apt_packages()
    assert "git" in apt, "apt.txt must list git: lab 01 clones and pushes with it"
    called: dict[str, str] = {}
    for where, text in shell_texts():
        for program in programs_called(text):
            called.setdefault(program, where)
    assert {"python3", "git", "aws"} <= set(called), "the scan found the labs' commands"
    missing = {
        program: where
        for program, where in called.items()
        if program not in SHELL_BUILTINS | set(BASE_IMAGE_COMMANDS)
        and program not in PYTHON_ENVIRONMENT_COMMANDS
        and APT_COMMANDS.get(program) not in apt
    }
    assert not missing, (
        "programs the labs run that a repo2docker image would lack (add their Debian package "
        "to apt.txt, and to APT_COMMANDS here): "
        + ", ".join(f"{program} ({where})" for program, where in sorted(missing.items()))
    )


def test_repo2docker_gets_python_and_the_kit_in_place():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("awscli==") for line in requirements), "`aws` comes from pip"
    assert "-e ." in requirements, "the kit installs in place from the repository root"
    # repo2docker runs `pip install .` after requirements.txt (pyproject.toml makes the
    # checkout a package); postBuild puts the in-place install back.
    post_build = ROOT / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "pip install --no-cache-dir --no-deps -e ." in post_build.read_text()
    runtime = (ROOT / "runtime.txt").read_text().strip()
    version = re.fullmatch(r"python-3\.(\d+)", runtime)
    requires = re.search(r'^requires-python = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert requires and requires[1] == ">=3.10", "runtime.txt: a version pyproject.toml allows"
    assert version and int(version[1]) >= 10, runtime
