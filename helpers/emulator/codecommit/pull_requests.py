"""CodeCommit pull requests: their state, events and approvals, per account and region.

A pull request targets one repository's source and destination branches; its source and
destination commits follow the branches (a push or an API commit to the source branch is
a PULL_REQUEST_SOURCE_REFERENCE_UPDATED event and a new revision, which resets the
approvals, as on AWS). A pull request whose source commit reaches its destination branch
by a push is merged and closed, as AWS does. The merge operations (MergePullRequestBy*)
record their result with `PullRequests.mark_merged`.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dulwich.graph import find_merge_base
from dulwich.objects import ObjectID

from ..core import now
from . import approval_rules
from . import exceptions as err
from .approval_rules import ApprovalRule

if TYPE_CHECKING:
    from .models import CodeCommitLabBackend, Repository

OPEN, CLOSED = "OPEN", "CLOSED"
MAX_OPEN_PER_REPOSITORY = 1000  # AWS's quota: open pull requests per repository
MAX_TITLE = 150
MAX_DESCRIPTION = 10240
PULL_REQUEST_ID = re.compile(r"^[1-9][0-9]{0,18}$")
BRANCH_PREFIX = "refs/heads/"
REVISION_ID = re.compile(r"^[0-9a-f]{64}$")
MAX_APPROVALS = 200


@dataclass
class MergeMetadata:
    """What a merge records (MergePullRequestBy* or a push that merges the source)."""

    is_merged: bool = False
    merged_by: str | None = None
    merge_commit_id: str | None = None
    merge_option: str | None = None  # FAST_FORWARD_MERGE | SQUASH_MERGE | THREE_WAY_MERGE


@dataclass
class Target:
    repository_name: str
    source_reference: str  # refs/heads/<branch>
    destination_reference: str
    source_commit: str
    destination_commit: str
    merge_base: str | None
    merge: MergeMetadata = field(default_factory=MergeMetadata)

    @property
    def source_branch(self) -> str:
        return self.source_reference[len(BRANCH_PREFIX) :]

    @property
    def destination_branch(self) -> str:
        return self.destination_reference[len(BRANCH_PREFIX) :]


@dataclass
class Event:
    event_type: str
    actor_arn: str | None
    metadata_key: str | None = None  # the PullRequestEvent member that holds metadata
    metadata: dict[str, Any] = field(default_factory=dict)
    date: datetime = field(default_factory=now)


@dataclass
class PullRequest:
    pull_request_id: str
    title: str
    description: str | None
    author_arn: str
    target: Target
    client_request_token: str | None
    status: str = OPEN
    created: datetime = field(default_factory=now)
    last_activity: datetime = field(default_factory=now)
    revision_id: str = ""
    approval_rules: list[ApprovalRule] = field(default_factory=list)
    approvals: dict[str, str] = field(default_factory=dict)  # approver ARN -> revision id
    override: tuple[str, str] | None = None  # (revision id, ARN of who overrode)
    events: list[Event] = field(default_factory=list)

    def new_revision(self) -> None:
        """A revision per (source, destination) state: approvals are for one revision."""
        seed = f"{self.pull_request_id}:{self.target.source_commit}:{uuid.uuid4()}"
        self.revision_id = hashlib.sha256(seed.encode()).hexdigest()
        self.approvals.clear()
        self.override = None

    def record(self, event: Event) -> None:
        self.events.append(event)
        self.last_activity = event.date

    def rule(self, name: str | None) -> ApprovalRule:
        if not name:
            raise err.ApprovalRuleNameRequiredException("An approval rule name is required.")
        for rule in self.approval_rules:
            if rule.name == name:
                return rule
        raise err.ApprovalRuleDoesNotExistException(
            f"The approval rule {name} does not exist for pull request {self.pull_request_id}."
        )


# Called as listener(account, region, pull_request, event) for each event a pull request
# records (the EventBridge side: "CodeCommit Pull Request State Change").
PullRequestListener = Callable[[str, str, "PullRequest", Event], None]
event_listeners: list[PullRequestListener] = []


class PullRequests:
    """The pull requests of one account and region (held by the CodeCommit backend)."""

    def __init__(self, account_id: str = "", region: str = "") -> None:
        self.account_id, self.region = account_id, region
        self.items: dict[str, PullRequest] = {}
        self.last_number = 0  # ids are sequential per account and region, as on AWS
        self.by_token: dict[str, str] = {}
        self.lock = threading.RLock()

    # Create and read ----------------------------------------------------------------

    def create(
        self,
        backend: CodeCommitLabBackend,
        author_arn: str,
        title: str | None,
        description: str | None,
        targets: list[dict] | None,
        token: str | None,
        templates: approval_rules.Templates,
    ) -> PullRequest:
        validate_title(title)
        validate_description(description)
        if token is not None and not token:
            raise err.InvalidClientRequestTokenException("The client request token is not valid.")
        repo, source, destination = _one_target(backend, targets)
        asked = (title, description, repo.name, source, destination)
        with self.lock:
            if token and token in self.by_token:
                existing = self.items.get(self.by_token[token])
                if existing is not None and _request_of(existing) == asked:
                    return existing
                raise err.IdempotencyParameterMismatchException(
                    "The client request token was used before with other parameters."
                )
            open_here = [
                p
                for p in self.items.values()
                if p.status == OPEN and p.target.repository_name == repo.name
            ]
            if len(open_here) >= MAX_OPEN_PER_REPOSITORY:
                raise err.MaximumOpenPullRequestsExceededException(
                    f"You cannot create the pull request because the repository {repo.name} "
                    f"has reached the limit of {MAX_OPEN_PER_REPOSITORY} open pull requests."
                )
            git = repo.git()
            source_commit = backend.get_branch(repo, source)
            destination_commit = backend.get_branch(repo, destination)
            self.last_number += 1
            pull_request = PullRequest(
                str(self.last_number),
                title or "",
                description,
                author_arn,
                Target(
                    repo.name,
                    BRANCH_PREFIX + source,
                    BRANCH_PREFIX + destination,
                    source_commit,
                    destination_commit,
                    merge_base(git, source_commit, destination_commit),
                ),
                token,
            )
            pull_request.new_revision()
            for template in templates.applying_to(repo.name, destination):
                pull_request.approval_rules.append(template.rule_for_pull_request(author_arn))
            self.items[pull_request.pull_request_id] = pull_request
            if token:
                self.by_token[token] = pull_request.pull_request_id
            self._record(
                pull_request,
                Event(
                    "PULL_REQUEST_CREATED",
                    author_arn,
                    "pullRequestCreatedEventMetadata",
                    {
                        "repositoryName": repo.name,
                        "sourceCommitId": source_commit,
                        "destinationCommitId": destination_commit,
                        "mergeBase": pull_request.target.merge_base,
                    },
                ),
            )
            return pull_request

    def get(self, pull_request_id: str | None) -> PullRequest:
        if not pull_request_id:
            raise err.PullRequestIdRequiredException("A pull request ID is required.")
        if not PULL_REQUEST_ID.match(pull_request_id):
            raise err.InvalidPullRequestIdException(
                f"The pull request ID {pull_request_id} is not valid."
            )
        found = self.items.get(pull_request_id)
        if found is None:
            raise err.PullRequestDoesNotExistException(
                f"The pull request {pull_request_id} does not exist."
            )
        return found

    def ids(self, repository_name: str, author_arn: str | None, status: str | None) -> list[str]:
        """Newest first, as the console and AWS list them."""
        if status is not None and status not in (OPEN, CLOSED):
            raise err.InvalidPullRequestStatusException(
                f"The pull request status {status} is not valid: OPEN or CLOSED."
            )
        if author_arn is not None and not author_arn.startswith("arn:"):
            raise err.InvalidAuthorArnException(f"The author ARN {author_arn} is not valid.")
        return [
            p.pull_request_id
            for p in sorted(self.items.values(), key=lambda p: -int(p.pull_request_id))
            if p.target.repository_name == repository_name
            and (author_arn is None or p.author_arn == author_arn)
            and (status is None or p.status == status)
        ]

    # Update ----------------------------------------------------------------------

    def update_title(self, pull_request_id: str, title: str | None) -> PullRequest:
        pull_request = self._open(pull_request_id)
        validate_title(title)
        pull_request.title = title or ""
        pull_request.last_activity = now()
        return pull_request

    def update_description(self, pull_request_id: str, description: str | None) -> PullRequest:
        pull_request = self._open(pull_request_id)
        validate_description(description)
        pull_request.description = description
        pull_request.last_activity = now()
        return pull_request

    def update_status(self, pull_request_id: str, status: str | None, actor: str) -> PullRequest:
        pull_request = self.get(pull_request_id)
        if not status:
            raise err.PullRequestStatusRequiredException("A pull request status is required.")
        if status not in (OPEN, CLOSED):
            raise err.InvalidPullRequestStatusException(
                f"The pull request status {status} is not valid: OPEN or CLOSED."
            )
        with self.lock:
            if pull_request.status == CLOSED and status == OPEN:
                raise err.InvalidPullRequestStatusUpdateException(
                    "A closed pull request cannot be reopened."
                )
            if pull_request.status != status:
                self._set_status(pull_request, status, actor)
        return pull_request

    def mark_merged(
        self,
        pull_request: PullRequest,
        merged_by: str | None,
        merge_commit_id: str | None,
        merge_option: str | None,
    ) -> None:
        """Record a merge (the merge engine's MergePullRequestBy*, or a push): the pull
        request is merged, then closed, with both events, as AWS shows them."""
        with self.lock:
            pull_request.target.merge = MergeMetadata(
                True, merged_by, merge_commit_id, merge_option
            )
            self._record(
                pull_request,
                Event(
                    "PULL_REQUEST_MERGE_STATE_CHANGED",
                    merged_by,
                    "pullRequestMergedStateChangedEventMetadata",
                    {
                        "repositoryName": pull_request.target.repository_name,
                        "destinationReference": pull_request.target.destination_reference,
                        "mergeMetadata": merge_metadata_reply(pull_request.target.merge),
                    },
                ),
            )
            if pull_request.status == OPEN:
                self._set_status(pull_request, CLOSED, merged_by)

    def _set_status(self, pull_request: PullRequest, status: str, actor: str | None) -> None:
        pull_request.status = status
        self._record(
            pull_request,
            Event(
                "PULL_REQUEST_STATUS_CHANGED",
                actor,
                "pullRequestStatusChangedEventMetadata",
                {"pullRequestStatus": status},
            ),
        )

    def _record(self, pull_request: PullRequest, event: Event) -> None:
        pull_request.record(event)
        for listener in list(event_listeners):
            listener(self.account_id, self.region, pull_request, event)

    def _open(self, pull_request_id: str | None) -> PullRequest:
        pull_request = self.get(pull_request_id)
        if pull_request.status != OPEN:
            raise err.PullRequestAlreadyClosedException(
                f"The pull request {pull_request_id} is already closed."
            )
        return pull_request

    # Approval rules, approvals and overrides -------------------------------------------

    def create_rule(
        self, pull_request_id: str | None, name: str | None, content: str | None, actor: str
    ) -> ApprovalRule:
        pull_request = self._open(pull_request_id)
        _validate_rule_name(name)
        _validate_rule_content(content)
        with self.lock:
            if any(rule.name == name for rule in pull_request.approval_rules):
                raise err.ApprovalRuleNameAlreadyExistsException(
                    f"An approval rule named {name} already exists for this pull request."
                )
            if len(pull_request.approval_rules) >= approval_rules.MAX_RULES_PER_PULL_REQUEST:
                raise err.NumberOfRulesExceededException(
                    "A pull request can have at most "
                    f"{approval_rules.MAX_RULES_PER_PULL_REQUEST} approval rules."
                )
            rule = ApprovalRule(str(name), str(content), actor)
            pull_request.approval_rules.append(rule)
            self._rule_event(pull_request, "PULL_REQUEST_APPROVAL_RULE_CREATED", rule, actor)
            return rule

    def update_rule(
        self,
        pull_request_id: str | None,
        name: str | None,
        content: str | None,
        existing_sha: str | None,
        actor: str,
    ) -> ApprovalRule:
        pull_request = self._open(pull_request_id)
        rule = pull_request.rule(name)
        if rule.origin is not None:
            raise err.CannotModifyApprovalRuleFromTemplateException(
                "An approval rule created from a template cannot be modified."
            )
        _validate_rule_content(content)
        if existing_sha is not None and existing_sha != rule.sha256:
            raise err.InvalidRuleContentSha256Exception(
                "The SHA-256 hash of the existing content does not match the rule's."
            )
        rule.content = str(content)
        rule.modified = now()
        rule.last_modified_user = actor
        self._rule_event(pull_request, "PULL_REQUEST_APPROVAL_RULE_UPDATED", rule, actor)
        return rule

    def delete_rule(self, pull_request_id: str | None, name: str | None, actor: str) -> str:
        """The deleted rule's id; '' when there was none (as AWS answers)."""
        pull_request = self._open(pull_request_id)
        _validate_rule_name(name)
        with self.lock:
            rule = next((r for r in pull_request.approval_rules if r.name == name), None)
            if rule is None:
                return ""
            if rule.origin is not None:
                raise err.CannotDeleteApprovalRuleFromTemplateException(
                    "An approval rule created from a template cannot be deleted."
                )
            pull_request.approval_rules.remove(rule)
            self._rule_event(pull_request, "PULL_REQUEST_APPROVAL_RULE_DELETED", rule, actor)
            return rule.rule_id

    def check_revision(
        self, pull_request: PullRequest, revision_id: str | None, past_allowed: bool
    ) -> bool:
        """Whether revision_id is the current revision; past_allowed: an older one is
        answered (with no state) rather than refused with RevisionNotCurrentException."""
        if not revision_id:
            raise err.RevisionIdRequiredException("A revision ID is required.")
        if not REVISION_ID.match(revision_id):
            raise err.InvalidRevisionIdException(f"The revision ID {revision_id} is not valid.")
        if revision_id == pull_request.revision_id:
            return True
        if not past_allowed:
            raise err.RevisionNotCurrentException(
                f"The revision ID {revision_id} is not the pull request's current revision."
            )
        return False

    def approvals(self, pull_request: PullRequest, revision_id: str | None) -> list[str]:
        if not self.check_revision(pull_request, revision_id, past_allowed=True):
            return []
        return sorted(pull_request.approvals)

    def set_approval(
        self, pull_request: PullRequest, revision_id: str | None, state: str | None, actor: str
    ) -> None:
        self.check_revision(pull_request, revision_id, past_allowed=False)
        if not state:
            raise err.ApprovalStateRequiredException("An approval state is required.")
        if state not in ("APPROVE", "REVOKE"):
            raise err.InvalidApprovalStateException(
                f"The approval state {state} is not valid: APPROVE or REVOKE."
            )
        if pull_request.status != OPEN:
            raise err.PullRequestAlreadyClosedException("The pull request is already closed.")
        if state == "APPROVE" and actor == pull_request.author_arn:
            raise err.PullRequestCannotBeApprovedByAuthorException(
                "The author of a pull request cannot approve it."
            )
        with self.lock:
            if state == "APPROVE":
                if len(pull_request.approvals) >= MAX_APPROVALS:
                    raise err.MaximumNumberOfApprovalsExceededException(
                        f"A pull request can have at most {MAX_APPROVALS} approvals."
                    )
                pull_request.approvals[actor] = pull_request.revision_id
            else:
                pull_request.approvals.pop(actor, None)
            self._record(
                pull_request,
                Event(
                    "PULL_REQUEST_APPROVAL_STATE_CHANGED",
                    actor,
                    "approvalStateChangedEventMetadata",
                    {"revisionId": pull_request.revision_id, "approvalStatus": state},
                ),
            )

    def evaluate(
        self, pull_request: PullRequest, revision_id: str | None
    ) -> tuple[list[str], list[str]]:
        """(names of the rules satisfied, names of those not) at the current revision."""
        self.check_revision(pull_request, revision_id, past_allowed=False)
        approvers = list(pull_request.approvals)
        satisfied: list[str] = []
        not_satisfied: list[str] = []
        for rule in pull_request.approval_rules:
            (satisfied if rule.satisfied_by(approvers) else not_satisfied).append(rule.name)
        return satisfied, not_satisfied

    def override(
        self, pull_request: PullRequest, revision_id: str | None, status: str | None, actor: str
    ) -> None:
        self.check_revision(pull_request, revision_id, past_allowed=False)
        if not status:
            raise err.OverrideStatusRequiredException("An override status is required.")
        if status not in ("OVERRIDE", "REVOKE"):
            raise err.InvalidOverrideStatusException(
                f"The override status {status} is not valid: OVERRIDE or REVOKE."
            )
        if pull_request.status != OPEN:
            raise err.PullRequestAlreadyClosedException("The pull request is already closed.")
        with self.lock:
            if (status == "OVERRIDE") == (pull_request.override is not None):
                already = "set" if pull_request.override else "revoked"
                raise err.OverrideAlreadySetException(f"The override is already {already}.")
            pull_request.override = (
                (pull_request.revision_id, actor) if status == "OVERRIDE" else None
            )
            self._record(
                pull_request,
                Event(
                    "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN",
                    actor,
                    "approvalRuleOverriddenEventMetadata",
                    {"revisionId": pull_request.revision_id, "overrideStatus": status},
                ),
            )

    def _rule_event(
        self, pull_request: PullRequest, event_type: str, rule: ApprovalRule, actor
    ) -> None:
        self._record(
            pull_request,
            Event(
                event_type,
                actor,
                "approvalRuleEventMetadata",
                {
                    "approvalRuleName": rule.name,
                    "approvalRuleId": rule.rule_id,
                    "approvalRuleContent": rule.content,
                },
            ),
        )

    # Events --------------------------------------------------------------------------

    def events(
        self, pull_request_id: str, event_type: str | None, actor_arn: str | None
    ) -> list[tuple[str, Event]]:
        pull_request = self.get(pull_request_id)
        if event_type is not None and event_type not in EVENT_TYPES:
            raise err.InvalidPullRequestEventTypeException(
                f"The pull request event type {event_type} is not valid."
            )
        if actor_arn is not None and not actor_arn.startswith("arn:"):
            raise err.InvalidActorArnException(f"The actor ARN {actor_arn} is not valid.")
        return [
            (pull_request.pull_request_id, event)
            for event in pull_request.events
            if (event_type is None or event.event_type == event_type)
            and (actor_arn is None or event.actor_arn == actor_arn)
        ]

    # Branches move (API commits, pushes, branch deletions) ------------------------------

    def branch_moved(self, repo: Repository, branch: str, new: str | None) -> None:
        if new is None:
            return  # a deleted branch leaves its pull requests as they were, as on AWS
        with self.lock:
            for pull_request in list(self.items.values()):
                target = pull_request.target
                if pull_request.status != OPEN or target.repository_name != repo.name:
                    continue
                moved = False
                if branch == target.source_branch and new != target.source_commit:
                    self._source_moved(repo, pull_request, new)
                    moved = True
                if branch == target.destination_branch and new != target.destination_commit:
                    target.destination_commit = new
                    target.merge_base = merge_base(repo.git(), target.source_commit, new)
                    moved = True
                if moved and target.merge_base == target.source_commit:
                    # The source is in the destination: merged by a push.
                    self.mark_merged(pull_request, None, None, None)

    def _source_moved(self, repo: Repository, pull_request: PullRequest, new: str) -> None:
        target = pull_request.target
        before = target.source_commit
        target.source_commit = new
        target.merge_base = merge_base(repo.git(), new, target.destination_commit)
        pull_request.new_revision()
        self._record(
            pull_request,
            Event(
                "PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
                None,
                "pullRequestSourceReferenceUpdatedEventMetadata",
                {
                    "repositoryName": repo.name,
                    "beforeCommitId": before,
                    "afterCommitId": new,
                    "mergeBase": target.merge_base,
                },
            ),
        )

    def repository_deleted(self, repository_name: str) -> None:
        """Pull requests go with their repository."""
        with self.lock:
            for pull_request_id, pull_request in list(self.items.items()):
                if pull_request.target.repository_name == repository_name:
                    del self.items[pull_request_id]


EVENT_TYPES = frozenset(
    {
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_STATUS_CHANGED",
        "PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
        "PULL_REQUEST_MERGE_STATE_CHANGED",
        "PULL_REQUEST_APPROVAL_RULE_CREATED",
        "PULL_REQUEST_APPROVAL_RULE_UPDATED",
        "PULL_REQUEST_APPROVAL_RULE_DELETED",
        "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN",
        "PULL_REQUEST_APPROVAL_STATE_CHANGED",
    }
)


def merge_base(git, first: str, second: str) -> str | None:
    bases = find_merge_base(git, [ObjectID(first.encode()), ObjectID(second.encode())])
    return bases[0].decode() if bases else None


def _validate_rule_name(name: str | None) -> None:
    if not name:
        raise err.ApprovalRuleNameRequiredException("An approval rule name is required.")
    if len(name) > 100 or not name.strip():
        raise err.InvalidApprovalRuleNameException(f"The approval rule name {name!r} is not valid.")


def _validate_rule_content(content: str | None) -> None:
    if not content:
        raise err.ApprovalRuleContentRequiredException("The approval rule content is required.")
    approval_rules.parse(content, err.InvalidApprovalRuleContentException)


def validate_title(title: str | None) -> None:
    if title is None or not title.strip():
        raise err.TitleRequiredException("A pull request title is required.")
    if len(title) > MAX_TITLE:
        raise err.InvalidTitleException(f"The title is longer than {MAX_TITLE} characters.")


def validate_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise err.InvalidDescriptionException(
            f"The description is longer than {MAX_DESCRIPTION} characters."
        )


def branch_of(reference: str | None) -> str:
    """A branch name from 'main' or 'refs/heads/main'; pull requests are between branches."""
    if not reference:
        raise err.ReferenceNameRequiredException("A reference name is required.")
    if reference.startswith(BRANCH_PREFIX):
        return reference[len(BRANCH_PREFIX) :]
    if reference.startswith("refs/"):
        raise err.ReferenceTypeNotSupportedException(
            f"The reference {reference} is not a branch: pull requests are between branches."
        )
    return reference


def _one_target(backend: CodeCommitLabBackend, targets: list[dict] | None) -> tuple:
    """(repository, source branch, destination branch) of CreatePullRequest's targets."""
    if not targets:
        raise err.TargetsRequiredException("An array of target objects is required.")
    if len({(t or {}).get("repositoryName") for t in targets}) > 1:
        raise err.MultipleRepositoriesInPullRequestException(
            "A pull request can target only one repository."
        )
    if len(targets) > 1:
        raise err.InvalidTargetsException("A pull request has one target.")
    target = targets[0]
    if not target:
        raise err.TargetRequiredException("A pull request target is required.")
    repo = backend.get_repository(target.get("repositoryName"))
    source = branch_of(target.get("sourceReference"))
    destination = (
        branch_of(target["destinationReference"])
        if target.get("destinationReference")
        else backend.default_branch(repo)
    )
    for branch in (source, destination):
        if not branch or branch not in backend.branches(repo):
            raise err.ReferenceDoesNotExistException(
                f"The reference {branch or '(default branch)'} does not exist in {repo.name}."
            )
    if source == destination:
        raise err.SourceAndDestinationAreSameException(
            "The source branch and the destination branch of a pull request must differ."
        )
    return repo, source, destination


def _request_of(pull_request: PullRequest) -> tuple:
    target = pull_request.target
    return (
        pull_request.title,
        pull_request.description,
        target.repository_name,
        target.source_branch,
        target.destination_branch,
    )


def merge_metadata_reply(merge: MergeMetadata) -> dict:
    reply: dict[str, Any] = {"isMerged": merge.is_merged}
    if merge.merged_by:
        reply["mergedBy"] = merge.merged_by
    if merge.merge_commit_id:
        reply["mergeCommitId"] = merge.merge_commit_id
    if merge.merge_option:
        reply["mergeOption"] = merge.merge_option
    return reply
