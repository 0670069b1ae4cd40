"""Pre-flight checks: usable services pass; each kind of failure gets its advice."""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from helpers import preflight


class FakeKit:
    def __init__(self, clients):
        self.clients = clients

    def client(self, service):
        return self.clients[service]


def test_all_services_usable_offline(client):
    kit = FakeKit({s: client(s) for s in preflight.CHECKS})
    results = preflight.run(kit)
    assert [r.service for r in results] == list(preflight.CHECKS)
    assert all(r.ok for r in results)


def test_codecommit_closed_to_account_advises_s3_source(client):
    clients = {s: client(s) for s in preflight.CHECKS}
    codecommit = boto3.client("codecommit", region_name="us-east-1")
    stub = Stubber(codecommit)
    stub.add_client_error(
        "list_repositories",
        "OperationNotAllowedException",
        "CreateRepository request is not allowed",
    )
    stub.activate()
    clients["codecommit"] = codecommit
    results = {r.service: r for r in preflight.run(FakeKit(clients))}
    assert not results["codecommit"].ok
    assert "S3 source" in results["codecommit"].advice
    assert "#codecommit-unavailable" in results["codecommit"].advice
    assert results["codebuild"].ok


def test_advice_for_access_denied_and_missing_endpoint():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "X")
    assert "#access-denied" in preflight.advice_for("codebuild", denied)
    missing = EndpointConnectionError(endpoint_url="https://codecommit.xx.amazonaws.com")
    assert "#service-not-in-region" in preflight.advice_for("codecommit", missing)
