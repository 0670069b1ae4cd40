"""CloudFormation deploy: a stack or change set of moto's CloudFormation, in the server's
process, from a template in an input artifact (action-reference-CloudFormation.md).

The template comes from TemplatePath (`Artifact::file`), its parameters from the template
configuration file ({"Parameters", "Tags", "StackPolicy"}) overridden by ParameterOverrides,
whose values may be Fn::GetParam (a key of a JSON file of an input artifact) or
Fn::GetArtifactAtt (BucketName, ObjectKey, URL of an input artifact). The stack's outputs
become the action's output variables and, with OutputFileName, a JSON file in its output
artifact. moto makes the resources of the types it supports; what it lacks the summary says.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from urllib.parse import quote

from ... import moto_backends, safepaths
from ...moto_backends import StackRefused, StackState
from .. import artifacts
from .. import exceptions as err
from .base import ActionContext, ActionFailed, Runner

MODES = (
    "CREATE_UPDATE",
    "REPLACE_ON_FAILURE",
    "DELETE_ONLY",
    "CHANGE_SET_REPLACE",
    "CHANGE_SET_EXECUTE",
)
NEEDS_TEMPLATE = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE")
NEEDS_CHANGE_SET = ("CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE")
NEEDS_ROLE = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "DELETE_ONLY", "CHANGE_SET_REPLACE")
# The CloudFormation user guide's "failed state" that REPLACE_ON_FAILURE replaces.
FAILED_STATES = (
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "CREATE_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
)
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
# IAM resources need CAPABILITY_IAM; with a custom name, CAPABILITY_NAMED_IAM.
IAM_NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Policy": "",
    "AWS::IAM::AccessKey": "",
    "AWS::IAM::UserToGroupAddition": "",
}
MAX_TEMPLATE_BYTES = 1024 * 1024  # a template from S3 (the action's route): 1 MB
ARTIFACT_ATTRIBUTES = ("BucketName", "ObjectKey", "URL")
POLL_SECONDS = 0.02


@dataclass
class StackRequest:
    template: str
    parameters: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    role_arn: str | None = None
    unsupported: list[str] = field(default_factory=list)


class _Inputs:
    """The action's input artifacts, each read (and unzipped in memory) once."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self._zips: dict[str, zipfile.ZipFile] = {}

    def location(self, artifact: str) -> artifacts.Location:
        if artifact not in self.ctx.inputs:
            raise ActionFailed(
                f"The artifact {artifact} is not an input artifact of this action",
                "ConfigurationError",
            )
        return self.ctx.inputs[artifact]

    def read(self, artifact: str, name: str, limit: int = MAX_TEMPLATE_BYTES) -> str:
        archive = self._zip(artifact)
        try:
            member = "/".join(safepaths.relative_parts(name))
            info = archive.getinfo(member)
        except (safepaths.UnsafePath, KeyError):
            raise ActionFailed(
                f"The file {name} is not in the input artifact {artifact}", "ConfigurationError"
            ) from None
        if info.file_size > limit:
            raise ActionFailed(
                f"The file {name} of {artifact} is larger than {limit} bytes",
                "ConfigurationError",
            )
        try:
            return archive.read(info).decode("utf-8")
        except UnicodeDecodeError:
            raise ActionFailed(
                f"The file {name} of {artifact} is not UTF-8 text", "ConfigurationError"
            ) from None

    def _zip(self, artifact: str) -> zipfile.ZipFile:
        if artifact not in self._zips:
            data = artifacts.get(self.ctx.account, self.location(artifact))
            try:
                self._zips[artifact] = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                raise ActionFailed(
                    f"The input artifact {artifact} is not a zip file", "ConfigurationError"
                ) from None
        return self._zips[artifact]


# -- run -----------------------------------------------------------------------------------


