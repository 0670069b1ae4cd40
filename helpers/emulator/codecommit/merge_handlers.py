"""CodeCommit's merge operations for branches, commits and pull requests: MergeBranchesBy*,
MergePullRequestBy*, GetMergeOptions, GetMergeConflicts, (Batch)DescribeMergeConflicts,
CreateUnreferencedMergeCommit, GetMergeCommit. The merging itself is merges.py; this unpacks
requests, resolves commit specifiers and moves the target branch."""

from __future__ import annotations

import re
from typing import Any

from dulwich.repo import Repo

from .. import core, events
from ..core import LabHandlers, with_token
from . import exceptions as err
from . import gitstore, merges
from .models import CodeCommitLabBackend, Repository, codecommit_lab_backends, validate_branch_name
from .pull_requests import OPEN, PullRequest

COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")

_pager = core.pager(err.InvalidContinuationTokenException, "The continuation token is not valid.")
MAX_HUNKS = 1000  # AWS's default for maxMergeHunks and maxConflictFiles


class MergeHandlers(LabHandlers):
    """Methods named as the operations; self is moto's CodeCommitResponse."""

    # Merging branches ---------------------------------------------------------------

    def merge_branches_by_fast_forward(self, params: dict) -> dict:
        return merge_branches(self, params, merges.FAST_FORWARD)

    def merge_branches_by_squash(self, params: dict) -> dict:
        return merge_branches(self, params, merges.SQUASH)

    def merge_branches_by_three_way(self, params: dict) -> dict:
        return merge_branches(self, params, merges.THREE_WAY)

    def create_unreferenced_merge_commit(self, params: dict) -> dict:
        _, repo, git, source, destination = _commits(self, params)
        option = params.get("mergeOption") or ""
        merges.check_option(option)
        if option == merges.FAST_FORWARD:
            raise err.InvalidMergeOptionException(
                "A fast-forward merge creates no merge commit: use SQUASH_MERGE or THREE_WAY_MERGE."
            )
        _check_detail_and_strategy(params)
        merged = merges.merge(git, source, destination, option, **merge_arguments(params))
        events.codecommit_unreferenced_merge_commit(
            repo, merged.commit_id, merge_fields(params, option, source, destination, merged)
        )
        return {"commitId": merged.commit_id, "treeId": merged.tree_id}

    # Merging pull requests (how-to-merge-pull-request.md) --------------------------------

    def merge_pull_request_by_fast_forward(self, params: dict) -> dict:
        return merge_pull_request(self, params, merges.FAST_FORWARD)

    def merge_pull_request_by_squash(self, params: dict) -> dict:
        return merge_pull_request(self, params, merges.SQUASH)

    def merge_pull_request_by_three_way(self, params: dict) -> dict:
        return merge_pull_request(self, params, merges.THREE_WAY)

    # Looking at a merge before making it ------------------------------------------------

    def get_merge_options(self, params: dict) -> dict:
        _, _, git, source, destination = _commits(self, params)
        _check_detail_and_strategy(params)
        base = merges.merge_base(git, source, destination)
        return {
            "mergeOptions": merges.merge_options(
                git,
                source,
                destination,
                conflict_detail_level=params.get("conflictDetailLevel"),
                conflict_resolution_strategy=params.get("conflictResolutionStrategy"),
            ),
            "sourceCommitId": source,
            "destinationCommitId": destination,
            "baseCommitId": base or "",
        }

    def get_merge_conflicts(self, params: dict) -> dict:
        _, _, git, source, destination = _commits(self, params)
        size = _max_results(params, "maxConflictFiles", err.InvalidMaxConflictFilesException)
        found = _conflicts(git, source, destination, params)
        page, token = _page(found.files, params, size)
        reply: dict[str, Any] = {
            "mergeable": found.mergeable,
            "destinationCommitId": destination,
            "sourceCommitId": source,
            "conflictMetadataList": [merges.conflict_metadata(item) for item in page],
        }
        if found.base_commit_id:
            reply["baseCommitId"] = found.base_commit_id
        return with_token(reply, token)

    def describe_merge_conflicts(self, params: dict) -> dict:
        _, _, git, source, destination = _commits(self, params)
        path = _describable(params)
        size = _max_results(params, "maxMergeHunks", err.InvalidMaxMergeHunksException)
        found = _conflicts(git, source, destination, params)
        item = _file_merge(git, found, source, destination, params, path)
        hunks, token = _page(merges.merge_hunks(item), params, size)
        reply: dict[str, Any] = {
            "conflictMetadata": merges.conflict_metadata(item),
            "mergeHunks": hunks,
            "destinationCommitId": destination,
            "sourceCommitId": source,
        }
        if found.base_commit_id:
            reply["baseCommitId"] = found.base_commit_id
        return with_token(reply, token)

    def batch_describe_merge_conflicts(self, params: dict) -> dict:
        _, _, git, source, destination = _commits(self, params)
        _describable(params, path_required=False)
        max_files = _max_results(params, "maxConflictFiles", err.InvalidMaxConflictFilesException)
        max_hunks = _max_results(params, "maxMergeHunks", err.InvalidMaxMergeHunksException)
        found = _conflicts(git, source, destination, params)
        wanted = params.get("filePaths")
        chosen = [item for item in found.files if not wanted or item.path in wanted]
        page, token = _page(chosen, params, max_files)
        errors = [
            {
                "filePath": path,
                "exceptionName": "FileDoesNotExistException",
                "message": f"{path} has no merge conflict between these commits.",
            }
            for path in (wanted or [])
            if path not in {item.path for item in found.files}
        ]
        reply: dict[str, Any] = {
            "conflicts": [
                {
                    "conflictMetadata": merges.conflict_metadata(item),
                    "mergeHunks": merges.merge_hunks(item)[:max_hunks],
                }
                for item in page
            ],
            "errors": errors,
            "destinationCommitId": destination,
            "sourceCommitId": source,
        }
        if found.base_commit_id:
            reply["baseCommitId"] = found.base_commit_id
        return with_token(reply, token)

    def get_merge_commit(self, params: dict) -> dict:
        _, _, git, source, destination = _commits(self, params)
        _check_detail_and_strategy(params)
        reply = {"sourceCommitId": source, "destinationCommitId": destination}
        base = merges.merge_base(git, source, destination)
        if base:
            reply["baseCommitId"] = base
        merged = merges.merge_commit_of(git, source, destination)
        if merged:
            reply["mergedCommitId"] = merged
        return reply


