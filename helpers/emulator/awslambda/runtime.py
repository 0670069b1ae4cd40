"""Running a Python Lambda function for real: a subprocess per invocation, no Docker.

moto's Lambda keeps functions, versions and aliases; it runs an invocation in a Docker
container (or, without Docker, answers a canned "Simple Lambda happy path OK"). Docker is
not available to learners, so the kit replaces only that step: invoke() extracts the
function's zip (once per code hash, under the server's state folder, refusing entries that
lead out of it), starts bootstrap.py with the machine's Python in a process group of its
own (processes.py: what the server starts, it stops), hands it the event and the context
fields, kills the group at the function's timeout, and writes the START/END/REPORT lines
and what the function printed to CloudWatch Logs (/aws/lambda/<name>).

The function gets the environment AWS documents (its Variables, AWS_LAMBDA_FUNCTION_NAME,
_HANDLER, LAMBDA_TASK_ROOT...), temporary credentials of its execution role and, when a
local server runs, AWS_ENDPOINT_URL, so boto3 in the function reaches the local AWS (a
pipeline's function calls PutJobSuccessResult there).

Not emulated: the memory limit (the figure is reported, not enforced), layers, container
images, warm execution environments (each invocation is a cold start), retries of
asynchronous invocations and their destinations.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import json
import logging
import math
import os
import re
import secrets
import shutil
import site
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ... import settings
from .. import identities, moto_backends, processes, safepaths, serving
from ..codebuild import sources

log = logging.getLogger("helpers.emulator.awslambda")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# The Python runtimes of the botocore model the kit runs (python2.7 needs a Python 2).
PYTHON_RUNTIME = re.compile(r"^python3\.\d+\Z")
# AWS's Python handler: a module path (dots or slashes) and a function, all identifiers.
HANDLER = re.compile(r"^[A-Za-z_]\w*(?:[./][A-Za-z_]\w*)*\.[A-Za-z_]\w*\Z", re.ASCII)
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # AWS's limit for a function's unzipped code
LOG_TAIL_BYTES = 4096  # LogResult: the last 4 KB of the log
MAX_OUTPUT_BYTES = 8 * 1024 * 1024  # what one invocation may print before it is cut
NO_SERVER_ENDPOINT = "http://127.0.0.1:9"  # the discard port: nothing listens


class InvocationRefused(Exception):
    """The function cannot run offline; kind names the AWS error (or the kit's)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Invocation:
    """The outcome of one invocation, as Invoke reports it."""

    request_id: str
    payload: bytes  # the handler's JSON reply, or the error document
    function_error: str | None  # "Unhandled" when the function failed
    log_text: str  # START ... REPORT, as written to CloudWatch Logs
    executed_version: str
    duration_ms: float = 0.0
    max_memory_mb: int = 0
    error: dict | None = None

    @property
    def log_result(self) -> str:
        """LogResult: the base64 of the log's last 4 KB (LogType Tail)."""
        return base64.b64encode(self.log_text.encode()[-LOG_TAIL_BYTES:]).decode()

    def result(self) -> object:
        return json.loads(self.payload) if self.payload else None


# --- checks ----------------------------------------------------------------------------------


def check_runnable(function: moto_backends.LambdaFunction) -> None:
    """Refuse what the kit cannot run: other runtimes, images, a handler it cannot import."""
    if function.package_type != "Zip":
        raise InvocationRefused(
            "NotImplementedByLabKit",
            f"The lab kit's local Lambda runs .zip functions only; {function.name} is a "
            "container image function. Run this step against a real account (LAB_MODE=aws).",
        )
    runtime = function.runtime or ""
    if not PYTHON_RUNTIME.match(runtime):
        raise InvocationRefused(
            "NotImplementedByLabKit",
            f"The lab kit's local Lambda runs Python 3 functions only (python3.9 ... "
            f"python3.14); {function.name} uses the runtime {runtime or 'none'}. Run this "
            "step against a real account (LAB_MODE=aws). "
            "See docs/troubleshooting.md#not-implemented-by-lab-kit",
        )
    if not HANDLER.match(function.handler or ""):
        raise InvocationRefused(
            "InvalidParameterValueException",
            f"The handler {function.handler!r} of {function.name} is not of the form "
            "module.function (e.g. lambda_function.lambda_handler)",
        )


# --- the code folder -------------------------------------------------------------------------


def code_folder(function: moto_backends.LambdaFunction) -> Path:
    """The function's code, extracted once per code hash; InvocationRefused
    (InvalidZipFileException) for a zip that is not one, too big, or leads out."""
    base = settings.emulator_dir() / "lambda"
    digest = function.code_sha256 if re.fullmatch(r"[0-9a-f]{64}", function.code_sha256) else ""
    folder = base.joinpath(
        safepaths.account_id(function.account),
        safepaths.region(function.region),
        safepaths.component(function.name),
        digest or safepaths.component(uuid.uuid4().hex),
    )
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unzip-", dir=folder.parent))
    try:
        _extract(function.code, staging)
        try:
            staging.rename(folder)
        except OSError:  # another invocation extracted it first
            if not folder.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def _extract(code: bytes, dest: Path) -> None:
    refused = InvocationRefused(
        "InvalidZipFileException", "Lambda was unable to unzip the deployment package."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise InvocationRefused(
                    "InvalidZipFileException",
                    "Unzipped size must be smaller than 262144000 bytes",
                )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise refused from None
    try:
        sources.unzip(code, dest)
    except sources.SourceError as error:
        refused.message = f"Lambda was unable to unzip the deployment package: {error}"
        raise refused from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        raise refused from None


# --- running it ----------------------------------------------------------------------------


@dataclass
class _Run:
    function: moto_backends.LambdaFunction
    invoked_arn: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    stream: str = ""

    def __post_init__(self) -> None:
        day = dt.datetime.now(dt.timezone.utc).strftime("%Y/%m/%d")
        self.stream = f"{day}/[{self.function.version}]{secrets.token_hex(16)}"

    @property
    def group(self) -> str:
        return f"/aws/lambda/{self.function.name}"


def environment(
    function: moto_backends.LambdaFunction,
    task_root: Path,
    log_stream: str,
    endpoint_url: str | None,
) -> dict[str, str]:
    """The function's environment: its Variables, then what Lambda sets (which wins)."""
    region = function.region
    env = dict(function.environment)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(task_root.parent / "home"),
            "TMPDIR": str(task_root.parent / "tmp"),
            "PYTHONPATH": str(task_root),
            "_HANDLER": function.handler or "",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": function.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
        }
    )
    # Without a local server (moto's in-process mock_aws) there is nothing to call: a
    # closed local port makes boto3 fail fast instead of reaching the real AWS.
    env["AWS_ENDPOINT_URL"] = endpoint_url or NO_SERVER_ENDPOINT
    env.update(_credentials(function))
    return env


