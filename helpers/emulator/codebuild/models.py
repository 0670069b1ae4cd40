"""CodeBuild state and rules: projects, builds (explicit state machines), report groups, reports.

A build is created by StartBuild (phase SUBMITTED done, QUEUED open) and advanced only by
its worker (runtime.run); BatchGetBuilds describes the state as it is, nothing is made up
on read. Each build works in its own folder under the kit's state folder,
codebuild/<account>/<region>/<build uuid>/, removed when no longer needed.

LAB_CODEBUILD_SECONDS_PER_MINUTE (default 60) scales timeoutInMinutes to seconds, so a
test or a demo can see a build time out without waiting the API's 5-minute minimum.
LAB_CODEBUILD_KEEP_WORKSPACES (default 20) is how many finished builds keep their folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from moto.core.base_backend import BackendDict, BaseBackend

from ... import settings
from .. import constraints, events, safepaths, serving, workers
from ..core import now
from . import exceptions as err
from .sources import PipelineArtifact

if TYPE_CHECKING:
    from .shell import ShellSession

DEFAULT_TIMEOUT_MINUTES = 60
DEFAULT_QUEUED_TIMEOUT_MINUTES = 480
REPORT_EXPIRY = dt.timedelta(days=30)
REPORT_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_]{1,127}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
SOURCE_TYPES_OFFLINE = ("NO_SOURCE", "S3", "CODECOMMIT", "CODEPIPELINE")
SOURCE_TYPES_NEEDING_LOCATION = (
    "S3",
    "CODECOMMIT",
    "GITHUB",
    "GITHUB_ENTERPRISE",
    "BITBUCKET",
    "GITLAB",
    "GITLAB_SELF_MANAGED",
)
MAX_TAGS = 50
# Project settings replies show only when set.
OPTIONAL_SETTINGS = (
    "description",
    "sourceVersion",
    "vpcConfig",
    "concurrentBuildLimit",
    "buildBatchConfig",
    "autoRetryLimit",
)


def seconds_per_minute() -> float:
    return float(os.environ.get("LAB_CODEBUILD_SECONDS_PER_MINUTE", "60") or 60)


def kept_workspaces() -> int:
    return int(os.environ.get("LAB_CODEBUILD_KEEP_WORKSPACES", "20") or 20)


# -- builds ------------------------------------------------------------------------


@dataclass
class Phase:
    type: str
    start: dt.datetime = field(default_factory=now)
    end: dt.datetime | None = None
    status: str | None = None
    contexts: list[dict] | None = None


@dataclass
class BuildConfig:
    """What a build runs with: the project's settings with StartBuild's overrides applied."""

    source: dict
    secondary_sources: list[dict]
    source_version: str | None
    secondary_source_versions: list[dict]
    artifacts: dict
    secondary_artifacts: list[dict]
    environment: dict
    environment_overrides: list[dict]
    buildspec: str | None
    service_role: str
    timeout_minutes: float  # a managed build's (the Commands action's) may be fractional
    queued_timeout_minutes: int
    encryption_key: str
    logs_config: dict
    endpoint_url: str | None = None  # the local server's, so `aws` in a build reaches it
    cache: dict = field(default_factory=lambda: {"type": "NO_CACHE"})  # caches.py
    webhook_variables: dict[str, str] = field(default_factory=dict)  # CODEBUILD_WEBHOOK_*


# The environment of CodePipeline-managed compute (the Commands action); informative
# offline, where commands run in a local bash session whatever the image.
MANAGED_ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    "computeType": "BUILD_GENERAL1_SMALL",
    "environmentVariables": [],
}


@dataclass
class ManagedBuild:
    """What start_managed_build runs: a generated buildspec on pipeline artifacts."""

    name: str  # the build id's prefix
    buildspec: str
    inputs: dict[str, PipelineArtifact]  # the primary one first
    outputs: dict[str, tuple[str, str]]  # artifact name -> (bucket, key); at most one
    initiator: str
    log_group: str
    log_stream_prefix: str
    timeout_seconds: float = DEFAULT_TIMEOUT_MINUTES * 60  # the action's timeout
    environment_variables: list[dict] = field(default_factory=list)
    service_role: str = ""  # what `aws` in the commands acts as (the pipeline's role)


class Build:
    def __init__(
        self,
        backend: CodeBuildLabBackend,
        project: Project,
        number: int,
        config: BuildConfig,
        initiator: str,
    ) -> None:
        self.uuid = str(uuid.uuid4())
        self.project_name = project.name
        self.id = f"{project.name}:{self.uuid}"
        self.arn = f"arn:aws:codebuild:{backend.region_name}:{backend.account_id}:build/{self.id}"
        self.account = backend.account_id
        self.region = backend.region_name
        self.number = number
        self.config = config
        self.initiator = initiator
        self.workspace = backend.root / self.uuid
        self.start_time = now()
        self.end_time: dt.datetime | None = None
        self.status = "IN_PROGRESS"
        self.phases = [
            Phase("SUBMITTED", self.start_time, self.start_time, "SUCCEEDED"),
            Phase("QUEUED", self.start_time),
        ]
        self.resolved_source_version: str | None = None
        self.artifact_location: dict | None = None
        self.secondary_artifact_locations: list[dict] = []
        self.exported_variables: list[dict] = []
        self.report_arns: list[str] = []
        self.log_group, self.log_stream = _log_names(project.name, self.uuid, config.logs_config)
        # Set by the pipeline engine (start_pipeline_build), not by the API.
        self.pipeline_inputs: dict[str, PipelineArtifact] = {}
        self.pipeline_outputs: dict[str, tuple[str, str]] = {}
        self.pipeline_primary: str | None = None
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.stop_requested = False
        self.session: ShellSession | None = None  # the running one, for StopBuild
        self.batch_arn: str | None = None  # set when the build is one of a batch (batches.py)
        self.batch_identifier: str | None = None  # its task's identifier in the batch

    # -- the state machine (the worker calls these) ---------------------------------

    @property
    def current_phase(self) -> str:
        return self.phases[-1].type

    def start_phase(self, phase_type: str) -> None:
        with self.lock:
            self.phases.append(Phase(phase_type))

    def end_phase(self, status: str, code: str = "", message: str = "") -> None:
        with self.lock:
            phase = self.phases[-1]
            phase.end, phase.status = now(), status
            phase.contexts = [{"statusCode": code, "message": message}]
        events.codebuild_phase_change(self)

    def complete(self, status: str) -> None:
        with self.lock:
            self.status = status
            self.end_time = now()
            self.phases.append(Phase("COMPLETED", self.end_time))
        events.codebuild_build_state(self)
        self.done.set()

    def request_stop(self) -> None:
        with self.lock:
            if self.done.is_set():
                return
            self.stop_requested = True
            if self.session is not None:
                self.session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


def _log_names(project: str, build_uuid: str, logs_config: dict) -> tuple[str | None, str | None]:
    cloudwatch = logs_config.get("cloudWatchLogs") or {}
    if cloudwatch.get("status") == "DISABLED":
        return None, None
    group = cloudwatch.get("groupName") or f"/aws/codebuild/{project}"
    stream = (
        f"{cloudwatch['streamName']}/{build_uuid}" if cloudwatch.get("streamName") else build_uuid
    )
    return group, stream


def build_environment(config: BuildConfig) -> dict:
    environment = dict(config.environment)
    environment["environmentVariables"] = _merge_variables(
        config.environment.get("environmentVariables") or [], config.environment_overrides
    )
    return environment


def _merge_variables(*lists: list[dict]) -> list[dict]:
    merged: dict[str, dict] = {}
    for variables in lists:
        for variable in variables:
            merged[variable["name"]] = {"type": "PLAINTEXT", **variable}
    return list(merged.values())


# -- projects ----------------------------------------------------------------------


class Project:
    def __init__(self, account: str, region: str, params: dict) -> None:
        self.name = params["name"]
        self.arn = f"arn:aws:codebuild:{region}:{account}:project/{self.name}"
        self.account, self.region = account, region
        self.created = self.last_modified = now()
        self.build_count = 0
        self.settings: dict = {}
        self.update(params, creating=True)

    def update(self, params: dict, creating: bool = False) -> None:
        for key, value in params.items():
            if key != "name":
                self.settings[key] = value
        if not creating:
            self.last_modified = now()

    def effective_settings(self) -> dict:
        """The project's settings with the defaults AWS fills in, as builds use them and
        replies show them (name, arn, dates and badge aside)."""
        settings_ = self.settings
        environment = {
            "privilegedMode": False,
            "imagePullCredentialsType": "CODEBUILD",
            "environmentVariables": [],
            **settings_["environment"],
        }
        environment["environmentVariables"] = _merge_variables(environment["environmentVariables"])
        artifacts = dict(settings_["artifacts"])
        if artifacts.get("type") == "S3":
            artifacts = {
                "namespaceType": "NONE",
                "packaging": "NONE",
                "overrideArtifactName": False,
                "encryptionDisabled": False,
                "name": self.name,
                **artifacts,
            }
        logs_config = settings_.get("logsConfig") or {}
        effective = {
            "source": {"insecureSsl": False, **settings_["source"]},
            "secondarySources": settings_.get("secondarySources", []),
            "secondarySourceVersions": settings_.get("secondarySourceVersions", []),
            "artifacts": artifacts,
            "secondaryArtifacts": settings_.get("secondaryArtifacts", []),
            "cache": settings_.get("cache") or {"type": "NO_CACHE"},
            "environment": environment,
            "serviceRole": settings_["serviceRole"],
            "timeoutInMinutes": settings_.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES,
            "queuedTimeoutInMinutes": (
                settings_.get("queuedTimeoutInMinutes") or DEFAULT_QUEUED_TIMEOUT_MINUTES
            ),
            "encryptionKey": settings_.get("encryptionKey") or self.default_key,
            "tags": settings_.get("tags", []),
            "logsConfig": {
                "cloudWatchLogs": logs_config.get("cloudWatchLogs") or {"status": "ENABLED"},
                "s3Logs": logs_config.get("s3Logs")
                or {"status": "DISABLED", "encryptionDisabled": False},
            },
            "fileSystemLocations": settings_.get("fileSystemLocations", []),
        }
        for key in OPTIONAL_SETTINGS:
            if settings_.get(key) is not None:
                effective[key] = settings_[key]
        return effective

    @property
    def badge_enabled(self) -> bool:
        return bool(self.settings.get("badgeEnabled"))

    @property
    def default_key(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:alias/aws/s3"


def check_project(params: dict) -> None:
    """AWS's rules for CreateProject/UpdateProject input, beyond what the model says (its
    lengths, enums and patterns are checked with each request: emulator/constraints.py)."""
    source = params.get("source")
    artifacts = params.get("artifacts")
    if source is not None:
        _check_source(source, "source")
    for index, extra in enumerate(params.get("secondarySources") or []):
        _check_source(extra, f"secondarySources[{index}]")
        if not extra.get("sourceIdentifier"):
            raise err.InvalidInputException(
                "Invalid secondary source: sourceIdentifier must be specified"
            )
    if artifacts is not None:
        _check_artifacts(artifacts)
    for extra in params.get("secondaryArtifacts") or []:
        _check_artifacts(extra)
        if not extra.get("artifactIdentifier"):
            raise err.InvalidInputException(
                "Invalid secondary artifact: artifactIdentifier must be specified"
            )
    if (
        source is not None
        and artifacts is not None
        and ((source["type"] == "CODEPIPELINE") != (artifacts["type"] == "CODEPIPELINE"))
    ):
        raise err.InvalidInputException(
            "Invalid input: when source type is CODEPIPELINE, artifacts type must be "
            "CODEPIPELINE, and the other way round"
        )
    if "serviceRole" in params:
        check_role(params["serviceRole"])
    if len(params.get("tags") or []) > MAX_TAGS:
        raise err.InvalidInputException(f"Invalid tags: a project can have at most {MAX_TAGS}")
    for variable in (params.get("environment") or {}).get("environmentVariables") or []:
        check_variable(variable)
    if params.get("cache") is not None:
        check_cache(params["cache"])


def check_cache(cache: dict) -> None:
    """ProjectCache's rules (create-project-cli.md: location for S3, modes for LOCAL)."""
    kind = cache.get("type")
    if kind == "S3" and not (cache.get("location") or "").strip("/"):
        raise err.InvalidInputException(
            "Invalid cache: location must be specified for cache type S3 (bucket[/prefix])"
        )
    if kind == "LOCAL" and not cache.get("modes"):
        raise err.InvalidInputException("Invalid cache: modes must be specified for LOCAL cache")
    if kind == "NO_CACHE" and (cache.get("location") or cache.get("modes")):
        raise err.InvalidInputException(
            "Invalid cache: cache type NO_CACHE should have no location nor modes"
        )


