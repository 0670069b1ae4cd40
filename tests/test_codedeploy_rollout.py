"""Deployment configurations, rollback, stop, instance selection and the targets API."""

from __future__ import annotations

import time

import pytest

from helpers.emulator import workers
from helpers.emulator.codedeploy.rollout import (
    can_start,
    minimum_healthy_hosts,
    overall_success,
)
from tests.deployments import Lab, appspec, make_zip, root


@pytest.fixture
def lab(deploy_lab: Lab) -> Lab:
    """These tests' `lab` is a CodeDeploy application (conftest's `lab` is a pipeline's)."""
    return deploy_lab


FAIL_WHEN_MARKED = '#!/bin/sh\nsleep 0.2\nif [ -e "$LAB_INSTANCE_ROOT/fail-me" ]; then exit 1; fi\n'


def marked_bundle() -> bytes:
    """Each instance takes ~0.2 s and fails if its folder holds a fail-me file."""
    return make_zip(
        {
            "appspec.yml": appspec({"ValidateService": "check.sh"}),
            "site/index.html": "x",
            "check.sh": FAIL_WHEN_MARKED,
        }
    )


def mark_failing(instance_id: str) -> None:
    root(instance_id).mkdir(parents=True, exist_ok=True)
    (root(instance_id) / "fail-me").write_text("")


def windows(lab: Lab, deployment_id: str, instance_ids: list[str]) -> list[tuple]:
    """(start, end) of each instance's deployment, in the order the instances ran."""
    spans = []
    for instance_id in instance_ids:
        events = lab.instance_summary(deployment_id, instance_id)["lifecycleEvents"]
        times = [event for event in events if event.get("startTime")]
        if times:
            spans.append(
                (times[0]["startTime"], max(e.get("endTime") or e["startTime"] for e in times))
            )
    return sorted(spans)


def overlapping(spans: list[tuple]) -> int:
    """The largest number of instances deploying at the same moment."""
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)


def statuses(lab: Lab, deployment_id: str, instance_ids: list[str]) -> list[str]:
    return [lab.instance_summary(deployment_id, i)["status"] for i in instance_ids]


@pytest.mark.parametrize(
    "config, expected",
    [
        ("CodeDeployDefault.OneAtATime", 1),
        ("CodeDeployDefault.HalfAtATime", 2),
        ("CodeDeployDefault.AllAtOnce", 4),
    ],
)
def test_configuration_sets_how_many_instances_deploy_at_once(lab, config, expected):
    ids = lab.instances(4)
    lab.create_group(deploymentConfigName=config)
    info = lab.run(marked_bundle())
    assert info["status"] == "Succeeded"
    assert overlapping(windows(lab, info["deploymentId"], ids)) == expected


def test_one_at_a_time_fails_when_a_non_last_instance_fails(lab):
    ids = lab.instances(3)
    lab.create_group()
    for instance_id in ids:
        mark_failing(instance_id)  # whichever goes first fails
    info = lab.run(marked_bundle())
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    assert sorted(statuses(lab, info["deploymentId"], ids)) == ["Failed", "Skipped", "Skipped"]
    assert info["deploymentOverview"]["Skipped"] == 2


def test_one_at_a_time_succeeds_when_only_the_last_instance_fails(lab):
    ids = lab.instances(3)
    lab.create_group()
    lab.run(marked_bundle())  # all healthy now: the order is stable
    first = lab.run(marked_bundle())
    order = [
        span_id
        for _, span_id in sorted(
            (lab.instance_summary(first["deploymentId"], i)["lifecycleEvents"][0]["startTime"], i)
            for i in ids
        )
    ]
    mark_failing(order[-1])
    info = lab.run(marked_bundle())
    assert statuses(lab, info["deploymentId"], order) == ["Succeeded", "Succeeded", "Failed"]
    assert info["status"] == "Succeeded"


