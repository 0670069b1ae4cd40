"""Shared fixtures: a state folder per test run, the local server, mock_aws, checked clients,
the workers' mode (synchronous / background) and the labs of tests/pipelines.py and
tests/deployments.py.

Importing this is light (a test of polling alone runs in a fraction of a second): the
kit's emulator goes into moto once collection has brought moto in, or when a fixture
needs it; the local server and the labs' modules are imported by their fixtures."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING

import pytest

# Before helpers is imported anywhere: keep test state out of the checkout and
# never let a test reach a real account.
# Each process (and each pytest-xdist worker) gets a state folder of its own.
os.environ["LAB_STATE_DIR"] = tempfile.mkdtemp(prefix="lab-kit-tests-")
os.environ.setdefault("LAB_PREFIX", "labtest")
# Tests are hermetic: they start their own local servers (or use mock_aws) and never
# touch a learner's shared server at AWS_ENDPOINT_URL, nor a real account.
for _name in (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "LAB_MODE",
    "AWS_ENDPOINT_URL",
):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
# git over HTTP signs with the aws CLI's credential helper, as lab.setup configures it.
from helpers import offline_credentials  # noqa: E402

os.environ.update(offline_credentials.git_config())

import boto3  # noqa: E402

from helpers import shared_loader  # noqa: E402
from helpers.emulator import install, workers  # noqa: E402
from tests.shapes import check_replies  # noqa: E402

if TYPE_CHECKING:
    from tests import deployments, pipelines

REGION = "us-east-1"

# moto's mock_aws sets boto3.DEFAULT_SESSION to None, so each boto3.client() of a test makes
# a new session, which would parse its service's JSON models again (~0.1 s a client).
shared_loader.install()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The kit's additions go into moto before any test runs, when a collected test module
    brought moto in (its tests may call mock_aws themselves)."""
    if "moto" in sys.modules:
        install()


@pytest.fixture(scope="session")
def local_server():
    """One local server (moto + the kit) for the test session, on a free loopback port."""
    from helpers.emulator.server import LocalServer  # a second of imports: only when used

    server = LocalServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def server_client(local_server):
    """Factory: a shape-checked boto3 client talking HTTP to the local server."""

    def make(service: str, region: str = REGION):
        return check_replies(
            boto3.client(service, region_name=region, endpoint_url=local_server.endpoint)
        )

    return make


@pytest.fixture
def mocked():
    """moto's in-process mock with the kit's additions installed (no HTTP)."""
    from moto import mock_aws

    install()
    with mock_aws():
        yield


@pytest.fixture
def client(mocked):
    """Factory: a shape-checked boto3 client under mock_aws."""

    def make(service: str, region: str = REGION):
        return check_replies(boto3.client(service, region_name=region))

    return make


@pytest.fixture
def synchronous():
    """Work an operation starts (builds, deployments, executions) has ended when it replies."""
    workers.set_synchronous(True)
    yield
    workers.set_synchronous(None)


@pytest.fixture
def background():
    """Work runs in the background, as on the local server: tests wait for it."""
    workers.set_synchronous(False)
    yield
    workers.set_synchronous(None)


@pytest.fixture
def lab(client, synchronous) -> pipelines.Lab:
    """A repository with a commit, a build project and a bucket (tests/pipelines.py)."""
    from tests import pipelines

    return pipelines.make_lab(client)


@pytest.fixture
def bg_lab(client, background) -> pipelines.Lab:
    """The same lab, its work in the background."""
    from tests import pipelines

    return pipelines.make_lab(client)


@pytest.fixture
def deploy_lab(client, synchronous) -> deployments.Lab:
    """A CodeDeploy application and a revisions bucket (tests/deployments.py)."""
    from tests import deployments

    return deployments.make_lab(client)


@pytest.fixture
def lab_kit(mocked, synchronous, monkeypatch):
    """A lab.Kit (offline, prefix labtest) under mock_aws, with synchronous workers: what
    a notebook's `kit` is, for testing lab-level helpers. Instances get a fixed AMI."""
    from helpers import codedeploy, lab

    monkeypatch.setattr(codedeploy, "latest_ami", lambda kit: "ami-12345678")
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return lab.Kit(lab.OFFLINE, REGION, "labtest", session, account_id=lab.OFFLINE_ACCOUNT_ID)
