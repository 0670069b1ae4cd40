"""What an `aws` command costs from a lab: the plain CLI and the warm CLI (helpers/warm_cli),
side by side in one run, `aws codepipeline list-pipelines` against a local server.

The issue's target: the warm CLI's median <= 0.08 s.
Run: python benchmarks/aws_cli.py [calls]
"""

from __future__ import annotations

import os
import resource
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


def median_seconds(command: str, environment: dict, calls: int) -> tuple[float, float]:
    """The median wall time of a call, and the mean CPU time of this process's children."""
    times = []
    cpu_before = children_cpu()
    for _ in range(calls):
        start = time.perf_counter()
        subprocess.run([command, *ARGS], env=environment, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), (children_cpu() - cpu_before) / calls


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def daemon_children_cpu(pid: int) -> float:
    """CPU time of the commands the daemon ran (its children, once reaped), from /proc."""
    stat = open(f"/proc/{pid}/stat").read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


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
        plain, plain_cpu = median_seconds(offline_credentials.aws_cli(), environment, calls)
        daemon_pid = warm_cli.daemon_pid()
        assert daemon_pid is not None, "the warm CLI daemon is not running"
        before = daemon_children_cpu(daemon_pid)
        warm, launcher_cpu = median_seconds(launcher, environment, calls)
        time.sleep(1.5)  # the daemon reaps its last children within a second
        warm_cpu = launcher_cpu + (daemon_children_cpu(daemon_pid) - before) / calls
        load = os.getloadavg()[0]
        print(f"aws {' '.join(ARGS)}, {calls} calls each; load average {load:.1f}")
        print(f"  plain CLI: median {plain:.3f} s wall, {plain_cpu:.3f} s CPU per call")
        print(f"  warm CLI:  median {warm:.3f} s wall, {warm_cpu:.3f} s CPU per call")
        print(f"  {plain / warm:.1f}x faster (goal: warm <= 0.080 s on an idle machine)")
    finally:
        warm_cli.stop()
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
