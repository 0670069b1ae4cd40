"""git clone / git push over HTTP against the local CodeCommit (dulwich's smart HTTP server).

cloneUrlHttp is <server>/v1/repos/<name>, the path AWS uses too. A push that moves a
branch is reported to the branch listeners, as the API's own changes are.

Why this route is safe to serve (it is not a SigV4-signed API call, so trust.py leaves its
authentication to it, after the Host and Origin checks):

* git authenticates as on AWS: HTTP Basic with the AWS CLI's credential helper, whose
  username is the access key id (with `%<session token>` for temporary credentials) and
  whose password is a SigV4 signature of `GIT <repository path>` for the codecommit
  service, made with the secret (awscli/customizations/codecommit.py). The server
  recomputes it with the secret of that access key; no or wrong credentials: 401/403.
* A URL reaches only a repository of the signer's account, in the region the signature
  names (AWS reads the region from the host name; offline the host is the loopback
  address, so the region is the credential helper's, i.e. the learner's configured one).
* A push obeys the API's rules: it cannot delete the default branch, and a commit whose
  tree could escape a checkout (`..`, `.git`, symlinks out) is refused (safepaths.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
from collections.abc import Callable

from dulwich.errors import HookError
from dulwich.objects import ObjectID
from dulwich.repo import Repo
from dulwich.server import Backend
from dulwich.web import make_wsgi_chain

from .. import identities, routes, safepaths, trust
from .models import Repository, codecommit_lab_backends

PREFIX = "/v1/repos/"
REALM = 'Basic realm="local AWS CodeCommit"'
_PATH = re.compile(r"^/v1/repos/([\w.-]{1,100})(?:/|$)")
_PASSWORD = re.compile(r"^(\d{8}T\d{6})Z([0-9a-f]{64})$")


class GitRefused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def git_app(environ, start_response):
    """Authenticate the git client, then serve the one repository it may reach."""
    try:
        repository_path, name = _repository_path(environ.get("PATH_INFO", ""))
        identity, signature_date, given = basic_credentials(environ)
        backend, repo = _signed_repository(
            environ, identity, signature_date, given, repository_path, name
        )
    except GitRefused as refusal:
        return refused(refusal, start_response)
    return serve(environ, start_response, lambda: _open(backend, repo))


def refused(refusal: GitRefused, start_response) -> list[bytes]:
    """A refusal as git shows it (401 asks for credentials)."""
    headers = [("Content-Type", "text/plain")]
    if refusal.status.startswith("401"):
        headers.append(("WWW-Authenticate", REALM))
    start_response(refusal.status, headers)
    return [str(refusal).encode() + b"\n"]


def serve(environ, start_response, open_repository: Callable[[], Repo]):
    """git's smart HTTP (dulwich) for one repository, already authenticated: every path
    of the request reaches that repository and nothing else."""
    app = make_wsgi_chain(_OneRepository(open_repository), fallback_app=_not_found)
    return app(environ, start_response)


def _repository_path(path: str) -> tuple[str, str]:
    match = _PATH.match(path)
    if match is None:
        raise GitRefused("404 Not Found", "Not a repository URL of this local server.")
    segment = match.group(1)
    name = segment[:-4] if segment.endswith(".git") else segment
    return PREFIX + segment, name


def basic_credentials(environ) -> tuple[identities.Identity, str, str]:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        raise GitRefused(
            "401 Unauthorized",
            "Authentication required: configure git's AWS "
            "credential helper (see lab 01, or the CodeCommit user guide's HTTPS "
            "setup with `aws codecommit credential-helper`).",
        )
    try:
        username, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise GitRefused("401 Unauthorized", "Malformed Basic credentials.") from None
    access_key, _, token = username.partition("%")
    match = _PASSWORD.match(password)
    if not access_key or match is None:
        raise GitRefused(
            "403 Forbidden", "These are not credentials from the AWS CLI's credential helper."
        )
    now = dt.datetime.now(dt.timezone.utc)
    try:  # the same key, session-token and expiry rules as every signed API call
        identity = trust.identity_of(access_key, token or None, now)
    except trust.Refused as refusal:
        raise GitRefused("403 Forbidden", str(refusal)) from None
    signed_at = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(
        tzinfo=dt.timezone.utc
    )
    if abs(now - signed_at) > trust.MAX_CLOCK_SKEW:
        raise GitRefused("403 Forbidden", "The signature has expired; check the clock.")
    # The helper signs with its timestamp as written, without the "Z" it shows after it.
    return identity, match.group(1), match.group(2)


def _signed_repository(
    environ, identity: identities.Identity, date: str, given: str, repository_path: str, name: str
):
    """The signer's repository of that name in the region whose signature matches."""
    for region, backend in list(codecommit_lab_backends[identity.account_id].items()):
        repo = backend.repositories.get(name)
        if repo is None:
            continue
        if signed_for(environ, identity, date, given, repository_path, region):
            return backend, repo
    # Same answer for "no such repository" and "wrong secret": a stranger learns nothing.
    raise GitRefused(
        "403 Forbidden",
        f"Access to repository {name!r} is denied: no "
        "repository of that name for these credentials, or a wrong signature.",
    )


