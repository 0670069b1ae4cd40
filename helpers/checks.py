"""Exercise checks: one friendly line on what is right, or on what is still missing.

An exercise is two cells. The exercise cell holds the learner's answer (in labs/ the
placeholder `checks.todo()`); the check cell tests it inside `with checks.exercise(name):`

    with checks.exercise("docs-branch"):
        checks.check(branch is not None, "The docs branch exists.", "create the docs branch.")

A check never ends the cell with a traceback: when the answer is not there yet, or wrong,
the learner reads one line ("Not yet: ...") and the solution's answer is put in place (run
from solutions/), so Run All goes on to the end and every later cell works. Redoing the
exercise replaces it.

LAB_CHECKS in the environment changes two things, for the kit's own tests:
`strict` (the solutions' test run) re-raises whatever fails, so a check that fails on its
own solution fails the test; `no-fallback` (the check-can-fail test) leaves the solution's
answer out. `history` records every exercise's outcome, in order.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
PLACEHOLDER_CALL = "checks.todo()"

history: list[tuple[str, bool]] = []


class CheckFailed(AssertionError):
    """An exercise is not done yet; the message tells the learner what to look at."""


class NotDone(Exception):
    """A function exercise still holds its placeholder."""


def todo() -> None:
    """The placeholder of an exercise cell in labs/.

    Run as a cell's own line it says what to do; run inside a function the learner has
    still to write (when a check calls it) it raises NotDone, which the check reports.
    """
    caller = sys._getframe(1).f_code.co_name
    if caller != "<module>":
        raise NotDone(caller)
    print(f"\u270e Not yet: replace `{PLACEHOLDER_CALL}` with your answer, then run this cell.")


def check(condition: bool, success: str, failure: str) -> None:
    """Print a tick and the success note, or raise CheckFailed with the hint."""
    if not condition:
        raise CheckFailed(failure)
    print(f"\u2714 {success}")


def attempt(call: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call an AWS API and return its reply, or None when it raised a ClientError."""
    from botocore.exceptions import ClientError

    try:
        return call(*args, **kwargs)
    except ClientError:
        return None


def defined(namespace: dict, name: str, hint: str) -> Any:
    """The learner's variable, or CheckFailed saying that it is not set yet and how to set it."""
    if name not in namespace or namespace[name] is None:
        raise CheckFailed(f"`{name}` is not set yet: {hint}")
    return namespace[name]


@contextmanager
def exercise(name: str) -> Iterator[None]:
    """Run an exercise's checks: say in one line what is missing instead of a traceback,
    then put the solution's answer in place so the rest of the lab works."""
    namespace = sys._getframe(2).f_globals  # the notebook's: the `with` statement's caller
    try:
        yield
    except Exception as error:  # noqa: BLE001 - anything the learner's answer raised
        history.append((name, False))
        if mode() == "strict":
            raise
        print(f"\u2718 Not yet: {_why(error)}")
        if mode() != "no-fallback":
            _put_solution_in_place(name, namespace)
    else:
        history.append((name, True))


def mode() -> str:
    return os.environ.get("LAB_CHECKS", "")


def _why(error: Exception) -> str:
    """The learner's one line: the check's hint, or what their code raised and where."""
    if isinstance(error, CheckFailed):
        return str(error)
    if isinstance(error, NotDone):
        return f"`{error}` still holds `{PLACEHOLDER_CALL}`: write its body in the cell above."
    if isinstance(error, NameError):
        return f"{error}: run the exercise cell above (with your answer) first."
    where = _learner_frame(error)
    return f"your answer raised {type(error).__name__}: {error}{where}"


def _learner_frame(error: Exception) -> str:
    """' (in f, line n)' for the deepest frame of the notebook's own code, if any."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "ipykernel" in f.filename]
    if not frames:
        return ""
    return f" (in {frames[-1].name}, line {frames[-1].lineno})"


def solution_source(name: str) -> str | None:
    """The solution notebook's exercise cell named `name` (cell metadata "exercise")."""
    import nbformat

    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("exercise") == name:
                return cell.source
    return None


def _put_solution_in_place(name: str, namespace: dict) -> None:
    source = solution_source(name)
    if source is None:
        print("  (solutions/ is not here, so the kit cannot fill this step in for you.)")
        return
    try:
        exec(compile(source, f"<solution of {name}>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001 - say it in a line; later cells may then fail
        print(f"  The kit could not fill this step in for you ({type(error).__name__}: {error}).")
        return
    print(
        "  \u21aa So that you can go on, the solution's answer is in place now; "
        "redo the exercise any time."
    )
