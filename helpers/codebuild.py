"""Lab-level CodeBuild helpers: following a build, and lab 02's role, bucket and project.

wait_for_build follows a build from a notebook: phases as they end, then its log once;
wait_for_batch waits for a batch of builds.
ensure_build_role / ensure_artifact_bucket make lab 02's service role and artifact bucket
when missing (later labs call them); create_project waits out IAM's delay on a real
account. Only boto3 calls, so everything works the same against the local AWS and a real
account; what differs by mode or region is decided here, not in the notebooks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import polling, settings
from .aws import Client, ensure_role

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

FINAL_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED")


def wait_for_build(
    client: Client,
    build_id: str,
    timeout: float = 600,
    show: bool = True,
    poll_seconds: float = 1.0,
    logs_client: Client | None = None,
) -> dict:
    """Poll until the build ends; print each phase as it ends, then the build's log once.

    Two streams, never mixed: while the build runs, one line per phase as it ends (so a
    long build shows progress); when it has ended, its whole log from CloudWatch Logs
    under a heading, then the final status. Returns the final build (as BatchGetBuilds
    describes it). Raises TimeoutError if it has not ended within timeout seconds.
    logs_client defaults to a CloudWatch Logs client with the same region, endpoint and
    credentials as client.
    """
    deadline = time.monotonic() + timeout
    shown_phases = 0
    pause = polling.Pauses(poll_seconds)
    while True:
        builds = client.batch_get_builds(ids=[build_id])["builds"]
        if not builds:
            raise ValueError(f"build {build_id} does not exist")
        build = builds[0]
        if show:
            shown_phases = _show_phases(build, shown_phases)
        if build.get("buildComplete"):
            if show:
                _show_log(logs_client or _logs_client_like(client), build.get("logs") or {})
                print(f"Build {build['id']} #{build.get('buildNumber')}: {build['buildStatus']}")
            return build
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"build {build_id} still {build.get('currentPhase')} after {timeout} s"
            )
        pause.sleep()


def wait_for_batch(
    client: Client, batch_id: str, timeout: float = 1800, poll_seconds: float = 1.0
) -> dict:
    """Poll BatchGetBuildBatches until the batch is complete (a batch ends when all its
    builds have); return the final buildBatch. TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    while True:
        batches = client.batch_get_build_batches(ids=[batch_id])["buildBatches"]
        if not batches:
            raise ValueError(f"build batch {batch_id} does not exist")
        if batches[0].get("complete"):
            return batches[0]
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"build batch {batch_id} still {batches[0].get('currentPhase')} after {timeout} s"
            )
        pause.sleep()


def _show_phases(build: dict, already: int) -> int:
    """Print the phases that have ended since the last poll; return how many are shown."""
    phases = [p for p in build.get("phases", []) if p.get("phaseStatus")]
    if phases[already:] and not already:
        print("Phases, as they end:")
    for phase in phases[already:]:
        line = f"  {phase['phaseType']:<17} {phase['phaseStatus']:<10}"
        line += f" {phase.get('durationInSeconds', 0)} s"
        for context in phase.get("contexts") or []:
            if context.get("statusCode") or context.get("message"):
                line += f"  {context.get('statusCode', '')}: {context.get('message', '')}"
        print(line)
    return len(phases)


# "[Container] 2026/11/29 08:42:32.520730 " -> "[Container] ": the time of each of
# CodeBuild's own lines makes them wide and says little once the build has ended.
_CONTAINER_TIME = re.compile(r"^\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)? ")


def _show_log(logs_client: Any, logs: dict) -> None:
    """Print a finished build's whole log (every page of GetLogEvents) under a heading,
    CodeBuild's own lines without their time stamps."""
    group, stream = logs.get("groupName"), logs.get("streamName")
    if not group or not stream:
        print("Log: none (the build has no CloudWatch Logs stream)")
        return
    print(f"Log ({group}):")
    token = None
    while True:
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        try:
            reply = logs_client.get_log_events(**kwargs)
        except logs_client.exceptions.ResourceNotFoundException:
            print("    (no log stream: the build ended before it was provisioned)")
            return
        for event in reply.get("events", []):
            print("    | " + _CONTAINER_TIME.sub("[Container] ", event["message"].rstrip("\n")))
        next_token = reply.get("nextForwardToken")
        if not reply.get("events") or next_token == token:
            return
        token = next_token


def _logs_client_like(client):
    import boto3

    credentials = client._request_signer._credentials
    kwargs = {"region_name": client.meta.region_name}
    if client.meta.endpoint_url and "amazonaws.com" not in client.meta.endpoint_url:
        kwargs["endpoint_url"] = client.meta.endpoint_url
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        kwargs.update(
            aws_access_key_id=frozen.access_key,
            aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token,
        )
    return boto3.client("logs", **kwargs)


# -- lab 02's resources: the service role, the artifact bucket, the project -------------

