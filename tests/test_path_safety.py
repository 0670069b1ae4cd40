"""Nothing leaves its folder (issue 11, point 5): hostile git trees, symlinks, buildspec paths,
identifiers and names never make the local AWS write outside a workspace or instance folder,
nor read a host file into an artifact.

Hostile trees are written with dulwich directly: git itself would not make entries named
'..', '.git' or 'a/b'.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from dulwich.objects import Blob, Tree

from helpers import settings
from helpers.emulator import safepaths
from helpers.emulator.codecommit import gitstore
from tests.deployments import appspec, make_zip
from tests.pipelines import source_action

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
BUILDSPEC = (
    "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n"
    "artifacts:\n  files:\n    - '**/*'\n"
)
FILE, EXECUTABLE, SYMLINK, FOLDER = 0o100644, 0o100755, 0o120000, 0o040000
PASSWD = Path("/etc/passwd").read_bytes()


# -- helpers ---------------------------------------------------------------------------


def listing(root: Path) -> set[Path]:
    """Every path below root (symlinked folders are listed, not entered)."""
    return set(root.rglob("*"))


def written_outside(before: set[Path], allowed: Path) -> list[Path]:
    """Paths new in the state folder since `before` that are neither below `allowed` nor
    one of its parent folders."""
    return sorted(
        path
        for path in listing(settings.state_dir()) - before
        if not path.is_relative_to(allowed) and not allowed.is_relative_to(path)
    )


def tree_of(store, entries: dict) -> bytes:
    """A tree from {name: bytes (a file) | ("link", target) | dict (a folder)}; any name."""
    tree = Tree()
    for name, value in entries.items():
        if isinstance(value, dict):
            tree.add(name.encode(), FOLDER, tree_of(store, value))
            continue
        mode, data = (SYMLINK, value[1].encode()) if isinstance(value, tuple) else (FILE, value)
        blob = Blob.from_string(data)
        store.add_object(blob)
        tree.add(name.encode(), mode, blob.id)
    store.add_object(tree)
    return tree.id


def push_tree(repository: str, entries: dict, branch: str = "main") -> str:
    """Commit a (hostile) tree on branch of a repository of the local CodeCommit."""
    from helpers.emulator.codecommit.models import codecommit_lab_backends

    backend = codecommit_lab_backends[ACCOUNT][REGION]
    repo = backend.get_repository(repository)
    git = repo.git()
    tip = gitstore.branches(git).get(branch)
    tree_id = tree_of(git.object_store, entries).decode()
    commit = gitstore.write_commit(git, tree_id, [tip] if tip else [], "hostile", "x", "x@y")
    assert gitstore.move_branch(git, branch, tip, commit)
    backend.branch_moved(repo, branch, tip, commit)
    return commit


def repository_url(cc, name: str) -> str:
    return cc.get_repository(repositoryName=name)["repositoryMetadata"]["cloneUrlHttp"]


def codecommit_project(
    cb, cc, name: str = "app", buildspec: str = BUILDSPEC, artifacts: dict | None = None, **extra
) -> None:
    cb.create_project(
        name="hostile",
        source={"type": "CODECOMMIT", "location": repository_url(cc, name), "buildspec": buildspec},
        artifacts=artifacts or {"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
        **extra,
    )


def build(cb, **params) -> dict:
    build_id = cb.start_build(projectName="hostile", **params)["build"]["id"]
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def workspace_of(build_info: dict) -> Path:
    from helpers.emulator.codebuild.models import codebuild_lab_backends

    return codebuild_lab_backends[ACCOUNT][REGION].builds[build_info["id"]].workspace


def phase(build_info: dict, name: str) -> dict:
    return next(p for p in build_info["phases"] if p["phaseType"] == name)


def assert_client_error(
    build_info: dict, phase_name: str = "DOWNLOAD_SOURCE", code: str = "CLIENT_ERROR"
) -> str:
    failed = phase(build_info, phase_name)
    assert build_info["buildStatus"] == "FAILED", build_info["phases"]
    assert failed["phaseStatus"] == "FAILED"
    assert failed["contexts"][0]["statusCode"] == code
    return failed["contexts"][0]["message"]


def every_object(s3) -> list[tuple[str, str, bytes]]:
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
            found.append((bucket["Name"], item["Key"], body))
    return found


def contents(data: bytes) -> list[bytes]:
    """The object itself and, for a zip, each member's bytes."""
    found = [data]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            found += [archive.read(info) for info in archive.infolist()]
    except zipfile.BadZipFile:
        pass
    return found


