"""CodeDeploy deploy: a real local deployment of the input artifact (a zip in the artifact
store) to the deployment group; the action ends with the deployment."""

from __future__ import annotations

import time

from ... import core
from .base import ActionContext, ActionFailed, Runner

POLL_SECONDS = 0.02


def run(ctx: ActionContext) -> None:
    from ...codedeploy.models import codedeploy_lab_backends

    backend = codedeploy_lab_backends[ctx.account][ctx.region]
    [location] = ctx.inputs.values()
    application = ctx.configuration["ApplicationName"]
    group = ctx.configuration["DeploymentGroupName"]
    params = {
        "applicationName": application,
        "deploymentGroupName": group,
        "revision": {
            "revisionType": "S3",
            "s3Location": {"bucket": location.bucket, "key": location.key, "bundleType": "zip"},
        },
        "description": f"Deployment by CodePipeline {ctx.pipeline_name} ({ctx.execution_id})",
    }
    try:
        deployment = backend.create_deployment(params)
    except core.AwsError as error:
        raise ActionFailed(
            f"Could not create a deployment to {application}/{group}: {error.message}",
            "ConfigurationError",
        ) from None
    deployment_id = deployment.deployment_id
    ctx.report(
        external_id=deployment_id, url=ctx.console("codedeploy", f"/deployments/{deployment_id}")
    )
    deadline = time.monotonic() + ctx.timeout
    while not deployment.finished:  # the deployment's own worker moves it on
        if time.monotonic() > deadline:
            raise ActionFailed(
                f"Deployment {deployment_id} did not finish within the action's timeout"
            )
        time.sleep(POLL_SECONDS)
    if deployment.status != "Succeeded":
        info = deployment.error_information or {}
        raise ActionFailed(
            f"Deployment {deployment_id} {deployment.status.lower()}: "
            f"{info.get('message', 'see the deployment in CodeDeploy')}"
        )
    ctx.report(summary=f"Deployment {deployment_id} succeeded")


def targets(account: str, region: str, deployment_id: str) -> list[dict]:
    """The instances of the action's deployment, as ListDeployActionExecutionTargets
    reports them."""
    from ...codedeploy.models import codedeploy_lab_backends

    try:
        deployment = codedeploy_lab_backends[account][region].get_deployment(deployment_id)
    except Exception:
        return []
    return [_target(target) for target in deployment.targets.values()]


def _target(target) -> dict:
    events = [
        core.compact(
            {
                "name": e.name,
                "status": e.status,
                "startTime": e.start_time,
                "endTime": e.end_time,
                "context": core.compact({"message": (e.diagnostics or {}).get("message")}) or None,
            }
        )
        for e in target.events
    ]
    starts = [e.start_time for e in target.events if e.start_time]
    ends = [e.end_time for e in target.events if e.end_time]
    return core.compact(
        {
            "targetId": target.target_id,
            "targetType": "OnPremisesInstance"
            if not target.target_id.startswith("i-")
            else "EC2Instance",
            "status": target.status,
            "startTime": min(starts) if starts else None,
            "endTime": max(ends)
            if ends and target.status in ("Succeeded", "Failed", "Skipped")
            else None,
            "events": events,
        }
    )


RUNNER = Runner(run, panel="deployment-events", targets=targets)
