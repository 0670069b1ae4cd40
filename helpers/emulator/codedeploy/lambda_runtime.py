"""Running one Lambda deployment: hooks, traffic shifting on the alias, alarms, rollback.

Created -> Queued -> InProgress -> Succeeded | Failed | Stopped, as EC2 deployments
(runtime.py). The one target is the function's alias; its lifecycle events are
BeforeAllowTraffic (the hook function, invoked with DeploymentId and
LifecycleEventHookExecutionId, reports with PutLifecycleEventHookExecutionStatus),
AllowTraffic (the alias' AdditionalVersionWeights move to the target version step by
step as the deployment configuration says, then the alias points at it) and
AfterAllowTraffic. While it runs, the deployment group's alarms are polled: one in ALARM
stops the deployment. A failed or stopped deployment is rolled back, when the rollback
configuration asks, by a new deployment (creator codeDeployRollback) that points the alias
back at the current version at once.

Time: AWS's minutes (canary and linear intervals, the hook's one hour) are multiplied by
LAB_CODEDEPLOY_TIME_SCALE (default 1; 0.01 makes 5 minutes 3 seconds).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import NoReturn

from .. import events as eventbridge
from .. import moto_backends, workers
from ..awslambda import runtime as lambda_functions
from ..core import now
from .lambda_appspec import LambdaAppSpec, shifting_steps
from .models import (
    LAMBDA_ALL_AT_ONCE,
    CodeDeployLabBackend,
    Deployment,
    HookExecution,
    LifecycleEventState,
    TargetState,
)

log = logging.getLogger("helpers.emulator.codedeploy")

HOOK_TIMEOUT_MINUTES = 60  # "failed if CodeDeploy is not notified ... within one hour"
POLL_SECONDS = 0.05
ROLLBACK_CREATOR = "codeDeployRollback"


def time_scale() -> float:
    """LAB_CODEDEPLOY_TIME_SCALE: real seconds per AWS second (1 unless set)."""
    try:
        return max(0.0, float(os.environ.get("LAB_CODEDEPLOY_TIME_SCALE", "") or 1))
    except ValueError:
        return 1.0


class _Halt(Exception):
    """The deployment ends early: status (Failed or Stopped), error code and message."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def start(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    workers.start(f"codedeploy-{deployment.deployment_id}", lambda: _run(lab, deployment))


