"""End to end over HTTP: a `git push` to the local server starts a CodeCommit -> CodeBuild ->
CodeDeploy pipeline that deploys the app into the offline instance's folder."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from helpers.codepipeline import pipeline_snapshot, wait_for_execution, wait_for_new_execution
from helpers.emulator import workers
from helpers.emulator.codedeploy.targets import instance_root
from helpers.prerequisites import push_event_pattern
from tests.pipelines import create_role

ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"
SERVICE_ROLE = "arn:aws:iam::123456789012:role/LabServiceRole"
BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - echo "<p>built from $CODEBUILD_RESOLVED_SOURCE_VERSION</p>" >> site/index.html
artifacts:
  files:
    - '**/*'
"""
APPSPEC = """version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/html
"""


def git(*args: str, cwd) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Learner",
        "GIT_AUTHOR_EMAIL": "learner@example.com",
        "GIT_COMMITTER_NAME": "Learner",
        "GIT_COMMITTER_EMAIL": "learner@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def background():
    workers.set_synchronous(False)
    yield
    workers.set_synchronous(None)


@pytest.mark.slow
def test_git_push_runs_three_stage_pipeline_to_deployed_instance(
    server_client, background, tmp_path, capsys
):
    suffix = uuid.uuid4().hex[:6]
    repo, bucket, name = f"web-{suffix}", f"artifacts-{suffix}", f"web-pipeline-{suffix}"
    cc, cb, cd = (
        server_client("codecommit"),
        server_client("codebuild"),
        server_client("codedeploy"),
    )
    s3, ec2, cp = server_client("s3"), server_client("ec2"), server_client("codepipeline")
    clone_url = cc.create_repository(repositoryName=repo)["repositoryMetadata"]["cloneUrlHttp"]
    s3.create_bucket(Bucket=bucket)
    cb.create_project(
        name=f"build-{suffix}",
        source={"type": "CODEPIPELINE", "buildspec": BUILDSPEC},
        artifacts={"type": "CODEPIPELINE"},
        serviceRole=SERVICE_ROLE,
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    [instance] = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "App", "Value": suffix}]}
            ],
        )["Instances"]
    ]
    cd.create_application(applicationName=f"app-{suffix}", computePlatform="Server")
    cd.create_deployment_group(
        applicationName=f"app-{suffix}",
        deploymentGroupName="prod",
        serviceRoleArn=SERVICE_ROLE,
        ec2TagFilters=[{"Key": "App", "Value": suffix, "Type": "KEY_AND_VALUE"}],
    )
    cp.create_pipeline(
        pipeline={
            "name": name,
            "roleArn": create_role(server_client("iam"), ROLE),
            "artifactStore": {"type": "S3", "location": bucket},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "Source",
                            "actionTypeId": {
                                "category": "Source",
                                "owner": "AWS",
                                "provider": "CodeCommit",
                                "version": "1",
                            },
                            "configuration": {
                                "RepositoryName": repo,
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
                            "actionTypeId": {
                                "category": "Build",
                                "owner": "AWS",
                                "provider": "CodeBuild",
                                "version": "1",
                            },
                            "configuration": {"ProjectName": f"build-{suffix}"},
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
                                "ApplicationName": f"app-{suffix}",
                                "DeploymentGroupName": "prod",
                            },
                            "inputArtifacts": [{"name": "BuildOutput"}],
                        }
                    ],
                },
            ],
        }
    )
    # The execution CreatePipeline starts fails: the repository has no branch yet.
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert (
        wait_for_execution(
            cp, name, first["pipelineExecutionId"], timeout=30, show=False, poll_seconds=0.05
        )["status"]
        == "Failed"
    )

    # PollForSourceChanges false: an EventBridge rule starts it on a push (triggering.md)
    events = server_client("events")
    repository_arn = cc.get_repository(repositoryName=repo)["repositoryMetadata"]["Arn"]
    rule_arn = events.put_rule(
        Name=f"{name}-push", EventPattern=json.dumps(push_event_pattern(repository_arn, "main"))
    )["RuleArn"]
    pipeline_arn = cp.get_pipeline(name=name)["metadata"]["pipelineArn"]
    events_role = create_role(
        server_client("iam"), "arn:aws:iam::123456789012:role/EventsRole", "events.amazonaws.com"
    )
    events.put_targets(
        Rule=f"{name}-push",
        Targets=[{"Id": "codepipeline", "Arn": pipeline_arn, "RoleArn": events_role}],
    )

    work = tmp_path / "work"
    git("clone", clone_url, str(work), cwd=tmp_path)
    (work / "site").mkdir()
    (work / "site" / "index.html").write_text("<h1>hello</h1>\n")
    (work / "appspec.yml").write_text(APPSPEC)
    git("checkout", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-m", "first page", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    git("push", "origin", "main", cwd=work)

    pushed = wait_for_new_execution(cp, name, commit, timeout=30, poll_seconds=0.05)
    assert pushed["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
    assert len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]) == 2
    execution = wait_for_execution(
        cp, name, pushed["pipelineExecutionId"], timeout=60, poll_seconds=0.05
    )
    assert execution["status"] == "Succeeded"
    assert execution["artifactRevisions"][0]["revisionId"] == commit
    printed = capsys.readouterr().out
    assert "Deploy/Deploy: Succeeded" in printed
    page = instance_root("123456789012", "us-east-1", instance) / "var/www/html/index.html"
    assert page.read_text() == f"<h1>hello</h1>\n<p>built from {commit}</p>\n"
    deploy = next(
        d
        for d in cp.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": pushed["pipelineExecutionId"]}
        )["actionExecutionDetails"]
        if d["actionName"] == "Deploy"
    )
    deployment_id = deploy["output"]["executionResult"]["externalExecutionId"]
    assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Succeeded"
    snapshot = pipeline_snapshot(cp, name)
    assert snapshot["source_revision"] == commit
    assert [s["status"] for s in snapshot["stages"]] == ["Succeeded"] * 3
