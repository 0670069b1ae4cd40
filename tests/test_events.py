"""Each service's events reach the local EventBridge as AWS sends them: a rule matching on
source, detail-type and a detail field sends them to an SQS queue (and to SNS topics),
with the documented source, detail-type, account, region, resources and detail fields."""

from __future__ import annotations

import json

from tests.pipelines import REPO

ACCOUNT = "123456789012"
REGION = "us-east-1"


class Inbox:
    """An SQS queue that an EventBridge rule with `pattern` sends to."""

    def __init__(self, client, pattern: dict, name: str = "events") -> None:
        self.sqs = client("sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = client("events")
        events.put_rule(Name=f"rule-{name}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"rule-{name}", Targets=[{"Id": "queue", "Arn": arn}])

    def messages(self) -> list[dict]:
        found = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return found
            found += [json.loads(m["Body"]) for m in batch]


def assert_envelope(event: dict, source: str, detail_type: str, resources: list[str]) -> None:
    assert event["source"] == source
    assert event["detail-type"] == detail_type
    assert event["account"] == ACCOUNT
    assert event["region"] == REGION
    assert event["resources"] == resources
    assert event["version"] == "0" and event["id"] and event["time"].endswith("Z")


def test_codecommit_reference_events(client, synchronous):
    inbox = Inbox(
        client,
        {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "detail": {"referenceType": ["branch"]},
        },
    )
    cc = client("codecommit")
    repo = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a.txt", fileContent=b"1")[
        "commitId"
    ]
    second = cc.put_file(
        repositoryName=REPO,
        branchName="main",
        filePath="a.txt",
        fileContent=b"2",
        parentCommitId=first,
    )["commitId"]
    cc.create_branch(repositoryName=REPO, branchName="feature", commitId=second)
    cc.delete_branch(repositoryName=REPO, branchName="feature")

    events = inbox.messages()
    for event in events:
        assert_envelope(
            event, "aws.codecommit", "CodeCommit Repository State Change", [repo["Arn"]]
        )
        assert event["detail"]["repositoryName"] == REPO
        assert event["detail"]["repositoryId"] == repo["repositoryId"]
        assert event["detail"]["referenceType"] == "branch"
    details = [
        (e["detail"]["event"], e["detail"]["referenceFullName"], e["detail"].get("commitId"))
        for e in events
    ]
    assert details == [
        ("referenceCreated", "refs/heads/main", first),
        ("referenceUpdated", "refs/heads/main", second),
        ("referenceCreated", "refs/heads/feature", second),
        ("referenceDeleted", "refs/heads/feature", None),
    ]
    assert events[1]["detail"]["oldCommitId"] == first
    assert events[3]["detail"]["oldCommitId"] == second


def test_a_rule_that_does_not_match_or_is_disabled_receives_nothing(client, synchronous):
    inbox = Inbox(client, {"source": ["aws.codebuild"]}, name="other")
    off = Inbox(client, {"source": ["aws.codecommit"]}, name="off")
    client("events").disable_rule(Name="rule-off")
    cc = client("codecommit")
    cc.create_repository(repositoryName=REPO)
    cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")
    assert inbox.messages() == [] and off.messages() == []


def test_events_reach_an_sns_topic_target(client, synchronous):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="via-sns")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns = client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    events = client("events")
    events.put_rule(Name="to-sns", EventPattern=json.dumps({"source": ["aws.codecommit"]}))
    events.put_targets(Rule="to-sns", Targets=[{"Id": "topic", "Arn": topic}])
    cc = client("codecommit")
    cc.create_repository(repositoryName=REPO)
    cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")

    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail-type"] == "CodeCommit Repository State Change"
    assert event["account"] == ACCOUNT


def test_codebuild_state_and_phase_events(client, lab):
    states = Inbox(
        client,
        {
            "source": ["aws.codebuild"],
            "detail-type": ["CodeBuild Build State Change"],
            "detail": {"project-name": ["solo"]},
        },
        name="states",
    )
    phases = Inbox(
        client,
        {
            "source": ["aws.codebuild"],
            "detail-type": ["CodeBuild Build Phase Change"],
            "detail": {"completed-phase-status": ["SUCCEEDED"]},
        },
        name="phases",
    )
    lab.cb.create_project(
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
        serviceRole="arn:aws:iam::123456789012:role/CodeBuildRole",
    )
    build = lab.cb.start_build(projectName="solo")["build"]
    arn = build["arn"]

    events = states.messages()
    assert [e["detail"]["build-status"] for e in events] == ["IN_PROGRESS", "SUCCEEDED"]
    for event in events:
        assert_envelope(event, "aws.codebuild", "CodeBuild Build State Change", [arn])
        detail = event["detail"]
        assert detail["project-name"] == "solo" and detail["build-id"] == arn
        assert {"current-phase", "current-phase-context", "version"} <= set(detail)
        info = detail["additional-information"]
        assert {"environment", "timeout-in-minutes", "build-complete", "initiator"} <= set(info)
        assert {"build-start-time", "source", "logs", "phases"} <= set(info)
    assert events[-1]["detail"]["current-phase"] == "COMPLETED"
    assert events[-1]["detail"]["additional-information"]["build-complete"] is True

    completed = phases.messages()
    assert [e["detail"]["completed-phase"] for e in completed] == [
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "INSTALL",
        "PRE_BUILD",
        "BUILD",
        "POST_BUILD",
        "UPLOAD_ARTIFACTS",
        "FINALIZING",
    ]
    for event in completed:
        assert_envelope(event, "aws.codebuild", "CodeBuild Build Phase Change", [arn])
        assert {
            "completed-phase-context",
            "completed-phase-duration-seconds",
            "completed-phase-start",
            "completed-phase-end",
            "project-name",
            "build-id",
        } <= set(event["detail"])