def assert_no_object_holds(s3, secret: bytes) -> None:
    for bucket, key, body in every_object(s3):
        assert not any(secret in part for part in contents(body)), f"s3://{bucket}/{key}"


# -- the checks themselves ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        ".git",
        ".GIT",
        ".Git ",
        ".git.",
        ".git . ",
        "git~1",
        "GIT~1",
        ".g\u200cit",
        ".git::$INDEX_ALLOCATION",
    ],
)
def test_entry_names_git_refuses_are_refused(name):
    with pytest.raises(safepaths.UnsafePath) as caught:
        safepaths.check_entry_name(name.encode(), f"top/{name}")
    assert caught.value.path == f"top/{name}"


@pytest.mark.parametrize(
    "target, links, escapes",
    [
        ("/etc/passwd", {}, True),
        ("../../x", {}, True),
        ("../x", {}, False),  # the link is in sub/: ../x is the tree's x
        ("up/../../x", {("sub", "up"): ".."}, True),  # physically: sub/.. then .. again
        ("loop", {("sub", "loop"): "loop"}, True),
        ("same/x", {("sub", "same"): "."}, False),
    ],
)
def test_link_escapes_follows_the_trees_own_links(target, links, escapes):
    assert safepaths.link_escapes(target, ["sub", "link"], links) is escapes


def test_component_is_one_to_one_and_never_a_path():
    names = [".", "..", "%2E", "a/b", "a%2Fb", "%", "plain-name_1.0@x", "../../x"]
    folders = [safepaths.component(name) for name in names]
    assert len(set(folders)) == len(names)
    assert all(folder not in (".", "..") and "/" not in folder for folder in folders)
    assert safepaths.component("plain-name_1.0@x") == "plain-name_1.0@x"
    with pytest.raises(safepaths.UnsafePath):
        safepaths.account_id("../../x")
    with pytest.raises(safepaths.UnsafePath):
        safepaths.region("us-east-1/..")


# -- CodeBuild: DOWNLOAD_SOURCE of a hostile repository ------------------------------------


def nested_up(depth: int, leaf: dict) -> dict:
    """{'..': {'..': ... leaf}}: a path that climbs depth folders."""
    for _ in range(depth):
        leaf = {"..": leaf}
    return leaf


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(lambda host: nested_up(3, {"escaped.txt": b"x"}), id="dotdot-subtrees"),
        pytest.param(
            lambda host: {"link": ("link", str(host)), "link/planted.txt": b"x"},
            id="symlink-to-host-folder-plus-file-under-it",
        ),
        pytest.param(lambda host: {str(host / "planted.txt"): b"x"}, id="absolute-name"),
        pytest.param(lambda host: {"a": {"../../../../escaped.txt": b"x"}}, id="name-with-slashes"),
        pytest.param(lambda host: {"out": ("link", "../../../..")}, id="symlink-out"),
    ],
)
def test_hostile_tree_fails_download_source_and_writes_nothing_outside(
    client, synchronous, tmp_path, hostile
):
    host = tmp_path / "host"
    host.mkdir()
    cc, cb = client("codecommit"), client("codebuild")
    cc.create_repository(repositoryName="app")
    cc.put_file(repositoryName="app", branchName="main", filePath="readme.txt", fileContent=b"fine")
    push_tree("app", {"buildspec.yml": BUILDSPEC.encode(), **hostile(host)})
    codecommit_project(cb, cc, buildspec="")
    before = listing(settings.state_dir())

    info = build(cb)

    message = assert_client_error(info)
    assert "unsafe path" in message
    assert written_outside(before, workspace_of(info)) == []
    assert list(host.iterdir()) == []


