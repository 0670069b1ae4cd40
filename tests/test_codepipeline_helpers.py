"""helpers.codepipeline's waiting helpers (labs 05 and 06), and tags on custom action types
and webhooks (what teardown.py reads to find them)."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from helpers import codepipeline as cp_helpers
from helpers.codepipeline import wait_for_approval
from tests.pipelines import approval_action, build_action, declaration, source_action

PARTNER = {"category": "Test", "owner": "ThirdParty", "provider": "LabPartner", "version": "1"}


def gated_pipeline(lab) -> str:
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action()]},
            {"name": "Release", "actions": [approval_action()]},
        ]
    )


def test_wait_for_inbound_and_status(bg_lab):
    first = gated_pipeline(bg_lab)
    wait_for_approval(
        bg_lab.cp,
        "lab-pipeline",
        "Release",
        "Approve",
        execution_id=first,
        timeout=30,
        poll_seconds=0.05,
    )
    bg_lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline", stageName="Release", transitionType="Inbound", reason="freeze"
    )
    older = bg_lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    newer = bg_lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert (
        cp_helpers.wait_for_status(
            bg_lab.cp, "lab-pipeline", older, ("Superseded",), timeout=30, poll_seconds=0.05
        )["status"]
        == "Superseded"
    )
    state = cp_helpers.wait_for_inbound(
        bg_lab.cp, "lab-pipeline", "Release", newer, timeout=30, poll_seconds=0.05
    )
    assert state["inboundExecution"]["pipelineExecutionId"] == newer
    assert state["inboundTransitionState"]["enabled"] is False
    assert {first, older, newer} <= cp_helpers.execution_ids(bg_lab.cp, "lab-pipeline")
    with pytest.raises(TimeoutError):
        cp_helpers.wait_for_inbound(
            bg_lab.cp, "lab-pipeline", "Build", timeout=0.1, poll_seconds=0.05
        )
    with pytest.raises(LookupError):
        cp_helpers.stage_state(bg_lab.cp, "lab-pipeline", "Nope")
    bg_lab.cp.delete_pipeline(name="lab-pipeline")  # stops the two left waiting


def test_a_wait_on_the_local_aws_in_this_process_ends_when_the_engine_moves_on(bg_lab):
    """An approval opening wakes a helper polling once an hour: the engine here says when
    it changes (emulator/changes.py) instead of the helper sleeping out its pause."""
    bg_lab.cp.create_pipeline(
        pipeline=declaration(
            stages=[
                {"name": "Source", "actions": [source_action()]},
                {"name": "Release", "actions": [approval_action()]},
            ]
        )
    )
    first = bg_lab.latest()
    wait_for_approval(bg_lab.cp, "lab-pipeline", "Release", "Approve", first, timeout=30)
    bg_lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline", stageName="Release", transitionType="Inbound", reason="hold"
    )
    held = bg_lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    cp_helpers.wait_for_inbound(bg_lab.cp, "lab-pipeline", "Release", held, timeout=30)
    found: list[dict] = []
    waiter = threading.Thread(
        target=lambda: found.append(
            wait_for_approval(
                bg_lab.cp, "lab-pipeline", "Release", "Approve", held, poll_seconds=3600
            )
        )
    )
    waiter.start()
    bg_lab.cp.stop_pipeline_execution(
        pipelineName="lab-pipeline", pipelineExecutionId=first, abandon=True
    )
    bg_lab.cp.enable_stage_transition(
        pipelineName="lab-pipeline", stageName="Release", transitionType="Inbound"
    )
    waiter.join(60)  # an hour between polls, were the pause not ended by the change
    assert found and found[0]["status"] == "InProgress"
    bg_lab.cp.delete_pipeline(name="lab-pipeline")


def test_action_runs_and_show_runs(lab, capsys):
    execution = lab.create()
    runs = cp_helpers.action_runs(lab.cp, "lab-pipeline", execution)
    assert [(r["stageName"], r["status"]) for r in runs] == [
        ("Source", "Succeeded"),
        ("Build", "Succeeded"),
    ]
    cp_helpers.show_runs(lab.cp, "lab-pipeline", execution)
    assert "Build/Build" in capsys.readouterr().out


def test_third_party_job_helpers(bg_lab):
    bg_lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Test",
                "actions": [
                    {
                        "name": "Partner",
                        "actionTypeId": PARTNER,
                        "configuration": {"ProjectId": "p", "ClientToken": "secret"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
        ]
    )
    execution = bg_lab.latest()
    detail = cp_helpers.wait_for_action(
        bg_lab.cp, "lab-pipeline", "Test", "Partner", execution, timeout=30, poll_seconds=0.05
    )
    assert detail["status"] == "InProgress"
    job = cp_helpers.poll_for_my_third_party_job(
        bg_lab.cp, PARTNER, "secret", timeout=10, poll_seconds=0.05
    )
    bg_lab.cp.put_third_party_job_failure_result(
        jobId=job["jobId"],
        clientToken="secret",
        failureDetails={"type": "JobFailed", "message": "no"},
    )
    assert (
        cp_helpers.wait_for_status(
            bg_lab.cp, "lab-pipeline", execution, timeout=30, poll_seconds=0.05
        )["status"]
        == "Failed"
    )
    with pytest.raises(RuntimeError):  # it ended: the action will not run again
        cp_helpers.wait_for_action(
            bg_lab.cp, "lab-pipeline", "Test", "Partner", execution, timeout=5, poll_seconds=0.05
        )
    with pytest.raises(TimeoutError):
        cp_helpers.poll_for_my_third_party_job(
            bg_lab.cp, PARTNER, "secret", timeout=0.1, poll_seconds=0.05
        )


def test_each_partner_connection_gets_its_own_job(bg_lab):
    """Two learners' partner actions share the LabPartner queue: polling with one token
    leaves the other's job for its own token."""
    for name, token in (("mine", "token-a"), ("theirs", "token-b")):
        bg_lab.create(
            name=name,
            stages=[
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Test",
                    "actions": [
                        {
                            "name": "Partner",
                            "actionTypeId": PARTNER,
                            "configuration": {"ProjectId": "p", "ClientToken": token},
                            "inputArtifacts": [{"name": "SourceOutput"}],
                        }
                    ],
                },
            ],
        )
        cp_helpers.wait_for_action(
            bg_lab.cp, name, "Test", "Partner", bg_lab.latest(name), timeout=30, poll_seconds=0.05
        )
    theirs = cp_helpers.poll_for_my_third_party_job(
        bg_lab.cp, PARTNER, "token-b", timeout=10, poll_seconds=0.05
    )
    mine = cp_helpers.poll_for_my_third_party_job(
        bg_lab.cp, PARTNER, "token-a", timeout=10, poll_seconds=0.05
    )
    assert mine["jobId"] != theirs["jobId"]
    details = bg_lab.cp.get_third_party_job_details(jobId=mine["jobId"], clientToken="token-a")
    assert details["jobDetails"]["data"]["pipelineContext"]["pipelineName"] == "mine"


