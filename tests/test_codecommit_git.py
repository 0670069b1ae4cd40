"""git clone and git push over HTTP against the local server, seen through the API."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError

from helpers.emulator.codecommit import models
from tests.signing import json_request


def git(*args, cwd=None):
    return subprocess.run(
        ["git", "-c", "user.name=Learner", "-c", "user.email=l@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_clone_commit_push_moves_branch(server_client, tmp_path):
    cc = server_client("codecommit")
    url = cc.create_repository(repositoryName="gitrepo")["repositoryMetadata"]["cloneUrlHttp"]
    assert url.startswith("http://127.0.0.1:")
    first = cc.put_file(
        repositoryName="gitrepo", branchName="main", filePath="README.md", fileContent=b"hello\n"
    )["commitId"]

    moves = []
    listener = lambda *event: moves.append(event)  # noqa: E731
    models.branch_listeners.append(listener)
    try:
        git("clone", url, str(tmp_path / "work"))
        work = tmp_path / "work"
        assert (work / "README.md").read_text() == "hello\n"
        (work / "app.py").write_text("print('v2')\n")
        git("add", "app.py", cwd=work)
        git("commit", "-m", "Add app", cwd=work)
        git("push", "origin", "main", cwd=work)
        git("push", "origin", "main:feature", cwd=work)
    finally:
        models.branch_listeners.remove(listener)

    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert cc.get_branch(repositoryName="gitrepo", branchName="main")["branch"]["commitId"] == head
    assert cc.get_commit(repositoryName="gitrepo", commitId=head)["commit"]["parents"] == [first]
    assert (
        cc.get_file(repositoryName="gitrepo", filePath="app.py")["fileContent"] == b"print('v2')\n"
    )
    assert sorted(cc.list_branches(repositoryName="gitrepo")["branches"]) == ["feature", "main"]
    assert ("123456789012", "us-east-1", "gitrepo", "main", first, head) in moves
    assert ("123456789012", "us-east-1", "gitrepo", "feature", None, head) in moves


def test_first_push_to_empty_repository_sets_default_branch(server_client, tmp_path):
    cc = server_client("codecommit")
    url = cc.create_repository(repositoryName="empty")["repositoryMetadata"]["cloneUrlHttp"]
    work = tmp_path / "w"
    work.mkdir()
    git("init", "-q", "-b", "trunk", cwd=work)
    (work / "f.txt").write_text("x\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("push", url, "trunk", cwd=work)
    meta = cc.get_repository(repositoryName="empty")["repositoryMetadata"]
    assert meta["defaultBranch"] == "trunk"


def test_clone_of_unknown_repository_fails_cleanly(local_server, tmp_path):
    result = subprocess.run(
        ["git", "clone", f"{local_server.endpoint}/v1/repos/nope", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_bad_requests_get_aws_errors_not_500(local_server):
    """A request that skips botocore's checks still gets a 4xx in the AWS error shape."""
    body = json.dumps({"repositoryName": 5}).encode()
    request = json_request(
        local_server.endpoint, "CodeCommit_20150413.GetRepository", body, "codecommit"
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request)
    assert exc.value.code == 400
    assert json.loads(exc.value.read())["__type"] == "ValidationException"


def test_server_and_in_process_share_the_same_rules(server_client):
    cc = server_client("codecommit")
    with pytest.raises(ClientError) as exc:
        cc.get_branch(repositoryName="missing-repo", branchName="main")
    assert exc.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"


def test_every_codecommit_operation_of_the_model_is_served(server_client):
    """Issue 14: all of CodeCommit's operations answer (the kit's handlers, installed from
    several classes, or moto's); what neither serves would carry core._not_served's mark."""
    from moto.codecommit.responses import CodeCommitResponse

    from helpers.emulator import core

    server_client("codecommit")  # the local server is up: every handler is installed
    model = core.service_model("codecommit")
    unserved = []
    for name in model.operation_names:
        method = getattr(CodeCommitResponse, core._snake(name), None)
        if not callable(method) or getattr(method, "lab_not_served", False):
            unserved.append(name)
    assert len(model.operation_names) >= 80
    assert unserved == []


def test_an_operation_the_kit_does_not_serve_gets_a_clear_501_error():
    from helpers.emulator import core

    method = core._not_served("codecommit", "SomeFutureOperation")
    assert method.__name__ == "some_future_operation" and method.lab_not_served
    with pytest.raises(core.NotImplementedByLabKit) as exc:
        method(None)
    assert exc.value.code == 501
    assert "local codecommit does not serve SomeFutureOperation" in str(exc.value)
    assert "LAB_MODE=aws" in str(exc.value)
