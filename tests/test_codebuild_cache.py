"""CodeBuild caches (build-caching.md): LOCAL custom cache, S3 cache, InvalidateProjectCache,
NO_CACHE, and cache paths from a hostile buildspec or archive."""

from __future__ import annotations

import io
import zipfile

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
# A "dependency install" that leaves a marker the first time only: the second build of a
# cached project finds deps/ and says so.
INSTALL = (
    'if [ -f deps/lib.txt ]; then echo "deps from cache"; '
    'else mkdir -p deps && echo lib > deps/lib.txt && echo "deps installed"; fi'
)
BUILDSPEC = f"""version: 0.2
phases:
  build:
    commands:
      - {INSTALL}
      - mkdir -p ~/.m2 && echo jar >> ~/.m2/dep.jar && cat ~/.m2/dep.jar | wc -l
cache:
  paths:
    - 'deps/**/*'
    - '/root/.m2/**/*'
"""


@pytest.fixture
def cb(client):
    workers.set_synchronous(True)
    yield client("codebuild")
    workers.set_synchronous(None)


def make_project(cb, cache, buildspec=BUILDSPEC, name="cached"):
    return cb.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": buildspec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
        cache=cache,
    )["project"]


def run(cb, name="cached", **params):
    build_id = cb.start_build(projectName=name, **params)["build"]["id"]
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def log_lines(client, build):
    events = client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return [e["message"] for e in events]


def output(client, build):
    return [line for line in log_lines(client, build) if not line.startswith("[Container]")]


def container_text(client, build):
    return "\n".join(line for line in log_lines(client, build) if line.startswith("[Container]"))


LOCAL = {"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE"]}


def test_local_custom_cache_carries_paths_to_the_next_build(client, cb):
    project = make_project(cb, LOCAL)
    assert project["cache"] == LOCAL
    first = run(cb)
    assert first["buildStatus"] == "SUCCEEDED"
    assert first["cache"] == LOCAL
    assert "deps installed" in output(client, first)
    assert "Saved 2 file(s) to the local cache" in container_text(client, first)
    second = run(cb)
    assert "deps from cache" in output(client, second)
    assert "2" in output(client, second)  # ~/.m2/dep.jar came back and grew a line
    assert "Restored 2 file(s) from the local cache" in container_text(client, second)


def test_no_cache_carries_nothing_over(client, cb):
    make_project(cb, {"type": "NO_CACHE"})
    run(cb)
    second = run(cb)
    assert "deps installed" in output(client, second)
    assert second["cache"] == {"type": "NO_CACHE"}


def test_invalidate_project_cache_empties_the_local_cache(client, cb):
    make_project(cb, LOCAL)
    run(cb)
    assert cb.invalidate_project_cache(projectName="cached")["ResponseMetadata"]
    again = run(cb)
    assert "deps installed" in output(client, again)
    assert "Local cache is empty" in container_text(client, again)


def test_invalidate_unknown_project(cb):
    with pytest.raises(ClientError) as caught:
        cb.invalidate_project_cache(projectName="nope")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_s3_cache_is_stored_in_the_bucket_and_restored(client, cb):
    s3 = client("s3")
    s3.create_bucket(Bucket="cache-bucket")
    cache = {"type": "S3", "location": "cache-bucket/builds"}
    make_project(cb, cache)
    first = run(cb)
    assert "deps installed" in output(client, first)
    key = "builds/cached-codebuild-cache.zip"
    stored = s3.get_object(Bucket="cache-bucket", Key=key)["Body"].read()
    assert sorted(zipfile.ZipFile(io.BytesIO(stored)).namelist()) == [
        "home/.m2/dep.jar",
        "src/deps/lib.txt",
    ]
    assert "Uploading S3 cache s3://cache-bucket/builds/cached-codebuild-cache.zip" in (
        container_text(client, first)
    )
    second = run(cb)
    assert "deps from cache" in output(client, second)
    assert "Restored 2 file(s) from the S3 cache" in container_text(client, second)
    cb.invalidate_project_cache(projectName="cached")
    assert s3.list_objects_v2(Bucket="cache-bucket").get("KeyCount") == 0
    assert "deps installed" in output(client, run(cb))


