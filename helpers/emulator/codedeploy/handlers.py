"""CodeDeploy API operations: thin methods that read the request, call the backend, and
shape the reply. `self` is moto's CodeDeployResponse (see core.install_handlers).

Replies are shaped by the module functions `<thing>_reply` (the models hold state only).
"""

from __future__ import annotations

from typing import Any

from moto.codedeploy.responses import CodeDeployResponse

from ..core import LabHandlers, compact, install_handlers, pager, to_epoch, with_token
from . import exceptions as errors
from .models import (
    GROUP_SETTINGS,
    Application,
    CodeDeployLabBackend,
    Deployment,
    DeploymentConfig,
    DeploymentGroup,
    LifecycleEventState,
    OnPremisesInstance,
    RevisionRecord,
    TargetState,
    codedeploy_lab_backends,
)
from .targets import matches_any

REVISION_SORT_KEYS = {
    "registerTime": "register_time",
    "firstUsedTime": "first_used_time",
    "lastUsedTime": "last_used_time",
}
BATCH_LIMIT = 100
DEPLOYMENT_BATCH_LIMIT = 25
TARGET_STATUSES = ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready")
STOPPING_REPLY = {
    "status": "Pending",
    "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances",
}

_page = pager(
    errors.InvalidNextTokenException, "The next token was specified in an invalid format."
)


# --- replies ------------------------------------------------------------------------------


def application_reply(application: Application) -> dict:
    """ApplicationInfo."""
    return {
        "applicationId": application.application_id,
        "applicationName": application.name,
        "createTime": application.create_time,
        "linkedToGitHub": False,
        "computePlatform": application.compute_platform,
    }


def revision_info_reply(record: RevisionRecord) -> dict:
    """GenericRevisionInfo."""
    return compact(
        {
            "description": record.description,
            "deploymentGroups": list(record.deployment_groups),
            "firstUsedTime": record.first_used_time,
            "lastUsedTime": record.last_used_time,
            "registerTime": record.register_time,
        }
    )


def deployment_group_reply(group: DeploymentGroup) -> dict:
    """DeploymentGroupInfo: the group's settings as they were given, with AWS's defaults."""
    settings = group.settings
    reply: dict[str, Any] = {
        "applicationName": group.application.name,
        "deploymentGroupId": group.group_id,
        "deploymentGroupName": group.name,
        "computePlatform": group.application.compute_platform,
        "targetRevision": group.target_revision,
        "lastSuccessfulDeployment": group.last_successful
        and last_deployment_reply(group.last_successful),
        "lastAttemptedDeployment": group.last_attempted
        and last_deployment_reply(group.last_attempted),
    }
    reply.update({key: settings.get(key) for key in GROUP_SETTINGS})
    reply["autoScalingGroups"] = [
        {"name": name} for name in settings.get("autoScalingGroups") or []
    ]
    return compact(reply)


def last_deployment_reply(deployment: Deployment) -> dict:
    """LastDeploymentInfo, as a deployment group reports its last attempted/successful one."""
    return compact(
        {
            "deploymentId": deployment.deployment_id,
            "status": deployment.status,
            "endTime": deployment.complete_time,
            "createTime": deployment.create_time,
        }
    )


def deployment_config_reply(config: DeploymentConfig) -> dict:
    """DeploymentConfigInfo."""
    return compact(
        {
            "deploymentConfigId": config.config_id,
            "deploymentConfigName": config.name,
            "minimumHealthyHosts": config.minimum_healthy_hosts,
            "createTime": config.create_time,
            "computePlatform": config.compute_platform,
            "trafficRoutingConfig": config.traffic_routing_config,
            "zonalConfig": config.zonal_config,
        }
    )


def instance_info_reply(instance: OnPremisesInstance) -> dict:
    """InstanceInfo of an on-premises instance."""
    return compact(
        {
            "instanceName": instance.name,
            "iamUserArn": instance.iam_user_arn,
            "iamSessionArn": instance.iam_session_arn,
            "instanceArn": instance.arn,
            "registerTime": instance.register_time,
            "deregisterTime": instance.deregister_time,
            "tags": [{"Key": k, "Value": v} for k, v in instance.tags.items()],
        }
    )


