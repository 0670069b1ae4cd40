"""The batch build operations (StartBuildBatch, BatchGetBuildBatches, List*, Stop, Retry,
Delete) and the shaping of a batch in replies; the batches themselves: batches.py."""

from __future__ import annotations

from .. import core
from ..core import LabHandlers, with_token
from . import batches
from . import exceptions as err
from .batches import BuildBatch, BuildGroup
from .handlers import INITIATOR, _backend, _descending, _endpoint_url, phase_reply
from .models import Build, build_environment

_page = core.pager(err.InvalidInputException, "Invalid pagination token")


class BatchHandlers(LabHandlers):
    def start_build_batch(self, params: dict) -> dict:
        batch = batches.start(_backend(self), params, INITIATOR, _endpoint_url(self))
        return {"buildBatch": build_batch_reply(batch)}

    def batch_get_build_batches(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for batch_id in params["ids"]:
            try:
                found.append(build_batch_reply(batches.get(backend, batch_id)))
            except err.ResourceNotFoundException:
                missing.append(batch_id)
        return {"buildBatches": found, "buildBatchesNotFound": missing}

    def list_build_batches(self, params: dict) -> dict:
        return _id_page(_backend(self), None, params)

    def list_build_batches_for_project(self, params: dict) -> dict:
        # projectName is optional in the model; without it, every batch (as ListBuildBatches).
        backend = _backend(self)
        name = params.get("projectName")
        project = backend.get_project(name).name if name else None
        return _id_page(backend, project, params)

    def stop_build_batch(self, params: dict) -> dict:
        return {"buildBatch": build_batch_reply(batches.stop(_backend(self), params["id"]))}

    def retry_build_batch(self, params: dict) -> dict:
        # Both members are optional in the model; a retry needs the batch to retry.
        if not params.get("id"):
            raise err.InvalidInputException("RetryBuildBatch needs the id of the batch to retry")
        batch = batches.retry(
            _backend(self),
            params["id"],
            params.get("retryType") or "RETRY_ALL_BUILDS",
            params.get("idempotencyToken"),
        )
        return {"buildBatch": build_batch_reply(batch)}

    def delete_build_batch(self, params: dict) -> dict:
        status, deleted, not_deleted = batches.delete(_backend(self), params["id"])
        return {"statusCode": status, "buildsDeleted": deleted, "buildsNotDeleted": not_deleted}


def _id_page(backend, project: str | None, params: dict) -> dict:
    status = (params.get("filter") or {}).get("status")
    ids = batches.list_ids(backend, project, status, _descending(params, "DESCENDING"))
    page, token = _page(ids, params)
    return with_token({"ids": page}, token)


# -- replies ---------------------------------------------------------------------------


def build_batch_reply(batch: BuildBatch) -> dict:
    """The batch as it is now (its worker may be advancing it: read under its lock)."""
    with batch.lock:
        config = batch.config
        reply = {
            "id": batch.id,
            "arn": batch.arn,
            "startTime": batch.start_time,
            "currentPhase": batch.current_phase,
            "buildBatchStatus": batch.status,
            "projectName": batch.project_name,
            "phases": [phase_reply(phase) for phase in batch.phases],
            "source": config.source,
            "secondarySources": config.secondary_sources,
            "secondarySourceVersions": config.secondary_source_versions,
            "artifacts": batch.artifact_location or {"location": ""},
            "secondaryArtifacts": [],
            "cache": {"type": "NO_CACHE"},
            "environment": build_environment(config),
            "serviceRole": config.service_role,
            "logConfig": config.logs_config,
            "buildTimeoutInMinutes": int(config.timeout_minutes),
            "queuedTimeoutInMinutes": config.queued_timeout_minutes,
            "complete": batch.done.is_set(),
            "initiator": batch.initiator,
            "encryptionKey": config.encryption_key,
            "buildBatchNumber": batch.number,
            "fileSystemLocations": [],
            "buildBatchConfig": batch.batch_config,
            "buildGroups": [_group_reply(group) for group in batch.groups.values()],
            "debugSessionEnabled": bool(batch.params.get("debugSessionEnabled")),
            "reportArns": [arn for build in batch.builds for arn in build.report_arns],
        }
        if batch.end_time is not None:
            reply["endTime"] = batch.end_time
        if config.source_version:
            reply["sourceVersion"] = config.source_version
        if batch.resolved_source_version:
            reply["resolvedSourceVersion"] = batch.resolved_source_version
        return reply


def _group_reply(group: BuildGroup) -> dict:
    reply: dict = {
        "identifier": group.task.identifier,
        "dependsOn": list(group.task.depend_on),
        "ignoreFailure": group.task.ignore_failure,
        "priorBuildSummaryList": [_summary(build) for build in group.prior],
    }
    if group.current is not None:
        reply["currentBuildSummary"] = _summary(group.current)
    return reply


def _summary(build: Build) -> dict:
    with build.lock:
        summary: dict = {
            "arn": build.arn,
            "requestedOn": build.start_time,
            "buildStatus": build.status,
            "secondaryArtifacts": [
                {
                    "type": "S3",
                    "location": extra.get("location", ""),
                    "identifier": extra.get("artifactIdentifier", ""),
                }
                for extra in build.secondary_artifact_locations
            ],
        }
        kind = build.config.artifacts.get("type", "NO_ARTIFACTS")
        if build.artifact_location:
            summary["primaryArtifact"] = {
                "type": "S3" if kind == "S3" else kind,
                "location": build.artifact_location.get("location", ""),
            }
        return summary
