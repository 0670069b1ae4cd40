"""CodeBuild sandboxes: a project's build environment kept open for the learner's commands.

StartSandbox prepares the environment as a build does (runtime.BuildRunner's PROVISIONING
and DOWNLOAD_SOURCE: the workspace, the log stream, the project's variables and the
buildspec's, the source fetched into CODEBUILD_SRC_DIR), then keeps one bash session open
(shell.ShellSession, as a build's). StartCommandExecution queues a command; the commands
of a sandbox run in that session one after another, in the order they were submitted, so
`cd` and variables carry over as in a build. Each records its exit code, its standard
output and error (bounded: MAX_OUTPUT_CHARACTERS each) and writes both to the session's
CloudWatch Logs stream. StopSandbox (or the sandbox's timeout, the project's
timeoutInMinutes, or a stopping server: processes.kill_all ends the shell) ends the
session with its processes and removes its workspace.

Statuses (the API model leaves them free strings; these are the kit's, named like AWS's):
  sandbox  QUEUED -> RUN_SANDBOX (ready for commands) -> STOPPING -> STOPPED;
           FAILED when the environment could not be prepared (its source, its buildspec);
           TIMED_OUT when its time ran out.
  session  phases SUBMITTED, QUEUED, PROVISIONING, DOWNLOAD_SOURCE, RUN_SANDBOX.
  command  SUBMITTED -> IN_PROGRESS -> SUCCEEDED | FAILED | TIMED_OUT | STOPPED.
Lists are newest first unless sortOrder is ASCENDING, as ListBuilds.

StartSandboxConnection needs AWS Systems Manager Session Manager, which has no offline
counterpart: it answers InvalidInputException saying so.
"""

from __future__ import annotations

import collections
import datetime as dt
import shutil
import threading
import time
import uuid
from pathlib import Path

from moto.core.base_backend import BackendDict, BaseBackend

from .. import workers
from ..core import LabHandlers, now, with_token
from . import exceptions as err
from .buildspec import BuildSpecError
from .handlers import (
    INITIATOR,
    _descending,
    _endpoint_url,
    _logs_reply,
    _page,
    phase_reply,
)
from .logs import BuildLog
from .models import (
    Build,
    BuildConfig,
    CodeBuildLabBackend,
    build_environment,
    codebuild_lab_backends,
    seconds_per_minute,
)
from .runtime import SUCCEEDED, BuildRunner
from .shell import OK, STOPPED, TIMED_OUT, ShellSession

MAX_OUTPUT_CHARACTERS = 256 * 1024  # of stdout and of stderr, per command, in the reply
TRUNCATED = "\n[lab kit: output truncated at {} characters; the log has all of it]"
ENDED = ("STOPPED", "FAILED", "TIMED_OUT")
NO_SESSION_MANAGER = (
    "StartSandboxConnection opens an AWS Systems Manager Session Manager session (SSH) "
    "into the sandbox's build container. The lab kit's local AWS has no Session Manager "
    "and no container to connect to, so it cannot open one offline. Run your commands in "
    "the sandbox with StartCommandExecution (aws codebuild start-command-execution "
    "--sandbox-id ... --command ...) and read them with BatchGetCommandExecutions, or "
    "connect over SSH on a real account (LAB_MODE=aws)."
)


class SandboxSession(Build):
    """A sandbox's session: a Build the runtime can prepare (PROVISIONING, DOWNLOAD_SOURCE)
    that is never one of the account's builds, so it sends no build events."""

    def end_phase(self, status: str, code: str = "", message: str = "") -> None:
        with self.lock:
            phase = self.phases[-1]
            phase.end, phase.status = now(), status
            phase.contexts = [{"statusCode": code, "message": message}]


class SandboxRunner(BuildRunner):
    """The build runtime's preparation of an environment, without the buildspec's phases."""

    def _buildspec_text(self) -> str:
        try:
            return super()._buildspec_text()
        except (BuildSpecError, OSError) as error:
            # A sandbox runs the learner's commands, not the buildspec: it opens without one.
            self.log.container(f"No buildspec read ({error}): the sandbox opens without it")
            return "version: 0.2\n"