def lifecycle_event_reply(event: LifecycleEventState) -> dict:
    """LifecycleEvent."""
    return compact(
        {
            "lifecycleEventName": event.name,
            "status": event.status,
            "startTime": event.start_time,
            "endTime": event.end_time,
            "diagnostics": event.diagnostics,
        }
    )


def instance_summary_reply(target: TargetState, deployment_id: str) -> dict:
    """InstanceSummary (GetDeploymentInstance, the older API)."""
    return {
        "deploymentId": deployment_id,
        "instanceId": target.arn,
        "status": target.status,
        "lastUpdatedAt": target.last_updated,
        "lifecycleEvents": [lifecycle_event_reply(event) for event in target.events],
    }


def instance_target_reply(target: TargetState, deployment_id: str) -> dict:
    """InstanceTarget (GetDeploymentTarget)."""
    return {
        "deploymentId": deployment_id,
        "targetId": target.target_id,
        "targetArn": target.arn,
        "status": target.status,
        "lastUpdatedAt": target.last_updated,
        "lifecycleEvents": [lifecycle_event_reply(event) for event in target.events],
    }


def deployment_overview_reply(deployment: Deployment) -> dict:
    """DeploymentOverview: how many instances are in each status."""
    counts = dict.fromkeys(TARGET_STATUSES, 0)
    for target in deployment.targets.values():
        if target.status in counts:
            counts[target.status] += 1
    return counts


def deployment_reply(deployment: Deployment) -> dict:
    """DeploymentInfo."""
    options = deployment.options
    return compact(
        {
            "applicationName": deployment.application.name,
            "deploymentGroupName": deployment.group.name,
            "deploymentConfigName": deployment.config.name,
            "deploymentId": deployment.deployment_id,
            "previousRevision": deployment.previous_revision,
            "revision": deployment.revision,
            "status": deployment.status,
            "errorInformation": deployment.error_information,
            "createTime": deployment.create_time,
            "startTime": deployment.start_time,
            "completeTime": deployment.complete_time,
            "deploymentOverview": deployment_overview_reply(deployment),
            "description": options.get("description"),
            "creator": deployment.creator,
            "ignoreApplicationStopFailures": bool(options.get("ignoreApplicationStopFailures")),
            "autoRollbackConfiguration": options.get("autoRollbackConfiguration"),
            "updateOutdatedInstancesOnly": bool(options.get("updateOutdatedInstancesOnly")),
            "rollbackInfo": deployment.rollback_info,
            "deploymentStyle": deployment.group.settings.get("deploymentStyle"),
            "targetInstances": options.get("targetInstances"),
            "instanceTerminationWaitTimeStarted": False,
            "loadBalancerInfo": deployment.group.settings.get("loadBalancerInfo"),
            "fileExistsBehavior": options.get("fileExistsBehavior") or "DISALLOW",
            "computePlatform": deployment.application.compute_platform,
            "deploymentStatusMessages": [],
        }
    )


# --- request helpers ----------------------------------------------------------------------


def _tags(
    tag_list: list[dict] | None, error: type = errors.InvalidTagsToAddException
) -> dict[str, str]:
    """Tags as a dict; a tag without a Key (the model allows it) is refused with error."""
    if any("Key" not in tag for tag in tag_list or []):
        raise error("Each tag needs a Key.")
    return {tag["Key"]: tag.get("Value", "") for tag in tag_list or []}


def _batch(names: list, limit: int = BATCH_LIMIT) -> list:
    if len(names) > limit:
        raise errors.BatchLimitExceededException(
            f"The maximum number of names or IDs allowed for this request ({limit}) was exceeded."
        )
    return names


def _started_deployment(lab: CodeDeployLabBackend, deployment_id: str | None) -> Deployment:
    if not deployment_id:
        raise errors.DeploymentIdRequiredException("The deployment ID is required.")
    return lab.get_deployment(deployment_id)


def lambda_target_reply(target: TargetState, deployment_id: str) -> dict:
    """LambdaTarget (GetDeploymentTarget of a Lambda deployment): an instance target's
    members and the function's versions and weight."""
    return {
        **instance_target_reply(target, deployment_id),
        "lambdaFunctionInfo": dict(target.lambda_info or {}),
    }


