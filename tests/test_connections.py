"""CodeConnections / CodeStar Connections offline: the API, the handshake, the local git host
(git push and clone with the CodeCommit credential helper), and what the server refuses."""

from __future__ import annotations

import base64
import datetime
import io
import json
import subprocess
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from helpers import connections as lab_connections
from helpers import lab
from helpers.emulator.connections import git_host
from tests.signing import json_request, signed_headers

OWNER = "octo"


def git(*args, cwd=None, check=True):
    return subprocess.run(
        ["git", "-c", "user.name=Learner", "-c", "user.email=l@example.com", *args],
        cwd=cwd,
        check=check,
        capture_output=True,
        text=True,
    )


def kit_for(endpoint: str) -> lab.Kit:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return lab.Kit(
        lab.OFFLINE,
        "us-east-1",
        "labtest",
        session,
        endpoint_url=endpoint,
        account_id=lab.OFFLINE_ACCOUNT_ID,
    )


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


# -- the API -----------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["codeconnections", "codestar-connections"])
def test_create_get_list_delete_as_on_aws(server_client, service):
    api = server_client(service)
    created = api.create_connection(
        ProviderType="GitHub", ConnectionName="lab-gh", Tags=[{"Key": "team", "Value": "a"}]
    )
    arn = created["ConnectionArn"]
    assert arn.startswith(f"arn:aws:{service}:us-east-1:123456789012:connection/")
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]
    connection = api.get_connection(ConnectionArn=arn)["Connection"]
    assert connection == {
        "ConnectionName": "lab-gh",
        "ConnectionArn": arn,
        "ProviderType": "GitHub",
        "OwnerAccountId": "123456789012",
        "ConnectionStatus": "PENDING",  # until the handshake, as on AWS
    }
    gitlab = api.create_connection(ProviderType="GitLab", ConnectionName="lab-gl")
    listed = api.list_connections(ProviderTypeFilter="GitLab")["Connections"]
    assert gitlab["ConnectionArn"] in [c["ConnectionArn"] for c in listed]
    assert all(c["ProviderType"] == "GitLab" for c in listed)
    api.delete_connection(ConnectionArn=arn)
    with pytest.raises(ClientError) as error:
        api.get_connection(ConnectionArn=arn)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    api.delete_connection(ConnectionArn=gitlab["ConnectionArn"])


def test_one_backend_answers_both_apis_and_pages(server_client):
    new, old = server_client("codeconnections"), server_client("codestar-connections")
    arns = [
        old.create_connection(ProviderType="Bitbucket", ConnectionName=f"bb{i}")["ConnectionArn"]
        for i in range(3)
    ]
    assert new.get_connection(ConnectionArn=arns[0])["Connection"]["ProviderType"] == "Bitbucket"
    first = new.list_connections(ProviderTypeFilter="Bitbucket", MaxResults=2)
    assert len(first["Connections"]) == 2 and first["NextToken"]
    rest = new.list_connections(
        ProviderTypeFilter="Bitbucket", MaxResults=2, NextToken=first["NextToken"]
    )
    seen = [c["ConnectionArn"] for c in first["Connections"] + rest["Connections"]]
    assert set(arns) <= set(seen)
    for arn in arns:
        new.delete_connection(ConnectionArn=arn)


def test_tags(server_client):
    api = server_client("codeconnections")
    arn = api.create_connection(ProviderType="GitHub", ConnectionName="tags")["ConnectionArn"]
    api.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    api.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert api.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as error:
        api.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "1"}])
    assert error.value.response["Error"]["Code"] == "ValidationException"
    api.delete_connection(ConnectionArn=arn)


def test_errors_named_as_aws_names_them(server_client):
    api = server_client("codeconnections")
    missing = "arn:aws:codeconnections:us-east-1:123456789012:connection/" + str(uuid.uuid4())
    for call in (
        lambda: api.get_connection(ConnectionArn=missing),
        lambda: api.delete_connection(ConnectionArn=missing),
        lambda: api.list_tags_for_resource(ResourceArn=missing),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        api.get_connection(ConnectionArn="not-an-arn")
    assert error.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as error:
        api.create_connection(ProviderType="GitHubEnterpriseServer", ConnectionName="x")
    assert error.value.response["Error"]["Code"] == "UnsupportedProviderTypeException"
    with pytest.raises(ClientError) as error:  # hosts: the kit's clear error, not a 500
        api.create_host(
            Name="h", ProviderType="GitHubEnterpriseServer", ProviderEndpoint="https://x"
        )
    assert error.value.response["Error"]["Code"] == "NotImplementedByLabKit"
    assert api.list_hosts()["Hosts"] == []


def _cbor_call(endpoint: str, operation: str, params: dict | bytes) -> tuple[int, dict]:
    model = boto3.client("codeconnections", region_name="us-east-1").meta.service_model
    if isinstance(params, bytes):
        body = params
    else:
        out = bytearray()
        shape = model.operation_model(operation).input_shape
        RpcV2CBORSerializer()._serialize_data_item(out, params, shape)
        body = bytes(out)
    url = f"{endpoint}/service/CodeConnections_20231201/operation/{operation}"
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers=signed_headers("POST", url, headers, body, "codeconnections"),
    )
    try:
        with urllib.request.urlopen(request) as reply:
            status, data, got = reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as error:
        status, data, got = error.code, error.read(), error.headers
    assert got["smithy-protocol"] == "rpc-v2-cbor"
    stream = io.BufferedReader(io.BytesIO(data))
    return status, RpcV2CBORParser().parse_data_item(stream)


