"""CodeCommit's pull request and comment events on the local EventBridge, shaped as
monitoring-events.md shows them ("CodeCommit Pull Request State Change", "CodeCommit
Comment on Pull Request", "CodeCommit Comment on Commit", "CodeCommit Comment Reaction
Change"). events.py puts them on the bus; this maps the kit's records to their fields.

The pull request events come from pull_requests.event_listeners (on_pull_request_event,
registered by handlers.install); the comment events from the comment operations.
Nothing here raises into the operation that caused the event.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from .. import events

if TYPE_CHECKING:
    from .comments import Comment, Reaction
    from .models import Repository
    from .pull_requests import Event, PullRequest

log = logging.getLogger(__name__)

# DescribePullRequestEvents' event type -> the EventBridge event's "event" and the
# notification's verb (monitoring-events.md).
PULL_REQUEST_EVENTS = {
    "PULL_REQUEST_CREATED": ("pullRequestCreated", "Created"),
    "PULL_REQUEST_SOURCE_REFERENCE_UPDATED": ("pullRequestSourceBranchUpdated", "Updated"),
    "PULL_REQUEST_STATUS_CHANGED": ("pullRequestStatusChanged", "Updated"),
    "PULL_REQUEST_MERGE_STATE_CHANGED": ("pullRequestMergeStatusUpdated", "Updated"),
    "PULL_REQUEST_APPROVAL_STATE_CHANGED": ("pullRequestApprovalStateChanged", "Updated"),
    "PULL_REQUEST_APPROVAL_RULE_CREATED": ("pullRequestApprovalRuleCreated", "Created"),
    "PULL_REQUEST_APPROVAL_RULE_UPDATED": ("pullRequestApprovalRuleUpdated", "Updated"),
    "PULL_REQUEST_APPROVAL_RULE_DELETED": ("pullRequestApprovalRuleDeleted", "Deleted"),
    "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN": ("pullRequestApprovalRuleOverridden", "Updated"),
}


def java_date(moment: dt.datetime) -> str:
    """Dates as the examples write them (Java's Date.toString): Wed Nov 06 19:10:58 UTC 2019."""
    m = moment.astimezone(dt.timezone.utc)
    return f"{m:%a %b %d %H:%M:%S} UTC {m.year}"


def _repository(account: str, region: str, name: str) -> Repository | None:
    from .models import codecommit_lab_backends

    return codecommit_lab_backends[account][region].repositories.get(name)


def on_pull_request_event(
    account: str, region: str, pull_request: PullRequest, event: Event
) -> None:
    """A pull_requests listener: the "CodeCommit Pull Request State Change" of the event."""
    if event.event_type not in PULL_REQUEST_EVENTS or not events.listening(account, region):
        return
    try:
        repo = _repository(account, region, pull_request.target.repository_name)
        if repo is not None:
            events.emit_codecommit_pull_request(repo, pull_request_detail(pull_request, event))
    except Exception:  # an event must never fail the operation that caused it
        log.exception("pull request event %s not shaped", event.event_type)


def pull_request_detail(pull_request: PullRequest, event: Event) -> dict[str, Any]:
    """The detail of monitoring-events.md's pullRequest* examples."""
    name, verb = PULL_REQUEST_EVENTS[event.event_type]
    target = pull_request.target
    merged = target.merge.is_merged
    # A merge closes the pull request: its event says Closed (the example), though the
    # status change is recorded just after it.
    closed = merged or pull_request.status == "CLOSED"
    detail: dict[str, Any] = {
        "author": pull_request.author_arn,
        "creationDate": java_date(pull_request.created),
        "description": pull_request.description or "",
        "destinationCommit": target.destination_commit,
        "destinationReference": target.destination_reference,
        "event": name,
        "isMerged": "True" if merged else "False",
        "lastModifiedDate": java_date(pull_request.last_activity),
        "pullRequestId": pull_request.pull_request_id,
        "pullRequestStatus": "Closed" if closed else "Open",
        "repositoryNames": [target.repository_name],
        "revisionId": pull_request.revision_id,
        "sourceCommit": target.source_commit,
        "sourceReference": target.source_reference,
        "title": pull_request.title,
    }
    if event.actor_arn:
        detail["callerUserArn"] = event.actor_arn
    metadata = event.metadata
    if event.event_type == "PULL_REQUEST_MERGE_STATE_CHANGED" and target.merge.merge_option:
        detail["mergeOption"] = target.merge.merge_option
    elif event.event_type == "PULL_REQUEST_APPROVAL_STATE_CHANGED":
        detail["approvalStatus"] = metadata.get("approvalStatus")
    elif event.event_type == "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN":
        detail["overrideStatus"] = metadata.get("overrideStatus")
    elif event.metadata_key == "approvalRuleEventMetadata":
        detail["approvalRuleId"] = metadata.get("approvalRuleId")
        detail["approvalRuleName"] = metadata.get("approvalRuleName")
        rule = next(
            (r for r in pull_request.approval_rules if r.rule_id == metadata.get("approvalRuleId")),
            None,
        )
        if rule is not None:
            detail["approvalRuleContentSha256"] = rule.sha256
        elif metadata.get("approvalRuleContent"):
            from hashlib import sha256

            content = str(metadata["approvalRuleContent"]).encode()
            detail["approvalRuleContentSha256"] = sha256(content).hexdigest()
    who = event.actor_arn or "A git push"
    detail["notificationBody"] = (
        "A pull request event occurred in the following AWS CodeCommit repository: "
        f"{target.repository_name}. User: {who}. Event: {verb}. Pull request name: "
        f"{pull_request.pull_request_id}. Additional information: {name}. Pull request "
        f"title: {pull_request.title}."
    )
    return detail


def comment_event(repo: Repository, comment: Comment, caller: str, created: bool) -> None:
    """ "CodeCommit Comment on Pull Request" or "... on Commit" (commentOn*Created/Updated)."""
    if not events.listening(repo.account_id, repo.region):
        return
    try:
        context = comment.context
        on_pull_request = context.pull_request_id is not None
        kind = "PullRequest" if on_pull_request else "Commit"
        detail: dict[str, Any] = {
            "afterCommitId": context.after_commit,
            "callerUserArn": caller,
            "commentId": comment.comment_id,
            "event": f"commentOn{kind}{'Created' if created else 'Updated'}",
            "notificationBody": (
                "A comment event occurred in the following AWS CodeCommit repository: "
                f"{repo.name}. The user {caller} made a comment"
                + (f" on pull request {context.pull_request_id}." if on_pull_request else ".")
            ),
            "repositoryId": repo.repository_id,
            "repositoryName": repo.name,
        }
        if context.before_commit:
            detail["beforeCommitId"] = context.before_commit
        if comment.in_reply_to:
            detail["inReplyTo"] = comment.in_reply_to
        if on_pull_request:
            detail["pullRequestId"] = context.pull_request_id
        detail_type = (
            "CodeCommit Comment on Pull Request"
            if on_pull_request
            else "CodeCommit Comment on Commit"
        )
        events.emit_codecommit(repo, detail_type, detail)
    except Exception:  # an event must never fail the operation that caused it
        log.exception("comment event not shaped")


def reaction_event(
    repo: Repository, comment: Comment, reaction: Reaction, caller: str, created: bool
) -> None:
    """ "CodeCommit Comment Reaction Change" (commentReactionCreated/Updated)."""
    if not events.listening(repo.account_id, repo.region):
        return
    short_code = f":{reaction.short_code.lower()}:"
    detail = {
        "callerUserArn": caller,
        "commentId": comment.comment_id,
        "event": f"commentReaction{'Created' if created else 'Updated'}",
        "notificationBody": (
            "A comment reaction event occurred in the following AWS CodeCommit Repository: "
            f"{repo.name}. The user: {caller} made a comment reaction {reaction.emoji} to the "
            f"comment {comment.comment_id}."
        ),
        "reactionEmojis": [reaction.emoji],
        "reactionShortcodes": [short_code],
        "reactionUnicodes": [reaction.unicode],
        "repositoryId": repo.repository_id,
        "repositoryName": repo.name,
    }
    events.emit_codecommit(repo, "CodeCommit Comment Reaction Change", detail)
