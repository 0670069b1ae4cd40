"""CodePipeline engine speed: (1) a `git push` to Succeeded for CodeCommit -> CodeBuild ->
CodeDeploy over the local server, minus the build's own command time; (2) 50 concurrent
executions of a PARALLEL V2 pipeline, each checked to have deployed its own variable.

Background workers as in the labs (not the synchronous test mode), polled every 10 ms.
Run: python benchmarks/codepipeline_speed.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
)

import boto3  # noqa: E402

from helpers import aws, offline_credentials  # noqa: E402
from helpers.emulator import workers  # noqa: E402
from helpers.emulator.server import LocalServer  # noqa: E402
from helpers.prerequisites import push_event_pattern  # noqa: E402

# git signs with the aws CLI's credential helper, as lab.setup configures it.
os.environ.update(offline_credentials.git_config())

ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"
BUILD_COMMAND = "echo built > site/built.txt"
BUILDSPEC = f"""version: 0.2
phases:
  build:
    commands:
      - {BUILD_COMMAND}
artifacts:
  files:
    - '**/*'
"""
APPSPEC = "version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /var/www/html\n"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
FINAL = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
# Both benchmark pipelines start from the "bench" repository's main branch.
SOURCE_STAGE = {
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
                "RepositoryName": "bench",
                "BranchName": "main",
                "PollForSourceChanges": "false",
            },
            "outputArtifacts": [{"name": "Src"}],
        }
    ],
}


def git(*args: str, cwd) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def command_seconds(samples: int = 20) -> float:
    """Median time to run the build command directly, outside the emulator."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "site").mkdir()
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            subprocess.run(["bash", "-c", BUILD_COMMAND], cwd=folder, check=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def wait(cp, name: str, execution_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
            "pipelineExecution"
        ]["status"]
        if status in FINAL:
            return status
        time.sleep(0.01)
    raise TimeoutError(execution_id)


def pipeline_role(iam) -> str:
    """ROLE, made in the local IAM if missing: CreatePipeline refuses a role that does not
    exist (pipelines-create.md)."""
    return aws.create_role_named_by(iam, ROLE, "codepipeline.amazonaws.com")


def clients(endpoint: str) -> dict:
    return {
        service: boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)
        for service in (
            "codecommit",
            "codebuild",
            "codedeploy",
            "s3",
            "ec2",
            "codepipeline",
            "iam",
            "events",
        )
    }


def push_to_succeeded(endpoint: str, runs: int) -> list[float]:
    c = clients(endpoint)
    c["codecommit"].create_repository(repositoryName="bench")
    clone_url = c["codecommit"].get_repository(repositoryName="bench")["repositoryMetadata"][
        "cloneUrlHttp"
    ]
    c["s3"].create_bucket(Bucket="bench-artifacts")
    pipeline_role(c["iam"])
    c["codebuild"].create_project(
        name="bench",
        source={"type": "CODEPIPELINE", "buildspec": BUILDSPEC},
        artifacts={"type": "CODEPIPELINE"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    c["ec2"].run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "App", "Value": "bench"}]}
        ],
    )
    c["codedeploy"].create_application(applicationName="bench", computePlatform="Server")
    c["codedeploy"].create_deployment_group(
        applicationName="bench",
        deploymentGroupName="prod",
        serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "App", "Value": "bench", "Type": "KEY_AND_VALUE"}],
    )
    work = Path(tempfile.mkdtemp(prefix="bench-work-"))
    git("clone", clone_url, str(work / "repo"), cwd=work)
    repo = work / "repo"
    (repo / "site").mkdir()
    (repo / "appspec.yml").write_text(APPSPEC)
    git("checkout", "-b", "main", cwd=repo)
    (repo / "site" / "index.html").write_text("v0\n")
    git("add", ".", cwd=repo)
    git("commit", "-m", "v0", cwd=repo)
    git("push", "origin", "main", cwd=repo)
    cp = c["codepipeline"]
    cp.create_pipeline(
        pipeline={
            "name": "bench",
            "roleArn": ROLE,
            "artifactStore": {"type": "S3", "location": "bench-artifacts"},
            "stages": [
                SOURCE_STAGE,
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
                            "configuration": {"ProjectName": "bench"},
                            "inputArtifacts": [{"name": "Src"}],
                            "outputArtifacts": [{"name": "Out"}],
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
                                "ApplicationName": "bench",
                                "DeploymentGroupName": "prod",
                            },
                            "inputArtifacts": [{"name": "Out"}],
                        }
                    ],
                },
            ],
        }
    )
    first = cp.list_pipeline_executions(pipelineName="bench")["pipelineExecutionSummaries"][0]
    wait(cp, "bench", first["pipelineExecutionId"])
    # PollForSourceChanges false: the EventBridge rule starts the pipeline on a push.
    repository = c["codecommit"].get_repository(repositoryName="bench")["repositoryMetadata"]
    c["events"].put_rule(
        Name="bench-push", EventPattern=json.dumps(push_event_pattern(repository["Arn"], "main"))
    )
    c["events"].put_targets(
        Rule="bench-push",
        Targets=[
            {
                "Id": "codepipeline",
                "Arn": cp.get_pipeline(name="bench")["metadata"]["pipelineArn"],
                "RoleArn": ROLE,
            }
        ],
    )
    times = []
    previous = first["pipelineExecutionId"]
    for run in range(1, runs + 1):
        (repo / "site" / "index.html").write_text(f"v{run}\n")
        git("commit", "-am", f"v{run}", cwd=repo)
        start = time.perf_counter()
        git("push", "origin", "main", cwd=repo)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the rule's target starts in a thread of its own
            latest = cp.list_pipeline_executions(pipelineName="bench", maxResults=1)[
                "pipelineExecutionSummaries"
            ][0]
            if latest["pipelineExecutionId"] != previous:
                break
            time.sleep(0.01)
        else:
            raise TimeoutError(f"push v{run} started no execution")
        previous = latest["pipelineExecutionId"]
        status = wait(cp, "bench", latest["pipelineExecutionId"])
        times.append(time.perf_counter() - start)
        assert status == "Succeeded", status
        assert latest["trigger"]["triggerType"] == "CloudWatchEvent"
    return times


