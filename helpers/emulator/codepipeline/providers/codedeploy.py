"""CodeDeploy deploy: a real local deployment of the input artifact (a zip in the artifact
store) to the deployment group; the action ends with the deployment."""

from __future__ import annotations

import time

from ... import core
from .base import ActionContext, ActionFailed

POLL_SECONDS = 0.02


def run(ctx: ActionContext) -> None:
    from ...codedeploy.models import codedeploy_lab_backends

    backend = codedeploy_lab_backends[ctx.account][ctx.region]
    [location] = ctx.inputs.values()
    application = ctx.configuration["ApplicationName"]
    group = ctx.configuration["DeploymentGroupName"]
    params = {"applicationName": application, "deploymentGroupName": group,
              "revision": {"revisionType": "S3", "s3Location": {
                  "bucket": location.bucket, "key": location.key, "bundleType": "zip"}},
              "description": f"Deployment by CodePipeline {ctx.pipeline_name} "
                             f"({ctx.execution_id})"}
    try:
        deployment = backend.create_deployment(params)
    except core.AwsError as error:
        raise ActionFailed(f"Could not create a deployment to {application}/{group}: "
                           f"{error.message}", "ConfigurationError") from None
    deployment_id = deployment.deployment_id
    ctx.report(external_id=deployment_id,
               url=ctx.console("codedeploy", f"/deployments/{deployment_id}"))
    deadline = time.monotonic() + ctx.timeout
    while not deployment.finished:  # the deployment's own worker moves it on
        if time.monotonic() > deadline:
            raise ActionFailed(f"Deployment {deployment_id} did not finish within the "
                               "action's timeout")
        time.sleep(POLL_SECONDS)
    if deployment.status != "Succeeded":
        info = deployment.error_information or {}
        raise ActionFailed(f"Deployment {deployment_id} {deployment.status.lower()}: "
                           f"{info.get('message', 'see the deployment in CodeDeploy')}")
    ctx.report(summary=f"Deployment {deployment_id} succeeded")