def test_codedeploy_deployment_and_instance_events(client, deploy_lab):
    deployments = Inbox(
        client,
        {
            "source": ["aws.codedeploy"],
            "detail-type": ["CodeDeploy Deployment State-change Notification"],
            "detail": {"application": [deploy_lab.application]},
        },
        name="deployments",
    )
    instances = Inbox(
        client,
        {
            "source": ["aws.codedeploy"],
            "detail-type": ["CodeDeploy Instance State-change Notification"],
            "detail": {"state": ["START", "SUCCESS"]},
        },
        name="instances",
    )
    [instance] = deploy_lab.instances(1)
    deploy_lab.create_group()
    info = deploy_lab.run()
    group = deploy_lab.deploy.get_deployment_group(
        applicationName=deploy_lab.application, deploymentGroupName=deploy_lab.group
    )["deploymentGroupInfo"]
    application_arn = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:{deploy_lab.application}"
    group_arn = (
        f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:"
        f"{deploy_lab.application}/{deploy_lab.group}"
    )

    events = deployments.messages()
    assert [e["detail"]["state"] for e in events] == ["START", "SUCCESS"]
    for event in events:
        assert_envelope(
            event,
            "aws.codedeploy",
            "CodeDeploy Deployment State-change Notification",
            [application_arn, group_arn],
        )
        assert event["detail"] == {
            "region": REGION,
            "application": deploy_lab.application,
            "deploymentId": info["deploymentId"],
            "instanceGroupId": group["deploymentGroupId"],
            "deploymentGroup": deploy_lab.group,
            "state": event["detail"]["state"],
        }
    events = instances.messages()
    assert [e["detail"]["state"] for e in events] == ["START", "SUCCESS"]
    for event in events:
        assert event["detail-type"] == "CodeDeploy Instance State-change Notification"
        assert event["detail"]["instanceId"] == instance
        assert event["resources"][0].endswith(f":instance/{instance}")
        assert event["resources"][1:] == [group_arn, application_arn]


def test_codepipeline_execution_stage_and_action_events(client, lab):
    pipeline_inbox = Inbox(
        client,
        {
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"pipeline": ["lab-pipeline"]},
        },
        name="pipeline",
    )
    stage_inbox = Inbox(
        client,
        {
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Stage Execution State Change"],
            "detail": {"stage": ["Build"]},
        },
        name="stage",
    )
    action_inbox = Inbox(
        client,
        {
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Action Execution State Change"],
            "detail": {"type": {"provider": ["CodeBuild"]}},
        },
        name="action",
    )
    execution_id = lab.create()
    assert lab.execution(execution_id)["status"] == "Succeeded"
    pipeline_arn = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:lab-pipeline"

    events = pipeline_inbox.messages()
    assert [e["detail"]["state"] for e in events] == ["STARTED", "SUCCEEDED"]
    for event in events:
        assert_envelope(
            event,
            "aws.codepipeline",
            "CodePipeline Pipeline Execution State Change",
            [pipeline_arn],
        )
        assert event["detail"]["execution-id"] == execution_id
        assert event["detail"]["version"] == 1
    assert set(events[0]["detail"]["execution-trigger"]) == {"trigger-type", "trigger-detail"}

    events = stage_inbox.messages()
    assert [(e["detail"]["stage"], e["detail"]["state"]) for e in events] == [
        ("Build", "STARTED"),
        ("Build", "SUCCEEDED"),
    ]
    assert all(e["resources"] == [pipeline_arn] for e in events)

    events = action_inbox.messages()
    assert [(e["detail"]["action"], e["detail"]["state"]) for e in events] == [
        ("Build", "STARTED"),
        ("Build", "SUCCEEDED"),
    ]
    started, succeeded = (e["detail"] for e in events)
    assert started["type"] == {
        "owner": "AWS",
        "category": "Build",
        "provider": "CodeBuild",
        "version": "1",
    }
    assert [a["name"] for a in started["input-artifacts"]] == ["SourceOutput"]
    assert set(started["input-artifacts"][0]["s3location"]) == {"bucket", "key"}
    assert [a["name"] for a in succeeded["output-artifacts"]] == ["BuildOutput"]
    assert "external-execution-id" in succeeded["execution-result"]