def _deployment_target(deployment: Deployment, target_id: str) -> dict:
    target = _target(deployment, target_id, errors.DeploymentTargetDoesNotExistException)
    if target.lambda_info is not None:
        return {
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": lambda_target_reply(target, deployment.deployment_id),
        }
    return {
        "deploymentTargetType": "InstanceTarget",
        "instanceTarget": instance_target_reply(target, deployment.deployment_id),
    }


def _target(deployment: Deployment, target_id: str, error: type) -> TargetState:
    """A target by its id or ARN."""
    target = deployment.targets.get(target_id)
    if target is None:
        target = next((item for item in deployment.targets.values() if item.arn == target_id), None)
    if target is None:
        raise error(f"The target {target_id} is not part of deployment {deployment.deployment_id}.")
    return target


def _tagged_resource(lab: CodeDeployLabBackend, arn: str | None):
    if not arn:
        raise errors.ResourceArnRequiredException("The ARN of a resource is required.")
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[2] != "codedeploy":
        raise errors.InvalidArnException(f"The ARN {arn} is not a valid CodeDeploy ARN.")
    kind, name = parts[5], parts[6]
    if kind == "application":
        return lab.get_application(name)
    if kind == "deploymentgroup" and "/" in name:
        application_name, group_name = name.split("/", 1)
        return lab.get_group(application_name, group_name)
    if kind == "deploymentconfig":
        return lab.get_config(name)
    raise errors.ArnNotSupportedException(f"Tags are not supported for {arn}.")


def _known_revision_shape(lab: CodeDeployLabBackend, revision: dict, application) -> dict:
    """Registered revisions follow the application's platform rules."""
    if application.compute_platform == "Server":
        return lab.check_server_revision(revision)
    if application.compute_platform == "Lambda":
        return lab.check_lambda_revision(revision)
    return revision


def _lab(handler: LabHandlers) -> CodeDeployLabBackend:
    return codedeploy_lab_backends[handler.current_account][handler.region]


