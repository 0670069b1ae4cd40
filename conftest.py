"""Root pytest hooks: notebooks run hermetic from any command (`pytest labs`, `pytest
solutions labs -n 4`, one notebook), solutions' checks are strict, and how long each
notebook took (nbval runs one cell per item)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

# Variables that would send a notebook under test to a learner's shared server or to a
# real account: a test run never uses them (tests/conftest.py drops them too).
_NOT_FOR_TESTS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "LAB_MODE",
    "AWS_ENDPOINT_URL",
    "LAB_STATE_DIR",
)
_RUN_STATE_DIR = "LAB_KIT_TEST_RUN_STATE_DIR"  # the folder this run made, to remove at its end


def _hermetic_notebooks() -> None:
    """Before any kernel starts, in the process pytest was started in (its xdist workers
    inherit the environment, and the kernels theirs): one state folder and one prefix for
    the whole run, as a learner's checkout has, never the checkout's own .lab-state/ or
    .lab-prefix. Each kernel still starts a local server of its own. Running notebooks side
    by side in one state folder is what a learner does: they must not collide there."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for name in _NOT_FOR_TESTS:
        os.environ.pop(name, None)
    os.environ["LAB_STATE_DIR"] = os.environ[_RUN_STATE_DIR] = tempfile.mkdtemp(
        prefix="lab-kit-notebooks-"
    )
    os.environ.setdefault("LAB_PREFIX", "labtest")


_hermetic_notebooks()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(_RUN_STATE_DIR):
        shutil.rmtree(os.environ.pop(_RUN_STATE_DIR), ignore_errors=True)


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
    # Nor wait out lab 08's canary at a learner's 0.6 s a minute (lab.compress_minutes(0.01)):
    # 0.12 s a minute still shows its 10 % step (0.6 s) to the notebook's 0.2 s polls.
    os.environ.setdefault("LAB_CODEDEPLOY_TIME_SCALE", "0.002")
    if path.parent.name == "solutions":
        os.environ["LAB_CHECKS"] = "strict"
    else:
        os.environ.pop("LAB_CHECKS", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A notebook takes half a minute: its cells are slow tests (`pytest -m "not slow"`
    leaves the notebooks out)."""
    for item in items:
        if Path(str(item.path)).suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


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
