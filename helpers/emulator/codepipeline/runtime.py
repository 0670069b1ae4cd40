"""The execution engine: pipeline executions as explicit state machines, advanced by
worker threads.

One thread per execution walks the stages in order. Before a stage it waits at the
stage's gate (enter_stage: the stage lock, the execution mode's rules, the inbound
transition); inside, action groups run by runOrder, the actions of a group in parallel
threads (run_action dispatches to the provider of the action type). Every state change
happens under the pipeline's condition variable and wakes whoever waits on it: gates,
approvals, stop requests, and settle() - which, in synchronous mode (tests), lets an API
call return once every execution has ended or waits for something only a later call can
give (an approval, a stage held by a parked execution).

Extension points for later work: StageGate (transitions, inbound executions), enter_stage
and run_stage (retrying a stage), action_types.runner_for (what runs an action type),
rules.evaluate (what evaluates a rule type).

LAB_CODEPIPELINE_TIMEOUT_SCALE (default 1) multiplies AWS's action timeouts (CodeBuild 8 h,
CodeDeploy 5 days, approval 7 days, others 1 h), so a test can see an approval time out.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, overload

from .. import changes, events, workers
from ..core import now
from . import action_types, artifacts, rules
from .providers.base import ActionContext, ActionFailed, Revision
from .variables import UnresolvedVariable, resolve_action_members, resolve_configuration

if TYPE_CHECKING:
    from .models import Pipeline

log = logging.getLogger("helpers.emulator.codepipeline")

# "Cancelled" is in the API model's enum, but pipelines-edit.md says an update fails the
# executions it interrupts; the engine never ends one Cancelled (kept for readers of FINAL).
FINAL = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
UPDATED_SUMMARY = "The pipeline was updated before this execution could finish"
SETTLE_TIMEOUT = 600.0
T = TypeVar("T")


def timeout_scale() -> float:
    return float(os.environ.get("LAB_CODEPIPELINE_TIMEOUT_SCALE", "1") or 1)


class ActionInterrupted(Exception):
    """The action was abandoned (stop with abandon) while it waited."""


@dataclass
class Approval:
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    result: tuple[str, str] | None = None  # (Approved|Rejected, summary)
    approved_at: dt.datetime | None = None
    by: str | None = None


@dataclass
class StageGate:
    """Who holds a stage and who waits in front of it; the inbound transition's state."""

    holder: Execution | None = None
    waiting: list = field(default_factory=list)
    enabled: bool = True
    disabled_reason: str | None = None
    changed_by: str | None = None
    changed_at: dt.datetime | None = None


class RuleRun:
    """One evaluation of one rule of a stage condition (ListRuleExecutions)."""

    def __init__(self, execution: Execution, stage: str, rule: dict) -> None:
        self.id = str(uuid.uuid4())
        self.execution = execution
        self.stage = stage
        self.declaration = rule
        self.name = rule["name"]
        self.status = "InProgress"
        self.start = self.last_update = now()
        self.summary: str | None = None
        self.error: dict | None = None
        self.resolved_configuration: dict = {}


@dataclass
class ConditionRun:
    """The latest evaluation of a stage's beforeEntry/onSuccess/onFailure conditions."""

    kind: str  # beforeEntry, onSuccess, onFailure
    status: str = "InProgress"  # ConditionExecutionStatus
    summary: str | None = None
    overridden: bool = False
    changed: dt.datetime = field(default_factory=now)
    results: list = field(default_factory=list)  # per condition: (status, [RuleRun])


