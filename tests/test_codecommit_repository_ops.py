"""BatchGetCommits, GetBlob, ListFileCommitHistory, UpdateRepositoryName and
UpdateRepositoryEncryptionKey of the local CodeCommit (replies checked against the model)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cc(client):
    return client("codecommit")


@pytest.fixture
def history(cc) -> list[dict]:
    """app: README.md written twice, another file between; returns the put_file replies."""
    cc.create_repository(repositoryName="app")
    replies = [
        cc.put_file(
            repositoryName="app", branchName="main", filePath="README.md", fileContent=b"1\n"
        )
    ]
    for path, content in (("other.txt", b"o\n"), ("README.md", b"2\n")):
        replies.append(
            cc.put_file(
                repositoryName="app",
                branchName="main",
                filePath=path,
                fileContent=content,
                parentCommitId=replies[-1]["commitId"],
            )
        )
    return replies


def test_batch_get_commits_reports_unknown_ids_as_errors(cc, history):
    known = history[0]["commitId"]
    reply = cc.batch_get_commits(repositoryName="app", commitIds=[known, "f" * 40, "not-a-commit"])
    assert [c["commitId"] for c in reply["commits"]] == [known]
    assert [(e["commitId"], e["errorCode"]) for e in reply["errors"]] == [
        ("f" * 40, "CommitIdDoesNotExistException"),
        ("not-a-commit", "InvalidCommitIdException"),
    ]
    with pytest.raises(ClientError) as exc:
        cc.batch_get_commits(repositoryName="app", commitIds=[known] * 101)
    assert error_code(exc) == "CommitIdsLimitExceededException"
    with pytest.raises(ClientError) as exc:
        cc.batch_get_commits(repositoryName="app", commitIds=[])
    assert error_code(exc) == "CommitIdsListRequiredException"


def test_get_blob(cc, history):
    assert cc.get_blob(repositoryName="app", blobId=history[0]["blobId"])["content"] == b"1\n"
    for blob_id, code in (
        ("a" * 40, "BlobIdDoesNotExistException"),
        ("xyz", "InvalidBlobIdException"),
        (history[0]["commitId"], "BlobIdDoesNotExistException"),  # a commit is no blob
    ):
        with pytest.raises(ClientError) as exc:
            cc.get_blob(repositoryName="app", blobId=blob_id)
        assert error_code(exc) == code


def test_get_blob_over_6_mb_is_too_large(cc, history, monkeypatch):
    from helpers.emulator.codecommit import files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1)
    with pytest.raises(ClientError) as exc:
        cc.get_blob(repositoryName="app", blobId=history[0]["blobId"])
    assert error_code(exc) == "FileTooLargeException"


def test_list_file_commit_history_gives_the_versions_of_a_file(cc, history):
    reply = cc.list_file_commit_history(repositoryName="app", filePath="README.md")
    dag = reply["revisionDag"]
    assert [v["commit"]["commitId"] for v in dag] == [
        history[2]["commitId"],
        history[0]["commitId"],
    ]
    assert [v["blobId"] for v in dag] == [history[2]["blobId"], history[0]["blobId"]]
    assert dag[1]["revisionChildren"] == [history[2]["commitId"]]
    assert dag[0]["revisionChildren"] == []
    first = cc.list_file_commit_history(
        repositoryName="app", filePath="README.md", commitSpecifier="refs/heads/main", maxResults=1
    )
    assert len(first["revisionDag"]) == 1 and first["nextToken"]
    older = cc.list_file_commit_history(
        repositoryName="app", filePath="README.md", commitSpecifier=history[1]["commitId"]
    )
    assert [v["commit"]["commitId"] for v in older["revisionDag"]] == [history[0]["commitId"]]


def test_update_repository_name_moves_the_repository(cc, history):
    cc.create_repository(repositoryName="taken")
    with pytest.raises(ClientError) as exc:
        cc.update_repository_name(oldName="app", newName="taken")
    assert error_code(exc) == "RepositoryNameExistsException"
    for bad, code in (("a/b", "InvalidRepositoryNameException"),):
        with pytest.raises(ClientError) as exc:
            cc.update_repository_name(oldName="app", newName=bad)
        assert error_code(exc) == code
    cc.update_repository_name(oldName="app", newName="renamed")
    meta = cc.get_repository(repositoryName="renamed")["repositoryMetadata"]
    assert meta["Arn"].endswith(":renamed")
    assert meta["cloneUrlHttp"].endswith("/v1/repos/renamed")
    assert meta["defaultBranch"] == "main"
    from helpers.emulator.codecommit.models import codecommit_lab_backends

    backend = codecommit_lab_backends[meta["accountId"]]["us-east-1"]
    path = backend.repositories["renamed"].path
    assert path.name.startswith("renamed-") and path.is_dir()
    assert not any(p.name.startswith("app-") for p in path.parent.iterdir())
    content = cc.get_file(repositoryName="renamed", filePath="README.md")["fileContent"]
    assert content == b"2\n"
    with pytest.raises(ClientError) as exc:
        cc.get_repository(repositoryName="app")
    assert error_code(exc) == "RepositoryDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.update_repository_name(oldName="app", newName="again")
    assert error_code(exc) == "RepositoryDoesNotExistException"


def test_update_repository_encryption_key_records_the_key(cc, history):
    reply = cc.update_repository_encryption_key(repositoryName="app", kmsKeyId="alias/my-key")
    assert reply["kmsKeyId"] == "alias/my-key"
    assert reply["originalKmsKeyId"] == "alias/aws/codecommit"
    meta = cc.get_repository(repositoryName="app")["repositoryMetadata"]
    assert meta["kmsKeyId"] == "alias/my-key"
