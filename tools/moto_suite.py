"""Run moto's own tests for the four services against the kit's local server, and report.

    python tools/moto_suite.py                          # all four services, a table
    python tools/moto_suite.py --services codebuild codedeploy
    python tools/moto_suite.py --json                   # machine output

What it does:

1. Gets moto's source distribution of the version requirements.txt pins (pip download,
   no wheels) into .lab-state/moto-suite/ (once), and extracts only tests/__init__.py,
   conftest.py, markers.py and tests/test_<service>/ for the four services. Tar members are
   checked: regular files under those folders only, no absolute path, no "..".
2. Starts the kit's server (`python -m helpers.emulator --port 0 --moto-api`) on loopback
   with a temporary state folder and the credentials moto's mock_aws signs with
   (FOOBARKEY/FOOBARSECRET, moto/core/models.py). The server's trust checks stay as they
   are: every request, /moto-api/reset included, must be signed with that pair.
3. Runs each service's tests with pytest in moto's server mode (TEST_SERVER_MODE=true,
   TEST_SERVER_MODE_ENDPOINT=<the server>). moto's server mode resets the server between
   tests with an *unsigned* POST /moto-api/reset, which the server refuses (trust.py);
   this module is also the pytest plugin (`-p moto_suite`) that replaces that reset with
   the same POST signed with SigV4, so no check of the server is weakened.
4. With --with-artifact-buckets (the default; --no-artifact-buckets turns it off): after
   each reset, before each test, the plugin creates the S3 buckets moto's tests name as a
   pipeline's artifact store but never create (ARTIFACT_BUCKETS). AWS refuses CreatePipeline
   when the artifact store bucket does not exist (pipelines-create.md), and so does the kit;
   without the bucket nothing those tests check after CreatePipeline is reached. The bucket
   is the script's doing, not moto's tests': the report says so.
5. Prints per service passed / failed / errors / skipped, then each failing test with the
   first line of its error. Exit code 0 whenever the suite ran (a report, not a gate);
   2 when it could not run (no download, the server did not start).

docs/moto-suite.md lists the failures left and why AWS agrees with the kit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".lab-state" / "moto-suite"
SERVICES = ("codepipeline", "codecommit", "codebuild", "codedeploy")
# The pair moto's mock_aws puts in the environment (moto/core/models.py, MockAWS).
MOTO_KEY, MOTO_SECRET = "FOOBARKEY", "FOOBARSECRET"
# Test modules import these from moto's tests package besides their own folder.
SHARED_FILES = ("tests/__init__.py", "tests/conftest.py", "tests/markers.py")
# What moto's test files import that the kit's requirements do not install.
TEST_DEPENDENCIES = {"freezegun": "freezegun"}
# Buckets moto's tests name as a pipeline's artifact store (artifactStore.location) without
# creating them (grep "location" in tests/test_codepipeline/). moto does not check that the
# bucket exists; AWS and the kit do (pipelines-create.md: "you must have an artifact bucket
# in the pipeline Region"). Created in us-east-1, the Region those tests use.
ARTIFACT_BUCKETS = {"codepipeline": ("codepipeline-us-east-1-123456789012",)}


# -- moto's tests --------------------------------------------------------------------


def pinned_moto_version(requirements: Path = ROOT / "requirements.txt") -> str:
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*moto(\[[^\]]*\])?\s*==\s*([0-9][0-9A-Za-z.]*)\s*(#.*)?$", line)
        if match:
            return match.group(2)
    raise SystemExit("requirements.txt pins no moto version (moto[...]==X.Y.Z)")


def wanted_member(name: str, services: tuple[str, ...]) -> bool:
    """Only the shared files and the services' test folders; nothing that escapes."""
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or len(parts) < 3:
        return False
    inner = "/".join(parts[1:])  # without the moto-X.Y.Z/ top folder
    if inner in SHARED_FILES:
        return True
    return any(inner.startswith(f"tests/test_{service}/") for service in services)


