"""Following a CodeDeploy deployment from a notebook, and finding an offline instance's files.

wait_for_deployment uses only boto3 calls (GetDeployment, ListDeploymentTargets,
BatchGetDeploymentTargets), so it works the same against the local AWS and a real account.
It prints plain text: one line per instance lifecycle event as its status changes.

Offline, each instance is a folder that plays its file system (instance_root); hook
scripts find it in $LAB_INSTANCE_ROOT, so a script that writes /var/www/html on a real
instance writes "$LAB_INSTANCE_ROOT/var/www/html" in the labs.

Lab 03's mode-dependent set-up lives here too, so the notebook reads the same in both
modes: the revisions bucket (ensure_deploy_bucket), CodeDeploy's service role
(ensure_service_role), the AMI and the agent's user data (latest_ami, agent_user_data),
find_fleet and wait_for_fleet. Lab 03 makes the instances' role, their instance profile
and the fleet with its own boto3 calls, for the learner to read; ensure_instance_profile
and launch_fleet make the same for the later labs (helpers.prerequisites). Then what the
lab shows: wait_for_rollback, timeline / show_timeline / most_at_once, and start_fresh for
a re-run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from . import polling, settings
from .aws import OFFLINE_ACCOUNT_ID, Client, ensure_role, service_trust_policy
from .emulator.codedeploy import targets

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

FINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
WIDTH = 100  # a notebook's output column: longer messages wrap between words


def _wrapped(text: str, indent: int) -> str:
    return "\n".join(
        textwrap.wrap(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * indent)
    )


def wait_for_deployment(
    client: Client,
    deployment_id: str,
    timeout: float = 900,
    show: bool = True,
    poll_seconds: float = 1.0,
) -> dict:
    """Poll until the deployment ends; print lifecycle events as they change.

    Returns the final deploymentInfo. Raises TimeoutError if the deployment has not ended
    within timeout seconds.
    """
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    seen: dict[tuple[str, str], str] = {}
    last_status = None
    while True:
        info = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if show:
            # The status line first while it runs; the last events before the final status.
            if info["status"] != last_status and info["status"] not in FINAL_STATUSES:
                print(f"Deployment {deployment_id}: {info['status']}")
            last_status = info["status"]
            _show_events(client, deployment_id, seen)
        if info["status"] in FINAL_STATUSES:
            if show:
                _show_result(info)
            return info
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"deployment {deployment_id} still {info['status']} after {timeout} s"
            )
        pause.sleep()


def _instance_targets(client, deployment_id: str) -> list[dict]:
    try:
        ids, token = [], None
        while True:
            kwargs = {"deploymentId": deployment_id}
            if token:
                kwargs["nextToken"] = token
            reply = client.list_deployment_targets(**kwargs)
            ids += reply.get("targetIds", [])
            token = reply.get("nextToken")
            if not token:
                break
    except client.exceptions.DeploymentNotStartedException:
        return []
    targets = []
    for start in range(0, len(ids), 25):
        reply = client.batch_get_deployment_targets(
            deploymentId=deployment_id, targetIds=ids[start : start + 25]
        )
        targets += [
            target["instanceTarget"]
            for target in reply.get("deploymentTargets", [])
            if "instanceTarget" in target
        ]
    return targets


def _show_events(client, deployment_id: str, seen: dict[tuple[str, str], str]) -> None:
    """Print each lifecycle event whose status changed since the last poll."""
    for target in _instance_targets(client, deployment_id):
        for event in target.get("lifecycleEvents", []):
            key = (target["targetId"], event["lifecycleEventName"])
            status = event.get("status", "Pending")
            if status == "Pending" or seen.get(key) == status:
                continue
            seen[key] = status
            line = f"  {target['targetId']:<22} {event['lifecycleEventName']:<17} {status}"
            diagnostics = event.get("diagnostics") or {}
            if status == "Failed":
                why = f"{diagnostics.get('errorCode', '')}: {diagnostics.get('message', '')}"
                line += "\n" + _wrapped(why, 6)
                for tail in (diagnostics.get("logTail") or "").splitlines()[-10:]:
                    line += "\n" + _cut("      | " + tail)
            print(line)


def _cut(line: str) -> str:
    """A line of a script's output, cut to the width (its end marked)."""
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "\u2026"


