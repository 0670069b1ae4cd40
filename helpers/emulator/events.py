"""Every service's events, as AWS puts them on the account's default EventBridge bus.

One place: emit() builds the event (version, id, time, account, region...), puts it on the
local EventBridge (moto_backends.put_service_event: ENABLED rules whose pattern matches
send it to their targets) and delivers the targets moto does not (SNS topics). The
functions below shape each documented event; the services' runtimes call them with one
line at each state change (which also wakes the pollers of this process: changes.py).
Field names follow the user guides' examples (codecommit monitoring-events.md, codebuild
sample-build-notifications.md, codepipeline detect-state-changes-cloudwatch-events.md;
CodeDeploy: the EventBridge user guide's "CodeDeploy events" examples, the CodeDeploy
guide shows none).

An event that cannot be delivered is logged and dropped, as on AWS: emitting never fails
the build, deployment or push that caused it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import changes, moto_backends, serving
from .notifications import models as notifications

if TYPE_CHECKING:
    from .codebuild.models import Build
    from .codecommit.models import Repository
    from .codedeploy.models import Deployment, TargetState
    from .codepipeline.runtime import ActionRun, Execution

log = logging.getLogger(__name__)

StateFunction = TypeVar("StateFunction", bound=Callable[..., None])


def _tells_pollers(state_function: StateFunction) -> StateFunction:
    """A state change's event function also wakes the pollers of this process (changes.py),
    whether or not a rule listens: a lab helper waiting on the kernel's own server polls
    again at once."""

    @functools.wraps(state_function)
    def telling(*args: Any, **kwargs: Any) -> None:
        try:
            state_function(*args, **kwargs)
        finally:
            changes.changed()

    return cast(StateFunction, telling)


def emit(
    account: str,
    region: str,
    source: str,
    detail_type: str,
    resources: list[str],
    detail: dict[str, Any],
) -> None:
    """Put one event on the default bus of the account and region; never raises."""
    if not listening(account, region):
        return
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _iso(dt.datetime.now(dt.timezone.utc)),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
    try:
        moto_backends.put_service_event(account, region, event, _deliver)
    except Exception:  # a kit bug in delivery must not fail what caused the event
        log.exception("event %s from %s was not delivered", detail_type, source)
    notifications.deliver(event)  # CodeStar Notifications rules (never raises)


def listening(account: str, region: str) -> bool:
    """A rule could receive an event (the runtimes skip shaping events nobody gets)."""
    try:
        return moto_backends.has_rules(account, region) or notifications.has_rules(account, region)
    except Exception:  # never fail the caller over an event
        log.exception("reading the rules of %s/%s", account, region)
        return False


def _deliver(target: moto_backends.MatchedTarget) -> None:
    """The targets moto leaves to the kit."""
    service = target.target_arn.split(":")[2] if target.target_arn.count(":") >= 5 else ""
    if service == "sns":
        message = target.payload if isinstance(target.payload, str) else json.dumps(target.payload)
        if not moto_backends.sns_publish(target.target_arn, message):
            log.info("rule %s: no topic %s", target.rule_arn, target.target_arn)
        return
    starts = {"codebuild": _start_build, "codepipeline": _start_pipeline}
    if service in starts:
        # In a thread of its own: the emitting runtime may hold its locks, and the build or
        # execution this starts emits events of its own.
        name = f"eventbridge-{service}-{uuid.uuid4().hex[:8]}"
        threading.Thread(target=_guarded, args=(starts[service], target), name=name).start()
        return
    log.info("rule %s: target %s is not delivered offline", target.rule_arn, target.target_arn)


def _guarded(start: Any, target: moto_backends.MatchedTarget) -> None:
    try:
        start(target)
    except Exception:  # AWS records a failed invocation; the server goes on
        log.exception("rule %s: starting %s failed", target.rule_arn, target.target_arn)


def _start_build(target: moto_backends.MatchedTarget) -> None:
    """A CodeBuild target: StartBuild of the project, the target's input (if it is one)
    as StartBuild's parameters (the user guide's pull-request rule passes sourceVersion)."""
    from .codebuild.models import codebuild_lab_backends
    from .core import AwsError, check_request, service_model

    _, _, _, region, account, resource = target.target_arn.split(":", 5)
    members = service_model("codebuild").operation_model("StartBuild").input_shape.members
    given = target.payload if isinstance(target.payload, dict) else {}
    params = {k: v for k, v in given.items() if k in members}
    params["projectName"] = resource.removeprefix("project/")
    try:
        check_request("codebuild", "StartBuild", params)
        backend = codebuild_lab_backends[account][region]
        rule = "rule/" + target.rule_arn.rsplit("/", 1)[-1]
        backend.start_build(params, rule, serving.local_endpoint())
    except AwsError as error:
        log.info("rule %s: StartBuild refused: %s", target.rule_arn, error)


def _start_pipeline(target: moto_backends.MatchedTarget) -> None:
    """A CodePipeline target: StartPipelineExecution (triggerType CloudWatchEvent)."""
    from .codepipeline import models

    _, _, _, region, account, name = target.target_arn.split(":", 5)
    models.start_by_rule(account, region, name, target.rule_arn, target.event)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _java_date(moment: dt.datetime | None) -> str | None:
    """CodeBuild's events write dates as Java does: "Sep 1, 2017 4:12:29 PM"."""
    if moment is None:
        return None
    m = moment.astimezone(dt.timezone.utc)
    return f"{m:%b} {m.day}, {m.year} {int(f'{m:%I}')}:{m:%M:%S %p}"


