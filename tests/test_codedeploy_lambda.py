"""CodeDeploy to Lambda: an alias's traffic shifts from CurrentVersion to TargetVersion as the
deployment configuration says, hook functions report with PutLifecycleEventHookExecutionStatus
through the local server, a failed hook or an alarm rolls back (deployment-steps-lambda.md,
reference-appspec-file-structure-hooks.md, deployment-configurations.md).

LAB_CODEDEPLOY_TIME_SCALE compresses AWS's minutes so the shifts take a second or two."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.pipelines import create_role, trust_policy
from tests.test_lambda import zipped

SERVICE_ROLE = "arn:aws:iam::123456789012:role/CodeDeployLambdaRole"

APP_CODE = "def handler(event, context):\n    return {VERSION}\n"

# A hook as AWS's sample: it reads its ids and reports; RESULT says what.
HOOK_CODE = """
import os
import boto3


def handler(event, context):
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=os.environ["RESULT"],
    )
    return "reported"
"""


class World:
    def __init__(self, server_client, suffix: str) -> None:
        self.suffix = suffix
        self.lam = server_client("lambda")
        self.cd = server_client("codedeploy")
        self.cw = server_client("cloudwatch")
        iam = server_client("iam")
        create_role(iam, SERVICE_ROLE, "codedeploy.amazonaws.com")
        self.role = iam.create_role(
            RoleName=f"fn-{suffix}", AssumeRolePolicyDocument=trust_policy("lambda.amazonaws.com")
        )["Role"]["Arn"]
        self.function = f"app-{suffix}"
        self._create(self.function, APP_CODE.replace("{VERSION}", "1"))
        self.lam.publish_version(FunctionName=self.function)
        self.lam.update_function_code(
            FunctionName=self.function,
            ZipFile=zipped({"index.py": APP_CODE.replace("{VERSION}", "2")}),
        )
        self.lam.publish_version(FunctionName=self.function)
        self.lam.create_alias(FunctionName=self.function, Name="live", FunctionVersion="1")
        self.application = f"lambda-app-{suffix}"
        self.cd.create_application(applicationName=self.application, computePlatform="Lambda")

    def _create(self, name: str, code: str, environment: dict | None = None) -> None:
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="index.handler",
            Code={"ZipFile": zipped({"index.py": code})},
            Timeout=30,
            Environment={"Variables": environment or {}},
        )

    def hook(self, result: str, tag: str = "") -> str:
        name = f"hook-{result.lower()}{tag}-{self.suffix}"
        self._create(name, HOOK_CODE, {"RESULT": result})
        return name

    def group(self, config: str, **settings) -> str:
        name = f"group-{uuid.uuid4().hex[:6]}"
        self.cd.create_deployment_group(
            applicationName=self.application,
            deploymentGroupName=name,
            serviceRoleArn=SERVICE_ROLE,
            deploymentConfigName=config,
            **settings,
        )
        return name

    def deploy(self, group: str, hooks: dict | None = None, **properties) -> str:
        props = {
            "Name": self.function,
            "Alias": "live",
            "CurrentVersion": "1",
            "TargetVersion": "2",
            **properties,
        }
        appspec = {
            "version": 0.0,
            "Resources": [{"app": {"Type": "AWS::Lambda::Function", "Properties": props}}],
            "Hooks": [{event: function} for event, function in (hooks or {}).items()],
        }
        return self.deploy_text(group, json.dumps(appspec))

    def deploy_text(self, group: str, text: str) -> str:
        return self.cd.create_deployment(
            applicationName=self.application,
            deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": text}},
        )["deploymentId"]

    def alias(self) -> tuple[str, dict]:
        alias = self.lam.get_alias(FunctionName=self.function, Name="live")
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return alias["FunctionVersion"], weights

    def info(self, deployment_id: str) -> dict:
        return self.cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]

    def wait(self, deployment_id: str, seconds: float = 30) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            info = self.info(deployment_id)
            if info["status"] in ("Succeeded", "Failed", "Stopped"):
                return info
            time.sleep(0.05)
        raise AssertionError(f"deployment {deployment_id} did not finish")

    def target(self, deployment_id: str) -> dict:
        target_id = self.cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"][0]
        reply = self.cd.get_deployment_target(deploymentId=deployment_id, targetId=target_id)
        assert reply["deploymentTarget"]["deploymentTargetType"] == "LambdaTarget"
        return reply["deploymentTarget"]["lambdaTarget"]


@pytest.fixture
def world(server_client, background, monkeypatch) -> World:
    monkeypatch.setenv("LAB_PACE_SECONDS", "0")
    monkeypatch.setenv("LAB_CODEDEPLOY_TIME_SCALE", "0.004")  # 5 minutes: 1.2 s
    return World(server_client, uuid.uuid4().hex[:8])


def test_canary_shifts_ten_percent_then_all_with_hooks(world):
    group = world.group("CodeDeployDefault.LambdaCanary10Percent5Minutes")
    before, after = world.hook("Succeeded"), world.hook("Succeeded", "-after")
    deployment = world.deploy(group, {"BeforeAllowTraffic": before, "AfterAllowTraffic": after})
    seen = set()
    deadline = time.monotonic() + 30
    while world.info(deployment)["status"] not in ("Succeeded", "Failed", "Stopped"):
        version, weights = world.alias()
        seen.add((version, json.dumps(weights)))
        if weights:
            weight = world.target(deployment)["lambdaFunctionInfo"]["targetVersionWeight"]
            if world.alias() == (version, weights):  # still the canary step after that read
                assert weight == 10.0
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ("1", json.dumps({"2": 0.1})) in seen  # the canary, visible on the alias
    info = world.info(deployment)
    assert info["status"] == "Succeeded", info
    assert info["computePlatform"] == "Lambda"
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert world.alias() == ("2", {})
    target = world.target(deployment)
    assert target["targetId"] == f"{world.function}:live"
    assert target["lambdaFunctionInfo"] == {
        "functionName": world.function,
        "functionAlias": "live",
        "currentVersion": "1",
        "targetVersion": "2",
        "targetVersionWeight": 100.0,
    }
    assert [(e["lifecycleEventName"], e["status"]) for e in target["lifecycleEvents"]] == [
        ("BeforeAllowTraffic", "Succeeded"),
        ("AllowTraffic", "Succeeded"),
        ("AfterAllowTraffic", "Succeeded"),
    ]
    # The alias now sends every invocation to version 2.
    assert world.lam.invoke(FunctionName=world.function, Qualifier="live")["Payload"].read() == b"2"


def test_linear_grows_ten_percent_at_a_time(world, monkeypatch):
    monkeypatch.setenv("LAB_CODEDEPLOY_TIME_SCALE", "0.003")  # 1 minute: 0.18 s
    group = world.group("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
    deployment = world.deploy(group)
    shares = []
    while world.info(deployment)["status"] == "InProgress" or not shares:
        _, weights = world.alias()
        if weights and (not shares or shares[-1] != weights["2"]):
            shares.append(weights["2"])
        time.sleep(0.02)
    assert world.wait(deployment)["status"] == "Succeeded"
    assert shares == sorted(shares) and len(shares) >= 5, shares
    assert all(round(share * 10, 6) == int(round(share * 10)) for share in shares)
    assert world.alias() == ("2", {})


def test_all_at_once(world):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    assert world.wait(world.deploy(group))["status"] == "Succeeded"
    assert world.alias() == ("2", {})


def test_a_failed_hook_rolls_back(world):
    group = world.group(
        "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
    )
    deployment = world.deploy(group, {"AfterAllowTraffic": world.hook("Failed")})
    info = world.wait(deployment)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    events = {e["lifecycleEventName"]: e for e in world.target(deployment)["lifecycleEvents"]}
    assert events["AfterAllowTraffic"]["status"] == "Failed"
    assert events["AfterAllowTraffic"]["diagnostics"]["errorCode"] == "ScriptFailed"
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    rolled = world.wait(rollback)
    assert rolled["status"] == "Succeeded"
    assert rolled["creator"] == "codeDeployRollback"
    assert rolled["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment
    assert world.alias() == ("1", {})


def test_a_failed_before_hook_without_rollback_leaves_the_alias(world):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    deployment = world.deploy(group, {"BeforeAllowTraffic": world.hook("Failed")})
    info = world.wait(deployment)
    assert info["status"] == "Failed" and "rollbackInfo" not in info
    events = [e["status"] for e in world.target(deployment)["lifecycleEvents"]]
    assert events == ["Failed", "Skipped", "Skipped"]
    assert world.alias() == ("1", {})


def test_an_alarm_stops_and_rolls_back(world):
    alarm = f"errors-{world.suffix}"
    world.cw.put_metric_alarm(
        AlarmName=alarm,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    world.cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fine")
    group = world.group(
        "CodeDeployDefault.LambdaCanary10Percent10Minutes",
        alarmConfiguration={"enabled": True, "alarms": [{"name": alarm}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM"]},
    )
    deployment = world.deploy(group)
    deadline = time.monotonic() + 20
    while world.alias()[1] != {"2": 0.1}:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    world.cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="errors")
    info = world.wait(deployment)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    world.cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fine")
    assert world.wait(info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert world.alias() == ("1", {})


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"Alias": "missing"}, "INVALID_LAMBDA_CONFIGURATION"),
        ({"TargetVersion": "9"}, "INVALID_LAMBDA_CONFIGURATION"),
        ({"CurrentVersion": "2"}, "INVALID_LAMBDA_CONFIGURATION"),
        ({"Name": "no-such-function"}, "INVALID_LAMBDA_FUNCTION"),
    ],
)
def test_a_wrong_function_alias_or_version_fails(world, properties, code):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    info = world.wait(world.deploy(group, **properties))
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == code
    assert world.alias() == ("1", {})


@pytest.mark.parametrize(
    "text",
    [
        "not: [valid",
        json.dumps({"Resources": []}),
        json.dumps({"Resources": [{"f": {"Type": "AWS::ECS::Service", "Properties": {}}}]}),
    ],
)
def test_an_unusable_appspec_fails_the_deployment(world, text):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    info = world.wait(world.deploy_text(group, text))
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "INVALID_REVISION"


def test_revision_and_config_errors(world):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    with pytest.raises(world.cd.exceptions.InvalidRevisionException):
        world.cd.create_deployment(
            applicationName=world.application,
            deploymentGroupName=group,
            revision={
                "revisionType": "GitHub",
                "gitHubLocation": {"repository": "a/b", "commitId": "c"},
            },
        )
    with pytest.raises(world.cd.exceptions.InvalidDeploymentConfigNameException):
        world.cd.create_deployment(
            applicationName=world.application,
            deploymentGroupName=group,
            deploymentConfigName="CodeDeployDefault.OneAtATime",
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "x: 1"}},
        )
    deployment = world.wait(world.deploy(group))["deploymentId"]
    with pytest.raises(world.cd.exceptions.InvalidLifecycleEventHookExecutionIdException):
        world.cd.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId="nope", status="Succeeded"
        )


def test_lambda_groups_default_to_all_at_once_traffic_control(world):
    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    name = f"defaults-{world.suffix}"
    world.cd.create_deployment_group(
        applicationName=world.application, deploymentGroupName=name, serviceRoleArn=SERVICE_ROLE
    )
    info = world.cd.get_deployment_group(
        applicationName=world.application, deploymentGroupName=name
    )["deploymentGroupInfo"]
    assert info["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    assert info["deploymentStyle"] == {
        "deploymentType": "BLUE_GREEN",
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert group


def test_the_pipeline_view_shows_a_lambda_deployments_shift_and_hooks(world, server_client):
    from helpers import views

    group = world.group("CodeDeployDefault.LambdaAllAtOnce")
    deployment = world.deploy(group, {"BeforeAllowTraffic": world.hook("Succeeded")})
    assert world.wait(deployment)["status"] == "Succeeded"
    # any pipeline name: the panel reads CodeDeploy only
    view = views.pipeline_view(server_client("codepipeline"), "no-such-pipeline")
    panel = view.deployment_events(deployment)
    view.close()
    assert f"Deployment <code>{deployment}</code>: Succeeded" in panel
    assert f"<code>{world.function}</code> live: version 1 &rarr; 2, 100% of traffic" in panel
    assert "BeforeAllowTraffic Succeeded, AllowTraffic Succeeded" in panel
