"""CodeBuild sharing and the account's view: resource policies on projects and report
groups, ListSharedProjects/ListSharedReportGroups, UpdateProjectVisibility and
ListCuratedEnvironmentImages."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
PROJECT_ARN = "arn:aws:codebuild:us-east-1:123456789012:project/shared"


@pytest.fixture
def cb(client):
    cb = client("codebuild")
    cb.create_project(
        name="shared",
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases: {}\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=ROLE,
    )
    return cb


def policy(resource: str, **statement) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["111122223333"]},
                    "Action": [
                        "codebuild:BatchGetProjects",
                        "codebuild:BatchGetBuilds",
                        "codebuild:ListBuildsForProject",
                    ],
                    "Resource": resource,
                    **statement,
                }
            ],
        }
    )


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


def test_resource_policy_on_a_project_put_get_delete(cb):
    document = policy(PROJECT_ARN)
    assert cb.put_resource_policy(resourceArn=PROJECT_ARN, policy=document)["resourceArn"] == (
        PROJECT_ARN
    )
    assert cb.get_resource_policy(resourceArn=PROJECT_ARN)["policy"] == document
    cb.delete_resource_policy(resourceArn=PROJECT_ARN)
    with pytest.raises(ClientError) as error:
        cb.get_resource_policy(resourceArn=PROJECT_ARN)
    assert code(error) == "ResourceNotFoundException"
    cb.delete_resource_policy(resourceArn=PROJECT_ARN)  # deleting again is fine


def test_resource_policy_on_a_report_group_and_gone_with_its_project(cb):
    arn = cb.create_report_group(
        name="unit", type="TEST", exportConfig={"exportConfigType": "NO_EXPORT"}
    )["reportGroup"]["arn"]
    cb.put_resource_policy(
        resourceArn=arn, policy=policy(arn, Action="codebuild:BatchGetReportGroups")
    )
    assert "BatchGetReportGroups" in cb.get_resource_policy(resourceArn=arn)["policy"]

    cb.put_resource_policy(resourceArn=PROJECT_ARN, policy=policy(PROJECT_ARN))
    cb.delete_project(name="shared")
    with pytest.raises(ClientError) as error:
        cb.get_resource_policy(resourceArn=PROJECT_ARN)
    assert code(error) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        json.dumps({"Statement": []}),
        policy(PROJECT_ARN, Effect="Maybe"),
        policy(PROJECT_ARN, Principal=None),
        policy(PROJECT_ARN, Action=["s3:GetObject"]),
        policy(PROJECT_ARN.replace("shared", "other")),
    ],
)
def test_a_policy_that_is_not_a_sharing_policy_is_refused(cb, document):
    with pytest.raises(ClientError) as error:
        cb.put_resource_policy(resourceArn=PROJECT_ARN, policy=document)
    assert code(error) == "InvalidInputException"


def test_policy_on_what_does_not_exist(cb):
    missing = PROJECT_ARN.replace("shared", "missing")
    with pytest.raises(ClientError) as error:
        cb.put_resource_policy(resourceArn=missing, policy=policy(missing))
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        cb.get_resource_policy(resourceArn="arn:aws:s3:::bucket")
    assert code(error) == "InvalidInputException"


def test_shared_lists_are_empty_offline(cb):
    assert cb.list_shared_projects(sortBy="ARN", sortOrder="DESCENDING")["projects"] == []
    assert cb.list_shared_report_groups(maxResults=5)["reportGroups"] == []
    with pytest.raises(ClientError) as error:
        cb.list_shared_projects(nextToken="not-a-token")
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        cb.list_shared_report_groups(sortBy="NAME")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_project_visibility_public_then_private(cb):
    role = "arn:aws:iam::123456789012:role/public-builds"
    reply = cb.update_project_visibility(
        projectArn=PROJECT_ARN, projectVisibility="PUBLIC_READ", resourceAccessRole=role
    )
    assert reply["projectVisibility"] == "PUBLIC_READ"
    alias = reply["publicProjectAlias"]
    project = cb.batch_get_projects(names=["shared"])["projects"][0]
    assert project["projectVisibility"] == "PUBLIC_READ"
    assert project["publicProjectAlias"] == alias
    assert project["resourceAccessRole"] == role

    private = cb.update_project_visibility(projectArn=PROJECT_ARN, projectVisibility="PRIVATE")
    assert private["projectVisibility"] == "PRIVATE" and "publicProjectAlias" not in private
    project = cb.batch_get_projects(names=["shared"])["projects"][0]
    assert project["projectVisibility"] == "PRIVATE"
    assert "publicProjectAlias" not in project
    again = cb.update_project_visibility(projectArn=PROJECT_ARN, projectVisibility="PUBLIC_READ")
    assert again["publicProjectAlias"] == alias  # the project's public URL does not change

    with pytest.raises(ClientError) as error:
        cb.update_project_visibility(
            projectArn=PROJECT_ARN.replace("shared", "missing"), projectVisibility="PRIVATE"
        )
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        cb.update_project_visibility(
            projectArn=PROJECT_ARN, projectVisibility="PUBLIC_READ", resourceAccessRole="nope"
        )
    assert code(error) == "InvalidInputException"


def test_curated_environment_images_as_the_guide_lists_them(cb):
    platforms = cb.list_curated_environment_images()["platforms"]
    by_platform = {p["platform"]: p for p in platforms}
    assert set(by_platform) == {"AMAZON_LINUX", "UBUNTU", "WINDOWS_SERVER"}
    names = {
        image["name"]
        for platform in platforms
        for language in platform["languages"]
        for image in language["images"]
    }
    assert "aws/codebuild/standard:6.0" in names
    assert "aws/codebuild/amazonlinux2-x86_64-standard:4.0" in names
    assert "aws/codebuild/windows-base:2019-2.0" in names
    windows = {lang["language"] for lang in by_platform["WINDOWS_SERVER"]["languages"]}
    assert {"PYTHON", "JAVA", "NODE_JS"} <= windows


def test_over_http(server_client):
    cb = server_client("codebuild")
    assert cb.list_shared_projects()["projects"] == []
    assert cb.list_curated_environment_images()["platforms"]