# Helpers ----------------------------------------------------------------------------------


def _backend(handler: LabHandlers) -> CodeCommitLabBackend:
    return codecommit_lab_backends[handler.current_account][handler.region]


def _commits(
    handler: LabHandlers, params: dict
) -> tuple[CodeCommitLabBackend, Repository, Repo, str, str]:
    """The repository and the resolved source and destination commit specifiers."""
    backend = _backend(handler)
    repo = backend.get_repository(params.get("repositoryName"))
    source = _commit(backend, repo, params.get("sourceCommitSpecifier"))
    destination = _commit(backend, repo, params.get("destinationCommitSpecifier"))
    return backend, repo, repo.git(), source, destination


def _commit(backend: CodeCommitLabBackend, repo: Repository, specifier: str | None) -> str:
    if not specifier:
        raise err.CommitRequiredException("A commit specifier is required.")
    return backend.resolve(repo, specifier)


def merge_arguments(params: dict) -> dict[str, Any]:
    """merges.merge's keyword arguments from a merge request (branches or pull request)."""
    return {
        "author_name": params.get("authorName"),
        "email": params.get("email"),
        "message": params.get("commitMessage"),
        "keep_empty_folders": bool(params.get("keepEmptyFolders")),
        "conflict_detail_level": params.get("conflictDetailLevel"),
        "conflict_resolution_strategy": params.get("conflictResolutionStrategy"),
        "conflict_resolution": params.get("conflictResolution"),
    }


def merge_branches(handler: LabHandlers, params: dict, option: str) -> dict:
    backend, repo, git, source, destination = _commits(handler, params)
    target = target_branch(git, params.get("targetBranch"), params["destinationCommitSpecifier"])
    _check_detail_and_strategy(params)
    with repo.lock:
        tip = gitstore.branches(git).get(target)
        if tip is None:
            raise err.BranchDoesNotExistException(f"Branch {target} does not exist")
        arguments = merge_arguments(params) if option != merges.FAST_FORWARD else {}
        merged = merges.merge(git, source, destination, option, **arguments)
        fields = merge_fields(params, option, source, destination, merged)
        move_branch(backend, repo, git, target, tip, merged.commit_id, merge=fields)
    return {"commitId": merged.commit_id, "treeId": merged.tree_id}


