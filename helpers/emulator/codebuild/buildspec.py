"""Reading a buildspec: YAML in, a checked BuildSpec out, or a BuildSpecError naming the problem.

A BuildSpecError fails the build in DOWNLOAD_SOURCE with status code YAML_FILE_ERROR, as
in AWS. Only what the runner uses is modelled; other keys (cache, batch...) are accepted
and ignored here. env/shell, run-as, proxy and env/git-credential-helper are read and
checked; buildspec_keys.py says how the runner honours or explains them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from .. import safepaths

PHASE_KEYS = {
    "install": "INSTALL",
    "pre_build": "PRE_BUILD",
    "build": "BUILD",
    "post_build": "POST_BUILD",
}
ON_FAILURE_VALUES = ("ABORT", "CONTINUE")
SUPPORTED_VERSIONS = ("0.1", "0.2")
SHELLS = ("bash", "/bin/sh", "powershell.exe", "cmd.exe")  # env/shell's tags, Linux and Windows
PROXY_KEYS = ("upload-artifacts", "logs")


class BuildSpecError(Exception):
    pass


@dataclass
class PhaseSpec:
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str | None = None  # None: the default phase transitions
    runtime_versions: dict = field(default_factory=dict)
    run_as: str | None = None


@dataclass
class ArtifactSpec:
    files: list[str]
    name: str | None = None
    base_directory: str | None = None
    discard_paths: bool = False
    exclude_paths: list[str] = field(default_factory=list)


@dataclass
class ReportSpec:
    files: list[str]
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"


@dataclass
class BuildSpec:
    version: str
    phases: dict[str, PhaseSpec]  # by API phase type: INSTALL, PRE_BUILD, BUILD, POST_BUILD
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    exported_variables: list[str] = field(default_factory=list)
    artifacts: ArtifactSpec | None = None
    secondary_artifacts: dict[str, ArtifactSpec] = field(default_factory=dict)
    reports: dict[str, ReportSpec] = field(default_factory=dict)
    shell: str | None = None  # env/shell
    run_as: str | None = None
    proxy: dict[str, bool] = field(default_factory=dict)
    git_credential_helper: bool = False
    cache_paths: list[str] = field(default_factory=list)  # cache/paths (caches.py checks them)


def locate(src_dir: Path, relative: str) -> Path:
    """The buildspec file a project or StartBuild names, relative to the source folder; a
    path that leaves the source folder (absolute, '..', a symlink out) is an error."""
    try:
        path = safepaths.inside(src_dir, relative)
    except safepaths.UnsafePath:
        raise BuildSpecError(
            f"YAML file {relative} is outside the source folder (CODEBUILD_SRC_DIR)"
        ) from None
    if not path.is_file():
        raise BuildSpecError(f"YAML file does not exist: {relative}")
    return path


def parse(text: str) -> BuildSpec:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BuildSpecError(f"Invalid YAML: {_one_line(error)}") from None
    if not isinstance(document, dict):
        raise BuildSpecError("Invalid buildspec: expected a YAML mapping at the top level")
    if "version" not in document:
        raise BuildSpecError("Invalid buildspec: missing required key 'version'")
    version = _version(document["version"])
    if version not in SUPPORTED_VERSIONS:
        raise BuildSpecError(
            f"Unknown buildspec version {version!r}: use version 0.2 (or the older 0.1)"
        )
    env = _mapping(document.get("env"), "env")
    artifacts = _mapping(document.get("artifacts"), "artifacts")
    spec = BuildSpec(
        version=version,
        phases=_phases(document.get("phases")),
        variables=_strings(env.get("variables"), "env/variables"),
        parameter_store=_strings(env.get("parameter-store"), "env/parameter-store"),
        secrets_manager=_strings(env.get("secrets-manager"), "env/secrets-manager"),
        exported_variables=_commands(env.get("exported-variables"), "env/exported-variables"),
        artifacts=_artifact(artifacts, "artifacts") if artifacts else None,
        secondary_artifacts={
            str(key): _artifact(
                _mapping(value, f"artifacts/secondary-artifacts/{key}"),
                f"artifacts/secondary-artifacts/{key}",
            )
            for key, value in _mapping(
                artifacts.get("secondary-artifacts"), "artifacts/secondary-artifacts"
            ).items()
        },
        reports={
            str(key): _report(_mapping(value, f"reports/{key}"), f"reports/{key}")
            for key, value in _mapping(document.get("reports"), "reports").items()
        },
        shell=_shell(env.get("shell")),
        run_as=_user(document.get("run-as"), "run-as"),
        proxy=_proxy(document.get("proxy")),
        git_credential_helper=_yes(env.get("git-credential-helper")),
        cache_paths=_commands(_mapping(document.get("cache"), "cache").get("paths"), "cache/paths"),
    )
    return spec


def _shell(value) -> str | None:
    if value is None:
        return None
    shell = str(value).strip()
    if shell not in SHELLS:
        raise BuildSpecError(
            f"Invalid buildspec: env/shell {shell!r} is not supported; use one of "
            + ", ".join(SHELLS)
        )
    return shell


def _user(value, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise BuildSpecError(f"Invalid buildspec: {where} must be a Linux user name")
    return str(value)


def _proxy(value) -> dict[str, bool]:
    proxy = _mapping(value, "proxy")
    for key in proxy:
        if key not in PROXY_KEYS:
            raise BuildSpecError(
                f"Invalid buildspec: unknown key proxy/{key}; proxy takes " + ", ".join(PROXY_KEYS)
            )
    return {str(key): _yes(flag) for key, flag in proxy.items()}


def _version(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _phases(value) -> dict[str, PhaseSpec]:
    phases = {}
    for key, body in _mapping(value, "phases").items():
        if key not in PHASE_KEYS:
            raise BuildSpecError(
                f"Invalid buildspec: unknown phase {key!r}; phases are " + ", ".join(PHASE_KEYS)
            )
        body = _mapping(body, f"phases/{key}")
        on_failure = body.get("on-failure")
        if on_failure is not None:
            on_failure = str(on_failure).upper()
            if on_failure not in ON_FAILURE_VALUES:
                raise BuildSpecError(
                    f"Invalid buildspec: phases/{key}/on-failure must be ABORT or CONTINUE, "
                    f"not {body.get('on-failure')!r}"
                )
        phases[PHASE_KEYS[key]] = PhaseSpec(
            commands=_commands(body.get("commands"), f"phases/{key}/commands"),
            finally_commands=_commands(body.get("finally"), f"phases/{key}/finally"),
            on_failure=on_failure,
            runtime_versions=_mapping(
                body.get("runtime-versions"), f"phases/{key}/runtime-versions"
            ),
            run_as=_user(body.get("run-as"), f"phases/{key}/run-as"),
        )
    return phases


def _artifact(body: dict, where: str) -> ArtifactSpec:
    if "files" not in body:
        raise BuildSpecError(f"Invalid buildspec: {where}/files is required")
    name = body.get("name")
    return ArtifactSpec(
        files=_paths(body.get("files"), f"{where}/files"),
        name=None if name is None else str(name),
        base_directory=_path(body.get("base-directory"), f"{where}/base-directory"),
        discard_paths=_yes(body.get("discard-paths")),
        exclude_paths=_commands(body.get("exclude-paths"), f"{where}/exclude-paths")
        if isinstance(body.get("exclude-paths"), list)
        else ([str(body["exclude-paths"])] if body.get("exclude-paths") else []),
    )


def _report(body: dict, where: str) -> ReportSpec:
    if "files" not in body:
        raise BuildSpecError(f"Invalid buildspec: {where}/files is required")
    return ReportSpec(
        files=_paths(body.get("files"), f"{where}/files"),
        base_directory=_path(body.get("base-directory"), f"{where}/base-directory"),
        discard_paths=_yes(body.get("discard-paths")),
        file_format=str(body.get("file-format") or "JUNITXML").upper(),
    )


def _paths(value, where: str) -> list[str]:
    return [_pattern(item, where) for item in _commands(value, where)]


def _path(value, where: str) -> str | None:
    """An optional pattern (base-directory...): None when not given."""
    return None if value is None else _pattern(value, where)


def _pattern(value: object, where: str) -> str:
    """A files or base-directory pattern: relative to the source folder and staying in it."""
    text = str(value)
    if ".." in PurePosixPath(text.strip().replace("\\", "/")).parts:
        raise BuildSpecError(
            f"Invalid buildspec: {where} {text.strip()!r} must stay inside "
            "the source folder (no '..')"
        )
    return text


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildSpecError(
            f"Invalid buildspec: expected {where} to be a mapping, found {type(value).__name__}"
        )
    return value


def _commands(value, where: str) -> list[str]:
    """A sequence of scalars; a mapping here is the usual unquoted ': ' mistake."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise BuildSpecError(f"Invalid buildspec: expected {where} to be a sequence")
    commands = []
    for index, item in enumerate(value):
        if isinstance(item, (dict, list)):
            raise BuildSpecError(
                f"Expected {where}[{index}] to be of string type: found subkeys instead; "
                "check indentation or use quotes to escape a colon followed by a space"
            )
        if item is None:
            continue
        commands.append(_scalar(item))
    return commands


def _strings(value, where: str) -> dict[str, str]:
    result = {}
    for key, item in _mapping(value, where).items():
        if isinstance(item, (dict, list)):
            raise BuildSpecError(f"Invalid buildspec: {where}/{key} must be a single value")
        result[str(key)] = "" if item is None else _scalar(item)
    return result


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _yes(value) -> bool:
    return value is True or str(value).lower() in ("yes", "true")


def _one_line(error: yaml.YAMLError) -> str:
    return " ".join(str(error).split())
