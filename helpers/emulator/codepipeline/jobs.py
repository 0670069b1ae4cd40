"""Job queues: how actions of Custom and ThirdParty action types are run by job workers.

When an execution reaches such an action, the engine's job provider (providers/job_worker.py)
queues a Job and waits. A job worker finds it with PollForJobs (Custom) or
PollForThirdPartyJobs (ThirdParty), claims it with AcknowledgeJob/AcknowledgeThirdPartyJob
(the nonce proves it read the job), and answers with Put(ThirdParty)JobSuccessResult or
Put(ThirdParty)JobFailureResult.

Job statuses (JobStatus): Queued (waiting for a poll), Dispatched (returned by a poll; no
other poll returns it), InProgress (acknowledged), then Succeeded, Failed or TimedOut.
A result is accepted from Dispatched or InProgress; a second result, or one for a job that
timed out, is an InvalidJobStateException.

Third-party jobs: the partner identifies itself with a clientId and clientToken pair. In
AWS the pair comes from connecting the partner to the action; offline the clientId is a
stable id of the action (pipeline, stage, action) and the clientToken is the action's
secret configuration value (OAuthToken for GitHub, ClientToken for LabPartner). A polled
job that a wrong client token tried to open returns to Queued, so that partners sharing a
type (learners in one account) each end up with their own jobs.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field

from .. import identities
from ..core import now
from . import exceptions as err

JOB_STATUSES = ("Created", "Queued", "Dispatched", "InProgress", "TimedOut", "Succeeded", "Failed")
FINAL = ("Succeeded", "Failed", "TimedOut")
FAILURE_TYPES = (
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def artifact_credentials() -> dict:
    """Temporary credentials for the artifact bucket, as STS issues them.

    Through the local server they are real: a session of the server's own credentials
    (identities.issue_session), so a job worker can sign with them. Under mock_aws nothing
    is signed and the server has no credentials: random ones of the same shape.
    """
    root = identities.root()
    if root is not None:
        session = identities.issue_session(root, ARTIFACT_CREDENTIALS_SECONDS)
        return {
            "accessKeyId": session.access_key,
            "secretAccessKey": session.secret_key,
            "sessionToken": session.session_token,
        }
    upper = string.ascii_uppercase + string.digits
    return {
        "accessKeyId": "ASIA" + _random(upper, 16),
        "secretAccessKey": _random(string.ascii_letters + string.digits + "+/", 40),
        "sessionToken": _random(string.ascii_letters + string.digits + "+/", 300),
    }


ARTIFACT_CREDENTIALS_SECONDS = 3600


@dataclass
class Job:
    """One job of a Custom or ThirdParty action (an action has several with continuations)."""

    account: str
    type_id: dict
    data: dict  # JobData, as PollForJobs returns it
    cond: threading.Condition  # the pipeline's: the waiting action wakes on a result
    configuration: dict
    third_party: bool = False
    client_id: str | None = None
    client_token: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    nonce: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "Queued"
    created: object = field(default_factory=now)
    success: dict | None = None  # the PutJobSuccessResult request
    failure: dict | None = None  # failureDetails
    abandoned: bool = False  # the action ended without it (stopped, pipeline updated)

    @property
    def final(self) -> bool:
        return self.status in FINAL


class JobQueue:
    """The jobs of one account and region."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.jobs: dict[str, Job] = {}
        self.lock = threading.RLock()

    def add(self, job: Job) -> Job:
        with self.lock:
            self.jobs[job.id] = job
        return job

    # -- polling --------------------------------------------------------------------------

    def poll(
        self, type_id: dict, max_batch: int, query: dict[str, str] | None, third_party: bool
    ) -> list[Job]:
        """Queued jobs of the type (oldest first); they become Dispatched."""
        taken: list[Job] = []
        with self.lock:
            for job in self.jobs.values():
                if len(taken) >= max_batch:
                    break
                if (
                    job.status != "Queued"
                    or job.abandoned
                    or job.third_party != third_party
                    or job.type_id != type_id
                ):
                    continue
                if query and any(job.configuration.get(k) != v for k, v in query.items()):
                    continue
                with job.cond:
                    job.status = "Dispatched"
                taken.append(job)
        return taken

    def get(self, job_id: str, third_party: bool = False) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.third_party != third_party:
            raise err.JobNotFoundException(f"Job {job_id} was not found")
        return job

    def get_third_party(self, job_id: str, client_token: str) -> Job:
        job = self.get(job_id, third_party=True)
        if client_token != job.client_token:
            with job.cond:
                # The poller cannot open it (another connection's job, e.g. another
                # learner's in a shared account): it goes back to the queue for its own.
                if job.status == "Dispatched":
                    job.status = "Queued"
            raise err.InvalidClientTokenException(f"The client token is not valid for job {job_id}")
        return job

    # -- the worker's answers ---------------------------------------------------------------

    def acknowledge(self, job: Job, nonce: str) -> str:
        with job.cond:
            if nonce != job.nonce:
                raise err.InvalidNonceException(
                    f"The nonce is not valid for job {job.id}: another job worker may have "
                    "claimed it"
                )
            if job.status in ("Queued", "Dispatched"):
                job.status = "InProgress"
                job.cond.notify_all()
            return job.status

    def succeed(self, job: Job, result: dict) -> None:
        if result.get("outputVariables") and result.get("continuationToken"):
            raise err.ValidationException(
                "outputVariables can only be given with the final result of an action, "
                "without a continuationToken"
            )
        if len(str(result.get("outputVariables") or {})) > 122880:
            raise err.OutputVariablesSizeExceededException(
                "The output variables exceed 122880 characters"
            )
        percent = (result.get("executionDetails") or {}).get("percentComplete")
        if percent is not None and not 0 <= percent <= 100:
            raise err.ValidationException("percentComplete must be between 0 and 100")
        self._finish(job, "Succeeded", success=result)

    def fail(self, job: Job, details: dict) -> None:
        if details.get("type") not in FAILURE_TYPES:
            raise err.ValidationException(
                f"failureDetails.type must be one of {', '.join(FAILURE_TYPES)}"
            )
        self._finish(job, "Failed", failure=details)

    def _finish(self, job: Job, status: str, **values) -> None:
        with job.cond:
            if job.status not in ("Dispatched", "InProgress"):
                raise err.InvalidJobStateException(
                    f"Job {job.id} is {job.status}: a result can only be given for a job "
                    "that was polled and has no result yet"
                )
            for name, value in values.items():
                setattr(job, name, value)
            job.status = status
            job.cond.notify_all()

    def time_out(self, job: Job) -> None:
        with job.cond:
            if not job.final:
                job.status = "TimedOut"
                job.cond.notify_all()