def test_all_at_once_succeeds_if_one_instance_succeeds(lab):
    ids = lab.instances(3)
    lab.create_group(deploymentConfigName="CodeDeployDefault.AllAtOnce")
    for instance_id in ids[:2]:
        mark_failing(instance_id)
    info = lab.run(marked_bundle())
    assert info["status"] == "Succeeded"
    assert info["deploymentOverview"]["Failed"] == 2
    mark_failing(ids[2])
    assert lab.run(marked_bundle())["status"] == "Failed"


def test_half_at_a_time_needs_half_the_instances(lab):
    ids = lab.instances(4)
    lab.create_group(deploymentConfigName="CodeDeployDefault.HalfAtATime")
    mark_failing(ids[0])
    assert lab.run(marked_bundle())["status"] == "Succeeded"  # 3 of 4 >= 2
    mark_failing(ids[1])
    mark_failing(ids[2])
    info = lab.run(marked_bundle())
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"


def test_half_at_a_time_cannot_start_on_one_instance(lab):
    lab.instances(1)
    lab.create_group(deploymentConfigName="CodeDeployDefault.HalfAtATime")
    info = lab.run(marked_bundle())
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS_INVALID"


def test_custom_minimum_healthy_hosts(lab):
    ids = lab.instances(4)
    lab.deploy.create_deployment_config(
        deploymentConfigName="ThreeHealthy", minimumHealthyHosts={"type": "HOST_COUNT", "value": 2}
    )
    lab.create_group(deploymentConfigName="ThreeHealthy")
    info = lab.run(marked_bundle())
    assert overlapping(windows(lab, info["deploymentId"], ids)) == 2
    config = lab.deploy.get_deployment_config(deploymentConfigName="ThreeHealthy")
    assert config["deploymentConfigInfo"]["minimumHealthyHosts"] == {
        "type": "HOST_COUNT",
        "value": 2,
    }


def test_health_rules_follow_the_user_guide_examples():
    # 10 instances, minimum 9: one at a time; 8: two at a time; 0: all at once.
    assert [can_start(10, 9, 0, n) for n in (0, 1)] == [True, False]
    assert [can_start(10, 8, 0, n) for n in (1, 2)] == [True, False]
    assert can_start(10, 0, 0, 9)
    # 95% of 10 rounds up to 10: the deployment cannot start.
    assert minimum_healthy_hosts("x", {"type": "FLEET_PERCENT", "value": 95}, 10) == 10
    # HalfAtATime on 9 instances: minimum 5, four at a time, succeeds with 5.
    assert minimum_healthy_hosts("x", {"type": "FLEET_PERCENT", "value": 50}, 9) == 5
    assert can_start(9, 5, 0, 3) and not can_start(9, 5, 0, 4)
    assert overall_success(5, 5) and not overall_success(5, 4)
    assert not overall_success(0, 0)


def test_failure_rolls_back_to_the_last_successful_revision(lab):
    [instance] = lab.instances(1)
    lab.create_group(autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})
    # Separate keys: redeploying an overwritten S3 key would deploy the new content.
    good = lab.run(
        revision=lab.upload(
            make_zip({"appspec.yml": appspec(), "site/index.html": "good"}), key="good.zip"
        )
    )
    bad_bundle = make_zip(
        {
            "appspec.yml": appspec({"ValidateService": "fail.sh"}),
            "site/index.html": "bad",
            "fail.sh": "#!/bin/sh\nexit 1\n",
        }
    )
    bad = lab.run(revision=lab.upload(bad_bundle, key="bad.zip"))

    assert bad["status"] == "Failed"
    rollback_id = bad["rollbackInfo"]["rollbackDeploymentId"]
    rollback = lab.deploy.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["revision"] == good["revision"]
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == bad["deploymentId"]
    assert rollback["status"] == "Succeeded"
    assert (root(instance) / "var/www/html/index.html").read_text() == "good"
    group = lab.deploy.get_deployment_group(
        applicationName=lab.application, deploymentGroupName=lab.group
    )["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == rollback_id


def test_no_rollback_without_a_previous_success(lab):
    lab.instances(1)
    lab.create_group(autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})
    bad = lab.run(make_zip({"index.html": "no appspec"}))
    assert bad["status"] == "Failed"
    assert "rollbackDeploymentId" not in bad.get("rollbackInfo", {})
    assert len(lab.deploy.list_deployments()["deployments"]) == 1