# --- CodeCommit ----------------------------------------------------------------------------

CODECOMMIT_REFERENCE_EVENTS = {
    (False, True): "referenceCreated",
    (True, True): "referenceUpdated",
    (True, False): "referenceDeleted",
}


def codecommit_reference(
    repo: Repository,
    reference_type: str,
    name: str,
    old: str | None,
    new: str | None,
    caller_arn: str | None = None,
    merge: dict[str, Any] | None = None,
) -> None:
    """The "CodeCommit Repository State Change" of a branch or tag created, moved or
    deleted (push, PutFile, CreateCommit, CreateBranch, DeleteBranch, merges).

    merge, for a branch moved by a merge (monitoring-events.md's referenceUpdated example):
    baseCommitId, sourceCommitId, destinationCommitId, mergeOption (FAST_FORWARD_MERGE,
    SQUASH_MERGE, THREE_WAY_MERGE), conflictDetailsLevel, conflictResolutionStrategy.
    """
    kind = CODECOMMIT_REFERENCE_EVENTS.get((old is not None, new is not None))
    if kind is None:
        return
    prefix = "refs/heads/" if reference_type == "branch" else "refs/tags/"
    detail: dict[str, Any] = {
        "event": kind,
        "repositoryName": repo.name,
        "repositoryId": repo.repository_id,
        "referenceType": reference_type,
        "referenceName": name,
        "referenceFullName": prefix + name,
    }
    if new is not None:
        detail["commitId"] = new
    if old is not None:
        detail["oldCommitId"] = old
    if caller_arn:
        detail["callerUserArn"] = caller_arn
    detail.update(merge or {})
    emit(
        repo.account_id,
        repo.region,
        "aws.codecommit",
        "CodeCommit Repository State Change",
        [repo.arn],
        detail,
    )


def codecommit_unreferenced_merge_commit(
    repo: Repository, commit_id: str, merge: dict[str, Any]
) -> None:
    """The "unreferencedMergeCommitCreated" event (CreateUnreferencedMergeCommit); merge
    holds the merge fields listed in codecommit_reference."""
    detail = {
        "event": "unreferencedMergeCommitCreated",
        "repositoryName": repo.name,
        "repositoryId": repo.repository_id,
        "commitId": commit_id,
        **merge,
    }
    emit_codecommit(repo, "CodeCommit Repository State Change", detail)


def emit_codecommit_pull_request(repo: Repository, detail: dict[str, Any]) -> None:
    """The "CodeCommit Pull Request State Change" (for the pull request module).

    detail: the documented fields of monitoring-events.md's pullRequest* examples, shaped
    by the caller: event (pullRequestCreated, pullRequestSourceBranchUpdated,
    pullRequestStatusChanged, pullRequestMergeStatusUpdated, pullRequestApprovalStateChanged,
    pullRequestApprovalRuleCreated/Updated/Deleted/Overridden), author, callerUserArn,
    creationDate, lastModifiedDate, description, title, destinationCommit,
    destinationReference, sourceCommit, sourceReference, isMerged ("True"/"False"),
    pullRequestId, pullRequestStatus (Open/Closed), repositoryNames, revisionId,
    notificationBody. resources is the repository's ARN, as AWS sends it.
    """
    emit_codecommit(repo, "CodeCommit Pull Request State Change", detail)


def emit_codecommit(repo: Repository, detail_type: str, detail: dict[str, Any]) -> None:
    """Any other CodeCommit event about one repository ("CodeCommit Comment on Pull
    Request", "CodeCommit Comment on Commit", "CodeCommit Approval Rule Template
    Change"...), detail shaped by the caller as monitoring-events.md shows it."""
    emit(repo.account_id, repo.region, "aws.codecommit", detail_type, [repo.arn], detail)


