"""Instructor tools: which labs each learner has completed, and what each still has running.

    python -m helpers.classroom status            # a table per learner prefix
    python -m helpers.classroom status --json

Learners are found by the kit's tags (lab:owner); a lab counts as complete when the
resources it leaves behind (or its solution notebook's, named '<prefix>-sol-...') are in
the state its own check cells ask for. Works against
the local server at AWS_ENDPOINT_URL, or a real account with LAB_MODE=aws.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable

from botocore.exceptions import ClientError

from . import created, lab
from . import teardown as td
from .aws import ClientFor


def _missing(error: ClientError) -> bool:
    return (
        error.response.get("Error", {})
        .get("Code", "")
        .endswith(("DoesNotExistException", "NotFoundException", "ResourceNotFoundException"))
    )


def lab01_complete(client: ClientFor, prefix: str) -> bool:
    """The greeting repository has the docs branch (exercise 1) and the pushed 1.1 release."""
    codecommit = client("codecommit")
    repo = f"{prefix}-greeting"
    try:
        codecommit.get_file(repositoryName=repo, commitSpecifier="docs", filePath="docs/USAGE.md")
        init = codecommit.get_file(repositoryName=repo, filePath="greeting/__init__.py")
    except ClientError as error:
        if _missing(error):
            return False
        raise
    return b'VERSION = "1.' in init["fileContent"] and b'"1.0"' not in init["fileContent"]


def _succeeded_builds(client: ClientFor, project: str) -> list[dict]:
    codebuild = client("codebuild")
    try:
        ids = codebuild.list_builds_for_project(projectName=project).get("ids", [])
    except ClientError as error:
        if _missing(error):
            return []
        raise
    builds = codebuild.batch_get_builds(ids=ids[:100]).get("builds", []) if ids else []
    return [b for b in builds if b["buildStatus"] == "SUCCEEDED"]


def lab02_complete(client: ClientFor, prefix: str) -> bool:
    """The lab's build project has a build that succeeded."""
    return bool(_succeeded_builds(client, f"{prefix}-greeting-build"))


def lab03_complete(client: ClientFor, prefix: str) -> bool:
    """The greeting application's web group has a deployment that succeeded."""
    codedeploy = client("codedeploy")
    try:
        done = codedeploy.list_deployments(
            applicationName=f"{prefix}-greeting",
            deploymentGroupName=f"{prefix}-web",
            includeOnlyStatuses=["Succeeded"],
        )
    except ClientError as error:
        if _missing(error) or "DoesNotExist" in str(error):
            return False
        raise
    return bool(done.get("deployments"))


def lab04_complete(client: ClientFor, prefix: str) -> bool:
    """The pipeline ran to Succeeded: its latest executions if it still exists, else the
    builds the pipeline started (their initiator is codepipeline/<pipeline>)."""
    pipeline = f"{prefix}-greeting-pipeline"
    try:
        summaries = (
            client("codepipeline")
            .list_pipeline_executions(pipelineName=pipeline)
            .get("pipelineExecutionSummaries", [])
        )
        if any(s["status"] == "Succeeded" for s in summaries):
            return True
    except ClientError as error:
        if not _missing(error):
            raise
    return any(
        b.get("initiator") == f"codepipeline/{pipeline}"
        for b in _succeeded_builds(client, f"{prefix}-pipeline-build")
    )


def lab07_complete(client: ClientFor, prefix: str) -> bool:
    """A pull request of the greeting repository was merged under the review rule: it
    carries the approval rule of the template '<prefix>-pr-review' (a merge needs the rule
    satisfied, or overridden)."""
    codecommit = client("codecommit")
    template = f"{prefix}-pr-review"
    try:
        pages = codecommit.get_paginator("list_pull_requests").paginate(
            repositoryName=f"{prefix}-greeting", pullRequestStatus="CLOSED"
        )
        for page in pages:
            for pull_request_id in page.get("pullRequestIds", []):
                pull_request = codecommit.get_pull_request(pullRequestId=pull_request_id)[
                    "pullRequest"
                ]
                merged = any(
                    t.get("mergeMetadata", {}).get("isMerged")
                    for t in pull_request.get("pullRequestTargets", [])
                )
                reviewed = any(
                    rule.get("originApprovalRuleTemplate", {}).get("approvalRuleTemplateName")
                    == template
                    for rule in pull_request.get("approvalRules", [])
                )
                if merged and reviewed:
                    return True
    except ClientError as error:
        if _missing(error):
            return False
        raise
    return False


