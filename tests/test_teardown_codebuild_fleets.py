"""Teardown deletes the kit's CodeBuild fleets (tagged as this learner's), after the
projects that run on them, and leaves everyone else's."""

from __future__ import annotations

import pytest

from tests.test_teardown import (  # noqa: F401 (server_env is a fixture)
    PREFIX,
    planned_names,
    server_env,
    tags_for,
    teardown_cli,
)

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"


def tag_list(owner: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags_for(owner).items()]


@pytest.mark.slow
def test_fleets_go_only_when_tagged_as_this_learners(server_env, server_client, capsys):  # noqa: F811
    codebuild = server_client("codebuild")
    fleets = {
        owner: codebuild.create_fleet(
            name=f"{name}-f9-fleet",
            baseCapacity=1,
            environmentType="LINUX_CONTAINER",
            computeType="BUILD_GENERAL1_SMALL",
            tags=tags,
        )["fleet"]["arn"]
        for owner, name, tags in [
            ("ours", PREFIX, tag_list(PREFIX)),
            ("other", "other", tag_list("other")),
            ("untagged", f"{PREFIX}-untagged", []),
        ]
    }
    # A project of ours runs on our fleet: the fleet can go only after it.
    codebuild.create_project(
        name=f"{PREFIX}-f9-project",
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases: {}\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "fleet": {"fleetArn": fleets["ours"]},
        },
        serviceRole=ROLE,
        tags=tag_list(PREFIX),
    )
    planned = {name for name in planned_names(capsys) if "f9" in name}
    assert planned == {f"{PREFIX}-f9-fleet", f"{PREFIX}-f9-project"}

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    left = set(codebuild.list_fleets()["fleets"])
    assert fleets["ours"] not in left
    assert {fleets["other"], fleets["untagged"]} <= left
    assert not {name for name in planned_names(capsys) if "f9" in name}
