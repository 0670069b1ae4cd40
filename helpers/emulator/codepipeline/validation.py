"""Checking a pipeline declaration as CreatePipeline/UpdatePipeline check it, with AWS's
error names: ValidationException for what breaks the API model's constraints (checked
with each request: emulator/constraints.py; here only what goes beyond the model),
InvalidStructureException for the pipeline as a whole (stages, sources, artifacts,
namespaces, role, artifact store), InvalidStageDeclarationException for a stage,
InvalidActionDeclarationException for an action, InvalidBlockerDeclarationException for
blockers. normalize() fills in the defaults AWS adds (runOrder 1, empty lists...).
"""

from __future__ import annotations

import copy
import json

from .. import constraints, moto_backends
from . import action_types, git_triggers
from . import exceptions as err
from .variables import references

CONDITION_KEYS = ("beforeEntry", "onSuccess", "onFailure")
RESERVED_NAMESPACES = ("codepipeline", "variables")


def normalize(declaration: dict) -> dict:
    """A copy with AWS's defaults filled in, as GetPipeline returns it."""
    pipeline = copy.deepcopy(declaration)
    pipeline.setdefault("pipelineType", "V1")
    pipeline.setdefault("executionMode", "SUPERSEDED")
    for stage in pipeline.get("stages") or []:
        for action in stage.get("actions") or []:
            action.setdefault("runOrder", 1)
            action.setdefault("configuration", {})
            action.setdefault("inputArtifacts", [])
            action.setdefault("outputArtifacts", [])
    return pipeline


def validate(pipeline: dict, account: str, region: str) -> None:
    """Raise the error AWS raises for the first problem of a normalized declaration."""
    _check_role_name(pipeline["roleArn"])
    _check_v2_only(pipeline)
    _check_role(pipeline["roleArn"], account)
    _check_artifact_store(pipeline, account, region)
    stages = pipeline["stages"]
    if len(stages) < 2:
        raise err.InvalidStructureException(
            f"Pipeline has only {len(stages)} stage(s). There should be a minimum of 2 stages "
            "in a pipeline"
        )
    names = [stage["name"] for stage in stages]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise err.InvalidStructureException(
            f"Pipeline stage names must be unique; duplicated: {', '.join(duplicates)}"
        )
    for index, stage in enumerate(stages):
        _check_stage(stage, index == 0, account, region)
    for stage in stages:
        for action in stage["actions"]:
            _check_action_role(action, pipeline["roleArn"])
    if all(action_types.is_source(a["actionTypeId"]) for s in stages for a in s["actions"]):
        raise err.InvalidStructureException(
            "A pipeline must contain at least one stage with an action that is not a source action"
        )
    _check_artifacts_and_namespaces(pipeline)
    git_triggers.validate_triggers(pipeline)


def _check_v2_only(pipeline: dict) -> None:
    if pipeline["pipelineType"] == "V2":
        names = [v["name"] for v in pipeline.get("variables") or []]
        if len(names) != len(set(names)):
            raise err.ValidationException("Pipeline variable names must be unique")
        return
    problems = []
    if pipeline.get("variables"):
        problems.append("pipeline-level variables")
    if pipeline.get("triggers"):
        problems.append("triggers")
    if pipeline["executionMode"] != "SUPERSEDED":
        problems.append(f"execution mode {pipeline['executionMode']}")
    if any(stage.get(key) for stage in pipeline["stages"] for key in CONDITION_KEYS):
        problems.append("stage conditions")
    if any(
        _is_commands(action["actionTypeId"])
        for stage in pipeline["stages"]
        for action in stage["actions"]
    ):
        problems.append("the Commands action")  # action-reference-Commands.md: V2 only
    if problems:
        text = " and ".join(problems)
        raise err.ValidationException(
            f"{text[:1].upper()}{text[1:]} can only be used with pipeline type V2; "
            "set pipelineType to V2"
        )