def merge_fields(
    params: dict, option: str, source: str, destination: str, merged: merges.Merged
) -> dict[str, Any]:
    """The merge fields of the reference events (monitoring-events.md's referenceUpdated
    and unreferencedMergeCommitCreated examples)."""
    fields: dict[str, Any] = {
        "sourceCommitId": source,
        "destinationCommitId": destination,
        "mergeOption": option,
    }
    if merged.base_commit_id:
        fields["baseCommitId"] = merged.base_commit_id
    if option != merges.FAST_FORWARD:
        fields["conflictDetailsLevel"] = params.get("conflictDetailLevel") or "FILE_LEVEL"
        fields["conflictResolutionStrategy"] = params.get("conflictResolutionStrategy") or "NONE"
    return fields


def merge_pull_request(handler: LabHandlers, params: dict, option: str) -> dict:
    """MergePullRequestBy*: the destination branch takes the merge of the source tip, and
    the pull request is merged and closed (how-to-merge-pull-request.md). Refused when the
    pull request is closed, its source moved since sourceCommitId, its approval rules are
    neither satisfied nor overridden, or conflicts are left (ManualMergeRequiredException)."""
    from .handlers import pull_request_reply

    backend = _backend(handler)
    pulls = backend.pull_requests
    pull_request = pulls.get(params.get("pullRequestId"))
    repo = backend.get_repository(params.get("repositoryName"))
    target = pull_request.target
    if target.repository_name != repo.name:
        raise err.RepositoryNotAssociatedWithPullRequestException(
            f"The pull request {pull_request.pull_request_id} is not in repository {repo.name}."
        )
    expected = params.get("sourceCommitId")
    if expected is not None and not COMMIT_ID.match(expected):
        raise err.InvalidCommitIdException(f"The commit ID {expected} is not valid.")
    if option != merges.FAST_FORWARD:
        _check_detail_and_strategy(params)
    caller = handler._lab_caller_arn()  # type: ignore[attr-defined]
    git = repo.git()
    with repo.lock, pulls.lock:
        if pull_request.status != OPEN:
            raise err.PullRequestAlreadyClosedException(
                f"The pull request {pull_request.pull_request_id} is already closed."
            )
        tips = gitstore.branches(git)
        source, tip = tips.get(target.source_branch), tips.get(target.destination_branch)
        if source is None or tip is None:
            missing = target.source_reference if source is None else target.destination_reference
            raise err.ReferenceDoesNotExistException(f"The reference {missing} does not exist.")
        if expected is not None and expected != source:
            raise err.TipOfSourceReferenceIsDifferentException(
                f"The tip of the source branch is {source}, not {expected}: the pull request "
                "was updated. Review the latest changes."
            )
        _check_approvals(pull_request)
        arguments = merge_arguments(params) if option != merges.FAST_FORWARD else {}
        merged = merges.merge(git, source, tip, option, **arguments)
        branch = target.destination_branch
        if merged.commit_id != tip:
            if not merges.is_ancestor(git, tip, merged.commit_id):
                raise err.ManualMergeRequiredException(
                    f"Branch {branch} has commits the merge does not contain: merge into it first."
                )
            if not gitstore.move_branch(git, branch, tip, merged.commit_id):
                raise err.ConcurrentReferenceUpdateException(
                    f"Branch {branch} moved while the merge was made; retry."
                )
        # Merged and closed before the branch's own events: the push-merge detection of
        # branch_moved then leaves this (closed) pull request alone.
        pulls.mark_merged(pull_request, caller, merged.commit_id, option)
        if merged.commit_id != tip:
            fields = merge_fields(params, option, source, tip, merged)
            backend.branch_moved(repo, branch, tip, merged.commit_id, merge=fields)
    return {"pullRequest": pull_request_reply(pull_request)}


def _check_approvals(pull_request: PullRequest) -> None:
    """Every approval rule satisfied at the current revision, or the rules overridden."""
    if pull_request.override is not None:
        return
    approvers = list(pull_request.approvals)
    unsatisfied = [r.name for r in pull_request.approval_rules if not r.satisfied_by(approvers)]
    if unsatisfied:
        raise err.PullRequestApprovalRulesNotSatisfiedException(
            f"The pull request cannot be merged: approval rules not satisfied: "
            f"{', '.join(unsatisfied)}."
        )


