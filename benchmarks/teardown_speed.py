"""How long teardown.py takes to delete N lab resources offline, and how that grows.

    python benchmarks/teardown_speed.py            # 100 and 500 resources
    python benchmarks/teardown_speed.py 100 300 500

Each run starts a local server, creates N resources of the kit (a mix of CodeCommit
repositories, S3 buckets with objects, IAM roles with inline policies, CloudWatch log
groups and CodeBuild projects, all tagged for one learner) plus N/10 foreign ones, then
times `teardown.py --yes` and checks every lab resource went and every foreign one stayed.
Target: under 15 s for 500.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["LAB_STATE_DIR"] = tempfile.mkdtemp(prefix="teardown-bench-")
os.environ["LAB_PREFIX"] = "labbench"
os.environ.pop("LAB_MODE", None)
# The server, the benchmark's clients and teardown.py sign with the same pair.
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

import boto3  # noqa: E402

from helpers.emulator.server import LocalServer, reset_local_aws  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("teardown_cli", ROOT / "teardown.py")
teardown_cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(teardown_cli)

TAGS = {"lab:kit": "codepipeline-lab-kit", "lab:owner": "labbench"}
TRUST = json.dumps(
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


def create(endpoint: str, count: int) -> None:
    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    cc, s3, iam, logs, cb = (client(s) for s in ("codecommit", "s3", "iam", "logs", "codebuild"))
    tag_list = [{"Key": k, "Value": v} for k, v in TAGS.items()]
    for i in range(count):
        kind = i % 5
        name = f"labbench-r{i}"
        if kind == 0:
            cc.create_repository(repositoryName=name, tags=TAGS)
        elif kind == 1:
            s3.create_bucket(Bucket=name)
            s3.put_object(Bucket=name, Key="artifact.zip", Body=b"x" * 100)
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list})
        elif kind == 2:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Tags=tag_list)
            iam.put_role_policy(
                RoleName=name,
                PolicyName="p",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                    }
                ),
            )
        elif kind == 3:
            logs.create_log_group(logGroupName=f"/lab/{name}", tags=TAGS)
        else:
            cb.create_project(
                name=name,
                source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
                artifacts={"type": "NO_ARTIFACTS"},
                environment={
                    "type": "LINUX_CONTAINER",
                    "image": "img",
                    "computeType": "BUILD_GENERAL1_SMALL",
                },
                serviceRole="arn:aws:iam::123456789012:role/r",
                tags=[{"key": k, "value": v} for k, v in TAGS.items()],
            )
    for i in range(max(1, count // 10)):
        cc.create_repository(repositoryName=f"foreign-r{i}")
        s3.create_bucket(Bucket=f"foreign-b{i}")


def count_left(endpoint: str) -> tuple[int, int]:
    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    names = [r["repositoryName"] for r in client("codecommit").list_repositories()["repositories"]]
    names += [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    names += [r["RoleName"] for r in client("iam").list_roles()["Roles"]]
    names += [g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]]
    names += client("codebuild").list_projects().get("projects", [])
    ours = [n for n in names if "labbench" in n]
    return len(ours), len(names) - len(ours)


def run(count: int) -> float:
    server = LocalServer(moto_api=True).start()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    # moto's state lives in the process: start each run from an empty local AWS.
    reset_local_aws(server.endpoint, server.credentials)
    try:
        create(server.endpoint, count)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = teardown_cli.main(["--yes"])
        seconds = time.perf_counter() - started
        ours, foreign = count_left(server.endpoint)
        assert code == 0 and ours == 0 and foreign == 2 * max(1, count // 10), (code, ours, foreign)
        return seconds
    finally:
        server.stop()


def main() -> None:
    counts = [int(a) for a in sys.argv[1:]] or [100, 500]
    results = {}
    for count in counts:
        results[count] = run(count)
        print(
            f"{count:5d} lab resources: teardown --yes took {results[count]:6.2f} s "
            f"({results[count] / count * 1000:.1f} ms per resource)",
            flush=True,
        )
    if len(results) > 1:
        first, last = counts[0], counts[-1]
        print(
            f"growth {first} -> {last}: x{results[last] / results[first]:.2f} time "
            f"for x{last / first:.1f} resources"
        )


if __name__ == "__main__":
    main()
