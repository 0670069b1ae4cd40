"""Shared helpers for the CodeDeploy tests: bundles, instances, an application and group
(the fixture that makes them, `deploy_lab`, is in conftest.py)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from helpers.emulator.codedeploy.targets import instance_root

ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "lab-revisions"


def appspec(hooks: dict[str, str] | None = None, files: str | None = None, extra: str = "") -> str:
    """An appspec.yml; hooks maps an event to a script location (timeout optional: "x.sh:5")."""
    text = "version: 0.0\nos: linux\n"
    text += (
        files
        if files is not None
        else ("files:\n  - source: site\n    destination: /var/www/html\n")
    )
    text += extra
    if hooks:
        text += "hooks:\n"
        for event, location in hooks.items():
            location, _, timeout = location.partition(":")
            text += f"  {event}:\n    - location: {location}\n"
            if timeout:
                text += f"      timeout: {timeout}\n"
    return text


def make_zip(files: dict[str, str], executable: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            mode = 0o755 if executable and name.endswith(".sh") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def recording_script(event: str) -> str:
    """A hook that records its event and environment in the instance's folder."""
    return (
        "#!/bin/sh\n"
        'mkdir -p "$LAB_INSTANCE_ROOT/var/log/lab"\n'
        f'echo "{event} $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME '
        '$DEPLOYMENT_GROUP_ID $LIFECYCLE_EVENT $(pwd)" '
        '>> "$LAB_INSTANCE_ROOT/var/log/lab/hooks.log"\n'
    )


def standard_bundle(
    version: str = "v1",
    extra_files: dict[str, str] | None = None,
    hooks: dict[str, str] | None = None,
) -> bytes:
    hook_events = [
        "ApplicationStop",
        "BeforeInstall",
        "AfterInstall",
        "ApplicationStart",
        "ValidateService",
    ]
    files = {
        "appspec.yml": appspec(hooks or {event: f"scripts/{event}.sh" for event in hook_events}),
        "site/index.html": f"<h1>{version}</h1>\n",
    }
    if hooks is None:
        files.update({f"scripts/{event}.sh": recording_script(event) for event in hook_events})
    files.update(extra_files or {})
    return make_zip(files)


@dataclass
class Lab:
    """An application, a group and the clients a test needs."""

    deploy: object
    s3: object
    ec2: object
    application: str = "web-app"
    group: str = "web-group"

    def upload(self, data: bytes, key: str = "app.zip") -> dict:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {
            "revisionType": "S3",
            "s3Location": {"bucket": BUCKET, "key": key, "bundleType": "zip"},
        }

    def instances(self, count: int, tags: dict[str, str] | None = None) -> list[str]:
        tags = tags or {"Env": "lab"}
        reply = self.ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=count,
            MaxCount=count,
            InstanceType="t3.micro",
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
                }
            ],
        )
        return [instance["InstanceId"] for instance in reply["Instances"]]

    def create_group(self, name: str | None = None, **settings) -> str:
        settings.setdefault(
            "ec2TagFilters", [{"Key": "Env", "Value": "lab", "Type": "KEY_AND_VALUE"}]
        )
        self.deploy.create_deployment_group(
            applicationName=self.application,
            deploymentGroupName=name or self.group,
            serviceRoleArn=ROLE,
            **settings,
        )
        return name or self.group

    def run(self, data: bytes | None = None, revision: dict | None = None, **options) -> dict:
        """Deploy (synchronously) and return deploymentInfo."""
        revision = revision or self.upload(data or standard_bundle())
        options.setdefault("deploymentGroupName", self.group)
        deployment_id = self.deploy.create_deployment(
            applicationName=self.application, revision=revision, **options
        )["deploymentId"]
        return self.deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]

    def instance_summary(self, deployment_id: str, instance_id: str) -> dict:
        return self.deploy.get_deployment_instance(
            deploymentId=deployment_id, instanceId=instance_id
        )["instanceSummary"]

    def events(self, deployment_id: str, instance_id: str) -> dict[str, dict]:
        summary = self.instance_summary(deployment_id, instance_id)
        return {event["lifecycleEventName"]: event for event in summary["lifecycleEvents"]}


def root(instance_id: str):
    return instance_root(ACCOUNT, REGION, instance_id)


def make_lab(client) -> Lab:
    """An application (Server platform) and a bucket for its revisions."""
    lab = Lab(client("codedeploy"), client("s3"), client("ec2"))
    lab.s3.create_bucket(Bucket=BUCKET)
    lab.deploy.create_application(applicationName=lab.application, computePlatform="Server")
    return lab