def _run(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    try:
        _deploy(lab, deployment)
    except Exception as error:  # a kit bug must still end the deployment
        log.exception("deployment %s failed inside the kit", deployment.deployment_id)
        with lab.lock:
            if not deployment.finished:
                _end(
                    deployment,
                    _Halt("Failed", "INTERNAL_ERROR", f"The local AWS failed: {error!r}"),
                )
    code = (deployment.error_information or {}).get("code")
    if deployment.status == "Failed":
        _maybe_roll_back(lab, deployment, "DEPLOYMENT_FAILURE")
    elif deployment.status == "Stopped" and code == "ALARM_ACTIVE":
        _maybe_roll_back(lab, deployment, "DEPLOYMENT_STOP_ON_ALARM")
    elif deployment.status == "Stopped" and deployment.roll_back_on_stop:
        _maybe_roll_back(lab, deployment, "DEPLOYMENT_STOP_ON_REQUEST", forced=True)


def _deploy(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    with lab.lock:
        deployment.status = "Queued"
    workers.pace()
    try:
        with lab.lock:
            _check_stop(deployment)
            deployment.status = "InProgress"
            deployment.start_time = now()
            eventbridge.codedeploy_deployment_state(deployment)
        spec = deployment.appspec
        if spec is None:
            raise _Halt("Failed", "INVALID_REVISION", deployment.appspec_error or "No AppSpec.")
        _check_function(lab, deployment, spec)
        target = next(iter(deployment.targets.values()))
        with lab.lock:
            target.status = "InProgress"
            target.last_updated = now()
        _hook(lab, deployment, target, "BeforeAllowTraffic")
        _shift_traffic(lab, deployment, target, spec)
        _hook(lab, deployment, target, "AfterAllowTraffic")
    except _Halt as halt:
        with lab.lock:
            _end(deployment, halt)
        return
    with lab.lock:
        target.status = "Succeeded"
        target.last_updated = now()
        _end(deployment)


def _check_function(lab: CodeDeployLabBackend, deployment: Deployment, spec: LambdaAppSpec) -> None:
    """The function, its alias and both versions exist, and the alias serves CurrentVersion."""
    account, region = lab.account_id, lab.region_name
    if moto_backends.lambda_function(account, region, spec.function) is None:
        raise _Halt(
            "Failed",
            "INVALID_LAMBDA_FUNCTION",
            f"The Lambda function {spec.function} was not found.",
        )
    alias = moto_backends.lambda_alias(account, region, spec.function, spec.alias)
    if alias is None:
        raise _Halt(
            "Failed",
            "INVALID_LAMBDA_CONFIGURATION",
            f"The alias {spec.alias} of the Lambda function {spec.function} was not found.",
        )
    for version in (spec.current_version, spec.target_version):
        if moto_backends.lambda_function(account, region, spec.function, version) is None:
            raise _Halt(
                "Failed",
                "INVALID_LAMBDA_CONFIGURATION",
                f"The version {version} of the Lambda function {spec.function} was not found.",
            )
    if deployment.creator == ROLLBACK_CREATOR:
        return  # a rollback takes the alias back from wherever the failed deployment left it
    if alias.function_version != spec.current_version or alias.weights:
        raise _Halt(
            "Failed",
            "INVALID_LAMBDA_CONFIGURATION",
            f"The alias {spec.alias} points to version {alias.function_version}"
            + (" with additional version weights" if alias.weights else "")
            + f", not to the CurrentVersion {spec.current_version} of the AppSpec file.",
        )


# --- lifecycle events ------------------------------------------------------------------


def _event(target: TargetState, name: str) -> LifecycleEventState:
    return next(event for event in target.events if event.name == name)


def _begin_event(lab: CodeDeployLabBackend, target: TargetState, name: str) -> LifecycleEventState:
    with lab.lock:
        event = _event(target, name)
        event.status = "InProgress"
        event.start_time = now()
        target.last_updated = now()
        return event


def _end_event(
    lab: CodeDeployLabBackend, event: LifecycleEventState, status: str, diagnostics: dict | None
) -> None:
    with lab.lock:
        event.status = status
        event.end_time = now()
        event.diagnostics = diagnostics


def _hook(
    lab: CodeDeployLabBackend, deployment: Deployment, target: TargetState, name: str
) -> None:
    """Invoke the event's hook function and wait for its reported status."""
    event = _begin_event(lab, target, name)
    function = deployment.appspec.hooks.get(name) if deployment.appspec else None
    if function is None:
        _end_event(lab, event, "Succeeded", None)
        return
    execution_id = secrets.token_urlsafe(48)
    with lab.lock:
        execution = deployment.hook_executions[execution_id] = HookExecution(name)
    payload = {
        "DeploymentId": deployment.deployment_id,
        "LifecycleEventHookExecutionId": execution_id,
    }
    try:
        invocation = lambda_functions.invoke_by_name(
            lab.account_id, lab.region_name, function, payload
        )
    except lambda_functions.InvocationRefused as refused:
        _fail_hook(
            lab,
            event,
            name,
            "ScriptFailed",
            f"The hook function {function} could not run: {refused.message}",
        )
    if invocation.function_error and execution.status == "Pending":
        message = (invocation.error or {}).get("errorMessage") or invocation.payload.decode(
            errors="replace"
        )
        _fail_hook(
            lab, event, name, "ScriptFailed", f"The hook function {function} failed: {message}"
        )
    reported = _wait(
        lab, deployment, HOOK_TIMEOUT_MINUTES * 60, lambda: execution.status != "Pending"
    )
    if not reported:
        _fail_hook(
            lab,
            event,
            name,
            "ScriptTimedOut",
            f"The hook function {function} did not report its status within an hour.",
        )
    if execution.status == "Failed":
        _fail_hook(
            lab, event, name, "ScriptFailed", f"The hook function {function} reported Failed."
        )
    _end_event(
        lab,
        event,
        "Succeeded",
        {"errorCode": "Success", "scriptName": function, "message": "Succeeded", "logTail": ""},
    )


def _fail_hook(
    lab: CodeDeployLabBackend, event: LifecycleEventState, name: str, code: str, message: str
) -> NoReturn:
    _end_event(
        lab,
        event,
        "Failed",
        {"errorCode": code, "scriptName": "", "message": message, "logTail": ""},
    )
    raise _Halt(
        "Failed",
        "HOOK_EXECUTION_FAILURE",
        f"The deployment failed because of a failed {name} lifecycle event: {message}",
    )


def _shift_traffic(
    lab: CodeDeployLabBackend, deployment: Deployment, target: TargetState, spec: LambdaAppSpec
) -> None:
    """AllowTraffic: the target version's share grows as the configuration says."""
    event = _begin_event(lab, target, "AllowTraffic")
    for share, minutes in shifting_steps(deployment.config.traffic_routing_config):
        _wait(lab, deployment, 0, lambda: True)  # alarms and stop requests first
        if share < 100:
            routed = moto_backends.route_lambda_alias(
                lab.account_id,
                lab.region_name,
                spec.function,
                spec.alias,
                spec.current_version,
                {spec.target_version: share / 100},
            )
        else:
            routed = moto_backends.route_lambda_alias(
                lab.account_id, lab.region_name, spec.function, spec.alias, spec.target_version, {}
            )
        if not routed:
            _end_event(lab, event, "Failed", None)
            raise _Halt(
                "Failed",
                "INVALID_LAMBDA_CONFIGURATION",
                f"The alias {spec.alias} of the Lambda function {spec.function} is gone.",
            )
        with lab.lock:
            if target.lambda_info is not None:
                target.lambda_info["targetVersionWeight"] = float(share)
            target.last_updated = now()
        workers.pace()
        if minutes:
            _wait(lab, deployment, minutes * 60, lambda: False)
    _end_event(lab, event, "Succeeded", None)


def _wait(
    lab: CodeDeployLabBackend, deployment: Deployment, aws_seconds: float, done: Callable[[], bool]
) -> bool:
    """Wait (scaled) until done() or the time is up, polling alarms and stop requests."""
    deadline = time.monotonic() + aws_seconds * time_scale()
    while True:
        with lab.lock:
            _check_stop(deployment)
            if done():
                return True
        _check_alarms(lab, deployment)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_SECONDS, remaining))


