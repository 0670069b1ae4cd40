"""Batch builds (batch-build.md): a batch is builds plus orchestration, not a second runner.

StartBuildBatch makes a BuildBatch (SUBMITTED done, DOWNLOAD_BATCHSPEC open); its worker
reads the buildspec's `batch:` section (batchspec.py), checks the batch restrictions
(maximumBuildsAllowed, computeTypesAllowed: a batch over them FAILS in DOWNLOAD_BATCHSPEC
with the reason, as AWS does), then starts one ordinary build per task through the
backend, which runtime.py runs like any other (IN_PROGRESS). A task starts when the tasks
it depends on have ended; one whose dependency failed (without ignore-failure) never starts.
fast-fail stops the running builds at the first failure that counts. With combineArtifacts
the builds' primary artifacts are staged, then put together in COMBINE_ARTIFACTS, one
folder per build identifier. The batch ends in a phase named for its outcome (SUCCEEDED,
FAILED, STOPPED), with no status, like a build's COMPLETED.

Not emulated: AWS's extra DOWNLOAD_SOURCE build that reads the batchspec (the kit reads it
in DOWNLOAD_BATCHSPEC itself), batch report modes (no source provider to report to
offline: batchReportMode is kept and shown), debug sessions.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field

from .. import changes, moto_backends, workers
from ..core import AwsError, now
from . import batchspec
from . import exceptions as err
from .artifacts import object_key
from .batchspec import Task
from .buildspec import BuildSpecError, locate
from .models import (
    Build,
    BuildConfig,
    CodeBuildLabBackend,
    Phase,
    Project,
    check_role,
    seconds_per_minute,
)
from .sources import PipelineArtifact, SourceError, fetch, split_s3_location

log = logging.getLogger("helpers.emulator.codebuild")

DEFAULT_BATCH_TIMEOUT_MINUTES = 480
POLL_SECONDS = 0.02
STAGING = "codebuild-batch-staging"  # where combined builds put their part, then removed
# StartBuildBatch members a batch's builds take as StartBuild takes them.
BUILD_OVERRIDES = (
    "secondarySourcesOverride",
    "secondarySourcesVersionOverride",
    "sourceVersion",
    "artifactsOverride",
    "secondaryArtifactsOverride",
    "sourceTypeOverride",
    "sourceLocationOverride",
    "buildspecOverride",
    "environmentTypeOverride",
    "imageOverride",
    "computeTypeOverride",
    "certificateOverride",
    "serviceRoleOverride",
    "privilegedModeOverride",
    "queuedTimeoutInMinutesOverride",
    "encryptionKeyOverride",
    "logsConfigOverride",
)
ENV_OVERRIDES = {
    "computeType": "computeTypeOverride",
    "image": "imageOverride",
    "type": "environmentTypeOverride",
    "privilegedMode": "privilegedModeOverride",
}


class BatchFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class BuildGroup:
    task: Task
    current: Build | None = None
    prior: list[Build] = field(default_factory=list)


@dataclass
class PipelineRun:
    """What the pipeline's CodeBuild action hands a batch: its artifacts."""

    inputs: dict[str, PipelineArtifact]
    outputs: dict[str, tuple[str, str]]
    primary: str


