"""The pipeline view without a browser: its text, its widgets' classes and colours, the
approval buttons, the build log and deployment events, following and its thread."""

from __future__ import annotations

import uuid

import ipywidgets as widgets
import pytest

from helpers import views
from helpers.codepipeline import approve
from tests.pipelines import (
    BUCKET,
    ENVIRONMENT,
    ROLE,
    approval_action,
    build_action,
    create_role,
    source_action,
)


def approval_pipeline(lab) -> str:
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Approval", "actions": [approval_action(CustomData="Please look")]},
            {"name": "Build", "actions": [build_action()]},
        ]
    )


@pytest.fixture(name="view")
def view_fixture(lab):
    approval_pipeline(lab)  # synchronous: Source ran, the approval waits
    view = views.pipeline_view(lab.cp, "lab-pipeline")
    yield view
    view.close()


def classes(widget) -> set[str]:
    return set(widget._dom_classes)


def test_text_view_draws_stages_actions_and_execution():
    snapshot = {
        "name": "web",
        "version": 2,
        "latest_execution_id": "exec-1",
        "execution_status": "InProgress",
        "source_revision": "0123456789abcdef",
        "source_summary": "Fix the title",
        "stages": [
            {
                "name": "Source",
                "status": "Succeeded",
                "actions": [
                    {
                        "name": "Source",
                        "status": "Succeeded",
                        "summary": "Fix the title",
                        "external_id": "0123456789abcdef",
                        "waiting_for_approval": False,
                    }
                ],
            },
            {
                "name": "Release",
                "status": "InProgress",
                "actions": [
                    {
                        "name": "Approve",
                        "status": "InProgress",
                        "summary": None,
                        "external_id": None,
                        "waiting_for_approval": True,
                    }
                ],
            },
            {
                "name": "Build",
                "status": None,
                "actions": [
                    {
                        "name": "Build",
                        "status": None,
                        "summary": None,
                        "external_id": None,
                        "error": None,
                        "waiting_for_approval": False,
                    }
                ],
            },
        ],
    }
    text = views.text_view(snapshot)
    assert text.splitlines()[:3] == [
        "Pipeline web (version 2)",
        "Execution exec-1: InProgress",
        "Source 01234567 'Fix the title'",
    ]
    assert "[Source] Succeeded" in text and "[Build] not run" in text
    assert "  Source   Succeeded     01234567 Fix the title" in text
    assert "  Approve  Waiting for approval" in text
    assert text.index("[Source]") < text.index("[Release]") < text.index("[Build]")


def test_text_view_takes_a_plain_pipeline_snapshot(lab):
    from helpers.codepipeline import pipeline_snapshot

    approval_pipeline(lab)
    text = views.text_view(pipeline_snapshot(lab.cp, "lab-pipeline"))
    assert "Pipeline lab-pipeline (version 1)" in text
    assert "Waiting for approval" in text


def test_status_classes():
    assert views.status_class("Succeeded") == "lab-status-succeeded"
    assert views.status_class("InProgress") == "lab-status-inprogress"
    assert views.status_class(None) == "lab-status-notrun"
    assert views.status_class("InProgress", waiting_for_approval=True) == "lab-status-waiting"
    for name in (
        "succeeded",
        "inprogress",
        "failed",
        "stopped",
        "abandoned",
        "superseded",
        "notrun",
        "waiting",
    ):
        assert f".lab-status-{name}.lab-action" in views.STYLE


