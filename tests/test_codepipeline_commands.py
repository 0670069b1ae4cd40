"""The Commands action (Compute, AWS, Commands, 1) of V2 pipelines: its commands run as a
small build on the input artifacts, its exported outputVariables become action variables,
its output artifact holds the files its patterns select, its log is in CloudWatch Logs."""

from __future__ import annotations

import io
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.pipelines import s3_deploy_action, source_action

COMMANDS_TYPE = {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}


def commands_action(
    commands: list[str],
    name: str = "Build",
    inputs=("SourceOutput",),
    outputs: tuple[tuple[str, list[str]], ...] = (),
    namespace: str | None = "BuildVariables",
    **members,
) -> dict:
    action = {
        "name": name,
        "actionTypeId": COMMANDS_TYPE,
        "commands": commands,
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n, "files": files} for n, files in outputs],
        **members,
    }
    if namespace:
        action["namespace"] = namespace
    return action


def create(lab, *stages: dict, pipeline_type: str = "V2") -> str:
    return lab.create(
        stages=[{"name": "Source", "actions": [source_action()]}, *stages],
        pipelineType=pipeline_type,
    )


def log_lines(client, action: dict) -> list[str]:
    arn = action["output"]["executionResult"]["logStreamARN"]
    group, stream = arn.split(":log-group:", 1)[1].split(":log-stream:", 1)
    events = client("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
    return [e["message"] for e in events]


def test_commands_read_the_source_write_an_artifact_and_export_a_variable(lab, client):
    lab.s3.create_bucket(Bucket="lab-site")
    execution_id = create(
        lab,
        {
            "name": "Build",
            "actions": [
                commands_action(
                    [
                        "cat message.txt",
                        "mkdir -p dist && cp message.txt dist/copied.txt",
                        "echo built > dist/note.txt && echo skipped > other.txt",
                        'export VERSION="$(cat message.txt)-#{SourceVariables.BranchName}"',
                        'echo "greeting=$GREETING"',
                    ],
                    outputs=(("BuildOutput", ["dist/**/*"]),),
                    outputVariables=["VERSION"],
                    environmentVariables=[{"name": "GREETING", "value": "hello"}],
                )
            ],
        },
        {
            "name": "Deploy",
            "actions": [
                s3_deploy_action(extract="false", ObjectKey="#{BuildVariables.VERSION}.zip")
            ],
        },
    )
    execution = lab.wait(execution_id)
    assert execution["status"] == "Succeeded", lab.actions(execution_id)
    actions = lab.actions(execution_id)
    build = actions["Build"]
    assert build["output"]["outputVariables"] == {"VERSION": "v1-main"}
    # the later action resolved the variable
    assert actions["Publish"]["input"]["resolvedConfiguration"]["ObjectKey"] == "v1-main.zip"
    published = lab.s3.get_object(Bucket="lab-site", Key="v1-main.zip")["Body"].read()
    # the output artifact holds the files the patterns select, paths kept
    location = build["output"]["outputArtifacts"][0]["s3location"]
    data = lab.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    assert data == published
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["dist/copied.txt", "dist/note.txt"]
        assert archive.read("dist/copied.txt") == b"v1"
    # the log: the commands and their output, in the pipeline's log group
    result = build["output"]["executionResult"]
    assert result["logStreamARN"].startswith(
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codepipeline/lab-pipeline:"
    )
    lines = log_lines(client, build)
    assert "v1" in lines
    assert "greeting=hello" in lines
    assert any("Running command cat message.txt" in line for line in lines)
    state = lab.action_state("Build", "Build")["latestExecution"]
    assert state["logStreamARN"] == result["logStreamARN"]
    # a managed build is not one of the account's builds
    assert lab.cb.list_builds()["ids"] == []
    # GetPipeline gives the declaration back as it was given
    declared = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["stages"][1]["actions"][0]
    assert declared["commands"][0] == "cat message.txt"
    assert declared["outputVariables"] == ["VERSION"]
    assert declared["outputArtifacts"] == [{"name": "BuildOutput", "files": ["dist/**/*"]}]
    assert declared["environmentVariables"] == [{"name": "GREETING", "value": "hello"}]


def test_secondary_inputs_are_beside_the_primary(lab):
    execution_id = create(
        lab,
        {
            "name": "Build",
            "actions": [
                commands_action(
                    ["mkdir out && cp message.txt out/a.txt"],
                    name="First",
                    outputs=(("FirstOutput", ["out/*"]),),
                    namespace=None,
                )
            ],
        },
        {
            "name": "Check",
            "actions": [
                commands_action(
                    [
                        "test -f message.txt",
                        'test "$(cat "$CODEBUILD_SRC_DIR_FirstOutput/out/a.txt")" = v1',
                    ],
                    name="Check",
                    inputs=("SourceOutput", "FirstOutput"),
                    namespace=None,
                )
            ],
        },
    )
    assert lab.wait(execution_id)["status"] == "Succeeded", lab.actions(execution_id)


def test_a_failing_command_fails_the_action_with_its_reason_and_log(lab, client):
    execution_id = create(
        lab,
        {
            "name": "Build",
            "actions": [commands_action(["echo before", "false", "echo never"])],
        },
    )
    assert lab.wait(execution_id)["status"] == "Failed"
    build = lab.actions(execution_id)["Build"]
    assert build["status"] == "Failed"
    message = build["output"]["executionResult"]["errorDetails"]["message"]
    assert "Error while executing command: false. Reason: exit status 1" in message
    lines = log_lines(client, build)
    assert "before" in lines
    assert "never" not in lines
    assert any("Command did not exit successfully false exit status 1" in x for x in lines)


def test_the_commands_action_is_for_v2_pipelines_only(lab):
    with pytest.raises(ClientError) as caught:
        create(
            lab,
            {"name": "Build", "actions": [commands_action(["true"])]},
            pipeline_type="V1",
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Commands action" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "members, code",
    [
        ({"commands": None}, "InvalidActionDeclarationException"),  # none at all
        ({"commands": ["echo a\necho b"]}, "InvalidActionDeclarationException"),
        ({"outputVariables": ["BAD-NAME"]}, "InvalidActionDeclarationException"),
        ({"outputVariables": ["A", "A"]}, "InvalidActionDeclarationException"),
        (
            {"outputArtifacts": [{"name": "Out", "files": ["../escape"]}]},
            "InvalidActionDeclarationException",
        ),
        (
            {"outputArtifacts": [{"name": "Out", "files": ["/etc/passwd"]}]},
            "InvalidActionDeclarationException",
        ),
        (
            {"outputArtifacts": [{"name": "A"}, {"name": "B"}]},
            "InvalidActionDeclarationException",
        ),
        ({"inputArtifacts": []}, "InvalidActionDeclarationException"),
        ({"commands": ["echo #{Nowhere.X}"]}, "InvalidActionDeclarationException"),
    ],
)
def test_declarations_are_checked(lab, members, code):
    action = {**commands_action(["true"]), **members}
    action = {key: value for key, value in action.items() if value is not None}
    with pytest.raises(ClientError) as caught:
        create(lab, {"name": "Build", "actions": [action]})
    assert caught.value.response["Error"]["Code"] == code


def test_commands_need_the_commands_action(lab):
    from tests.pipelines import build_action

    action = {**build_action(), "commands": ["true"]}
    with pytest.raises(ClientError) as caught:
        create(lab, {"name": "Build", "actions": [action]})
    assert caught.value.response["Error"]["Code"] == "InvalidActionDeclarationException"


def test_the_type_is_listed(lab):
    types = lab.cp.list_action_types(actionOwnerFilter="AWS")["actionTypes"]
    found = next(t for t in types if t["id"] == COMMANDS_TYPE)
    assert found["inputArtifactDetails"] == {"minimumCount": 1, "maximumCount": 10}
    assert found["outputArtifactDetails"] == {"minimumCount": 0, "maximumCount": 1}


def test_commands_that_outlast_the_action_timeout_fail_it(lab, monkeypatch):
    monkeypatch.setenv("LAB_CODEPIPELINE_TIMEOUT_SCALE", str(1 / 300))  # 5 minutes: 1 s
    execution_id = create(
        lab,
        {
            "name": "Build",
            "actions": [commands_action(["sleep 20"], timeoutInMinutes=5)],
        },
    )
    assert lab.wait(execution_id)["status"] == "Failed"
    message = lab.actions(execution_id)["Build"]["output"]["executionResult"]["errorDetails"][
        "message"
    ]
    assert "TIMED_OUT" in message


def test_over_http_in_the_background(server_client, background):
    """Through the local server, the work in worker threads: as a learner runs it."""
    import time
    import uuid

    from tests.pipelines import ROLE, create_role

    suffix = uuid.uuid4().hex[:6]
    name, repo, bucket = f"cmd-{suffix}", f"cmd-repo-{suffix}", f"cmd-artifacts-{suffix}"
    cc, s3, cp = server_client("codecommit"), server_client("s3"), server_client("codepipeline")
    cc.create_repository(repositoryName=repo)
    cc.put_file(repositoryName=repo, branchName="main", filePath="a.txt", fileContent=b"A")
    s3.create_bucket(Bucket=bucket)
    source = {**source_action(), "configuration": {**source_action()["configuration"]}}
    source["configuration"]["RepositoryName"] = repo
    cp.create_pipeline(
        pipeline={
            "name": name,
            "pipelineType": "V2",
            "roleArn": create_role(server_client("iam"), ROLE),
            "artifactStore": {"type": "S3", "location": bucket},
            "stages": [
                {"name": "Source", "actions": [source]},
                {
                    "name": "Build",
                    "actions": [
                        commands_action(
                            ['export CONTENT="$(cat a.txt)"'], outputVariables=["CONTENT"]
                        )
                    ],
                },
            ],
        }
    )
    deadline = time.monotonic() + 60
    while True:
        [summary] = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        if summary["status"] != "InProgress" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert summary["status"] == "Succeeded"
    details = cp.list_action_executions(pipelineName=name)["actionExecutionDetails"]
    build = next(d for d in details if d["actionName"] == "Build")
    assert build["output"]["outputVariables"] == {"CONTENT": "A"}
    assert any("CONTENT" in line for line in log_lines(server_client, build))