class BuildBatch:
    def __init__(
        self,
        backend: CodeBuildLabBackend,
        project: Project,
        number: int,
        params: dict,
        config: BuildConfig,
        batch_config: dict,
        initiator: str,
    ) -> None:
        self.uuid = str(uuid.uuid4())
        self.project_name = project.name
        self.id = f"{project.name}:{self.uuid}"
        self.arn = (
            f"arn:aws:codebuild:{backend.region_name}:{backend.account_id}:build-batch/{self.id}"
        )
        self.account, self.region = backend.account_id, backend.region_name
        self.number = number
        self.params = params
        self.config = config
        self.batch_config = batch_config
        self.initiator = initiator
        self.workspace = backend.root / f"batch-{self.uuid}"
        self.start_time = now()
        self.end_time: dt.datetime | None = None
        self.status = "IN_PROGRESS"
        self.phases = [
            Phase("SUBMITTED", self.start_time, self.start_time, "SUCCEEDED"),
            Phase("DOWNLOAD_BATCHSPEC", self.start_time),
        ]
        self.spec: batchspec.BatchSpec | None = None
        self.groups: dict[str, BuildGroup] = {}
        self.resolved_source_version: str | None = None
        self.artifact_location: dict | None = None
        self.pipeline: PipelineRun | None = None
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.stop_requested = False

    @property
    def current_phase(self) -> str:
        return self.phases[-1].type

    @property
    def combine(self) -> bool:
        return bool(self.batch_config.get("combineArtifacts"))

    @property
    def builds(self) -> list[Build]:
        with self.lock:
            groups = list(self.groups.values())
        return [b for g in groups for b in [*g.prior, *([g.current] if g.current else [])]]

    def start_phase(self, phase_type: str) -> None:
        with self.lock:
            self.phases.append(Phase(phase_type))

    def end_phase(self, status: str, code: str = "", message: str = "") -> None:
        with self.lock:
            phase = self.phases[-1]
            phase.end, phase.status = now(), status
            if code or message:
                phase.contexts = [{"statusCode": code, "message": message}]

    def complete(self, status: str) -> None:
        with self.lock:
            self.status = status
            self.end_time = now()
            self.phases.append(Phase("FAILED" if status == "TIMED_OUT" else status, self.end_time))
        self.done.set()
        changes.changed()  # a lab helper polling the batch in this process

    def request_stop(self) -> None:
        with self.lock:
            if self.done.is_set():
                return
            self.stop_requested = True
            running = [b for b in self.builds if not b.done.is_set()]
        for build in running:
            build.request_stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


# -- starting -------------------------------------------------------------------------


def start(
    backend: CodeBuildLabBackend,
    params: dict,
    initiator: str,
    endpoint_url: str | None = None,
    pipeline: PipelineRun | None = None,
    webhook_variables: dict[str, str] | None = None,
) -> BuildBatch:
    """StartBuildBatch (and the pipeline's batch action, a webhook's BUILD_BATCH): the batch,
    its worker started. webhook_variables (CODEBUILD_WEBHOOK_*) go to each of its builds."""
    project = backend.get_project(params["projectName"])
    token = params.get("idempotencyToken")
    tokens = _tokens(backend)
    if token and token in tokens:
        return get(backend, tokens[token])
    batch_config = _batch_config(project, params)
    config = backend._build_config(project, _build_params(params), endpoint_url)
    config.webhook_variables = dict(webhook_variables or {})
    if config.source["type"] == "CODEPIPELINE" and pipeline is None:
        raise err.InvalidInputException(
            "Build projects with source type CODEPIPELINE are started by their pipeline, "
            "not by StartBuildBatch"
        )
    with backend.lock:
        numbers = _numbers(backend)
        numbers[project.name] = numbers.get(project.name, 0) + 1
        batch = BuildBatch(
            backend, project, numbers[project.name], params, config, batch_config, initiator
        )
        batch.pipeline = pipeline
        book(backend)[batch.id] = batch
        if token:
            tokens[token] = batch.id
    workers.start(f"codebuild-batch-{batch.id}", lambda: BatchRunner(backend, batch).run())
    return batch


def _batch_config(project: Project, params: dict) -> dict:
    """The project's buildBatchConfig with StartBuildBatch's override over it."""
    configured = project.settings.get("buildBatchConfig") or {}
    override = params.get("buildBatchConfigOverride") or {}
    merged = {**configured, **override}
    if not merged.get("serviceRole"):
        raise err.InvalidInputException(
            f"Batch builds are not enabled for project {project.name}: give the project a "
            "buildBatchConfig with a serviceRole (or a buildBatchConfigOverride)"
        )
    check_role(merged["serviceRole"])
    maximum = (merged.get("restrictions") or {}).get("maximumBuildsAllowed")
    if maximum is not None and maximum < 1:
        raise err.InvalidInputException("maximumBuildsAllowed must be at least 1")
    return merged


def _build_params(params: dict) -> dict:
    """StartBuild's parameters for the batch's builds, from StartBuildBatch's."""
    built = {key: params[key] for key in BUILD_OVERRIDES if params.get(key) is not None}
    built["projectName"] = params["projectName"]
    if params.get("buildTimeoutInMinutesOverride"):
        built["timeoutInMinutesOverride"] = params["buildTimeoutInMinutesOverride"]
    built["environmentVariablesOverride"] = list(params.get("environmentVariablesOverride") or [])
    return built


