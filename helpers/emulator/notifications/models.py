"""Notification rules and targets per account and region, the event types, and delivery.

What AWS documents (CodeStar Notifications user guide, "Notification concepts"; the
services' notification-rule-create.md): a rule watches one resource (a CodeCommit
repository, CodeBuild project, CodeDeploy application or CodePipeline pipeline) for some
event types and sends each matching event, BASIC or FULL, to its targets (SNS topics).
The SNS topic's access policy must let codestar-notifications.amazonaws.com publish
(codecommit notification-rule-create.md: "you must add the required policy"): a topic
without it is UNREACHABLE and gets nothing, as on AWS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource

from .. import moto_backends
from ..core import now
from .exceptions import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)

log = logging.getLogger(__name__)

PRINCIPAL = "codestar-notifications.amazonaws.com"
MAX_TARGETS = 10  # the model's Targets max


@dataclass(frozen=True)
class EventType:
    """One event type of ListEventTypes, and the kit's event it stands for: the event's
    detail-type and the detail fields that must hold (a tuple value: any of them)."""

    id: str
    service: str  # ServiceName
    name: str  # EventTypeName
    resource_type: str  # ResourceType
    detail_type: str
    detail: tuple[tuple[str, Any], ...] = ()

    def matches(self, event: dict[str, Any]) -> bool:
        if event.get("detail-type") != self.detail_type:
            return False
        detail = event.get("detail") or {}
        for path, wanted in self.detail:
            value: Any = detail
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if value not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                return False
        return True


_PR = "CodeCommit Pull Request State Change"
_REF = "CodeCommit Repository State Change"
_BUILD = "CodeBuild Build State Change"
_PHASE = "CodeBuild Build Phase Change"
_DEPLOY = "CodeDeploy Deployment State-change Notification"
_ACTION = "CodePipeline Action Execution State Change"
_STAGE = "CodePipeline Stage Execution State Change"
_EXECUTION = "CodePipeline Pipeline Execution State Change"
_APPROVAL = ("type.category", "Approval")


def _pipeline(kind: str, label: str, detail_type: str, states: list[str]) -> list[EventType]:
    return [
        EventType(
            f"codepipeline-pipeline-{kind}-{state.lower()}",
            "CodePipeline",
            f"{label}: {state.capitalize()}",
            "Pipeline",
            detail_type,
            (("state", state),),
        )
        for state in states
    ]


# THE table: every event type id (AWS's, from the user guide's "Notification concepts"
# lists; ids seen in codecommit/codebuild/codedeploy notification-rule-create.md and
# codepipeline tutorials) and the kit's event (events.py) it is. One place: ListEventTypes,
# validation and delivery read it.
EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "codecommit-repository-comments-on-commits",
        "CodeCommit",
        "Comments: On commits",
        "Repository",
        "CodeCommit Comment on Commit",
    ),
    EventType(
        "codecommit-repository-comments-on-pull-requests",
        "CodeCommit",
        "Comments: On pull requests",
        "Repository",
        "CodeCommit Comment on Pull Request",
    ),
    EventType(
        "codecommit-repository-approvals-status-changed",
        "CodeCommit",
        "Approvals: Status changed",
        "Repository",
        _PR,
        (("event", "pullRequestApprovalStateChanged"),),
    ),
    EventType(
        "codecommit-repository-approvals-rule-override",
        "CodeCommit",
        "Approvals: Rule override",
        "Repository",
        _PR,
        (("event", "pullRequestApprovalRuleOverridden"),),
    ),
    EventType(
        "codecommit-repository-pull-request-created",
        "CodeCommit",
        "Pull request: Created",
        "Repository",
        _PR,
        (("event", "pullRequestCreated"),),
    ),
    EventType(
        "codecommit-repository-pull-request-source-updated",
        "CodeCommit",
        "Pull request: Source updated",
        "Repository",
        _PR,
        (("event", "pullRequestSourceBranchUpdated"),),
    ),
    EventType(
        "codecommit-repository-pull-request-status-changed",
        "CodeCommit",
        "Pull request: Status changed",
        "Repository",
        _PR,
        (("event", "pullRequestStatusChanged"),),
    ),
    EventType(
        "codecommit-repository-pull-request-merged",
        "CodeCommit",
        "Pull request: Merged",
        "Repository",
        _PR,
        (("event", "pullRequestMergeStatusUpdated"), ("isMerged", "True")),
    ),
    *[
        EventType(
            f"codecommit-repository-branches-and-tags-{kind.lower()}",
            "CodeCommit",
            f"Branches and tags: {kind}",
            "Repository",
            _REF,
            (("event", f"reference{kind}"),),
        )
        for kind in ("Created", "Deleted", "Updated")
    ],
    *[
        EventType(
            f"codebuild-project-build-state-{label.lower()}",
            "CodeBuild",
            f"Build state: {label}",
            "Project",
            _BUILD,
            (("build-status", status),),
        )
        for label, status in (
            ("Failed", "FAILED"),
            ("Succeeded", "SUCCEEDED"),
            ("In-progress", "IN_PROGRESS"),
            ("Stopped", "STOPPED"),
        )
    ],
    EventType(
        "codebuild-project-build-phase-failure",
        "CodeBuild",
        "Build phase: Failure",
        "Project",
        _PHASE,
        (("completed-phase-status", ("FAILED", "FAULT", "TIMED_OUT", "CLIENT_ERROR")),),
    ),
    EventType(
        "codebuild-project-build-phase-success",
        "CodeBuild",
        "Build phase: Success",
        "Project",
        _PHASE,
        (("completed-phase-status", "SUCCEEDED"),),
    ),
    *[
        EventType(
            f"codedeploy-application-deployment-{label.lower()}",
            "CodeDeploy",
            f"Deployment: {label}",
            "Application",
            _DEPLOY,
            (("state", state),),
        )
        for label, state in (("Failed", "FAILURE"), ("Succeeded", "SUCCESS"), ("Started", "START"))
    ],
    *_pipeline(
        "action-execution", "Action execution", _ACTION, ["SUCCEEDED", "FAILED", "CANCELED"]
    ),
    *_pipeline("action-execution", "Action execution", _ACTION, ["STARTED"]),
    *_pipeline(
        "stage-execution",
        "Stage execution",
        _STAGE,
        ["STARTED", "SUCCEEDED", "RESUMED", "CANCELED", "FAILED"],
    ),
    *_pipeline(
        "pipeline-execution",
        "Pipeline execution",
        _EXECUTION,
        ["FAILED", "CANCELED", "STARTED", "RESUMED", "SUCCEEDED", "SUPERSEDED"],
    ),
    EventType(
        "codepipeline-pipeline-manual-approval-failed",
        "CodePipeline",
        "Manual approval: Failed",
        "Pipeline",
        _ACTION,
        (_APPROVAL, ("state", "FAILED")),
    ),
    EventType(
        "codepipeline-pipeline-manual-approval-needed",
        "CodePipeline",
        "Manual approval: Needed",
        "Pipeline",
        _ACTION,
        (_APPROVAL, ("state", "STARTED")),
    ),
    EventType(
        "codepipeline-pipeline-manual-approval-succeeded",
        "CodePipeline",
        "Manual approval: Succeeded",
        "Pipeline",
        _ACTION,
        (_APPROVAL, ("state", "SUCCEEDED")),
    ),
)
EVENT_TYPES_BY_ID = {event_type.id: event_type for event_type in EVENT_TYPES}

# The resource ARNs a rule may watch: (service, resource prefix) -> ResourceType.
RESOURCE_TYPES = {
    ("codecommit", ""): "Repository",
    ("codebuild", "project/"): "Project",
    ("codedeploy", "application:"): "Application",
    ("codepipeline", ""): "Pipeline",
}


def resource_type(arn: str) -> str | None:
    """The ResourceType of a resource ARN a rule can watch, None: not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[5]:
        return None
    for (service, prefix), kind in RESOURCE_TYPES.items():
        if parts[2] == service and parts[5].startswith(prefix) and parts[5] != prefix:
            if service in ("codecommit", "codepipeline") and ("/" in parts[5] or ":" in parts[5]):
                return None
            return kind
    return None


