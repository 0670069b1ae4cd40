"""Following a CodeDeploy deployment from a notebook, and finding an offline instance's files.

wait_for_deployment uses only boto3 calls (GetDeployment, ListDeploymentTargets,
BatchGetDeploymentTargets), so it works the same against the local AWS and a real account.
It prints plain text: one line per instance lifecycle event as its status changes.

Offline, each instance is a folder that plays its file system (instance_root); hook
scripts find it in $LAB_INSTANCE_ROOT, so a script that writes /var/www/html on a real
instance writes "$LAB_INSTANCE_ROOT/var/www/html" in the labs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import settings

FINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
OFFLINE_ACCOUNT_ID = "123456789012"


def wait_for_deployment(client, deployment_id: str, timeout: float = 900, show: bool = True,
                        poll_seconds: float = 1.0) -> dict:
    """Poll until the deployment ends; print lifecycle events as they change.

    Returns the final deploymentInfo. Raises TimeoutError if the deployment has not ended
    within timeout seconds.
    """
    deadline = time.monotonic() + timeout
    seen: dict[tuple[str, str], str] = {}
    last_status = None
    while True:
        info = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if show:
            if info["status"] != last_status:
                print(f"Deployment {deployment_id}: {info['status']}")
                last_status = info["status"]
            _show_events(client, deployment_id, seen)
        if info["status"] in FINAL_STATUSES:
            if show:
                _show_result(info)
            return info
        if time.monotonic() >= deadline:
            raise TimeoutError(f"deployment {deployment_id} still {info['status']} "
                               f"after {timeout} s")
        time.sleep(poll_seconds)


def _instance_targets(client, deployment_id: str) -> list[dict]:
    try:
        ids, token = [], None
        while True:
            kwargs = {"deploymentId": deployment_id}
            if token:
                kwargs["nextToken"] = token
            reply = client.list_deployment_targets(**kwargs)
            ids += reply.get("targetIds", [])
            token = reply.get("nextToken")
            if not token:
                break
    except client.exceptions.DeploymentNotStartedException:
        return []
    targets = []
    for start in range(0, len(ids), 25):
        reply = client.batch_get_deployment_targets(deploymentId=deployment_id,
                                                    targetIds=ids[start:start + 25])
        targets += [target["instanceTarget"] for target in reply.get("deploymentTargets", [])
                    if "instanceTarget" in target]
    return targets


def _show_events(client, deployment_id: str, seen: dict[tuple[str, str], str]) -> None:
    """Print each lifecycle event whose status changed since the last poll."""
    for target in _instance_targets(client, deployment_id):
        for event in target.get("lifecycleEvents", []):
            key = (target["targetId"], event["lifecycleEventName"])
            status = event.get("status", "Pending")
            if status == "Pending" or seen.get(key) == status:
                continue
            seen[key] = status
            line = f"  {target['targetId']:<22} {event['lifecycleEventName']:<17} {status}"
            diagnostics = event.get("diagnostics") or {}
            if status == "Failed":
                line += f"  {diagnostics.get('errorCode', '')}: {diagnostics.get('message', '')}"
                for tail in (diagnostics.get("logTail") or "").splitlines()[-10:]:
                    line += "\n      | " + tail
            print(line)


def _show_result(info: dict) -> None:
    overview = info.get("deploymentOverview") or {}
    counts = ", ".join(f"{name} {count}" for name, count in overview.items() if count)
    print(f"Deployment {info['deploymentId']}: {info['status']} ({counts})")
    error = info.get("errorInformation")
    if error:
        print(f"  {error.get('code')}: {error.get('message')}")
    rollback = info.get("rollbackInfo") or {}
    if rollback.get("rollbackDeploymentId"):
        print(f"  Rolled back by deployment {rollback['rollbackDeploymentId']}")


def instance_root(instance_id: str, account: str | None = None, region: str | None = None
                  ) -> Path:
    """The folder that plays an offline instance's file system (EC2 id or on-premises name).

    Without account and region, the folder of that instance in any account and region
    (the offline account and AWS_DEFAULT_REGION if it has not been deployed to yet).
    """
    base = settings.emulator_dir() / "codedeploy"
    if account is None and region is None:
        # Instance ids are unique: look in every local server's folder (another process
        # may be the server, when AWS_ENDPOINT_URL points at one).
        local_aws = settings.state_dir() / settings.EMULATOR_DIR_NAME
        found = sorted(local_aws.glob(f"*/codedeploy/*/*/instances/{instance_id}"))
        if found:
            return found[0]
    account = account or OFFLINE_ACCOUNT_ID
    region = region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return base / account / region / "instances" / instance_id
