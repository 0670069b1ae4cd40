"""CodeBuild webhooks and sources on the local git host: a GITHUB (GITLAB, BITBUCKET...)
project builds the local host's repository its location names; Create/Update/DeleteWebhook
with filter groups as github-webhook.md describes them; a push that matches a filter group
starts a build of the pushed commit with the CODEBUILD_WEBHOOK_* variables, one that does
not starts none; a hostile pattern cannot hang the server."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers
from helpers.emulator.codebuild import webhook_filters, webhooks
from helpers.emulator.codecommit import gitstore
from helpers.emulator.connections import git_host

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
PRINTS_WEBHOOK_VARIABLES = (
    "version: 0.2\nphases:\n  build:\n    commands:\n"
    "      - echo EVENT=$CODEBUILD_WEBHOOK_EVENT\n"
    "      - echo HEAD_REF=$CODEBUILD_WEBHOOK_HEAD_REF\n"
    "      - echo TRIGGER=$CODEBUILD_WEBHOOK_TRIGGER\n"
    "      - echo ACTOR=$CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID\n"
    "      - echo PREV=$CODEBUILD_WEBHOOK_PREV_COMMIT\n"
    "      - echo VERSION=$CODEBUILD_SOURCE_VERSION\n"
    "      - echo RESOLVED=$CODEBUILD_RESOLVED_SOURCE_VERSION\n"
    "      - echo INITIATOR=$CODEBUILD_INITIATOR\n"
    "      - cat app.txt\n"
)


@pytest.fixture
def cb(client):
    workers.set_synchronous(True)
    yield client("codebuild")
    workers.set_synchronous(None)


class Repository:
    """A repository of the local git host, written in-process (no git client)."""

    def __init__(self, provider: str = "GitHub") -> None:
        self.provider = provider
        self.full_id = f"octo/app-{uuid.uuid4().hex[:8]}"
        self.repo = git_host.create_repository(ACCOUNT, provider, self.full_id)

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main"):
        """(old, new) commit ids of the branch."""
        branches = gitstore.branches(self.repo)
        old = branches.get(branch)
        parent = old or branches.get("main")  # a new branch starts from main
        entries = gitstore.files(self.repo, parent)
        for path, content in files.items():
            sha = gitstore.write_blob(self.repo, content.encode())
            entries[path] = gitstore.FileEntry(path, 0o100644, sha)
        tree = gitstore.write_tree(self.repo, entries)
        new = gitstore.write_commit(
            self.repo, tree, [parent] if parent else [], message, "Learner", "l@example.com"
        )
        assert gitstore.move_branch(self.repo, branch, old, new)
        if old is None and branch == "main":
            gitstore.set_head(self.repo, "main")
        return old, new

    def push(self, ref: str, old: str | None, new: str | None) -> None:
        """What the git host tells its listeners after a push."""
        webhooks.on_push(ACCOUNT, REGION, self.provider, self.full_id, ref, old, new)


def make_project(cb, repository: Repository, name: str = "hooked", kind: str = "GITHUB", **source):
    host = {"GitHub": "github.com", "GitLab": "gitlab.com", "Bitbucket": "bitbucket.org"}
    location = f"https://{host[repository.provider]}/{repository.full_id}.git"
    return cb.create_project(
        name=name,
        source={"type": kind, "location": location, **source},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )["project"]


def github_token(cb, server_type: str = "GITHUB") -> None:
    auth = "BASIC_AUTH" if server_type == "BITBUCKET" else "PERSONAL_ACCESS_TOKEN"
    cb.import_source_credentials(serverType=server_type, authType=auth, token="t", username="u")


def builds_of(cb, project: str = "hooked") -> list[dict]:
    ids = cb.list_builds_for_project(projectName=project)["ids"]
    return cb.batch_get_builds(ids=ids)["builds"] if ids else []


def output(client, build: dict) -> list[str]:
    events = client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return [e["message"] for e in events if not e["message"].startswith("[Container]")]


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


# -- sources on the local git host ---------------------------------------------------


def test_github_project_builds_the_local_host_repository(client, cb):
    repository = Repository()
    _, first = repository.commit({"buildspec.yml": PRINTS_WEBHOOK_VARIABLES, "app.txt": "v1"})
    repository.repo.refs[b"refs/tags/v1"] = first.encode()
    _, second = repository.commit({"app.txt": "v2"})
    make_project(cb, repository)
    for version, commit, content in [
        (None, second, "v2"),
        ("main", second, "v2"),
        ("v1", first, "v1"),
        ("refs/tags/v1", first, "v1"),
        (first, first, "v1"),
        (f"refs/heads/main^{{{first}}}", first, "v1"),
    ]:
        params = {"sourceVersion": version} if version else {}
        build_id = cb.start_build(projectName="hooked", **params)["build"]["id"]
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        assert build["buildStatus"] == "SUCCEEDED", (version, build["phases"])
        assert build["resolvedSourceVersion"] == commit
        assert build["initiator"] != ""
        assert output(client, build)[-1] == content
        # A build started by hand has no webhook variables.
        assert "EVENT=" in output(client, build)


@pytest.mark.parametrize(
    "version, words",
    [("pr/1", "pull request"), ("nope", "not a branch, tag or commit"), ("refs/pull/1/head", "")],
)
def test_versions_that_cannot_be_built(cb, version, words):
    repository = Repository()
    repository.commit({"buildspec.yml": PRINTS_WEBHOOK_VARIABLES, "app.txt": "v1"})
    make_project(cb, repository)
    build_id = cb.start_build(projectName="hooked", sourceVersion=version)["build"]["id"]
    build = cb.batch_get_builds(ids=[build_id])["builds"][0]
    assert build["buildStatus"] == "FAILED"
    download = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
    assert download["contexts"][0]["statusCode"] == "CLIENT_ERROR"
    assert words in download["contexts"][0]["message"]


def test_location_forms_and_a_repository_never_pushed(cb):
    from helpers.emulator.codebuild import git_host_source as g

    assert g.repository_of("GITHUB", "https://github.com/octo/app") == ("GitHub", "octo/app")
    assert g.repository_of("GITLAB_SELF_MANAGED", "https://git.example.com/octo/app.git") == (
        "GitLab",
        "octo/app",
    )
    assert g.repository_of("BITBUCKET", "http://127.0.0.1:4566/bitbucket/octo/app.git") == (
        "Bitbucket",
        "octo/app",
    )
    for bad in ("octo/app", "https://gitlab.com/group/sub/app.git", "https://github.com/../x"):
        with pytest.raises(g.GitHostSourceError):
            g.repository_of("GITHUB", bad)
    cb.create_project(
        name="missing",
        source={"type": "GITHUB", "location": "https://github.com/octo/never-pushed"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    build_id = cb.start_build(projectName="missing")["build"]["id"]
    build = cb.batch_get_builds(ids=[build_id])["builds"][0]
    download = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
    assert "has not been pushed" in download["contexts"][0]["message"]


# -- the webhook API -------------------------------------------------------------------


def test_create_update_delete_webhook(cb):
    repository = Repository()
    make_project(cb, repository)
    code, message = error_of(cb.create_webhook, projectName="hooked")
    assert code == "OAuthProviderException"
    assert "ImportSourceCredentials" in message
    github_token(cb)
    groups = [
        [{"type": "EVENT", "pattern": "PUSH"}, {"type": "HEAD_REF", "pattern": "^refs/heads/main$"}]
    ]
    webhook = cb.create_webhook(projectName="hooked", filterGroups=groups)["webhook"]
    assert webhook["url"].startswith(f"https://api.github.com/repos/{repository.full_id}/hooks/")
    assert webhook["payloadUrl"].startswith("https://codebuild.us-east-1.amazonaws.com/webhooks?t=")
    assert len(webhook["secret"]) >= 32
    assert webhook["filterGroups"] == groups
    assert webhook["buildType"] == "BUILD"
    assert webhook["status"] == "ACTIVE"
    shown = cb.batch_get_projects(names=["hooked"])["projects"][0]["webhook"]
    assert "secret" not in shown
    assert shown["payloadUrl"] == webhook["payloadUrl"]
    code, _ = error_of(cb.create_webhook, projectName="hooked")
    assert code == "ResourceAlreadyExistsException"

    updated = cb.update_webhook(projectName="hooked", buildType="BUILD_BATCH")["webhook"]
    assert updated["buildType"] == "BUILD_BATCH" and "secret" not in updated
    assert updated["filterGroups"] == groups
    rotated = cb.update_webhook(projectName="hooked", rotateSecret=True)["webhook"]
    assert rotated["secret"] != webhook["secret"]
    assert rotated["lastModifiedSecret"] >= webhook["lastModifiedSecret"]

    cb.delete_webhook(projectName="hooked")
    assert "webhook" not in cb.batch_get_projects(names=["hooked"])["projects"][0]
    for call in (cb.delete_webhook, cb.update_webhook):
        assert error_of(call, projectName="hooked")[0] == "ResourceNotFoundException"
    assert error_of(cb.create_webhook, projectName="nope")[0] == "ResourceNotFoundException"


def test_webhook_goes_with_its_project(cb):
    repository = Repository()
    github_token(cb)
    make_project(cb, repository)
    cb.create_webhook(projectName="hooked")
    cb.delete_project(name="hooked")
    make_project(cb, repository)
    assert "webhook" not in cb.batch_get_projects(names=["hooked"])["projects"][0]
    cb.create_webhook(projectName="hooked")


def test_manual_creation_and_bitbucket_shapes(cb):
    repository = Repository()
    make_project(cb, repository)
    manual = cb.create_webhook(projectName="hooked", manualCreation=True)["webhook"]
    assert "url" not in manual and manual["secret"] and manual["manualCreation"] is True
    bitbucket = Repository("Bitbucket")
    make_project(cb, bitbucket, name="bb", kind="BITBUCKET")
    code, message = error_of(cb.create_webhook, projectName="bb", manualCreation=True)
    assert code == "InvalidInputException" and "GitHub" in message
    github_token(cb, "BITBUCKET")
    hook = cb.create_webhook(projectName="bb")["webhook"]
    assert "secret" not in hook
    assert hook["url"].startswith(f"https://api.bitbucket.org/2.0/repositories/{bitbucket.full_id}")


def test_connection_auth_needs_no_imported_credential(cb):
    repository = Repository()
    arn = "arn:aws:codeconnections:us-east-1:123456789012:connection/" + str(uuid.uuid4())
    make_project(cb, repository, auth={"type": "CODECONNECTIONS", "resource": arn})
    assert cb.create_webhook(projectName="hooked")["webhook"]["status"] == "ACTIVE"


def E(pattern: str) -> dict:
    return {"type": "EVENT", "pattern": pattern}


@pytest.mark.parametrize(
    "params, words",
    [
        ({"filterGroups": [[{"type": "HEAD_REF", "pattern": "x"}]]}, "exactly one EVENT"),
        ({"filterGroups": [[E("PUSH"), E("PUSH")]]}, "exactly one EVENT"),
        ({"filterGroups": [[E("PUSH, COMMIT")]]}, "not a webhook event type"),
        ({"filterGroups": [[E(" , ")]]}, "names no event"),
        (
            {"filterGroups": [[E("PUSH"), {"type": "BASE_REF", "pattern": "x"}]]},
            "PULL_REQUEST_CREATED",
        ),
        ({"filterGroups": [[E("PUSH"), {"type": "TAG_NAME", "pattern": "x"}]]}, "RELEASED"),
        ({"filterGroups": [[E("PUSH"), {"type": "FILE_PATH", "pattern": "(a"}]]}, "regular exp"),
        ({"filterGroups": [[E("PUSH"), {"type": "HEAD_REF", "pattern": ""}]]}, "empty"),
        ({"filterGroups": [[E("PUSH"), {"type": "HEAD_REF", "pattern": "a" * 1025}]]}, "1024"),
        (
            {"filterGroups": [[E("PUSH"), *[{"type": "HEAD_REF", "pattern": "a"}] * 2]]},
            "more than one HEAD_REF",
        ),
        ({"filterGroups": [[E("PUSH"), {"type": "REPOSITORY_NAME", "pattern": "a"}]]}, "global"),
        ({"filterGroups": [[E("PUSH")]] * 51}, "at most 50"),
        ({"filterGroups": [[E("PUSH")]], "branchFilter": "main"}, "not both"),
        ({"branchFilter": "(("}, "regular expression"),
        ({"branchFilter": "(?:a{65535}){65535}"}, "counted repetitions"),
        (
            {"filterGroups": [[E("PUSH"), {"type": "HEAD_REF", "pattern": "((a{100}){100}){2}"}]]},
            "counted repetitions",
        ),
        ({"buildType": "RUNNER_BUILDKITE_BUILD"}, "Buildkite"),
        ({"scopeConfiguration": {"name": "octo", "scope": "GITHUB_ORGANIZATION"}}, "organization"),
    ],
)
def test_invalid_webhooks_are_refused(cb, params, words):
    make_project(cb, Repository())
    github_token(cb)
    code, message = error_of(cb.create_webhook, projectName="hooked", **params)
    assert code == "InvalidInputException", message
    assert words in message
    assert "webhook" not in cb.batch_get_projects(names=["hooked"])["projects"][0]


def test_events_only_some_providers_have(cb):
    make_project(cb, Repository("Bitbucket"), kind="BITBUCKET")
    github_token(cb, "BITBUCKET")
    for event in ("PULL_REQUEST_REOPENED", "RELEASED", "WORKFLOW_JOB_QUEUED"):
        code, message = error_of(cb.create_webhook, projectName="hooked", filterGroups=[[E(event)]])
        assert code == "InvalidInputException" and "GITHUB" in message
    # Pull request groups are accepted, as on AWS (they never fire offline).
    groups = [
        [
            E("PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_MERGED"),
            {"type": "BASE_REF", "pattern": "^refs/heads/main$"},
            {"type": "ACTOR_ACCOUNT_ID", "pattern": "12345", "excludeMatchedPattern": True},
        ]
    ]
    hook = cb.create_webhook(projectName="hooked", filterGroups=groups)["webhook"]
    assert hook["filterGroups"] == groups


def test_a_codecommit_project_takes_no_webhook(cb):
    cb.create_project(
        name="cc",
        source={"type": "CODECOMMIT", "location": "https://git-codecommit/v1/repos/x"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    code, message = error_of(cb.create_webhook, projectName="cc")
    assert code == "InvalidInputException" and "CODECOMMIT" in message


# -- pushes ------------------------------------------------------------------------------


def hooked(cb, filter_groups=None, **params) -> Repository:
    repository = Repository()
    repository.commit({"buildspec.yml": PRINTS_WEBHOOK_VARIABLES, "app.txt": "v1"}, "first")
    make_project(cb, repository)
    github_token(cb)
    if filter_groups is not None:
        params["filterGroups"] = filter_groups
    cb.create_webhook(projectName="hooked", **params)
    return repository


def test_a_matching_push_builds_the_pushed_commit_with_the_webhook_variables(client, cb):
    repository = hooked(cb, [[E("PUSH"), {"type": "HEAD_REF", "pattern": "^refs/heads/main$"}]])
    old, new = repository.commit({"app.txt": "v2"}, "second")
    repository.push("refs/heads/main", old, new)
    (build,) = builds_of(cb)
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["sourceVersion"] == new == build["resolvedSourceVersion"]
    assert build["initiator"].startswith("GitHub-Hookshot/")
    lines = output(client, build)
    assert lines == [
        "EVENT=PUSH",
        "HEAD_REF=refs/heads/main",
        "TRIGGER=branch/main",
        f"ACTOR={ACCOUNT}",
        f"PREV={old}",
        f"VERSION={new}",
        f"RESOLVED={new}",
        f"INITIATOR={build['initiator']}",
        "v2",
    ]
    # A push to another branch does not match the group: no build.
    old, other = repository.commit({"app.txt": "v3"}, "feature work", branch="feature")
    repository.push("refs/heads/feature", old, other)
    assert len(builds_of(cb)) == 1


def test_new_branch_and_tag_pushes(client, cb):
    repository = hooked(cb)  # no filter group: every push builds
    _, tip = repository.commit({"app.txt": "f"}, "branch", branch="feature")
    repository.push("refs/heads/feature", None, tip)
    repository.push("refs/tags/v1", None, tip)
    repository.push("refs/heads/gone", tip, None)  # a deletion builds nothing
    builds = builds_of(cb)
    assert len(builds) == 2
    triggers = sorted(line for b in builds for line in output(client, b) if "TRIGGER" in line)
    assert triggers == ["TRIGGER=branch/feature", "TRIGGER=tag/v1"]
    assert all(f"PREV={'0' * 40}" in output(client, b) for b in builds)


@pytest.mark.parametrize(
    "group, files, message, builds",
    [
        ([{"type": "FILE_PATH", "pattern": "^src/"}], {"src/a.py": "x"}, "m", 1),
        ([{"type": "FILE_PATH", "pattern": "^src/"}], {"docs/a.md": "x"}, "m", 0),
        (
            [{"type": "FILE_PATH", "pattern": "^buildspec.yml$", "excludeMatchedPattern": True}],
            {"buildspec.yml": PRINTS_WEBHOOK_VARIABLES + "\n"},
            "m",
            0,
        ),
        (
            [{"type": "FILE_PATH", "pattern": "^buildspec.yml$", "excludeMatchedPattern": True}],
            {"app.txt": "v9"},
            "m",
            1,
        ),
        (
            [{"type": "COMMIT_MESSAGE", "pattern": r"\[CodeBuild\]"}],
            {"a": "x"},
            "fix [CodeBuild]",
            1,
        ),
        ([{"type": "COMMIT_MESSAGE", "pattern": r"\[CodeBuild\]"}], {"a": "x"}, "fix", 0),
        ([{"type": "ACTOR_ACCOUNT_ID", "pattern": f"^{ACCOUNT}$"}], {"a": "x"}, "m", 1),
        (
            [{"type": "ACTOR_ACCOUNT_ID", "pattern": ACCOUNT, "excludeMatchedPattern": True}],
            {"a": "x"},
            "m",
            0,
        ),
        (
            [{"type": "HEAD_REF", "pattern": "^refs/tags/", "excludeMatchedPattern": True}],
            {},
            "m",
            1,
        ),
    ],
)
def test_filters_decide_whether_a_push_builds(cb, group, files, message, builds):
    repository = hooked(cb, [[E("PUSH"), *group]])
    old, new = repository.commit(files, message)
    repository.push("refs/heads/main", old, new)
    assert len(builds_of(cb)) == builds


def test_any_group_may_match_and_pull_request_groups_never_fire(cb):
    groups = [
        [E("PULL_REQUEST_CREATED"), {"type": "HEAD_REF", "pattern": ".*"}],
        [E("PUSH"), {"type": "HEAD_REF", "pattern": "^refs/heads/release/"}],
        [E("PUSH"), {"type": "HEAD_REF", "pattern": "^refs/heads/main$"}],
    ]
    repository = hooked(cb, groups)
    repository.push("refs/heads/main", *repository.commit({"a": "1"}))
    repository.push("refs/heads/topic", *repository.commit({"a": "1"}, branch="topic"))
    assert len(builds_of(cb)) == 1


def test_branch_filter(cb):
    repository = hooked(cb, branchFilter="^rel")
    repository.push("refs/heads/main", *repository.commit({"a": "1"}))
    repository.push("refs/heads/release", *repository.commit({"a": "1"}, branch="release"))
    assert len(builds_of(cb)) == 1


def test_a_push_to_another_repository_or_provider_builds_nothing(cb):
    repository = hooked(cb)
    old, new = repository.commit({"a": "1"})
    webhooks.on_push(ACCOUNT, REGION, "GitLab", repository.full_id, "refs/heads/main", old, new)
    webhooks.on_push(ACCOUNT, REGION, "GitHub", "octo/other", "refs/heads/main", old, new)
    assert builds_of(cb) == []
    cb.delete_webhook(projectName="hooked")
    repository.push("refs/heads/main", old, new)
    assert builds_of(cb) == []


def test_a_hostile_pattern_cannot_hang_the_server(cb):
    repository = hooked(cb, [[E("PUSH"), {"type": "COMMIT_MESSAGE", "pattern": r"^(a|aa)+$"}]])
    old, new = repository.commit({"a": "1"}, "a" * 3000 + "!")
    started = time.monotonic()
    repository.push("refs/heads/main", old, new)
    assert time.monotonic() - started < webhook_filters.PUSH_BUDGET + 1
    assert builds_of(cb) == []
    hook = cb.batch_get_projects(names=["hooked"])["projects"][0]["webhook"]
    assert "took too long" in hook["statusMessage"]


def test_hostile_file_path_pattern_is_bounded_by_the_push_budget():
    matcher = webhook_filters.Matcher()
    event = webhook_filters.WebhookEvent(
        event="PUSH",
        head_ref="refs/heads/main",
        actor_account_id=ACCOUNT,
        commit_message="",
        changed_files=tuple("a" * 3000 + f"!{i}" for i in range(5000)),
    )
    started = time.monotonic()
    with pytest.raises(webhook_filters.PatternTimeout):
        matcher.filter_groups(
            [[E("PUSH"), {"type": "FILE_PATH", "pattern": r"^(\w+\s?)*$"}]], event
        )
    assert time.monotonic() - started < webhook_filters.PUSH_BUDGET + 1


BATCH_LIST = """version: 0.2
batch:
  build-list:
    - identifier: first
    - identifier: second
