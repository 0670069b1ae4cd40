"""The Commands action (Compute, AWS, Commands, 1; V2 pipelines only): the action's
`commands` run as a small build on CodePipeline-managed compute (action-reference-Commands.md).

Offline it is a build of the kit's CodeBuild runtime without a project
(codebuild.start_managed_build): the buildspec is made from the declaration (the commands
in the BUILD phase, `outputVariables` as exported-variables, the output artifact's `files`
as the artifact files), the first input artifact is the primary source and the others are
secondary ones (CODEBUILD_SRC_DIR_<name>), `environmentVariables` are the build's, and the
log goes line by line to CloudWatch Logs, group /aws/codepipeline/<pipeline>, linked from
the action execution (logStreamARN). The commands are the learner's to run, like a
buildspec's; what the declaration names (variables, file patterns) is checked at
CreatePipeline (check_action) and again here.
"""

from __future__ import annotations

import json
import re

from ... import core
from ...codebuild.sources import PipelineArtifact
from .. import exceptions as err
from .base import ActionContext, ActionFailed, Runner

LOG_GROUP_PREFIX = "/aws/codepipeline/"
SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_OUTPUT_ARTIFACTS = 1


def run(ctx: ActionContext) -> None:
    from ...codebuild.models import ManagedBuild, codebuild_lab_backends

    action = ctx.declaration
    try:  # checked at CreatePipeline already; cheap to check again before running
        check_action(action)
    except core.AwsError as error:
        raise ActionFailed(error.message, "ConfigurationError") from None
    backend = codebuild_lab_backends[ctx.account][ctx.region]
    spec = ManagedBuild(
        name=f"{ctx.pipeline_name}-{ctx.stage_name}-{ctx.action_name}"[:150],
        buildspec=buildspec(action),
        inputs={
            name: PipelineArtifact(
                bucket=loc.bucket, key=loc.key, revision=ctx.input_revisions.get(name)
            )
            for name, loc in ctx.inputs.items()
        },
        outputs={name: (loc.bucket, loc.key) for name, loc in ctx.outputs.items()},
        initiator=f"codepipeline/{ctx.pipeline_name}",
        log_group=LOG_GROUP_PREFIX + ctx.pipeline_name,
        log_stream_prefix=f"{ctx.stage_name}/{ctx.action_name}",
        timeout_seconds=ctx.timeout,
        # The commands act as the pipeline's service role, as on AWS (whose policy needs the
        # logs permissions for the Commands action).
        service_role=ctx.role_arn,
        environment_variables=[
            {"name": v["name"], "value": str(v["value"]), "type": v.get("type", "PLAINTEXT")}
            for v in action.get("environmentVariables") or []
        ],
    )
    try:
        build = backend.start_managed_build(spec)
    except core.AwsError as error:
        raise ActionFailed(
            f"Could not run the commands: {error.message}", "ConfigurationError"
        ) from None
    group, stream = build.log_group or "", build.log_stream or ""
    ctx.report(
        external_id=build.uuid,
        url=ctx.console("cloudwatch", f"logsV2:log-groups/log-group/{_console_escape(group)}"),
        log_stream_arn=f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{group}"
        f":log-stream:{stream}",
    )
    # The build times itself out at the action's timeout; the margin is for its last steps.
    if not build.wait(ctx.timeout + 30):
        build.request_stop()
        raise ActionFailed("The commands did not finish within the action's timeout")
    if build.status != "SUCCEEDED":
        raise ActionFailed(_failure(build, group, stream))
    ctx.output_variables.update({v["name"]: v["value"] for v in build.exported_variables})


def buildspec(action: dict) -> str:
    """The build's buildspec, as JSON (which YAML reads as it is: no quoting of the
    learner's commands to get wrong)."""
    document: dict = {
        "version": 0.2,
        "phases": {"build": {"commands": list(action.get("commands") or [])}},
    }
    if action.get("outputVariables"):
        document["env"] = {"exported-variables": list(action["outputVariables"])}
    outputs = action.get("outputArtifacts") or []
    if outputs:
        document["artifacts"] = {"files": list(outputs[0].get("files") or ["**/*"])}
    return json.dumps(document)


def _failure(build, group: str, stream: str) -> str:
    """The failed phase's reason (the failing command and its exit status), as AWS's
    Commands action reports it, and where the log is."""
    failed = next((p for p in build.phases if p.status not in (None, "SUCCEEDED")), None)
    text = f"Commands failed: {build.status}."
    if failed is not None:
        context = (failed.contexts or [{}])[0]
        text += f" {context.get('message') or context.get('statusCode') or failed.status}"
    return f"{text} See the log: {group} {stream}"


def _console_escape(text: str) -> str:
    return text.replace("/", "$252F")


# -- CreatePipeline / UpdatePipeline ---------------------------------------------------


def check_action(action: dict) -> None:
    """What the model's constraints (checked with each request) leave to the service:
    commands present and single-line, variable names the shell can export, at most one
    output artifact whose file patterns stay inside the source folder."""
    name = action.get("name", "")
    commands = action.get("commands") or []
    if not commands:
        raise err.InvalidActionDeclarationException(
            f"Action {name} of type Commands must declare commands (1 to 50)"
        )
    for command in commands:
        if "\n" in command or "\r" in command:
            raise err.InvalidActionDeclarationException(
                f"Action {name}: commands cannot be multi-line; give one command per entry"
            )
    variables = action.get("outputVariables") or []
    for variable in variables:
        if not SHELL_NAME.match(variable):
            raise err.InvalidActionDeclarationException(
                f"Action {name}: output variable {variable!r} is not an environment variable "
                "name (letters, digits and _, not starting with a digit)"
            )
    if len(set(variables)) != len(variables):
        raise err.InvalidActionDeclarationException(
            f"Action {name}: output variable names must be unique"
        )
    for artifact in action.get("outputArtifacts") or []:
        for pattern in artifact.get("files") or []:
            _check_pattern(name, pattern)


def _check_pattern(action_name: str, pattern: str) -> None:
    parts = pattern.replace("\\", "/").split("/")
    if pattern.startswith(("/", "\\")) or ".." in parts or "\0" in pattern:
        raise err.InvalidActionDeclarationException(
            f"Action {action_name}: output artifact file pattern {pattern!r} must be relative "
            "to the source folder, without '..'"
        )


# The view's action-log panel, not build-log: BatchGetBuilds does not include this managed
# build; its log is in CloudWatch Logs (the execution result's logStreamARN).
RUNNER = Runner(run, name="Commands", check_action=check_action, panel="action-log")
