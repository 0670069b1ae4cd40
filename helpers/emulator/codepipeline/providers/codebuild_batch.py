"""The CodeBuild action with BatchEnabled "true" (action-reference-CodeBuild.md,
sample-pipeline-batch.md): the action runs a batch build of the project on its input
artifacts; its external execution is the batch; a batch that does not succeed fails the
action. CombineArtifacts "true": the builds' primary artifacts go into the action's single
output artifact, one folder per build identifier; otherwise an output named for a build
identifier takes that build's primary artifact, <identifier>_<artifact> a secondary one."""

from __future__ import annotations

from ... import core
from ...codebuild import batches
from ...codebuild.models import CodeBuildLabBackend
from ...codebuild.sources import PipelineArtifact
from .base import ActionContext, ActionFailed
from .codebuild import _variables, _yes


def run(
    ctx: ActionContext,
    backend: CodeBuildLabBackend,
    inputs: dict[str, PipelineArtifact],
    primary: str,
) -> None:
    project = ctx.configuration["ProjectName"]
    combine = _yes(ctx.configuration.get("CombineArtifacts"))
    if combine and len(ctx.outputs) > 1:
        raise ActionFailed(
            "With CombineArtifacts, a batch build action has one output artifact only "
            "(all the builds' artifacts are combined into it)",
            "ConfigurationError",
        )
    params = {
        "projectName": project,
        "sourceTypeOverride": "CODEPIPELINE",
        "artifactsOverride": {"type": "CODEPIPELINE"},
        "environmentVariablesOverride": _variables(ctx.configuration.get("EnvironmentVariables")),
        "buildBatchConfigOverride": {"combineArtifacts": combine},
    }
    outputs = {name: (loc.bucket, loc.key) for name, loc in ctx.outputs.items()}
    try:
        batch = batches.start(
            backend,
            params,
            f"codepipeline/{ctx.pipeline_name}",
            pipeline=batches.PipelineRun(inputs, outputs, primary),
        )
    except core.AwsError as error:
        raise ActionFailed(
            f"Could not start a batch build of {project}: {error.message}", "ConfigurationError"
        ) from None
    ctx.report(
        external_id=batch.id, url=ctx.console("codebuild", f"/build-batches/{batch.id}/view")
    )
    if not batch.wait(ctx.timeout):
        batch.request_stop()
        raise ActionFailed(f"Batch build {batch.id} did not finish within the action's timeout")
    if batch.status != "SUCCEEDED":
        raise ActionFailed(_failure(batch))


def _failure(batch: batches.BuildBatch) -> str:
    text = f"Build batch terminated with state: {batch.status}."
    failed = next((p for p in batch.phases if p.status not in (None, "SUCCEEDED")), None)
    if failed is not None and failed.contexts:
        text += f" Phase: {failed.type}, Message: {failed.contexts[0].get('message', '')}"
    builds = [
        f"{identifier}: {group.current.status}"
        for identifier, group in batch.groups.items()
        if group.current is not None and group.current.status != "SUCCEEDED"
    ]
    if builds:
        text += " Builds not succeeded: " + ", ".join(builds)
    return text
