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


def test_a_push_rule_starts_the_pipeline_once_and_with_polling_too_twice(client, lab):
    # PollForSourceChanges false: the rule alone starts the pipeline on a push. Left out
    # (polling) with a rule too: "This results in duplicate pipeline executions"
    # (codepipeline update-change-detection.md), one per change detection.
    import time

    from tests.pipelines import build_action, source_action

    polling = source_action()
    del polling["configuration"]["PollForSourceChanges"]
    lab.create()
    lab.create(
        name="polling",
        stages=[
            {"name": "Source", "actions": [polling]},
            {"name": "Build", "actions": [build_action()]},
        ],
    )
    arns = {name: lab.push_rule(name=name) for name in ("lab-pipeline", "polling")}
    commit = lab.commit("c.txt", "again")

    def triggers(name):
        return sorted(
            s["trigger"]["triggerType"]
            for s in lab.summaries(name)
            if s["trigger"]["triggerType"] != "CreatePipeline"
        )

    wait_for(lambda: len(triggers("lab-pipeline")) >= 1 and len(triggers("polling")) >= 2)
    time.sleep(0.5)  # a further start would come from a rule's thread
    assert triggers("lab-pipeline") == ["CloudWatchEvent"]
    assert triggers("polling") == ["CloudWatchEvent", "PollForSourceChanges"]
    for name in ("lab-pipeline", "polling"):
        [by_rule] = [
            s for s in lab.summaries(name) if s["trigger"]["triggerType"] == "CloudWatchEvent"
        ]
        assert by_rule["trigger"]["triggerDetail"] == arns[name]
        execution = lab.wait(by_rule["pipelineExecutionId"], name=name)
        assert execution["artifactRevisions"][0]["revisionId"] == commit


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


PULL_REQUEST_FIELDS = {
    "author",
    "creationDate",
    "description",
    "destinationCommit",
    "destinationReference",
    "event",
    "isMerged",
    "lastModifiedDate",
    "notificationBody",
    "pullRequestId",
    "pullRequestStatus",
    "repositoryNames",
    "revisionId",
    "sourceCommit",
    "sourceReference",
    "title",
}
ONE_APPROVER = json.dumps(
    {
        "Version": "2018-11-08",
        "Statements": [
            {
                "Type": "Approvers",
                "NumberOfApprovalsNeeded": 1,
                "ApprovalPoolMembers": [f"arn:aws:iam::{ACCOUNT}:user/reviewer"],
            }
        ],
    }
)


