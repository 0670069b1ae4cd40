"""CodeCommit operations on a repository's objects and identity: BatchGetCommits, GetBlob,
GetBlobDifferences, ListFileCommitHistory, UpdateRepositoryName,
UpdateRepositoryEncryptionKey."""

from __future__ import annotations

import difflib
import re
from typing import Any

from dulwich.objects import Blob, Commit, ObjectID
from dulwich.repo import Repo

from .. import core
from ..core import LabHandlers, with_token
from . import exceptions as err
from . import files, gitstore
from .models import CodeCommitLabBackend, codecommit_lab_backends

MAX_CONTEXT_LINES = 20  # GetBlobDifferences' contextLines: 0 through 20 (the model's text)
MAX_COMMIT_IDS = 100  # BatchGetCommits (CommitIdsLimitExceededException's text)
SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")
_page = core.pager(err.InvalidContinuationTokenException, "The continuation token is not valid.")


class RepositoryHandlers(LabHandlers):
    """Methods named as the operations; self is moto's CodeCommitResponse."""

    def batch_get_commits(self, params: dict) -> dict:
        repo = _backend(self).get_repository(params.get("repositoryName"))
        ids = params.get("commitIds")
        if not ids:
            raise err.CommitIdsListRequiredException("A list of commit IDs is required.")
        if len(ids) > MAX_COMMIT_IDS:
            raise err.CommitIdsLimitExceededException(
                f"A batch request takes at most {MAX_COMMIT_IDS} commit IDs."
            )
        from .handlers import commit_reply

        git = repo.git()
        commits, errors = [], []
        for commit_id in ids:
            found = _commit(git, commit_id)
            if isinstance(found, Commit):
                commits.append(commit_reply(found))
            else:
                errors.append(
                    {"commitId": commit_id, "errorCode": found[0], "errorMessage": found[1]}
                )
        return {"commits": commits, "errors": errors}

    def get_blob(self, params: dict) -> dict:
        repo = _backend(self).get_repository(params.get("repositoryName"))
        blob_id = params.get("blobId")
        if not blob_id:
            raise err.BlobIdRequiredException("A blob ID is required.")
        if not SHA_PATTERN.match(blob_id):
            raise err.InvalidBlobIdException(f"The blob ID {blob_id} is not valid.")
        try:
            blob = repo.git()[ObjectID(blob_id.encode())]
        except KeyError:
            blob = None
        if not isinstance(blob, Blob):
            raise err.BlobIdDoesNotExistException(f"The blob {blob_id} does not exist.")
        if blob.raw_length() > files.MAX_FILE_BYTES:
            raise err.FileTooLargeException(
                "The blob is larger than 6 MB, the most the API returns: use git to read it."
            )
        return {"content": blob.data}

    def get_blob_differences(self, params: dict) -> dict:
        """A line diff of two blobs in hunks with context lines (the model's documentation:
        no beforeBlobId is a diff against nothing; binary content gives no hunks)."""
        repo = _backend(self).get_repository(params.get("repositoryName"))
        git = repo.git()
        if not params.get("afterBlobId"):
            raise err.BlobIdRequiredException("The after blob ID is required.")
        after = _blob(git, params["afterBlobId"])
        before = _blob(git, params["beforeBlobId"]) if params.get("beforeBlobId") else None
        context = params.get("contextLines")
        context = 3 if context is None else context
        if not 0 <= context <= MAX_CONTEXT_LINES:
            raise err.ValidationException(
                f"contextLines must be between 0 and {MAX_CONTEXT_LINES}."
            )
        if params.get("MaxResults") is not None and params["MaxResults"] < 1:
            raise err.InvalidMaxResultsException("MaxResults must be at least 1.")
        before_data = before.data if before is not None else b""
        binary = any(b"\0" in data[:8000] for data in (before_data, after.data))
        hunks = (
            []
            if binary
            else blob_hunks(before_data, after.data, context, bool(params.get("ignoreWhitespace")))
        )
        page, token = _page(
            hunks, params, token_key="NextToken", size_key="MaxResults", default_size=100
        )
        reply = {
            "hunks": page,
            "isBinary": binary,
            "beforeBlobSize": len(before_data),
            "afterBlobSize": len(after.data),
        }
        return with_token(reply, token, key="NextToken")

    def list_file_commit_history(self, params: dict) -> dict:
        backend = _backend(self)
        repo = backend.get_repository(params.get("repositoryName"))
        path = files.clean_path(params.get("filePath"))
        if params.get("maxResults") is not None and params["maxResults"] < 1:
            raise err.InvalidMaxResultsException("maxResults must be at least 1.")
        specifier = params.get("commitSpecifier")
        specifier = specifier.removeprefix("refs/heads/") if specifier else None
        start = backend.resolve(repo, specifier)
        versions = file_history(repo.git(), start, path)
        page, token = _page(versions, params, default_size=100)
        return with_token({"revisionDag": page}, token)

    def update_repository_name(self, params: dict) -> dict:
        if not params.get("oldName") or not params.get("newName"):
            raise err.RepositoryNameRequiredException("The old and the new name are required.")
        _backend(self).rename_repository(params["oldName"], params["newName"])
        return {}

    def update_repository_encryption_key(self, params: dict) -> dict:
        backend = _backend(self)
        repo = backend.get_repository(params.get("repositoryName"))
        key = params.get("kmsKeyId")
        if not key:
            raise err.EncryptionKeyRequiredException("A KMS encryption key ID is required.")
        # The local server encrypts nothing: the key is recorded (GetRepository shows it),
        # as CreateRepository records its kmsKeyId.
        with repo.lock:
            original, repo.kms_key_id = repo.kms_key_id, key
        return {
            "repositoryId": repo.repository_id,
            "kmsKeyId": key,
            "originalKmsKeyId": original,
        }