class CodeDeployHandlers(LabHandlers):
    """Only public methods are copied onto moto's response class: helpers are functions."""

    # --- applications ---------------------------------------------------------------------
    def create_application(self, params: dict) -> dict:
        application = _lab(self).create_application(
            params["applicationName"], params.get("computePlatform"), _tags(params.get("tags"))
        )
        return {"applicationId": application.application_id}

    def get_application(self, params: dict) -> dict:
        return {
            "application": application_reply(
                _lab(self).get_application(params.get("applicationName"))
            )
        }

    def batch_get_applications(self, params: dict) -> dict:
        names = _batch(params.get("applicationNames") or [])
        return {
            "applicationsInfo": [
                application_reply(_lab(self).get_application(name)) for name in names
            ]
        }

    def list_applications(self, params: dict) -> dict:
        page, token = _page(sorted(_lab(self).applications), params)
        return with_token({"applications": page}, token)

    def update_application(self, params: dict) -> dict:
        _lab(self).rename_application(
            params.get("applicationName"), params.get("newApplicationName")
        )
        return {}

    def delete_application(self, params: dict) -> dict:
        _lab(self).delete_application(params["applicationName"])
        return {}

    # --- deployment groups ----------------------------------------------------------------
    def create_deployment_group(self, params: dict) -> dict:
        _tags(params.get("tags"))
        return {"deploymentGroupId": _lab(self).create_group(params).group_id}

    def get_deployment_group(self, params: dict) -> dict:
        group = _lab(self).get_group(params["applicationName"], params["deploymentGroupName"])
        return {"deploymentGroupInfo": deployment_group_reply(group)}

    def batch_get_deployment_groups(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        found, missing = [], []
        for name in _batch(params.get("deploymentGroupNames") or []):
            group = _lab(self).groups.get((application.application_id, name))
            if group is None:
                missing.append(name)
            else:
                found.append(deployment_group_reply(group))
        reply: dict[str, Any] = {"deploymentGroupsInfo": found}
        if missing:
            reply["errorMessage"] = "Deployment groups do not exist: " + ", ".join(missing)
        return reply

    def list_deployment_groups(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        names = sorted(group.name for group in _lab(self).groups_of(application))
        page, token = _page(names, params)
        return with_token({"applicationName": application.name, "deploymentGroups": page}, token)

    def update_deployment_group(self, params: dict) -> dict:
        _lab(self).update_group(params)
        return {"hooksNotCleanedUp": []}

    def delete_deployment_group(self, params: dict) -> dict:
        _lab(self).delete_group(params["applicationName"], params["deploymentGroupName"])
        return {"hooksNotCleanedUp": []}

    # --- deployment configurations --------------------------------------------------------
    def create_deployment_config(self, params: dict) -> dict:
        return {"deploymentConfigId": _lab(self).create_config(params).config_id}

    def get_deployment_config(self, params: dict) -> dict:
        config = _lab(self).get_config(params.get("deploymentConfigName"))
        return {"deploymentConfigInfo": deployment_config_reply(config)}

    def delete_deployment_config(self, params: dict) -> dict:
        _lab(self).delete_config(params["deploymentConfigName"])
        return {}

    def list_deployment_configs(self, params: dict) -> dict:
        page, token = _page(sorted(_lab(self).configs), params)
        return with_token({"deploymentConfigsList": page}, token)

    # --- revisions ------------------------------------------------------------------------
    def register_application_revision(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        revision = _known_revision_shape(_lab(self), params["revision"], application)
        _lab(self).register_revision(application, revision, params.get("description"))
        return {}

    def get_application_revision(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        record = _lab(self).find_revision(application, params["revision"])
        if record is None:
            raise errors.RevisionDoesNotExistException(
                "No application revision found for the given location."
            )
        return {
            "applicationName": application.name,
            "revision": record.location,
            "revisionInfo": revision_info_reply(record),
        }

    def batch_get_application_revisions(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        found, missing = [], 0
        for revision in _batch(params.get("revisions") or [], 25):
            record = _lab(self).find_revision(application, revision)
            if record is None:
                missing += 1
                continue
            found.append(
                {
                    "revisionLocation": record.location,
                    "genericRevisionInfo": revision_info_reply(record),
                }
            )
        reply = {"applicationName": application.name, "revisions": found}
        if missing:
            reply["errorMessage"] = f"{missing} of the revisions were not found."
        return reply

    def list_application_revisions(self, params: dict) -> dict:
        application = _lab(self).get_application(params["applicationName"])
        if params.get("s3KeyPrefix") and not params.get("s3Bucket"):
            raise errors.BucketNameFilterRequiredException(
                "A bucket name is required when a key prefix is given."
            )
        records = list(application.revisions.values())
        if params.get("s3Bucket"):
            records = [
                record
                for record in records
                if (record.location.get("s3Location") or {}).get("bucket") == params["s3Bucket"]
                and (
                    record.location["s3Location"]
                    .get("key", "")
                    .startswith(params.get("s3KeyPrefix") or "")
                )
            ]
        deployed = params.get("deployed") or "ignore"
        if deployed == "include":
            records = [record for record in records if record.first_used_time]
        elif deployed == "exclude":
            records = [record for record in records if not record.first_used_time]
        sort_by = params.get("sortBy")
        if sort_by and sort_by not in REVISION_SORT_KEYS:
            raise errors.InvalidSortByException(
                f"The sortBy {sort_by!r} is not one of {', '.join(REVISION_SORT_KEYS)}."
            )
        if sort_by:
            attribute = REVISION_SORT_KEYS[sort_by]
            records.sort(
                key=lambda record: to_epoch(getattr(record, attribute)) or 0,
                reverse=params.get("sortOrder") == "descending",
            )
        elif params.get("sortOrder") == "descending":
            records.reverse()
        page, token = _page([record.location for record in records], params)
        return with_token({"revisions": page}, token)

    # --- deployments ----------------------------------------------------------------------
    def create_deployment(self, params: dict) -> dict:
        return {"deploymentId": _lab(self).create_deployment(params).deployment_id}

    def get_deployment(self, params: dict) -> dict:
        with _lab(self).lock:
            return {
                "deploymentInfo": deployment_reply(
                    _lab(self).get_deployment(params["deploymentId"])
                )
            }

    def batch_get_deployments(self, params: dict) -> dict:
        ids = _batch(params.get("deploymentIds") or [], DEPLOYMENT_BATCH_LIMIT)
        with _lab(self).lock:
            infos = [
                deployment_reply(_lab(self).deployments[deployment_id])
                for deployment_id in ids
                if deployment_id in _lab(self).deployments
            ]
        return {"deploymentsInfo": infos}

    def list_deployments(self, params: dict) -> dict:
        application_name = params.get("applicationName")
        group_name = params.get("deploymentGroupName")
        if group_name and not application_name:
            raise errors.ApplicationNameRequiredException(
                "An application name is required with a deployment group name."
            )
        if application_name and not group_name:
            raise errors.DeploymentGroupNameRequiredException(
                "A deployment group name is required with an application name."
            )
        group = _lab(self).get_group(application_name, group_name) if application_name else None
        statuses = params.get("includeOnlyStatuses")
        time_range = params.get("createTimeRange") or {}
        start, end = time_range.get("start"), time_range.get("end")
        if start is not None and end is not None and start > end:
            raise errors.InvalidTimeRangeException("The start time is after the end time.")
        with _lab(self).lock:
            deployments = sorted(
                _lab(self).deployments.values(),
                key=lambda deployment: deployment.create_time,
                reverse=True,
            )
            ids = [
                deployment.deployment_id
                for deployment in deployments
                if (group is None or deployment.group is group)
                and (not statuses or deployment.status in statuses)
                and (start is None or deployment.create_time.timestamp() >= start)
                and (end is None or deployment.create_time.timestamp() <= end)
            ]
        page, token = _page(ids, params)
        return with_token({"deployments": page}, token)

    def stop_deployment(self, params: dict) -> dict:
        _lab(self).stop_deployment(params["deploymentId"], params.get("autoRollbackEnabled"))
        return dict(STOPPING_REPLY)

    def continue_deployment(self, params: dict) -> dict:
        _lab(self).get_deployment(params.get("deploymentId"))
        raise errors.UnsupportedActionForDeploymentTypeException(
            "ContinueDeployment applies to blue/green deployments only; this deployment is "
            "in-place."
        )

    # --- instances and targets of a deployment --------------------------------------------
    def list_deployment_instances(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        statuses = params.get("instanceStatusFilter")
        with _lab(self).lock:
            ids = [
                target.target_id
                for target in deployment.targets.values()
                if not statuses or target.status in statuses
            ]
        page, token = _page(ids, params)
        return with_token({"instancesList": page}, token)

    def get_deployment_instance(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        if not params.get("instanceId"):
            raise errors.InstanceIdRequiredException("The instance ID is required.")
        with _lab(self).lock:
            target = _target(deployment, params["instanceId"], errors.InstanceDoesNotExistException)
            return {"instanceSummary": instance_summary_reply(target, deployment.deployment_id)}

    def batch_get_deployment_instances(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        found, missing = [], []
        with _lab(self).lock:
            for instance_id in _batch(params.get("instanceIds") or []):
                target = deployment.targets.get(instance_id)
                if target is None:
                    missing.append(instance_id)
                else:
                    found.append(instance_summary_reply(target, deployment.deployment_id))
        reply: dict[str, Any] = {"instancesSummary": found}
        if missing:
            reply["errorMessage"] = "Instances not in the deployment: " + ", ".join(missing)
        return reply

    def list_deployment_targets(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        filters = params.get("targetFilters") or {}
        unknown = set(filters) - {"TargetStatus", "ServerInstanceLabel"}
        if unknown:
            raise errors.InvalidTargetFilterNameException(
                f"The target filter name {sorted(unknown)[0]} is not valid."
            )
        statuses = filters.get("TargetStatus")
        with _lab(self).lock:
            ids = [
                target.target_id
                for target in deployment.targets.values()
                if not statuses or target.status in statuses
            ]
        if filters.get("ServerInstanceLabel"):
            ids = []  # Blue/Green labels only exist in blue/green deployments
        page, token = _page(ids, params)
        return with_token({"targetIds": page}, token)

    def batch_get_deployment_targets(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        target_ids = params.get("targetIds") or []
        if len(target_ids) > 25:
            raise errors.DeploymentTargetListSizeExceededException(
                "The maximum number of targets that can be associated with a request is 25."
            )
        with _lab(self).lock:
            found = [_deployment_target(deployment, target_id) for target_id in target_ids]
        return {"deploymentTargets": found}

    def get_deployment_target(self, params: dict) -> dict:
        deployment = _started_deployment(_lab(self), params.get("deploymentId"))
        if not params.get("targetId"):
            raise errors.DeploymentTargetIdRequiredException("The target ID is required.")
        with _lab(self).lock:
            return {"deploymentTarget": _deployment_target(deployment, params["targetId"])}

    # --- on-premises instances ------------------------------------------------------------
    def register_on_premises_instance(self, params: dict) -> dict:
        _lab(self).register_instance(
            params["instanceName"], params.get("iamUserArn"), params.get("iamSessionArn")
        )
        return {}

    def deregister_on_premises_instance(self, params: dict) -> dict:
        _lab(self).deregister_instance(params["instanceName"])
        return {}

    def get_on_premises_instance(self, params: dict) -> dict:
        instance = _lab(self).get_instance(params["instanceName"])
        return {"instanceInfo": instance_info_reply(instance)}

    def batch_get_on_premises_instances(self, params: dict) -> dict:
        names = _batch(params.get("instanceNames") or [])
        return {
            "instanceInfos": [
                instance_info_reply(_lab(self).on_premises[name])
                for name in names
                if name in _lab(self).on_premises
            ]
        }

    def list_on_premises_instances(self, params: dict) -> dict:
        status = params.get("registrationStatus")
        filters = params.get("tagFilters")
        names = [
            instance.name
            for instance in _lab(self).on_premises.values()
            if (status is None or (status == "Registered") == instance.registered)
            and (not filters or matches_any(instance.tags, filters))
        ]
        page, token = _page(sorted(names), params)
        return with_token({"instanceNames": page}, token)

    def add_tags_to_on_premises_instances(self, params: dict) -> dict:
        if not params.get("tags"):
            raise errors.TagRequiredException("A tag was not specified.")
        _tags(params["tags"], errors.InvalidTagException)
        _lab(self).tag_instances(params["instanceNames"], params["tags"])
        return {}

    def remove_tags_from_on_premises_instances(self, params: dict) -> dict:
        if not params.get("tags"):
            raise errors.TagRequiredException("A tag was not specified.")
        _tags(params["tags"], errors.InvalidTagException)
        _lab(self).untag_instances(params["instanceNames"], params["tags"])
        return {}

    # --- tags -----------------------------------------------------------------------------
    def tag_resource(self, params: dict) -> dict:
        resource = _tagged_resource(_lab(self), params.get("ResourceArn"))
        if not params.get("Tags"):
            raise errors.TagRequiredException("A tag was not specified.")
        resource.tags.update(_tags(params["Tags"]))
        return {}

    def untag_resource(self, params: dict) -> dict:
        resource = _tagged_resource(_lab(self), params.get("ResourceArn"))
        for key in params.get("TagKeys") or []:
            resource.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        resource = _tagged_resource(_lab(self), params.get("ResourceArn"))
        tags = [{"Key": key, "Value": value} for key, value in resource.tags.items()]
        page, token = _page(tags, params, token_key="NextToken")
        return with_token({"Tags": page}, token, key="NextToken")

    # --- GitHub connections (none offline) ------------------------------------------------
    def list_git_hub_account_token_names(self, params: dict) -> dict:
        return {"tokenNameList": []}

    def delete_git_hub_account_token(self, params: dict) -> dict:
        raise errors.GitHubAccountTokenDoesNotExistException(
            "No GitHub account connection exists offline."
        )

    # --- blue/green, Lambda and ECS only ----------------------------------------------------
    def delete_resources_by_external_id(self, params: dict) -> dict:
        return {}

    def put_lifecycle_event_hook_execution_status(self, params: dict) -> dict:
        execution_id = params.get("lifecycleEventHookExecutionId") or ""
        _lab(self).put_hook_status(
            params.get("deploymentId"), execution_id, params.get("status") or ""
        )
        return {"lifecycleEventHookExecutionId": execution_id}

    def skip_wait_time_for_instance_termination(self, params: dict) -> dict:
        if params.get("deploymentId"):
            _started_deployment(_lab(self), params["deploymentId"])
        raise errors.UnsupportedActionForDeploymentTypeException(
            "SkipWaitTimeForInstanceTermination applies to blue/green deployments only."
        )


def install() -> None:
    install_handlers("codedeploy", CodeDeployResponse, CodeDeployHandlers)