def another_user(client, name: str):
    """A codecommit client signed by another IAM user (approvals: not the author)."""
    import boto3

    from tests.shapes import check_replies

    iam = client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return check_replies(
        boto3.client(
            "codecommit",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
    )


def test_codecommit_pull_request_events(client, synchronous):
    """Every pullRequest* event of monitoring-events.md, with its documented fields."""
    inbox = Inbox(
        client,
        {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Pull Request State Change"]},
        name="pull-requests",
    )
    cc = client("codecommit")
    reviewer = another_user(client, "reviewer")
    repo = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")[
        "commitId"
    ]
    cc.create_branch(repositoryName=REPO, branchName="feature", commitId=first)
    source = cc.put_file(
        repositoryName=REPO,
        branchName="feature",
        filePath="b",
        fileContent=b"b",
        parentCommitId=first,
    )["commitId"]
    pr = cc.create_pull_request(
        title="Add b",
        description="b for all",
        targets=[{"repositoryName": REPO, "sourceReference": "feature"}],
    )["pullRequest"]
    pr_id = pr["pullRequestId"]
    cc.create_pull_request_approval_rule(
        pullRequestId=pr_id, approvalRuleName="one", approvalRuleContent=ONE_APPROVER
    )
    cc.update_pull_request_approval_rule_content(
        pullRequestId=pr_id, approvalRuleName="one", newRuleContent=ONE_APPROVER.replace(" ", "")
    )
    source = cc.put_file(
        repositoryName=REPO,
        branchName="feature",
        filePath="c",
        fileContent=b"c",
        parentCommitId=source,
    )["commitId"]
    revision = cc.get_pull_request(pullRequestId=pr_id)["pullRequest"]["revisionId"]
    reviewer.update_pull_request_approval_state(
        pullRequestId=pr_id, revisionId=revision, approvalState="APPROVE"
    )
    cc.override_pull_request_approval_rules(
        pullRequestId=pr_id, revisionId=revision, overrideStatus="OVERRIDE"
    )
    cc.delete_pull_request_approval_rule(pullRequestId=pr_id, approvalRuleName="one")
    cc.merge_pull_request_by_fast_forward(
        pullRequestId=pr_id, repositoryName=REPO, sourceCommitId=source
    )
    other = cc.put_file(
        repositoryName=REPO,
        branchName="main",
        filePath="d",
        fileContent=b"d",
        parentCommitId=source,
    )["commitId"]
    cc.create_branch(repositoryName=REPO, branchName="other", commitId=other)
    cc.put_file(
        repositoryName=REPO,
        branchName="other",
        filePath="e",
        fileContent=b"e",
        parentCommitId=other,
    )
    closed = cc.create_pull_request(
        title="closed unmerged",
        targets=[{"repositoryName": REPO, "sourceReference": "other"}],
    )["pullRequest"]
    cc.update_pull_request_status(pullRequestId=closed["pullRequestId"], pullRequestStatus="CLOSED")

    events = inbox.messages()
    by_kind: dict[str, list[dict]] = {}
    for event in events:
        assert_envelope(
            event, "aws.codecommit", "CodeCommit Pull Request State Change", [repo["Arn"]]
        )
        detail = event["detail"]
        assert PULL_REQUEST_FIELDS <= set(detail), detail
        assert detail["repositoryNames"] == [REPO]
        assert detail["destinationReference"] == "refs/heads/main"
        assert detail["sourceReference"] in ("refs/heads/feature", "refs/heads/other")
        by_kind.setdefault(detail["event"], []).append(detail)
    assert set(by_kind) == {
        "pullRequestCreated",
        "pullRequestApprovalRuleCreated",
        "pullRequestApprovalRuleUpdated",
        "pullRequestSourceBranchUpdated",
        "pullRequestApprovalStateChanged",
        "pullRequestApprovalRuleOverridden",
        "pullRequestApprovalRuleDeleted",
        "pullRequestMergeStatusUpdated",
        "pullRequestStatusChanged",
    }
    created = by_kind["pullRequestCreated"][0]
    assert created["author"] == created["callerUserArn"] == pr["authorArn"]
    assert (created["title"], created["description"]) == ("Add b", "b for all")
    assert (created["pullRequestStatus"], created["isMerged"]) == ("Open", "False")
    assert " UTC " in created["creationDate"]  # as Java writes dates: Wed Nov 06 19:10:58 UTC 2019
    for kind in ("Created", "Updated", "Deleted"):
        rule = by_kind[f"pullRequestApprovalRule{kind}"][0]
        assert rule["approvalRuleName"] == "one"
        assert rule["approvalRuleId"] and len(rule["approvalRuleContentSha256"]) == 64
    assert by_kind["pullRequestSourceBranchUpdated"][0]["sourceCommit"] == source
    approval = by_kind["pullRequestApprovalStateChanged"][0]
    assert approval["approvalStatus"] == "APPROVE"
    assert approval["callerUserArn"] == f"arn:aws:iam::{ACCOUNT}:user/reviewer"
    assert approval["revisionId"] == revision
    assert by_kind["pullRequestApprovalRuleOverridden"][0]["overrideStatus"] == "OVERRIDE"
    merged = by_kind["pullRequestMergeStatusUpdated"][0]
    assert merged["isMerged"] == "True" and merged["pullRequestStatus"] == "Closed"
    assert merged["mergeOption"] == "FAST_FORWARD_MERGE"
    statuses = by_kind["pullRequestStatusChanged"]
    assert [s["pullRequestStatus"] for s in statuses] == ["Closed", "Closed"]
    assert [s["isMerged"] for s in statuses] == ["True", "False"]


def test_codecommit_merge_reference_events(client, synchronous):
    """A merge's referenceUpdated and CreateUnreferencedMergeCommit's event carry the
    merge fields of monitoring-events.md."""
    inbox = Inbox(
        client,
        {
            "source": ["aws.codecommit"],
            "detail": {"event": ["referenceUpdated", "unreferencedMergeCommitCreated"]},
        },
        name="merges",
    )
    cc = client("codecommit")
    cc.create_repository(repositoryName=REPO)
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")[
        "commitId"
    ]
    cc.create_branch(repositoryName=REPO, branchName="feature", commitId=first)
    source = cc.put_file(
        repositoryName=REPO,
        branchName="feature",
        filePath="b",
        fileContent=b"b",
        parentCommitId=first,
    )["commitId"]
    destination = cc.put_file(
        repositoryName=REPO, branchName="main", filePath="c", fileContent=b"c", parentCommitId=first
    )["commitId"]
    inbox.messages()
    unreferenced = cc.create_unreferenced_merge_commit(
        repositoryName=REPO,
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="SQUASH_MERGE",
    )["commitId"]
    merged = cc.merge_branches_by_three_way(
        repositoryName=REPO,
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        conflictDetailLevel="LINE_LEVEL",
        conflictResolutionStrategy="AUTOMERGE",
    )["commitId"]
    first_event, second_event = [e["detail"] for e in inbox.messages()]
    merge_fields = {
        "baseCommitId": first,
        "sourceCommitId": source,
        "destinationCommitId": destination,
        "conflictDetailsLevel": "LINE_LEVEL",
    }
    assert first_event == {
        **first_event,
        **merge_fields,
        "event": "unreferencedMergeCommitCreated",
        "commitId": unreferenced,
        "mergeOption": "SQUASH_MERGE",
        "conflictDetailsLevel": "FILE_LEVEL",  # the default
        "conflictResolutionStrategy": "NONE",
    }
    assert second_event == {
        **second_event,
        **merge_fields,
        "event": "referenceUpdated",
        "referenceName": "main",
        "commitId": merged,
        "oldCommitId": destination,
        "mergeOption": "THREE_WAY_MERGE",
        "conflictResolutionStrategy": "AUTOMERGE",
    }