@dataclass
class Target:
    type: str  # TargetType: SNS (AWSChatbotSlack is accepted and never delivered offline)
    address: str


@dataclass
class Rule:
    arn: str
    name: str
    resource: str
    event_type_ids: list[str]
    targets: list[str]  # addresses, each a key of the backend's targets
    detail_type: str
    status: str
    created_by: str
    token: str | None
    tags: dict[str, str] = field(default_factory=dict)
    created: Any = field(default_factory=now)
    modified: Any = field(default_factory=now)


class NotificationsLabBackend(BaseBackend, TaggableResourcesMixin):
    # The Resource Groups Tagging API (moto's) finds notification rules through the mixin.
    SERVICE_NAMESPACE = "codestar-notifications"

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.lock = threading.RLock()
        self.rules: dict[str, Rule] = {}
        self.targets: dict[str, Target] = {}

    # --- rules ----------------------------------------------------------------------------
    def create_rule(self, params: dict, caller: str) -> Rule:
        with self.lock:
            token = params.get("ClientRequestToken")
            for rule in self.rules.values():
                if token and rule.token == token:
                    return rule  # a retried request: the rule it made (AWS's idempotency)
                if rule.name == params["Name"]:
                    raise ResourceAlreadyExistsException(
                        f"A notification rule named {params['Name']} already exists"
                    )
            resource = params["Resource"]
            self._check_resource(resource)
            self._check_event_types(params["EventTypeIds"], resource)
            addresses = self._add_targets(params["Targets"])
            digest = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
            arn = (
                f"arn:aws:codestar-notifications:{self.region_name}:{self.account_id}"
                f":notificationrule/{digest}"
            )
            rule = Rule(
                arn,
                params["Name"],
                resource,
                list(dict.fromkeys(params["EventTypeIds"])),
                addresses,
                params["DetailType"],
                params.get("Status") or "ENABLED",
                caller,
                token,
                dict(params.get("Tags") or {}),
            )
            self.rules[arn] = rule
            return rule

    def get_rule(self, arn: str) -> Rule:
        rule = self.rules.get(arn)
        if rule is None:
            raise ResourceNotFoundException(f"Notification rule {arn} does not exist")
        return rule

    def update_rule(self, params: dict) -> None:
        with self.lock:
            rule = self.get_rule(params["Arn"])
            if "Name" in params and params["Name"] != rule.name:
                if any(other.name == params["Name"] for other in self.rules.values()):
                    raise ValidationException(
                        f"A notification rule named {params['Name']} already exists"
                    )
            if "EventTypeIds" in params:
                self._check_event_types(params["EventTypeIds"], rule.resource)
            if "Targets" in params:
                rule.targets = self._add_targets(params["Targets"])
            if "EventTypeIds" in params:
                rule.event_type_ids = list(dict.fromkeys(params["EventTypeIds"]))
            rule.name = params.get("Name", rule.name)
            rule.status = params.get("Status", rule.status)
            rule.detail_type = params.get("DetailType", rule.detail_type)
            rule.modified = now()

    def delete_rule(self, arn: str) -> None:
        """AWS answers DeleteNotificationRule for a rule that is gone with its ARN too."""
        with self.lock:
            self.rules.pop(arn, None)

    def list_rules(self, filters: list[dict]) -> list[Rule]:
        wanted = _filters(filters)
        return [
            rule
            for rule in list(self.rules.values())
            if all(
                value in _rule_values(rule).get(name, ())
                for name, values in wanted.items()
                for value in values
            )
        ]

    # --- targets --------------------------------------------------------------------------
    def subscribe(self, arn: str, target: dict) -> None:
        with self.lock:
            rule = self.get_rule(arn)
            address = self._add_targets([target])[0]
            if address not in rule.targets:
                if len(rule.targets) >= MAX_TARGETS:
                    raise ValidationException(
                        f"A notification rule can have at most {MAX_TARGETS} targets"
                    )
                rule.targets.append(address)
                rule.modified = now()

    def unsubscribe(self, arn: str, address: str) -> None:
        """AWS answers Unsubscribe for an unknown rule or target without an error (the
        model declares only ValidationException)."""
        with self.lock:
            rule = self.rules.get(arn)
            if rule is not None and address in rule.targets:
                rule.targets.remove(address)
                rule.modified = now()

    def delete_target(self, address: str, force: bool) -> None:
        with self.lock:
            users = [rule for rule in self.rules.values() if address in rule.targets]
            if users and not force:
                raise ValidationException(
                    f"Target {address} is still subscribed to {len(users)} notification "
                    "rule(s); unsubscribe it first or set ForceUnsubscribeAll"
                )
            for rule in users:
                rule.targets.remove(address)
            self.targets.pop(address, None)

    def target_status(self, target: Target) -> str:
        """ACTIVE: a rule uses it and it can receive; INACTIVE: no rule uses it;
        UNREACHABLE: its topic is gone or its policy does not let the service publish."""
        if not any(target.address in rule.targets for rule in list(self.rules.values())):
            return "INACTIVE"
        if target.type != "SNS" or not topic_allows_notifications(target.address):
            return "UNREACHABLE"
        return "ACTIVE"

    def list_targets(self, filters: list[dict]) -> list[tuple[Target, str]]:
        wanted = _filters(filters)
        found = []
        for target in list(self.targets.values()):
            status = self.target_status(target)
            values = {
                "TARGET_TYPE": target.type,
                "TARGET_ADDRESS": target.address,
                "TARGET_STATUS": status,
            }
            if all(values[name] in allowed for name, allowed in wanted.items()):
                found.append((target, status))
        return found

    # --- tags (the API's and the Resource Groups Tagging API's) -----------------------------
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for rule in list(self.rules.values()):
            yield TaggedResource(rule.arn, rule.tags, "codestar-notifications:notificationrule")

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self.get_rule(arn).tags.update(tags)

    def untag_resource(self, arn: str, tag_keys: list[str]) -> None:
        rule = self.get_rule(arn)
        for key in tag_keys:
            rule.tags.pop(key, None)

    # --- checks ---------------------------------------------------------------------------
    def _check_resource(self, resource: str) -> None:
        parts = resource.split(":")
        if resource_type(resource) is None:
            raise ValidationException(
                f"Resource {resource} is not a CodeCommit repository, CodeBuild project, "
                "CodeDeploy application or CodePipeline pipeline"
            )
        if parts[3] != self.region_name or parts[4] != self.account_id:
            raise ValidationException(
                f"Resource {resource} is not in this account ({self.account_id}) and region "
                f"({self.region_name})"
            )

    def _check_event_types(self, ids: list[str], resource: str) -> None:
        if not ids:
            raise ValidationException("EventTypeIds must name at least one event type")
        kind = resource_type(resource)
        for event_type_id in ids:
            event_type = EVENT_TYPES_BY_ID.get(event_type_id)
            if event_type is None:
                raise ValidationException(f"Event type {event_type_id} does not exist")
            if event_type.resource_type != kind:
                raise ValidationException(
                    f"Event type {event_type_id} is not an event of a {kind} "
                    f"({resource}): it belongs to a {event_type.resource_type}"
                )

    def _add_targets(self, targets: list[dict]) -> list[str]:
        addresses = []
        for given in targets:
            kind, address = given.get("TargetType"), given.get("TargetAddress")
            if kind not in ("SNS", "AWSChatbotSlack") or not address:
                raise ValidationException(
                    "Each target needs TargetType SNS or AWSChatbotSlack and a TargetAddress"
                )
            if kind == "SNS" and not _is_topic_arn(address, self.account_id):
                raise ValidationException(
                    f"TargetAddress {address} is not the ARN of an SNS topic of account "
                    f"{self.account_id}"
                )
            known = self.targets.get(address)
            if known is not None and known.type != kind:
                raise ValidationException(f"Target {address} is already a {known.type} target")
            self.targets.setdefault(address, Target(kind, address))
            if address not in addresses:
                addresses.append(address)
        return addresses


