"""CodeBuild offline: projects, report groups, errors, and the API over HTTP."""

from __future__ import annotations

import time
from unittest.mock import ANY

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"


@pytest.fixture
def cb(client):
    workers.set_synchronous(True)
    yield client("codebuild")
    workers.set_synchronous(None)


def project_args(name="demo", **extra):
    args = {
        "name": name,
        "source": {"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": ENVIRONMENT,
        "serviceRole": ROLE,
    }
    args.update(extra)
    return args


def error_of(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


def test_create_project_reply_has_aws_defaults(cb):
    project = cb.create_project(**project_args(tags=[{"key": "team", "value": "lab"}]))["project"]
    assert project["arn"] == "arn:aws:codebuild:us-east-1:123456789012:project/demo"
    assert project["timeoutInMinutes"] == 60
    assert project["queuedTimeoutInMinutes"] == 480
    assert project["badge"] == {"badgeEnabled": False}
    assert project["logsConfig"]["cloudWatchLogs"]["status"] == "ENABLED"
    assert project["projectVisibility"] == "PRIVATE"
    assert project["tags"] == [{"key": "team", "value": "lab"}]
    assert project["created"] and project["lastModified"]
    assert cb.batch_get_projects(names=["demo", "nope"])["projectsNotFound"] == ["nope"]
    assert cb.list_projects()["projects"] == ["demo"]


def test_update_and_delete_project(cb):
    cb.create_project(**project_args())
    updated = cb.update_project(name="demo", timeoutInMinutes=10, description="changed")["project"]
    assert updated["timeoutInMinutes"] == 10 and updated["description"] == "changed"
    assert updated["lastModified"] >= updated["created"]
    build = cb.start_build(projectName="demo")["build"]
    cb.delete_project(name="demo")
    assert cb.batch_get_projects(names=["demo"])["projectsNotFound"] == ["demo"]
    # As in AWS, deleting a project keeps its builds.
    assert cb.batch_get_builds(ids=[build["id"]])["builds"][0]["buildStatus"] == "SUCCEEDED"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"serviceRole": "not-a-role"}, "InvalidInputException"),
        ({"name": "bad name!"}, "InvalidInputException"),
        ({"source": {"type": "NO_SOURCE"}}, "InvalidInputException"),
        ({"source": {"type": "CODECOMMIT"}}, "InvalidInputException"),
        ({"artifacts": {"type": "S3"}}, "InvalidInputException"),
        ({"timeoutInMinutes": 3000}, "InvalidInputException"),
        ({"source": {"type": "CODEPIPELINE"}}, "InvalidInputException"),
    ],
)
def test_create_project_rejects_bad_input(cb, change, code):
    assert error_of(cb.create_project, **project_args(**change))[:2] == (code, 400)


def test_missing_and_duplicate_resources(cb):
    cb.create_project(**project_args())
    assert error_of(cb.create_project, **project_args())[:2] == (
        "ResourceAlreadyExistsException",
        400,
    )
    assert error_of(cb.start_build, projectName="nope")[:2] == ("ResourceNotFoundException", 400)
    assert error_of(cb.update_project, name="nope")[0] == "ResourceNotFoundException"
    assert (
        error_of(cb.list_builds_for_project, projectName="nope")[0] == "ResourceNotFoundException"
    )
    assert error_of(cb.stop_build, id="demo:nope")[0] == "ResourceNotFoundException"
    assert error_of(cb.retry_build, id="demo:nope")[0] == "ResourceNotFoundException"
    assert cb.batch_get_builds(ids=["demo:nope"])["buildsNotFound"] == ["demo:nope"]


def test_a_build_id_without_its_project_is_invalid_input(cb):
    """An id that is not "<project>:<uuid>" is malformed, not missing (moto's suite)."""
    cb.create_project(**project_args())
    for call in (cb.stop_build, cb.retry_build):
        assert error_of(call, id="demo-no-colon")[0] == "InvalidInputException"
    with pytest.raises(ClientError) as refused:
        cb.batch_get_builds(ids=["demo-no-colon"])
    assert refused.value.response["Error"]["Code"] == "InvalidInputException"