def _check_source(source: dict, where: str) -> None:
    kind = source["type"]
    if kind in SOURCE_TYPES_NEEDING_LOCATION and not source.get("location"):
        raise err.InvalidInputException(f"Project {where} location is required")
    if kind == "NO_SOURCE" and not (source.get("buildspec") or "").strip():
        raise err.InvalidInputException(
            f"Invalid {where}: a buildspec must be specified for source type NO_SOURCE"
        )
    if kind == "S3":
        location = source["location"].split(":::", 1)[-1]
        if "/" not in location.strip("/"):
            raise err.InvalidInputException(
                f"Invalid {where} location: use <bucket-name>/<object-key> for type S3"
            )


def _check_artifacts(artifacts: dict) -> None:
    kind = artifacts["type"]
    if kind == "S3" and not artifacts.get("location"):
        raise err.InvalidInputException(
            "Invalid artifacts: location (the bucket name) is required for type S3"
        )
    if kind == "NO_ARTIFACTS" and artifacts.get("location"):
        raise err.InvalidInputException(
            "Invalid artifacts: artifact type NO_ARTIFACTS should have null location"
        )


def check_role(role: str) -> None:
    if not ROLE_ARN.match(role or ""):
        raise err.InvalidInputException(
            f"Invalid service role: {role!r} is not an IAM role ARN "
            "(arn:aws:iam::<account-id>:role/<role-name>)"
        )