def _show_result(info: dict) -> None:
    overview = info.get("deploymentOverview") or {}
    counts = ", ".join(f"{name} {count}" for name, count in overview.items() if count)
    print(f"Deployment {info['deploymentId']}: {info['status']} ({counts})")
    error = info.get("errorInformation")
    if error:
        print(_wrapped(f"{error.get('code')}: {error.get('message')}", 2))
    rollback = info.get("rollbackInfo") or {}
    if rollback.get("rollbackDeploymentId"):
        print(f"  Rolled back by deployment {rollback['rollbackDeploymentId']}")


def instance_root(instance_id: str, account: str | None = None, region: str | None = None) -> Path:
    """The folder that plays an offline instance's file system (EC2 id or on-premises name).

    Without account and region, the folder of that instance in any account and region
    (the offline account and AWS_DEFAULT_REGION if it has not been deployed to yet).
    """
    if account is None and region is None:
        found = targets.find_instance_root(instance_id)
        if found is not None:
            return found
    account = account or OFFLINE_ACCOUNT_ID
    region = region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return targets.instance_root(account, region, instance_id)


# --- lab 03: the bucket, the roles, the fleet -----------------------------------------------

FLEET_TAG_KEY = "lab:fleet"
SERVICE_ROLE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRole"
AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
AGENT_READY_PREFIX = "agent-ready/"
IAM_SETTLE_SECONDS = 15  # a new IAM role takes a few seconds to be usable everywhere

# Offline, moto has no AWS managed policies: the service role gets the essentials of
# AWSCodeDeployRole (EC2, Auto Scaling, ELB, SNS, CloudWatch reads) as an inline policy.
_SERVICE_ROLE_INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ec2:Describe*",
                "autoscaling:Describe*",
                "autoscaling:CompleteLifecycleAction",
                "autoscaling:PutLifecycleHook",
                "autoscaling:DeleteLifecycleHook",
                "elasticloadbalancing:Describe*",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
                "tag:GetResources",
                "sns:Publish",
                "cloudwatch:DescribeAlarms",
            ],
            "Resource": "*",
        }
    ],
}


def deploy_bucket_name(kit: Kit) -> str:
    """S3 bucket names are global: the account and region make the learner's one unique."""
    return kit.name(f"deploy-{kit.account_id}-{kit.region}")


def ensure_deploy_bucket(kit: Kit) -> str:
    """The learner's bucket for revisions (made and tagged if missing); returns its name."""
    s3 = kit.client("s3")
    name = deploy_bucket_name(kit)
    try:
        s3.head_bucket(Bucket=name)
        return name
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    if kit.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": kit.region})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": kit.tag_list()})
    print(f"Created bucket {name}")
    return name


def _settle(kit, created: bool) -> None:
    if created and not kit.offline:
        print(
            f"Waiting {IAM_SETTLE_SECONDS} s for IAM to make the new role usable "
            "(docs/troubleshooting.md#role-not-yet-usable)..."
        )
        time.sleep(IAM_SETTLE_SECONDS)


def ensure_service_role(kit: Kit) -> str:
    """CodeDeploy's service role (trusts codedeploy.amazonaws.com, AWSCodeDeployRole)."""
    iam = kit.client("iam")
    name = kit.name("codedeploy-service")
    arn, created = ensure_role(
        kit,
        name,
        service_trust_policy("codedeploy.amazonaws.com"),
        "Lets CodeDeploy find and update the lab's instances",
        created_note=" (trusted by codedeploy.amazonaws.com)",
    )
    if created:
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=SERVICE_ROLE_POLICY_ARN)
        except iam.exceptions.NoSuchEntityException:
            if not kit.offline:
                raise
            # The local AWS has no AWS managed policies: the same permissions, inline.
            iam.put_role_policy(
                RoleName=name,
                PolicyName="AWSCodeDeployRole",
                PolicyDocument=json.dumps(_SERVICE_ROLE_INLINE),
            )
    _settle(kit, created)
    return arn


