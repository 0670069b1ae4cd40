"""The CodeBuild operations on sharing and the account's view: resource policies,
ListSharedProjects/ListSharedReportGroups, UpdateProjectVisibility and
ListCuratedEnvironmentImages (state in sharing.py, the image list in images.py)."""

from __future__ import annotations

from ..core import LabHandlers, with_token
from . import sharing
from .handlers import _backend, _page
from .images import curated_images_reply


class SharingHandlers(LabHandlers):
    def put_resource_policy(self, params: dict) -> dict:
        sharing.put_policy(_backend(self), params["resourceArn"], params["policy"])
        return {"resourceArn": params["resourceArn"]}

    def get_resource_policy(self, params: dict) -> dict:
        return {"policy": sharing.get_policy(_backend(self), params["resourceArn"])}

    def delete_resource_policy(self, params: dict) -> dict:
        sharing.delete_policy(_backend(self), params["resourceArn"])
        return {}

    def list_shared_projects(self, params: dict) -> dict:
        # What other accounts shared with this one: offline there is no other account.
        page, token = _page([], params)
        return with_token({"projects": page}, token)

    def list_shared_report_groups(self, params: dict) -> dict:
        page, token = _page([], params)
        return with_token({"reportGroups": page}, token)

    def update_project_visibility(self, params: dict) -> dict:
        project = _backend(self).get_project(params["projectArn"])
        sharing.update_visibility(
            project, params["projectVisibility"], params.get("resourceAccessRole")
        )
        fields = sharing.visibility_fields(project)
        reply = {"projectArn": project.arn, "projectVisibility": fields["projectVisibility"]}
        if "publicProjectAlias" in fields:
            reply["publicProjectAlias"] = fields["publicProjectAlias"]
        return reply

    def list_curated_environment_images(self, params: dict) -> dict:
        return curated_images_reply()
