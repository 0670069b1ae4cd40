"""The local AWS obeys only its learner: signatures, loopback Host and Origin, moto's
endpoints off, git signed by the credential helper (issue: trust)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from helpers.emulator import identities
from helpers.emulator.server import LocalServer
from tests.signing import json_request, signed_headers

REGION = "us-east-1"
LIST_PIPELINES = "CodePipeline_20150709.ListPipelines"
CREATE_PROJECT = "CodeBuild_20161006.CreateProject"


def send(request: urllib.request.Request) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def unsigned_json(endpoint: str, target: str, body: dict, **headers: str):
    return urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", **headers},
    )


def project_body(name: str) -> dict:
    return {
        "name": name,
        "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        "serviceRole": "arn:aws:iam::123456789012:role/any",
    }


def projects(server_client) -> list[str]:
    return server_client("codebuild").list_projects().get("projects", [])


# -- 1. Signed requests only ----------------------------------------------------------


def test_unsigned_request_is_refused_and_creates_nothing(local_server, server_client):
    status, headers, body = send(
        unsigned_json(local_server.endpoint, CREATE_PROJECT, project_body("unsigned-project"))
    )
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    assert "unsigned-project" not in projects(server_client)


@pytest.mark.parametrize(
    "service, call, code",
    [
        ("codepipeline", "list_pipelines", "InvalidSignatureException"),
        ("sts", "get_caller_identity", "SignatureDoesNotMatch"),
        ("s3", "list_buckets", "SignatureDoesNotMatch"),
    ],
)
def test_wrong_secret_gets_403_in_the_service_shape(local_server, service, call, code):
    client = boto3.client(
        service,
        region_name=REGION,
        endpoint_url=local_server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="not-the-secret",
    )
    with pytest.raises(ClientError) as refused:
        getattr(client, call)()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize(
    "service, call, code",
    [
        ("codebuild", "list_projects", "UnrecognizedClientException"),
        ("iam", "list_users", "InvalidClientTokenId"),
        ("s3", "list_buckets", "InvalidAccessKeyId"),
    ],
)
def test_unknown_access_key_gets_403(local_server, service, call, code):
    client = boto3.client(
        service,
        region_name=REGION,
        endpoint_url=local_server.endpoint,
        aws_access_key_id="AKIANOBODYKNOWSTHIS",
        aws_secret_access_key="x",
    )
    with pytest.raises(ClientError) as refused:
        getattr(client, call)()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_refused_s3_write_changes_nothing(local_server, server_client):
    s3 = server_client("s3")
    s3.create_bucket(Bucket="trust-bucket")
    url = f"{local_server.endpoint}/trust-bucket/planted.txt"
    status, _, body = send(
        urllib.request.Request(
            url, data=b"planted", method="PUT", headers={"Content-Type": "text/plain"}
        )
    )
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert s3.list_objects_v2(Bucket="trust-bucket").get("KeyCount") == 0


def test_garbage_authorization_is_an_incomplete_signature(local_server):
    status, _, body = send(
        unsigned_json(
            local_server.endpoint, LIST_PIPELINES, {}, Authorization="AWS4-HMAC-SHA256 garbage"
        )
    )
    assert status == 400
    assert json.loads(body)["__type"] == "IncompleteSignatureException"


def test_signature_older_than_15_minutes_is_refused(local_server, monkeypatch):
    import botocore.auth

    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: old.replace(tzinfo=None))
    request = json_request(local_server.endpoint, LIST_PIPELINES, b"{}", "codepipeline")
    monkeypatch.undo()
    status, _, body = send(request)
    assert status == 403
    assert json.loads(body)["__type"] == "InvalidSignatureException"
    assert "Signature expired" in json.loads(body)["message"]


def test_tampered_body_fails_the_signature(local_server, server_client):
    request = json_request(
        local_server.endpoint,
        CREATE_PROJECT,
        json.dumps(project_body("signed-name")).encode(),
        "codebuild",
    )
    request.data = json.dumps(project_body("tampered-name")).encode()
    status, _, body = send(request)
    assert status == 403 and json.loads(body)["__type"] == "InvalidSignatureException"
    assert "tampered-name" not in projects(server_client)


def test_presigned_urls_v4_and_v2_work_and_expire(local_server, server_client):
    s3 = server_client("s3")
    s3.create_bucket(Bucket="presign-bucket")
    s3.put_object(Bucket="presign-bucket", Key="a file.txt", Body=b"shared")
    for version in ("s3v4", "s3"):
        client = boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=local_server.endpoint,
            config=Config(signature_version=version),
        )
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "presign-bucket", "Key": "a file.txt"}
        )
        assert send(urllib.request.Request(url))[0] == 200
        assert send(urllib.request.Request(url))[2] == b"shared"
        expired = client.generate_presigned_url(
            "get_object", Params={"Bucket": "presign-bucket", "Key": "a file.txt"}, ExpiresIn=1
        )
        time.sleep(2.1)
        status, _, body = send(urllib.request.Request(expired))
        assert status == 403 and b"AccessDenied" in body
        tampered = url.replace("a%20file.txt", "other.txt")
        assert send(urllib.request.Request(tampered))[0] == 403


def test_iam_access_key_is_its_own_identity_until_deleted(local_server, server_client):
    iam = server_client("iam")
    iam.create_user(UserName="reviewer")
    key = iam.create_access_key(UserName="reviewer")["AccessKey"]
    reviewer = boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=local_server.endpoint,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    assert reviewer.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/reviewer"
    assert server_client("sts").get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:root"
    iam.delete_access_key(UserName="reviewer", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as refused:
        reviewer.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_assumed_role_needs_its_session_token(local_server, server_client):
    server_client("iam").create_role(RoleName="approver", AssumeRolePolicyDocument="{}")
    credentials = server_client("sts").assume_role(
        RoleArn="arn:aws:iam::123456789012:role/approver", RoleSessionName="ana"
    )["Credentials"]

    def sts(**token):
        return boto3.client(
            "sts",
            region_name=REGION,
            endpoint_url=local_server.endpoint,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            **token,
        )

    assert (
        sts(aws_session_token=credentials["SessionToken"]).get_caller_identity()["Arn"]
        == "arn:aws:sts::123456789012:assumed-role/approver/ana"
    )
    for token in ({}, {"aws_session_token": "forged"}):
        with pytest.raises(ClientError) as refused:
            sts(**token).get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_session_token_credentials_work_then_expire(local_server, server_client):
    issued = server_client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert issued["AccessKeyId"].startswith("ASIA")
    pipeline = boto3.client(
        "codepipeline",
        region_name=REGION,
        endpoint_url=local_server.endpoint,
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )
    assert "pipelines" in pipeline.list_pipelines()
    session = identities.lookup(issued["AccessKeyId"])
    with identities._lock:  # as if 15 minutes had passed
        identities._sessions[session.access_key] = identities.Identity(
            **{**session.__dict__, "expires": dt.datetime.now(dt.timezone.utc)}
        )
    with pytest.raises(ClientError) as refused:
        pipeline.list_pipelines()
    assert refused.value.response["Error"]["Code"] == "ExpiredTokenException"


# -- 2. Browsers kept out -------------------------------------------------------------


def test_web_page_on_another_origin_cannot_start_anything(local_server, server_client):
    """What a page would send with fetch(): even signed, a foreign Origin is refused."""
    for headers in (
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/x"},
        {"Origin": "null"},
    ):
        request = json_request(
            local_server.endpoint,
            CREATE_PROJECT,
            json.dumps(project_body("from-a-web-page")).encode(),
            "codebuild",
        )
        for name, value in headers.items():
            request.add_header(name, value)
        status, reply_headers, _ = send(request)
        assert status == 403
        assert "Access-Control-Allow-Origin" not in reply_headers
    assert "from-a-web-page" not in projects(server_client)


def test_foreign_preflight_gets_no_cors_grant(local_server):
    request = urllib.request.Request(
        local_server.endpoint,
        method="OPTIONS",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target, authorization",
        },
    )
    status, headers, _ = send(request)
    assert status == 403
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_loopback_origin_is_served_and_granted_only_itself(local_server):
    origin = "http://localhost:8888"  # JupyterLab's own pages
    request = json_request(local_server.endpoint, LIST_PIPELINES, b"{}", "codepipeline")
    request.add_header("Origin", origin)
    status, headers, _ = send(request)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:4566", "192.0.2.1", "127.0.0.1.evil.example"]
)
def test_foreign_host_header_is_refused(local_server, host):
    request = urllib.request.Request(f"{local_server.endpoint}/_lab/health", headers={"Host": host})
    assert send(request)[0] == 403


def test_loopback_host_names_are_served(local_server):
    for host in ("localhost", f"localhost:{local_server.port}", "127.0.0.1", "[::1]:80"):
        request = urllib.request.Request(
            f"{local_server.endpoint}/_lab/health", headers={"Host": host}
        )
        assert send(request)[0] == 200


def test_account_header_must_be_an_account_id(local_server):
    request = json_request(local_server.endpoint, LIST_PIPELINES, b"{}", "codepipeline")
    request.add_header("x-moto-account-id", "../../x")
    status, _, body = send(request)
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"


# -- 3. moto's own endpoints ------------------------------------------------------------


def test_moto_endpoints_are_off_by_default(local_server, server_client):
    server_client("codebuild").create_project(**project_body("survives-reset"))
    for method, path, data in (
        ("POST", "/moto-api/reset", b"x"),
        ("GET", "/moto-api/data.json", None),
        ("GET", "/moto-api/", None),
    ):
        request = urllib.request.Request(
            f"{local_server.endpoint}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "text/plain"},
        )
        assert send(request)[0] == 404
    assert "survives-reset" in projects(server_client)


def test_moto_endpoints_when_on_need_a_signature():
    server = LocalServer(moto_api=True).start()
    try:
        url = f"{server.endpoint}/moto-api/data.json"
        assert send(urllib.request.Request(url))[0] == 403
        headers = signed_headers("GET", url, {}, b"", "moto")
        status, _, body = send(urllib.request.Request(url, headers=headers))
        assert status == 200 and json.loads(body)
    finally:
        server.stop()


# -- 4. git over HTTP -------------------------------------------------------------------


def git(*args, cwd=None, env=None):
    return subprocess.run(
        ["git", "-c", "user.name=L", "-c", "user.email=l@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )


def make_repo(server_client, name: str, region: str = REGION) -> str:
    cc = server_client("codecommit", region)
    url = cc.create_repository(repositoryName=name)["repositoryMetadata"]["cloneUrlHttp"]
    cc.put_file(repositoryName=name, branchName="main", filePath="a.txt", fileContent=b"a\n")
    return url


def test_git_clone_needs_credentials(server_client, tmp_path):
    url = make_repo(server_client, "trust-needs-creds")
    no_helper = git("clone", url, str(tmp_path / "a"), env={"GIT_CONFIG_COUNT": "0"})
    assert no_helper.returncode != 0 and "could not read Username" in no_helper.stderr
    wrong = git("clone", url, str(tmp_path / "b"), env={"AWS_SECRET_ACCESS_KEY": "wrong"})
    assert wrong.returncode != 0 and "403" in wrong.stderr
    right = git("clone", url, str(tmp_path / "c"))
    assert right.returncode == 0, right.stderr
    assert (tmp_path / "c" / "a.txt").read_text() == "a\n"


def test_git_url_reaches_only_the_signers_account_and_region(local_server, server_client, tmp_path):
    other = boto3.client("codecommit", region_name=REGION, endpoint_url=local_server.endpoint)
    other.meta.events.register(
        "before-sign.*.*",
        lambda request, **_: request.headers.add_header("x-moto-account-id", "111111111111"),
    )
    other.create_repository(repositoryName="trust-other-account")
    url = f"{local_server.endpoint}/v1/repos/trust-other-account"
    assert git("clone", url, str(tmp_path / "x")).returncode != 0

    url = make_repo(server_client, "trust-in-ireland", region="eu-west-1")
    assert git("clone", url, str(tmp_path / "y")).returncode != 0  # signed for us-east-1
    ireland = git("clone", url, str(tmp_path / "z"), env={"AWS_DEFAULT_REGION": "eu-west-1"})
    assert ireland.returncode == 0, ireland.stderr


def test_push_cannot_delete_the_default_branch(server_client, tmp_path):
    url = make_repo(server_client, "trust-default-branch")
    assert git("clone", url, str(tmp_path / "w")).returncode == 0
    pushed = git("push", "origin", ":main", cwd=tmp_path / "w")
    assert pushed.returncode != 0 and "default branch" in pushed.stderr
    assert server_client("codecommit").get_branch(
        repositoryName="trust-default-branch", branchName="main"
    )["branch"]["commitId"]


def test_push_of_a_tree_that_escapes_is_refused(server_client, tmp_path):
    url = make_repo(server_client, "trust-crafted-push")
    local = Repo.init(str(tmp_path / "crafted"), mkdir=True)
    blob = Blob.from_string(b"pwned\n")
    inner = Tree()
    inner.add(b"escaped.txt", 0o100644, blob.id)
    root = Tree()
    root.add(b"..", 0o040000, inner.id)
    commit = Commit()
    commit.tree = root.id
    commit.author = commit.committer = b"Attacker <a@example.com>"
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"escape"
    for item in (blob, inner, root, commit):
        local.object_store.add_object(item)
    local.refs[b"refs/heads/evil"] = commit.id
    pushed = git("push", url, "evil:evil", cwd=tmp_path / "crafted")
    assert pushed.returncode != 0
    branches = server_client("codecommit").list_branches(repositoryName="trust-crafted-push")[
        "branches"
    ]
    assert branches == ["main"]
