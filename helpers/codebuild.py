"""Following a CodeBuild build from a notebook: phases as they change, the log as it grows.

Only boto3 calls (BatchGetBuilds, CloudWatch Logs GetLogEvents), so it works the same
against the local AWS and a real account.
"""

from __future__ import annotations

import time

FINAL_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED")


def wait_for_build(client, build_id: str, timeout: float = 600, show: bool = True,
                   poll_seconds: float = 1.0, logs_client=None) -> dict:
    """Poll until the build ends; print each phase as it ends and new log lines.

    Returns the final build (as BatchGetBuilds describes it). Raises TimeoutError if it
    has not ended within timeout seconds. logs_client defaults to a CloudWatch Logs client
    with the same region, endpoint and credentials as client.
    """
    deadline = time.monotonic() + timeout
    follower = _LogFollower(logs_client or _logs_client_like(client)) if show else None
    shown_phases = 0
    while True:
        builds = client.batch_get_builds(ids=[build_id])["builds"]
        if not builds:
            raise ValueError(f"build {build_id} does not exist")
        build = builds[0]
        if show:
            follower.show_new_lines(build.get("logs") or {})
            shown_phases = _show_phases(build, shown_phases)
        if build.get("buildComplete"):
            if show:
                follower.show_new_lines(build.get("logs") or {})
                print(f"Build {build['id']} #{build.get('buildNumber')}: {build['buildStatus']}")
            return build
        if time.monotonic() >= deadline:
            raise TimeoutError(f"build {build_id} still {build.get('currentPhase')} "
                               f"after {timeout} s")
        time.sleep(poll_seconds)


def _show_phases(build: dict, already: int) -> int:
    """Print the phases that have ended since the last poll; return how many are shown."""
    phases = [p for p in build.get("phases", []) if p.get("phaseStatus")]
    for phase in phases[already:]:
        line = f"  {phase['phaseType']:<17} {phase['phaseStatus']:<10}"
        line += f" {phase.get('durationInSeconds', 0)} s"
        for context in phase.get("contexts") or []:
            if context.get("statusCode") or context.get("message"):
                line += f"  {context.get('statusCode', '')}: {context.get('message', '')}"
        print(line)
    return len(phases)


class _LogFollower:
    def __init__(self, logs_client) -> None:
        self.logs = logs_client
        self.token = None

    def show_new_lines(self, logs: dict) -> None:
        group, stream = logs.get("groupName"), logs.get("streamName")
        if not group or not stream:
            return
        while True:
            kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if self.token:
                kwargs["nextToken"] = self.token
            try:
                reply = self.logs.get_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException:
                return  # the stream appears once the build is provisioned
            for event in reply.get("events", []):
                print("    | " + event["message"])
            token = reply.get("nextForwardToken")
            if not reply.get("events") or token == self.token:
                self.token = token
                return
            self.token = token


def _logs_client_like(client):
    import boto3

    credentials = client._request_signer._credentials
    kwargs = {"region_name": client.meta.region_name}
    if client.meta.endpoint_url and "amazonaws.com" not in client.meta.endpoint_url:
        kwargs["endpoint_url"] = client.meta.endpoint_url
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        kwargs.update(aws_access_key_id=frozen.access_key,
                      aws_secret_access_key=frozen.secret_key,
                      aws_session_token=frozen.token)
    return boto3.client("logs", **kwargs)
