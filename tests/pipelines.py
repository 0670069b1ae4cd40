"""Shared helpers for the CodePipeline tests: a repository, a build project, a pipeline
(the fixtures that make them, `lab` and `bg_lab`, are in conftest.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from helpers import aws

ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"  # made by make_lab / create_role
EVENTS_ROLE = "arn:aws:iam::123456789012:role/EventsRole"  # made by make_lab / create_role
BUILD_ROLE = "arn:aws:iam::123456789012:role/CodeBuildRole"
BUCKET = "lab-artifacts"
REPO = "app"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
BUILDSPEC = """version: 0.2
env:
  exported-variables:
    - GREETING
phases:
  build:
    commands:
      - export GREETING="hello-$(cat message.txt)"
      - mkdir -p out && cp message.txt out/ && echo "$EXTRA" > out/extra.txt
artifacts:
  files:
    - '**/*'
  base-directory: out
"""


def source_action(
    name: str = "Source",
    branch: str = "main",
    output: str = "SourceOutput",
    namespace: str | None = "SourceVariables",
    **config,
) -> dict:
    action = {
        "name": name,
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeCommit",
            "version": "1",
        },
        "configuration": {
            "RepositoryName": REPO,
            "BranchName": branch,
            "PollForSourceChanges": "false",
            **config,
        },
        "outputArtifacts": [{"name": output}],
        "runOrder": 1,
    }
    if namespace:
        action["namespace"] = namespace
    return action


def build_action(
    name: str = "Build",
    project: str = "lab-build",
    inputs=("SourceOutput",),
    outputs=("BuildOutput",),
    run_order: int = 1,
    namespace: str | None = None,
    **config,
) -> dict:
    action = {
        "name": name,
        "actionTypeId": {
            "category": "Build",
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
        },
        "configuration": {"ProjectName": project, **config},
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
        "runOrder": run_order,
    }
    if namespace:
        action["namespace"] = namespace
    return action


def approval_action(name: str = "Approve", run_order: int = 1, **config) -> dict:
    return {
        "name": name,
        "actionTypeId": {
            "category": "Approval",
            "owner": "AWS",
            "provider": "Manual",
            "version": "1",
        },
        "configuration": config,
        "runOrder": run_order,
    }


def s3_deploy_action(
    name: str = "Publish",
    bucket: str = "lab-site",
    inputs=("BuildOutput",),
    extract: str = "true",
    run_order: int = 1,
    **config,
) -> dict:
    return {
        "name": name,
        "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"BucketName": bucket, "Extract": extract, **config},
        "inputArtifacts": [{"name": n} for n in inputs],
        "runOrder": run_order,
    }


CFN_ROLE = "arn:aws:iam::123456789012:role/CloudFormationRole"  # create_role(..., CFN_ROLE, ...)


def cloudformation_action(
    name: str = "Deploy",
    mode: str = "CREATE_UPDATE",
    stack: str = "lab-stack",
    inputs=("SourceOutput",),
    outputs=(),
    run_order: int = 1,
    namespace: str | None = None,
    **config,
) -> dict:
    """A CloudFormation deploy action; RoleArn CFN_ROLE and TemplatePath
    SourceOutput::template.json unless config says otherwise (None drops a key)."""
    configuration = {
        "ActionMode": mode,
        "StackName": stack,
        "RoleArn": CFN_ROLE,
        "TemplatePath": "SourceOutput::template.json",
        **config,
    }
    action = {
        "name": name,
        "actionTypeId": {
            "category": "Deploy",
            "owner": "AWS",
            "provider": "CloudFormation",
            "version": "1",
        },
        "configuration": {k: v for k, v in configuration.items() if v is not None},
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
        "runOrder": run_order,
    }
    if namespace:
        action["namespace"] = namespace
    return action


def declaration(name: str = "lab-pipeline", stages: list | None = None, **extra) -> dict:
    stages = stages or [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Build", "actions": [build_action()]},
    ]
    return {
        "name": name,
        "roleArn": ROLE,
        "artifactStore": {"type": "S3", "location": BUCKET},
        "stages": stages,
        **extra,
    }


@dataclass
class Lab:
    cp: object
    cc: object
    cb: object
    s3: object
    events: object = None

    def commit(self, path: str, content: str, branch: str = "main", message: str = "change") -> str:
        try:
            parent = self.cc.get_branch(repositoryName=REPO, branchName=branch)["branch"][
                "commitId"
            ]
        except self.cc.exceptions.BranchDoesNotExistException:
            parent = None
        params = {
            "repositoryName": REPO,
            "branchName": branch,
            "filePath": path,
            "fileContent": content.encode(),
            "commitMessage": message,
        }
        if parent:
            params["parentCommitId"] = parent
        return self.cc.put_file(**params)["commitId"]

    def push_rule(
        self, name: str = "lab-pipeline", branch: str = "main", rule: str | None = None
    ) -> str:
        """The EventBridge rule that starts the pipeline on a push to the branch, as its
        CodeCommit source (PollForSourceChanges false) needs: the user guide's pattern
        (update-change-detection.md), the pipeline as target with a role; its ARN."""
        from helpers.prerequisites import push_event_pattern

        repository = self.cc.get_repository(repositoryName=REPO)["repositoryMetadata"]["Arn"]
        rule = rule or f"{name}-{branch}-push"
        arn = self.events.put_rule(
            Name=rule, EventPattern=json.dumps(push_event_pattern(repository, branch))
        )["RuleArn"]
        pipeline = self.cp.get_pipeline(name=name)["metadata"]["pipelineArn"]
        self.events.put_targets(
            Rule=rule, Targets=[{"Id": "codepipeline", "Arn": pipeline, "RoleArn": EVENTS_ROLE}]
        )
        return arn

    def push(
        self,
        path: str,
        content: str,
        branch: str = "main",
        message: str = "change",
        name: str = "lab-pipeline",
        timeout: float = 30,
    ) -> tuple[str, str]:
        """Commit to the branch; (the commit, the id of the execution the push started).
        A rule's target starts in a thread of its own (events.py), so wait for it."""
        known = {s["pipelineExecutionId"] for s in self.summaries(name)}
        commit = self.commit(path, content, branch, message)
        deadline = time.monotonic() + timeout
        while True:
            new = [s for s in self.summaries(name) if s["pipelineExecutionId"] not in known]
            if new:
                return commit, new[0]["pipelineExecutionId"]
            assert time.monotonic() < deadline, f"no execution of {name} started by the push"
            time.sleep(0.02)

    def summaries(self, name: str = "lab-pipeline") -> list[dict]:
        return self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]

    def project(self, name: str = "lab-build", buildspec: str = BUILDSPEC) -> None:
        self.cb.create_project(
            name=name,
            source={"type": "CODEPIPELINE", "buildspec": buildspec},
            artifacts={"type": "CODEPIPELINE"},
            environment=ENVIRONMENT,
            serviceRole=BUILD_ROLE,
        )

    def create(self, **kwargs) -> str:
        """Create a pipeline; return the id of the execution creation started."""
        self.cp.create_pipeline(pipeline=declaration(**kwargs))
        return self.latest(kwargs.get("name", "lab-pipeline"))

    def latest(self, name: str = "lab-pipeline") -> str:
        summaries = self.cp.list_pipeline_executions(pipelineName=name)[
            "pipelineExecutionSummaries"
        ]
        return summaries[0]["pipelineExecutionId"]

    def execution(self, execution_id: str, name: str = "lab-pipeline") -> dict:
        return self.cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
            "pipelineExecution"
        ]

    def wait(
        self,
        execution_id: str,
        name: str = "lab-pipeline",
        timeout: float = 30,
        until=("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"),
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(execution_id, name)
            if execution["status"] in until or time.monotonic() > deadline:
                return execution
            time.sleep(0.02)

    def actions(self, execution_id: str, name: str = "lab-pipeline") -> dict[str, dict]:
        details = self.cp.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        return {d["actionName"]: d for d in details}

    def state(self, name: str = "lab-pipeline") -> dict[str, dict]:
        return {s["stageName"]: s for s in self.cp.get_pipeline_state(name=name)["stageStates"]}

    def action_state(self, stage: str, action: str, name: str = "lab-pipeline") -> dict:
        states = self.state(name)[stage]["actionStates"]
        return next(a for a in states if a["actionName"] == action)


def trust_policy(service: str = "codepipeline.amazonaws.com") -> str:
    """A trust policy that lets the service assume the role."""
    return json.dumps(aws.service_trust_policy(service))


def create_role(iam, arn: str = ROLE, service: str = "codepipeline.amazonaws.com") -> str:
    """The role the ARN names, trusting the service, made if the local IAM lacks it."""
    return aws.create_role_named_by(iam, arn, service)


def env_variables(**values: str) -> str:
    return json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in values.items()])


def make_lab(client) -> Lab:
    lab = Lab(
        client("codepipeline"),
        client("codecommit"),
        client("codebuild"),
        client("s3"),
        client("events"),
    )
    lab.s3.create_bucket(Bucket=BUCKET)
    create_role(client("iam"))
    create_role(client("iam"), EVENTS_ROLE, "events.amazonaws.com")  # for push_rule
    lab.cc.create_repository(repositoryName=REPO)
    lab.commit("message.txt", "v1", message="first commit")
    lab.project()
    return lab