class ActionRun:
    def __init__(self, execution: Execution, stage: str, action: dict) -> None:
        self.id = str(uuid.uuid4())
        self.execution = execution
        self.stage = stage
        self.declaration = action
        self.name = action["name"]
        self.status = "InProgress"
        self.start = self.last_update = now()
        self.summary: str | None = None
        self.external_id: str | None = None
        self.external_url: str | None = None
        self.log_stream_arn: str | None = None  # compute actions' log (Commands)
        self.error: dict | None = None
        self.percent: int | None = None
        self.updated_by: str | None = None
        self.approval: Approval | None = None
        self.resolved_configuration: dict | None = None
        self.inputs: dict[str, artifacts.Location] = {}
        self.outputs: dict[str, artifacts.Location] = {}
        self.output_variables: dict[str, str] = {}
        self.revision: Revision | None = None  # for source actions

    @property
    def final(self) -> bool:
        return self.status != "InProgress"


class Execution:
    def __init__(
        self,
        pipeline: Pipeline,
        trigger: dict,
        variables: dict[str, str],
        source_revisions: dict[str, str],
    ) -> None:
        self.id = str(uuid.uuid4())
        self.pipeline = pipeline
        self.declaration = pipeline.declaration  # the definition it started with
        self.version = pipeline.version
        self.mode = self.declaration["executionMode"]
        self.trigger = trigger
        self.variables = variables
        self.source_revisions = source_revisions  # source action name -> revision
        self.status = "InProgress"
        self.status_summary: str | None = None
        self.start = self.last_update = now()
        self.stop_requested = False
        self.abandon = False
        self.stop_reason: str | None = None
        self.updated_under = False  # UpdatePipeline: finish what runs, then fail
        self.stage_status: dict[str, str] = {}
        self.current_stage: str | None = None
        self.waiting_for: str | None = None  # the stage whose gate it waits at
        self.actions: list[ActionRun] = []
        self.artifacts: dict[str, artifacts.Location] = {}
        self.artifact_revisions: dict[str, str | None] = {}  # artifact -> source revision
        self.namespaces: dict[str, dict[str, str]] = {
            "codepipeline": {"PipelineExecutionId": self.id}
        }
        if variables:
            self.namespaces["variables"] = dict(variables)
        self.execution_type = "STANDARD"  # ROLLBACK: runs one stage on an older one's inputs
        self.rollback_target: str | None = None
        self.only_stage: str | None = None
        self.retries: dict[str, dict] = {}  # stage -> {"auto": n, "manual": n, "latest": ...}
        self.conditions: dict[tuple[str, str], ConditionRun] = {}  # (stage, kind) -> latest
        self.rule_runs: list[RuleRun] = []
        # For settle(): threads of this execution doing work, and what the idle ones wait for.
        self.working = 0
        self.waits: list[Callable[[], bool]] = []

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def touch(self) -> None:
        self.last_update = now()


# -- starting and settling ----------------------------------------------------------


def start(execution: Execution) -> None:
    """Run an execution in its own thread (always: approvals and locks must wait without
    holding the API call). In synchronous mode the request that started it settles it
    (core.install_handlers' settle, settles() below), not the runtime."""
    events.codepipeline_execution_state(execution)  # STARTED
    _spawn(execution, f"codepipeline-{execution.id}", lambda: run_execution(execution))


def settle(pipeline: Pipeline, timeout: float = SETTLE_TIMEOUT) -> bool:
    """Wait until every execution has ended or waits for something outside the engine."""

    def quiet() -> bool:
        return all(
            e.final or (e.working == 0 and not any(wait() for wait in e.waits))
            for e in list(pipeline.executions.values())
        )

    with pipeline.cond:
        return pipeline.cond.wait_for(quiet, timeout)


def settle_unfinished(pipelines: Iterable[Pipeline]) -> None:
    """Settle each of these pipelines that has an execution not yet ended."""
    for pipeline in list(pipelines):
        with pipeline.cond:
            busy = any(not e.final for e in pipeline.executions.values())
        if busy:
            settle(pipeline)


