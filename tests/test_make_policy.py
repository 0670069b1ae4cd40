"""tools/make_policy.py's policy from a set of recorded actions (the course test checks
docs/learner-policy.json against a whole course's calls; this checks the shaping, fast)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.make_policy import ME, policy_for

ROOT = Path(__file__).resolve().parent.parent


def statements_for(actions: set[str]) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy_for(actions)["Statement"]}


def test_statement_ids_are_letters_and_digits_only():
    actions = {"codestar-notifications:ListNotificationRules", "sns:ListTopics", "sqs:ListQueues"}
    for statement in policy_for(actions)["Statement"]:
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"]), statement["Sid"]
    committed = json.loads((ROOT / "docs" / "learner-policy.json").read_text())
    assert all(re.fullmatch(r"[A-Za-z0-9]+", s["Sid"]) for s in committed["Statement"])


def test_pull_request_lab_kinds_are_the_learners_own():
    found = statements_for(
        {
            "codecommit:CreatePullRequest",
            "codecommit:CreateApprovalRuleTemplate",
            "sns:CreateTopic",
            "sns:ListTopics",
            "sqs:CreateQueue",
            "sqs:ListQueues",
            "sts:AssumeRole",
            "events:PutRule",
        }
    )
    assert found["CodecommitOnlyMine"]["Action"] == ["codecommit:CreatePullRequest"]
    assert found["CodecommitOnlyMine"]["Resource"] == [f"arn:aws:codecommit:*:*:{ME}-*"]
    # Templates have no resource of their own in IAM: account-wide, with what teardown
    # calls to remove one.
    assert set(found["CodecommitRead"]["Action"]) == {
        "codecommit:CreateApprovalRuleTemplate",
        "codecommit:GetApprovalRuleTemplate",
        "codecommit:ListRepositoriesForApprovalRuleTemplate",
        "codecommit:DisassociateApprovalRuleTemplateFromRepository",
        "codecommit:DeleteApprovalRuleTemplate",
    }
    assert found["SnsOnlyMine"]["Resource"] == [f"arn:aws:sns:*:*:{ME}-*"]
    assert {"sns:TagResource", "sns:ListTagsForResource", "sns:DeleteTopic"} <= set(
        found["SnsOnlyMine"]["Action"]
    )
    assert found["SnsRead"]["Action"] == ["sns:ListTopics"]
    assert found["SqsOnlyMine"]["Resource"] == [f"arn:aws:sqs:*:*:{ME}-*"]
    assert {"sqs:TagQueue", "sqs:ListQueueTags", "sqs:DeleteQueue"} <= set(
        found["SqsOnlyMine"]["Action"]
    )
    assert found["StsOnlyMine"] == {
        "Sid": "StsOnlyMine",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": [f"arn:aws:iam::*:role/{ME}-*"],
    }
    assert "events:TagResource" in found["EventsOnlyMine"]["Action"]


def test_notification_rules_are_limited_by_their_owner_tag():
    found = statements_for(
        {
            "codestar-notifications:CreateNotificationRule",
            "codestar-notifications:ListNotificationRules",
        }
    )
    create = found["CodestarNotificationsCreateTaggedAsMine"]
    assert create["Action"] == ["codestar-notifications:CreateNotificationRule"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/lab:owner": ME}}
    change = found["CodestarNotificationsOnlyMine"]
    assert set(change["Action"]) == {
        "codestar-notifications:DescribeNotificationRule",
        "codestar-notifications:DeleteNotificationRule",
    }
    assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/lab:owner": ME}}
    assert found["CodestarNotificationsRead"]["Action"] == [
        "codestar-notifications:ListNotificationRules"
    ]


def test_connections_are_limited_by_their_owner_tag_under_either_name():
    for prefix, sid_ in (
        ("codeconnections", "Codeconnections"),
        ("codestar-connections", "CodestarConnections"),
    ):
        found = statements_for({f"{prefix}:CreateConnection", f"{prefix}:ListConnections"})
        create = found[f"{sid_}CreateTaggedAsMine"]
        assert set(create["Action"]) == {f"{prefix}:CreateConnection", f"{prefix}:TagResource"}
        assert create["Condition"] == {"StringEquals": {"aws:RequestTag/lab:owner": ME}}
        change = found[f"{sid_}OnlyMine"]
        # What teardown calls, and passing the connection to the learner's pipeline.
        assert set(change["Action"]) == {
            f"{prefix}:ListTagsForResource",
            f"{prefix}:PassConnection",
            f"{prefix}:DeleteConnection",
        }
        assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/lab:owner": ME}}
        assert found[f"{sid_}Read"]["Action"] == [f"{prefix}:ListConnections"]


def test_stacks_functions_and_alarms_are_the_learners_own_by_name():
    found = statements_for(
        {
            "cloudformation:CreateStack",
            "cloudformation:ListStacks",
            "lambda:CreateFunction",
            "lambda:ListFunctions",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DescribeAlarms",
        }
    )
    stacks = found["CloudformationOnlyMine"]
    assert stacks["Resource"] == [
        f"arn:aws:cloudformation:*:*:stack/{ME}-*/*",
        f"arn:aws:cloudformation:*:*:changeSet/{ME}-*/*",
    ]
    assert {
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DeleteStack",
    } <= set(stacks["Action"])
    assert found["CloudformationRead"]["Action"] == ["cloudformation:ListStacks"]
    functions = found["LambdaOnlyMine"]
    assert functions["Resource"] == [
        f"arn:aws:lambda:*:*:function:{ME}-*",
        f"arn:aws:lambda:*:*:function:{ME}-*:*",
    ]
    assert {"lambda:TagResource", "lambda:ListTags", "lambda:DeleteFunction"} <= set(
        functions["Action"]
    )
    assert found["LambdaRead"]["Action"] == ["lambda:ListFunctions"]
    assert "iam:PassRole" in found["IamOnlyMine"]["Action"]
    alarms = found["CloudwatchOnlyMine"]
    assert alarms["Resource"] == [f"arn:aws:cloudwatch:*:*:alarm:{ME}-*"]
    assert {
        "cloudwatch:TagResource",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:DeleteAlarms",
    } <= set(alarms["Action"])
    assert found["CloudwatchRead"]["Action"] == ["cloudwatch:DescribeAlarms"]
    # The log groups Lambda makes for the learner's functions are the learner's too.
    from tools.make_policy import RESOURCES

    assert f"arn:aws:logs:*:*:log-group:/aws/lambda/{ME}-*" in RESOURCES["logs"]
