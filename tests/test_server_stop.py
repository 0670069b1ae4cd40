"""A stopped server stops its work; builds and hooks never see the kit's own checkout.

The stop tests run `python -m helpers.emulator` in a subprocess, start work that sleeps
for minutes (a build shell with a background child, a CodeDeploy hook with one), stop the
server the ways a learner does (Ctrl+C, SIGTERM, kill -9 then a new start) and look in
/proc for any process still carrying the test's marker in its environment.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest

from helpers import settings
from tests.deployments import Lab, appspec, make_zip, root
from tests.test_codebuild_builds import make_project, output_lines, run, spec

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def lab(deploy_lab: Lab) -> Lab:
    """These tests' `lab` is a CodeDeploy application (conftest's `lab` is a pipeline's)."""
    return deploy_lab


REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/lab-role"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
SLEEPING_BUILDSPEC = (
    "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 &\n      - sleep 300\n"
)
SLEEPING_HOOK = "#!/bin/sh\nsleep 300 &\nsleep 300\n"
# How long a stopping server may take to exit and end what it started. The property is that
# it does (the sleeps run 300 s); the bound only keeps a broken stop from hanging the run,
# so it is generous: a machine busy with other test workers took over 5 s once.
STOP_WITHIN = 20.0


# --- processes that carry a marker -----------------------------------------------------