def settles(entry: Callable[..., T]) -> Callable[..., T]:
    """For the entry points that are not API requests of CodePipeline (a POST to a webhook,
    a push to a watched branch; both take account and region first): in synchronous mode
    they too return once that backend's pipelines have settled, as core.install_handlers
    makes every API request do."""

    @functools.wraps(entry)
    def settled(account: str, region: str, *args, **kwargs) -> T:
        result = entry(account, region, *args, **kwargs)
        if workers.synchronous():
            from .models import codepipeline_lab_backends

            if (
                account in codepipeline_lab_backends
                and region in codepipeline_lab_backends[account]
            ):
                settle_unfinished(codepipeline_lab_backends[account][region].pipelines.values())
        return result

    return settled


def _spawn(execution: Execution, name: str, work: Callable[[], None]) -> None:
    cond = execution.pipeline.cond

    def guarded() -> None:
        try:
            work()
        except Exception:  # a bug in the kit must end the execution, not hang it
            log.exception("%s failed", name)
            with cond:
                if not execution.final:
                    _finish(
                        execution,
                        "Failed",
                        "The lab kit failed while running this execution; see the server log",
                    )
        finally:
            with cond:
                execution.working -= 1
                cond.notify_all()

    with cond:
        execution.working += 1  # counted before the thread runs, so settle() cannot miss it
    threading.Thread(target=guarded, name=name, daemon=True).start()


def _wait(
    execution: Execution, predicate: Callable[[], bool], timeout: float | None = None
) -> bool:
    """Wait on the pipeline's condition (held by the caller) as an idle thread."""
    cond = execution.pipeline.cond
    execution.working -= 1
    execution.waits.append(predicate)
    cond.notify_all()
    changes.changed()  # at a gate, an approval or a job: what a lab's poller may wait for
    try:
        return cond.wait_for(predicate, timeout)
    finally:
        execution.waits.remove(predicate)
        execution.working += 1


def _finish(execution: Execution, status: str, summary: str | None = None) -> None:
    """End an execution (caller holds the condition) and free what it holds."""
    execution.status = status
    if summary:
        execution.status_summary = summary
    execution.touch()
    pipeline = execution.pipeline
    for gate in pipeline.gates.values():
        if gate.holder is execution:
            gate.holder = None
        if execution in gate.waiting:
            gate.waiting.remove(execution)
    execution.waiting_for = None
    events.codepipeline_execution_state(execution)
    pipeline.cond.notify_all()


# -- the execution's walk through the stages ----------------------------------------


def run_execution(
    execution: Execution, start_index: int = 0, retry_mode: str | None = None
) -> None:
    """Walk the stages from start_index. With retry_mode, the first one is a retried stage
    the execution already holds (RetryStageExecution)."""
    stages = execution.declaration["stages"]
    for index in range(start_index, len(stages)):
        stage = stages[index]
        if execution.only_stage and stage["name"] != execution.only_stage:
            continue
        resuming = retry_mode is not None and index == start_index
        if not resuming:
            if not enter_stage(execution, stage["name"]):
                return
            verdict = run_conditions(execution, stage, "beforeEntry")
            if verdict == "SKIP":
                _end_stage(execution, stage["name"], False, skipped=True)
                continue
            if verdict is not None:  # FAIL (entry conditions cannot retry or roll back)
                _end_stage(execution, stage["name"], True)
                return
        run_stage(execution, stage, retry_mode if resuming else None)
        with execution.pipeline.cond:
            if execution.final:
                return
        workers.pace()
    with execution.pipeline.cond:
        if not execution.final:
            _finish(execution, "Succeeded")