@pytest.mark.parametrize("name", [".git", ".GIT", "git~1", ".git ", "a\\b", "."])
def test_git_folder_and_odd_names_fail_the_checkout(client, synchronous, name):
    cc, cb = client("codecommit"), client("codebuild")
    cc.create_repository(repositoryName="app")
    cc.put_file(repositoryName="app", branchName="main", filePath="readme.txt", fileContent=b"fine")
    push_tree("app", {"buildspec.yml": BUILDSPEC.encode(), name: {"hooks": b"#!/bin/sh\n"}})
    codecommit_project(cb, cc, buildspec="")
    message = assert_client_error(build(cb))
    assert f"unsafe path {name!r}" in message


def test_put_file_symlink_to_etc_passwd_never_reaches_an_artifact(client, synchronous):
    cc, cb, s3 = client("codecommit"), client("codebuild"), client("s3")
    s3.create_bucket(Bucket="out")
    cc.create_repository(repositoryName="app")
    commit = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="buildspec.yml",
        fileContent=BUILDSPEC.encode(),
    )["commitId"]
    cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="passwd",
        fileContent=b"/etc/passwd",
        fileMode="SYMLINK",
        parentCommitId=commit,
    )
    codecommit_project(
        cb,
        cc,
        buildspec="",
        artifacts={"type": "S3", "location": "out", "packaging": "ZIP", "name": "app.zip"},
    )
    message = assert_client_error(build(cb))
    assert "passwd" in message
    assert_no_object_holds(s3, PASSWD)


def test_symlinks_inside_the_repository_stay_links(client, synchronous):
    cc, cb = client("codecommit"), client("codebuild")
    cc.create_repository(repositoryName="app")
    cc.put_file(repositoryName="app", branchName="main", filePath="readme.txt", fileContent=b"fine")
    push_tree(
        "app",
        {
            "buildspec.yml": BUILDSPEC.encode(),
            "releases": {"v1": {"index.html": b"v1"}},
            "current": ("link", "releases/v1"),
            "releases/../escape": b"x",
        },
    )
    codecommit_project(cb, cc, buildspec="")
    assert "releases/../escape" in assert_client_error(build(cb))
    # Without the bad entry, the link is written as a link and the build reads through it.
    push_tree(
        "app",
        {
            "buildspec.yml": BUILDSPEC.replace(
                "echo built", "test -L current && cat current/index.html"
            ).encode(),
            "releases": {"v1": {"index.html": b"v1"}},
            "current": ("link", "releases/v1"),
        },
    )
    info = build(cb)
    assert info["buildStatus"] == "SUCCEEDED", info["phases"]
    assert (workspace_of(info) / "src" / "current").is_symlink()


# -- CodeBuild: artifacts, buildspec paths, secondary sources --------------------------------


