"""Malformed requests, one named case each: the status and error AWS's JSON services give,
never a 5xx; and the bounds on bodies and connections (helpers/emulator/malformed.py).

Every request is SigV4-signed with the test credentials, as boto3 signs, except where the
Authorization header itself is the case.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers.emulator import malformed
from helpers.emulator.malformed import BoundedWSGIServer
from helpers.emulator.server import QuietRequestHandler
from tests.test_fuzz_requests import REGION, signed_headers

TARGETS = {
    "codepipeline": "CodePipeline_20150709",
    "codebuild": "CodeBuild_20161006",
    "codedeploy": "CodeDeploy_20141006",
    "codecommit": "CodeCommit_20150413",
}
JSON_TYPE = "application/x-amz-json-1.1"


def call(
    endpoint: str,
    service: str,
    operation: str,
    body: bytes | str | dict,
    authorization: str | None = None,
    target: str | None = None,
    path: str = "/",
) -> requests.Response:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    headers = {
        "X-Amz-Target": target or f"{TARGETS[service]}.{operation}",
        "Content-Type": JSON_TYPE,
    }
    if authorization is None:
        headers = signed_headers(endpoint, service, headers, body, path)
    else:
        headers["Authorization"] = authorization
    return requests.post(endpoint + path, data=body, headers=headers, timeout=30)


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["__type"]


NAMED_CASES = {
    # CodeDeploy's wrong JSON types reached moto's own parser first: now the request check.
    "codedeploy wrong type at depth": (
        "codedeploy",
        "CreateDeploymentGroup",
        {
            "applicationName": "app",
            "deploymentGroupName": "g",
            "serviceRoleArn": "arn:x",
            "autoRollbackConfiguration": {"enabled": True, "events": "DEPLOYMENT_FAILURE"},
        },
        400,
        "ValidationException",
    ),
    "codedeploy wrong type of a list item": (
        "codedeploy",
        "BatchGetApplications",
        {"applicationNames": [{"name": "x"}]},
        400,
        "ValidationException",
    ),
    "body not UTF-8": (
        "codecommit",
        "ListRepositories",
        b'{"sortBy": "\xff\xfe"}',
        400,
        "SerializationException",
    ),
    "body UTF-16": (
        "codebuild",
        "ListProjects",
        "{}".encode("utf-16"),
        400,
        "SerializationException",
    ),
    "body not JSON": ("codepipeline", "ListPipelines", b"{not json", 400, "SerializationException"),
    "body a JSON array": ("codepipeline", "ListPipelines", b"[]", 400, "SerializationException"),
    "NaN in the body": (
        "codebuild",
        "ListProjects",
        b'{"sortBy": NaN}',
        400,
        "SerializationException",
    ),
    "nested 100,000 deep": (
        "codecommit",
        "ListRepositories",
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        "SerializationException",
    ),
    "nested 200 deep (json.loads would take it)": (
        "codecommit",
        "ListRepositories",
        b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}",
        400,
        "SerializationException",
    ),
    "lone surrogate in a repository name": (
        "codecommit",
        "CreateRepository",
        '{"repositoryName": "repo\\ud800"}',
        400,
        "SerializationException",
    ),
    "NUL in a repository name": (
        "codecommit",
        "CreateRepository",
        {"repositoryName": "repo\x00"},
        400,
        "InvalidRepositoryNameException",
    ),
    "integer beyond int64": (
        "codecommit",
        "GetDifferences",
        {"repositoryName": "r", "afterCommitSpecifier": "main", "MaxResults": 2**64},
        400,
        "SerializationException",
    ),
    "integer beyond int32": (
        "codebuild",
        "CreateProject",
        {
            "name": "p",
            "source": {"type": "NO_SOURCE"},
            "artifacts": {"type": "NO_ARTIFACTS"},
            "environment": {
                "type": "LINUX_CONTAINER",
                "image": "i",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            "serviceRole": "arn:aws:iam::123456789012:role/r",
            "timeoutInMinutes": 2**31,
        },
        400,
        "SerializationException",
    ),
    "timestamp 2**64 in CodePipeline": (
        "codepipeline",
        "PutJobSuccessResult",
        {
            "jobId": "11111111-1111-1111-1111-111111111111",
            "currentRevision": {"revision": "r", "changeIdentifier": "c", "created": 2**64},
        },
        400,
        "SerializationException",
    ),
    "timestamp 2**64 in CodeDeploy": (
        "codedeploy",
        "ListDeployments",
        {"createTimeRange": {"start": 2**64}},
        400,
        "SerializationException",
    ),
    "timestamp as text": (
        "codedeploy",
        "ListDeployments",
        {"createTimeRange": {"start": "yesterday"}},
        400,
        "SerializationException",
    ),
    "codedeploy tag without a Key": (
        "codedeploy",
        "CreateApplication",
        {"applicationName": "tagless", "tags": [{}]},
        400,
        "InvalidTagsToAddException",
    ),
}


@pytest.mark.parametrize("name", NAMED_CASES)
def test_named_malformed_case(local_server, name):
    service, operation, body, status, error_type = NAMED_CASES[name]
    response = call(local_server.endpoint, service, operation, body)
    assert error_of(response) == (status, error_type), response.text


def test_true_is_not_an_integer(local_server):
    response = call(
        local_server.endpoint,
        "codecommit",
        "GetDifferences",
        {"repositoryName": "r", "afterCommitSpecifier": "main", "MaxResults": True},
    )
    assert error_of(response) == (400, "SerializationException")


def test_codedeploy_sort_by_outside_its_enum(local_server):
    boto3.client(
        "codedeploy", region_name=REGION, endpoint_url=local_server.endpoint
    ).create_application(applicationName="sortapp")
    response = call(
        local_server.endpoint,
        "codedeploy",
        "ListApplicationRevisions",
        {"applicationName": "sortapp", "sortBy": "size"},
    )
    assert error_of(response) == (400, "InvalidSortByException")


@pytest.mark.parametrize(
    "operation",
    ["_lab_backend", "__init__", "dispatch", "call_action", "list_repositories", "Nope", ""],
)
def test_private_or_unknown_operation_is_refused(local_server, operation):
    response = call(local_server.endpoint, "codecommit", operation, {})
    assert error_of(response) == (400, "UnknownOperationException")


@pytest.mark.parametrize(
    "target",
    [
        "Nope",
        "",
        "codecommit_20150413.ListRepositories",
        "CodeCommit_20150413",
        "X.ListRepositories",
    ],
)
def test_odd_target_is_refused(local_server, target):
    response = call(local_server.endpoint, "codecommit", "", {}, target=target)
    assert error_of(response) == (400, "UnknownOperationException")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/list-tags-for-resource"),
        ("POST", "/tag-resource"),
        ("GET", "/"),
        ("PUT", "/x/y"),
        ("POST", "/service/CodeDeploy_20141006/operation/ListApplications"),
    ],
)
def test_call_without_a_target_is_refused(local_server, method, path):
    """Signed for CodeDeploy but naming no operation: moto would route some of these paths
    to CodeDeploy's REST-style handlers, which the kit's operations replace (a 500)."""
    request = AWSRequest(
        method=method,
        url=local_server.endpoint + path,
        data=b"{}",
        headers={"Content-Type": JSON_TYPE},
    )
    SigV4Auth(Credentials("testing", "testing"), "codedeploy", REGION).add_auth(request)
    response = requests.request(
        method,
        local_server.endpoint + path,
        data=b"{}",
        headers=dict(request.headers.items()),
        timeout=30,
    )
    assert error_of(response) == (400, "UnknownOperationException")


def test_target_of_another_service_than_signed_for(local_server):
    response = call(
        local_server.endpoint, "codecommit", "", {}, target="CodeBuild_20161006.ListProjects"
    )
    assert error_of(response) == (403, "InvalidSignatureException")


def test_action_in_the_query_string_is_not_dispatched(local_server):
    """moto takes ?Action= before X-Amz-Target: a private helper must not be reachable so.
    The target's operation runs, as on AWS, which ignores the query of a JSON call."""
    response = call(
        local_server.endpoint, "codecommit", "ListRepositories", {}, path="/?Action=_lab_backend"
    )
    assert response.status_code == 200, response.text
    assert "repositories" in response.json()