def _is_topic_arn(address: str, account: str) -> bool:
    parts = address.split(":")
    return len(parts) == 6 and parts[:3] == ["arn", "aws", "sns"] and parts[4] == account


def _filters(filters: list[dict]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for item in filters or []:
        wanted.setdefault(item["Name"], set()).add(item["Value"])
    return wanted


def _rule_values(rule: Rule) -> dict[str, set[str]]:
    return {
        "EVENT_TYPE_ID": set(rule.event_type_ids),
        "CREATED_BY": {rule.created_by},
        "RESOURCE": {rule.resource},
        "TARGET_ADDRESS": set(rule.targets),
    }


def topic_allows_notifications(topic_arn: str) -> bool:
    """The topic exists and its access policy lets codestar-notifications.amazonaws.com
    SNS:Publish (the statement the console adds: set-up-sns in the user guide)."""
    policy = moto_backends.sns_topic_policy(topic_arn)
    if policy is None:
        return False
    try:
        statements = json.loads(policy).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        actions = statement.get("Action", [])
        services = [services] if isinstance(services, str) else services
        actions = [actions] if isinstance(actions, str) else actions
        if PRINCIPAL in services and any(a.lower() in ("sns:publish", "sns:*") for a in actions):
            return True
    return False


notification_lab_backends = BackendDict(NotificationsLabBackend, "codestar-notifications")


# --- delivery ------------------------------------------------------------------------------


def has_rules(account: str, region: str) -> bool:
    """An enabled rule exists (events.listening: otherwise no event is shaped for it)."""
    if account not in notification_lab_backends:
        return False
    backend = notification_lab_backends[account].get(region)
    return backend is not None and any(r.status == "ENABLED" for r in backend.rules.values())


def deliver(event: dict[str, Any]) -> None:
    """Send event to the targets of each ENABLED rule watching its resource for one of its
    event types; never raises (emit's callers must not fail over a notification)."""
    try:
        if not has_rules(event["account"], event["region"]):
            return
        backend = notification_lab_backends[event["account"]][event["region"]]
        watched = set(_event_resources(event))
        for rule in list(backend.rules.values()):
            if rule.status != "ENABLED" or rule.resource not in watched:
                continue
            if any(EVENT_TYPES_BY_ID[i].matches(event) for i in rule.event_type_ids):
                _publish(backend, rule, event)
    except Exception:
        log.exception("notification of %s was not delivered", event.get("detail-type"))


def _event_resources(event: dict[str, Any]) -> Iterator[str]:
    """The resources an event is about. A CodeBuild event names the build
    (arn:...:build/project:id); rules watch its project (arn:...:project/project)."""
    for arn in event.get("resources") or []:
        yield arn
        head, _, resource = arn.rpartition(":build/") if ":build/" in arn else ("", "", "")
        if resource:
            yield f"{head}:project/{resource.split(':', 1)[0]}"


def notification(rule: Rule, event: dict[str, Any]) -> dict[str, Any]:
    """The message a target receives: the EventBridge event's fields under the names
    notifications use (account, detailType, region, source, time, notificationRuleArn,
    detail, resources) and, for FULL, additionalAttributes (what the notification manager
    adds; offline: the event types the rule matched)."""
    message = {
        "account": event["account"],
        "detailType": event["detail-type"],
        "region": event["region"],
        "source": event["source"],
        "time": event["time"],
        "notificationRuleArn": rule.arn,
        "detail": event["detail"],
        "resources": event["resources"],
    }
    if rule.detail_type == "FULL":
        message["additionalAttributes"] = {
            "eventTypeIds": [i for i in rule.event_type_ids if EVENT_TYPES_BY_ID[i].matches(event)]
        }
    return message


def _publish(backend: NotificationsLabBackend, rule: Rule, event: dict[str, Any]) -> None:
    message = json.dumps(notification(rule, event))
    for address in list(rule.targets):
        target = backend.targets.get(address)
        if target is None or backend.target_status(target) != "ACTIVE":
            log.info("rule %s: target %s is not reachable", rule.arn, address)
            continue
        moto_backends.sns_publish(address, message)
