"""Lambda invoke action: the function runs for real (awslambda/runtime.py) on the job event
AWS documents (actions-invoke-lambda-function.md: CodePipeline.job with its id, accountId
and data: the action configuration with UserParameters, input and output artifacts in S3,
artifact credentials, a continuation token) and reports with PutJobSuccessResult or
PutJobFailureResult through the local server, as AWS's tutorial function does.

The action succeeds on a success result (its outputVariables become the action's; one with
a continuationToken invokes the function again with the token), fails on a failure result
or when the function fails (an unhandled error, a timeout), and otherwise "hangs until the
action times out" (action-reference-Lambda.md).
"""

from __future__ import annotations

import functools
import json

from ... import moto_backends
from ...awslambda import runtime as lambda_runtime
from .. import jobs
from .base import ActionContext, ActionFailed, Runner
from .job_worker import job_data_for

# What the job event's data holds (the documented example): GetJobDetails shows the rest.
EVENT_DATA = (
    "actionConfiguration",
    "inputArtifacts",
    "outputArtifacts",
    "artifactCredentials",
    "continuationToken",
    "encryptionKey",
)


def _backend(ctx: ActionContext):
    from ..models import codepipeline_lab_backends

    return codepipeline_lab_backends[ctx.account][ctx.pipeline_arn.split(":")[3] or ctx.region]


def _finished(job: jobs.Job) -> bool:
    return job.final


def job_event(job: jobs.Job) -> dict:
    """The event CodePipeline invokes the function with."""
    data = {key: job.data[key] for key in EVENT_DATA if key in job.data}
    return {"CodePipeline.job": {"id": job.id, "accountId": job.account, "data": data}}


def run(ctx: ActionContext) -> None:
    name = ctx.configuration["FunctionName"]
    function = moto_backends.lambda_function(ctx.account, ctx.region, name)
    if function is None:
        raise ActionFailed(f"The Lambda function {name} does not exist", "ConfigurationError")
    backend = _backend(ctx)
    continuation = None
    while True:
        job = _open_job(ctx, backend, continuation)
        invocation = _invoke(ctx, function, job)
        ctx.report(
            external_id=invocation.request_id,
            url=ctx.console("lambda", f"/functions/{function.name}"),
        )
        if invocation.function_error and not job.final:
            backend.jobs.time_out(job)
            error = invocation.error or {}
            raise ActionFailed(
                f"The Lambda function {function.name} failed: "
                f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}",
                "JobFailed",
            )
        try:
            done = ctx.wait_until(functools.partial(_finished, job), ctx.timeout)
        except BaseException:
            job.abandoned = True  # stopped with abandon, or the pipeline was updated
            raise
        if not done:
            backend.jobs.time_out(job)
            raise ActionFailed(
                f"The AWS Lambda function {function.name} failed to return a result. Check "
                "the function to verify that it has permission to call the "
                "PutJobSuccessResult action and that it made a call to PutJobSuccessResult.",
                "JobFailed",
            )
        if job.status == "Failed":
            failure = job.failure or {}
            raise ActionFailed(
                failure.get("message") or "The Lambda function reported a failure",
                failure.get("type") or "JobFailed",
            )
        result = job.success or {}
        details = result.get("executionDetails") or {}
        if details:
            ctx.report(
                external_id=details.get("externalExecutionId") or invocation.request_id,
                summary=details.get("summary"),
                percent=details.get("percentComplete"),
            )
        continuation = result.get("continuationToken")
        if not continuation:
            ctx.output_variables.update(result.get("outputVariables") or {})
            return


def _open_job(ctx: ActionContext, backend, continuation: str | None) -> jobs.Job:
    data = job_data_for(ctx, continuation)
    job = backend.jobs.add(
        jobs.Job(
            account=ctx.account,
            type_id=dict(ctx.action_type_id),
            data=data,
            cond=ctx.condition,
            configuration=dict(ctx.configuration),
        )
    )
    with job.cond:
        job.status = "InProgress"  # handed to the function: no job worker polls it
    return job


def _invoke(
    ctx: ActionContext, function: moto_backends.LambdaFunction, job: jobs.Job
) -> lambda_runtime.Invocation:
    try:
        return lambda_runtime.invoke(function, json.dumps(job_event(job)))
    except lambda_runtime.InvocationRefused as refusal:
        _backend(ctx).jobs.time_out(job)
        raise ActionFailed(refusal.message, "ConfigurationError") from None


RUNNER = Runner(run, panel="action-log")  # the function's log group


# --- the LambdaInvoke condition rule ----------------------------------------------------------


def evaluate_rule(account: str, region: str, configuration: dict) -> str:
    """A LambdaInvoke rule: the function runs on a job event (rule-reference-LambdaInvoke.md
    documents only FunctionName and UserParameters). A failure result or an unhandled error
    fails the rule; a success result, or a clean return without a result, passes it (the
    function's process has ended: nothing else reports for it).
    Raises RuleFailed (imported late: rules.py imports this module's package)."""
    import threading

    from ..models import codepipeline_lab_backends
    from ..rules import RuleFailed

    name = configuration.get("FunctionName", "")
    function = moto_backends.lambda_function(account, region, name)
    if function is None:
        raise RuleFailed(f"The Lambda function {name} does not exist", "ConfigurationError")
    queue = codepipeline_lab_backends[account][region].jobs
    type_id = {"category": "Rule", "owner": "AWS", "provider": "LambdaInvoke", "version": "1"}
    # The rule's input artifacts do not reach a rule's evaluation offline: none are listed.
    data = {
        "actionConfiguration": {"configuration": dict(configuration)},
        "inputArtifacts": [],
        "outputArtifacts": [],
        "artifactCredentials": jobs.artifact_credentials(),
    }
    job = queue.add(jobs.Job(account, type_id, data, threading.Condition(), dict(configuration)))
    with job.cond:
        job.status = "InProgress"
    try:
        invocation = lambda_runtime.invoke(function, json.dumps(job_event(job)))
    except lambda_runtime.InvocationRefused as refusal:
        queue.time_out(job)
        raise RuleFailed(refusal.message, "ConfigurationError") from None
    if job.status == "Failed":
        raise RuleFailed(
            (job.failure or {}).get("message") or "The Lambda function failed the rule"
        )
    if job.status == "Succeeded":
        return f"The Lambda function {function.name} reported success"
    queue.time_out(job)
    if invocation.function_error:
        error = invocation.error or {}
        raise RuleFailed(
            f"The Lambda function {function.name} failed: "
            f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        )
    return f"The Lambda function {function.name} returned {invocation.payload.decode()[:200]}"
