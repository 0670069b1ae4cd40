"""The CodeCommit API of the local server: unpack the request, call the model, shape the
reply (the `*_reply` functions)."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

from moto.codecommit.responses import CodeCommitResponse

from .. import core, identities
from ..core import LabHandlers, install_handlers, with_token
from . import approval_rules, bus_events, comments, files, gitstore, pull_requests, triggers
from . import exceptions as err
from .comments import Comment, Context
from .models import (
    COMMIT_ID_PATTERN,
    CodeCommitLabBackend,
    Repository,
    codecommit_lab_backends,
)
from .pull_requests import PullRequest, PullRequests, merge_metadata_reply

_page = core.pager(err.InvalidContinuationTokenException, "The continuation token is not valid.")


def install() -> None:
    from . import git_http
    from .merge_handlers import MergeHandlers
    from .repository_handlers import RepositoryHandlers

    install_handlers("codecommit", CodeCommitResponse, CodeCommitHandlers)
    install_handlers("codecommit", CodeCommitResponse, MergeHandlers)
    install_handlers("codecommit", CodeCommitResponse, RepositoryHandlers)
    git_http.register()
    if bus_events.on_pull_request_event not in pull_requests.event_listeners:
        pull_requests.event_listeners.append(bus_events.on_pull_request_event)


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

    def _lab_caller_arn(self) -> str:
        return identities.caller_arn(self.headers, self.current_account)

    def _lab_pull_requests(self) -> PullRequests:
        return self._lab_backend().pull_requests

    def _lab_pull_request(self, params: dict) -> PullRequest:
        return self._lab_pull_requests().get(params.get("pullRequestId"))

    def _lab_templates(self) -> approval_rules.Templates:
        return self._lab_backend().approval_rule_templates

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
                # A new entry: `before` holds the same objects, so a change in place
                # would read as no change.
                old = entries[path]
                entries[path] = gitstore.FileEntry(
                    path, files.file_mode(item.get("fileMode")), old.sha
                )
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

    # Pull requests ----------------------------------------------------------------------

    def create_pull_request(self, params):
        pull_request = self._lab_pull_requests().create(
            self._lab_backend(),
            self._lab_caller_arn(),
            params.get("title"),
            params.get("description"),
            params.get("targets"),
            params.get("clientRequestToken"),
            self._lab_templates(),
        )
        return {"pullRequest": pull_request_reply(pull_request)}

    def get_pull_request(self, params):
        return {"pullRequest": pull_request_reply(self._lab_pull_request(params))}

    def list_pull_requests(self, params):
        repo = self._lab_repo(params)
        ids = self._lab_pull_requests().ids(
            repo.name, params.get("authorArn"), params.get("pullRequestStatus")
        )
        _check_max_results(params.get("maxResults"))
        page, token = _page(ids, params, default_size=100)
        return with_token({"pullRequestIds": page}, token)

    def update_pull_request_title(self, params):
        pull_request = self._lab_pull_requests().update_title(
            params["pullRequestId"], params.get("title")
        )
        return {"pullRequest": pull_request_reply(pull_request)}

    def update_pull_request_description(self, params):
        pull_request = self._lab_pull_requests().update_description(
            params["pullRequestId"], params.get("description")
        )
        return {"pullRequest": pull_request_reply(pull_request)}

    def update_pull_request_status(self, params):
        pull_request = self._lab_pull_requests().update_status(
            params["pullRequestId"], params.get("pullRequestStatus"), self._lab_caller_arn()
        )
        return {"pullRequest": pull_request_reply(pull_request)}

    def describe_pull_request_events(self, params):
        events = self._lab_pull_requests().events(
            params.get("pullRequestId"), params.get("pullRequestEventType"), params.get("actorArn")
        )
        _check_max_results(params.get("maxResults"))
        page, token = _page(events, params, default_size=100)
        return with_token({"pullRequestEvents": [event_reply(*e) for e in page]}, token)

    # Approval rules of a pull request ---------------------------------------------------

    def create_pull_request_approval_rule(self, params):
        rule = self._lab_pull_requests().create_rule(
            params.get("pullRequestId"),
            params.get("approvalRuleName"),
            params.get("approvalRuleContent"),
            self._lab_caller_arn(),
        )
        return {"approvalRule": approval_rule_reply(rule)}

    def update_pull_request_approval_rule_content(self, params):
        rule = self._lab_pull_requests().update_rule(
            params.get("pullRequestId"),
            params.get("approvalRuleName"),
            params.get("newRuleContent"),
            params.get("existingRuleContentSha256"),
            self._lab_caller_arn(),
        )
        return {"approvalRule": approval_rule_reply(rule)}

    def delete_pull_request_approval_rule(self, params):
        rule_id = self._lab_pull_requests().delete_rule(
            params.get("pullRequestId"), params.get("approvalRuleName"), self._lab_caller_arn()
        )
        return {"approvalRuleId": rule_id}

    def get_pull_request_approval_states(self, params):
        pull_request = self._lab_pull_request(params)
        approvals = self._lab_pull_requests().approvals(pull_request, params.get("revisionId"))
        return {"approvals": [{"userArn": a, "approvalState": "APPROVE"} for a in approvals]}

    def update_pull_request_approval_state(self, params):
        self._lab_pull_requests().set_approval(
            self._lab_pull_request(params),
            params.get("revisionId"),
            params.get("approvalState"),
            self._lab_caller_arn(),
        )
        return {}

    def evaluate_pull_request_approval_rules(self, params):
        pull_request = self._lab_pull_request(params)
        satisfied, not_satisfied = self._lab_pull_requests().evaluate(
            pull_request, params.get("revisionId")
        )
        overridden = pull_request.override is not None
        return {
            "evaluation": {
                "approved": overridden or not not_satisfied,
                "overridden": overridden,
                "approvalRulesSatisfied": satisfied,
                "approvalRulesNotSatisfied": not_satisfied,
            }
        }

    def override_pull_request_approval_rules(self, params):
        self._lab_pull_requests().override(
            self._lab_pull_request(params),
            params.get("revisionId"),
            params.get("overrideStatus"),
            self._lab_caller_arn(),
        )
        return {}

    def get_pull_request_override_state(self, params):
        pull_request = self._lab_pull_request(params)
        self._lab_pull_requests().check_revision(pull_request, params.get("revisionId"), True)
        if pull_request.override is None:
            return {"overridden": False}
        return {"overridden": True, "overrider": pull_request.override[1]}

    # Approval rule templates -------------------------------------------------------------

    def create_approval_rule_template(self, params):
        template = self._lab_templates().create(
            params.get("approvalRuleTemplateName"),
            params.get("approvalRuleTemplateContent"),
            params.get("approvalRuleTemplateDescription"),
            self._lab_caller_arn(),
        )
        return {"approvalRuleTemplate": template_reply(template)}

    def get_approval_rule_template(self, params):
        template = self._lab_templates().get(params.get("approvalRuleTemplateName"))
        return {"approvalRuleTemplate": template_reply(template)}

    def delete_approval_rule_template(self, params):
        template_id = self._lab_templates().delete(params.get("approvalRuleTemplateName"))
        return {"approvalRuleTemplateId": template_id}

    def list_approval_rule_templates(self, params):
        names = sorted(self._lab_templates().items)
        _check_max_results(params.get("maxResults"))
        page, token = _page(names, params, default_size=100)
        return with_token({"approvalRuleTemplateNames": page}, token)

    def update_approval_rule_template_name(self, params):
        template = self._lab_templates().rename(
            params.get("oldApprovalRuleTemplateName"),
            params.get("newApprovalRuleTemplateName"),
            self._lab_caller_arn(),
        )
        return {"approvalRuleTemplate": template_reply(template)}

    def update_approval_rule_template_description(self, params):
        template = self._lab_templates().update_description(
            params.get("approvalRuleTemplateName"),
            params.get("approvalRuleTemplateDescription"),
            self._lab_caller_arn(),
        )
        return {"approvalRuleTemplate": template_reply(template)}

    def update_approval_rule_template_content(self, params):
        template = self._lab_templates().update_content(
            params.get("approvalRuleTemplateName"),
            params.get("newRuleContent"),
            params.get("existingRuleContentSha256"),
            self._lab_caller_arn(),
        )
        return {"approvalRuleTemplate": template_reply(template)}

    def associate_approval_rule_template_with_repository(self, params):
        repo = self._lab_repo(params)
        self._lab_templates().associate(params.get("approvalRuleTemplateName"), repo.name)
        return {}

    def disassociate_approval_rule_template_from_repository(self, params):
        repo = self._lab_repo(params)
        self._lab_templates().disassociate(params.get("approvalRuleTemplateName"), repo.name)
        return {}

    def batch_associate_approval_rule_template_with_repositories(self, params):
        return self._lab_batch_templates(params, self._lab_templates().associate, "associated")

    def batch_disassociate_approval_rule_template_from_repositories(self, params):
        return self._lab_batch_templates(
            params, self._lab_templates().disassociate, "disassociated"
        )

    def _lab_batch_templates(self, params: dict, change, done: str) -> dict:
        name = params.get("approvalRuleTemplateName")
        self._lab_templates().get(name)
        names = params.get("repositoryNames")
        if not names:
            raise err.RepositoryNamesRequiredException("At least one repository name is required.")
        if len(names) > 25:
            raise err.MaximumRepositoryNamesExceededException(
                "The maximum number of allowed repository names was exceeded (25)."
            )
        succeeded, errors = [], []
        for repository_name in names:
            try:
                change(name, self._lab_backend().get_repository(repository_name).name)
                succeeded.append(repository_name)
            except core.AwsError as error:
                errors.append(
                    {
                        "repositoryName": repository_name,
                        "errorCode": type(error).__name__,
                        "errorMessage": error.message,
                    }
                )
        return {f"{done}RepositoryNames": succeeded, "errors": errors}

    def list_associated_approval_rule_templates_for_repository(self, params):
        repo = self._lab_repo(params)
        _check_max_results(params.get("maxResults"))
        page, token = _page(self._lab_templates().names_for(repo.name), params, default_size=100)
        return with_token({"approvalRuleTemplateNames": page}, token)

    def list_repositories_for_approval_rule_template(self, params):
        template = self._lab_templates().get(params.get("approvalRuleTemplateName"))
        _check_max_results(params.get("maxResults"))
        page, token = _page(sorted(template.repositories), params, default_size=100)
        return with_token({"repositoryNames": page}, token)

    # Comments ------------------------------------------------------------------------------

    def _lab_comment_context(
        self, repo: Repository, params: dict, pull_request_id: str | None = None
    ) -> Context:
        """Where a new comment goes: the compared commits, the file and its blobs."""
        git = repo.git()
        after = _commit_of(git, params.get("afterCommitId"))
        before = _commit_of(git, params["beforeCommitId"]) if params.get("beforeCommitId") else None
        if before == after:
            raise err.BeforeCommitIdAndAfterCommitIdAreSameException(
                "The before commit and the after commit must differ."
            )
        path, position, version = comments.location_of(params.get("location"))
        before_blob = after_blob = None
        if path is not None:
            after_blob = _blob_id(git, after, path)
            before_blob = _blob_id(git, before, path) if before else None
            if (before_blob if version == "BEFORE" else after_blob) is None:
                raise err.PathDoesNotExistException(
                    f"The file {path} does not exist in the {(version or 'AFTER').lower()} commit."
                )
        return Context(
            repo.name,
            before,
            after,
            pull_request_id,
            before_blob,
            after_blob,
            path,
            position,
            version,
        )

    def post_comment_for_pull_request(self, params):
        pull_request = self._lab_pull_request(params)
        repo = self._lab_repo(params)
        if repo.name != pull_request.target.repository_name:
            raise err.RepositoryNotAssociatedWithPullRequestException(
                f"The repository {repo.name} is not the pull request's."
            )
        context = self._lab_comment_context(repo, params, pull_request.pull_request_id)
        caller = self._lab_caller_arn()
        comment = self._lab_post_comment(
            repo, context, params.get("content"), caller, params.get("clientRequestToken")
        )
        return {**context_reply(context), "comment": comment_reply(comment, caller)}

    def post_comment_for_compared_commit(self, params):
        repo = self._lab_repo(params)
        context = self._lab_comment_context(repo, params)
        caller = self._lab_caller_arn()
        comment = self._lab_post_comment(
            repo, context, params.get("content"), caller, params.get("clientRequestToken")
        )
        reply = context_reply(context)
        reply.pop("pullRequestId", None)
        return {**reply, "comment": comment_reply(comment, caller)}

    def _lab_post_comment(
        self, repo: Repository, context: Context, content, caller: str, token
    ) -> Comment:
        """Post a comment; its event unless it is an idempotent retry."""
        comments = self._lab_backend().comments
        again = bool(token) and token in comments.by_token
        comment = comments.post(context, content, caller, token)
        if not again:
            bus_events.comment_event(repo, comment, caller, created=True)
        return comment

    def post_comment_reply(self, params):
        caller = self._lab_caller_arn()
        comments = self._lab_backend().comments
        token = params.get("clientRequestToken")
        again = bool(token) and token in comments.by_token
        comment = comments.reply(params.get("inReplyTo"), params.get("content"), caller, token)
        repo = self._lab_backend().repositories.get(comment.context.repository_name)
        if repo is not None and not again:
            bus_events.comment_event(repo, comment, caller, created=True)
        return {"comment": comment_reply(comment, caller)}

    def get_comment(self, params):
        comment = self._lab_backend().comments.get(params.get("commentId"))
        return {"comment": comment_reply(comment, self._lab_caller_arn())}

    def update_comment(self, params):
        caller = self._lab_caller_arn()
        comment = self._lab_backend().comments.update(
            params.get("commentId"), params.get("content"), caller
        )
        repo = self._lab_backend().repositories.get(comment.context.repository_name)
        if repo is not None:
            bus_events.comment_event(repo, comment, caller, created=False)
        return {"comment": comment_reply(comment, caller)}

    def delete_comment_content(self, params):
        comment = self._lab_backend().comments.delete_content(params.get("commentId"))
        return {"comment": comment_reply(comment, self._lab_caller_arn())}

    def get_comments_for_pull_request(self, params):
        pull_request = self._lab_pull_request(params)
        if params.get("repositoryName"):
            repo = self._lab_repo(params)
            if repo.name != pull_request.target.repository_name:
                raise err.RepositoryNotAssociatedWithPullRequestException(
                    f"The repository {repo.name} is not the pull request's."
                )
        before, after = params.get("beforeCommitId"), params.get("afterCommitId")
        threads = self._lab_backend().comments.threads(
            lambda c: (
                c.pull_request_id == pull_request.pull_request_id
                and (before is None or c.before_commit == before)
                and (after is None or c.after_commit == after)
            )
        )
        return self._lab_comment_page(params, threads, "commentsForPullRequestData")

    def get_comments_for_compared_commit(self, params):
        repo = self._lab_repo(params)
        git = repo.git()
        after = _commit_of(git, params.get("afterCommitId"))
        before = _commit_of(git, params["beforeCommitId"]) if params.get("beforeCommitId") else None
        threads = self._lab_backend().comments.threads(
            lambda c: (
                c.repository_name == repo.name
                and c.pull_request_id is None
                and c.after_commit == after
                and c.before_commit == before
            )
        )
        return self._lab_comment_page(params, threads, "commentsForComparedCommitData")

    def _lab_comment_page(self, params: dict, threads: list, key: str) -> dict:
        _check_max_results(params.get("maxResults"))
        page, token = _page(threads, params, default_size=100)
        caller = self._lab_caller_arn()
        data = []
        for context, thread in page:
            group = context_reply(context)
            if key == "commentsForComparedCommitData":
                group.pop("pullRequestId", None)
            data.append({**group, "comments": [comment_reply(c, caller) for c in thread]})
        return with_token({key: data}, token)

    def put_comment_reaction(self, params):
        comments_ = self._lab_backend().comments
        caller = self._lab_caller_arn()
        comment = comments_.get(params.get("commentId"))
        before = comment.reactions.get(caller)
        comments_.react(comment.comment_id, params.get("reactionValue"), caller)
        reaction = comment.reactions[caller]
        repo = self._lab_backend().repositories.get(comment.context.repository_name)
        if repo is not None and reaction != before:
            bus_events.reaction_event(repo, comment, reaction, caller, created=before is None)
        return {}

    def get_comment_reactions(self, params):
        reactions = self._lab_backend().comments.reactions(
            params.get("commentId"), params.get("reactionUserArn")
        )
        _check_max_results(params.get("maxResults"))
        page, token = _page(reactions, params, default_size=100)
        return with_token({"reactionsForComment": page}, token)

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


def _check_max_results(value: int | None) -> None:
    if value is not None and value < 1:
        raise err.InvalidMaxResultsException("maxResults must be at least 1.")


def pull_request_reply(pull_request: PullRequest) -> dict:
    target = pull_request.target
    return core.compact(
        {
            "pullRequestId": pull_request.pull_request_id,
            "title": pull_request.title,
            "description": pull_request.description,
            "lastActivityDate": pull_request.last_activity,
            "creationDate": pull_request.created,
            "pullRequestStatus": pull_request.status,
            "authorArn": pull_request.author_arn,
            "pullRequestTargets": [
                core.compact(
                    {
                        "repositoryName": target.repository_name,
                        "sourceReference": target.source_reference,
                        "destinationReference": target.destination_reference,
                        "destinationCommit": target.destination_commit,
                        "sourceCommit": target.source_commit,
                        "mergeBase": target.merge_base,
                        "mergeMetadata": merge_metadata_reply(target.merge),
                    }
                )
            ],
            "clientRequestToken": pull_request.client_request_token,
            "revisionId": pull_request.revision_id,
            "approvalRules": [approval_rule_reply(r) for r in pull_request.approval_rules],
        }
    )


def event_reply(pull_request_id: str, event: Any) -> dict:
    reply = {
        "pullRequestId": pull_request_id,
        "eventDate": event.date,
        "pullRequestEventType": event.event_type,
    }
    if event.actor_arn:
        reply["actorArn"] = event.actor_arn
    if event.metadata_key:
        reply[event.metadata_key] = core.compact(event.metadata)
    return reply


def approval_rule_reply(rule: approval_rules.ApprovalRule) -> dict:
    reply = {
        "approvalRuleId": rule.rule_id,
        "approvalRuleName": rule.name,
        "approvalRuleContent": rule.content,
        "ruleContentSha256": rule.sha256,
        "lastModifiedDate": rule.modified,
        "creationDate": rule.created,
        "lastModifiedUser": rule.last_modified_user,
    }
    if rule.origin:
        reply["originApprovalRuleTemplate"] = {
            "approvalRuleTemplateId": rule.origin[0],
            "approvalRuleTemplateName": rule.origin[1],
        }
    return reply


def template_reply(template: approval_rules.Template) -> dict:
    return {
        "approvalRuleTemplateId": template.template_id,
        "approvalRuleTemplateName": template.name,
        "approvalRuleTemplateDescription": template.description,
        "approvalRuleTemplateContent": template.content,
        "ruleContentSha256": template.sha256,
        "lastModifiedDate": template.modified,
        "creationDate": template.created,
        "lastModifiedUser": template.last_modified_user,
    }


def _commit_of(git, commit_id: str | None) -> str:
    if not commit_id:
        raise err.CommitIdRequiredException("A commit ID is required.")
    if not COMMIT_ID_PATTERN.match(commit_id):
        raise err.InvalidCommitIdException(f"The commit ID {commit_id} is not valid.")
    if gitstore.resolve(git, commit_id) is None:
        raise err.CommitDoesNotExistException(f"Commit {commit_id} does not exist.")
    return commit_id


def _blob_id(git, commit_id: str, path: str) -> str | None:
    entry = gitstore.files(git, commit_id).get(path)
    return entry.sha if entry else None


def context_reply(context: Context) -> dict:
    return core.compact(
        {
            "repositoryName": context.repository_name,
            "pullRequestId": context.pull_request_id,
            "beforeCommitId": context.before_commit,
            "afterCommitId": context.after_commit,
            "beforeBlobId": context.before_blob,
            "afterBlobId": context.after_blob,
            "location": context.location,
        }
    )


def comment_reply(comment: Comment, caller: str) -> dict:
    """A comment as the caller sees it (callerReactions are the caller's own)."""
    counts = Counter(r.short_code for r in comment.reactions.values())
    mine = comment.reactions.get(caller)
    reply = {
        "commentId": comment.comment_id,
        "creationDate": comment.created,
        "lastModifiedDate": comment.modified,
        "authorArn": comment.author_arn,
        "deleted": comment.deleted,
        "callerReactions": [mine.short_code] if mine else [],
        "reactionCounts": dict(counts),
    }
    if not comment.deleted:
        reply["content"] = comment.content
    if comment.in_reply_to:
        reply["inReplyTo"] = comment.in_reply_to
    if comment.client_request_token:
        reply["clientRequestToken"] = comment.client_request_token
    return reply
