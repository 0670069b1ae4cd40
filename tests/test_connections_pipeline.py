"""A V2 pipeline whose source is a repository of the local git host reached through a
connection: a `git push` starts it, the source action writes the commit's files (or the
clone reference) and its variables; DetectChanges false and a pending connection behave
as on AWS."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from helpers.emulator.connections import git_host
from tests.pipelines import ROLE, create_role, s3_deploy_action
from tests.test_connections import kit_for

OWNER = "octo"


def git(*args, cwd=None):
    return subprocess.run(
        ["git", "-c", "user.name=Learner", "-c", "user.email=l@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def connection_source(arn: str, full_id: str, **config) -> dict:
    return {
        "name": "Source",
        "namespace": "SourceVariables",
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeStarSourceConnection",
            "version": "1",
        },
        "configuration": {
            "ConnectionArn": arn,
            "FullRepositoryId": full_id,
            "BranchName": "main",
            **config,
        },
        "outputArtifacts": [{"name": "SourceOutput"}],
        "runOrder": 1,
    }


class Host:
    """A connection (handshake done or not), a repository on the local git host with a
    first commit, and a pipeline maker, all over HTTP."""

    def __init__(self, server_client, endpoint: str, tmp_path, available: bool = True):
        from helpers import connections

        self.cp, self.s3 = server_client("codepipeline"), server_client("s3")
        self.suffix = uuid.uuid4().hex[:8]
        self.bucket = f"artifacts-{self.suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        create_role(server_client("iam"))
        api = server_client("codeconnections")
        self.arn = api.create_connection(ProviderType="GitHub", ConnectionName="lab")[
            "ConnectionArn"
        ]
        if available:
            connections.complete_handshake(kit_for(endpoint), self.arn)
        self.full_id = f"{OWNER}/app-{self.suffix}"
        self.url = git_host.clone_url(endpoint, "GitHub", self.full_id)
        self.work = tmp_path / "work"
        self.work.mkdir()
        git("init", "-q", "-b", "main", cwd=self.work)
        self.commit("app.py", "print('v1')\n", "first")

    def commit(self, path: str, content: str, message: str) -> str:
        (self.work / path).write_text(content)
        git("add", ".", cwd=self.work)
        git("commit", "-qm", message, cwd=self.work)
        git("push", "-q", self.url, "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def pipeline(self, name: str, site: str, **config) -> str:
        """Source (this repository through the connection) -> Deploy to bucket site."""
        self.s3.create_bucket(Bucket=site)
        deploy = {
            "name": "Deploy",
            "actions": [s3_deploy_action(bucket=site, inputs=("SourceOutput",))],
        }
        return self.create_v2(name, connection_source(self.arn, self.full_id, **config), deploy)

    def create_v2(self, name: str, source: dict, second_stage: dict) -> str:
        """A V2 pipeline of two stages, Source (the action given) then second_stage; the id
        of the execution its creation started."""
        self.cp.create_pipeline(
            pipeline={
                "name": name,
                "pipelineType": "V2",
                "roleArn": ROLE,
                "artifactStore": {"type": "S3", "location": self.bucket},
                "stages": [{"name": "Source", "actions": [source]}, second_stage],
            }
        )
        return self.executions(name)[0]["pipelineExecutionId"]

    def add_triggers(self, name: str, triggers: list[dict]) -> None:
        declaration = self.cp.get_pipeline(name=name)["pipeline"]
        declaration["triggers"] = triggers
        self.cp.update_pipeline(pipeline=declaration)

    def executions(self, name: str) -> list[dict]:
        return self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]

    def wait(self, name: str, execution_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.cp.get_pipeline_execution(
                pipelineName=name, pipelineExecutionId=execution_id
            )["pipelineExecution"]
            if execution["status"] in ("Succeeded", "Failed", "Stopped") or (
                time.monotonic() > deadline
            ):
                return execution
            time.sleep(0.05)

    def source_action(self, name: str, execution_id: str) -> dict:
        details = self.cp.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        return next(d for d in details if d["actionName"] == "Source")


@pytest.fixture
def host(server_client, local_server, tmp_path):
    return Host(server_client, local_server.endpoint, tmp_path)


def test_push_starts_the_pipeline_with_the_commit_files_and_variables(host):
    name, site = f"conn-{host.suffix}", f"site-{host.suffix}"
    quiet = f"quiet-{host.suffix}"
    first = host.pipeline(name, site)
    assert host.wait(name, first)["status"] == "Succeeded"
    host.pipeline(quiet, f"quiet-site-{host.suffix}", DetectChanges="false")
    quiet_runs = len(host.executions(quiet))

    head = host.commit("app.py", "print('v2')\n", "Second version")
    deadline = time.monotonic() + 30
    while len(host.executions(name)) < 2:
        assert time.monotonic() < deadline, "the push started no execution"
        time.sleep(0.05)
    started = host.executions(name)[0]
    assert started["trigger"] == {"triggerType": "Webhook", "triggerDetail": host.arn}
    execution = host.wait(name, started["pipelineExecutionId"])
    assert execution["status"] == "Succeeded"
    assert execution["artifactRevisions"][0]["revisionId"] == head

    body = host.s3.get_object(Bucket=site, Key="app.py")["Body"].read()
    assert body == b"print('v2')\n"
    source = host.source_action(name, started["pipelineExecutionId"])
    variables = source["output"]["outputVariables"]
    assert variables["CommitId"] == head
    assert variables["CommitMessage"] == "Second version"
    assert variables["BranchName"] == "main"
    assert variables["FullRepositoryName"] == host.full_id
    assert variables["ConnectionArn"] == host.arn
    assert variables["AuthorDate"].endswith("Z")
    # DetectChanges false: the push started nothing there.
    assert len(host.executions(quiet)) == quiet_runs


def test_clone_ref_artifact_names_the_repository_and_commit(host):
    name, site = f"clone-{host.suffix}", f"clone-site-{host.suffix}"
    execution_id = host.pipeline(name, site, OutputArtifactFormat="CODEBUILD_CLONE_REF")
    assert host.wait(name, execution_id)["status"] == "Succeeded"
    reference = json.loads(
        host.s3.get_object(Bucket=site, Key="codebuild-clone-ref.json")["Body"].read()
    )
    assert reference["CommitId"] == git("rev-parse", "HEAD", cwd=host.work)
    assert reference["LocalServerPath"] == f"/github/{host.full_id}.git"
    assert reference["ConnectionArn"] == host.arn


def test_pending_connection_fails_the_source_action(server_client, local_server, tmp_path):
    host = Host(server_client, local_server.endpoint, tmp_path, available=False)
    name = f"pending-{host.suffix}"
    execution_id = host.pipeline(name, f"pending-site-{host.suffix}")
    assert host.wait(name, execution_id)["status"] == "Failed"
    source = host.source_action(name, execution_id)
    assert source["status"] == "Failed"
    error = source["output"]["executionResult"]["errorDetails"]
    assert error["code"] == "ConfigurationError" and "not available" in error["message"]
    # A push through a pending connection starts nothing, as on AWS.
    runs = len(host.executions(name))
    host.commit("app.py", "print('v2')\n", "more")
    time.sleep(0.5)
    assert len(host.executions(name)) == runs


def test_declaration_checks(host):
    with pytest.raises(host.cp.exceptions.InvalidActionDeclarationException):
        host.pipeline(f"bad-{host.suffix}", f"bad-site-{host.suffix}", OutputArtifactFormat="TAR")


def test_a_file_path_trigger_starts_only_on_pushes_that_change_its_files(host):
    # pipelines-filter.md: a push filter with branches and file paths starts the pipeline
    # only when a changed file matches; the git host gives the matcher the pushed changes.
    name, site = f"paths-{host.suffix}", f"site-{host.suffix}"
    first = host.pipeline(name, site)
    host.wait(name, first)
    host.add_triggers(
        name,
        [
            {
                "providerType": "CodeStarSourceConnection",
                "gitConfiguration": {
                    "sourceActionName": "Source",
                    "push": [
                        {
                            "branches": {"includes": ["main"]},
                            "filePaths": {"includes": ["src/**"]},
                        }
                    ],
                },
            }
        ],
    )
    host.commit("README.md", "docs only\n", "Docs")
    time.sleep(1)  # a start would be there by now (the hook runs in the push)
    assert len(host.executions(name)) == 1
    (host.work / "src").mkdir()
    head = host.commit("src/app.py", "print('v3')\n", "Code")
    deadline = time.monotonic() + 30
    while len(host.executions(name)) < 2:
        assert time.monotonic() < deadline, "the push of src/ started no execution"
        time.sleep(0.05)
    started = host.executions(name)[0]
    assert started["trigger"] == {"triggerType": "WebhookV2", "triggerDetail": host.arn}
    assert started["sourceRevisions"][0]["revisionId"] == head


def test_a_codebuild_action_gets_a_full_clone_of_a_clone_ref(host, server_client):
    """CODEBUILD_CLONE_REF: the build's source is a git clone at the pushed commit, on its
    branch, with the history (git commands work in the build)."""
    from tests.pipelines import BUILD_ROLE, ENVIRONMENT, build_action

    second = host.commit("app.py", "print('v2')\n", "second")
    codebuild = server_client("codebuild")
    project = f"clone-build-{host.suffix}"
    codebuild.create_project(
        name=project,
        source={
            "type": "CODEPIPELINE",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - git rev-parse --abbrev-ref HEAD\n      - git log --format=%H:%s\n"
            "      - cat app.py\n",
        },
        artifacts={"type": "CODEPIPELINE"},
        environment=ENVIRONMENT,
        serviceRole=BUILD_ROLE,
    )
    name = f"clone-build-{host.suffix}"
    source = connection_source(host.arn, host.full_id, OutputArtifactFormat="CODEBUILD_CLONE_REF")
    build_stage = {"name": "Build", "actions": [build_action(project=project, outputs=())]}
    execution = host.wait(name, host.create_v2(name, source, build_stage))
    assert execution["status"] == "Succeeded", execution
    [build_id] = codebuild.list_builds_for_project(projectName=project)["ids"]
    [build] = codebuild.batch_get_builds(ids=[build_id])["builds"]
    assert build["resolvedSourceVersion"] == second
    events = server_client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"]
    )["events"]
    lines = [e["message"].rstrip("\n") for e in events if not e["message"].startswith("[")]
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=host.work)
    assert lines == ["main", f"{second}:second", f"{first}:first", "print('v2')"], lines


@pytest.mark.parametrize(
    "reference, refusal",
    [
        ("[]", "not a JSON object"),
        ('{"ProviderType": "GitHub"}', "lacks FullRepositoryId"),
        (
            '{"ProviderType": "GitHub", "FullRepositoryId": "../x", "BranchName": "main",'
            ' "CommitId": "' + "a" * 40 + '"}',
            "not an owner name",
        ),
        (
            '{"ProviderType": "GitHub", "FullRepositoryId": "o/r", "BranchName": "--upload-pack=x",'
            ' "CommitId": "' + "a" * 40 + '"}',
            "not a branch name",
        ),
        (
            '{"ProviderType": "GitHub", "FullRepositoryId": "o/r", "BranchName": "main",'
            ' "CommitId": "HEAD; rm -rf /"}',
            "not a commit id",
        ),
    ],
)
def test_a_hostile_clone_ref_is_refused_before_git_runs(tmp_path, reference, refusal):
    from helpers.emulator.codebuild import clone_ref

    (tmp_path / clone_ref.FILE).write_text(reference)
    assert clone_ref.is_clone_ref(tmp_path)
    with pytest.raises(clone_ref.CloneRefError, match=refusal):
        clone_ref.clone("123456789012", tmp_path)