@pytest.mark.parametrize(
    "authorization",
    [
        "garbage",
        "",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e",
        "AWS4-HMAC-SHA256 Credential=testing/20200101/"
        "us-east-1/codecommit/aws4_request, "
        "SignedHeaders=host, Signature=00",
        "AWS x",
    ],
)
def test_garbage_authorization_is_a_4xx(local_server, authorization):
    response = call(
        local_server.endpoint, "codecommit", "ListRepositories", {}, authorization=authorization
    )
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["__type"], str)


# -- bounds on bodies -----------------------------------------------------------------


def raw_exchange(endpoint: str, request: bytes, timeout: float = 10) -> bytes:
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        return _read_all(connection)


def _read_all(connection: socket.socket) -> bytes:
    parts = []
    while part := connection.recv(65536):
        parts.append(part)
    return b"".join(parts)


def head(target: str, length: str, host: str = "127.0.0.1", content_type: str = JSON_TYPE) -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {target}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_oversize_json_body_is_413(local_server):
    body = b'{"a": "' + b"x" * malformed.MAX_JSON_BODY + b'"}'
    response = call(local_server.endpoint, "codecommit", "ListRepositories", body)
    assert error_of(response) == (413, "RequestEntityTooLargeException")


def test_announced_oversize_body_is_413_before_it_is_sent(local_server):
    reply = raw_exchange(
        local_server.endpoint, head("CodeCommit_20150413.ListRepositories", str(10**12))
    )
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"RequestEntityTooLargeException" in reply