def instance_role_policy(kit: Kit, bucket: str) -> dict:
    """What the instances may do: read revisions and the CodeDeploy agent's installer, and
    write their agent-ready marker (see agent_user_data)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:Get*", "s3:List*"],
                "Resource": [
                    f"arn:aws:s3:::{bucket}",
                    f"arn:aws:s3:::{bucket}/*",
                    f"arn:aws:s3:::aws-codedeploy-{kit.region}",
                    f"arn:aws:s3:::aws-codedeploy-{kit.region}/*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/{AGENT_READY_PREFIX}*",
            },
        ],
    }


def ensure_instance_profile(kit: Kit, bucket: str) -> str:
    """The instances' role (trusted by ec2.amazonaws.com) in an instance profile; its name."""
    iam = kit.client("iam")
    name = kit.name("web-instance")
    _, created = ensure_role(
        kit,
        name,
        service_trust_policy("ec2.amazonaws.com"),
        "Lets the lab's instances read revisions from S3",
        created_note=" (trusted by ec2.amazonaws.com)",
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read-revisions",
        PolicyDocument=json.dumps(instance_role_policy(kit, bucket)),
    )
    try:
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except iam.exceptions.NoSuchEntityException:
        profile = iam.create_instance_profile(InstanceProfileName=name, Tags=kit.tag_list())[
            "InstanceProfile"
        ]
        print(f"Created instance profile {name}")
    if not any(role["RoleName"] == name for role in profile.get("Roles", [])):
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        created = True
    _settle(kit, created)
    return name


def latest_ami(kit: Kit) -> str:
    """The latest Amazon Linux 2023 AMI, from the public SSM parameter AWS keeps up to date.

    Offline the local SSM answers too; if its AMI is unknown to the local EC2, any of the
    local EC2's images will do (nothing boots offline).
    """
    image_id = kit.client("ssm").get_parameter(Name=AL2023_AMI_PARAMETER)["Parameter"]["Value"]
    if kit.offline:
        ec2 = kit.client("ec2")
        if not ec2.describe_images(Filters=[{"Name": "image-id", "Values": [image_id]}])["Images"]:
            image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return image_id


def agent_user_data(kit: Kit, bucket: str) -> str:
    """User data that installs and starts the CodeDeploy agent on Amazon Linux 2023 (as the
    CodeDeploy user guide does it), then writes s3://bucket/agent-ready/<instance id>."""
    region = kit.region
    return f"""#!/bin/bash
# Install the CodeDeploy agent (CodeDeploy user guide: install the agent for Amazon Linux).
dnf install -y ruby wget
cd /home/ec2-user
wget https://aws-codedeploy-{region}.s3.{region}.amazonaws.com/latest/install
chmod +x ./install
./install auto
systemctl enable --now codedeploy-agent
# Tell the lab the agent runs: an object named after this instance in the lab's bucket.
TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token \\
  -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
ID=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" \\
  http://169.254.169.254/latest/meta-data/instance-id)
systemctl is-active --quiet codedeploy-agent && \\
  echo ready | aws s3 cp - "s3://{bucket}/{AGENT_READY_PREFIX}$ID" \\
  --region {region}
"""


