"""How much a cache saves: the same build run twice, cold then warm, for each cache kind.

The build "installs a dependency" the way a package manager does: when deps/ is missing
it takes a while (a sleep standing for the download, then a few hundred files written),
and when deps/ came back from the cache it is skipped. Nothing comes from the network.
Runs in-process (mock_aws, builds run inside StartBuild) with a LOCAL custom cache, an S3
cache and NO_CACHE, and prints the first and the second build's times. A figure, not a
timed test: the second build of a cached project should be clearly faster.

    python benchmarks/codebuild_cache.py [seconds the install takes, default 2]
"""

from __future__ import annotations

import logging
import os
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

FILES = 300


def buildspec(install_seconds: float) -> str:
    install_step = (
        f"if [ -d deps ]; then echo 'deps: cached'; else sleep {install_seconds} && "
        f"mkdir deps && for i in $(seq {FILES}); do head -c 4096 /dev/urandom > deps/f$i; done; fi"
    )
    return (
        "version: 0.2\nphases:\n  install:\n    commands:\n"
        f'      - "{install_step}"\n'
        "  build:\n    commands:\n      - ls deps | wc -l\n"
        "cache:\n  paths:\n    - 'deps/**/*'\n"
    )


def create_project(codebuild, name: str, cache: dict, install_seconds: float) -> None:
    codebuild.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": buildspec(install_seconds)},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/bench",
        cache=cache,
    )


def one_build(codebuild, name: str) -> float:
    started = time.perf_counter()
    build = codebuild.start_build(projectName=name)["build"]
    while not build["buildComplete"]:
        time.sleep(0.01)
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
    if build["buildStatus"] != "SUCCEEDED":
        raise RuntimeError(f"build ended {build['buildStatus']}")
    return time.perf_counter() - started


def main() -> None:
    install_seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    install()
    workers.set_synchronous(True)
    kinds = {
        "LOCAL_CUSTOM_CACHE": {"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE"]},
        "S3": {"type": "S3", "location": "bench-cache/codebuild"},
        "NO_CACHE": {"type": "NO_CACHE"},
    }
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="bench-cache")
        codebuild = boto3.client("codebuild")
        print(f"a build whose dependency install takes {install_seconds:g} s + {FILES} files")
        for label, cache in kinds.items():
            name = f"bench-{label.lower().replace('_', '-')}"
            create_project(codebuild, name, cache, install_seconds)
            first, second = one_build(codebuild, name), one_build(codebuild, name)
            print(
                f"{label:<20} first build {first:.3f} s   second build {second:.3f} s   "
                f"({first / second:.1f}x)"
            )
    workers.set_synchronous(None)


if __name__ == "__main__":
    main()
