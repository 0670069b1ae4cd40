"""What the earlier labs made, made again when missing, so a later lab runs on its own.

    from helpers import prerequisites
    repo = prerequisites.ensure_greeting_repository(kit)     # lab 01's repository
    build = prerequisites.ensure_build_project(kit)  # lab 02: role, bucket, pipeline project
    deploy = prerequisites.ensure_deployment_fleet(kit)   # lab 03's application, group and fleet

Each notebook kernel has its own local AWS offline, so lab 04 cannot count on what lab 03
left; on a real account these find and reuse what the earlier labs made. They only call
the lab-level helpers of helpers.codecommit, helpers.codebuild and helpers.codedeploy.

Lab 04 (CodePipeline) also gets here its IAM roles: the pipeline's service role
(pipeline_role_policy, ensure_pipeline_role) and the role EventBridge uses to start the
pipeline on a push (ensure_events_role); and start_fresh, for running the lab again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml
from botocore.exceptions import ClientError

from . import codebuild as cb
from . import codecommit as cc
from . import codedeploy as cd
from . import settings
from .aws import ensure_role

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

BRANCH = "main"
PIPELINE_PROJECT_SUFFIX = "pipeline-build"
PIPELINE_ROLE_SUFFIX = "codepipeline-service"
PIPELINE_ROLE_POLICY = "codepipeline-service-policy"
EVENTS_ROLE_SUFFIX = "pipeline-events"
EVENTS_ROLE_POLICY = "start-pipelines"
FLEET_SIZE = 3
BUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"

# -- what the repository needs for a pipeline: buildspec, AppSpec, hook scripts -----------

# Lab 02's buildspec, plus: the commit the pipeline passes in ($COMMIT_ID, exported as
# BUILT_COMMIT), its release note ($RELEASE_NOTE), and the deployment files in the artifact
# so that CodeDeploy can deploy the build's output as it is.
BUILDSPEC = """\
version: 0.2

env:
  variables:
    GREETING_NAME: "CodeBuild"
    RELEASE_CHANNEL: "nightly"
    PYTHONDONTWRITEBYTECODE: "1"
  exported-variables:
    - APP_VERSION
    - GREETING
    - RELEASE_CHANNEL
    - BUILT_COMMIT
    - RELEASE_NOTE

phases:
  install:
    commands:
      - python3 --version
  pre_build:
    commands:
      - echo "Build $CODEBUILD_BUILD_NUMBER of commit $CODEBUILD_RESOLVED_SOURCE_VERSION"
      - export APP_VERSION=$(python3 -c "import greeting; print(greeting.VERSION)")
      - export BUILT_COMMIT="${COMMIT_ID:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"
      - export RELEASE_NOTE="${RELEASE_NOTE:-}"
      - echo "Version $APP_VERSION of $BUILT_COMMIT on the $RELEASE_CHANNEL channel"
  build:
    commands:
      - python3 run_tests.py
      - chmod +x scripts/*.sh
  post_build:
    commands:
      - export GREETING="$(python3 -m greeting "$GREETING_NAME")"
      - echo "$GREETING (build succeeding = $CODEBUILD_BUILD_SUCCEEDING)"

reports:
  unit-tests:
    files:
      - junit.xml
    base-directory: reports
    file-format: JUNITXML

artifacts:
  files:
    - greeting/**/*
    - README.md
    - appspec.yml
    - scripts/**/*
"""

# Lab 03's AppSpec file and hook scripts, unchanged.
APPSPEC = """\
version: 0.0
os: linux
files:
  - source: greeting
    destination: /var/www/greeting/greeting
file_exists_behavior: OVERWRITE
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 30
  BeforeInstall:
    - location: scripts/before_install.sh
      timeout: 30
  AfterInstall:
    - location: scripts/after_install.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 30
  ValidateService:
    - location: scripts/validate.sh
      timeout: 30
"""

SCRIPTS = {
    "stop.sh": """#!/bin/bash
rm -f "${LAB_INSTANCE_ROOT:-}/var/www/html/index.html"
echo "$LIFECYCLE_EVENT: took the page down before deployment $DEPLOYMENT_ID"
""",
    "before_install.sh": """#!/bin/bash
set -e
mkdir -p "${LAB_INSTANCE_ROOT:-}/var/www/html"
echo "$LIFECYCLE_EVENT: web root ready for $APPLICATION_NAME / $DEPLOYMENT_GROUP_NAME"
""",
    "after_install.sh": """#!/bin/bash
