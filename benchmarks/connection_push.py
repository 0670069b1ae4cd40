"""Time from a `git push` to the local git host until the pipeline it triggers has started.

A GitHub connection (handshake done), a V2 pipeline whose CodeStarSourceConnection source
watches octo/app's main branch through a trigger with a file-path filter, and N pushes of a
changed src/ file. Printed per push: the `git push` itself (git over HTTP, signed by the aws
CLI's credential helper as in the labs: the warm CLI; LAB_WARM_CLI=0 for the plain one),
and from the end of the push until ListPipelineExecutions shows the new execution
(triggerType WebhookV2). Target: push -> started < 1 s.
Run: python benchmarks/connection_push.py [pushes]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))

import boto3  # noqa: E402

from helpers import connections, lab, offline_credentials, warm_cli  # noqa: E402
from helpers.aws import create_role_named_by  # noqa: E402
from helpers.emulator.server import LocalServer  # noqa: E402

FULL_ID = "octo/app"


def git(work: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=b@example.com", *args],
        cwd=work,
        check=True,
        capture_output=True,
    )


def pipeline(arn: str, role: str, bucket: str) -> dict:
    source = {
        "name": "Source",
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeStarSourceConnection",
            "version": "1",
        },
        "configuration": {"ConnectionArn": arn, "FullRepositoryId": FULL_ID, "BranchName": "main"},
        "outputArtifacts": [{"name": "SourceOutput"}],
    }
    approval = {
        "name": "Wait",
        "actionTypeId": {
            "category": "Approval",
            "owner": "AWS",
            "provider": "Manual",
            "version": "1",
        },
    }
    push = {"branches": {"includes": ["main"]}, "filePaths": {"includes": ["src/**"]}}
    return {
        "name": "bench-push",
        "pipelineType": "V2",
        "executionMode": "PARALLEL",  # each push gets its own execution, none superseded
        "roleArn": role,
        "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {"name": "Source", "actions": [source]},
            {"name": "Approve", "actions": [approval]},
        ],
        "triggers": [
            {
                "providerType": "CodeStarSourceConnection",
                "gitConfiguration": {"sourceActionName": "Source", "push": [push]},
            }
        ],
    }


def main(pushes: int = 10) -> None:
    server = LocalServer().start()
    key, secret = server.credentials
    os.environ.update(
        AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1"
    )
    # git signs through the aws CLI's credential helper as in the labs: the warm CLI
    # (helpers/warm_cli) unless LAB_WARM_CLI=0, which measures the plain CLI.
    launcher = warm_cli.activate(os.environ)
    os.environ.update(offline_credentials.git_config(server.endpoint, cli=launcher))
    print(f"credential helper: {'warm CLI' if launcher else 'plain aws CLI'}")
    try:
        session = boto3.Session(region_name="us-east-1")
        kit = lab.Kit(
            lab.OFFLINE,
            "us-east-1",
            "bench",
            session,
            endpoint_url=server.endpoint,
            account_id=lab.OFFLINE_ACCOUNT_ID,
        )
        cp = kit.client("codepipeline")
        kit.client("s3").create_bucket(Bucket="bench-artifacts")
        arn = kit.client("codeconnections").create_connection(
            ProviderType="GitHub", ConnectionName="bench"
        )["ConnectionArn"]
        connections.complete_handshake(kit, arn)
        role = create_role_named_by(
            kit.client("iam"),
            f"arn:aws:iam::{kit.account_id}:role/bench",
            "codepipeline.amazonaws.com",
        )
        url = connections.repository_url(kit, "GitHub", FULL_ID)
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            git(work, "init", "-q", "-b", "main")
            (work / "src").mkdir()
            (work / "src" / "app.py").write_text("v = 0\n")
            git(work, "add", ".")
            git(work, "commit", "-qm", "first")
            git(work, "push", "-q", url, "main")  # the repository exists before the pipeline
            cp.create_pipeline(pipeline=pipeline(arn, role, "bench-artifacts"))
            push_times, start_times = [], []
            for n in range(1, pushes + 1):
                (work / "src" / "app.py").write_text(f"v = {n}\n")
                git(work, "commit", "-qam", f"change {n}")
                known = len(
                    cp.list_pipeline_executions(pipelineName="bench-push")[
                        "pipelineExecutionSummaries"
                    ]
                )
                began = time.perf_counter()
                git(work, "push", "-q", url, "main")
                pushed = time.perf_counter()
                while True:
                    summaries = cp.list_pipeline_executions(pipelineName="bench-push")[
                        "pipelineExecutionSummaries"
                    ]
                    if len(summaries) > known:
                        break
                    if time.perf_counter() - pushed > 30:
                        raise SystemExit("no execution started within 30 s of the push")
                    time.sleep(0.005)
                started = time.perf_counter()
                assert summaries[0]["trigger"]["triggerType"] == "WebhookV2", summaries[0]
                push_times.append(pushed - began)
                start_times.append(started - pushed)
        print(f"{pushes} pushes of a src/ change to the local git host ({FULL_ID}):")
        print(f"  git push (HTTP, credential helper): median {statistics.median(push_times):.3f} s")
        print(
            f"  end of push -> execution listed:    median {statistics.median(start_times):.3f} s, "
            f"max {max(start_times):.3f} s"
        )
        total = [a + b for a, b in zip(push_times, start_times, strict=True)]
        print(
            f"  push begun -> execution listed:     median {statistics.median(total):.3f} s "
            "(target < 1 s)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
