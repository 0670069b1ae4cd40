"""The CodeCommit API of the local server: unpack the request, call the model, shape the
reply (the `*_reply` functions)."""

from __future__ import annotations

import base64
from typing import Any

from moto.codecommit.responses import CodeCommitResponse

from .. import core
from ..core import LabHandlers, install_handlers, with_token
from . import exceptions as err
from . import files, gitstore, triggers
from .models import CodeCommitLabBackend, Repository, codecommit_lab_backends

_page = core.pager(err.InvalidContinuationTokenException, "The continuation token is not valid.")


def install() -> None:
    from . import git_http

    install_handlers("codecommit", CodeCommitResponse, CodeCommitHandlers)
    git_http.register()


class CodeCommitHandlers(LabHandlers):
    """Methods named as the operations; self is moto's CodeCommitResponse."""

    # Helpers (not operations) -------------------------------------------------------

    def _lab_backend(self) -> CodeCommitLabBackend:
        return codecommit_lab_backends[self.current_account][self.region]

    def _lab_repo(self, params: dict) -> Repository:
        return self._lab_backend().get_repository(params.get("repositoryName"))

    def _lab_repository_reply(self, repo: Repository) -> dict:
        return repository_reply(
            repo, self._lab_backend().default_branch(repo), clone_urls(self, repo)
        )

    # Repositories -------------------------------------------------------------------

    def create_repository(self, params):
        repo = self._lab_backend().create_repository(
            params["repositoryName"],
            params.get("repositoryDescription"),
            params.get("tags"),
            params.get("kmsKeyId"),
        )
        return {"repositoryMetadata": self._lab_repository_reply(repo)}

    def get_repository(self, params):
        return {"repositoryMetadata": self._lab_repository_reply(self._lab_repo(params))}

    def delete_repository(self, params):
        repository_id = self._lab_backend().delete_repository(params["repositoryName"])
        return {"repositoryId": repository_id} if repository_id else {}

    def list_repositories(self, params):
        sort_by = params.get("sortBy", "repositoryName")
        repos = sorted(
            self._lab_backend().repositories.values(),
            key=lambda r: r.name if sort_by == "repositoryName" else r.modified,
            reverse=params.get("order") == "descending",
        )
        page, token = _page(repos, params, default_size=1000)
        return with_token({"repositories": [repository_name_id_pair(r) for r in page]}, token)

    def batch_get_repositories(self, params):
        names = params["repositoryNames"]
        if len(names) > 25:
            raise err.MaximumRepositoryNamesExceededException(
                "The maximum number of allowed repository names was exceeded (25)."
            )
        backend = self._lab_backend()
        found, missing = [], []
        for name in names:
            if name in backend.repositories:
                found.append(self._lab_repository_reply(backend.repositories[name]))
            else:
                missing.append(name)
        return {
            "repositories": found,
            "repositoriesNotFound": missing,
            "errors": [
                {
                    "repositoryName": n,
                    "errorCode": "RepositoryDoesNotExistException",
                    "errorMessage": f"{n} does not exist",
                }
                for n in missing
            ],
        }

    def update_repository_description(self, params):
        repo = self._lab_repo(params)
        description = params.get("repositoryDescription")
        from .models import validate_description

        validate_description(description)
        repo.description = description
        return {}

    # Branches -------------------------------------------------------------------------

    def create_branch(self, params):
        repo = self._lab_repo(params)
        if not params.get("branchName"):
            raise err.BranchNameRequiredException("A branch name is required.")
        self._lab_backend().create_branch(repo, params["branchName"], params.get("commitId"))
        return {}

    def get_branch(self, params):
        repo = self._lab_repo(params)
        commit_id = self._lab_backend().get_branch(repo, params.get("branchName"))
        return {"branch": {"branchName": params["branchName"], "commitId": commit_id}}

    def list_branches(self, params):
        names = sorted(self._lab_backend().branches(self._lab_repo(params)))
        page, token = _page(names, params, default_size=100)
        return {"branches": page, **({"nextToken": token} if token else {})}

    def delete_branch(self, params):
        repo = self._lab_repo(params)
        commit_id = self._lab_backend().delete_branch(repo, params["branchName"])
        if commit_id is None:
            return {}
        return {"deletedBranch": {"branchName": params["branchName"], "commitId": commit_id}}

    def update_default_branch(self, params):
        repo = self._lab_repo(params)
        self._lab_backend().update_default_branch(repo, params["defaultBranchName"])
        return {}

    # Files and commits ----------------------------------------------------------------

    def put_file(self, params):
        repo = self._lab_repo(params)
        path = files.clean_path(params.get("filePath"))
        content = _blob(params.get("fileContent"))
        if not content:
            raise err.FileContentRequiredException("The file cannot be added because it is empty.")
        mode = files.file_mode(params.get("fileMode")) if params.get("fileMode") else None
        blob_ids = {}

        def change(entries, git):
            files.put(entries, git, path, content, mode, same_content_error=True)
            blob_ids["blob"] = entries[path].sha

        commit_id, tree_id = self._lab_backend().change_files(
            repo,
            _branch(params),
            params.get("parentCommitId"),
            change,
            params.get("commitMessage"),
            params.get("name"),
            params.get("email"),
        )
        return {"commitId": commit_id, "blobId": blob_ids["blob"], "treeId": tree_id}

    def delete_file(self, params):
        repo = self._lab_repo(params)
        path = files.clean_path(params.get("filePath"))
        if not params.get("parentCommitId"):
            raise err.ParentCommitIdRequiredException("A parent commit ID is required.")
        removed = {}

        def change(entries, git):
            removed["entry"] = files.delete(
                entries, git, path, bool(params.get("keepEmptyFolders"))
            )

        commit_id, tree_id = self._lab_backend().change_files(
            repo,
            _branch(params),
            params["parentCommitId"],
            change,
            params.get("commitMessage"),
            params.get("name"),
            params.get("email"),
        )
        return {
            "commitId": commit_id,
            "blobId": removed["entry"].sha,
            "treeId": tree_id,
            "filePath": path,
        }

    def create_commit(self, params):
        repo = self._lab_repo(params)
        report = {"filesAdded": [], "filesUpdated": [], "filesDeleted": []}
        puts = params.get("putFiles") or []
        deletes = params.get("deleteFiles") or []
        modes = params.get("setFileModes") or []
        touched = [files.clean_path(p.get("filePath")) for p in puts + deletes + modes]
        if len(set(touched)) != len(touched):
            raise err.SamePathRequestException(
                "The commit cannot be created because one or more changes in this commit "
                "duplicate actions in the same file path."
            )

        def change(entries, git):
            before = dict(entries)
            for item in puts:
                path = files.clean_path(item.get("filePath"))
                if item.get("sourceFile") and "fileContent" in item:
                    raise err.FileContentAndSourceFileSpecifiedException(
                        f"{path}: specify either fileContent or sourceFile, not both."
                    )
                if item.get("sourceFile"):
                    source = files.clean_path(item["sourceFile"].get("filePath"))
                    if source not in entries:
                        raise err.FileDoesNotExistException(f"The file {source} does not exist.")
                    content = gitstore.read_blob(git, entries[source].sha)
                    if item["sourceFile"].get("isMove"):
                        report["filesDeleted"].append(_file_metadata(entries.pop(source)))
                elif "fileContent" in item:
                    content = _blob(item["fileContent"])
                else:
                    raise err.SourceFileOrContentRequiredException(
                        f"{path}: specify fileContent or sourceFile for each file to put."
                    )
                mode = files.file_mode(item.get("fileMode")) if item.get("fileMode") else None
                what = files.put(entries, git, path, content, mode, same_content_error=False)
                key = "filesAdded" if what == "added" else "filesUpdated"
                report[key].append(_file_metadata(entries[path]))
            for item in deletes:
                entry = files.delete(
                    entries,
                    git,
                    files.clean_path(item.get("filePath")),
                    bool(params.get("keepEmptyFolders")),
                )
                report["filesDeleted"].append(_file_metadata(entry))
            for item in modes:
                path = files.clean_path(item.get("filePath"))
                if path not in entries:
                    raise err.FileDoesNotExistException(f"The file {path} does not exist.")
                entries[path].mode = files.file_mode(item.get("fileMode"))
                report["filesUpdated"].append(_file_metadata(entries[path]))
            if entries == before:
                raise err.NoChangeException(
                    "The commit cannot be created because no changes will be made to the "
                    "repository as a result of this commit."
                )

        if not (puts or deletes or modes):
            raise err.NoChangeException("The commit cannot be created because it has no changes.")
        commit_id, tree_id = self._lab_backend().change_files(
            repo,
            _branch(params),
            params.get("parentCommitId"),
            change,
            params.get("commitMessage"),
            params.get("authorName"),
            params.get("email"),
        )
        return {"commitId": commit_id, "treeId": tree_id, **report}

    def get_commit(self, params):
        repo = self._lab_repo(params)
        commit = self._lab_backend().get_commit(repo, params.get("commitId"))
        return {"commit": commit_reply(commit)}

    def get_file(self, params):
        repo = self._lab_repo(params)
        path = files.clean_path(params.get("filePath"))
        commit_id = self._lab_backend().resolve(repo, params.get("commitSpecifier"))
        git = repo.git()
        entry = files.read_file(git, commit_id, path)
        data = gitstore.read_blob(git, entry.sha)
        return {
            "commitId": commit_id,
            "blobId": entry.sha,
            "filePath": path,
            "fileMode": gitstore.mode_name(entry.mode),
            "fileSize": len(data),
            "fileContent": data,
        }

    def get_folder(self, params):
        repo = self._lab_repo(params)
        if params.get("folderPath") is None:
            raise err.PathRequiredException("A folder path is required.")
        path = files.folder_path(params["folderPath"])
        commit_id = self._lab_backend().resolve(repo, params.get("commitSpecifier"))
        return files.read_folder(repo.git(), commit_id, path)

    def get_differences(self, params):
        repo = self._lab_repo(params)
        backend = self._lab_backend()
        if not params.get("afterCommitSpecifier"):
            raise err.CommitRequiredException("An after commit specifier is required.")
        after = backend.resolve(repo, params["afterCommitSpecifier"])
        before = params.get("beforeCommitSpecifier")
        before = backend.resolve(repo, before) if before else None
        if params.get("MaxResults") is not None and params["MaxResults"] < 1:
            raise err.InvalidMaxResultsException("MaxResults must be at least 1.")
        changes = files.differences(
            repo.git(), before, after, params.get("beforePath"), params.get("afterPath")
        )
        page, token = _page(
            changes, params, token_key="NextToken", size_key="MaxResults", default_size=100
        )
        return with_token({"differences": page}, token, key="NextToken")

    # Triggers (triggers.py) ------------------------------------------------------------

    def put_repository_triggers(self, params):
        repo = self._lab_repo(params)
        checked = triggers.check(repo, params.get("triggers"))
        with repo.lock:
            repo.triggers = checked
            repo.trigger_configuration_id = triggers.new_configuration_id()
            return {"configurationId": repo.trigger_configuration_id}

    def get_repository_triggers(self, params):
        repo = self._lab_repo(params)
        with repo.lock:
            return {
                "configurationId": repo.trigger_configuration_id,
                "triggers": [dict(t) for t in repo.triggers],
            }

    def test_repository_triggers(self, params):
        repo = self._lab_repo(params)
        successful, failed = triggers.test(repo, triggers.check(repo, params.get("triggers")))
        return {"successfulExecutions": successful, "failedExecutions": failed}

    # Tags -------------------------------------------------------------------------------

    def tag_resource(self, params):
        repo = self._lab_backend().repository_by_arn(params.get("resourceArn"))
        tags = params.get("tags")
        if tags is None:
            raise err.TagsMapRequiredException("A map of tags is required.")
        from .models import validate_tags

        validate_tags({**repo.tags, **tags})
        repo.tags.update(tags)
        return {}

    def untag_resource(self, params):
        repo = self._lab_backend().repository_by_arn(params.get("resourceArn"))
        keys = params.get("tagKeys")
        if keys is None:
            raise err.TagKeysListRequiredException("A list of tag keys is required.")
        for key in keys:
            if key.lower().startswith("aws:"):
                raise err.InvalidSystemTagUsageException(
                    "The tag key prefix aws: is reserved for use by AWS."
                )
            repo.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, params):
        repo = self._lab_backend().repository_by_arn(params.get("resourceArn"))
        return {"tags": dict(repo.tags)}


