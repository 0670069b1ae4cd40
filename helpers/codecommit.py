"""Lab-level CodeCommit helpers: the sample application, git with the right settings, cleanup.

Everything here uses boto3 and the git CLI only, so it works offline and on a real account.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import settings

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

SAMPLE_APP = Path(__file__).resolve().parent / "sample_app"
# The AWS CLI's credential helper answers git's `get` with --ignore-host-check (the offline
# setting, offline_credentials.git_config), but its `store` and `erase`, which git calls
# after a clone or push has succeeded, reject the option; git ignores a failed store. The
# complaint would only puzzle the learner, so git() leaves that one line out.
HELPER_NOISE = "Unknown options: --ignore-host-check"


def sample_app_files() -> dict[str, bytes]:
    """The greeting service's files, by repository path (what lab 01 commits)."""
    files = {}
    for path in sorted(SAMPLE_APP.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(SAMPLE_APP).as_posix()] = path.read_bytes()
    return files


def start_fresh(kit: Kit, repository_name: str) -> None:
    """Delete the lab's repository if an earlier run left it (only if it is this learner's)."""
    codecommit = kit.client("codecommit")
    try:
        meta = codecommit.get_repository(repositoryName=repository_name)["repositoryMetadata"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "RepositoryDoesNotExistException":
            return
        raise
    tags = codecommit.list_tags_for_resource(resourceArn=meta["Arn"])["tags"]
    settings.require_owner(repository_name, tags, kit.prefix)
    codecommit.delete_repository(repositoryName=repository_name)
    print(f"Deleted {repository_name} left by an earlier run.")


def ensure_sample_repository(kit: Kit, repository_name: str | None = None) -> dict:
    """The lab 01 repository with the sample application on main, made if missing.

    Later labs call this so each one runs on its own, whatever ran before it.
    """
    codecommit = kit.client("codecommit")
    name = repository_name or kit.name("greeting")
    try:
        return codecommit.get_repository(repositoryName=name)["repositoryMetadata"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryDoesNotExistException":
            raise
    codecommit.create_repository(
        repositoryName=name, tags=kit.tags(), repositoryDescription="The greeting service (lab kit)"
    )
    codecommit.create_commit(
        repositoryName=name,
        branchName="main",
        authorName="Lab Kit",
        email="lab-kit@example.com",
        commitMessage="Add the greeting service",
        putFiles=[
            {"filePath": path, "fileContent": data} for path, data in sample_app_files().items()
        ],
    )
    return codecommit.get_repository(repositoryName=name)["repositoryMetadata"]


def workdir(kit: Kit, name: str) -> Path:
    """A fresh working folder for git clones, in this kernel's own work folder (a lab and
    its solution running at the same time do not share it)."""
    path = settings.work_dir(kit.prefix) / name
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def git(kit: Kit, *args: str, cwd: str | Path | None = None, show: bool = True) -> str:
    """Run git as the lab does, print the command and its output, return stdout.

    git reaches CodeCommit over HTTP(S) through the AWS CLI's credential helper, as the
    CodeCommit user guide sets it up: offline, lab.setup() configured it in the
    environment for the local server's URLs (offline_credentials.git_config); on a real
    account it is given here.
    """
    config = [
        "-c",
        "user.name=Lab Learner",
        "-c",
        "user.email=learner@example.com",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "advice.detachedHead=false",
    ]
    if not kit.offline:
        config += [
            "-c",
            "credential.helper=",
            "-c",
            "credential.helper=!aws codecommit credential-helper $@",
            "-c",
            "credential.UseHttpPath=true",
        ]
    command = ["git", *config, *args]
    if show:
        print("$ git " + " ".join(shlex.quote(a) for a in args))
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    output = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if line != HELPER_NOISE
    ).strip()
    if show and output:
        print(output)
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed (exit {result.returncode}): {output}")
    return result.stdout


# -- lab 07: pull requests and code review ----------------------------------------------


def delete_approval_rule_template(kit: Kit, name: str) -> bool:
    """Delete an approval rule template an earlier run of lab 07 made (after taking it off
    every repository); False when there is none. Templates take no tags: only a name that
    starts with the learner's prefix is touched."""
    if not name.startswith(f"{kit.prefix}-"):
        raise ValueError(f"{name} is not one of {kit.prefix}'s templates")
    codecommit = kit.client("codecommit")
    try:
        repositories = codecommit.list_repositories_for_approval_rule_template(
            approvalRuleTemplateName=name
        ).get("repositoryNames", [])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ApprovalRuleTemplateDoesNotExistException":
            return False
        raise
    for repository in repositories:
        codecommit.disassociate_approval_rule_template_from_repository(
            approvalRuleTemplateName=name, repositoryName=repository
        )
    codecommit.delete_approval_rule_template(approvalRuleTemplateName=name)
    print(f"Deleted the approval rule template {name} left by an earlier run.")
    return True


def received_events(
    sqs: Any,
    queue_url: str,
    wanted: Callable[[dict], bool],
    count: int = 1,
    timeout: float = 120,
) -> list[dict]:
    """The EventBridge events that arrive in an SQS queue (straight from a rule, or through
    an SNS topic: the event is then the notification's Message) for which wanted(event) is
    true, in order of arrival, once `count` of them have come; each message is deleted once
    read. TimeoutError when fewer come within timeout seconds."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(found) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{len(found)} of {count} events arrived in {timeout:.0f} s")
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=int(min(left, 5)) or 1
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if isinstance(event, dict) and event.get("Type") == "Notification":
                event = json.loads(event["Message"])  # delivered through SNS
            if isinstance(event, dict) and wanted(event):
                found.append(event)
    return found


def wait_for_build_of_commit(
    codebuild: Any, project: str, commit_id: str, timeout: float = 120
) -> dict:
    """The build of `project` whose source version is `commit_id` (started by someone else,
    such as an EventBridge rule), once it has ended. TimeoutError if none ends in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = codebuild.list_builds_for_project(projectName=project).get("ids", [])
        builds = codebuild.batch_get_builds(ids=ids[:20]).get("builds", []) if ids else []
        for build in builds:
            if commit_id in (build.get("sourceVersion"), build.get("resolvedSourceVersion")):
                if build["buildStatus"] != "IN_PROGRESS":
                    return build
        time.sleep(1)
    raise TimeoutError(f"no build of {project} on {commit_id[:8]} ended in {timeout:.0f} s")
