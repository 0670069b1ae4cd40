"""teardown.py: the plan, deleting exactly the kit's resources, confirmation, exit codes."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from helpers import settings

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
    s3.put_bucket_versioning(Bucket=f"{PREFIX}-{run}-bucket",
                             VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=f"{PREFIX}-{run}-bucket", Key="a", Body=b"1")
    s3.put_object(Bucket=f"{PREFIX}-{run}-bucket", Key="a", Body=b"2")
    s3.put_bucket_tagging(Bucket=f"{PREFIX}-{run}-bucket", Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in tags_for(PREFIX).items()]})
    s3.create_bucket(Bucket=f"foreign-{run}-bucket")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName=f"{PREFIX}-{run}-role", AssumeRolePolicyDocument=trust,
                    Tags=[{"Key": k, "Value": v} for k, v in tags_for(PREFIX).items()])
    iam.put_role_policy(RoleName=f"{PREFIX}-{run}-role", PolicyName="inline",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    iam.create_role(RoleName=f"foreign-{run}-role", AssumeRolePolicyDocument=trust)
    return ours


def names_left(server_client, run: str) -> set[str]:
    repos = {r["repositoryName"] for r in
             server_client("codecommit").list_repositories()["repositories"]}
    buckets = {b["Name"] for b in server_client("s3").list_buckets()["Buckets"]}
    roles = {r["RoleName"] for r in server_client("iam").list_roles()["Roles"]}
    return {n for n in repos | buckets | roles if run in n}


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
    assert names_left(server_client, "r2") == {f"{PREFIX}-r2-untagged", "foreign-r2-bucket",
                                               "foreign-r2-role"}


def test_failed_delete_is_reported_and_the_rest_go_on(server_env, server_client, monkeypatch,
                                                     capsys):
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
    assert names_left(server_client, "r3") == {f"{PREFIX}-r3-repo", f"{PREFIX}-r3-untagged",
                                               "other-r3-repo", "foreign-r3-bucket",
                                               "foreign-r3-role"}


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
    sts_stub.add_response("get_caller_identity", {
        "Account": account, "Arn": f"arn:aws:iam::{account}:user/learner", "UserId": "AIDA"})
    iam_stub.add_response("list_account_aliases", {"AccountAliases": ["school"],
                                                   "IsTruncated": False})
    sts_stub.activate()
    iam_stub.activate()
    return lambda service, region: {"sts": sts, "iam": iam}[service]


def args(**kw):
    return argparse.Namespace(**{"yes": True, "account_id": None, **kw})


def test_aws_mode_refuses_without_matching_account_id(capsys):
    out = teardown_cli.Reporter(False)
    assert teardown_cli.confirm_account(stubbed("111122223333"), ["us-east-1"],
                                        args(account_id="999999999999"), out) is None
    assert "Refused" in capsys.readouterr().out
    # No terminal and no --account-id: refused too.
    assert teardown_cli.confirm_account(stubbed("111122223333"), ["us-east-1"],
                                        args(), out) is None
    assert teardown_cli.confirm_account(stubbed("111122223333"), ["us-east-1"],
                                        args(account_id="111122223333"), out) == "111122223333"


def fault_injector(throttle_every: int, always_fail: str):
    """A botocore before-call handler: every Nth delete call is throttled, and deleting
    `always_fail` always fails (an error AWS would not retry)."""
    from botocore.awsrequest import AWSResponse

    calls = {"n": 0}

    def before_call(model, params, **_):
        if not model.name.startswith("Delete"):
            return None
        if always_fail in json.dumps(params, default=str):
            return (AWSResponse("", 400, {}, None),
                    {"Error": {"Code": "AccessDenied", "Message": "injected: not allowed"}})
        calls["n"] += 1
        if calls["n"] % throttle_every == 1:
            return (AWSResponse("", 400, {}, None),
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}})
        return None

    def hook(client):
        client.meta.events.register("before-call.*.*", before_call)

    return hook, calls


def test_throttling_is_retried_and_a_permanent_failure_is_reported(server_env, server_client,
                                                                   monkeypatch, capsys):
    from helpers import teardown as td

    make_resources(server_client, "r4")
    hook, calls = fault_injector(throttle_every=2, always_fail=f"{PREFIX}-r4-bucket")
    monkeypatch.setattr(td, "CLIENT_HOOKS", [hook])
    assert teardown_cli.main(["--yes"]) == 1
    out = capsys.readouterr().out
    assert calls["n"] >= 2  # throttled calls happened and were retried
    assert f"FAILED s3 bucket (every object version first) {PREFIX}-r4-bucket" in out
    assert "Still there:" in out
    # Everything else of the kit's went; foreign resources stayed.
    assert names_left(server_client, "r4") == {f"{PREFIX}-r4-bucket", f"{PREFIX}-r4-untagged",
                                               "other-r4-repo", "foreign-r4-bucket",
                                               "foreign-r4-role"}
    monkeypatch.setattr(td, "CLIENT_HOOKS", [])
    assert teardown_cli.main(["--yes"]) == 0


def test_untaggable_types_go_only_when_the_kit_recorded_them(server_env, server_client,
                                                              capsys):
    """Deployment configs take no tags, nor do the log groups CodeBuild makes: the kit's
    record (and its tagged projects) decide; similar names not made by the kit stay."""
    from helpers import created

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")
    created.watch(session, PREFIX)
    ours = session.client("codedeploy", endpoint_url=server_env.endpoint)
    ours.create_deployment_config(deploymentConfigName=f"{PREFIX}-r5-config",
                                  minimumHealthyHosts={"type": "HOST_COUNT", "value": 1})
    codedeploy = server_client("codedeploy")
    codedeploy.create_deployment_config(deploymentConfigName=f"{PREFIX}-r5-similar",
                                        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1})
    session.client("codebuild", endpoint_url=server_env.endpoint).create_project(
        name=f"{PREFIX}-r5-build", source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        artifacts={"type": "NO_ARTIFACTS"}, serviceRole="arn:aws:iam::123456789012:role/r",
        environment={"type": "LINUX_CONTAINER", "image": "img",
                     "computeType": "BUILD_GENERAL1_SMALL"})
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
