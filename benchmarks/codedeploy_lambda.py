"""Time of a CodeDeployDefault.LambdaCanary10Percent5Minutes deployment offline, minutes
compressed: CreateDeployment to Succeeded, with a BeforeAllowTraffic hook that reports
through the local server, the canary (10 % for "5 minutes") then 100 %.

LAB_CODEDEPLOY_TIME_SCALE (default here 0.01: 5 minutes are 3 s) compresses AWS's minutes.
Target: < 10 s. Run: python benchmarks/codedeploy_lambda.py [time scale]
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))
os.environ["LAB_CODEDEPLOY_TIME_SCALE"] = sys.argv[1] if len(sys.argv) > 1 else "0.01"

import boto3  # noqa: E402

from helpers.emulator.server import LocalServer  # noqa: E402

APP = "def handler(event, context):\n    return {version}\n"
HOOK = """
import boto3

def handler(event, context):
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status="Succeeded",
    )
"""


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def package(code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", code)
    return buffer.getvalue()


def main() -> None:
    server = LocalServer().start()
    try:
        key, secret = server.credentials
        session = boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
        )
        iam, lam, cd = (
            session.client(name, endpoint_url=server.endpoint)
            for name in ("iam", "lambda", "codedeploy")
        )
        role = iam.create_role(
            RoleName="fn", AssumeRolePolicyDocument=trust("lambda.amazonaws.com")
        )["Role"]["Arn"]
        service_role = iam.create_role(
            RoleName="cd", AssumeRolePolicyDocument=trust("codedeploy.amazonaws.com")
        )["Role"]["Arn"]
        common = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler"}
        lam.create_function(
            FunctionName="app", Code={"ZipFile": package(APP.format(version=1))}, **common
        )
        lam.publish_version(FunctionName="app")
        lam.update_function_code(FunctionName="app", ZipFile=package(APP.format(version=2)))
        lam.publish_version(FunctionName="app")
        lam.create_alias(FunctionName="app", Name="live", FunctionVersion="1")
        lam.create_function(FunctionName="check", Code={"ZipFile": package(HOOK)}, **common)
        cd.create_application(applicationName="app", computePlatform="Lambda")
        cd.create_deployment_group(
            applicationName="app",
            deploymentGroupName="live",
            serviceRoleArn=service_role,
            deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        )
        appspec = {
            "version": 0.0,
            "Resources": [
                {
                    "app": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": "app",
                            "Alias": "live",
                            "CurrentVersion": "1",
                            "TargetVersion": "2",
                        },
                    }
                }
            ],
            "Hooks": [{"BeforeAllowTraffic": "check"}],
        }
        started = time.monotonic()
        deployment = cd.create_deployment(
            applicationName="app",
            deploymentGroupName="live",
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": json.dumps(appspec)},
            },
        )["deploymentId"]
        status = "Created"
        while status not in ("Succeeded", "Failed", "Stopped"):
            time.sleep(0.05)
            status = cd.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"]
        elapsed = time.monotonic() - started
        alias = lam.get_alias(FunctionName="app", Name="live")["FunctionVersion"]
        scale = os.environ["LAB_CODEDEPLOY_TIME_SCALE"]
        print(
            f"LambdaCanary10Percent5Minutes at time scale {scale}: {status} in {elapsed:.2f} s "
            f"(alias live -> version {alias}; target < 10 s)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
