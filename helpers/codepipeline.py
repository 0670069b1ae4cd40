"""Following and operating a pipeline from a notebook (labs 04 to 06, alias cp_helpers).

Waiting for an execution, approving, a snapshot of the pipeline (lab 04); waiting for the
moments labs 05 and 06 look at: an execution at a disabled transition (wait_for_inbound), a
status (wait_for_status), an action running (wait_for_action), the action executions of a
run (action_runs, show_runs), a third-party job (poll_for_my_third_party_job), an execution
with a given trigger (wait_for_trigger). A pipeline moves on by itself, so a cell that wants
to see one of those moments has to wait for it.

Only boto3 calls (GetPipelineExecution, ListActionExecutions, GetPipelineState,
PutApprovalResult, ListPipelineExecutions, PollForThirdPartyJobs...), so these work the
same against the local AWS and a real account. wait_for_execution prints plain text, one
line per stage or action status change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from . import polling
from .aws import Client

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

FINAL_STATUSES = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")


def wait_for_execution(
    client: Client,
    pipeline_name: str,
    execution_id: str,
    timeout: float = 1800,
    show: bool = True,
    poll_seconds: float = 1.0,
) -> dict:
    """Poll until the execution ends; print stage and action progress as it changes.

    Returns the final pipelineExecution. Raises TimeoutError if it has not ended within
    timeout seconds. An execution waiting for a manual approval has not ended: approve it
    (approve()) from another cell, or give a shorter timeout.
    """
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    last_status = None
    pause = polling.Pauses(poll_seconds)
    while True:
        execution = client.get_pipeline_execution(
            pipelineName=pipeline_name, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        if show:
            if execution["status"] != last_status:
                print(f"Execution {execution_id}: {execution['status']}")
                last_status = execution["status"]
            _show_actions(client, pipeline_name, execution_id, seen)
        if execution["status"] in FINAL_STATUSES:
            if show and execution.get("statusSummary"):
                print(f"  {execution['statusSummary']}")
            return execution
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Execution {execution_id} of {pipeline_name} is still "
                f"{execution['status']} after {timeout:.0f} s"
            )
        pause.sleep()


def _show_actions(client, pipeline_name: str, execution_id: str, seen: dict[str, str]) -> None:
    details = client.list_action_executions(
        pipelineName=pipeline_name, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    for detail in sorted(details, key=lambda d: d["startTime"]):
        key = f"{detail['stageName']}/{detail['actionName']}"
        if seen.get(key) == detail["status"]:
            continue
        seen[key] = detail["status"]
        line = f"  {key}: {detail['status']}"
        result = (detail.get("output") or {}).get("executionResult") or {}
        if result.get("externalExecutionId") and detail["status"] == "InProgress":
            line += f" ({result['externalExecutionId']})"
        error = result.get("errorDetails")
        if error:
            line += f" - {error.get('message', '')}"
        print(line)


def approve(
    client: Client, pipeline: str, stage: str, action: str, summary: str, status: str = "Approved"
) -> dict:
    """Answer a waiting manual approval (status Approved or Rejected).

    Finds the approval's token in GetPipelineState; returns PutApprovalResult's reply. When
    the approval was answered already (say, with the pipeline view's buttons), it says so
    and returns {"approvedAt": when it was answered}, so the lab's next cells go on.
    Raises LookupError if the action has no approval waiting or answered.
    """
    latest = _approval_execution(client, pipeline, stage, action)
    if latest.get("status") == "InProgress" and latest.get("token"):
        return client.put_approval_result(
            pipelineName=pipeline,
            stageName=stage,
            actionName=action,
            result={"summary": summary, "status": status},
            token=latest["token"],
        )
    answered = {"Succeeded": "Approved", "Failed": "Rejected"}.get(latest.get("status", ""))
    if answered is None:
        raise LookupError(
            f"Action {action} in stage {stage} of {pipeline} is not waiting for an approval"
        )
    print(f"{stage}/{action} was answered already ({answered}): nothing left to answer.")
    return {"approvedAt": latest.get("lastStatusChange")}


def _approval_execution(client: Client, pipeline: str, stage: str, action: str) -> dict:
    """The approval action's latestExecution in GetPipelineState ({} before its first run);
    LookupError (stage_state's) when the pipeline has no such stage."""
    for action_state in stage_state(client, pipeline, stage).get("actionStates", []):
        if action_state["actionName"] == action:
            return action_state.get("latestExecution") or {}
    return {}


def pipeline_snapshot(client: Client, name: str) -> dict:
    """The pipeline's state as plain data, for a view to draw.

    {"name", "version", "latest_execution_id", "source_revision",
     "stages": [{"name", "status", "execution_id", "inbound_execution_id",
                 "transition_enabled", "actions": [{"name", "status", "summary",
                 "external_id", "url", "error", "waiting_for_approval"}]}]}
    """
    state = client.get_pipeline_state(name=name)
    stages = []
    latest_id = None
    source_revision = None
    for stage_state in state["stageStates"]:
        latest = stage_state.get("latestExecution") or {}
        inbound = stage_state.get("inboundExecution") or {}
        actions = []
        for action_state in stage_state.get("actionStates", []):
            execution = action_state.get("latestExecution") or {}
            revision = action_state.get("currentRevision")
            if revision and source_revision is None:
                source_revision = revision["revisionId"]
            actions.append(
                {
                    "name": action_state["actionName"],
                    "status": execution.get("status"),
                    "summary": execution.get("summary"),
                    "external_id": execution.get("externalExecutionId"),
                    "url": execution.get("externalExecutionUrl") or action_state.get("entityUrl"),
                    "error": (execution.get("errorDetails") or {}).get("message"),
                    "waiting_for_approval": bool(execution.get("token"))
                    and execution.get("status") == "InProgress",
                }
            )
        if latest.get("pipelineExecutionId") and latest_id is None:
            latest_id = latest["pipelineExecutionId"]
        stages.append(
            {
                "name": stage_state["stageName"],
                "status": latest.get("status"),
                "execution_id": latest.get("pipelineExecutionId"),
                "inbound_execution_id": inbound.get("pipelineExecutionId"),
                "transition_enabled": (stage_state.get("inboundTransitionState") or {}).get(
                    "enabled", True
                ),
                "actions": actions,
            }
        )
    try:
        summaries = client.list_pipeline_executions(pipelineName=name, maxResults=1)[
            "pipelineExecutionSummaries"
        ]
        if summaries:
            latest_id = summaries[0]["pipelineExecutionId"]
    except Exception:  # a role that may not list executions still gets the state
        pass
    return {
        "name": name,
        "version": state.get("pipelineVersion"),
        "latest_execution_id": latest_id,
        "source_revision": source_revision,
        "stages": stages,
    }


# -- lab 04: creating a pipeline, waiting for an approval or for a push's execution -------
# (added with lab 04; functions for other labs go after this section)

ASSUME_ROLE_NOT_YET = "not authorized to perform AssumeRole"


def create_pipeline(
    client: Client,
    wait_seconds: float = 90,
    sleep: Callable[[float], None] = time.sleep,
    **params: Any,
) -> dict:
    """CreatePipeline, waiting for a new service role to become usable; its reply.

    On a real account a role cannot be assumed for some seconds after CreateRole, and
    CreatePipeline then fails with InvalidStructureException "CodePipeline is not
    authorized to perform AssumeRole on role ...". This retries that error only, for up
    to wait_seconds; every other error is raised at once. Offline a role is usable at
    once, so the error means the role is missing or does not trust CodePipeline: it is
    raised without waiting.
    """
    if "amazonaws.com" not in (client.meta.endpoint_url or ""):
        wait_seconds = 0
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            return client.create_pipeline(**params)
        except client.exceptions.InvalidStructureException as error:
            message = error.response["Error"].get("Message", "")
            if ASSUME_ROLE_NOT_YET not in message or time.monotonic() >= deadline:
                raise
            if not told:
                print(
                    "The new service role is not usable yet (IAM takes a few seconds); "
                    "trying again..."
                )
                told = True
            sleep(5)


def waiting_approval(
    client: Client, pipeline: str, stage: str, action: str, execution_id: str | None = None
) -> dict | None:
    """The action's latestExecution (GetPipelineState) when it is an approval waiting for
    an answer (in execution_id, when given); else None."""
    state = client.get_pipeline_state(name=pipeline)
    for stage_state in state["stageStates"]:
        if stage_state["stageName"] != stage:
            continue
        latest_stage = stage_state.get("latestExecution") or {}
        if execution_id and latest_stage.get("pipelineExecutionId") != execution_id:
            return None
        for action_state in stage_state.get("actionStates", []):
            latest = action_state.get("latestExecution") or {}
            if (
                action_state["actionName"] == action
                and latest.get("token")
                and latest.get("status") == "InProgress"
            ):
                return latest
    return None


def wait_for_approval(
    client: Client,
    pipeline: str,
    stage: str,
    action: str,
    execution_id: str | None = None,
    timeout: float = 600,
    poll_seconds: float = 0.5,
) -> dict:
    """Poll GetPipelineState until the approval action waits for an answer (in
    execution_id, when given); return its latestExecution (with the token).

    Raises RuntimeError if execution_id ends first, TimeoutError after timeout seconds.
    """
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    while True:
        latest = waiting_approval(client, pipeline, stage, action, execution_id)
        if latest is not None:
            return latest
        if execution_id:
            status = client.get_pipeline_execution(
                pipelineName=pipeline, pipelineExecutionId=execution_id
            )["pipelineExecution"]["status"]
            if status in FINAL_STATUSES:
                raise RuntimeError(
                    f"Execution {execution_id} ended ({status}) before "
                    f"{stage}/{action} waited for an approval"
                )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{stage}/{action} of {pipeline} is not waiting for an "
                f"approval after {timeout:.0f} s"
            )
        pause.sleep()


def wait_for_new_execution(
    client: Client, pipeline: str, revision_id: str, timeout: float = 300, poll_seconds: float = 1.0
) -> dict:
    """The summary (ListPipelineExecutions) of the execution that runs this source
    revision, once one has started: after a push, the pipeline's EventBridge rule (or
    polling, PollForSourceChanges true) starts it.

    Raises TimeoutError when none started within timeout seconds (on a real account, check
    the EventBridge rule and its role).
    """
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    while True:
        summaries = client.list_pipeline_executions(pipelineName=pipeline, maxResults=20)[
            "pipelineExecutionSummaries"
        ]
        for summary in summaries:
            if any(
                revision.get("revisionId") == revision_id
                for revision in summary.get("sourceRevisions", [])
            ):
                return summary
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"No execution of {pipeline} for revision {revision_id} after {timeout:.0f} s"
            )
        pause.sleep()


def post_to_webhook(
    url: str, payload: dict, secret: str | None = None, timeout: float = 10.0
) -> tuple[int, str]:
    """POST a JSON payload to a webhook URL (PutWebhook's url), as GitHub would send it.

    With secret (the webhook's SecretToken, GITHUB_HMAC authentication) the body is signed
    in the X-Hub-Signature-256 header: "sha256=" + HMAC-SHA256(secret, body). Returns
    (HTTP status, response text); an error status is returned, not raised.
    """
    import hashlib
    import hmac
    import json
    import urllib.error
    import urllib.request

    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


# -- labs 05 and 06: waiting for the moments the labs look at ---------------------------


def _until(probe: Callable[[], object], timeout: float, poll_seconds: float, what: str):
    """Call probe() until it returns something truthy; return it. TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        pause.sleep()


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
    """Wait until the action runs (InProgress) in the execution. A custom or third-party
    action's job reaches the queue then or a moment later (a worker polls until it comes:
    jobworker.try_worker does). Returns its ActionExecutionDetail; RuntimeError if the
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
