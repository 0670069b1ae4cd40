"""What an `aws` command costs from a lab: the plain CLI and the warm CLI (helpers/warm_cli),
side by side in one run, `aws codepipeline list-pipelines` against a local server.

The issue's target: the warm CLI's median <= 0.08 s.
Run: python benchmarks/aws_cli.py [calls]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_PAGER="",
)

from helpers import offline_credentials, warm_cli  # noqa: E402
from helpers.emulator.server import LocalServer  # noqa: E402

ARGS = ["codepipeline", "list-pipelines"]


def median_seconds(command: str, environment: dict, calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        subprocess.run([command, *ARGS], env=environment, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(calls: int) -> None:
    server = LocalServer("127.0.0.1", 0).start()
    try:
        environment = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint)
        launcher = warm_cli.activate(environment)
        if launcher is None:
            sys.exit("the warm CLI cannot run here (LAB_WARM_CLI=0, or no fork/SCM_RIGHTS)")
        socket_path = environment[warm_cli.SOCKET_VARIABLE]
        deadline = time.monotonic() + 120
        while not os.path.exists(socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run([launcher, *ARGS], env=environment, check=True, capture_output=True)
        plain = median_seconds(offline_credentials.aws_cli(), environment, calls)
        warm = median_seconds(launcher, environment, calls)
        print(f"aws {' '.join(ARGS)}, median of {calls} calls")
        print(f"  plain CLI: {plain:.3f} s")
        print(f"  warm CLI:  {warm:.3f} s  ({plain / warm:.1f}x faster; goal <= 0.080 s)")
    finally:
        warm_cli.stop()
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