def check_variable(variable: dict) -> None:
    if variable.get("type", "PLAINTEXT") not in ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"):
        raise err.InvalidInputException(
            f"Invalid environment variable type: {variable.get('type')}"
        )


# -- reports -----------------------------------------------------------------------


class ReportGroup:
    def __init__(
        self, account: str, region: str, name: str, kind: str, export_config: dict, tags: list[dict]
    ) -> None:
        self.name = name
        self.arn = f"arn:aws:codebuild:{region}:{account}:report-group/{name}"
        self.type = kind
        self.export_config = export_config or {"exportConfigType": "NO_EXPORT"}
        self.tags = tags
        self.created = self.last_modified = now()


class Report:
    def __init__(self, group: ReportGroup, build: Build) -> None:
        self.group_arn = group.arn
        self.name = group.name
        self.arn = (
            f"arn:aws:codebuild:{build.region}:{build.account}:report/{group.name}:{build.uuid}"
        )
        self.execution_id = build.arn
        self.type = group.type
        self.export_config = group.export_config
        self.created = now()
        self.status = "GENERATING"
        self.test_cases: list[dict] = []
        # CODE_COVERAGE reports (coverage.py): the summary and one entry per file.
        self.coverage_summary: dict | None = None
        self.code_coverages: list[dict] = []

    def finish(self, status: str, cases: list) -> None:
        expired = self.expired
        self.test_cases = [
            {
                "reportArn": self.arn,
                "testRawDataPath": case.raw_path,
                "prefix": case.prefix,
                "name": case.name,
                "status": case.status,
                "durationInNanoSeconds": case.duration_ns,
                "message": case.message,
                "expired": expired,
                "testSuiteName": case.suite,
            }
            for case in cases
        ]
        self.status = status

    @property
    def expired(self) -> dt.datetime:
        return self.created + REPORT_EXPIRY


