"""A pipeline action provider is one entry in one place: this test registers a trivial one
(a Test action that echoes its configuration into an output variable) from the test alone,
runs a pipeline with it through the API, and unregisters it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers
from helpers.emulator.codepipeline import action_types
from helpers.emulator.codepipeline.action_types import ActionType, Property
from helpers.emulator.codepipeline.providers import ActionContext, ActionFailed, Runner
from tests.pipelines import create_role

ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"
BUCKET = "lab-artifacts"


def echo(ctx: ActionContext) -> None:
    message = ctx.configuration["Message"]
    if message == "fail":
        raise ActionFailed("asked to fail")
    ctx.output_variables["Echoed"] = message.upper()
    ctx.report(summary=f"echoed {message}")


def check_echo(action_name: str, configuration: dict) -> None:
    from helpers.emulator.codepipeline import exceptions as err

    if not configuration["Message"].strip():
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{action_name}': Message must not be blank"
        )


ECHO = ActionType(
    "Test",
    "LabEcho",
    (Property("Message", required=True, key=True),),
    (0, 1),
    (0, 0),
    runner=Runner(echo, check=check_echo),
)
ECHO_ID = {"category": "Test", "owner": "AWS", "provider": "LabEcho", "version": "1"}


@pytest.fixture(name="echo_provider")
def echo_provider_fixture():
    action_types.register(ECHO)  # the one registration a provider needs
    yield
    action_types.unregister(ECHO)


@pytest.fixture(name="cp")
def cp_fixture(client, echo_provider):
    workers.set_synchronous(True)
    client("s3").create_bucket(Bucket=BUCKET)
    create_role(client("iam"), ROLE)
    cc = client("codecommit")
    cc.create_repository(repositoryName="app")
    cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="a.txt",
        fileContent=b"a",
        commitMessage="first",
    )
    yield client("codepipeline")
    workers.set_synchronous(None)


def pipeline(message: str) -> dict:
    source = {
        "name": "Source",
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeCommit",
            "version": "1",
        },
        "configuration": {
            "RepositoryName": "app",
            "BranchName": "main",
            "PollForSourceChanges": "false",
        },
        "outputArtifacts": [{"name": "SourceOutput"}],
    }
    test = {
        "name": "Echo",
        "actionTypeId": ECHO_ID,
        "namespace": "EchoVariables",
        "configuration": {"Message": message},
        "inputArtifacts": [{"name": "SourceOutput"}],
    }
    return {
        "name": "echo-pipeline",
        "roleArn": ROLE,
        "artifactStore": {"type": "S3", "location": BUCKET},
        "stages": [{"name": "Source", "actions": [source]}, {"name": "Test", "actions": [test]}],
    }


def latest_echo(cp) -> dict:
    details = cp.list_action_executions(pipelineName="echo-pipeline")["actionExecutionDetails"]
    return next(d for d in details if d["actionName"] == "Echo")  # newest first


def test_a_registered_provider_runs_through_the_api(cp):
    listed = cp.list_action_types(actionOwnerFilter="AWS")["actionTypes"]
    assert ECHO_ID in [t["id"] for t in listed]
    cp.create_pipeline(pipeline=pipeline("hello"))  # synchronous: settled when it returns
    [summary] = cp.list_pipeline_executions(pipelineName="echo-pipeline")[
        "pipelineExecutionSummaries"
    ]
    assert summary["status"] == "Succeeded"
    detail = latest_echo(cp)
    assert detail["status"] == "Succeeded"
    assert detail["output"]["outputVariables"] == {"Echoed": "HELLO"}
    assert detail["output"]["executionResult"]["externalExecutionSummary"] == "echoed hello"


def test_the_runner_checks_definitions_and_fails_actions(cp):
    with pytest.raises(ClientError) as error:
        cp.create_pipeline(pipeline=pipeline("  "))
    assert error.value.response["Error"]["Code"] == "InvalidActionDeclarationException"
    assert "Message must not be blank" in error.value.response["Error"]["Message"]
    cp.create_pipeline(pipeline=pipeline("fail"))
    detail = latest_echo(cp)
    assert detail["status"] == "Failed"
    assert detail["output"]["executionResult"]["errorDetails"]["message"] == "asked to fail"


def test_the_cannot_run_message_reads_the_registry(echo_provider):
    assert "CodeBuild builds, CodeBuild and LabEcho tests" in action_types.runnable_summary()


def test_unregistered_provider_is_gone():
    assert action_types.find("Test", "AWS", "LabEcho", "1") is None
    assert action_types.runnable_summary() == (
        "CodeCommit, S3 and CodeStarSourceConnection sources, CodeBuild builds and tests, "
        "Commands compute actions, "
        "CodeDeploy, S3 and CloudFormation deployments, Lambda invocations and manual approvals"
    )
