"""A job worker for a CodePipeline custom action, small enough to read in one sitting.

A custom action (CreateCustomActionType, owner "Custom") does no work by itself: when a
pipeline execution reaches it, CodePipeline creates a *job* and waits. A job worker - this
class - asks for jobs, does the work and reports the result:

    1. PollForJobs        ask for jobs of our action type (each has an id and a nonce)
    2. AcknowledgeJob     claim one job (the nonce proves we read it); status InProgress
    3. read the inputs    download the input artifact (a zip) from the artifact bucket,
                          with the temporary credentials that came inside the job
    4. do the work        your function: work(job) -> Result
    5. write the outputs  upload each output artifact (a zip) where the job says
    6. PutJobSuccessResult / PutJobFailureResult   tell CodePipeline how it went

Long work uses a continuation token: return Result(continuation_token="...") and the action
stays InProgress; CodePipeline queues a new job carrying that token, and the worker calls
work() again with job.continuation_token set, until a result comes without a token.

Only boto3 is used, so the same worker runs against the kit's local AWS and a real account.

    worker = JobWorker(codepipeline_client, {"category": "Test", "owner": "Custom",
                                             "provider": "LabChecker", "version": "1"},
                       work=my_function)
    worker.start()   # polls in a background thread
    ...
    worker.stop()

or, one poll at a time: `worker.run_once()`.

For a lab's check of a worker the learner writes: `recorded_calls(client)` records the calls
made in a block, and `try_worker(...)` gives the worker one job and reports what happened.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import polling

log = logging.getLogger("helpers.jobworker")

# How long try_worker keeps calling a worker that polled and found no job yet.
JOB_ARRIVAL_SECONDS = 2.0


class JobError(Exception):
    """Raise it from work() to fail the action with a given failure type.

    failure_type is one of JobFailed, ConfigurationError, PermissionError,
    RevisionOutOfSync, RevisionUnavailable, SystemUnavailable.
    """

    def __init__(self, message: str, failure_type: str = "JobFailed") -> None:
        super().__init__(message)
        self.message = message
        self.failure_type = failure_type


@dataclass
class Result:
    """What work() returns.

    outputs: output artifact name -> zip bytes (make them with zip_files()).
    output_variables: the action's variables (only in the final result, AWS's rule).
    continuation_token: set it to be called again later with the token (long work).
    """

    summary: str | None = None
    external_execution_id: str | None = None
    percent_complete: int | None = None
    outputs: dict[str, bytes] = field(default_factory=dict)
    output_variables: dict[str, str] = field(default_factory=dict)
    continuation_token: str | None = None


@dataclass
class Job:
    """One job, as work() sees it. data is the job's JobData exactly as AWS sends it."""

    id: str
    data: dict
    # An S3 client made with the job's own artifact credentials (boto3 builds its methods at
    # run time, so there is no static type to name).
    s3: Any

    @property
    def configuration(self) -> dict[str, str]:
        """The action's configuration (its custom properties), variables resolved."""
        return self.data.get("actionConfiguration", {}).get("configuration", {})

    @property
    def continuation_token(self) -> str | None:
        """None for the first job of an action; then the token the last result gave."""
        return self.data.get("continuationToken")

    @property
    def pipeline(self) -> dict:
        """pipelineName, stage {name}, action {name, actionExecutionId}, pipelineExecutionId."""
        return self.data.get("pipelineContext", {})

    @property
    def input_names(self) -> list[str]:
        return [a["name"] for a in self.data.get("inputArtifacts", [])]

    @property
    def output_names(self) -> list[str]:
        return [a["name"] for a in self.data.get("outputArtifacts", [])]

    def read_input(self, name: str | None = None) -> bytes:
        """The zip of an input artifact (the first one if no name is given)."""
        artifact = _artifact(self.data.get("inputArtifacts", []), name)
        where = artifact["location"]["s3Location"]
        reply = self.s3.get_object(Bucket=where["bucketName"], Key=where["objectKey"])
        return reply["Body"].read()

    def input_files(self, name: str | None = None) -> dict[str, bytes]:
        """The files inside an input artifact: path -> content."""
        return unzip_files(self.read_input(name))


def _artifact(artifacts: list[dict], name: str | None) -> dict:
    for artifact in artifacts:
        if name is None or artifact["name"] == name:
            return artifact
    raise KeyError(f"the job has no artifact named {name}")


