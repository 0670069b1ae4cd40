"""Lab 02's helpers: the service role, the artifact bucket, CreateProject's retry, start_fresh."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from helpers import codebuild as cb_helpers
from helpers import lab, settings
from helpers.emulator import workers

BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"
NOT_YET = (
    "CodeBuild is not authorized to perform: sts:AssumeRole on "
    "arn:aws:iam::123456789012:role/labtest-codebuild-role"
)


def make_kit(client, region="us-east-1", prefix="labtest"):
    """A Kit whose clients are the fixture's shape-checked ones (under mock_aws)."""
    kit = lab.Kit(
        lab.OFFLINE,
        region,
        prefix,
        boto3.Session(region_name=region),
        account_id=lab.OFFLINE_ACCOUNT_ID,
    )
    for service in ("iam", "s3", "codebuild"):
        kit._clients[service] = client(service, region)
    return kit


@pytest.fixture
def kit(client):
    workers.set_synchronous(True)
    yield make_kit(client)
    workers.set_synchronous(None)


def project_args(kit, name, tags):
    return {
        "name": name,
        "source": {"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        "serviceRole": f"arn:aws:iam::{kit.account_id}:role/{kit.name('codebuild-role')}",
        "tags": tags,
    }


# -- names and documents ----------------------------------------------------------------


def test_artifact_bucket_name_is_a_valid_unique_bucket_name(kit):
    name = cb_helpers.artifact_bucket_name(kit)
    assert name == "labtest-artifacts-123456789012-us-east-1"
    longest = make_kit(lambda *a: None, "ap-southeast-2", "a" * 12)
    assert len(cb_helpers.artifact_bucket_name(longest)) <= 63


def test_bucket_configuration_by_region(client):
    assert cb_helpers.bucket_configuration(make_kit(client, "us-east-1")) == {}
    assert cb_helpers.bucket_configuration(make_kit(client, "eu-west-1")) == {
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}
    }


def test_service_role_policy_covers_what_a_build_needs(kit):
    policy = cb_helpers.service_role_policy(kit)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:PutObject",
        "s3:GetObject",
        "codecommit:GitPull",
        "codebuild:CreateReportGroup",
        "codebuild:BatchPutTestCases",
    } <= actions
    s3 = next(s for s in policy["Statement"] if s["Sid"] == "ArtifactBucket")
    assert s3["Resource"] == ["arn:aws:s3:::labtest-*", "arn:aws:s3:::labtest-*/*"]
    one = cb_helpers.service_role_policy(kit, buckets=["my-bucket"])
    assert next(s for s in one["Statement"] if s["Sid"] == "ArtifactBucket")["Resource"] == [
        "arn:aws:s3:::my-bucket",
        "arn:aws:s3:::my-bucket/*",
    ]


# -- ensure_build_role / ensure_artifact_bucket ------------------------------------------


def test_ensure_build_role_creates_a_tagged_role_with_its_policy_once(kit):
    arn = cb_helpers.ensure_build_role(kit)
    iam = kit.client("iam")
    assert arn == "arn:aws:iam::123456789012:role/labtest-codebuild-role"
    role = iam.get_role(RoleName="labtest-codebuild-role")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
    assert tags == settings.kit_tags("labtest")
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == [
        cb_helpers.BUILD_ROLE_POLICY
    ]
    # Again: same role, no EntityAlreadyExists, still one policy.
    assert cb_helpers.ensure_build_role(kit) == arn
    assert len(iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]) == 1


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_ensure_artifact_bucket_creates_a_tagged_bucket_in_the_region(client, region):
    kit = make_kit(client, region)
    name = cb_helpers.ensure_artifact_bucket(kit)
    s3 = kit.client("s3")
    assert name == f"labtest-artifacts-123456789012-{region}"
    location = s3.get_bucket_location(Bucket=name)["LocationConstraint"]
    assert (location or "us-east-1") == region
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == settings.kit_tags("labtest")
    assert cb_helpers.ensure_artifact_bucket(kit) == name  # again: no error


# -- create_project's retry ----------------------------------------------------------------


STUB_ARGS = {
    "name": "lab-p",
    "source": {"type": "NO_SOURCE"},
    "artifacts": {"type": "NO_ARTIFACTS"},
    "serviceRole": "role",
    "environment": {"type": "LINUX_CONTAINER", "image": "i", "computeType": "c"},
}


def stubbed_codebuild():
    codebuild = boto3.client("codebuild", region_name="us-east-1")
    return codebuild, Stubber(codebuild)


def test_create_project_retries_while_the_role_is_not_assumable(capsys):
    codebuild, stubber = stubbed_codebuild()
    for _ in range(2):
        stubber.add_client_error("create_project", "InvalidInputException", NOT_YET)
    stubber.add_response("create_project", {"project": {"name": "lab-p"}})
    sleeps = []
    with stubber:
        project = cb_helpers.create_project(codebuild, sleep=sleeps.append, **STUB_ARGS)
    assert project == {"name": "lab-p"}
    assert sleeps == [5, 5]
    assert capsys.readouterr().out.count("not usable yet") == 1  # told once


def test_create_project_raises_other_errors_at_once():
    codebuild, stubber = stubbed_codebuild()
    stubber.add_client_error("create_project", "InvalidInputException", "Invalid tags")
    sleeps = []
    with stubber, pytest.raises(codebuild.exceptions.InvalidInputException):
        cb_helpers.create_project(codebuild, sleep=sleeps.append, **STUB_ARGS)
    assert sleeps == []


