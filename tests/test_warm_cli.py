"""The warm `aws` CLI (helpers/warm_cli) answers as the plain CLI does, byte for byte.

Each command runs twice against the local server: the plain `aws` and the launcher (which
hands it to the daemon); stdout bytes, stderr and the exit status must match.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import boto3
import pytest

from helpers import offline_credentials, warm_cli
from helpers.warm_cli import daemon

pytestmark = pytest.mark.skipif(not warm_cli.enabled({}), reason="needs fork and SCM_RIGHTS")

REPOSITORY = "warm-cli-repo"
BUCKET = "warm-cli-bucket"
LOG_GROUP = "warm-cli-group"


@pytest.fixture(scope="module")
def warm(local_server):
    """(environment with the launcher first on PATH and the daemon's socket, launcher path)."""
    environment = dict(os.environ)
    environment.update(
        AWS_ENDPOINT_URL=local_server.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        PATH=str(Path(offline_credentials.aws_cli()).parent) + os.pathsep + os.environ["PATH"],
    )
    launcher = warm_cli.activate(environment)
    assert launcher is not None
    wait_for_socket(environment[warm_cli.SOCKET_VARIABLE])
    session = boto3.Session(region_name="us-east-1")
    session.client("codecommit", endpoint_url=local_server.endpoint).create_repository(
        repositoryName=REPOSITORY
    )
    session.client("s3", endpoint_url=local_server.endpoint).create_bucket(Bucket=BUCKET)
    session.client("logs", endpoint_url=local_server.endpoint).create_log_group(
        logGroupName=LOG_GROUP
    )
    yield environment, launcher
    warm_cli.stop()


def wait_for_socket(path: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "the warm CLI's daemon did not start"
        time.sleep(0.05)


def run(command: str, args: list[str], environment: dict, **options) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [command, *args], env=environment, capture_output=True, timeout=120, **options
    )
    return done.returncode, done.stdout, done.stderr


def both_ways(warm, args: list[str], extra_env: dict | None = None, **options):
    environment, launcher = warm
    environment = {**environment, **(extra_env or {}), "LAB_WARM_CLI_DEBUG": "1"}
    plain = run(offline_credentials.aws_cli(), args, environment, **options)
    warmed = run(launcher, args, environment, **options)
    assert b"warm CLI not used" not in warmed[2], warmed[2]
    assert warmed == plain
    return warmed


@pytest.mark.parametrize("output", ["json", "table", "text", "yaml"])
def test_each_output_format(warm, output):
    code, stdout, stderr = both_ways(warm, ["codecommit", "list-repositories", "--output", output])
    if output == "yaml" and code == 2:  # AWS CLI v1 has no yaml output: the same refusal
        return
    assert code == 0 and REPOSITORY.encode() in stdout


def test_query_and_pager_options(warm):
    both_ways(
        warm,
        [
            "codecommit",
            "get-repository",
            "--repository-name",
            REPOSITORY,
            "--query",
            "repositoryMetadata.repositoryName",
            "--output",
            "text",
        ],
    )
    both_ways(warm, ["codepipeline", "list-pipelines", "--no-cli-pager"])


def test_error_exit_status_and_stderr(warm):
    code, _, stderr = both_ways(warm, ["codecommit", "get-repository", "--repository-name", "nope"])
    assert code != 0 and b"RepositoryDoesNotExistException" in stderr
    code, _, _ = both_ways(warm, ["codecommit", "no-such-operation"])
    assert code != 0


def test_file_arguments_relative_to_the_callers_directory(warm, tmp_path):
    (tmp_path / "request.json").write_text(f'{{"repositoryName": "{REPOSITORY}"}}')
    (tmp_path / "body.bin").write_bytes(bytes(range(256)))
    both_ways(
        warm,
        ["codecommit", "get-repository", "--cli-input-json", "file://request.json"],
        cwd=tmp_path,
    )
    both_ways(
        warm,
        ["s3api", "put-object", "--bucket", BUCKET, "--key", "body", "--body", "fileb://body.bin"],
        cwd=tmp_path,
    )


def test_stdin_is_the_callers(warm):
    environment, launcher = warm
    code, _, _ = run(
        launcher,
        ["s3", "cp", "-", f"s3://{BUCKET}/from-stdin"],
        environment,
        input=b"piped bytes\n",
    )
    assert code == 0
    _, stdout, _ = both_ways(warm, ["s3", "cp", f"s3://{BUCKET}/from-stdin", "-"])
    assert stdout == b"piped bytes\n"


def test_a_variable_set_just_before_the_call_applies(warm):
    _, stdout, _ = both_ways(
        warm, ["codecommit", "list-repositories"], extra_env={"AWS_DEFAULT_OUTPUT": "text"}
    )
    assert stdout.startswith(b"REPOSITORIES")


def test_git_credential_helper(warm, local_server):
    environment, launcher = warm
    host = local_server.endpoint.split("://", 1)[1]
    question = f"protocol=http\nhost={host}\npath=v1/repos/{REPOSITORY}\n\n".encode()
    args = ["codecommit", "credential-helper", "--ignore-host-check", "get"]
    plain = run(offline_credentials.aws_cli(), args, environment, input=question)
    warmed = run(launcher, args, environment, input=question)
    assert warmed[0] == plain[0] == 0 and warmed[2] == plain[2]

    # The password is a signature of the current second: compare everything else.
    def fields(stdout):
        return {k: v for k, _, v in (line.partition(b"=") for line in stdout.splitlines())}

    assert fields(warmed[1])[b"username"] == fields(plain[1])[b"username"]
    assert fields(warmed[1]).keys() == fields(plain[1]).keys()


def unread(pipe) -> int:
    """Bytes written to the pipe that its reader has not read yet."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def interrupted(command: str, environment: dict) -> tuple[int, bytes]:
    """A command that waits (for stdin that never ends) gets SIGINT, as Kernel > Interrupt
    sends it; its exit status and stderr."""
    process = subprocess.Popen(
        [command, "s3", "cp", "-", f"s3://{BUCKET}/interrupted"],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdin.write(b"some bytes, then nothing more for a while")
    process.stdin.flush()
    # Interrupt the transfer, not the start-up: a SIGINT during the CLI's imports (seconds on
    # a busy machine) kills Python by the signal. Once the CLI has read the bytes from the
    # pipe (FIONREAD: what is left in it), it is in the transfer.
    deadline = time.monotonic() + 120
    while unread(process.stdin) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def test_an_interrupt_stops_the_command(warm):
    environment, launcher = warm
    warmed = interrupted(launcher, environment)
    plain = interrupted(offline_credentials.aws_cli(), environment)
    # Where the signal lands decides awscli's message (a transfer says "cancelled: ctrl-c
    # received"): the status is what both must share.
    assert warmed[0] == plain[0] != 0


def test_two_calls_at_once(warm):
    results = {}

    def call(output):
        results[output] = both_ways(
            warm, ["codecommit", "list-repositories"], extra_env={"AWS_DEFAULT_OUTPUT": output}
        )

    threads = [threading.Thread(target=call, args=(o,)) for o in ("json", "text")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["json"][1].startswith(b"{") and results["text"][1].startswith(b"REPO")


def test_without_the_daemon_the_plain_cli_answers(warm, tmp_path):
    environment, launcher = warm
    args = ["codecommit", "list-repositories"]
    expected = run(offline_credentials.aws_cli(), args, environment)
    for change in ({warm_cli.SOCKET_VARIABLE: str(tmp_path / "gone.sock")}, {"LAB_WARM_CLI": "0"}):
        assert run(launcher, args, {**environment, **change}) == expected
    # A start-up setting the daemon cannot honour: it refuses and the plain CLI runs.
    changed = {**environment, "PYTHONIOENCODING": "latin-1", "LAB_WARM_CLI_DEBUG": "1"}
    code, stdout, stderr = run(launcher, args, changed)
    assert (code, stdout) == expected[:2] and b"start-up environment differs" in stderr


def test_only_the_owner_may_connect(warm):
    assert daemon.peer_allowed(os.getuid())
    assert not daemon.peer_allowed(os.getuid() + 1)
    assert not daemon.peer_allowed(1234, own_uid=1000)
    environment, _ = warm
    path = environment[warm_cli.SOCKET_VARIABLE]
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
        server_side_uid = daemon.peer_uid(client)  # the same call the daemon makes
    assert server_side_uid == os.getuid()
    folder = Path(path).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.stat().st_uid == os.getuid()
    assert not str(folder).startswith(str(Path(__file__).resolve().parent.parent))


def test_the_launcher_starts_without_site_or_imports():
    source = (Path(warm_cli.__file__).parent / "launcher.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith("import ")]
    assert imports == ["import _signal", "import _socket", "import posix", "import sys"]
    assert sys.executable  # the launcher's first line names this Python with -SI


@pytest.fixture
def restored_environment(monkeypatch):
    """lab.setup() changes os.environ on purpose (for `aws` and git): restore it after."""
    saved = dict(os.environ)
    monkeypatch.setenv("LAB_PREFIX", "labwarm")
    yield monkeypatch
    os.environ.clear()
    os.environ.update(saved)


def test_lab_setup_puts_the_launcher_first_and_git_uses_it(restored_environment, local_server):
    from helpers import lab

    restored_environment.setenv("AWS_ENDPOINT_URL", local_server.endpoint)
    lab.setup(quiet=True)
    first = os.environ["PATH"].split(os.pathsep)[0]
    launcher = str(Path(first) / "aws")
    assert Path(launcher).exists() and warm_cli.FOLDER_NAME in first
    helpers_configured = [v for k, v in os.environ.items() if k.startswith("GIT_CONFIG_VALUE_")]
    assert f"!{launcher} codecommit credential-helper --ignore-host-check $@" in helpers_configured
    wait_for_socket(os.environ[warm_cli.SOCKET_VARIABLE])
    # What a notebook's `!aws ...` cell runs: the shell finds the launcher on PATH.
    done = subprocess.run(
        "aws sts get-caller-identity --query Account --output text",
        shell=True,
        capture_output=True,
        env={**os.environ, "LAB_WARM_CLI_DEBUG": "1"},
    )
    assert done.returncode == 0 and done.stdout.strip() == lab.OFFLINE_ACCOUNT_ID.encode()
    assert b"warm CLI not used" not in done.stderr


def test_lab_warm_cli_0_leaves_the_plain_cli(restored_environment, local_server):
    from helpers import lab

    restored_environment.setenv("AWS_ENDPOINT_URL", local_server.endpoint)
    lab.setup(quiet=True)
    restored_environment.setenv("LAB_WARM_CLI", "0")
    lab.setup(quiet=True)
    assert warm_cli.FOLDER_NAME not in os.environ["PATH"]
    assert warm_cli.SOCKET_VARIABLE not in os.environ
    helpers_configured = [v for k, v in os.environ.items() if k.startswith("GIT_CONFIG_VALUE_")]
    assert f"!{offline_credentials.aws_cli()} codecommit" in " ".join(helpers_configured)


def test_the_daemon_ends_with_its_parent(tmp_path):
    """A kernel killed hard cannot stop its daemon: the daemon sees its parent change."""
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    path = folder / "aws-test.sock"
    not_my_parent = os.getpid() + 1_000_000  # no such process: as if the kernel had gone
    process = subprocess.Popen(
        [sys.executable, daemon.__file__, str(path), str(not_my_parent), "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert not path.exists()


def test_stop_ends_the_daemon_and_the_launcher_falls_back(warm):
    environment, launcher = warm
    args = ["codecommit", "list-repositories"]
    expected = run(offline_credentials.aws_cli(), args, environment)
    warm_cli.stop()
    assert not warm_cli.is_running()
    deadline = time.monotonic() + 10
    while os.path.exists(environment[warm_cli.SOCKET_VARIABLE]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(environment[warm_cli.SOCKET_VARIABLE])
    assert run(launcher, args, environment) == expected


def test_leftovers_of_ended_kernels_are_removed(tmp_path):
    ended = subprocess.Popen(["true"])
    ended.wait()
    for name in (f"aws-{ended.pid}.sock", f"aws-{ended.pid}.log", f"aws-{os.getpid()}.log"):
        (tmp_path / name).write_text("")
    warm_cli.remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"aws-{os.getpid()}.log"]


def test_a_command_sent_during_the_warm_up_waits_for_it(tmp_path, monkeypatch):
    """The daemon listens before it warms up: a launcher connecting while awscli is still
    being imported is accepted once the warm-up ends (it gets the warm CLI), rather than
    finding no socket and paying the plain CLI's whole start. Here the warm-up waits until
    the connection is made; the attendant's fork is replaced by a record of it."""
    warming, connected = threading.Event(), threading.Event()

    def slow_warm_up():
        warming.set()
        assert connected.wait(30), "nobody connected during the warm-up"

    accepted: list[int] = []
    monkeypatch.setattr(daemon, "warm_up", slow_warm_up)
    monkeypatch.setattr(daemon, "reap_attendants", lambda: None)  # not this worker's children
    monkeypatch.setattr(daemon.os, "fork", lambda: accepted.append(1) or 1)
    path = str(tmp_path / "daemon.sock")
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def connect_while_warming():
        warming.wait(30)
        client.connect(path)  # the daemon has not finished warming up
        connected.set()

    thread = threading.Thread(target=connect_while_warming)
    thread.start()
    handler = signal.getsignal(signal.SIGTERM)
    try:
        daemon.serve(path, os.getppid(), idle_seconds=0.5)
    finally:
        signal.signal(signal.SIGTERM, handler)
        thread.join(30)
        client.close()
    assert connected.is_set()
    assert accepted == [1]  # the early connection was served after the warm-up
    assert not os.path.exists(path)