# --- CodeBuild -----------------------------------------------------------------------------


@_tells_pollers
def codebuild_build_state(build: Build) -> None:
    """The "CodeBuild Build State Change": IN_PROGRESS at the start, then the final status."""
    if not listening(build.account, build.region):
        return
    detail = {
        "build-status": build.status,
        "project-name": build.project_name,
        "build-id": build.arn,
        "additional-information": _build_information(build),
        "current-phase": build.current_phase,
        "current-phase-context": json.dumps(build.phases[-1].contexts or []),
        "version": "1",
    }
    _codebuild_event(build, "CodeBuild Build State Change", detail)


@_tells_pollers
def codebuild_phase_change(build: Build) -> None:
    """The "CodeBuild Build Phase Change" for the phase that has just ended."""
    if not listening(build.account, build.region):
        return
    phase = build.phases[-1]
    duration = int((phase.end - phase.start).total_seconds()) if phase.end else 0
    detail = {
        "completed-phase": phase.type,
        "project-name": build.project_name,
        "build-id": build.arn,
        "completed-phase-context": json.dumps(phase.contexts or []),
        "additional-information": _build_information(build),
        "completed-phase-status": phase.status,
        "completed-phase-duration-seconds": duration,
        "version": "1",
        "completed-phase-start": _java_date(phase.start),
        "completed-phase-end": _java_date(phase.end),
    }
    _codebuild_event(build, "CodeBuild Build Phase Change", detail)


def _codebuild_event(build: Build, detail_type: str, detail: dict[str, Any]) -> None:
    emit(build.account, build.region, "aws.codebuild", detail_type, [build.arn], detail)


def _build_information(build: Build) -> dict[str, Any]:
    from .codebuild.models import build_environment

    config = build.config
    environment = build_environment(config)
    information: dict[str, Any] = {
        "environment": {
            "image": environment.get("image"),
            "privileged-mode": bool(environment.get("privilegedMode")),
            "compute-type": environment.get("computeType"),
            "type": environment.get("type"),
            "environment-variables": [
                {"name": v["name"], "type": v["type"], "value": v["value"]}
                for v in environment["environmentVariables"]
                if v["type"] == "PLAINTEXT"  # AWS leaves the secret ones' values out too
            ],
        },
        "timeout-in-minutes": config.timeout_minutes,
        "build-complete": build.done.is_set() or build.end_time is not None,
        "initiator": build.initiator,
        "build-start-time": _java_date(build.start_time),
        "source": {k: v for k, v in config.source.items() if k in ("type", "location")},
        "source-version": build.resolved_source_version or config.source_version,
        "phases": [_phase(p) for p in build.phases],
    }
    if build.log_group:
        information["logs"] = {
            "group-name": build.log_group,
            "stream-name": build.log_stream,
            "deep-link": (
                f"https://console.aws.amazon.com/cloudwatch/home?region={build.region}"
                f"#logEvent:group={build.log_group};stream={build.log_stream}"
            ),
        }
    if build.artifact_location:
        information["artifact"] = {"location": build.artifact_location.get("location")}
    return information


def _phase(phase: Any) -> dict[str, Any]:
    shaped: dict[str, Any] = {"start-time": _java_date(phase.start), "phase-type": phase.type}
    if phase.end is not None:
        shaped["phase-context"] = [
            f"{c['statusCode']}: {c['message']}" if c.get("statusCode") else ""
            for c in phase.contexts or []
        ]
        shaped["end-time"] = _java_date(phase.end)
        shaped["duration-in-seconds"] = int((phase.end - phase.start).total_seconds())
        shaped["phase-status"] = phase.status
    return shaped


# --- CodeDeploy ----------------------------------------------------------------------------

# The deployment's status -> the event's state (START, SUCCESS, FAILURE, STOP, READY).
CODEDEPLOY_STATES = {
    "InProgress": "START",
    "Succeeded": "SUCCESS",
    "Failed": "FAILURE",
    "Stopped": "STOP",
    "Ready": "READY",
}


@_tells_pollers
def codedeploy_deployment_state(deployment: Deployment) -> None:
    """The "CodeDeploy Deployment State-change Notification"."""
    state = CODEDEPLOY_STATES.get(deployment.status)
    if state is not None:
        _codedeploy_event(deployment, "CodeDeploy Deployment State-change Notification", state)


