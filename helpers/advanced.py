"""Lab 05 (CodePipeline beyond the basics): waiting for the moments the lab looks at.

A pipeline moves on by itself, so a notebook cell that wants to see "the execution waiting
at a disabled transition" or "the job of a custom action" has to wait for it. These helpers
poll with boto3 only (GetPipelineState, ListActionExecutions, ListPipelineExecutions,
PollForJobs...), so they work the same against the local AWS and a real account.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from . import polling
from .aws import Client
from .codepipeline import FINAL_STATUSES

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit


def _until(probe: Callable[[], object], timeout: float, poll_seconds: float, what: str):
    """Call probe() until it returns something truthy; return it. TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    pause = polling.pauses(poll_seconds)
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        time.sleep(next(pause))


def stage_state(client: Client, pipeline: str, stage: str) -> dict:
    """The stage's entry of GetPipelineState (stageStates[])."""
    for state in client.get_pipeline_state(name=pipeline)["stageStates"]:
        if state["stageName"] == stage:
            return state
    raise LookupError(f"Pipeline {pipeline} has no stage {stage}")


def wait_for_inbound(
    client: Client,
    pipeline: str,
    stage: str,
    execution_id: str | None = None,
    timeout: float = 120,
    poll_seconds: float = 0.5,
) -> dict:
    """Wait until an execution (execution_id, when given) waits in front of the stage, its
    inboundExecution in GetPipelineState; return the stage's state."""

    def probe():
        state = stage_state(client, pipeline, stage)
        inbound = state.get("inboundExecution") or {}
        if inbound and execution_id in (None, inbound.get("pipelineExecutionId")):
            return state
        return None

    return _until(
        probe, timeout, poll_seconds, f"No execution waits in front of stage {stage} of {pipeline}"
    )


def wait_for_status(
    client: Client,
    pipeline: str,
    execution_id: str,
    statuses: Collection[str] = FINAL_STATUSES,
    timeout: float = 120,
    poll_seconds: float = 0.5,
) -> dict:
    """Wait until the execution's status is one of statuses; return pipelineExecution."""

    def probe():
        execution = client.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        return execution if execution["status"] in statuses else None

    return _until(
        probe, timeout, poll_seconds, f"Execution {execution_id} is not {' or '.join(statuses)}"
    )


def action_runs(client: Client, pipeline: str, execution_id: str) -> list[dict]:
    """Every action execution of an execution (ListActionExecutions), oldest first."""
    details = []
    params = {"pipelineName": pipeline, "filter": {"pipelineExecutionId": execution_id}}
    while True:
        reply = client.list_action_executions(**params)
        details.extend(reply["actionExecutionDetails"])
        if not reply.get("nextToken"):
            break
        params["nextToken"] = reply["nextToken"]
    return sorted(details, key=lambda d: d["startTime"])


def show_runs(client: Client, pipeline: str, execution_id: str) -> None:
    """Print each action execution: stage/action, status, summary or error."""
    for detail in action_runs(client, pipeline, execution_id):
        result = (detail.get("output") or {}).get("executionResult") or {}
        note = (
            (result.get("errorDetails") or {}).get("message")
            or result.get("externalExecutionSummary")
            or ""
        )
        print(
            f"  {detail['stageName'] + '/' + detail['actionName']:<22} "
            f"{detail['status']:<10} {note[:70]}"
        )


def wait_for_action(
    client: Client,
    pipeline: str,
    stage: str,
    action: str,
    execution_id: str,
    timeout: float = 120,
    poll_seconds: float = 0.5,
) -> dict:
    """Wait until the action runs (InProgress) in the execution: then a custom or third-party
    action has a job queued. Returns its ActionExecutionDetail; RuntimeError if the
    execution ends first."""

    def probe():
        for detail in action_runs(client, pipeline, execution_id):
            if (detail["stageName"], detail["actionName"]) == (stage, action) and detail[
                "status"
            ] == "InProgress":
                return detail
        status = client.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id
        )["pipelineExecution"]["status"]
        if status in FINAL_STATUSES:
            raise RuntimeError(
                f"Execution {execution_id} ended ({status}) before {stage}/{action} ran"
            )
        return None

    return _until(probe, timeout, poll_seconds, f"{stage}/{action} is not running")


def poll_for_my_third_party_job(
    client: Client,
    action_type_id: dict,
    client_token: str,
    timeout: float = 60,
    poll_seconds: float = 0.5,
) -> dict:
    """PollForThirdPartyJobs until a job this client token opens; {"jobId", "clientId"}.

    A partner serves many connections (clientId) and opens each job with that connection's
    token. Here one token is ours: a job it cannot open is another connection's (another
    learner's, in a shared account) and goes back to the queue for them.
    """

    def probe():
        mine = None
        # A batch, not one job: another connection's job at the head of the queue would
        # otherwise come back first at every poll.
        for job in client.poll_for_third_party_jobs(actionTypeId=action_type_id, maxBatchSize=10)[
            "jobs"
        ]:
            try:
                client.get_third_party_job_details(jobId=job["jobId"], clientToken=client_token)
                mine = mine or job
            except client.exceptions.InvalidClientTokenException:
                continue  # refused, so back in the queue for its own partner
        return mine

    return _until(probe, timeout, poll_seconds, "No third-party job for this client token")


def execution_ids(client: Client, pipeline: str) -> set[str]:
    """The ids of the pipeline's executions (the latest 100)."""
    return {
        s["pipelineExecutionId"]
        for s in client.list_pipeline_executions(pipelineName=pipeline, maxResults=100)[
            "pipelineExecutionSummaries"
        ]
    }


def wait_for_trigger(
    client: Client,
    pipeline: str,
    trigger_type: str,
    known: set[str],
    timeout: float = 60,
    poll_seconds: float = 1.0,
) -> dict:
    """The summary of a new execution (not in known) started by trigger_type."""

    def probe():
        for summary in client.list_pipeline_executions(pipelineName=pipeline, maxResults=20)[
            "pipelineExecutionSummaries"
        ]:
            if (
                summary["pipelineExecutionId"] not in known
                and summary["trigger"]["triggerType"] == trigger_type
            ):
                return summary
        return None

    return _until(
        probe, timeout, poll_seconds, f"No new execution of {pipeline} with trigger {trigger_type}"
    )


def offline_only(kit: Kit, what: str) -> bool:
    """True offline. On a real account print why the part is skipped and return False."""
    if kit.offline:
        return True
    print(f"Skipped on a real account: {what}")
    return False
