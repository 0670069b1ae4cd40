"""Retrying stages, rolling them back, V2 stage conditions and their rules, PutActionRevision
and stage transitions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.pipelines import approval_action, build_action, s3_deploy_action, source_action

CHECKER = {"category": "Test", "owner": "Custom", "provider": "LabChecker", "version": "1"}


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def create_checker(cp) -> None:
    cp.create_custom_action_type(
        category="Test",
        provider="LabChecker",
        version="1",
        inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
    )


def checker(name: str = "Check") -> dict:
    return {"name": name, "actionTypeId": CHECKER, "inputArtifacts": [{"name": "SourceOutput"}]}


def answer(cp, ok: bool) -> None:
    [job] = cp.poll_for_jobs(actionTypeId=CHECKER)["jobs"]
    if ok:
        cp.put_job_success_result(jobId=job["id"])
    else:
        cp.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": "not yet"}
        )


def runs(lab, execution_id: str, action: str) -> list[dict]:
    details = lab.cp.list_action_executions(
        pipelineName="lab-pipeline", filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    return [d for d in details if d["actionName"] == action]


def retry_pipeline(lab, **extra) -> str:
    create_checker(lab.cp)
    test_stage = {"name": "Test", "actions": [build_action(outputs=()), checker()]}
    test_stage.update(extra.pop("test_stage", {}))
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            test_stage,
            {"name": "Approve", "actions": [approval_action()]},
        ],
        **extra,
    )


def test_retry_failed_actions_continues_the_same_execution(lab):
    execution_id = retry_pipeline(lab)
    answer(lab.cp, ok=False)
    assert lab.execution(execution_id)["status"] == "Failed"
    assert (
        error_code(
            lab.cp.retry_stage_execution,
            pipelineName="lab-pipeline",
            stageName="Source",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )
        == "StageNotRetryableException"
    )
    assert (
        error_code(
            lab.cp.retry_stage_execution,
            pipelineName="lab-pipeline",
            stageName="Nope",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )
        == "StageNotFoundException"
    )
    reply = lab.cp.retry_stage_execution(
        pipelineName="lab-pipeline",
        stageName="Test",
        pipelineExecutionId=execution_id,
        retryMode="FAILED_ACTIONS",
    )
    assert reply["pipelineExecutionId"] == execution_id
    assert lab.execution(execution_id)["status"] == "InProgress"
    state = lab.state()["Test"]
    assert state["latestExecution"]["status"] == "InProgress"
    assert state["retryStageMetadata"] == {
        "manualStageRetryAttempt": 1,
        "latestRetryTrigger": "ManualStageRetry",
    }
    answer(lab.cp, ok=True)
    assert len(runs(lab, execution_id, "Build")) == 1  # succeeded before: not run again
    assert [r["status"] for r in runs(lab, execution_id, "Check")] == ["Succeeded", "Failed"]
    # it went on to the next stage
    assert lab.state()["Approve"]["latestExecution"]["pipelineExecutionId"] == execution_id
    assert lab.execution(execution_id)["status"] == "InProgress"


def test_retry_all_actions_and_errors(lab):
    execution_id = retry_pipeline(lab)
    answer(lab.cp, ok=False)
    lab.cp.retry_stage_execution(
        pipelineName="lab-pipeline",
        stageName="Test",
        pipelineExecutionId=execution_id,
        retryMode="ALL_ACTIONS",
    )
    assert len(runs(lab, execution_id, "Build")) == 2
    answer(lab.cp, ok=False)
    # a later execution fails in the same stage: the first is no longer the latest there
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    answer(lab.cp, ok=False)
    assert lab.execution(second)["status"] == "Failed"
    assert (
        error_code(
            lab.cp.retry_stage_execution,
            pipelineName="lab-pipeline",
            stageName="Test",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )
        == "NotLatestPipelineExecutionException"
    )
    # a changed pipeline structure cannot be retried
    pipeline = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    lab.cp.update_pipeline(pipeline=pipeline)
    assert (
        error_code(
            lab.cp.retry_stage_execution,
            pipelineName="lab-pipeline",
            stageName="Test",
            pipelineExecutionId=second,
            retryMode="FAILED_ACTIONS",
        )
        == "StageNotRetryableException"
    )


def test_automatic_retry_on_failure(lab):
    execution_id = retry_pipeline(
        lab,
        pipelineType="V2",
        test_stage={
            "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}}
        },
    )
    answer(lab.cp, ok=False)
    assert lab.execution(execution_id)["status"] == "InProgress"  # retried by itself
    assert lab.state()["Test"]["retryStageMetadata"]["autoStageRetryAttempt"] == 1
    answer(lab.cp, ok=False)  # one automatic retry only
    assert lab.execution(execution_id)["status"] == "Failed"
    assert (
        lab.state()["Test"]["onFailureConditionState"]["latestExecution"]["status"] == "Succeeded"
    )


def deploy_pipeline(lab, **stage_extra) -> str:
    lab.s3.create_bucket(Bucket="lab-site")
    return lab.create(
        pipelineType="V2",
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Deploy",
                "actions": [s3_deploy_action(inputs=("SourceOutput",), ObjectKey="site")],
                **stage_extra,
            },
        ],
    )


def site(lab) -> bytes:
    return lab.s3.get_object(Bucket="lab-site", Key="site/message.txt")["Body"].read()


def test_rollback_stage_redeploys_an_earlier_execution(lab):
    first = deploy_pipeline(lab)
    lab.commit("message.txt", "v2")
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert site(lab) == b"v2"
    assert (
        error_code(
            lab.cp.rollback_stage,
            pipelineName="lab-pipeline",
            stageName="Source",
            targetPipelineExecutionId=first,
        )
        == "UnableToRollbackStageException"
    )
    assert (
        error_code(
            lab.cp.rollback_stage,
            pipelineName="lab-pipeline",
            stageName="Deploy",
            targetPipelineExecutionId=second,
        )
        == "UnableToRollbackStageException"
    )
    rollback_id = lab.cp.rollback_stage(
        pipelineName="lab-pipeline", stageName="Deploy", targetPipelineExecutionId=first
    )["pipelineExecutionId"]
    assert rollback_id not in (first, second)
    execution = lab.execution(rollback_id)
    assert execution["status"] == "Succeeded"
    assert execution["executionType"] == "ROLLBACK"
    assert execution["trigger"]["triggerType"] == "ManualRollback"
    assert execution["rollbackMetadata"] == {"rollbackTargetPipelineExecutionId": first}
    assert site(lab) == b"v1"
    assert set(lab.actions(rollback_id)) == {"Publish"}  # only the rolled-back stage ran
    assert lab.state()["Deploy"]["latestExecution"]["type"] == "ROLLBACK"
    summary = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ][0]
    assert summary["executionType"] == "ROLLBACK"


def variable_rule(operator: str, value: str) -> dict:
    return {
        "name": "BranchIsMain",
        "ruleTypeId": {
            "category": "Rule",
            "owner": "AWS",
            "provider": "VariableCheck",
            "version": "1",
        },
        "configuration": {
            "Variable": "#{SourceVariables.BranchName}",
            "Operator": operator,
            "Value": value,
        },
    }


def test_before_entry_conditions_fail_or_skip(lab):
    lab.s3.create_bucket(Bucket="lab-site")
    execution_id = lab.create(
        pipelineType="V2",
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Gate",
                "actions": [s3_deploy_action(inputs=("SourceOutput",), ObjectKey="gate")],
                "beforeEntry": {
                    "conditions": [{"result": "SKIP", "rules": [variable_rule("EQ", "release")]}]
                },
            },
            {
                "name": "Deploy",
                "actions": [
                    s3_deploy_action(name="P2", inputs=("SourceOutput",), ObjectKey="site")
                ],
                "beforeEntry": {"conditions": [{"rules": [variable_rule("EQ", "main")]}]},
            },
        ],
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    state = lab.state()
    assert state["Gate"]["latestExecution"]["status"] == "Skipped"
    assert state["Gate"]["beforeEntryConditionState"]["latestExecution"]["status"] == "Failed"
    assert state["Deploy"]["beforeEntryConditionState"]["latestExecution"]["status"] == "Succeeded"
    details = lab.cp.list_rule_executions(
        pipelineName="lab-pipeline", filter={"pipelineExecutionId": execution_id}
    )["ruleExecutionDetails"]
    assert sorted((d["stageName"], d["status"]) for d in details) == [
        ("Deploy", "Succeeded"),
        ("Gate", "Failed"),
    ]
    gate = next(d for d in details if d["stageName"] == "Gate")
    assert gate["input"]["resolvedConfiguration"]["Variable"] == "main"
    assert "false" in gate["output"]["executionResult"]["errorDetails"]["message"]
    types = {t["id"]["provider"] for t in lab.cp.list_rule_types()["ruleTypes"]}
    assert {"VariableCheck", "CloudWatchAlarm", "LambdaInvoke"} <= types


def test_on_success_condition_rolls_back(lab):
    first = deploy_pipeline(lab)
    pipeline = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    pipeline["stages"][1]["onSuccess"] = {
        "conditions": [
            {
                "result": "ROLLBACK",
                "rules": [
                    {
                        "name": "NoBadMessage",
                        "ruleTypeId": {"category": "Rule", "provider": "VariableCheck"},
                        "configuration": {
                            "Variable": "#{SourceVariables.CommitMessage}",
                            "Operator": "NE",
                            "Value": "bad",
                        },
                    }
                ],
            }
        ]
    }
    lab.cp.update_pipeline(pipeline=pipeline)
    good = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.execution(good)["status"] == "Succeeded"
    lab.commit("message.txt", "broken", message="bad")
    bad = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.execution(bad)["status"] == "Failed"
    rollback = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ][0]
    assert rollback["trigger"]["triggerType"] == "AutomatedRollback"
    assert rollback["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == good
    assert lab.wait(rollback["pipelineExecutionId"])["status"] == "Succeeded"
    assert site(lab) == b"v1"
    assert first != good


def test_override_a_waiting_entry_condition(lab, client):
    client("cloudwatch").put_metric_alarm(
        AlarmName="errors",
        MetricName="Errors",
        Namespace="Lab",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    execution_id = deploy_pipeline(
        lab,
        beforeEntry={
            "conditions": [
                {
                    "rules": [
                        {
                            "name": "Quiet",
                            "ruleTypeId": {
                                "category": "Rule",
                                "owner": "AWS",
                                "provider": "CloudWatchAlarm",
                                "version": "1",
                            },
                            "configuration": {"AlarmName": "errors", "WaitTime": "60"},
                        }
                    ]
                }
            ]
        },
    )
    state = lab.state()["Deploy"]["beforeEntryConditionState"]
    assert state["latestExecution"]["status"] == "InProgress"
    assert (
        error_code(
            lab.cp.override_stage_condition,
            pipelineName="lab-pipeline",
            stageName="Deploy",
            pipelineExecutionId=execution_id,
            conditionType="ON_SUCCESS",
        )
        == "ConditionNotOverridableException"
    )
    lab.cp.override_stage_condition(
        pipelineName="lab-pipeline",
        stageName="Deploy",
        pipelineExecutionId=execution_id,
        conditionType="BEFORE_ENTRY",
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    assert (
        lab.state()["Deploy"]["beforeEntryConditionState"]["latestExecution"]["status"]
        == "Overridden"
    )


def test_put_action_revision(lab):
    first = lab.create()
    commit = lab.execution(first)["artifactRevisions"][0]["revisionId"]
    lab.push_rule()
    _, pushed = lab.push("message.txt", "v2")  # the push starts an execution (its rule)
    lab.wait(pushed)
    reply = lab.cp.put_action_revision(
        pipelineName="lab-pipeline",
        stageName="Source",
        actionName="Source",
        actionRevision={"revisionId": commit, "revisionChangeId": commit, "created": 1700000000},
    )
    assert reply["newRevision"] is True
    assert reply["pipelineExecutionId"] not in (first, pushed)
    execution = lab.execution(reply["pipelineExecutionId"])
    assert execution["trigger"] == {"triggerType": "PutActionRevision", "triggerDetail": "Source"}
    assert execution["artifactRevisions"][0]["revisionId"] == commit
    same = lab.cp.put_action_revision(
        pipelineName="lab-pipeline",
        stageName="Source",
        actionName="Source",
        actionRevision={"revisionId": commit, "revisionChangeId": commit, "created": 1700000000},
    )
    assert same["newRevision"] is False
    assert (
        error_code(
            lab.cp.put_action_revision,
            pipelineName="lab-pipeline",
            stageName="Source",
            actionName="Nope",
            actionRevision={"revisionId": "x", "revisionChangeId": "x", "created": 1},
        )
        == "ActionNotFoundException"
    )
    assert (
        error_code(
            lab.cp.put_action_revision,
            pipelineName="lab-pipeline",
            stageName="Build",
            actionName="Build",
            actionRevision={"revisionId": "x", "revisionChangeId": "x", "created": 1},
        )
        == "ValidationException"
    )


def test_outbound_transition_waiting_execution_is_superseded(lab):
    lab.create()
    lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline",
        stageName="Source",
        transitionType="Outbound",
        reason="release freeze",
    )
    state = lab.state()["Build"]["inboundTransitionState"]
    assert state["enabled"] is False and state["disabledReason"] == "release freeze"
    assert state["lastChangedBy"].startswith("arn:aws:iam::") and state["lastChangedAt"]
    older = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    newer = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    assert lab.execution(older)["status"] == "Superseded"
    assert lab.state()["Build"]["inboundExecution"]["pipelineExecutionId"] == newer
    assert (
        error_code(
            lab.cp.disable_stage_transition,
            pipelineName="lab-pipeline",
            stageName="Build",
            transitionType="Outbound",
            reason="x",
        )
        == "ValidationException"
    )
    lab.cp.enable_stage_transition(
        pipelineName="lab-pipeline", stageName="Source", transitionType="Outbound"
    )
    assert lab.execution(newer)["status"] == "Succeeded"
    assert lab.state()["Build"]["inboundTransitionState"]["enabled"] is True
