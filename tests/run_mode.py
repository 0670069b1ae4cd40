"""How pytest runs, decided from what the command line names (pyproject's addopts load
this plugin with -p, and keep nbval from loading by itself with -p no:nbval).

`pytest` alone, a folder or a notebook: every test on xdist's workers (-n auto from
addopts) and the notebooks under nbval, as .ci/run does. Test files or node ids only
(`pytest tests/test_x.py::test_y`): in this process, without nbval, whose import alone
(nbformat, jsonschema's format checkers) costs more than most tests take. An explicit -n
on the command line is kept either way. xdist's workers parse the same command line, so
they decide alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK_OPTIONS = ["--nbval-lax", "--nbval-current-env"]
WORKER_OPTIONS = ("-n", "--numprocesses", "--dist", "--tx")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """Runs before the command line's final parse: what this adds to args counts."""
    named = early_config.known_args_namespace.file_or_dir
    if names_test_files_only(named, early_config.invocation_params.dir):
        if not asks_for_workers(early_config.invocation_params.args):
            args.extend(["-n", "0"])
        return
    early_config.pluginmanager.import_plugin("nbval.plugin")
    args.extend(NOTEBOOK_OPTIONS)


def names_test_files_only(named: list[str], here: Path) -> bool:
    """True for test modules and node ids in them; False for nothing, folders, notebooks."""
    paths = [here / arg.split("::")[0] for arg in named]
    return bool(paths) and all(path.suffix == ".py" and path.is_file() for path in paths)


def asks_for_workers(args) -> bool:
    return any(str(arg).startswith(WORKER_OPTIONS) for arg in args)
