"""Repository triggers (Put/Get/TestRepositoryTriggers): on each push or API commit, the
message how-to-notify-sns.md shows ("Records" with eventName ReferenceChange) is published
to each matching trigger's SNS topic in the local AWS.

Lambda destinations are accepted, as on AWS, but nothing runs them offline: their test
reports a failed execution saying so, and pushes skip them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import TYPE_CHECKING

from .. import moto_backends
from . import exceptions as err

if TYPE_CHECKING:
    from .models import Repository

MAX_TRIGGERS = 10  # limits.md: "Number of triggers in a repository: Maximum of 10"
MAX_CUSTOM_DATA = 1000  # limits.md: custom data "limited to 1,000 characters"
MAX_BRANCHES = 100  # the API reference names MaximumBranchesExceededException; AWS's quota
TRIGGER_NAME = re.compile(r"^[\w.-]{1,100}$")  # limits.md: no spaces or commas
EVENTS = ("all", "updateReference", "createReference", "deleteReference")
DESTINATION = re.compile(r"^arn:aws:(sns|lambda):([a-z0-9-]+):(\d{12}):(.+)$")


def check(repo: Repository, triggers: list[dict] | None) -> list[dict]:
    """The triggers as stored (branches and customData filled), or AWS's error."""
    if triggers is None:
        raise err.RepositoryTriggersListRequiredException("The list of triggers is required.")
    if len(triggers) > MAX_TRIGGERS:
        raise err.MaximumRepositoryTriggersExceededException(
            f"The number of triggers allowed for the repository was exceeded ({MAX_TRIGGERS})."
        )
    return [_check_trigger(repo, trigger) for trigger in triggers]


def _check_trigger(repo: Repository, trigger: dict) -> dict:
    name = trigger.get("name")
    if not name:
        raise err.RepositoryTriggerNameRequiredException("A name for the trigger is required.")
    if not TRIGGER_NAME.match(name):
        raise err.InvalidRepositoryTriggerNameException(f"The trigger name {name} is not valid.")
    destination = trigger.get("destinationArn")
    if not destination:
        raise err.RepositoryTriggerDestinationArnRequiredException(
            "A destination ARN for the target service for the trigger is required."
        )
    found = DESTINATION.match(destination)
    if found is None:
        raise err.InvalidRepositoryTriggerDestinationArnException(
            f"The Amazon Resource Name (ARN) for the trigger is not valid: {destination}. "
            "Specify an Amazon SNS topic or an AWS Lambda function."
        )
    if found.group(2) != repo.region:
        raise err.InvalidRepositoryTriggerRegionException(
            "The AWS Region for the trigger target does not match the AWS Region for the "
            "repository. Triggers must be created in the same AWS Region as the target."
        )
    custom = trigger.get("customData") or ""
    if len(custom) > MAX_CUSTOM_DATA:
        raise err.InvalidRepositoryTriggerCustomDataException(
            f"The custom data for the trigger is longer than {MAX_CUSTOM_DATA} characters."
        )
    branches = trigger.get("branches")
    if branches is None:
        branches = []  # the guide's examples leave it out: all branches
    if len(branches) > MAX_BRANCHES:
        raise err.MaximumBranchesExceededException(
            f"The number of branches for the trigger was exceeded ({MAX_BRANCHES})."
        )
    from .models import BRANCH_PATTERN

    for branch in branches:
        if not BRANCH_PATTERN.match(branch):
            raise err.InvalidRepositoryTriggerBranchNameException(
                f"The branch name {branch} for the trigger is not valid."
            )
    events = trigger.get("events")
    if not events:
        raise err.RepositoryTriggerEventsListRequiredException(
            "At least one event for the trigger is required."
        )
    if any(e not in EVENTS for e in events) or ("all" in events and len(events) > 1):
        raise err.InvalidRepositoryTriggerEventsException(
            "One or more events specified for the trigger is not valid. If you specify all, "
            "you cannot specify other events: " + ", ".join(events)
        )
    return {
        "name": name,
        "destinationArn": destination,
        "customData": custom,
        "branches": list(branches),
        "events": list(events),
    }


def on_reference_moved(
    repo: Repository, reference_type: str, name: str, old: str | None, new: str | None
) -> None:
    """Publish to the topic of every trigger this change of a branch or tag concerns (a
    trigger with branches listed concerns those branches only)."""
    change = _change(old, new)
    if change is None:
        return
    prefix = "refs/heads/" if reference_type == "branch" else "refs/tags/"
    reference: dict[str, object] = {"commit": new or old, "ref": prefix + name}
    if change == "createReference":
        reference["created"] = True
    elif change == "deleteReference":
        reference["deleted"] = True
    for trigger in list(repo.triggers):
        wanted = "all" in trigger["events"] or change in trigger["events"]
        listed = reference_type == "branch" and name in trigger["branches"]
        if wanted and (not trigger["branches"] or listed):
            _publish(repo, trigger, [reference])


def test(repo: Repository, triggers: list[dict]) -> tuple[list[str], list[dict]]:
    """TestRepositoryTriggers: send each trigger sample data (the default branch's tip, as
    AWS does "if data is available"); (successful names, failures)."""
    from . import gitstore

    git = repo.git()
    branches = gitstore.branches(git)
    branch = repo.default_branch if repo.default_branch in branches else None
    commit = branches.get(branch, "0" * 40) if branch else "0" * 40
    reference = {"commit": commit, "ref": f"refs/heads/{branch or 'main'}"}
    successful, failed = [], []
    for trigger in triggers:
        reason = _publish(repo, trigger, [reference])
        if reason is None:
            successful.append(trigger["name"])
        else:
            failed.append({"trigger": trigger["name"], "failureMessage": reason})
    return successful, failed


def new_configuration_id() -> str:
    return str(uuid.uuid4())


def _change(old: str | None, new: str | None) -> str | None:
    if old is None and new is not None:
        return "createReference"
    if old is not None and new is None:
        return "deleteReference"
    if old is not None and new is not None:
        return "updateReference"
    return None


def _publish(repo: Repository, trigger: dict, references: list[dict]) -> str | None:
    """Send the trigger's message; None, or why it could not be sent."""
    destination = trigger["destinationArn"]
    if destination.split(":")[2] != "sns":
        return "Lambda functions are not run by the local AWS: use an Amazon SNS topic."
    message = json.dumps({"Records": [_record(repo, trigger, references)]})
    if not moto_backends.sns_publish(destination, message):
        return f"The Amazon SNS topic {destination} does not exist in the local AWS."
    return None


def _record(repo: Repository, trigger: dict, references: list[dict]) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {
        "awsRegion": repo.region,
        "codecommit": {"references": references},
        "customData": trigger["customData"],
        "eventId": str(uuid.uuid4()),
        "eventName": "ReferenceChange",
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": repo.arn,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000",
        "eventTotalParts": 1,
        "eventTriggerConfigId": repo.trigger_configuration_id,
        "eventTriggerName": trigger["name"],
        "eventVersion": "1.0",
        "userIdentityARN": f"arn:aws:iam::{repo.account_id}:root",
    }