def lab08_complete(client: ClientFor, prefix: str) -> bool:
    """The canary shipped: the Lambda application '<prefix>-hello-app' has a deployment of
    its group 'live' that succeeded and is not a rollback (the lab keeps the application)."""
    codedeploy = client("codedeploy")
    application = f"{prefix}-hello-app"
    try:
        ids = codedeploy.list_deployments(
            applicationName=application,
            deploymentGroupName="live",
            includeOnlyStatuses=["Succeeded"],
        ).get("deployments", [])
        infos = (
            codedeploy.batch_get_deployments(deploymentIds=ids[:25]).get("deploymentsInfo", [])
            if ids
            else []
        )
    except ClientError as error:
        if _missing(error) or "DoesNotExist" in str(error):
            return False
        raise
    return any(info.get("creator") != "codeDeployRollback" for info in infos)


LAB_CHECKS: dict[str, Callable[[ClientFor, str], bool]] = {
    "01_codecommit": lab01_complete,
    "02_codebuild": lab02_complete,
    "03_codedeploy": lab03_complete,
    "04_codepipeline": lab04_complete,
    "07_codecommit_pull_requests": lab07_complete,
    "08_codepipeline_modern": lab08_complete,
}


def status(client_for: Callable[[str, str], object], regions: list[str]) -> dict[str, dict]:
    """Per learner prefix: {"complete": [labs], "running": {type: count}, "resources": n}."""
    scope = td.Scope(prefix="", all_learners=True, recorded=created.recorded())
    resources, _ = td.find_all(client_for, regions, scope)
    by_owner: dict[str, list[td.Resource]] = {}
    for resource in resources:
        if resource.owner:
            by_owner.setdefault(resource.owner, []).append(resource)
    report = {}
    region = regions[0]
    for owner, owned in sorted(by_owner.items()):
        complete = []
        for lab_name, check in LAB_CHECKS.items():
            # The learner's lab, or its solution run (whose names start <prefix>-sol).
            for names_prefix in (owner, lab.solution_names_prefix(owner)):
                try:
                    if check(lambda service: client_for(service, region), names_prefix):
                        complete.append(lab_name)
                        break
                except ClientError:
                    pass  # an unreadable check is not a completed lab
        running = Counter(f"{r.service} {r.kind.split(' (')[0]}" for r in owned)
        report[owner] = {
            "complete": complete,
            "running": dict(sorted(running.items())),
            "resources": len(owned),
        }
    return report


def _client_factory() -> tuple[Callable[[str, str], object], list[str]]:
    import boto3

    region = os.environ.get("LAB_REGION") or lab.DEFAULT_REGION
    if lab.current_mode() == lab.OFFLINE:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise SystemExit(
                "Offline, point AWS_ENDPOINT_URL at the class's local server "
                "(python -m helpers.emulator)."
            )
        try:
            session = lab.offline_session(endpoint, region)
        except lab.LabSetupError as error:
            raise SystemExit(str(error)) from None
        return (lambda service, r: session.client(service, region_name=r, endpoint_url=endpoint)), [
            region
        ]
    session = boto3.Session(region_name=os.environ.get("LAB_REGION") or None)
    return (lambda service, r: session.client(service, region_name=r)), [
        session.region_name or region
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.classroom", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("status", help="labs complete and resources per learner")
    show.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    client_for, regions = _client_factory()
    report = status(td.cached_clients(client_for), regions)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if not report:
        print("No learner has resources of the kit here.")
        return 0
    labs = list(LAB_CHECKS)
    print(f"{'learner':<14}" + "".join(f"{name[:2]:>4}" for name in labs) + "   still running")
    for owner, row in report.items():
        marks = "".join(f"{'✔' if name in row['complete'] else '·':>4}" for name in labs)
        running = ", ".join(f"{count} {kind}" for kind, count in row["running"].items())
        print(f"{owner:<14}{marks}   {running}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
