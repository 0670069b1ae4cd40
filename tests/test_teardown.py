"""teardown.py: the plan, deleting exactly the kit's resources, confirmation, exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from helpers import settings
from helpers import teardown as td

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("teardown_cli", ROOT / "teardown.py")
teardown_cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(teardown_cli)

PREFIX = "labtest"


@pytest.fixture
def server_env(local_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_server.endpoint)
    monkeypatch.setenv("LAB_PREFIX", PREFIX)
    monkeypatch.delenv("LAB_MODE", raising=False)
    return local_server


def tags_for(owner: str) -> dict[str, str]:
    return {settings.KIT_TAG_KEY: settings.KIT_TAG_VALUE, settings.OWNER_TAG_KEY: owner}


def make_resources(server_client, run: str):
    """The kit's own resources, and foreign ones that must survive."""
    cc = server_client("codecommit")
    iam = server_client("iam")
    s3 = server_client("s3")
    ours = {f"{PREFIX}-{run}-repo", f"{PREFIX}-{run}-bucket", f"{PREFIX}-{run}-role"}
    cc.create_repository(repositoryName=f"{PREFIX}-{run}-repo", tags=tags_for(PREFIX))
    cc.create_repository(repositoryName=f"{PREFIX}-{run}-untagged")  # similar name, no tags
    cc.create_repository(repositoryName=f"other-{run}-repo", tags=tags_for("other"))
    s3.create_bucket(Bucket=f"{PREFIX}-{run}-bucket")
    s3.put_bucket_versioning(
        Bucket=f"{PREFIX}-{run}-bucket", VersioningConfiguration={"Status": "Enabled"}
    )
    s3.put_object(Bucket=f"{PREFIX}-{run}-bucket", Key="a", Body=b"1")
    s3.put_object(Bucket=f"{PREFIX}-{run}-bucket", Key="a", Body=b"2")
    s3.put_bucket_tagging(
        Bucket=f"{PREFIX}-{run}-bucket",
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags_for(PREFIX).items()]},
    )
    s3.create_bucket(Bucket=f"foreign-{run}-bucket")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "codebuild.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    iam.create_role(
        RoleName=f"{PREFIX}-{run}-role",
        AssumeRolePolicyDocument=trust,
        Tags=[{"Key": k, "Value": v} for k, v in tags_for(PREFIX).items()],
    )
    iam.put_role_policy(
        RoleName=f"{PREFIX}-{run}-role",
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    iam.create_role(RoleName=f"foreign-{run}-role", AssumeRolePolicyDocument=trust)
    return ours


def names_left(server_client, run: str) -> set[str]:
    repos = {
        r["repositoryName"] for r in server_client("codecommit").list_repositories()["repositories"]
    }
    buckets = {b["Name"] for b in server_client("s3").list_buckets()["Buckets"]}
    roles = {r["RoleName"] for r in server_client("iam").list_roles()["Roles"]}
    return {n for n in repos | buckets | roles if run in n}


@pytest.mark.slow
def test_dry_run_then_delete_exactly_the_kits(server_env, server_client, capsys):
    ours = make_resources(server_client, "r1")
    before = names_left(server_client, "r1")

    assert teardown_cli.main([]) == 1  # dry run: something of the kit's is there
    plan = capsys.readouterr().out
    assert f"{PREFIX}-r1-repo" in plan and "dry run" in plan
    assert "other-r1-repo" not in plan and "untagged" not in plan
    assert names_left(server_client, "r1") == before  # nothing deleted

    assert teardown_cli.main(["--yes"]) == 0
    assert names_left(server_client, "r1") == before - ours
    assert teardown_cli.main(["--yes"]) == 0  # twice is harmless
    assert "Nothing of the kit's" in capsys.readouterr().out


@pytest.mark.slow
def test_all_learners_and_json(server_env, server_client, capsys):
    make_resources(server_client, "r2")
    assert teardown_cli.main(["--all-learners", "--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in plan["plan"]}
    assert {f"{PREFIX}-r2-repo", "other-r2-repo"} <= names
    assert f"{PREFIX}-r2-untagged" not in names and "foreign-r2-bucket" not in names
    assert plan["dry_run"] is True
    assert teardown_cli.main(["--all-learners", "--yes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["left"] == [] and result["failed"] == []
    assert names_left(server_client, "r2") == {
        f"{PREFIX}-r2-untagged",
        "foreign-r2-bucket",
        "foreign-r2-role",
    }


@pytest.mark.slow
def test_failed_delete_is_reported_and_the_rest_go_on(
    server_env, server_client, monkeypatch, capsys
):
    make_resources(server_client, "r3")
    from helpers import teardown as td

    original = td.delete_all

    def sabotage(resources, progress, **kwargs):
        for resource in resources:
            if resource.service == "codecommit":

                def fail():
                    raise RuntimeError("injected failure")

                resource.delete = fail
        return original(resources, progress, pause=0)

    monkeypatch.setattr(td, "delete_all", sabotage)
    assert teardown_cli.main(["--yes"]) == 1
    out = capsys.readouterr().out
    assert "FAILED codecommit repository labtest-r3-repo" in out
    assert names_left(server_client, "r3") == {
        f"{PREFIX}-r3-repo",
        f"{PREFIX}-r3-untagged",
        "other-r3-repo",
        "foreign-r3-bucket",
        "foreign-r3-role",
    }


def test_no_server_running_says_so(monkeypatch, capsys):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("LAB_MODE", raising=False)
    assert teardown_cli.main([]) in (0, 1)
    assert "No local AWS server is running" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    assert teardown_cli.main(["--older-than", "soon"]) == 2


def stubbed(account: str):
    sts = boto3.client("sts", region_name="us-east-1")
    iam = boto3.client("iam", region_name="us-east-1")
    sts_stub, iam_stub = Stubber(sts), Stubber(iam)
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": account, "Arn": f"arn:aws:iam::{account}:user/learner", "UserId": "AIDA"},
    )
    iam_stub.add_response(
        "list_account_aliases", {"AccountAliases": ["school"], "IsTruncated": False}
    )
    sts_stub.activate()
    iam_stub.activate()
    return lambda service, region: {"sts": sts, "iam": iam}[service]


def args(**kw):
    return argparse.Namespace(**{"yes": True, "account_id": None, **kw})


def test_aws_mode_refuses_without_matching_account_id(capsys):
    out = teardown_cli.Reporter(False)
    assert (
        teardown_cli.confirm_account(
            stubbed("111122223333"), ["us-east-1"], args(account_id="999999999999"), out
        )
        is None
    )
    assert "Refused" in capsys.readouterr().out
    # No terminal and no --account-id: refused too.
    assert teardown_cli.confirm_account(stubbed("111122223333"), ["us-east-1"], args(), out) is None
    assert (
        teardown_cli.confirm_account(
            stubbed("111122223333"), ["us-east-1"], args(account_id="111122223333"), out
        )
        == "111122223333"
    )


def fault_injector(throttle_every: int, always_fail: str):
    """A botocore before-call handler: every Nth delete call is throttled, and deleting
    `always_fail` always fails (an error AWS would not retry)."""
    from botocore.awsrequest import AWSResponse

    calls = {"n": 0}

    def before_call(model, params, **_):
        if not model.name.startswith("Delete"):
            return None
        if always_fail in json.dumps(params, default=str):
            return (
                AWSResponse("", 400, {}, None),
                {"Error": {"Code": "AccessDenied", "Message": "injected: not allowed"}},
            )
        calls["n"] += 1
        if calls["n"] % throttle_every == 1:
            return (
                AWSResponse("", 400, {}, None),
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            )
        return None

    def hook(client):
        client.meta.events.register("before-call.*.*", before_call)

    return hook, calls


@pytest.mark.slow
def test_throttling_is_retried_and_a_permanent_failure_is_reported(
    server_env, server_client, monkeypatch, capsys
):
    from helpers import teardown as td

    make_resources(server_client, "r4")
    hook, calls = fault_injector(throttle_every=2, always_fail=f"{PREFIX}-r4-bucket")
    cached_clients = td.cached_clients

    def hooked_clients(client_for):  # every client teardown makes carries the faults
        return cached_clients(lambda service, region: hooked(client_for(service, region)))

    def hooked(client):
        hook(client)
        return client

    monkeypatch.setattr(td, "cached_clients", hooked_clients)
    assert teardown_cli.main(["--yes"]) == 1
    out = capsys.readouterr().out
    assert calls["n"] >= 2  # throttled calls happened and were retried
    assert f"FAILED s3 bucket (every object version first) {PREFIX}-r4-bucket" in out
    assert "Still there:" in out
    # Everything else of the kit's went; foreign resources stayed.
    assert names_left(server_client, "r4") == {
        f"{PREFIX}-r4-bucket",
        f"{PREFIX}-r4-untagged",
        "other-r4-repo",
        "foreign-r4-bucket",
        "foreign-r4-role",
    }
    monkeypatch.setattr(td, "cached_clients", cached_clients)
    assert teardown_cli.main(["--yes"]) == 0


@pytest.mark.slow
def test_untaggable_types_go_only_when_the_kit_recorded_them(server_env, server_client, capsys):
    """Deployment configs take no tags, nor do the log groups CodeBuild makes: the kit's
    record (and its tagged projects) decide; similar names not made by the kit stay."""
    from helpers import created

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    created.watch(session, PREFIX)
    ours = session.client("codedeploy", endpoint_url=server_env.endpoint)
    ours.create_deployment_config(
        deploymentConfigName=f"{PREFIX}-r5-config",
        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1},
    )
    codedeploy = server_client("codedeploy")
    codedeploy.create_deployment_config(
        deploymentConfigName=f"{PREFIX}-r5-similar",
        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1},
    )
    session.client("codebuild", endpoint_url=server_env.endpoint).create_project(
        name=f"{PREFIX}-r5-build",
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        artifacts={"type": "NO_ARTIFACTS"},
        serviceRole="arn:aws:iam::123456789012:role/r",
        environment={
            "type": "LINUX_CONTAINER",
            "image": "img",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    logs = server_client("logs")
    logs.create_log_group(logGroupName=f"/aws/codebuild/{PREFIX}-r5-build")
    logs.create_log_group(logGroupName=f"/aws/codebuild/{PREFIX}-r5-foreign")

    assert teardown_cli.main([]) == 1
    plan = capsys.readouterr().out
    assert f"{PREFIX}-r5-config" in plan and "recorded by the kit" in plan
    assert f"made by CodeBuild for the kit's project {PREFIX}-r5-build" in plan
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    configs = codedeploy.list_deployment_configs()["deploymentConfigsList"]
    assert f"{PREFIX}-r5-similar" in configs and f"{PREFIX}-r5-config" not in configs
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert f"/aws/codebuild/{PREFIX}-r5-foreign" in groups
    assert f"/aws/codebuild/{PREFIX}-r5-build" not in groups


# Report groups: the kit's record, never a name that starts like a project's -----------

JUNIT = (
    "<testsuites><testsuite name='s'><testcase classname='t' name='ok'/></testsuite></testsuites>"
)
REPORTING_BUILDSPEC = (
    "version: 0.2\nphases:\n  build:\n    commands:\n"
    f'      - mkdir -p reports && echo "{JUNIT}" > reports/junit.xml\n'
    "reports:\n  unit-tests:\n    files:\n      - junit.xml\n"
    "    base-directory: reports\n"
)


def create_build_project(codebuild, name: str, **extra) -> None:
    codebuild.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": REPORTING_BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        serviceRole="arn:aws:iam::123456789012:role/r",
        environment={
            "type": "LINUX_CONTAINER",
            "image": "img",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        **extra,
    )


def planned_names(capsys) -> set[str]:
    assert teardown_cli.main(["--json"]) in (0, 1)
    return {r["name"] for r in json.loads(capsys.readouterr().out)["plan"]}


@pytest.mark.slow
def test_untagged_report_group_named_like_a_kit_project_is_not_planned(
    server_env, server_client, capsys
):
    codebuild = server_client("codebuild")
    create_build_project(
        codebuild,
        f"{PREFIX}-r6-build",
        tags=[{"key": k, "value": v} for k, v in tags_for(PREFIX).items()],
    )
    # Someone else's group, named as CodeBuild would name one of the kit's project.
    codebuild.create_report_group(
        name=f"{PREFIX}-r6-build-unit-tests",
        type="TEST",
        exportConfig={"exportConfigType": "NO_EXPORT"},
    )
    planned = planned_names(capsys)
    assert f"{PREFIX}-r6-build" in planned  # the tagged project is the kit's
    assert f"{PREFIX}-r6-build-unit-tests" not in planned


@pytest.mark.slow
def test_recorded_report_group_is_planned_and_its_record_goes_with_it(
    server_env, server_client, capsys
):
    from helpers import created
    from helpers.codebuild import wait_for_build

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    created.watch(session, PREFIX)
    ours = session.client("codebuild", endpoint_url=server_env.endpoint)
    create_build_project(
        ours,
        f"{PREFIX}-r7-build",
        tags=[{"key": k, "value": v} for k, v in tags_for(PREFIX).items()],
    )
    build_id = ours.start_build(projectName=f"{PREFIX}-r7-build")["build"]["id"]
    build = wait_for_build(ours, build_id, timeout=60, show=False, poll_seconds=0.1)
    assert build["reportArns"], build["buildStatus"]
    group = f"{PREFIX}-r7-build-unit-tests"
    key = (created.REPORT_GROUP, group, "us-east-1")
    assert key in created.recorded(PREFIX)  # the lab's build made it: written down

    assert group in planned_names(capsys)
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert key not in created.recorded(PREFIX)
    assert (created.PROJECT, f"{PREFIX}-r7-build", "us-east-1") not in created.recorded(PREFIX)

    # Later, someone else makes a project and a group of the same names: not the kit's.
    create_build_project(server_client("codebuild"), f"{PREFIX}-r7-build")
    server_client("codebuild").create_report_group(
        name=group, type="TEST", exportConfig={"exportConfigType": "NO_EXPORT"}
    )
    assert not {group, f"{PREFIX}-r7-build"} & planned_names(capsys)


def test_report_group_older_than_the_recording_build_is_not_planned():
    from helpers import created
    from helpers import teardown as td

    since = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    scope = td.Scope(
        PREFIX,
        recorded={(created.REPORT_GROUP, "g", "r"): created.Entry(PREFIX, since.timestamp())},
    )
    made_by_the_build = since + dt.timedelta(seconds=3)
    made_before = since - dt.timedelta(days=1)
    assert scope.owns_recorded(created.REPORT_GROUP, "g", "r", made=made_by_the_build)
    assert scope.owns_recorded(created.REPORT_GROUP, "g", "r", made=made_before) is None


def test_an_owner_tag_cannot_make_teardown_rewrite_another_file(tmp_path, monkeypatch):
    from helpers import created

    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))
    outside = tmp_path / "victim.jsonl"
    outside.write_text('{"kind": "k", "name": "n", "region": "r"}\n')
    created.forget("../victim", "k", "n", "r")
    assert outside.read_text() == '{"kind": "k", "name": "n", "region": "r"}\n'


# Local server folders: only this learner's, only once their process has ended ----------


def server_folder(pid: int, **marker) -> Path:
    folder = settings.state_dir() / settings.EMULATOR_DIR_NAME / str(pid)
    folder.mkdir(parents=True)
    if marker:
        (folder / settings.PROCESS_MARKER).write_text(json.dumps({"pid": pid, **marker}))
    return folder


def ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_this_learners_ended_server_folders_are_removed(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_PREFIX", PREFIX)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("LAB_MODE", raising=False)
    ours = {"prefix": PREFIX, "uid": settings.user_id()}
    ended = server_folder(ended_pid(), **ours)
    # The parent's pid, as if reused: recorded with another start than its process has.
    reused = server_folder(os.getppid(), **ours, process_start="another-boot:1")
    live = settings.emulator_dir()  # this process's own server folder
    someone_elses = server_folder(ended_pid(), prefix="other", uid=settings.user_id())
    unmarked = server_folder(ended_pid())
    credentials = live.parent / "credentials.json"
    credentials.write_text("{}")

    assert teardown_cli.main(["--yes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert not ended.exists() and not reused.exists()
    assert live.exists() and someone_elses.exists() and unmarked.exists()
    assert credentials.exists()
    why = {Path(item["path"]).name: item["why"] for item in result["left_alone"]}
    assert why == {
        someone_elses.name: f"made by learner other, not {PREFIX}",
        unmarked.name: "no readable process.json: whose it is is unknown",
    }

    assert teardown_cli.main([]) == 0  # dry run: nothing of ours left; the others listed
    shown = capsys.readouterr().out
    assert "left alone" in shown and str(someone_elses.parent) in shown
    assert someone_elses.name in shown and unmarked.name in shown


def test_server_folder_marker_names_its_learner_user_and_process(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_PREFIX", PREFIX)
    marker = json.loads((settings.emulator_dir() / settings.PROCESS_MARKER).read_text())
    assert marker["pid"] == os.getpid() and marker["prefix"] == PREFIX
    assert marker["uid"] == settings.user_id()
    if Path("/proc/self/stat").exists():
        assert marker["process_start"] == settings.process_start(os.getpid())
        assert marker["process_start"] != settings.process_start(1)  # started at boot


# aws mode without credentials: one clear message, exit 2, no traceback -------------------


def test_aws_mode_without_credentials_says_what_to_configure(tmp_path):
    from helpers import lab

    nothing = str(tmp_path / "nothing")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LAB_MODE": "aws",
        "LAB_PREFIX": PREFIX,
        "LAB_STATE_DIR": str(tmp_path / "state"),
        "AWS_SHARED_CREDENTIALS_FILE": nothing,
        "AWS_CONFIG_FILE": nothing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "teardown.py", "--yes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == lab.NO_CREDENTIALS
    assert "aws configure" in done.stderr and "docs/troubleshooting.md#no-credentials" in (
        done.stderr
    )


def plan_resource(
    service: str, kind: str, name: str, region: str = "us-east-1", why: str = ""
) -> td.Resource:
    reason = td.Reason(why or f"tagged lab:kit and lab:owner={PREFIX}", PREFIX)
    return td.Resource(service, kind, name, region, reason, lambda: None)


def test_the_plan_fits_a_notebook_line_and_breaks_between_words_only():
    plan = [
        plan_resource("ec2", "instance (running, to terminate)", "i-6c441d278559242d5"),
        plan_resource(
            "codedeploy", "application (and its deployment groups)", f"{PREFIX}-greeting"
        ),
        plan_resource(
            "codedeploy",
            "deployment config",
            f"{PREFIX}-two-at-a-time",
            why="recorded by the kit when a lab created it (this type has no tags)",
        ),
        plan_resource(
            "iam", "role (policies and instance profiles first)", f"{PREFIX}-x", "global"
        ),
        plan_resource("logs", "log group", "/aws/codebuild/" + "a-very-long-project-name" * 4),
    ]
    lines = td.plan_lines(plan)
    text = "\n".join(lines)
    long_name = "/aws/codebuild/" + "a-very-long-project-name" * 4
    assert all(len(line) <= td.PLAN_WIDTH for line in lines if long_name not in line)
    for resource in plan:  # every kind and name whole, never cut inside a word
        assert resource.kind in text and resource.name in text
    # The reasons once each, as notes the rows point at.
    assert text.count(f"tagged lab:kit and lab:owner={PREFIX}") == 1
    assert "[1] tagged lab:kit" in text and "[2] recorded by the kit" in text
    row = next(line for line in lines if f"{PREFIX}-two-at-a-time" in line)
    assert row.rstrip().endswith("[2]")
    assert "iam, global (1)" in lines and "ec2, in us-east-1 (1)" in lines


def test_folders_left_alone_are_grouped_by_why_and_folder(tmp_path):
    kept = [(tmp_path / str(pid), "made by learner other, not me") for pid in range(1000, 1030)]
    lines = td.local_lines([tmp_path / "work" / PREFIX], kept)
    assert all(len(line) <= td.PLAN_WIDTH for line in lines)
    assert lines[0] == "files on disk (1)"
    assert sum("made by learner other, not me" in line for line in lines) == 1
    assert " ".join(lines).count(str(tmp_path)) == 2  # the work folder, the group's folder
    assert all(str(pid) in "\n".join(lines) for pid in range(1000, 1030))


def test_wrap_keeps_a_long_word_whole():
    word = "/" + "x" * 120
    assert td.wrap(f"path {word} end", 100, indent=2, hanging=4) == [
        "  path",
        "    " + word,
        "    end",
    ]


@pytest.mark.slow
def test_a_running_instance_is_planned_to_terminate_with_its_state(
    server_env, server_client, capsys
):
    ec2 = server_client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"Key": k, "Value": v} for k, v in tags_for(PREFIX).items()]
    iid = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})

    assert teardown_cli.main([]) == 1
    shown = capsys.readouterr().out
    row = next(line for line in shown.splitlines() if iid in line)
    assert "instance (running, to terminate)" in row and "(terminated)" not in shown
    assert all(len(line) <= td.PLAN_WIDTH for line in shown.splitlines())

    assert teardown_cli.main(["--yes"]) == 0
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"


# The pull request lab's kinds: SNS topics, SQS queues (tagged), approval rule templates
# (no tags: the kit's record) -------------------------------------------------------------


def kit_tag_list(owner: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags_for(owner).items()]


@pytest.mark.slow
def test_topics_and_queues_go_only_when_tagged_as_this_learners(server_env, server_client, capsys):
    sns, sqs = server_client("sns"), server_client("sqs")
    topics = {
        owner: sns.create_topic(Name=f"{name}-r8-notices", Tags=tags)["TopicArn"]
        for owner, name, tags in [
            ("ours", PREFIX, kit_tag_list(PREFIX)),
            ("other", "other", kit_tag_list("other")),
            ("untagged", f"{PREFIX}-untagged", []),
        ]
    }
    queues = {
        owner: sqs.create_queue(QueueName=f"{name}-r8-inbox", tags=tags)["QueueUrl"]
        for owner, name, tags in [
            ("ours", PREFIX, tags_for(PREFIX)),
            ("other", "other", tags_for("other")),
            ("untagged", f"{PREFIX}-untagged", {}),
        ]
    }
    queue_arn = sqs.get_queue_attributes(QueueUrl=queues["ours"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topics["ours"], Protocol="sqs", Endpoint=queue_arn)
    sns.subscribe(TopicArn=topics["other"], Protocol="sqs", Endpoint=queue_arn)

    planned = planned_names(capsys)
    assert {f"{PREFIX}-r8-notices", f"{PREFIX}-r8-inbox"} <= planned
    assert not {n for n in planned if "r8" in n} - {f"{PREFIX}-r8-notices", f"{PREFIX}-r8-inbox"}
    assert teardown_cli.main([]) == 1
    shown = capsys.readouterr().out
    assert "topic (and its subscriptions)" in shown and "queue (and its messages)" in shown

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    left_topics = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert topics["ours"] not in left_topics
    assert {topics["other"], topics["untagged"]} <= left_topics
    left_queues = set(sqs.list_queues(QueueNamePrefix="").get("QueueUrls", []))
    assert queues["ours"] not in left_queues
    assert {queues["other"], queues["untagged"]} <= left_queues
    # The deleted topic's subscription went with it; the other topic's is untouched.
    subscribed = {s["TopicArn"] for s in sns.list_subscriptions()["Subscriptions"]}
    assert topics["ours"] not in subscribed and topics["other"] in subscribed
    assert not {n for n in planned_names(capsys) if "r8" in n}  # a second run: nothing


def create_template(codecommit, name: str) -> None:
    codecommit.create_approval_rule_template(
        approvalRuleTemplateName=name,
        approvalRuleTemplateContent=json.dumps(
            {
                "Version": "2018-11-08",
                "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}],
            }
        ),
    )


@pytest.mark.slow
def test_approval_rule_templates_go_only_when_the_kit_recorded_them(
    server_env, server_client, capsys
):
    """Templates take no tags: the kit's record decides, whatever the name; a template
    still associated with a repository is disassociated first (AWS refuses otherwise)."""
    from helpers import created

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    created.watch(session, PREFIX)
    ours = session.client("codecommit", endpoint_url=server_env.endpoint)
    codecommit = server_client("codecommit")
    create_template(ours, f"{PREFIX}-r9-review")
    create_template(ours, f"{PREFIX}-r9-draft")
    ours.update_approval_rule_template_name(
        oldApprovalRuleTemplateName=f"{PREFIX}-r9-draft",
        newApprovalRuleTemplateName=f"{PREFIX}-r9-renamed",
    )
    create_template(codecommit, f"{PREFIX}-r9-by-cli")  # as the aws CLI would: not watched
    created.record_approval_rule_template(PREFIX, f"{PREFIX}-r9-by-cli", "us-east-1")
    create_template(codecommit, f"{PREFIX}-r9-similar")  # a name like ours, not the kit's
    create_template(codecommit, "other-r9-review")
    created.record_approval_rule_template("other", "other-r9-review", "us-east-1")
    # Associated with a repository that is not the kit's, so it stays: disassociated.
    codecommit.create_repository(repositoryName="foreign-r9-repo")
    codecommit.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=f"{PREFIX}-r9-review", repositoryName="foreign-r9-repo"
    )
    mine = {f"{PREFIX}-r9-review", f"{PREFIX}-r9-renamed", f"{PREFIX}-r9-by-cli"}

    planned = planned_names(capsys)
    assert {n for n in planned if "r9" in n} == mine
    assert teardown_cli.main([]) == 1
    shown = capsys.readouterr().out
    assert "approval rule template (disassociated first)" in shown
    assert "recorded by the kit" in shown

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    left = set(codecommit.list_approval_rule_templates()["approvalRuleTemplateNames"])
    assert not mine & left
    assert {f"{PREFIX}-r9-similar", "other-r9-review"} <= left
    assert (
        codecommit.list_associated_approval_rule_templates_for_repository(
            repositoryName="foreign-r9-repo"
        )["approvalRuleTemplateNames"]
        == []
    )
    recorded = created.recorded(PREFIX)
    assert not {key for key in recorded if key[0] == created.APPROVAL_RULE_TEMPLATE} & {
        (created.APPROVAL_RULE_TEMPLATE, name, "us-east-1") for name in mine
    }
    assert not {n for n in planned_names(capsys) if "r9" in n}  # a second run: nothing

    # Later, someone else makes a template of the same name: not the kit's any more.
    create_template(codecommit, f"{PREFIX}-r9-review")
    assert f"{PREFIX}-r9-review" not in planned_names(capsys)

    # A template the lab deletes itself leaves no record behind either.
    create_template(ours, f"{PREFIX}-r9-own")
    key = (created.APPROVAL_RULE_TEMPLATE, f"{PREFIX}-r9-own", "us-east-1")
    assert key in created.recorded(PREFIX)
    ours.delete_approval_rule_template(approvalRuleTemplateName=f"{PREFIX}-r9-own")
    assert key not in created.recorded(PREFIX)
    create_template(codecommit, f"{PREFIX}-r9-own")
    assert f"{PREFIX}-r9-own" not in planned_names(capsys)


def test_a_queue_deleted_while_teardown_reads_it_is_skipped():
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = "https://sqs.us-east-1.amazonaws.com/111122223333/gone"
    stub = Stubber(sqs)
    stub.add_response("list_queues", {"QueueUrls": [url]})
    stub.add_client_error(
        "list_queue_tags",
        service_error_code="AWS.SimpleQueueService.NonExistentQueue",
        http_status_code=400,
    )
    stub.activate()
    assert list(td.sqs_queues(lambda service: sqs, "us-east-1", td.Scope(PREFIX))) == []


@pytest.mark.slow
def test_notification_rules_go_only_when_tagged_as_this_learners(server_env, server_client, capsys):
    notify, sns = server_client("codestar-notifications"), server_client("sns")
    repository = server_client("codecommit").create_repository(repositoryName="foreign-r10-repo")
    topic = sns.create_topic(Name="foreign-r10-topic")["TopicArn"]
    rules = {
        name: notify.create_notification_rule(
            Name=name,
            EventTypeIds=["codecommit-repository-pull-request-created"],
            Resource=repository["repositoryMetadata"]["Arn"],
            Targets=[{"TargetType": "SNS", "TargetAddress": topic}],
            DetailType="FULL",
            Tags=tags,
        )["Arn"]
        for name, tags in [
            (f"{PREFIX}-r10-notices", tags_for(PREFIX)),
            ("other-r10-notices", tags_for("other")),
            (f"{PREFIX}-r10-untagged", {}),
        ]
    }
    assert {n for n in planned_names(capsys) if "r10" in n} == {f"{PREFIX}-r10-notices"}
    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    left = {r["Arn"] for r in notify.list_notification_rules()["NotificationRules"]}
    assert rules[f"{PREFIX}-r10-notices"] not in left
    assert {rules["other-r10-notices"], rules[f"{PREFIX}-r10-untagged"]} <= left
    assert topic in {t["TopicArn"] for t in sns.list_topics()["Topics"]}  # not the kit's
    assert not {n for n in planned_names(capsys) if "r10" in n}  # a second run: nothing


# Issue 15's kinds: connections, stacks, functions, alarms --------------------------------


def zipped_handler() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
    return buffer.getvalue()


def make_issue15_kinds(server_client, owner_name: str, tags: dict[str, str], role: str) -> None:
    """A connection, a stack (making a topic), a function with a version and an alias, and
    an alarm, all named <owner_name>-r11-..."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    server_client("codeconnections").create_connection(
        ProviderType="GitHub", ConnectionName=f"{owner_name}-r11-github", Tags=tag_list
    )
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{owner_name}-r11-t"}}
        }
    }
    server_client("cloudformation").create_stack(
        StackName=f"{owner_name}-r11-stack", TemplateBody=json.dumps(template), Tags=tag_list
    )
    lam = server_client("lambda")
    lam.create_function(
        FunctionName=f"{owner_name}-r11-fn",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zipped_handler()},
        Tags=tags,
    )
    version = lam.publish_version(FunctionName=f"{owner_name}-r11-fn")["Version"]
    lam.create_alias(FunctionName=f"{owner_name}-r11-fn", Name="live", FunctionVersion=version)
    # Lambda makes the function's log group itself, untagged.
    server_client("logs").create_log_group(logGroupName=f"/aws/lambda/{owner_name}-r11-fn")
    server_client("cloudwatch").put_metric_alarm(
        AlarmName=f"{owner_name}-r11-errors",
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        Tags=tag_list,
    )


def issue15_names_left(server_client) -> set[str]:
    names = {
        c["ConnectionName"]
        for c in server_client("codeconnections").list_connections()["Connections"]
    }
    names |= {
        s["StackName"]
        for s in server_client("cloudformation").describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    names |= {f["FunctionName"] for f in server_client("lambda").list_functions()["Functions"]}
    names |= {a["AlarmName"] for a in server_client("cloudwatch").describe_alarms()["MetricAlarms"]}
    names |= {
        t["TopicArn"].rsplit(":", 1)[-1] for t in server_client("sns").list_topics()["Topics"]
    }
    names |= {
        g["logGroupName"]
        for g in server_client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")[
            "logGroups"
        ]
    }
    return {n for n in names if "r11" in n}


@pytest.mark.slow
def test_connections_stacks_functions_and_alarms_go_only_when_tagged_as_this_learners(
    server_env, server_client, capsys
):
    role = server_client("iam").create_role(
        RoleName="foreign-r11-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    make_issue15_kinds(server_client, PREFIX, tags_for(PREFIX), role)
    make_issue15_kinds(server_client, "other", tags_for("other"), role)
    make_issue15_kinds(server_client, "untagged", {}, role)
    ours = {
        f"{PREFIX}-r11-github",
        f"{PREFIX}-r11-stack",
        f"{PREFIX}-r11-fn",
        f"/aws/lambda/{PREFIX}-r11-fn",
        f"{PREFIX}-r11-errors",
    }
    everything = issue15_names_left(server_client)

    assert {n for n in planned_names(capsys) if "r11" in n} == ours
    assert teardown_cli.main([]) == 1
    shown = capsys.readouterr().out
    for kind in (
        "connection (GitHub)",
        "stack (and what it made)",
        "function (its versions and aliases)",
        "alarm",
    ):
        assert kind in shown
    assert f"made by Lambda for the kit's function {PREFIX}-r11-fn" in shown

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    # The stack took its topic with it; the others' and the untagged ones stayed.
    assert issue15_names_left(server_client) == everything - ours - {f"{PREFIX}-r11-t"}
    assert not {n for n in planned_names(capsys) if "r11" in n}  # a second run: nothing


def test_what_a_live_stack_made_is_left_to_the_stack():
    """CloudFormation tags what a stack makes with the stack's tags (the kit's) and
    aws:cloudformation:stack-name: the stack deletes it, teardown does not a second time;
    what a deleted stack retained is teardown's."""
    scope = td.Scope(PREFIX)
    made = {**tags_for(PREFIX), td.STACK_TAG_KEY: f"{PREFIX}-app"}
    retained = {**tags_for(PREFIX), td.STACK_TAG_KEY: f"{PREFIX}-gone"}

    def resource(service: str, name: str, tags: dict[str, str]) -> td.Resource:
        return td.Resource(service, "kind", name, "us-east-1", scope.owns(tags), lambda: None)

    found = [
        resource("cloudformation", f"{PREFIX}-app", tags_for(PREFIX)),
        resource("lambda", f"{PREFIX}-app-fn", made),
        resource("lambda", f"{PREFIX}-kept-fn", retained),
        resource("lambda", f"{PREFIX}-own-fn", tags_for(PREFIX)),
    ]
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cloudformation)
    stub.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {PREFIX}-gone does not exist",
        expected_params={"StackName": f"{PREFIX}-gone"},
    )
    stub.activate()
    kept = td._leave_to_their_stacks(found, lambda service, region: cloudformation)
    assert [r.name for r in kept] == [f"{PREFIX}-app", f"{PREFIX}-kept-fn", f"{PREFIX}-own-fn"]
    stub.assert_no_pending_responses()