# -- the backend -------------------------------------------------------------------


class CodeBuildLabBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.projects: dict[str, Project] = {}
        self.builds: dict[str, Build] = {}  # by id, oldest first
        self.report_groups: dict[str, ReportGroup] = {}  # by arn
        self.reports: dict[str, Report] = {}  # by arn
        self.idempotency_tokens: dict[str, str] = {}
        # CodePipeline's Commands actions: builds on CodePipeline-managed compute, which
        # the account's ListBuilds/BatchGetBuilds do not show (by id, while they run).
        self.managed_builds: dict[str, Build] = {}
        # Batch builds (batches.py): batches by id, oldest first; batch numbers by project.
        self.build_batches: dict = {}
        self.build_batch_numbers: dict[str, int] = {}
        self.build_batch_tokens: dict[str, str] = {}
        self.lock = threading.RLock()

    @property
    def root(self) -> Path:
        return (
            settings.emulator_dir()
            / "codebuild"
            / safepaths.account_id(self.account_id)
            / safepaths.region(self.region_name)
        )

    def reset(self) -> None:
        # Only this backend's own workspaces: another process (a test worker, a server)
        # may share the state folder.
        running = list(getattr(self, "builds", {}).values())
        running += list(getattr(self, "managed_builds", {}).values())
        for build in running:
            build.request_stop()
            build.wait(timeout=5)
            shutil.rmtree(build.workspace, ignore_errors=True)
        shutil.rmtree(self.root / "_cache", ignore_errors=True)  # local caches (caches.py)
        super().reset()

    # -- projects -------------------------------------------------------------------

    def create_project(self, params: dict) -> Project:
        check_project(params)
        _check_fleet(self, params.get("environment"))
        with self.lock:
            if params["name"] in self.projects:
                raise err.ResourceAlreadyExistsException(
                    f"Project already exists: {params['name']}"
                )
            project = Project(self.account_id, self.region_name, params)
            self.projects[project.name] = project
            return project

    def update_project(self, params: dict) -> Project:
        project = self.get_project(params["name"])
        check_project(params)
        merged = {**project.settings, **params}
        check_project(merged)  # source and artifacts must still agree
        _check_fleet(self, params.get("environment"))
        project.update(params)
        return project

    def get_project(self, name_or_arn: str) -> Project:
        name = name_or_arn.rsplit(":project/", 1)[-1]
        project = self.projects.get(name)
        if project is None:
            raise err.ResourceNotFoundException(
                f"Project cannot be found: arn:aws:codebuild:{self.region_name}:"
                f"{self.account_id}:project/{name}"
            )
        return project

    def delete_project(self, name_or_arn: str) -> None:
        """Builds stay (as in AWS); their workspaces go."""
        name = name_or_arn.rsplit(":project/", 1)[-1]
        with self.lock:
            if self.projects.pop(name, None) is None:
                return
            # Its local cache goes too: a project made again under the name starts cold.
            shutil.rmtree(self.root / "_cache" / safepaths.component(name), ignore_errors=True)
            for build in self.builds.values():
                if build.project_name == name and build.done.is_set():
                    shutil.rmtree(build.workspace, ignore_errors=True)

    def list_projects(self, sort_by: str, descending: bool) -> list[str]:
        key = {
            "NAME": lambda p: p.name,
            "CREATED_TIME": lambda p: p.created,
            "LAST_MODIFIED_TIME": lambda p: p.last_modified,
        }[sort_by]
        return [p.name for p in sorted(self.projects.values(), key=key, reverse=descending)]

    # -- builds ---------------------------------------------------------------------

    def start_build(
        self,
        params: dict,
        initiator: str,
        endpoint_url: str | None = None,
        webhook_variables: dict[str, str] | None = None,  # a webhook's build (webhooks.py)
    ) -> Build:
        project = self.get_project(params["projectName"])
        token = params.get("idempotencyToken")
        if token and token in self.idempotency_tokens:
            return self.builds[self.idempotency_tokens[token]]
        config = self._build_config(project, params, endpoint_url)
        config.webhook_variables = dict(webhook_variables or {})
        if config.source["type"] == "CODEPIPELINE":
            raise err.InvalidInputException(
                "Build projects with source type CODEPIPELINE are started by their pipeline, "
                "not by StartBuild"
            )
        build = self._new_build(project, config, initiator)
        if token:
            self.idempotency_tokens[token] = build.id
        self._run(build)
        return build

    def start_pipeline_build(
        self,
        project_name: str,
        inputs: dict[str, PipelineArtifact],
        outputs: dict[str, tuple[str, str]],
        pipeline_name: str,
        primary_source: str | None = None,
        environment_variables: list[dict] | None = None,
    ) -> Build:
        """For the pipeline engine: run a CODEPIPELINE project's build on input artifacts.

        inputs: artifact name -> PipelineArtifact, the primary one first (or primary_source);
        the others become secondary sources (CODEBUILD_SRC_DIR_<name>). outputs: artifact
        name -> (bucket, key) where the zip goes, the primary one first; the others must
        match the buildspec's secondary-artifacts identifiers. Returns the build at once;
        build.wait() blocks until it ends (in synchronous mode it has ended already).
        """
        project = self.get_project(project_name)
        if not inputs:
            raise err.InvalidInputException("A CODEPIPELINE build needs an input artifact")
        names = list(inputs)
        primary = primary_source or names[0]
        # As in AWS, a pipeline's build takes its source from the input artifacts and
        # hands its output to the pipeline, whatever the project's own source and
        # artifacts are (a CODECOMMIT project keeps only its buildspec).
        params = {
            "projectName": project_name,
            "sourceTypeOverride": "CODEPIPELINE",
            "artifactsOverride": {"type": "CODEPIPELINE"},
            "environmentVariablesOverride": environment_variables or [],
        }
        # The server running the pipeline is the one its build calls (serving.py).
        config = self._build_config(project, params, serving.local_endpoint())
        config.secondary_sources = [
            {"type": "CODEPIPELINE", "sourceIdentifier": name} for name in names if name != primary
        ]
        config.secondary_artifacts = [
            {"type": "CODEPIPELINE", "artifactIdentifier": name} for name in list(outputs)[1:]
        ]
        build = self._new_build(project, config, f"codepipeline/{pipeline_name}")
        build.pipeline_inputs = dict(inputs)
        build.pipeline_primary = primary
        build.pipeline_outputs = dict(outputs)
        self._run(build)
        return build

    def start_managed_build(self, spec: ManagedBuild) -> Build:
        """For CodePipeline's Commands action: a build without a project, on compute that
        CodePipeline manages (action-reference-Commands.md: "CodePipeline managed CodeBuild
        compute ... without the need to associate or create a build project"). It runs
        through the same runtime as any build (buildspec phases in a bash session, input
        artifacts as primary and secondary sources, the output artifact zipped, exported
        variables read back, the log line by line in CloudWatch Logs) but is not one of the
        account's builds: ListBuilds and BatchGetBuilds do not show it, and its folder goes
        when it ends."""
        if not spec.inputs:
            raise err.InvalidInputException("A CODEPIPELINE build needs an input artifact")
        names = list(spec.inputs)
        primary = names[0]
        for variable in spec.environment_variables:
            check_variable(variable)
        config = BuildConfig(
            source={"type": "CODEPIPELINE", "buildspec": spec.buildspec},
            secondary_sources=[
                {"type": "CODEPIPELINE", "sourceIdentifier": name} for name in names[1:]
            ],
            source_version=None,
            secondary_source_versions=[],
            artifacts={"type": "CODEPIPELINE", "name": spec.name},
            secondary_artifacts=[],
            environment=dict(MANAGED_ENVIRONMENT),
            environment_overrides=list(spec.environment_variables),
            buildspec=spec.buildspec,
            service_role=spec.service_role,
            endpoint_url=serving.local_endpoint(),
            # The action's timeout, in the build's minutes (LAB_CODEBUILD_SECONDS_PER_MINUTE).
            timeout_minutes=spec.timeout_seconds / seconds_per_minute(),
            queued_timeout_minutes=DEFAULT_QUEUED_TIMEOUT_MINUTES,
            encryption_key="",
            logs_config={
                "cloudWatchLogs": {
                    "status": "ENABLED",
                    "groupName": spec.log_group,
                    "streamName": spec.log_stream_prefix,
                }
            },
        )
        project = Project(self.account_id, self.region_name, {"name": spec.name})
        build = Build(self, project, 1, config, spec.initiator)
        build.pipeline_inputs = dict(spec.inputs)
        build.pipeline_primary = primary
        build.pipeline_outputs = dict(spec.outputs)
        with self.lock:
            self.managed_builds[build.id] = build

        def work() -> None:
            from . import runtime

            try:
                runtime.run(self, build)
            finally:
                with self.lock:
                    self.managed_builds.pop(build.id, None)
                shutil.rmtree(build.workspace, ignore_errors=True)

        workers.start(f"codebuild-managed-{build.uuid}", work)
        return build

    def _build_config(
        self, project: Project, params: dict, endpoint_url: str | None
    ) -> BuildConfig:
        s = project.effective_settings()
        source = dict(s["source"])
        if params.get("sourceTypeOverride"):
            source["type"] = params["sourceTypeOverride"]
        if params.get("sourceLocationOverride"):
            source["location"] = params["sourceLocationOverride"]
        if params.get("buildspecOverride") is not None:
            source["buildspec"] = params["buildspecOverride"]
        if source["type"] == "NO_SOURCE":
            source.pop("location", None)
        _check_source(source, "source")
        artifacts = params.get("artifactsOverride") or s["artifacts"]
        _check_artifacts(artifacts)
        environment = dict(s["environment"])
        for key, override in (
            ("type", "environmentTypeOverride"),
            ("image", "imageOverride"),
            ("computeType", "computeTypeOverride"),
            ("privilegedMode", "privilegedModeOverride"),
            ("certificate", "certificateOverride"),
            ("fleet", "fleetOverride"),
        ):
            if params.get(override) is not None:
                environment[key] = params[override]
        _check_fleet(self, environment)
        overrides = params.get("environmentVariablesOverride") or []
        for variable in overrides:
            check_variable(variable)
        role = params.get("serviceRoleOverride") or s["serviceRole"]
        check_role(role)
        if params.get("cacheOverride"):
            check_cache(params["cacheOverride"])
        return BuildConfig(
            source=source,
            secondary_sources=params.get("secondarySourcesOverride") or s["secondarySources"],
            source_version=params.get("sourceVersion") or s.get("sourceVersion"),
            secondary_source_versions=(
                params.get("secondarySourcesVersionOverride") or s["secondarySourceVersions"]
            ),
            artifacts=_artifact_defaults(artifacts, project.name),
            secondary_artifacts=[
                _artifact_defaults(a, a.get("artifactIdentifier", ""))
                for a in (params.get("secondaryArtifactsOverride") or s["secondaryArtifacts"])
            ],
            environment=environment,
            environment_overrides=overrides,
            buildspec=source.get("buildspec"),
            service_role=role,
            timeout_minutes=params.get("timeoutInMinutesOverride") or s["timeoutInMinutes"],
            queued_timeout_minutes=(
                params.get("queuedTimeoutInMinutesOverride") or s["queuedTimeoutInMinutes"]
            ),
            encryption_key=params.get("encryptionKeyOverride") or s["encryptionKey"],
            logs_config=params.get("logsConfigOverride") or s["logsConfig"],
            endpoint_url=endpoint_url,
            cache=params.get("cacheOverride") or s["cache"],
        )

    def _new_build(self, project: Project, config: BuildConfig, initiator: str) -> Build:
        with self.lock:
            project.build_count += 1
            build = Build(self, project, project.build_count, config, initiator)
            self.builds[build.id] = build
        return build

    def _run(self, build: Build) -> None:
        from . import runtime

        def work() -> None:
            runtime.run(self, build)
            self.prune_workspaces()

        workers.start(f"codebuild-{build.id}", work)

    def get_build(self, build_id: str) -> Build:
        # A build id is "<project name>:<uuid>" (or the build's ARN); AWS refuses an id
        # without the colon as malformed rather than as missing (moto's own tests agree).
        if ":" not in _build_id(build_id):
            raise err.InvalidInputException("Invalid build ID provided")
        build = self.builds.get(_build_id(build_id))
        if build is None:
            raise err.ResourceNotFoundException(f"Build {build_id} does not exist")
        return build

    def stop_build(self, build_id: str) -> Build:
        build = self.get_build(build_id)
        build.request_stop()
        build.wait(timeout=10)  # the worker finalizes: FINALIZING, COMPLETED
        return build

    def retry_build(self, build_id: str, token: str | None, initiator: str) -> Build:
        old = self.get_build(build_id)
        if token and token in self.idempotency_tokens:
            return self.builds[self.idempotency_tokens[token]]
        project = self.get_project(old.project_name)
        if not old.done.is_set():
            raise err.InvalidInputException(
                f"Build {old.id} is in progress; only a finished build can be retried"
            )
        if old.config.source["type"] == "CODEPIPELINE":
            raise err.InvalidInputException(
                "Builds started by CodePipeline are retried from the pipeline"
            )
        build = self._new_build(project, old.config, initiator)
        if token:
            self.idempotency_tokens[token] = build.id
        self._run(build)
        return build

    def list_builds(self, project_name: str | None, descending: bool) -> list[str]:
        ids = [
            b.id
            for b in self.builds.values()
            if project_name is None or b.project_name == project_name
        ]
        return ids[::-1] if descending else ids

    def delete_builds(self, ids: list[str]) -> tuple[list[str], list[dict]]:
        deleted, not_deleted = [], []
        with self.lock:
            for build_id in ids:
                build = self.builds.get(_build_id(build_id))
                if build is None:
                    not_deleted.append({"id": build_id, "statusCode": "BUILD_NOT_FOUND"})
                elif not build.done.is_set():
                    not_deleted.append({"id": build_id, "statusCode": "BUILD_IN_PROGRESS"})
                else:
                    del self.builds[build.id]
                    shutil.rmtree(build.workspace, ignore_errors=True)
                    deleted.append(build_id)
        return deleted, not_deleted

    def prune_workspaces(self) -> None:
        """Keep the folders of the newest finished builds only."""
        with self.lock:
            finished = [b for b in self.builds.values() if b.done.is_set()]
        for build in finished[: max(0, len(finished) - kept_workspaces())]:
            shutil.rmtree(build.workspace, ignore_errors=True)

    # -- report groups and reports --------------------------------------------------

    def create_report_group(
        self, name: str, kind: str, export_config: dict, tags: list[dict]
    ) -> ReportGroup:
        if not REPORT_GROUP_NAME.match(name):
            raise err.InvalidInputException(
                constraints.one_error(
                    name,
                    "name",
                    r"satisfy regular expression pattern: "
                    r"[A-Za-z0-9][A-Za-z0-9\-_]{1,127}",
                )
            )
        _check_export_config(export_config)
        if len(tags) > MAX_TAGS:
            raise err.InvalidInputException(f"Invalid tags: at most {MAX_TAGS}")
        with self.lock:
            group = ReportGroup(self.account_id, self.region_name, name, kind, export_config, tags)
            if group.arn in self.report_groups:
                raise err.ResourceAlreadyExistsException(
                    f"Report group with name {name} already exists"
                )
            self.report_groups[group.arn] = group
            return group

    def get_report_group(self, arn: str) -> ReportGroup:
        group = self.report_groups.get(arn)
        if group is None:
            raise err.ResourceNotFoundException(f"Report group {arn} does not exist")
        return group

    def update_report_group(
        self, arn: str, export_config: dict | None, tags: list[dict] | None
    ) -> ReportGroup:
        group = self.get_report_group(arn)
        if export_config is not None:
            _check_export_config(export_config)
            group.export_config = export_config
        if tags is not None:
            group.tags = tags
        group.last_modified = now()
        return group

    def delete_report_group(self, arn: str, delete_reports: bool) -> None:
        with self.lock:
            if arn not in self.report_groups:
                return
            reports = [r for r in self.reports.values() if r.group_arn == arn]
            if reports and not delete_reports:
                raise err.InvalidInputException(
                    f"Report group {arn} has reports: delete them first or set deleteReports"
                )
            for report in reports:
                del self.reports[report.arn]
            del self.report_groups[arn]

    def group_for_build(
        self, project_name: str, key: str, kind: str = "TEST"
    ) -> ReportGroup | None:
        """The report group a buildspec's reports key names, created (of type kind) when it
        is a name."""
        with self.lock:
            if key.startswith("arn:"):
                return self.report_groups.get(key)
            name = f"{project_name}-{key}"
            arn = f"arn:aws:codebuild:{self.region_name}:{self.account_id}:report-group/{name}"
            if arn not in self.report_groups:
                self.report_groups[arn] = ReportGroup(
                    self.account_id,
                    self.region_name,
                    name,
                    kind,
                    {"exportConfigType": "NO_EXPORT"},
                    [],
                )
            return self.report_groups[arn]

    def add_report(self, report: Report) -> None:
        with self.lock:
            self.reports[report.arn] = report

    def get_report(self, arn: str) -> Report:
        report = self.reports.get(arn)
        if report is None:
            raise err.ResourceNotFoundException(f"Report {arn} does not exist")
        return report


def _check_export_config(config: dict) -> None:
    kind = config.get("exportConfigType")
    if kind == "S3" and not (config.get("s3Destination") or {}).get("bucket"):
        raise err.InvalidInputException(
            "Invalid export config: s3Destination.bucket is required for exportConfigType S3"
        )


def _check_fleet(backend: CodeBuildLabBackend, environment: dict | None) -> None:
    from .fleets import check_environment  # fleets.py builds on this module

    check_environment(backend, environment)


def _artifact_defaults(artifacts: dict, default_name: str) -> dict:
    if artifacts.get("type") == "NO_ARTIFACTS":
        return dict(artifacts)
    return {"namespaceType": "NONE", "packaging": "NONE", "name": default_name, **artifacts}


def _build_id(value: str) -> str:
    """A build id, from an id or a build ARN."""
    return value.split(":build/", 1)[-1]


codebuild_lab_backends = BackendDict(CodeBuildLabBackend, "codebuild")
