"""How much time CodeBuild offline adds to a trivial build.

Runs N builds of a buildspec whose commands take no measurable time (echo), from
StartBuild to SUCCEEDED, in-process (mock_aws, builds run inside StartBuild) and over
HTTP (the local server, builds run by a background worker; polled every 10 ms). Prints
the mean and the worst. Target: under 0.5 s.

    python benchmarks/codebuild_overhead.py [N]
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

BUILDSPEC = (
    "version: 0.2\nphases:\n  install:\n    commands:\n      - echo install\n"
    "  build:\n    commands:\n      - echo build\n      - export X=1\n"
    "  post_build:\n    commands:\n      - echo done\n"
)


def create_project(codebuild) -> None:
    codebuild.create_project(
        name="bench",
        source={"type": "NO_SOURCE", "buildspec": BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/bench",
    )


def one_build(codebuild) -> float:
    started = time.perf_counter()
    build = codebuild.start_build(projectName="bench")["build"]
    while not build["buildComplete"]:
        time.sleep(0.01)
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
    if build["buildStatus"] != "SUCCEEDED":
        raise RuntimeError(f"build ended {build['buildStatus']}")
    return time.perf_counter() - started


def measure(codebuild, count: int) -> list[float]:
    create_project(codebuild)
    one_build(codebuild)  # warm up (imports, first bash start)
    return [one_build(codebuild) for _ in range(count)]


def report(label: str, times: list[float]) -> None:
    print(
        f"{label:<28} mean {statistics.mean(times):.3f} s   "
        f"max {max(times):.3f} s   ({len(times)} builds)"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    install()
    workers.set_synchronous(True)
    with mock_aws():
        report("in-process (mock_aws, sync)", measure(boto3.client("codebuild"), count))
    workers.set_synchronous(None)
    server = start_local_server()
    try:
        client = boto3.client("codebuild", endpoint_url=server.endpoint)
        report("HTTP (local server, worker)", measure(client, count))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
