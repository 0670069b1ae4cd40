"""CodeCommit pull requests and approval rules: AWS's lifecycle, events and errors."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.shapes import check_replies

RULE = json.dumps(
    {
        "Version": "2018-11-08",
        "Statements": [
            {
                "Type": "Approvers",
                "NumberOfApprovalsNeeded": 1,
                "ApprovalPoolMembers": ["CodeCommitApprovers:123456789012:reviewer"],
            }
        ],
    }
)


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cc(client):
    return client("codecommit")


@pytest.fixture
def repo(cc):
    cc.create_repository(repositoryName="app")
    first = cc.put_file(
        repositoryName="app", branchName="main", filePath="a.txt", fileContent=b"a\n"
    )["commitId"]
    cc.create_branch(repositoryName="app", branchName="feature", commitId=first)
    cc.put_file(
        repositoryName="app",
        branchName="feature",
        filePath="b.txt",
        fileContent=b"b\n",
        parentCommitId=first,
    )
    return first


@pytest.fixture
def reviewer(client):
    """A codecommit client signed by another IAM user, 'reviewer'."""
    iam = client("iam")
    iam.create_user(UserName="reviewer")
    key = iam.create_access_key(UserName="reviewer")["AccessKey"]
    return check_replies(
        boto3.client(
            "codecommit",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
    )


def open_pull_request(cc, **extra):
    return cc.create_pull_request(
        title="Add b",
        description="b for all",
        targets=[{"repositoryName": "app", "sourceReference": "feature", **extra}],
    )["pullRequest"]


def test_create_get_list_and_update_a_pull_request(cc, repo):
    pr = open_pull_request(cc)
    assert pr["pullRequestId"] == "1"
    assert pr["pullRequestStatus"] == "OPEN"
    assert pr["authorArn"] == "arn:aws:iam::123456789012:root"
    target = pr["pullRequestTargets"][0]
    assert target["sourceReference"] == "refs/heads/feature"
    assert target["destinationReference"] == "refs/heads/main"  # the default branch
    assert target["destinationCommit"] == repo == target["mergeBase"]
    assert target["mergeMetadata"] == {"isMerged": False}
    assert cc.get_pull_request(pullRequestId="1")["pullRequest"]["title"] == "Add b"
    second = cc.create_pull_request(
        title="again",
        targets=[{"repositoryName": "app", "sourceReference": "refs/heads/feature"}],
    )["pullRequest"]
    assert second["pullRequestId"] == "2"  # sequential in the account and region
    assert cc.list_pull_requests(repositoryName="app")["pullRequestIds"] == ["2", "1"]
    page = cc.list_pull_requests(repositoryName="app", maxResults=1)
    assert page["pullRequestIds"] == ["2"] and page["nextToken"]
    cc.update_pull_request_title(pullRequestId="1", title="Add file b")
    cc.update_pull_request_description(pullRequestId="1", description="new")
    closed = cc.update_pull_request_status(pullRequestId="1", pullRequestStatus="CLOSED")
    assert closed["pullRequest"]["pullRequestStatus"] == "CLOSED"
    assert cc.list_pull_requests(repositoryName="app", pullRequestStatus="OPEN")[
        "pullRequestIds"
    ] == ["2"]
    with pytest.raises(ClientError) as exc:
        cc.update_pull_request_status(pullRequestId="1", pullRequestStatus="OPEN")
    assert error_code(exc) == "InvalidPullRequestStatusUpdateException"
    with pytest.raises(ClientError) as exc:
        cc.update_pull_request_title(pullRequestId="1", title="x")
    assert error_code(exc) == "PullRequestAlreadyClosedException"


def test_create_pull_request_errors_and_idempotency(cc, repo):
    def refused(targets, title="t"):
        with pytest.raises(ClientError) as exc:
            cc.create_pull_request(title=title, targets=targets)
        return error_code(exc)

    assert refused([{"repositoryName": "app", "sourceReference": "nope"}]) == (
        "ReferenceDoesNotExistException"
    )
    assert refused(
        [{"repositoryName": "app", "sourceReference": "main", "destinationReference": "main"}]
    ) == ("SourceAndDestinationAreSameException")
    assert refused([{"repositoryName": "gone", "sourceReference": "feature"}]) == (
        "RepositoryDoesNotExistException"
    )
    assert refused([{"repositoryName": "app", "sourceReference": "refs/tags/v1"}]) == (
        "ReferenceTypeNotSupportedException"
    )
    assert refused([{"repositoryName": "app", "sourceReference": "feature"}], " ") == (
        "TitleRequiredException"
    )
    targets = [{"repositoryName": "app", "sourceReference": "feature"}]
    first = cc.create_pull_request(title="t", targets=targets, clientRequestToken="tok")
    again = cc.create_pull_request(title="t", targets=targets, clientRequestToken="tok")
    assert first["pullRequest"]["pullRequestId"] == again["pullRequest"]["pullRequestId"]
    with pytest.raises(ClientError) as exc:
        cc.create_pull_request(title="other", targets=targets, clientRequestToken="tok")
    assert error_code(exc) == "IdempotencyParameterMismatchException"
    for bad, code in (
        ("0", "InvalidPullRequestIdException"),
        ("99", "PullRequestDoesNotExistException"),
    ):
        with pytest.raises(ClientError) as exc:
            cc.get_pull_request(pullRequestId=bad)
        assert error_code(exc) == code


def test_events_follow_the_source_branch_and_a_push_merge(cc, repo):
    pr = open_pull_request(cc)
    tip = pr["pullRequestTargets"][0]["sourceCommit"]
    moved = cc.put_file(
        repositoryName="app",
        branchName="feature",
        filePath="c.txt",
        fileContent=b"c\n",
        parentCommitId=tip,
    )["commitId"]
    now = cc.get_pull_request(pullRequestId="1")["pullRequest"]
    assert now["pullRequestTargets"][0]["sourceCommit"] == moved
    assert now["revisionId"] != pr["revisionId"]
    events = cc.describe_pull_request_events(pullRequestId="1")["pullRequestEvents"]
    assert [e["pullRequestEventType"] for e in events] == [
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
    ]
    updated = events[1]["pullRequestSourceReferenceUpdatedEventMetadata"]
    assert (updated["beforeCommitId"], updated["afterCommitId"]) == (tip, moved)
    # The source reaches the destination (as a fast-forward push does): merged, closed.
    cc.create_branch(repositoryName="app", branchName="release", commitId=repo)
    to_release = cc.create_pull_request(
        title="release",
        targets=[
            {
                "repositoryName": "app",
                "sourceReference": "feature",
                "destinationReference": "release",
            }
        ],
    )["pullRequest"]
    cc.delete_branch(repositoryName="app", branchName="release")
    cc.create_branch(repositoryName="app", branchName="release", commitId=moved)
    merged = cc.get_pull_request(pullRequestId=to_release["pullRequestId"])["pullRequest"]
    assert merged["pullRequestStatus"] == "CLOSED"
    assert merged["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is True
    only = cc.describe_pull_request_events(
        pullRequestId="1", pullRequestEventType="PULL_REQUEST_CREATED"
    )["pullRequestEvents"]
    assert len(only) == 1


def test_approval_rules_approvals_evaluation_and_override(cc, repo, reviewer):
    pr = open_pull_request(cc)
    revision = pr["revisionId"]
    rule = cc.create_pull_request_approval_rule(
        pullRequestId="1", approvalRuleName="one reviewer", approvalRuleContent=RULE
    )["approvalRule"]
    assert rule["ruleContentSha256"]
    with pytest.raises(ClientError) as exc:
        cc.create_pull_request_approval_rule(
            pullRequestId="1", approvalRuleName="bad", approvalRuleContent="{}"
        )
    assert error_code(exc) == "InvalidApprovalRuleContentException"
    evaluation = cc.evaluate_pull_request_approval_rules(pullRequestId="1", revisionId=revision)
    assert evaluation["evaluation"]["approvalRulesNotSatisfied"] == ["one reviewer"]
    with pytest.raises(ClientError) as exc:
        cc.update_pull_request_approval_state(
            pullRequestId="1", revisionId=revision, approvalState="APPROVE"
        )
    assert error_code(exc) == "PullRequestCannotBeApprovedByAuthorException"
    reviewer.update_pull_request_approval_state(
        pullRequestId="1", revisionId=revision, approvalState="APPROVE"
    )
    states = cc.get_pull_request_approval_states(pullRequestId="1", revisionId=revision)
    assert states["approvals"] == [
        {"userArn": "arn:aws:iam::123456789012:user/reviewer", "approvalState": "APPROVE"}
    ]
    evaluation = cc.evaluate_pull_request_approval_rules(pullRequestId="1", revisionId=revision)
    assert evaluation["evaluation"]["approved"] is True
    assert evaluation["evaluation"]["approvalRulesSatisfied"] == ["one reviewer"]
    reviewer.update_pull_request_approval_state(
        pullRequestId="1", revisionId=revision, approvalState="REVOKE"
    )
    cc.override_pull_request_approval_rules(
        pullRequestId="1", revisionId=revision, overrideStatus="OVERRIDE"
    )
    state = cc.get_pull_request_override_state(pullRequestId="1", revisionId=revision)
    assert state == {**state, "overridden": True, "overrider": pr["authorArn"]}
    assert cc.evaluate_pull_request_approval_rules(pullRequestId="1", revisionId=revision)[
        "evaluation"
    ]["approved"]
    deleted = cc.delete_pull_request_approval_rule(
        pullRequestId="1", approvalRuleName="one reviewer"
    )
    assert deleted["approvalRuleId"] == rule["approvalRuleId"]
    kinds = [
        e["pullRequestEventType"]
        for e in cc.describe_pull_request_events(pullRequestId="1")["pullRequestEvents"]
    ]
    assert kinds.count("PULL_REQUEST_APPROVAL_STATE_CHANGED") == 2
    assert "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN" in kinds


def test_templates_apply_to_new_pull_requests_of_matching_branches(cc, repo):
    content = json.dumps({**json.loads(RULE), "DestinationReferences": ["refs/heads/main"]})
    template = cc.create_approval_rule_template(
        approvalRuleTemplateName="main needs one", approvalRuleTemplateContent=content
    )["approvalRuleTemplate"]
    assert cc.list_approval_rule_templates()["approvalRuleTemplateNames"] == ["main needs one"]
    cc.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName="main needs one", repositoryName="app"
    )
    batch = cc.batch_associate_approval_rule_template_with_repositories(
        approvalRuleTemplateName="main needs one", repositoryNames=["app", "gone"]
    )
    assert batch["associatedRepositoryNames"] == ["app"]
    assert batch["errors"][0]["errorCode"] == "RepositoryDoesNotExistException"
    assert cc.list_repositories_for_approval_rule_template(
        approvalRuleTemplateName="main needs one"
    )["repositoryNames"] == ["app"]
    pr = open_pull_request(cc)
    [rule] = pr["approvalRules"]
    assert (
        rule["originApprovalRuleTemplate"]["approvalRuleTemplateId"]
        == template["approvalRuleTemplateId"]
    )
    # The rule keeps the template's DestinationReferences and is still evaluated.
    evaluation = cc.evaluate_pull_request_approval_rules(
        pullRequestId=pr["pullRequestId"], revisionId=pr["revisionId"]
    )["evaluation"]
    assert evaluation["approvalRulesNotSatisfied"] == ["main needs one"]
    with pytest.raises(ClientError) as exc:
        cc.delete_pull_request_approval_rule(pullRequestId="1", approvalRuleName="main needs one")
    assert error_code(exc) == "CannotDeleteApprovalRuleFromTemplateException"
    other = cc.create_pull_request(
        title="to feature",
        targets=[
            {"repositoryName": "app", "sourceReference": "main", "destinationReference": "feature"}
        ],
    )["pullRequest"]
    assert other["approvalRules"] == []  # the template's DestinationReferences is main only
    with pytest.raises(ClientError) as exc:
        cc.delete_approval_rule_template(approvalRuleTemplateName="main needs one")
    assert error_code(exc) == "ApprovalRuleTemplateInUseException"
    cc.disassociate_approval_rule_template_from_repository(
        approvalRuleTemplateName="main needs one", repositoryName="app"
    )
    assert (
        cc.delete_approval_rule_template(approvalRuleTemplateName="main needs one")[
            "approvalRuleTemplateId"
        ]
        == template["approvalRuleTemplateId"]
    )


def test_pull_requests_go_with_their_repository(cc, repo):
    open_pull_request(cc)
    cc.delete_repository(repositoryName="app")
    with pytest.raises(ClientError) as exc:
        cc.get_pull_request(pullRequestId="1")
    assert error_code(exc) == "PullRequestDoesNotExistException"


def test_comments_on_a_pull_request_with_replies_edits_deletion_and_reactions(cc, repo, reviewer):
    pr = open_pull_request(cc)
    target = pr["pullRequestTargets"][0]
    before, after = target["destinationCommit"], target["sourceCommit"]
    posted = cc.post_comment_for_pull_request(
        pullRequestId="1",
        repositoryName="app",
        beforeCommitId=before,
        afterCommitId=after,
        content="Why b?",
        location={"filePath": "b.txt", "filePosition": 1, "relativeFileVersion": "AFTER"},
    )
    assert posted["afterBlobId"] and "beforeBlobId" not in posted  # b.txt is new
    comment_id = posted["comment"]["commentId"]
    general = cc.post_comment_for_pull_request(
        pullRequestId="1",
        repositoryName="app",
        beforeCommitId=before,
        afterCommitId=after,
        content="Looks fine",
    )["comment"]
    reply = reviewer.post_comment_reply(inReplyTo=comment_id, content="Because.")["comment"]
    assert reply["inReplyTo"] == comment_id
    with pytest.raises(ClientError) as exc:
        cc.update_comment(commentId=reply["commentId"], content="mine now")
    assert error_code(exc) == "CommentNotCreatedByCallerException"
    assert (
        cc.update_comment(commentId=comment_id, content="Why b.txt?")["comment"]["content"]
        == "Why b.txt?"
    )
    reviewer.put_comment_reaction(commentId=comment_id, reactionValue=":thumbsup:")
    cc.put_comment_reaction(commentId=comment_id, reactionValue="👍")
    seen = reviewer.get_comment(commentId=comment_id)["comment"]
    assert seen["callerReactions"] == ["THUMBSUP"]
    assert seen["reactionCounts"] == {"THUMBSUP": 2}
    reactions = cc.get_comment_reactions(commentId=comment_id)["reactionsForComment"]
    assert reactions[0]["reaction"]["unicode"] == "U+1F44D"
    assert len(reactions[0]["reactionUsers"]) == 2
    with pytest.raises(ClientError) as exc:
        cc.put_comment_reaction(commentId=comment_id, reactionValue=":nope:")
    assert error_code(exc) == "InvalidReactionValueException"
    data = cc.get_comments_for_pull_request(pullRequestId="1")["commentsForPullRequestData"]
    assert len(data) == 2  # one group per location: b.txt's thread, the general one
    file_thread = next(group for group in data if "location" in group)
    assert [c["commentId"] for c in file_thread["comments"]] == [comment_id, reply["commentId"]]
    deleted = cc.delete_comment_content(commentId=general["commentId"])["comment"]
    assert deleted["deleted"] is True and "content" not in deleted
    with pytest.raises(ClientError) as exc:
        cc.get_comment(commentId=general["commentId"])
    assert error_code(exc) == "CommentDeletedException"


def test_comments_on_compared_commits_and_their_errors(cc, repo):
    after = cc.get_branch(repositoryName="app", branchName="feature")["branch"]["commitId"]
    posted = cc.post_comment_for_compared_commit(
        repositoryName="app",
        beforeCommitId=repo,
        afterCommitId=after,
        content="About a.txt",
        location={"filePath": "a.txt", "filePosition": 1, "relativeFileVersion": "BEFORE"},
    )
    assert posted["beforeBlobId"] == posted["afterBlobId"]
    data = cc.get_comments_for_compared_commit(
        repositoryName="app", beforeCommitId=repo, afterCommitId=after
    )["commentsForComparedCommitData"]
    assert data[0]["location"]["relativeFileVersion"] == "BEFORE"
    assert data[0]["comments"][0]["content"] == "About a.txt"

    def refused(**params):
        with pytest.raises(ClientError) as exc:
            cc.post_comment_for_compared_commit(repositoryName="app", **params)
        return error_code(exc)

    assert refused(afterCommitId=after, content="") == "CommentContentRequiredException"
    assert refused(afterCommitId=after, beforeCommitId=after, content="x") == (
        "BeforeCommitIdAndAfterCommitIdAreSameException"
    )
    assert refused(afterCommitId="f" * 40, content="x") == "CommitDoesNotExistException"
    assert refused(
        afterCommitId=after, beforeCommitId=repo, content="x", location={"filePath": "zz"}
    ) == ("PathDoesNotExistException")
    assert refused(afterCommitId=after, content="x" * 10241) == (
        "CommentContentSizeLimitExceededException"
    )


def test_each_pull_request_event_reaches_the_listeners(cc, repo, monkeypatch):
    from helpers.emulator.codecommit import pull_requests

    seen = []
    monkeypatch.setattr(
        pull_requests,
        "event_listeners",
        [lambda account, region, pr, event: seen.append((account, pr.pull_request_id, event))],
    )
    open_pull_request(cc)
    cc.update_pull_request_status(pullRequestId="1", pullRequestStatus="CLOSED")
    assert [(a, i, e.event_type) for a, i, e in seen] == [
        ("123456789012", "1", "PULL_REQUEST_CREATED"),
        ("123456789012", "1", "PULL_REQUEST_STATUS_CHANGED"),
    ]


# Merging pull requests (how-to-merge-pull-request.md, how-to-resolve-conflict-pull-request.md)


def branch_tip(cc, branch: str) -> str:
    return cc.get_branch(repositoryName="app", branchName=branch)["branch"]["commitId"]


def conflicting_pull_request(cc, repo):
    """feature and main both change a.txt's one line: a conflict at any detail level."""
    cc.put_file(
        repositoryName="app",
        branchName="feature",
        filePath="a.txt",
        fileContent=b"feature\n",
        parentCommitId=branch_tip(cc, "feature"),
    )
    cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="a.txt",
        fileContent=b"main\n",
        parentCommitId=repo,
    )
    return open_pull_request(cc)