set -e
cd "${LAB_INSTANCE_ROOT:-}/var/www/greeting"
PYTHONDONTWRITEBYTECODE=1 python3 -c "import greeting; print('installed version', greeting.VERSION)"
""",
    "start.sh": """#!/bin/bash
set -e
ROOT="${LAB_INSTANCE_ROOT:-}"
cd "$ROOT/var/www/greeting"
RENDER="from greeting import render_page; print(render_page('CodePipeline'), end='')"
PYTHONDONTWRITEBYTECODE=1 python3 -c "$RENDER" > "$ROOT/var/www/html/index.html"
echo "$LIFECYCLE_EVENT: page rendered"
""",
    "validate.sh": """#!/bin/bash
PAGE="${LAB_INSTANCE_ROOT:-}/var/www/html/index.html"
if grep -q "Hello" "$PAGE"; then
  echo "$LIFECYCLE_EVENT: the page says Hello"
else
  echo "$LIFECYCLE_EVENT: the page does not say Hello:" >&2
  cat "$PAGE" >&2
  exit 1
fi
""",
}


def pipeline_files() -> dict[str, bytes]:
    """What a pipeline needs in the repository, by path: buildspec, AppSpec, scripts."""
    files = {"buildspec.yml": BUILDSPEC.encode(), "appspec.yml": APPSPEC.encode()}
    files.update({f"scripts/{name}": text.encode() for name, text in SCRIPTS.items()})
    return files


def commit_pipeline_files(kit: Kit, repository_name: str, branch: str = BRANCH) -> str | None:
    """Commit what pipeline_files() holds to the branch where it differs; the new commit's
    id, or None when the branch already had all of it."""
    codecommit = kit.client("codecommit")
    tip = codecommit.get_branch(repositoryName=repository_name, branchName=branch)["branch"][
        "commitId"
    ]
    changed = []
    for path, data in pipeline_files().items():
        try:
            current = codecommit.get_file(
                repositoryName=repository_name, commitSpecifier=tip, filePath=path
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "FileDoesNotExistException":
                raise
            current = None
        executable = path.endswith(".sh")
        wanted_mode = "EXECUTABLE" if executable else "NORMAL"
        if (
            current is None
            or current["fileContent"] != data
            or current.get("fileMode") != wanted_mode
        ):
            changed.append({"filePath": path, "fileContent": data, "fileMode": wanted_mode})
    if not changed:
        return None
    reply = codecommit.create_commit(
        repositoryName=repository_name,
        branchName=branch,
        parentCommitId=tip,
        authorName="Lab Kit",
        email="lab-kit@example.com",
        commitMessage="Add the pipeline's buildspec, AppSpec file and hook scripts",
        putFiles=changed,
    )
    return reply["commitId"]


# -- lab 01 ----------------------------------------------------------------------------


def ensure_greeting_repository(kit: Kit) -> dict:
    """Lab 01's repository '<prefix>-greeting' with the greeting service on main.

    {"repository_name", "repository_arn", "clone_url", "branch"}
    """
    meta = cc.ensure_sample_repository(kit)
    return {
        "repository_name": meta["repositoryName"],
        "repository_arn": meta["Arn"],
        "clone_url": meta["cloneUrlHttp"],
        "branch": BRANCH,
    }


# -- lab 02 ----------------------------------------------------------------------------


def pipeline_project_name(kit: Kit) -> str:
    return kit.name(PIPELINE_PROJECT_SUFFIX)


def ensure_pipeline_project(kit: Kit, role_arn: str, name: str | None = None) -> str:
    """A build project for a pipeline to run (source and artifacts of type CODEPIPELINE:
    the pipeline hands it the source and takes its output); made if missing; its name."""
    codebuild = kit.client("codebuild")
    name = name or pipeline_project_name(kit)
    if codebuild.batch_get_projects(names=[name]).get("projects"):
        return name
    cb.create_project(
        codebuild,
        name=name,
        description="Builds and tests the greeting service for its pipeline (lab kit)",
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": BUILD_IMAGE,
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role_arn,
        timeoutInMinutes=15,
        logsConfig={"cloudWatchLogs": {"status": "ENABLED"}},
        tags=kit.tag_list("key", "value"),
    )
    print(f"Created build project {name}")
    return name


def ensure_build_project(kit: Kit, repository_name: str | None = None) -> dict:
    """Lab 02's build role and artifact bucket, the pipeline's files committed to the
    repository (a buildspec whose artifact holds the application, appspec.yml and
    scripts/), and a build project for the pipeline.

    {"build_role_arn", "artifact_bucket", "project_name", "commit_id"}: commit_id is the
    commit that added the files, None when main had them already.
    """
    repository_name = repository_name or ensure_greeting_repository(kit)["repository_name"]
    role_arn = cb.ensure_build_role(kit)
    bucket = cb.ensure_artifact_bucket(kit)
    commit_id = commit_pipeline_files(kit, repository_name)
    project = ensure_pipeline_project(kit, role_arn)
    return {
        "build_role_arn": role_arn,
        "artifact_bucket": bucket,
        "project_name": project,
        "commit_id": commit_id,
    }


# -- lab 03 ----------------------------------------------------------------------------


def fleet_tag(kit: Kit) -> dict[str, str]:
    """The tag lab 03's instances carry and its deployment group selects."""
    return {cd.FLEET_TAG_KEY: kit.name("web")}


