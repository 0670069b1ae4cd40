"""CodeBuild sandboxes: a project's environment kept open, commands run in it in order."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import processes, workers

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
    "environmentVariables": [{"name": "GREETING", "value": "hello from the project"}],
}
BUILDSPEC = (  # its variables reach the sandbox; its phases do not run there
    "version: 0.2\nenv:\n  variables:\n    FROM_SPEC: spec-value\n"
    "phases:\n  build:\n    commands:\n      - exit 1\n"
)


@pytest.fixture
def sync():
    workers.set_synchronous(True)
    yield
    workers.set_synchronous(None)


@pytest.fixture
def cb(client, sync):
    return client("codebuild")


def make_project(cb, name="demo", source=None, **extra):
    return cb.create_project(
        name=name,
        source=source or {"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
        **extra,
    )["project"]


def s3_project(client, cb, files: dict[str, str], name="fromsource", buildspec=None):
    s3 = client("s3")
    s3.create_bucket(Bucket="sandbox-sources")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    s3.put_object(Bucket="sandbox-sources", Key="app.zip", Body=data.getvalue())
    source = {"type": "S3", "location": "sandbox-sources/app.zip"}
    if buildspec:
        source["buildspec"] = buildspec
    return make_project(cb, name, source=source)


def run(cb, sandbox_id, command):
    execution = cb.start_command_execution(sandboxId=sandbox_id, command=command)
    return cb.batch_get_command_executions(
        sandboxId=sandbox_id, commandExecutionIds=[execution["commandExecution"]["id"]]
    )["commandExecutions"][0]


def test_a_sandbox_opens_the_projects_environment_and_runs_commands_in_it(cb):
    make_project(cb)
    sandbox = cb.start_sandbox(projectName="demo")["sandbox"]
    assert sandbox["projectName"] == "demo"
    assert sandbox["arn"].endswith(f":sandbox/{sandbox['id']}")
    described = cb.batch_get_sandboxes(ids=[sandbox["id"]])["sandboxes"][0]
    assert described["status"] == "RUN_SANDBOX"
    session = described["currentSession"]
    assert [p["phaseType"] for p in session["phases"]] == [
        "SUBMITTED",
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "RUN_SANDBOX",
    ]
    assert session["currentPhase"] == "RUN_SANDBOX" and session["status"] == "IN_PROGRESS"

    done = run(cb, sandbox["id"], 'echo "$GREETING and $FROM_SPEC"; echo oops >&2')
    assert done["status"] == "SUCCEEDED" and done["exitCode"] == "0"
    assert done["standardOutputContent"] == "hello from the project and spec-value\n"
    assert done["standardErrContent"] == "oops\n"
    assert done["sandboxArn"] == sandbox["arn"] and done["type"] == "SHELL"

    failed = run(cb, sandbox["id"], "echo before; exit_code_of() { return 3; }; exit_code_of")
    assert failed["status"] == "FAILED" and failed["exitCode"] == "3"
    assert failed["standardOutputContent"] == "before\n"


def test_commands_share_the_session_one_after_another(cb):
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    run(cb, sandbox_id, "mkdir -p deeper && cd deeper && export STEP=one")
    second = run(cb, sandbox_id, 'pwd; echo "$STEP"; echo "$CODEBUILD_SRC_DIR"')
    cwd, step, src = second["standardOutputContent"].splitlines()
    assert cwd == src + "/deeper" and step == "one"


def test_commands_run_in_the_order_submitted_a_second_waits_for_the_first(client, background):
    cb = client("codebuild")
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    first = cb.start_command_execution(
        sandboxId=sandbox_id, command="sleep 0.5; echo first > order.txt"
    )["commandExecution"]
    second = cb.start_command_execution(
        sandboxId=sandbox_id, command="echo second >> order.txt; cat order.txt"
    )["commandExecution"]
    assert first["status"] in ("SUBMITTED", "IN_PROGRESS")
    ids = [first["id"], second["id"]]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = cb.batch_get_command_executions(sandboxId=sandbox_id, commandExecutionIds=ids)
        if all(e["status"] == "SUCCEEDED" for e in found["commandExecutions"]):
            break
        time.sleep(0.1)
    by_id = {e["id"]: e for e in found["commandExecutions"]}
    assert by_id[second["id"]]["standardOutputContent"] == "first\nsecond\n"
    assert by_id[second["id"]]["startTime"] >= by_id[first["id"]]["endTime"]
    cb.stop_sandbox(id=sandbox_id)


def test_the_source_is_fetched_into_the_sandbox(client, cb):
    s3_project(client, cb, {"app/hello.txt": "from the source\n"})  # and no buildspec
    sandbox = cb.start_sandbox(projectName="fromsource")["sandbox"]
    assert sandbox["status"] == "RUN_SANDBOX"
    assert run(cb, sandbox["id"], "cat app/hello.txt")["standardOutputContent"] == (
        "from the source\n"
    )


def test_a_source_that_cannot_be_fetched_fails_the_sandbox(cb):
    make_project(cb, "missing", source={"type": "S3", "location": "no-such-bucket/app.zip"})
    sandbox = cb.start_sandbox(projectName="missing")["sandbox"]
    assert sandbox["status"] == "FAILED"
    phase = sandbox["currentSession"]["phases"][-1]
    assert phase["phaseType"] == "DOWNLOAD_SOURCE" and phase["phaseStatus"] == "FAILED"
    assert phase["contexts"][0]["statusCode"] == "CLIENT_ERROR"
    with pytest.raises(ClientError) as caught:
        cb.start_command_execution(sandboxId=sandbox["id"], command="true")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_commands_write_to_the_sessions_log(client, cb):
    make_project(cb)
    sandbox = cb.start_sandbox(projectName="demo")["sandbox"]
    done = run(cb, sandbox["id"], "echo to the log; echo an error >&2")
    logs = done["logs"]
    assert logs["groupName"] == "/aws/codebuild/demo"
    assert logs == sandbox["currentSession"]["logs"]
    messages = [
        e["message"]
        for e in client("logs").get_log_events(
            logGroupName=logs["groupName"], logStreamName=logs["streamName"], startFromHead=True
        )["events"]
    ]
    assert "to the log" in messages and "an error" in messages
    assert any("Running command echo to the log" in m for m in messages)


def test_output_is_bounded(cb, monkeypatch):
    from helpers.emulator.codebuild import sandboxes

    monkeypatch.setattr(sandboxes, "MAX_OUTPUT_CHARACTERS", 100)
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    done = run(cb, sandbox_id, "for i in $(seq 1 200); do echo line-$i; done")
    assert done["standardOutputContent"].startswith("line-1\n")
    assert "output truncated at 100 characters" in done["standardOutputContent"]
    assert len(done["standardOutputContent"]) < 200


def test_stop_ends_the_sandbox_its_processes_and_its_workspace(client, background):
    cb = client("codebuild")
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    running = cb.start_command_execution(sandboxId=sandbox_id, command="sleep 60")
    waiting = cb.start_command_execution(sandboxId=sandbox_id, command="echo never")
    _wait_for(cb, sandbox_id, running["commandExecution"]["id"], "IN_PROGRESS")
    from helpers.emulator.codebuild.sandboxes import sandbox_backends

    sandbox = sandbox_backends["123456789012"]["us-east-1"].get_sandbox(sandbox_id)
    workspace = sandbox.session.workspace
    assert workspace.exists()

    stopped = cb.stop_sandbox(id=sandbox_id)["sandbox"]
    assert stopped["status"] == "STOPPED" and "endTime" in stopped
    assert stopped["currentSession"]["status"] == "STOPPED"
    found = cb.batch_get_command_executions(
        sandboxId=sandbox_id,
        commandExecutionIds=[running["commandExecution"]["id"], waiting["commandExecution"]["id"]],
    )["commandExecutions"]
    assert [e["status"] for e in found] == ["STOPPED", "STOPPED"]
    assert not workspace.exists()
    assert sandbox.shell is not None and not sandbox.shell._started  # its bash is gone
    with pytest.raises(ClientError) as caught:
        cb.start_command_execution(sandboxId=sandbox_id, command="true")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_a_stopping_server_stops_sandboxes(cb):
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    run(cb, sandbox_id, "true")
    processes.kill_all()  # what LocalServer.stop() runs
    stopped = run(cb, sandbox_id, "echo after")
    assert stopped["status"] == "STOPPED"
    assert cb.batch_get_sandboxes(ids=[sandbox_id])["sandboxes"][0]["status"] == "STOPPED"


def test_a_sandbox_times_out_with_its_project(client, background, monkeypatch):
    monkeypatch.setenv("LAB_CODEBUILD_SECONDS_PER_MINUTE", "0.2")
    cb = client("codebuild")
    make_project(cb, timeoutInMinutes=5)  # one second here
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = cb.batch_get_sandboxes(ids=[sandbox_id])["sandboxes"][0]["status"]
        if status == "TIMED_OUT":
            break
        time.sleep(0.1)
    assert status == "TIMED_OUT"


def test_lists_page_and_sort(cb):
    make_project(cb, "one")
    make_project(cb, "two")
    first = cb.start_sandbox(projectName="one")["sandbox"]["id"]
    second = cb.start_sandbox(projectName="two")["sandbox"]["id"]
    third = cb.start_sandbox(projectName="one")["sandbox"]["id"]
    assert cb.list_sandboxes()["ids"] == [third, second, first]
    assert cb.list_sandboxes(sortOrder="ASCENDING")["ids"] == [first, second, third]
    page = cb.list_sandboxes(maxResults=2)
    assert page["ids"] == [third, second]
    assert cb.list_sandboxes(maxResults=2, nextToken=page["nextToken"])["ids"] == [first]
    assert cb.list_sandboxes_for_project(projectName="one")["ids"] == [third, first]
    with pytest.raises(ClientError) as caught:
        cb.list_sandboxes_for_project(projectName="nope")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        cb.list_sandboxes(nextToken="not-ours")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"

    commands = [run(cb, first, f"echo {n}")["id"] for n in range(3)]
    listed = cb.list_command_executions_for_sandbox(sandboxId=first, sortOrder="ASCENDING")
    assert [e["id"] for e in listed["commandExecutions"]] == commands
    newest = cb.list_command_executions_for_sandbox(sandboxId=first, maxResults=2)
    assert [e["id"] for e in newest["commandExecutions"]] == commands[::-1][:2]
    for sandbox_id in (first, second, third):
        cb.stop_sandbox(id=sandbox_id)


def test_batch_gets_report_what_they_did_not_find(cb):
    make_project(cb)
    sandbox = cb.start_sandbox(projectName="demo")["sandbox"]
    found = cb.batch_get_sandboxes(ids=[sandbox["arn"], "demo:nope"])
    assert [s["id"] for s in found["sandboxes"]] == [sandbox["id"]]
    assert found["sandboxesNotFound"] == ["demo:nope"]
    command = run(cb, sandbox["id"], "true")["id"]
    got = cb.batch_get_command_executions(
        sandboxId=sandbox["id"], commandExecutionIds=[command, "missing"]
    )
    assert [e["id"] for e in got["commandExecutions"]] == [command]
    assert got["commandExecutionsNotFound"] == ["missing"]
    elsewhere = cb.batch_get_command_executions(sandboxId="demo:nope", commandExecutionIds=["x"])
    assert elsewhere["commandExecutionsNotFound"] == ["x"]


def test_start_sandbox_errors_and_idempotency(cb):
    for params, code in (
        ({}, "InvalidInputException"),
        ({"projectName": "nope"}, "ResourceNotFoundException"),
    ):
        with pytest.raises(ClientError) as caught:
            cb.start_sandbox(**params)
        assert caught.value.response["Error"]["Code"] == code
    for operation, params in (
        (cb.stop_sandbox, {"id": "demo:nope"}),
        (cb.start_command_execution, {"sandboxId": "demo:nope", "command": "true"}),
        (cb.list_command_executions_for_sandbox, {"sandboxId": "demo:nope"}),
        (cb.start_sandbox_connection, {"sandboxId": "demo:nope"}),
    ):
        with pytest.raises(ClientError) as caught:
            operation(**params)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    make_project(cb)
    once = cb.start_sandbox(projectName="demo", idempotencyToken="t-1")["sandbox"]["id"]
    assert cb.start_sandbox(projectName="demo", idempotencyToken="t-1")["sandbox"]["id"] == once
    assert cb.list_sandboxes()["ids"] == [once]


def test_a_connection_explains_there_is_no_session_manager_offline(cb):
    make_project(cb)
    sandbox_id = cb.start_sandbox(projectName="demo")["sandbox"]["id"]
    with pytest.raises(ClientError) as caught:
        cb.start_sandbox_connection(sandboxId=sandbox_id)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert "Session Manager" in error["Message"] and "StartCommandExecution" in error["Message"]


def test_sandboxes_over_http(server_client):
    cb = server_client("codebuild")
    name = "sandbox-over-http"
    make_project(cb, name)
    sandbox_id = cb.start_sandbox(projectName=name)["sandbox"]["id"]
    _wait_status(cb, sandbox_id, "RUN_SANDBOX")
    command = cb.start_command_execution(sandboxId=sandbox_id, command="echo over http")
    done = _wait_for(cb, sandbox_id, command["commandExecution"]["id"], "SUCCEEDED")
    assert done["standardOutputContent"] == "over http\n"
    assert cb.stop_sandbox(id=sandbox_id)["sandbox"]["status"] == "STOPPED"


def _wait_status(cb, sandbox_id, status):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sandbox = cb.batch_get_sandboxes(ids=[sandbox_id])["sandboxes"][0]
        if sandbox["status"] == status:
            return sandbox
        time.sleep(0.05)
    raise AssertionError(f"sandbox still {sandbox['status']}")


def _wait_for(cb, sandbox_id, command_id, status):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = cb.batch_get_command_executions(
            sandboxId=sandbox_id, commandExecutionIds=[command_id]
        )["commandExecutions"][0]
        if found["status"] == status:
            return found
        time.sleep(0.05)
    raise AssertionError(f"command still {found['status']}")