def test_widget_parts_have_classes_and_status_colours(view):
    assert isinstance(view, widgets.VBox) and "lab-pipeline" in classes(view)
    # Each stage is a unit with the arrow leading into it: a wrapped row starts cleanly.
    units = view.stages_box.children
    assert all(classes(unit) == {"lab-stage-unit"} for unit in units)
    assert [[sorted(classes(part)) for part in unit.children] for unit in units] == [
        [["lab-name-source", "lab-stage", "lab-status-succeeded"]],
        [["lab-arrow"], ["lab-name-approval", "lab-stage", "lab-status-inprogress"]],
        [["lab-arrow"], ["lab-name-build", "lab-stage", "lab-status-notrun"]],
    ]
    assert "lab-row" in classes(view.stages_box)
    source = view._actions[("Source", "Source")]
    approval = view._actions[("Approval", "Approve")]
    build = view._actions[("Build", "Build")]
    assert classes(source) == {"lab-action", "lab-name-source", "lab-status-succeeded"}
    assert classes(approval) == {"lab-action", "lab-name-approve", "lab-status-waiting"}
    assert classes(build) == {"lab-action", "lab-name-build", "lab-status-notrun"}
    assert "first commit" in source.text.value and "CodeCommit" in source.text.value
    assert "Please look" in approval.text.value
    assert approval.approval.layout.display == "flex"
    assert source.approval.layout.display == "none"
    assert "lab-execution-status'>InProgress" in view.header.value
    assert "first commit" in view.header.value  # the source revision's message
    assert view.details.titles == ("Build log: Build / Build",)


def test_approve_button_calls_put_approval_result(view, lab):
    calls = []
    lab.cp.meta.events.register(
        "before-parameter-build.codepipeline.PutApprovalResult",
        lambda params, **_: calls.append(params),
    )
    approval = view._actions[("Approval", "Approve")]
    approval.comment.value = "ship it"
    approval.approve_button.click()
    assert len(calls) == 1
    assert calls[0]["result"] == {"summary": "ship it", "status": "Approved"}
    assert calls[0]["token"]
    # Synchronous workers: the build ran too; the view refreshed after the click.
    assert view.snapshot["execution_status"] == "Succeeded"
    assert all("lab-status-succeeded" in classes(box) for box in view._actions.values())
    assert approval.approval.layout.display == "none"
    assert "ship it" in approval.text.value
    # A mock_aws client talks to amazonaws.com: the build log is a console link.
    assert "Open the log in CloudWatch Logs" in view._panels[("Build", "Build")].value


def test_reject_button_fails_the_execution(view):
    approval = view._actions[("Approval", "Approve")]
    approval.reject_button.click()
    assert view.snapshot["execution_status"] == "Failed"
    assert "lab-status-failed" in classes(approval)
    assert "Rejected" in approval.text.value


def test_answer_when_not_waiting_shows_a_message(view):
    approval = view._actions[("Approval", "Approve")]
    approval.approve_button.click()
    approval.approve_button.click()  # too late: already approved
    assert "answered already (Approved)" in view.message.value
    view.retry_stage("Source")  # it succeeded: nothing to retry
    assert "StageNotRetryableException" in view.message.value


def test_mimebundle_text_is_the_text_view_and_display_starts_polling(view):
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == views.text_view(view.snapshot)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert view.polling
    view.close()
    assert not view.polling


def test_polling_stops_by_itself_when_idle(lab):
    approval_pipeline(lab)
    view = views.PipelineView(lab.cp, "lab-pipeline", poll_seconds=0.01, idle_seconds=0)
    try:
        view.start()
        assert view.polling  # an execution waits for an approval: in progress
        approve(lab.cp, "lab-pipeline", "Approval", "Approve", "ok")
        view._thread.join(timeout=5)
        assert not view.polling
    finally:
        view.close()


def test_deleted_pipeline_shows_the_error_and_stops_polling(lab):
    approval_pipeline(lab)
    view = views.PipelineView(lab.cp, "lab-pipeline", poll_seconds=0.01)
    try:
        view.start()
        lab.cp.delete_pipeline(name="lab-pipeline")
        view._thread.join(timeout=5)
        assert not view.polling
        assert "PipelineNotFoundException" in view.message.value
    finally:
        view.close()


def test_follow_prints_progress_and_returns_at_an_approval(view, capsys):
    snapshot = view.follow(timeout=5)
    out = capsys.readouterr().out
    assert snapshot["execution_status"] == "InProgress"
    assert f"Execution {snapshot['latest_execution_id']}: InProgress" in out
    assert "  Source/Source: Succeeded" in out
    assert "Waiting for approval: Approval/Approve" in out
    with pytest.raises(TimeoutError):
        view.follow(timeout=0, stop_at_approval=False, show=False)


def test_vertical_view_stacks_stages(lab):
    approval_pipeline(lab)
    view = views.pipeline_view(lab.cp, "lab-pipeline", vertical=True)
    assert isinstance(view.stages_box, widgets.VBox) and "lab-column" in classes(view.stages_box)
    view.close()


