"""Find and delete what the labs created, and nothing else.

A resource is the kit's when it carries `lab:kit = codepipeline-lab-kit` and (unless all
learners are in scope) `lab:owner = <this learner's prefix>`. Where AWS offers no tags on
a type (CodeDeploy deployment configurations, CodeCommit approval rule templates, the
report groups and log groups CodeBuild makes), the kit's own record of what the labs
created decides (helpers/created.py), never a name prefix, and the plan says so. On disk, a
local server's folder goes only when its marker says it was this learner's and its process
has ended. teardown.py is the command-line face of this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from botocore.exceptions import ClientError

from . import created, settings
from .aws import Client, ClientFor

THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ConcurrentModification",
    "ConcurrentModificationException",
}


@dataclass(frozen=True)
class Reason:
    """Why a resource is in scope (the plan shows it), and whose it is: its lab:owner tag,
    or the learner the kit's record names."""

    text: str
    owner: str
    # The CloudFormation stack that made it (its aws:cloudformation:stack-name tag), if any:
    # deleting that stack deletes it, so teardown leaves it to the stack.
    stack: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Scope:
    prefix: str
    all_learners: bool = False
    older_than: dt.timedelta | None = None
    # (kind, name, region) -> created.Entry: what the labs created where AWS has no tags
    recorded: dict = field(default_factory=dict)

    def owns(self, tags: dict[str, str]) -> Reason | None:
        """Why a resource with these tags is in scope, or None when it is not."""
        if tags.get(settings.KIT_TAG_KEY) != settings.KIT_TAG_VALUE:
            return None
        owner = tags.get(settings.OWNER_TAG_KEY) or ""
        stack = tags.get(STACK_TAG_KEY) or ""
        if self.all_learners:
            return Reason(f"tagged {settings.KIT_TAG_KEY}, owner {owner or '?'}", owner, stack)
        if owner != self.prefix:
            return None
        return Reason(
            f"tagged {settings.KIT_TAG_KEY} and {settings.OWNER_TAG_KEY}={self.prefix}",
            owner,
            stack,
        )

    def owns_recorded(
        self, kind: str, name: str, region: str, made: dt.datetime | float | None = None
    ) -> Reason | None:
        """For types without tags: the kit's own record of what the labs created. made
        (when the resource says) must not be before the record's start: a resource older
        than the build that recorded it was not made by that build."""
        entry = self.recorded.get((kind, name, region))
        if entry is None or not (self.all_learners or entry.owner == self.prefix):
            return None
        if (
            entry.since is not None
            and made is not None
            and (_epoch(made) < entry.since - CLOCK_SLACK_SECONDS)
        ):
            return None
        return Reason(
            "recorded by the kit when a lab created it (this type has no tags)", entry.owner
        )

    def old_enough(self, created: dt.datetime | float | None) -> bool:
        if self.older_than is None or created is None:
            return True
        if isinstance(created, (int, float)):
            created = dt.datetime.fromtimestamp(created, dt.timezone.utc)
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        return dt.datetime.now(dt.timezone.utc) - created >= self.older_than


# CloudFormation tags what a stack makes with the stack's own tags (the kit's, so the
# resource's finder finds it too) and with this one.
STACK_TAG_KEY = "aws:cloudformation:stack-name"

CLOCK_SLACK_SECONDS = 1.0  # AWS may round one of two timestamps to the second


