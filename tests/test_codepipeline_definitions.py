"""Pipeline definitions: checked as AWS checks them, versions, metadata, tags, action types."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.pipelines import (
    ROLE,
    approval_action,
    build_action,
    create_role,
    declaration,
    s3_deploy_action,
    source_action,
)


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def create_error(lab, **kwargs) -> str:
    return error_code(lab.cp.create_pipeline, pipeline=declaration(**kwargs))


def test_create_get_update_versions_and_metadata(lab):
    reply = lab.cp.create_pipeline(pipeline=declaration(), tags=[{"key": "team", "value": "lab"}])
    assert reply["pipeline"]["version"] == 1
    assert reply["pipeline"]["pipelineType"] == "V1"
    assert reply["pipeline"]["stages"][1]["actions"][0]["runOrder"] == 1
    assert reply["tags"] == [{"key": "team", "value": "lab"}]
    got = lab.cp.get_pipeline(name="lab-pipeline")
    assert (
        got["metadata"]["pipelineArn"] == "arn:aws:codepipeline:us-east-1:123456789012:lab-pipeline"
    )
    changed = got["pipeline"]
    changed["stages"][1]["actions"][0]["configuration"]["PrimarySource"] = "SourceOutput"
    updated = lab.cp.update_pipeline(pipeline=changed)["pipeline"]
    assert updated["version"] == 2
    assert lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["version"] == 2
    first = lab.cp.get_pipeline(name="lab-pipeline", version=1)["pipeline"]
    assert "PrimarySource" not in first["stages"][1]["actions"][0]["configuration"]
    meta = lab.cp.get_pipeline(name="lab-pipeline")["metadata"]
    assert meta["updated"] >= meta["created"]
    assert (
        error_code(lab.cp.get_pipeline, name="lab-pipeline", version=7)
        == "PipelineVersionNotFoundException"
    )
    assert error_code(lab.cp.get_pipeline, name="nope") == "PipelineNotFoundException"
    [summary] = lab.cp.list_pipelines()["pipelines"]
    assert (summary["name"], summary["version"]) == ("lab-pipeline", 2)


def test_name_in_use(lab):
    lab.cp.create_pipeline(pipeline=declaration())
    assert create_error(lab) == "PipelineNameInUseException"


@pytest.mark.parametrize(
    "stages, expected",
    [
        ([{"name": "Source", "actions": [source_action()]}], "InvalidStructureException"),
        (
            [
                {"name": "Build", "actions": [build_action()]},
                {"name": "Source", "actions": [source_action()]},
            ],
            "InvalidStructureException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Source", "actions": [build_action()]},
            ],
            "InvalidStructureException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [build_action(), build_action(outputs=("Other",))]},
            ],
            "InvalidStageDeclarationException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [build_action(inputs=("Missing",))]},
            ],
            "InvalidStructureException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Build",
                    "actions": [build_action(), build_action("B2", outputs=("BuildOutput",))],
                },
            ],
            "InvalidStructureException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [build_action(project="x", inputs=())]},
            ],
            "InvalidActionDeclarationException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Deploy",
                    "actions": [s3_deploy_action(inputs=("SourceOutput",), extract="false")],
                },
            ],
            "InvalidActionDeclarationException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [build_action(run_order=1000)]},
            ],
            "ValidationException",
        ),
        (
            [
                {"name": "Source", "actions": [source_action()]},
                {
                    "name": "Build",
                    "actions": [
                        build_action(
                            EnvironmentVariables=json.dumps(
                                [{"name": "X", "value": "#{Nowhere.Var}"}]
                            )
                        )
                    ],
                },
            ],
            "InvalidActionDeclarationException",
        ),
    ],
)
def test_invalid_structures(lab, stages, expected):
    assert create_error(lab, stages=stages) == expected
    assert lab.cp.list_pipelines()["pipelines"] == []


def test_invalid_actions(lab):
    missing = source_action()
    del missing["configuration"]["BranchName"]
    assert (
        create_error(
            lab,
            stages=[
                {"name": "Source", "actions": [missing]},
                {"name": "Build", "actions": [build_action()]},
            ],
        )
        == "InvalidActionDeclarationException"
    )
    unknown = build_action()
    unknown["actionTypeId"]["provider"] = "NoSuchBuilder"
    assert (
        create_error(
            lab,
            stages=[
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [unknown]},
            ],
        )
        == "InvalidActionDeclarationException"
    )
    extra = build_action(Colour="blue")
    assert (
        create_error(
            lab,
            stages=[
                {"name": "Source", "actions": [source_action()]},
                {"name": "Build", "actions": [extra]},
            ],
        )
        == "InvalidActionDeclarationException"
    )


def test_declared_names_and_role_must_fit_the_model(lab):
    bad_stage = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Build it", "actions": [build_action()]},
    ]
    bad_action = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Build", "actions": [build_action(name="Build it")]},
    ]
    assert create_error(lab, name="my pipeline") == "ValidationException"
    assert create_error(lab, stages=bad_stage) == "ValidationException"
    assert create_error(lab, stages=bad_action) == "ValidationException"
    assert create_error(lab, roleArn="arn:aws:iam::123456789012:role/") == "ValidationException"
    lab.cp.create_pipeline(pipeline=declaration())
    with pytest.raises(ClientError) as caught:
        lab.cp.update_pipeline(pipeline=declaration(stages=bad_stage))
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'Build it' at 'pipeline.stages.2.member.name' "
        "failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "[A-Za-z0-9.@\\-_]+"
    )
    # UpdatePipeline finds the pipeline by its name first: an invalid name is not found.
    assert (
        error_code(lab.cp.update_pipeline, pipeline=declaration(name="my pipeline"))
        == "PipelineNotFoundException"
    )
    assert lab.cp.get_pipeline(name="lab-pipeline")["metadata"]["pipelineArn"]
    assert lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["version"] == 1


def test_artifact_store_role_and_v2_only_fields(lab, client):
    assert (
        error_code(
            lab.cp.create_pipeline,
            pipeline={
                **declaration(),
                "artifactStore": {"type": "S3", "location": "no-such-bucket"},
            },
        )
        == "InvalidStructureException"
    )
    assert (
        error_code(
            lab.cp.create_pipeline,
            pipeline={**declaration(), "roleArn": "arn:aws:iam::123456789012:user/bob"},
        )
        == "ValidationException"
    )
    assert (
        create_error(lab, variables=[{"name": "env", "defaultValue": "dev"}])
        == "ValidationException"
    )
    assert create_error(lab, executionMode="QUEUED") == "ValidationException"
    iam = client("iam")
    iam.create_role(
        RoleName="NoStatement", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )
    iam.create_role(
        RoleName="BuildOnly",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "codebuild.amazonaws.com"},
                    }
                ],
            }
        ),
    )
    iam.create_role(
        RoleName="Pipeline",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "codepipeline.amazonaws.com"},
                    }
                ],
            }
        ),
    )
    role = "arn:aws:iam::123456789012:role/{}"
    for name in ("NoStatement", "BuildOnly"):
        assert (
            error_code(
                lab.cp.create_pipeline, pipeline={**declaration(), "roleArn": role.format(name)}
            )
            == "InvalidStructureException"
        )
    lab.cp.create_pipeline(pipeline={**declaration(), "roleArn": role.format("Pipeline")})


def error_of(call, **params) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]


def test_service_role_must_exist_in_the_account(lab):
    """pipelines-create.md: "The service role must already exist"; AWS answers
    InvalidStructureException as for a role that does not trust CodePipeline."""
    for arn in (
        "arn:aws:iam::123456789012:role/NoSuchRole",
        "arn:aws:iam::123456789012:role/service-role/NoSuchRole",
        # the kit's role exists, but in this account: a role of another account is refused
        "arn:aws:iam::210987654321:role/CodePipelineRole",
    ):
        error = error_of(lab.cp.create_pipeline, pipeline={**declaration(), "roleArn": arn})
        assert error == {
            "Code": "InvalidStructureException",
            "Message": f"CodePipeline is not authorized to perform AssumeRole on role {arn}",
        }
    assert lab.cp.list_pipelines()["pipelines"] == []
    lab.cp.create_pipeline(pipeline=declaration())
    error = error_of(
        lab.cp.update_pipeline,
        pipeline={**declaration(), "roleArn": "arn:aws:iam::123456789012:role/Gone"},
    )
    assert error["Code"] == "InvalidStructureException"
    assert error["Message"].endswith("AssumeRole on role arn:aws:iam::123456789012:role/Gone")
    got = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    assert (got["version"], got["roleArn"]) == (1, ROLE)


def test_action_role_must_exist(lab, client):
    """An action's roleArn is assumed by the pipeline's role: a role that does not exist is
    refused at CreatePipeline/UpdatePipeline, "<pipeline role> is not authorized to perform
    AssumeRole on role <action role>"."""
    missing = "arn:aws:iam::123456789012:role/NoActionRole"
    stages = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Build", "actions": [{**build_action(), "roleArn": missing}]},
    ]
    error = error_of(lab.cp.create_pipeline, pipeline=declaration(stages=stages))
    assert error == {
        "Code": "InvalidStructureException",
        "Message": f"{ROLE} is not authorized to perform AssumeRole on role {missing}",
    }
    lab.cp.create_pipeline(pipeline=declaration())
    assert (
        error_code(lab.cp.update_pipeline, pipeline=declaration(stages=stages))
        == "InvalidStructureException"
    )
    create_role(client("iam"), missing, service="codebuild.amazonaws.com")
    reply = lab.cp.update_pipeline(pipeline=declaration(stages=stages))["pipeline"]
    assert reply["stages"][1]["actions"][0]["roleArn"] == missing