def zip_files(files: dict[str, str | bytes]) -> bytes:
    """A zip (an artifact) from path -> content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def unzip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()
        }


class JobWorker:
    """Polls for jobs of one custom action type and runs work(job) for each.

    client: a boto3 CodePipeline client. action_type_id: {category, owner "Custom",
    provider, version}. work: a function taking a Job and returning a Result (or raising
    JobError / any exception to fail the action). query: the queryParam for a type with a
    queryable property. poll_seconds: the pause between polls in the background thread.
    """

    def __init__(
        self,
        client: Any,  # a boto3 CodePipeline client (boto3 types its methods at run time)
        action_type_id: dict,
        work: Callable[[Job], Result | None],
        query: dict[str, str] | None = None,
        poll_seconds: float = 1.0,
        s3_endpoint_url: str | None = None,
    ) -> None:
        self.client = client
        self.action_type_id = dict(action_type_id)
        self.work = work
        self.query = query
        self.poll_seconds = poll_seconds
        # Against the kit's local server every service shares one endpoint, S3 included;
        # against AWS (an amazonaws.com endpoint) boto3 picks S3's own endpoint.
        endpoint = client.meta.endpoint_url
        self.s3_endpoint_url = s3_endpoint_url or (
            None if "amazonaws.com" in endpoint else endpoint
        )
        self.history: list[tuple[str, str]] = []  # (job id, what happened), for a lab to show
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pause: polling.Pauses | None = None

    # -- one round: poll, then handle every job we got --------------------------------------

    def run_once(self, max_jobs: int = 1) -> int:
        """Poll once and handle the jobs returned; returns how many were handled."""
        params = {"actionTypeId": self.action_type_id, "maxBatchSize": max_jobs}
        if self.query:
            params["queryParam"] = self.query
        jobs = self.client.poll_for_jobs(**params)["jobs"]  # step 1
        handled = 0
        for job in jobs:
            if self._claim(job):
                self._handle(job)
                handled += 1
        return handled

    def _claim(self, job: dict) -> bool:
        """Step 2: acknowledge with the nonce; only an InProgress job is ours to run."""
        try:
            status = self.client.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"]
        except ClientError as error:  # InvalidNonceException: another worker claimed it
            self.history.append((job["id"], f"not claimed: {error.response['Error']['Code']}"))
            return False
        return status == "InProgress"

    def _handle(self, job: dict) -> None:
        data = job["data"]
        try:
            s3 = self._s3_client(data)  # step 3 happens when work() reads an input
            result = self.work(Job(job["id"], data, s3)) or Result()  # step 4
            for name, content in result.outputs.items():  # step 5
                self._upload(s3, data, name, content)
            self._succeed(job["id"], result)  # step 6 (success)
        except JobError as error:
            self._fail(job["id"], error.failure_type, error.message)
        except Exception as error:  # a bug in work() fails the action, not the worker
            log.exception("job %s failed", job["id"])
            self._fail(job["id"], "JobFailed", f"{type(error).__name__}: {error}")

    def _s3_client(self, data: dict):
        """An S3 client that uses the job's temporary artifact credentials (AWS's advice:
        the worker's own role needs no access to the pipeline's artifact bucket)."""
        credentials = data["artifactCredentials"]
        return boto3.client(
            "s3",
            region_name=self.client.meta.region_name,
            endpoint_url=self.s3_endpoint_url,
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials["sessionToken"],
            config=Config(signature_version="s3v4"),
        )  # needed for KMS-encrypted artifacts

    def _upload(self, s3: Any, data: dict, name: str, content: bytes) -> None:
        where = _artifact(data.get("outputArtifacts", []), name)["location"]["s3Location"]
        extra = {}
        key = data.get("encryptionKey")
        if key:  # the artifact store is encrypted with a KMS key: upload encrypted with it
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["id"]}
        s3.put_object(Bucket=where["bucketName"], Key=where["objectKey"], Body=content, **extra)

    def _succeed(self, job_id: str, result: Result) -> None:
        params: dict = {"jobId": job_id}
        details = {
            k: v
            for k, v in (
                ("summary", result.summary),
                ("externalExecutionId", result.external_execution_id),
                ("percentComplete", result.percent_complete),
            )
            if v is not None
        }
        if details:
            params["executionDetails"] = details
        if result.continuation_token:  # not done yet: call me again with this token
            params["continuationToken"] = result.continuation_token
        elif result.output_variables:  # variables only with the final result
            params["outputVariables"] = result.output_variables
        self.client.put_job_success_result(**params)
        self.history.append((job_id, "continued" if result.continuation_token else "succeeded"))

    def _fail(self, job_id: str, failure_type: str, message: str) -> None:
        self.client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": failure_type, "message": message[:5000]}
        )
        self.history.append((job_id, f"failed: {message}"))

    # -- in the background ------------------------------------------------------------------

    def start(self) -> JobWorker:
        """Poll every poll_seconds in a daemon thread until stop()."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        # Every poll_seconds; against the kernel's own local server, also at once when a
        # pipeline there waits for a job (polling.Pauses).
        pause = polling.Pauses(self.poll_seconds, first=self.poll_seconds)
        self._pause = pause
        self._thread = threading.Thread(
            target=self._loop, args=(pause,), name="lab-job-worker", daemon=True
        )
        self._thread.start()
        return self

    def _loop(self, pause: polling.Pauses) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception:  # a network hiccup must not end the worker
                log.exception("polling for jobs failed")
                handled = 0
            if not handled:
                pause.sleep()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._pause is not None:
            self._pause.wake()  # not out the rest of its pause
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


