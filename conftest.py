"""Root pytest hooks: solutions' checks are strict, and how long each notebook took (nbval
runs one cell per item)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

_notebook_seconds: dict[str, float] = defaultdict(float)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before nbval starts a notebook's kernel (its first cell's setup): a solution's checks
    re-raise what fails (helpers/checks.py, LAB_CHECKS=strict), so a check that fails on its
    own solution fails the run; a lab's checks report in one line and go on, as a learner's."""
    path = Path(str(item.path))
    if path.suffix != ".ipynb":
        return
    # A lab's lab.pace() slows runs down for a watching learner; a test run does not watch.
    os.environ.setdefault("LAB_PACE_SECONDS", "0")
    if path.parent.name == "solutions":
        os.environ["LAB_CHECKS"] = "strict"
    else:
        os.environ.pop("LAB_CHECKS", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A notebook cell that printed a traceback on stderr (a background thread's, a logged
    exception) fails like one that raised: learners must never see one. nbval catches only
    errors the cell itself raised."""
    outcome = yield
    outputs = getattr(item, "test_outputs", None) or []
    tracebacks = [
        out.get("text", "")
        for out in outputs
        if out.get("name") == "stderr"
        and "Traceback (most recent call last)" in out.get("text", "")
    ]
    if tracebacks and outcome.exception is None:
        outcome.force_exception(AssertionError("the cell printed a traceback:\n" + tracebacks[0]))


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _notebook_seconds:
        return
    terminalreporter.section("time per notebook")
    for path, seconds in sorted(_notebook_seconds.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(
        f"{sum(_notebook_seconds.values()):7.1f} s  all notebooks (sum over workers)"
    )
