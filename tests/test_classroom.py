"""The classroom's completion checks that need more than one resource to read."""

from __future__ import annotations

import json

from helpers import classroom
from tests.test_codedeploy_lambda import SERVICE_ROLE, world  # noqa: F401, F811 (a fixture)

PREFIX = "labclass"
REPO = f"{PREFIX}-greeting"
RULE = {
    "Version": "2018-11-08",
    "Statements": [
        {
            "Type": "Approvers",
            "NumberOfApprovalsNeeded": 1,
            "ApprovalPoolMembers": [f"arn:aws:sts::123456789012:assumed-role/{PREFIX}-reviewer/*"],
        }
    ],
}


def open_pull_request(codecommit) -> dict:
    main = codecommit.create_commit(
        repositoryName=REPO,
        branchName="main",
        commitMessage="first",
        putFiles=[{"filePath": "a.txt", "fileContent": b"a\n"}],
    )["commitId"]
    codecommit.create_branch(repositoryName=REPO, branchName="feature", commitId=main)
    codecommit.create_commit(
        repositoryName=REPO,
        branchName="feature",
        parentCommitId=main,
        commitMessage="change",
        putFiles=[{"filePath": "a.txt", "fileContent": b"b\n"}],
    )
    return codecommit.create_pull_request(
        title="change",
        targets=[
            {"repositoryName": REPO, "sourceReference": "feature", "destinationReference": "main"}
        ],
    )["pullRequest"]


def merge(codecommit, pull_request: dict) -> None:
    codecommit.override_pull_request_approval_rules(
        pullRequestId=pull_request["pullRequestId"],
        revisionId=pull_request["revisionId"],
        overrideStatus="OVERRIDE",
    )
    codecommit.merge_pull_request_by_fast_forward(
        pullRequestId=pull_request["pullRequestId"], repositoryName=REPO
    )


def test_lab07_is_complete_when_a_reviewed_pull_request_is_merged(client, synchronous):
    codecommit = client("codecommit")
    assert not classroom.lab07_complete(client, PREFIX)  # no repository yet
    codecommit.create_repository(repositoryName=REPO)
    codecommit.create_approval_rule_template(
        approvalRuleTemplateName=f"{PREFIX}-pr-review",
        approvalRuleTemplateContent=json.dumps(RULE),
    )
    codecommit.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=f"{PREFIX}-pr-review", repositoryName=REPO
    )
    pull_request = open_pull_request(codecommit)
    assert not classroom.lab07_complete(client, PREFIX)  # open, not merged
    merge(codecommit, pull_request)
    assert classroom.lab07_complete(client, PREFIX)


def test_lab07_is_not_complete_for_a_merge_without_the_review_rule(client, synchronous):
    codecommit = client("codecommit")
    codecommit.create_repository(repositoryName=REPO)
    pull_request = open_pull_request(codecommit)
    codecommit.merge_pull_request_by_fast_forward(
        pullRequestId=pull_request["pullRequestId"], repositoryName=REPO
    )
    assert not classroom.lab07_complete(client, PREFIX)


def test_lab08_is_complete_when_the_live_alias_was_shipped(world):  # noqa: F811
    prefix = f"lab8{world.suffix[:6]}"
    client = {"codedeploy": world.cd}.__getitem__
    assert not classroom.lab08_complete(client, prefix)  # no application yet
    world.application = f"{prefix}-hello-app"
    world.cd.create_application(applicationName=world.application, computePlatform="Lambda")
    world.cd.create_deployment_group(
        applicationName=world.application,
        deploymentGroupName="live",
        serviceRoleArn=SERVICE_ROLE,
        deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce",
    )
    assert not classroom.lab08_complete(client, prefix)  # nothing shipped
    assert world.wait(world.deploy("live"))["status"] == "Succeeded"
    assert classroom.lab08_complete(client, prefix)
