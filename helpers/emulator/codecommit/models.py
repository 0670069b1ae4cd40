"""The local CodeCommit: repositories as real git repositories, with AWS's rules.

State per account and region (moto's BackendDict); the git objects and branches live on
disk under the kit's state folder, so `git push` over HTTP and the API see the same
repository.
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from moto.core.base_backend import BackendDict, BaseBackend

from ... import settings
from .. import events, safepaths
from ..core import now
from . import exceptions as err
from . import gitstore, triggers
from .approval_rules import Templates
from .comments import Comments
from .pull_requests import PullRequests

NAME_PATTERN = re.compile(r"^[\w.-]{1,100}$")
BRANCH_PATTERN = re.compile(r"^[^\s~^:?*\[\\]{1,256}$")
COMMIT_ID_PATTERN = re.compile(r"^[0-9a-f]{40}$")
MAX_TAGS = 50
DEFAULT_NAME = "lab-learner"
DEFAULT_EMAIL = "learner@example.com"

# Called as listener(account, region, repository_name, branch, old_commit, new_commit)
# whenever a branch moves, by the API or by a git push (the pipeline engine listens).
BranchListener = Callable[[str, str, str, str, "str | None", "str | None"], None]
branch_listeners: list[BranchListener] = []


@dataclass
class Repository:
    name: str
    account_id: str
    region: str
    path: Path
    description: str | None = None
    repository_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    default_branch: str | None = None
    kms_key_id: str = "alias/aws/codecommit"
    tags: dict[str, str] = field(default_factory=dict)
    triggers: list[dict] = field(default_factory=list)  # PutRepositoryTriggers (triggers.py)
    trigger_configuration_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:codecommit:{self.region}:{self.account_id}:{self.name}"

    def git(self):
        from dulwich.repo import Repo

        return Repo(str(self.path))


class CodeCommitLabBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.repositories: dict[str, Repository] = {}
        self.lock = threading.RLock()
        self.pull_requests = PullRequests(account_id, region_name)
        self.approval_rule_templates = Templates()
        self.comments = Comments()

    @property
    def root(self) -> Path:
        return (
            settings.emulator_dir()
            / "codecommit"
            / safepaths.account_id(self.account_id)
            / safepaths.region(self.region_name)
        )

    def reset(self) -> None:
        # Only this backend's own repositories: another server may share the state folder.
        for repo in self.repositories.values():
            shutil.rmtree(repo.path, ignore_errors=True)
        super().reset()

    # Repositories ---------------------------------------------------------------

    def create_repository(
        self,
        name: str,
        description: str | None,
        tags: dict[str, str] | None,
        kms_key_id: str | None,
    ) -> Repository:
        validate_repository_name(name)
        validate_description(description)
        validate_tags(tags or {})
        with self.lock:
            if name in self.repositories:
                raise err.RepositoryNameExistsException(f"Repository named {name} already exists")
            repository_id = str(uuid.uuid4())
            # The id in the folder name: notebooks with servers of their own share the
            # state folder, and each may have a repository of the same name.
            path = self.root / f"{name}-{repository_id[:8]}.git"
            gitstore.init_bare(path)
            repo = Repository(
                name,
                self.account_id,
                self.region_name,
                path,
                description,
                repository_id=repository_id,
                tags=dict(tags or {}),
            )
            if kms_key_id:
                repo.kms_key_id = kms_key_id
            self.repositories[name] = repo
            return repo

    def get_repository(self, name: str | None) -> Repository:
        if not name:
            raise err.RepositoryNameRequiredException("A repository name is required.")
        validate_repository_name(name)
        repo = self.repositories.get(name)
        if repo is None:
            raise err.RepositoryDoesNotExistException(f"{name} does not exist")
        return repo

    def delete_repository(self, name: str) -> str | None:
        validate_repository_name(name)
        with self.lock:
            repo = self.repositories.pop(name, None)
        if repo is None:
            return None  # AWS: deleting a repository that is gone returns no id, no error
        self.pull_requests.repository_deleted(name)  # pull requests close with it
        self.approval_rule_templates.repository_deleted(name)
        self.comments.forget(name)
        shutil.rmtree(repo.path, ignore_errors=True)
        return repo.repository_id

    def rename_repository(self, old_name: str, new_name: str) -> Repository:
        """UpdateRepositoryName: the name, the ARN and the clone URLs follow the name; the
        git folder is renamed too, so the state folder reads as the repositories."""
        validate_repository_name(new_name)
        with self.lock:
            repo = self.get_repository(old_name)
            if new_name == old_name:
                return repo
            if new_name in self.repositories:
                raise err.RepositoryNameExistsException(
                    f"Repository named {new_name} already exists"
                )
            with repo.lock:
                # new_name passed validate_repository_name: one safe path component.
                path = self.root / f"{safepaths.component(new_name)}-{repo.repository_id[:8]}.git"
                repo.path.rename(path)
                repo.path, repo.name, repo.modified = path, new_name, now()
                del self.repositories[old_name]
                self.repositories[new_name] = repo
            return repo

    def repository_by_arn(self, arn: str | None) -> Repository:
        if not arn:
            raise err.ResourceArnRequiredException(
                "A valid Amazon Resource Name (ARN) is required."
            )
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "codecommit"]:
            raise err.InvalidResourceArnException(f"The value for resource ARN is not valid: {arn}")
        if parts[3] != self.region_name or parts[4] != self.account_id:
            raise err.RepositoryDoesNotExistException(f"{parts[5]} does not exist")
        return self.get_repository(parts[5])

    # Branches ---------------------------------------------------------------------

    def branches(self, repo: Repository) -> dict[str, str]:
        return gitstore.branches(repo.git())

    def get_branch(self, repo: Repository, branch: str | None) -> str:
        if not branch:
            raise err.BranchNameRequiredException("A branch name is required.")
        validate_branch_name(branch)
        commit_id = self.branches(repo).get(branch)
        if commit_id is None:
            raise err.BranchDoesNotExistException(f"Branch {branch} does not exist")
        return commit_id

    def create_branch(self, repo: Repository, branch: str, commit_id: str) -> None:
        validate_branch_name(branch)
        git = repo.git()
        target = self.commit_id(repo, git, commit_id, required=err.CommitIdRequiredException)
        with repo.lock:
            if not gitstore.move_branch(git, branch, None, target):
                raise err.BranchNameExistsException(f"Branch {branch} already exists")
            self.branch_moved(repo, branch, None, target)

    def delete_branch(self, repo: Repository, branch: str) -> str | None:
        validate_branch_name(branch)
        with repo.lock:
            if branch == self.default_branch(repo):
                raise err.DefaultBranchCannotBeDeletedException(
                    f"The default branch {branch} cannot be deleted."
                )
            git = repo.git()
            commit_id = gitstore.branches(git).get(branch)
            if commit_id is None:
                return None
            git.refs.remove_if_equals(gitstore.branch_ref(branch), commit_id.encode())
            self.branch_moved(repo, branch, commit_id, None)
            return commit_id

    def update_default_branch(self, repo: Repository, branch: str) -> None:
        self.get_branch(repo, branch)
        with repo.lock:
            repo.default_branch = branch
            gitstore.set_head(repo.git(), branch)
            repo.modified = now()

    def default_branch(self, repo: Repository) -> str | None:
        """The default branch; the first branch a repository gets becomes it, as in AWS."""
        with repo.lock:
            names = self.branches(repo)
            if repo.default_branch not in names:
                repo.default_branch = None
                if names:
                    first = next((b for b in ("main", "master") if b in names), sorted(names)[0])
                    repo.default_branch = first
                    gitstore.set_head(repo.git(), first)
            return repo.default_branch

    def branch_moved(
        self,
        repo: Repository,
        branch: str,
        old: str | None,
        new: str | None,
        merge: dict | None = None,
    ) -> None:
        """Everything a moved branch causes: its event, triggers, the pipeline engine.
        merge: for a merge, the event's merge fields (events.codecommit_reference)."""
        repo.modified = now()
        self.default_branch(repo)
        self.pull_requests.branch_moved(repo, branch, new)
        events.codecommit_reference(repo, "branch", branch, old, new, merge=merge)
        triggers.on_reference_moved(repo, "branch", branch, old, new)
        for listener in list(branch_listeners):
            listener(self.account_id, self.region_name, repo.name, branch, old, new)

    def tag_moved(self, repo: Repository, tag: str, old: str | None, new: str | None) -> None:
        """A git push created, moved or deleted a tag: its events and triggers."""
        repo.modified = now()
        events.codecommit_reference(repo, "tag", tag, old, new)
        triggers.on_reference_moved(repo, "tag", tag, old, new)

    # Commits ----------------------------------------------------------------------

    def commit_id(self, repo: Repository, git, commit_id: str | None, required) -> str:
        if not commit_id:
            raise required("A commit ID is required.")
        if not COMMIT_ID_PATTERN.match(commit_id):
            raise err.InvalidCommitIdException(f"The commit ID {commit_id} is not valid.")
        if gitstore.resolve(git, commit_id) is None:
            raise err.CommitDoesNotExistException(f"Commit {commit_id} does not exist.")
        return commit_id

    def resolve(self, repo: Repository, specifier: str | None) -> str:
        """commitSpecifier (branch, tag, HEAD or commit id; default branch if None)."""
        git = repo.git()
        if not specifier:
            branch = self.default_branch(repo)
            if branch is None:
                raise err.CommitDoesNotExistException("The repository has no commits yet.")
            specifier = branch
        commit_id = gitstore.resolve(git, specifier)
        if commit_id is None:
            raise err.CommitDoesNotExistException(f"Could not find commit {specifier}.")
        return commit_id

    def get_commit(self, repo: Repository, commit_id: str | None):
        git = repo.git()
        if not commit_id:
            raise err.CommitIdRequiredException("A commit ID is required.")
        if not COMMIT_ID_PATTERN.match(commit_id):
            raise err.InvalidCommitIdException(f"The commit ID {commit_id} is not valid.")
        if gitstore.resolve(git, commit_id) is None:
            raise err.CommitIdDoesNotExistException(f"Could not find commit {commit_id}.")
        return gitstore.commit(git, commit_id)

    def change_files(
        self,
        repo: Repository,
        branch: str,
        parent_commit_id: str | None,
        change: Callable[[dict, object], None],
        message: str | None,
        name: str | None,
        email: str | None,
    ) -> tuple[str, str]:
        """Commit a change of the branch's files, with CodeCommit's parent-commit rules.

        change(files, git) edits the {path: FileEntry} map in place. Returns
        (commit id, tree id).
        """
        validate_branch_name(branch)
        with repo.lock:
            git = repo.git()
            existing = gitstore.branches(git)
            tip = existing.get(branch)
            if tip is None and existing:
                # Only an empty repository gets its first branch from a file change.
                raise err.BranchDoesNotExistException(f"Branch {branch} does not exist")
            if tip is not None and not parent_commit_id:
                raise err.ParentCommitIdRequiredException(
                    "A parent commit ID is required. To view the full commit ID of a branch "
                    "in a repository, use GetBranch or a Git command (for example, git pull "
                    "or git log)."
                )
            if parent_commit_id:
                if not COMMIT_ID_PATTERN.match(parent_commit_id):
                    raise err.InvalidParentCommitIdException(
                        f"The parent commit ID {parent_commit_id} is not valid."
                    )
                if gitstore.resolve(git, parent_commit_id) is None:
                    raise err.ParentCommitDoesNotExistException(
                        f"The parent commit ID {parent_commit_id} does not exist."
                    )
                if tip is not None and parent_commit_id != tip:
                    raise err.ParentCommitIdOutdatedException(
                        f"The parent commit ID {parent_commit_id} is not the latest commit "
                        f"of branch {branch}: that is {tip}."
                    )
            base = tip if tip is not None else parent_commit_id
            entries = gitstore.files(git, base)
            change(entries, git)
            tree_id = gitstore.write_tree(git, entries)
            commit_id = gitstore.write_commit(
                git,
                tree_id,
                [base] if base else [],
                message or "",
                name or DEFAULT_NAME,
                email or DEFAULT_EMAIL,
            )
            if not gitstore.move_branch(git, branch, tip, commit_id):
                raise err.ParentCommitIdOutdatedException(
                    f"Branch {branch} moved while the commit was made; get its tip and retry."
                )
            self.branch_moved(repo, branch, tip, commit_id)
            return commit_id, tree_id

    def checkout(self, repository_name: str, source_version: str | None, dest: Path) -> str:
        """Write the files of a branch, tag or commit (default branch if None) into dest.

        For CodeBuild's CODECOMMIT source and the pipeline's CodeCommit source action.
        Raises safepaths.UnsafePath (nothing written outside dest) for a tree that cannot be
        checked out safely: '..', '.git' or a slash in a name, a symlink leading out.
        """
        repo = self.get_repository(repository_name)
        commit_id = self.resolve(repo, source_version)
        gitstore.export(repo.git(), commit_id, dest)
        return commit_id


def validate_repository_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or name.endswith(".git") or name in (".", ".."):
        raise err.InvalidRepositoryNameException(
            "A valid repository name is required: letters, digits, periods, underscores "
            "and dashes, at most 100 characters, not ending in .git."
        )


def validate_description(description: str | None) -> None:
    if description is not None and len(description) > 1000:
        raise err.InvalidRepositoryDescriptionException(
            "The description is longer than 1,000 characters."
        )


def validate_branch_name(branch: str) -> None:
    if (
        not BRANCH_PATTERN.match(branch)
        or branch.endswith((".", "/", ".lock"))
        or ".." in branch
        or "//" in branch
        or branch.startswith("/")
    ):
        raise err.InvalidBranchNameException(f"The branch name {branch!r} is not valid.")


def validate_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise err.TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags.")
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise err.InvalidSystemTagUsageException(
                "The tag key prefix aws: is reserved for use by AWS."
            )
        if not key or len(key) > 128:
            raise err.InvalidTagsMapException(f"The tag key {key!r} is not valid.")
        if value is None or len(value) > 256:
            raise err.InvalidTagsMapException(f"The value of tag {key!r} is not valid.")


codecommit_lab_backends = BackendDict(CodeCommitLabBackend, "codecommit")
