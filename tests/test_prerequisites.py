"""Lab 04's helpers: what earlier labs made (helpers/prerequisites.py), the pipeline's roles,
and following a pipeline (the lab 04 section of helpers/codepipeline.py), under mock_aws."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from helpers import codepipeline as cp
from helpers import prerequisites as pre
from helpers import settings

NOT_YET = (
    "CodePipeline is not authorized to perform AssumeRole on role "
    "arn:aws:iam::123456789012:role/labtest-codepipeline-service"
)


def tags_of(pairs: list[dict], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {pair[key]: pair[value] for pair in pairs}


def pipeline_declaration(
    kit, repo: dict, build: dict, deploy: dict, role_arn: str, approval: bool = False
) -> dict:
    stages = [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "Source",
                    "namespace": "SourceVariables",
                    "actionTypeId": {
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "CodeCommit",
                        "version": "1",
                    },
                    "configuration": {
                        "RepositoryName": repo["repository_name"],
                        "BranchName": "main",
                        "PollForSourceChanges": "false",
                    },
                    "outputArtifacts": [{"name": "SourceOutput"}],
                }
            ],
        },
        {
            "name": "Build",
            "actions": [
                {
                    "name": "Build",
                    "namespace": "BuildVariables",
                    "actionTypeId": {
                        "category": "Build",
                        "owner": "AWS",
                        "provider": "CodeBuild",
                        "version": "1",
                    },
                    "configuration": {
                        "ProjectName": build["project_name"],
                        "EnvironmentVariables": json.dumps(
                            [
                                {
                                    "name": "COMMIT_ID",
                                    "value": "#{SourceVariables.CommitId}",
                                    "type": "PLAINTEXT",
                                }
                            ]
                        ),
                    },
                    "inputArtifacts": [{"name": "SourceOutput"}],
                    "outputArtifacts": [{"name": "BuildOutput"}],
                }
            ],
        },
        {
            "name": "Deploy",
            "actions": [
                {
                    "name": "Deploy",
                    "actionTypeId": {
                        "category": "Deploy",
                        "owner": "AWS",
                        "provider": "CodeDeploy",
                        "version": "1",
                    },
                    "configuration": {
                        "ApplicationName": deploy["application_name"],
                        "DeploymentGroupName": deploy["deployment_group_name"],
                    },
                    "inputArtifacts": [{"name": "BuildOutput"}],
                }
            ],
        },
    ]
    if approval:
        stages.insert(
            2,
            {
                "name": "Approval",
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                    }
                ],
            },
        )
    return {
        "name": kit.name("pipe"),
        "roleArn": role_arn,
        "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": build["artifact_bucket"]},
        "stages": stages,
    }


@pytest.fixture(name="ready")
def ready_fixture(lab_kit):
    """Everything labs 01-03 make, and the pipeline's role."""
    repo = pre.ensure_greeting_repository(lab_kit)
    build = pre.ensure_build_project(lab_kit, repo["repository_name"])
    deploy = pre.ensure_deployment_fleet(lab_kit, build["artifact_bucket"])
    role_arn = pre.ensure_pipeline_role(lab_kit, build["artifact_bucket"])
    return lab_kit, repo, build, deploy, role_arn


# -- lab 01 and lab 02 ---------------------------------------------------------------------


def test_ensure_greeting_repository_makes_the_sample_repository_once(lab_kit):
    first = pre.ensure_greeting_repository(lab_kit)
    assert first["repository_name"] == "labtest-greeting"
    assert first["branch"] == "main"
    assert pre.ensure_greeting_repository(lab_kit) == first
    codecommit = lab_kit.client("codecommit")
    assert len(codecommit.list_repositories()["repositories"]) == 1
    tags = codecommit.list_tags_for_resource(resourceArn=first["repository_arn"])["tags"]
    assert tags[settings.OWNER_TAG_KEY] == "labtest"


def test_ensure_build_project_commits_the_pipeline_files_once(lab_kit):
    repo = pre.ensure_greeting_repository(lab_kit)
    build = pre.ensure_build_project(lab_kit, repo["repository_name"])
    assert build["commit_id"] is not None
    assert build["project_name"] == "labtest-pipeline-build"
    assert build["artifact_bucket"] == "labtest-artifacts-123456789012-us-east-1"
    codecommit = lab_kit.client("codecommit")
    for path, data in pre.pipeline_files().items():
        got = codecommit.get_file(repositoryName=repo["repository_name"], filePath=path)
        assert got["fileContent"] == data
        assert got["fileMode"] == ("EXECUTABLE" if path.endswith(".sh") else "NORMAL")
    again = pre.ensure_build_project(lab_kit, repo["repository_name"])
    assert again["commit_id"] is None  # nothing changed, no empty commit
    tip = codecommit.get_branch(repositoryName=repo["repository_name"], branchName="main")[
        "branch"
    ]["commitId"]
    assert tip == build["commit_id"]


