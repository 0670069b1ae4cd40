"""Builds the local server starts for nobody's request (a pipeline's CodeBuild action, the
Commands action) reach the local AWS as those a learner starts do: AWS_ENDPOINT_URL is the
server's, and the credentials are a session of the role the build acts as (the project's
service role; the pipeline's role for the Commands action, as on AWS)."""

from __future__ import annotations

import shlex
import sys
import uuid

from tests.pipelines import BUILD_ROLE, ROLE, build_action, make_lab, source_action
from tests.test_codepipeline_commands import commands_action, log_lines

# What `aws sts get-caller-identity` says, without the CLI's start-up time.
WHO_AM_I = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
    "import boto3, os; print('endpoint', os.environ['AWS_ENDPOINT_URL']); "
    "print('caller', boto3.client('sts').get_caller_identity()['Arn'])"
)


def reached_a_local_server(lines: list[str]) -> bool:
    """The build's AWS_ENDPOINT_URL is a local server of this process (the newest one:
    the suite runs several in one process, all sharing moto's state; a learner's process has
    one), and the caller line after it shows that server answered with the role's session."""
    return any(line.startswith("endpoint http://127.0.0.1:") for line in lines)


def test_pipeline_builds_call_the_server_that_runs_them(server_client, synchronous):
    lab = make_lab(server_client)
    lab.project(
        "who-am-i",
        buildspec=f"version: 0.2\nphases:\n  build:\n    commands:\n      - {WHO_AM_I}\n",
    )
    name = f"reach-{uuid.uuid4().hex[:6]}"
    execution_id = lab.create(
        name=name,
        pipelineType="V2",
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Build",
                "actions": [
                    build_action(project="who-am-i", outputs=()),
                    commands_action([WHO_AM_I], name="Commands", namespace=None),
                ],
            },
        ],
    )
    finished = lab.wait(execution_id, name)
    actions = lab.actions(execution_id, name)
    assert finished["status"] == "Succeeded", {n: a["status"] for n, a in actions.items()}

    commands = log_lines(server_client, actions["Commands"])
    assert reached_a_local_server(commands), commands
    role_name = ROLE.rsplit("/", 1)[1]
    assert any(
        line.startswith(f"caller arn:aws:sts::123456789012:assumed-role/{role_name}/")
        for line in commands
    ), commands

    build_id = actions["Build"]["output"]["executionResult"]["externalExecutionId"]
    [build] = lab.cb.batch_get_builds(ids=[build_id])["builds"]
    events = server_client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"]
    )["events"]
    lines = [e["message"].rstrip("\n") for e in events]
    assert reached_a_local_server(lines), lines
    build_role = BUILD_ROLE.rsplit("/", 1)[1]
    assert any(f"assumed-role/{build_role}/AWSCodeBuild-" in line for line in lines), lines
