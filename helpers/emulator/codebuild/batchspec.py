"""Reading a buildspec's `batch:` section (batch-build-buildspec.md) into the tasks of a batch.

build-list: tasks that run in parallel; build-graph: tasks with `depend-on`; build-matrix:
one task per combination of the `dynamic` values (buildspec files, compute types, images,
variable values), the `static` settings applied to each. A BatchSpecError names what is
wrong; the batch then fails in DOWNLOAD_BATCHSPEC, as a bad buildspec fails a build.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import yaml

from .buildspec import BuildSpecError

BATCH_TYPES = ("build-list", "build-graph", "build-matrix")
# An identifier names a folder of the combined artifact and a pipeline output: kept plain.
IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,127}\Z")
ENV_KEYS = {
    "compute-type": "computeType",
    "image": "image",
    "type": "type",
    "privileged-mode": "privilegedMode",
}


class BatchSpecError(BuildSpecError):
    pass


@dataclass
class TaskEnv:
    """A task's build environment overrides: environment settings and variables."""

    settings: dict = field(default_factory=dict)  # computeType, image, type, privilegedMode
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class Task:
    identifier: str
    buildspec: str | None = None
    env: TaskEnv = field(default_factory=TaskEnv)
    depend_on: list[str] = field(default_factory=list)
    ignore_failure: bool = False


@dataclass
class BatchSpec:
    kind: str  # build-list, build-graph or build-matrix
    tasks: list[Task]
    fast_fail: bool = False


