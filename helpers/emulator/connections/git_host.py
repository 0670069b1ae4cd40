"""The local git host behind connections: a repository `owner/name` of a provider is a real
git repository served at <endpoint>/<provider>/<owner>/<name>.git (provider github, gitlab
or bitbucket), created by the first push to it or by create_repository().

Why this route is safe to serve (it is not a SigV4-signed API call, so trust.py leaves its
authentication to it, after the Host and Origin checks every request passes: a loopback or
configured Host, no foreign browser Origin):

* git authenticates exactly as for the local CodeCommit (codecommit/git_http.py, whose
  checks and smart-HTTP serving this reuses): HTTP Basic from the AWS CLI's credential
  helper, the password a SigV4 signature of `GIT <repository path>` made with the secret
  of the access key it names. No or wrong credentials: 401/403, and nothing is created.
* A repository belongs to the signer's account: another account's credentials reach
  another folder, never this one.
* owner and name must be names the providers take (GitHub's rules: letters, digits, `-`,
  `_`, `.`; not `.` or `..`); their folder is made by safepaths.component, under the
  server's state folder. A push obeys CodeCommit's push rules: no commit whose tree could
  escape a checkout (`..`, `.git`, symlinks out), no deletion of the default branch.

Each ref a push moves is told to push_listeners (the pipeline engine listens).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import boto3
from dulwich.errors import HookError
from dulwich.hooks import Hook
from dulwich.refs import Ref
from dulwich.repo import Repo

from ... import settings
from .. import identities, routes, safepaths
from ..codecommit import gitstore
from ..codecommit.git_http import (
    GitRefused,
    basic_credentials,
    check_pushed_commit,
    refused,
    serve,
    signed_for,
)
from .models import PROVIDERS, connection_lab_backends

# Called as listener(account, region, provider_type, full_repository_id, ref, old, new) for
# each ref a push moves: provider_type as CreateConnection names it ("GitHub"),
# full_repository_id "owner/name" as the URL spells it, ref the full ref
# ("refs/heads/main", "refs/tags/v1"), old/new the commit ids (None: created/deleted).
# region is the one the git client signed for (the learner's configured region).
PushListener = Callable[[str, str, str, str, str, "str | None", "str | None"], None]
push_listeners: list[PushListener] = []

PROVIDER_BY_SEGMENT = {segment: provider for provider, segment in PROVIDERS.items()}
_PATH = re.compile(r"^/([a-z]+)/([^/]{1,100})/([^/]{1,110})(?:/|$)")
OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}\Z")  # GitHub: 39 at most
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}\Z")
ZERO = b"0" * 40


class InvalidRepository(ValueError):
    pass


def check_full_repository_id(full_repository_id: str) -> tuple[str, str]:
    """(owner, name) of "owner/name", or InvalidRepository with the provider's rule."""
    owner, _, name = (full_repository_id or "").partition("/")
    if not OWNER.match(owner):
        raise InvalidRepository(
            f"{owner!r} is not an owner name: letters, digits, '-', '_' and '.', "
            "starting with a letter or digit, at most 39 characters"
        )
    if not NAME.match(name) or name in (".", "..") or name.lower().endswith(".git"):
        raise InvalidRepository(
            f"{name!r} is not a repository name: letters, digits, '-', '_' and '.', "
            "at most 100 characters, not '.', '..' nor ending in .git"
        )
    return owner, name


def repository_folder(account: str, provider_type: str, full_repository_id: str) -> Path:
    """Where the repository lives; names are case-insensitive on the providers."""
    owner, name = check_full_repository_id(full_repository_id)
    return (
        settings.emulator_dir()
        / "githost"
        / safepaths.account_id(account)
        / PROVIDERS[provider_type]
        / safepaths.component(owner.lower())
        / (safepaths.component(name.lower()) + ".git")
    )


def open_repository(account: str, provider_type: str, full_repository_id: str) -> Repo | None:
    """The repository, or None if nobody created it yet."""
    folder = repository_folder(account, provider_type, full_repository_id)
    return Repo(str(folder)) if (folder / "HEAD").is_file() else None


def create_repository(account: str, provider_type: str, full_repository_id: str) -> Repo:
    """The repository, made empty if it did not exist (as creating it on the provider)."""
    found = open_repository(account, provider_type, full_repository_id)
    if found is not None:
        return found
    folder = repository_folder(account, provider_type, full_repository_id)
    try:
        return gitstore.init_bare(folder)
    except FileExistsError:  # two first pushes at once: the other one made it
        return Repo(str(folder))


def clone_url(endpoint: str, provider_type: str, full_repository_id: str) -> str:
    check_full_repository_id(full_repository_id)
    return f"{endpoint.rstrip('/')}/{PROVIDERS[provider_type]}/{full_repository_id}.git"


