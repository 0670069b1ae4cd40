"""The whole course against one local server, as a learner would take it.

Every solution notebook runs in order against one shared local server (as when a learner
sets AWS_ENDPOINT_URL), with the server recording each API call. Then teardown.py must
leave nothing of the kit's behind.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.emulator.recorder import CallRecorder
from helpers.emulator.server import LocalServer

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
PREFIX = "labflow"

spec = importlib.util.spec_from_file_location("teardown_cli_flow", ROOT / "teardown.py")
teardown_cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(teardown_cli)


@pytest.fixture(scope="module")
def course():
    """Run every solution notebook against one recording server; yield it."""
    server = LocalServer().start()
    server.app.recorder = CallRecorder()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "LAB_PREFIX")}
    os.environ.update(AWS_ENDPOINT_URL=server.endpoint, LAB_PREFIX=PREFIX)
    try:
        for path in SOLUTIONS:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def test_course_uses_every_service(course):
    services = {action.split(":")[0] for action in course.app.recorder.actions}
    assert {"codecommit", "codebuild", "codedeploy", "s3", "iam", "logs"} <= services


def test_teardown_after_the_whole_course_leaves_nothing(course, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", course.endpoint)
    monkeypatch.setenv("LAB_PREFIX", PREFIX)
    assert teardown_cli.main([]) == 1  # the course left resources: the plan lists them
    plan = capsys.readouterr().out
    assert "codecommit" in plan and "codebuild" in plan and "codedeploy" in plan
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert teardown_cli.main([]) == 0
    assert "Nothing of the kit's to delete." in capsys.readouterr().out