def find_fleet(kit: Kit, fleet_tag: dict[str, str]) -> list[str]:
    """Ids of this learner's pending or running instances that carry fleet_tag."""
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in fleet_tag.items()]
    filters += [
        {"Name": f"tag:{settings.OWNER_TAG_KEY}", "Values": [kit.prefix]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    ids = []
    for page in kit.client("ec2").get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            ids += [instance["InstanceId"] for instance in reservation["Instances"]]
    return sorted(ids)


def launch_fleet(
    kit: Kit,
    count: int,
    fleet_tag: dict[str, str],
    instance_profile: str,
    user_data: str,
    instance_type: str = "t3.micro",
) -> list[str]:
    """count instances tagged with fleet_tag and the kit's tags; returns their ids.

    Instances of an earlier run that are still pending or running are reused, so running
    the lab again does not launch (and bill) more.
    """
    ec2 = kit.client("ec2")
    ids = find_fleet(kit, fleet_tag)
    missing = count - len(ids)
    if ids:
        print(f"Reusing {len(ids)} instance(s) of an earlier run: {', '.join(ids)}")
    if missing <= 0:
        return ids[:count]
    tags = [{"Key": key, "Value": value} for key, value in fleet_tag.items()]
    tags += [{"Key": "Name", "Value": next(iter(fleet_tag.values()))}, *kit.tag_list()]
    request = dict(
        ImageId=latest_ami(kit),
        InstanceType=instance_type,
        MinCount=missing,
        MaxCount=missing,
        IamInstanceProfile={"Name": instance_profile},
        UserData=user_data,
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": kit.tag_list()},
        ],
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            reply = ec2.run_instances(**request)
            break
        except ClientError as error:
            # A new instance profile takes a few seconds to be known to EC2.
            profile_not_ready = (
                error.response["Error"]["Code"] == "InvalidParameterValue"
                and "instance profile" in str(error).lower()
            )
            if not profile_not_ready or time.monotonic() > deadline:
                raise
            time.sleep(5)
    new = [instance["InstanceId"] for instance in reply["Instances"]]
    print(f"Launched {len(new)} x {instance_type}: {', '.join(new)}")
    return sorted(ids + new)


def wait_for_fleet(
    kit: Kit, instance_ids: list[str], bucket: str, timeout: float = 900, poll_seconds: float = 10
) -> None:
    """Wait until the instances run and, on a real account, their CodeDeploy agent too.

    The agent is ready when the instance's user data has written agent-ready/<id> to the
    bucket (about 2-4 minutes after launch). Offline the local AWS's agent is always ready.
    """
    ec2 = kit.client("ec2")
    ec2.get_waiter("instance_running").wait(
        InstanceIds=instance_ids, WaiterConfig={"Delay": 5, "MaxAttempts": 60}
    )
    print(f"{len(instance_ids)} instances running.")
    if kit.offline:
        print("Offline the CodeDeploy agent of the local AWS is ready at once.")
        return
    s3 = kit.client("s3")
    deadline = time.monotonic() + timeout
    waiting = set(instance_ids)
    while waiting:
        for instance_id in sorted(waiting):
            try:
                s3.head_object(Bucket=bucket, Key=AGENT_READY_PREFIX + instance_id)
            except ClientError:
                continue
            waiting.discard(instance_id)
            print(f"  agent ready on {instance_id}")
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no agent-ready marker after {timeout} s from: "
                f"{', '.join(sorted(waiting))} (see /var/log/cloud-init-output.log "
                "on the instance)"
            )
        time.sleep(poll_seconds)
    print("The CodeDeploy agent runs on every instance.")


# --- lab 03: starting again, rollbacks, timelines -----------------------------------------


def start_fresh(kit: Kit, application_name: str, config_names: tuple[str, ...] = ()) -> None:
    """Delete the application (and so its deployment groups) and the custom deployment
    configurations an earlier run left, if they are this learner's."""
    codedeploy = kit.client("codedeploy")
    try:
        application = codedeploy.get_application(applicationName=application_name)
    except codedeploy.exceptions.ApplicationDoesNotExistException:
        application = None
    if application is not None:
        arn = f"arn:aws:codedeploy:{kit.region}:{kit.account_id}:application:{application_name}"
        tags = {
            tag["Key"]: tag["Value"]
            for tag in codedeploy.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
        }
        settings.require_owner(application_name, tags, kit.prefix)
        codedeploy.delete_application(applicationName=application_name)
        print(f"Deleted application {application_name} left by an earlier run.")
    for name in config_names:
        if not name.startswith(kit.prefix + "-"):
            raise ValueError(f"{name} is not one of this learner's names")
        try:
            codedeploy.get_deployment_config(deploymentConfigName=name)
        except codedeploy.exceptions.DeploymentConfigDoesNotExistException:
            continue  # (DeleteDeploymentConfig of a missing one succeeds: ask first)
        codedeploy.delete_deployment_config(deploymentConfigName=name)
        print(f"Deleted deployment configuration {name} left by an earlier run.")


def wait_for_rollback(
    client: Client, deployment_id: str, timeout: float = 60, poll_seconds: float = 1.0
) -> str | None:
    """The id of the deployment that rolls back deployment_id, once CodeDeploy made it.

    None when CodeDeploy says it will not roll back (rollbackInfo has only a message), or
    when no rollback appeared within timeout seconds.
    """
    deadline = time.monotonic() + timeout
    pause = polling.Pauses(poll_seconds)
    while True:
        info = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        rollback = info.get("rollbackInfo") or {}
        if rollback.get("rollbackDeploymentId"):
            return rollback["rollbackDeploymentId"]
        if rollback.get("rollbackMessage") or time.monotonic() >= deadline:
            return None
        pause.sleep()


def timeline(client: Client, deployment_id: str) -> list[dict]:
    """Per instance: when its first lifecycle event started and its last one ended.

    Rows {"instance", "status", "start", "end"} (datetimes; None for skipped instances),
    in the order the instances started.
    """
    rows = []
    for target in _instance_targets(client, deployment_id):
        events = target.get("lifecycleEvents", [])
        starts = [event["startTime"] for event in events if event.get("startTime")]
        ends = [event["endTime"] for event in events if event.get("endTime")]
        rows.append(
            {
                "instance": target["targetId"],
                "status": target["status"],
                "start": min(starts) if starts else None,
                "end": max(ends) if ends else None,
            }
        )
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(rows, key=lambda row: (row["start"] or far, row["instance"]))


def most_at_once(rows: list[dict]) -> int:
    """The largest number of instances that were being deployed at the same moment."""
    changes = []
    for row in rows:
        if row["start"] and row["end"]:
            changes += [(row["start"], 1), (row["end"], -1)]
    busiest = current = 0
    for _, change in sorted(changes, key=lambda item: (item[0], item[1])):  # ends first
        current += change
        busiest = max(busiest, current)
    return busiest


def show_timeline(client: Client, deployment_id: str, width: int = 40) -> list[dict]:
    """Print a small table (and bars) of when each instance was deployed; return the rows."""
    rows = timeline(client, deployment_id)
    info = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    timed = [row for row in rows if row["start"] and row["end"]]
    origin = min((row["start"] for row in timed), default=None)
    finish = max((row["end"] for row in timed), default=None)
    span = (finish - origin).total_seconds() if origin and finish else 0  # both set when timed
    print(f"{deployment_id}  {info['deploymentConfigName']}  {info['status']}")
    print(f"  {'instance':<22} {'start':>7} {'end':>7}  timeline")
    for row in rows:
        if not (row["start"] and row["end"]):
            print(f"  {row['instance']:<22} {'-':>7} {'-':>7}  ({row['status']})")
            continue
        start = (row["start"] - origin).total_seconds()
        end = (row["end"] - origin).total_seconds()
        left = int(start / span * width) if span else 0
        right = max(left + 1, int(end / span * width) if span else width)
        print(
            f"  {row['instance']:<22} {start:6.2f}s {end:6.2f}s  {' ' * left}{'#' * (right - left)}"
        )
    print(f"  all instances: {span:.2f} s; at most {most_at_once(rows)} at once")
    return rows
