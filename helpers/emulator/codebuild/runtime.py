"""Running one build, phase by phase, as the worker thread drives it.

QUEUED -> PROVISIONING (workspace, log stream, project variables) -> DOWNLOAD_SOURCE
(sources, buildspec) -> INSTALL -> PRE_BUILD -> BUILD -> POST_BUILD (one bash session) ->
UPLOAD_ARTIFACTS -> FINALIZING -> COMPLETED.

Phase transitions on failure follow view-build-details.md ("Build phase transitions")
and build-spec-ref.md: a failed INSTALL or PRE_BUILD goes to FINALIZING; a failed BUILD
still runs POST_BUILD; UPLOAD_ARTIFACTS is attempted after a failed BUILD or POST_BUILD.
on-failure CONTINUE goes on to the next phase; an explicit on-failure ABORT skips the
remaining command phases. Skipped phases are not listed, as in AWS.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback

from .. import events, identities, moto_backends, workers
from . import artifacts as artifact_files
from . import buildspec as buildspec_parser
from . import buildspec_keys, caches, coverage, fleets, sources
from . import reports as report_files
from .artifacts import ArtifactError, Destination
from .buildspec import BuildSpec, BuildSpecError, PhaseSpec
from .logs import BuildLog
from .models import Build, CodeBuildLabBackend, Report, build_environment, seconds_per_minute
from .shell import OK, STOPPED, TIMED_OUT, ShellSession

log = logging.getLogger("helpers.emulator.codebuild")

COMMAND_PHASES = ("INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD")
PHASE_KEYS_BY_TYPE = {value: key for key, value in buildspec_parser.PHASE_KEYS.items()}
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
RUNTIME_WARNING = (
    "Skipping install of runtimes. Runtime version selection is not supported by this build image."
)


class PhaseFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def run(backend: CodeBuildLabBackend, build: Build) -> None:
    BuildRunner(backend, build).run()


class BuildRunner:
    def __init__(self, backend: CodeBuildLabBackend, build: Build) -> None:
        self.backend = backend
        self.build = build
        self.config = build.config
        self.src_dir = build.workspace / "src"
        self.control_dir = build.workspace / "control"
        self.log = BuildLog(build.account, build.region, None, None)
        self.spec: BuildSpec | None = None
        self.env: dict[str, str] = {}
        self.project_variables: dict[str, str] = {}  # project's and StartBuild's, resolved
        self.deadline = time.monotonic() + build.config.timeout_minutes * seconds_per_minute()
        self.session: ShellSession | None = None
        self.failed = False  # CODEBUILD_BUILD_SUCCEEDING=0 from the first failed phase on

    def run(self) -> None:
        events.codebuild_build_state(self.build)  # IN_PROGRESS
        status = "FAULT"
        try:
            status = self._phases()
        except Exception as error:  # a bug in the kit: the build ends FAULT, the kit goes on
            log.error(
                "build %s failed inside the lab kit:\n%s", self.build.id, traceback.format_exc()
            )
            if self.build.phases[-1].end is None:
                self.build.end_phase("FAULT", "INTERNAL_ERROR", f"lab kit error: {error!r}")
        finally:
            self._finalize(status)
            fleets.release(self.backend, self.build)  # its fleet slot, to the next queued

    # -- the phases -----------------------------------------------------------------

    def _phases(self) -> str:
        build = self.build
        waited = fleets.wait_for_capacity(self.backend, build)  # QUEUED while its fleet is full
        if waited is not None:
            self._end_interrupted(waited)
            return self._interrupted_status(waited)
        build.end_phase(SUCCEEDED)  # QUEUED: a worker has picked the build up
        workers.pace()

        build.start_phase("PROVISIONING")
        self.deadline = time.monotonic() + self.config.timeout_minutes * seconds_per_minute()
        for folder in ("src", "control", "home", "tmp"):
            (build.workspace / folder).mkdir(parents=True, exist_ok=True)
        self.log = BuildLog(build.account, build.region, build.log_group, build.log_stream)
        self.log.container(fleets.compute_line(self.backend, build))
        self.log.container("Waiting for agent ping")
        self.log.container("Waiting for DOWNLOAD_SOURCE")
        outcome = self._step(self._provision)
        if outcome != SUCCEEDED:
            return outcome
        workers.pace()

        build.start_phase("DOWNLOAD_SOURCE")
        outcome = self._step(self._download_source)
        if outcome != SUCCEEDED:
            return outcome
        workers.pace()

        outcome, upload = self._command_phases()
        if outcome in (STOPPED, TIMED_OUT):
            return self._interrupted_status(outcome)
        self._capture_exported_variables()
        if upload:
            build.start_phase("UPLOAD_ARTIFACTS")
            if self._step(self._upload_artifacts) != SUCCEEDED:
                self.failed = True
        if self.spec is not None and upload:
            caches.save(self.backend, build, self.spec.cache_paths, self.log.container)
        self._reports()
        return FAILED if self.failed else SUCCEEDED

    def _step(self, work) -> str:
        """Run a non-command phase: SUCCEEDED, FAILED (with the failure's context) or
        the interrupted status, and end the phase accordingly."""
        interrupted = self._interruption()
        if interrupted is None:
            try:
                work()
            except PhaseFailure as failure:
                self.build.end_phase(FAILED, failure.code, failure.message)
                self._phase_complete(FAILED, failure.code, failure.message)
                return FAILED
            interrupted = self._interruption()
        if interrupted is not None:
            self._end_interrupted(interrupted)
            return self._interrupted_status(interrupted)
        self.build.end_phase(SUCCEEDED)
        self._phase_complete(SUCCEEDED)
        return SUCCEEDED

    def _loaded_spec(self) -> BuildSpec:
        """The buildspec, which DOWNLOAD_SOURCE reads before any phase that uses it."""
        assert self.spec is not None
        return self.spec

    def _shell(self) -> ShellSession:
        """The build's bash session, which the command phases open first."""
        assert self.session is not None
        return self.session

    def _command_phases(self) -> tuple[str, bool]:
        """INSTALL to POST_BUILD: (SUCCEEDED/FAILED or STOPPED/TIMED_OUT, upload artifacts?)."""
        with self.build.lock:
            if self.build.stop_requested:
                return STOPPED, False
            session = ShellSession(
                self.src_dir,
                self.env,
                self.control_dir,
                self.log.line,
                buildspec_keys.shell_command(self._loaded_spec()),
            )
            self.session = self.build.session = session
        phases = self._loaded_spec().phases
        upload = True
        for phase_type in COMMAND_PHASES:
            spec = phases.get(phase_type, PhaseSpec())
            self.build.start_phase(phase_type)
            self.log.container(f"Entering phase {phase_type}")
            interrupted = self._interruption()
            if interrupted is None:
                status, code, message = self._run_commands(spec)
                if status in (STOPPED, TIMED_OUT):
                    interrupted = status
            if interrupted is not None:
                self._end_interrupted(interrupted)
                return interrupted, False
            self.build.end_phase(status, code, message)
            self._phase_complete(status, code, message)
            workers.pace()
            if status == SUCCEEDED:
                continue
            if not self.failed:
                self.failed = True
                session.run("export CODEBUILD_BUILD_SUCCEEDING=0", self.deadline, echo=False)
            if spec.on_failure == "CONTINUE":
                continue
            if spec.on_failure == "ABORT":
                return FAILED, phase_type in ("BUILD", "POST_BUILD")
            if phase_type in ("INSTALL", "PRE_BUILD"):
                return FAILED, False
            # BUILD goes on to POST_BUILD; POST_BUILD goes on to UPLOAD_ARTIFACTS
        return (FAILED if self.failed else SUCCEEDED), upload

    def _run_commands(self, spec: PhaseSpec) -> tuple[str, str, str]:
        if spec.runtime_versions:
            self.log.container(RUNTIME_WARNING)
        failure = None
        for command in spec.commands:
            result = self._command(command)
            if result.outcome != OK:
                return result.outcome, "", ""
            if result.exit_code != 0:
                failure = (command, result.exit_code)
                break
        for command in spec.finally_commands:  # run whatever happened in commands
            result = self._command(command)
            if result.outcome != OK:
                return result.outcome, "", ""
            if result.exit_code != 0:
                failure = failure or (command, result.exit_code)
                break
        if failure is None:
            return SUCCEEDED, "", ""
        command, code = failure
        return (
            FAILED,
            "COMMAND_EXECUTION_ERROR",
            f"Error while executing command: {command}. Reason: exit status {code}",
        )

    def _command(self, command: str):
        session = self._shell()
        if self._loaded_spec().version == "0.1":
            session.restart()  # 0.1: every command in its own shell
        self.log.container(f"Running command {command}")
        result = session.run(command, self.deadline)
        if result.outcome == OK and result.exit_code != 0:
            self.log.container(
                f"Command did not exit successfully {command} exit status {result.exit_code}"
            )
        return result

    # -- interruptions: StopBuild and the build timeout ------------------------------

    def _interruption(self) -> str | None:
        if self.build.stop_requested:
            return STOPPED
        if time.monotonic() >= self.deadline:
            return TIMED_OUT
        return None

    def _end_interrupted(self, outcome: str) -> None:
        if self.build.stop_requested:
            outcome = STOPPED
        if outcome == TIMED_OUT:
            self.build.end_phase("TIMED_OUT", "BUILD_TIMED_OUT", "Build has timed out. ")
            self._phase_complete("TIMED_OUT", "BUILD_TIMED_OUT", "Build has timed out. ")
        else:
            self.build.end_phase("STOPPED", "BUILD_STOPPED", "Build was stopped by request")
            self._phase_complete("STOPPED", "BUILD_STOPPED", "Build was stopped by request")

    def _interrupted_status(self, outcome: str) -> str:
        return "STOPPED" if self.build.stop_requested or outcome == STOPPED else "TIMED_OUT"

    # -- PROVISIONING and DOWNLOAD_SOURCE --------------------------------------------

    def _provision(self) -> None:
        build, config = self.build, self.config
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"),
            "HOME": str(build.workspace / "home"),
            "TMPDIR": str(build.workspace / "tmp"),
            "LANG": "C.UTF-8",
            "SHELL": "/bin/bash",
            "AWS_REGION": build.region,
            "AWS_DEFAULT_REGION": build.region,
            # The workspace lies inside the kit's checkout (.lab-state/): git in the build
            # must find the build's own repository or none, never the kit's.
            "GIT_CEILING_DIRECTORIES": str(build.workspace.resolve().parent),
        }
        if config.endpoint_url:  # builds started through the local server can call it
            # ...signed as the project's service role, as on AWS (its temporary credentials).
            key, secret, token = identities.role_session(
                config.service_role,
                "AWSCodeBuild-" + build.id.rsplit(":", 1)[-1],
                int(config.timeout_minutes * 60) + 3600,
                build.region,
            )
            env.update(
                AWS_ENDPOINT_URL=config.endpoint_url,
                AWS_ACCESS_KEY_ID=key,
                AWS_SECRET_ACCESS_KEY=secret,
                AWS_SESSION_TOKEN=token,
            )
        self.env = env
        # Project and StartBuild variables: resolved now, applied over the buildspec's later.
        for variable in build_environment(config)["environmentVariables"]:
            self.project_variables[variable["name"]] = self._resolve(
                variable.get("type", "PLAINTEXT"), variable["value"]
            )

    def _download_source(self) -> None:
        build, config = self.build, self.config
        self.log.container("Phase is DOWNLOAD_SOURCE")
        inputs = build.pipeline_inputs
        try:
            fetched = sources.fetch(
                build.account,
                build.region,
                config.source,
                config.source_version,
                self.src_dir,
                inputs.get(build.pipeline_primary or ""),
            )
            build.resolved_source_version = fetched.resolved_version
            versions = {
                v["sourceIdentifier"]: v["sourceVersion"] for v in config.secondary_source_versions
            }
            secondary_dirs = {}
            for extra in config.secondary_sources:
                identifier = extra.get("sourceIdentifier", "")
                folder = sources.secondary_folder(build.workspace, identifier)
                sources.fetch(
                    build.account,
                    build.region,
                    extra,
                    versions.get(identifier),
                    folder,
                    inputs.get(identifier),
                )
                secondary_dirs[identifier] = folder
        except sources.SourceError as error:
            raise PhaseFailure("CLIENT_ERROR", str(error)) from None
        caches.restore(self.backend, build, self.log.container)
        self.log.container(f"CODEBUILD_SRC_DIR={self.src_dir}")
        try:
            self.spec = buildspec_parser.parse(self._buildspec_text())
        except BuildSpecError as error:
            raise PhaseFailure("YAML_FILE_ERROR", str(error)) from None
        for note in buildspec_keys.notes(self.spec, PHASE_KEYS_BY_TYPE):
            self.log.container(note)
        self.log.container("Processing environment variables")
        spec = self.spec
        variables = dict(spec.variables)
        for name, reference in spec.parameter_store.items():
            variables[name] = self._resolve("PARAMETER_STORE", reference)
        for name, reference in spec.secrets_manager.items():
            variables[name] = self._resolve("SECRETS_MANAGER", reference)
        variables.update(self.project_variables)  # StartBuild > project > buildspec
        self.env.update(variables)
        self.env.update(self._builtin_variables(secondary_dirs, versions))
        self.log.container(f"Moving to directory {self.src_dir}")

    def _builtin_variables(self, secondary_dirs: dict, versions: dict) -> dict[str, str]:
        build, config = self.build, self.config
        values = {
            "CODEBUILD_BUILD_ID": build.id,
            "CODEBUILD_BUILD_ARN": build.arn,
            "CODEBUILD_BUILD_NUMBER": str(build.number),
            "CODEBUILD_BUILD_IMAGE": config.environment.get("image", ""),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": build.initiator,
            "CODEBUILD_KMS_KEY_ID": config.encryption_key,
            "CODEBUILD_LOG_PATH": build.log_stream or build.uuid,
            "CODEBUILD_SRC_DIR": str(self.src_dir),
            "CODEBUILD_START_TIME": str(int(build.start_time.timestamp() * 1000)),
        }
        if build.batch_identifier:  # a build of a batch (batches.py)
            values["CODEBUILD_BATCH_BUILD_IDENTIFIER"] = build.batch_identifier
        source = config.source
        if source["type"] == "S3":
            values["CODEBUILD_SOURCE_REPO_URL"] = f"s3://{source['location'].split(':::')[-1]}"
        elif source.get("location"):
            values["CODEBUILD_SOURCE_REPO_URL"] = source["location"]
        version = config.source_version or build.resolved_source_version
        if version:
            values["CODEBUILD_SOURCE_VERSION"] = version
        if build.resolved_source_version:
            values["CODEBUILD_RESOLVED_SOURCE_VERSION"] = build.resolved_source_version
        values.update(config.webhook_variables)
        for identifier, folder in secondary_dirs.items():
            values[f"CODEBUILD_SRC_DIR_{identifier}"] = str(folder)
            if versions.get(identifier):
                values[f"CODEBUILD_SOURCE_VERSION_{identifier}"] = versions[identifier]
        return values

    def _buildspec_text(self) -> str:
        given = self.config.buildspec or ""
        value = given.strip()
        if value.startswith("arn:aws:s3:::"):
            bucket, key = sources.split_s3_location(value)
            try:
                item = moto_backends.get_object(self.build.account, bucket, key)
            except moto_backends.S3Refused:
                item = None
            if item is None:
                raise BuildSpecError(f"YAML file does not exist: {value}")
            return item.data.decode(errors="replace")
        if "\n" in value or ":" in value:  # an inline buildspec, not a file name
            return given
        path = buildspec_parser.locate(self.src_dir, value or "buildspec.yml")
        self.log.container(f"YAML location is {path}")
        return path.read_text(errors="replace")

    def _resolve(self, kind: str, reference: str) -> str:
        """A variable's value; PARAMETER_STORE and SECRETS_MANAGER are read from moto."""
        build = self.build
        if kind == "PARAMETER_STORE":
            value = moto_backends.ssm_parameter(build.account, build.region, reference)
            if value is None:
                raise PhaseFailure(
                    "Decrypted Variables Error", f"parameter does not exist: {reference}"
                )
            self.log.secrets.append(value)
            return value
        if kind == "SECRETS_MANAGER":
            value = self._secret(reference)
            self.log.secrets.append(value)
            return value
        return reference

    def _secret(self, reference: str) -> str:
        parts = reference.split(":")
        split = 7 if reference.startswith("arn:") else 1
        secret_id = ":".join(parts[:split])
        json_key, stage, version_id = (parts[split:] + ["", "", ""])[:3]
        try:
            secret = moto_backends.secret_value(
                self.build.account,
                self.build.region,
                secret_id,
                version_id or None,
                stage or ("AWSCURRENT" if not version_id else None),
            )
        except moto_backends.SecretRefused as error:
            raise PhaseFailure(
                "Secrets Manager Error",
                f"{error.reason}: Secrets Manager can't find the "
                f"specified secret value for {reference}",
            ) from None
        text = secret.get("SecretString") or ""
        if not json_key:
            return text
        try:
            return str(json.loads(text)[json_key])
        except (ValueError, KeyError, TypeError):
            raise PhaseFailure(
                "Secrets Manager Error", f"secret {secret_id} has no JSON key {json_key}"
            ) from None

    # -- after the commands ----------------------------------------------------------

    def _capture_exported_variables(self) -> None:
        names = self.spec.exported_variables if self.spec else []
        if not names or self.session is None:
            return
        values = self.session.read_variables(names, self.deadline)
        self.build.exported_variables = [
            {"name": name, "value": values.get(name, "")} for name in names
        ]

    def _upload_artifacts(self) -> None:
        build, config, spec = self.build, self.config, self._loaded_spec()
        if spec.artifacts is None:
            if config.artifacts.get("type") != "NO_ARTIFACTS":
                self.log.container("No artifacts section in the buildspec: nothing to upload")
            return
        try:
            destination = self._destination(config.artifacts, None)
            if destination is not None:
                files = artifact_files.select_files(self.src_dir, spec.artifacts)
                self.log.container(
                    f"Uploading {len(files)} file(s) to s3://{destination.bucket}/{destination.key}"
                )
                uploaded = artifact_files.upload(build.account, files, destination, build.arn)
                location: dict[str, str | None] = {"location": uploaded.location}
                if uploaded.sha256:
                    location.update(sha256sum=uploaded.sha256, md5sum=uploaded.md5)
                build.artifact_location = location
            locations = []
            for extra in config.secondary_artifacts:
                identifier = extra.get("artifactIdentifier", "")
                extra_spec = spec.secondary_artifacts.get(identifier)
                if extra_spec is None:
                    raise ArtifactError(
                        f"no definition for secondary artifact {identifier} in the buildspec"
                    )
                destination = self._destination(extra, identifier, extra_spec)
                if destination is None:
                    continue
                files = artifact_files.select_files(self.src_dir, extra_spec)
                uploaded = artifact_files.upload(build.account, files, destination, build.arn)
                locations.append({"location": uploaded.location, "artifactIdentifier": identifier})
            build.secondary_artifact_locations = locations
        except ArtifactError as error:
            self.log.container(f"Phase context status code: CLIENT_ERROR Message: {error}")
            raise PhaseFailure("CLIENT_ERROR", str(error)) from None

    def _destination(
        self, artifacts: dict, identifier: str | None, spec=None
    ) -> Destination | None:
        kind = artifacts.get("type")
        spec = spec or self._loaded_spec().artifacts
        if kind == "CODEPIPELINE":
            outputs = self.build.pipeline_outputs
            if identifier is None:
                if not outputs:
                    return None
                bucket, key = next(iter(outputs.values()))
            elif identifier in outputs:
                bucket, key = outputs[identifier]
            else:
                return None
            return Destination(bucket, key, "ZIP")
        if kind != "S3":
            return None
        name = artifacts.get("name") or self.build.project_name
        if artifacts.get("overrideArtifactName") and spec.name:
            name = self._shell_expand(spec.name) or name
        build_uuid = self.build.uuid if artifacts.get("namespaceType") == "BUILD_ID" else None
        key = artifact_files.object_key(artifacts.get("path"), build_uuid, name)
        return Destination(artifacts["location"], key, artifacts.get("packaging") or "NONE")

    def _shell_expand(self, text: str) -> str:
        """An artifact name is shell text (`name: app-$(date +%F)`), evaluated in the build."""
        out = self.control_dir / "artifact-name.txt"
        self._shell().run(f'printf "%s" "{text}" > "{out}"', self.deadline, echo=False)
        return out.read_text().strip() if out.exists() else ""

    def _reports(self) -> None:
        if self.spec is None:
            return
        for key, spec in self.spec.reports.items():
            kind = "CODE_COVERAGE" if spec.file_format in coverage.COVERAGE_FORMATS else "TEST"
            group = self.backend.group_for_build(self.build.project_name, key, kind)
            if group is None:
                self.log.container(f"Report group {key} does not exist; skipping its report")
                continue
            if group.type != kind:
                self.log.container(f"Report group {key} is a {group.type} group, not {kind}")
                continue
            files = report_files.report_files(self.src_dir, spec)
            if not files:
                self.log.container(f"Skipping report {key}: no report files matched")
                continue
            report = Report(group, self.build)
            self.backend.add_report(report)
            self.build.report_arns.append(report.arn)
            if kind == "CODE_COVERAGE":
                coverage.finish_report(report, spec.file_format, files, self.log.container)
                continue
            if spec.file_format not in report_files.TEST_FORMATS:
                self.log.container(f"Report {key}: {spec.file_format} is not read offline")
                report.finish("INCOMPLETE", [])
                continue
            cases, broken = [], False
            for path, name in files:
                try:
                    cases += report_files.parse_junit(path, name)
                except report_files.ReportFileError as error:
                    broken = True
                    self.log.container(f"Report {key}: {error}")
            failing = any(case.status in ("FAILED", "ERROR") for case in cases)
            report.finish("FAILED" if failing or broken else "SUCCEEDED", cases)
            self.log.container(f"Report {group.name}: {len(cases)} test case(s)")

    def _finalize(self, status: str) -> None:
        build = self.build
        try:
            if build.phases[-1].end is None:
                build.end_phase("FAULT", "INTERNAL_ERROR", "the build ended unexpectedly")
            build.start_phase("FINALIZING")
            self.log.container("Entering phase FINALIZING")
            if self.session is not None:
                self.session.close()
            build.end_phase(SUCCEEDED)
            self._phase_complete(SUCCEEDED)
        except Exception:
            log.exception("finalizing build %s", build.id)
        finally:
            build.complete(status)

    def _phase_complete(self, status: str, code: str = "", message: str = "") -> None:
        phase = self.build.phases[-1].type
        self.log.container(f"Phase complete: {phase} State: {status}")
        self.log.container(f"Phase context status code: {code} Message: {message}")
