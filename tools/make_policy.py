"""Write docs/learner-policy.json: the IAM policy a learner needs in a shared account.

    python tools/make_policy.py     # runs the whole course offline, recording API calls

It runs every solution notebook against a recording local server (as
tests/test_course_flow.py does), and allows exactly the actions recorded, plus the
permissions AWS checks without an API call of their own (iam:PassRole). Resources are
limited to names that start with the learner's IAM user name (${aws:username}), which is
the learner's LAB_PREFIX, wherever the service supports resource-level permissions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "docs" / "learner-policy.json"
ME = "${aws:username}"

# Permissions AWS checks when one of these calls passes a role to a service or tags what
# it creates, and what teardown.py calls to remove what the call creates (a lab that
# removes it itself leaves teardown nothing to call them on in the recorded course).
IMPLIED = {
    "codebuild:CreateProject": ["iam:PassRole"],
    "codebuild:UpdateProject": ["iam:PassRole"],
    # Source credentials take no tags: teardown lists them and deletes the recorded ones.
    "codebuild:ImportSourceCredentials": [
        "codebuild:ListSourceCredentials",
        "codebuild:DeleteSourceCredentials",
    ],
    "codedeploy:CreateDeploymentGroup": ["iam:PassRole"],
    "codepipeline:CreatePipeline": ["iam:PassRole"],
    "codepipeline:UpdatePipeline": ["iam:PassRole"],
    "ec2:RunInstances": ["iam:PassRole", "ec2:CreateTags"],  # tags on launch need CreateTags
    "events:PutTargets": ["iam:PassRole"],
    # Tags given on create need the tagging permission too (each API reference says so).
    "events:PutRule": ["events:TagResource"],
    "sns:CreateTopic": ["sns:TagResource", "sns:ListTagsForResource", "sns:DeleteTopic"],
    "sqs:CreateQueue": [
        "sqs:TagQueue",
        "sqs:ListQueueTags",
        "sqs:GetQueueAttributes",
        "sqs:DeleteQueue",
    ],
    "codecommit:CreateApprovalRuleTemplate": [
        "codecommit:GetApprovalRuleTemplate",
        "codecommit:ListRepositoriesForApprovalRuleTemplate",
        "codecommit:DisassociateApprovalRuleTemplateFromRepository",
        "codecommit:DeleteApprovalRuleTemplate",
    ],
    "codestar-notifications:CreateNotificationRule": [
        "codestar-notifications:DescribeNotificationRule",
        "codestar-notifications:DeleteNotificationRule",
    ],
    # Issue 15's kinds. A connection is passed to the pipeline (or project) that uses it
    # (PassConnection, codebuild/doc_source/auth-and-access-control-iam-identity-based-
    # access-control.md); teardown reads its tags and deletes it.
    **{
        f"{prefix}:CreateConnection": [
            f"{prefix}:TagResource",
            f"{prefix}:ListTagsForResource",
            f"{prefix}:PassConnection",
            f"{prefix}:DeleteConnection",
        ]
        for prefix in ("codeconnections", "codestar-connections")
    },
    # A pipeline's CloudFormation action creates the stack as the pipeline's role; the
    # learner's teardown reads, deletes and waits for it (and explains a DELETE_FAILED).
    # What the stack made is deleted with the learner's permissions unless the stack has a
    # role of its own (RoleArn): the lab should give it one.
    "cloudformation:CreateStack": [
        "cloudformation:TagResource",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DeleteStack",
    ],
    "lambda:CreateFunction": [
        "iam:PassRole",
        "lambda:TagResource",
        "lambda:ListTags",
        "lambda:DeleteFunction",
    ],
    # "If you are using this operation to create an alarm with tags, you must have the
    # cloudwatch:TagResource permission" (the PutMetricAlarm API reference).
    "cloudwatch:PutMetricAlarm": [
        "cloudwatch:TagResource",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:DeleteAlarms",
    ],
    "cloudwatch:PutCompositeAlarm": [
        "cloudwatch:TagResource",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:DeleteAlarms",
    ],
}

# Resources each service's actions may touch: the learner's own, by name.
RESOURCES = {
    "codecommit": [f"arn:aws:codecommit:*:*:{ME}-*"],
    "codebuild": [
        f"arn:aws:codebuild:*:*:project/{ME}-*",
        f"arn:aws:codebuild:*:*:report-group/{ME}-*",
    ],
    "codedeploy": [
        f"arn:aws:codedeploy:*:*:application:{ME}-*",
        f"arn:aws:codedeploy:*:*:deploymentgroup:{ME}-*",
        "arn:aws:codedeploy:*:*:deploymentconfig:*",
        f"arn:aws:codedeploy:*:*:instance:{ME}-*",
    ],
    "codepipeline": [
        f"arn:aws:codepipeline:*:*:{ME}-*",
        f"arn:aws:codepipeline:*:*:{ME}-*/*",
        f"arn:aws:codepipeline:*:*:actiontype:Custom/*/{ME}-*/*",
        f"arn:aws:codepipeline:*:*:webhook:{ME}-*",
    ],
    "s3": [f"arn:aws:s3:::{ME}-*", f"arn:aws:s3:::{ME}-*/*", "arn:aws:s3:::aws-codedeploy-*/*"],
    "iam": [
        f"arn:aws:iam::*:role/{ME}-*",
        f"arn:aws:iam::*:instance-profile/{ME}-*",
        f"arn:aws:iam::*:policy/{ME}-*",
    ],
    "logs": [
        f"arn:aws:logs:*:*:log-group:/aws/codebuild/{ME}-*",
        f"arn:aws:logs:*:*:log-group:/aws/codebuild/{ME}-*:*",
        f"arn:aws:logs:*:*:log-group:/aws/lambda/{ME}-*",
        f"arn:aws:logs:*:*:log-group:/aws/lambda/{ME}-*:*",
    ],
    # A stack's ARN ends in its id; a change set is named by the pipeline's action.
    "cloudformation": [
        f"arn:aws:cloudformation:*:*:stack/{ME}-*/*",
        f"arn:aws:cloudformation:*:*:changeSet/{ME}-*/*",
    ],
    # A function's versions and aliases are ARNs of their own (function:name:qualifier).
    "lambda": [f"arn:aws:lambda:*:*:function:{ME}-*", f"arn:aws:lambda:*:*:function:{ME}-*:*"],
    "cloudwatch": [f"arn:aws:cloudwatch:*:*:alarm:{ME}-*"],
    "events": [f"arn:aws:events:*:*:rule/{ME}-*"],
    "sns": [f"arn:aws:sns:*:*:{ME}-*"],
    "sqs": [f"arn:aws:sqs:*:*:{ME}-*"],
    "sts": [f"arn:aws:iam::*:role/{ME}-*"],  # AssumeRole: the learner's own roles only
    "ssm": ["arn:aws:ssm:*::parameter/aws/service/*"],
}

# Actions that act on the account rather than on one named resource, so IAM cannot limit
# them by name: listing a type, the caller's identity, and job workers' calls (a job is
# not a named resource).
ACCOUNT_WIDE = {
    "sts:GetCallerIdentity",
    "iam:ListAccountAliases",
    "codecommit:ListRepositories",
    "codecommit:BatchGetRepositories",
    # A source credential's ARN (token/<server type>) names no learner: one per account.
    "codebuild:ImportSourceCredentials",
    "codebuild:ListSourceCredentials",
    "codebuild:DeleteSourceCredentials",
    # Approval rule templates are account-wide: IAM names no template or repository for
    # them (codecommit/doc_source/auth-and-access-control-permissions-reference.md#aa-art).
    "codecommit:CreateApprovalRuleTemplate",
    "codecommit:GetApprovalRuleTemplate",
    "codecommit:ListApprovalRuleTemplates",
    "codecommit:DeleteApprovalRuleTemplate",
    "codecommit:UpdateApprovalRuleTemplateContent",
    "codecommit:UpdateApprovalRuleTemplateDescription",
    "codecommit:UpdateApprovalRuleTemplateName",
    "codecommit:AssociateApprovalRuleTemplateWithRepository",
    "codecommit:BatchAssociateApprovalRuleTemplateWithRepositories",
    "codecommit:DisassociateApprovalRuleTemplateFromRepository",
    "codecommit:BatchDisassociateApprovalRuleTemplateFromRepositories",
    "codecommit:ListAssociatedApprovalRuleTemplatesForRepository",
    "codecommit:ListRepositoriesForApprovalRuleTemplate",
    "codebuild:ListProjects",
    "codebuild:ListReportGroups",
    "codebuild:ListBuilds",
    "codedeploy:ListApplications",
    "codedeploy:ListDeploymentConfigs",
    "codedeploy:ListOnPremisesInstances",
    "codedeploy:BatchGetOnPremisesInstances",
    "codepipeline:ListPipelines",
    "codepipeline:ListActionTypes",
    "codepipeline:ListWebhooks",
    "codepipeline:PollForJobs",
    "codepipeline:AcknowledgeJob",
    "codepipeline:GetJobDetails",
    "codepipeline:PutJobSuccessResult",
    "codepipeline:PutJobFailureResult",
    "codepipeline:PollForThirdPartyJobs",
    "codepipeline:AcknowledgeThirdPartyJob",
    "codepipeline:GetThirdPartyJobDetails",
    "codepipeline:PutThirdPartyJobSuccessResult",
    "codepipeline:PutThirdPartyJobFailureResult",
    "iam:ListRoles",
    "iam:ListInstanceProfiles",
    "iam:ListPolicies",
    "s3:ListAllMyBuckets",
    "logs:DescribeLogGroups",
    "events:ListRules",
    "sns:ListTopics",
    "sns:ListSubscriptions",
    "sqs:ListQueues",
    "codestar-notifications:ListNotificationRules",
    "codestar-notifications:ListEventTypes",
    "codestar-notifications:ListTargets",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstanceStatus",
    # Issue 15's kinds: what teardown lists before it reads each one's tags.
    "codeconnections:ListConnections",
    "codestar-connections:ListConnections",
    "cloudformation:ListStacks",
    "cloudformation:ValidateTemplate",
    "lambda:ListFunctions",
    "cloudwatch:DescribeAlarms",
}

# Calls made only on a real account (the recording is offline), with why.
AWS_MODE_ONLY = {
    "iam:ListAccountAliases": "teardown.py shows the account's alias before deleting",
}

EC2_OWNED = "ec2:ResourceTag/lab:owner"

# Services whose resources' ARNs carry no name of the learner's (a notification rule's is an
# id): their actions are limited by the lab:owner tag instead, given on create.
TAG_SCOPED = {
    "codestar-notifications": {"codestar-notifications:CreateNotificationRule"},
    # A connection's ARN ends in an id (connection/<uuid>), under either name of the service.
    # Tags given on create are authorized as TagResource too: by the request's tag.
    "codeconnections": {"codeconnections:CreateConnection", "codeconnections:TagResource"},
    "codestar-connections": {
        "codestar-connections:CreateConnection",
        "codestar-connections:TagResource",
    },
}


def sid(service: str, what: str) -> str:
    """A statement id: letters and digits only, as IAM wants them."""
    return "".join(part.title() for part in service.split("-")) + what


# Operations whose IAM action has another name (the service authorization reference).
IAM_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}
# Services whose endpoint prefix (what the recorder sees) is not their IAM prefix.
IAM_SERVICE_PREFIXES = {"monitoring": "cloudwatch"}


def iam_action(recorded: str) -> str:
    """The IAM action of a recorded call: lambda:Invoke is lambda:InvokeFunction,
    monitoring:DescribeAlarms is cloudwatch:DescribeAlarms."""
    recorded = IAM_ACTION_NAMES.get(recorded, recorded)
    service, _, name = recorded.partition(":")
    return f"{IAM_SERVICE_PREFIXES.get(service, service)}:{name}"


def policy_for(actions: set[str]) -> dict:
    actions = {iam_action(action) for action in actions}
    allowed = set(actions) | set(AWS_MODE_ONLY)
    for action in actions:
        allowed.update(IMPLIED.get(action, []))
    statements = []
    by_service: dict[str, list[str]] = {}
    for action in sorted(allowed):
        by_service.setdefault(action.split(":")[0], []).append(action)
    for service, service_actions in sorted(by_service.items()):
        unscoped = [a for a in service_actions if a in ACCOUNT_WIDE]
        scoped = [a for a in service_actions if a not in unscoped]
        if service == "ec2":
            # EC2 names nothing by name: the learner may only touch instances tagged theirs.
            create = [a for a in scoped if a in ("ec2:RunInstances", "ec2:CreateTags")]
            change = [a for a in scoped if a not in create]
            if "ec2:RunInstances" in create:
                # New instances and volumes must be tagged as the learner's; the image,
                # subnet, security group and network interface they use need no tag.
                statements.append(
                    {
                        "Sid": "Ec2LaunchTaggedAsMine",
                        "Effect": "Allow",
                        "Action": ["ec2:RunInstances"],
                        "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"],
                        "Condition": {"StringEquals": {"aws:RequestTag/lab:owner": ME}},
                    }
                )
                statements.append(
                    {
                        "Sid": "Ec2LaunchUses",
                        "Effect": "Allow",
                        "Action": ["ec2:RunInstances"],
                        "Resource": [
                            "arn:aws:ec2:*::image/*",
                            "arn:aws:ec2:*:*:subnet/*",
                            "arn:aws:ec2:*:*:network-interface/*",
                            "arn:aws:ec2:*:*:security-group/*",
                        ],
                    }
                )
            if "ec2:CreateTags" in create:
                statements.append(
                    {
                        "Sid": "Ec2TagOnLaunchOnly",
                        "Effect": "Allow",
                        "Action": ["ec2:CreateTags"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
                    }
                )
            if change:
                statements.append(
                    {
                        "Sid": "Ec2OnlyMine",
                        "Effect": "Allow",
                        "Action": change,
                        "Resource": "*",
                        "Condition": {"StringEquals": {EC2_OWNED: ME}},
                    }
                )
        elif scoped and service in TAG_SCOPED:
            create = [a for a in scoped if a in TAG_SCOPED[service]]
            change = [a for a in scoped if a not in create]
            for actions_, what, key in (
                (create, "CreateTaggedAsMine", "aws:RequestTag/lab:owner"),
                (change, "OnlyMine", "aws:ResourceTag/lab:owner"),
            ):
                if actions_:
                    statements.append(
                        {
                            "Sid": sid(service, what),
                            "Effect": "Allow",
                            "Action": actions_,
                            "Resource": "*",
                            "Condition": {"StringEquals": {key: ME}},
                        }
                    )
        elif scoped:
            statements.append(
                {
                    "Sid": sid(service, "OnlyMine"),
                    "Effect": "Allow",
                    "Action": scoped,
                    "Resource": RESOURCES.get(service, ["*"]),
                }
            )
        if unscoped:
            statements.append(
                {
                    "Sid": sid(service, "Read"),
                    "Effect": "Allow",
                    "Action": unscoped,
                    "Resource": "*",
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}


def recorded_actions() -> set[str]:
    sys.path.insert(0, str(ROOT))
    import os
    import tempfile

    os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="policy-"))
    os.environ.setdefault("LAB_CODEDEPLOY_TIME_SCALE", "0.01")  # lab 08's canary, in seconds
    from helpers.emulator.recorder import CallRecorder
    from helpers.emulator.server import LocalServer
    from tests.test_course_flow import take_the_course

    server = LocalServer().start()
    server.app.recorder = CallRecorder()
    try:
        take_the_course(server.endpoint, "labpolicy")
        import importlib.util

        spec = importlib.util.spec_from_file_location("td", ROOT / "teardown.py")
        assert spec and spec.loader, "teardown.py is a Python file: it always has a loader"
        cli = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cli)
        os.environ.update(AWS_ENDPOINT_URL=server.endpoint, LAB_PREFIX="labpolicy")
        cli.main(["--yes"])  # learners run teardown too
    finally:
        server.stop()
    return set(server.app.recorder.actions)


def main() -> int:
    actions = recorded_actions()
    POLICY.write_text(json.dumps(policy_for(actions), indent=2) + "\n")
    print(f"Wrote {POLICY.relative_to(ROOT)}: {len(actions)} recorded actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