def parallel_executions(endpoint: str, count: int = 50) -> tuple[float, int]:
    c = clients(endpoint)
    cp, s3 = c["codepipeline"], c["s3"]
    s3.create_bucket(Bucket="bench-site")
    pipeline_role(c["iam"])
    cp.create_pipeline(
        pipeline={
            "name": "bench-parallel",
            "roleArn": ROLE,
            "pipelineType": "V2",
            "executionMode": "PARALLEL",
            "variables": [{"name": "run", "defaultValue": "none"}],
            "artifactStore": {"type": "S3", "location": "bench-artifacts"},
            "stages": [
                SOURCE_STAGE,
                {
                    "name": "Publish",
                    "actions": [
                        {
                            "name": "Publish",
                            "actionTypeId": {
                                "category": "Deploy",
                                "owner": "AWS",
                                "provider": "S3",
                                "version": "1",
                            },
                            "configuration": {
                                "BucketName": "bench-site",
                                "Extract": "false",
                                "ObjectKey": "runs/#{variables.run}.zip",
                            },
                            "inputArtifacts": [{"name": "Src"}],
                        }
                    ],
                },
            ],
        }
    )
    first = cp.list_pipeline_executions(pipelineName="bench-parallel")[
        "pipelineExecutionSummaries"
    ][0]
    wait(cp, "bench-parallel", first["pipelineExecutionId"])
    start = time.perf_counter()
    ids = [
        cp.start_pipeline_execution(
            name="bench-parallel", variables=[{"name": "run", "value": str(n)}]
        )["pipelineExecutionId"]
        for n in range(count)
    ]
    statuses = [wait(cp, "bench-parallel", execution_id) for execution_id in ids]
    elapsed = time.perf_counter() - start
    published = {
        o["Key"] for o in s3.list_objects_v2(Bucket="bench-site", Prefix="runs/")["Contents"]
    }
    correct = sum(
        1
        for n, status in enumerate(statuses)
        if status == "Succeeded" and f"runs/{n}.zip" in published
    )
    return elapsed, correct


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workers.set_synchronous(False)
    server = LocalServer("127.0.0.1", 0).start()
    try:
        command = command_seconds()
        times = push_to_succeeded(server.endpoint, runs)
        median = statistics.median(times)
        print(
            f"git push -> Succeeded (CodeCommit -> CodeBuild -> CodeDeploy, {runs} runs): "
            f"median {median:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"
        )
        print(
            f"  build command alone: {command * 1000:.1f} ms; "
            f"overhead (median minus command): {median - command:.3f} s (target < 2 s)"
        )
        elapsed, correct = parallel_executions(server.endpoint)
        print(
            f"50 concurrent PARALLEL executions: {correct}/50 Succeeded with their own "
            f"deployed object, all done in {elapsed:.2f} s"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
