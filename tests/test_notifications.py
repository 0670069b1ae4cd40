"""CodeStar Notifications, served by the kit (moto has no backend): notification rules'
CRUD and errors over HTTP (replies shape-checked), and notifications of each service's
events reaching an SQS queue subscribed to the rule's SNS topic."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from tests.pipelines import REPO

ACCOUNT = "123456789012"
REGION = "us-east-1"
NOTIFY = "codestar-notifications"


def topic_policy(topic_arn: str) -> str:
    """The statement AWS requires on a target topic (codecommit notification-rule-create.md)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CodeNotification_publish",
                    "Effect": "Allow",
                    "Principal": {"Service": "codestar-notifications.amazonaws.com"},
                    "Action": "SNS:Publish",
                    "Resource": topic_arn,
                }
            ],
        }
    )


class Inbox:
    """An SQS queue subscribed (raw delivery) to a new SNS topic that notifications may use."""

    def __init__(self, client, name: str = "notes", policy: bool = True) -> None:
        sns, self.sqs = client("sns"), client("sqs")
        self.topic = sns.create_topic(Name=name)["TopicArn"]
        if policy:
            sns.set_topic_attributes(
                TopicArn=self.topic, AttributeName="Policy", AttributeValue=topic_policy(self.topic)
            )
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    def messages(self) -> list[dict]:
        found = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return found
            found += [json.loads(m["Body"]) for m in batch]


def make_rule(notify, resource: str, events: list[str], topic: str, **more) -> str:
    return notify.create_notification_rule(
        Name=more.pop("Name", "rule"),
        EventTypeIds=events,
        Resource=resource,
        Targets=[{"TargetType": "SNS", "TargetAddress": topic}],
        DetailType=more.pop("DetailType", "FULL"),
        **more,
    )["Arn"]


def assert_notification(note: dict, rule: str, source: str, detail_type: str) -> None:
    assert note["notificationRuleArn"] == rule
    assert note["source"] == source and note["detailType"] == detail_type
    assert note["account"] == ACCOUNT and note["region"] == REGION
    assert note["time"].endswith("Z") and note["resources"] and isinstance(note["detail"], dict)


# -- the API, over HTTP ------------------------------------------------------------------


def test_rule_lifecycle_and_errors(server_client):
    notify, sns = server_client(NOTIFY), server_client("sns")
    topic = sns.create_topic(Name="lifecycle")["TopicArn"]
    other = sns.create_topic(Name="lifecycle-2")["TopicArn"]
    repo = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:lifecycle-repo"
    arn = make_rule(
        notify,
        repo,
        ["codecommit-repository-pull-request-created"],
        topic,
        Name="lifecycle",
        Tags={"lab-kit": "yes"},
        ClientRequestToken="token-1",
    )
    # A retried request (same token) answers the same rule; the same name otherwise clashes.
    again = make_rule(
        notify,
        repo,
        ["codecommit-repository-pull-request-created"],
        topic,
        Name="lifecycle",
        ClientRequestToken="token-1",
    )
    assert again == arn
    with pytest.raises(ClientError) as error:
        make_rule(
            notify, repo, ["codecommit-repository-pull-request-created"], topic, Name="lifecycle"
        )
    assert error.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"

    rule = notify.describe_notification_rule(Arn=arn)
    assert rule["Name"] == "lifecycle" and rule["Resource"] == repo
    assert rule["Status"] == "ENABLED" and rule["DetailType"] == "FULL"
    assert [e["EventTypeId"] for e in rule["EventTypes"]] == [
        "codecommit-repository-pull-request-created"
    ]
    # No policy letting codestar-notifications.amazonaws.com publish: unreachable, as on AWS.
    assert rule["Targets"] == [
        {"TargetAddress": topic, "TargetType": "SNS", "TargetStatus": "UNREACHABLE"}
    ]
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=topic_policy(topic)
    )
    assert notify.list_targets(Filters=[{"Name": "TARGET_STATUS", "Value": "ACTIVE"}])[
        "Targets"
    ] == [{"TargetAddress": topic, "TargetType": "SNS", "TargetStatus": "ACTIVE"}]

    notify.update_notification_rule(
        Arn=arn,
        Status="DISABLED",
        DetailType="BASIC",
        EventTypeIds=["codecommit-repository-pull-request-merged"],
    )
    rule = notify.describe_notification_rule(Arn=arn)
    assert (rule["Status"], rule["DetailType"]) == ("DISABLED", "BASIC")

    notify.subscribe(Arn=arn, Target={"TargetType": "SNS", "TargetAddress": other})
    found = notify.list_notification_rules(
        Filters=[
            {"Name": "TARGET_ADDRESS", "Value": other},
            {"Name": "RESOURCE", "Value": repo},
        ]
    )["NotificationRules"]
    assert [r["Arn"] for r in found] == [arn]
    # Of this repository only: the server is shared with other tests' rules.
    assert not notify.list_notification_rules(
        Filters=[
            {"Name": "EVENT_TYPE_ID", "Value": "codecommit-repository-pull-request-created"},
            {"Name": "RESOURCE", "Value": repo},
        ]
    )["NotificationRules"]
    notify.unsubscribe(Arn=arn, TargetAddress=other)
    notify.delete_target(TargetAddress=other)
    with pytest.raises(ClientError) as error:
        notify.delete_target(TargetAddress=topic)  # still used by the rule
    assert error.value.response["Error"]["Code"] == "ValidationException"

    notify.tag_resource(Arn=arn, Tags={"team": "blue"})
    notify.untag_resource(Arn=arn, TagKeys=["lab-kit"])
    assert notify.list_tags_for_resource(Arn=arn)["Tags"] == {"team": "blue"}

    assert notify.delete_notification_rule(Arn=arn)["Arn"] == arn
    with pytest.raises(ClientError) as error:
        notify.describe_notification_rule(Arn=arn)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    notify.delete_target(TargetAddress=topic)