def _check_role_name(role_arn: str) -> None:
    """The model's pattern (checked with each request) allows role/ with no name."""
    if not role_arn.partition(":role/")[2]:
        raise err.ValidationException(
            constraints.one_error(
                role_arn,
                "pipeline.roleArn",
                "satisfy regular expression pattern: arn:aws(-[\\w]+)*:iam::[0-9]{12}:role/.*",
            )
        )


def _check_role(role_arn: str, account: str) -> None:
    """The service role must exist in the pipeline's account and trust
    codepipeline.amazonaws.com: pipelines-create.md, "The service role must already
    exist". AWS answers a missing role, a role of another account (a role can only be
    passed within its account) and a role that does not trust CodePipeline alike:
    InvalidStructureException "CodePipeline is not authorized to perform AssumeRole on
    role <arn>" (moto's CreatePipeline test of a missing role, recorded from AWS; the
    same text in users' reports of AWS)."""
    trust = _role_trust(role_arn) if _role_account(role_arn) == account else None
    if trust is None or not _trusts_codepipeline(trust):
        raise err.InvalidStructureException(
            f"CodePipeline is not authorized to perform AssumeRole on role {role_arn}"
        )


def _check_action_role(action: dict, pipeline_role: str) -> None:
    """An action's roleArn is assumed by the pipeline's role, at CreatePipeline and
    UpdatePipeline already: a role the local IAM does not know (in its own account: action
    roles may be cross-account, pipelines-create-cross-account.md) is refused with the
    text AWS gives, "<pipeline role> is not authorized to perform AssumeRole on role
    <action role>" (InvalidStructureException). Whether the action role trusts the
    pipeline role is not checked: that needs IAM policy evaluation the kit does not do."""
    role_arn = action.get("roleArn")
    if role_arn and _role_trust(role_arn) is None:
        raise err.InvalidStructureException(
            f"{pipeline_role} is not authorized to perform AssumeRole on role {role_arn}"
        )


def _role_account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _role_trust(role_arn: str) -> object:
    """The trust policy of the role the ARN names (roles are global: looked up by name in
    the ARN's account), None when the local IAM has no such role."""
    account = _role_account(role_arn)
    name = role_arn.partition(":role/")[2].rsplit("/", 1)[-1]
    if not account or not name:
        return None
    return moto_backends.iam_role_trust_policy(account, name)


def _trusts_codepipeline(document) -> bool:
    try:
        policy = json.loads(document) if isinstance(document, str) else dict(document or {})
    except ValueError:
        return False
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal") or {}
        if principal == "*":
            return True
        services = principal.get("Service") if isinstance(principal, dict) else None
        services = [services] if isinstance(services, str) else (services or [])
        if "codepipeline.amazonaws.com" in services:
            return True
    return False


def _check_artifact_store(pipeline: dict, account: str, region: str) -> None:
    single, several = pipeline.get("artifactStore"), pipeline.get("artifactStores")
    if single and several:
        raise err.InvalidStructureException(
            "Pipeline cannot have both artifactStore and artifactStores defined"
        )
    if not single and not several:
        raise err.InvalidStructureException(
            "Pipeline must have either artifactStore or artifactStores defined"
        )
    if several:
        if region not in several:
            raise err.InvalidStructureException(
                f"artifactStores must include an artifact store for the pipeline's region {region}"
            )
        stores = several.values()
    else:
        stores = [single]
    for store in stores:
        location = store["location"]
        if not bucket_exists(account, location):
            raise err.InvalidStructureException(
                f"Artifact store bucket {location} does not exist or is not accessible; "
                "create the S3 bucket first"
            )


def bucket_exists(account: str, bucket: str) -> bool:
    return moto_backends.bucket_exists(account, bucket)


