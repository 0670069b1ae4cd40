"""teardown.py and CodeBuild sandboxes: the kit's open sandboxes are stopped, others left."""

from __future__ import annotations

import time

import pytest

from tests.test_teardown import (  # noqa: F401 (server_env is a fixture)
    PREFIX,
    create_build_project,
    planned_names,
    server_env,
    tags_for,
    teardown_cli,
)


def open_sandbox(codebuild, project: str) -> str:
    sandbox_id = codebuild.start_sandbox(projectName=project)["sandbox"]["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = codebuild.batch_get_sandboxes(ids=[sandbox_id])["sandboxes"][0]["status"]
        if status == "RUN_SANDBOX":
            return sandbox_id
        time.sleep(0.05)
    raise AssertionError(f"sandbox {sandbox_id} is {status}")


@pytest.mark.slow
def test_the_kits_open_sandboxes_are_stopped_and_others_left(
    server_env,  # noqa: F811 (the fixture imported above)
    server_client,
    capsys,
):
    codebuild = server_client("codebuild")
    ours, theirs = f"{PREFIX}-sb-build", "someone-elses-sb-build"
    create_build_project(
        codebuild, ours, tags=[{"key": k, "value": v} for k, v in tags_for(PREFIX).items()]
    )
    create_build_project(codebuild, theirs)
    open_ours, open_theirs = open_sandbox(codebuild, ours), open_sandbox(codebuild, theirs)
    stopped_already = open_sandbox(codebuild, ours)
    codebuild.stop_sandbox(id=stopped_already)

    planned = planned_names(capsys)
    assert open_ours in planned
    assert not {open_theirs, stopped_already} & planned

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    found = codebuild.batch_get_sandboxes(ids=[open_ours, open_theirs])["sandboxes"]
    assert [s["status"] for s in found] == ["STOPPED", "RUN_SANDBOX"]
    codebuild.stop_sandbox(id=open_theirs)
