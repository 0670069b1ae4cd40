"""Repository triggers: Put/Get/TestRepositoryTriggers, and the message how-to-notify-sns.md
shows published to the trigger's SNS topic on each push or API commit."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

REPO = "app"
REGION = "us-east-1"


@pytest.fixture
def setup(client, synchronous):
    """A repository, an SNS topic and an SQS queue subscribed to it (raw delivery)."""
    cc, sns, sqs = client("codecommit"), client("sns"), client("sqs")
    repo = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    topic = sns.create_topic(Name="pushes")["TopicArn"]
    url = sqs.create_queue(QueueName="pushes")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"}
    )

    def received() -> list[dict]:
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            found += [json.loads(m["Body"])["Records"][0] for m in batch]
        return found

    return cc, repo, topic, received


def trigger(topic: str, **extra) -> dict:
    return {"name": "MyFirstTrigger", "destinationArn": topic, "events": ["all"], **extra}


def commit(cc, content: str, branch: str = "main", parent: str | None = None) -> str:
    params = {"parentCommitId": parent} if parent else {}
    return cc.put_file(
        repositoryName=REPO,
        branchName=branch,
        filePath="a.txt",
        fileContent=content.encode(),
        **params,
    )["commitId"]


def test_put_and_get_triggers(setup):
    cc, _, topic, _ = setup
    configuration = cc.put_repository_triggers(
        repositoryName=REPO,
        triggers=[trigger(topic, customData="Project ID 12345", branches=["main", "preprod"])],
    )["configurationId"]
    got = cc.get_repository_triggers(repositoryName=REPO)
    assert got["configurationId"] == configuration
    assert got["triggers"] == [
        {
            "name": "MyFirstTrigger",
            "destinationArn": topic,
            "customData": "Project ID 12345",
            "branches": ["main", "preprod"],
            "events": ["all"],
        }
    ]
    # how-to-notify-delete.md: an empty list removes every trigger
    cc.put_repository_triggers(repositoryName=REPO, triggers=[])
    assert cc.get_repository_triggers(repositoryName=REPO)["triggers"] == []


def test_a_push_publishes_the_documented_message(setup):
    cc, repo, topic, received = setup
    configuration = cc.put_repository_triggers(
        repositoryName=REPO, triggers=[trigger(topic, customData="Project ID 12345")]
    )["configurationId"]
    first = commit(cc, "1")
    second = commit(cc, "2", parent=first)

    created, updated = received()
    assert created["codecommit"]["references"] == [
        {"commit": first, "ref": "refs/heads/main", "created": True}
    ]
    assert updated["codecommit"]["references"] == [{"commit": second, "ref": "refs/heads/main"}]
    assert updated["awsRegion"] == REGION
    assert updated["eventSourceARN"] == repo["Arn"]
    assert updated["eventTriggerConfigId"] == configuration
    assert updated["eventTriggerName"] == "MyFirstTrigger"
    assert updated["customData"] == "Project ID 12345"
    assert (updated["eventName"], updated["eventSource"], updated["eventVersion"]) == (
        "ReferenceChange",
        "aws:codecommit",
        "1.0",
    )
    assert {"eventId", "eventTime", "eventPartNumber", "eventTotalParts", "userIdentityARN"} <= set(
        updated
    )


def test_events_and_branches_filter_what_is_sent(setup):
    cc, _, topic, received = setup
    first = commit(cc, "1")
    cc.put_repository_triggers(
        repositoryName=REPO,
        triggers=[trigger(topic, events=["deleteReference", "createReference"], branches=["dev"])],
    )
    commit(cc, "2", parent=first)  # updateReference of main: not wanted
    cc.create_branch(repositoryName=REPO, branchName="other", commitId=first)  # not dev
    cc.create_branch(repositoryName=REPO, branchName="dev", commitId=first)
    cc.delete_branch(repositoryName=REPO, branchName="dev")
    references = [r["codecommit"]["references"][0] for r in received()]
    assert references == [
        {"commit": first, "ref": "refs/heads/dev", "created": True},
        {"commit": first, "ref": "refs/heads/dev", "deleted": True},
    ]


def test_test_repository_triggers_reports_each_trigger(setup):
    cc, _, topic, received = setup
    commit(cc, "1")
    missing = topic.replace("pushes", "gone")
    reply = cc.test_repository_triggers(
        repositoryName=REPO,
        triggers=[trigger(topic), trigger(missing, name="Broken")],
    )
    assert reply["successfulExecutions"] == ["MyFirstTrigger"]
    assert [f["trigger"] for f in reply["failedExecutions"]] == ["Broken"]
    assert reply["failedExecutions"][0]["failureMessage"]
    assert len(received()) == 1
    assert cc.get_repository_triggers(repositoryName=REPO)["triggers"] == []  # tests store none


@pytest.mark.parametrize(
    "bad, code",
    [
        ({"name": "has space"}, "InvalidRepositoryTriggerNameException"),
        (
            {"destinationArn": "arn:aws:s3:::bucket"},
            "InvalidRepositoryTriggerDestinationArnException",
        ),
        (
            {"destinationArn": "arn:aws:sns:eu-west-1:123456789012:t"},
            "InvalidRepositoryTriggerRegionException",
        ),
        ({"customData": "x" * 1001}, "InvalidRepositoryTriggerCustomDataException"),
        ({"branches": ["bad branch"]}, "InvalidRepositoryTriggerBranchNameException"),
        ({"events": ["all", "updateReference"]}, "InvalidRepositoryTriggerEventsException"),
        ({"events": []}, "RepositoryTriggerEventsListRequiredException"),
        ({"name": ""}, "RepositoryTriggerNameRequiredException"),
        ({"destinationArn": ""}, "RepositoryTriggerDestinationArnRequiredException"),
    ],
)
def test_invalid_triggers_get_aws_errors(setup, bad, code):
    cc, _, topic, _ = setup
    with pytest.raises(ClientError) as caught:
        cc.put_repository_triggers(repositoryName=REPO, triggers=[{**trigger(topic), **bad}])
    assert caught.value.response["Error"]["Code"] == code


def test_at_most_ten_triggers(setup):
    cc, _, topic, _ = setup
    eleven = [trigger(topic, name=f"t{i}") for i in range(11)]
    with pytest.raises(ClientError) as caught:
        cc.put_repository_triggers(repositoryName=REPO, triggers=eleven)
    assert caught.value.response["Error"]["Code"] == "MaximumRepositoryTriggersExceededException"


def test_triggers_of_a_missing_repository(setup):
    cc, _, topic, _ = setup
    with pytest.raises(ClientError) as caught:
        cc.get_repository_triggers(repositoryName="nope")
    assert caught.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"


def test_git_push_of_a_branch_and_a_tag_sends_events_and_triggers(server_client, tmp_path):
    """Over the local server's git HTTP: the push's branch and tag reach an EventBridge rule
    and a trigger, as the API's commits do."""
    import subprocess

    def git(*args, cwd=None):
        subprocess.run(
            ["git", "-c", "user.name=L", "-c", "user.email=l@example.com", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
        )

    cc, sqs, sns, events = (server_client(s) for s in ("codecommit", "sqs", "sns", "events"))
    name = "pushed-refs"
    url = cc.create_repository(repositoryName=name)["repositoryMetadata"]["cloneUrlHttp"]
    queues = {}
    for queue in ("pushed-refs-events", "pushed-refs-triggers"):
        queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queues[queue] = (queue_url, arn)
    events.put_rule(
        Name="pushed-refs",
        EventPattern=json.dumps(
            {"source": ["aws.codecommit"], "detail": {"repositoryName": [name]}}
        ),
    )
    events.put_targets(
        Rule="pushed-refs", Targets=[{"Id": "q", "Arn": queues["pushed-refs-events"][1]}]
    )
    topic = sns.create_topic(Name="pushed-refs")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queues["pushed-refs-triggers"][1],
        Attributes={"RawMessageDelivery": "true"},
    )
    cc.put_repository_triggers(repositoryName=name, triggers=[trigger(topic)])

    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "a.txt").write_text("1\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    git("tag", "v1", cwd=work)
    git("push", url, "main", "v1", cwd=work)

    def bodies(queue: str) -> list[dict]:
        found = []
        while batch := sqs.receive_message(QueueUrl=queues[queue][0], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            found += [json.loads(m["Body"]) for m in batch]
        return found

    details = [e["detail"] for e in bodies("pushed-refs-events")]
    assert sorted((d["referenceType"], d["referenceFullName"], d["event"]) for d in details) == [
        ("branch", "refs/heads/main", "referenceCreated"),
        ("tag", "refs/tags/v1", "referenceCreated"),
    ]
    refs = sorted(
        r["Records"][0]["codecommit"]["references"][0]["ref"]
        for r in bodies("pushed-refs-triggers")
    )
    assert refs == ["refs/heads/main", "refs/tags/v1"]
