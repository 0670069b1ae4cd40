"""How long a batch build of 4 trivial builds takes offline (a figure, not a timed test).

A build-matrix of 2 x 2 variable values, each build an echo, from StartBuildBatch to a
SUCCEEDED batch over HTTP (the local server: the batch's worker starts the 4 builds in
parallel; polled every 10 ms), and in-process (mock_aws, synchronous: the builds run one
after another inside StartBuildBatch). Prints the mean and the worst. Target: under 3 s.

    python benchmarks/codebuild_batch.py [N]
"""

from __future__ import annotations

import logging
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
from moto import mock_aws  # noqa: E402

from helpers.emulator import install, workers  # noqa: E402
from helpers.emulator.server import start_local_server  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
BUILDSPEC = """version: 0.2
batch:
  build-matrix:
    dynamic:
      env:
        variables:
          RUNTIME: [python, node]
          STAGE: [test, lint]
phases:
  build:
    commands:
      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $RUNTIME $STAGE"
"""


def create_project(codebuild) -> None:
    codebuild.create_project(
        name="bench-batch",
        source={"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=ROLE,
        buildBatchConfig={"serviceRole": ROLE, "restrictions": {"maximumBuildsAllowed": 4}},
    )


def one_batch(codebuild) -> float:
    started = time.perf_counter()
    batch = codebuild.start_build_batch(projectName="bench-batch")["buildBatch"]
    while not batch["complete"]:
        time.sleep(0.01)
        batch = codebuild.batch_get_build_batches(ids=[batch["id"]])["buildBatches"][0]
    if batch["buildBatchStatus"] != "SUCCEEDED" or len(batch["buildGroups"]) != 4:
        raise RuntimeError(f"batch ended {batch['buildBatchStatus']}")
    return time.perf_counter() - started


def measure(codebuild, count: int) -> list[float]:
    create_project(codebuild)
    one_batch(codebuild)  # warm up (imports, first bash start)
    return [one_batch(codebuild) for _ in range(count)]


def report(label: str, times: list[float]) -> None:
    print(
        f"{label:<34} mean {statistics.mean(times):.3f} s   "
        f"max {max(times):.3f} s   ({len(times)} batches of 4 builds; goal < 3 s)"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    install()
    server = start_local_server()
    try:
        client = boto3.client("codebuild", endpoint_url=server.endpoint)
        report("HTTP (local server, in parallel)", measure(client, count))
    finally:
        server.stop()
    workers.set_synchronous(True)
    with mock_aws():
        report("in-process (mock_aws, sync)", measure(boto3.client("codebuild"), count))
    workers.set_synchronous(None)


if __name__ == "__main__":
    main()