def _credentials(function: moto_backends.LambdaFunction) -> dict[str, str]:
    """Temporary credentials of the execution role, as Lambda gives the function."""
    try:
        key, secret, token = identities.role_session(
            function.role, function.name, function.timeout + 900, function.region
        )
    except (identities.Unknown, LookupError, ValueError) as error:
        log.warning("no credentials for function %s: %s", function.name, error)
        return {}
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}


def invoke(
    function: moto_backends.LambdaFunction,
    event: bytes | str,
    *,
    invoked_arn: str | None = None,
    endpoint_url: str | None = None,
    client_context: dict | None = None,
) -> Invocation:
    """Run function once on event (JSON text) and wait: the reply or the error, the log.

    Raises InvocationRefused when it cannot run at all (runtime, handler, zip); a failing
    handler, a timeout or a crash are an Invocation with function_error "Unhandled".
    """
    check_runnable(function)
    task_root = code_folder(function)
    run = _Run(function, invoked_arn or function.arn)
    for folder in ("home", "tmp"):
        (task_root.parent / folder).mkdir(exist_ok=True)
    env = environment(function, task_root, run.stream, endpoint_url or serving.local_endpoint())
    text = event.decode() if isinstance(event, bytes) else event
    request = {
        "handler": function.handler,
        "site_packages": _site_packages(),
        "event": text or "{}",
        "deadline_ms": time.time() * 1000 + function.timeout * 1000,
        "context": {
            "function_name": function.name,
            "function_version": function.version,
            "invoked_function_arn": run.invoked_arn,
            "memory_limit_in_mb": str(function.memory_size),
            "aws_request_id": run.request_id,
            "log_group_name": run.group,
            "log_stream_name": run.stream,
            "client_context": client_context,
        },
    }
    return _run(run, task_root, env, json.dumps(request))


@functools.cache
def _site_packages() -> list[str]:
    """Where the server's Python finds boto3: the function imports it from there."""
    return [path for path in site.getsitepackages() if Path(path).is_dir()]


