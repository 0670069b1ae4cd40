"""The CodeBuild API operations the kit serves, replacing moto's own for these names, and
the shaping of their replies (the `*_reply` functions).

Each method takes the decoded JSON request and returns the reply; `self` is moto's
CodeBuildResponse, so self.current_account and self.region say whose backend to use.
"""

from __future__ import annotations

import uuid

from moto.codebuild.responses import CodeBuildResponse

from .. import core
from ..core import LabHandlers, install_handlers, with_token
from . import exceptions as err
from . import sharing, webhooks
from .artifacts import object_key
from .models import (
    Build,
    CodeBuildLabBackend,
    Phase,
    Project,
    Report,
    ReportGroup,
    build_environment,
    codebuild_lab_backends,
)

INITIATOR = "root"  # offline there is no IAM identity behind a call

_page = core.pager(err.InvalidInputException, "Invalid pagination token")


def _backend(handler: LabHandlers) -> CodeBuildLabBackend:
    return codebuild_lab_backends[handler.current_account][handler.region]


def _descending(params: dict, default: str) -> bool:
    return (params.get("sortOrder") or default) == "DESCENDING"


def _endpoint_url(handler: LabHandlers) -> str | None:
    """The local server's address when the call came over HTTP to it (not under mock_aws)."""
    host = (getattr(handler, "headers", None) or {}).get("Host", "")
    if not host or host.endswith("amazonaws.com"):
        return None
    return f"http://{host}"


def _report_list(reports: list, params: dict) -> dict:
    status = (params.get("filter") or {}).get("status")
    reports = [r for r in reports if status is None or r.status == status]
    reports.sort(key=lambda r: r.created, reverse=_descending(params, "DESCENDING"))
    page, token = _page([r.arn for r in reports], params)
    return with_token({"reports": page}, token)