def test_oversize_s3_upload_is_413_in_s3_xml(local_server):
    request = (
        f"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {malformed.MAX_OTHER_BODY + 1}\r\n\r\n"
    ).encode()
    reply = raw_exchange(local_server.endpoint, request)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"<Code>EntityTooLarge</Code>" in reply


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "\u00b2"])
def test_content_length_that_is_not_a_number_is_400(local_server, length):
    reply = raw_exchange(
        local_server.endpoint, head("CodeCommit_20150413.ListRepositories", length)
    )
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]


def test_body_shorter_than_its_length_is_400(local_server):
    host, port = local_server.endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head("CodeCommit_20150413.ListRepositories", "100") + b"{}")
        connection.shutdown(socket.SHUT_WR)
        reply = _read_all(connection)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]


def test_chunked_request_is_read_whole(local_server):
    """A body without Content-Length (chunked) still reaches the signature check whole."""
    body = b"{}"
    headers = signed_headers(
        local_server.endpoint,
        "codecommit",
        {"X-Amz-Target": "CodeCommit_20150413.ListRepositories", "Content-Type": JSON_TYPE},
        body,
    )
    headers.pop("Content-Length", None)
    response = requests.post(
        local_server.endpoint + "/", data=iter([body]), headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    assert "repositories" in response.json()


# -- bounds on connections ------------------------------------------------------------


@pytest.fixture
def strict_server(local_server):
    """The same app behind a server with a 1 s read timeout and room for 4 connections."""
    server = BoundedWSGIServer(
        "127.0.0.1", 0, local_server.app, QuietRequestHandler, read_timeout=1.0, max_connections=4
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def stall(endpoint: str, count: int, with_body: bool = False) -> list[socket.socket]:
    """Connections that send half a request (its head, or a head and part of its body)."""
    host, port = endpoint.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        connection = socket.create_connection((host, int(port)), timeout=10)
        if with_body:
            connection.sendall(head("CodeCommit_20150413.ListRepositories", "100") + b'{"a"')
        else:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar")
        sockets.append(connection)
    return sockets


def list_repositories(endpoint: str) -> requests.Response:
    return call(endpoint, "codecommit", "ListRepositories", {})


def test_local_server_has_the_bounds(local_server):
    server = local_server._server
    assert isinstance(server, BoundedWSGIServer)
    assert (server.read_timeout, server.max_connections) == (
        malformed.READ_TIMEOUT_SECONDS,
        malformed.MAX_CONNECTIONS,
    )


def test_stalled_sockets_do_not_delay_a_signed_request(local_server):
    stalled = stall(local_server.endpoint, 20)
    try:
        started = time.monotonic()
        response = list_repositories(local_server.endpoint)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 5
    finally:
        for connection in stalled:
            connection.close()


def test_stalled_sockets_are_dropped_after_the_read_timeout(strict_server):
    stalled = stall(strict_server, 2) + stall(strict_server, 1, with_body=True)
    try:
        started = time.monotonic()
        replies = [_read_all(connection) for connection in stalled]  # b"" once closed
        assert time.monotonic() - started < 5
    finally:
        for connection in stalled:
            connection.close()
    assert replies[:2] == [b"", b""]  # no request yet: closed without a word
    assert replies[2].startswith(b"HTTP/1.1 408")  # mid-body: told why
    assert b"RequestTimeoutException" in replies[2]


def test_connections_past_the_cap_get_503_until_a_slot_frees(strict_server):
    stalled = stall(strict_server, 4)
    try:
        started = time.monotonic()
        refused = list_repositories(strict_server)
        assert time.monotonic() - started < 1
        assert error_of(refused) == (503, "ThrottlingException")
        time.sleep(1.5)  # the stalled ones time out and free their slots
        assert list_repositories(strict_server).status_code == 200
    finally:
        for connection in stalled:
            connection.close()