# -- state kept on the backend ----------------------------------------------------------


def book(backend: CodeBuildLabBackend) -> dict[str, BuildBatch]:
    """The backend's batches, by id, oldest first."""
    return backend.build_batches


def _numbers(backend: CodeBuildLabBackend) -> dict[str, int]:
    return backend.build_batch_numbers


def _tokens(backend: CodeBuildLabBackend) -> dict[str, str]:
    return backend.build_batch_tokens


def get(backend: CodeBuildLabBackend, batch_id: str) -> BuildBatch:
    batch_id = batch_id.split(":build-batch/", 1)[-1]
    if ":" not in batch_id:
        raise err.InvalidInputException("Invalid build batch ID provided")
    batch = book(backend).get(batch_id)
    if batch is None:
        raise err.ResourceNotFoundException(f"Build batch {batch_id} does not exist")
    return batch


def stop(backend: CodeBuildLabBackend, batch_id: str) -> BuildBatch:
    batch = get(backend, batch_id)
    batch.request_stop()
    batch.wait(timeout=10)  # the worker ends it: its builds stopped, the final phase
    return batch


def retry(
    backend: CodeBuildLabBackend, batch_id: str, retry_type: str, token: str | None
) -> BuildBatch:
    """RetryBuildBatch: the same batch runs again, all its builds or the failed ones; each
    retried group keeps its earlier build in priorBuildSummaryList."""
    tokens = _tokens(backend)
    if token and token in tokens:
        return get(backend, tokens[token])
    batch = get(backend, batch_id)
    with batch.lock:
        if not batch.done.is_set():
            raise err.InvalidInputException(
                f"Build batch {batch.id} is in progress; only a finished batch can be retried"
            )
        if batch.pipeline is not None:
            raise err.InvalidInputException(
                "Build batches started by CodePipeline are retried from the pipeline"
            )
        if batch.spec is None:
            raise err.InvalidInputException(
                f"Build batch {batch.id} failed before it read its batchspec: start a new batch"
            )
        retried = [
            identifier
            for identifier, group in batch.groups.items()
            if retry_type == "RETRY_ALL_BUILDS"
            or group.current is None
            or group.current.status != "SUCCEEDED"
        ]
        for identifier in retried:
            group = batch.groups[identifier]
            if group.current is not None:
                group.prior.append(group.current)
                group.current = None
        batch.phases[-1].end = now()
        batch.status, batch.end_time, batch.stop_requested = "IN_PROGRESS", None, False
        batch.artifact_location = None
        batch.phases.append(Phase("IN_PROGRESS"))
        batch.done.clear()
        if token:
            tokens[token] = batch.id
    workers.start(
        f"codebuild-batch-{batch.id}", lambda: BatchRunner(backend, batch).run_tasks(set(retried))
    )
    return batch


def delete(backend: CodeBuildLabBackend, batch_id: str) -> tuple[str, list[str], list[dict]]:
    """DeleteBuildBatch: the batch's finished builds go with it; a running batch stays."""
    try:
        batch = get(backend, batch_id)
    except err.ResourceNotFoundException:
        return "BUILD_BATCH_NOT_FOUND", [], []
    if not batch.done.is_set():
        raise err.InvalidInputException(
            f"Build batch {batch.id} is in progress: stop it (StopBuildBatch) before deleting it"
        )
    deleted, not_deleted = backend.delete_builds([b.arn for b in batch.builds])
    with backend.lock:
        book(backend).pop(batch.id, None)
    shutil.rmtree(batch.workspace, ignore_errors=True)
    return "BUILD_BATCH_DELETED", deleted, not_deleted


def list_ids(
    backend: CodeBuildLabBackend, project_name: str | None, status: str | None, descending: bool
) -> list[str]:
    ids = [
        batch.id
        for batch in list(book(backend).values())
        if (project_name is None or batch.project_name == project_name)
        and (status is None or batch.status == status)
    ]
    return ids[::-1] if descending else ids


# -- the worker ------------------------------------------------------------------------


