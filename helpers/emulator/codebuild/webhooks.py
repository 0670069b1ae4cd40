"""CodeBuild webhooks: Create/Update/DeleteWebhook, the project's webhook in BatchGetProjects,
and the push listener that starts a build when a push to the local git host matches
(webhooks.md, github-webhook.md, bitbucket-webhook.md, build-env-ref-env-vars.md).

What AWS documents, and how it is read here:
- A webhook belongs to a project whose source is GITHUB, GITHUB_ENTERPRISE, GITLAB,
  GITLAB_SELF_MANAGED or BITBUCKET; one per project (a second CreateWebhook:
  ResourceAlreadyExistsException); it goes with its project.
- CodeBuild creates the webhook on the provider with the account's credentials for that
  provider (access-tokens.md); with none, the provider is not reached and AWS answers
  OAuthProviderException. Offline: a source credential of the server type
  (ImportSourceCredentials) or a project source `auth` of CODECONNECTIONS or
  SECRETS_MANAGER. manualCreation (GitHub only) creates nothing on the provider and needs
  none: the reply's payloadUrl and secret are for the learner to add by hand.
- The reply: url (the hook on the provider), payloadUrl (CodeBuild's endpoint the provider
  posts to), secret (GitHub and GitHub Enterprise: "A Bitbucket webhook does not support
  secret"), filterGroups, branchFilter, buildType, lastModifiedSecret, status ACTIVE. The
  secret is shown by CreateWebhook and by UpdateWebhook with rotateSecret, not by
  BatchGetProjects.
- A build started by a webhook push builds the pushed commit (sourceVersion and
  CODEBUILD_RESOLVED_SOURCE_VERSION its id) with CODEBUILD_WEBHOOK_EVENT (PUSH),
  CODEBUILD_WEBHOOK_HEAD_REF (refs/heads/<branch>, refs/tags/<tag>),
  CODEBUILD_WEBHOOK_TRIGGER (branch/<name>, tag/<name>), CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID,
  CODEBUILD_WEBHOOK_PREV_COMMIT (the commit before the push; forty zeros for a new branch,
  as the provider's payload says). Its initiator is the provider's hook agent, as AWS
  shows it: GitHub-Hookshot/<id> for GitHub, Bitbucket-Webhooks/2.0, GitLab/webhook.

Offline differences (docs say so for the learner):
- The local git host has no pull requests, releases or workflow jobs: PULL_REQUEST_*,
  RELEASED, PRERELEASED and WORKFLOW_JOB_QUEUED filter groups are accepted (AWS does) and
  never fire; only pushes of branches and tags do. Deleting a branch starts nothing.
- ACTOR_ACCOUNT_ID is the pushing AWS account's id (git authenticates with AWS credentials;
  there is no provider user id).
- A provider's repository is not regional: a push reaches the webhooks of every region of
  the pushing account.
- buildType BUILD_BATCH starts a batch (batches.start) of the pushed commit; each of its
  builds has the CODEBUILD_WEBHOOK_* variables. A project without buildBatchConfig starts
  none, and the webhook's statusMessage says why.
- scopeConfiguration (organization and global webhooks) and RUNNER_BUILDKITE_BUILD are
  refused: the local git host has no organizations and there is no Buildkite offline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass, field

from moto.core.base_backend import BackendDict, BaseBackend

from .. import serving
from ..core import LabHandlers, now
from . import batches, git_host_source, webhook_filters
from . import exceptions as err
from .models import Project, codebuild_lab_backends
from .source_credentials import source_credential_backends

log = logging.getLogger(__name__)

ZERO = "0" * 40
INITIATORS = {
    "GitHub": "GitHub-Hookshot/",
    "GitLab": "GitLab/webhook",
    "Bitbucket": "Bitbucket-Webhooks/2.0",
}


@dataclass
class Webhook:
    project: Project  # the project it was made for (a new one of that name has none)
    filter_groups: list[list[dict]]
    branch_filter: str | None
    build_type: str
    secret: str | None
    payload_url: str
    url: str | None
    manual_creation: bool
    pull_request_build_policy: dict | None
    last_modified_secret: dt.datetime = field(default_factory=now)
    status_message: str | None = None


class WebhookBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.webhooks: dict[str, Webhook] = {}  # by project name
        self.lock = threading.Lock()

    def projects(self) -> dict[str, Project]:
        return codebuild_lab_backends[self.account_id][self.region_name].projects

    def webhook_of(self, project: Project) -> Webhook | None:
        """The project's webhook; one made for a deleted project of the same name is gone."""
        webhook = self.webhooks.get(project.name)
        if webhook is not None and webhook.project is not project:
            with self.lock:
                if self.webhooks.get(project.name) is webhook:
                    del self.webhooks[project.name]
            return None
        return webhook

    def project(self, name: str) -> Project:
        project = self.projects().get(name)
        if project is None:
            raise err.ResourceNotFoundException(
                f"Project cannot be found: arn:aws:codebuild:{self.region_name}:"
                f"{self.account_id}:project/{name}"
            )
        return project

    def create_webhook(self, params: dict) -> Webhook:
        project = self.project(params["projectName"])
        source = project.settings["source"]
        source_type = source["type"]
        _check_source(source_type)
        manual = bool(params.get("manualCreation"))
        if manual and source_type != "GITHUB":
            raise _invalid("manualCreation is only available for GitHub webhooks")
        _check_settings(params, source_type)
        if not manual:
            self._check_credentials(source)
        provider, full_id = _repository(source)
        with self.lock:
            if self.webhook_of_locked(project) is not None:
                raise err.ResourceAlreadyExistsException(
                    f"Webhook already exists for project {project.name}"
                )
            webhook = Webhook(
                project=project,
                filter_groups=params.get("filterGroups") or [],
                branch_filter=params.get("branchFilter") or None,
                build_type=params.get("buildType") or "BUILD",
                secret=None if source_type == "BITBUCKET" else _new_secret(),
                payload_url=(
                    f"https://codebuild.{self.region_name}.amazonaws.com/webhooks?"
                    f"t={secrets.token_urlsafe(24)}&v=1"
                ),
                url=None if manual else _hook_url(source_type, source, provider, full_id),
                manual_creation=manual,
                pull_request_build_policy=params.get("pullRequestBuildPolicy"),
            )
            self.webhooks[project.name] = webhook
        return webhook

    def webhook_of_locked(self, project: Project) -> Webhook | None:
        webhook = self.webhooks.get(project.name)
        return webhook if webhook is not None and webhook.project is project else None

    def update_webhook(self, params: dict) -> Webhook:
        project = self.project(params["projectName"])
        webhook = self.webhook_of(project)
        if webhook is None:
            raise err.ResourceNotFoundException(
                f"Webhook does not exist for project {project.name}"
            )
        source_type = project.settings["source"]["type"]
        _check_settings(params, source_type)
        if "filterGroups" in params and params.get("branchFilter"):
            raise _invalid("use filterGroups or branchFilter, not both")
        with self.lock:
            if "filterGroups" in params:
                webhook.filter_groups = params["filterGroups"] or []
            if "branchFilter" in params:
                webhook.branch_filter = params["branchFilter"] or None
            if params.get("buildType"):
                webhook.build_type = params["buildType"]
            if params.get("pullRequestBuildPolicy") is not None:
                webhook.pull_request_build_policy = params["pullRequestBuildPolicy"]
            if params.get("rotateSecret") and webhook.secret is not None:
                webhook.secret = _new_secret()
                webhook.last_modified_secret = now()
            webhook.status_message = None
        return webhook

    def delete_webhook(self, name: str) -> None:
        project = self.project(name)
        webhook = self.webhook_of(project)
        if webhook is None:
            raise err.ResourceNotFoundException(f"Webhook does not exist for project {name}")
        with self.lock:
            self.webhooks.pop(project.name, None)

    def _check_credentials(self, source: dict) -> None:
        if (source.get("auth") or {}).get("type") in ("CODECONNECTIONS", "SECRETS_MANAGER"):
            return
        credentials = source_credential_backends[self.account_id][self.region_name]
        if credentials.credential_for(source["type"]) is None:
            raise err.OAuthProviderException(
                f"No access token found for {source['type']}: import one with "
                "ImportSourceCredentials (or give the project source an auth of type "
                "CODECONNECTIONS) before creating a webhook"
            )


