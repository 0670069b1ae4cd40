"""Sharing a project or a report group: resource policies (project-sharing.md,
report-groups-sharing.md) and public builds (public-builds.md, UpdateProjectVisibility).

Offline there is one account and no AWS RAM: a policy is stored, validated and read back,
but no other account exists to use it, so ListSharedProjects/ListSharedReportGroups (what
others shared with this account) are always empty. A public project gets its alias (the
identifier of AWS's public build page); there is no public page offline.

Both are kept per resource object (weak keys): deleting a project or a report group drops
its policy and its visibility, and a new one of the same name starts private, unshared.
"""

from __future__ import annotations

import json
import uuid
import weakref
from dataclasses import dataclass

from . import exceptions as err
from .models import CodeBuildLabBackend, Project, ReportGroup, check_role

MAX_POLICY_BYTES = 6144  # the size limit IAM puts on a resource-based policy
EFFECTS = ("Allow", "Deny")

_policies: weakref.WeakKeyDictionary[Project | ReportGroup, str] = weakref.WeakKeyDictionary()


@dataclass
class Visibility:
    alias: str  # kept when the project goes private, shown again when it is public again
    public: bool = False
    resource_access_role: str | None = None


_visibility: weakref.WeakKeyDictionary[Project, Visibility] = weakref.WeakKeyDictionary()


def shared_resource(backend: CodeBuildLabBackend, arn: str) -> Project | ReportGroup:
    """The project or report group an ARN names (resource policies take only these)."""
    prefix = f"arn:aws:codebuild:{backend.region_name}:{backend.account_id}:"
    if arn.startswith(prefix + "project/"):
        project = backend.projects.get(arn[len(prefix + "project/") :])
        if project is not None and project.arn == arn:
            return project
    elif arn.startswith(prefix + "report-group/"):
        group = backend.report_groups.get(arn)
        if group is not None:
            return group
    else:
        raise err.InvalidInputException(
            f"Invalid resource ARN {arn!r}: a resource policy goes on a project or a report "
            f"group of this account ({prefix}project/<name> or {prefix}report-group/<name>)"
        )
    raise err.ResourceNotFoundException(f"Resource {arn} does not exist")


def put_policy(backend: CodeBuildLabBackend, arn: str, policy: str) -> None:
    resource = shared_resource(backend, arn)
    check_policy(policy, arn)
    _policies[resource] = policy


def get_policy(backend: CodeBuildLabBackend, arn: str) -> str:
    policy = _policies.get(shared_resource(backend, arn))
    if policy is None:
        raise err.ResourceNotFoundException(f"Resource policy for ARN {arn} not found")
    return policy


def delete_policy(backend: CodeBuildLabBackend, arn: str) -> None:
    try:
        resource = shared_resource(backend, arn)
    except err.ResourceNotFoundException:
        return  # nothing to delete: DeleteResourcePolicy answers as if it did
    _policies.pop(resource, None)


def check_policy(policy: str, arn: str) -> None:
    """A JSON policy document whose statements grant (or deny) codebuild: actions on this
    resource to a principal: what project-sharing.md's policy.json shows."""
    if len(policy.encode()) > MAX_POLICY_BYTES:
        raise err.InvalidInputException(f"Invalid policy: longer than {MAX_POLICY_BYTES} bytes")
    try:
        document = json.loads(policy)
    except ValueError as error:
        raise err.InvalidInputException(f"Invalid policy: not JSON ({error})") from None
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise err.InvalidInputException("Invalid policy: it needs a Statement")
    for index, statement in enumerate(statements):
        _check_statement(statement, f"Statement[{index}]", arn)


def _check_statement(statement: object, where: str, arn: str) -> None:
    if not isinstance(statement, dict):
        raise err.InvalidInputException(f"Invalid policy: {where} must be an object")
    if statement.get("Effect") not in EFFECTS:
        raise err.InvalidInputException(f"Invalid policy: {where}.Effect must be Allow or Deny")
    if not statement.get("Principal"):
        raise err.InvalidInputException(
            f"Invalid policy: {where} needs a Principal (whom the resource is shared with)"
        )
    actions = _strings(statement.get("Action"))
    if not actions or not all(action.startswith("codebuild:") for action in actions):
        raise err.InvalidInputException(
            f"Invalid policy: {where}.Action must list codebuild: actions"
        )
    resources = _strings(statement.get("Resource"))
    if resources and not all(resource in (arn, "*") for resource in resources):
        raise err.InvalidInputException(
            f"Invalid policy: {where}.Resource must be the ARN the policy is put on ({arn})"
        )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return []


# -- public builds ----------------------------------------------------------------------


def update_visibility(project: Project, visibility: str, role: str | None) -> Visibility:
    state = _visibility.setdefault(project, Visibility(alias=str(uuid.uuid4())))
    if role is not None:
        check_role(role)
        state.resource_access_role = role
    state.public = visibility == "PUBLIC_READ"
    return state


def visibility_fields(project: Project) -> dict:
    """What a project reply shows of its visibility."""
    state = _visibility.get(project)
    if state is None or not state.public:
        fields: dict = {"projectVisibility": "PRIVATE"}
    else:
        fields = {"projectVisibility": "PUBLIC_READ", "publicProjectAlias": state.alias}
    if state is not None and state.resource_access_role:
        fields["resourceAccessRole"] = state.resource_access_role
    return fields
