"""Applications, deployment groups, configurations, tags and errors (names and HTTP 400)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers.codedeploy import wait_for_deployment
from tests.deployments import BUCKET, ROLE, Lab, appspec, make_zip


@pytest.fixture
def lab(deploy_lab: Lab) -> Lab:
    """These tests' `lab` is a CodeDeploy application (conftest's `lab` is a pipeline's)."""
    return deploy_lab


def error_of(call, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_applications_crud_and_tags(client):
    deploy = client("codedeploy")
    application_id = deploy.create_application(
        applicationName="shop", tags=[{"Key": "team", "Value": "blue"}]
    )["applicationId"]
    info = deploy.get_application(applicationName="shop")["application"]
    assert info["applicationId"] == application_id
    assert info["computePlatform"] == "Server"
    arn = "arn:aws:codedeploy:us-east-1:123456789012:application:shop"
    assert deploy.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "blue"}
    ]
    deploy.tag_resource(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "lab"}])
    deploy.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert deploy.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "stage", "Value": "lab"}
    ]
    deploy.update_application(applicationName="shop", newApplicationName="store")
    assert deploy.list_applications()["applications"] == ["store"]
    assert (
        deploy.batch_get_applications(applicationNames=["store"])["applicationsInfo"][0][
            "applicationName"
        ]
        == "store"
    )
    assert error_of(deploy.create_application, applicationName="store") == (
        "ApplicationAlreadyExistsException",
        400,
    )
    deploy.delete_application(applicationName="store")
    assert error_of(deploy.get_application, applicationName="store") == (
        "ApplicationDoesNotExistException",
        400,
    )


def test_names_longer_than_the_model_allows_are_invalid(client):
    deploy = client("codedeploy")
    long_name = "n" * 101
    assert error_of(deploy.create_application, applicationName=long_name) == (
        "InvalidApplicationNameException",
        400,
    )
    deploy.create_application(applicationName="a" * 100)
    assert error_of(
        deploy.update_application, applicationName="a" * 100, newApplicationName=long_name
    ) == ("InvalidApplicationNameException", 400)
    assert error_of(
        deploy.create_deployment_group,
        applicationName="a" * 100,
        deploymentGroupName=long_name,
        serviceRoleArn=ROLE,
    ) == ("InvalidDeploymentGroupNameException", 400)
    assert error_of(
        deploy.create_deployment_config,
        deploymentConfigName=long_name,
        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1},
    ) == ("InvalidDeploymentConfigNameException", 400)
    assert deploy.list_applications()["applications"] == ["a" * 100]


def test_deployment_groups_crud(client):
    deploy = client("codedeploy")
    deploy.create_application(applicationName="shop")
    group_id = deploy.create_deployment_group(
        applicationName="shop",
        deploymentGroupName="prod",
        serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "Env", "Value": "prod", "Type": "KEY_AND_VALUE"}],
        tags=[{"Key": "k", "Value": "v"}],
    )["deploymentGroupId"]
    info = deploy.get_deployment_group(applicationName="shop", deploymentGroupName="prod")[
        "deploymentGroupInfo"
    ]
    assert info["deploymentGroupId"] == group_id
    assert info["deploymentConfigName"] == "CodeDeployDefault.OneAtATime"
    assert info["serviceRoleArn"] == ROLE
    assert info["computePlatform"] == "Server"
    assert info["deploymentStyle"] == {
        "deploymentType": "IN_PLACE",
        "deploymentOption": "WITHOUT_TRAFFIC_CONTROL",
    }
    deploy.update_deployment_group(
        applicationName="shop",
        currentDeploymentGroupName="prod",
        newDeploymentGroupName="production",
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
    )
    assert deploy.list_deployment_groups(applicationName="shop")["deploymentGroups"] == [
        "production"
    ]
    batch = deploy.batch_get_deployment_groups(
        applicationName="shop", deploymentGroupNames=["production", "nope"]
    )
    assert batch["deploymentGroupsInfo"][0]["deploymentConfigName"] == (
        "CodeDeployDefault.AllAtOnce"
    )
    assert "nope" in batch["errorMessage"]
    arn = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/production"
    assert deploy.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    deploy.delete_deployment_group(applicationName="shop", deploymentGroupName="production")
    assert error_of(
        deploy.get_deployment_group, applicationName="shop", deploymentGroupName="production"
    ) == ("DeploymentGroupDoesNotExistException", 400)