def _backend(handler: LabHandlers) -> CodeCommitLabBackend:
    return codecommit_lab_backends[handler.current_account][handler.region]


def _commit(git: Repo, commit_id: str) -> Commit | tuple[str, str]:
    """The commit, or (errorCode, errorMessage) for BatchGetCommits' errors."""
    if not SHA_PATTERN.match(commit_id or ""):
        return "InvalidCommitIdException", f"The commit ID {commit_id} is not valid."
    try:
        found = git[ObjectID(commit_id.encode())]
    except KeyError:
        found = None
    if not isinstance(found, Commit):
        return "CommitIdDoesNotExistException", f"Could not find commit {commit_id}."
    return found


def file_history(git: Repo, start: str, path: str) -> list[dict[str, Any]]:
    """ListFileCommitHistory's revisionDag, newest first: the commits of start's history
    that gave path a new blob or mode (a commit whose file equals a parent's is no new
    version, as `git log -- path` simplifies merges), each with the versions after it."""
    from .handlers import commit_reply

    commits = _history(git, start)
    entry_at = {c.id: gitstore.files(git, c.id.decode()).get(path) for c in commits}
    latest: dict[bytes, set[bytes]] = {}  # commit -> the newest versions it contains
    children: dict[bytes, list[str]] = {}
    versions: list[Commit] = []
    for commit in reversed(commits):  # oldest first: parents before children
        entry = entry_at[commit.id]
        before = set().union(*(latest.get(p, set()) for p in commit.parents))
        parents_entries = [entry_at.get(p) for p in commit.parents]
        new = entry is not None and all(
            other is None or (other.sha, other.mode) != (entry.sha, entry.mode)
            for other in parents_entries
        )
        if new:
            versions.append(commit)
            for older in before:
                children.setdefault(older, []).append(commit.id.decode())
            latest[commit.id] = {commit.id}
        else:
            latest[commit.id] = before if entry is not None else set()
    return [
        {
            "commit": commit_reply(commit),
            "blobId": entry_at[commit.id].sha,  # type: ignore[union-attr]
            "path": path,
            "revisionChildren": children.get(commit.id, []),
        }
        for commit in reversed(versions)
    ]


def _history(git: Repo, start: str) -> list[Commit]:
    """start's commits, newest first, each after every commit that has it as a parent."""
    walker = git.get_walker(include=[ObjectID(start.encode())], order="topo")
    return [entry.commit for entry in walker]


def _blob(git: Repo, blob_id: str) -> Blob:
    if not SHA_PATTERN.match(blob_id):
        raise err.InvalidBlobIdException(f"The blob ID {blob_id} is not valid.")
    try:
        blob = git[ObjectID(blob_id.encode())]
    except KeyError:
        blob = None
    if not isinstance(blob, Blob):
        raise err.BlobIdDoesNotExistException(f"The blob {blob_id} does not exist.")
    if blob.raw_length() > files.MAX_FILE_BYTES:
        raise err.FileTooLargeException("The blob is larger than 6 MB: use git to compare it.")
    return blob


def blob_hunks(before: bytes, after: bytes, context: int, ignore_whitespace: bool) -> list[dict]:
    """The diff's hunks: runs of changes with up to `context` unchanged lines around them
    (difflib's grouped opcodes, as a unified diff cuts them); 1-based line numbers."""
    old = before.decode("utf-8", "replace").splitlines()
    new = after.decode("utf-8", "replace").splitlines()

    def key(line: str) -> str:
        return "".join(line.split()) if ignore_whitespace else line

    matcher = difflib.SequenceMatcher(None, [key(x) for x in old], [key(x) for x in new], False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        if all(tag == "equal" for tag, *_ in group):
            continue  # identical blobs: no hunk
        changes: list[dict[str, Any]] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                changes += [
                    {
                        "type": "CONTEXT",
                        "beforeLineNumber": i + 1,
                        "afterLineNumber": j + 1,
                        "content": new[j],
                    }
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            changes += [
                {"type": "DELETE", "beforeLineNumber": i + 1, "content": old[i]}
                for i in range(i1, i2)
            ]
            changes += [
                {"type": "ADD", "afterLineNumber": j + 1, "content": new[j]} for j in range(j1, j2)
            ]
        first, last = group[0], group[-1]
        hunks.append(
            {
                "beforeStartLine": first[1] + 1,
                "beforeLineCount": last[2] - first[1],
                "afterStartLine": first[3] + 1,
                "afterLineCount": last[4] - first[3],
                "changes": changes,
            }
        )
    return hunks