def test_merge_pull_request_by_fast_forward(cc, repo):
    pr = open_pull_request(cc)
    source = pr["pullRequestTargets"][0]["sourceCommit"]
    merged = cc.merge_pull_request_by_fast_forward(
        pullRequestId="1", repositoryName="app", sourceCommitId=source
    )["pullRequest"]
    assert merged["pullRequestStatus"] == "CLOSED"
    assert merged["pullRequestTargets"][0]["mergeMetadata"] == {
        "isMerged": True,
        "mergedBy": "arn:aws:iam::123456789012:root",
        "mergeCommitId": source,
        "mergeOption": "FAST_FORWARD_MERGE",
    }
    assert branch_tip(cc, "main") == source
    kinds = [
        e["pullRequestEventType"]
        for e in cc.describe_pull_request_events(pullRequestId="1")["pullRequestEvents"]
    ]
    assert kinds == [
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_MERGE_STATE_CHANGED",
        "PULL_REQUEST_STATUS_CHANGED",
    ]
    with pytest.raises(ClientError) as exc:
        cc.merge_pull_request_by_fast_forward(pullRequestId="1", repositoryName="app")
    assert error_code(exc) == "PullRequestAlreadyClosedException"


def test_fast_forward_of_a_diverged_pull_request_needs_another_strategy(cc, repo):
    pr = open_pull_request(cc)
    moved = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="m.txt",
        fileContent=b"m\n",
        parentCommitId=repo,
    )["commitId"]
    with pytest.raises(ClientError) as exc:
        cc.merge_pull_request_by_fast_forward(pullRequestId="1", repositoryName="app")
    assert error_code(exc) == "ManualMergeRequiredException"
    assert branch_tip(cc, "main") == moved
    assert cc.get_pull_request(pullRequestId="1")["pullRequest"]["pullRequestStatus"] == "OPEN"
    # No conflict: a three-way merge keeps both sides, with both parents.
    merged = cc.merge_pull_request_by_three_way(
        pullRequestId=pr["pullRequestId"],
        repositoryName="app",
        commitMessage="Merge pull request 1",
        authorName="Maria Garcia",
        email="maria_garcia@example.com",
    )["pullRequest"]
    metadata = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert metadata["mergeOption"] == "THREE_WAY_MERGE"
    commit = cc.get_commit(repositoryName="app", commitId=branch_tip(cc, "main"))["commit"]
    assert commit["commitId"] == metadata["mergeCommitId"]
    assert set(commit["parents"]) == {moved, pr["pullRequestTargets"][0]["sourceCommit"]}
    assert commit["message"].strip() == "Merge pull request 1"
    assert commit["author"]["name"] == "Maria Garcia"
    folder = cc.get_folder(repositoryName="app", folderPath="/", commitSpecifier="main")
    assert {f["relativePath"] for f in folder["files"]} == {"a.txt", "b.txt", "m.txt"}