def test_the_rpc_v2_cbor_protocol_is_served(local_server):
    status, reply = _cbor_call(
        local_server.endpoint, "CreateConnection", {"ProviderType": "GitHub", "ConnectionName": "c"}
    )
    assert status == 200 and reply["ConnectionArn"].startswith("arn:aws:codeconnections:")
    status, reply = _cbor_call(
        local_server.endpoint, "GetConnection", {"ConnectionArn": reply["ConnectionArn"]}
    )
    assert reply["Connection"]["ConnectionStatus"] == "PENDING"
    # A value of the wrong type: the model's check, answered in CBOR.
    status, reply = _cbor_call(local_server.endpoint, "GetConnection", b"\xa1\x6dConnectionArn\x01")
    assert status == 400 and reply["__type"] == "ValidationException"


HOSTILE_CBOR = [
    b"\xff\x00garbage",  # a break code where an item starts
    b"\x81" * 5000 + b"\x00",  # nested far too deep
    b"\xbf",  # an indefinite map never closed
    b"\x5b" + b"\xff" * 8,  # a byte string claiming 2**64 bytes
    b"\x9b" + b"\x7f" + b"\xff" * 7,  # an array claiming 2**63 items
    b"\xa1\x01\x02",  # a map with a number for a key
    b"\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00",  # NaN, not a map
    b"\xa1\x62\xed\xa0\x62x",  # text that is not UTF-8
]


@pytest.mark.parametrize("body", HOSTILE_CBOR)
def test_hostile_cbor_gets_a_serialization_error(local_server, body):
    status, reply = _cbor_call(local_server.endpoint, "GetConnection", body)
    assert status == 400 and reply["__type"] == "SerializationException"