def run(ctx: ActionContext) -> None:
    config = ctx.configuration
    mode = config["ActionMode"]
    stack_name = config["StackName"]
    role_arn = _role(ctx) if mode in NEEDS_ROLE else None
    inputs = _Inputs(ctx)
    outputs: dict[str, str] = {}
    if mode == "DELETE_ONLY":
        _delete(ctx, stack_name)
    elif mode == "CHANGE_SET_EXECUTE":
        outputs = _execute_change_set(ctx, stack_name, config["ChangeSetName"])
    else:
        request = _request(ctx, inputs, role_arn)
        if mode == "CHANGE_SET_REPLACE":
            outputs = _replace_change_set(ctx, stack_name, config["ChangeSetName"], request)
        else:
            outputs = _create_or_update(ctx, stack_name, request, mode == "REPLACE_ON_FAILURE")
    ctx.output_variables = dict(outputs)
    _write_output_artifact(ctx, outputs)


def _role(ctx: ActionContext) -> str:
    """RoleArn: required by the mode, a role of the local IAM in the pipeline's account."""
    arn = ctx.configuration.get("RoleArn")
    if not arn:
        raise ActionFailed(
            f"RoleArn is required for ActionMode {ctx.configuration['ActionMode']}",
            "ConfigurationError",
        )
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ActionFailed(f"RoleArn {arn} is not the ARN of an IAM role", "ConfigurationError")
    if parts[4] != ctx.account:
        raise ActionFailed(
            f"Role {arn} is invalid or cannot be assumed: it is not in account {ctx.account}",
            "ConfigurationError",
        )
    if moto_backends.iam_role_trust_policy(ctx.account, parts[5].rsplit("/", 1)[-1]) is None:
        raise ActionFailed(f"Role {arn} is invalid or cannot be assumed", "ConfigurationError")
    return arn


def _request(ctx: ActionContext, inputs: _Inputs, role_arn: str | None) -> StackRequest:
    """The template, its parameters (configuration file, then overrides), tags and policy."""
    config = ctx.configuration
    artifact, name = _file_reference(config.get("TemplatePath", ""), "TemplatePath")
    body = inputs.read(artifact, name)
    template = _parse(body)
    request = StackRequest(body, {}, role_arn=role_arn)
    if config.get("TemplateConfiguration"):
        _apply_configuration_file(request, inputs, config["TemplateConfiguration"])
    request.parameters.update(_overrides(config.get("ParameterOverrides"), inputs))
    _check_parameters(template, request.parameters)
    _check_capabilities(template, config.get("Capabilities", ""))
    request.unsupported = moto_backends.unsupported_resource_types(template)
    return request


def _parse(body: str) -> dict:
    try:
        template = moto_backends.parse_template(body)
    except StackRefused as refused:
        raise ActionFailed(refused.message, "ConfigurationError") from None
    if "Transform" in template:
        raise ActionFailed(
            "The template declares a Transform (a macro or AWS::Serverless): the local "
            "CloudFormation (moto) does not expand transforms; deploy the expanded template",
            "ConfigurationError",
        )
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise ActionFailed(
            "Template format error: At least one Resources member must be defined.",
            "ConfigurationError",
        )
    return template


def _file_reference(value: str, what: str) -> tuple[str, str]:
    artifact, sep, name = value.partition("::")
    if not sep or not artifact or not name:
        raise ActionFailed(
            f"{what} {value!r} is not of the form ArtifactName::FileName", "ConfigurationError"
        )
    return artifact, name


def _apply_configuration_file(request: StackRequest, inputs: _Inputs, reference: str) -> None:
    """The template configuration file: {"Parameters": {}, "Tags": {}, "StackPolicy": {}}."""
    artifact, name = _file_reference(reference, "TemplateConfiguration")
    document = _json_object(inputs.read(artifact, name), f"The template configuration {name}")
    for section in ("Parameters", "Tags"):
        values = document.get(section, {})
        if not isinstance(values, dict) or not all(
            isinstance(v, (str, int, float, bool)) for v in values.values()
        ):
            raise ActionFailed(
                f"{section} of the template configuration {name} must map names to strings",
                "ConfigurationError",
            )
        target = request.parameters if section == "Parameters" else request.tags
        target.update({str(k): _text(v) for k, v in values.items()})
    if "StackPolicy" in document:
        request.policy = json.dumps(document["StackPolicy"])