def _invalid(message: str) -> err.InvalidInputException:
    return err.InvalidInputException(f"Invalid input: {message}")


def _check_source(source_type: str) -> None:
    if source_type not in git_host_source.PROVIDER_OF_SOURCE:
        raise _invalid(
            f"webhooks are not supported for source type {source_type}; the project source "
            "must be GITHUB, GITHUB_ENTERPRISE, GITLAB, GITLAB_SELF_MANAGED or BITBUCKET"
        )


def _check_settings(params: dict, source_type: str) -> None:
    if params.get("scopeConfiguration") is not None:
        raise _invalid(
            "organization and global webhooks (scopeConfiguration) need a GitHub "
            "organization or GitLab group; the lab kit's local git host has none"
        )
    if params.get("buildType") == "RUNNER_BUILDKITE_BUILD":
        raise _invalid("RUNNER_BUILDKITE_BUILD needs a Buildkite runner; there is none offline")
    if params.get("filterGroups") and params.get("branchFilter"):
        raise _invalid("use filterGroups or branchFilter, not both")
    if params.get("branchFilter"):
        webhook_filters.compile_pattern(params["branchFilter"], "branchFilter")
    webhook_filters.check_filter_groups(params.get("filterGroups") or [], source_type, False)


def _repository(source: dict) -> tuple[str, str]:
    try:
        return git_host_source.repository_of(source["type"], source.get("location") or "")
    except git_host_source.GitHostSourceError as error:
        raise _invalid(str(error)) from None