class BatchRunner:
    def __init__(self, backend: CodeBuildLabBackend, batch: BuildBatch) -> None:
        self.backend = backend
        self.batch = batch
        self.deadline = time.monotonic() + self._timeout_seconds()

    def _timeout_seconds(self) -> float:
        minutes = self.batch.batch_config.get("timeoutInMins") or DEFAULT_BATCH_TIMEOUT_MINUTES
        return minutes * seconds_per_minute()

    def run(self) -> None:
        batch = self.batch
        try:
            tasks = self._download_batchspec()
        except BatchFailure as failure:
            batch.end_phase("FAILED", failure.code, failure.message)
            batch.complete("FAILED")
            return
        finally:
            shutil.rmtree(batch.workspace, ignore_errors=True)
        with batch.lock:
            batch.groups = {task.identifier: BuildGroup(task) for task in tasks}
        batch.end_phase("SUCCEEDED")
        batch.start_phase("IN_PROGRESS")
        self.run_tasks({task.identifier for task in tasks})

    # -- DOWNLOAD_BATCHSPEC --------------------------------------------------------------

    def _download_batchspec(self) -> list[Task]:
        batch = self.batch
        if batch.stop_requested:
            raise BatchFailure("BUILD_STOPPED", "Build batch was stopped by request")
        try:
            spec = batchspec.parse(self._buildspec_text())
        except BuildSpecError as error:
            raise BatchFailure("YAML_FILE_ERROR", str(error)) from None
        batch.spec = spec
        self._check_restrictions(spec.tasks)
        return spec.tasks

    def _buildspec_text(self) -> str:
        batch, config = self.batch, self.batch.config
        given = (config.buildspec or "").strip()
        if given.startswith("arn:aws:s3:::"):
            bucket, key = split_s3_location(given)
            try:
                item = moto_backends.get_object(batch.account, bucket, key)
            except moto_backends.S3Refused:
                item = None
            if item is None:
                raise BuildSpecError(f"YAML file does not exist: {given}")
            return item.data.decode(errors="replace")
        src_dir = batch.workspace / "src"
        pipeline = batch.pipeline
        try:
            fetched = fetch(
                batch.account,
                batch.region,
                config.source,
                config.source_version,
                src_dir,
                pipeline.inputs.get(pipeline.primary) if pipeline else None,
            )
        except SourceError as error:
            raise BatchFailure("CLIENT_ERROR", str(error)) from None
        batch.resolved_source_version = fetched.resolved_version
        if "\n" in given or ":" in given:  # inline, as a build reads it
            return config.buildspec or ""
        return locate(src_dir, given or "buildspec.yml").read_text(errors="replace")

    def _check_restrictions(self, tasks: list[Task]) -> None:
        restrictions = self.batch.batch_config.get("restrictions") or {}
        maximum = restrictions.get("maximumBuildsAllowed")
        if maximum is not None and len(tasks) > maximum:
            raise BatchFailure(
                "CLIENT_ERROR",
                f"Batch build exceeds the maximum number of builds allowed: the batchspec "
                f"defines {len(tasks)} builds, the project's batch restrictions allow {maximum}",
            )
        allowed = restrictions.get("computeTypesAllowed")
        if not allowed:
            return
        for task in tasks:
            compute_type = task.env.settings.get(
                "computeType"
            ) or self.batch.config.environment.get("computeType")
            if compute_type not in allowed:
                raise BatchFailure(
                    "CLIENT_ERROR",
                    f"Build {task.identifier} uses compute type {compute_type}, which the "
                    f"project's batch restrictions do not allow (computeTypesAllowed: "
                    f"{', '.join(allowed)})",
                )

    # -- IN_PROGRESS: the builds -------------------------------------------------------

    def run_tasks(self, to_run: set[str]) -> None:
        batch = self.batch
        status = "FAULT"
        try:
            status = self._orchestrate(to_run)
            if batch.combine and status not in ("STOPPED",):
                batch.end_phase(_phase_status(status))
                batch.start_phase("COMBINE_ARTIFACTS")
                try:
                    self._combine_artifacts()
                except BatchFailure as failure:
                    batch.end_phase("FAILED", failure.code, failure.message)
                    status = "FAILED"
                else:
                    batch.end_phase("SUCCEEDED")
            else:
                batch.end_phase(_phase_status(status), *_context(status))
        finally:
            if batch.phases[-1].end is None:
                batch.end_phase("FAULT", "INTERNAL_ERROR", "the batch ended unexpectedly")
            batch.complete(status)

    def _orchestrate(self, to_run: set[str]) -> str:
        """Start each task when its dependencies have ended; the batch's status."""
        batch, spec = self.batch, self.batch.spec
        assert spec is not None
        outcome: dict[str, str] = {
            identifier: (group.current.status if group.current else "NOT_STARTED")
            for identifier, group in batch.groups.items()
            if identifier not in to_run
        }
        pending = [batch.groups[i].task for i in batch.groups if i in to_run]
        running: dict[str, Build] = {}
        interrupted: str | None = None
        while pending or running:
            interrupted = interrupted or self._interruption(outcome)
            if interrupted is not None:
                for build in running.values():
                    build.request_stop()
                pending = []
            for task in list(pending):
                if any(d not in outcome for d in task.depend_on):
                    continue
                pending.remove(task)
                if any(self._counts_as_failed(d, outcome[d]) for d in task.depend_on):
                    outcome[task.identifier] = "NOT_STARTED"  # a dependency failed
                    continue
                started = self._start_build(task)
                if started is None:
                    outcome[task.identifier] = "FAULT"
                else:
                    running[task.identifier] = started
            ended = [i for i, build in running.items() if build.done.is_set()]
            for identifier in ended:
                outcome[identifier] = running.pop(identifier).status
            if not ended and running:
                next(iter(running.values())).wait(POLL_SECONDS)
        if interrupted is not None:
            return interrupted
        failed = any(
            self._counts_as_failed(identifier, status) for identifier, status in outcome.items()
        )
        return "FAILED" if failed else "SUCCEEDED"

    def _interruption(self, outcome: dict[str, str]) -> str | None:
        batch = self.batch
        if batch.stop_requested:
            return "STOPPED"
        if time.monotonic() >= self.deadline:
            return "TIMED_OUT"
        spec = batch.spec
        if spec is not None and spec.fast_fail:
            if any(self._counts_as_failed(i, status) for i, status in outcome.items()):
                return "FAILED"
        return None

    def _counts_as_failed(self, identifier: str, status: str) -> bool:
        group = self.batch.groups[identifier]
        if group.task.ignore_failure:
            return False
        return status not in ("SUCCEEDED",)

    def _start_build(self, task: Task) -> Build | None:
        """The task's build, started; None when it cannot be (its project deleted...)."""
        try:
            return self._new_build(task)
        except AwsError as error:
            log.warning("batch %s: build %s not started: %s", self.batch.id, task.identifier, error)
            return None

    def _new_build(self, task: Task) -> Build:
        backend, batch = self.backend, self.batch
        project = backend.get_project(batch.project_name)
        params = _build_params(batch.params)
        if batch.resolved_source_version and batch.config.source["type"] != "CODEPIPELINE":
            params["sourceVersion"] = batch.resolved_source_version
        if task.buildspec:
            params["buildspecOverride"] = task.buildspec
        for setting, override in ENV_OVERRIDES.items():
            if setting in task.env.settings:
                params[override] = task.env.settings[setting]
        params["environmentVariablesOverride"] = params["environmentVariablesOverride"] + [
            {"name": name, "value": value, "type": "PLAINTEXT"}
            for name, value in task.env.variables.items()
        ]
        config = backend._build_config(project, params, batch.config.endpoint_url)
        config.webhook_variables = dict(batch.config.webhook_variables)
        config.artifacts = self._artifacts_for(task, config.artifacts)
        build = backend._new_build(project, config, batch.initiator)
        build.batch_arn = batch.arn
        build.batch_identifier = task.identifier
        if batch.pipeline is not None:
            self._pipeline_build(build, task)
        with batch.lock:
            batch.groups[task.identifier].current = build
        backend._run(build)
        return build

    def _artifacts_for(self, task: Task, artifacts: dict) -> dict:
        """Where a build of the batch puts its primary artifact: a staged part when the
        batch combines them, else the project's location in a folder named for the build."""
        if artifacts.get("type") != "S3":
            return artifacts
        if self.batch.combine:
            return {
                "type": "S3",
                "location": artifacts["location"],
                "path": f"{STAGING}/{self.batch.uuid}",
                "name": f"{task.identifier}.zip",
                "namespaceType": "NONE",
                "packaging": "ZIP",
            }
        path = "/".join(p for p in ((artifacts.get("path") or "").strip("/"), task.identifier) if p)
        return {**artifacts, "path": path}

    def _pipeline_build(self, build: Build, task: Task) -> None:
        """sample-pipeline-batch.md: an output named for a build identifier takes that
        build's primary artifact, <identifier>_<artifact> its secondary one; combined, the
        single output takes them all (staged first)."""
        pipeline = self.batch.pipeline
        assert pipeline is not None
        names = list(pipeline.inputs)
        build.config.secondary_sources = [
            {"type": "CODEPIPELINE", "sourceIdentifier": name}
            for name in names
            if name != pipeline.primary
        ]
        build.pipeline_inputs = dict(pipeline.inputs)
        build.pipeline_primary = pipeline.primary
        outputs: dict[str, tuple[str, str]] = {}
        if self.batch.combine and pipeline.outputs:
            bucket = next(iter(pipeline.outputs.values()))[0]
            outputs[task.identifier] = (bucket, _staged_key(self.batch, task.identifier))
        else:
            for name, location in pipeline.outputs.items():
                if name == task.identifier:
                    outputs = {name: location, **outputs}
                elif name.startswith(task.identifier + "_"):
                    outputs[name[len(task.identifier) + 1 :]] = location
        build.pipeline_outputs = outputs
        secondary = [name for name in outputs if name != task.identifier]
        build.config.secondary_artifacts = [
            {"type": "CODEPIPELINE", "artifactIdentifier": name} for name in secondary
        ]
        if task.identifier not in outputs:  # no output takes this build's primary artifact
            build.config.artifacts = {"type": "NO_ARTIFACTS"}

    # -- COMBINE_ARTIFACTS -------------------------------------------------------------

    def _combine_artifacts(self) -> None:
        batch = self.batch
        parts: dict[str, bytes] = {}
        bucket = self._staging_bucket()
        if bucket is None:
            return
        for identifier in batch.groups:
            key = _staged_key(batch, identifier)
            try:
                item = moto_backends.get_object(batch.account, bucket, key)
            except moto_backends.S3Refused:
                item = None
            if item is not None:
                parts[identifier] = item.data
                moto_backends.delete_object(batch.account, bucket, key)
        files: list[tuple[str, bytes]] = []
        for identifier, data in parts.items():
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        files.append((f"{identifier}/{info.filename}", archive.read(info)))
        try:
            self._write_combined(bucket, files)
        except moto_backends.S3Refused as error:
            raise BatchFailure("CLIENT_ERROR", f"combining artifacts: {error}") from None

    def _staging_bucket(self) -> str | None:
        batch = self.batch
        if batch.pipeline is not None:
            outputs = list(batch.pipeline.outputs.values())
            return outputs[0][0] if outputs else None
        artifacts = batch.config.artifacts
        return artifacts.get("location") if artifacts.get("type") == "S3" else None

    def _write_combined(self, bucket: str, files: list[tuple[str, bytes]]) -> None:
        batch = self.batch
        metadata = {"x-amz-meta-codebuild-buildarn": batch.arn}
        if batch.pipeline is not None:
            out_bucket, key = next(iter(batch.pipeline.outputs.values()))
            moto_backends.put_object(batch.account, out_bucket, key, _zip(files), metadata)
            batch.artifact_location = {"location": f"arn:aws:s3:::{out_bucket}/{key}"}
            return
        artifacts = batch.config.artifacts
        key = object_key(
            artifacts.get("path"),
            batch.uuid if artifacts.get("namespaceType") == "BUILD_ID" else None,
            artifacts.get("name") or batch.project_name,
        )
        if artifacts.get("packaging") == "ZIP":
            moto_backends.put_object(batch.account, bucket, key, _zip(files), metadata)
        else:
            for name, data in files:
                moto_backends.put_object(batch.account, bucket, f"{key}/{name}", data, metadata)
        batch.artifact_location = {"location": f"arn:aws:s3:::{bucket}/{key}"}


def _staged_key(batch: BuildBatch, identifier: str) -> str:
    return f"{STAGING}/{batch.uuid}/{identifier}.zip"


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def _phase_status(status: str) -> str:
    return status if status in ("SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT") else "FAULT"


def _context(status: str) -> tuple[str, str]:
    if status == "STOPPED":
        return "BUILD_STOPPED", "Build batch was stopped by request"
    if status == "TIMED_OUT":
        return "BUILD_TIMED_OUT", "Build batch has timed out"
    return "", ""
