"""The emulated CodeDeploy agent: what runs "on" one instance during a deployment.

An offline instance is a folder (its root) that plays the instance's file system: the
appspec destination /var/www/html means <root>/var/www/html. The agent keeps its own
bookkeeping where the real agent does, under <root>/opt/codedeploy-agent/deployment-root/:

    <deployment group id>/<deployment id>/bundle.tar            the downloaded bundle
    <deployment group id>/<deployment id>/deployment-archive/   the unpacked revision
    <deployment group id>/<deployment id>/logs/scripts.log      hook script output
    deployment-instructions/<group id>_last_successful_install   previous good revision
    deployment-instructions/<group id>-cleanup                   files the last Install made

Hook scripts run as child processes with the deployment archive as working directory,
the AWS environment variables (APPLICATION_NAME, DEPLOYMENT_ID, DEPLOYMENT_GROUP_NAME,
DEPLOYMENT_GROUP_ID, LIFECYCLE_EVENT, BUNDLE_*) and two the kit adds: LAB_INSTANCE_ROOT
(the instance's root folder) and LAB_INSTANCE_ID. A script that writes /var/www/html on a
real instance must write "$LAB_INSTANCE_ROOT/var/www/html" offline; HOME and TMPDIR point
inside the instance folder. `runas` is accepted and ignored (scripts run as the learner).
The agent itself never writes outside the instance folder.
"""

from __future__ import annotations

import datetime as dt
import errno
import fnmatch
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import processes, safepaths
from . import bundles

AGENT_ROOT = "opt/codedeploy-agent/deployment-root"
APPSPEC_NAMES = ("appspec.yml", "appspec.yaml")
APPSPEC_DOCS = "http://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file.html"
MAX_TIMEOUT = 3600
LOG_TAIL_CHARS = 4096
KEPT_REVISIONS = 5

# Events the agent handles itself (no scripts), and those whose scripts come from the
# previous successful revision on the instance.
AGENT_ONLY_EVENTS = {"DownloadBundle", "Install", "BlockTraffic", "AllowTraffic"}
PREVIOUS_REVISION_EVENTS = {"ApplicationStop", "BeforeBlockTraffic", "AfterBlockTraffic"}

SUCCESS = {"errorCode": "Success", "scriptName": "", "message": "Succeeded", "logTail": ""}


class LifecycleEventFailed(Exception):
    def __init__(self, error_code: str, message: str, script_name: str = "", log_tail: str = ""):
        super().__init__(message)
        self.diagnostics = {
            "errorCode": error_code,
            "scriptName": script_name,
            "message": message,
            "logTail": log_tail,
        }


def unknown_error(message: str) -> LifecycleEventFailed:
    return LifecycleEventFailed("UnknownError", message)


@dataclass
class DeploymentSpec:
    """What CodeDeploy tells the agent about one deployment."""

    application_name: str
    deployment_id: str
    deployment_group_name: str
    deployment_group_id: str
    lifecycle_events: list[str]
    bundle: bundles.Bundle | None = None
    bundle_error: str | None = None
    file_exists_behavior: str | None = None
    ignore_application_stop_failures: bool = False


@dataclass
class Script:
    location: str
    timeout: int = MAX_TIMEOUT
    runas: str | None = None


@dataclass
class AppSpec:
    files: list[tuple[str, str]] = field(default_factory=list)
    file_exists_behavior: str | None = None
    permissions: list[dict] = field(default_factory=list)
    hooks: dict[str, list[Script]] = field(default_factory=dict)


# --- the AppSpec file -----------------------------------------------------------------