def moto_tests(version: str, cache: Path = CACHE) -> Path:
    """The folder holding moto's tests/ for version, downloaded and extracted once."""
    tree = cache / f"moto-{version}"
    done = tree / ".extracted"
    if done.exists():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:"]
            + ["--no-deps", f"moto=={version}", "-d", download],
            check=True,
        )
        archives = list(Path(download).glob(f"moto-{version}.tar.gz"))
        if not archives:
            raise SystemExit(f"pip downloaded no moto-{version}.tar.gz")
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir()
        with tarfile.open(archives[0]) as archive:
            for member in archive.getmembers():
                if not member.isfile() or not wanted_member(member.name, SERVICES):
                    continue
                target = tree / Path(*member.name.split("/")[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None  # a regular file
                target.write_bytes(source.read())
    done.write_text(version)
    return tree


def test_dependencies(cache: Path = CACHE) -> Path | None:
    """A folder (for PYTHONPATH) with what moto's tests import beyond the kit's venv."""
    import importlib.util

    missing = [
        pkg for module, pkg in TEST_DEPENDENCIES.items() if not importlib.util.find_spec(module)
    ]
    if not missing:
        return None
    target = cache / "deps"
    if not all((target / module).exists() for module in TEST_DEPENDENCIES):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
            + [str(target)]
            + missing,
            check=True,
        )
    return target


# -- the kit's server ----------------------------------------------------------------


class Server:
    """`python -m helpers.emulator` in a subprocess, on a free loopback port."""

    def __init__(self, log_path: Path) -> None:
        self.state = tempfile.mkdtemp(prefix="moto-suite-state-")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=MOTO_KEY, AWS_SECRET_ACCESS_KEY=MOTO_SECRET)
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_ENDPOINT_URL", None)
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpers.emulator", "--port", "0", "--moto-api"]
            + ["--state-dir", self.state],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.endpoint = self._wait_for_endpoint()

    def _wait_for_endpoint(self) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                return match.group(1)
        self.stop()
        raise SystemExit(f"the local server did not start; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: it stops its builds and hooks too
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.state, ignore_errors=True)


# -- running and reading -------------------------------------------------------------


def run_service(
    service: str,
    tree: Path,
    endpoint: str,
    deps: Path | None,
    out: Path,
    artifact_buckets: bool = True,
) -> dict:
    junit = out / f"{service}.xml"
    paths = [str(Path(__file__).resolve().parent)] + ([str(deps)] if deps else [])
    env = dict(
        os.environ,
        TEST_SERVER_MODE="true",
        TEST_SERVER_MODE_ENDPOINT=endpoint,
        PYTHONPATH=os.pathsep.join(paths),
        MOTO_SUITE_ENDPOINT=endpoint,
        MOTO_SUITE_BUCKETS=",".join(ARTIFACT_BUCKETS.get(service, ())) if artifact_buckets else "",
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "LAB_CHECKS"):
        env.pop(name, None)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", f"tests/test_{service}", "-q", "-p", "moto_suite"]
        + ["-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={junit}", "-rN"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    result = read_junit(junit) if junit.exists() else empty_result()
    result["seconds"] = round(time.monotonic() - started, 1)
    result["buckets_provided_by_script"] = [b for b in env["MOTO_SUITE_BUCKETS"].split(",") if b]
    if not junit.exists():
        result["errors"] = 1
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-1:] or ["?"]
        result["failures"].append({"test": f"tests/test_{service}", "error": tail[0]})
    return result


def empty_result() -> dict[str, Any]:
    return {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}


def read_junit(path: Path) -> dict[str, Any]:
    result = empty_result()
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        name = f"{module}::{case.get('name', '')}"
        outcome = "passed"
        message = ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
                message = child.get("message") or (child.text or "")
                break
        result[outcome] += 1
        if outcome in ("failed", "errors"):
            first = next((line for line in message.splitlines() if line.strip()), "")
            result["failures"].append({"test": name, "kind": outcome, "error": first.strip()[:300]})
    return result