def test_wait_for_trigger(lab):
    lab.create()
    known = cp_helpers.execution_ids(lab.cp, "lab-pipeline")
    lab.cp.start_pipeline_execution(name="lab-pipeline")
    found = cp_helpers.wait_for_trigger(
        lab.cp, "lab-pipeline", "StartPipelineExecution", known, timeout=5, poll_seconds=0.05
    )
    assert found["pipelineExecutionId"] not in known
    with pytest.raises(TimeoutError):
        cp_helpers.wait_for_trigger(
            lab.cp, "lab-pipeline", "Webhook", known, timeout=0.1, poll_seconds=0.05
        )


def test_offline_only(capsys):
    class Kit:
        offline = False

    assert cp_helpers.offline_only(Kit(), "a partner") is False
    assert "Skipped on a real account: a partner" in capsys.readouterr().out
    Kit.offline = True
    assert cp_helpers.offline_only(Kit(), "a partner") is True


def test_tags_of_custom_action_types_and_webhooks(lab):
    cp = lab.cp
    cp.create_custom_action_type(
        category="Test",
        provider="LabChecker",
        version="1",
        configurationProperties=[{"name": "Level", "required": True, "key": True, "secret": False}],
        inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        tags=[{"key": "team", "value": "lab"}],
    )
    arn = "arn:aws:codepipeline:us-east-1:123456789012:actiontype:Custom/Test/LabChecker/1"
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "lab"}]
    cp.tag_resource(resourceArn=arn, tags=[{"key": "more", "value": "x"}])
    cp.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "more", "value": "x"}]

    lab.create()
    hook = cp.put_webhook(
        webhook={
            "name": "hook",
            "targetPipeline": "lab-pipeline",
            "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
            "authentication": "UNAUTHENTICATED",
            "authenticationConfiguration": {},
        },
        tags=[{"key": "team", "value": "lab"}],
    )["webhook"]
    assert cp.list_tags_for_resource(resourceArn=hook["arn"])["tags"] == [
        {"key": "team", "value": "lab"}
    ]

    cp.delete_custom_action_type(category="Test", provider="LabChecker", version="1")
    cp.delete_webhook(name="hook")
    for gone in (
        arn,
        hook["arn"],
        "arn:aws:codepipeline:us-east-1:123456789012:actiontype:Custom/Test/Other/1",
    ):
        with pytest.raises(ClientError) as caught:
            cp.list_tags_for_resource(resourceArn=gone)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