def test_deployment_events_per_instance(lab, client):
    ec2, deploy = client("ec2"), client("codedeploy")
    ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Env", "Value": "view"}]}],
    )
    deploy.create_application(applicationName="web", computePlatform="Server")
    deploy.create_deployment_group(
        applicationName="web",
        deploymentGroupName="prod",
        serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "Env", "Value": "view", "Type": "KEY_AND_VALUE"}],
    )
    lab.commit(
        "appspec.yml",
        "version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /var/www/html\n",
    )
    lab.commit("site/index.html", "<h1>hello</h1>\n", message="a page")
    lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Deploy",
                "actions": [
                    {
                        "name": "Deploy",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CodeDeploy",
                            "version": "1",
                        },
                        "configuration": {"ApplicationName": "web", "DeploymentGroupName": "prod"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
        ]
    )
    view = views.pipeline_view(lab.cp, "lab-pipeline")
    panel = view._panels[("Deploy", "Deploy")]
    assert "lab-deployment-events" in classes(panel)
    assert view.snapshot["execution_status"] == "Succeeded", panel.value
    assert ": Succeeded" in panel.value and "BeforeInstall Succeeded" in panel.value
    assert "a page" in view.header.value
    view.close()


def test_build_log_tail_offline(server_client, synchronous):
    suffix = uuid.uuid4().hex[:6]
    cc, cb, cp = (
        server_client("codecommit"),
        server_client("codebuild"),
        server_client("codepipeline"),
    )
    server_client("s3").create_bucket(Bucket=f"{BUCKET}-{suffix}")
    cc.create_repository(repositoryName=f"app-{suffix}")
    cc.put_file(
        repositoryName=f"app-{suffix}",
        branchName="main",
        filePath="a.txt",
        fileContent=b"a",
        commitMessage="first",
    )
    cb.create_project(
        name=f"build-{suffix}",
        artifacts={"type": "CODEPIPELINE"},
        source={
            "type": "CODEPIPELINE",
            "buildspec": (
                "version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - echo hello from the build\n"
            ),
        },
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    cp.create_pipeline(
        pipeline={
            "name": f"view-{suffix}",
            "roleArn": create_role(server_client("iam")),
            "artifactStore": {"type": "S3", "location": f"{BUCKET}-{suffix}"},
            "stages": [
                {
                    "name": "Source",
                    "actions": [source_action(RepositoryName=f"app-{suffix}", namespace=None)],
                },
                {"name": "Build", "actions": [build_action(project=f"build-{suffix}", outputs=())]},
            ],
        }
    )
    view = views.pipeline_view(cp, f"view-{suffix}")
    assert views.is_local(cp)
    log = view._panels[("Build", "Build")].value
    assert view.snapshot["execution_status"] == "Succeeded", log
    assert "SUCCEEDED" in log and "hello from the build" in log and "<pre>" in log
    view.close()


def test_is_local():
    import boto3

    real = boto3.client("codepipeline", region_name="eu-west-1")
    local = boto3.client(
        "codepipeline", region_name="eu-west-1", endpoint_url="http://127.0.0.1:5000"
    )
    assert not views.is_local(real) and views.is_local(local)


def test_progress_lines_speak_only_of_the_followed_execution():
    from helpers.views import _progress_lines

    def action(name, status, external):
        return {
            "name": name,
            "status": status,
            "external_id": external,
            "waiting_for_approval": False,
        }

    snapshot = {
        "latest_execution_id": "new",
        "execution_status": "InProgress",
        "stages": [
            {
                "name": "Source",
                "execution_id": "new",
                "actions": [action("Src", "Succeeded", "c2")],
            },
            {
                "name": "Deploy",
                "execution_id": "old",
                "actions": [action("Dep", "Succeeded", "d1")],
            },
        ],
    }
    lines = _progress_lines(snapshot, {})
    assert lines == ["Execution new: InProgress", "  Source/Src: Succeeded (c2)"]
    # Following the older execution: only the stage it reached, with its own status.
    old = _progress_lines(snapshot, {}, execution_id="old", status="Stopped")
    assert old == ["Execution old: Stopped", "  Deploy/Dep: Succeeded (d1)"]


def test_stop_waits_for_running_actions_and_abandon_ends_the_execution(view, lab):
    execution = view.snapshot["latest_execution_id"]
    assert view.stop_button.layout.display == "flex"  # the approval waits: InProgress
    assert view.abandon_button.layout.display == "none"
    assert "lab-stop-button" in classes(view.stop_button)
    view.stop_button.click()
    # Stop and wait: the approval still runs, so the execution is Stopping.
    assert view.snapshot["execution_status"] == "Stopping"
    assert view.stop_button.layout.display == "none"
    assert view.abandon_button.layout.display == "flex"
    view.abandon_button.click()
    assert view.snapshot["execution_status"] == "Stopped"
    assert view.abandon_button.layout.display == "none"
    summary = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ][0]
    assert (summary["pipelineExecutionId"], summary["status"]) == (execution, "Stopped")
    assert summary["stopTrigger"]["reason"] == "Stopped from the pipeline view"