def parse(text: str) -> BatchSpec:
    """The batch section of a buildspec (YAML text); BatchSpecError when it is missing or wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BatchSpecError(f"Invalid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict) or not isinstance(document.get("batch"), dict):
        raise BatchSpecError(
            "The buildspec has no batch section: a batch build needs batch/build-list, "
            "batch/build-graph or batch/build-matrix (batch-build-buildspec.md)"
        )
    batch = document["batch"]
    kinds = [kind for kind in BATCH_TYPES if kind in batch]
    if len(kinds) != 1:
        raise BatchSpecError(
            "Invalid batch section: give exactly one of " + ", ".join(f"batch/{k}" for k in kinds)
            if kinds
            else "Invalid batch section: give one of "
            + ", ".join(f"batch/{k}" for k in BATCH_TYPES)
        )
    kind = kinds[0]
    if kind == "build-matrix":
        tasks = _matrix(_mapping(batch[kind], "batch/build-matrix"))
    else:
        tasks = _task_list(batch[kind], f"batch/{kind}", graph=kind == "build-graph")
    if not tasks:
        raise BatchSpecError(f"Invalid batch section: batch/{kind} defines no build")
    return BatchSpec(kind, tasks, _boolean(batch.get("fast-fail"), "batch/fast-fail"))


# -- build-list and build-graph ---------------------------------------------------------


def _task_list(value, where: str, graph: bool) -> list[Task]:
    if not isinstance(value, list):
        raise BatchSpecError(f"Invalid batch section: {where} must be a list of build tasks")
    tasks = []
    for index, item in enumerate(value):
        body = _mapping(item, f"{where}[{index}]")
        identifier = body.get("identifier")
        if not isinstance(identifier, str) or not IDENTIFIER.match(identifier):
            raise BatchSpecError(
                f"Invalid batch section: {where}[{index}]/identifier is required and may "
                "only contain letters, digits and underscores (at most 127)"
            )
        depend_on = _strings(body.get("depend-on"), f"{where}[{index}]/depend-on")
        if depend_on and not graph:
            raise BatchSpecError(
                f"Invalid batch section: depend-on is for batch/build-graph, not {where}"
            )
        tasks.append(
            Task(
                identifier=identifier,
                buildspec=_buildspec(body.get("buildspec"), f"{where}[{index}]/buildspec"),
                env=_env(_mapping(body.get("env"), f"{where}[{index}]/env"), f"{where}[{index}]"),
                depend_on=depend_on,
                ignore_failure=_boolean(
                    body.get("ignore-failure"), f"{where}[{index}]/ignore-failure"
                ),
            )
        )
    _check_identifiers(tasks)
    return tasks


def _check_identifiers(tasks: list[Task]) -> None:
    known: set[str] = set()
    for task in tasks:
        if task.identifier in known:
            raise BatchSpecError(f"Invalid batch section: identifier {task.identifier} is repeated")
        known.add(task.identifier)
    for task in tasks:
        for dependency in task.depend_on:
            if dependency not in known:
                raise BatchSpecError(
                    f"Invalid batch section: {task.identifier} depends on {dependency}, "
                    "which is not a task of the batch"
                )
    _check_no_cycle(tasks)


def _check_no_cycle(tasks: list[Task]) -> None:
    depends = {task.identifier: set(task.depend_on) for task in tasks}
    done: set[str] = set()
    while len(done) < len(depends):
        ready = {name for name, needs in depends.items() if name not in done and needs <= done}
        if not ready:
            stuck = sorted(set(depends) - done)
            raise BatchSpecError(
                "Invalid batch section: the build graph has a dependency cycle among "
                + ", ".join(stuck)
            )
        done |= ready


# -- build-matrix ------------------------------------------------------------------------


def _matrix(body: dict) -> list[Task]:
    static = _mapping(body.get("static"), "batch/build-matrix/static")
    dynamic = _mapping(body.get("dynamic"), "batch/build-matrix/dynamic")
    static_env = _env(_mapping(static.get("env"), "batch/build-matrix/static/env"), "static")
    ignore_failure = _boolean(
        static.get("ignore-failure"), "batch/build-matrix/static/ignore-failure"
    )
    dimensions: list[list[tuple[str, str, str]]] = []  # [(what, key, value)] per dimension
    buildspecs = _strings(dynamic.get("buildspec"), "batch/build-matrix/dynamic/buildspec")
    if buildspecs:
        dimensions.append(
            [("buildspec", "", _buildspec(b, "dynamic/buildspec") or "") for b in buildspecs]
        )
    dynamic_env = _mapping(dynamic.get("env"), "batch/build-matrix/dynamic/env")
    for key, setting in ENV_KEYS.items():
        if key in dynamic_env:
            values = _strings(dynamic_env[key], f"batch/build-matrix/dynamic/env/{key}")
            dimensions.append([("setting", setting, value) for value in values])
    variables = _mapping(dynamic_env.get("variables"), "batch/build-matrix/dynamic/env/variables")
    for name, values in variables.items():
        listed = _strings(values, f"batch/build-matrix/dynamic/env/variables/{name}")
        dimensions.append([("variable", str(name), value) for value in listed])
    dimensions = [d for d in dimensions if d]
    if not dimensions:
        raise BatchSpecError(
            "Invalid batch section: batch/build-matrix/dynamic gives no values to combine"
        )
    tasks: list[Task] = []
    used: set[str] = set()
    for combination in itertools.product(*dimensions):
        env = TaskEnv(dict(static_env.settings), dict(static_env.variables))
        buildspec = None
        for what, key, value in combination:
            if what == "buildspec":
                buildspec = value
            elif what == "setting":
                env.settings[key] = value
            else:
                env.variables[key] = value
        identifier = _matrix_identifier([value for _, _, value in combination], used)
        tasks.append(Task(identifier, buildspec, env, [], ignore_failure))
    return tasks


def _matrix_identifier(values: list[str], used: set[str]) -> str:
    """A readable identifier from the combination's values (matrix1_yml_VALUE1), unique in the
    batch; AWS does not document how it names matrix builds."""
    base = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_") for value in values)
    base = (base.strip("_") or "build")[:120]
    identifier, number = base, 1
    while identifier in used:
        number += 1
        identifier = f"{base}_{number}"
    used.add(identifier)
    return identifier


# -- small readers -----------------------------------------------------------------------


def _env(body: dict, where: str) -> TaskEnv:
    env = TaskEnv()
    for key, setting in ENV_KEYS.items():
        if key in body and body[key] is not None:
            value = body[key]
            if setting == "privilegedMode":
                env.settings[setting] = _boolean(value, f"{where}/env/{key}")
            elif isinstance(value, (dict, list)):
                raise BatchSpecError(f"Invalid batch section: {where}/env/{key} must be a value")
            else:
                env.settings[setting] = str(value)
    for name, value in _mapping(body.get("variables"), f"{where}/env/variables").items():
        if isinstance(value, (dict, list)):
            raise BatchSpecError(
                f"Invalid batch section: {where}/env/variables/{name} must be a single value"
            )
        env.variables[str(name)] = "" if value is None else _scalar(value)
    return env


def _buildspec(value, where: str) -> str | None:
    """A task's buildspec file, relative to the source (the build checks it stays inside)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or "\n" in text or ": " in text:
        raise BatchSpecError(f"Invalid batch section: {where} must name a buildspec file")
    return text


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BatchSpecError(f"Invalid batch section: {where} must be a mapping")
    return value


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    if any(isinstance(item, (dict, list)) for item in value):
        raise BatchSpecError(f"Invalid batch section: {where} must be a list of values")
    return [_scalar(item) for item in value if item is not None]


def _boolean(value, where: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes"):
        return True
    if str(value).lower() in ("false", "no"):
        return False
    raise BatchSpecError(f"Invalid batch section: {where} must be true or false")


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