@pytest.mark.parametrize(
    "resource, events, topic",
    [
        # an event type of another resource type
        (
            "arn:aws:codecommit:us-east-1:123456789012:r",
            ["codebuild-project-build-state-failed"],
            None,
        ),
        # no such event type
        ("arn:aws:codecommit:us-east-1:123456789012:r", ["codecommit-repository-nope"], None),
        # not a resource notifications can watch
        ("arn:aws:s3:::bucket", ["codecommit-repository-pull-request-created"], None),
        # another account's resource
        (
            "arn:aws:codecommit:us-east-1:111122223333:r",
            ["codecommit-repository-pull-request-created"],
            None,
        ),
        # a target that is not an SNS topic ARN
        (
            "arn:aws:codecommit:us-east-1:123456789012:r",
            ["codecommit-repository-pull-request-created"],
            "not-a-topic",
        ),
    ],
)
def test_invalid_rules_are_refused(server_client, resource, events, topic):
    notify = server_client(NOTIFY)
    target = topic or f"arn:aws:sns:{REGION}:{ACCOUNT}:invalid"
    with pytest.raises(ClientError) as error:
        make_rule(notify, resource, events, target, Name="invalid")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_list_event_types_covers_the_four_services(server_client):
    notify = server_client(NOTIFY)
    pages = notify.get_paginator("list_event_types").paginate(PaginationConfig={"PageSize": 7})
    types = [t for page in pages for t in page["EventTypes"]]
    ids = {t["EventTypeId"] for t in types}
    # The ids the user guides name (codecommit/codebuild/codedeploy notification-rule-create.md,
    # codepipeline tutorials-cloudwatch-sns-notifications.md and the notifications pages).
    assert {
        "codecommit-repository-branches-and-tags-created",
        "codecommit-repository-pull-request-created",
        "codebuild-project-build-state-succeeded",
        "codedeploy-application-deployment-succeeded",
        "codepipeline-pipeline-pipeline-execution-started",
    } <= ids
    assert {t["ServiceName"] for t in types} == {
        "CodeCommit",
        "CodeBuild",
        "CodeDeploy",
        "CodePipeline",
    }
    builds = notify.list_event_types(Filters=[{"Name": "SERVICE_NAME", "Value": "CodeBuild"}])
    assert {t["ResourceType"] for t in builds["EventTypes"]} == {"Project"}
    with pytest.raises(ClientError) as error:
        notify.list_event_types(NextToken="bm90LWEtbnVtYmVy")
    assert error.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_an_unsigned_request_is_refused(local_server, server_client):
    before = server_client(NOTIFY).list_notification_rules()["NotificationRules"]
    reply = requests.post(
        f"{local_server.endpoint}/createNotificationRule",
        json={
            "Name": "unsigned",
            "EventTypeIds": ["codecommit-repository-pull-request-created"],
            "Resource": f"arn:aws:codecommit:{REGION}:{ACCOUNT}:r",
            "Targets": [
                {"TargetType": "SNS", "TargetAddress": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"}
            ],
            "DetailType": "FULL",
        },
        timeout=30,
    )
    assert reply.status_code == 403
    assert server_client(NOTIFY).list_notification_rules()["NotificationRules"] == before


# -- delivery ------------------------------------------------------------------------------


def test_a_pull_request_notification_reaches_the_queue(client, synchronous):
    inbox = Inbox(client)
    cc = client("codecommit")
    repo = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")[
        "commitId"
    ]
    rule = make_rule(
        client(NOTIFY), repo["Arn"], ["codecommit-repository-pull-request-created"], inbox.topic
    )
    cc.create_branch(repositoryName=REPO, branchName="feature", commitId=first)
    cc.put_file(
        repositoryName=REPO,
        branchName="feature",
        filePath="b",
        fileContent=b"b",
        parentCommitId=first,
    )
    pr = cc.create_pull_request(
        title="Add b", targets=[{"repositoryName": REPO, "sourceReference": "feature"}]
    )["pullRequest"]

    [note] = inbox.messages()  # the branch events are not of the rule's event types
    assert_notification(note, rule, "aws.codecommit", "CodeCommit Pull Request State Change")
    assert note["resources"] == [repo["Arn"]]
    assert note["detail"]["event"] == "pullRequestCreated"
    assert note["detail"]["pullRequestId"] == pr["pullRequestId"]
    assert note["additionalAttributes"] == {
        "eventTypeIds": ["codecommit-repository-pull-request-created"]
    }


