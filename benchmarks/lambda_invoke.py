"""Time of a one-function Lambda invoke offline: Invoke (RequestResponse) to its reply.

One Python function (returns its event), invoked through the local server over HTTP as a
learner's boto3 would; the first invoke (which extracts the zip) is shown apart from the
median of the rest. Target: < 0.5 s. Run: python benchmarks/lambda_invoke.py [runs]
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("LAB_STATE_DIR", tempfile.mkdtemp(prefix="lab-kit-bench-"))

import boto3  # noqa: E402

from helpers.emulator.server import LocalServer  # noqa: E402

CODE = "def handler(event, context):\n    return event\n"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", CODE)
    return buffer.getvalue()


def main(runs: int = 20) -> None:
    server = LocalServer().start()
    try:
        key, secret = server.credentials
        session = boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
        )
        iam = session.client("iam", endpoint_url=server.endpoint)
        lam = session.client("lambda", endpoint_url=server.endpoint)
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST))
        lam.create_function(
            FunctionName="bench",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="lambda_function.handler",
            Code={"ZipFile": package()},
        )
        times = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            reply = lam.invoke(FunctionName="bench", Payload=b'{"n": 1}')
            reply["Payload"].read()
            times.append(time.perf_counter() - started)
            assert "FunctionError" not in reply, reply
        first, rest = times[0], times[1:]
        print(f"first invoke (extracts the zip): {first * 1000:.0f} ms")
        print(
            f"invoke, median of {len(rest)}: {statistics.median(rest) * 1000:.0f} ms "
            f"(min {min(rest) * 1000:.0f} ms, max {max(rest) * 1000:.0f} ms); target < 500 ms"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
