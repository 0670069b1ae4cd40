"""Overhead of an offline CodeDeploy deployment: CreateDeployment to Succeeded, minus hooks.

Three EC2 instances, trivial hooks (one `#!/bin/sh` + `true` per scriptable event), the
background worker as in the labs (not the synchronous test mode), polled every 10 ms.
Hook time is estimated as the number of scripts run one after another times the time to
run the same script directly. Run: python benchmarks/codedeploy_overhead.py [runs]
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from helpers.emulator import install, workers  # noqa: E402

HOOKS = ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"]
SCRIPT = "#!/bin/sh\ntrue\n"
ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"


def bundle() -> bytes:
    lines = [
        "version: 0.0",
        "os: linux",
        "files:",
        "  - source: site",
        "    destination: /var/www/html",
        "hooks:",
    ]
    for event in HOOKS:
        lines += [f"  {event}:", f"    - location: scripts/{event}.sh"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("appspec.yml", "\n".join(lines) + "\n")
        archive.writestr("site/index.html", "<h1>bench</h1>\n")
        for event in HOOKS:
            info = zipfile.ZipInfo(f"scripts/{event}.sh")
            info.external_attr = 0o100755 << 16
            archive.writestr(info, SCRIPT)
    return buffer.getvalue()


def script_seconds(samples: int = 30) -> float:
    """Median time to run the trivial hook script once, outside the emulator."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "hook.sh")
        with open(path, "w") as handle:
            handle.write(SCRIPT)
        os.chmod(path, 0o755)
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            subprocess.run([path], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_run(config: str, run: int) -> tuple[float, int]:
    """Seconds from CreateDeployment to Succeeded, and scripts run one after another."""
    deploy = boto3.client("codedeploy", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    bucket = f"bench-{run}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="app.zip", Body=bundle())
    ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=3,
        MaxCount=3,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Bench", "Value": str(run)}]}
        ],
    )
    application = f"bench-{run}"
    deploy.create_application(applicationName=application)
    deploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
        deploymentConfigName=config,
        ec2TagFilters=[{"Key": "Bench", "Value": str(run), "Type": "KEY_AND_VALUE"}],
    )
    revision = {
        "revisionType": "S3",
        "s3Location": {"bucket": bucket, "key": "app.zip", "bundleType": "zip"},
    }
    # First deployment: ApplicationStop has nothing to run. Measure the second one.
    for _attempt in range(2):
        start = time.perf_counter()
        deployment_id = deploy.create_deployment(
            applicationName=application, deploymentGroupName="g", revision=revision
        )["deploymentId"]
        while True:
            status = deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"]
            if status in ("Succeeded", "Failed", "Stopped"):
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        assert status == "Succeeded", status
    sequential_scripts = len(HOOKS) * (3 if config.endswith("OneAtATime") else 1)
    return elapsed, sequential_scripts


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    install()
    workers.set_synchronous(False)
    per_script = script_seconds()
    print(f"trivial hook script run directly: {per_script * 1000:.1f} ms")
    for config in ("CodeDeployDefault.OneAtATime", "CodeDeployDefault.AllAtOnce"):
        totals, overheads = [], []
        for run in range(runs):
            with mock_aws():
                elapsed, scripts = one_run(config, run)
            totals.append(elapsed)
            overheads.append(elapsed - scripts * per_script)
        print(
            f"{config:<30} 3 instances, {runs} runs: "
            f"CreateDeployment->Succeeded {statistics.mean(totals) * 1000:.0f} ms, "
            f"hooks ~{scripts * per_script * 1000:.0f} ms, "
            f"overhead {statistics.mean(overheads) * 1000:.0f} ms "
            f"(max {max(overheads) * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
