"""CodeDeploy state and its rules: applications, deployment groups and configurations,
on-premises instances, revisions, and deployments with their instances and lifecycle events.

A deployment is created here (its instances chosen, unhealthy ones first) and run by
runtime.py, which moves it Created -> Queued -> InProgress -> Succeeded | Failed | Stopped
under the backend's lock; Describe calls only read this state (handlers.py shapes it).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import string
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource

from .. import moto_backends
from ..core import NotImplementedByLabKit, now
from . import bundles, lambda_appspec, rollout, targets
from .agent import Agent
from .exceptions import (
    ApplicationAlreadyExistsException,
    ApplicationDoesNotExistException,
    ApplicationNameRequiredException,
    DeploymentAlreadyCompletedException,
    DeploymentConfigAlreadyExistsException,
    DeploymentConfigDoesNotExistException,
    DeploymentConfigInUseException,
    DeploymentDoesNotExistException,
    DeploymentGroupAlreadyExistsException,
    DeploymentGroupDoesNotExistException,
    DeploymentGroupNameRequiredException,
    DeploymentIdRequiredException,
    DeploymentLimitExceededException,
    IamArnRequiredException,
    IamSessionArnAlreadyRegisteredException,
    IamUserArnAlreadyRegisteredException,
    InstanceNameAlreadyRegisteredException,
    InstanceNotRegisteredException,
    InvalidApplicationNameException,
    InvalidAutoRollbackConfigException,
    InvalidComputePlatformException,
    InvalidDeploymentConfigNameException,
    InvalidDeploymentGroupNameException,
    InvalidDeploymentIdException,
    InvalidEC2TagCombinationException,
    InvalidEC2TagException,
    InvalidIamSessionArnException,
    InvalidIamUserArnException,
    InvalidLifecycleEventHookExecutionIdException,
    InvalidLifecycleEventHookExecutionStatusException,
    InvalidMinimumHealthyHostValueException,
    InvalidOnPremisesTagCombinationException,
    InvalidOperationException,
    InvalidRevisionException,
    InvalidRoleException,
    InvalidTagException,
    LifecycleEventAlreadyCompletedException,
    MultipleIamArnsProvidedException,
    RevisionRequiredException,
    RoleRequiredException,
    TagLimitExceededException,
    UnsupportedActionForDeploymentTypeException,
)

# ApplicationName, DeploymentGroupName and DeploymentConfigName: at most 100 characters.
NAME_LIMIT = 100


def check_name_length(name: str, error: type, what: str) -> None:
    if len(name) > NAME_LIMIT:
        raise error(
            f"The {what} name was specified in an invalid format: it has "
            f"{len(name)} characters, more than {NAME_LIMIT}."
        )


LAMBDA_ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
FINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
IN_PLACE_EVENTS = [
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
]
BLOCK_TRAFFIC_EVENTS = ["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]
ALLOW_TRAFFIC_EVENTS = ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
IAM_USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/[\w+=,.@/-]+$")
IAM_SESSION_ARN = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$")

DEFAULT_SERVER_CONFIGS = {
    "CodeDeployDefault.OneAtATime": {"type": "FLEET_PERCENT", "value": 99},
    "CodeDeployDefault.HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    "CodeDeployDefault.AllAtOnce": {"type": "HOST_COUNT", "value": 0},
}


def _default_traffic_configs() -> dict[str, tuple[str, dict]]:
    """The Lambda and ECS defaults, listed as AWS lists them (not deployable offline)."""
    configs: dict[str, tuple[str, dict]] = {}
    for platform in ("Lambda", "ECS"):
        configs[f"CodeDeployDefault.{platform}AllAtOnce"] = (platform, {"type": "AllAtOnce"})
    for minutes in (5, 10, 15, 30):
        configs[f"CodeDeployDefault.LambdaCanary10Percent{minutes}Minutes"] = (
            "Lambda",
            {
                "type": "TimeBasedCanary",
                "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": minutes},
            },
        )
    for minutes in (1, 2, 3, 10):
        configs[
            f"CodeDeployDefault.LambdaLinear10PercentEvery{minutes}Minute"
            + ("s" if minutes > 1 else "")
        ] = (
            "Lambda",
            {
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 10, "linearInterval": minutes},
            },
        )
    for minutes in (1, 3):
        configs[f"CodeDeployDefault.ECSLinear10PercentEvery{minutes}Minutes"] = (
            "ECS",
            {
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 10, "linearInterval": minutes},
            },
        )
    for minutes in (5, 15):
        configs[f"CodeDeployDefault.ECSCanary10Percent{minutes}Minutes"] = (
            "ECS",
            {
                "type": "TimeBasedCanary",
                "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": minutes},
            },
        )
    return configs


def new_deployment_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "d-" + "".join(secrets.choice(alphabet) for _ in range(9))


def revision_key(revision: dict) -> str:
    """Revisions are identified by their whole location (bucket, key, type, version, eTag)."""
    return json.dumps(revision, sort_keys=True)


# --- resources --------------------------------------------------------------------------


@dataclass
class Application:
    name: str
    compute_platform: str
    arn: str
    application_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    create_time: Any = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)
    revisions: dict[str, RevisionRecord] = field(default_factory=dict)


@dataclass
class RevisionRecord:
    location: dict
    description: str | None = None
    register_time: Any = field(default_factory=now)
    first_used_time: Any = None
    last_used_time: Any = None
    deployment_groups: list[str] = field(default_factory=list)


# Fields of a deployment group as the API names them (Create/UpdateDeploymentGroup).
GROUP_SETTINGS = (
    "deploymentConfigName",
    "ec2TagFilters",
    "onPremisesInstanceTagFilters",
    "autoScalingGroups",
    "serviceRoleArn",
    "triggerConfigurations",
    "alarmConfiguration",
    "autoRollbackConfiguration",
    "outdatedInstancesStrategy",
    "deploymentStyle",
    "blueGreenDeploymentConfiguration",
    "loadBalancerInfo",
    "ec2TagSet",
    "onPremisesTagSet",
    "ecsServices",
    "ec2DeploymentOptions",
    "terminationHookEnabled",
)


@dataclass
class DeploymentGroup:
    application: Application
    name: str
    settings: dict
    arn: str
    group_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tags: dict[str, str] = field(default_factory=dict)
    target_revision: dict | None = None
    last_successful: Deployment | None = None
    last_attempted: Deployment | None = None
    # Instance health as CodeDeploy tracks it: True after a successful deployment.
    healthy: dict[str, bool] = field(default_factory=dict)

    @property
    def lifecycle_events(self) -> list[str]:
        style = self.settings.get("deploymentStyle") or {}
        if style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL":
            return BLOCK_TRAFFIC_EVENTS + IN_PLACE_EVENTS + ALLOW_TRAFFIC_EVENTS
        return list(IN_PLACE_EVENTS)


@dataclass
class DeploymentConfig:
    name: str
    compute_platform: str = "Server"
    minimum_healthy_hosts: dict | None = None
    traffic_routing_config: dict | None = None
    zonal_config: dict | None = None
    builtin: bool = False
    config_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    create_time: Any = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class OnPremisesInstance:
    name: str
    arn: str
    iam_user_arn: str | None = None
    iam_session_arn: str | None = None
    register_time: Any = field(default_factory=now)
    deregister_time: Any = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return self.deregister_time is None


# --- deployments ------------------------------------------------------------------------


@dataclass
class LifecycleEventState:
    name: str
    status: str = "Pending"
    start_time: Any = None
    end_time: Any = None
    diagnostics: dict | None = None


@dataclass
class HookExecution:
    event: str
    status: str = "Pending"  # then Succeeded or Failed, as the hook function reports


@dataclass
class TargetState:
    """One instance in one deployment."""

    target_id: str
    arn: str
    events: list[LifecycleEventState]
    status: str = "Pending"
    last_updated: Any = field(default_factory=now)
    # A Lambda deployment's one target: its function, alias, versions and the target's share.
    lambda_info: dict | None = None

    def skip(self) -> None:
        self.status = "Skipped"
        self.last_updated = now()
        for event in self.events:
            if event.status in ("Pending", "InProgress"):
                event.status = "Skipped"


@dataclass
class Deployment:
    deployment_id: str
    application: Application
    group: DeploymentGroup
    config: DeploymentConfig
    revision: dict
    creator: str
    options: dict
    targets: dict[str, TargetState]
    instance_roots: dict[str, Any]
    previous_revision: dict | None = None
    status: str = "Created"
    create_time: Any = field(default_factory=now)
    start_time: Any = None
    complete_time: Any = None
    error_information: dict | None = None
    rollback_info: dict | None = None
    stop_requested: bool = False
    roll_back_on_stop: bool = False
    agents: dict[str, Agent] = field(default_factory=dict)
    # Lambda deployments: the AppSpec (or why it cannot be used), and the hook executions
    # waiting for PutLifecycleEventHookExecutionStatus (execution id -> event and status).
    appspec: lambda_appspec.LambdaAppSpec | None = None
    appspec_error: str | None = None
    hook_executions: dict[str, HookExecution] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


# --- the backend ------------------------------------------------------------------------


class CodeDeployLabBackend(BaseBackend, TaggableResourcesMixin):
    # The Resource Groups Tagging API (moto's) finds applications and deployment groups
    # through this mixin, as it found moto's own CodeDeploy backend's.
    SERVICE_NAMESPACE = "codedeploy"

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.lock = threading.RLock()
        self.applications: dict[str, Application] = {}
        self.deployments: dict[str, Deployment] = {}
        self.on_premises: dict[str, OnPremisesInstance] = {}
        self.groups: dict[tuple[str, str], DeploymentGroup] = {}
        self.configs: dict[str, DeploymentConfig] = {}
        for name, minimum in DEFAULT_SERVER_CONFIGS.items():
            self.configs[name] = DeploymentConfig(name, "Server", minimum, builtin=True)
        for name, (platform, routing) in _default_traffic_configs().items():
            self.configs[name] = DeploymentConfig(
                name, platform, traffic_routing_config=routing, builtin=True
            )

    def reset(self) -> None:
        """A mock reset is a new world: forget this region's offline instance folders too."""
        shutil.rmtree(
            targets.region_state_dir(self.account_id, self.region_name), ignore_errors=True
        )
        super().reset()

    def arn(self, resource: str) -> str:
        return f"arn:aws:codedeploy:{self.region_name}:{self.account_id}:{resource}"

    # --- the Resource Groups Tagging API ----------------------------------------------------
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for application in list(self.applications.values()):
            yield TaggedResource(application.arn, application.tags, "codedeploy:application")
        for group in list(self.groups.values()):
            yield TaggedResource(group.arn, group.tags, "codedeploy:deploymentgroup")

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self._by_arn(arn).tags.update(tags)

    def untag_resource(self, arn: str, tag_keys: list[str]) -> None:
        for key in tag_keys:
            self._by_arn(arn).tags.pop(key, None)

    def _by_arn(self, arn: str) -> Application | DeploymentGroup:
        resources: dict[str, Application | DeploymentGroup] = {
            **{a.arn: a for a in self.applications.values()},
            **{g.arn: g for g in self.groups.values()},
        }
        if arn not in resources:
            raise ApplicationDoesNotExistException(f"No resource found for ARN: {arn}")
        return resources[arn]

    # --- applications ---------------------------------------------------------------------
    def get_application(self, name: str | None) -> Application:
        if not name:
            raise ApplicationNameRequiredException("The name of the application is required.")
        application = self.applications.get(name)
        if application is None:
            raise ApplicationDoesNotExistException(f"No application found for name: {name}")
        return application

    def create_application(
        self, name: str, compute_platform: str | None, tags: dict
    ) -> Application:
        check_name_length(name, InvalidApplicationNameException, "application")
        with self.lock:
            if name in self.applications:
                raise ApplicationAlreadyExistsException(
                    f"The application {name} already exists with the IAM user or AWS account."
                )
            application = Application(
                name, compute_platform or "Server", self.arn(f"application:{name}"), tags=dict(tags)
            )
            self.applications[name] = application
            return application

    def rename_application(self, name: str | None, new_name: str | None) -> None:
        with self.lock:
            application = self.get_application(name)  # name is not None from here
            if not new_name or new_name == name:
                return
            check_name_length(new_name, InvalidApplicationNameException, "application")
            if new_name in self.applications:
                raise ApplicationAlreadyExistsException(
                    f"The application {new_name} already exists with the IAM user or AWS account."
                )
            del self.applications[application.name]
            application.name = new_name
            application.arn = self.arn(f"application:{new_name}")
            self.applications[new_name] = application
            for group in self.groups_of(application):
                group.arn = self.arn(f"deploymentgroup:{new_name}/{group.name}")

    def delete_application(self, name: str) -> None:
        with self.lock:
            self.applications.pop(name, None)

    # --- deployment groups ----------------------------------------------------------------
    def groups_of(self, application: Application) -> list[DeploymentGroup]:
        return [group for group in self.groups.values() if group.application is application]

    def get_group(self, application_name: str | None, name: str | None) -> DeploymentGroup:
        application = self.get_application(application_name)
        if not name:
            raise DeploymentGroupNameRequiredException("The deployment group name is required.")
        group = self.groups.get((application.application_id, name))
        if group is None:
            raise DeploymentGroupDoesNotExistException(
                f"No Deployment Group found for name: {name}"
            )
        return group

    def create_group(self, params: dict) -> DeploymentGroup:
        with self.lock:
            application = self.get_application(params.get("applicationName"))
            name = params.get("deploymentGroupName")
            if not name:
                raise DeploymentGroupNameRequiredException("The deployment group name is required.")
            check_name_length(name, InvalidDeploymentGroupNameException, "deployment group")
            if (application.application_id, name) in self.groups:
                raise DeploymentGroupAlreadyExistsException(
                    f"Deployment Group {name} already exists for application {application.name}."
                )
            settings = {key: params.get(key) for key in GROUP_SETTINGS}
            lambda_group = application.compute_platform == "Lambda"
            settings["deploymentConfigName"] = settings.get("deploymentConfigName") or (
                LAMBDA_ALL_AT_ONCE if lambda_group else rollout.ONE_AT_A_TIME
            )
            # Lambda deployments shift an alias's traffic: blue/green with traffic control.
            settings["deploymentStyle"] = settings.get("deploymentStyle") or {
                "deploymentType": "BLUE_GREEN" if lambda_group else "IN_PLACE",
                "deploymentOption": "WITH_TRAFFIC_CONTROL"
                if lambda_group
                else "WITHOUT_TRAFFIC_CONTROL",
            }
            settings["outdatedInstancesStrategy"] = (
                settings.get("outdatedInstancesStrategy") or "UPDATE"
            )
            settings["terminationHookEnabled"] = bool(settings.get("terminationHookEnabled"))
            self._check_group_settings(settings)
            group = DeploymentGroup(
                application,
                name,
                settings,
                self.arn(f"deploymentgroup:{application.name}/{name}"),
                tags={tag["Key"]: tag.get("Value", "") for tag in params.get("tags") or []},
            )
            self.groups[(application.application_id, name)] = group
            return group

    def update_group(self, params: dict) -> None:
        with self.lock:
            group = self.get_group(
                params.get("applicationName"), params.get("currentDeploymentGroupName")
            )
            settings = dict(group.settings)
            settings.update({key: params[key] for key in GROUP_SETTINGS if key in params})
            self._check_group_settings(settings)
            new_name = params.get("newDeploymentGroupName")
            if new_name and new_name != group.name:
                check_name_length(new_name, InvalidDeploymentGroupNameException, "deployment group")
                key = (group.application.application_id, new_name)
                if key in self.groups:
                    raise DeploymentGroupAlreadyExistsException(
                        f"Deployment Group {new_name} already exists for application "
                        f"{group.application.name}."
                    )
                del self.groups[(group.application.application_id, group.name)]
                group.name = new_name
                group.arn = self.arn(f"deploymentgroup:{group.application.name}/{new_name}")
                self.groups[key] = group
            group.settings = settings

    def delete_group(self, application_name: str, name: str) -> None:
        with self.lock:
            application = self.applications.get(application_name)
            if application is not None:
                self.groups.pop((application.application_id, name), None)

    def _check_group_settings(self, settings: dict) -> None:
        role = settings.get("serviceRoleArn")
        if not role:
            raise RoleRequiredException("Role ARN is required.")
        if not ROLE_ARN.match(role):
            raise InvalidRoleException(
                f"The service role ARN {role} is not a valid IAM role "
                "ARN (arn:aws:iam::<account>:role/<name>)."
            )
        self.get_config(settings["deploymentConfigName"])
        if settings.get("ec2TagFilters") and (settings.get("ec2TagSet") or {}).get("ec2TagSetList"):
            raise InvalidEC2TagCombinationException(
                "The deployment group can use ec2TagFilters or ec2TagSet, not both."
            )
        if settings.get("onPremisesInstanceTagFilters") and (
            settings.get("onPremisesTagSet") or {}
        ).get("onPremisesTagSetList"):
            raise InvalidOnPremisesTagCombinationException(
                "The deployment group can use onPremisesInstanceTagFilters or "
                "onPremisesTagSet, not both."
            )
        ec2_filters = list(settings.get("ec2TagFilters") or [])
        for group in (settings.get("ec2TagSet") or {}).get("ec2TagSetList") or []:
            ec2_filters += group
        onprem_filters = list(settings.get("onPremisesInstanceTagFilters") or [])
        for group in (settings.get("onPremisesTagSet") or {}).get("onPremisesTagSetList") or []:
            onprem_filters += group
        for tag_filters, error in (
            (ec2_filters, InvalidEC2TagException),
            (onprem_filters, InvalidTagException),
        ):
            for tag_filter in tag_filters:
                kind = tag_filter.get("Type")
                if (kind in ("KEY_ONLY", "KEY_AND_VALUE") and not tag_filter.get("Key")) or (
                    kind in ("VALUE_ONLY", "KEY_AND_VALUE") and not tag_filter.get("Value")
                ):
                    raise error(f"The tag filter {tag_filter} is not valid for type {kind}.")
        rollback = settings.get("autoRollbackConfiguration") or {}
        if rollback.get("enabled") and not rollback.get("events"):
            raise InvalidAutoRollbackConfigException(
                "An enabled automatic rollback configuration needs at least one event."
            )

    # --- deployment configurations --------------------------------------------------------
    def get_config(self, name: str | None) -> DeploymentConfig:
        if not name:
            raise InvalidDeploymentConfigNameException("The deployment config name is required.")
        config = self.configs.get(name)
        if config is None:
            raise DeploymentConfigDoesNotExistException(
                f"No deployment configuration found for name: {name}"
            )
        return config

    def create_config(self, params: dict) -> DeploymentConfig:
        with self.lock:
            name = params["deploymentConfigName"]
            check_name_length(name, InvalidDeploymentConfigNameException, "deployment config")
            if name in self.configs:
                raise DeploymentConfigAlreadyExistsException(
                    f"A deployment configuration named {name} already exists."
                )
            if name.startswith("CodeDeployDefault."):
                raise InvalidDeploymentConfigNameException(
                    "The CodeDeployDefault. prefix is reserved for AWS."
                )
            platform = params.get("computePlatform") or "Server"
            minimum = params.get("minimumHealthyHosts")
            if platform == "Server":
                if not minimum or minimum.get("value") is None or not minimum.get("type"):
                    raise InvalidMinimumHealthyHostValueException(
                        "The minimum healthy instance value was not specified."
                    )
                value = minimum["value"]
                if value < 0 or (minimum["type"] == "FLEET_PERCENT" and value > 100):
                    raise InvalidMinimumHealthyHostValueException(
                        "The minimum healthy instance value was specified in an invalid format."
                    )
            elif minimum:
                raise InvalidComputePlatformException(
                    "minimumHealthyHosts applies to the Server compute platform only."
                )
            config = DeploymentConfig(
                name,
                platform,
                minimum,
                params.get("trafficRoutingConfig"),
                params.get("zonalConfig"),
            )
            self.configs[name] = config
            return config

    def delete_config(self, name: str) -> None:
        with self.lock:
            config = self.configs.get(name)
            if config is None:
                return
            if config.builtin:
                raise InvalidOperationException(
                    f"The deployment configuration {name} is a default configuration and "
                    "cannot be deleted."
                )
            if any(
                group.settings.get("deploymentConfigName") == name for group in self.groups.values()
            ):
                raise DeploymentConfigInUseException(
                    f"The deployment configuration {name} is in use by a deployment group."
                )
            del self.configs[name]

    # --- on-premises instances ------------------------------------------------------------
    def register_instance(self, name: str, user_arn: str | None, session_arn: str | None) -> None:
        with self.lock:
            if not user_arn and not session_arn:
                raise IamArnRequiredException("An IAM user ARN or IAM session ARN is required.")
            if user_arn and session_arn:
                raise MultipleIamArnsProvidedException(
                    "Register an instance with an IAM user ARN or an IAM session ARN, not both."
                )
            if user_arn and not IAM_USER_ARN.match(user_arn):
                raise InvalidIamUserArnException(f"The IAM user ARN {user_arn} is not valid.")
            if session_arn and not IAM_SESSION_ARN.match(session_arn):
                raise InvalidIamSessionArnException(
                    f"The IAM session ARN {session_arn} is not valid."
                )
            existing = self.on_premises.get(name)
            if existing is not None and existing.registered:
                raise InstanceNameAlreadyRegisteredException(
                    f"The on-premises instance name {name} is already registered."
                )
            for other in self.on_premises.values():
                if not other.registered:
                    continue
                if user_arn and other.iam_user_arn == user_arn:
                    raise IamUserArnAlreadyRegisteredException(
                        f"The IAM user ARN {user_arn} is already registered with instance "
                        f"{other.name}."
                    )
                if session_arn and other.iam_session_arn == session_arn:
                    raise IamSessionArnAlreadyRegisteredException(
                        f"The IAM session ARN {session_arn} is already registered with "
                        f"instance {other.name}."
                    )
            suffix = "".join(
                secrets.choice(string.ascii_letters + string.digits) for _ in range(10)
            )
            self.on_premises[name] = OnPremisesInstance(
                name, self.arn(f"instance/{name}_{suffix}"), user_arn, session_arn
            )

    def get_instance(self, name: str) -> OnPremisesInstance:
        instance = self.on_premises.get(name)
        if instance is None:
            raise InstanceNotRegisteredException(
                f"The on-premises instance {name} is not registered."
            )
        return instance

    def deregister_instance(self, name: str) -> None:
        with self.lock:
            instance = self.get_instance(name)
            if instance.registered:
                instance.deregister_time = now()

    def tag_instances(self, names: list[str], tags: list[dict]) -> None:
        with self.lock:
            instances = [self.get_instance(name) for name in names]
            for instance in instances:
                merged = dict(instance.tags)
                merged.update({tag["Key"]: tag.get("Value", "") for tag in tags})
                if len(merged) > 10:
                    raise TagLimitExceededException(
                        f"The instance {instance.name} would have more than 10 tags."
                    )
            for instance in instances:
                instance.tags.update({tag["Key"]: tag.get("Value", "") for tag in tags})

    def untag_instances(self, names: list[str], tags: list[dict]) -> None:
        with self.lock:
            for instance in [self.get_instance(name) for name in names]:
                for tag in tags:
                    value = instance.tags.get(tag["Key"])
                    if value is not None and tag.get("Value") in (None, value):
                        del instance.tags[tag["Key"]]

    # --- revisions ------------------------------------------------------------------------
    def check_server_revision(self, revision: dict | None) -> dict:
        """The revision a Server deployment can use, with its bundle type filled in."""
        if not revision:
            raise RevisionRequiredException("The revision is required.")
        kind = revision.get("revisionType")
        if kind == "S3":
            location = dict(revision.get("s3Location") or {})
            if not location.get("bucket") or not location.get("key"):
                raise InvalidRevisionException("An S3 revision needs a bucket and a key.")
            bundle_type = bundles.bundle_type_of(location)
            if bundle_type not in bundles.SERVER_BUNDLE_TYPES:
                raise InvalidRevisionException(
                    f"The bundle type {bundle_type} is not valid for an EC2/On-premises "
                    "deployment: use zip, tar or tgz."
                )
            location["bundleType"] = bundle_type
            return {"revisionType": "S3", "s3Location": location}
        if kind == "GitHub":
            location = revision.get("gitHubLocation") or {}
            if not location.get("repository") or not location.get("commitId"):
                raise InvalidRevisionException(
                    "A GitHub revision needs a repository and a commitId."
                )
            return {"revisionType": "GitHub", "gitHubLocation": dict(location)}
        raise InvalidRevisionException(
            f"The revision type {kind} is not valid for the EC2/On-premises (Server) compute "
            "platform: use S3 or GitHub."
        )

    def register_revision(
        self, application: Application, revision: dict, description: str | None = None
    ) -> RevisionRecord:
        with self.lock:
            key = revision_key(revision)
            record = application.revisions.get(key)
            if record is None:
                record = application.revisions[key] = RevisionRecord(revision, description)
            elif description is not None:
                record.description = description
            return record

    def find_revision(self, application: Application, revision: dict) -> RevisionRecord | None:
        record = application.revisions.get(revision_key(revision))
        if record is None and revision.get("revisionType") == "S3":
            # A location given without its bundle type still names the same revision.
            wanted = dict(revision.get("s3Location") or {})
            for candidate in application.revisions.values():
                location = dict(candidate.location.get("s3Location") or {})
                if {k: v for k, v in location.items() if k in wanted} == wanted:
                    return candidate
        return record

    # --- deployments ----------------------------------------------------------------------
    def get_deployment(self, deployment_id: str | None) -> Deployment:
        if deployment_id is None or not re.fullmatch(r"d-[A-Z0-9]{9}", deployment_id):
            raise InvalidDeploymentIdException(f"The deployment ID {deployment_id} is not valid.")
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            raise DeploymentDoesNotExistException(
                f"The deployment {deployment_id} could not be found."
            )
        return deployment

    def create_deployment(
        self, params: dict, creator: str = "user", start: bool = True
    ) -> Deployment:
        with self.lock:
            application = self.get_application(params.get("applicationName"))
            group = self.get_group(application.name, params.get("deploymentGroupName"))
            if application.compute_platform == "Lambda":
                deployment = self.create_lambda_deployment(application, group, params, creator)
            elif application.compute_platform != "Server":
                # Not an AWS error code: AWS deploys these, the kit does not yet.
                raise NotImplementedByLabKit(
                    f"The lab kit's local CodeDeploy runs EC2/On-premises and Lambda "
                    f"deployments, not {application.compute_platform} deployments; run this "
                    "step against a real account (LAB_MODE=aws). "
                    "See docs/troubleshooting.md#not-implemented-by-lab-kit"
                )
            else:
                deployment = self._create_server_deployment(application, group, params, creator)
            self.record_use(deployment)
        if start:
            self.start_deployment(deployment)
        return deployment

    def _create_server_deployment(
        self, application: Application, group: DeploymentGroup, params: dict, creator: str
    ) -> Deployment:
        style = group.settings.get("deploymentStyle") or {}
        if style.get("deploymentType") == "BLUE_GREEN":
            raise UnsupportedActionForDeploymentTypeException(
                "The local AWS runs in-place deployments only, not blue/green deployments."
            )
        revision = self.check_server_revision(params.get("revision") or group.target_revision)
        config = self.get_config(
            params.get("deploymentConfigName") or group.settings["deploymentConfigName"]
        )
        self._check_no_active_deployment(group)
        options = {
            key: params.get(key)
            for key in (
                "description",
                "ignoreApplicationStopFailures",
                "targetInstances",
                "updateOutdatedInstancesOnly",
                "fileExistsBehavior",
            )
        }
        options["autoRollbackConfiguration"] = params.get(
            "autoRollbackConfiguration"
        ) or group.settings.get("autoRollbackConfiguration")
        chosen = self._instances_in_health_order(group)
        deployment = Deployment(
            new_deployment_id(),
            application,
            group,
            config,
            revision,
            creator,
            options,
            targets={
                instance.instance_id: TargetState(
                    instance.instance_id,
                    instance.arn,
                    [LifecycleEventState(name) for name in group.lifecycle_events],
                )
                for instance in chosen
            },
            instance_roots={
                instance.instance_id: targets.instance_root(
                    self.account_id, self.region_name, instance.instance_id
                )
                for instance in chosen
            },
            previous_revision=(group.last_successful.revision if group.last_successful else None),
        )
        return deployment

    def record_use(self, deployment: Deployment) -> None:
        """The new deployment is the group's last attempted one, its revision used."""
        group, revision = deployment.group, deployment.revision
        self.deployments[deployment.deployment_id] = deployment
        record = self.register_revision(deployment.application, revision)
        record.first_used_time = record.first_used_time or deployment.create_time
        record.last_used_time = deployment.create_time
        if group.name not in record.deployment_groups:
            record.deployment_groups.append(group.name)
        group.target_revision = revision
        group.last_attempted = deployment

    def _check_no_active_deployment(self, group: DeploymentGroup) -> None:
        active = group.last_attempted
        if active is not None and not active.finished:
            raise DeploymentLimitExceededException(
                f"The Deployment Group '{group.name}' already has an active Deployment "
                f"'{active.deployment_id}'"
            )

    def check_lambda_revision(self, revision: dict | None) -> dict:
        """The revision a Lambda deployment can use: an AppSpec in the request or in S3."""
        if not revision:
            raise RevisionRequiredException("The revision is required.")
        kind = revision.get("revisionType")
        if kind in ("AppSpecContent", "String"):
            member = "appSpecContent" if kind == "AppSpecContent" else "string"
            content = revision.get(member) or {}
            if not isinstance(content, dict) or not isinstance(content.get("content"), str):
                raise InvalidRevisionException(f"A {kind} revision needs its content.")
            if not content["content"] or not isinstance(content.get("sha256", ""), str):
                raise InvalidRevisionException(f"A {kind} revision needs its content.")
            return {"revisionType": kind, member: dict(content)}
        if kind == "S3":
            location = dict(revision.get("s3Location") or {})
            if not isinstance(location.get("bucket"), str) or not isinstance(
                location.get("key"), str
            ):
                raise InvalidRevisionException("An S3 revision needs a bucket and a key.")
            if not location["bucket"] or not location["key"]:
                raise InvalidRevisionException("An S3 revision needs a bucket and a key.")
            bundle_type = location.get("bundleType") or (
                "JSON" if location["key"].lower().endswith(".json") else "YAML"
            )
            if bundle_type not in ("YAML", "JSON"):
                raise InvalidRevisionException(
                    f"The bundle type {bundle_type} is not valid for a Lambda deployment: "
                    "an AppSpec file in S3 is YAML or JSON."
                )
            location["bundleType"] = bundle_type
            return {"revisionType": "S3", "s3Location": location}
        raise InvalidRevisionException(
            f"The revision type {kind} is not valid for the Lambda compute platform: use "
            "AppSpecContent or S3."
        )

    def create_lambda_deployment(
        self,
        application: Application,
        group: DeploymentGroup,
        params: dict,
        creator: str,
        appspec: lambda_appspec.LambdaAppSpec | None = None,
    ) -> Deployment:
        """A Lambda deployment with its one target (the function's alias); an AppSpec
        that cannot be read fails the deployment when it runs, as on AWS."""
        revision = self.check_lambda_revision(params.get("revision") or group.target_revision)
        config = self.get_config(
            params.get("deploymentConfigName") or group.settings["deploymentConfigName"]
        )
        if config.compute_platform != "Lambda":
            raise InvalidDeploymentConfigNameException(
                f"The deployment configuration {config.name} is for the "
                f"{config.compute_platform} compute platform, not Lambda."
            )
        self._check_no_active_deployment(group)
        error = None
        if appspec is None:
            try:
                appspec = lambda_appspec.parse(
                    lambda_appspec.revision_text(self.account_id, revision)
                )
            except lambda_appspec.AppSpecError as problem:
                error = str(problem)
        options = {key: params.get(key) for key in ("description",)}
        options["autoRollbackConfiguration"] = params.get(
            "autoRollbackConfiguration"
        ) or group.settings.get("autoRollbackConfiguration")
        deployment = Deployment(
            new_deployment_id(),
            application,
            group,
            config,
            revision,
            creator,
            options,
            targets={},
            instance_roots={},
            previous_revision=group.last_successful.revision if group.last_successful else None,
            appspec=appspec,
            appspec_error=error,
        )
        if appspec is not None:
            target_id = f"{appspec.function}:{appspec.alias}"
            deployment.targets[target_id] = TargetState(
                target_id,
                f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:{target_id}",
                [LifecycleEventState(name) for name in lambda_appspec.LAMBDA_EVENTS],
                lambda_info={
                    "functionName": appspec.function,
                    "functionAlias": appspec.alias,
                    "currentVersion": appspec.current_version,
                    "targetVersion": appspec.target_version,
                    "targetVersionWeight": 0.0,
                },
            )
        return deployment

    def put_hook_status(self, deployment_id: str | None, execution_id: str, status: str) -> None:
        """A hook function's report (PutLifecycleEventHookExecutionStatus)."""
        with self.lock:
            if not deployment_id:
                raise DeploymentIdRequiredException("The deployment ID is required.")
            deployment = self.get_deployment(deployment_id)
            if deployment.application.compute_platform == "Server":
                raise UnsupportedActionForDeploymentTypeException(
                    "Lifecycle hook executions belong to Lambda and ECS deployments, not "
                    "EC2/On-premises deployments."
                )
            if status not in ("Succeeded", "Failed"):
                raise InvalidLifecycleEventHookExecutionStatusException(
                    f"The status {status} is not valid: report Succeeded or Failed."
                )
            execution = deployment.hook_executions.get(execution_id)
            if execution is None:
                raise InvalidLifecycleEventHookExecutionIdException(
                    f"The lifecycle event hook execution ID {execution_id} is not valid."
                )
            if execution.status != "Pending":
                raise LifecycleEventAlreadyCompletedException(
                    f"The lifecycle event {execution.event} of deployment {deployment_id} "
                    "has already completed."
                )
            execution.status = status

    def start_deployment(self, deployment: Deployment) -> None:
        # The runtimes import this module: import them when first needed.
        if deployment.application.compute_platform == "Lambda":
            from . import lambda_runtime

            lambda_runtime.start(self, deployment)
        else:
            from . import runtime

            runtime.start(self, deployment)

    def _instances_in_health_order(self, group: DeploymentGroup) -> list[targets.Instance]:
        """Unhealthy (or never deployed) instances first, as CodeDeploy schedules them."""
        on_premises = [
            targets.Instance(instance.name, instance.arn, dict(instance.tags))
            for instance in self.on_premises.values()
            if instance.registered
        ]
        chosen = targets.group_instances(
            self.account_id, self.region_name, group.settings, on_premises
        )
        return sorted(chosen, key=lambda instance: group.healthy.get(instance.instance_id, False))

    def stop_deployment(self, deployment_id: str, roll_back: bool | None) -> None:
        """Ask the deployment's worker to stop (and maybe roll back); the agents abort."""
        with self.lock:
            deployment = self.get_deployment(deployment_id)
            if deployment.finished:
                raise DeploymentAlreadyCompletedException(
                    f"The deployment {deployment_id} has already completed."
                )
            rollback = deployment.options.get("autoRollbackConfiguration") or {}
            if roll_back is None:
                roll_back = bool(rollback.get("enabled")) and (
                    "DEPLOYMENT_STOP_ON_REQUEST" in (rollback.get("events") or [])
                )
            deployment.stop_requested = True
            deployment.roll_back_on_stop = roll_back
            agents = list(deployment.agents.values())
        for agent in agents:
            agent.abort()


codedeploy_lab_backends = BackendDict(CodeDeployLabBackend, "codedeploy")
moto_backends.hand_tagging_over("codedeploy")