# -- the route ---------------------------------------------------------------------------


def git_app(environ, start_response):
    """Authenticate the git client, then serve its repository (made by a first push)."""
    try:
        provider, full_id, signed_path = _repository_of(environ.get("PATH_INFO", ""))
        identity, date, given = basic_credentials(environ)
        region = _signed_region(environ, identity, date, given, signed_path)
        repo = _repository_for(environ, identity.account_id, provider, full_id)
    except GitRefused as refusal:
        return refused(refusal, start_response)
    hooks = _Push(identity.account_id, region, provider, full_id)
    return serve(environ, start_response, lambda: hooks.attach(repo))


def _repository_of(path: str) -> tuple[str, str, str]:
    """(provider type, "owner/name", the path git signs) of a repository URL."""
    match = _PATH.match(path)
    provider = PROVIDER_BY_SEGMENT.get(match.group(1)) if match else None
    if match is None or provider is None:
        raise GitRefused("404 Not Found", "Not a repository URL of this local server.")
    segment, owner, last = match.groups()
    name = last[:-4] if last.endswith(".git") else last
    try:
        check_full_repository_id(f"{owner}/{name}")
    except InvalidRepository as error:
        raise GitRefused("404 Not Found", str(error)) from None
    return provider, f"{owner}/{name}", f"/{segment}/{owner}/{last}"


def _signed_region(environ, identity: identities.Identity, date: str, given: str, path: str) -> str:
    """The region the credential helper signed for (a repository of a provider is not
    regional, so every region is tried: the signature itself says which)."""
    account = identity.account_id
    known = (
        list(connection_lab_backends[account].keys()) if account in connection_lab_backends else []
    )
    for region in dict.fromkeys([*known, *_regions()]):
        if signed_for(environ, identity, date, given, path, region):
            return region
    raise GitRefused("403 Forbidden", "Access denied: a wrong signature for this repository.")


@functools.cache
def _regions() -> tuple[str, ...]:
    return tuple(boto3.session.Session().get_available_regions("codecommit"))


def _repository_for(environ, account: str, provider: str, full_id: str) -> Repo:
    """The repository; a push (git-receive-pack) to one that does not exist creates it."""
    found = open_repository(account, provider, full_id)
    if found is not None:
        return found
    pushing = environ.get("PATH_INFO", "").endswith("/git-receive-pack") or (
        "service=git-receive-pack" in environ.get("QUERY_STRING", "")
    )
    if not pushing:
        raise GitRefused("404 Not Found", f"Repository {full_id} not found.")
    return create_repository(account, provider, full_id)


class _Push(Hook):
    """dulwich's hooks for one push: the push rules, then the listeners."""

    def __init__(self, account: str, region: str, provider: str, full_id: str) -> None:
        self.account, self.region, self.provider, self.full_id = account, region, provider, full_id

    def attach(self, repo: Repo) -> Repo:
        self.repo = repo
        repo.hooks["update"] = _Rules(repo)
        repo.hooks["post-receive"] = self
        return repo

    def execute(self, client_refs) -> bytes | None:
        self._default_branch(client_refs)
        for old, new, ref in client_refs:
            before = None if old == ZERO else old.decode()
            after = None if new == ZERO else new.decode()
            for listener in list(push_listeners):
                listener(
                    self.account,
                    self.region,
                    self.provider,
                    self.full_id,
                    ref.decode(errors="replace"),
                    before,
                    after,
                )
        return None

    def _default_branch(self, client_refs) -> None:
        """The first branch pushed to an empty repository becomes its default (HEAD), as
        on the providers, so a clone checks it out."""
        try:
            self.repo.refs[Ref(b"HEAD")]
            return
        except KeyError:
            pass
        for _old, new, ref in client_refs:
            if ref.startswith(b"refs/heads/") and new != ZERO:
                gitstore.set_head(self.repo, ref[len(b"refs/heads/") :].decode())
                return


class _Rules(Hook):
    """dulwich's update hook: the refusals of CodeCommit's git, before a ref moves."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def execute(self, ref: bytes, old: bytes, new: bytes) -> tuple[bytes, bytes]:
        if new == ZERO:
            try:
                head = self.repo.refs.get_symrefs().get(Ref(b"HEAD"))
            except KeyError:
                head = None
            if head == ref and self.repo.refs.as_dict().get(Ref(ref)) is not None:
                raise HookError(f"refusing to delete the default branch {ref.decode()!r}")
            return b"", b""
        check_pushed_commit(self.repo, new)
        return b"", b""


def register() -> None:
    for segment in PROVIDER_BY_SEGMENT:
        routes.register(f"/{segment}/", git_app)