phases:
  build:
    commands:
      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $CODEBUILD_WEBHOOK_TRIGGER"
"""


def test_build_batch_webhook_starts_a_batch_of_the_pushed_commit(client, cb):
    repository = hooked(cb, buildType="BUILD_BATCH")
    cb.update_project(name="hooked", buildBatchConfig={"serviceRole": ROLE})
    old, new = repository.commit({"buildspec.yml": BATCH_LIST}, "batch it")
    repository.push("refs/heads/main", old, new)
    (batch_id,) = cb.list_build_batches_for_project(projectName="hooked")["ids"]
    deadline = time.monotonic() + 60
    while True:
        (batch,) = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"]
        if batch["buildBatchStatus"] != "IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert batch["buildBatchStatus"] == "SUCCEEDED", batch
    assert batch["resolvedSourceVersion"] == new
    assert batch["initiator"].startswith("GitHub-Hookshot/")
    builds = builds_of(cb)
    assert sorted(output(client, b)[0] for b in builds) == [
        "first branch/main",
        "second branch/main",
    ]


def test_build_batch_without_batch_config_starts_nothing_and_says_so(cb):
    repository = hooked(cb, buildType="BUILD_BATCH")
    repository.push("refs/heads/main", *repository.commit({"a": "1"}))
    assert builds_of(cb) == []
    assert cb.list_build_batches_for_project(projectName="hooked")["ids"] == []
    hook = cb.batch_get_projects(names=["hooked"])["projects"][0]["webhook"]
    assert hook["buildType"] == "BUILD_BATCH"
    assert "started no batch" in hook["statusMessage"]
    assert "buildBatchConfig" in hook["statusMessage"]


# -- end to end: git push over HTTP ------------------------------------------------------


def git(*args, cwd=None):
    return subprocess.run(
        ["git", "-c", "user.name=Learner", "-c", "user.email=l@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_git_push_to_the_local_host_starts_a_webhook_build(server_client, local_server, tmp_path):
    cb, logs = server_client("codebuild"), server_client("logs")
    suffix = uuid.uuid4().hex[:8]
    full_id, project = f"octo/web-{suffix}", f"web-{suffix}"
    url = git_host.clone_url(local_server.endpoint, "GitHub", full_id)
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "buildspec.yml").write_text(PRINTS_WEBHOOK_VARIABLES)
    (work / "app.txt").write_text("v1\n")
    git("add", ".", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("push", "-q", url, "main", cwd=work)
    cb.create_project(
        name=project,
        source={"type": "GITHUB", "location": f"https://github.com/{full_id}"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    cb.import_source_credentials(serverType="GITHUB", authType="PERSONAL_ACCESS_TOKEN", token="t")
    cb.create_webhook(
        projectName=project,
        filterGroups=[[E("PUSH"), {"type": "FILE_PATH", "pattern": r"^app\.txt$"}]],
    )
    (work / "README.md").write_text("docs\n")
    git("add", ".", cwd=work)
    git("commit", "-qm", "docs only", cwd=work)
    git("push", "-q", url, "main", cwd=work)
    (work / "app.txt").write_text("v2\n")
    git("commit", "-qam", "app change", cwd=work)
    git("push", "-q", url, "main", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    deadline = time.monotonic() + 60
    while True:
        ids = cb.list_builds_for_project(projectName=project)["ids"]
        build = cb.batch_get_builds(ids=ids)["builds"][0] if ids else None
        if (build and build["buildComplete"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(ids) == 1  # the docs-only push matched no filter group
    assert build is not None and build["buildStatus"] == "SUCCEEDED", build
    assert build["resolvedSourceVersion"] == commit
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    lines = [e["message"] for e in events]
    assert "EVENT=PUSH" in lines and "TRIGGER=branch/main" in lines and "v2" in lines
    cb.delete_project(name=project)