def print_table(results: dict[str, dict]) -> None:
    print(f"{'service':<14}{'passed':>8}{'failed':>8}{'errors':>8}{'skipped':>9}{'seconds':>9}")
    for service, r in results.items():
        print(
            f"{service:<14}{r['passed']:>8}{r['failed']:>8}{r['errors']:>8}"
            f"{r['skipped']:>9}{r['seconds']:>9}"
        )
    for service, r in results.items():
        if r.get("buckets_provided_by_script"):
            names = ", ".join(r["buckets_provided_by_script"])
            print(f"{service}: S3 bucket(s) {names} created by this script before each test")
    for service, r in results.items():
        if r["failures"]:
            print(f"\n{service}:")
            for failure in r["failures"]:
                print(f"  {failure['test']}\n      {failure['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--with-artifact-buckets",
        dest="artifact_buckets",
        action="store_true",
        default=True,
        help="create the artifact store buckets moto's tests name but never create, after "
        "each reset, before each test (the default)",
    )
    parser.add_argument(
        "--no-artifact-buckets",
        dest="artifact_buckets",
        action="store_false",
        help="run moto's tests exactly as they are, without those buckets",
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help=f"default {CACHE}")
    args = parser.parse_args(argv)
    cache: Path = args.cache_dir
    try:
        tree = moto_tests(pinned_moto_version(), cache)
        deps = test_dependencies(cache)
    except subprocess.CalledProcessError as error:
        print(f"could not get moto's tests: {error}", file=sys.stderr)
        return 2
    out = Path(tempfile.mkdtemp(prefix="moto-suite-"))
    try:
        server = Server(cache / "server.log")
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    try:
        results = {
            s: run_service(s, tree, server.endpoint, deps, out, args.artifact_buckets)
            for s in args.services
        }
    finally:
        server.stop()
        shutil.rmtree(out, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


# -- the pytest plugin (-p moto_suite) ----------------------------------------------


def pytest_configure(config: Any) -> None:
    """In moto's server mode, reset the server with a signed POST /moto-api/reset."""
    from moto.core.models import ServerModeMockAWS

    ServerModeMockAWS.reset = _signed_reset  # type: ignore[method-assign]


def _signed_reset(self: Any) -> None:
    """The signed reset, then the artifact buckets the run asks for (MOTO_SUITE_BUCKETS).

    moto calls reset when a test starts and when it ends; the buckets are made after each,
    so every test starts with them and nothing else. A fixture cannot do this: moto's
    mock_aws resets inside the test function, after the fixtures ran.
    """
    _post_signed_reset()
    buckets = [b for b in os.environ.get("MOTO_SUITE_BUCKETS", "").split(",") if b]
    if buckets:
        _create_buckets(buckets)


def _create_buckets(buckets: list[str]) -> None:
    import botocore.session

    # botocore, not boto3: mock_aws patches boto3.client while a test runs.
    s3 = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=os.environ["MOTO_SUITE_ENDPOINT"],
        aws_access_key_id=MOTO_KEY,
        aws_secret_access_key=MOTO_SECRET,
    )
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)


def _post_signed_reset() -> None:
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    endpoint = os.environ["MOTO_SUITE_ENDPOINT"]
    request = AWSRequest(method="POST", url=f"{endpoint}/moto-api/reset", data=b"")
    SigV4Auth(Credentials(MOTO_KEY, MOTO_SECRET), "moto", "us-east-1").add_auth(request)
    urllib.request.urlopen(
        urllib.request.Request(
            request.url, data=b"", method="POST", headers=dict(request.headers.items())
        ),
        timeout=60,
    ).close()


if __name__ == "__main__":
    sys.exit(main())