def marked_processes(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environment and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@pytest.fixture
def marker():
    """A unique token (in an environment variable's name, an application's name); whatever
    still carries it at the end is killed (a failing run must not leave sleeps behind)."""
    value = secrets.token_hex(8)
    yield value
    for pid in marked_processes(value):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- a server in a subprocess ----------------------------------------------------------


class ServerProcess:
    def __init__(self, state_dir: Path) -> None:
        environment = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LAB_STATE_DIR": str(state_dir),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "helpers.emulator",
                "--port",
                "0",
                "--state-dir",
                str(state_dir),
            ],
            cwd=settings.repo_root(),
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self.process.stdout.readline()
        assert "listening on" in line, line + self.process.stdout.read()
        self.endpoint = line.split("listening on", 1)[1].strip()

    def client(self, service: str):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def servers(tmp_path):
    started: list[ServerProcess] = []

    def start() -> ServerProcess:
        server = ServerProcess(tmp_path / "state")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def start_sleeping_build(server: ServerProcess, marker: str) -> str:
    """A build whose shell sleeps, with a background sleep; what its processes carry."""
    codebuild = server.client("codebuild")
    codebuild.create_project(
        name="sleeper",
        source={"type": "NO_SOURCE", "buildspec": SLEEPING_BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        serviceRole=ROLE,
        environment={
            **ENVIRONMENT,
            "environmentVariables": [
                {"name": "LAB_STOP_TEST_" + marker, "value": "1", "type": "PLAINTEXT"}
            ],
        },
    )
    codebuild.start_build(projectName="sleeper")
    carried = f"LAB_STOP_TEST_{marker}=1"
    # bash and its two sleeps
    assert wait_for(lambda: len(marked_processes(carried)) >= 3, 30), "the build never ran"
    return carried


def start_sleeping_deployment(server: ServerProcess, marker: str) -> str:
    """A deployment whose ApplicationStart hook sleeps, with a background sleep; what its
    processes carry (the application's name in APPLICATION_NAME)."""
    application = "lab-stop-test-" + marker
    lab = Lab(
        server.client("codedeploy"),
        server.client("s3"),
        server.client("ec2"),
        application=application,
    )
    lab.s3.create_bucket(Bucket="lab-revisions")
    lab.deploy.create_application(applicationName=application, computePlatform="Server")
    lab.instances(1)
    lab.create_group()
    revision = lab.upload(
        make_zip(
            {
                "appspec.yml": appspec({"ApplicationStart": "sleep.sh"}),
                "site/index.html": "x",
                "sleep.sh": SLEEPING_HOOK,
            }
        )
    )
    lab.deploy.create_deployment(
        applicationName=application, revision=revision, deploymentGroupName=lab.group
    )
    carried = f"APPLICATION_NAME={application}"
    # sh and its two sleeps
    assert wait_for(lambda: len(marked_processes(carried)) >= 3, 30), "no hook ran"
    return carried


def assert_all_end_after(server: ServerProcess, number: int, carried: str) -> None:
    assert marked_processes(carried)
    server.signal(number)
    started = time.monotonic()
    assert server.process.wait(timeout=STOP_WITHIN) == 0
    left = wait_for(
        lambda: not marked_processes(carried), STOP_WITHIN - (time.monotonic() - started)
    )
    assert left, f"still running: {marked_processes(carried)}"


# --- stopping the server ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_stopping_the_server_ends_its_build_shells(servers, marker, number):
    server = servers()
    carried = start_sleeping_build(server, marker)
    assert_all_end_after(server, number, carried)


@pytest.mark.slow
def test_stopping_the_server_ends_its_hook_scripts(servers, marker):
    server = servers()
    carried = start_sleeping_deployment(server, marker)
    assert_all_end_after(server, signal.SIGTERM, carried)


@pytest.mark.slow
def test_next_start_ends_what_a_killed_server_left(servers, marker):
    first = servers()
    build = start_sleeping_build(first, marker)
    hook = start_sleeping_deployment(first, marker)
    first.signal(signal.SIGKILL)
    first.process.wait(timeout=5)
    time.sleep(0.5)
    assert len(marked_processes(build)) >= 3, "kill -9 alone ended the build"
    assert len(marked_processes(hook)) >= 3, "kill -9 alone ended the hook"

    second = servers()
    assert wait_for(
        lambda: not marked_processes(build) and not marked_processes(hook), STOP_WITHIN
    ), f"still running: {marked_processes(marker)}"
    assert second.process.poll() is None


@pytest.mark.slow
def test_a_new_server_leaves_a_live_servers_builds_alone(servers, marker):
    first = servers()
    carried = start_sleeping_build(first, marker)
    servers()  # a second server on the same state folder starts (and reaps)
    time.sleep(1)
    assert len(marked_processes(carried)) >= 3
    assert_all_end_after(first, signal.SIGTERM, carried)


KERNEL_CELL = """
import boto3
from helpers.emulator import start_local_server
server = start_local_server(credentials=("testing", "testing"))
codebuild = boto3.client("codebuild", region_name="us-east-1", endpoint_url=server.endpoint,
                         aws_access_key_id="testing", aws_secret_access_key="testing")
codebuild.create_project(name="sleeper", source={"type": "NO_SOURCE", "buildspec": %r},
                         artifacts={"type": "NO_ARTIFACTS"}, serviceRole=%r,
                         environment={**%r, "environmentVariables": [
                             {"name": "LAB_STOP_TEST_%s", "value": "1"}]})
_ = codebuild.start_build(projectName="sleeper")
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["shutdown", "restart"])
def test_a_kernels_shutdown_or_restart_ends_its_builds(tmp_path, marker, how):
    from jupyter_client.manager import KernelManager

    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(
        cwd=str(settings.repo_root()), env={**os.environ, "LAB_STATE_DIR": str(tmp_path)}
    )
    client = kernel.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        cell = KERNEL_CELL % (SLEEPING_BUILDSPEC, ROLE, ENVIRONMENT, marker)
        reply = client.execute_interactive(cell, timeout=60, output_hook=lambda message: None)
        assert reply["content"]["status"] == "ok", reply["content"]
        carried = f"LAB_STOP_TEST_{marker}=1"
        assert wait_for(lambda: len(marked_processes(carried)) >= 3, 30), "no build ran"
        if how == "restart":
            kernel.restart_kernel(now=False)
        else:
            kernel.shutdown_kernel(now=False)
        assert wait_for(lambda: not marked_processes(carried), STOP_WITHIN), (
            f"still running: {marked_processes(carried)}"
        )
    finally:
        client.stop_channels()
        if kernel.is_alive():
            kernel.shutdown_kernel(now=True)


def write_registry(
    state: Path, owner_pid: int, owner_start: int | None, groups: list[dict]
) -> Path:
    from helpers.emulator import processes

    folder = state / settings.EMULATOR_DIR_NAME / str(owner_pid)
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / processes.FILE_NAME
    file.write_text(
        json.dumps(
            {
                "server": {"pid": owner_pid, "start": owner_start},
                "boot": processes.boot_id(),
                "groups": groups,
            }
        )
    )
    return file


def test_reaping_kills_only_groups_that_are_still_the_recorded_ones(tmp_path, marker):
    from helpers.emulator import processes

    sleeper = subprocess.Popen(
        ["sleep", "300"], start_new_session=True, env={**os.environ, "LAB_STOP_TEST_" + marker: "1"}
    )
    try:
        started = processes.process_info(sleeper.pid).start
        dead = subprocess.Popen(["true"])
        dead.wait()  # a server that is gone
        me = processes.process_info(os.getpid())
        # The pid was recycled: same group id, another start time.
        write_registry(tmp_path, dead.pid, 1, [{"pgid": sleeper.pid, "start": started - 1}])
        # A live server's group (here: this process's) is not a leftover.
        live = write_registry(
            tmp_path, os.getpid(), me.start, [{"pgid": sleeper.pid, "start": started}]
        )
        assert processes.reap_leftovers(tmp_path) == 0
        assert sleeper.poll() is None and live.exists()

        write_registry(tmp_path, dead.pid, 1, [{"pgid": sleeper.pid, "start": started}])
        assert processes.reap_leftovers(tmp_path) == 1
        assert sleeper.wait(timeout=STOP_WITHIN) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()


def test_reaping_finds_a_group_whose_leader_has_exited(tmp_path, marker):
    """`sleep 300 &` outlives its shell: the group has no leader, its members are killed."""
    from helpers.emulator import processes

    carried = f"LAB_STOP_TEST_{marker}=1"
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 300 & exit 0"],
        start_new_session=True,
        env={**os.environ, "LAB_STOP_TEST_" + marker: "1"},
    )
    started = processes.process_info(shell.pid).start
    shell.wait()
    assert wait_for(lambda: marked_processes(carried), 5)
    dead = subprocess.Popen(["true"])
    dead.wait()
    # Members older than the recorded leader cannot be its children: not ours.
    write_registry(tmp_path, dead.pid, 1, [{"pgid": shell.pid, "start": started + 10**6}])
    assert processes.reap_leftovers(tmp_path) == 0 and marked_processes(carried)
    write_registry(tmp_path, dead.pid, 1, [{"pgid": shell.pid, "start": started}])
    assert processes.reap_leftovers(tmp_path) == 1
    assert wait_for(lambda: not marked_processes(carried), STOP_WITHIN)


# --- builds and hooks never see the kit's checkout --------------------------------------


@pytest.fixture
def state_in_checkout(monkeypatch):
    """The default layout: the state folder inside the kit's checkout (.lab-state/)."""
    parent = settings.repo_root() / ".lab-state"
    parent.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="test-git-ceiling-", dir=parent))
    monkeypatch.setenv("LAB_STATE_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


GIT_PROBE = (
    'echo "toplevel: $(git rev-parse --show-toplevel 2>&1 || true)"; '
    'echo "status: $(git status --short 2>&1 | head -1 || true)"'
)


def test_a_build_does_not_see_the_kit_checkout(client, state_in_checkout, monkeypatch):
    from helpers.emulator import workers

    # What the server's process has must not reach the build.
    monkeypatch.setenv("GIT_DIR", str(settings.repo_root() / ".git"))
    monkeypatch.setenv("LAB_SERVER_ONLY_PROBE", "server-secret")
    workers.set_synchronous(True)
    try:
        codebuild = client("codebuild")
        make_project(
            codebuild,
            buildspec=spec(
                "  build:\n    commands:\n      - |\n        " + GIT_PROBE + "\n"
                "      - env | sort\n"
            ),
        )
        build = run(codebuild)
    finally:
        workers.set_synchronous(None)
    assert build["buildStatus"] == "SUCCEEDED"
    lines = output_lines(client, build)
    toplevel = next(line for line in lines if line.startswith("toplevel: "))
    status = next(line for line in lines if line.startswith("status: "))
    assert "not a git repository" in toplevel, toplevel
    assert "not a git repository" in status, status
    assert not any(line.startswith(("GIT_DIR=", "LAB_SERVER_ONLY_PROBE=")) for line in lines)
    assert not any(line.startswith("AWS_SECRET_ACCESS_KEY=") for line in lines)


def test_a_hook_does_not_see_the_kit_checkout(state_in_checkout, lab):
    hook = (
        '#!/bin/sh\ncd "$LAB_INSTANCE_ROOT"\n(' + GIT_PROBE + ") > "
        '"$LAB_INSTANCE_ROOT/git-probe.txt"\n'
    )
    instance = lab.instances(1)[0]
    lab.create_group()
    info = lab.run(
        make_zip(
            {
                "appspec.yml": appspec({"AfterInstall": "probe.sh"}),
                "site/index.html": "x",
                "probe.sh": hook,
            }
        )
    )
    assert info["status"] == "Succeeded"
    probe = (root(instance) / "git-probe.txt").read_text()
    assert probe.count("not a git repository") == 2, probe
