"""A push to the local git host starts the pipelines whose CodeStarSourceConnection source
action watches that repository and branch (action-reference-CodestarConnectionSource.md:
DetectChanges left out or true starts the pipeline on new commits; "false" does not; a
connection that has not finished its handshake starts nothing: "Otherwise, the pipeline is
not triggered").

One function decides which pipelines a push starts: `starts_for_push`, the module attribute
`starts_for` by default. V2 trigger filters (pipelines-filter.md) replace it with their
matcher: `connection_push.starts_for = their_function` (same signature), and nothing else
here changes.

A provider's repository is not regional: a push reaches the matching pipelines of every
region of the pushing account, as the provider's webhook reaches every connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..connections import models as connections


@dataclass(frozen=True)
class Push:
    account: str
    region: str  # the region the git client signed for
    provider_type: str  # "GitHub", "GitLab", "Bitbucket"
    full_repository_id: str  # "owner/name" as the URL spelt it
    ref: str  # "refs/heads/main", "refs/tags/v1"
    old: str | None
    new: str | None

    @property
    def branch(self) -> str | None:
        prefix = "refs/heads/"
        return self.ref[len(prefix) :] if self.ref.startswith(prefix) else None


@dataclass(frozen=True)
class Start:
    """One execution to start: the pipeline, its trigger and the source revisions."""

    pipeline_name: str
    trigger: dict
    source_revisions: dict[str, str]  # action name -> commit id


def watches(account: str, action: dict, push: Push) -> bool:
    """Whether a source action follows the pushed repository through an AVAILABLE
    connection of the pushed provider (branches aside)."""
    if action["actionTypeId"]["provider"] != "CodeStarSourceConnection":
        return False
    configuration = action.get("configuration") or {}
    connection = connections.find_connection(account, configuration.get("ConnectionArn", ""))
    return (
        connection is not None
        and connection.status == "AVAILABLE"
        and connection.provider_type == push.provider_type
        and str(configuration.get("FullRepositoryId", "")).lower()
        == push.full_repository_id.lower()
    )


def detects_changes(action: dict) -> bool:
    return str((action.get("configuration") or {}).get("DetectChanges", "true")).lower() != "false"


def trigger_for(declaration: dict, action: dict) -> dict:
    """The execution's trigger: Webhook for a V1 pipeline, WebhookV2 for a V2 one (the
    TriggerType enum's names for a connection's push), the connection as its detail."""
    kind = "WebhookV2" if declaration.get("pipelineType") == "V2" else "Webhook"
    return {"triggerType": kind, "triggerDetail": action["configuration"]["ConnectionArn"]}


def starts_for_push(account: str, pipelines: list[dict], push: Push) -> list[Start]:
    """Without trigger filters: a push moving a branch starts each pipeline once, whose
    source action watches that repository and branch and detects changes."""
    if push.branch is None or push.new is None:
        return []
    found = []
    for declaration in pipelines:
        for action in declaration["stages"][0]["actions"]:
            if (
                watches(account, action, push)
                and action["configuration"].get("BranchName") == push.branch
                and detects_changes(action)
            ):
                trigger = trigger_for(declaration, action)
                found.append(Start(declaration["name"], trigger, {action["name"]: push.new}))
                break  # one execution per pipeline, even with several matching sources
    return found


# THE function that chooses what a push starts (see the module docstring).
starts_for: Callable[[str, list[dict], Push], list[Start]] = starts_for_push


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

    if account not in codepipeline_lab_backends:
        return
    push = Push(account, region, provider_type, full_repository_id, ref, old, new)
    for backend in list(codepipeline_lab_backends[account].values()):
        pipelines = {p.name: p for p in list(backend.pipelines.values())}
        for start in starts_for(account, [p.declaration for p in pipelines.values()], push):
            pipeline = pipelines.get(start.pipeline_name)
            if pipeline is not None:
                backend.start_execution(
                    pipeline, start.trigger, source_revisions=start.source_revisions
                )
