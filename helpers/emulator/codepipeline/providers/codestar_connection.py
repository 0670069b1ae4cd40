"""CodeStarSourceConnection source: the branch head (or the pushed commit) of a repository of
the local git host, reached through a connection (action-reference-CodestarConnectionSource.md).

The connection must exist in the pipeline's account and be AVAILABLE (its handshake done);
otherwise the action fails, as on AWS. OutputArtifactFormat:

* CODE_ZIP (default): a zip of the commit's files.
* CODEBUILD_CLONE_REF ("Full clone"): AWS writes "a JSON file that contains a URL reference
  to the repository so that downstream actions can perform Git commands directly", usable
  only by CodeBuild. The kit writes one JSON file, CLONE_REF_FILE, in the artifact zip with
  the repository's clone URL (the provider's, and its path on the local server), the
  connection, branch and commit (AWS's guides do not show the file's own fields).
  The kit's CodeBuild turns it into a full clone (codebuild/clone_ref.py).

Output variables: CommitId, CommitMessage, AuthorDate, BranchName, FullRepositoryName,
ConnectionArn.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from ... import safepaths
from ...codebuild import clone_ref
from ...codecommit import gitstore
from ...connections import git_host
from ...connections import models as connections
from .. import artifacts
from .. import exceptions as err
from .base import ActionContext, ActionFailed, Revision, Runner

FORMATS = ("CODE_ZIP", "CODEBUILD_CLONE_REF")
CLONE_REF_FILE = clone_ref.FILE  # what the kit's CodeBuild clones


def check(action_name: str, configuration: dict) -> None:
    """CreatePipeline/UpdatePipeline: what AWS refuses in the declaration itself."""
    found = configuration.get("OutputArtifactFormat")
    if found is not None and found not in FORMATS:
        raise err.InvalidActionDeclarationException(
            f"Action {action_name}: OutputArtifactFormat must be one of {', '.join(FORMATS)}"
        )
    try:
        git_host.check_full_repository_id(str(configuration.get("FullRepositoryId", "")))
    except git_host.InvalidRepository as error:
        raise err.InvalidActionDeclarationException(
            f"Action {action_name}: FullRepositoryId must be owner/name: {error}"
        ) from None


def run(ctx: ActionContext) -> None:
    configuration = ctx.configuration
    arn = configuration["ConnectionArn"]
    full_id = configuration["FullRepositoryId"]
    branch = configuration["BranchName"]
    connection = _available_connection(ctx.account, arn)
    repo = git_host.open_repository(ctx.account, connection.provider_type, full_id)
    if repo is None:
        raise ActionFailed(
            f"Repository {full_id} not found on {connection.provider_type} through "
            f"connection {arn}: push to it first",
            "ConfigurationError",
        )
    commit_id = ctx.source_revision or gitstore.resolve(repo, branch)
    if commit_id is None or gitstore.branch_ref(branch) not in repo.refs:
        raise ActionFailed(
            f"Branch {branch} not found in repository {full_id}", "ConfigurationError"
        )
    if configuration.get("OutputArtifactFormat") == "CODEBUILD_CLONE_REF":
        archive = _clone_ref(connection, full_id, branch, commit_id)
    else:
        archive = _code_zip(ctx, repo, full_id, commit_id)
    [location] = ctx.outputs.values()
    artifacts.put(ctx.account, location, archive)

    commit = gitstore.commit(repo, commit_id)
    message = commit.message.decode("utf-8", "replace").strip()
    authored = dt.datetime.fromtimestamp(commit.author_time, dt.timezone.utc)
    committed = dt.datetime.fromtimestamp(commit.commit_time, dt.timezone.utc)
    ctx.output_variables.update(
        {
            "CommitId": commit_id,
            "CommitMessage": message,
            "AuthorDate": authored.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "BranchName": branch,
            "FullRepositoryName": full_id,
            "ConnectionArn": arn,
        }
    )
    url = _commit_url(connection.provider_type, full_id, commit_id)
    ctx.revision = Revision(commit_id, commit_id, committed, message or None, url)
    ctx.report(external_id=commit_id, summary=message or None, url=url)


def _available_connection(account: str, arn: str) -> connections.Connection:
    connection = connections.find_connection(account, arn)
    if connection is None:
        raise ActionFailed(f"Connection {arn} not found", "ConfigurationError")
    if connection.status != "AVAILABLE":
        raise ActionFailed(
            f"Connection {arn} is not available (status {connection.status}): finish its "
            "handshake first (offline: helpers.connections.complete_handshake)",
            "ConfigurationError",
        )
    return connection


def _code_zip(ctx: ActionContext, repo, full_id: str, commit_id: str) -> bytes:
    folder = ctx.workspace / "source"
    try:
        gitstore.export(repo, commit_id, folder)
    except safepaths.UnsafePath as error:
        raise ActionFailed(
            f"Could not check out commit {commit_id} of repository {full_id}: {error}",
            "ConfigurationError",
        ) from None
    return artifacts.zip_folder(folder)


def _clone_ref(
    connection: connections.Connection, full_id: str, branch: str, commit_id: str
) -> bytes:
    segment = connections.PROVIDERS[connection.provider_type]
    reference = {
        "CloneUrl": f"{_site(connection.provider_type)}/{full_id}.git",
        # The same repository on the local server: the path after its endpoint.
        "LocalServerPath": f"/{segment}/{full_id}.git",
        "ConnectionArn": connection.arn,
        "ProviderType": connection.provider_type,
        "FullRepositoryId": full_id,
        "BranchName": branch,
        "CommitId": commit_id,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CLONE_REF_FILE, json.dumps(reference, indent=2) + "\n")
    return buffer.getvalue()


def _site(provider_type: str) -> str:
    return {"GitLab": "https://gitlab.com", "Bitbucket": "https://bitbucket.org"}.get(
        provider_type, "https://github.com"
    )


def _commit_url(provider_type: str, full_id: str, commit_id: str) -> str:
    """The commit on the provider's site, as the console links it."""
    path = {"GitLab": "-/commit", "Bitbucket": "commits"}.get(provider_type, "commit")
    return f"{_site(provider_type)}/{full_id}/{path}/{commit_id}"


RUNNER = Runner(run, check=check, revision_type="COMMIT_ID")
