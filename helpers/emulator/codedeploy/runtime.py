"""Running one deployment, as its worker thread drives it: the deployment state machine.

Created -> Queued -> InProgress -> Succeeded | Failed | Stopped. The worker (workers.start)
takes instances out of service as the deployment configuration allows (rollout.py's
health arithmetic), runs the emulated agent on each (agent.py) and records every
lifecycle event on the deployment's state (models.py), under the backend's lock, so that
Describe calls only read that state. A failed or stopped deployment may then be rolled
back: a new deployment of the group's last good revision.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from .. import events as eventbridge
from .. import workers
from ..core import now
from . import bundles, rollout
from .agent import Agent, DeploymentSpec
from .models import CodeDeployLabBackend, Deployment, TargetState

log = logging.getLogger("helpers.emulator.codedeploy")

NO_INSTANCES_MESSAGE = (
    "The deployment failed because no instances were found for your deployment group. "
    "Check your deployment group settings to make sure the tags for your Amazon EC2 "
    "instances or Auto Scaling groups correctly identify the instances you want to deploy "
    "to, and then try again."
)
HEALTH_CONSTRAINTS_MESSAGE = (
    "The overall deployment failed because too many individual instances failed "
    "deployment, too few healthy instances are available for deployment, or some instances "
    "in your deployment group are experiencing problems."
)


def start(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    """Run the deployment in a worker (right away in synchronous mode)."""
    workers.start(f"codedeploy-{deployment.deployment_id}", lambda: _run(lab, deployment))


def _run(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    try:
        _advance(lab, deployment)
    except Exception as error:  # a kit bug must still end the deployment
        log.exception("deployment %s failed inside the kit", deployment.deployment_id)
        with lab.lock:
            if not deployment.finished:
                _finish(
                    deployment,
                    "Failed",
                    "INTERNAL_ERROR",
                    f"The local AWS failed while deploying: {error!r}",
                )


def _advance(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    _deploy(lab, deployment)
    if deployment.status == "Failed":
        _maybe_roll_back(lab, deployment, "DEPLOYMENT_FAILURE")
    elif deployment.status == "Stopped" and deployment.roll_back_on_stop:
        _maybe_roll_back(lab, deployment, "DEPLOYMENT_STOP_ON_REQUEST", forced=True)


def _deploy(lab: CodeDeployLabBackend, deployment: Deployment) -> None:
    """Run the deployment to a final status (Succeeded, Failed or Stopped)."""
    with lab.lock:
        deployment.status = "Queued"
    workers.pace()
    with lab.lock:
        if deployment.stop_requested:
            return _finish_stopped(deployment)
        deployment.status = "InProgress"
        deployment.start_time = now()
        eventbridge.codedeploy_deployment_state(deployment)
    instances = len(deployment.targets)
    if instances == 0:
        with lab.lock:
            _finish(deployment, "Failed", "NO_INSTANCES", NO_INSTANCES_MESSAGE)
        return
    minimum = rollout.minimum_healthy_hosts(
        deployment.config.name, deployment.config.minimum_healthy_hosts or {}, instances
    )
    if not rollout.constraints_valid(instances, minimum):
        with lab.lock:
            for target in deployment.targets.values():
                target.skip()
            _finish(
                deployment,
                "Failed",
                "HEALTH_CONSTRAINTS_INVALID",
                "The deployment can't start because the minimum number of healthy "
                f"instances ({minimum}), as defined by your deployment configuration, "
                f"are not available ({instances} instances). You can reduce the required "
                "number of healthy instances by updating your deployment configuration "
                "or increase the number of instances in this deployment group.",
            )
        return
    spec = _agent_spec(lab, deployment)
    succeeded = _roll_out(lab, deployment, spec, minimum)
    with lab.lock:
        if deployment.stop_requested:
            return _finish_stopped(deployment)
        if rollout.overall_success(minimum, succeeded):
            _finish(deployment, "Succeeded")
        else:
            _finish(deployment, "Failed", "HEALTH_CONSTRAINTS", HEALTH_CONSTRAINTS_MESSAGE)


def _agent_spec(lab: CodeDeployLabBackend, deployment: Deployment) -> DeploymentSpec:
    spec = DeploymentSpec(
        application_name=deployment.application.name,
        deployment_id=deployment.deployment_id,
        deployment_group_name=deployment.group.name,
        deployment_group_id=deployment.group.group_id,
        lifecycle_events=deployment.group.lifecycle_events,
        file_exists_behavior=deployment.options.get("fileExistsBehavior"),
        ignore_application_stop_failures=bool(
            deployment.options.get("ignoreApplicationStopFailures")
        ),
    )
    try:
        spec.bundle = bundles.fetch(lab.account_id, deployment.revision)
    except bundles.BundleError as error:
        spec.bundle_error = str(error)
    return spec


def _roll_out(
    lab: CodeDeployLabBackend, deployment: Deployment, spec: DeploymentSpec, minimum: int
) -> int:
    """Deploy instance by instance as the health rules allow; the number that succeeded."""
    pending = list(deployment.targets.values())
    instances = len(pending)
    running: dict[Future[bool], TargetState] = {}
    succeeded = failed = 0
    with ThreadPoolExecutor(
        max_workers=instances, thread_name_prefix=deployment.deployment_id
    ) as pool:
        while pending or running:
            while (
                pending
                and not deployment.stop_requested
                and rollout.can_start(instances, minimum, failed, len(running))
            ):
                target = pending.pop(0)
                running[pool.submit(_deploy_instance, lab, deployment, spec, target)] = target
            if not running:
                break  # no instance may start: the health constraints end the deployment
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                target = running.pop(future)
                ok = future.result()
                succeeded += ok
                failed += not ok
                with lab.lock:
                    deployment.group.healthy[target.target_id] = ok
    with lab.lock:
        for target in pending:
            target.skip()
    return succeeded


def _deploy_instance(
    lab: CodeDeployLabBackend, deployment: Deployment, spec: DeploymentSpec, target: TargetState
) -> bool:
    root = deployment.instance_roots[target.target_id]
    agent = Agent(root, target.target_id, spec)
    with lab.lock:
        deployment.agents[target.target_id] = agent
        target.status = "InProgress"
        target.last_updated = now()
        eventbridge.codedeploy_instance_state(deployment, target)
    events = {event.name: event for event in target.events}

    def report(name: str, status: str, diagnostics: dict | None) -> None:
        with lab.lock:
            event = events[name]
            event.status = status
            if status == "InProgress":
                event.start_time = now()
            elif status in ("Succeeded", "Failed"):
                event.end_time = now()
                event.diagnostics = diagnostics
            target.last_updated = now()

    try:
        ok = agent.deploy(report)
    except Exception as error:  # a kit bug on one instance fails that instance only
        log.exception("agent failed on %s", target.target_id)
        ok = False
        with lab.lock:
            _fail_unfinished_events(target, error)
    with lab.lock:
        target.status = "Succeeded" if ok else "Failed"
        target.last_updated = now()
        eventbridge.codedeploy_instance_state(deployment, target)
        deployment.agents.pop(target.target_id, None)
    workers.pace()
    return ok


def _fail_unfinished_events(target: TargetState, error: Exception) -> None:
    """The event the agent was in fails with the kit's error; the later ones are skipped."""
    for event in target.events:
        if event.status == "InProgress":
            event.status = "Failed"
            event.end_time = now()
            event.diagnostics = {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": f"The emulated agent failed: {error!r}",
                "logTail": "",
            }
        elif event.status == "Pending":
            event.status = "Skipped"


