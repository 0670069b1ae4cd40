"""The Lambda invoke action: a function reports with PutJobSuccessResult/PutJobFailureResult
through the local server, as AWS's tutorial function does (actions-invoke-lambda-function.md)."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pytest

from tests.pipelines import ROLE, create_role
from tests.test_lambda import zipped

# AWS's tutorial function, in Python: it reads UserParameters and reports the job's result.
TUTORIAL_FUNCTION = """
import boto3

codepipeline = boto3.client("codepipeline")


def lambda_handler(event, context):
    job = event["CodePipeline.job"]
    job_id = job["id"]
    params = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    artifacts = [a["name"] for a in job["data"]["inputArtifacts"]]
    if params == "fail":
        codepipeline.put_job_failure_result(
            jobId=job_id,
            failureDetails={"type": "JobFailed", "message": "the site did not answer",
                            "externalExecutionId": context.aws_request_id},
        )
    elif params == "crash":
        raise RuntimeError("the function crashed")
    elif params == "silent":
        return "forgot to report"
    elif params == "continue" and "continuationToken" not in job["data"]:
        codepipeline.put_job_success_result(jobId=job_id, continuationToken="step-2")
    elif params == "continue":
        token = job["data"]["continuationToken"]
        codepipeline.put_job_success_result(jobId=job_id, outputVariables={"token": token})
    else:
        codepipeline.put_job_success_result(
            jobId=job_id, outputVariables={"checked": params, "inputs": ",".join(artifacts)}
        )
    return "done"
"""


@pytest.fixture
def setup(server_client, background):
    suffix = uuid.uuid4().hex[:8]
    iam, s3, lam = server_client("iam"), server_client("s3"), server_client("lambda")
    create_role(iam)
    role = iam.create_role(
        RoleName=f"fn-{suffix}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    function = f"check-{suffix}"
    lam.create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zipped({"lambda_function.py": TUTORIAL_FUNCTION})},
        Timeout=30,
    )
    source, artifacts = f"src-{suffix}", f"art-{suffix}"
    for bucket in (source, artifacts):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "hello")
    s3.put_object(Bucket=source, Key="app.zip", Body=buffer.getvalue())
    return server_client("codepipeline"), function, source, artifacts, suffix


def _pipeline(
    cp, name: str, function: str, source: str, artifacts: str, params: str, rule: str = ""
) -> str:
    gate = {
        "beforeEntry": {
            "conditions": [
                {
                    "rules": [
                        {
                            "name": "LambdaGate",
                            "ruleTypeId": {"category": "Rule", "provider": "LambdaInvoke"},
                            "configuration": {"FunctionName": function, "UserParameters": rule},
                        }
                    ]
                }
            ]
        }
    }
    cp.create_pipeline(
        pipeline={
            "pipelineType": "V2",
            "name": name,
            "roleArn": ROLE,
            "artifactStore": {"type": "S3", "location": artifacts},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "Source",
                            "actionTypeId": {
                                "category": "Source",
                                "owner": "AWS",
                                "provider": "S3",
                                "version": "1",
                            },
                            "configuration": {
                                "S3Bucket": source,
                                "S3ObjectKey": "app.zip",
                                "PollForSourceChanges": "false",
                            },
                            "outputArtifacts": [{"name": "SourceOutput"}],
                        }
                    ],
                },
                {
                    "name": "Test",
                    "actions": [
                        {
                            "name": "Check",
                            "namespace": "CheckVariables",
                            "actionTypeId": {
                                "category": "Invoke",
                                "owner": "AWS",
                                "provider": "Lambda",
                                "version": "1",
                            },
                            "configuration": {"FunctionName": function, "UserParameters": params},
                            "inputArtifacts": [{"name": "SourceOutput"}],
                        }
                    ],
                    **(gate if rule else {}),
                },
            ],
        }
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        if summaries and summaries[0]["status"] not in ("InProgress",):
            return summaries[0]["pipelineExecutionId"]
        time.sleep(0.05)
    raise AssertionError("the pipeline did not finish")


def _check_action(cp, name: str, execution_id: str) -> dict:
    details = cp.list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    return next(d for d in details if d["actionName"] == "Check")


def test_the_function_reports_success_with_output_variables(setup):
    cp, function, source, artifacts, suffix = setup
    name = f"ok-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "http://example.com")
    execution = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["status"] == "Succeeded"
    action = _check_action(cp, name, execution_id)
    assert action["status"] == "Succeeded"
    variables = action["output"]["outputVariables"]
    assert variables == {"checked": "http://example.com", "inputs": "SourceOutput"}


def test_the_function_reports_failure(setup):
    cp, function, source, artifacts, suffix = setup
    name = f"fail-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "fail")
    action = _check_action(cp, name, execution_id)
    assert action["status"] == "Failed"
    error = action["output"]["executionResult"]["errorDetails"]
    assert error == {"code": "JobFailed", "message": "the site did not answer"}


def test_a_function_that_crashes_fails_the_action(setup):
    cp, function, source, artifacts, suffix = setup
    name = f"crash-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "crash")
    action = _check_action(cp, name, execution_id)
    assert action["status"] == "Failed"
    error = action["output"]["executionResult"]["errorDetails"]
    assert "RuntimeError: the function crashed" in error["message"]


@pytest.mark.parametrize("verdict, status", [("go", "Succeeded"), ("fail", "Failed")])
def test_a_lambda_invoke_rule_gates_the_stage(setup, verdict, status):
    cp, function, source, artifacts, suffix = setup
    name = f"gate-{verdict}-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "ok", rule=verdict)
    rules = cp.list_rule_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id}
    )["ruleExecutionDetails"]
    assert [r["status"] for r in rules] == [status]
    execution = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["status"] == status
    if status == "Failed":
        assert (
            "the site did not answer"
            in rules[0]["output"]["executionResult"]["externalExecutionSummary"]
        )


def test_a_continuation_token_invokes_the_function_again(setup):
    cp, function, source, artifacts, suffix = setup
    name = f"cont-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "continue")
    action = _check_action(cp, name, execution_id)
    assert action["status"] == "Succeeded"
    assert action["output"]["outputVariables"] == {"token": "step-2"}


def test_a_function_that_never_reports_fails_at_the_action_timeout(setup, monkeypatch):
    monkeypatch.setenv("LAB_CODEPIPELINE_TIMEOUT_SCALE", "0.001")  # 60 minutes: 3.6 s
    cp, function, source, artifacts, suffix = setup
    name = f"silent-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "silent")
    action = _check_action(cp, name, execution_id)
    assert action["status"] == "Failed"
    message = action["output"]["executionResult"]["errorDetails"]["message"]
    assert "failed to return a result" in message


def test_the_pipeline_view_tails_the_functions_log(setup):
    from helpers import views

    cp, function, source, artifacts, suffix = setup
    name = f"view-{suffix}"
    execution_id = _pipeline(cp, name, function, source, artifacts, "http://example.com")
    request_id = _check_action(cp, name, execution_id)["output"]["executionResult"][
        "externalExecutionId"
    ]
    view = views.pipeline_view(cp, name)
    panel = view._panels[("Test", "Check")].value
    view.close()
    assert f"/aws/lambda/{function}" in panel
    assert f"REPORT RequestId: {request_id}" in panel
