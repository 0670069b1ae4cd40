"""Custom and ThirdParty actions: the work is done by a job worker outside the engine.

The action queues a job and waits for the worker's result. A success with a
continuationToken keeps the action InProgress and queues the next job carrying the token;
a success without one ends the action (output variables, revision); a failure fails it
with the worker's failureDetails. A job nobody finishes within the job timeout (AWS: 24
hours for custom actions, or the type's executor.jobTimeout; scaled by
LAB_CODEPIPELINE_TIMEOUT_SCALE) times out and fails the action.
"""

from __future__ import annotations

import datetime as dt
import functools

from ... import core
from .. import jobs
from .base import ActionContext, ActionFailed, Revision, Runner


def _backend(ctx: ActionContext):
    from ..models import codepipeline_lab_backends

    return codepipeline_lab_backends[ctx.account][ctx.pipeline_arn.split(":")[3]]


def job_data_for(ctx: ActionContext, continuation: str | None) -> dict:
    """The job's data (GetJobDetails' jobDetails.data) for this run of the action."""
    return jobs.job_data(
        type_id=ctx.action_type_id,
        configuration=ctx.configuration,
        pipeline_name=ctx.pipeline_name,
        pipeline_arn=ctx.pipeline_arn,
        stage=ctx.stage_name,
        action=ctx.action_name,
        action_execution_id=ctx.action_execution_id,
        execution_id=ctx.execution_id,
        inputs=ctx.inputs,
        outputs=ctx.outputs,
        input_revisions=ctx.input_revisions,
        continuation=continuation,
        encryption_key=ctx.encryption_key,
    )


def _finished(job: jobs.Job) -> bool:
    return job.final


def run(ctx: ActionContext) -> None:
    backend = _backend(ctx)
    third_party = ctx.action_type_id["owner"] == "ThirdParty"
    client_token = None
    if third_party:
        from .. import action_types

        # Always found: the runtime chose this runner from the same catalogue entry.
        action_type = action_types.find_id(ctx.action_type_id)
        properties = action_type.properties if action_type else ()
        secret = next((p.name for p in properties if p.secret), None)
        client_token = ctx.configuration.get(secret) if secret else None
    continuation = None
    while True:
        data = job_data_for(ctx, continuation)
        job = backend.jobs.add(
            jobs.Job(
                account=ctx.account,
                type_id=dict(ctx.action_type_id),
                data=data,
                cond=ctx.condition,
                configuration=dict(ctx.configuration),
                third_party=third_party,
                client_id=jobs.client_id(ctx.pipeline_arn, ctx.stage_name, ctx.action_name)
                if third_party
                else None,
                client_token=client_token,
            )
        )
        try:
            done = ctx.wait_until(functools.partial(_finished, job), ctx.timeout)
        except BaseException:
            job.abandoned = True  # stopped with abandon, or the pipeline was updated
            raise
        if not done:
            backend.jobs.time_out(job)
            raise ActionFailed(
                f"The action timed out: no job worker finished job {job.id} within the job timeout",
                "JobFailed",
            )
        if job.status == "Failed":
            raise ActionFailed(
                job.failure.get("message") or "The job worker reported a failure",
                job.failure["type"],
            )
        result = job.success or {}
        details = result.get("executionDetails") or {}
        external_id = details.get("externalExecutionId")
        ctx.report(
            external_id=external_id,
            summary=details.get("summary"),
            percent=details.get("percentComplete"),
            url=_execution_url(ctx, external_id),
        )
        continuation = result.get("continuationToken")
        if continuation:
            continue
        ctx.output_variables.update(result.get("outputVariables") or {})
        revision = result.get("currentRevision")
        if revision:
            created = revision.get("created")
            if isinstance(created, (int, float)):
                created = dt.datetime.fromtimestamp(created, dt.timezone.utc)
            ctx.revision = Revision(
                revision["revision"],
                revision["changeIdentifier"],
                created or core.now(),
                revision.get("revisionSummary"),
            )
        return


def _execution_url(ctx: ActionContext, external_id: str | None) -> str | None:
    """externalExecutionUrl from the type's executionUrlTemplate, once the worker names its
    run (actions-create-custom-action.md)."""
    from .. import action_types

    if not external_id:
        return None
    return action_types.execution_url(
        ctx.action_type_id, ctx.configuration, external_id, ctx.account, ctx.region
    )


RUNNER = Runner(run)
