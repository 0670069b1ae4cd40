"""GITHUB, GITHUB_ENTERPRISE, GITLAB, GITLAB_SELF_MANAGED and BITBUCKET sources, read from
the local git host (connections/git_host.py: <endpoint>/<github|gitlab|bitbucket>/
<owner>/<name>.git) when the project's location names that owner and repository.

A location is the repository's clone URL on the provider, `https://github.com/octo/app.git`
or `https://github.com/octo/app` (any host for the self-managed and Enterprise types), or
the local host's own URL `http://127.0.0.1:<port>/github/octo/app.git`. Its last two path
segments are the owner and the repository; GitLab subgroups (group/sub/repo) have no
repository on the local host and are refused clearly.

sourceVersion (sample-source-version.md): a branch, tag or commit id; refs/heads/<branch>
and refs/tags/<tag>; either pinned to a commit of it (refs/heads/main^{<commit id>}). A pull
request (pr/N, refs/pull/N/head) cannot be built: the local git host has no pull requests.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from dulwich.objects import ObjectID, Tag
from dulwich.refs import Ref
from dulwich.repo import Repo

from .. import safepaths
from ..codecommit import gitstore
from ..connections import git_host
from ..connections.models import PROVIDERS

# A project source type -> the git host's provider (connections.models.PROVIDERS).
PROVIDER_OF_SOURCE = {
    "GITHUB": "GitHub",
    "GITHUB_ENTERPRISE": "GitHub",
    "GITLAB": "GitLab",
    "GITLAB_SELF_MANAGED": "GitLab",
    "BITBUCKET": "Bitbucket",
}
PULL_REQUEST = re.compile(r"^(pr/\d+|refs/pull/.*)\Z")
REFERENCE = re.compile(
    r"^refs/(?P<kind>heads|tags)/(?P<name>[^\^]+?)(?:\^\{(?P<commit>[0-9a-f]{40})\})?\Z"
)
MAX_LOCATION = 2048


class GitHostSourceError(Exception):
    """Fails DOWNLOAD_SOURCE with this message (sources.SourceError wraps it)."""


def repository_of(source_type: str, location: str) -> tuple[str, str]:
    """(provider type, "owner/name") a project's location names, or GitHostSourceError."""
    provider = PROVIDER_OF_SOURCE[source_type]
    parts = urlsplit(location[:MAX_LOCATION]) if len(location) <= MAX_LOCATION else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise GitHostSourceError(
            f"invalid {source_type} source location {location[:200]!r}: use the "
            "repository's URL, e.g. https://github.com/<owner>/<repository>.git"
        )
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) == 3 and segments[0] == PROVIDERS[provider]:
        segments = segments[1:]  # the local host's own URL: /github/owner/name.git
    if len(segments) != 2:
        raise GitHostSourceError(
            f"the {source_type} source location {location[:200]!r} does not name "
            "<owner>/<repository> (the local git host has no subgroups)"
        )
    owner, name = segments[0], segments[1].removesuffix(".git")
    try:
        git_host.check_full_repository_id(f"{owner}/{name}")
    except git_host.InvalidRepository as error:
        raise GitHostSourceError(f"invalid {source_type} source location: {error}") from None
    return provider, f"{owner}/{name}"


def same_repository(source: dict, provider: str, full_repository_id: str) -> bool:
    """Whether a project source names this repository of the local git host."""
    if source.get("type") not in PROVIDER_OF_SOURCE:
        return False
    try:
        found = repository_of(source["type"], source.get("location") or "")
    except GitHostSourceError:
        return False
    return found[0] == provider and found[1].lower() == full_repository_id.lower()


def fetch(account: str, source: dict, version: str | None, dest: Path) -> str:
    """Write the files of the version (default branch if None) into dest; the commit id."""
    provider, full_id = repository_of(source["type"], source.get("location") or "")
    repo = git_host.open_repository(account, provider, full_id)
    if repo is None:
        raise GitHostSourceError(
            f"repository not found for primary source: {full_id} has not been pushed to "
            f"the local git host ({provider}) yet"
        )
    commit_id = resolve_version(repo, full_id, version)
    try:
        gitstore.export(repo, commit_id, dest)
    except safepaths.UnsafePath as error:
        raise GitHostSourceError(
            f"{full_id} at {commit_id} cannot be checked out: {error}"
        ) from None
    return commit_id


def resolve_version(repo: Repo, full_id: str, version: str | None) -> str:
    if version and PULL_REQUEST.match(version):
        raise GitHostSourceError(
            f"the source version {version} is a pull request: the local git host has no "
            "pull requests; build a branch, a tag or a commit"
        )
    if not version:
        commit_id = gitstore.resolve(repo, "HEAD")
        if commit_id is None:
            raise GitHostSourceError(f"{full_id} has no commits on its default branch")
        return commit_id
    match = REFERENCE.match(version)
    tip = _tip(repo, match["kind"], match["name"]) if match else None
    if match is None and len(version) <= 255:
        tip = gitstore.resolve(repo, version)
    if tip is None:
        raise GitHostSourceError(
            f"the source version {version[:200]} is not a branch, tag or commit of {full_id}"
        )
    pinned = match["commit"] if match else None
    if pinned is None:
        return tip
    if not any(
        entry.commit.id.decode() == pinned
        for entry in repo.get_walker(include=[ObjectID(tip.encode())])
    ):
        raise GitHostSourceError(
            f"the commit {pinned} is not on {version.split('^')[0]} of {full_id}"
        )
    return pinned


def _tip(repo: Repo, kind: str, name: str) -> str | None:
    """The commit refs/<kind>/<name> points to (through an annotated tag), or None."""
    if len(name) > 255:
        return None
    try:
        sha = repo.refs[Ref(f"refs/{kind}/{name}".encode())]
    except KeyError:
        return None
    obj = repo[sha]
    while isinstance(obj, Tag):
        obj = repo[obj.object[1]]
    return obj.id.decode()