def test_pipeline_files_replace_lab02s_buildspec_only(lab_kit):
    repo = pre.ensure_greeting_repository(lab_kit)
    name = repo["repository_name"]
    codecommit = lab_kit.client("codecommit")
    pre.commit_pipeline_files(lab_kit, name)
    tip = codecommit.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"]
    lab02 = codecommit.put_file(
        repositoryName=name,
        branchName="main",
        parentCommitId=tip,
        filePath="buildspec.yml",
        fileContent=b"version: 0.2\n",
    )
    commit = pre.commit_pipeline_files(lab_kit, name)
    changed = codecommit.get_differences(
        repositoryName=name, beforeCommitSpecifier=lab02["commitId"], afterCommitSpecifier=commit
    )["differences"]
    assert [d["afterBlob"]["path"] for d in changed] == ["buildspec.yml"]


def test_the_buildspec_keeps_lab02s_build_and_adds_the_deployment_files():
    spec = yaml.safe_load(pre.BUILDSPEC)
    files = spec["artifacts"]["files"]
    assert {"greeting/**/*", "README.md", "appspec.yml", "scripts/**/*"} <= set(files)
    assert {"APP_VERSION", "GREETING", "BUILT_COMMIT"} <= set(spec["env"]["exported-variables"])
    appspec = yaml.safe_load(pre.APPSPEC)
    scripts = {hook[0]["location"] for hook in appspec["hooks"].values()}
    assert scripts == {f"scripts/{name}" for name in pre.SCRIPTS}


def test_the_pipeline_project_takes_its_source_from_the_pipeline(lab_kit):
    build = pre.ensure_build_project(lab_kit)
    [project] = lab_kit.client("codebuild").batch_get_projects(names=[build["project_name"]])[
        "projects"
    ]
    assert project["source"]["type"] == "CODEPIPELINE"
    assert project["artifacts"]["type"] == "CODEPIPELINE"
    assert project["serviceRole"] == build["build_role_arn"]
    assert tags_of(project["tags"], "key", "value")[settings.OWNER_TAG_KEY] == "labtest"


# -- lab 03 --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ensure_deployment_fleet_makes_the_group_and_fleet_and_reuses_them(lab_kit):
    first = pre.ensure_deployment_fleet(lab_kit)
    assert (first["application_name"], first["deployment_group_name"]) == (
        "labtest-greeting",
        "labtest-web",
    )
    assert len(first["instance_ids"]) == 3
    group = lab_kit.client("codedeploy").get_deployment_group(
        applicationName="labtest-greeting", deploymentGroupName="labtest-web"
    )["deploymentGroupInfo"]
    assert group["ec2TagFilters"] == [
        {"Key": "lab:fleet", "Value": "labtest-web", "Type": "KEY_AND_VALUE"}
    ]
    assert group["serviceRoleArn"] == first["service_role_arn"]
    again = pre.ensure_deployment_fleet(lab_kit)
    assert again["instance_ids"] == first["instance_ids"]  # no new instances


@pytest.mark.slow
def test_the_instances_may_read_the_pipelines_artifacts(lab_kit):
    deploy = pre.ensure_deployment_fleet(lab_kit, "labtest-artifacts-123456789012-us-east-1")
    policy = lab_kit.client("iam").get_role_policy(
        RoleName=deploy["instance_profile"], PolicyName="read-pipeline-artifacts"
    )["PolicyDocument"]
    [statement] = policy["Statement"]
    assert "s3:GetObject" in statement["Action"]
    assert "arn:aws:s3:::labtest-artifacts-123456789012-us-east-1/*" in statement["Resource"]


# -- the pipeline's roles and its push rule -----------------------------------------------


def test_pipeline_role_trusts_codepipeline_and_is_scoped_to_the_learner(lab_kit):
    arn = pre.ensure_pipeline_role(lab_kit, "labtest-bucket")
    assert arn == "arn:aws:iam::123456789012:role/labtest-codepipeline-service"
    iam = lab_kit.client("iam")
    role = iam.get_role(RoleName="labtest-codepipeline-service")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "codepipeline.amazonaws.com"}
    assert (
        tags_of(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])[settings.OWNER_TAG_KEY]
        == "labtest"
    )
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=pre.PIPELINE_ROLE_POLICY)[
        "PolicyDocument"
    ]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {
        "ArtifactStore",
        "CodeCommitSource",
        "CodeBuildActions",
        "CodeDeployActions",
    }
    assert "arn:aws:s3:::labtest-bucket/*" in by_sid["ArtifactStore"]["Resource"]
    assert by_sid["CodeBuildActions"]["Resource"].endswith(":project/labtest-*")
    assert pre.ensure_pipeline_role(lab_kit, "labtest-bucket") == arn  # made once


