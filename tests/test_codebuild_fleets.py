"""CodeBuild compute fleets: the API (Create/Update/Delete/BatchGet/ListFleets) and real
builds admitted by baseCapacity, the others QUEUED (overflowBehavior QUEUE) or on-demand."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}


@pytest.fixture
def cb(client):
    workers.set_synchronous(False)  # builds run side by side, as on the local server
    yield client("codebuild")
    workers.set_synchronous(None)


def make_fleet(cb, name="lab-fleet", **extra) -> dict:
    params = {
        "name": name,
        "baseCapacity": 1,
        "environmentType": "LINUX_CONTAINER",
        "computeType": "BUILD_GENERAL1_SMALL",
        **extra,
    }
    return cb.create_fleet(**params)["fleet"]


def make_project(cb, fleet_arn: str, gate: Path, name="on-fleet") -> None:
    """A project whose builds wait until the gate file exists (the test opens it)."""
    buildspec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - while [ ! -f '{gate}' ]; do sleep 0.05; done\n"
    )
    cb.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": buildspec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={**ENVIRONMENT, "fleet": {"fleetArn": fleet_arn}},
        serviceRole=ROLE,
    )


def build_of(cb, build_id: str) -> dict:
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def wait_for(cb, build_id: str, condition, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        build = build_of(cb, build_id)
        if condition(build) or time.monotonic() > deadline:
            return build
        time.sleep(0.05)


def phase_types(build: dict) -> list[str]:
    return [phase["phaseType"] for phase in build["phases"]]


def log_lines(client, build: dict) -> list[str]:
    events = client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return [event["message"] for event in events]


# -- the API ------------------------------------------------------------------------------


def test_create_batch_get_list_update_delete(cb):
    fleet = make_fleet(
        cb,
        baseCapacity=2,
        scalingConfiguration={
            "scalingType": "TARGET_TRACKING_SCALING",
            "targetTrackingScalingConfigs": [
                {"metricType": "FLEET_UTILIZATION_RATE", "targetValue": 80.0}
            ],
            "maxCapacity": 4,
        },
        tags=[{"key": "lab:kit", "value": "codepipeline-lab-kit"}],
    )
    assert fleet["arn"].startswith("arn:aws:codebuild:us-east-1:123456789012:fleet/lab-fleet:")
    assert fleet["status"]["statusCode"] == "ACTIVE"
    assert fleet["overflowBehavior"] == "QUEUE"
    assert fleet["scalingConfiguration"]["desiredCapacity"] == 2
    make_fleet(cb, name="another", overflowBehavior="ON_DEMAND")

    got = cb.batch_get_fleets(names=["lab-fleet", fleet["arn"], "missing"])
    assert [f["name"] for f in got["fleets"]] == ["lab-fleet", "lab-fleet"]
    assert got["fleetsNotFound"] == ["missing"]
    assert cb.list_fleets()["fleets"][1] == fleet["arn"]  # by name: another, lab-fleet
    first = cb.list_fleets(maxResults=1, sortOrder="DESCENDING")
    assert first["fleets"] == [fleet["arn"]] and first["nextToken"]

    updated = cb.update_fleet(arn=fleet["arn"], baseCapacity=3, overflowBehavior="ON_DEMAND")
    assert updated["fleet"]["baseCapacity"] == 3
    assert updated["fleet"]["overflowBehavior"] == "ON_DEMAND"
    assert updated["fleet"]["tags"] == fleet["tags"]  # what the update does not name stays

    cb.delete_fleet(arn=fleet["arn"])
    assert cb.batch_get_fleets(names=[fleet["arn"]])["fleetsNotFound"] == [fleet["arn"]]


def test_refusals(cb):
    fleet = make_fleet(cb)
    with pytest.raises(ClientError) as error:
        make_fleet(cb)
    assert error.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    for bad in (
        {"baseCapacity": 0},
        {"computeType": "ATTRIBUTE_BASED_COMPUTE"},
        {"computeType": "BUILD_LAMBDA_1GB"},
        {"baseCapacity": 3, "scalingConfiguration": {"maxCapacity": 2}},
        {"fleetServiceRole": "not-a-role"},
    ):
        with pytest.raises(ClientError) as error:
            make_fleet(cb, name="bad-fleet", **bad)
        assert error.value.response["Error"]["Code"] == "InvalidInputException", bad
    with pytest.raises(ClientError) as error:
        cb.update_fleet(arn=fleet["arn"].replace("lab-fleet", "nope"), baseCapacity=2)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        make_project(cb, fleet["arn"] + "x", Path("/nonexistent"))
    assert error.value.response["Error"]["Code"] == "InvalidInputException"


def test_deleting_a_fleet_a_project_uses_is_refused(cb, tmp_path):
    fleet = make_fleet(cb)
    make_project(cb, fleet["arn"], tmp_path / "open")
    with pytest.raises(ClientError) as error:
        cb.delete_fleet(arn=fleet["arn"])
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    assert "on-fleet" in error.value.response["Error"]["Message"]
    cb.update_project(name="on-fleet", environment=ENVIRONMENT)  # off the fleet
    cb.delete_fleet(arn=fleet["arn"])
    assert cb.list_fleets()["fleets"] == []


# -- builds on a fleet --------------------------------------------------------------------


def test_base_capacity_one_queues_the_second_build_until_the_first_ends(cb, client, tmp_path):
    gate = tmp_path / "open"
    fleet = make_fleet(cb)
    make_project(cb, fleet["arn"], gate)
    first = cb.start_build(projectName="on-fleet")["build"]["id"]
    assert wait_for(cb, first, lambda b: b["currentPhase"] == "BUILD")["currentPhase"] == "BUILD"
    second = cb.start_build(projectName="on-fleet")["build"]["id"]
    time.sleep(0.5)  # time enough to start, were there a free slot
    waiting = build_of(cb, second)
    assert waiting["buildStatus"] == "IN_PROGRESS"
    assert waiting["currentPhase"] == "QUEUED"
    assert phase_types(waiting) == ["SUBMITTED", "QUEUED"]

    gate.touch()
    done_first = wait_for(cb, first, lambda b: b["buildComplete"])
    done_second = wait_for(cb, second, lambda b: b["buildComplete"])
    assert done_first["buildStatus"] == done_second["buildStatus"] == "SUCCEEDED"
    queued = next(p for p in done_second["phases"] if p["phaseType"] == "QUEUED")
    first_build_phase = next(p for p in done_first["phases"] if p["phaseType"] == "BUILD")
    assert queued["endTime"] >= first_build_phase["endTime"]  # it waited for the slot
    assert any(
        "reserved capacity, fleet lab-fleet" in line for line in log_lines(client, done_second)
    )


def test_on_demand_overflow_runs_at_once(cb, client, tmp_path):
    gate = tmp_path / "open"
    fleet = make_fleet(cb, overflowBehavior="ON_DEMAND")
    make_project(cb, fleet["arn"], gate)
    first = cb.start_build(projectName="on-fleet")["build"]["id"]
    wait_for(cb, first, lambda b: b["currentPhase"] == "BUILD")
    second = cb.start_build(projectName="on-fleet")["build"]["id"]
    running = wait_for(cb, second, lambda b: b["currentPhase"] == "BUILD")
    assert running["currentPhase"] == "BUILD"  # both run: the second on-demand
    gate.touch()
    done = wait_for(cb, second, lambda b: b["buildComplete"])
    wait_for(cb, first, lambda b: b["buildComplete"])
    assert any("On-demand" in line and "is full" in line for line in log_lines(client, done))


def test_raising_base_capacity_admits_a_queued_build(cb, tmp_path):
    gate = tmp_path / "open"
    fleet = make_fleet(cb)
    make_project(cb, fleet["arn"], gate)
    first = cb.start_build(projectName="on-fleet")["build"]["id"]
    wait_for(cb, first, lambda b: b["currentPhase"] == "BUILD")
    second = cb.start_build(projectName="on-fleet")["build"]["id"]
    time.sleep(0.3)
    assert build_of(cb, second)["currentPhase"] == "QUEUED"
    cb.update_fleet(arn=fleet["arn"], baseCapacity=2)
    assert wait_for(cb, second, lambda b: b["currentPhase"] == "BUILD")["currentPhase"] == "BUILD"
    gate.touch()
    for build_id in (first, second):
        assert wait_for(cb, build_id, lambda b: b["buildComplete"])["buildStatus"] == "SUCCEEDED"


def test_a_queued_build_can_be_stopped_and_times_out(cb, tmp_path, monkeypatch):
    gate = tmp_path / "open"
    fleet = make_fleet(cb)
    make_project(cb, fleet["arn"], gate)
    first = cb.start_build(projectName="on-fleet")["build"]["id"]
    wait_for(cb, first, lambda b: b["currentPhase"] == "BUILD")
    stopped = cb.start_build(projectName="on-fleet")["build"]["id"]
    time.sleep(0.3)
    assert cb.stop_build(id=stopped)["build"]["buildStatus"] == "STOPPED"
    queued = next(p for p in build_of(cb, stopped)["phases"] if p["phaseType"] == "QUEUED")
    assert queued["phaseStatus"] == "STOPPED"

    # queuedTimeoutInMinutes 5, a minute lasting 0.05 s: the wait ends after 0.25 s.
    monkeypatch.setenv("LAB_CODEBUILD_SECONDS_PER_MINUTE", "0.05")
    late = cb.start_build(projectName="on-fleet", queuedTimeoutInMinutesOverride=5)["build"]
    timed_out = wait_for(cb, late["id"], lambda b: b["buildComplete"])
    assert timed_out["buildStatus"] == "TIMED_OUT"
    assert "PROVISIONING" not in phase_types(timed_out)
    gate.touch()
    wait_for(cb, first, lambda b: b["buildComplete"])


def test_fleet_override_at_start_build(cb, tmp_path):
    gate = tmp_path / "open"
    gate.touch()
    fleet = make_fleet(cb)
    make_project(cb, fleet["arn"], gate)
    cb.update_project(name="on-fleet", environment=ENVIRONMENT)
    with pytest.raises(ClientError) as error:
        cb.start_build(projectName="on-fleet", fleetOverride={"fleetArn": fleet["arn"] + "x"})
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    build = cb.start_build(projectName="on-fleet", fleetOverride={"fleetArn": fleet["arn"]})
    done = wait_for(cb, build["build"]["id"], lambda b: b["buildComplete"])
    assert done["buildStatus"] == "SUCCEEDED"
    assert done["environment"]["fleet"] == {"fleetArn": fleet["arn"]}