# -- checking a worker the learner wrote ------------------------------------------------------


@contextmanager
def recorded_calls(client: Any) -> Iterator[list[tuple[str, dict]]]:
    """The API calls made with client inside the block: (operation name, parameters)."""
    calls: list[tuple[str, dict]] = []

    def record(params: dict, model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    event = f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}"
    handler_id = f"lab-recorded-calls-{id(calls)}"
    client.meta.events.register(event, record, unique_id=handler_id)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, unique_id=handler_id)


@dataclass
class Trial:
    """What try_worker saw: the worker's calls, what it returned, the action's execution."""

    execution_id: str
    calls: list[tuple[str, dict]]
    returned: Any
    action: dict  # the action's ActionExecutionDetail (ListActionExecutions)

    def called(self, operation: str) -> list[dict]:
        """The parameters of each call of operation, in order."""
        return [params for name, params in self.calls if name == operation]

    def order(self) -> list[str]:
        return [name for name, _ in self.calls]


def try_worker(
    client: Any,
    pipeline: str,
    stage: str,
    action: str,
    worker: Callable[[], Any],
    timeout: float = 300,
    settle_seconds: float = 30,
) -> Trial:
    """Give worker() one job of the action and say what happened.

    An execution waits at the action (one already there, or a new one, started here);
    worker() is called, its CodePipeline calls recorded (again, for up to
    JOB_ARRIVAL_SECONDS, while it only polls, finds no job and returns None). Whatever
    worker() did, the pipeline is left clean for the next try: an execution whose action got
    no result within settle_seconds (2 s when worker() raised) is stopped (abandoned), so no
    job stays behind. What worker() raises is raised again, after that.
    """
    from . import codepipeline as cp_helpers

    execution_id = _execution_at(client, pipeline, stage, action)
    if execution_id is None:
        execution_id = client.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    cp_helpers.wait_for_action(client, pipeline, stage, action, execution_id, timeout=timeout)
    # The action shows InProgress a moment before its job reaches the queue (offline on a
    # busy machine, and on AWS): a worker that only polled, found nothing and returned None
    # is called again for up to JOB_ARRIVAL_SECONDS. The trial keeps its last call's record.
    arrival_deadline = time.monotonic() + JOB_ARRIVAL_SECONDS
    pause = polling.Pauses(0.2)
    try:
        while True:
            with recorded_calls(client) as calls:
                returned = worker()
            only_polled = bool(calls) and all(name == "PollForJobs" for name, _ in calls)
            if returned is not None or not only_polled or time.monotonic() > arrival_deadline:
                break
            pause.sleep()
    except BaseException:
        # It raised: whatever result it gave is in already; do not wait long for more.
        _settle(client, pipeline, stage, action, execution_id, min(settle_seconds, 2))
        raise
    detail = _settle(client, pipeline, stage, action, execution_id, settle_seconds)
    return Trial(execution_id, calls, returned, detail)


def _execution_at(client: Any, pipeline: str, stage: str, action: str) -> str | None:
    """The execution at the action or on its way there: the oldest one in progress whose
    action has not ended yet (one just started may not have reached the stage)."""
    from . import codepipeline as cp_helpers

    summaries = client.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"]
    for summary in reversed(summaries):  # oldest first: the one ahead reaches the action
        if summary["status"] != "InProgress":
            continue
        execution_id = summary["pipelineExecutionId"]
        runs = [
            d
            for d in cp_helpers.action_runs(client, pipeline, execution_id)
            if (d["stageName"], d["actionName"]) == (stage, action)
        ]
        if not runs or runs[-1]["status"] == "InProgress":
            return execution_id
    return None


def _settle(
    client: Any, pipeline: str, stage: str, action: str, execution_id: str, seconds: float
) -> dict:
    """The action's detail once it is no longer InProgress; stop the execution if it stays."""
    from . import codepipeline as cp_helpers

    def current() -> dict:
        runs = cp_helpers.action_runs(client, pipeline, execution_id)
        mine = [d for d in runs if (d["stageName"], d["actionName"]) == (stage, action)]
        return mine[-1] if mine else {}

    deadline = time.monotonic() + seconds
    pause = polling.Pauses(0.5)
    detail = current()
    while detail.get("status") == "InProgress" and time.monotonic() < deadline:
        pause.sleep()
        detail = current()
    if detail.get("status") == "InProgress":
        client.stop_pipeline_execution(
            pipelineName=pipeline,
            pipelineExecutionId=execution_id,
            abandon=True,
            reason="The job worker under test left its job unfinished",
        )
        cp_helpers.wait_for_status(client, pipeline, execution_id)
        detail = current() or detail
    else:
        cp_helpers.wait_for_status(client, pipeline, execution_id)
    return detail