def enter_stage(execution: Execution, stage_name: str) -> bool:
    """Wait at the stage's gate; False if the execution ended there (superseded, stopped,
    failed by an update of the pipeline)."""
    pipeline = execution.pipeline
    with pipeline.cond:
        if execution.final:
            return False
        gate = pipeline.gate(stage_name)
        execution.waiting_for = stage_name
        gate.waiting.append(execution)
        if execution.mode == "SUPERSEDED":
            # A newer execution replaces an older one waiting at the same gate.
            for other in list(gate.waiting):
                if other is not execution and not other.final:
                    older, newer = sorted((other, execution), key=lambda e: e.start)
                    _finish(older, "Superseded", f"Superseded by execution {newer.id}")
        pipeline.cond.notify_all()

        def may_enter() -> bool:
            return (
                execution.final
                or execution.stop_requested
                or execution.updated_under
                or can_enter(execution, gate)
            )

        _wait(execution, may_enter)
        if execution in gate.waiting:
            gate.waiting.remove(execution)
        execution.waiting_for = None
        if execution.final:
            return False
        if execution.stop_requested:
            _finish(execution, "Stopped", execution.stop_reason)
            return False
        if execution.updated_under:
            _finish(execution, "Failed", UPDATED_SUMMARY)
            return False
        if execution.mode != "PARALLEL":
            gate.holder = execution
        execution.current_stage = stage_name
        execution.stage_status[stage_name] = "InProgress"
        events.codepipeline_stage_state(execution, stage_name)
        pipeline.stage_latest[stage_name] = execution
        execution.touch()
        pipeline.cond.notify_all()
        return True


def can_enter(execution: Execution, gate: StageGate) -> bool:
    if not gate.enabled:
        return False
    if execution.mode == "PARALLEL":
        return True
    if gate.holder is not None:
        return False
    if execution.mode == "QUEUED":
        return bool(gate.waiting) and gate.waiting[0] is execution
    return True


MAX_AUTOMATED_RETRIES = 1  # onFailure RETRY: the kit retries a failed stage once


def run_stage(execution: Execution, stage: dict, retry_mode: str | None = None) -> None:
    """Run the stage (again, for a retry); apply its onSuccess/onFailure conditions; record
    the stage's result."""
    name = stage["name"]
    rollback = False
    while True:
        failed = _run_groups(execution, stage, retry_mode)
        if _interrupted(execution):
            break
        if failed and stage.get("onFailure"):
            result = run_conditions(execution, stage, "onFailure")
            retries = execution.retries.setdefault(name, {"auto": 0, "manual": 0})
            if result == "RETRY" and retries["auto"] < MAX_AUTOMATED_RETRIES:
                with execution.pipeline.cond:
                    retries["auto"] += 1
                    retries["latest"] = "AutomatedStageRetry"
                retry_mode = (stage["onFailure"].get("retryConfiguration") or {}).get(
                    "retryMode", "FAILED_ACTIONS"
                )
                continue
            if result == "SKIP":
                _end_stage(execution, name, False, skipped=True)
                return
            rollback = result == "ROLLBACK"
        elif not failed and stage.get("onSuccess"):
            result = run_conditions(execution, stage, "onSuccess")
            if result is not None:
                failed, rollback = True, result == "ROLLBACK"
        break
    _end_stage(execution, name, failed)
    if rollback:
        start_rollback(
            execution.pipeline,
            name,
            None,
            {"triggerType": "AutomatedRollback", "triggerDetail": execution.id},
        )


def _interrupted(execution: Execution) -> bool:
    with execution.pipeline.cond:
        return execution.final or execution.stop_requested or execution.updated_under


def _previous_runs(execution: Execution, stage: str) -> dict[str, ActionRun]:
    runs: dict[str, ActionRun] = {}
    for run in execution.actions:
        if run.stage == stage:
            runs[run.name] = run  # the latest run of each action wins
    return runs


def _all_final(runs: list[ActionRun]) -> bool:
    return all(run.final for run in runs)