def _json_object(text: str, what: str) -> dict:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ActionFailed(f"{what} is not valid JSON: {error}", "ConfigurationError") from None
    if not isinstance(document, dict):
        raise ActionFailed(f"{what} must be a JSON object", "ConfigurationError")
    return document


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _overrides(text: str | None, inputs: _Inputs) -> dict[str, str]:
    """ParameterOverrides: a JSON object of values, Fn::GetParam or Fn::GetArtifactAtt."""
    if not text:
        return {}
    document = _json_object(text, "ParameterOverrides")
    return {name: _override_value(name, value, inputs) for name, value in document.items()}


def _override_value(name: str, value: object, inputs: _Inputs) -> str:
    if isinstance(value, (str, int, float, bool)):
        return _text(value)
    if isinstance(value, dict) and len(value) == 1:
        [(function, arguments)] = value.items()
        if function == "Fn::GetParam" and _strings(arguments, 3):
            artifact, file_name, key = arguments
            document = _json_object(
                inputs.read(artifact, file_name), f"The file {file_name} of {artifact}"
            )
            if key not in document:
                raise ActionFailed(
                    f"Fn::GetParam for parameter {name}: {file_name} of {artifact} has no "
                    f"key {key}",
                    "ConfigurationError",
                )
            return _text(document[key])
        if function == "Fn::GetArtifactAtt" and _strings(arguments, 2):
            return _artifact_attribute(name, inputs, *arguments)
    raise ActionFailed(
        f"ParameterOverrides: the value of {name} must be a string, "
        '{"Fn::GetParam": [artifact, file, key]} or {"Fn::GetArtifactAtt": [artifact, '
        "attribute]}",
        "ConfigurationError",
    )


def _strings(arguments: object, count: int) -> bool:
    return (
        isinstance(arguments, list)
        and len(arguments) == count
        and all(isinstance(a, str) for a in arguments)
    )


def _artifact_attribute(name: str, inputs: _Inputs, artifact: str, attribute: str) -> str:
    location = inputs.location(artifact)
    if attribute == "BucketName":
        return location.bucket
    if attribute == "ObjectKey":
        return location.key
    if attribute == "URL":
        return f"https://s3.{inputs.ctx.region}.amazonaws.com/{location.bucket}/{location.key}"
    raise ActionFailed(
        f"Fn::GetArtifactAtt for parameter {name}: {attribute} is not one of "
        f"{', '.join(ARTIFACT_ATTRIBUTES)}",
        "ConfigurationError",
    )


def _check_parameters(template: dict, parameters: dict[str, str]) -> None:
    """All parameter names must be present in the stack template (as AWS checks)."""
    declared = template.get("Parameters") or {}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ActionFailed(
            f"Parameters: [{', '.join(unknown)}] do not exist in the template",
            "ConfigurationError",
        )
    missing = sorted(
        n
        for n, spec in declared.items()
        if n not in parameters and not (isinstance(spec, dict) and "Default" in spec)
    )
    if missing:
        raise ActionFailed(
            f"Parameters: [{', '.join(missing)}] must have values", "ConfigurationError"
        )


def _check_capabilities(template: dict, value: str) -> None:
    """moto does not ask for capabilities; AWS refuses IAM resources without them."""
    given = [c for c in value.split(",") if c]
    for capability in given:
        if capability not in CAPABILITIES:
            raise ActionFailed(
                f"Capabilities: {capability} is not one of {', '.join(CAPABILITIES)}",
                "ConfigurationError",
            )
    needed = _needed_capability(template)
    if (
        needed
        and needed not in given
        and not (needed == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in given)
    ):
        raise ActionFailed(
            f"Requires capabilities : [{needed}]", "InsufficientCapabilitiesException"
        )