def test_unsigned_and_foreign_requests_are_refused(local_server):
    body = json.dumps({"ProviderType": "GitHub", "ConnectionName": "x"}).encode()
    target = "com.amazonaws.codeconnections.CodeConnections_20231201.CreateConnection"
    unsigned = urllib.request.Request(
        local_server.endpoint,
        data=body,
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(unsigned)
    assert error.value.code == 403
    wrong = json_request(local_server.endpoint, target, body, "codeconnections", secret="nope")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(wrong)
    assert error.value.code == 403


# -- the handshake -----------------------------------------------------------------------


def test_handshake_makes_the_connection_available(server_client, local_server):
    api = server_client("codeconnections")
    arn = api.create_connection(ProviderType="GitHub", ConnectionName="hs")["ConnectionArn"]
    status = lab_connections.complete_handshake(kit_for(local_server.endpoint), arn)
    assert status == "AVAILABLE"
    assert api.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"] == "AVAILABLE"


def test_handshake_route_requires_a_signature(local_server):
    url = local_server.endpoint + lab_connections.HANDSHAKE_PATH
    body = json.dumps({"ConnectionArn": "arn:aws:codeconnections:x"}).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 403
    forged = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers=signed_headers("POST", url, {}, body, "codeconnections", secret="wrong"),
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(forged)
    assert error.value.code == 403


# -- the local git host ------------------------------------------------------------------


def test_push_creates_the_repository_and_clone_reads_it(local_server, tmp_path):
    name = unique("app")
    url = git_host.clone_url(local_server.endpoint, "GitHub", f"{OWNER}/{name}")
    assert url.endswith(f"/github/{OWNER}/{name}.git")
    pushes = []
    listener = lambda *push: pushes.append(push)  # noqa: E731
    git_host.push_listeners.append(listener)
    try:
        work = tmp_path / "w"
        work.mkdir()
        git("init", "-q", "-b", "main", cwd=work)
        (work / "app.py").write_text("print('hi')\n")
        git("add", ".", cwd=work)
        git("commit", "-qm", "first", cwd=work)
        git("push", url, "main", cwd=work)
        git("tag", "v1", cwd=work)
        git("push", url, "v1", cwd=work)
    finally:
        git_host.push_listeners.remove(listener)
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert (
        "123456789012",
        "us-east-1",
        "GitHub",
        f"{OWNER}/{name}",
        "refs/heads/main",
        None,
        head,
    ) in pushes
    assert any(p[4] == "refs/tags/v1" for p in pushes)
    git("clone", url, str(tmp_path / "c"))
    assert (tmp_path / "c" / "app.py").read_text() == "print('hi')\n"


def test_git_host_refuses_strangers_and_bad_names(local_server, tmp_path):
    name = unique("private")
    url = f"{local_server.endpoint}/github/{OWNER}/{name}.git"
    # No credentials: 401, and nothing is created.
    probe = urllib.request.Request(url + "/info/refs?service=git-receive-pack")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(probe)
    assert error.value.code == 401
    assert git_host.open_repository("123456789012", "GitHub", f"{OWNER}/{name}") is None
    # A signature made with another secret: 403, and nothing is created either.
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    forged = base64.b64encode(f"testing:{stamp}Z{'0' * 64}".encode()).decode()
    probe = urllib.request.Request(
        url + "/info/refs?service=git-receive-pack", headers={"Authorization": f"Basic {forged}"}
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(probe)
    assert error.value.code == 403
    assert git_host.open_repository("123456789012", "GitHub", f"{OWNER}/{name}") is None
    # Not a repository name the provider takes.
    bad = urllib.request.Request(f"{local_server.endpoint}/github/{OWNER}/..%2f..")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(bad)
    assert error.value.code in (401, 404)
    # A foreign browser page: refused before anything else.
    foreign = urllib.request.Request(url + "/info/refs", headers={"Origin": "https://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(foreign)
    assert error.value.code == 403
    # Clone of a repository nobody pushed: fails cleanly.
    result = git("clone", url, str(tmp_path / "x"), check=False)
    assert result.returncode != 0


@pytest.mark.parametrize(
    "full_id",
    ["octo/app", "Octo-Org/my.app_1", "a/b"],
)
def test_valid_repository_ids(full_id):
    assert git_host.check_full_repository_id(full_id) == tuple(full_id.split("/"))


@pytest.mark.parametrize(
    "full_id",
    ["octo", "octo/", "/app", "octo/..", "octo/.", "-x/app", "octo/a/b", "octo/x.git"],
)
def test_invalid_repository_ids(full_id):
    with pytest.raises(git_host.InvalidRepository):
        git_host.check_full_repository_id(full_id)


# -- what a push starts (the function trigger filters replace) -----------------------------


def test_a_push_starts_pipelines_watching_through_an_available_connection(client):
    from helpers.emulator.codepipeline import connection_push, git_triggers
    from helpers.emulator.connections import models

    api = client("codestar-connections")
    arn = api.create_connection(ProviderType="GitHub", ConnectionName="p")["ConnectionArn"]
    pending = api.create_connection(ProviderType="GitHub", ConnectionName="q")["ConnectionArn"]
    models.complete_handshake("123456789012", arn)

    def pipeline(name: str, kind: str, connection: str = arn, **config) -> dict:
        action = {
            "name": "Src",
            "actionTypeId": {"provider": "CodeStarSourceConnection"},
            "configuration": {
                "ConnectionArn": connection,
                "FullRepositoryId": "Octo/App",
                "BranchName": "main",
                **config,
            },
        }
        return {"name": name, "pipelineType": kind, "stages": [{"actions": [action]}]}

    pipelines = [
        pipeline("v1", "V1"),
        pipeline("v2", "V2"),
        pipeline("quiet", "V2", DetectChanges="false"),
        pipeline("pending", "V2", pending),
        pipeline("other-branch", "V2", BranchName="dev"),
    ]

    def started(provider: str, ref: str) -> dict:
        push = connection_push.Push(
            "123456789012", "us-east-1", provider, "octo/app", ref, None, "c" * 40
        )
        event = push.event()
        found = {}
        for declaration in pipelines:
            match = git_triggers.match_push(
                declaration, event, lambda a: connection_push.watches("123456789012", a, push)
            )
            if match:
                found[declaration["name"]] = match
        return found

    starts = started("GitHub", "refs/heads/main")
    assert sorted(starts) == ["v1", "v2"]
    assert starts["v2"].trigger == {"triggerType": "Webhook", "triggerDetail": arn}
    assert (starts["v2"].source_action_name, starts["v2"].revision) == ("Src", "c" * 40)
    assert started("GitHub", "refs/tags/v1") == {}  # no tag trigger declared
    assert started("GitLab", "refs/heads/main") == {}  # the connection is GitHub's