def _check_stage(stage: dict, first: bool, account: str, region: str) -> None:
    name = stage["name"]
    actions = stage["actions"]
    if not actions:
        raise err.InvalidStageDeclarationException(f"Stage {name} must contain at least one action")
    action_names = [a["name"] for a in actions]
    duplicates = sorted({n for n in action_names if action_names.count(n) > 1})
    if duplicates:
        raise err.InvalidStageDeclarationException(
            f"Action names must be unique within stage {name}; duplicated: {', '.join(duplicates)}"
        )
    blocker_names = [b["name"] for b in stage.get("blockers") or []]
    if len(blocker_names) != len(set(blocker_names)):
        raise err.InvalidBlockerDeclarationException(
            f"Blocker names must be unique within stage {name}"
        )
    _check_conditions(stage, first)
    for action in actions:
        source = action_types.is_source(action["actionTypeId"])
        if first and not source:
            raise err.InvalidStructureException(
                f"Pipeline stage {name} is the first stage: it can contain source actions only, "
                f"but action {action['name']} is a {action['actionTypeId']['category']} action"
            )
        if not first and source:
            raise err.InvalidStructureException(
                f"Action {action['name']} is a source action; source actions can only be in "
                f"the first stage, not in stage {name}"
            )
        _check_action(action, account, region)


def _check_action(action: dict, account: str, region: str) -> None:
    name = action["name"]
    type_id = action["actionTypeId"]
    action_type = action_types.find_id(type_id, account, region)  # custom types too
    if action_type is None:
        raise err.InvalidActionDeclarationException(
            f"ActionType (Category: '{type_id['category']}', Provider: '{type_id['provider']}', "
            f"Owner: '{type_id['owner']}', Version: '{type_id['version']}') in action '{name}' "
            "is not available"
        )
    configuration = action["configuration"]
    for key in configuration:
        if action_type.property(key) is None:
            raise err.InvalidActionDeclarationException(
                f"Action configuration for action '{name}' contains unknown configuration '{key}'"
            )
    for prop in action_type.properties:
        if prop.required and not configuration.get(prop.name):
            raise err.InvalidActionDeclarationException(
                f"Action configuration for action '{name}' is missing required configuration "
                f"'{prop.name}'"
            )
    _check_compute_members(action)
    if action_type.runner is not None and action_type.runner.check is not None:
        action_type.runner.check(name, configuration)  # the provider's own rules
    if action_type.runner is not None and action_type.runner.check_action is not None:
        action_type.runner.check_action(action)
    for kind, (low, high) in (("input", action_type.inputs), ("output", action_type.outputs)):
        count = len(action[f"{kind}Artifacts"])
        if count < low:
            raise err.InvalidActionDeclarationException(
                f"Action {name} declares {count} {kind} artifacts which is less than the "
                f"minimum count ({low})"
            )
        if count > high:
            raise err.InvalidActionDeclarationException(
                f"Action {name} declares {count} {kind} artifacts which is greater than the "
                f"maximum count ({high})"
            )


def _is_commands(type_id: dict) -> bool:
    return (type_id.get("category"), type_id.get("owner"), type_id.get("provider")) == (
        "Compute",
        "AWS",
        "Commands",
    )


def _check_compute_members(action: dict) -> None:
    """commands and outputVariables are what a compute action runs and exports (the
    model's notes on ActionDeclaration); another action cannot declare them."""
    if action["actionTypeId"]["category"] == "Compute":
        return
    for member in ("commands", "outputVariables"):
        if action.get(member):
            raise err.InvalidActionDeclarationException(
                f"Action {action['name']} declares {member}, which only compute actions "
                f"(category Compute) take; it is a {action['actionTypeId']['category']} action"
            )