def signed_for(
    environ, identity: identities.Identity, date: str, given: str, path: str, region: str
) -> bool:
    """Whether the credential helper's password is the signature of `GIT <path>` for this
    host, made with the identity's secret in region (awscli/customizations/codecommit.py)."""
    hostname = trust.host_name(environ.get("HTTP_HOST", ""))
    canonical = f"GIT\n{path}\n\nhost:{hostname}\n\nhost\n"
    scope = f"{date[:8]}/{region}/codecommit/aws4_request"
    expected = trust.signature(identity.secret_key, date, scope, canonical)
    return hmac.compare_digest(expected, given)


def _open(backend, repo: Repository) -> Repo:
    git = repo.git()
    git.hooks["update"] = _PushRules(backend, repo)
    git.hooks["post-receive"] = _PushListener(backend, repo)
    return git


class _OneRepository(Backend):
    """A dulwich backend that serves one repository, already authenticated."""

    def __init__(self, open_repository: Callable[[], Repo]) -> None:
        self.open_repository_now = open_repository

    def open_repository(self, path: str | bytes):
        return self.open_repository_now()


def check_pushed_commit(git: Repo, new: bytes) -> None:
    """HookError for a pushed commit whose tree could escape a checkout (safepaths.py)."""
    try:
        tip = git.object_store[ObjectID(new)]
        tree = getattr(tip, "tree", None)
        if tree is not None:
            safepaths.check_git_tree(git.object_store, tree)
    except safepaths.UnsafePath as error:
        raise HookError(f"refused: {error}") from None
    except KeyError:
        raise HookError("the pushed commit is missing from the pack") from None


class _PushRules:
    """dulwich's update hook: refuse what CodeCommit refuses, before a ref moves."""

    def __init__(self, backend, repo: Repository) -> None:
        self.backend, self.repo = backend, repo

    def execute(self, ref: bytes, old: bytes, new: bytes) -> tuple[bytes, bytes]:
        name = ref.decode(errors="replace")
        if new == b"0" * 40:
            default = self.backend.default_branch(self.repo)
            if default is not None and name == f"refs/heads/{default}":
                raise HookError(
                    f"cannot delete the default branch {default!r}; make "
                    "another branch the default first (UpdateDefaultBranch)"
                )
            return b"", b""
        check_pushed_commit(self.repo.git(), new)
        return b"", b""


class _PushListener:
    """dulwich's post-receive hook: tell the backend which branches a push moved."""

    def __init__(self, backend, repo) -> None:
        self.backend, self.repo = backend, repo

    def execute(self, client_refs) -> bytes | None:
        zero = b"0" * 40
        for old, new, ref in client_refs:
            before = None if old == zero else old.decode()
            after = None if new == zero else new.decode()
            if ref.startswith(b"refs/heads/"):
                branch = ref[len(b"refs/heads/") :].decode()
                self.backend.branch_moved(self.repo, branch, before, after)
            elif ref.startswith(b"refs/tags/"):
                tag = ref[len(b"refs/tags/") :].decode()
                self.backend.tag_moved(self.repo, tag, before, after)
        return None


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not a repository of this local server\n"]


def register() -> None:
    routes.register(PREFIX, git_app)
