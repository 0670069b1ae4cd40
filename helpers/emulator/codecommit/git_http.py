"""git clone / git push over HTTP against the local CodeCommit (dulwich's smart HTTP server).

cloneUrlHttp is <server>/v1/repos/<name>, the path AWS uses too. A push that moves a
branch is reported to the branch listeners, as the API's own changes are.
"""

from __future__ import annotations

from dulwich.errors import NotGitRepository
from dulwich.server import Backend
from dulwich.web import make_wsgi_chain

from .. import routes
from .models import find_repository

PREFIX = "/v1/repos/"


class CodeCommitGitBackend(Backend):
    def open_repository(self, path: str | bytes):
        if isinstance(path, bytes):  # dulwich passes bytes for service requests
            path = path.decode()
        name = path[len(PREFIX):].strip("/") if path.startswith(PREFIX) else ""
        if name.endswith(".git"):
            name = name[:-4]
        found = find_repository(name)
        if found is None:
            raise NotGitRepository(f"No repository named {name!r} on this local server")
        backend, repo = found
        git = repo.git()
        git.hooks["post-receive"] = _PushListener(backend, repo)
        return git


class _PushListener:
    """dulwich's post-receive hook: tell the backend which branches a push moved."""

    def __init__(self, backend, repo) -> None:
        self.backend, self.repo = backend, repo

    def execute(self, client_refs) -> bytes | None:
        zero = b"0" * 40
        for old, new, ref in client_refs:
            if not ref.startswith(b"refs/heads/"):
                continue
            branch = ref[len(b"refs/heads/"):].decode()
            self.backend.branch_moved(self.repo, branch,
                                      None if old == zero else old.decode(),
                                      None if new == zero else new.decode())
        return None


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not a repository of this local server\n"]


def register() -> None:
    # make_wsgi_chain adds the input-length and gzip filters git's requests need.
    app = make_wsgi_chain(CodeCommitGitBackend(), fallback_app=_not_found)
    routes.register(PREFIX, app)
