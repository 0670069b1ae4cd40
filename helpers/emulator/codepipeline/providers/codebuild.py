"""CodeBuild build or test: a real local build of the project on the input artifacts; its
exported variables become the action's output variables; output artifacts are zipped
into the artifact store by the build itself."""

from __future__ import annotations

import json

from ... import core
from ...codebuild.sources import PipelineArtifact
from .. import exceptions as err
from .base import ActionContext, ActionFailed, Runner


def run(ctx: ActionContext) -> None:
    from ...codebuild.models import codebuild_lab_backends

    backend = codebuild_lab_backends[ctx.account][ctx.region]
    project = ctx.configuration["ProjectName"]
    inputs = {
        name: PipelineArtifact(
            bucket=loc.bucket, key=loc.key, revision=ctx.input_revisions.get(name)
        )
        for name, loc in ctx.inputs.items()
    }
    primary = ctx.configuration.get("PrimarySource")
    if primary and primary not in inputs:
        raise ActionFailed(
            f"PrimarySource {primary} is not an input artifact of the action", "ConfigurationError"
        )
    if _yes(ctx.configuration.get("BatchEnabled")):
        from . import codebuild_batch

        codebuild_batch.run(ctx, backend, inputs, primary or next(iter(inputs), ""))
        return
    try:
        build = backend.start_pipeline_build(
            project,
            inputs,
            {name: (loc.bucket, loc.key) for name, loc in ctx.outputs.items()},
            ctx.pipeline_name,
            primary_source=primary,
            environment_variables=_variables(ctx.configuration.get("EnvironmentVariables")),
        )
    except core.AwsError as error:
        raise ActionFailed(
            f"Could not start a build of {project}: {error.message}", "ConfigurationError"
        ) from None
    ctx.report(external_id=build.id, url=ctx.console("codebuild", f"/builds/{build.id}/view/new"))
    if not build.wait(ctx.timeout):
        build.request_stop()
        raise ActionFailed(f"Build {build.id} did not finish within the action's timeout")
    if build.status != "SUCCEEDED":
        raise ActionFailed(_failure(build))
    ctx.output_variables.update({v["name"]: v["value"] for v in build.exported_variables})


def _yes(value: str | None) -> bool:
    return str(value or "").strip().lower() == "true"


def _variables(text: str | None) -> list[dict]:
    if not text:
        return []
    return [
        {"name": v["name"], "value": str(v["value"]), "type": v.get("type", "PLAINTEXT")}
        for v in json.loads(text)
    ]


def _failure(build) -> str:
    failed = next((p for p in build.phases if p.status not in (None, "SUCCEEDED")), None)
    text = f"Build terminated with state: {build.status}."
    if failed is not None:
        context = (failed.contexts or [{}])[0]
        text += (
            f" Phase: {failed.type}, Code: {context.get('statusCode', '')}, "
            f"Message: {context.get('message', '')}"
        )
    return text


def check_configuration(name: str, configuration: dict) -> None:
    """EnvironmentVariables, if given, is a JSON list of {name, value, type} (CreatePipeline)."""
    if _yes(configuration.get("CombineArtifacts")) and not _yes(configuration.get("BatchEnabled")):
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}': CombineArtifacts needs BatchEnabled true"
        )
    text = configuration.get("EnvironmentVariables")
    if not text:
        return
    try:
        variables = json.loads(text)
    except ValueError:
        variables = None
    if not isinstance(variables, list) or not all(
        isinstance(v, dict) and "name" in v and "value" in v for v in variables
    ):
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}': EnvironmentVariables must be a JSON "
            'list of {"name": ..., "value": ..., "type": ...} objects'
        )


RUNNER = Runner(run, check=check_configuration, panel="build-log")
