"""Approval rules of pull requests and approval rule templates: their content (the JSON
of approval-rule-templates.md: Version 2018-11-08, Statements of Type Approvers with
NumberOfApprovalsNeeded and ApprovalPoolMembers, DestinationReferences on templates), who
counts as an approver, and the templates' associations with repositories."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ..core import now
from . import exceptions as err

VERSION = "2018-11-08"
MAX_RULES_PER_PULL_REQUEST = 25
MAX_TEMPLATES = 1000
MAX_TEMPLATES_PER_REPOSITORY = 25
MAX_DESCRIPTION = 1000


@dataclass
class Statement:
    approvals_needed: int
    pool: list[str]  # empty: anyone's approval counts


@dataclass
class ApprovalRule:
    name: str
    content: str
    last_modified_user: str
    rule_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    origin: tuple[str, str] | None = None  # (template id, template name)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def satisfied_by(self, approvers: list[str]) -> bool:
        return all(
            sum(1 for arn in approvers if in_pool(arn, statement.pool))
            >= statement.approvals_needed
            for statement in parse(
                self.content,
                err.InvalidApprovalRuleContentException,
                # A rule made from a template keeps its DestinationReferences, as AWS
                # shows it (how-to-create-pull-request.md's approvalRuleContent).
                template=self.origin is not None,
            )
        )


@dataclass
class Template:
    name: str
    content: str
    description: str
    last_modified_user: str
    template_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    repositories: set[str] = field(default_factory=set)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def applies_to(self, destination_branch: str) -> bool:
        wanted = destination_references(self.content)
        return not wanted or f"refs/heads/{destination_branch}" in wanted

    def rule_for_pull_request(self, author_arn: str) -> ApprovalRule:
        return ApprovalRule(
            self.name, self.content, author_arn, origin=(self.template_id, self.name)
        )


def parse(content: str | None, error: type[Exception], template: bool = False) -> list[Statement]:
    """The statements of a rule's content, or error (the operation's Invalid...Content)."""
    try:
        document = json.loads(content or "")
    except ValueError:
        raise error("The approval rule content is not valid JSON.") from None
    allowed = {"Version", "Statements"} | ({"DestinationReferences"} if template else set())
    if (
        not isinstance(document, dict)
        or document.get("Version") != VERSION
        or not set(document) <= allowed
        or not isinstance(document.get("Statements"), list)
        or not document["Statements"]
    ):
        raise error(
            f"The approval rule content needs Version {VERSION} and a list of Statements"
            + (" (and may have DestinationReferences)." if template else ".")
        )
    references = document.get("DestinationReferences", [])
    if not isinstance(references, list) or not all(
        isinstance(r, str) and r.startswith("refs/heads/") for r in references
    ):
        raise error("DestinationReferences is a list of branch references (refs/heads/...).")
    return [_statement(item, error) for item in document["Statements"]]


def _statement(item: object, error: type[Exception]) -> Statement:
    if not isinstance(item, dict) or item.get("Type") != "Approvers":
        raise error("Each statement has Type Approvers.")
    needed = item.get("NumberOfApprovalsNeeded")
    pool = item.get("ApprovalPoolMembers", [])
    if isinstance(needed, bool) or not isinstance(needed, int) or needed < 1:
        raise error("NumberOfApprovalsNeeded is a whole number of at least 1.")
    if not isinstance(pool, list) or not all(isinstance(m, str) and m for m in pool):
        raise error("ApprovalPoolMembers is a list of ARNs or CodeCommitApprovers entries.")
    return Statement(needed, pool)


def destination_references(content: str) -> list[str]:
    try:
        return list(json.loads(content).get("DestinationReferences", []))
    except (ValueError, AttributeError):
        return []


def in_pool(arn: str, pool: list[str]) -> bool:
    return not pool or any(_member_matches(arn, member) for member in pool)


def _member_matches(arn: str, member: str) -> bool:
    """A pool member as approval-rule-templates.md describes it: a fully qualified ARN
    (with wildcards; an IAM role's ARN counts its sessions) or CodeCommitApprovers:
    ACCOUNT:NAME (an IAM or federated user of that name; wildcards reach other kinds)."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return False
    account, resource = parts[4], parts[5]
    if member.startswith("CodeCommitApprovers:"):
        _, member_account, name = (member.split(":", 2) + ["", ""])[:3]
        if member_account != account:
            return False
        if "*" in name or "?" in name:
            return fnmatch.fnmatchcase(resource, name)
        return resource in (f"user/{name}", f"federated-user/{name}")
    if fnmatch.fnmatchcase(arn, member):
        return True
    if resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return fnmatch.fnmatchcase(f"arn:aws:iam::{account}:role/{role}", member)
    return False


class Templates:
    """The approval rule templates of one account and region."""

    def __init__(self) -> None:
        self.items: dict[str, Template] = {}
        self.lock = threading.RLock()

    def create(
        self, name: str | None, content: str | None, description: str | None, author: str
    ) -> Template:
        _validate_name(name)
        if not content:
            raise err.ApprovalRuleTemplateContentRequiredException(
                "The content of the approval rule template is required."
            )
        parse(content, err.InvalidApprovalRuleTemplateContentException, template=True)
        _validate_description(description)
        with self.lock:
            if name in self.items:
                raise err.ApprovalRuleTemplateNameAlreadyExistsException(
                    f"An approval rule template named {name} already exists."
                )
            if len(self.items) >= MAX_TEMPLATES:
                raise err.NumberOfRuleTemplatesExceededException(
                    f"An account and region can have at most {MAX_TEMPLATES} templates."
                )
            template = Template(str(name), content, description or "", author)
            self.items[template.name] = template
            return template

    def get(self, name: str | None) -> Template:
        _validate_name(name)
        found = self.items.get(str(name))
        if found is None:
            raise err.ApprovalRuleTemplateDoesNotExistException(
                f"The approval rule template {name} does not exist."
            )
        return found

    def delete(self, name: str | None) -> str:
        """The deleted template's id; '' when there was none (AWS answers so, no error)."""
        _validate_name(name)
        with self.lock:
            template = self.items.get(str(name))
            if template is None:
                return ""
            if template.repositories:
                raise err.ApprovalRuleTemplateInUseException(
                    f"The approval rule template {name} is associated with repositories: "
                    "disassociate it first."
                )
            del self.items[template.name]
            return template.template_id

    def rename(self, old: str | None, new: str | None, author: str) -> Template:
        template = self.get(old)
        _validate_name(new)
        with self.lock:
            if new != old and new in self.items:
                raise err.ApprovalRuleTemplateNameAlreadyExistsException(
                    f"An approval rule template named {new} already exists."
                )
            del self.items[template.name]
            template.name = str(new)
            self.items[template.name] = template
            _touched(template, author)
            return template

    def update_description(self, name: str | None, description: str | None, author: str):
        template = self.get(name)
        _validate_description(description)
        template.description = description or ""
        _touched(template, author)
        return template

    def update_content(
        self, name: str | None, content: str | None, existing_sha: str | None, author: str
    ) -> Template:
        template = self.get(name)
        if not content:
            raise err.ApprovalRuleTemplateContentRequiredException(
                "The content of the approval rule template is required."
            )
        parse(content, err.InvalidApprovalRuleTemplateContentException, template=True)
        if existing_sha is not None and existing_sha != template.sha256:
            raise err.InvalidRuleContentSha256Exception(
                "The SHA-256 hash of the existing content does not match the template's."
            )
        template.content = content
        _touched(template, author)
        return template

    def associate(self, name: str | None, repository_name: str) -> None:
        template = self.get(name)
        with self.lock:
            if repository_name in template.repositories:
                return
            if len(self.names_for(repository_name)) >= MAX_TEMPLATES_PER_REPOSITORY:
                raise err.MaximumRuleTemplatesAssociatedWithRepositoryException(
                    f"A repository can have at most {MAX_TEMPLATES_PER_REPOSITORY} templates."
                )
            template.repositories.add(repository_name)

    def disassociate(self, name: str | None, repository_name: str) -> None:
        self.get(name).repositories.discard(repository_name)

    def names_for(self, repository_name: str) -> list[str]:
        return sorted(t.name for t in self.items.values() if repository_name in t.repositories)

    def applying_to(self, repository_name: str, destination_branch: str) -> list[Template]:
        return [
            self.items[name]
            for name in self.names_for(repository_name)
            if self.items[name].applies_to(destination_branch)
        ]

    def repository_deleted(self, repository_name: str) -> None:
        for template in self.items.values():
            template.repositories.discard(repository_name)


def _touched(template: Template, author: str) -> None:
    template.modified = now()
    template.last_modified_user = author


def _validate_name(name: str | None) -> None:
    if not name:
        raise err.ApprovalRuleTemplateNameRequiredException(
            "An approval rule template name is required."
        )
    if len(name) > 100 or not name.strip():
        raise err.InvalidApprovalRuleTemplateNameException(
            f"The approval rule template name {name!r} is not valid."
        )


def _validate_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise err.InvalidApprovalRuleTemplateDescriptionException(
            f"The description is longer than {MAX_DESCRIPTION} characters."
        )