def test_merge_pull_request_by_squash_writes_one_commit_on_the_destination(cc, repo):
    open_pull_request(cc)
    moved = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="m.txt",
        fileContent=b"m\n",
        parentCommitId=repo,
    )["commitId"]
    merged = cc.merge_pull_request_by_squash(pullRequestId="1", repositoryName="app")["pullRequest"]
    metadata = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert metadata["mergeOption"] == "SQUASH_MERGE"
    commit = cc.get_commit(repositoryName="app", commitId=branch_tip(cc, "main"))["commit"]
    assert commit["commitId"] == metadata["mergeCommitId"]
    assert commit["parents"] == [moved]
    assert merged["pullRequestStatus"] == "CLOSED"


@pytest.mark.parametrize("strategy", ["squash", "three_way"])
def test_conflicts_refuse_the_merge_until_resolved(cc, repo, strategy):
    conflicting_pull_request(cc, repo)
    merge = getattr(cc, f"merge_pull_request_by_{strategy}")
    with pytest.raises(ClientError) as exc:
        merge(pullRequestId="1", repositoryName="app")
    assert error_code(exc) == "ManualMergeRequiredException"
    before = branch_tip(cc, "main")
    conflicts = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )
    assert [c["filePath"] for c in conflicts["conflictMetadataList"]] == ["a.txt"]
    with pytest.raises(ClientError) as exc:
        merge(
            pullRequestId="1",
            repositoryName="app",
            conflictResolution={
                "replaceContents": [{"filePath": "a.txt", "replacementType": "NOPE"}]
            },
        )
    assert error_code(exc) == "InvalidReplacementTypeException"
    assert branch_tip(cc, "main") == before
    merged = merge(
        pullRequestId="1",
        repositoryName="app",
        conflictResolution={
            "replaceContents": [
                {"filePath": "a.txt", "replacementType": "USE_NEW_CONTENT", "content": b"both\n"}
            ]
        },
    )["pullRequest"]
    assert merged["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is True
    content = cc.get_file(repositoryName="app", filePath="a.txt", commitSpecifier="main")
    assert content["fileContent"] == b"both\n"


def test_a_strategy_resolves_conflicts_without_a_resolution(cc, repo):
    conflicting_pull_request(cc, repo)
    cc.merge_pull_request_by_three_way(
        pullRequestId="1", repositoryName="app", conflictResolutionStrategy="ACCEPT_SOURCE"
    )
    content = cc.get_file(repositoryName="app", filePath="a.txt", commitSpecifier="main")
    assert content["fileContent"] == b"feature\n"


def test_merge_refusals(cc, repo, reviewer):
    pr = open_pull_request(cc)
    source = pr["pullRequestTargets"][0]["sourceCommit"]

    def refused(**params) -> str:
        with pytest.raises(ClientError) as exc:
            cc.merge_pull_request_by_fast_forward(**{"pullRequestId": "1", **params})
        return error_code(exc)

    assert refused(repositoryName="app", sourceCommitId=repo) == (
        "TipOfSourceReferenceIsDifferentException"
    )
    assert refused(repositoryName="app", sourceCommitId="not-a-commit") == (
        "InvalidCommitIdException"
    )
    cc.create_repository(repositoryName="other")
    assert refused(repositoryName="other") == "RepositoryNotAssociatedWithPullRequestException"
    assert refused(repositoryName="missing") == "RepositoryDoesNotExistException"
    assert refused(repositoryName="app", pullRequestId="99") == "PullRequestDoesNotExistException"
    cc.create_pull_request_approval_rule(
        pullRequestId="1", approvalRuleName="one reviewer", approvalRuleContent=RULE
    )
    assert refused(repositoryName="app") == "PullRequestApprovalRulesNotSatisfiedException"
    with pytest.raises(ClientError) as exc:
        cc.merge_pull_request_by_squash(
            pullRequestId="1", repositoryName="app", conflictDetailLevel="WORD_LEVEL"
        )
    assert error_code(exc) == "InvalidConflictDetailLevelException"
    assert branch_tip(cc, "main") == repo
    # Approved by someone else (not the author): the merge goes through.
    reviewer.update_pull_request_approval_state(
        pullRequestId="1", revisionId=pr["revisionId"], approvalState="APPROVE"
    )
    cc.merge_pull_request_by_fast_forward(
        pullRequestId="1", repositoryName="app", sourceCommitId=source
    )
    assert branch_tip(cc, "main") == source


def test_an_override_lets_a_pull_request_merge_without_approvals(cc, repo):
    pr = open_pull_request(cc)
    cc.create_pull_request_approval_rule(
        pullRequestId="1", approvalRuleName="one reviewer", approvalRuleContent=RULE
    )
    cc.override_pull_request_approval_rules(
        pullRequestId="1", revisionId=pr["revisionId"], overrideStatus="OVERRIDE"
    )
    merged = cc.merge_pull_request_by_squash(pullRequestId="1", repositoryName="app")
    assert merged["pullRequest"]["pullRequestStatus"] == "CLOSED"