# -- building a job from an action ---------------------------------------------------------


def client_id(pipeline_arn: str, stage: str, action: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pipeline_arn}/{stage}/{action}"))


def job_data(
    *,
    type_id: dict,
    configuration: dict,
    pipeline_name: str,
    pipeline_arn: str,
    stage: str,
    action: str,
    action_execution_id: str,
    execution_id: str,
    inputs: dict,
    outputs: dict,
    input_revisions: dict,
    continuation: str | None,
    encryption_key: dict | None,
) -> dict:
    """JobData as AWS sends it: where the input artifacts are, where outputs go, credentials."""

    def artifact(name: str, location, revision: str | None = None) -> dict:
        item = {
            "name": name,
            "location": {
                "type": "S3",
                "s3Location": {"bucketName": location.bucket, "objectKey": location.key},
            },
        }
        if revision:
            item["revision"] = revision
        return item

    data = {
        "actionTypeId": dict(type_id),
        "actionConfiguration": {"configuration": dict(configuration)},
        "pipelineContext": {
            "pipelineName": pipeline_name,
            "stage": {"name": stage},
            "action": {"name": action, "actionExecutionId": action_execution_id},
            "pipelineArn": pipeline_arn,
            "pipelineExecutionId": execution_id,
        },
        "inputArtifacts": [artifact(n, loc, input_revisions.get(n)) for n, loc in inputs.items()],
        "outputArtifacts": [artifact(n, loc) for n, loc in outputs.items()],
        "artifactCredentials": artifact_credentials(),
    }
    if continuation:
        data["continuationToken"] = continuation
    if encryption_key:
        data["encryptionKey"] = {
            "id": encryption_key["id"],
            "type": encryption_key.get("type", "KMS"),
        }
    return data