def test_report_group_operations(cb):
    group = cb.create_report_group(
        name="unit-tests",
        type="TEST",
        exportConfig={"exportConfigType": "NO_EXPORT"},
        tags=[{"key": "k", "value": "v"}],
    )["reportGroup"]
    assert group["arn"].endswith(":report-group/unit-tests")
    assert (
        error_of(
            cb.create_report_group,
            name="unit-tests",
            type="TEST",
            exportConfig={"exportConfigType": "NO_EXPORT"},
        )[0]
        == "ResourceAlreadyExistsException"
    )
    assert cb.list_report_groups()["reportGroups"] == [group["arn"]]
    updated = cb.update_report_group(arn=group["arn"], tags=[])["reportGroup"]
    assert updated["tags"] == []
    assert cb.list_reports_for_report_group(reportGroupArn=group["arn"])["reports"] == []
    cb.delete_report_group(arn=group["arn"])
    assert cb.batch_get_report_groups(reportGroupArns=[group["arn"]])["reportGroupsNotFound"] == [
        group["arn"]
    ]
    assert (
        error_of(
            cb.describe_test_cases, reportArn="arn:aws:codebuild:us-east-1:123456789012:report/x:y"
        )[0]
        == "ResourceNotFoundException"
    )


def test_start_build_overrides_are_checked(cb):
    cb.create_project(**project_args())
    assert (
        error_of(cb.start_build, projectName="demo", serviceRoleOverride="arn:aws:s3:::bucket")[0]
        == "InvalidInputException"
    )


def test_build_over_http_with_the_local_server(server_client):
    cb = server_client("codebuild")
    logs = server_client("logs")
    cb.create_project(
        **project_args(
            name="http-demo",
            source={
                "type": "NO_SOURCE",
                "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - echo over-http $CODEBUILD_BUILD_NUMBER\n",
            },
        )
    )
    build = cb.start_build(projectName="http-demo")["build"]
    deadline = time.monotonic() + 20
    while not build["buildComplete"] and time.monotonic() < deadline:
        time.sleep(0.05)
        build = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
    assert build["buildStatus"] == "SUCCEEDED"
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"]
    )["events"]
    assert "over-http 1" in [e["message"] for e in events]
    code, status, _ = error_of(cb.start_build, projectName="missing-project")
    assert (code, status) == ("ResourceNotFoundException", 400)
    code, status, _ = error_of(cb.create_project, **project_args(name="x2", serviceRole="nope"))
    assert (code, status) == ("InvalidInputException", 400)
    cb.delete_project(name="http-demo")


def test_empty_lists_are_answered_as_aws_does(cb):
    """AWS answers `[]`, not nothing (the user guide's example outputs; aws/aws-sdk#343)."""
    assert cb.list_projects()["projects"] == []
    cb.create_project(**project_args())
    assert cb.list_builds_for_project(projectName="demo")["ids"] == []
    assert cb.list_builds()["ids"] == []
    missing = "demo:00000000-0000-0000-0000-000000000000"
    assert cb.batch_get_builds(ids=[missing]) == {
        "builds": [],
        "buildsNotFound": [missing],
        "ResponseMetadata": ANY,
    }
    found = cb.batch_get_projects(names=["demo"])
    assert found["projectsNotFound"] == [] and len(found["projects"]) == 1
    assert cb.batch_get_projects(names=["nope"])["projects"] == []
    assert cb.list_report_groups()["reportGroups"] == []
    assert cb.list_reports()["reports"] == []


def test_every_codebuild_operation_of_the_model_is_served(server_client):
    """Issue 17: all of CodeBuild's operations answer (the kit's handlers, installed from
    one class per concern, or moto's); what neither serves carries core._not_served's mark."""
    from moto.codebuild.responses import CodeBuildResponse

    from helpers.emulator import core

    server_client("codebuild")  # the local server is up: every handler is installed
    model = core.service_model("codebuild")
    unserved = [
        name
        for name in model.operation_names
        if not callable(method := getattr(CodeBuildResponse, core._snake(name), None))
        or getattr(method, "lab_not_served", False)
    ]
    assert len(model.operation_names) >= 59
    assert unserved == []