def _epoch(moment) -> float:
    if isinstance(moment, (int, float)):
        return float(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


@dataclass
class Resource:
    service: str
    kind: str
    name: str
    region: str
    reason: Reason
    delete: Callable[[], None] = field(repr=False, compare=False)
    recorded_as: str = ""  # its kind in the kit's record (created.py), dropped once deleted
    order: int = 0  # its finder's place in DELETION_ORDER (find_all sets it)

    @property
    def owner(self) -> str:
        return self.reason.owner

    def as_dict(self) -> dict:
        return {
            "service": self.service,
            "type": self.kind,
            "name": self.name,
            "region": self.region,
            "reason": str(self.reason),
            "owner": self.owner,
        }


@dataclass
class Outcome:
    deleted: list[Resource] = field(default_factory=list)
    failed: list[tuple[Resource, str]] = field(default_factory=list)


Finder = Callable[[ClientFor, str, Scope], Iterable[Resource]]
FINDERS: list[tuple[Finder, bool]] = []  # (finder, of a global service such as IAM)


@overload
def finder(function: Finder) -> Finder: ...
@overload
def finder(*, global_service: bool = False) -> Callable[[Finder], Finder]: ...
def finder(
    function: Finder | None = None, *, global_service: bool = False
) -> Finder | Callable[[Finder], Finder]:
    """Register a finder: @finder, or @finder(global_service=True) for IAM-like services."""

    def register(f: Finder) -> Finder:
        FINDERS.append((f, global_service))
        return f

    return register(function) if function else register


def code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


WORKERS = 8  # AWS APIs answer one call at a time per connection: overlap the waiting


def cached_clients(client_for: Callable[[str, str], object]) -> Callable[[str, str], object]:
    """One client per service and region, made under a lock: boto3 sessions are not
    thread-safe, clients are."""
    clients: dict[tuple[str, str], object] = {}
    lock = threading.Lock()

    def get(service: str, region: str):
        with lock:
            if (service, region) not in clients:
                clients[service, region] = client_for(service, region)
            return clients[service, region]

    return get


def find_all(
    client_for: Callable[[str, str], object], regions: list[str], scope: Scope
) -> tuple[list[Resource], list[str]]:
    """Every resource in scope, in deletion order, and warnings for what could not be read."""
    client_for = cached_clients(client_for)
    jobs = [
        (find, region)
        for region in regions
        for find, global_service in FINDERS
        if not (global_service and region != regions[0])
    ]  # IAM is global: look once

    def run(job) -> tuple[list[Resource], str | None]:
        find, region = job
        try:
            resources = list(find(lambda service: client_for(service, region), region, scope))
            for resource in resources:
                resource.order = DELETION_ORDER.index(find)
            return resources, None
        except ClientError as error:
            return [], f"{find.__name__} in {region}: {code(error)}: {error}"
        except Exception as error:  # one unreadable type must not stop the others
            return [], f"{find.__name__} in {region}: {error!r}"

    found, warnings, seen = [], [], set()
    with ThreadPoolExecutor(WORKERS) as pool:
        for resources, warning in pool.map(run, jobs):
            if warning:
                warnings.append(warning)
            for resource in resources:
                key = (resource.service, resource.kind, resource.name, resource.region)
                if key not in seen:
                    seen.add(key)
                    found.append(resource)
    found = _leave_to_their_stacks(found, client_for)
    found.sort(key=lambda r: (r.order, r.service, r.name))
    return found, warnings


def _leave_to_their_stacks(
    found: list[Resource], client_for: Callable[[str, str], object]
) -> list[Resource]:
    """Without what a stack that still exists made: deleting the stack deletes it, and
    deleting it first would only make the stack's deletion trip over it. What a deleted
    stack left behind (DeletionPolicy Retain) is deleted as any other resource."""
    planned = {(r.region, r.name) for r in found if r.service == "cloudformation"}
    live: dict[tuple[str, str], bool] = {}

    def stack_exists(region: str, stack: str) -> bool:
        if (region, stack) in planned:
            return True
        if (region, stack) not in live:
            live[region, stack] = _stack_exists(client_for("cloudformation", region), stack)
        return live[region, stack]

    return [r for r in found if not (r.reason.stack and stack_exists(r.region, r.reason.stack))]


def _stack_exists(cloudformation, name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=name).get("Stacks", [])
    except ClientError as error:
        if code(error) == "ValidationError":  # "Stack with id ... does not exist"
            return False
        return True  # unreadable (another learner's): not ours to pull apart
    return any(s.get("StackStatus") != "DELETE_COMPLETE" for s in stacks)


def delete_all(
    resources: list[Resource],
    progress: Callable[[int, int, Resource], None],
    attempts: int = 6,
    pause: float = 0.2,
) -> Outcome:
    """Delete in dependency order (resources of one order in parallel); retry throttling
    and eventual-consistency errors with backoff; a resource that cannot be deleted is
    reported and the rest go on."""
    outcome = Outcome()
    lock = threading.Lock()
    done = [0]

    def delete_one(resource: Resource) -> None:
        with lock:
            done[0] += 1
            progress(done[0], len(resources), resource)
        error = _delete_with_retries(resource, attempts, pause)
        if error is None and resource.recorded_as:
            created.forget(resource.owner, resource.recorded_as, resource.name, resource.region)
        with lock:
            if error is None:
                outcome.deleted.append(resource)
            else:
                outcome.failed.append((resource, error))

    orders = sorted({r.order for r in resources})
    with ThreadPoolExecutor(WORKERS) as pool:
        for order in orders:
            list(pool.map(delete_one, [r for r in resources if r.order == order]))
    return outcome


class DeleteIncomplete(Exception):
    """AWS took the delete call but did not finish the deletion (a stack DELETE_FAILED):
    the message says why and what to do."""


def _delete_with_retries(resource: Resource, attempts: int, pause: float) -> str | None:
    for attempt in range(attempts):
        try:
            resource.delete()
            return None
        except ClientError as error:
            retryable = code(error) in THROTTLING or code(error) == "DeleteConflict"
            if retryable and attempt + 1 < attempts:
                time.sleep(pause * 2**attempt)
                continue
            return f"{code(error)}: {error}"
        except DeleteIncomplete as error:
            return str(error)
        except Exception as error:  # keep going with the rest
            return repr(error)
    return "gave up"


# The plan as text ------------------------------------------------------------------------

PLAN_WIDTH = 100  # a notebook's output column, and a terminal's
KIND_WIDTH = 44  # the longest kind, "role (policies and instance profiles first)", fits


def plan_lines(plan: list[Resource], width: int = PLAN_WIDTH) -> list[str]:
    """The plan in lines of at most `width` characters: one heading per service and
    region, one line per resource with a note number (a name too long for it goes whole on
    a line of its own), and the notes (why each is in scope) once at the end."""
    notes: dict[str, int] = {}
    for resource in plan:
        notes.setdefault(str(resource.reason), len(notes) + 1)
    groups: dict[tuple[str, str], list[Resource]] = {}
    for resource in plan:
        groups.setdefault((resource.service, resource.region), []).append(resource)
    kind_width = min(KIND_WIDTH, max((len(r.kind) for r in plan), default=0))
    note_width = len(f"[{len(notes)}]")
    name_width = max(0, width - 2 - kind_width - 2 - 2 - note_width)
    lines = []
    for (service, region), resources in groups.items():
        where = "global" if region == "global" else f"in {region}"
        lines.append(f"{service}, {where} ({len(resources)})")
        for r in resources:
            note = f"[{notes[str(r.reason)]}]"
            row = f"  {r.kind:<{kind_width}}  {r.name:<{name_width}}  {note:>{note_width}}"
            if len(row.rstrip()) <= width:
                lines.append(row.rstrip())
            else:  # a long name goes whole on a line of its own, under its kind
                lines += [f"  {r.kind}", f"    {r.name}  {note}"]
    if notes:
        lines.append("Why each is in scope:")
        for text, number in notes.items():
            lines += wrap(f"[{number}] {text}", width, indent=2, hanging=6)
    return lines


def local_lines(
    local: list[Path], kept: list[tuple[Path, str]], width: int = PLAN_WIDTH
) -> list[str]:
    """The folders on disk teardown removes, then those it leaves alone, grouped by why
    and by the folder they are in (a class's machine may hold many)."""
    lines = []
    if local:
        lines.append(f"files on disk ({len(local)})")
        for path in local:
            lines += wrap(str(path), width, indent=2, hanging=4)
    if kept:
        lines.append(
            f"files on disk left alone, maybe not yours ({len(kept)}; remove by hand once checked)"
        )
        groups: dict[tuple[str, Path], list[str]] = {}
        for path, why in kept:
            groups.setdefault((why, path.parent), []).append(path.name)
        for (why, parent), names in groups.items():
            lines += wrap(f"{why}, in {parent}:", width, indent=2, hanging=4)
            lines += wrap(" ".join(names), width, indent=4, hanging=4)
    return lines


def wrap(text: str, width: int, indent: int = 0, hanging: int = 0) -> list[str]:
    """text in lines of at most width characters, broken between words only (a longer
    word, such as a path, gets a line of its own); lines after the first indented by
    `hanging`. Runs of spaces (columns) are kept."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=" " * indent,
        subsequent_indent=" " * hanging,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [" " * indent]


# Local leftovers ------------------------------------------------------------------------


def local_leftovers(prefix: str) -> list[Path]:
    """What the kit keeps on disk that nothing uses any more: the learner's git work
    folders of kernels that have ended, and the folders of this learner's local servers
    whose process has ended."""
    paths = settings.ended_work_dirs(prefix)
    return paths + [folder for folder, why_kept in server_folders(prefix) if why_kept is None]


def left_alone(prefix: str) -> list[tuple[Path, str]]:
    """Server folders teardown does not remove because they may not be this learner's,
    and why (the learner may remove them by hand after checking)."""
    return [(folder, why) for folder, why in server_folders(prefix) if why not in (None, IN_USE)]


IN_USE = "in use by a running local server"


def server_folders(prefix: str) -> list[tuple[Path, str | None]]:
    """Each local server's folder, and why it must stay (None: it may go)."""
    base = settings.state_dir() / settings.EMULATOR_DIR_NAME
    # Only folders: the state folder keeps other files here (the local credentials).
    folders = [f for f in sorted(base.glob("*")) if f.is_dir() and not f.is_symlink()]
    return [(folder, _why_kept(folder, prefix)) for folder in folders]


def _why_kept(folder: Path, prefix: str) -> str | None:
    try:
        marker = json.loads((folder / settings.PROCESS_MARKER).read_text())
        pid = marker["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {settings.PROCESS_MARKER}: whose it is is unknown"
    if type(pid) is not int or pid < 1 or str(pid) != folder.name:
        return f"its {settings.PROCESS_MARKER} names another process"
    if marker.get("prefix") != prefix:
        return f"made by learner {marker.get('prefix') or '(not recorded)'}, not {prefix}"
    if marker.get("uid") != settings.user_id():
        return f"made by another user (uid {marker.get('uid')})"
    if not _ended(pid, marker.get("process_start")):
        return IN_USE
    return None


def _ended(pid: int, recorded_start: str | None) -> bool:
    """Whether the process that made the folder has ended: its pid is free, or a later
    process reuses it (another start time than the one recorded)."""
    if not _alive(pid):
        return True
    now_start = settings.process_start(pid)
    return recorded_start is not None and now_start is not None and now_start != recorded_start


def _alive(pid: int) -> bool:
    return pid == os.getpid() or settings.process_alive(pid)


def remove_local(paths: list[Path]) -> None:
    from .emulator import processes

    # A dead server's folder lists the builds and hooks it left running: end them first,
    # or nothing would know of them once the folder is gone.
    processes.reap_leftovers()
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


# Finders, one per resource type ---------------------------------------------------------


@finder
def codepipeline_pipelines(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codepipeline = client("codepipeline")
    for page in codepipeline.get_paginator("list_pipelines").paginate():
        for summary in page.get("pipelines", []):
            name = summary["name"]
            arn = codepipeline.get_pipeline(name=name)["metadata"]["pipelineArn"]
            tags = {
                t["key"]: t["value"]
                for t in codepipeline.list_tags_for_resource(resourceArn=arn).get("tags", [])
            }
            reason = scope.owns(tags)
            if reason and scope.old_enough(summary.get("created")):
                yield Resource(
                    "codepipeline",
                    "pipeline",
                    name,
                    region,
                    reason,
                    functools.partial(codepipeline.delete_pipeline, name=name),
                )


@finder
def codepipeline_webhooks(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codepipeline = client("codepipeline")
    for page in codepipeline.get_paginator("list_webhooks").paginate():
        for item in page.get("webhooks", []):
            tags = {t["key"]: t["value"] for t in item.get("tags", [])}
            reason = scope.owns(tags)
            if reason:
                name = item["definition"]["name"]
                yield Resource(
                    "codepipeline",
                    "webhook (deregistered first)",
                    name,
                    region,
                    reason,
                    functools.partial(_delete_webhook, codepipeline, name),
                )


def _delete_webhook(codepipeline, name: str) -> None:
    codepipeline.deregister_webhook_with_third_party(webhookName=name)
    codepipeline.delete_webhook(name=name)


@finder
def codepipeline_custom_action_types(
    client: ClientFor, region: str, scope: Scope
) -> Iterator[Resource]:
    codepipeline = client("codepipeline")
    account = client("sts").get_caller_identity()["Account"]
    for page in codepipeline.get_paginator("list_action_types").paginate(
        actionOwnerFilter="Custom"
    ):
        for action_type in page.get("actionTypes", []):
            type_id = action_type["id"]
            arn = (
                f"arn:aws:codepipeline:{region}:{account}:actiontype:Custom/"
                f"{type_id['category']}/{type_id['provider']}/{type_id['version']}"
            )
            tags = {
                t["key"]: t["value"]
                for t in codepipeline.list_tags_for_resource(resourceArn=arn).get("tags", [])
            }
            reason = scope.owns(tags)
            if reason:
                label = f"{type_id['category']}/{type_id['provider']}/{type_id['version']}"
                yield Resource(
                    "codepipeline",
                    "custom action type",
                    label,
                    region,
                    reason,
                    functools.partial(
                        codepipeline.delete_custom_action_type,
                        category=type_id["category"],
                        provider=type_id["provider"],
                        version=type_id["version"],
                    ),
                )


@finder
def eventbridge_rules(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    events = client("events")
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            listed = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
            reason = scope.owns({t["Key"]: t["Value"] for t in listed})
            if reason:
                name = rule["Name"]
                yield Resource(
                    "events",
                    "rule (targets first)",
                    name,
                    region,
                    reason,
                    functools.partial(_delete_rule, events, name),
                )


def _delete_rule(events, name: str) -> None:
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=name)


@finder
def notification_rules(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    notifications = client("codestar-notifications")
    for page in notifications.get_paginator("list_notification_rules").paginate():
        for item in page.get("NotificationRules", []):
            try:
                rule = notifications.describe_notification_rule(Arn=item["Arn"])
            except ClientError as error:
                # Deleted since it was listed, or (the learner policy limits rules by their
                # lab:owner tag: their ARNs name no learner) another learner's.
                if code(error) in ("ResourceNotFoundException", "AccessDeniedException"):
                    continue
                raise
            reason = scope.owns(rule.get("Tags") or {})
            if reason and scope.old_enough(rule.get("CreatedTimestamp")):
                # Its targets (SNS topics) are resources of their own: the topics' finder.
                yield Resource(
                    "codestar-notifications",
                    "notification rule",
                    rule.get("Name") or item["Id"],
                    region,
                    reason,
                    functools.partial(notifications.delete_notification_rule, Arn=item["Arn"]),
                )


@finder
def codecommit_repositories(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codecommit = client("codecommit")
    names = [
        r["repositoryName"]
        for page in codecommit.get_paginator("list_repositories").paginate()
        for r in page.get("repositories", [])
    ]
    for start in range(0, len(names), 25):
        batch = codecommit.batch_get_repositories(repositoryNames=names[start : start + 25])
        for meta in batch["repositories"]:
            tags = codecommit.list_tags_for_resource(resourceArn=meta["Arn"])["tags"]
            reason = scope.owns(tags)
            if reason and scope.old_enough(meta.get("creationDate")):
                name = meta["repositoryName"]
                yield Resource(
                    "codecommit",
                    "repository",
                    name,
                    region,
                    reason,
                    functools.partial(codecommit.delete_repository, repositoryName=name),
                )


@finder
def codecommit_approval_rule_templates(
    client: ClientFor, region: str, scope: Scope
) -> Iterator[Resource]:
    codecommit = client("codecommit")
    for name in _pages(codecommit.list_approval_rule_templates, "approvalRuleTemplateNames", {}):
        # Templates take no tags: only the kit's record of them counts, never a name.
        if not scope.owns_recorded(created.APPROVAL_RULE_TEMPLATE, name, region):
            continue
        try:
            template = codecommit.get_approval_rule_template(approvalRuleTemplateName=name)
        except ClientError as error:
            if code(error) == "ApprovalRuleTemplateDoesNotExistException":
                continue  # deleted since it was listed
            raise
        made = template["approvalRuleTemplate"].get("creationDate")
        reason = scope.owns_recorded(created.APPROVAL_RULE_TEMPLATE, name, region, made=made)
        if reason and scope.old_enough(made):
            yield Resource(
                "codecommit",
                "approval rule template (disassociated first)",
                name,
                region,
                reason,
                functools.partial(_delete_approval_rule_template, codecommit, name),
                recorded_as=created.APPROVAL_RULE_TEMPLATE,
            )


def _pages(operation: Callable, key: str, params: dict) -> Iterator[str]:
    """The items of a CodeCommit list call botocore has no paginator for (nextToken)."""
    token = None
    while True:
        page = operation(**params, **({"nextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


def _delete_approval_rule_template(codecommit, name: str) -> None:
    """DeleteApprovalRuleTemplate refuses a template still associated with a repository
    (codecommit/doc_source/how-to-delete-template.md: "if it has been disassociated from
    all repositories"): disassociate it from each first. Rules it already put on pull
    requests stay with them (they go with their repository)."""
    repositories = _pages(
        codecommit.list_repositories_for_approval_rule_template,
        "repositoryNames",
        {"approvalRuleTemplateName": name},
    )
    for repository in list(repositories):
        try:
            codecommit.disassociate_approval_rule_template_from_repository(
                approvalRuleTemplateName=name, repositoryName=repository
            )
        except ClientError as error:
            if code(error) != "RepositoryDoesNotExistException":
                raise
    codecommit.delete_approval_rule_template(approvalRuleTemplateName=name)


@finder
def sns_topics(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    sns = client("sns")
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = topic["TopicArn"]
            try:
                listed = sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
            except ClientError as error:
                # Deleted since it was listed, or another learner's (the learner policy
                # limits topics to the learner's names).
                if code(error) in ("NotFound", "ResourceNotFound", "AuthorizationError"):
                    continue
                raise
            reason = scope.owns({t["Key"]: t["Value"] for t in listed})
            if reason:
                # DeleteTopic "deletes a topic and all its subscriptions" (the SNS API
                # reference): nothing to unsubscribe first. A topic has no creation time.
                yield Resource(
                    "sns",
                    "topic (and its subscriptions)",
                    arn.rsplit(":", 1)[-1],
                    region,
                    reason,
                    functools.partial(sns.delete_topic, TopicArn=arn),
                )


QUEUE_GONE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
NOT_ALLOWED = {"AccessDenied", "AccessDeniedException"}


@finder
def sqs_queues(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    sqs = client("sqs")
    # Without a page size SQS answers at most 1,000 queues and no NextToken.
    for page in sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000}):
        for url in page.get("QueueUrls", []):
            try:
                reason = scope.owns(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))
                if not reason:
                    continue
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["CreatedTimestamp"]
                ).get("Attributes", {})
            except ClientError as error:
                # Deleted since it was listed, or another learner's (the learner policy
                # limits queues to the learner's names).
                if code(error) in QUEUE_GONE | NOT_ALLOWED:
                    continue
                raise
            made = attributes.get("CreatedTimestamp")
            if scope.old_enough(float(made) if made else None):
                yield Resource(
                    "sqs",
                    "queue (and its messages)",
                    url.rsplit("/", 1)[-1],
                    region,
                    reason,
                    functools.partial(_delete_queue, sqs, url),
                )


def _delete_queue(sqs, url: str) -> None:
    try:
        sqs.delete_queue(QueueUrl=url)
    except ClientError as error:
        # AWS takes up to 60 s to delete a queue and may list it meanwhile.
        if code(error) not in QUEUE_GONE:
            raise


@finder
def codebuild_projects(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codebuild = client("codebuild")
    names = [
        n
        for page in codebuild.get_paginator("list_projects").paginate()
        for n in page.get("projects", [])
    ]
    for start in range(0, len(names), 100):
        projects = codebuild.batch_get_projects(names=names[start : start + 100])
        for project in projects.get("projects", []):
            tags = {t["key"]: t["value"] for t in project.get("tags", [])}
            reason = scope.owns(tags)
            if reason and scope.old_enough(project.get("created")):
                name = project["name"]
                yield Resource(
                    "codebuild",
                    "project (and its builds)",
                    name,
                    region,
                    reason,
                    functools.partial(_delete_project, codebuild, name),
                    recorded_as=created.PROJECT,
                )


@finder
def codebuild_sandboxes(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    """The kit's projects' sandboxes still open: AWS bills them as build time until they
    stop. Stopping one is its teardown (a sandbox is not deleted; it stays listed)."""
    codebuild = client("codebuild")
    for project, reason in kit_projects(codebuild, region, scope).items():
        try:
            ids = [
                i
                for page in codebuild.get_paginator("list_sandboxes_for_project").paginate(
                    projectName=project
                )
                for i in page.get("ids", [])
            ]
        except ClientError as error:
            if code(error) in ("ResourceNotFoundException", *NOT_ALLOWED):
                continue
            raise
        for start in range(0, len(ids), 100):
            for sandbox in codebuild.batch_get_sandboxes(ids=ids[start : start + 100])["sandboxes"]:
                if sandbox.get("status") in SANDBOX_ENDED:
                    continue
                if scope.old_enough(sandbox.get("requestTime")):
                    yield Resource(
                        "codebuild",
                        "sandbox (stopped)",
                        sandbox["id"],
                        region,
                        Reason(f"a sandbox of the kit's project {project}", reason.owner),
                        functools.partial(codebuild.stop_sandbox, id=sandbox["id"]),
                    )


SANDBOX_ENDED = ("STOPPED", "FAILED", "TIMED_OUT")


def _delete_project(codebuild, name: str) -> None:
    """Builds outlive their project in CodeBuild: delete them first (their workspaces
    and logs offline), then the project."""
    _delete_build_batches(codebuild, name)
    ids = [
        i
        for page in codebuild.get_paginator("list_builds_for_project").paginate(projectName=name)
        for i in page.get("ids", [])
    ]
    for start in range(0, len(ids), 100):
        codebuild.batch_delete_builds(ids=ids[start : start + 100])
    codebuild.delete_project(name=name)


def _delete_build_batches(codebuild, name: str) -> None:
    """A project's batch builds, stopped if running (a running batch is not deleted), then
    deleted with their builds."""
    batch_ids = [
        i
        for page in codebuild.get_paginator("list_build_batches_for_project").paginate(
            projectName=name
        )
        for i in page.get("ids", [])
    ]
    for batch_id in batch_ids:
        codebuild.stop_build_batch(id=batch_id)
        codebuild.delete_build_batch(id=batch_id)


def kit_projects(codebuild: Client, region: str, scope: Scope) -> dict[str, Reason]:
    """The kit's CodeBuild projects (tagged, or recorded when a lab created them)."""
    projects = {}
    names = [
        n
        for page in codebuild.get_paginator("list_projects").paginate()
        for n in page.get("projects", [])
    ]
    for start in range(0, len(names), 100):
        batch = codebuild.batch_get_projects(names=names[start : start + 100])
        for project in batch.get("projects", []):
            reason = scope.owns({t["key"]: t["value"] for t in project.get("tags", [])})
            if reason:
                projects[project["name"]] = reason
    for kind, name, where in scope.recorded:
        reason = scope.owns_recorded(kind, name, where)
        if kind == created.PROJECT and where == region and reason:
            projects.setdefault(name, reason)
    return projects


def _made_for_kit_project(name: str, projects: dict[str, Reason]) -> Reason | None:
    """CodeBuild names a project's log group '/aws/codebuild/<project>', without tags."""
    for project, reason in projects.items():
        if name == f"/aws/codebuild/{project}":
            return Reason(f"made by CodeBuild for the kit's project {project}", reason.owner)
    return None


def kit_functions(awslambda: Client, scope: Scope) -> dict[str, Reason]:
    """The kit's Lambda functions (tagged), those a stack made too: their log groups
    outlive them and the stack."""
    functions = {}
    for page in awslambda.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            try:
                tags = awslambda.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
            except ClientError as error:
                if code(error) in ("ResourceNotFoundException", *NOT_ALLOWED):
                    continue
                raise
            reason = scope.owns(tags)
            if reason:
                functions[function["FunctionName"]] = reason
    return functions


def _made_for_kit_function(name: str, functions: dict[str, Reason]) -> Reason | None:
    """Lambda names a function's log group '/aws/lambda/<function>', without tags."""
    prefix = "/aws/lambda/"
    function = name[len(prefix) :] if name.startswith(prefix) else ""
    if function in functions:
        return Reason(
            f"made by Lambda for the kit's function {function}", functions[function].owner
        )
    return None


@finder
def codebuild_report_groups(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codebuild = client("codebuild")
    arns = [
        a
        for page in codebuild.get_paginator("list_report_groups").paginate()
        for a in page.get("reportGroups", [])
    ]
    for start in range(0, len(arns), 100):
        groups = codebuild.batch_get_report_groups(reportGroupArns=arns[start : start + 100])
        for group in groups["reportGroups"]:
            tags = {t["key"]: t["value"] for t in group.get("tags", [])}
            # CodeBuild makes a project's report groups itself, without tags: only the
            # kit's record of them counts, never a name that starts like a project's.
            reason = scope.owns(tags) or scope.owns_recorded(
                created.REPORT_GROUP, group["name"], region, made=group.get("created")
            )
            if reason and scope.old_enough(group.get("created")):
                arn = group["arn"]
                yield Resource(
                    "codebuild",
                    "report group",
                    group["name"],
                    region,
                    reason,
                    functools.partial(codebuild.delete_report_group, arn=arn, deleteReports=True),
                    recorded_as=created.REPORT_GROUP,
                )


@finder
def codebuild_fleets(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    """Reserved-capacity fleets bill for every hour they exist, builds or not."""
    codebuild = client("codebuild")
    arns = list(_pages(codebuild.list_fleets, "fleets", {}))  # no paginator in botocore
    for start in range(0, len(arns), 100):
        fleets = codebuild.batch_get_fleets(names=arns[start : start + 100])["fleets"]
        for fleet in fleets:
            tags = {t["key"]: t["value"] for t in fleet.get("tags", [])}
            reason = scope.owns(tags)
            if reason and scope.old_enough(fleet.get("created")):
                yield Resource(
                    "codebuild",
                    "fleet",
                    fleet["name"],
                    region,
                    reason,
                    functools.partial(codebuild.delete_fleet, arn=fleet["arn"]),
                )


@finder
def codebuild_source_credentials(
    client: ClientFor, region: str, scope: Scope
) -> Iterator[Resource]:
    """Source credentials take no tags (one per server type): only the kit's record."""
    codebuild = client("codebuild")
    for info in codebuild.list_source_credentials().get("sourceCredentialsInfos", []):
        reason = scope.owns_recorded(created.SOURCE_CREDENTIAL, info["serverType"], region)
        if reason:
            yield Resource(
                "codebuild",
                "source credential",
                info["serverType"],
                region,
                reason,
                functools.partial(codebuild.delete_source_credentials, arn=info["arn"]),
                recorded_as=created.SOURCE_CREDENTIAL,
            )


@finder
def codedeploy_applications(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    codedeploy = client("codedeploy")
    sts = client("sts")
    account = sts.get_caller_identity()["Account"]
    names = [
        n
        for page in codedeploy.get_paginator("list_applications").paginate()
        for n in page.get("applications", [])
    ]
    for name in names:
        arn = f"arn:aws:codedeploy:{region}:{account}:application:{name}"
        tags = {
            t["Key"]: t["Value"]
            for t in codedeploy.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
        }
        reason = scope.owns(tags)
        if reason:
            # Deleting an application deletes its deployment groups too.
            yield Resource(
                "codedeploy",
                "application (and its deployment groups)",
                name,
                region,
                reason,
                functools.partial(codedeploy.delete_application, applicationName=name),
            )


@finder
def codedeploy_deployment_configs(
    client: ClientFor, region: str, scope: Scope
) -> Iterator[Resource]:
    codedeploy = client("codedeploy")
    for page in codedeploy.get_paginator("list_deployment_configs").paginate():
        for name in page.get("deploymentConfigsList", []):
            reason = scope.owns_recorded(created.DEPLOYMENT_CONFIG, name, region)
            if reason and not name.startswith("CodeDeployDefault."):
                yield Resource(
                    "codedeploy",
                    "deployment config",
                    name,
                    region,
                    reason,
                    functools.partial(
                        codedeploy.delete_deployment_config, deploymentConfigName=name
                    ),
                    recorded_as=created.DEPLOYMENT_CONFIG,
                )


@finder
def codedeploy_on_premises_instances(
    client: ClientFor, region: str, scope: Scope
) -> Iterator[Resource]:
    codedeploy = client("codedeploy")
    names = codedeploy.list_on_premises_instances(
        registrationStatus="Registered",
        tagFilters=[
            {"Key": settings.KIT_TAG_KEY, "Value": settings.KIT_TAG_VALUE, "Type": "KEY_AND_VALUE"}
        ],
    ).get("instanceNames", [])
    for start in range(0, len(names), 100):
        infos = codedeploy.batch_get_on_premises_instances(
            instanceNames=names[start : start + 100]
        ).get("instanceInfos", [])
        for info in infos:
            tags = {t["Key"]: t["Value"] for t in info.get("tags", [])}
            reason = scope.owns(tags)
            if reason:
                name = info["instanceName"]
                yield Resource(
                    "codedeploy",
                    "on-premises instance (to deregister)",
                    name,
                    region,
                    reason,
                    functools.partial(
                        codedeploy.deregister_on_premises_instance, instanceName=name
                    ),
                )


@finder
def ec2_instances(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    ec2 = client("ec2")
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": f"tag:{settings.KIT_TAG_KEY}", "Values": [settings.KIT_TAG_VALUE]},
            {
                "Name": "instance-state-name",
                "Values": ["pending", "running", "stopping", "stopped"],
            },
        ]
    )
    for page in pages:
        for reservation in page.get("Reservations", []):
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                reason = scope.owns(tags)
                if reason and scope.old_enough(instance.get("LaunchTime")):
                    iid = instance["InstanceId"]
                    state = instance.get("State", {}).get("Name", "?")
                    yield Resource(
                        "ec2",
                        f"instance ({state}, to terminate)",
                        iid,
                        region,
                        reason,
                        functools.partial(_terminate, ec2, iid),
                    )


def _terminate(ec2, instance_id: str) -> None:
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(
        InstanceIds=[instance_id], WaiterConfig={"Delay": 2, "MaxAttempts": 150}
    )


@finder
def ec2_security_groups(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    ec2 = client("ec2")
    groups = ec2.describe_security_groups(
        Filters=[{"Name": f"tag:{settings.KIT_TAG_KEY}", "Values": [settings.KIT_TAG_VALUE]}]
    ).get("SecurityGroups", [])
    for group in groups:
        reason = scope.owns({t["Key"]: t["Value"] for t in group.get("Tags", [])})
        if reason:
            gid = group["GroupId"]
            yield Resource(
                "ec2",
                "security group",
                f"{group['GroupName']} ({gid})",
                region,
                reason,
                functools.partial(ec2.delete_security_group, GroupId=gid),
            )


@finder
def s3_buckets(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    s3 = client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        try:
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        except ClientError:
            continue
        if (location or "us-east-1") != region:
            continue
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        except ClientError as error:
            if code(error) in ("NoSuchTagSet", "NoSuchBucket"):
                continue
            raise
        reason = scope.owns(tags)
        if reason and scope.old_enough(bucket.get("CreationDate")):
            yield Resource(
                "s3",
                "bucket (every object version first)",
                name,
                region,
                reason,
                functools.partial(_empty_and_delete_bucket, s3, name),
            )


def _empty_and_delete_bucket(s3, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(objects), 1000):
            s3.delete_objects(
                Bucket=name, Delete={"Objects": objects[start : start + 1000], "Quiet": True}
            )
    s3.delete_bucket(Bucket=name)


@finder(global_service=True)
def iam_roles(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    iam = client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            name = role["RoleName"]
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name).get("Tags", [])}
            reason = scope.owns(tags)
            if reason and scope.old_enough(role.get("CreateDate")):
                yield Resource(
                    "iam",
                    "role (policies and instance profiles first)",
                    name,
                    "global",
                    reason,
                    functools.partial(_delete_role, iam, name),
                )


def _delete_role(iam, name: str) -> None:
    for profile in iam.list_instance_profiles_for_role(RoleName=name).get("InstanceProfiles", []):
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name
        )
    for policy in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)


@finder(global_service=True)
def iam_instance_profiles(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    iam = client("iam")
    for page in iam.get_paginator("list_instance_profiles").paginate():
        for profile in page.get("InstanceProfiles", []):
            name = profile["InstanceProfileName"]
            # GetInstanceProfile carries the tags (the local AWS has no
            # ListInstanceProfileTags).
            full = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
            tags = {t["Key"]: t["Value"] for t in full.get("Tags", [])}
            reason = scope.owns(tags)
            if reason:
                yield Resource(
                    "iam",
                    "instance profile",
                    name,
                    "global",
                    reason,
                    functools.partial(_delete_instance_profile, iam, name),
                )


def _delete_instance_profile(iam, name: str) -> None:
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    for role in profile.get("Roles", []):
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=name)


@finder(global_service=True)
def iam_policies(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    iam = client("iam")
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page.get("Policies", []):
            arn = policy["Arn"]
            listed = iam.list_policy_tags(PolicyArn=arn).get("Tags", [])
            tags = {t["Key"]: t["Value"] for t in listed}
            reason = scope.owns(tags)
            if reason:
                yield Resource(
                    "iam",
                    "policy",
                    policy["PolicyName"],
                    "global",
                    reason,
                    functools.partial(_delete_policy, iam, arn),
                )


def _delete_policy(iam, arn: str) -> None:
    for entity in ("PolicyRoles", "PolicyUsers", "PolicyGroups"):
        listed = iam.list_entities_for_policy(PolicyArn=arn)[entity]
        for item in listed:
            if entity == "PolicyRoles":
                iam.detach_role_policy(RoleName=item["RoleName"], PolicyArn=arn)
            elif entity == "PolicyUsers":
                iam.detach_user_policy(UserName=item["UserName"], PolicyArn=arn)
            else:
                iam.detach_group_policy(GroupName=item["GroupName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn).get("Versions", []):
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


@finder
def log_groups(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    logs = client("logs")
    projects = kit_projects(client("codebuild"), region, scope)
    functions = kit_functions(client("lambda"), scope)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page.get("logGroups", []):
            name = group["logGroupName"]
            tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
            # CodeBuild and Lambda create their log groups themselves, without tags.
            reason = (
                scope.owns(tags)
                or _made_for_kit_project(name, projects)
                or _made_for_kit_function(name, functions)
            )
            if reason and scope.old_enough((group.get("creationTime") or 0) / 1000 or None):
                yield Resource(
                    "logs",
                    "log group",
                    name,
                    region,
                    reason,
                    functools.partial(logs.delete_log_group, logGroupName=name),
                )


@finder
def connections(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    """CodeConnections connections (one resource answers CodeConnections and its former name,
    CodeStar Connections: ListConnections of either lists both kinds of ARN). Offline, the
    local git host's repositories are not resources: they stay in the local server's folder
    and go with it; on a real account the learner's GitHub repository is the learner's."""
    codeconnections = client("codeconnections")
    token = None
    while True:
        page = codeconnections.list_connections(**({"NextToken": token} if token else {}))
        for connection in page.get("Connections", []):
            arn = connection["ConnectionArn"]
            try:
                listed = codeconnections.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
            except ClientError as error:
                # Deleted since it was listed, or (the learner policy limits connections by
                # their lab:owner tag: their ARNs name no learner) another learner's.
                if code(error) in ("ResourceNotFoundException", *NOT_ALLOWED):
                    continue
                raise
            reason = scope.owns({t["Key"]: t["Value"] for t in listed})
            if reason:  # a connection has no creation time
                yield Resource(
                    "codeconnections",
                    f"connection ({connection.get('ProviderType', '?')})",
                    connection.get("ConnectionName") or arn.rsplit("/", 1)[-1],
                    region,
                    reason,
                    functools.partial(codeconnections.delete_connection, ConnectionArn=arn),
                )
        token = page.get("NextToken")
        if not token:
            return


STACK_GONE = {"DELETE_COMPLETE"}
STACK_LIVE = [
    status
    for status in (
        "CREATE_IN_PROGRESS CREATE_FAILED CREATE_COMPLETE ROLLBACK_IN_PROGRESS ROLLBACK_FAILED "
        "ROLLBACK_COMPLETE DELETE_IN_PROGRESS DELETE_FAILED UPDATE_IN_PROGRESS "
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS UPDATE_COMPLETE UPDATE_FAILED "
        "UPDATE_ROLLBACK_IN_PROGRESS UPDATE_ROLLBACK_FAILED "
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS UPDATE_ROLLBACK_COMPLETE REVIEW_IN_PROGRESS "
        "IMPORT_IN_PROGRESS IMPORT_COMPLETE IMPORT_ROLLBACK_IN_PROGRESS IMPORT_ROLLBACK_FAILED "
        "IMPORT_ROLLBACK_COMPLETE"
    ).split()
]


@finder
def cloudformation_stacks(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    """Stacks tagged by the kit (a pipeline's CloudFormation action tags none by itself: the
    lab gives the stack the kit's tags). Deleting a stack deletes what it made; a nested
    stack goes with its root."""
    cloudformation = client("cloudformation")
    pages = cloudformation.get_paginator("list_stacks").paginate(StackStatusFilter=STACK_LIVE)
    for page in pages:
        for summary in page.get("StackSummaries", []):
            if summary.get("ParentId") or summary.get("RootId"):
                continue
            stack_id = summary["StackId"]
            try:
                stacks = cloudformation.describe_stacks(StackName=stack_id).get("Stacks", [])
            except ClientError as error:
                # Deleted since it was listed, or another learner's (the learner policy
                # limits stacks to the learner's names).
                if code(error) in ("ValidationError", *NOT_ALLOWED):
                    continue
                raise
            for stack in stacks:
                reason = scope.owns({t["Key"]: t["Value"] for t in stack.get("Tags", [])})
                if reason and scope.old_enough(stack.get("CreationTime")):
                    yield Resource(
                        "cloudformation",
                        "stack (and what it made)",
                        stack["StackName"],
                        region,
                        reason,
                        functools.partial(_delete_stack, cloudformation, stack_id),
                    )


STACK_POLL = {"Delay": 5, "MaxAttempts": 360}  # a stack may take minutes: up to 30


def _delete_stack(cloudformation, stack_id: str, poll: dict = STACK_POLL) -> None:
    """DeleteStack, then wait for DELETE_COMPLETE: DELETE_FAILED is reported with the
    stack's reason and the resources it could not delete."""
    cloudformation.delete_stack(StackName=stack_id)
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = stack.get("StackStatus", "")
        if status in STACK_GONE:
            return
        if status == "DELETE_FAILED":
            raise DeleteIncomplete(_delete_failed_message(cloudformation, stack))
        if poll["MaxAttempts"] <= 0:
            raise DeleteIncomplete(f"still {status}: run teardown again later")
        poll = {**poll, "MaxAttempts": poll["MaxAttempts"] - 1}
        time.sleep(poll["Delay"])


def _delete_failed_message(cloudformation, stack: dict) -> str:
    failed = []
    try:
        pages = cloudformation.get_paginator("describe_stack_events").paginate(
            StackName=stack["StackId"]
        )
        for page in pages:
            for event in page.get("StackEvents", []):
                if event.get("ResourceStatus") != "DELETE_FAILED":
                    continue
                if event.get("PhysicalResourceId") == stack["StackId"]:
                    continue  # the stack's own event: its reason is said already
                failed.append(
                    f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): "
                    f"{event.get('ResourceStatusReason') or 'no reason given'}"
                )
            break  # the newest events come first: this deletion's are on the first page
    except ClientError:
        pass  # the status and reason say enough
    reason = stack.get("StackStatusReason") or "no reason given"
    what = "; ".join(dict.fromkeys(failed)) or "see the stack's events"
    return (
        f"DELETE_FAILED: {reason}. Not deleted: {what}. Delete those (or give DeleteStack "
        "RetainResources for them), then run teardown again."
    )


@finder
def lambda_functions(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    awslambda = client("lambda")
    for page in awslambda.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            arn = function["FunctionArn"]
            try:
                tags = awslambda.list_tags(Resource=arn).get("Tags", {})
            except ClientError as error:
                # Deleted since it was listed, or another learner's (the learner policy
                # limits functions to the learner's names).
                if code(error) in ("ResourceNotFoundException", *NOT_ALLOWED):
                    continue
                raise
            reason = scope.owns(tags)
            if reason and scope.old_enough(_lambda_time(function.get("LastModified"))):
                name = function["FunctionName"]
                yield Resource(
                    "lambda",
                    "function (its versions and aliases)",
                    name,
                    region,
                    reason,
                    # DeleteFunction without a qualifier deletes every version and alias.
                    functools.partial(awslambda.delete_function, FunctionName=name),
                )


def _lambda_time(text: str | None) -> dt.datetime | None:
    """Lambda's LastModified ("2024-05-01T12:00:00.000+0000"), None when unreadable."""
    try:
        return dt.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


@finder
def cloudwatch_alarms(client: ClientFor, region: str, scope: Scope) -> Iterator[Resource]:
    cloudwatch = client("cloudwatch")
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmTypes=["CompositeAlarm", "MetricAlarm"]
    )
    for page in pages:
        for kind, key in (("composite alarm", "CompositeAlarms"), ("alarm", "MetricAlarms")):
            for alarm in page.get(key, []):
                arn = alarm["AlarmArn"]
                try:
                    listed = cloudwatch.list_tags_for_resource(ResourceARN=arn).get("Tags", [])
                except ClientError as error:
                    # Deleted since it was listed, or another learner's (the learner
                    # policy limits alarms to the learner's names).
                    if code(error) in ("ResourceNotFound", "ResourceNotFoundException"):
                        continue
                    if code(error) in NOT_ALLOWED:
                        continue
                    raise
                reason = scope.owns({t["Key"]: t["Value"] for t in listed})
                if reason and scope.old_enough(alarm.get("AlarmConfigurationUpdatedTimestamp")):
                    name = alarm["AlarmName"]
                    yield Resource(
                        "cloudwatch",
                        kind,
                        name,
                        region,
                        reason,
                        functools.partial(cloudwatch.delete_alarms, AlarmNames=[name]),
                    )


# The order of deletion, first to last: what uses a thing goes before the thing (AWS
# refuses to delete what is still in use, or it would break a run in progress). The
# resources of one finder are deleted in parallel, the finders one after another.
DELETION_ORDER: list[Finder] = [
    codepipeline_webhooks,  # registered for a pipeline (and with a third party)
    eventbridge_rules,  # their targets start pipelines
    notification_rules,  # they watch repositories, builds and pipelines
    codepipeline_pipelines,  # run everything below: stop them starting it first
    codepipeline_custom_action_types,  # pipelines' actions use them
    ec2_instances,  # targets of deployment groups; they use profiles and security groups
    codebuild_sandboxes,  # open in a project's environment: stopped before it goes
    codebuild_projects,  # pipelines build with them (their builds go with them)
    codebuild_report_groups,  # the projects' builds write reports to them
    codebuild_fleets,  # projects run on them (AWS refuses to delete a fleet in use)
    codebuild_source_credentials,  # the projects' webhooks and sources use them
    codedeploy_applications,  # with their deployment groups, which use what follows
    codedeploy_deployment_configs,  # deployment groups name one
    codedeploy_on_premises_instances,  # deployment groups target them
    # After the pipelines that deploy them: deleting a stack deletes what it made, and may
    # call the kit's functions (custom resources) and roles below, which must still exist.
    cloudformation_stacks,
    lambda_functions,  # pipelines invoke them; deployment groups shift their aliases
    cloudwatch_alarms,  # deployment groups roll back on them (those went above)
    # Before the repositories: a template is always disassociated the one way, so the
    # course's recorded calls (the learner policy) hold what teardown needs on AWS.
    codecommit_approval_rule_templates,
    codecommit_repositories,  # pipelines' sources (their pull requests go with them)
    connections,  # pipelines' and projects' sources
    sns_topics,  # repository triggers and rules notify them; they deliver to queues
    sqs_queues,  # rules and topics deliver to them
    ec2_security_groups,  # instances use them: once those are terminated
    s3_buckets,  # artifact stores and revisions of everything above
    iam_instance_profiles,  # instances use them; they hold roles
    iam_roles,  # everything above runs as one
    iam_policies,  # attached to roles (detached from any left, then deleted)
    log_groups,  # builds write to them up to the end: last
]
if len(DELETION_ORDER) != len(FINDERS) or set(DELETION_ORDER) != {f for f, _ in FINDERS}:
    raise RuntimeError("DELETION_ORDER must list every finder once")