def _check_stop(deployment: Deployment) -> None:
    if deployment.stop_requested:
        raise _Halt("Stopped", "MANUAL_STOP", "The deployment was stopped by a user.")


def _check_alarms(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    """An alarm of the group in ALARM stops the deployment; one that cannot be read
    fails it unless ignorePollAlarmFailure."""
    alarms = deployment.group.settings.get("alarmConfiguration") or {}
    if not alarms.get("enabled"):
        return
    for alarm in alarms.get("alarms") or []:
        name = str(alarm.get("name") or "")
        state = moto_backends.alarm_state(lab.account_id, lab.region_name, name)
        if state == "ALARM":
            raise _Halt(
                "Stopped",
                "ALARM_ACTIVE",
                f"The deployment was stopped because the alarm {name} is in the ALARM state.",
            )
        if state is None and not alarms.get("ignorePollAlarmFailure"):
            raise _Halt(
                "Failed",
                "ALARM_ACTIVE",
                f"The state of the alarm {name} could not be retrieved from CloudWatch.",
            )


def _end(deployment: Deployment, halt: _Halt | None = None) -> None:
    """Final status; a halted deployment's target failed where it stood."""
    deployment.status = "Succeeded" if halt is None else halt.status
    deployment.complete_time = now()
    if halt is not None:
        deployment.error_information = {"code": halt.code, "message": halt.message}
        for target in deployment.targets.values():
            target.status = "Failed"
            target.last_updated = now()
            for event in target.events:
                if event.status == "InProgress":
                    event.status = "Failed"
                    event.end_time = now()
                elif event.status == "Pending":
                    event.status = "Skipped"
    else:
        deployment.group.last_successful = deployment
    eventbridge.codedeploy_deployment_state(deployment)


def _maybe_roll_back(
    lab: CodeDeployLabBackend, deployment: Deployment, reason: str, forced: bool = False
) -> None:
    """Automatic rollback: a new deployment pointing the alias back at CurrentVersion."""
    rollback = deployment.options.get("autoRollbackConfiguration") or {}
    wanted = forced or (rollback.get("enabled") and reason in (rollback.get("events") or []))
    spec = deployment.appspec
    if not wanted or deployment.creator == ROLLBACK_CREATOR or spec is None:
        return
    back = LambdaAppSpec(spec.function, spec.alias, spec.target_version, spec.current_version)
    with lab.lock:
        rollback_deployment = lab.create_lambda_deployment(
            deployment.application,
            deployment.group,
            {"revision": deployment.revision, "deploymentConfigName": LAMBDA_ALL_AT_ONCE},
            ROLLBACK_CREATOR,
            appspec=back,
        )
        lab.record_use(rollback_deployment)
        rollback_deployment.rollback_info = {
            "rollbackTriggeringDeploymentId": deployment.deployment_id,
            "rollbackMessage": f"Rollback of deployment {deployment.deployment_id}, which "
            f"{deployment.status.lower()}.",
        }
        deployment.rollback_info = {
            "rollbackDeploymentId": rollback_deployment.deployment_id,
            "rollbackMessage": f"Deployment {deployment.deployment_id} was rolled back by "
            f"deployment {rollback_deployment.deployment_id}.",
        }
    start(lab, rollback_deployment)