def wait_for(predicate, timeout: float = 30):
    """Rule targets the kit starts (CodeBuild, CodePipeline) start in a thread of their own."""
    import time

    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def put_rule(client, name: str, pattern: dict, target: dict) -> str:
    events = client("events")
    arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "1", **target}])
    return arn


def test_a_rule_starts_a_build_with_its_input_as_start_build_parameters(client, lab):
    lab.cb.create_project(
        name="checks",
        source={
            "type": "CODECOMMIT",
            "location": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPO}",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo $WHO\n",
        },
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/CodeBuildRole",
    )
    put_rule(
        client,
        "build-feature",
        {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "detail": {"referenceName": ["feature"]},
        },
        {
            "Arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/checks",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events",
            "InputTransformer": {
                "InputPathsMap": {"commit": "$.detail.commitId"},
                "InputTemplate": '{"sourceVersion": "<commit>", "environmentVariablesOverride":'
                ' [{"name": "WHO", "value": "rule", "type": "PLAINTEXT"}]}',
            },
        },
    )
    commit = lab.commit("b.txt", "feature work", branch="main")
    lab.cc.create_branch(repositoryName=REPO, branchName="feature", commitId=commit)

    [build_id] = wait_for(lambda: lab.cb.list_builds_for_project(projectName="checks").get("ids"))
    build = wait_for(
        lambda: [b for b in lab.cb.batch_get_builds(ids=[build_id])["builds"] if b["buildComplete"]]
    )[0]
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["resolvedSourceVersion"] == commit
    assert build["initiator"] == "rule/build-feature"


def test_a_rule_starts_a_pipeline_with_a_cloudwatch_event_trigger(client, lab):
    lab.create()
    rule_arn = put_rule(
        client,
        "redeploy",
        {
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"pipeline": ["first"], "state": ["SUCCEEDED"]},
        },
        {
            "Arn": f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:lab-pipeline",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events",
        },
    )
    lab.create(name="first", stages=None)
    runs = wait_for(
        lambda: [
            s
            for s in lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
                "pipelineExecutionSummaries"
            ]
            if s["trigger"]["triggerType"] == "CloudWatchEvent"
        ]
    )
    assert [r["trigger"]["triggerDetail"] for r in runs] == [rule_arn]


def test_a_push_rule_on_a_watched_branch_does_not_start_the_pipeline_twice(client, lab):
    lab.create()
    put_rule(
        client,
        "codepipeline-app-main-rule",
        {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "resources": [f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{REPO}"],
            "detail": {
                "event": ["referenceCreated", "referenceUpdated"],
                "referenceName": ["main"],
            },
        },
        {
            "Arn": f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:lab-pipeline",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events",
        },
    )
    lab.commit("c.txt", "again")
    import time

    time.sleep(0.5)  # a second start would come from the rule's thread
    summaries = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ]
    assert len(summaries) == 2  # the creation's and the push's


def test_the_functions_left_for_pull_requests_and_merges(client, synchronous):
    """What the pull request module calls: a pull request event, a branch moved by a merge
    (its merge fields), an unreferenced merge commit."""
    from helpers.emulator import events
    from helpers.emulator.codecommit.models import codecommit_lab_backends

    inbox = Inbox(client, {"source": ["aws.codecommit"]}, name="prs")
    cc = client("codecommit")
    metadata = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")[
        "commitId"
    ]
    inbox.messages()
    backend = codecommit_lab_backends[ACCOUNT][REGION]
    repo = backend.get_repository(REPO)
    merge = {
        "baseCommitId": first,
        "sourceCommitId": first,
        "destinationCommitId": first,
        "mergeOption": "FAST_FORWARD_MERGE",
    }
    events.emit_codecommit_pull_request(
        repo, {"event": "pullRequestCreated", "pullRequestId": "1", "repositoryNames": [REPO]}
    )
    backend.branch_moved(repo, "main", first, first, merge=merge)
    events.codecommit_unreferenced_merge_commit(repo, first, merge)

    pull_request, moved, unreferenced = inbox.messages()
    assert_envelope(
        pull_request, "aws.codecommit", "CodeCommit Pull Request State Change", [metadata["Arn"]]
    )
    assert pull_request["detail"]["pullRequestId"] == "1"
    assert moved["detail"]["event"] == "referenceUpdated"
    assert moved["detail"]["mergeOption"] == "FAST_FORWARD_MERGE"
    assert unreferenced["detail"]["event"] == "unreferencedMergeCommitCreated"
    assert unreferenced["detail"]["commitId"] == first
