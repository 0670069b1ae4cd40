"""CodeCommit source: the branch head (or the pushed commit) of a local git-backed
repository, as a zip of its files in the artifact store, with the action's variables."""

from __future__ import annotations

import datetime as dt

from ... import core, safepaths
from .. import artifacts
from .base import ActionContext, ActionFailed, Revision, Runner


def run(ctx: ActionContext) -> None:
    from ...codecommit import gitstore
    from ...codecommit.models import codecommit_lab_backends

    name = ctx.configuration["RepositoryName"]
    branch = ctx.configuration["BranchName"]
    backend = codecommit_lab_backends[ctx.account][ctx.region]
    try:
        repository = backend.get_repository(name)
        commit_id = ctx.source_revision or backend.get_branch(repository, branch)
        folder = ctx.workspace / "source"
        backend.checkout(name, commit_id, folder)
        archive = artifacts.zip_folder(folder)
    except core.AwsError as error:
        raise ActionFailed(
            f"Could not get {branch} of repository {name}: {error.message}", "ConfigurationError"
        ) from None
    except safepaths.UnsafePath as error:
        raise ActionFailed(
            f"Could not check out commit {commit_id} of repository {name}: {error}",
            "ConfigurationError",
        ) from None
    [location] = ctx.outputs.values()
    artifacts.put(ctx.account, location, archive)

    commit = gitstore.commit(repository.git(), commit_id)
    message = commit.message.decode("utf-8", "replace").strip()
    authored = _timestamp(commit.author_time)
    committed = _timestamp(commit.commit_time)
    ctx.output_variables.update(
        {
            "CommitId": commit_id,
            "CommitMessage": message,
            "RepositoryName": name,
            "BranchName": branch,
            "AuthorDate": authored.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CommitterDate": committed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    url = ctx.console("codecommit", f"/repository/{name}/commit/{commit_id}")
    # A commit without a message has no summary: AWS leaves it out (its shapes allow no "").
    ctx.revision = Revision(commit_id, commit_id, committed, message or None, url)
    ctx.report(external_id=commit_id, summary=message or None, url=url)


def _timestamp(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


RUNNER = Runner(run, revision_type="COMMIT_ID")
