"""The kit's modes, the learner prefix and the local server command."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from helpers import lab, settings

RealSession = boto3.Session


@pytest.fixture
def clean_env(monkeypatch):
    """lab.setup() changes os.environ on purpose (for the aws CLI): restore it after."""
    saved = dict(os.environ)
    for name in ("LAB_MODE", "AWS_ENDPOINT_URL", "LAB_CONFIRM_ACCOUNT", "LAB_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAB_PREFIX", "labmodes")
    yield monkeypatch
    os.environ.clear()
    os.environ.update(saved)


def test_offline_is_the_default_even_with_real_credentials(clean_env):
    clean_env.setenv("AWS_PROFILE", "my-real-profile")
    clean_env.setenv("AWS_SESSION_TOKEN", "a-real-session")
    kit = lab.setup(quiet=True)
    assert kit.offline and kit.account_id == lab.OFFLINE_ACCOUNT_ID
    assert kit.endpoint_url.startswith("http://127.0.0.1:")
    assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == kit.endpoint_url  # the aws CLI follows
    assert kit.client("sts").get_caller_identity()["Account"] == lab.OFFLINE_ACCOUNT_ID
    assert lab.setup(quiet=True).endpoint_url == kit.endpoint_url  # one server per process


def test_names_and_tags_carry_the_prefix(clean_env):
    kit = lab.setup(quiet=True)
    assert kit.name("greeting") == "labmodes-greeting"
    assert kit.tags() == {"lab:kit": "codepipeline-lab-kit", "lab:owner": "labmodes"}
    assert {"key": "lab:owner", "value": "labmodes"} in kit.tag_list("key", "value")


def test_unknown_mode_and_dead_endpoint_are_clear_errors(clean_env):
    clean_env.setenv("LAB_MODE", "cloud")
    with pytest.raises(lab.LabSetupError, match="not a mode"):
        lab.setup(quiet=True)
    clean_env.setenv("LAB_MODE", "offline")
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(lab.LabSetupError, match="does not answer"):
        lab.setup(quiet=True)


def test_shared_server_from_aws_endpoint_url(clean_env, local_server):
    clean_env.setenv("AWS_ENDPOINT_URL", local_server.endpoint)
    assert lab.setup(quiet=True).endpoint_url == local_server.endpoint


def stubbed_session(account: str):
    session = RealSession(aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1")
    sts = session.client("sts")
    stub = Stubber(sts)
    stub.add_response(
        "get_caller_identity",
        {"Account": account, "Arn": f"arn:aws:iam::{account}:user/ada", "UserId": "AIDA"},
    )
    stub.activate()
    session.client = lambda *args, **kwargs: sts
    return session


def test_aws_mode_needs_the_account_confirmed(clean_env, capsys):
    clean_env.setenv("LAB_MODE", "aws")
    clean_env.setattr(lab.boto3, "Session", lambda **kw: stubbed_session("111122223333"))
    with pytest.raises(lab.LabSetupError, match="Not confirmed"):
        lab.setup(confirm=lambda prompt: "999999999999")
    shown = capsys.readouterr().out
    assert "111122223333" in shown and "eu-west-1" in shown and "user/ada" in shown
    kit = lab.setup(confirm=lambda prompt: "111122223333", quiet=True)
    assert kit.mode == lab.AWS and kit.account_id == "111122223333" and kit.endpoint_url is None
    clean_env.setenv("LAB_CONFIRM_ACCOUNT", "111122223333")
    assert lab.setup(confirm=lambda prompt: pytest.fail("asked"), quiet=True).account_id


def test_aws_mode_refuses_a_local_endpoint(clean_env):
    clean_env.setenv("LAB_MODE", "aws")
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    with pytest.raises(lab.LabSetupError, match="AWS_ENDPOINT_URL"):
        lab.setup(quiet=True)


def test_prefix_is_made_once_and_validated(monkeypatch, tmp_path):
    monkeypatch.delenv("LAB_PREFIX", raising=False)
    monkeypatch.setattr(settings, "repo_root", lambda: tmp_path)
    first = settings.learner_prefix()
    assert settings.PREFIX_PATTERN.match(first)
    assert (tmp_path / ".lab-prefix").read_text().strip() == first
    assert settings.learner_prefix() == first
    monkeypatch.setenv("LAB_PREFIX", "Bad_Prefix")
    with pytest.raises(ValueError, match="not valid"):
        settings.learner_prefix()


def test_emulator_command_serves_until_stopped(tmp_path):
    """Started without credentials, it makes a random pair, 0600 in the state folder, says
    where, and obeys only requests signed with it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "helpers.emulator", "--port", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("Local AWS listening on http://127.0.0.1:")
        endpoint = line.split()[-1]
        server.stdout.readline()  # the export line
        credentials_file = tmp_path / "local-aws" / "credentials.json"
        assert str(credentials_file) in server.stdout.readline()
        assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
        pair = json.loads(credentials_file.read_text())
        stranger = boto3.client(
            "codecommit",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        with pytest.raises(ClientError) as refused:
            stranger.create_repository(repositoryName="refused")
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        cc = boto3.client(
            "codecommit",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=pair["aws_access_key_id"],
            aws_secret_access_key=pair["aws_secret_access_key"],
        )
        cc.create_repository(repositoryName="served")
        assert list((tmp_path / "local-aws").glob("*/codecommit/*/*/served-*.git"))
        assert not list((tmp_path / "local-aws").glob("*/codecommit/*/*/refused-*.git"))
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_aws_mode_without_credentials_names_what_to_configure(clean_env, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        clean_env.delenv(name, raising=False)
    clean_env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "nothing"))
    clean_env.setenv("AWS_CONFIG_FILE", str(tmp_path / "nothing"))
    clean_env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clean_env.setenv("LAB_MODE", "aws")
    with pytest.raises(lab.LabSetupError) as caught:
        lab.setup(confirm=lambda prompt: pytest.fail("asked to confirm"), quiet=True)
    message = str(caught.value)
    for what in (
        "aws configure",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "docs/troubleshooting.md#no-credentials",
    ):
        assert what in message
    assert "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    guide = (settings.repo_root() / "docs" / "troubleshooting.md").read_text()
    assert "\n### no-credentials\n" in guide and "aws configure" in guide


def test_a_notebook_shows_a_setup_error_as_its_one_line():
    """IPython (what runs a notebook's cells) shows a LabSetupError as its message alone."""
    cell = "from helpers import lab\nlab.setup()"
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        f"InteractiveShell.instance().run_cell({cell!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "LAB_MODE": "cloud"},
        timeout=60,
        cwd=settings.repo_root(),
    )
    shown = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert shown == [
        "LabSetupError: LAB_MODE='cloud' is not a mode: use 'offline' (default) or 'aws'."
    ]
