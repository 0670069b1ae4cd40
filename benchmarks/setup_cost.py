"""What a notebook's set-up costs: lab 04's first cells and its last, as a kernel runs them.

    python benchmarks/setup_cost.py          # 3 rounds
    python benchmarks/setup_cost.py 5

Each round is a fresh Python process (as a kernel is) in solutions/, with its own state
folder: the imports of lab 04's first cell, lab.setup() (the in-process local AWS, the warm
CLI), the prerequisites (lab 01's repository, lab 02's build project, lab 03's fleet) and
`python ../teardown.py` (the dry run the lab ends with). It prints wall and CPU seconds per
step (the process's own CPU, and for teardown its child's), and how much CPU botocore's
Loader spent reading JSON models: on a busy machine wall time says little, CPU time does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ROUND = r"""
import json, os, subprocess, sys, threading, time
import botocore.loaders as loaders

loader_cpu = [0.0]
lock = threading.Lock()
read = loaders.Loader.load_data_with_path

def timed_read(self, *args, **kwargs):
    start = time.thread_time()
    try:
        return read(self, *args, **kwargs)
    finally:
        with lock:
            loader_cpu[0] += time.thread_time() - start

loaders.Loader.load_data_with_path = timed_read
figures = {}

def step(name, run):
    wall, cpu, children = time.perf_counter(), time.process_time(), os.times()
    result = run()
    after = os.times()
    figures[name] = {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "child cpu": after.children_user + after.children_system
        - children.children_user - children.children_system,
    }
    return result

def imports():
    from helpers import checks, lab, prerequisites, quiz, views  # noqa: F401
    from helpers import codebuild, codecommit, codedeploy, codepipeline  # noqa: F401

step("imports", imports)
from helpers import lab, prerequisites
kit = step("lab.setup", lambda: lab.setup(quiet=True))

def ensure():
    repo = prerequisites.ensure_greeting_repository(kit)
    build = prerequisites.ensure_build_project(kit, repo["repository_name"])
    prerequisites.ensure_deployment_fleet(kit, build["artifact_bucket"])

step("prerequisites", ensure)
step("teardown.py", lambda: subprocess.run(
    [sys.executable, "../teardown.py"], stdout=subprocess.DEVNULL, check=False))
figures["loader cpu"] = loader_cpu[0]
print(json.dumps(figures), file=sys.__stderr__)
"""


def one_round() -> dict:
    environment = {
        **os.environ,
        "LAB_STATE_DIR": tempfile.mkdtemp(prefix="setup-bench-"),
        "LAB_PREFIX": "labbench",
        "LAB_PACE_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    environment.pop("LAB_MODE", None)
    environment.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", ROUND],
        cwd=ROOT / "solutions",
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def main(rounds: int) -> None:
    results = [one_round() for _ in range(rounds)]
    print(f"lab 04's set-up, {rounds} rounds (load average {os.getloadavg()[0]:.1f}):")
    for name in ("imports", "lab.setup", "prerequisites", "teardown.py"):
        cells = "  ".join(
            f"{r[name]['wall']:5.2f} s wall {r[name]['cpu']:5.2f} s cpu"
            + (f" (+{r[name]['child cpu']:.2f} child)" if r[name]["child cpu"] > 0.05 else "")
            for r in results
        )
        print(f"  {name:<14} {cells}")
    print("  botocore Loader cpu  " + "  ".join(f"{r['loader cpu']:.2f} s" for r in results))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
