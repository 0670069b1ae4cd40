"""A push to the local git host starts the pipelines whose CodeStarSourceConnection source
action follows that repository: per the pipeline's V2 triggers, or by default on pushes to
the action's BranchName (git_triggers.py decides, as pipelines-filter.md documents), and
only through a connection of the pushed provider that finished its handshake
(action-reference-CodestarConnectionSource.md: "Otherwise, the pipeline is not triggered").

A provider's repository is not regional: a push reaches the matching pipelines of every
region of the pushing account, as the provider's webhook reaches every connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codecommit import gitstore
from ..connections import git_host
from ..connections import models as connections
from . import git_triggers


@dataclass(frozen=True)
class Push:
    account: str
    region: str  # the region the git client signed for
    provider_type: str  # "GitHub", "GitLab", "Bitbucket"
    full_repository_id: str  # "owner/name" as the URL spelt it
    ref: str  # "refs/heads/main", "refs/tags/v1"
    old: str | None
    new: str | None

    def event(self, changed_files: tuple[str, ...] = ()) -> git_triggers.PushEvent | None:
        """The push as the trigger matcher reads it; None for a ref that is neither a
        branch nor a tag."""
        for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
            if self.ref.startswith(prefix):
                return git_triggers.PushEvent(
                    repository=self.full_repository_id,
                    ref_type=kind,  # type: ignore[arg-type]
                    ref_name=self.ref[len(prefix) :],
                    new_commit=self.new,
                    old_commit=self.old,
                    changed_files=changed_files,
                )
        return None


def watches(account: str, action: dict, push: Push) -> bool:
    """Whether a source action may follow the push: its connection exists, is AVAILABLE and
    is of the pushed provider (the repository and the branch are the matcher's)."""
    configuration = action.get("configuration") or {}
    connection = connections.find_connection(account, configuration.get("ConnectionArn", ""))
    return (
        connection is not None
        and connection.status == "AVAILABLE"
        and connection.provider_type == push.provider_type
    )


def changed_files(push: Push) -> tuple[str, ...]:
    """Paths that differ between the old and the new commit; for a new branch or tag, the
    paths its tip commit changed from its first parent (every path of a root commit). Tags
    have none: file path filters go with branches only (pipelines-filter.md)."""
    if push.new is None or not push.ref.startswith("refs/heads/"):
        return ()
    repo = git_host.open_repository(push.account, push.provider_type, push.full_repository_id)
    if repo is None:
        return ()
    before = push.old
    if before is None:
        parents = gitstore.commit(repo, push.new).parents
        before = parents[0].decode() if parents else None
    old_files, new_files = gitstore.files(repo, before), gitstore.files(repo, push.new)
    return tuple(
        sorted(
            path
            for path in old_files.keys() | new_files.keys()
            if old_files.get(path) != new_files.get(path)
        )
    )


def on_push(
    account: str,
    region: str,
    provider_type: str,
    full_repository_id: str,
    ref: str,
    old: str | None,
    new: str | None,
) -> None:
    """The git host's push listener (connections.git_host.push_listeners)."""
    from .models import codepipeline_lab_backends

    if account not in codepipeline_lab_backends or new is None:
        return
    push = Push(account, region, provider_type, full_repository_id, ref, old, new)
    event = push.event(changed_files(push))
    if event is None:
        return
    for backend in list(codepipeline_lab_backends[account].values()):
        backend.on_connection_push(event, lambda action: watches(account, action, push))