class CodeBuildHandlers(LabHandlers):
    # -- projects -------------------------------------------------------------------

    def create_project(self, params: dict) -> dict:
        return {"project": project_reply(_backend(self).create_project(params))}

    def update_project(self, params: dict) -> dict:
        return {"project": project_reply(_backend(self).update_project(params))}

    def batch_get_projects(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for name in params["names"]:
            try:
                found.append(project_reply(backend.get_project(name)))
            except err.ResourceNotFoundException:
                missing.append(name)
        return {"projects": found, "projectsNotFound": missing}

    def list_projects(self, params: dict) -> dict:
        names = _backend(self).list_projects(
            params.get("sortBy") or "NAME", _descending(params, "ASCENDING")
        )
        page, token = _page(names, params)
        return with_token({"projects": page}, token)

    def delete_project(self, params: dict) -> dict:
        _backend(self).delete_project(params["name"])
        return {}

    # -- builds ---------------------------------------------------------------------

    def start_build(self, params: dict) -> dict:
        build = _backend(self).start_build(params, INITIATOR, _endpoint_url(self))
        return {"build": build_reply(build)}

    def stop_build(self, params: dict) -> dict:
        return {"build": build_reply(_backend(self).stop_build(params["id"]))}

    def retry_build(self, params: dict) -> dict:
        # Both members are optional in the model; a retry needs the build to retry.
        if not params.get("id"):
            raise err.InvalidInputException("RetryBuild needs the id of the build to retry")
        build = _backend(self).retry_build(params["id"], params.get("idempotencyToken"), INITIATOR)
        return {"build": build_reply(build)}

    def batch_get_builds(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for build_id in params["ids"]:
            try:
                found.append(build_reply(backend.get_build(build_id)))
            except err.ResourceNotFoundException:
                missing.append(build_id)
        return {"builds": found, "buildsNotFound": missing}

    def list_builds(self, params: dict) -> dict:
        ids = _backend(self).list_builds(None, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return with_token({"ids": page}, token)

    def list_builds_for_project(self, params: dict) -> dict:
        backend = _backend(self)
        project = backend.get_project(params["projectName"])
        ids = backend.list_builds(project.name, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return with_token({"ids": page}, token)

    def batch_delete_builds(self, params: dict) -> dict:
        deleted, not_deleted = _backend(self).delete_builds(params["ids"])
        return {"buildsDeleted": deleted, "buildsNotDeleted": not_deleted}

    # -- report groups and reports --------------------------------------------------

    def create_report_group(self, params: dict) -> dict:
        group = _backend(self).create_report_group(
            params["name"], params["type"], params["exportConfig"], params.get("tags") or []
        )
        return {"reportGroup": report_group_reply(group)}

    def update_report_group(self, params: dict) -> dict:
        group = _backend(self).update_report_group(
            params["arn"], params.get("exportConfig"), params.get("tags")
        )
        return {"reportGroup": report_group_reply(group)}

    def batch_get_report_groups(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for arn in params["reportGroupArns"]:
            group = backend.report_groups.get(arn)
            if group is None:
                missing.append(arn)
            else:
                found.append(report_group_reply(group))
        return {"reportGroups": found, "reportGroupsNotFound": missing}

    def list_report_groups(self, params: dict) -> dict:
        key = {
            "NAME": lambda g: g.name,
            "CREATED_TIME": lambda g: g.created,
            "LAST_MODIFIED_TIME": lambda g: g.last_modified,
        }[params.get("sortBy") or "NAME"]
        groups = sorted(
            _backend(self).report_groups.values(), key=key, reverse=_descending(params, "ASCENDING")
        )
        page, token = _page([g.arn for g in groups], params)
        return with_token({"reportGroups": page}, token)

    def delete_report_group(self, params: dict) -> dict:
        _backend(self).delete_report_group(params["arn"], bool(params.get("deleteReports")))
        return {}

    def list_reports(self, params: dict) -> dict:
        return _report_list(list(_backend(self).reports.values()), params)

    def list_reports_for_report_group(self, params: dict) -> dict:
        backend = _backend(self)
        group = backend.get_report_group(params["reportGroupArn"])
        return _report_list(
            [r for r in backend.reports.values() if r.group_arn == group.arn], params
        )

    def batch_get_reports(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for arn in params["reportArns"]:
            report = backend.reports.get(arn)
            if report is None:
                missing.append(arn)
            else:
                found.append(report_reply(report))
        return {"reports": found, "reportsNotFound": missing}

    def delete_report(self, params: dict) -> dict:
        _backend(self).reports.pop(params["arn"], None)
        return {}

    def describe_test_cases(self, params: dict) -> dict:
        report = _backend(self).get_report(params["reportArn"])
        wanted = params.get("filter") or {}
        status, keyword = wanted.get("status"), (wanted.get("keyword") or "").lower()
        cases = [
            case
            for case in report.test_cases
            if (status is None or case["status"] == status)
            and (
                not keyword or keyword in case["name"].lower() or keyword in case["prefix"].lower()
            )
        ]
        page, token = _page(cases, params)
        return with_token({"testCases": page}, token)


# -- replies ---------------------------------------------------------------------------


def project_reply(project: Project) -> dict:
    reply = {
        "name": project.name,
        "arn": project.arn,
        **project.effective_settings(),
        "created": project.created,
        "lastModified": project.last_modified,
        "badge": {"badgeEnabled": project.badge_enabled},
        "projectVisibility": "PRIVATE",
    }
    reply.update(sharing.visibility_fields(project))  # PUBLIC_READ: its alias and role
    webhook = webhooks.project_webhook(project)
    if webhook is not None:
        reply["webhook"] = webhook
    if project.badge_enabled:
        reply["badge"]["badgeRequestUrl"] = (
            f"https://codebuild.{project.region}.amazonaws.com/badges?uuid="
            f"{uuid.uuid5(uuid.NAMESPACE_URL, project.arn)}&branch=main"
        )
    return reply


def phase_reply(phase: Phase) -> dict:
    reply: dict = {"phaseType": phase.type, "startTime": phase.start}
    if phase.end is not None:
        reply.update(
            endTime=phase.end,
            phaseStatus=phase.status,
            durationInSeconds=int((phase.end - phase.start).total_seconds()),
        )
    if phase.contexts is not None:
        reply["contexts"] = phase.contexts
    return reply


def build_reply(build: Build) -> dict:
    """The build as it is now (its worker may be advancing it: read under its lock)."""
    with build.lock:
        config = build.config
        reply = {
            "id": build.id,
            "arn": build.arn,
            "buildNumber": build.number,
            "startTime": build.start_time,
            "currentPhase": build.current_phase,
            "buildStatus": build.status,
            "projectName": build.project_name,
            "phases": [phase_reply(phase) for phase in build.phases],
            "source": config.source,
            "secondarySources": config.secondary_sources,
            "secondarySourceVersions": config.secondary_source_versions,
            "artifacts": build.artifact_location or _planned_artifact(build),
            "secondaryArtifacts": build.secondary_artifact_locations,
            "cache": config.cache,
            "environment": build_environment(config),
            "serviceRole": config.service_role,
            "logs": _logs_reply(build),
            "timeoutInMinutes": config.timeout_minutes,
            "queuedTimeoutInMinutes": config.queued_timeout_minutes,
            "buildComplete": build.done.is_set(),
            "initiator": build.initiator,
            "encryptionKey": config.encryption_key,
            "exportedEnvironmentVariables": build.exported_variables,
            "reportArns": list(build.report_arns),
            "fileSystemLocations": [],
        }
        if build.end_time is not None:
            reply["endTime"] = build.end_time
        if config.source_version:
            reply["sourceVersion"] = config.source_version
        if build.resolved_source_version:
            reply["resolvedSourceVersion"] = build.resolved_source_version
        if build.batch_arn:
            reply["buildBatchArn"] = build.batch_arn
        return reply


def _planned_artifact(build: Build) -> dict:
    """Where the build's artifact will go, before UPLOAD_ARTIFACTS has put it there."""
    artifacts = build.config.artifacts
    if artifacts.get("type") != "S3":
        return {"location": ""}
    key = object_key(
        artifacts.get("path"),
        build.uuid if artifacts.get("namespaceType") == "BUILD_ID" else None,
        artifacts.get("name") or build.project_name,
    )
    return {"location": f"arn:aws:s3:::{artifacts.get('location')}/{key}"}


def _logs_reply(build: Build) -> dict:
    logs_config = build.config.logs_config
    cloudwatch = dict(logs_config.get("cloudWatchLogs") or {"status": "ENABLED"})
    reply = {
        "cloudWatchLogs": cloudwatch,
        "s3Logs": logs_config.get("s3Logs") or {"status": "DISABLED", "encryptionDisabled": False},
    }
    if build.log_group and build.log_stream:
        group, stream = build.log_group, build.log_stream
        reply.update(
            groupName=group,
            streamName=stream,
            deepLink=(
                f"https://console.aws.amazon.com/cloudwatch/home?region={build.region}"
                f"#logsV2:log-groups/log-group/{group.replace('/', '$252F')}"
                f"/log-events/{stream.replace('/', '$252F')}"
            ),
            cloudWatchLogsArn=(
                f"arn:aws:logs:{build.region}:{build.account}:log-group:{group}:log-stream:{stream}"
            ),
        )
    return reply


def report_group_reply(group: ReportGroup) -> dict:
    return {
        "arn": group.arn,
        "name": group.name,
        "type": group.type,
        "exportConfig": group.export_config,
        "created": group.created,
        "lastModified": group.last_modified,
        "tags": group.tags,
        "status": "ACTIVE",
    }


def report_reply(report: Report) -> dict:
    counts = {key: 0 for key in ("SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN")}
    for case in report.test_cases:
        counts[case["status"]] = counts.get(case["status"], 0) + 1
    reply = {
        "arn": report.arn,
        "type": report.type,
        "name": report.name,
        "reportGroupArn": report.group_arn,
        "executionId": report.execution_id,
        "status": report.status,
        "created": report.created,
        "expired": report.expired,
        "exportConfig": report.export_config,
        "truncated": False,
        "testSummary": {
            "total": len(report.test_cases),
            "statusCounts": counts,
            "durationInNanoSeconds": sum(c["durationInNanoSeconds"] for c in report.test_cases),
        },
    }
    if report.coverage_summary is not None:  # a CODE_COVERAGE report (coverage.py)
        reply["codeCoverageSummary"] = report.coverage_summary
        del reply["testSummary"]
    return reply


def install() -> None:
    from .batch_handlers import BatchHandlers  # it uses this module's replies
    from .caches import CacheHandlers
    from .coverage import CoverageHandlers
    from .fleet_handlers import FleetHandlers
    from .sandboxes import SandboxHandlers  # it builds on this module's replies
    from .sharing_handlers import SharingHandlers

    install_handlers("codebuild", CodeBuildResponse, CodeBuildHandlers)
    for handlers in (
        BatchHandlers,
        FleetHandlers,
        SharingHandlers,
        SandboxHandlers,
        CacheHandlers,
        CoverageHandlers,
    ):
        install_handlers("codebuild", CodeBuildResponse, handlers)
    webhooks.install()  # source credentials and webhooks (their own handlers)