def test_deployment_group_errors(client):
    deploy = client("codedeploy")
    deploy.create_application(applicationName="shop")
    create = deploy.create_deployment_group
    assert error_of(
        create, applicationName="nope", deploymentGroupName="g", serviceRoleArn=ROLE
    ) == ("ApplicationDoesNotExistException", 400)
    assert error_of(
        create, applicationName="shop", deploymentGroupName="g", serviceRoleArn="not-a-role"
    ) == ("InvalidRoleException", 400)
    assert error_of(
        create,
        applicationName="shop",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
        deploymentConfigName="Nope",
    ) == ("DeploymentConfigDoesNotExistException", 400)
    assert error_of(
        create,
        applicationName="shop",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "a", "Value": "b", "Type": "KEY_AND_VALUE"}],
        ec2TagSet={"ec2TagSetList": [[{"Key": "a", "Type": "KEY_ONLY"}]]},
    ) == ("InvalidEC2TagCombinationException", 400)
    create(applicationName="shop", deploymentGroupName="g", serviceRoleArn=ROLE)
    assert error_of(
        create, applicationName="shop", deploymentGroupName="g", serviceRoleArn=ROLE
    ) == ("DeploymentGroupAlreadyExistsException", 400)


def test_deployment_configs(client):
    deploy = client("codedeploy")
    names = deploy.list_deployment_configs()["deploymentConfigsList"]
    assert {
        "CodeDeployDefault.OneAtATime",
        "CodeDeployDefault.HalfAtATime",
        "CodeDeployDefault.AllAtOnce",
    } <= set(names)
    half = deploy.get_deployment_config(deploymentConfigName="CodeDeployDefault.HalfAtATime")
    assert half["deploymentConfigInfo"]["minimumHealthyHosts"] == {
        "type": "FLEET_PERCENT",
        "value": 50,
    }
    deploy.create_deployment_config(
        deploymentConfigName="Most", minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 75}
    )
    assert error_of(
        deploy.create_deployment_config,
        deploymentConfigName="Most",
        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1},
    ) == ("DeploymentConfigAlreadyExistsException", 400)
    assert error_of(
        deploy.create_deployment_config,
        deploymentConfigName="Bad",
        minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 150},
    ) == ("InvalidMinimumHealthyHostValueException", 400)
    assert error_of(
        deploy.delete_deployment_config, deploymentConfigName="CodeDeployDefault.AllAtOnce"
    ) == ("InvalidOperationException", 400)
    deploy.create_application(applicationName="shop")
    deploy.create_deployment_group(
        applicationName="shop",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
        deploymentConfigName="Most",
    )
    assert error_of(deploy.delete_deployment_config, deploymentConfigName="Most") == (
        "DeploymentConfigInUseException",
        400,
    )
    deploy.delete_deployment_group(applicationName="shop", deploymentGroupName="g")
    deploy.delete_deployment_config(deploymentConfigName="Most")
    assert error_of(deploy.get_deployment_config, deploymentConfigName="Most") == (
        "DeploymentConfigDoesNotExistException",
        400,
    )


