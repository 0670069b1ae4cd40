"""Any subset of notebooks runs alone and side by side: a lab and its solution at the same
time, as a learner who opens both in JupyterLab (or two pytest workers) runs them.

The hardest case: both kernels against ONE local server, with one learner prefix and one
state folder. They share nothing that either deletes or changes: each kernel clones into a
work folder of its own (settings.work_dir), and a solution names its resources
'<prefix>-sol-...' (lab.Kit.names_prefix). Lab 01 shares the most: its first cell deletes
the repository a previous run left, and both clone and push the same repository.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import nbformat
import pytest
from nbclient import NotebookClient

from helpers import classroom, lab, settings
from helpers import teardown as td
from helpers.emulator.server import LocalServer
from tests.signing import reset_local_aws

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "labiso"
PAIR = [ROOT / "labs" / "01_codecommit.ipynb", ROOT / "solutions" / "01_codecommit.ipynb"]


def run_notebook(path: Path, env: dict[str, str]) -> list[str]:
    """Run path as JupyterLab would (a kernel in its folder); the tracebacks its cells
    printed (a cell that raised fails the run with CellExecutionError)."""
    notebook = nbformat.read(path, as_version=4)
    env = {**env, "LAB_CHECKS": "strict"} if path.parent.name == "solutions" else env
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute(env=env)
    return [
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr" and "Traceback" in output.get("text", "")
    ]


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    state = tmp_path_factory.mktemp("shared-state")
    server = LocalServer(moto_api=True).start()
    reset_local_aws(server.endpoint)  # moto's state is per process: start from nothing
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "LAB_PREFIX": PREFIX,
        "LAB_STATE_DIR": str(state),
        "LAB_PACE_SECONDS": "0",
    }
    env.pop("LAB_CHECKS", None)
    start = threading.Barrier(len(PAIR))

    def run(path: Path) -> list[str]:
        start.wait()  # both kernels start together
        return run_notebook(path, env)

    try:
        with ThreadPoolExecutor(len(PAIR)) as pool:
            tracebacks = dict(zip(PAIR, pool.map(run, PAIR), strict=True))
        yield server, state, tracebacks
    finally:
        server.stop()


def clients(endpoint: str):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return td.cached_clients(
        lambda service, region: session.client(service, region_name=region, endpoint_url=endpoint)
    )


@pytest.mark.slow  # two kernels run lab 01 (about 30 s on two cores)
def test_lab_and_solution_run_at_once_on_one_server(pair_run):
    _, _, tracebacks = pair_run
    assert tracebacks == {path: [] for path in PAIR}


@pytest.mark.slow
def test_each_kept_its_own_repository_and_work_folder(pair_run):
    server, state, _ = pair_run
    codecommit = clients(server.endpoint)("codecommit", "us-east-1")
    for names_prefix in (PREFIX, lab.solution_names_prefix(PREFIX)):
        init = codecommit.get_file(
            repositoryName=f"{names_prefix}-greeting", filePath="greeting/__init__.py"
        )
        assert b'VERSION = "1.1"' in init["fileContent"], names_prefix  # each one's push
    folders = sorted(p.name.rpartition("-")[0] for p in (state / "work" / PREFIX).iterdir())
    assert folders == ["labs", "solutions"]


@pytest.mark.slow
def test_classroom_and_teardown_find_both(pair_run):
    server, _, _ = pair_run
    client_for = clients(server.endpoint)
    report = classroom.status(client_for, ["us-east-1"])
    assert "01_codecommit" in report[PREFIX]["complete"]  # by the solution's run
    plan, _ = td.find_all(client_for, ["us-east-1"], td.Scope(PREFIX))
    repositories = {r.name for r in plan if r.service == "codecommit"}
    assert {f"{PREFIX}-greeting", f"{PREFIX}-sol-greeting"} <= repositories


def test_a_solution_names_its_resources_apart(lab_kit):
    assert lab_kit.name("greeting") == "labtest-greeting"
    lab_kit.solution = True
    assert lab_kit.name("greeting") == "labtest-sol-greeting"
    assert lab_kit.name("greeting").startswith(lab_kit.prefix + "-")


def test_kernels_of_labs_and_solutions_know_their_folder(monkeypatch):
    assert settings.notebook_folder() == ""  # pytest runs from the checkout's root
    for folder in settings.NOTEBOOK_FOLDERS:
        monkeypatch.chdir(ROOT / folder)
        assert settings.notebook_folder() == folder
    monkeypatch.chdir(ROOT / "helpers")
    assert settings.notebook_folder() == ""


def test_each_kernel_has_its_own_work_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    mine = settings.work_dir("labtest")
    assert mine == tmp_path / "work" / "labtest" / f"kernel-{os.getpid()}"
    ended = mine.parent / "labs-999999999"  # no such process
    (ended / "lab01-clone").mkdir(parents=True)
    other = mine.parent / f"solutions-{os.getppid()}"  # a process still running
    other.mkdir()
    mine.rmdir()
    assert settings.work_dir("labtest") == mine
    assert not ended.exists() and other.exists()


def test_kernels_starting_together_agree_on_a_new_prefix(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_PREFIX", raising=False)
    monkeypatch.setattr(settings, "repo_root", lambda: tmp_path)
    with ThreadPoolExecutor(8) as pool:
        prefixes = set(pool.map(lambda _: settings.learner_prefix(), range(8)))
    assert len(prefixes) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [settings.PREFIX_FILE_NAME]


def test_teardown_leaves_the_work_folders_of_running_kernels(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    running = settings.work_dir("labtest")  # this process's
    base = running.parent
    ended = base / "solutions-999999999"
    older_kit = base / "lab01-clone"  # an older kit cloned straight into work/<prefix>/
    for folder in (ended, older_kit):
        folder.mkdir()
    leftovers = td.local_leftovers("labtest")
    assert ended in leftovers and older_kit in leftovers
    assert running not in leftovers


def test_kernels_starting_together_agree_on_the_offline_credentials(tmp_path, monkeypatch):
    from helpers import offline_credentials

    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    with ThreadPoolExecutor(8) as pool:
        pairs = set(pool.map(lambda _: offline_credentials.load_or_create(), range(8)))
    assert len(pairs) == 1