def _run_groups(execution: Execution, stage: dict, retry_mode: str | None) -> bool:
    """Run the stage's action groups by runOrder; True if an action failed. A retry of
    FAILED_ACTIONS runs only the actions that did not succeed (and the groups after)."""
    pipeline = execution.pipeline
    name = stage["name"]
    failed = False
    with pipeline.cond:
        previous = _previous_runs(execution, name) if retry_mode == "FAILED_ACTIONS" else {}
    for run_order in sorted({a["runOrder"] for a in stage["actions"]}):
        with pipeline.cond:
            if execution.final or execution.stop_requested or execution.updated_under:
                break
            runs = [
                ActionRun(execution, name, a)
                for a in stage["actions"]
                if a["runOrder"] == run_order
                and not (a["name"] in previous and previous[a["name"]].status == "Succeeded")
            ]
            if not runs:
                continue
            for run in runs:
                execution.actions.append(run)
                pipeline.action_latest[(name, run.name)] = run
            pipeline.cond.notify_all()
        if len(runs) == 1:
            run_action(runs[0])
        else:
            for run in runs:
                _spawn(
                    execution, f"codepipeline-action-{run.id}", functools.partial(run_action, run)
                )
        with pipeline.cond:
            _wait(execution, functools.partial(_all_final, runs))
            failed = any(run.status == "Failed" for run in runs)
        if failed:
            break
        workers.pace()
    return failed


def _end_stage(execution: Execution, name: str, failed: bool, skipped: bool = False) -> None:
    pipeline = execution.pipeline
    with pipeline.cond:
        gate = pipeline.gate(name)
        if gate.holder is execution:
            gate.holder = None  # failing, stopping or finishing the stage releases its lock
        execution.current_stage = None
        if execution.final:  # stopped and abandoned meanwhile: stop() recorded the stage
            pipeline.cond.notify_all()
            return
        if skipped:
            execution.stage_status[name] = "Skipped"
            execution.touch()
        elif failed:
            execution.stage_status[name] = "Failed"
            _finish(execution, "Failed")
        elif execution.stop_requested:
            execution.stage_status[name] = "Stopped"
            _finish(execution, "Stopped", execution.stop_reason)
        elif execution.updated_under:
            # pipelines-edit.md: running actions complete, then the stage and the
            # execution fail
            execution.stage_status[name] = "Failed"
            _finish(execution, "Failed", UPDATED_SUMMARY)
        else:
            execution.stage_status[name] = "Succeeded"
            execution.touch()
        events.codepipeline_stage_state(execution, name)
        pipeline.cond.notify_all()


# -- one action -----------------------------------------------------------------------


def run_action(run: ActionRun) -> None:
    execution = run.execution
    pipeline = execution.pipeline
    declaration = run.declaration
    type_id = declaration["actionTypeId"]
    workspace = pipeline.workspace / run.id
    try:
        with pipeline.cond:
            run.resolved_configuration = resolve_configuration(
                declaration.get("configuration") or {}, execution.namespaces
            )
            run.inputs = {
                a["name"]: execution.artifacts[a["name"]]
                for a in declaration.get("inputArtifacts") or []
            }
            run.outputs = {
                a["name"]: artifacts.new_location(
                    pipeline.artifact_bucket(declaration), pipeline.name, a["name"]
                )
                for a in declaration.get("outputArtifacts") or []
            }
            input_revisions = {name: execution.artifact_revisions.get(name) for name in run.inputs}
            resolved_action = resolve_action_members(declaration, execution.namespaces)
        events.codepipeline_action_state(run)  # STARTED, with its artifacts
        ctx = ActionContext(
            account=pipeline.account,
            region=declaration.get("region") or pipeline.region,
            pipeline_name=pipeline.name,
            execution_id=execution.id,
            stage_name=run.stage,
            action_name=run.name,
            action_type_id=type_id,
            configuration=run.resolved_configuration,
            inputs=run.inputs,
            outputs=run.outputs,
            input_revisions=input_revisions,
            timeout=_timeout(declaration, pipeline),
            workspace=workspace,
            source_revision=execution.source_revisions.get(run.name),
            action_execution_id=run.id,
            pipeline_arn=pipeline.arn,
            role_arn=declaration.get("roleArn") or execution.declaration["roleArn"],
            encryption_key=_encryption_key(pipeline, declaration),
            condition=pipeline.cond,
            declaration=resolved_action,
        )
        ctx.report = lambda **values: _report(run, **values)
        ctx.wait_until = lambda predicate, timeout: _wait_in_action(run, predicate, timeout)
        ctx.open_approval = lambda: _open_approval(run)
        workers.pace()  # lab.pace: the action shows InProgress for a step
        action_types.runner_for(type_id, pipeline.account, pipeline.region).run(ctx)
        _complete(run, ctx)
    except ActionFailed as failure:
        _fail(run, failure.code, failure.message)
    except UnresolvedVariable as error:
        _fail(run, "ConfigurationError", str(error))
    except ActionInterrupted:
        pass
    except Exception as error:  # a kit bug: fail the action with a clear message
        log.exception("action %s of %s failed inside the kit", run.name, pipeline.name)
        _fail(run, "JobFailed", f"The lab kit failed while running this action: {error!r}")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _timeout(declaration: dict, pipeline: Pipeline) -> float:
    """Seconds: the action's timeoutInMinutes, else its type's (a job worker's type: per job,
    executor.jobTimeout if set), scaled by LAB_CODEPIPELINE_TIMEOUT_SCALE."""
    minutes = declaration.get("timeoutInMinutes")
    if not minutes:
        action_type = action_types.find_id(
            declaration["actionTypeId"], pipeline.account, pipeline.region, include_deleted=True
        )
        if action_type is not None and action_type.job_timeout:
            minutes = action_type.job_timeout / 60
        elif action_type is not None:
            minutes = action_type.timeout_minutes
        else:
            minutes = 60
    return minutes * 60 * timeout_scale()