class CommandExecution:
    def __init__(self, sandbox: Sandbox, command: str, kind: str) -> None:
        self.id = str(uuid.uuid4())
        self.sandbox_id = sandbox.id
        self.sandbox_arn = sandbox.arn
        self.session = sandbox.session  # whose log stream the command writes to
        self.command = command
        self.type = kind
        self.submit_time = now()
        self.start_time: dt.datetime | None = None
        self.end_time: dt.datetime | None = None
        self.status = "SUBMITTED"
        self.exit_code: int | None = None
        self.stdout = _BoundedText()
        self.stderr = _BoundedText()

    def end(self, status: str, exit_code: int | None = None) -> None:
        self.status, self.exit_code, self.end_time = status, exit_code, now()


class _BoundedText:
    """Output kept for the reply, up to MAX_OUTPUT_CHARACTERS (the log keeps every line)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def add_line(self, line: str) -> None:
        if self.truncated:
            return
        text = line + "\n"
        if self.size + len(text) > MAX_OUTPUT_CHARACTERS:
            self.parts.append(text[: MAX_OUTPUT_CHARACTERS - self.size])
            self.truncated = True
            return
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        value = "".join(self.parts)
        return value + TRUNCATED.format(MAX_OUTPUT_CHARACTERS) if self.truncated else value


class Sandbox:
    def __init__(self, backend: CodeBuildLabBackend, project_name: str, config: BuildConfig):
        project = backend.get_project(project_name)
        self.session = SandboxSession(backend, project, 1, config, INITIATOR)
        self.id = f"{project.name}:{uuid.uuid4()}"
        self.arn = f"arn:aws:codebuild:{backend.region_name}:{backend.account_id}:sandbox/{self.id}"
        self.project_name = project.name
        self.config = config
        self.request_time = now()
        self.start_time: dt.datetime | None = None
        self.end_time: dt.datetime | None = None
        self.status = "QUEUED"
        self.commands: dict[str, CommandExecution] = {}  # by id, oldest first
        self.pending: collections.deque[CommandExecution] = collections.deque()
        self.runner = SandboxRunner(backend, self.session)
        self.shell: ShellSession | None = None
        self.lock = threading.RLock()  # the sandbox's state
        self.run_lock = threading.Lock()  # one thing at a time in the environment
        self.ending: str | None = None  # STOPPED or TIMED_OUT once it has been asked to end
        self._output: CommandExecution | None = None  # the command whose output is read
        self._count = 0
        self._timer: threading.Timer | None = None

    # -- the environment -------------------------------------------------------------

    def prepare(self) -> None:
        """QUEUED -> PROVISIONING -> DOWNLOAD_SOURCE, as a build; then RUN_SANDBOX."""
        with self.run_lock:
            session, runner = self.session, self.runner
            session.end_phase(SUCCEEDED)  # QUEUED: a worker has picked the sandbox up
            with self.lock:
                if self.status != "QUEUED" or self.ending is not None:
                    return  # stopped before it started
                self.start_time = now()
            lifetime = self.config.timeout_minutes * seconds_per_minute()
            runner.deadline = time.monotonic() + lifetime
            self._timer = threading.Timer(lifetime, self.time_out)
            self._timer.daemon = True
            self._timer.start()
            session.start_phase("PROVISIONING")
            for folder in ("src", "control", "home", "tmp"):
                (session.workspace / folder).mkdir(parents=True, exist_ok=True)
            runner.log = BuildLog(
                session.account, session.region, session.log_group, session.log_stream
            )
            runner.log.container("Running on CodeBuild On-demand (lab kit, local sandbox)")
            if runner._step(runner._provision) != SUCCEEDED:
                return self._end_unprepared()
            session.start_phase("DOWNLOAD_SOURCE")
            if runner._step(runner._download_source) != SUCCEEDED:
                return self._end_unprepared()
            with self.lock:
                if self.status != "QUEUED" or self.ending is not None:
                    return
                self.shell = ShellSession(
                    runner.src_dir, runner.env, runner.control_dir, self._on_output
                )
                session.session = self.shell  # Build.request_stop stops it
                session.start_phase("RUN_SANDBOX")
                self.status = "RUN_SANDBOX"
            runner.log.container("Sandbox is ready: waiting for commands")
            self.shell.run("true", runner.deadline, echo=False)  # the shell stays open

    def _end_unprepared(self) -> None:
        self._finish(self.ending or "FAILED", None)

    def _finish(self, status: str, phase_status: str | None) -> None:
        """End the session: its processes killed, its workspace removed."""
        with self.lock:
            if self.status in ENDED:
                return
            if phase_status is not None and self.session.phases[-1].end is None:
                self.session.end_phase(phase_status)
            self.status, self.end_time = status, now()
            for waiting in self.pending:
                waiting.end("STOPPED")
            self.pending.clear()
            self.session.status = status
            self.session.end_time = self.end_time
            self.session.done.set()
        if self._timer is not None:
            self._timer.cancel()
        if self.shell is not None:
            self.shell.close()
        self.runner.log.container(f"Sandbox {status}")
        shutil.rmtree(self.session.workspace, ignore_errors=True)

    def stop(self) -> None:
        """StopSandbox: the running command and every process of the session end."""
        self._end("STOPPED")

    def time_out(self) -> None:
        """The sandbox's time (the project's timeoutInMinutes) has run out."""
        self._end("TIMED_OUT")

    def _end(self, status: str) -> None:
        with self.lock:
            if self.status in ENDED or self.ending is not None:
                return
            self.ending = status
            if status == "STOPPED":
                self.status = "STOPPING"
        self.session.request_stop()  # kills the shell's group: the running command ends
        with self.run_lock:  # the running command (or the preparation) has returned
            self._finish(status, status)

    # -- commands --------------------------------------------------------------------

    def submit(self, command: str, kind: str) -> CommandExecution:
        with self.lock:
            if self.status not in ("QUEUED", "RUN_SANDBOX"):
                raise err.InvalidInputException(
                    f"Sandbox {self.id} is {self.status}: commands run only in a sandbox "
                    "that is starting or running (StartSandbox starts a new one)"
                )
            execution = CommandExecution(self, command, kind)
            self.commands[execution.id] = execution
            self.pending.append(execution)
        return execution

    def run_pending(self) -> None:
        """Run the submitted commands, oldest first; one at a time (run_lock)."""
        with self.run_lock:
            while True:
                with self.lock:
                    if not self.pending:
                        return
                    execution = self.pending.popleft()
                self._run(execution)

    def _run(self, execution: CommandExecution) -> None:
        with self.lock:
            if self.status != "RUN_SANDBOX" or self.shell is None:
                execution.end("STOPPED")
                return
            execution.status, execution.start_time = "IN_PROGRESS", now()
            self._count += 1
            shell, number = self.shell, self._count
        log, control = self.runner.log, self.runner.control_dir
        script = control / f"sandbox-command-{number}.sh"
        errors = control / f"sandbox-stderr-{number}.txt"
        script.write_text(execution.command + "\n")
        log.container(f"Running command {execution.command}")
        self._output = execution
        try:
            # Sourced, so cd and variables carry over; stderr kept apart for the reply.
            result = shell.run(f". '{script}' 2>'{errors}'", self.runner.deadline)
        finally:
            self._output = None
        for line in _read_bounded(errors).splitlines():
            execution.stderr.add_line(line)
            log.line(line)
        if result.outcome == OK:
            execution.end("SUCCEEDED" if result.exit_code == 0 else "FAILED", result.exit_code)
            if result.exit_code != 0:
                log.container(
                    f"Command did not exit successfully {execution.command} "
                    f"exit status {result.exit_code}"
                )
            return
        execution.end("TIMED_OUT" if result.outcome == TIMED_OUT else "STOPPED")
        if result.outcome == TIMED_OUT:
            self._finish("TIMED_OUT", "TIMED_OUT")
        elif result.outcome == STOPPED and self.ending is None:
            # Not StopSandbox: the local server stopped its processes (processes.kill_all).
            self._finish("STOPPED", "STOPPED")

    def _on_output(self, line: str) -> None:
        self.runner.log.line(line)
        if self._output is not None:
            self._output.stdout.add_line(line)


def _read_bounded(path: Path) -> str:
    """At most MAX_OUTPUT_CHARACTERS of a command's stderr file, which then goes."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_OUTPUT_CHARACTERS * 4)
    except OSError:
        return ""
    path.unlink(missing_ok=True)
    return data.decode(errors="replace")