def test_retry_button_on_a_failed_stage_retries_its_failed_actions(view, lab):
    calls = []
    lab.cp.meta.events.register(
        "before-parameter-build.codepipeline.RetryStageExecution",
        lambda params, **_: calls.append(dict(params)),
    )
    retry = view._retry_buttons["Approval"]
    assert retry.layout.display == "none" and "lab-retry-button" in classes(retry)
    view._actions[("Approval", "Approve")].reject_button.click()
    assert view.snapshot["execution_status"] == "Failed"
    assert retry.layout.display == "flex"
    assert view._retry_buttons["Source"].layout.display == "none"
    execution = view.snapshot["latest_execution_id"]
    retry.click()
    assert calls == [
        {
            "pipelineName": "lab-pipeline",
            "stageName": "Approval",
            "pipelineExecutionId": execution,
            "retryMode": "FAILED_ACTIONS",
        }
    ]
    # The same execution goes on: the approval waits again.
    assert view.snapshot["latest_execution_id"] == execution
    assert view.snapshot["execution_status"] == "InProgress"
    assert "lab-status-waiting" in classes(view._actions[("Approval", "Approve")])
    assert retry.layout.display == "none"


def test_retry_that_aws_refuses_shows_its_error(view):
    view.retry_stage("Source")  # it succeeded: nothing to retry
    assert "<b>Retry Source</b>" in view.message.value
    assert "StageNotRetryableException" in view.message.value


def test_commands_log_and_stack_events_panels_offline(server_client, synchronous):
    """A Commands action's panel tails its own log (logStreamARN); a CloudFormation
    action's shows its stack's status and events."""
    import json

    from tests.pipelines import CFN_ROLE, cloudformation_action, make_lab
    from tests.test_codepipeline_commands import commands_action

    lab = make_lab(server_client)
    create_role(server_client("iam"), CFN_ROLE, "cloudformation.amazonaws.com")
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    lab.commit("template.json", json.dumps(template))
    suffix = uuid.uuid4().hex[:6]
    execution_id = lab.create(
        name=f"modern-{suffix}",
        pipelineType="V2",
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [commands_action(["echo hello from commands"])]},
            {"name": "Deploy", "actions": [cloudformation_action(stack=f"view-{suffix}")]},
        ],
    )
    assert lab.wait(execution_id, f"modern-{suffix}")["status"] == "Succeeded"
    view = views.pipeline_view(lab.cp, f"modern-{suffix}")
    build = view._panels[("Build", "Build")]
    assert "lab-action-log" in classes(build)
    assert "hello from commands" in build.value and "/aws/codepipeline/" in build.value
    deploy = view._panels[("Deploy", "Deploy")]
    assert "lab-stack-events" in classes(deploy)
    assert f"Stack <code>view-{suffix}</code>: CREATE_COMPLETE" in deploy.value
    # the stack's events, newest first (moto records the stack's own, not each resource's)
    assert deploy.value.index("CREATE_IN_PROGRESS <small>User Initiated") > deploy.value.index(
        f"<code>view-{suffix}</code> CREATE_COMPLETE"
    )
    view.close()