def test_events_role_may_start_the_learners_pipelines_only(lab_kit):
    arn = pre.ensure_events_role(lab_kit)
    iam = lab_kit.client("iam")
    role = iam.get_role(RoleName="labtest-pipeline-events")["Role"]
    assert role["Arn"] == arn
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "events.amazonaws.com"
    }
    [statement] = iam.get_role_policy(
        RoleName="labtest-pipeline-events", PolicyName=pre.EVENTS_ROLE_POLICY
    )["PolicyDocument"]["Statement"]
    assert statement["Action"] == "codepipeline:StartPipelineExecution"
    assert statement["Resource"] == "arn:aws:codepipeline:us-east-1:123456789012:labtest-*"


def test_push_event_pattern_matches_pushes_to_the_branch():
    pattern = pre.push_event_pattern("arn:aws:codecommit:us-east-1:1:repo", "main")
    assert pattern["source"] == ["aws.codecommit"]
    assert pattern["resources"] == ["arn:aws:codecommit:us-east-1:1:repo"]
    assert pattern["detail"]["referenceName"] == ["main"]
    assert pattern["detail"]["referenceType"] == ["branch"]


# -- a pipeline made of what the prerequisites made ----------------------------------------


@pytest.mark.slow
def test_the_prerequisites_make_a_pipeline_that_deploys(ready):
    kit, repo, build, deploy, role_arn = ready
    codepipeline = kit.client("codepipeline")
    declaration = pipeline_declaration(kit, repo, build, deploy, role_arn)
    cp.create_pipeline(codepipeline, pipeline=declaration, tags=kit.tag_list("key", "value"))
    [summary] = codepipeline.list_pipeline_executions(pipelineName=declaration["name"])[
        "pipelineExecutionSummaries"
    ]
    execution = cp.wait_for_execution(
        codepipeline, declaration["name"], summary["pipelineExecutionId"], show=False
    )
    assert execution["status"] == "Succeeded", execution
    details = codepipeline.list_action_executions(pipelineName=declaration["name"])[
        "actionExecutionDetails"
    ]
    by_name = {d["actionName"]: d for d in details}
    tip = kit.client("codecommit").get_branch(
        repositoryName=repo["repository_name"], branchName="main"
    )["branch"]["commitId"]
    assert by_name["Build"]["output"]["outputVariables"]["BUILT_COMMIT"] == tip
    location = by_name["Build"]["output"]["outputArtifacts"][0]["s3location"]
    body = (
        kit.client("s3").get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    )
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {"appspec.yml", "scripts/start.sh", "greeting/__init__.py"} <= names
    deployment_id = by_name["Deploy"]["output"]["executionResult"]["externalExecutionId"]
    info = kit.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Succeeded"
    assert info["deploymentOverview"]["Succeeded"] == 3


@pytest.mark.slow
def test_wait_for_approval_gives_the_token_and_approve_uses_it(ready):
    kit, repo, build, deploy, role_arn = ready
    codepipeline = kit.client("codepipeline")
    declaration = pipeline_declaration(kit, repo, build, deploy, role_arn, approval=True)
    codepipeline.create_pipeline(pipeline=declaration)
    name = declaration["name"]
    [summary] = codepipeline.list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"
    ]
    execution_id = summary["pipelineExecutionId"]
    waiting = cp.wait_for_approval(
        codepipeline, name, "Approval", "Approve", execution_id=execution_id, timeout=5
    )
    assert waiting["status"] == "InProgress" and waiting["token"]
    assert cp.waiting_approval(codepipeline, name, "Approval", "Approve", "other-id") is None
    cp.approve(codepipeline, name, "Approval", "Approve", "fine")
    assert (
        cp.wait_for_execution(codepipeline, name, execution_id, show=False)["status"] == "Succeeded"
    )
    with pytest.raises(RuntimeError, match="ended"):
        cp.wait_for_approval(
            codepipeline, name, "Approval", "Approve", execution_id=execution_id, timeout=5
        )
    with pytest.raises(TimeoutError):
        cp.wait_for_approval(codepipeline, name, "Approval", "Approve", timeout=0, poll_seconds=0)