def repository_reply(repo: Repository, default_branch: str | None, urls: tuple[str, str]) -> dict:
    """RepositoryMetadata; urls: (HTTPS, SSH) clone URLs, as clone_urls gives them."""
    http_url, ssh_url = urls
    data = {
        "accountId": repo.account_id,
        "repositoryId": repo.repository_id,
        "repositoryName": repo.name,
        "lastModifiedDate": repo.modified,
        "creationDate": repo.created,
        "cloneUrlHttp": http_url,
        "cloneUrlSsh": ssh_url,
        "Arn": repo.arn,
        "kmsKeyId": repo.kms_key_id,
    }
    if repo.description is not None:
        data["repositoryDescription"] = repo.description
    if default_branch:
        data["defaultBranch"] = default_branch
    return data


def repository_name_id_pair(repo: Repository) -> dict:
    return {"repositoryName": repo.name, "repositoryId": repo.repository_id}


def clone_urls(handler: LabHandlers, repo: Repository) -> tuple[str, str]:
    """Clone URLs: the local server's own address when served over HTTP, else AWS's form."""
    host = (handler.headers or {}).get("Host", "") if hasattr(handler, "headers") else ""
    ssh = f"ssh://git-codecommit.{repo.region}.amazonaws.com/v1/repos/{repo.name}"
    if host and "amazonaws.com" not in host:
        return f"http://{host}/v1/repos/{repo.name}", ssh
    return f"https://git-codecommit.{repo.region}.amazonaws.com/v1/repos/{repo.name}", ssh


def _branch(params: dict) -> str:
    if not params.get("branchName"):
        raise err.BranchNameRequiredException("A branch name is required.")
    return params["branchName"]


def _blob(value) -> bytes:
    if value is None:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise err.FileContentRequiredException("The file content is not valid base64.") from None


def _file_metadata(entry) -> dict:
    return {
        "absolutePath": entry.path,
        "blobId": entry.sha,
        "fileMode": gitstore.mode_name(entry.mode),
    }


def commit_reply(commit: Any) -> dict:
    def person(ident: bytes, when: int, offset: int) -> dict:
        name, _, email = ident.decode(errors="replace").partition(" <")
        sign = "-" if offset < 0 else "+"
        zone = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
        return {"name": name, "email": email.rstrip(">"), "date": f"{when} {zone}"}

    return {
        "commitId": commit.id.decode(),
        "treeId": commit.tree.decode(),
        "parents": [p.decode() for p in commit.parents],
        "message": commit.message.decode(errors="replace"),
        "author": person(commit.author, commit.author_time, commit.author_timezone),
        "committer": person(commit.committer, commit.commit_time, commit.commit_timezone),
        "additionalData": "",
    }