def test_a_stack_that_fails_to_delete_is_reported_with_what_it_kept():
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    stack_id = "arn:aws:cloudformation:us-east-1:111122223333:stack/labtest-app/1"
    stack = {
        "StackId": stack_id,
        "StackName": "labtest-app",
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "StackStatus": "DELETE_FAILED",
        "StackStatusReason": "The following resource(s) failed to delete: [Bucket].",
    }
    stub = Stubber(cloudformation)
    stub.add_response("delete_stack", {}, {"StackName": stack_id})
    stub.add_response(
        "describe_stacks", {"Stacks": [{**stack, "StackStatus": "DELETE_IN_PROGRESS"}]}
    )
    stub.add_response("describe_stacks", {"Stacks": [stack]})
    stub.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                {
                    "StackId": stack_id,
                    "EventId": "2",
                    "StackName": "labtest-app",
                    "LogicalResourceId": "Bucket",
                    "PhysicalResourceId": "labtest-app-bucket",
                    "ResourceType": "AWS::S3::Bucket",
                    "Timestamp": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                    "ResourceStatus": "DELETE_FAILED",
                    "ResourceStatusReason": "The bucket you tried to delete is not empty",
                }
            ]
        },
    )
    stub.activate()
    resource = td.Resource(
        "cloudformation",
        "stack (and what it made)",
        "labtest-app",
        "us-east-1",
        td.Reason("tagged", PREFIX),
        lambda: td._delete_stack(cloudformation, stack_id, {"Delay": 0, "MaxAttempts": 5}),
    )
    outcome = td.delete_all([resource], lambda *_: None, pause=0)
    assert outcome.deleted == []
    [(failed, why)] = outcome.failed
    assert why.startswith("DELETE_FAILED: The following resource(s) failed to delete: [Bucket].")
    assert "Bucket (AWS::S3::Bucket): The bucket you tried to delete is not empty" in why
    assert "run teardown again" in why


def test_local_git_host_repositories_go_with_their_servers_folder(monkeypatch, tmp_path):
    """Offline, the local "GitHub" keeps its repositories in the server's folder: an ended
    server's folder goes whole, repositories included; a running one's stays."""
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    ended = server_folder(ended_pid(), prefix=PREFIX, uid=settings.user_id())
    repository = ended / "githost" / "123456789012" / "github" / "octo" / "app.git"
    repository.mkdir(parents=True)
    assert ended in td.local_leftovers(PREFIX)
    from helpers.emulator.connections import git_host

    live = git_host.repository_folder("123456789012", "GitHub", "octo/app")
    assert settings.emulator_dir() in live.parents  # this (running) server's folder
    assert settings.emulator_dir() not in td.local_leftovers(PREFIX)
    td.remove_local(td.local_leftovers(PREFIX))
    assert not repository.exists()
