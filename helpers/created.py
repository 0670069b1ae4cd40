"""The kit's own record of what the labs created where AWS offers no tags.

CodeDeploy deployment configurations take no tags, so teardown cannot tell the kit's from
someone else's by looking at them. lab.setup() hooks the session so that every such
resource the labs create is written down here (one file per learner prefix in the state
folder); teardown deletes those, and only those, and drops an entry once its resource is
deleted (a same-named resource made later is not the kit's). CodeBuild projects are
written down too: the log groups CodeBuild makes for a project carry no tags. The report
groups CodeBuild makes itself when a build of a recorded project reports into a new group
are written down when the lab reads that build (BatchGetBuilds), with the build's start.
CodeCommit approval rule templates take no tags either: written down when a lab creates
one (followed when it is renamed, dropped when the lab deletes it); one made with the aws
CLI, outside the kit's boto3 session, is written down with record_approval_rule_template().
CodeBuild source credentials take no tags: written down by server type when a lab imports one.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass

from . import settings

DEPLOYMENT_CONFIG = "deployment config"
PROJECT = "codebuild project"
REPORT_GROUP = "report group"
APPROVAL_RULE_TEMPLATE = "approval rule template"
SOURCE_CREDENTIAL = "codebuild source credential"  # by server type: one per type and region

# (service, operation) -> (kind, request parameter holding the name)
RECORDED_CREATES = {
    ("codedeploy", "CreateDeploymentConfig"): (DEPLOYMENT_CONFIG, "deploymentConfigName"),
    ("codebuild", "CreateProject"): (PROJECT, "name"),
    ("codebuild", "CreateReportGroup"): (REPORT_GROUP, "name"),
    ("codebuild", "ImportSourceCredentials"): (SOURCE_CREDENTIAL, "serverType"),
    ("codecommit", "CreateApprovalRuleTemplate"): (
        APPROVAL_RULE_TEMPLATE,
        "approvalRuleTemplateName",
    ),
}
# (service, operation) -> (kind, parameter with the old name, parameter with the new name):
# a recorded resource renamed through the session is recorded under its new name.
RECORDED_RENAMES = {
    ("codecommit", "UpdateApprovalRuleTemplateName"): (
        APPROVAL_RULE_TEMPLATE,
        "oldApprovalRuleTemplateName",
        "newApprovalRuleTemplateName",
    ),
}
# (service, operation) -> (kind, request parameter holding the name): a recorded resource
# the lab deletes itself leaves the record, so a later one of its name is not the kit's.
# (Not CodeBuild projects: their record still names the log groups they leave behind.)
RECORDED_DELETES = {
    ("codecommit", "DeleteApprovalRuleTemplate"): (
        APPROVAL_RULE_TEMPLATE,
        "approvalRuleTemplateName",
    ),
}

_lock = threading.Lock()


@dataclass(frozen=True)
class Entry:
    """One recorded resource: whose it is, and (when it was made as a side effect) the
    time from which it can have been made by the lab (seconds since the epoch)."""

    owner: str
    since: float | None = None


def _folder():
    path = settings.state_dir() / "created"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remember(prefix: str, kind: str, name: str, region: str, since: float | None = None) -> None:
    item: dict[str, str | float] = {"kind": kind, "name": name, "region": region}
    if since is not None:
        item["since"] = since
    with _lock, open(_folder() / f"{prefix}.jsonl", "a") as record:
        record.write(json.dumps(item) + "\n")


def forget(prefix: str, kind: str, name: str, region: str) -> None:
    """Drop a deleted resource's entries, so a later one of the same name is not the kit's."""
    if not settings.PREFIX_PATTERN.match(prefix):
        return  # an owner tag is anyone's text: never let it name another file
    path = _folder() / f"{prefix}.jsonl"
    with _lock:
        if not path.exists():
            return
        kept = [
            line
            for line in path.read_text().splitlines()
            if _parse(line)[0] != (kind, name, region)
        ]
        partial = path.with_suffix(".jsonl.tmp")
        partial.write_text("".join(line + "\n" for line in kept))
        os.replace(partial, path)  # a reader sees the old record or the new, never half


def _parse(line: str) -> tuple[tuple[str, str, str] | None, float | None]:
    """One line's (kind, name, region) and since; (None, None) for a torn line."""
    try:
        item = json.loads(line)
        since = item.get("since")
        return (
            (item["kind"], item["name"], item["region"]),
            since if isinstance(since, (int, float)) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None


def recorded(prefix: str | None = None) -> dict[tuple[str, str, str], Entry]:
    """(kind, name, region) -> Entry, for one learner or (None) every learner."""
    files = [_folder() / f"{prefix}.jsonl"] if prefix else sorted(_folder().glob("*.jsonl"))
    found = {}
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            key, since = _parse(line)
            if key is not None:  # a torn line is ignored, the rest still counts
                found[key] = Entry(path.stem, since)
    return found


def record_approval_rule_template(prefix: str, name: str, region: str) -> None:
    """Write down an approval rule template a lab made outside the kit's boto3 session
    (with the aws CLI), so that teardown deletes it: templates take no tags. Templates made
    with the kit's clients are written down already; writing one down twice is harmless."""
    settings.validate_prefix(prefix)  # names this learner's record file
    if (APPROVAL_RULE_TEMPLATE, name, region) not in recorded(prefix):
        remember(prefix, APPROVAL_RULE_TEMPLATE, name, region)


def report_groups_of_builds(builds: list, region: str, known: dict) -> list[tuple[str, float]]:
    """(group name, build start) of the groups CodeBuild names '<project>-<key>' that
    builds of recorded projects report into, and that are not recorded yet."""
    found: dict[str, float] = {}
    for build in builds:
        project = build.get("projectName")
        if (PROJECT, project, region) not in known:
            continue
        started = build.get("startTime")
        for arn in build.get("reportArns") or []:
            # arn:aws:codebuild:<region>:<account>:report/<group>:<id>
            group = arn.split(":report/", 1)[-1].rsplit(":", 1)[0]
            if (
                group.startswith(f"{project}-")
                and hasattr(started, "timestamp")
                and (REPORT_GROUP, group, region) not in known
            ):
                found.setdefault(group, started.timestamp())
    return list(found.items())


def watch(session, prefix: str) -> None:
    """Write down each untaggable resource created through this boto3 session."""

    def note_name(params, model, context, **_):
        kind, key = RECORDED_CREATES[model.service_model.service_name, model.name]
        context["lab_kit_created"] = (kind, params.get(key))

    def after_call(http_response, context, **_):
        kind, name = context.get("lab_kit_created", (None, None))
        if name and http_response.status_code < 300:
            remember(prefix, kind, name, context.get("client_region") or "")

    def note_rename(params, model, context, **_):
        kind, old, new = RECORDED_RENAMES[model.service_model.service_name, model.name]
        context["lab_kit_renamed"] = (kind, params.get(old), params.get(new))

    def after_rename(http_response, context, **_):
        kind, old, new = context.get("lab_kit_renamed", (None, None, None))
        region = context.get("client_region") or ""
        if (
            old
            and new
            and http_response.status_code < 300
            and (kind, old, region) in recorded(prefix)
        ):
            forget(prefix, kind, old, region)
            remember(prefix, kind, new, region)

    def note_deleted(params, model, context, **_):
        kind, key = RECORDED_DELETES[model.service_model.service_name, model.name]
        context["lab_kit_deleted"] = (kind, params.get(key))

    def after_delete(http_response, context, **_):
        kind, name = context.get("lab_kit_deleted", (None, None))
        if name and http_response.status_code < 300:
            forget(prefix, kind, name, context.get("client_region") or "")

    def after_builds_read(parsed, context, **_):
        region = context.get("client_region") or ""
        builds = parsed.get("builds") if isinstance(parsed, dict) else None
        if not builds:
            return
        for group, since in report_groups_of_builds(builds, region, recorded(prefix)):
            remember(prefix, REPORT_GROUP, group, region, since)

    for service, operation in RECORDED_CREATES:
        session.events.register(
            f"before-parameter-build.{service}.{operation}",
            note_name,
            unique_id=f"lab-kit-name-{service}-{operation}",
        )
        session.events.register(
            f"after-call.{service}.{operation}",
            after_call,
            unique_id=f"lab-kit-record-{service}-{operation}",
        )
    for service, operation in RECORDED_RENAMES:
        session.events.register(
            f"before-parameter-build.{service}.{operation}",
            note_rename,
            unique_id=f"lab-kit-rename-{service}-{operation}",
        )
        session.events.register(
            f"after-call.{service}.{operation}",
            after_rename,
            unique_id=f"lab-kit-record-rename-{service}-{operation}",
        )
    for service, operation in RECORDED_DELETES:
        session.events.register(
            f"before-parameter-build.{service}.{operation}",
            note_deleted,
            unique_id=f"lab-kit-delete-{service}-{operation}",
        )
        session.events.register(
            f"after-call.{service}.{operation}",
            after_delete,
            unique_id=f"lab-kit-forget-{service}-{operation}",
        )
    session.events.register(
        "after-call.codebuild.BatchGetBuilds",
        after_builds_read,
        unique_id="lab-kit-record-report-groups",
    )