def _needed_capability(template: dict) -> str | None:
    needed = None
    for resource in template["Resources"].values():
        if not isinstance(resource, dict) or resource.get("Type") not in IAM_NAME_PROPERTY:
            continue
        name_property = IAM_NAME_PROPERTY[resource["Type"]]
        if name_property and name_property in (resource.get("Properties") or {}):
            return "CAPABILITY_NAMED_IAM"
        needed = "CAPABILITY_IAM"
    return needed


# -- the modes -----------------------------------------------------------------------------


def _create_or_update(
    ctx: ActionContext, name: str, request: StackRequest, replace_failed: bool
) -> dict[str, str]:
    existing = moto_backends.stack_state(ctx.account, ctx.region, name)
    if existing is not None and replace_failed and existing.status in FAILED_STATES:
        moto_backends.delete_stack(ctx.account, ctx.region, name)
        existing = None
    try:
        if existing is None:
            state = moto_backends.create_stack(
                ctx.account, ctx.region, name, request.template, request.parameters,
                request.tags, request.role_arn, request.policy,
            )  # fmt: skip
            done = "created"
        else:
            state = moto_backends.update_stack(
                ctx.account, ctx.region, name, request.template, request.parameters,
                request.tags, request.role_arn, request.policy,
            )  # fmt: skip
            done = "updated"
    except StackRefused as refused:
        if refused.message != "No updates are to be performed." or existing is None:
            raise ActionFailed(refused.message, "ConfigurationError") from None
        _report_stack(ctx, existing, f"Stack {name}: no updates are to be performed")
        return existing.outputs
    state = _settled(ctx, state)
    _report_stack(ctx, state, _summary(f"Stack {name} {done} ({state.status})", request))
    _raise_if_failed(state)
    return state.outputs


def _delete(ctx: ActionContext, name: str) -> None:
    existing = moto_backends.stack_state(ctx.account, ctx.region, name)
    if existing is None:  # a stack that does not exist: success, nothing deleted
        ctx.report(summary=f"Stack {name} does not exist; nothing to delete")
        return
    moto_backends.delete_stack(ctx.account, ctx.region, name)
    _report_stack(ctx, existing, f"Stack {name} deleted")


def _replace_change_set(
    ctx: ActionContext, stack_name: str, name: str, request: StackRequest
) -> dict[str, str]:
    moto_backends.delete_change_set(ctx.account, ctx.region, stack_name, name)
    try:
        change_set = moto_backends.create_change_set(
            ctx.account, ctx.region, stack_name, name, request.template, request.parameters,
            request.tags, request.role_arn,
        )  # fmt: skip
    except StackRefused as refused:
        raise ActionFailed(refused.message, "ConfigurationError") from None
    ctx.report(
        external_id=change_set.change_set_id,
        url=ctx.console(
            "cloudformation",
            f"/stacks/changesets/changes?stackId={quote(change_set.stack_id, safe='')}"
            f"&changeSetId={quote(change_set.change_set_id, safe='')}",
        ),
        summary=_summary(
            f"Change set {name} of stack {stack_name}: {change_set.status}"
            + (f" ({change_set.reason})" if change_set.reason else ""),
            request,
        ),
    )
    stack = moto_backends.stack_state(ctx.account, ctx.region, stack_name)
    if stack is None or stack.status == "REVIEW_IN_PROGRESS":
        return {}
    return stack.outputs


def _execute_change_set(ctx: ActionContext, stack_name: str, name: str) -> dict[str, str]:
    change_set = moto_backends.change_set_state(ctx.account, ctx.region, stack_name, name)
    if change_set is None:
        raise ActionFailed(
            f"ChangeSet [{name}] does not exist for stack {stack_name}", "ConfigurationError"
        )
    if change_set.reason == moto_backends.NO_CHANGES:
        # A change set without changes has nothing to execute: the action succeeds.
        stack = moto_backends.stack_state(ctx.account, ctx.region, stack_name)
        moto_backends.delete_change_set(ctx.account, ctx.region, stack_name, name)
        if stack is not None:
            _report_stack(ctx, stack, f"Change set {name} had no changes to execute")
        return stack.outputs if stack is not None else {}
    if change_set.execution_status != "AVAILABLE":
        raise ActionFailed(
            f"ChangeSet [{name}] cannot be executed in its current status "
            f"{change_set.status} / {change_set.execution_status}",
            "ConfigurationError",
        )
    try:
        state = moto_backends.execute_change_set(ctx.account, ctx.region, stack_name, name)
    except StackRefused as refused:
        raise ActionFailed(refused.message, "ConfigurationError") from None
    state = _settled(ctx, state)
    _report_stack(ctx, state, f"Change set {name} executed: stack {stack_name} {state.status}")
    _raise_if_failed(state)
    return state.outputs