def _encryption_key(pipeline: Pipeline, declaration: dict) -> dict | None:
    stores = pipeline.declaration.get("artifactStores")
    if stores:
        store = stores.get(declaration.get("region") or pipeline.region) or {}
    else:
        store = pipeline.declaration.get("artifactStore") or {}
    return store.get("encryptionKey")


def _report(
    run: ActionRun,
    external_id: str | None = None,
    url: str | None = None,
    summary: str | None = None,
    percent: int | None = None,
    log_stream_arn: str | None = None,
) -> None:
    with run.execution.pipeline.cond:
        if run.final:
            return
        if log_stream_arn is not None:
            run.log_stream_arn = log_stream_arn
        if external_id is not None:
            run.external_id = external_id
        if url is not None:
            run.external_url = url
        if summary is not None:
            run.summary = summary[:2048]
        if percent is not None:
            run.percent = percent
        run.last_update = now()
        run.execution.pipeline.cond.notify_all()


def _wait_in_action(run: ActionRun, predicate: Callable[[], bool], timeout: float) -> bool:
    """For providers waiting on the outside (approvals). True if predicate came true."""
    execution = run.execution
    with execution.pipeline.cond:
        # An update of the pipeline lets a waiting action complete too (pipelines-edit.md:
        # "gracefully completes all the running actions"); only an abandon ends it here.
        _wait(execution, lambda: predicate() or run.final, timeout)
        if predicate():
            return True
        if run.final:
            raise ActionInterrupted()
        return False


def _open_approval(run: ActionRun) -> Approval:
    with run.execution.pipeline.cond:
        run.approval = Approval()
        run.last_update = now()
        run.execution.pipeline.cond.notify_all()
        return run.approval


def _complete(run: ActionRun, ctx: ActionContext) -> None:
    execution = run.execution
    with execution.pipeline.cond:
        if run.final:  # abandoned meanwhile: its result no longer counts
            return
        run.output_variables = dict(ctx.output_variables)
        run.revision = ctx.revision
        for name, location in run.outputs.items():
            execution.artifacts[name] = location
            if ctx.revision is not None:
                execution.artifact_revisions[name] = ctx.revision.revision_id
            else:  # a build's output carries the revision its primary input came from
                execution.artifact_revisions[name] = next(iter(ctx.input_revisions.values()), None)
        namespace = run.declaration.get("namespace")
        if namespace:
            execution.namespaces[namespace] = dict(run.output_variables)
        run.status, run.last_update = "Succeeded", now()
        events.codepipeline_action_state(run)
        execution.touch()
        execution.pipeline.cond.notify_all()