def no_source_project(cb, buildspec: str, **extra) -> None:
    cb.create_project(
        name="hostile",
        source={"type": "NO_SOURCE", "buildspec": buildspec},
        artifacts={"type": "S3", "location": "out", "packaging": "ZIP", "name": "app.zip"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
        **extra,
    )


@pytest.mark.parametrize(
    "artifacts",
    [
        "artifacts:\n  base-directory: ../..\n  files:\n    - '**/*'\n",
        "artifacts:\n  files:\n    - '../../**/*'\n",
        "artifacts:\n  discard-paths: yes\n  files:\n    - ../*.txt\n",
    ],
)
def test_buildspec_artifact_paths_cannot_leave_the_source_folder(client, synchronous, artifacts):
    s3, cb = client("s3"), client("codebuild")
    s3.create_bucket(Bucket="out")
    no_source_project(
        cb,
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        "      - echo other-workspace > ../marker.txt\n" + artifacts,
    )
    info = build(cb)
    assert info["buildStatus"] == "FAILED", info["phases"]
    assert every_object(s3) == []


@pytest.mark.parametrize(
    "command, pattern",
    [
        ("ln -s /etc/passwd leak", "'**/*'"),
        ("ln -s /etc hostetc", "hostetc/*"),
        ("mkdir out && ln -s /etc/passwd out/leak", "'**/*'\n  base-directory: out"),
    ],
)
def test_artifacts_never_follow_a_symlink_out_of_the_source_folder(
    client, synchronous, command, pattern
):
    s3, cb = client("s3"), client("codebuild")
    s3.create_bucket(Bucket="out")
    no_source_project(
        cb,
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - echo ok > ok.txt\n      - {command}\n"
        f"artifacts:\n  files:\n    - {pattern}\n",
    )
    message = assert_client_error(build(cb), "UPLOAD_ARTIFACTS")
    assert "outside the source folder" in message
    assert_no_object_holds(s3, PASSWD)


def test_reports_do_not_read_files_outside_the_source_folder(client, synchronous, tmp_path):
    (tmp_path / "report.xml").write_text(
        '<testsuite name="host"><testcase name="leaked" classname="x"/></testsuite>'
    )
    cb = client("codebuild")
    cb.create_project(
        name="hostile",
        source={
            "type": "NO_SOURCE",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n"
            f"      - ln -s {tmp_path} host\n"
            "reports:\n  hostile-tests:\n    files:\n      - 'host/*.xml'\n",
        },
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    info = build(cb)
    for arn in info.get("reportArns", []):
        cases = cb.describe_test_cases(reportArn=arn)["testCases"]
        assert all(case["name"] != "leaked" for case in cases)
    assert info.get("reportArns", []) == []


@pytest.mark.parametrize("relative", [False, True])
def test_buildspec_file_outside_the_source_folder_fails_the_build(
    client, synchronous, tmp_path, relative
):
    evil = tmp_path / "evil.yml"
    evil.write_text("version: 0.2\nphases:\n  build:\n    commands:\n      - echo PWNED\n")
    cb = client("codebuild")
    cb.create_project(
        name="hostile",
        source={"type": "NO_SOURCE", "buildspec": "x.yml"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    path = "../" * 40 + str(evil).lstrip("/") if relative else str(evil)
    message = assert_client_error(build(cb, buildspecOverride=path), code="YAML_FILE_ERROR")
    assert "outside the source folder" in message


def test_secondary_source_identifier_cannot_name_a_folder_outside(client, synchronous):
    s3, cb = client("s3"), client("codebuild")
    s3.create_bucket(Bucket="lab-in")
    s3.put_object(Bucket="lab-in", Key="extra.zip", Body=make_zip({"planted.txt": "x"}))
    cb.create_project(
        name="hostile",
        source={"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        secondarySources=[
            {
                "type": "S3",
                "location": "lab-in/extra.zip",
                "sourceIdentifier": "../../../../escaped",
            }
        ],
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    before = listing(settings.state_dir())
    info = build(cb)
    assert "source identifier" in assert_client_error(info)
    assert written_outside(before, workspace_of(info)) == []


def test_zip_source_with_escaping_entries_fails(client, synchronous, tmp_path):
    s3, cb = client("s3"), client("codebuild")
    s3.create_bucket(Bucket="lab-in")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("buildspec.yml", BUILDSPEC)
        link = zipfile.ZipInfo("host")
        link.create_system = 3
        link.external_attr = (0o120777) << 16
        archive.writestr(link, str(tmp_path))
        archive.writestr("../../../../escaped.txt", "x")
    s3.put_object(Bucket="lab-in", Key="src.zip", Body=buffer.getvalue())
    cb.create_project(
        name="hostile",
        source={"type": "S3", "location": "lab-in/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    before = listing(settings.state_dir())
    info = build(cb)
    assert_client_error(info)
    assert written_outside(before, workspace_of(info)) == []


# -- CodeCommit API paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [".GIT/config", "a/.git/hooks/x", "a/.git./x", "a\\..\\b", "docs/git~1/x"]
)
def test_put_file_refuses_git_folders_and_backslashes(client, path):
    cc = client("codecommit")
    cc.create_repository(repositoryName="app")
    with pytest.raises(cc.exceptions.InvalidPathException):
        cc.put_file(repositoryName="app", branchName="main", filePath=path, fileContent=b"x")


def test_account_header_never_becomes_a_folder(client):
    emulator = settings.emulator_dir()
    before = listing(settings.state_dir())
    cc = boto3.client("codecommit", region_name=REGION, config=Config(retries={"max_attempts": 1}))
    cc.meta.events.register(
        "before-sign.*.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", "../../escaped"),
    )
    with pytest.raises(ClientError):
        cc.create_repository(repositoryName="app")
    assert written_outside(before, emulator / "codecommit" / ACCOUNT) == []


# -- CodePipeline ------------------------------------------------------------------------------


def test_pipeline_source_refuses_a_symlink_to_a_host_file(lab):
    commit = lab.cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"]
    lab.cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="passwd",
        fileContent=b"/etc/passwd",
        fileMode="SYMLINK",
        parentCommitId=commit,
        commitMessage="a link to a host file",
    )
    execution_id = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Wait",
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                    }
                ],
            },
        ]
    )
    assert lab.execution(execution_id)["status"] == "Failed"
    error = lab.action_state("Source", "Source")["latestExecution"]["errorDetails"]
    assert "passwd" in error["message"] and "leaves" in error["message"]
    assert_no_object_holds(lab.s3, PASSWD)