def _finish(
    deployment: Deployment, status: str, code: str | None = None, message: str | None = None
) -> None:
    deployment.status = status
    deployment.complete_time = now()
    if code:
        deployment.error_information = {"code": code, "message": message}
    if status == "Succeeded":
        deployment.group.last_successful = deployment
    eventbridge.codedeploy_deployment_state(deployment)


def _finish_stopped(deployment: Deployment) -> None:
    for target in deployment.targets.values():
        if target.status == "Pending":
            target.skip()
    _finish(deployment, "Stopped", "MANUAL_STOP", "The deployment was stopped by a user.")


def _maybe_roll_back(
    lab: CodeDeployLabBackend, deployment: Deployment, reason: str, forced: bool = False
) -> None:
    """Automatic rollback: redeploy the group's last good revision as a new deployment."""
    rollback = deployment.options.get("autoRollbackConfiguration") or {}
    wanted = forced or (rollback.get("enabled") and reason in (rollback.get("events") or []))
    if not wanted or deployment.creator == "codeDeployRollback":
        return
    with lab.lock:
        last_good = deployment.group.last_successful
        if last_good is None:
            deployment.rollback_info = {
                "rollbackMessage": "Automatic rollback was not performed: the deployment "
                "group has no previous successful deployment."
            }
            return
        params = {
            "applicationName": deployment.application.name,
            "deploymentGroupName": deployment.group.name,
            "revision": last_good.revision,
            "deploymentConfigName": deployment.config.name,
            "fileExistsBehavior": deployment.options.get("fileExistsBehavior"),
        }
        # Created and linked before it runs, so even a synchronous run shows both links.
        rollback_deployment = lab.create_deployment(
            params, creator="codeDeployRollback", start=False
        )
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