def _fail(run: ActionRun, code: str, message: str) -> None:
    with run.execution.pipeline.cond:
        if run.final:
            return
        run.status, run.last_update = "Failed", now()
        run.error = {"code": code, "message": message[:5000]}
        events.codepipeline_action_state(run)
        run.execution.touch()
        run.execution.pipeline.cond.notify_all()


# -- outside events: stop, pipeline update ------------------------------------------------


def stop(execution: Execution, abandon: bool, reason: str | None) -> None:
    """StopPipelineExecution (the caller checked it is allowed; holds the condition)."""
    execution.stop_requested = True
    execution.stop_reason = reason or execution.stop_reason  # an abandon keeps the first reason
    if execution.current_stage is None:
        _finish(execution, "Stopped", reason)  # waiting between stages: nothing runs
        return
    if not abandon:
        execution.status = "Stopping"
        execution.stage_status[execution.current_stage] = "Stopping"
        events.codepipeline_execution_state(execution)
        execution.touch()
        execution.pipeline.cond.notify_all()
        return
    execution.abandon = True
    for run in execution.actions:
        if not run.final:
            run.status, run.last_update = "Abandoned", now()
    execution.stage_status[execution.current_stage] = "Stopped"
    _finish(execution, "Stopped", reason)


def fail_for_update(execution: Execution) -> None:
    """UpdatePipeline (pipelines-edit.md): "CodePipeline gracefully completes all the running
    actions and then fails the stages and pipeline executions where the running actions
    were completed". Actions later in the stage and later stages do not run; an execution
    between stages (nothing running) fails at once."""
    execution.updated_under = True
    if execution.current_stage is None:
        _finish(execution, "Failed", UPDATED_SUMMARY)
    execution.pipeline.cond.notify_all()


# -- V2 stage conditions ------------------------------------------------------------------


def run_conditions(execution: Execution, stage: dict, kind: str) -> str | None:
    """Evaluate the stage's beforeEntry/onSuccess/onFailure conditions.

    Returns None when the stage goes on as usual, else the result to apply (FAIL, SKIP,
    RETRY, ROLLBACK). beforeEntry and onSuccess: a condition whose rules fail applies its
    result (FAIL by default). onFailure: its result applies when its conditions' rules
    pass (or it has none); otherwise the stage just fails.
    """
    declared = stage.get(kind)
    if not declared or execution.declaration.get("pipelineType") != "V2":
        return None
    pipeline = execution.pipeline
    record = ConditionRun(kind)
    with pipeline.cond:
        execution.conditions[(stage["name"], kind)] = record
        pipeline.cond.notify_all()
    outcome: str | None = None
    failed_any = False
    for condition in declared.get("conditions") or []:
        runs = [
            _run_rule(execution, stage["name"], rule, record)
            for rule in condition.get("rules") or []
        ]
        with pipeline.cond:
            ok = record.overridden or all(run.status == "Succeeded" for run in runs)
            record.results.append(("Succeeded" if ok else "Failed", runs))
        if not ok:
            failed_any = True
            if kind != "onFailure" and outcome is None:
                outcome = condition.get("result") or "FAIL"
    with pipeline.cond:
        if record.overridden:
            record.status, outcome = "Overridden", None
        else:
            record.status = "Failed" if failed_any else "Succeeded"
        record.changed = now()
        record.summary = {
            "Overridden": "Overridden by OverrideStageCondition",
            "Failed": "A rule of the condition failed",
            "Succeeded": "All rules succeeded",
        }[record.status]
        pipeline.cond.notify_all()
    if kind == "onFailure":
        return "FAIL" if failed_any else declared.get("result", "FAIL")
    return outcome