def test_pipeline_source_keeps_inside_symlinks_as_links(lab):
    commit = lab.cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"]
    lab.cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="alias.txt",
        fileContent=b"message.txt",
        fileMode="SYMLINK",
        parentCommitId=commit,
        commitMessage="an alias",
    )
    lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Wait",
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                    }
                ],
            },
        ]
    )
    [(_, _, body)] = every_object(lab.s3)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        info = archive.getinfo("alias.txt")
        assert (info.external_attr >> 16) & 0o170000 == 0o120000
        assert archive.read(info) == b"message.txt"


@pytest.mark.parametrize("name", ["..", "."])
def test_pipeline_named_dots_has_its_own_folder(lab, name):
    from helpers.emulator.codepipeline.models import codepipeline_lab_backends

    stages = [
        {"name": "Source", "actions": [source_action()]},
        {
            "name": "Wait",
            "actions": [
                {
                    "name": "Approve",
                    "actionTypeId": {
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                    },
                }
            ],
        },
    ]
    lab.create(stages=stages)  # lab-pipeline: the neighbour whose files must survive
    execution_id = lab.create(name=name, stages=stages)
    assert lab.wait(execution_id, name, until=("InProgress",))["status"] == "InProgress"
    backend = codepipeline_lab_backends[ACCOUNT][REGION]
    neighbour = backend.pipelines["lab-pipeline"].workspace
    neighbour.mkdir(parents=True, exist_ok=True)
    (neighbour / "keep.txt").write_text("mine")
    beside = neighbour.parent / "beside.txt"
    beside.write_text("not a pipeline's")
    workspace = backend.pipelines[name].workspace

    lab.cp.delete_pipeline(name=name)

    assert (neighbour / "keep.txt").read_text() == "mine"
    assert beside.read_text() == "not a pipeline's"
    assert lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]["name"] == "lab-pipeline"
    assert workspace.parent == neighbour.parent and workspace.name not in (".", "..")


# -- CodeDeploy --------------------------------------------------------------------------------