# -- state -----------------------------------------------------------------------------


class SandboxBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.sandboxes: dict[str, Sandbox] = {}  # by id, oldest first
        self.idempotency_tokens: dict[str, str] = {}
        self.lock = threading.RLock()

    @property
    def codebuild(self) -> CodeBuildLabBackend:
        return codebuild_lab_backends[self.account_id][self.region_name]

    def reset(self) -> None:
        for sandbox in list(getattr(self, "sandboxes", {}).values()):
            sandbox.stop()
        super().reset()

    def start_sandbox(self, params: dict, endpoint_url: str | None) -> Sandbox:
        name = params.get("projectName")
        if not name:
            raise err.InvalidInputException("StartSandbox needs the projectName of a project")
        codebuild = self.codebuild
        project = codebuild.get_project(name)
        token = params.get("idempotencyToken")
        with self.lock:
            if token and token in self.idempotency_tokens:
                return self.sandboxes[self.idempotency_tokens[token]]
        config = codebuild._build_config(project, {"projectName": project.name}, endpoint_url)
        if config.source["type"] == "CODEPIPELINE":
            raise err.InvalidInputException(
                "Projects with source type CODEPIPELINE get their source from a pipeline: "
                "a sandbox of one has no source to open"
            )
        sandbox = Sandbox(codebuild, project.name, config)
        with self.lock:
            self.sandboxes[sandbox.id] = sandbox
            if token:
                self.idempotency_tokens[token] = sandbox.id
        workers.start(f"codebuild-sandbox-{sandbox.id}", sandbox.prepare)
        return sandbox

    def get_sandbox(self, id_or_arn: str) -> Sandbox:
        sandbox = self.sandboxes.get(id_or_arn.split(":sandbox/", 1)[-1])
        if sandbox is None:
            raise err.ResourceNotFoundException(f"Sandbox {id_or_arn} does not exist")
        return sandbox

    def start_command(self, sandbox_id: str, command: str, kind: str) -> CommandExecution:
        sandbox = self.get_sandbox(sandbox_id)
        execution = sandbox.submit(command, kind)
        workers.start(f"codebuild-sandbox-command-{execution.id}", sandbox.run_pending)
        return execution

    def list_ids(self, project_name: str | None, descending: bool) -> list[str]:
        ids = [
            s.id
            for s in self.sandboxes.values()
            if project_name is None or s.project_name == project_name
        ]
        return ids[::-1] if descending else ids


