"""Every CodePipeline operation of the botocore model is served by the kit's handlers (not
moto's "not implemented") and answers a basic call with a reply that fits its shape."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.codepipeline.responses import CodePipelineResponse

from helpers.emulator.codepipeline.handlers import CodePipelineHandlers
from helpers.emulator.core import _snake
from tests.pipelines import ROLE, approval_action, source_action

OPERATIONS = boto3.client(
    "codepipeline", region_name="us-east-1"
).meta.service_model.operation_names
CHECKER = {"category": "Test", "owner": "Custom", "provider": "AllOps", "version": "1"}
PARTNER = {"category": "Test", "owner": "ThirdParty", "provider": "LabPartner", "version": "1"}


def test_the_model_has_44_operations_and_the_kit_serves_each():
    assert len(OPERATIONS) == 44
    for operation in OPERATIONS:
        name = _snake(operation)
        assert name in vars(CodePipelineHandlers), f"{operation} has no kit handler"
        served = getattr(CodePipelineResponse, name)
        assert getattr(served, "__wrapped__", None) is vars(CodePipelineHandlers)[name], (
            f"{operation} is still moto's"
        )


def test_every_operation_answers_a_basic_call(lab):
    cp = lab.cp
    called: set[str] = set()

    def call(operation: str, **params):
        called.add(operation)
        return getattr(cp, _snake(operation))(**params)

    call(
        "CreateCustomActionType",
        category="Test",
        provider="AllOps",
        version="1",
        configurationProperties=[
            {"name": "Level", "required": False, "key": False, "secret": False}
        ],
        inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
    )
    pipeline = {
        "name": "lab-pipeline",
        "roleArn": ROLE,
        "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "lab-artifacts"},
        "stages": [
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Check",
                "actions": [
                    {
                        "name": "Check",
                        "actionTypeId": CHECKER,
                        "inputArtifacts": [{"name": "SourceOutput"}],
                    },
                    {
                        "name": "Partner",
                        "actionTypeId": PARTNER,
                        "configuration": {"ProjectId": "p", "ClientToken": "token"},
                    },
                ],
            },
            {"name": "Approve", "actions": [approval_action()]},
        ],
    }
    call("CreatePipeline", pipeline=pipeline, tags=[{"key": "k", "value": "v"}])
    first = lab.latest()
    call("GetPipeline", name="lab-pipeline")
    call("ListPipelines")
    call("GetPipelineState", name="lab-pipeline")
    call("GetPipelineExecution", pipelineName="lab-pipeline", pipelineExecutionId=first)
    call("ListPipelineExecutions", pipelineName="lab-pipeline")
    call("ListActionExecutions", pipelineName="lab-pipeline")
    call("ListActionTypes")
    call("GetActionType", **CHECKER)
    declaration = cp.get_action_type(**CHECKER)["actionType"]
    call("UpdateActionType", actionType=declaration)

    [job] = call("PollForJobs", actionTypeId=CHECKER)["jobs"]
    call("AcknowledgeJob", jobId=job["id"], nonce=job["nonce"])
    call("GetJobDetails", jobId=job["id"])
    call("PutJobSuccessResult", jobId=job["id"], continuationToken="more")
    [job] = cp.poll_for_jobs(actionTypeId=CHECKER)["jobs"]
    call(
        "PutJobFailureResult",
        jobId=job["id"],
        failureDetails={"type": "JobFailed", "message": "no"},
    )

    [third] = call("PollForThirdPartyJobs", actionTypeId=PARTNER)["jobs"]
    details = call("GetThirdPartyJobDetails", jobId=third["jobId"], clientToken="token")
    call(
        "AcknowledgeThirdPartyJob",
        jobId=third["jobId"],
        clientToken="token",
        nonce=details["jobDetails"]["nonce"],
    )
    call(
        "PutThirdPartyJobSuccessResult",
        jobId=third["jobId"],
        clientToken="token",
        continuationToken="c",
    )
    [third] = cp.poll_for_third_party_jobs(actionTypeId=PARTNER)["jobs"]
    call(
        "PutThirdPartyJobFailureResult",
        jobId=third["jobId"],
        clientToken="token",
        failureDetails={"type": "JobFailed", "message": "no"},
    )
    assert lab.execution(first)["status"] == "Failed"

    call(
        "RetryStageExecution",
        pipelineName="lab-pipeline",
        stageName="Check",
        pipelineExecutionId=first,
        retryMode="FAILED_ACTIONS",
    )
    [job] = cp.poll_for_jobs(actionTypeId=CHECKER)["jobs"]
    cp.put_job_success_result(jobId=job["id"])
    [third] = cp.poll_for_third_party_jobs(actionTypeId=PARTNER)["jobs"]
    cp.put_third_party_job_success_result(jobId=third["jobId"], clientToken="token")
    token = lab.action_state("Approve", "Approve")["latestExecution"]["token"]
    call(
        "PutApprovalResult",
        pipelineName="lab-pipeline",
        stageName="Approve",
        actionName="Approve",
        result={"summary": "ok", "status": "Approved"},
        token=token,
    )
    assert lab.execution(first)["status"] == "Succeeded"

    call(
        "DisableStageTransition",
        pipelineName="lab-pipeline",
        stageName="Approve",
        transitionType="Inbound",
        reason="hold",
    )
    call(
        "EnableStageTransition",
        pipelineName="lab-pipeline",
        stageName="Approve",
        transitionType="Inbound",
    )
    second = call("StartPipelineExecution", name="lab-pipeline")["pipelineExecutionId"]
    call(
        "StopPipelineExecution",
        pipelineName="lab-pipeline",
        pipelineExecutionId=second,
        abandon=True,
        reason="enough",
    )
    call(
        "RollbackStage",
        pipelineName="lab-pipeline",
        stageName="Check",
        targetPipelineExecutionId=first,
    )
    with pytest.raises(ClientError) as caught:
        call(
            "OverrideStageCondition",
            pipelineName="lab-pipeline",
            stageName="Check",
            pipelineExecutionId=first,
            conditionType="BEFORE_ENTRY",
        )
    assert caught.value.response["Error"]["Code"] == "ConditionNotOverridableException"
    call("ListRuleTypes")
    call("ListRuleExecutions", pipelineName="lab-pipeline")
    action_id = lab.action_state("Check", "Check")["latestExecution"]["actionExecutionId"]
    call(
        "ListDeployActionExecutionTargets", pipelineName="lab-pipeline", actionExecutionId=action_id
    )
    commit = lab.commit("message.txt", "v9")
    call(
        "PutActionRevision",
        pipelineName="lab-pipeline",
        stageName="Source",
        actionName="Source",
        actionRevision={"revisionId": commit, "revisionChangeId": commit, "created": 1700000000},
    )

    call(
        "PutWebhook",
        webhook={
            "name": "hook",
            "targetPipeline": "lab-pipeline",
            "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref"}],
            "authentication": "UNAUTHENTICATED",
            "authenticationConfiguration": {},
        },
    )
    call("ListWebhooks")
    call("RegisterWebhookWithThirdParty", webhookName="hook")
    call("DeregisterWebhookWithThirdParty", webhookName="hook")
    call("DeleteWebhook", name="hook")

    arn = cp.get_pipeline(name="lab-pipeline")["metadata"]["pipelineArn"]
    call("TagResource", resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    call("ListTagsForResource", resourceArn=arn)
    call("UntagResource", resourceArn=arn, tagKeys=["a"])
    call("UpdatePipeline", pipeline=cp.get_pipeline(name="lab-pipeline")["pipeline"])
    call("DeleteCustomActionType", category="Test", provider="AllOps", version="1")
    call("DeletePipeline", name="lab-pipeline")
    assert called == set(OPERATIONS)


def test_new_operations_over_http(server_client):
    cp = server_client("codepipeline")
    assert {t["id"]["provider"] for t in cp.list_rule_types()["ruleTypes"]} >= {"VariableCheck"}
    assert "webhooks" in cp.list_webhooks()
    with pytest.raises(ClientError) as caught:
        cp.get_job_details(jobId="00000000-0000-0000-0000-000000000000")
    assert caught.value.response["Error"]["Code"] == "JobNotFoundException"
    with pytest.raises(ClientError) as caught:
        cp.list_deploy_action_execution_targets(actionExecutionId="nope")
    assert caught.value.response["Error"]["Code"] == "ActionExecutionNotFoundException"


APPSPEC = """version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/html
"""


def test_deploy_action_targets(lab, client):
    ec2, cd = client("ec2"), client("codedeploy")
    [instance] = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Env", "Value": "lab"}]}
            ],
        )["Instances"]
    ]
    cd.create_application(applicationName="web", computePlatform="Server")
    cd.create_deployment_group(
        applicationName="web",
        deploymentGroupName="prod",
        serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployRole",
        ec2TagFilters=[{"Key": "Env", "Value": "lab", "Type": "KEY_AND_VALUE"}],
    )
    lab.commit("appspec.yml", APPSPEC)
    lab.commit("site/index.html", "<h1>hi</h1>")
    execution_id = lab.create(
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
    assert lab.wait(execution_id)["status"] == "Succeeded"
    deploy = lab.actions(execution_id)["Deploy"]
    targets = lab.cp.list_deploy_action_execution_targets(
        pipelineName="lab-pipeline", actionExecutionId=deploy["actionExecutionId"]
    )["targets"]
    [target] = targets
    assert target["targetId"] == instance and target["targetType"] == "EC2Instance"
    assert target["status"] == "Succeeded" and target["startTime"] and target["endTime"]
    names = [event["name"] for event in target["events"]]
    assert names[:2] == ["ApplicationStop", "DownloadBundle"]
    assert (
        lab.cp.list_deploy_action_execution_targets(
            actionExecutionId=deploy["actionExecutionId"],
            filters=[{"name": "TARGET_STATUS", "values": ["Failed"]}],
        )["targets"]
        == []
    )