def artifact_read_policy(bucket: str) -> dict:
    """Lets the instances' CodeDeploy agent download revisions from the artifact bucket,
    where a pipeline keeps what it deploys."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


def ensure_deployment_fleet(kit: Kit, artifact_bucket: str | None = None) -> dict:
    """Lab 03's revisions bucket, roles, three-instance fleet, application '<prefix>-greeting'
    and deployment group '<prefix>-web' (OneAtATime, rollback on failure).

    artifact_bucket (default: lab 02's) is where a pipeline keeps the revisions it deploys;
    the instances' role may read it too. Returns {"application_name",
    "deployment_group_name", "service_role_arn", "instance_profile", "instance_ids",
    "deploy_bucket"}.
    """
    codedeploy = kit.client("codedeploy")
    iam = kit.client("iam")
    artifact_bucket = artifact_bucket or cb.artifact_bucket_name(kit)
    deploy_bucket = cd.ensure_deploy_bucket(kit)
    service_role_arn = cd.ensure_service_role(kit)
    profile = cd.ensure_instance_profile(kit, deploy_bucket)
    iam.put_role_policy(
        RoleName=profile,
        PolicyName="read-pipeline-artifacts",
        PolicyDocument=json.dumps(artifact_read_policy(artifact_bucket)),
    )
    tag = fleet_tag(kit)
    instance_ids = cd.launch_fleet(
        kit,
        FLEET_SIZE,
        tag,
        profile,
        cd.agent_user_data(kit, deploy_bucket),
        instance_type="t3.micro",
    )
    cd.wait_for_fleet(kit, instance_ids, deploy_bucket)

    application = kit.name("greeting")
    group = kit.name("web")
    try:
        codedeploy.create_application(
            applicationName=application, computePlatform="Server", tags=kit.tag_list()
        )
        print(f"Created CodeDeploy application {application}")
    except codedeploy.exceptions.ApplicationAlreadyExistsException:
        pass
    try:
        codedeploy.create_deployment_group(
            applicationName=application,
            deploymentGroupName=group,
            serviceRoleArn=service_role_arn,
            ec2TagFilters=[
                {"Key": key, "Value": value, "Type": "KEY_AND_VALUE"} for key, value in tag.items()
            ],
            deploymentConfigName="CodeDeployDefault.OneAtATime",
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
            tags=kit.tag_list(),
        )
        print(f"Created deployment group {group}")
    except codedeploy.exceptions.DeploymentGroupAlreadyExistsException:
        pass
    return {
        "application_name": application,
        "deployment_group_name": group,
        "service_role_arn": service_role_arn,
        "instance_profile": profile,
        "instance_ids": instance_ids,
        "deploy_bucket": deploy_bucket,
    }


# -- lab 04: the pipeline's roles --------------------------------------------------------

PIPELINE_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

EVENTS_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def pipeline_role_policy(kit: Kit, bucket: str) -> dict:
    """What the pipeline's actions need (the CodePipeline user guide's service role
    policy, scoped to this learner's resources): the artifact bucket, the CodeCommit
    source, starting and reading CodeBuild builds, creating CodeDeploy deployments."""
    where = f"{kit.region}:{kit.account_id}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ArtifactStore",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                    "s3:GetBucketVersioning",
                    "s3:GetBucketAcl",
                    "s3:GetBucketLocation",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Sid": "CodeCommitSource",
                "Effect": "Allow",
                "Action": [
                    "codecommit:GetBranch",
                    "codecommit:GetCommit",
                    "codecommit:GetRepository",
                    "codecommit:UploadArchive",
                    "codecommit:GetUploadArchiveStatus",
                    "codecommit:CancelUploadArchive",
                ],
                "Resource": f"arn:aws:codecommit:{where}:{kit.prefix}-*",
            },
            {
                "Sid": "CodeBuildActions",
                "Effect": "Allow",
                "Action": [
                    "codebuild:StartBuild",
                    "codebuild:BatchGetBuilds",
                    "codebuild:StartBuildBatch",
                    "codebuild:BatchGetBuildBatches",
                ],
                "Resource": f"arn:aws:codebuild:{where}:project/{kit.prefix}-*",
            },
            {
                "Sid": "CodeDeployActions",
                "Effect": "Allow",
                "Action": [
                    "codedeploy:CreateDeployment",
                    "codedeploy:GetApplication",
                    "codedeploy:GetApplicationRevision",
                    "codedeploy:GetDeployment",
                    "codedeploy:GetDeploymentConfig",
                    "codedeploy:RegisterApplicationRevision",
                ],
                "Resource": [
                    f"arn:aws:codedeploy:{where}:application:{kit.prefix}-*",
                    f"arn:aws:codedeploy:{where}:deploymentgroup:{kit.prefix}-*",
                    f"arn:aws:codedeploy:{where}:deploymentconfig:*",
                ],
            },
        ],
    }


def ensure_pipeline_role(kit: Kit, bucket: str | None = None) -> str:
    """CodePipeline's service role '<prefix>-codepipeline-service'; its ARN."""
    bucket = bucket or cb.artifact_bucket_name(kit)
    arn, _ = ensure_role(
        kit,
        kit.name(PIPELINE_ROLE_SUFFIX),
        PIPELINE_TRUST_POLICY,
        "CodePipeline service role (CodePipeline lab kit)",
        (PIPELINE_ROLE_POLICY, pipeline_role_policy(kit, bucket)),
    )
    return arn