def _run_rule(execution: Execution, stage: str, rule: dict, record: ConditionRun) -> RuleRun:
    pipeline = execution.pipeline
    run = RuleRun(execution, stage, rule)
    with pipeline.cond:
        execution.rule_runs.append(run)
        pipeline.cond.notify_all()
    status, summary, error = "Succeeded", None, None
    try:
        with pipeline.cond:
            configuration = resolve_configuration(
                rule.get("configuration") or {}, execution.namespaces
            )
            run.resolved_configuration = configuration
        summary = rules.evaluate(
            rule["ruleTypeId"],
            rules.RuleContext(
                account=pipeline.account,
                region=rule.get("region") or pipeline.region,
                configuration=configuration,
                watch=lambda minutes: _watch(execution, record, minutes),
            ),
        )
    except rules.RuleFailed as failure:
        status, error = "Failed", {"code": failure.code, "message": failure.message}
        summary = failure.message
    except UnresolvedVariable as failure:
        status, error = "Failed", {"code": "ConfigurationError", "message": str(failure)}
    with pipeline.cond:
        run.status, run.summary, run.error, run.last_update = status, summary, error, now()
        pipeline.cond.notify_all()
    return run


def _watch(execution: Execution, record: ConditionRun, minutes: float) -> None:
    """Wait minutes (scaled), as a rule watching something does; an override, a stop or the
    end of the execution ends the wait early."""
    seconds = minutes * 60 * timeout_scale()
    if seconds > 0:
        with execution.pipeline.cond:
            _wait(
                execution,
                lambda: record.overridden or execution.final or execution.stop_requested,
                seconds,
            )


# -- retry and rollback ----------------------------------------------------------------------


def resume_stage(execution: Execution, stage_name: str, retry_mode: str) -> None:
    """RetryStageExecution (checked by the caller, who holds the condition): the execution
    goes back InProgress, re-enters the stage it failed in and continues from there."""
    pipeline = execution.pipeline
    index = [s["name"] for s in execution.declaration["stages"]].index(stage_name)
    execution.status, execution.status_summary = "InProgress", None
    execution.stop_requested = execution.abandon = False
    execution.stop_reason = None
    execution.stage_status[stage_name] = "InProgress"
    execution.current_stage = stage_name
    if execution.mode != "PARALLEL":
        pipeline.gate(stage_name).holder = execution
    pipeline.stage_latest[stage_name] = execution
    retries = execution.retries.setdefault(stage_name, {"auto": 0, "manual": 0})
    retries["manual"] += 1
    retries["latest"] = "ManualStageRetry"
    execution.touch()
    _spawn(
        execution,
        f"codepipeline-retry-{execution.id}",
        lambda: run_execution(execution, index, retry_mode),
    )


@overload
def start_rollback(
    pipeline: Pipeline, stage_name: str, target: Execution, trigger: dict
) -> Execution: ...
@overload
def start_rollback(
    pipeline: Pipeline, stage_name: str, target: None, trigger: dict
) -> Execution | None: ...
def start_rollback(
    pipeline: Pipeline, stage_name: str, target: Execution | None, trigger: dict
) -> Execution | None:
    """A ROLLBACK execution: runs only stage_name, with the artifacts and variables of target
    (for an automated rollback: the latest execution that succeeded in the stage)."""
    with pipeline.cond:
        if target is None:
            target = next(
                (
                    e
                    for e in reversed(pipeline.executions.values())
                    if e.stage_status.get(stage_name) == "Succeeded"
                    and e.version == pipeline.version
                ),
                None,
            )
            if target is None:
                return None  # nothing to roll back to
        rollback = Execution(pipeline, trigger, dict(target.variables), {})
        rollback.execution_type = "ROLLBACK"
        rollback.rollback_target = (
            target.execution_type == "ROLLBACK" and target.rollback_target or target.id
        )
        rollback.only_stage = stage_name
        rollback.artifacts = dict(target.artifacts)
        rollback.artifact_revisions = dict(target.artifact_revisions)
        rollback.namespaces = {k: dict(v) for k, v in target.namespaces.items()}
        rollback.namespaces["codepipeline"] = {"PipelineExecutionId": rollback.id}
        pipeline.executions[rollback.id] = rollback
    start(rollback)
    return rollback