def test_v2_fields_accepted(lab):
    reply = lab.cp.create_pipeline(
        pipeline=declaration(
            pipelineType="V2",
            executionMode="QUEUED",
            variables=[{"name": "env", "defaultValue": "dev"}],
        )
    )["pipeline"]
    assert (reply["pipelineType"], reply["executionMode"]) == ("V2", "QUEUED")
    assert reply["variables"] == [{"name": "env", "defaultValue": "dev"}]


def test_delete_and_tags(lab):
    lab.cp.create_pipeline(pipeline=declaration(), tags=[{"key": "a", "value": "1"}])
    arn = lab.cp.get_pipeline(name="lab-pipeline")["metadata"]["pipelineArn"]
    lab.cp.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    lab.cp.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert lab.cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    assert (
        error_code(lab.cp.tag_resource, resourceArn=arn, tags=[{"key": "aws:x", "value": "1"}])
        == "InvalidTagsException"
    )
    lab.cp.delete_pipeline(name="lab-pipeline")
    lab.cp.delete_pipeline(name="lab-pipeline")  # gone already: no error, as in AWS
    assert error_code(lab.cp.list_tags_for_resource, resourceArn=arn) == "ResourceNotFoundException"


def test_action_types(lab):
    types = lab.cp.list_action_types(actionOwnerFilter="AWS")["actionTypes"]
    ids = {(t["id"]["category"], t["id"]["provider"]) for t in types}
    assert {
        ("Source", "CodeCommit"),
        ("Build", "CodeBuild"),
        ("Deploy", "CodeDeploy"),
        ("Deploy", "S3"),
        ("Approval", "Manual"),
        ("Source", "S3"),
    } <= ids
    codecommit = next(t for t in types if t["id"]["provider"] == "CodeCommit")
    required = {p["name"] for p in codecommit["actionConfigurationProperties"] if p["required"]}
    assert required == {"RepositoryName", "BranchName"}
    assert lab.cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"] == []
    got = lab.cp.get_action_type(
        category="Deploy", owner="AWS", provider="CodeDeploy", version="1"
    )["actionType"]
    assert got["inputArtifactDetails"] == {"minimumCount": 1, "maximumCount": 1}
    assert (
        error_code(
            lab.cp.get_action_type, category="Build", owner="AWS", provider="Nothing", version="1"
        )
        == "ActionTypeNotFoundException"
    )


def test_approval_only_stage_is_valid(lab):
    lab.cp.create_pipeline(
        pipeline=declaration(
            stages=[
                {"name": "Source", "actions": [source_action()]},
                {"name": "Approve", "actions": [approval_action(CustomData="look")]},
            ]
        )
    )
    assert lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["version"] == 1
