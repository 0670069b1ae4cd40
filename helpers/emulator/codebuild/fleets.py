"""CodeBuild compute fleets (reserved capacity): their state and the slot accounting.

A fleet has baseCapacity machines, so at most that many of its builds run at once
(CreateFleet's documentation: "the number of builds that can run in parallel"). A build
whose project environment (or StartBuild's fleetOverride) names a fleet asks for a slot
while it is QUEUED (runtime.py calls wait_for_capacity): a free slot admits it; a full
fleet either keeps it QUEUED, first come first served, until a fleet build ends
(overflowBehavior QUEUE, the default) or lets it run on-demand (ON_DEMAND). A build that
waits longer than its queuedTimeoutInMinutes ends TIMED_OUT in QUEUED, as in AWS.

Offline there are no machines to provision: a fleet is ACTIVE as soon as it is created or
updated, and target-tracking scaling is recorded (desiredCapacity = baseCapacity) but never
adds slots. The state lives on the account's CodeBuild backend (fleet_state), so moto's
reset clears it with the projects and builds.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core import now
from . import exceptions as err
from .models import check_role, seconds_per_minute
from .shell import STOPPED, TIMED_OUT

if TYPE_CHECKING:
    import datetime as dt

    from .models import Build, CodeBuildLabBackend

# Settings a fleet takes from CreateFleet/UpdateFleet, as the API names them.
SETTINGS = (
    "baseCapacity",
    "environmentType",
    "computeType",
    "computeConfiguration",
    "scalingConfiguration",
    "overflowBehavior",
    "vpcConfig",
    "proxyConfiguration",
    "imageId",
    "fleetServiceRole",
    "tags",
)
COMPUTE_NEEDING_CONFIGURATION = ("ATTRIBUTE_BASED_COMPUTE", "CUSTOM_INSTANCE_TYPE")
LAMBDA_ENVIRONMENTS = ("LINUX_LAMBDA_CONTAINER", "ARM_LAMBDA_CONTAINER")
QUEUE_POLL_SECONDS = 0.2  # how often a queued build looks at StopBuild and its timeout
ON_DEMAND = "ON_DEMAND"


@dataclass
class Fleet:
    name: str
    arn: str
    id: str
    settings: dict
    created: dt.datetime = field(default_factory=now)
    last_modified: dt.datetime = field(default_factory=now)

    @property
    def base_capacity(self) -> int:
        return int(self.settings["baseCapacity"])

    @property
    def overflow_behavior(self) -> str:
        return self.settings.get("overflowBehavior") or "QUEUE"


@dataclass
class FleetState:
    fleets: dict[str, Fleet] = field(default_factory=dict)  # by ARN
    running: dict[str, set[str]] = field(default_factory=dict)  # fleet ARN -> build ids
    waiting: dict[str, list[str]] = field(default_factory=dict)  # fleet ARN -> queue
    placement: dict[str, str] = field(default_factory=dict)  # build id -> where it runs
    changed: threading.Condition = field(default_factory=threading.Condition)


def fleet_state(backend: CodeBuildLabBackend) -> FleetState:
    """The account's fleets, kept on its backend (moto's reset empties its __dict__)."""
    state = vars(backend).get("lab_fleets")
    if state is None:
        state = vars(backend).setdefault("lab_fleets", FleetState())
    return state


# -- create, read, update, delete ----------------------------------------------------


def create_fleet(backend: CodeBuildLabBackend, params: dict) -> Fleet:
    settings = {key: params[key] for key in SETTINGS if params.get(key) is not None}
    settings.setdefault("overflowBehavior", "QUEUE")
    _check_settings(settings)
    name = params["name"]
    state = fleet_state(backend)
    with state.changed:
        if any(fleet.name == name for fleet in state.fleets.values()):
            raise err.ResourceAlreadyExistsException(f"Fleet already exists: {name}")
        fleet_id = f"{name}:{uuid.uuid4()}"
        arn = f"arn:aws:codebuild:{backend.region_name}:{backend.account_id}:fleet/{fleet_id}"
        fleet = Fleet(name, arn, fleet_id, settings)
        state.fleets[arn] = fleet
        return fleet


def get_fleet(backend: CodeBuildLabBackend, name_or_arn: str) -> Fleet | None:
    """A fleet by ARN or by name (BatchGetFleets takes either)."""
    fleets = fleet_state(backend).fleets
    if name_or_arn in fleets:
        return fleets[name_or_arn]
    return next((f for f in fleets.values() if name_or_arn in (f.name, f.id)), None)


def update_fleet(backend: CodeBuildLabBackend, params: dict) -> Fleet:
    fleet = get_fleet(backend, params["arn"])
    if fleet is None:
        raise err.ResourceNotFoundException(f"Fleet {params['arn']} does not exist")
    state = fleet_state(backend)
    with state.changed:
        settings = {**fleet.settings}
        settings.update({key: params[key] for key in SETTINGS if params.get(key) is not None})
        _check_settings(settings)
        fleet.settings = settings
        fleet.last_modified = now()
        state.changed.notify_all()  # more capacity may admit queued builds
    return fleet


def delete_fleet(backend: CodeBuildLabBackend, arn: str) -> None:
    """Refused while a project names the fleet, as in AWS; its builds stay."""
    fleet = get_fleet(backend, arn)
    if fleet is None:
        return
    users = sorted(
        project.name
        for project in backend.projects.values()
        if _fleet_arn(project.settings.get("environment") or {}) == fleet.arn
    )
    if users:
        raise err.InvalidInputException(
            f"Cannot delete fleet {fleet.arn}: it is used by project(s) {', '.join(users)}; "
            "point their environment at another fleet or at on-demand compute first"
        )
    state = fleet_state(backend)
    with state.changed:
        state.fleets.pop(fleet.arn, None)
        state.changed.notify_all()  # its queued builds (a fleetOverride) go on-demand


def list_fleets(backend: CodeBuildLabBackend, sort_by: str, descending: bool) -> list[str]:
    key = {
        "NAME": lambda f: f.name,
        "CREATED_TIME": lambda f: f.created,
        "LAST_MODIFIED_TIME": lambda f: f.last_modified,
    }[sort_by]
    fleets = sorted(fleet_state(backend).fleets.values(), key=key, reverse=descending)
    return [fleet.arn for fleet in fleets]


def check_environment(backend: CodeBuildLabBackend, environment: dict | None) -> None:
    """A project environment (or a build's) naming a fleet names one of the account's."""
    arn = _fleet_arn(environment or {})
    if arn and get_fleet(backend, arn) is None:
        raise err.InvalidInputException(f"Invalid fleet ARN: fleet {arn} does not exist")


def _check_settings(settings: dict) -> None:
    if settings["baseCapacity"] < 1:
        raise err.InvalidInputException("Invalid baseCapacity: a fleet needs at least 1")
    compute, environment = settings["computeType"], settings["environmentType"]
    configuration = settings.get("computeConfiguration") or {}
    if compute in COMPUTE_NEEDING_CONFIGURATION and not configuration:
        raise err.InvalidInputException(
            f"Invalid compute configuration: computeType {compute} needs computeConfiguration"
        )
    if compute == "CUSTOM_INSTANCE_TYPE" and not configuration.get("instanceType"):
        raise err.InvalidInputException(
            "Invalid compute configuration: CUSTOM_INSTANCE_TYPE needs instanceType"
        )
    if compute.startswith("BUILD_LAMBDA_") != (environment in LAMBDA_ENVIRONMENTS):
        raise err.InvalidInputException(
            f"Invalid compute type: {compute} is not available for environment type "
            f"{environment} (BUILD_LAMBDA_* go with the LAMBDA container types only)"
        )
    scaling = settings.get("scalingConfiguration") or {}
    maximum = scaling.get("maxCapacity")
    if maximum is not None and maximum < settings["baseCapacity"]:
        raise err.InvalidInputException(
            "Invalid scaling configuration: maxCapacity must be at least baseCapacity"
        )
    if settings.get("fleetServiceRole"):
        check_role(settings["fleetServiceRole"])


def _fleet_arn(environment: dict) -> str | None:
    fleet = environment.get("fleet")
    return fleet.get("fleetArn") if isinstance(fleet, dict) else None


# -- slots -----------------------------------------------------------------------------


def wait_for_capacity(backend: CodeBuildLabBackend, build: Build) -> str | None:
    """Block the build's worker while it is QUEUED for its fleet: None once it may run (a
    fleet slot, on-demand overflow, or no fleet at all), else STOPPED or TIMED_OUT."""
    arn = _fleet_arn(build.config.environment)
    if not arn:
        return None
    state = fleet_state(backend)
    deadline = time.monotonic() + build.config.queued_timeout_minutes * seconds_per_minute()
    with state.changed:
        queue = state.waiting.setdefault(arn, [])
        queue.append(build.id)
        try:
            while True:
                fleet = state.fleets.get(arn)
                if build.stop_requested:
                    return STOPPED
                if fleet is None:
                    state.placement[build.id] = "on-demand (its fleet was deleted)"
                    return None
                running = state.running.setdefault(arn, set())
                if len(running) < fleet.base_capacity and queue[0] == build.id:
                    running.add(build.id)
                    state.placement[build.id] = f"fleet {fleet.name}"
                    return None
                if fleet.overflow_behavior == ON_DEMAND:
                    state.placement[build.id] = f"on-demand (fleet {fleet.name} is full)"
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return TIMED_OUT
                state.changed.wait(min(remaining, QUEUE_POLL_SECONDS))
        finally:
            queue.remove(build.id)
            state.changed.notify_all()  # the next in the queue may be at the head now


def release(backend: CodeBuildLabBackend, build: Build) -> None:
    """The build has ended: its fleet slot, if it held one, goes to the next in the queue."""
    state = fleet_state(backend)
    with state.changed:
        for running in state.running.values():
            running.discard(build.id)
        state.placement.pop(build.id, None)
        state.changed.notify_all()


def compute_line(backend: CodeBuildLabBackend, build: Build) -> str:
    """The build log's first line: where the build runs."""
    where = fleet_state(backend).placement.get(build.id)
    if where is None or where.startswith("on-demand"):
        suffix = f" {where[len('on-demand') :].strip()}" if where else ""
        return f"Running on CodeBuild On-demand{suffix} (lab kit, local)"
    return f"Running on CodeBuild reserved capacity, {where} (lab kit, local)"


def running_builds(backend: CodeBuildLabBackend, arn: str) -> set[str]:
    """The ids of the builds holding a slot of the fleet now."""
    state = fleet_state(backend)
    with state.changed:
        return set(state.running.get(arn, ()))