@_tells_pollers
def codedeploy_instance_state(deployment: Deployment, target: TargetState) -> None:
    """The "CodeDeploy Instance State-change Notification" for one instance of a deployment."""
    state = CODEDEPLOY_STATES.get(target.status)
    if state is not None:
        _codedeploy_event(
            deployment,
            "CodeDeploy Instance State-change Notification",
            state,
            target,
        )


def _codedeploy_event(
    deployment: Deployment, detail_type: str, state: str, target: TargetState | None = None
) -> None:
    group = deployment.group
    application = deployment.application
    account, region = application.arn.split(":")[4], application.arn.split(":")[3]
    detail: dict[str, Any] = {}
    resources = [application.arn, group.arn]
    if target is not None:
        detail["instanceId"] = target.target_id
        resources = [target.arn, group.arn, application.arn]
    detail.update(
        {
            "region": region,
            "application": application.name,
            "deploymentId": deployment.deployment_id,
            "instanceGroupId": group.group_id,
            "deploymentGroup": group.name,
            "state": state,
        }
    )
    emit(account, region, "aws.codedeploy", detail_type, resources, detail)


# --- CodePipeline --------------------------------------------------------------------------

# The execution's, stage's or action's status -> the event's state.
CODEPIPELINE_STATES = {
    "InProgress": "STARTED",
    "Stopping": "STOPPING",
    "Stopped": "STOPPED",
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "Superseded": "SUPERSEDED",
    "Abandoned": "ABANDONED",
    "Cancelled": "CANCELED",
}


@_tells_pollers
def codepipeline_execution_state(execution: Execution, stop_comments: str | None = None) -> None:
    """The "CodePipeline Pipeline Execution State Change" at the execution's current status."""
    state = CODEPIPELINE_STATES.get(execution.status)
    if state is None:
        return
    detail = _pipeline_detail(execution)
    if state == "STARTED":
        detail["execution-trigger"] = {
            "trigger-type": execution.trigger.get("triggerType"),
            "trigger-detail": execution.trigger.get("triggerDetail", ""),
        }
    detail["state"] = state
    if state == "STOPPING" and execution.stop_reason:
        detail["stop-execution-comments"] = execution.stop_reason
    _pipeline_event(execution, "CodePipeline Pipeline Execution State Change", detail)


@_tells_pollers
def codepipeline_stage_state(execution: Execution, stage: str) -> None:
    """The "CodePipeline Stage Execution State Change" at the stage's current status."""
    state = CODEPIPELINE_STATES.get(execution.stage_status.get(stage, ""))
    if state is None:
        return
    detail = _pipeline_detail(execution)
    detail.update({"stage": stage, "state": state})
    _pipeline_event(execution, "CodePipeline Stage Execution State Change", detail)


@_tells_pollers
def codepipeline_action_state(run: ActionRun) -> None:
    """The "CodePipeline Action Execution State Change" at the action's current status."""
    state = CODEPIPELINE_STATES.get(run.status)
    if state is None:
        return
    execution = run.execution
    type_id = run.declaration["actionTypeId"]
    detail = _pipeline_detail(execution)
    detail.update(
        {
            "stage": run.stage,
            "execution-result": None,
            "action": run.name,
            "state": state,
            "region": run.declaration.get("region") or execution.pipeline.region,
            "type": {
                "owner": type_id["owner"],
                "category": type_id["category"],
                "provider": type_id["provider"],
                "version": type_id["version"],
            },
            "input-artifacts": [_artifact(n, loc) for n, loc in run.inputs.items()],
        }
    )
    if run.final:
        detail["output-artifacts"] = [_artifact(n, loc) for n, loc in run.outputs.items()]
        detail["execution-result"] = {
            "external-execution-url": run.external_url or "",
            "external-execution-summary": run.summary or "",
            "external-execution-id": run.external_id or "",
        }
        if run.error:
            detail["execution-result"]["error-code"] = run.error["code"]
    else:
        del detail["execution-result"]
    _pipeline_event(execution, "CodePipeline Action Execution State Change", detail)


def _pipeline_detail(execution: Execution) -> dict[str, Any]:
    return {
        "pipeline": execution.pipeline.name,
        "execution-id": execution.id,
        "version": execution.version,
    }


def _artifact(name: str, location: Any) -> dict[str, Any]:
    return {
        "name": name,
        "s3location": {"bucket": location.bucket, "key": location.key},
    }


def _pipeline_event(execution: Execution, detail_type: str, detail: dict[str, Any]) -> None:
    pipeline = execution.pipeline
    emit(
        pipeline.account,
        pipeline.region,
        "aws.codepipeline",
        detail_type,
        [pipeline.arn],
        detail,
    )