def _new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


def _hook_url(source_type: str, source: dict, provider: str, full_id: str) -> str:
    """Where the hook lives on the provider, as AWS's reply shows it."""
    hook_id = secrets.randbelow(10**9)
    if source_type == "GITHUB":
        return f"https://api.github.com/repos/{full_id}/hooks/{hook_id}"
    if source_type == "BITBUCKET":
        return f"https://api.bitbucket.org/2.0/repositories/{full_id}/hooks/{hook_id}"
    host = (source.get("location") or "").split("/")[2]
    if provider == "GitLab":
        owner, name = full_id.split("/")
        return f"https://{host}/api/v4/projects/{owner}%2F{name}/hooks/{hook_id}"
    return f"https://{host}/api/v3/repos/{full_id}/hooks/{hook_id}"


# -- replies ------------------------------------------------------------------------------


def webhook_reply(webhook: Webhook, with_secret: bool) -> dict:
    reply: dict = {
        "payloadUrl": webhook.payload_url,
        "filterGroups": webhook.filter_groups,
        "buildType": webhook.build_type,
        "lastModifiedSecret": webhook.last_modified_secret,
        "status": "ACTIVE",
    }
    if webhook.url:
        reply["url"] = webhook.url
    if webhook.branch_filter:
        reply["branchFilter"] = webhook.branch_filter
    if webhook.manual_creation:
        reply["manualCreation"] = True
    if webhook.pull_request_build_policy:
        reply["pullRequestBuildPolicy"] = webhook.pull_request_build_policy
    if with_secret and webhook.secret:
        reply["secret"] = webhook.secret
    if webhook.status_message:
        reply["statusMessage"] = webhook.status_message
    return reply


def project_webhook(project: Project) -> dict | None:
    """The webhook as BatchGetProjects shows it (without its secret), or None."""
    webhook = webhook_backends[project.account][project.region].webhook_of(project)
    return None if webhook is None else webhook_reply(webhook, with_secret=False)


def _backend(handler: LabHandlers) -> WebhookBackend:
    return webhook_backends[handler.current_account][handler.region]


class WebhookHandlers(LabHandlers):
    def create_webhook(self, params: dict) -> dict:
        return {"webhook": webhook_reply(_backend(self).create_webhook(params), True)}

    def update_webhook(self, params: dict) -> dict:
        webhook = _backend(self).update_webhook(params)
        return {"webhook": webhook_reply(webhook, bool(params.get("rotateSecret")))}

    def delete_webhook(self, params: dict) -> dict:
        _backend(self).delete_webhook(params["projectName"])
        return {}


webhook_backends = BackendDict(WebhookBackend, "codebuild")


# -- pushes ---------------------------------------------------------------------------


def on_push(
    account: str,
    region: str,
    provider_type: str,
    full_repository_id: str,
    ref: str,
    old: str | None,
    new: str | None,
) -> None:
    """The git host's push listener (connections.git_host.push_listeners): every webhook of
    the account whose project's source names the pushed repository."""
    if new is None or account not in webhook_backends:
        return
    if not ref.startswith(("refs/heads/", "refs/tags/")):
        return
    event: webhook_filters.WebhookEvent | None = None
    for backend in list(webhook_backends[account].values()):
        for webhook in list(backend.webhooks.values()):
            project = webhook.project
            if backend.projects().get(project.name) is not project:
                continue  # its project was deleted (the webhook went with it)
            if not git_host_source.same_repository(
                project.settings["source"], provider_type, full_repository_id
            ):
                continue
            if event is None:
                event = _push_event(account, provider_type, full_repository_id, ref, old, new)
            if _matches(webhook, event):
                _start(backend, webhook, event, provider_type, old, new)