sandbox_backends = BackendDict(SandboxBackend, "codebuild")


# -- operations ------------------------------------------------------------------------


def _backend(handler: LabHandlers) -> SandboxBackend:
    return sandbox_backends[handler.current_account][handler.region]


class SandboxHandlers(LabHandlers):
    def start_sandbox(self, params: dict) -> dict:
        return {"sandbox": sandbox_reply(_backend(self).start_sandbox(params, _endpoint_url(self)))}

    def stop_sandbox(self, params: dict) -> dict:
        sandbox = _backend(self).get_sandbox(params["id"])
        sandbox.stop()
        return {"sandbox": sandbox_reply(sandbox)}

    def batch_get_sandboxes(self, params: dict) -> dict:
        backend = _backend(self)
        found, missing = [], []
        for sandbox_id in params["ids"]:
            try:
                found.append(sandbox_reply(backend.get_sandbox(sandbox_id)))
            except err.ResourceNotFoundException:
                missing.append(sandbox_id)
        return {"sandboxes": found, "sandboxesNotFound": missing}

    def list_sandboxes(self, params: dict) -> dict:
        ids = _backend(self).list_ids(None, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return with_token({"ids": page}, token)

    def list_sandboxes_for_project(self, params: dict) -> dict:
        backend = _backend(self)
        project = backend.codebuild.get_project(params["projectName"])
        ids = backend.list_ids(project.name, _descending(params, "DESCENDING"))
        page, token = _page(ids, params)
        return with_token({"ids": page}, token)

    def start_command_execution(self, params: dict) -> dict:
        execution = _backend(self).start_command(
            params["sandboxId"], params["command"], params.get("type") or "SHELL"
        )
        return {"commandExecution": command_execution_reply(execution)}

    def batch_get_command_executions(self, params: dict) -> dict:
        try:
            commands = _backend(self).get_sandbox(params["sandboxId"]).commands
        except err.ResourceNotFoundException:
            commands = {}
        found, missing = [], []
        for command_id in params["commandExecutionIds"]:
            execution = commands.get(command_id)
            if execution is None:
                missing.append(command_id)
            else:
                found.append(command_execution_reply(execution))
        return {"commandExecutions": found, "commandExecutionsNotFound": missing}

    def list_command_executions_for_sandbox(self, params: dict) -> dict:
        sandbox = _backend(self).get_sandbox(params["sandboxId"])
        with sandbox.lock:
            executions = list(sandbox.commands.values())
        if _descending(params, "DESCENDING"):
            executions.reverse()
        page, token = _page(executions, params)
        return with_token({"commandExecutions": [command_execution_reply(e) for e in page]}, token)

    def start_sandbox_connection(self, params: dict) -> dict:
        _backend(self).get_sandbox(params["sandboxId"])
        raise err.InvalidInputException(NO_SESSION_MANAGER)


# -- replies ---------------------------------------------------------------------------


def sandbox_reply(sandbox: Sandbox) -> dict:
    config = sandbox.config
    with sandbox.lock:
        reply = {
            "id": sandbox.id,
            "arn": sandbox.arn,
            "projectName": sandbox.project_name,
            "requestTime": sandbox.request_time,
            "status": sandbox.status,
            "source": config.source,
            "secondarySources": config.secondary_sources,
            "secondarySourceVersions": config.secondary_source_versions,
            "environment": build_environment(config),
            "fileSystemLocations": [],
            "timeoutInMinutes": int(config.timeout_minutes),
            "queuedTimeoutInMinutes": config.queued_timeout_minutes,
            "logConfig": config.logs_config,
            "encryptionKey": config.encryption_key,
            "serviceRole": config.service_role,
            "currentSession": session_reply(sandbox),
        }
        if config.source_version:
            reply["sourceVersion"] = config.source_version
        if sandbox.start_time is not None:
            reply["startTime"] = sandbox.start_time
        if sandbox.end_time is not None:
            reply["endTime"] = sandbox.end_time
        return reply


def session_reply(sandbox: Sandbox) -> dict:
    session = sandbox.session
    with session.lock:
        reply = {
            "id": session.id,
            "status": "IN_PROGRESS" if sandbox.status not in ENDED else sandbox.status,
            "startTime": session.start_time,
            "currentPhase": session.current_phase,
            "phases": [phase_reply(phase) for phase in session.phases],
            "logs": _logs_reply(session),
        }
        if session.resolved_source_version:
            reply["resolvedSourceVersion"] = session.resolved_source_version
        if sandbox.end_time is not None:
            reply["endTime"] = sandbox.end_time
        return reply


def command_execution_reply(execution: CommandExecution) -> dict:
    reply: dict = {
        "id": execution.id,
        "sandboxId": execution.sandbox_id,
        "sandboxArn": execution.sandbox_arn,
        "submitTime": execution.submit_time,
        "status": execution.status,
        "command": execution.command,
        "type": execution.type,
        "logs": _logs_reply(execution.session),
    }
    for key, value in (
        ("startTime", execution.start_time),
        ("endTime", execution.end_time),
        ("exitCode", None if execution.exit_code is None else str(execution.exit_code)),
        ("standardOutputContent", execution.stdout.text() or None),
        ("standardErrContent", execution.stderr.text() or None),
    ):
        if value is not None:
            reply[key] = value
    return reply