# -- reporting -----------------------------------------------------------------------------


def _settled(ctx: ActionContext, state: StackState) -> StackState:
    """Wait while the stack is in progress (moto mostly finishes at once)."""
    deadline = time.monotonic() + ctx.timeout
    while state.status.endswith("_IN_PROGRESS") and state.status != "REVIEW_IN_PROGRESS":
        if time.monotonic() > deadline:
            raise ActionFailed(
                f"Stack {state.name} was still {state.status} at the action's timeout"
            )
        time.sleep(POLL_SECONDS)
        latest = moto_backends.stack_state(ctx.account, ctx.region, state.name)
        if latest is None:
            raise ActionFailed(f"Stack {state.name} disappeared while the action waited")
        state = latest
    return state


def _raise_if_failed(state: StackState) -> None:
    if state.status.endswith(("_FAILED", "ROLLBACK_COMPLETE")):
        raise ActionFailed(
            f"Stack {state.name} is in {state.status} state: "
            f"{state.reason or 'see the stack events in CloudFormation'}"
        )


def _report_stack(ctx: ActionContext, state: StackState, summary: str) -> None:
    ctx.report(
        external_id=state.stack_id,
        url=ctx.console(
            "cloudformation", f"/stacks/events?stackId={quote(state.stack_id, safe='')}"
        ),
        summary=summary,
    )


def _summary(text: str, request: StackRequest) -> str:
    if not request.unsupported:
        return text
    return (
        f"{text}. Not created by the local CloudFormation (moto does not support them): "
        f"{', '.join(request.unsupported)}"
    )


def _write_output_artifact(ctx: ActionContext, outputs: dict[str, str]) -> None:
    """OutputFileName: the stack's outputs as JSON in the output artifact. An output
    artifact without it is stored empty, so later actions find it."""
    file_name = ctx.configuration.get("OutputFileName")
    if file_name and not ctx.outputs:
        raise ActionFailed(
            "OutputFileName is set but the action declares no output artifact",
            "ConfigurationError",
        )
    if not ctx.outputs:
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if file_name:
            try:
                member = "/".join(safepaths.relative_parts(file_name))
            except safepaths.UnsafePath as unsafe:
                raise ActionFailed(
                    f"OutputFileName {file_name!r}: {unsafe}", "ConfigurationError"
                ) from None
            archive.writestr(member, json.dumps(outputs, indent=2))
    for location in ctx.outputs.values():
        artifacts.put(ctx.account, location, buffer.getvalue())


# -- CreatePipeline / UpdatePipeline -------------------------------------------------------


def check_configuration(name: str, configuration: dict) -> None:
    """ActionMode one of the five; ChangeSetName and TemplatePath where the mode needs them."""
    mode = configuration.get("ActionMode")
    if mode not in MODES:
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}': ActionMode must be one of "
            f"{', '.join(MODES)}"
        )
    needed = []
    if mode in NEEDS_CHANGE_SET and not configuration.get("ChangeSetName"):
        needed.append("ChangeSetName")
    if mode in NEEDS_TEMPLATE and not configuration.get("TemplatePath"):
        needed.append("TemplatePath")
    if needed:
        raise err.InvalidActionDeclarationException(
            f"Action configuration for action '{name}' is missing required configuration "
            f"'{needed[0]}' (needed for ActionMode {mode})"
        )


RUNNER = Runner(run, check=check_configuration, panel="stack-events")