def load_appspec(archive: Path, shown_archive: str) -> AppSpec:
    """Read and check appspec.yml (or appspec.yaml) at the revision root, as the agent does."""
    path = next((archive / name for name in APPSPEC_NAMES if (archive / name).is_file()), None)
    if path is not None and not safepaths.is_inside(archive, path):
        raise unknown_error(
            f"The AppSpec file {path.name} is a symbolic link that leads out of the revision."
        )
    if path is None:
        raise unknown_error(
            "The CodeDeploy agent did not find an AppSpec file within the unpacked revision "
            'directory at revision-relative path "appspec.yml". The revision was unpacked to '
            f'directory "{shown_archive}", and the AppSpec file was expected but not found at '
            f'path "{shown_archive}/appspec.yml". Consult the AWS CodeDeploy Appspec '
            f"documentation for more information at {APPSPEC_DOCS}"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise unknown_error(f"The AppSpec file is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise unknown_error(
            "The AppSpec file must be a YAML mapping with version, os, files and hooks."
        )
    version = document.get("version")
    if str(version) not in ("0.0", "0"):
        raise unknown_error(
            f"The deployment failed because an invalid version value ({version}) was entered "
            'in the application specification file. Make sure your AppSpec file specifies "0.0" '
            "as the version, and then try again."
        )
    system = document.get("os")
    if system not in ("linux", "windows"):
        raise unknown_error(
            f"The deployment failed because the application specification file specifies an "
            f"invalid OS ({system}). Specify linux or windows, and then try again."
        )
    if system != "linux":
        raise unknown_error(
            "The deployment failed because the AppSpec file specifies windows, but the instance "
            "runs linux (the local AWS emulates Linux instances only)."
        )
    return AppSpec(
        files=_parse_files(document.get("files") or []),
        file_exists_behavior=_parse_file_exists_behavior(document.get("file_exists_behavior")),
        permissions=[
            entry for entry in document.get("permissions") or [] if isinstance(entry, dict)
        ],
        hooks=_parse_hooks(document.get("hooks") or {}),
    )


def _parse_files(entries) -> list[tuple[str, str]]:
    if not isinstance(entries, list):
        raise unknown_error("The files section of the AppSpec file must be a list.")
    files = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("source"):
            raise unknown_error(
                "The deployment failed because a files entry in the AppSpec file has no source."
            )
        if not entry.get("destination"):
            raise unknown_error(
                "The deployment failed because a files entry in the AppSpec "
                "file has no destination."
            )
        files.append((str(entry["source"]), str(entry["destination"])))
    return files


def _parse_file_exists_behavior(value) -> str | None:
    if value is None:
        return None
    if str(value).upper() not in ("DISALLOW", "OVERWRITE", "RETAIN"):
        raise unknown_error(
            f"The AppSpec file's file_exists_behavior ({value}) must be "
            "DISALLOW, OVERWRITE or RETAIN."
        )
    return str(value).upper()


def _parse_hooks(section) -> dict[str, list[Script]]:
    if not isinstance(section, dict):
        raise unknown_error(
            "The hooks section of the AppSpec file must be a mapping of "
            "lifecycle event names to lists of scripts."
        )
    hooks: dict[str, list[Script]] = {}
    for event, entries in section.items():
        scripts = []
        for entry in entries or []:
            if not isinstance(entry, dict) or not entry.get("location"):
                raise unknown_error(
                    "The deployment failed because the AppSpec file specifies "
                    f"a {event} script without a location."
                )
            try:
                timeout = int(entry.get("timeout") or MAX_TIMEOUT)
            except (TypeError, ValueError):
                raise unknown_error(
                    f"The timeout of script {entry['location']} must be a number of seconds."
                ) from None
            scripts.append(
                Script(
                    str(entry["location"]), max(1, min(timeout, MAX_TIMEOUT)), entry.get("runas")
                )
            )
        hooks[str(event)] = scripts
    return hooks


# --- the agent --------------------------------------------------------------------------


class Agent:
    """Deploys one revision to one offline instance, lifecycle event by lifecycle event."""

    def __init__(self, root: Path, instance_id: str, spec: DeploymentSpec):
        self.root = root.resolve()
        self.instance_id = instance_id
        self.spec = spec
        self.agent_root = self.root / AGENT_ROOT
        self.instructions = self.agent_root / "deployment-instructions"
        self.deployment_dir = self.agent_root / spec.deployment_group_id / spec.deployment_id
        self.archive = self.deployment_dir / "deployment-archive"
        self._aborted = threading.Event()
        self._process: subprocess.Popen | None = None

    # Paths as the instance sees them (/var/www/html) and as they are on disk.
    def host_path(self, instance_path: str, follow: bool = True) -> Path:
        """The path on disk; refused when it leaves the instance folder, by '..' or through
        a symlink on the way (follow=False: the path itself may be a symlink, to unlink)."""
        path = Path(os.path.normpath(self.root / instance_path.lstrip("/")))
        if not path.is_relative_to(self.root):
            raise unknown_error(f"The path {instance_path} leaves the instance's file system.")
        if path != self.root and not (
            safepaths.is_inside(self.root, path)
            if follow
            else safepaths.parent_is_inside(self.root, path)
        ):
            raise unknown_error(
                f"The path {instance_path} leads out of the instance's file "
                "system through a symbolic link."
            )
        return path

    def shown(self, host_path: Path) -> str:
        return "/" + str(host_path.relative_to(self.root))

    def abort(self) -> None:
        """StopDeployment: end the running script and run no further events."""
        self._aborted.set()
        process = self._process
        if process is not None and process.poll() is None:
            _kill(process)

    def deploy(self, report: Callable[[str, str, dict | None], None]) -> bool:
        """Run every lifecycle event; report(event, status, diagnostics) after each change."""
        events = self.spec.lifecycle_events
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            for directory in (self.root / "root", self.root / "tmp", self.instructions):
                self._make_parents(directory)
        except LifecycleEventFailed as failure:  # the instance folder leads out of itself
            report(events[0], "InProgress", None)
            report(events[0], "Failed", failure.diagnostics)
            for rest in events[1:]:
                report(rest, "Skipped", None)
            return False
        for index, event in enumerate(events):
            if self._aborted.is_set():
                for rest in events[index:]:
                    report(rest, "Skipped", None)
                return False
            report(event, "InProgress", None)
            try:
                self.run_event(event)
            except LifecycleEventFailed as failure:
                report(event, "Failed", failure.diagnostics)
                for rest in events[index + 1 :]:
                    report(rest, "Skipped", None)
                return False
            report(event, "Succeeded", dict(SUCCESS))
        self._record_success()
        return True

    def run_event(self, event: str) -> None:
        if event == "DownloadBundle":
            self._download_bundle()
        elif event == "Install":
            self._install(load_appspec(self.archive, self.shown(self.archive)))
        elif event in AGENT_ONLY_EVENTS:
            return
        elif event in PREVIOUS_REVISION_EVENTS:
            self._run_previous_revision_hooks(event)
        else:
            appspec = load_appspec(self.archive, self.shown(self.archive))
            self._run_hooks(event, appspec, self.archive)

    # --- DownloadBundle -------------------------------------------------------------------
    def _download_bundle(self) -> None:
        if self.spec.bundle is None:
            raise unknown_error(self.spec.bundle_error or "The revision could not be downloaded.")
        self._make_parents(self.deployment_dir)
        if self.archive.is_symlink():
            self.archive.unlink()
        shutil.rmtree(self.archive, ignore_errors=True)
        self._write_own(self.deployment_dir / "bundle.tar", self.spec.bundle.data)
        try:
            bundles.unpack(self.spec.bundle, self.archive)
        except bundles.BundleError as error:
            raise unknown_error(str(error)) from None

    # --- Install --------------------------------------------------------------------------
    def _install(self, appspec: AppSpec) -> None:
        """Remove what the group's last Install put here, then copy the files section."""
        behavior = appspec.file_exists_behavior or self.spec.file_exists_behavior or "DISALLOW"
        cleanup_file = self.instructions / f"{self.spec.deployment_group_id}-cleanup"
        self._remove_listed(cleanup_file)
        plan = self._copy_plan(appspec)
        # Check every destination before copying anything, like the agent's install plan.
        if behavior == "DISALLOW":
            for _, target in plan:
                if target.exists() or target.is_symlink():
                    raise unknown_error(
                        "The deployment failed because a specified file already "
                        f"exists at this location: {self.shown(target)}"
                    )
        installed: list[str] = []
        for source, target in plan:
            if (target.exists() or target.is_symlink()) and behavior == "RETAIN":
                continue
            installed += self._make_parents(target.parent)
            if not safepaths.parent_is_inside(self.root, target):
                raise unknown_error(
                    f"The destination {self.shown(target)} leads out of the "
                    "instance's file system through a symbolic link."
                )
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            shutil.copy2(source, target)
            installed.append(self.shown(target))
        self._write_own(cleanup_file, "".join(line + "\n" for line in installed).encode())
        self._apply_permissions(appspec.permissions)

    def _copy_plan(self, appspec: AppSpec) -> list[tuple[Path, Path]]:
        plan = []
        archive = self.archive.resolve()
        for source, destination in appspec.files:
            if not destination.startswith("/"):
                raise unknown_error(
                    f"The destination {destination} in the AppSpec file must be an absolute path."
                )
            origin = Path(os.path.normpath(archive / source.lstrip("/")))
            if not origin.is_relative_to(archive):
                raise unknown_error(f"The source {source} leaves the revision.")
            if not origin.exists():
                raise unknown_error(
                    f"The source {source} in the files section of the AppSpec "
                    "file does not exist in the revision."
                )
            target_dir = self.host_path(destination)
            items = (
                [item for item in sorted(origin.rglob("*")) if item.is_file()]
                if origin.is_dir()
                else [origin]
            )
            for item in items:
                if not safepaths.is_inside(archive, item):
                    raise unknown_error(
                        f"The source {source} in the files section of the "
                        "AppSpec file leads out of the revision through a "
                        "symbolic link."
                    )
                relative = item.relative_to(origin) if origin.is_dir() else Path(origin.name)
                plan.append((item, target_dir / relative))
        return plan

    def _make_parents(self, directory: Path) -> list[str]:
        """Create missing folders; return them (outermost first) for the cleanup file.

        The deepest existing folder must be a folder of the instance (a symlink on the
        way that leads out is refused), so nothing is created outside it.
        """
        missing = []
        while not (directory.exists() or directory.is_symlink()) and directory != self.root:
            missing.append(directory)
            directory = directory.parent
        if not (directory.is_dir() and safepaths.is_inside(self.root, directory)):
            raise unknown_error(
                f"{self.shown(directory)} is not a folder of the instance (a "
                "file, or a symbolic link that leads out of it)."
            )
        for folder in reversed(missing):
            folder.mkdir()
        return [self.shown(folder) for folder in reversed(missing)]

    def _write_own(self, path: Path, data: bytes) -> None:
        """Write one of the agent's own files, never through a symlink put in its place."""
        if not safepaths.parent_is_inside(self.root, path):
            raise unknown_error(
                f"{self.shown(path)} leads out of the instance's file system "
                "through a symbolic link."
            )
        if path.is_symlink():
            path.unlink()
        path.write_bytes(data)

    def _remove_listed(self, cleanup_file: Path) -> None:
        if not cleanup_file.exists():
            return
        for line in reversed(cleanup_file.read_text().splitlines()):
            if not line.strip():
                continue
            path = self.host_path(line.strip(), follow=False)
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        cleanup_file.unlink()

    def _apply_permissions(self, entries: list[dict]) -> None:
        """The permissions section's mode (owner, group, acls and context need root)."""
        for entry in entries:
            if not entry.get("object") or entry.get("mode") is None:
                continue
            try:
                mode = int(str(entry["mode"]), 8)
            except ValueError:
                raise unknown_error(
                    f"Invalid mode {entry['mode']} in the permissions section."
                ) from None
            top = self.host_path(str(entry["object"]))
            if top.is_file():
                top.chmod(mode)
                continue
            if not top.is_dir():
                continue
            pattern = str(entry.get("pattern") or "**")
            excluded = [str(item) for item in entry.get("except") or []]
            kinds = entry.get("type") or ["file", "directory"]
            for path in top.rglob("*"):
                if path.is_symlink():  # chmod would change what it points to
                    continue
                kind = "directory" if path.is_dir() else "file"
                name = path.name
                if kind not in kinds or any(fnmatch.fnmatch(name, ex) for ex in excluded):
                    continue
                if pattern == "**" or fnmatch.fnmatch(name, pattern):
                    path.chmod(mode)

    # --- hooks ----------------------------------------------------------------------------
    def _run_previous_revision_hooks(self, event: str) -> None:
        """ApplicationStop and the BlockTraffic hooks run the last successful revision's scripts
        (none on an instance's first deployment)."""
        marker = self.instructions / f"{self.spec.deployment_group_id}_last_successful_install"
        if not marker.exists():
            return
        previous_archive = self.host_path(marker.read_text().strip()) / "deployment-archive"
        if not previous_archive.is_dir():
            return
        try:
            appspec = load_appspec(previous_archive, self.shown(previous_archive))
            self._run_hooks(event, appspec, previous_archive)
        except LifecycleEventFailed:
            if event == "ApplicationStop" and self.spec.ignore_application_stop_failures:
                return
            raise

    def _run_hooks(self, event: str, appspec: AppSpec, archive: Path) -> None:
        for script in appspec.hooks.get(event, []):
            if self._aborted.is_set():
                raise unknown_error("The deployment was stopped before this script ran.")
            self._run_script(event, script, archive)

    def _run_script(self, event: str, script: Script, archive: Path) -> None:
        path = Path(os.path.normpath(archive / script.location.lstrip("/")))
        if not path.is_relative_to(archive) or not path.is_file():
            shown = self.shown(path) if path.is_relative_to(self.root) else script.location
            raise LifecycleEventFailed(
                "ScriptMissing",
                f"Script does not exist at specified location: {shown}",
                script.location,
            )
        if not os.access(path, os.X_OK):
            # The agent makes a hook script executable if it is not.
            try:
                path.chmod(path.stat().st_mode | 0o111)
            except OSError as error:
                raise LifecycleEventFailed(
                    "ScriptNotExecutable",
                    f"Script at specified location: {script.location} is not executable ({error})",
                    script.location,
                ) from None
        output = ScriptOutput()
        log = self.deployment_dir / "logs" / "scripts.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            exit_code = self._execute(
                path, archive, self._environment(event), script.timeout, output
            )
        finally:
            with log.open("a") as handle:
                stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
                handle.write(
                    f"[{stamp}] LifecycleEvent - {event}\n[{stamp}] Script - {script.location}\n"
                )
                handle.writelines(f"[{stamp}]{line}\n" for line in output.lines)
        if exit_code is None:
            raise LifecycleEventFailed(
                "ScriptTimedOut",
                f"Script at specified location: {script.location} failed to complete in "
                f"{script.timeout} seconds",
                script.location,
                output.tail(),
            )
        if self._aborted.is_set() and exit_code != 0:
            raise LifecycleEventFailed(
                "UnknownError",
                "The deployment was stopped while this script was running.",
                script.location,
                output.tail(),
            )
        if exit_code != 0:
            who = f" run as user {script.runas}" if script.runas else ""
            raise LifecycleEventFailed(
                "ScriptFailed",
                f"Script at specified location: {script.location}{who} failed with exit code "
                f"{exit_code}",
                script.location,
                output.tail(),
            )

    def _environment(self, event: str) -> dict[str, str]:
        environment = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": str(self.root / "root"),
            "TMPDIR": str(self.root / "tmp"),
            "APPLICATION_NAME": self.spec.application_name,
            "DEPLOYMENT_ID": self.spec.deployment_id,
            "DEPLOYMENT_GROUP_NAME": self.spec.deployment_group_name,
            "DEPLOYMENT_GROUP_ID": self.spec.deployment_group_id,
            "LIFECYCLE_EVENT": event,
            "LAB_INSTANCE_ROOT": str(self.root),
            "LAB_INSTANCE_ID": self.instance_id,
            # The instance lies inside the kit's checkout (.lab-state/): git in a hook
            # must not find the kit's repository.
            "GIT_CEILING_DIRECTORIES": str(self.root.parent),
        }
        if self.spec.bundle is not None:
            environment.update(self.spec.bundle.environment)
        return environment

    def _execute(
        self, path: Path, cwd: Path, environment: dict[str, str], timeout: int, output: ScriptOutput
    ) -> int | None:
        """Run the script; its exit code, or None when it ran out of time (then killed)."""
        command = [str(path)]
        try:
            try:
                process = _spawn(command, cwd, environment, self._aborted.set)
            except OSError as error:
                if error.errno != errno.ENOEXEC:
                    raise LifecycleEventFailed(
                        "ScriptFailed",
                        f"Script at specified location: {path.name} could not be run: {error}",
                    ) from None
                # No "#!" line: run it with sh, as the agent's Ruby spawn does.
                process = _spawn(["/bin/sh", str(path)], cwd, environment, self._aborted.set)
        except processes.ServerStopping:
            self._aborted.set()
            raise unknown_error("The local AWS stopped before this script ran.") from None
        self._process = process
        if self._aborted.is_set():
            _kill(process)
        readers = [
            threading.Thread(target=output.read, args=(stream, label), daemon=True)
            for stream, label in ((process.stdout, "stdout"), (process.stderr, "stderr"))
        ]
        for reader in readers:
            reader.start()
        try:
            exit_code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.wait()
            exit_code = None
        finally:
            self._process = None
        for reader in readers:
            # A background child may keep the pipe open; do not wait for it.
            reader.join(timeout=1)
        # A daemon the script started keeps its group registered until the server stops.
        processes.forget_if_ended(process)
        return exit_code

    # --- bookkeeping ----------------------------------------------------------------------
    def _record_success(self) -> None:
        """Remember this revision for the next ApplicationStop, keep the last few archives."""
        marker = self.instructions / f"{self.spec.deployment_group_id}_last_successful_install"
        self._write_own(marker, (self.shown(self.deployment_dir) + "\n").encode())
        group_dir = self.deployment_dir.parent
        older = sorted(
            (
                path
                for path in group_dir.iterdir()
                if path.is_dir() and not path.is_symlink() and path != self.deployment_dir
            ),
            key=lambda path: path.stat().st_mtime,
        )
        for path in older[: max(0, len(older) - (KEPT_REVISIONS - 1))]:
            shutil.rmtree(path, ignore_errors=True)


class ScriptOutput:
    """A script's output lines, labelled [stdout]/[stderr] as in the agent's logTail."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def read(self, stream, label: str) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                self.lines.append(f"[{label}]{raw.decode(errors='replace').rstrip()}")
        stream.close()

    def tail(self) -> str:
        with self._lock:
            text = "".join(line + "\n" for line in self.lines)
        return text[-LOG_TAIL_CHARS:]


def _spawn(
    command: list[str],
    cwd: Path,
    environment: dict[str, str],
    on_kill: Callable[[], None] | None = None,
) -> subprocess.Popen:
    # A session of its own, so a timeout, a stop or a stopping server ends the script and
    # its children (processes.spawn registers the group; on_kill hears of a server stop).
    return processes.spawn(
        command,
        on_kill=on_kill,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill(process: subprocess.Popen) -> None:
    processes.kill(process)