def target_branch(git: Repo, target: str | None, destination_specifier: str) -> str:
    """The branch a merge moves: targetBranch, else the destination when it is a branch."""
    if target is None:
        if destination_specifier in gitstore.branches(git):
            return destination_specifier
        raise err.InvalidTargetBranchException(
            f"The destination {destination_specifier} is not a branch: name the branch to "
            "merge into with targetBranch."
        )
    validate_branch_name(target)
    names = gitstore.branches(git)
    if target not in names and gitstore.resolve(git, target) is not None:
        raise err.BranchNameIsTagNameException(f"{target} is a tag, not a branch.")
    if target not in names:
        raise err.BranchDoesNotExistException(f"Branch {target} does not exist")
    return target


def move_branch(
    backend: CodeCommitLabBackend,
    repo: Repository,
    git: Repo,
    branch: str,
    tip: str,
    new: str,
    merge: dict[str, Any] | None = None,
) -> None:
    """Move branch from tip to a merge's commit; the merge must contain tip, so no commit
    of the branch is lost. merge: the event's merge fields (merge_fields)."""
    if new == tip:
        return
    if not merges.is_ancestor(git, tip, new):
        raise err.ManualMergeRequiredException(
            f"Branch {branch} has commits the merge does not contain: merge into it first."
        )
    if not gitstore.move_branch(git, branch, tip, new):
        raise err.ConcurrentReferenceUpdateException(
            f"Branch {branch} moved while the merge was made; retry."
        )
    backend.branch_moved(repo, branch, tip, new, merge=merge)


def _check_detail_and_strategy(params: dict) -> None:
    merges.check_detail_level(params.get("conflictDetailLevel") or "FILE_LEVEL")
    merges.check_strategy(params.get("conflictResolutionStrategy") or "NONE")


def _conflicts(git: Repo, source: str, destination: str, params: dict) -> merges.Conflicts:
    _check_detail_and_strategy(params)
    return merges.conflicts(
        git,
        source,
        destination,
        params.get("mergeOption") or "",
        conflict_detail_level=params.get("conflictDetailLevel"),
        conflict_resolution_strategy=params.get("conflictResolutionStrategy"),
    )


def _describable(params: dict, path_required: bool = True) -> str | None:
    """DescribeMergeConflicts takes a squash or three-way merge and (one) file path."""
    merges.check_option(params.get("mergeOption"))
    if params["mergeOption"] == merges.FAST_FORWARD:
        raise err.InvalidMergeOptionException(
            "A fast-forward merge has no conflicts to describe: use SQUASH_MERGE or "
            "THREE_WAY_MERGE."
        )
    if not path_required:
        return None
    from . import files

    return files.clean_path(params.get("filePath"))


def _file_merge(
    git: Repo,
    found: merges.Conflicts,
    source: str,
    destination: str,
    params: dict,
    path: str | None,
) -> merges.FileMerge:
    """The merge of one file: its conflicts, or (no conflict) its merged hunks."""
    for item in found.files:
        if item.path == path:
            return item
    result = merges.three_way(
        git,
        source,
        destination,
        conflict_detail_level=params.get("conflictDetailLevel") or "FILE_LEVEL",
        conflict_resolution_strategy=params.get("conflictResolutionStrategy") or "NONE",
    )
    if path in result.files:
        return result.files[path]
    base = gitstore.files(git, result.base_commit_id).get(path or "")
    ours = gitstore.files(git, source).get(path or "")
    theirs = gitstore.files(git, destination).get(path or "")
    if base is None and ours is None and theirs is None:
        raise err.FileDoesNotExistException(f"The file {path} does not exist in either commit.")
    item = merges.FileMerge(path or "", base, ours, theirs)
    for side in merges.SIDES:
        entry = item.entry(side)
        if entry is not None:
            item.data[side] = gitstore.read_blob(git, entry.sha)
    return item


def _max_results(params: dict, key: str, error: type[Exception]) -> int:
    value = params.get(key)
    if value is None:
        return MAX_HUNKS
    if value < 1:
        raise error(f"{key} must be at least 1.")
    return value


def _page(items: list, params: dict, size: int) -> tuple[list, str | None]:
    return _pager(items, {"nextToken": params.get("nextToken"), "size": size}, size_key="size")
