"""The CodeBuild API operations the kit serves, replacing moto's own for these names.

Each method takes the decoded JSON request and returns the reply; `self` is moto's
CodeBuildResponse, so self.current_account and self.region say whose backend to use.
"""

from __future__ import annotations

from moto.codebuild.responses import CodeBuildResponse

from ..core import InvalidNextTokenError, install_handlers, paginate
from . import exceptions as err
from .models import CodeBuildLabBackend, codebuild_lab_backends

INITIATOR = "root"  # offline there is no IAM identity behind a call


def _backend(handler) -> CodeBuildLabBackend:
    return codebuild_lab_backends[handler.current_account][handler.region]


def _page(items: list, params: dict) -> tuple[list, str | None]:
    try:
        return paginate(items, params)
    except InvalidNextTokenError:
        raise err.InvalidInputException("Invalid pagination token") from None


def _compact(reply: dict) -> dict:
    """Top-level lists that are empty are left out (their shapes say at least one item)."""
    return {key: value for key, value in reply.items() if value != []}


def _descending(params: dict, default: str) -> bool:
    return (params.get("sortOrder") or default) == "DESCENDING"


def _endpoint_url(handler) -> str | None:
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
    return _compact({"reports": page, **({"nextToken": token} if token else {})})


class CodeBuildHandlers:
    # -- projects -------------------------------------------------------------------

    def create_project(self, params: dict) -> dict:
        return {"project": _backend(self).create_project(params).describe()}

    def update_project(self, params: dict) -> dict:
        return {"project": _backend(self).update_project(params).describe()}

    def batch_get_projects(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for name in params["names"]:
            try:
                found.append(backend.get_project(name).describe())
            except err.ResourceNotFoundException:
                missing.append(name)
        return _compact({"projects": found, "projectsNotFound": missing})

    def list_projects(self, params: dict) -> dict:
        names = _backend(self).list_projects(params.get("sortBy") or "NAME",
                                             _descending(params, "ASCENDING"))
        page, token = _page(names, params)
        return _compact({"projects": page, **({"nextToken": token} if token else {})})

    def delete_project(self, params: dict) -> dict:
        _backend(self).delete_project(params["name"])
        return {}

    # -- builds ---------------------------------------------------------------------

    def start_build(self, params: dict) -> dict:
        build = _backend(self).start_build(params, INITIATOR, _endpoint_url(self))
        return {"build": build.describe()}

    def stop_build(self, params: dict) -> dict:
        return {"build": _backend(self).stop_build(params["id"]).describe()}

    def retry_build(self, params: dict) -> dict:
        # Both members are optional in the model; a retry needs the build to retry.
        if not params.get("id"):
            raise err.InvalidInputException("RetryBuild needs the id of the build to retry")
        build = _backend(self).retry_build(params["id"], params.get("idempotencyToken"),
                                           INITIATOR)
        return {"build": build.describe()}

    def batch_get_builds(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for build_id in params["ids"]:
            try:
                found.append(backend.get_build(build_id).describe())
            except err.ResourceNotFoundException:
                missing.append(build_id)
        return _compact({"builds": found, "buildsNotFound": missing})

    def list_builds(self, params: dict) -> dict:
        ids = _backend(self).list_builds(None, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return _compact({"ids": page, **({"nextToken": token} if token else {})})

    def list_builds_for_project(self, params: dict) -> dict:
        backend = _backend(self)
        project = backend.get_project(params["projectName"])
        ids = backend.list_builds(project.name, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return _compact({"ids": page, **({"nextToken": token} if token else {})})

    def batch_delete_builds(self, params: dict) -> dict:
        deleted, not_deleted = _backend(self).delete_builds(params["ids"])
        return _compact({"buildsDeleted": deleted, "buildsNotDeleted": not_deleted})

    # -- report groups and reports --------------------------------------------------

    def create_report_group(self, params: dict) -> dict:
        group = _backend(self).create_report_group(
            params["name"], params["type"], params["exportConfig"], params.get("tags") or [])
        return {"reportGroup": group.describe()}

    def update_report_group(self, params: dict) -> dict:
        group = _backend(self).update_report_group(
            params["arn"], params.get("exportConfig"), params.get("tags"))
        return {"reportGroup": group.describe()}

    def batch_get_report_groups(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for arn in params["reportGroupArns"]:
            group = backend.report_groups.get(arn)
            if group is None:
                missing.append(arn)
            else:
                found.append(group.describe())
        return _compact({"reportGroups": found, "reportGroupsNotFound": missing})

    def list_report_groups(self, params: dict) -> dict:
        key = {"NAME": lambda g: g.name, "CREATED_TIME": lambda g: g.created,
               "LAST_MODIFIED_TIME": lambda g: g.last_modified}[params.get("sortBy") or "NAME"]
        groups = sorted(_backend(self).report_groups.values(), key=key,
                        reverse=_descending(params, "ASCENDING"))
        page, token = _page([g.arn for g in groups], params)
        return _compact({"reportGroups": page, **({"nextToken": token} if token else {})})

    def delete_report_group(self, params: dict) -> dict:
        _backend(self).delete_report_group(params["arn"], bool(params.get("deleteReports")))
        return {}

    def list_reports(self, params: dict) -> dict:
        return _report_list(list(_backend(self).reports.values()), params)

    def list_reports_for_report_group(self, params: dict) -> dict:
        backend = _backend(self)
        group = backend.get_report_group(params["reportGroupArn"])
        return _report_list([r for r in backend.reports.values() if r.group_arn == group.arn],
                             params)

    def _reports(self, reports: list, params: dict) -> dict:
        status = (params.get("filter") or {}).get("status")
        reports = [r for r in reports if status is None or r.status == status]
        reports.sort(key=lambda r: r.created, reverse=_descending(params, "DESCENDING"))
        page, token = _page([r.arn for r in reports], params)
        return _compact({"reports": page, **({"nextToken": token} if token else {})})

    def batch_get_reports(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for arn in params["reportArns"]:
            report = backend.reports.get(arn)
            if report is None:
                missing.append(arn)
            else:
                found.append(report.describe())
        return _compact({"reports": found, "reportsNotFound": missing})

    def delete_report(self, params: dict) -> dict:
        _backend(self).reports.pop(params["arn"], None)
        return {}

    def describe_test_cases(self, params: dict) -> dict:
        report = _backend(self).get_report(params["reportArn"])
        wanted = params.get("filter") or {}
        status, keyword = wanted.get("status"), (wanted.get("keyword") or "").lower()
        cases = [case for case in report.test_cases
                 if (status is None or case["status"] == status)
                 and (not keyword or keyword in case["name"].lower()
                      or keyword in case["prefix"].lower())]
        page, token = _page(cases, params)
        return _compact({"testCases": page, **({"nextToken": token} if token else {})})


def install() -> None:
    install_handlers("codebuild", CodeBuildResponse, CodeBuildHandlers)
