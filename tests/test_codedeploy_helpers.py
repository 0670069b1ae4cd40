"""The lab-level CodeDeploy helpers of lab 03 (helpers/codedeploy.py), under mock_aws."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

from helpers import codedeploy as cd
from helpers import lab
from tests.deployments import appspec, make_zip, standard_bundle

PREFIX = "labtest"
FLEET = {"lab:fleet": "labtest-web"}


def make_kit(mode: str = lab.OFFLINE, region: str = "us-east-1") -> lab.Kit:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    return lab.Kit(mode, region, PREFIX, session, account_id="123456789012")


@pytest.fixture(name="kit")
def kit_fixture(mocked):
    return make_kit()


@pytest.fixture(autouse=True)
def quick_ami(request, monkeypatch):
    """Reading the AMI from the local SSM costs a second a test: only its own test does."""
    if request.node.name != "test_latest_ami_is_an_image_the_local_ec2_knows":
        monkeypatch.setattr(cd, "latest_ami", lambda kit: "ami-12345678")


@pytest.fixture(name="no_sleep")
def no_sleep_fixture(monkeypatch):
    slept = []
    monkeypatch.setattr(cd.time, "sleep", slept.append)
    return slept


def tags_of(pairs: list[dict]) -> dict[str, str]:
    return {pair["Key"]: pair["Value"] for pair in pairs}


# --- the bucket ------------------------------------------------------------------------------


def test_deploy_bucket_is_made_once_and_tagged(kit):
    name = cd.ensure_deploy_bucket(kit)
    assert name == "labtest-deploy-123456789012-us-east-1"
    assert cd.ensure_deploy_bucket(kit) == name
    s3 = kit.client("s3")
    assert tags_of(s3.get_bucket_tagging(Bucket=name)["TagSet"]) == kit.tags()


def test_deploy_bucket_outside_us_east_1_has_a_location_constraint(mocked):
    kit = make_kit(region="eu-west-1")
    name = cd.ensure_deploy_bucket(kit)
    location = kit.client("s3").get_bucket_location(Bucket=name)["LocationConstraint"]
    assert location == "eu-west-1"


# --- roles and the instance profile ----------------------------------------------------------


def test_service_role_offline_gets_the_policy_inline(kit):
    arn = cd.ensure_service_role(kit)
    iam = kit.client("iam")
    role = iam.get_role(RoleName="labtest-codedeploy-service")["Role"]
    assert role["Arn"] == arn
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert tags_of(role["Tags"]) == kit.tags()
    assert iam.list_role_policies(RoleName="labtest-codedeploy-service")["PolicyNames"] == [
        "AWSCodeDeployRole"
    ]
    assert cd.ensure_service_role(kit) == arn  # a second run finds it


@pytest.mark.slow  # moto loads every AWS managed policy
def test_service_role_on_aws_attaches_the_managed_policy(monkeypatch, no_sleep):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto import mock_aws

    with mock_aws():
        kit = make_kit(mode=lab.AWS)
        cd.ensure_service_role(kit)
        attached = kit.client("iam").list_attached_role_policies(
            RoleName="labtest-codedeploy-service"
        )["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [cd.SERVICE_ROLE_POLICY_ARN]
    assert no_sleep == [cd.IAM_SETTLE_SECONDS]  # a new role gets time to be usable


def test_instance_profile_holds_a_role_that_reads_the_bucket(kit):
    name = cd.ensure_instance_profile(kit, "the-bucket")
    assert name == "labtest-web-instance"
    iam = kit.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [role["RoleName"] for role in profile["Roles"]] == [name]
    document = iam.get_role_policy(RoleName=name, PolicyName="read-revisions")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    resources = document["Statement"][0]["Resource"]
    assert "arn:aws:s3:::the-bucket/*" in resources
    assert "arn:aws:s3:::aws-codedeploy-us-east-1/*" in resources
    assert document["Statement"][1]["Resource"] == "arn:aws:s3:::the-bucket/agent-ready/*"
    assert cd.ensure_instance_profile(kit, "the-bucket") == name
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert len(profile["Roles"]) == 1


# --- the fleet -------------------------------------------------------------------------------


@pytest.mark.slow  # the local SSM and EC2 load their public parameters and images
def test_latest_ami_is_an_image_the_local_ec2_knows(kit):
    image_id = cd.latest_ami(kit)
    images = kit.client("ec2").describe_images(ImageIds=[image_id])["Images"]
    assert [image["ImageId"] for image in images] == [image_id]


def test_user_data_installs_the_agent_and_reports_ready(kit):
    text = cd.agent_user_data(kit, "the-bucket")
    assert text.startswith("#!/bin/bash\n")
    assert "https://aws-codedeploy-us-east-1.s3.us-east-1.amazonaws.com/latest/install" in text
    assert "./install auto" in text
    assert '"s3://the-bucket/agent-ready/$ID"' in text


def test_launch_fleet_tags_instances_and_reuses_them(kit):
    requests = []
    kit.client("ec2").meta.events.register(
        "provide-client-params.ec2.RunInstances", lambda params, **_: requests.append(dict(params))
    )
    profile = cd.ensure_instance_profile(kit, "the-bucket")
    ids = cd.launch_fleet(kit, 3, FLEET, profile, "#!/bin/bash\n")
    assert len(ids) == 3
    reply = kit.client("ec2").describe_instances(InstanceIds=ids)
    for reservation in reply["Reservations"]:
        for instance in reservation["Instances"]:
            assert instance["InstanceType"] == "t3.micro"
            tags = tags_of(instance["Tags"])
            assert tags["lab:fleet"] == "labtest-web"
            assert {k: tags[k] for k in kit.tags()} == kit.tags()
    assert requests[0]["IamInstanceProfile"] == {"Name": "labtest-web-instance"}
    assert requests[0]["UserData"] == "#!/bin/bash\n"
    assert cd.find_fleet(kit, FLEET) == ids
    assert cd.launch_fleet(kit, 3, FLEET, profile, "") == ids  # nothing new
    more = cd.launch_fleet(kit, 4, FLEET, profile, "")
    assert len(more) == 4 and set(ids) < set(more)


def test_find_fleet_ignores_other_owners_and_terminated_instances(kit):
    ec2 = kit.client("ec2")
    image = cd.latest_ami(kit)

    def run(tags):
        pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
        reply = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": pairs}],
        )
        return reply["Instances"][0]["InstanceId"]

    mine = run({**FLEET, "lab:owner": PREFIX})
    run({**FLEET, "lab:owner": "someoneelse"})
    gone = run({**FLEET, "lab:owner": PREFIX})
    ec2.terminate_instances(InstanceIds=[gone])
    assert cd.find_fleet(kit, FLEET) == [mine]


def test_wait_for_fleet_offline_returns_at_once(kit, capsys):
    ids = cd.launch_fleet(kit, 2, FLEET, cd.ensure_instance_profile(kit, "b"), "")
    cd.wait_for_fleet(kit, ids, "b")
    assert "2 instances running" in capsys.readouterr().out


def test_wait_for_fleet_on_aws_waits_for_the_agent_markers(mocked, no_sleep):
    kit = make_kit(mode=lab.AWS)
    bucket = cd.ensure_deploy_bucket(kit)
    ids = cd.launch_fleet(kit, 2, FLEET, cd.ensure_instance_profile(kit, bucket), "")
    s3 = kit.client("s3")
    s3.put_object(Bucket=bucket, Key=cd.AGENT_READY_PREFIX + ids[0], Body=b"ready")
    with pytest.raises(TimeoutError, match=ids[1]):
        cd.wait_for_fleet(kit, ids, bucket, timeout=0)
    s3.put_object(Bucket=bucket, Key=cd.AGENT_READY_PREFIX + ids[1], Body=b"ready")
    cd.wait_for_fleet(kit, ids, bucket, timeout=0)


# --- start_fresh -----------------------------------------------------------------------------


def test_start_fresh_deletes_the_learners_application_and_configs(kit, capsys):
    codedeploy = kit.client("codedeploy")
    codedeploy.create_application(applicationName="labtest-greeting", tags=kit.tag_list())
    codedeploy.create_deployment_config(
        deploymentConfigName="labtest-two", minimumHealthyHosts={"type": "HOST_COUNT", "value": 1}
    )
    cd.start_fresh(kit, "labtest-greeting", config_names=("labtest-two", "labtest-none"))
    out = capsys.readouterr().out
    assert "Deleted application labtest-greeting" in out
    assert "Deleted deployment configuration labtest-two" in out
    assert "labtest-none" not in out
    assert codedeploy.list_applications()["applications"] == []
    assert "labtest-two" not in codedeploy.list_deployment_configs()["deploymentConfigsList"]
    cd.start_fresh(kit, "labtest-greeting")  # nothing left: nothing to do


def test_start_fresh_refuses_what_is_not_the_learners(kit):
    codedeploy = kit.client("codedeploy")
    codedeploy.create_application(
        applicationName="labtest-greeting", tags=[{"Key": "lab:owner", "Value": "someoneelse"}]
    )
    with pytest.raises(RuntimeError, match="not yours"):
        cd.start_fresh(kit, "labtest-greeting")
    with pytest.raises(ValueError):
        cd.start_fresh(kit, "other-app", config_names=("CodeDeployDefault.OneAtATime",))


# --- rollbacks and timelines -----------------------------------------------------------------


@pytest.fixture(name="group")
def group_fixture(kit, synchronous):
    """An application and a group of three instances; returns the CodeDeploy client."""
    bucket = cd.ensure_deploy_bucket(kit)
    cd.launch_fleet(kit, 3, FLEET, cd.ensure_instance_profile(kit, bucket), "")
    codedeploy = kit.client("codedeploy")
    codedeploy.create_application(applicationName="app", computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName="app",
        deploymentGroupName="web",
        serviceRoleArn=cd.ensure_service_role(kit),
        ec2TagFilters=[{"Key": "lab:fleet", "Value": "labtest-web", "Type": "KEY_AND_VALUE"}],
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
    )

    def deploy(data: bytes, key: str, config: str = "CodeDeployDefault.OneAtATime") -> str:
        kit.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
        return codedeploy.create_deployment(
            applicationName="app",
            deploymentGroupName="web",
            deploymentConfigName=config,
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": bucket, "key": key, "bundleType": "zip"},
            },
        )["deploymentId"]

    codedeploy.deploy = deploy
    return codedeploy


def failing_bundle() -> bytes:
    return make_zip(
        {
            "appspec.yml": appspec({"ValidateService": "scripts/validate.sh"}),
            "site/index.html": "<h1>v2</h1>\n",
            "scripts/validate.sh": "#!/bin/sh\necho broken >&2\nexit 1\n",
        }
    )


def test_wait_for_rollback_finds_the_rollback_deployment(group, no_sleep):
    good = group.deploy(standard_bundle("v1"), "v1.zip")
    bad = group.deploy(failing_bundle(), "v2.zip")
    rollback_id = cd.wait_for_rollback(group, bad)
    info = group.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert info["creator"] == "codeDeployRollback"
    assert info["rollbackInfo"]["rollbackTriggeringDeploymentId"] == bad
    assert info["revision"]["s3Location"]["key"] == "v1.zip"
    assert cd.wait_for_rollback(group, good, timeout=0) is None  # nothing to roll back


def test_wait_for_rollback_is_none_when_codedeploy_will_not_roll_back(group, no_sleep):
    bad = group.deploy(failing_bundle(), "v2.zip")  # no earlier good revision
    assert cd.wait_for_rollback(group, bad, timeout=5) is None
    assert no_sleep == []  # rollbackInfo said so at once


def test_timelines_show_sequencing_and_overlap(group, capsys):
    one = group.deploy(standard_bundle("v1"), "v1.zip")
    rows = cd.timeline(group, one)
    assert len(rows) == 3 and all(row["status"] == "Succeeded" for row in rows)
    assert all(a["end"] <= b["start"] for a, b in zip(rows, rows[1:], strict=False))
    assert cd.most_at_once(rows) == 1
    every = group.deploy(standard_bundle("v1"), "v1.zip", "CodeDeployDefault.AllAtOnce")
    shown = cd.show_timeline(group, every)
    assert cd.most_at_once(shown) == 3
    out = capsys.readouterr().out
    assert "CodeDeployDefault.AllAtOnce" in out and "at most 3 at once" in out


def test_timeline_lists_skipped_instances_last(group, capsys):
    group.deploy(standard_bundle("v1"), "v1.zip")
    bad = group.deploy(failing_bundle(), "v2.zip")
    rows = cd.timeline(group, bad)
    assert [row["status"] for row in rows] == ["Failed", "Skipped", "Skipped"]
    assert rows[1]["start"] is None and rows[1]["end"] is None
    cd.show_timeline(group, bad)
    assert "(Skipped)" in capsys.readouterr().out


def test_most_at_once_counts_touching_intervals_apart():
    t = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    s = dt.timedelta(seconds=1)
    rows = [
        {"start": t, "end": t + s},
        {"start": t + s, "end": t + 2 * s},
        {"start": t, "end": t + 3 * s},
        {"start": None, "end": None},
    ]
    assert cd.most_at_once(rows) == 2
    assert cd.most_at_once([]) == 0


def test_a_failed_deployment_is_shown_in_lines_that_fit_a_notebook(group, capsys, no_sleep):
    group.deploy(standard_bundle("v1"), "v1.zip")
    bad = group.deploy(failing_bundle(), "v2.zip")
    capsys.readouterr()
    cd.wait_for_deployment(group, bad)
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= cd.WIDTH for line in lines), max(lines, key=len)
    failed = next(i for i, line in enumerate(lines) if line.endswith("ValidateService   Failed"))
    assert lines[failed + 1].startswith("      ScriptFailed: ")  # the why, on its own line
    assert lines[failed + 2].startswith("      | ") and "broken" in lines[failed + 2]
    assert any(line.startswith("  HEALTH_CONSTRAINTS: ") for line in lines)


def test_a_long_line_of_script_output_is_cut_with_a_mark():
    assert cd._cut("x" * 300) == "x" * (cd.WIDTH - 1) + "\u2026"
    assert cd._cut("short") == "short"