def test_s3_cache_in_a_missing_bucket_never_fails_the_build(client, cb):
    make_project(cb, {"type": "S3", "location": "no-such-bucket"})
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED"
    assert "Unable to upload S3 cache" in container_text(client, build)


def test_cache_override_on_start_build(client, cb):
    make_project(cb, {"type": "NO_CACHE"})
    run(cb, cacheOverride=LOCAL)
    build = run(cb, cacheOverride=LOCAL)
    assert build["cache"] == LOCAL
    assert "deps from cache" in output(client, build)


@pytest.mark.parametrize(
    "cache",
    [
        {"type": "S3"},
        {"type": "LOCAL"},
        {"type": "NO_CACHE", "location": "bucket"},
    ],
)
def test_invalid_cache_settings(cb, cache):
    with pytest.raises(ClientError) as caught:
        make_project(cb, cache)
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_source_and_docker_modes_are_accepted_and_explained(client, cb):
    make_project(cb, {"type": "LOCAL", "modes": ["LOCAL_SOURCE_CACHE", "LOCAL_DOCKER_LAYER_CACHE"]})
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED"
    text = container_text(client, build)
    assert "LOCAL_SOURCE_CACHE" in text
    assert "no Docker" in text


def test_cache_paths_leaving_the_build_are_refused(client, cb, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    buildspec = f"""version: 0.2
phases:
  build:
    commands:
      - ln -s {tmp_path} link
      - mkdir -p ok && echo ok > ok/a.txt
cache:
  paths:
    - '../**/*'
    - '/etc/**/*'
    - 'link/**/*'
    - 'ok/**/*'
"""
    make_project(cb, LOCAL, buildspec=buildspec)
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED"
    text = container_text(client, build)
    assert "Skipping cache path ../**/*" in text
    assert "Skipping cache path /etc/**/*" in text
    assert "Skipping cache path link/**/*" in text
    assert "Saved 1 file(s) to the local cache" in text


def test_hostile_s3_cache_archive_is_extracted_inside_the_build_only(client, cb, tmp_path):
    s3 = client("s3")
    s3.create_bucket(Bucket="cache-bucket")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("src/../../../escape.txt", "x")
        archive.writestr("control/evil.sh", "x")
        archive.writestr("/abs.txt", "x")
        archive.writestr("src/deps/lib.txt", "lib")
        link = zipfile.ZipInfo("src/deps/link")
        link.create_system = 3
        link.external_attr = (0o120777) << 16
        archive.writestr(link, "/etc/passwd")
    s3.put_object(Bucket="cache-bucket", Key="cached-codebuild-cache.zip", Body=buffer.getvalue())
    make_project(cb, {"type": "S3", "location": "cache-bucket"})
    build = run(cb)
    assert "deps from cache" in output(client, build)
    text = container_text(client, build)
    assert "Restored 1 file(s) from the S3 cache" in text
    assert text.count("Skipping cached file") == 4
    assert not (tmp_path / "escape.txt").exists()


def test_served_over_http_and_not_marked_unserved(server_client):
    from moto.codebuild.responses import CodeBuildResponse

    cb = server_client("codebuild")
    for name in ("invalidate_project_cache", "describe_code_coverages", "get_report_group_trend"):
        assert not getattr(getattr(CodeBuildResponse, name), "lab_not_served", False)
    make_project(cb, LOCAL, name="over-http")
    cb.invalidate_project_cache(projectName="over-http")
    assert cb.batch_get_projects(names=["over-http"])["projects"][0]["cache"] == LOCAL
    cb.delete_project(name="over-http")


def test_a_project_made_again_starts_cold(client, cb):
    make_project(cb, LOCAL)
    run(cb)
    cb.delete_project(name="cached")
    make_project(cb, LOCAL)
    assert "deps installed" in output(client, run(cb))
