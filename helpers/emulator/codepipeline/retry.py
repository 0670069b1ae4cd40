"""Going back over a stage: RetryStageExecution, RollbackStage, OverrideStageCondition - the
rules AWS checks before it lets them happen. The engine does the running (runtime.py:
resume_stage, start_rollback, run_conditions).

Retry: only a Failed (or Stopped) stage of the execution that last ran it, with the pipeline
definition it ran with (else StageNotRetryableException / NotLatestPipelineExecution-
Exception); a stage another execution holds is a ConflictException. FAILED_ACTIONS runs the
actions that did not succeed, ALL_ACTIONS all of them; the execution keeps its id, goes back
InProgress and carries on with the later stages.

Rollback (V2): a new execution (executionType ROLLBACK, trigger ManualRollback) runs the
stage again with the artifacts and variables of an earlier execution that succeeded in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import exceptions as err
from . import runtime

if TYPE_CHECKING:
    from .models import CodePipelineLabBackend


def _stage(pipeline, name: str) -> int:
    names = [s["name"] for s in pipeline.declaration["stages"]]
    if name not in names:
        raise err.StageNotFoundException(f"Stage {name} does not exist in pipeline {pipeline.name}")
    return names.index(name)


def retry_stage_execution(
    backend: CodePipelineLabBackend, name: str, stage: str, execution_id: str, mode: str
) -> runtime.Execution:
    pipeline = backend.get_pipeline(name)
    _stage(pipeline, stage)
    if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
        raise err.ValidationException("retryMode must be FAILED_ACTIONS or ALL_ACTIONS")
    with pipeline.cond:
        execution = backend.get_execution(pipeline, execution_id)
        if execution.version != pipeline.version:
            raise err.StageNotRetryableException(
                f"The pipeline structure changed after execution {execution_id} ran; it "
                "cannot be retried"
            )
        if pipeline.stage_latest.get(stage) is not execution:
            raise err.NotLatestPipelineExecutionException(
                f"Stage {stage} ran in a later execution; execution {execution_id} is out of date"
            )
        if execution.status not in ("Failed", "Stopped") or execution.stage_status.get(
            stage
        ) not in ("Failed", "Stopped"):
            raise err.StageNotRetryableException(
                f"Stage {stage} of execution {execution_id} is "
                f"{execution.stage_status.get(stage, 'not run')}; only a failed or stopped "
                "stage can be retried"
            )
        runs = [r for r in execution.actions if r.stage == stage]
        latest = {r.name: r for r in runs}
        if mode == "FAILED_ACTIONS" and all(r.status == "Succeeded" for r in latest.values()):
            raise err.StageNotRetryableException(
                f"Stage {stage} contains no failed actions to retry"
            )
        gate = pipeline.gate(stage)
        if execution.mode != "PARALLEL" and gate.holder not in (None, execution):
            raise err.ConflictException(
                f"Stage {stage} is busy with execution {gate.holder.id}; try again later"
            )
        runtime.resume_stage(execution, stage, mode)
    return execution


def rollback_stage(
    backend: CodePipelineLabBackend, name: str, stage: str, target_id: str
) -> runtime.Execution:
    pipeline = backend.get_pipeline(name)
    index = _stage(pipeline, stage)
    if pipeline.declaration["pipelineType"] != "V2":
        raise err.ValidationException("Stage rollback is only available for V2 pipelines")
    with pipeline.cond:
        target = backend.get_execution(pipeline, target_id)
        if index == 0:
            raise err.UnableToRollbackStageException(
                f"Stage {stage} is the source stage; it cannot be rolled back"
            )
        if target.stage_status.get(stage) != "Succeeded":
            raise err.UnableToRollbackStageException(
                f"Execution {target_id} did not succeed in stage {stage}; roll back to one that did"
            )
        if target.version != pipeline.version:
            raise err.PipelineExecutionOutdatedException(
                f"Execution {target_id} ran pipeline version {target.version}; the pipeline "
                f"is now version {pipeline.version}"
            )
        latest = pipeline.stage_latest.get(stage)
        if latest is target:
            raise err.UnableToRollbackStageException(
                f"Execution {target_id} is already the latest one in stage {stage}"
            )
        if pipeline.gate(stage).holder is not None or (
            latest is not None and latest.stage_status.get(stage) in ("InProgress", "Stopping")
        ):
            raise err.ConflictException(f"Stage {stage} is running; try again when it ends")
    return runtime.start_rollback(
        pipeline, stage, target, {"triggerType": "ManualRollback", "triggerDetail": backend.caller}
    )


KINDS = {"BEFORE_ENTRY": "beforeEntry", "ON_SUCCESS": "onSuccess"}


def override_stage_condition(
    backend: CodePipelineLabBackend, name: str, stage: str, execution_id: str, condition_type: str
) -> None:
    pipeline = backend.get_pipeline(name)
    _stage(pipeline, stage)
    kind = KINDS.get(condition_type)
    if kind is None:
        raise err.ValidationException("conditionType must be BEFORE_ENTRY or ON_SUCCESS")
    with pipeline.cond:
        execution = backend.get_execution(pipeline, execution_id)
        record = execution.conditions.get((stage, kind))
        newest = max(
            (e for e in pipeline.executions.values() if (stage, kind) in e.conditions),
            key=lambda e: e.conditions[(stage, kind)].changed,
            default=None,
        )
        if record is not None and newest is not None and newest is not execution:
            raise err.NotLatestPipelineExecutionException(
                f"Execution {execution_id} is not the latest to evaluate the {condition_type} "
                f"condition of stage {stage}"
            )
        if record is None or record.status != "InProgress":
            raise err.ConditionNotOverridableException(
                f"The {condition_type} condition of stage {stage} is not being evaluated for "
                f"execution {execution_id}; only a condition in progress can be overridden"
            )
        record.overridden = True
        pipeline.cond.notify_all()
