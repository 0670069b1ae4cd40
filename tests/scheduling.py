"""How xdist's workers share the suite (pyproject's addopts load this plugin with -p).

`--dist loadscope` sends a module's tests to one worker, so a module-scoped fixture (the
whole course run by two learners, a shared server) is set up once. xdist then hands the
modules out biggest first by *number of tests*, which is not how long they take: the
course run (7 tests, minutes) and the browser tests (2 tests) started last, and one
worker ran them alone at the end while the other had nothing left to do.

Here, with loadscope on several workers:
- the long modules start first: FIRST, then the slow-marked ones and the notebooks, then
  the rest (quick tests fill in at the end, whichever worker is free takes them);
- the tests of ONE_SCOPE_PER_TEST (independent and long each: a notebook run, a JupyterLab
  of their own) go to whichever worker is free, one by one, not all to one worker;
- a parametrized id that holds "::" no longer makes a module of its own (xdist splits the
  node id at its last "::").
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

# The course, twice at once, in one module fixture: by far the longest scope.
FIRST = ("tests/test_course_flow.py",)
# Modules whose tests share no fixture wider than a function: each test is a scope.
ONE_SCOPE_PER_TEST = ("tests/test_lab_in_browser.py",)
NOTEBOOK = ".ipynb"


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def scope_of(nodeid: str) -> str:
    """The work unit a node id belongs to: its module, its class, or itself."""
    module = module_of(nodeid)
    if module in ONE_SCOPE_PER_TEST:
        return nodeid
    name = nodeid[len(module) + 2 :].split("[", 1)[0]  # a parameter id may hold "::"
    parts = name.split("::")
    return "::".join([module, *parts[:-1]])


def rank(module: str, slow: bool) -> int:
    """0 starts first. Notebooks (nbval: one item per cell) take half a minute each."""
    if module in FIRST:
        return 0
    if slow or module.endswith(NOTEBOOK):
        return 1
    return 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long modules first, each module's tests kept together and in their order (a test
    may rely on the one before it, as test_course_flow's last one does). Every worker
    collects alike, so every worker sorts alike (xdist checks the collections match)."""
    module_rank: dict[str, int] = {}
    for item in items:
        module = module_of(item.nodeid)
        slow = item.get_closest_marker("slow") is not None
        module_rank[module] = min(module_rank.get(module, 2), rank(module, slow))
    items.sort(key=lambda item: module_rank[module_of(item.nodeid)])  # stable


def ordered_scopes(collection: Sequence[str]) -> dict[str, list[str]]:
    """The work units in the order of the (sorted) collection."""
    scopes: dict[str, list[str]] = {}
    for nodeid in collection:
        scopes.setdefault(scope_of(nodeid), []).append(nodeid)
    return scopes


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LongestFirstScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    # The collection's order (sorted above), not xdist's reordering by number of tests.
    config.option.loadscopereorder = False
    return LongestFirstScheduling(config, log)