def test_stop_deployment_stops_and_skips_the_rest(lab):
    ids = lab.instances(3)
    lab.create_group()
    revision = lab.upload(
        make_zip(
            {
                "appspec.yml": appspec({"AfterInstall": "slow.sh"}),
                "site/index.html": "x",
                "slow.sh": "#!/bin/sh\nsleep 20\n",
            }
        )
    )
    workers.set_synchronous(False)
    deployment_id = lab.deploy.create_deployment(
        applicationName=lab.application, deploymentGroupName=lab.group, revision=revision
    )["deploymentId"]
    deadline = time.monotonic() + 10
    while (
        lab.deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"][
            "deploymentOverview"
        ]["InProgress"]
        == 0
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(lab.deploy.exceptions.DeploymentLimitExceededException):
        lab.deploy.create_deployment(
            applicationName=lab.application, deploymentGroupName=lab.group, revision=revision
        )
    reply = lab.deploy.stop_deployment(deploymentId=deployment_id)
    assert reply["status"] == "Pending"
    while lab.deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] not in (
        "Stopped",
        "Failed",
        "Succeeded",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    info = lab.deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Stopped"
    assert sorted(statuses(lab, deployment_id, ids)) == ["Failed", "Skipped", "Skipped"]
    with pytest.raises(lab.deploy.exceptions.DeploymentAlreadyCompletedException):
        lab.deploy.stop_deployment(deploymentId=deployment_id)


def test_tag_filters_are_ored_and_tag_sets_anded(lab):
    web = lab.instances(1, {"Role": "web", "Env": "prod"})
    api = lab.instances(1, {"Role": "api", "Env": "prod"})
    test_web = lab.instances(1, {"Role": "web", "Env": "test"})
    lab.instances(1, {"Other": "x"})

    def deployed_to(group: str) -> set[str]:
        info = lab.run(make_zip({"appspec.yml": appspec(files="")}), deploymentGroupName=group)
        return set(
            lab.deploy.list_deployment_instances(deploymentId=info["deploymentId"])["instancesList"]
        )

    lab.create_group(
        "ored",
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
        ec2TagFilters=[
            {"Key": "Role", "Value": "api", "Type": "KEY_AND_VALUE"},
            {"Value": "test", "Type": "VALUE_ONLY"},
        ],
    )
    assert deployed_to("ored") == set(api + test_web)
    lab.create_group(
        "anded",
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
        ec2TagFilters=[],
        ec2TagSet={
            "ec2TagSetList": [
                [{"Key": "Role", "Value": "web", "Type": "KEY_AND_VALUE"}],
                [{"Key": "Env", "Value": "prod", "Type": "KEY_AND_VALUE"}],
            ]
        },
    )
    assert deployed_to("anded") == set(web)
    lab.create_group(
        "keyonly",
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
        ec2TagFilters=[{"Key": "Role", "Type": "KEY_ONLY"}],
    )
    assert deployed_to("keyonly") == set(web + api + test_web)


def test_stopped_ec2_instances_are_not_targets(lab):
    running, stopped = lab.instances(2)
    lab.ec2.stop_instances(InstanceIds=[stopped])
    lab.create_group()
    info = lab.run(make_zip({"appspec.yml": appspec(files="")}))
    assert lab.deploy.list_deployment_instances(deploymentId=info["deploymentId"])[
        "instancesList"
    ] == [running]


def test_on_premises_instances_are_registered_tagged_and_deployed_to(lab):
    deploy = lab.deploy
    deploy.register_on_premises_instance(
        instanceName="onprem-1", iamUserArn="arn:aws:iam::123456789012:user/onprem-1"
    )
    deploy.register_on_premises_instance(
        instanceName="onprem-2",
        iamSessionArn="arn:aws:sts::123456789012:assumed-role/OnPrem/onprem-2",
    )
    deploy.add_tags_to_on_premises_instances(
        tags=[{"Key": "Site", "Value": "lyon"}], instanceNames=["onprem-1", "onprem-2"]
    )
    deploy.remove_tags_from_on_premises_instances(
        tags=[{"Key": "Site", "Value": "lyon"}], instanceNames=["onprem-2"]
    )
    info = deploy.get_on_premises_instance(instanceName="onprem-1")["instanceInfo"]
    assert info["tags"] == [{"Key": "Site", "Value": "lyon"}]
    assert info["instanceArn"].startswith("arn:aws:codedeploy:us-east-1:123456789012:instance/")
    assert deploy.list_on_premises_instances(
        tagFilters=[{"Key": "Site", "Value": "lyon", "Type": "KEY_AND_VALUE"}]
    )["instanceNames"] == ["onprem-1"]
    with pytest.raises(deploy.exceptions.InstanceNameAlreadyRegisteredException):
        deploy.register_on_premises_instance(
            instanceName="onprem-1", iamUserArn="arn:aws:iam::123456789012:user/other"
        )
    with pytest.raises(deploy.exceptions.IamUserArnAlreadyRegisteredException):
        deploy.register_on_premises_instance(
            instanceName="onprem-3", iamUserArn="arn:aws:iam::123456789012:user/onprem-1"
        )

    lab.create_group(
        ec2TagFilters=[],
        onPremisesInstanceTagFilters=[{"Key": "Site", "Value": "lyon", "Type": "KEY_AND_VALUE"}],
    )
    result = lab.run(make_zip({"appspec.yml": appspec(), "site/index.html": "on prem"}))
    assert result["status"] == "Succeeded"
    assert (root("onprem-1") / "var/www/html/index.html").read_text() == "on prem"

    deploy.deregister_on_premises_instance(instanceName="onprem-1")
    assert deploy.list_on_premises_instances(registrationStatus="Deregistered")[
        "instanceNames"
    ] == ["onprem-1"]
    assert (
        "deregisterTime"
        in deploy.batch_get_on_premises_instances(instanceNames=["onprem-1"])["instanceInfos"][0]
    )
    assert (
        lab.run(make_zip({"appspec.yml": appspec(files="")}))["errorInformation"]["code"]
        == "NO_INSTANCES"
    )


def test_targets_api_describes_instances(lab):
    [instance] = lab.instances(1)
    lab.create_group()
    info = lab.run()
    deployment_id = info["deploymentId"]
    assert lab.deploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [instance]
    assert (
        lab.deploy.list_deployment_targets(
            deploymentId=deployment_id, targetFilters={"TargetStatus": ["Failed"]}
        )["targetIds"]
        == []
    )
    target = lab.deploy.get_deployment_target(deploymentId=deployment_id, targetId=instance)[
        "deploymentTarget"
    ]
    assert target["deploymentTargetType"] == "InstanceTarget"
    instance_target = target["instanceTarget"]
    assert instance_target["targetId"] == instance
    assert instance_target["targetArn"].endswith(f"instance/{instance}")
    assert instance_target["status"] == "Succeeded"
    assert len(instance_target["lifecycleEvents"]) == 7
    batch = lab.deploy.batch_get_deployment_targets(
        deploymentId=deployment_id, targetIds=[instance]
    )
    assert batch["deploymentTargets"] == [target]
    summaries = lab.deploy.batch_get_deployment_instances(
        deploymentId=deployment_id, instanceIds=[instance]
    )
    assert summaries["instancesSummary"][0]["status"] == "Succeeded"
    with pytest.raises(lab.deploy.exceptions.DeploymentTargetDoesNotExistException):
        lab.deploy.get_deployment_target(deploymentId=deployment_id, targetId="i-nope")
