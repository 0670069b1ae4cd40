"""Executions really run: stages in order, parallel actions, variables, artifacts, failures,
approvals, stop, push triggers, updates - with the statuses AWS reports."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from helpers.codepipeline import approve, pipeline_snapshot
from tests.pipelines import (
    ROLE,
    approval_action,
    build_action,
    env_variables,
    s3_deploy_action,
    source_action,
)

SLEEPY = """version: 0.2
phases:
  build:
    commands:
      - sleep 0.4
"""


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def test_three_stages_with_variables_and_artifacts(lab):
    lab.s3.create_bucket(Bucket="lab-site")
    execution_id = lab.create(
        pipelineType="V2",
        variables=[{"name": "env", "defaultValue": "dev"}],
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Build",
                "actions": [
                    build_action(
                        namespace="BuildVariables",
                        EnvironmentVariables=env_variables(
                            EXTRA="#{SourceVariables.CommitId}/#{codepipeline.PipelineExecutionId}/"
                            "#{variables.env}"
                        ),
                    )
                ],
            },
            {
                "name": "Deploy",
                "actions": [s3_deploy_action(ObjectKey="site/#{BuildVariables.GREETING}")],
            },
        ],
    )
    execution = lab.execution(execution_id)
    assert execution["status"] == "Succeeded"
    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    assert execution["variables"] == [{"name": "env", "resolvedValue": "dev"}]
    assert execution["executionType"] == "STANDARD"
    commit = lab.cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"]
    [revision] = execution["artifactRevisions"]
    assert (revision["name"], revision["revisionId"]) == ("SourceOutput", commit)
    actions = lab.actions(execution_id)
    assert actions["Source"]["output"]["outputVariables"]["CommitId"] == commit
    assert actions["Source"]["output"]["outputVariables"]["CommitMessage"] == "first commit"
    build = actions["Build"]
    assert build["output"]["outputVariables"] == {"GREETING": "hello-v1"}
    assert build["input"]["resolvedConfiguration"]["EnvironmentVariables"].count(commit) == 1
    key = build["input"]["inputArtifacts"][0]["s3location"]["key"]
    assert key.startswith("lab-pipeline/SourceOutp/") and len(key.rsplit("/", 1)[1]) == 7
    extra = lab.s3.get_object(Bucket="lab-site", Key="site/hello-v1/extra.txt")["Body"].read()
    assert extra.decode().strip() == f"{commit}/{execution_id}/dev"
    assert (
        lab.s3.get_object(Bucket="lab-site", Key="site/hello-v1/message.txt")["Body"].read()
        == b"v1"
    )
    state = lab.state()
    assert [s["latestExecution"]["status"] for s in state.values()] == ["Succeeded"] * 3
    source_state = lab.action_state("Source", "Source")
    assert source_state["currentRevision"]["revisionId"] == commit
    assert source_state["entityUrl"].endswith("#/repository/app/browse/main/--/")
    assert lab.action_state("Build", "Build")["latestExecution"]["externalExecutionId"].startswith(
        "lab-build:"
    )


def test_parallel_actions_overlap_and_later_run_order_waits(lab):
    lab.project("sleepy", SLEEPY)
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Test",
                "actions": [
                    build_action("A", project="sleepy", outputs=()),
                    build_action("B", project="sleepy", outputs=()),
                    build_action("C", project="sleepy", outputs=(), run_order=2),
                ],
            },
        ]
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    actions = lab.actions(execution_id)
    a, b, c = actions["A"], actions["B"], actions["C"]
    assert a["startTime"] < b["lastUpdateTime"] and b["startTime"] < a["lastUpdateTime"]
    assert c["startTime"] >= max(a["lastUpdateTime"], b["lastUpdateTime"])


def test_failed_build_fails_stage_and_execution(lab):
    lab.project("broken", "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n")
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action(project="broken")]},
            {"name": "Deploy", "actions": [s3_deploy_action()]},
        ]
    )
    assert lab.execution(execution_id)["status"] == "Failed"
    build = lab.action_state("Build", "Build")["latestExecution"]
    assert build["status"] == "Failed"
    assert "Build terminated with state: FAILED" in build["errorDetails"]["message"]
    state = lab.state()
    assert state["Build"]["latestExecution"]["status"] == "Failed"
    assert "latestExecution" not in state["Deploy"]


def test_action_the_kit_cannot_run_fails_clearly(lab):
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Invoke",
                "actions": [
                    {
                        "name": "StepFunctions",
                        "actionTypeId": {
                            "category": "Invoke",
                            "owner": "AWS",
                            "provider": "StepFunctions",
                            "version": "1",
                        },
                        "configuration": {
                            "StateMachineArn": (
                                "arn:aws:states:us-east-1:123456789012:stateMachine:m"
                            )
                        },
                    }
                ],
            },
        ]
    )
    assert lab.execution(execution_id)["status"] == "Failed"
    error = lab.action_state("Invoke", "StepFunctions")["latestExecution"]["errorDetails"]
    assert "cannot run" in error["message"]


def approval_pipeline(lab, **extra) -> str:
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Approve", "actions": [approval_action(CustomData="Please look")]},
            {"name": "Build", "actions": [build_action()]},
        ],
        **extra,
    )


def test_approval_approve_and_errors(lab):
    execution_id = approval_pipeline(lab)
    assert lab.execution(execution_id)["status"] == "InProgress"
    waiting = lab.action_state("Approve", "Approve")["latestExecution"]
    assert waiting["status"] == "InProgress" and waiting["token"]
    assert (
        error_code(
            lab.cp.put_approval_result,
            pipelineName="lab-pipeline",
            stageName="Approve",
            actionName="Approve",
            result={"summary": "ok", "status": "Approved"},
            token="00000000-0000-0000-0000-000000000000",
        )
        == "InvalidApprovalTokenException"
    )
    reply = lab.cp.put_approval_result(
        pipelineName="lab-pipeline",
        stageName="Approve",
        actionName="Approve",
        result={"summary": "ship it", "status": "Approved"},
        token=waiting["token"],
    )
    assert "approvedAt" in reply
    assert lab.execution(execution_id)["status"] == "Succeeded"
    done = lab.action_state("Approve", "Approve")["latestExecution"]
    assert (done["status"], done["summary"]) == ("Succeeded", "ship it")
    assert (
        error_code(
            lab.cp.put_approval_result,
            pipelineName="lab-pipeline",
            stageName="Approve",
            actionName="Approve",
            result={"summary": "again", "status": "Approved"},
            token=waiting["token"],
        )
        == "ApprovalAlreadyCompletedException"
    )


def test_approval_rejected_fails(lab):
    execution_id = approval_pipeline(lab)
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", "not today", status="Rejected")
    assert lab.execution(execution_id)["status"] == "Failed"
    rejected = lab.action_state("Approve", "Approve")["latestExecution"]
    assert rejected["status"] == "Failed" and rejected["summary"] == "not today"
    assert "latestExecution" not in lab.state()["Build"]


def test_superseded_waiting_execution(lab):
    first = approval_pipeline(lab)  # holds the Approve stage
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.state()["Approve"]["inboundExecution"]["pipelineExecutionId"] == second
    third = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.execution(second)["status"] == "Superseded"
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", "first")
    assert lab.execution(first)["status"] == "Succeeded"
    assert lab.state()["Approve"]["latestExecution"]["pipelineExecutionId"] == third
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", "third")
    assert lab.execution(third)["status"] == "Succeeded"
    assert lab.execution(second)["status"] == "Superseded"
    assert lab.execution(third)["trigger"]["triggerType"] == "StartPipelineExecution"


def test_queued_mode_runs_in_order(lab):
    first = approval_pipeline(lab, pipelineType="V2", executionMode="QUEUED")
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    third = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    inbound = lab.state()["Approve"]["inboundExecutions"]
    assert [e["pipelineExecutionId"] for e in inbound] == [second, third]
    for expected in (first, second, third):
        assert lab.state()["Approve"]["latestExecution"]["pipelineExecutionId"] == expected
        approve(lab.cp, "lab-pipeline", "Approve", "Approve", "go")
    assert [lab.execution(e)["status"] for e in (first, second, third)] == ["Succeeded"] * 3
    assert lab.execution(first)["executionMode"] == "QUEUED"


def test_parallel_mode_runs_independently(lab):
    first = approval_pipeline(lab, pipelineType="V2", executionMode="PARALLEL")
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    runs = lab.cp.list_action_executions(pipelineName="lab-pipeline")["actionExecutionDetails"]
    waiting = {
        r["pipelineExecutionId"]
        for r in runs
        if r["actionName"] == "Approve" and r["status"] == "InProgress"
    }
    assert waiting == {first, second}
    assert "inboundExecution" not in lab.state()["Approve"]
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", "second first")
    assert lab.execution(second)["status"] == "Succeeded"
    assert lab.execution(first)["status"] == "InProgress"


def test_stop_and_wait_then_abandon(lab):
    execution_id = approval_pipeline(lab)
    lab.cp.stop_pipeline_execution(
        pipelineName="lab-pipeline", pipelineExecutionId=execution_id, reason="wrong commit"
    )
    assert lab.execution(execution_id)["status"] == "Stopping"
    assert (
        error_code(
            lab.cp.stop_pipeline_execution,
            pipelineName="lab-pipeline",
            pipelineExecutionId=execution_id,
        )
        == "DuplicatedStopRequestException"
    )
    lab.cp.stop_pipeline_execution(
        pipelineName="lab-pipeline", pipelineExecutionId=execution_id, abandon=True
    )
    assert lab.execution(execution_id)["status"] == "Stopped"
    assert lab.action_state("Approve", "Approve")["latestExecution"]["status"] == "Abandoned"
    assert lab.state()["Approve"]["latestExecution"]["status"] == "Stopped"
    [summary] = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ]
    assert summary["stopTrigger"] == {"reason": "wrong commit"}
    assert (
        error_code(
            lab.cp.stop_pipeline_execution,
            pipelineName="lab-pipeline",
            pipelineExecutionId=execution_id,
        )
        == "PipelineExecutionNotStoppableException"
    )
    # The stop released the stage: the next execution gets in.
    lab.cp.start_pipeline_execution(name="lab-pipeline")
    assert lab.action_state("Approve", "Approve")["latestExecution"]["status"] == "InProgress"


def test_stop_and_wait_lets_running_action_finish(bg_lab):
    lab = bg_lab
    lab.project("sleepy", SLEEPY)
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action(project="sleepy", outputs=())]},
            {"name": "Deploy", "actions": [approval_action()]},
        ]
    )
    lab.wait(execution_id, until=("InProgress",))
    for _ in range(200):
        if lab.state()["Build"].get("latestExecution"):
            break
        import time

        time.sleep(0.01)
    lab.cp.stop_pipeline_execution(pipelineName="lab-pipeline", pipelineExecutionId=execution_id)
    assert lab.execution(execution_id)["status"] in ("Stopping", "Stopped")
    assert lab.wait(execution_id)["status"] == "Stopped"
    assert lab.action_state("Build", "Build")["latestExecution"]["status"] == "Succeeded"
    assert lab.state()["Build"]["latestExecution"]["status"] == "Stopped"
    assert "latestExecution" not in lab.state()["Deploy"]


def test_push_to_watched_branch_starts_pipeline_only_through_a_rule(lab):
    # PollForSourceChanges false: CodePipeline does not poll; only an EventBridge rule
    # starts the pipeline on a push (action-reference-CodeCommit.md, triggering.md).
    created = lab.create()
    lab.commit("message.txt", "v2", message="no rule yet")
    time.sleep(0.3)
    assert [s["pipelineExecutionId"] for s in lab.summaries()] == [created]

    rule_arn = lab.push_rule()
    commit, pushed = lab.push("message.txt", "v3", message="with the rule")
    execution = lab.wait(pushed)
    assert execution["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
    assert execution["status"] == "Succeeded"
    assert execution["artifactRevisions"][0]["revisionId"] == commit  # the tip: the push
    lab.cc.create_branch(repositoryName="app", branchName="feature", commitId=commit)
    lab.commit("message.txt", "other", branch="feature", message="elsewhere")
    time.sleep(0.3)
    assert len(lab.summaries()) == 2


def test_polling_source_trigger_type(lab):
    action = source_action()
    del action["configuration"]["PollForSourceChanges"]  # left out: AWS polls
    lab.create(
        stages=[
            {"name": "Source", "actions": [action]},
            {"name": "Build", "actions": [build_action()]},
        ]
    )
    lab.commit("message.txt", "v2")
    trigger = lab.execution(lab.latest())["trigger"]
    assert trigger == {"triggerType": "PollForSourceChanges", "triggerDetail": "Source"}


def test_start_execution_variables_tokens_and_source_revisions(lab):
    old = lab.cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"]
    lab.commit("message.txt", "v2")
    lab.create(pipelineType="V2", variables=[{"name": "env", "defaultValue": "dev"}])
    start = lab.cp.start_pipeline_execution
    first = start(
        name="lab-pipeline",
        clientRequestToken="t-1",
        variables=[{"name": "env", "value": "prod"}],
        sourceRevisions=[
            {"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": old}
        ],
    )["pipelineExecutionId"]
    assert start(name="lab-pipeline", clientRequestToken="t-1")["pipelineExecutionId"] == first
    execution = lab.execution(first)
    assert execution["variables"] == [{"name": "env", "resolvedValue": "prod"}]
    assert execution["artifactRevisions"][0]["revisionId"] == old
    assert (
        error_code(start, name="lab-pipeline", variables=[{"name": "nope", "value": "x"}])
        == "ValidationException"
    )
    assert error_code(start, name="missing") == "PipelineNotFoundException"


def test_update_lets_running_actions_complete_then_fails_stage_and_execution(lab):
    # pipelines-edit.md: "CodePipeline gracefully completes all the running actions and
    # then fails the stages and pipeline executions where the running actions were completed"
    execution_id = approval_pipeline(lab)
    pipeline = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    lab.cp.update_pipeline(pipeline=pipeline)
    # the running action (the approval) is not cut off: it still waits for its answer
    assert lab.execution(execution_id)["status"] == "InProgress"
    waiting = lab.action_state("Approve", "Approve")["latestExecution"]
    assert waiting["status"] == "InProgress" and waiting["token"]
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", summary="ok", status="Approved")
    execution = lab.wait(execution_id)
    assert execution["status"] == "Failed"
    assert "updated" in execution["statusSummary"]
    assert lab.state()["Approve"]["latestExecution"]["status"] == "Failed"
    ran = lab.actions(execution_id)
    assert ran["Approve"]["status"] == "Succeeded"  # completed gracefully
    assert "Build" not in ran  # the later stage never ran


def test_update_fails_an_execution_waiting_between_stages_at_once(lab):
    lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action()]},
        ]
    )
    lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline", stageName="Build", transitionType="Inbound", reason="freeze"
    )
    execution_id = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.state()["Build"]["inboundExecution"]["pipelineExecutionId"] == execution_id
    pipeline = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    lab.cp.update_pipeline(pipeline=pipeline)
    assert lab.wait(execution_id)["status"] == "Failed"  # nothing was running: fails at once
    assert "Build" not in lab.actions(execution_id)
    lab.cp.enable_stage_transition(
        pipelineName="lab-pipeline", stageName="Build", transitionType="Inbound"
    )
    after = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.wait(after)["status"] == "Succeeded"  # the new version runs


def test_disabled_transition_holds_execution_until_enabled(lab):
    lab.cp.create_pipeline(
        pipeline={
            "name": "lab-pipeline",
            "roleArn": ROLE,
            "artifactStore": {"type": "S3", "location": "lab-artifacts"},
            "stages": [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [build_action()]},
            ],
        }
    )
    lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline", stageName="Build", transitionType="Inbound", reason="freeze"
    )
    execution_id = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    build = lab.state()["Build"]
    assert build["inboundTransitionState"]["enabled"] is False
    assert build["inboundTransitionState"]["disabledReason"] == "freeze"
    assert build["inboundExecution"]["pipelineExecutionId"] == execution_id
    lab.cp.enable_stage_transition(
        pipelineName="lab-pipeline", stageName="Build", transitionType="Inbound"
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"


def test_s3_source_and_list_filters_and_snapshot(lab):
    lab.s3.create_bucket(Bucket="lab-source")
    lab.s3.put_bucket_versioning(Bucket="lab-source", VersioningConfiguration={"Status": "Enabled"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("message.txt", "from-s3")
    version = lab.s3.put_object(
        Bucket="lab-source",
        Key="app.zip",
        Body=buffer.getvalue(),
        Metadata={"codepipeline-artifact-revision-summary": "Release 1.2: new greeting"},
    )["VersionId"]
    execution_id = lab.create(
        stages=[
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "namespace": "S3Vars",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "configuration": {"S3Bucket": "lab-source", "S3ObjectKey": "app.zip"},
                        "outputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
            {"name": "Build", "actions": [build_action()]},
        ]
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    source = lab.actions(execution_id)["Source"]["output"]["outputVariables"]
    assert source["VersionId"] == version and source["ETag"]
    # pipelines-view-cli.md: the object's codepipeline-artifact-revision-summary metadata is
    # the revision's summary; the action's summary names the version.
    [revision] = lab.execution(execution_id)["artifactRevisions"]
    assert revision["revisionSummary"] == "Release 1.2: new greeting"
    assert lab.state()["Source"]["actionStates"][0]["latestExecution"]["summary"] == (
        f"Amazon S3 version id: {version}"
    )
    assert lab.actions(execution_id)["Build"]["output"]["outputVariables"] == {
        "GREETING": "hello-from-s3"
    }
    listed = lab.cp.list_pipeline_executions(
        pipelineName="lab-pipeline", filter={"succeededInStage": {"stageName": "Build"}}
    )
    assert [s["pipelineExecutionId"] for s in listed["pipelineExecutionSummaries"]] == [
        execution_id
    ]
    snapshot = pipeline_snapshot(lab.cp, "lab-pipeline")
    assert snapshot["latest_execution_id"] == execution_id
    assert snapshot["source_revision"] == version
    assert [s["status"] for s in snapshot["stages"]] == ["Succeeded", "Succeeded"]


def test_project_with_its_own_source_builds_the_pipeline_artifact(lab):
    """As in AWS, the pipeline overrides a CODECOMMIT project's source and artifacts:
    the build reads the input artifact and its output reaches the pipeline."""
    lab.cc.create_repository(repositoryName="elsewhere")
    lab.cc.put_file(
        repositoryName="elsewhere",
        branchName="main",
        filePath="message.txt",
        fileContent=b"from the project's own source",
    )
    lab.s3.create_bucket(Bucket="project-artifacts")
    lab.cb.create_project(
        name="own-source",
        source={
            "type": "CODECOMMIT",
            "buildspec": BUILDSPEC_OWN,
            "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/elsewhere",
        },
        sourceVersion="main",
        artifacts={"type": "S3", "location": "project-artifacts"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/CodeBuildRole",
    )
    lab.s3.create_bucket(Bucket="lab-site")
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action(project="own-source")]},
            {"name": "Deploy", "actions": [s3_deploy_action()]},
        ]
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    output = lab.actions(execution_id)["Build"]["output"]["outputArtifacts"][0]["s3location"]
    body = lab.s3.get_object(Bucket=output["bucket"], Key=output["key"])["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "message.txt" in names
    message = zipfile.ZipFile(io.BytesIO(body)).read("message.txt")
    assert message == b"v1"  # the pipeline's input, not the project's repository
    assert lab.s3.list_objects_v2(Bucket="project-artifacts").get("KeyCount", 0) == 0


BUILDSPEC_OWN = """version: 0.2
phases:
  build:
    commands:
      - cat message.txt
artifacts:
  files:
    - message.txt
"""


def test_approve_after_the_view_answered_says_so_and_goes_on(lab, capsys):
    execution = approval_pipeline(lab)
    approve(lab.cp, "lab-pipeline", "Approve", "Approve", "from the view")
    again = approve(lab.cp, "lab-pipeline", "Approve", "Approve", "from the next cell")
    assert "answered already (Approved)" in capsys.readouterr().out
    assert again["approvedAt"] is not None
    assert lab.execution(execution)["status"] == "Succeeded"


def test_commit_without_a_message_has_no_revision_summary(lab):
    """Not "": the model's summaries are at least one character; AWS leaves it out."""
    lab.commit("index.html", "<h1>hi</h1>", message="")
    execution_id = lab.create()
    assert lab.execution(execution_id)["status"] == "Succeeded"
    [revision] = lab.execution(execution_id)["artifactRevisions"]
    assert "revisionSummary" not in revision
    [summary] = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ]
    assert "revisionSummary" not in summary["sourceRevisions"][0]
