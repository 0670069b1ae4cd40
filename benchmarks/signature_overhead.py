"""What checking every request costs: a GetPipeline through the local server with the
trust checks (Host, Origin, SigV4 signature) and without them, side by side in one run.

The issue's target: a signed GetPipeline within 1.3x of the same call unchecked.
Run: python benchmarks/signature_overhead.py [calls]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
)

import boto3  # noqa: E402

from helpers import aws  # noqa: E402
from helpers.emulator.server import LocalServer  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"
PIPELINE = {
    "name": "bench-signing",
    "roleArn": ROLE,
    "artifactStore": {"type": "S3", "location": "bench-signing-artifacts"},
    "stages": [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "Source",
                    "actionTypeId": {
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "S3",
                        "version": "1",
                    },
                    "configuration": {
                        "S3Bucket": "bench-signing-artifacts",
                        "S3ObjectKey": "src.zip",
                        "PollForSourceChanges": "false",
                    },
                    "outputArtifacts": [{"name": "Src"}],
                }
            ],
        },
        {
            "name": "Approve",
            "actions": [
                {
                    "name": "Approve",
                    "actionTypeId": {
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                    },
                }
            ],
        },
    ],
}


def pipeline_role(iam) -> str:
    """ROLE, made in the local IAM if missing: CreatePipeline refuses a role that does not
    exist (pipelines-create.md)."""
    return aws.create_role_named_by(iam, ROLE, "codepipeline.amazonaws.com")


def per_call_ms(server: LocalServer, calls: int) -> list[float]:
    client = boto3.client("codepipeline", region_name="us-east-1", endpoint_url=server.endpoint)
    client.get_pipeline(name=PIPELINE["name"])  # connection and client warm
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        client.get_pipeline(name=PIPELINE["name"])
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(calls: int) -> None:
    checked = LocalServer().start()
    unchecked = LocalServer().start()
    unchecked.app.wsgi = unchecked.app.route  # the same server with trust.py taken out
    try:
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=checked.endpoint)
        s3.create_bucket(Bucket="bench-signing-artifacts")
        pipeline_role(boto3.client("iam", region_name="us-east-1", endpoint_url=checked.endpoint))
        boto3.client(
            "codepipeline", region_name="us-east-1", endpoint_url=checked.endpoint
        ).create_pipeline(pipeline=PIPELINE)
        # Alternate the two, so both see the same machine load.
        with_checks, without = [], []
        for _ in range(5):
            without += per_call_ms(unchecked, calls // 5)
            with_checks += per_call_ms(checked, calls // 5)
    finally:
        checked.stop()
        unchecked.stop()
    plain, signed = statistics.median(without), statistics.median(with_checks)
    print(f"GetPipeline over HTTP, median of {len(without)} calls each:")
    print(f"  without trust checks: {plain:6.2f} ms")
    print(f"  with trust checks:    {signed:6.2f} ms   ({signed / plain:.2f}x; target <= 1.3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