def _push_event(
    account: str, provider: str, full_id: str, ref: str, old: str | None, new: str
) -> webhook_filters.WebhookEvent:
    from ..codecommit import gitstore
    from ..codepipeline.connection_push import Push, changed_files
    from ..connections import git_host

    push = Push(account, "", provider, full_id, ref, old, new)
    repo = git_host.open_repository(account, provider, full_id)
    message = ""
    if repo is not None:
        message = gitstore.commit(repo, new).message.decode(errors="replace")
    return webhook_filters.WebhookEvent(
        event="PUSH",
        head_ref=ref,
        actor_account_id=account,
        commit_message=message,
        changed_files=changed_files(push),
    )


def _matches(webhook: Webhook, event: webhook_filters.WebhookEvent) -> bool:
    matcher = webhook_filters.Matcher()
    try:
        if webhook.filter_groups:
            return matcher.filter_groups(webhook.filter_groups, event)
        if webhook.branch_filter:
            return matcher.branch_filter(webhook.branch_filter, event)
        return True
    except webhook_filters.PatternTimeout as timeout:
        webhook.status_message = (
            f"The filter pattern {timeout.pattern[:200]!r} took too long on a push to "
            f"{event.head_ref} and was treated as not matching (the lab kit bounds each "
            "match in time); no build was started"
        )
        log.warning("codebuild webhook of %s: %s", webhook.project.name, webhook.status_message)
        return False


def webhook_variables(
    event: webhook_filters.WebhookEvent, provider: str, old: str | None
) -> dict[str, str]:
    kind, _, name = event.head_ref[len("refs/") :].partition("/")
    return {
        "CODEBUILD_WEBHOOK_EVENT": event.event,
        "CODEBUILD_WEBHOOK_HEAD_REF": event.head_ref,
        "CODEBUILD_WEBHOOK_TRIGGER": f"{'branch' if kind == 'heads' else 'tag'}/{name}",
        "CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID": event.actor_account_id,
        "CODEBUILD_WEBHOOK_PREV_COMMIT": old or ZERO,
    }


def _initiator(webhook: Webhook, provider: str) -> str:
    prefix = INITIATORS[provider]
    if provider == "GitHub":
        return prefix + hashlib.sha256(webhook.payload_url.encode()).hexdigest()[:7]
    return prefix


def _start(
    backend: WebhookBackend,
    webhook: Webhook,
    event: webhook_filters.WebhookEvent,
    provider: str,
    old: str | None,
    new: str,
) -> None:
    variables = webhook_variables(event, provider, old)
    initiator = _initiator(webhook, provider)
    project = webhook.project
    if webhook.build_type == "BUILD_BATCH":
        _start_batch(backend, webhook, new, initiator, variables)
        return
    builds = codebuild_lab_backends[backend.account_id][backend.region_name]
    try:
        builds.start_build(
            {"projectName": project.name, "sourceVersion": new},
            initiator,
            serving.local_endpoint(),  # the build may call the server that started it
            webhook_variables=variables,
        )
    except err.InvalidInputException as error:  # the project changed since (no location...)
        webhook.status_message = f"The push to {event.head_ref} started no build: {error}"


def _start_batch(
    backend: WebhookBackend, webhook: Webhook, commit: str, initiator: str, variables: dict
) -> None:
    builds = codebuild_lab_backends[backend.account_id][backend.region_name]
    params = {"projectName": webhook.project.name, "sourceVersion": commit}
    try:
        batches.start(
            builds, params, initiator, serving.local_endpoint(), webhook_variables=variables
        )
    except err.InvalidInputException as error:  # no buildBatchConfig, the project changed...
        webhook.status_message = f"The push started no batch: {error}"


def install() -> None:
    from moto.codebuild.responses import CodeBuildResponse

    from ..connections import git_host
    from ..core import install_handlers
    from .source_credentials import SourceCredentialHandlers

    install_handlers("codebuild", CodeBuildResponse, SourceCredentialHandlers)
    install_handlers("codebuild", CodeBuildResponse, WebhookHandlers)
    if on_push not in git_host.push_listeners:
        git_host.push_listeners.append(on_push)