BUILD_ROLE_SUFFIX = "codebuild-role"
BUILD_ROLE_POLICY = "codebuild-base-policy"
ASSUME_ROLE_NOT_YET = "not authorized to perform: sts:AssumeRole"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def artifact_bucket_name(kit: Kit) -> str:
    """The learner's artifact bucket: '<prefix>-artifacts-<account id>-<region>'.

    Bucket names are global across all AWS accounts; the account id and region make this
    one unlikely to be taken, and let a learner use the labs in two regions.
    """
    return f"{kit.name('artifacts')}-{kit.account_id}-{kit.region}"


def bucket_configuration(kit: Kit) -> dict:
    """CreateBucket's extra arguments: us-east-1 takes none, other regions a LocationConstraint."""
    if kit.region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": kit.region}}


def service_role_policy(kit: Kit, buckets: list[str] | None = None) -> dict:
    """What a build needs (setting-up.md): its logs, the artifact buckets, git pull from
    CodeCommit, and the test reports. buckets defaults to every '<prefix>-*' bucket."""
    buckets = buckets or [f"{kit.prefix}-*"]
    s3 = [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            },
            {
                "Sid": "ArtifactBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:GetBucketAcl",
                    "s3:GetBucketLocation",
                ],
                "Resource": s3,
            },
            {
                "Sid": "CodeCommitPull",
                "Effect": "Allow",
                "Action": ["codecommit:GitPull"],
                "Resource": "*",
            },
            {
                "Sid": "TestReports",
                "Effect": "Allow",
                "Action": [
                    "codebuild:CreateReportGroup",
                    "codebuild:CreateReport",
                    "codebuild:UpdateReport",
                    "codebuild:BatchPutTestCases",
                    "codebuild:BatchPutCodeCoverages",
                ],
                "Resource": f"arn:aws:codebuild:{kit.region}:{kit.account_id}:report-group/"
                f"{kit.prefix}-*",
            },
        ],
    }


def ensure_build_role(kit: Kit, role_name: str | None = None) -> str:
    """The CodeBuild service role '<prefix>-codebuild-role', made if missing; its ARN.

    Lab 02 creates it step by step; later labs call this so each runs on its own. The
    inline policy is (re)written every time, so it always matches service_role_policy.
    """
    arn, _ = ensure_role(
        kit,
        role_name or kit.name(BUILD_ROLE_SUFFIX),
        TRUST_POLICY,
        "CodeBuild service role (CodePipeline lab kit)",
        (BUILD_ROLE_POLICY, service_role_policy(kit)),
        created_note=None,
    )
    return arn


def ensure_artifact_bucket(kit: Kit, bucket: str | None = None) -> str:
    """The learner's artifact bucket, made (and tagged) if missing; its name."""
    s3 = kit.client("s3")
    name = bucket or artifact_bucket_name(kit)
    try:
        s3.create_bucket(Bucket=name, **bucket_configuration(kit))
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": kit.tag_list()})
    return name


def create_project(
    codebuild: Client,
    wait_seconds: float = 90,
    sleep: Callable[[float], None] = time.sleep,
    **params: Any,
) -> dict:
    """CreateProject, waiting for a new service role to become usable; the project.

    On a real account a role is not assumable for some seconds after CreateRole, and
    CreateProject then fails with InvalidInputException "CodeBuild is not authorized to
    perform: sts:AssumeRole" (troubleshooting.md). This retries that error only, for up to
    wait_seconds; every other error is raised at once. Offline it never happens.
    """
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            return codebuild.create_project(**params)["project"]
        except codebuild.exceptions.InvalidInputException as error:
            message = error.response["Error"].get("Message", "")
            if ASSUME_ROLE_NOT_YET not in message or time.monotonic() >= deadline:
                raise
            if not told:
                print(
                    "The new service role is not usable yet (IAM takes a few seconds); "
                    "trying again... (docs/troubleshooting.md#role-not-yet-usable)"
                )
                told = True
            sleep(5)


def start_fresh(kit: Kit, project_name: str) -> None:
    """Delete the lab's build project if an earlier run left it (only if it is this learner's)."""
    codebuild = kit.client("codebuild")
    projects = codebuild.batch_get_projects(names=[project_name]).get("projects", [])
    if not projects:
        return
    tags = {t["key"]: t["value"] for t in projects[0].get("tags", [])}
    settings.require_owner(project_name, tags, kit.prefix)
    codebuild.delete_project(name=project_name)
    print(f"Deleted the project {project_name} left by an earlier run.")


def artifact_object(build: dict) -> tuple[str, str]:
    """(bucket, key) of a build's artifact, from its location 'arn:aws:s3:::bucket/key'."""
    location = (build.get("artifacts") or {}).get("location") or ""
    if not location.startswith("arn:aws:s3:::") or "/" not in location:
        raise ValueError(f"build {build.get('id')} has no S3 artifact ({location!r})")
    bucket, key = location.split(":::", 1)[1].split("/", 1)
    return bucket, key