def _check_artifacts_and_namespaces(pipeline: dict) -> None:
    """Inputs must come from earlier actions; outputs and namespaces are unique; variable
    references name namespaces of earlier actions or declared pipeline variables."""
    produced: set[str] = set()
    namespaces: set[str] = set()
    declared_variables = {v["name"] for v in pipeline.get("variables") or []}
    all_outputs: list[str] = [
        artifact["name"]
        for stage in pipeline["stages"]
        for action in stage["actions"]
        for artifact in action["outputArtifacts"]
    ]
    duplicates = sorted({n for n in all_outputs if all_outputs.count(n) > 1})
    if duplicates:
        raise err.InvalidStructureException(
            f"Output Artifact Bundle name(s) {', '.join(duplicates)} are not unique in the pipeline"
        )
    for stage in pipeline["stages"]:
        for run_order in sorted({a["runOrder"] for a in stage["actions"]}):
            group = [a for a in stage["actions"] if a["runOrder"] == run_order]
            for action in group:
                for artifact in action["inputArtifacts"]:
                    if artifact["name"] not in produced:
                        raise err.InvalidStructureException(
                            f"Input Artifact Bundle {artifact['name']} in action "
                            f"{action['name']} is not declared as an output artifact of an "
                            "earlier action"
                        )
                _check_references(action, namespaces, declared_variables, pipeline)
            for action in group:
                produced.update(a["name"] for a in action["outputArtifacts"])
                namespace = action.get("namespace")
                if namespace is None:
                    continue
                if namespace in namespaces or namespace in RESERVED_NAMESPACES:
                    raise err.InvalidStructureException(
                        f"Namespace {namespace} of action {action['name']} is already in use "
                        "in the pipeline"
                    )
                if namespace in all_outputs:
                    raise err.InvalidStructureException(
                        f"Namespace {namespace} of action {action['name']} conflicts with an "
                        "artifact name"
                    )
                namespaces.add(namespace)


def _check_references(
    action: dict, namespaces: set[str], declared: set[str], pipeline: dict
) -> None:
    values = [str(value) for value in action["configuration"].values()]
    values += [str(command) for command in action.get("commands") or []]
    values += [str(v.get("value", "")) for v in action.get("environmentVariables") or []]
    for value in values:
        for namespace, variable in references(value):
            if namespace == "codepipeline":
                continue
            if namespace == "variables":
                if pipeline["pipelineType"] != "V2" or variable not in declared:
                    raise err.InvalidActionDeclarationException(
                        f"Action {action['name']} refers to pipeline variable {variable}, "
                        "which the pipeline does not declare"
                    )
                continue
            if namespace not in namespaces:
                raise err.InvalidActionDeclarationException(
                    f"Action {action['name']} refers to namespace {namespace}, which no "
                    "earlier action declares"
                )


CONDITION_RESULTS = {
    "beforeEntry": ("FAIL", "SKIP"),
    "onSuccess": ("ROLLBACK", "FAIL"),
    "onFailure": ("ROLLBACK", "FAIL", "RETRY", "SKIP"),
}


def _check_conditions(stage: dict, first: bool) -> None:
    """V2 stage conditions: known rule types, results each kind allows (the V1 check is in
    _check_v2_only)."""
    from . import rules

    name = stage["name"]
    for kind, allowed in CONDITION_RESULTS.items():
        declared = stage.get(kind)
        if not declared:
            continue
        if first:
            raise err.InvalidStageDeclarationException(
                f"Stage {name} is the source stage; it cannot have {kind} conditions"
            )
        results = [declared.get("result")] if kind == "onFailure" else []
        results += [c.get("result") for c in declared.get("conditions") or []]
        for result in results:
            if result is not None and result not in allowed:
                raise err.InvalidStageDeclarationException(
                    f"Stage {name}: {kind} result {result} is not allowed (allowed: "
                    f"{', '.join(allowed)})"
                )
        if (
            kind == "onFailure"
            and declared.get("retryConfiguration")
            and declared.get("result") != "RETRY"
        ):
            raise err.InvalidStageDeclarationException(
                f"Stage {name}: onFailure retryConfiguration needs result RETRY"
            )
        for condition in declared.get("conditions") or []:
            for rule in condition.get("rules") or []:
                rule_type = rules.find(rule["ruleTypeId"])
                if rule_type is None:
                    type_id = rule["ruleTypeId"]
                    raise err.InvalidStageDeclarationException(
                        f"Rule {rule['name']} of stage {name} uses rule type "
                        f"{type_id.get('provider')} (version {type_id.get('version', '1')}), "
                        "which does not exist"
                    )
                configuration = rule.get("configuration") or {}
                for prop in rule_type.properties:
                    if prop.required and not configuration.get(prop.name):
                        raise err.InvalidStageDeclarationException(
                            f"Rule {rule['name']} of stage {name} is missing required "
                            f"configuration {prop.name}"
                        )