def test_deployment_errors(client):
    deploy = client("codedeploy")
    assert error_of(deploy.get_deployment, deploymentId="d-ABCDEFGHI") == (
        "DeploymentDoesNotExistException",
        400,
    )
    assert error_of(deploy.get_deployment, deploymentId="nope") == (
        "InvalidDeploymentIdException",
        400,
    )
    revision = {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k.zip"}}
    assert error_of(
        deploy.create_deployment, applicationName="nope", deploymentGroupName="g", revision=revision
    ) == ("ApplicationDoesNotExistException", 400)
    deploy.create_application(applicationName="shop")
    assert error_of(
        deploy.create_deployment, applicationName="shop", deploymentGroupName="g", revision=revision
    ) == ("DeploymentGroupDoesNotExistException", 400)
    assert error_of(deploy.create_deployment, applicationName="shop", revision=revision) == (
        "DeploymentGroupNameRequiredException",
        400,
    )
    deploy.create_deployment_group(
        applicationName="shop", deploymentGroupName="g", serviceRoleArn=ROLE
    )
    assert error_of(deploy.create_deployment, applicationName="shop", deploymentGroupName="g") == (
        "RevisionRequiredException",
        400,
    )
    assert error_of(
        deploy.create_deployment,
        applicationName="shop",
        deploymentGroupName="g",
        revision=revision,
        deploymentConfigName="Nope",
    ) == ("DeploymentConfigDoesNotExistException", 400)
    assert error_of(deploy.list_deployments, applicationName="shop") == (
        "DeploymentGroupNameRequiredException",
        400,
    )
    assert error_of(deploy.get_on_premises_instance, instanceName="ghost") == (
        "InstanceNotRegisteredException",
        400,
    )
    assert error_of(deploy.register_on_premises_instance, instanceName="x") == (
        "IamArnRequiredException",
        400,
    )


def test_list_deployments_filters(lab):
    lab.instances(1)
    lab.create_group()
    ok = lab.run(make_zip({"appspec.yml": appspec(files="")}))
    failed = lab.run(make_zip({"nothing": ""}))
    listed = lab.deploy.list_deployments(
        applicationName=lab.application, deploymentGroupName=lab.group
    )["deployments"]
    assert listed == [failed["deploymentId"], ok["deploymentId"]]
    assert lab.deploy.list_deployments(includeOnlyStatuses=["Failed"])["deployments"] == [
        failed["deploymentId"]
    ]
    later = lab.deploy.list_deployments(createTimeRange={"start": failed["createTime"]})
    assert later["deployments"] == [failed["deploymentId"]]
    infos = lab.deploy.batch_get_deployments(deploymentIds=listed)["deploymentsInfo"]
    assert {info["status"] for info in infos} == {"Succeeded", "Failed"}
    group = lab.deploy.get_deployment_group(
        applicationName=lab.application, deploymentGroupName=lab.group
    )["deploymentGroupInfo"]
    assert group["lastAttemptedDeployment"]["deploymentId"] == failed["deploymentId"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == ok["deploymentId"]
    assert group["targetRevision"] == failed["revision"]


def test_deployment_over_http_with_a_background_worker(server_client, capsys):
    """The local server: the worker runs in the background and wait_for_deployment follows."""
    deploy, s3, ec2 = server_client("codedeploy"), server_client("s3"), server_client("ec2")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET,
        Key="http.zip",
        Body=make_zip(
            {
                "appspec.yml": appspec({"ValidateService": "check.sh"}),
                "site/index.html": "http",
                "check.sh": "#!/bin/sh\necho checked\n",
            }
        ),
    )
    [instance] = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Http", "Value": "yes"}]}
            ],
        )["Instances"]
    ]
    deploy.create_application(applicationName="http-app")
    deploy.create_deployment_group(
        applicationName="http-app",
        deploymentGroupName="http-group",
        serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "Http", "Value": "yes", "Type": "KEY_AND_VALUE"}],
    )
    deployment_id = deploy.create_deployment(
        applicationName="http-app",
        deploymentGroupName="http-group",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": BUCKET, "key": "http.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    info = wait_for_deployment(deploy, deployment_id, timeout=30, poll_seconds=0.1)
    assert info["status"] == "Succeeded"
    shown = capsys.readouterr().out
    assert f"{instance}" in shown and "ValidateService" in shown and "Succeeded" in shown
    assert error_of(
        deploy.get_deployment_group, applicationName="http-app", deploymentGroupName="nope"
    ) == ("DeploymentGroupDoesNotExistException", 400)
    from helpers.codedeploy import instance_root

    assert (instance_root(instance) / "var/www/html/index.html").read_text() == "http"


def test_ecs_deployment_says_the_kit_does_not_run_it_yet(client):
    """Not InvalidComputePlatformException: AWS runs ECS deployments; the kit does not yet,
    and its error says so in its own name."""
    deploy = client("codedeploy")
    deploy.create_application(applicationName="fn", computePlatform="ECS")
    deploy.create_deployment_group(
        applicationName="fn",
        deploymentGroupName="live",
        serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployRole",
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
    )
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}}
    with pytest.raises(ClientError) as caught:
        deploy.create_deployment(
            applicationName="fn", deploymentGroupName="live", revision=revision
        )
    assert caught.value.response["Error"]["Code"] == "NotImplementedByLabKit"
    assert "ECS deployments" in caught.value.response["Error"]["Message"]


def test_tagging_api_sees_applications_and_deployment_groups(client):
    deploy, tagging = client("codedeploy"), client("resourcegroupstaggingapi")
    deploy.create_application(applicationName="shop", tags=[{"Key": "team", "Value": "web"}])
    deploy.create_deployment_group(
        applicationName="shop",
        deploymentGroupName="live",
        serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployRole",
        tags=[{"Key": "team", "Value": "web"}],
    )
    deploy.create_application(applicationName="untagged")
    found = tagging.get_resources(TagFilters=[{"Key": "team", "Values": ["web"]}])
    arns = sorted(r["ResourceARN"] for r in found["ResourceTagMappingList"])
    assert arns == [
        "arn:aws:codedeploy:us-east-1:123456789012:application:shop",
        "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/live",
    ]
    groups = tagging.get_resources(ResourceTypeFilters=["codedeploy:deploymentgroup"])
    assert len(groups["ResourceTagMappingList"]) == 1
    tagging.tag_resources(ResourceARNList=[arns[0]], Tags={"stage": "prod"})
    tags = deploy.list_tags_for_resource(ResourceArn=arns[0])["Tags"]
    assert {"Key": "stage", "Value": "prod"} in tags
    tagging.untag_resources(ResourceARNList=[arns[0]], TagKeys=["team"])
    assert deploy.list_tags_for_resource(ResourceArn=arns[0])["Tags"] == [
        {"Key": "stage", "Value": "prod"}
    ]