def test_create_project_gives_up_after_wait_seconds():
    codebuild, stubber = stubbed_codebuild()
    stubber.add_client_error("create_project", "InvalidInputException", NOT_YET)
    with stubber, pytest.raises(codebuild.exceptions.InvalidInputException, match="AssumeRole"):
        cb_helpers.create_project(codebuild, wait_seconds=0, sleep=lambda s: None, **STUB_ARGS)


def test_create_project_offline_returns_the_project(kit):
    cb_helpers.ensure_build_role(kit)
    project = cb_helpers.create_project(
        kit.client("codebuild"), **project_args(kit, "labtest-demo", [])
    )
    assert project["arn"].endswith(":project/labtest-demo")


# -- start_fresh and artifact_object -------------------------------------------------------


def test_start_fresh_deletes_only_this_learners_project(kit, capsys):
    codebuild = kit.client("codebuild")
    cb_helpers.start_fresh(kit, "labtest-build")  # nothing there: nothing to do
    codebuild.create_project(**project_args(kit, "labtest-build", kit.tag_list("key", "value")))
    cb_helpers.start_fresh(kit, "labtest-build")
    assert codebuild.batch_get_projects(names=["labtest-build"]).get("projects", []) == []
    assert "Deleted the project labtest-build" in capsys.readouterr().out

    codebuild.create_project(
        **project_args(kit, "labtest-other", [{"key": settings.OWNER_TAG_KEY, "value": "someone"}])
    )
    with pytest.raises(RuntimeError, match="not yours"):
        cb_helpers.start_fresh(kit, "labtest-other")
    assert codebuild.batch_get_projects(names=["labtest-other"])["projects"]


def test_artifact_object_splits_the_location():
    build = {"id": "p:1", "artifacts": {"location": "arn:aws:s3:::bucket/uuid/greeting.zip"}}
    assert cb_helpers.artifact_object(build) == ("bucket", "uuid/greeting.zip")
    with pytest.raises(ValueError, match="no S3 artifact"):
        cb_helpers.artifact_object({"id": "p:2", "artifacts": {"location": ""}})


# -- wait_for_build's output: phases as they end, then the log once ------------------------


class _FakeLogs:
    """CloudWatch Logs for one stream whose lines appear while the build runs."""

    class exceptions:  # noqa: N801 - as boto3 spells a client's exceptions
        ResourceNotFoundException = KeyError

    def __init__(self) -> None:
        self.lines: list[str] = []

    def get_log_events(self, nextToken=None, **kwargs):
        start = int(nextToken or 0)
        page = self.lines[start : start + 2]  # small pages: the reader must follow tokens
        return {
            "events": [{"message": m} for m in page],
            "nextForwardToken": str(start + len(page)),
        }


class _FakeCodeBuild:
    """BatchGetBuilds answering a build that ends one phase per poll, adding log lines."""

    def __init__(self, logs: _FakeLogs) -> None:
        self.logs, self.polls = logs, 0
        self.phases = ["SUBMITTED", "PROVISIONING", "BUILD", "POST_BUILD"]

    def batch_get_builds(self, ids):
        self.polls += 1
        self.logs.lines += [f"line {self.polls}a", f"line {self.polls}b\n"]
        if self.polls == 1:
            self.logs.lines.append("[Container] 2026/11/29 08:42:32.520730 Entering phase BUILD")
        ended = self.phases[: self.polls]
        done = self.polls >= len(self.phases)
        return {
            "builds": [
                {
                    "id": ids[0],
                    "buildNumber": 7,
                    "buildComplete": done,
                    "buildStatus": "SUCCEEDED" if done else "IN_PROGRESS",
                    "currentPhase": "COMPLETED" if done else self.phases[self.polls],
                    "phases": [{"phaseType": p, "phaseStatus": "SUCCEEDED"} for p in ended],
                    "logs": {"groupName": "/aws/codebuild/p", "streamName": "s"},
                }
            ]
        }


def test_wait_for_build_prints_phases_as_they_end_then_the_whole_log_once(capsys):
    logs = _FakeLogs()
    build = cb_helpers.wait_for_build(_FakeCodeBuild(logs), "p:1", poll_seconds=0, logs_client=logs)
    assert build["buildStatus"] == "SUCCEEDED"
    lines = capsys.readouterr().out.splitlines()
    heading = lines.index("Log (/aws/codebuild/p):")
    phase_lines = [line for line in lines if line.startswith("  ") and "SUCCEEDED" in line]
    log_lines = [line for line in lines if line.startswith("    | ")]
    # Two blocks, never interleaved: every phase above the log's heading, every log line below.
    assert lines[0] == "Phases, as they end:"
    assert [line.split()[0] for line in lines[1:heading]] == _FakeCodeBuild(logs).phases
    assert all(lines.index(line) < heading for line in phase_lines)
    assert lines[heading + 1 : heading + 1 + len(log_lines)] == log_lines
    # The whole log, once, in order, across pages, without doubled newlines.
    assert log_lines == [f"    | line 1{s}" for s in "ab"] + [
        "    | [Container] Entering phase BUILD"  # CodeBuild's own line, without its time
    ] + [f"    | line {n}{s}" for n in range(2, 5) for s in "ab"]
    assert lines[-1] == "Build p:1 #7: SUCCEEDED"


def test_wait_for_build_without_show_prints_nothing(capsys):
    logs = _FakeLogs()
    cb_helpers.wait_for_build(
        _FakeCodeBuild(logs), "p:1", poll_seconds=0, show=False, logs_client=logs
    )
    assert capsys.readouterr().out == ""