def events_role_policy(kit: Kit) -> dict:
    """What EventBridge needs to start the learner's pipelines."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "codepipeline:StartPipelineExecution",
                "Resource": f"arn:aws:codepipeline:{kit.region}:{kit.account_id}:{kit.prefix}-*",
            }
        ],
    }


def ensure_events_role(kit: Kit) -> str:
    """The role EventBridge assumes to start a pipeline on a push,
    '<prefix>-pipeline-events'; its ARN."""
    arn, _ = ensure_role(
        kit,
        kit.name(EVENTS_ROLE_SUFFIX),
        EVENTS_TRUST_POLICY,
        "Lets EventBridge start the learner's pipelines (CodePipeline lab kit)",
        (EVENTS_ROLE_POLICY, events_role_policy(kit)),
    )
    return arn


def push_event_pattern(repository_arn: str, branch: str = BRANCH) -> dict:
    """The EventBridge pattern of a push to a CodeCommit branch (the CodePipeline user
    guide's rule for a CodeCommit source)."""
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository_arn],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [branch],
        },
    }


def start_fresh(kit: Kit, pipeline_name: str, rule_name: str | None = None) -> None:
    """Delete the pipeline (and EventBridge rule) an earlier run of the lab left, if it is
    this learner's."""
    codepipeline = kit.client("codepipeline")
    try:
        arn = codepipeline.get_pipeline(name=pipeline_name)["metadata"]["pipelineArn"]
    except codepipeline.exceptions.PipelineNotFoundException:
        arn = None
    if arn is not None:
        tags = {
            t["key"]: t["value"]
            for t in codepipeline.list_tags_for_resource(resourceArn=arn).get("tags", [])
        }
        settings.require_owner(pipeline_name, tags, kit.prefix)
        codepipeline.delete_pipeline(name=pipeline_name)
        print(f"Deleted the pipeline {pipeline_name} left by an earlier run.")
    if rule_name:
        delete_rule(kit, rule_name)


def delete_rule(kit: Kit, rule_name: str) -> bool:
    """Delete an EventBridge rule of this learner's (its targets first); False if missing."""
    events = kit.client("events")
    try:
        rule = events.describe_rule(Name=rule_name)
    except events.exceptions.ResourceNotFoundException:
        return False
    tags = {
        t["Key"]: t["Value"]
        for t in events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
    }
    settings.require_owner(f"The rule {rule_name}", tags, kit.prefix)
    targets = events.list_targets_by_rule(Rule=rule_name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=rule_name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=rule_name)
    print(f"Deleted the EventBridge rule {rule_name}.")
    return True


def buildspec_artifacts() -> list[str]:
    """The files the pipeline's buildspec keeps (for the lab to show)."""
    return yaml.safe_load(BUILDSPEC)["artifacts"]["files"]