def test_on_premises_instance_name_cannot_leave_the_instances_folder(deploy_lab):
    from helpers import codedeploy as cd_helpers
    from helpers.emulator.codedeploy import targets

    name = "../../../../escaped-instance"
    deploy_lab.deploy.register_on_premises_instance(
        instanceName=name, iamUserArn="arn:aws:iam::123456789012:user/onprem"
    )
    deploy_lab.deploy.add_tags_to_on_premises_instances(
        instanceNames=[name], tags=[{"Key": "Env", "Value": "lab"}]
    )
    deploy_lab.create_group(
        ec2TagFilters=[],
        onPremisesInstanceTagFilters=[{"Key": "Env", "Value": "lab", "Type": "KEY_AND_VALUE"}],
    )
    instances = targets.region_state_dir(ACCOUNT, REGION) / "instances"
    before = listing(settings.state_dir())
    info = deploy_lab.run(
        make_zip({"appspec.yml": appspec(), "site/index.html": "<h1>on-prem</h1>"})
    )
    assert info["status"] == "Succeeded", info
    assert written_outside(before, instances) == []
    root = cd_helpers.instance_root(name)
    assert root.parent == instances
    assert (root / "var/www/html/index.html").read_text() == "<h1>on-prem</h1>"


def hook_bundle(hook: str, **extra: str) -> bytes:
    return make_zip(
        {
            "appspec.yml": appspec(
                {"BeforeInstall": "scripts/hook.sh"}, extra=extra.get("appspec_extra", "")
            ),
            "site/index.html": "<h1>v1</h1>",
            "scripts/hook.sh": hook,
        }
    )


def test_install_never_copies_through_a_symlink_out_of_the_instance(deploy_lab, tmp_path):
    [instance] = deploy_lab.instances(1)
    deploy_lab.create_group()
    host = tmp_path / "host"
    host.mkdir()
    hook = (
        f'#!/bin/sh\nmkdir -p "$LAB_INSTANCE_ROOT/var"\nln -s {host} "$LAB_INSTANCE_ROOT/var/www"\n'
    )
    info = deploy_lab.run(hook_bundle(hook))
    assert info["status"] == "Failed"
    install = deploy_lab.events(info["deploymentId"], instance)["Install"]
    assert install["status"] == "Failed"
    assert "symbolic link" in install["diagnostics"]["message"]
    assert list(host.iterdir()) == []


def test_permissions_never_change_a_file_outside_the_instance(deploy_lab, tmp_path):
    [instance] = deploy_lab.instances(1)
    deploy_lab.create_group()
    secret = tmp_path / "secret.txt"
    secret.write_text("host")
    secret.chmod(0o600)
    hook = (
        f'#!/bin/sh\nmkdir -p "$LAB_INSTANCE_ROOT/var/www/html"\n'
        f'ln -s {secret} "$LAB_INSTANCE_ROOT/var/www/html/leak"\n'
    )
    extra = "permissions:\n  - object: /var/www/html\n    mode: 777\n    type:\n      - file\n"
    info = deploy_lab.run(hook_bundle(hook, appspec_extra=extra))
    assert info["status"] == "Succeeded", info
    assert secret.stat().st_mode & 0o777 == 0o600


def test_the_agent_never_writes_its_records_through_a_planted_symlink(deploy_lab, tmp_path):
    [instance] = deploy_lab.instances(1)
    deploy_lab.create_group()
    secret = tmp_path / "secret.txt"
    secret.write_text("host")
    records = "$LAB_INSTANCE_ROOT/opt/codedeploy-agent/deployment-root/deployment-instructions"
    hook = (
        f'#!/bin/sh\nln -s {secret} "{records}/${{DEPLOYMENT_GROUP_ID}}-cleanup"\n'
        f'ln -s {secret} "{records}/${{DEPLOYMENT_GROUP_ID}}_last_successful_install"\n'
    )
    info = deploy_lab.run(hook_bundle(hook))
    assert info["status"] == "Succeeded", info
    assert secret.read_text() == "host"


def test_lab_helper_finds_an_instance_by_name_without_globbing(deploy_lab):
    from helpers import codedeploy as cd_helpers

    assert cd_helpers.instance_root("[*]").name == safepaths.component("[*]")
    assert cd_helpers.instance_root("../x").parent.name == "instances"
    assert os.sep not in cd_helpers.instance_root("../x").name