@pytest.mark.slow
def test_wait_for_new_execution_finds_the_execution_of_a_commit(ready):
    kit, repo, build, deploy, role_arn = ready
    codepipeline = kit.client("codepipeline")
    declaration = pipeline_declaration(kit, repo, build, deploy, role_arn)
    codepipeline.create_pipeline(pipeline=declaration)
    # PollForSourceChanges false: only an EventBridge rule starts it on a push (lab 04)
    events = kit.client("events")
    rule = kit.name("notes-push")
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(pre.push_event_pattern(repo["repository_arn"], "main")),
        Tags=kit.tag_list(),
    )
    pipeline_arn = codepipeline.get_pipeline(name=declaration["name"])["metadata"]["pipelineArn"]
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "codepipeline",
                "Arn": pipeline_arn,
                "RoleArn": pre.ensure_events_role(kit),
            }
        ],
    )
    codecommit = kit.client("codecommit")
    tip = codecommit.get_branch(repositoryName=repo["repository_name"], branchName="main")[
        "branch"
    ]["commitId"]
    pushed = codecommit.put_file(
        repositoryName=repo["repository_name"],
        branchName="main",
        parentCommitId=tip,
        filePath="NOTES.md",
        fileContent=b"notes\n",
    )["commitId"]
    summary = cp.wait_for_new_execution(codepipeline, declaration["name"], pushed, timeout=5)
    assert summary["trigger"]["triggerType"] == "CloudWatchEvent"
    assert summary["sourceRevisions"][0]["revisionId"] == pushed
    with pytest.raises(TimeoutError):
        cp.wait_for_new_execution(
            codepipeline, declaration["name"], "0" * 40, timeout=0, poll_seconds=0
        )


def test_create_pipeline_waits_for_a_new_role_only(lab_kit):
    client = lab_kit.client("codepipeline")
    pipeline = {"name": "p", "roleArn": "arn:aws:iam::123456789012:role/r", "stages": []}
    slept = []
    with Stubber(client) as stub:
        stub.add_client_error("create_pipeline", "InvalidStructureException", NOT_YET)
        stub.add_response(
            "create_pipeline",
            {
                "pipeline": {
                    "name": "p",
                    "roleArn": "arn:aws:iam::123456789012:role/r",
                    "stages": [],
                    "version": 1,
                }
            },
        )
        reply = cp.create_pipeline(client, sleep=slept.append, pipeline=pipeline)
        assert reply["pipeline"]["version"] == 1 and slept == [5]
        stub.add_client_error(
            "create_pipeline", "InvalidStructureException", "Pipeline has only 1 stage(s)"
        )
        with pytest.raises(client.exceptions.InvalidStructureException):
            cp.create_pipeline(client, sleep=slept.append, pipeline=pipeline)
        assert slept == [5]


def test_create_pipeline_does_not_wait_offline(lab_kit):
    # Offline a role is usable at once: the refusal means a missing or untrusting role.
    client = boto3.client(
        "codepipeline",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    pipeline = {"name": "p", "roleArn": "arn:aws:iam::123456789012:role/r", "stages": []}
    slept: list[float] = []
    with Stubber(client) as stub:
        stub.add_client_error("create_pipeline", "InvalidStructureException", NOT_YET)
        with pytest.raises(client.exceptions.InvalidStructureException):
            cp.create_pipeline(client, sleep=slept.append, pipeline=pipeline)
    assert slept == []


# -- start_fresh -------------------------------------------------------------------------


def test_start_fresh_deletes_the_learners_pipeline_and_rule(ready, capsys):
    kit, repo, build, deploy, role_arn = ready
    codepipeline = kit.client("codepipeline")
    declaration = pipeline_declaration(kit, repo, build, deploy, role_arn)
    codepipeline.create_pipeline(pipeline=declaration, tags=kit.tag_list("key", "value"))
    events = kit.client("events")
    events.put_rule(
        Name="labtest-push",
        EventPattern=json.dumps(pre.push_event_pattern(repo["repository_arn"])),
        Tags=kit.tag_list(),
    )
    events.put_targets(
        Rule="labtest-push",
        Targets=[{"Id": "1", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:labtest-pipe"}],
    )
    pre.start_fresh(kit, declaration["name"], "labtest-push")
    assert codepipeline.list_pipelines()["pipelines"] == []
    assert events.list_rules(NamePrefix="labtest-")["Rules"] == []
    assert "Deleted the pipeline" in capsys.readouterr().out
    pre.start_fresh(kit, declaration["name"], "labtest-push")  # nothing left: no error
    assert pre.delete_rule(kit, "labtest-push") is False


def test_start_fresh_refuses_what_is_not_the_learners(ready):
    kit, repo, build, deploy, role_arn = ready
    codepipeline = kit.client("codepipeline")
    declaration = pipeline_declaration(kit, repo, build, deploy, role_arn)
    codepipeline.create_pipeline(
        pipeline=declaration, tags=[{"key": settings.OWNER_TAG_KEY, "value": "someone"}]
    )
    with pytest.raises(RuntimeError, match="not yours"):
        pre.start_fresh(kit, declaration["name"])
    events = kit.client("events")
    events.put_rule(Name="labtest-foreign", ScheduleExpression="rate(1 day)")
    with pytest.raises(RuntimeError, match="not yours"):
        pre.delete_rule(kit, "labtest-foreign")