def solo_project(lab) -> str:
    """A project StartBuild can start (the lab's own is its pipeline's): its ARN."""
    return lab.cb.create_project(
        name="solo",
        source={
            "type": "CODECOMMIT",
            "location": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
        },
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/CodeBuildRole",
    )["project"]["arn"]


def test_a_build_notification_reaches_the_queue(client, lab):
    inbox = Inbox(client)
    project_arn = solo_project(lab)
    rule = make_rule(
        client(NOTIFY),
        project_arn,
        ["codebuild-project-build-state-succeeded"],
        inbox.topic,
        DetailType="BASIC",
    )
    build = lab.cb.start_build(projectName="solo")["build"]

    [note] = inbox.messages()  # IN_PROGRESS is not the rule's
    assert_notification(note, rule, "aws.codebuild", "CodeBuild Build State Change")
    assert note["resources"] == [build["arn"]]
    assert note["detail"]["build-status"] == "SUCCEEDED"
    assert "additionalAttributes" not in note  # BASIC: the EventBridge event's fields only


def test_a_deployment_notification_reaches_the_queue(client, deploy_lab):
    inbox = Inbox(client)
    application = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:{deploy_lab.application}"
    rule = make_rule(
        client(NOTIFY),
        application,
        [
            "codedeploy-application-deployment-started",
            "codedeploy-application-deployment-succeeded",
        ],
        inbox.topic,
    )
    deploy_lab.instances(1)
    deploy_lab.create_group()
    info = deploy_lab.run()

    notes = inbox.messages()
    assert [n["detail"]["state"] for n in notes] == ["START", "SUCCESS"]
    for note in notes:
        assert_notification(
            note, rule, "aws.codedeploy", "CodeDeploy Deployment State-change Notification"
        )
        assert note["detail"]["deploymentId"] == info["deploymentId"]


def test_a_pipeline_notification_reaches_the_queue_and_a_disabled_rule_sends_nothing(client, lab):
    inbox = Inbox(client)
    quiet = Inbox(client, name="quiet")
    notify = client(NOTIFY)
    pipeline = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:lab-pipeline"
    rule = make_rule(
        notify, pipeline, ["codepipeline-pipeline-pipeline-execution-succeeded"], inbox.topic
    )
    make_rule(
        notify,
        pipeline,
        ["codepipeline-pipeline-pipeline-execution-succeeded"],
        quiet.topic,
        Name="disabled",
        Status="DISABLED",
    )
    execution_id = lab.create()

    [note] = inbox.messages()
    assert_notification(
        note, rule, "aws.codepipeline", "CodePipeline Pipeline Execution State Change"
    )
    assert note["resources"] == [pipeline]
    assert note["detail"]["state"] == "SUCCEEDED"
    assert note["detail"]["execution-id"] == execution_id
    assert quiet.messages() == []


def test_a_topic_without_the_service_policy_receives_nothing(client, lab):
    inbox = Inbox(client, policy=False)
    project_arn = solo_project(lab)
    make_rule(client(NOTIFY), project_arn, ["codebuild-project-build-state-succeeded"], inbox.topic)
    lab.cb.start_build(projectName="solo")
    assert inbox.messages() == []


def test_teardown_finds_the_kits_notification_rules_only(client):
    from helpers import settings, teardown

    notify = client(NOTIFY)
    topic = client("sns").create_topic(Name="teardown")["TopicArn"]
    repo = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:r"
    events = ["codecommit-repository-pull-request-created"]
    kit_tags = {settings.KIT_TAG_KEY: settings.KIT_TAG_VALUE, settings.OWNER_TAG_KEY: "learner"}
    ours = make_rule(notify, repo, events, topic, Name="ours", Tags=kit_tags)
    make_rule(notify, repo, events, topic, Name="not-ours", Tags={"team": "blue"})
    scope = teardown.Scope(prefix="learner")

    found = list(teardown.notification_rules(client, REGION, scope))
    assert [(r.kind, r.name) for r in found] == [("notification rule", "ours")]
    found[0].delete()
    left = [r["Arn"] for r in notify.list_notification_rules()["NotificationRules"]]
    assert ours not in left and len(left) == 1
