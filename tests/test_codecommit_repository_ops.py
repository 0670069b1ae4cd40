"""BatchGetCommits, GetBlob, GetBlobDifferences, ListFileCommitHistory, UpdateRepositoryName and
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


def test_get_blob_differences_gives_hunks_with_context(cc):
    cc.create_repository(repositoryName="diffs")
    old_text = "".join(f"line {n}\n" for n in range(1, 21)).encode()
    new_text = old_text.replace(b"line 2\n", b"line two\n").replace(b"line 18\n", b"")
    first = cc.put_file(
        repositoryName="diffs", branchName="main", filePath="f.txt", fileContent=old_text
    )["commitId"]
    cc.put_file(
        repositoryName="diffs",
        branchName="main",
        filePath="f.txt",
        fileContent=new_text,
        parentCommitId=first,
    )
    change = cc.get_differences(
        repositoryName="diffs", beforeCommitSpecifier=first, afterCommitSpecifier="main"
    )["differences"][0]
    before, after = change["beforeBlob"]["blobId"], change["afterBlob"]["blobId"]
    reply = cc.get_blob_differences(
        repositoryName="diffs", beforeBlobId=before, afterBlobId=after, contextLines=1
    )
    assert reply["isBinary"] is False
    assert (reply["beforeBlobSize"], reply["afterBlobSize"]) == (len(old_text), len(new_text))
    first_hunk, second_hunk = reply["hunks"]
    assert first_hunk["beforeStartLine"] == 1 and first_hunk["beforeLineCount"] == 3
    assert [(c["type"], c["content"]) for c in first_hunk["changes"]] == [
        ("CONTEXT", "line 1"),
        ("DELETE", "line 2"),
        ("ADD", "line two"),
        ("CONTEXT", "line 3"),
    ]
    assert second_hunk["changes"][1] == {
        "type": "DELETE",
        "beforeLineNumber": 18,
        "content": "line 18",
    }
    assert second_hunk["afterLineCount"] == 2
    paged = cc.get_blob_differences(
        repositoryName="diffs", beforeBlobId=before, afterBlobId=after, MaxResults=1
    )
    assert len(paged["hunks"]) == 1 and paged["NextToken"]
    rest = cc.get_blob_differences(
        repositoryName="diffs",
        beforeBlobId=before,
        afterBlobId=after,
        MaxResults=1,
        NextToken=paged["NextToken"],
    )
    assert len(rest["hunks"]) == 1 and "NextToken" not in rest
    # No before blob: everything is added.
    added = cc.get_blob_differences(repositoryName="diffs", afterBlobId=after)
    assert added["beforeBlobSize"] == 0
    assert {c["type"] for c in added["hunks"][0]["changes"]} == {"ADD"}
    same = cc.get_blob_differences(repositoryName="diffs", beforeBlobId=after, afterBlobId=after)
    assert same["hunks"] == []
    for params, code in [
        ({"afterBlobId": "0" * 40}, "BlobIdDoesNotExistException"),
        ({"afterBlobId": "nope"}, "InvalidBlobIdException"),
        ({"afterBlobId": after, "contextLines": 21}, "ValidationException"),
    ]:
        with pytest.raises(ClientError) as exc:
            cc.get_blob_differences(repositoryName="diffs", **params)
        assert error_code(exc) == code


def test_get_blob_differences_of_binary_and_whitespace_changes(cc):
    cc.create_repository(repositoryName="diffs")
    blobs = []
    parent = None
    for content in (b"a\nb\n", b"a \n  b\n", b"\0binary"):
        extra = {"parentCommitId": parent} if parent else {}
        parent = cc.put_file(
            repositoryName="diffs", branchName="main", filePath="f", fileContent=content, **extra
        )["commitId"]
        blobs.append(
            cc.get_file(repositoryName="diffs", filePath="f", commitSpecifier=parent)["blobId"]
        )
    spaced = cc.get_blob_differences(
        repositoryName="diffs", beforeBlobId=blobs[0], afterBlobId=blobs[1]
    )
    assert len(spaced["hunks"]) == 1
    ignored = cc.get_blob_differences(
        repositoryName="diffs", beforeBlobId=blobs[0], afterBlobId=blobs[1], ignoreWhitespace=True
    )
    assert ignored["hunks"] == []
    binary = cc.get_blob_differences(
        repositoryName="diffs", beforeBlobId=blobs[1], afterBlobId=blobs[2]
    )
    assert binary["isBinary"] is True and binary["hunks"] == []