def test_codecommit_comment_and_reaction_events(client, synchronous):
    inbox = Inbox(
        client,
        {
            "source": ["aws.codecommit"],
            "detail-type": [
                "CodeCommit Comment on Pull Request",
                "CodeCommit Comment on Commit",
                "CodeCommit Comment Reaction Change",
            ],
        },
        name="comments",
    )
    cc = client("codecommit")
    repo = cc.create_repository(repositoryName=REPO)["repositoryMetadata"]
    first = cc.put_file(repositoryName=REPO, branchName="main", filePath="a", fileContent=b"1")[
        "commitId"
    ]
    cc.create_branch(repositoryName=REPO, branchName="feature", commitId=first)
    second = cc.put_file(
        repositoryName=REPO,
        branchName="feature",
        filePath="b",
        fileContent=b"b",
        parentCommitId=first,
    )["commitId"]
    pr_id = cc.create_pull_request(
        title="t", targets=[{"repositoryName": REPO, "sourceReference": "feature"}]
    )["pullRequest"]["pullRequestId"]
    on_pr = cc.post_comment_for_pull_request(
        pullRequestId=pr_id,
        repositoryName=REPO,
        beforeCommitId=first,
        afterCommitId=second,
        content="Build passed",
        clientRequestToken="once",
    )["comment"]["commentId"]
    cc.post_comment_for_pull_request(  # an idempotent retry: no second event
        pullRequestId=pr_id,
        repositoryName=REPO,
        beforeCommitId=first,
        afterCommitId=second,
        content="Build passed",
        clientRequestToken="once",
    )
    reply = cc.post_comment_reply(inReplyTo=on_pr, content="thanks")["comment"]["commentId"]
    cc.update_comment(commentId=on_pr, content="Build passed (edited)")
    on_commit = cc.post_comment_for_compared_commit(
        repositoryName=REPO, beforeCommitId=first, afterCommitId=second, content="nice"
    )["comment"]["commentId"]
    cc.update_comment(commentId=on_commit, content="very nice")
    cc.put_comment_reaction(commentId=on_commit, reactionValue=":thumbsup:")
    cc.put_comment_reaction(commentId=on_commit, reactionValue=":thumbsup:")  # unchanged
    cc.put_comment_reaction(commentId=on_commit, reactionValue=":thumbsdown:")

    events = inbox.messages()
    caller = f"arn:aws:iam::{ACCOUNT}:root"
    seen = []
    for event in events:
        assert event["source"] == "aws.codecommit" and event["resources"] == [repo["Arn"]]
        detail = event["detail"]
        assert detail["repositoryName"] == REPO
        assert detail["repositoryId"] == repo["repositoryId"]
        assert detail["callerUserArn"] == caller and detail["notificationBody"]
        seen.append((event["detail-type"], detail["event"], detail["commentId"]))
        if event["detail-type"] != "CodeCommit Comment Reaction Change":
            assert (detail["beforeCommitId"], detail["afterCommitId"]) == (first, second)
    assert seen == [
        ("CodeCommit Comment on Pull Request", "commentOnPullRequestCreated", on_pr),
        ("CodeCommit Comment on Pull Request", "commentOnPullRequestCreated", reply),
        ("CodeCommit Comment on Pull Request", "commentOnPullRequestUpdated", on_pr),
        ("CodeCommit Comment on Commit", "commentOnCommitCreated", on_commit),
        ("CodeCommit Comment on Commit", "commentOnCommitUpdated", on_commit),
        ("CodeCommit Comment Reaction Change", "commentReactionCreated", on_commit),
        ("CodeCommit Comment Reaction Change", "commentReactionUpdated", on_commit),
    ]
    replied = events[1]["detail"]
    assert replied["inReplyTo"] == on_pr and replied["pullRequestId"] == pr_id
    assert "pullRequestId" not in events[3]["detail"]
    reaction = events[-1]["detail"]
    assert reaction["reactionShortcodes"] == [":thumbsdown:"]
    assert reaction["reactionUnicodes"] == ["U+1F44E"]
    assert reaction["reactionEmojis"] == ["👎"]