def _run(run: _Run, task_root: Path, env: dict[str, str], request: str) -> Invocation:
    function = run.function
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="invoke-", dir=task_root.parent) as scratch:
        result_file = Path(scratch) / "result.json"
        process = processes.spawn(
            [sys.executable, "-I", "-S", str(BOOTSTRAP), str(result_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=task_root,
            env=env,
        )
        printed = _CappedOutput(process)
        timed_out = False
        try:
            _send(process, request)
            process.wait(timeout=function.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            processes.kill(process)  # at the timeout, and daemons the function left behind
            processes.forget_if_ended(process)
            process.wait()
        output = printed.collect()
        outcome = _read_outcome(result_file)
    elapsed_ms = (time.monotonic() - started) * 1000
    return _report(
        run, output.decode("utf-8", "replace"), outcome, timed_out, process.returncode, elapsed_ms
    )


def _send(process: subprocess.Popen, request: str) -> None:
    """The invocation on the program's stdin (it reads it whole before anything else)."""
    assert process.stdin is not None  # spawned with stdin=PIPE
    try:
        process.stdin.write(request.encode())
        process.stdin.close()
    except (BrokenPipeError, OSError):  # it died first: its exit status tells
        pass


class _CappedOutput:
    """What the function prints, read as it comes; beyond MAX_OUTPUT_BYTES it is dropped
    (a function printing in a loop until its timeout must not fill the server's memory)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._stream = process.stdout
        self._parts: list[bytes] = []
        self._size = 0
        self._thread = threading.Thread(target=self._read, name="lambda-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._stream is not None  # spawned with stdout=PIPE
        while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
            if self._size < MAX_OUTPUT_BYTES:
                self._parts.append(chunk[: MAX_OUTPUT_BYTES - self._size])
                self._size += len(self._parts[-1])

    def collect(self) -> bytes:
        # A process that left the group (setsid) may hold the pipe open: do not wait on it.
        self._thread.join(timeout=2)
        return b"".join(self._parts)


def _read_outcome(result_file: Path) -> dict | None:
    try:
        outcome = json.loads(result_file.read_text())
    except (OSError, ValueError):
        return None
    return outcome if isinstance(outcome, dict) else None


def _report(
    run: _Run,
    printed: str,
    outcome: dict | None,
    timed_out: bool,
    exit_code: int | None,
    elapsed_ms: float,
) -> Invocation:
    function, rid = run.function, run.request_id
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    error: dict | None = None
    if timed_out:
        seconds = f"{function.timeout:.2f}"
        error = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {rid} Error: Task timed out after {seconds} seconds",
        }
        printed += f"{stamp} {rid} Task timed out after {seconds} seconds\n"
        duration = function.timeout * 1000.0
    elif outcome is None:
        error = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: "
            f"exit status {exit_code}",
        }
        duration = elapsed_ms
    else:
        error = outcome.get("error")
        duration = float(outcome.get("duration_ms") or 0.0)
    memory_mb = max(1, math.ceil(float((outcome or {}).get("max_rss_kb") or 0) / 1024))
    init_ms = float((outcome or {}).get("init_ms") or 0.0)
    lines = [f"START RequestId: {rid} Version: {function.version}"]
    lines += printed.splitlines()
    lines.append(f"END RequestId: {rid}")
    lines.append(
        f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {function.memory_size} MB\t"
        f"Max Memory Used: {memory_mb} MB\tInit Duration: {init_ms:.2f} ms\t"
    )
    _write_logs(run, lines)
    if error is not None:
        payload = json.dumps(error).encode()
    else:
        payload = str((outcome or {}).get("payload", "null")).encode()
    return Invocation(
        request_id=rid,
        payload=payload,
        function_error="Unhandled" if error is not None else None,
        log_text="\n".join(lines) + "\n",
        executed_version=function.version,
        duration_ms=duration,
        max_memory_mb=memory_mb,
        error=error,
    )


def _write_logs(run: _Run, lines: list[str]) -> None:
    stream = moto_backends.LogStream(
        run.function.account, run.function.region, run.group, run.stream
    )
    now_ms = int(time.time() * 1000)
    for line in lines:
        if not stream.put(now_ms, line or " "):
            return


def invoke_by_name(
    account: str,
    region: str,
    name: str,
    event: dict | list | str | int | float | bool | None,
    qualifier: str | None = None,
) -> Invocation:
    """Run a function named as Invoke names it (name, ARN, name:alias) on a Python event,
    from the kit's own engines (CodeDeploy's lifecycle hooks, CodePipeline). An alias's
    routing weights are not applied here (the Invoke API applies them)."""
    function = moto_backends.lambda_function(account, region, name, qualifier)
    if function is None:
        raise InvocationRefused(
            "ResourceNotFoundException",
            f"Function not found: {name}" + (f":{qualifier}" if qualifier else ""),
        )
    qualified = function.arn if function.version == "$LATEST" and not qualifier else None
    return invoke(
        function,
        json.dumps(event),
        invoked_arn=qualified or f"{function.arn}:{qualifier or function.version}",
    )
