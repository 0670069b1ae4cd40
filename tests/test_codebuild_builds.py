"""CodeBuild offline: builds really run their buildspec (phases, shell session, env, logs...)."""

from __future__ import annotations

import io
import threading
import time
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
ORDER = [
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
    "COMPLETED",
]


@pytest.fixture
def sync():
    workers.set_synchronous(True)
    yield
    workers.set_synchronous(None)


@pytest.fixture
def cb(client, sync):
    return client("codebuild")


def make_project(cb, name="demo", buildspec=None, source=None, artifacts=None, **extra):
    source = source or {"type": "NO_SOURCE", "buildspec": buildspec}
    return cb.create_project(
        name=name,
        source=source,
        artifacts=artifacts or {"type": "NO_ARTIFACTS"},
        environment={**ENVIRONMENT, **extra.pop("environment", {})},
        serviceRole=ROLE,
        **extra,
    )["project"]


def run(cb, project="demo", **params):
    build_id = cb.start_build(projectName=project, **params)["build"]["id"]
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def phases(build):
    return {p["phaseType"]: p for p in build["phases"]}


def log_lines(client, build):
    logs = client("logs")
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return [e["message"] for e in events]


def output_lines(client, build):
    return [line for line in log_lines(client, build) if not line.startswith("[Container]")]


def spec(*phase_blocks: str, extra: str = "") -> str:
    return "version: 0.2\n" + extra + "phases:\n" + "".join(phase_blocks)


def test_successful_build_lists_every_phase_in_order(client, cb):
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - echo hello\n"))
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["buildComplete"] is True
    assert build["currentPhase"] == "COMPLETED"
    assert [p["phaseType"] for p in build["phases"]] == ORDER
    for phase in build["phases"][:-1]:
        assert phase["phaseStatus"] == "SUCCEEDED"
        assert phase["endTime"] >= phase["startTime"]
        assert phase["durationInSeconds"] >= 0
    assert "phaseStatus" not in build["phases"][-1]
    assert build["buildNumber"] == 1
    assert build["id"].startswith("demo:")
    assert build["arn"] == f"arn:aws:codebuild:us-east-1:123456789012:build/{build['id']}"
    assert build["timeoutInMinutes"] == 60 and build["queuedTimeoutInMinutes"] == 480
    assert build["logs"]["groupName"] == "/aws/codebuild/demo"
    assert build["logs"]["streamName"] == build["id"].split(":")[1]
    assert "hello" in output_lines(client, build)


def test_cd_and_variables_carry_across_commands_and_phases(client, cb):
    make_project(
        cb,
        buildspec=spec(
            "  install:\n    commands:\n      - mkdir -p a/b && cd a\n"
            "      - export FROM_INSTALL=1\n      - PLAIN=kept\n",
            '  build:\n    commands:\n      - cd b\n      - echo "dir=$(basename $PWD) '
            'i=$FROM_INSTALL p=$PLAIN"\n',
        ),
    )
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED"
    assert "dir=b i=1 p=kept" in output_lines(client, build)


def test_failed_build_phase_still_runs_post_build_and_upload(client, cb):
    make_project(
        cb,
        buildspec=spec(
            "  build:\n    commands:\n      - echo one\n      - false\n      - echo never\n"
            "    finally:\n      - echo cleanup\n",
            "  post_build:\n    commands:\n      - echo post $CODEBUILD_BUILD_SUCCEEDING\n",
        ),
    )
    build = run(cb)
    by_type = phases(build)
    assert build["buildStatus"] == "FAILED"
    assert by_type["BUILD"]["phaseStatus"] == "FAILED"
    assert by_type["BUILD"]["contexts"][0]["statusCode"] == "COMMAND_EXECUTION_ERROR"
    assert "false" in by_type["BUILD"]["contexts"][0]["message"]
    assert by_type["POST_BUILD"]["phaseStatus"] == "SUCCEEDED"
    assert "UPLOAD_ARTIFACTS" in by_type
    out = output_lines(client, build)
    assert out == ["one", "cleanup", "post 0"]


@pytest.mark.parametrize("failing", ["install", "pre_build"])
def test_failed_install_or_pre_build_skips_to_finalizing(client, cb, failing):
    make_project(
        cb,
        buildspec=spec(
            f"  {failing}:\n    commands:\n      - exit 3\n",
            "  build:\n    commands:\n      - echo built\n",
            "  post_build:\n    commands:\n      - echo post\n",
        ),
    )
    build = run(cb)
    types = [p["phaseType"] for p in build["phases"]]
    assert build["buildStatus"] == "FAILED"
    assert "BUILD" not in types and "POST_BUILD" not in types
    assert "UPLOAD_ARTIFACTS" not in types
    assert types[-2:] == ["FINALIZING", "COMPLETED"]
    assert "exit status 3" in phases(build)[failing.upper()]["contexts"][0]["message"]
    assert "built" not in output_lines(client, build)


def test_on_failure_continue_and_finally_failure(client, cb):
    make_project(
        cb,
        buildspec=spec(
            "  install:\n    on-failure: CONTINUE\n    commands:\n      - false\n",
            "  pre_build:\n    commands:\n      - echo pre\n    finally:\n      - echo fin\n"
            "      - 'false'\n",
            "  build:\n    commands:\n      - echo build\n",
        ),
    )
    build = run(cb)
    by_type = phases(build)
    assert by_type["INSTALL"]["phaseStatus"] == "FAILED"
    assert by_type["PRE_BUILD"]["phaseStatus"] == "FAILED"  # its finally block failed
    assert "BUILD" not in by_type
    assert build["buildStatus"] == "FAILED"
    assert output_lines(client, build) == ["pre", "fin"]


def test_explicit_abort_skips_post_build(client, cb):
    make_project(
        cb,
        buildspec=spec(
            "  build:\n    on-failure: ABORT\n    commands:\n      - false\n",
            "  post_build:\n    commands:\n      - echo post\n",
        ),
    )
    build = run(cb)
    assert "POST_BUILD" not in phases(build)
    assert build["buildStatus"] == "FAILED"


def test_environment_precedence_and_builtins(client, cb):
    make_project(
        cb,
        buildspec=spec(
            '  build:\n    commands:\n      - echo "$A $B $C"\n'
            '      - echo "$CODEBUILD_BUILD_ID|$CODEBUILD_BUILD_NUMBER|'
            '$CODEBUILD_SRC_DIR|$AWS_REGION|$CODEBUILD_INITIATOR"\n',
            extra="env:\n  variables:\n    A: spec\n    B: spec\n    C: spec\n",
        ),
        environment={
            "environmentVariables": [
                {"name": "A", "value": "project"},
                {"name": "B", "value": "project"},
            ]
        },
    )
    build = run(cb, environmentVariablesOverride=[{"name": "A", "value": "start"}])
    first, second = output_lines(client, build)
    assert first == "start project spec"
    build_id, number, src_dir, region, initiator = second.split("|")
    assert build_id == build["id"] and number == "1" and region == "us-east-1"
    assert src_dir.endswith(f"/codebuild/123456789012/us-east-1/{build['id'].split(':')[1]}/src")
    assert initiator == build["initiator"]
    assert run(cb)["buildNumber"] == 2
    assert run(cb)["buildNumber"] == 3


def test_parameter_store_and_secrets_manager_variables(client, cb):
    client("ssm").put_parameter(Name="/lab/token", Value="from-ssm", Type="SecureString")
    client("secretsmanager").create_secret(Name="lab-secret", SecretString='{"pw": "s3cret"}')
    make_project(
        cb,
        buildspec=spec(
            '  build:\n    commands:\n      - test "$P" = from-ssm && test "$S" = s3cret\n'
            '      - echo "$S"\n',
            extra="env:\n  parameter-store:\n    P: /lab/token\n"
            "  secrets-manager:\n    S: lab-secret:pw\n",
        ),
    )
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED", [
        (p["phaseType"], p.get("contexts")) for p in build["phases"]
    ]
    assert output_lines(client, build) == ["***"]  # secret values are hidden in the log


def test_exported_variables(client, cb):
    make_project(
        cb,
        buildspec=spec(
            "  build:\n    commands:\n      - export VERSION=1.2.3\n      - LOCAL=x\n",
            extra="env:\n  exported-variables:\n    - VERSION\n    - LOCAL\n    - MISSING\n",
        ),
    )
    build = run(cb)
    assert build["exportedEnvironmentVariables"] == [
        {"name": "VERSION", "value": "1.2.3"},
        {"name": "LOCAL", "value": "x"},
        {"name": "MISSING", "value": ""},
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo: [\n", "Invalid YAML"),
        ("version: 0.3\nphases: {}\n", "0.3"),
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", "string type"),
        ("version: 0.2\nphases:\n  bild:\n    commands:\n      - echo\n", "bild"),
    ],
)
def test_bad_buildspec_fails_download_source_with_yaml_file_error(cb, text, words):
    make_project(cb, buildspec=text)
    build = run(cb)
    download = phases(build)["DOWNLOAD_SOURCE"]
    assert build["buildStatus"] == "FAILED"
    assert download["phaseStatus"] == "FAILED"
    assert download["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
    assert words in download["contexts"][0]["message"]
    assert "INSTALL" not in phases(build)


def test_buildspec_override(client, cb):
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - echo project\n"))
    build = run(cb, buildspecOverride=spec("  build:\n    commands:\n      - echo override\n"))
    assert output_lines(client, build) == ["override"]


def test_version_0_1_runs_each_command_in_its_own_shell(client, cb):
    make_project(
        cb,
        buildspec="version: 0.1\nphases:\n  build:\n    commands:\n"
        '      - export X=1\n      - echo "x=$X"\n',
    )
    assert output_lines(client, run(cb)) == ["x="]


def put_zip(s3, bucket, key, files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def read_zip(s3, bucket, key):
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_s3_source_and_zip_artifacts(client, cb):
    s3 = client("s3")
    s3.create_bucket(Bucket="lab-in")
    s3.create_bucket(Bucket="out")
    put_zip(
        s3,
        "lab-in",
        "app/source.zip",
        {
            "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - mkdir -p dist/sub && cp app.txt dist/\n"
            "      - echo x > dist/sub/y.txt\n"
            "artifacts:\n  files:\n    - '**/*'\n  base-directory: dist\n",
            "app.txt": "the app",
        },
    )
    make_project(
        cb,
        source={"type": "S3", "location": "lab-in/app/source.zip"},
        artifacts={
            "type": "S3",
            "location": "out",
            "path": "builds",
            "namespaceType": "BUILD_ID",
            "name": "app.zip",
            "packaging": "ZIP",
        },
    )
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    build_uuid = build["id"].split(":")[1]
    key = f"builds/{build_uuid}/app.zip"
    assert build["artifacts"]["location"] == f"arn:aws:s3:::out/{key}"
    assert read_zip(s3, "out", key) == {"app.txt": "the app", "sub/y.txt": "x\n"}
    head = s3.head_object(Bucket="out", Key=key)
    assert head["Metadata"]["codebuild-buildarn"] == build["arn"]


def test_artifacts_discard_paths_packaging_none_and_secondary(client, cb):
    s3 = client("s3")
    s3.create_bucket(Bucket="out")
    make_project(
        cb,
        buildspec=spec(
            "  build:\n    commands:\n      - mkdir -p a/b && echo 1 > a/b/one.txt"
            " && echo 2 > two.txt\n",
            extra="",
        )
        + "artifacts:\n  files:\n    - a/**/*\n  discard-paths: yes\n"
        "  secondary-artifacts:\n    extra:\n      files:\n"
        "        - two.txt\n",
        artifacts={"type": "S3", "location": "out", "name": "flat"},
        secondaryArtifacts=[
            {
                "type": "S3",
                "location": "out",
                "name": "second.zip",
                "packaging": "ZIP",
                "artifactIdentifier": "extra",
            }
        ],
    )
    build = run(cb)
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert s3.get_object(Bucket="out", Key="flat/one.txt")["Body"].read() == b"1\n"
    assert read_zip(s3, "out", "second.zip") == {"two.txt": "2\n"}
    assert build["secondaryArtifacts"] == [
        {"location": "arn:aws:s3:::out/second.zip", "artifactIdentifier": "extra"}
    ]


def test_no_matching_artifacts_fails_upload(cb, client):
    client("s3").create_bucket(Bucket="out")
    make_project(
        cb,
        buildspec=spec("  build:\n    commands:\n      - echo hi\n")
        + "artifacts:\n  files:\n    - missing/*\n",
        artifacts={"type": "S3", "location": "out"},
    )
    build = run(cb)
    upload = phases(build)["UPLOAD_ARTIFACTS"]
    assert upload["phaseStatus"] == "FAILED"
    assert upload["contexts"][0]["statusCode"] == "CLIENT_ERROR"
    assert build["buildStatus"] == "FAILED"


def test_codecommit_source_and_resolved_version(client, cb):
    cc = client("codecommit")
    cc.create_repository(repositoryName="app")
    commit = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="buildspec.yml",
        fileContent=b"version: 0.2\nphases:\n  build:\n    commands:\n"
        b"      - echo $CODEBUILD_RESOLVED_SOURCE_VERSION\n",
    )
    url = cc.get_repository(repositoryName="app")["repositoryMetadata"]["cloneUrlHttp"]
    make_project(cb, source={"type": "CODECOMMIT", "location": url})
    build = run(cb, sourceVersion="main")
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["resolvedSourceVersion"] == commit["commitId"]
    assert build["sourceVersion"] == "main"
    assert output_lines(client, build) == [commit["commitId"]]


@pytest.mark.parametrize(
    "version",
    ["main", "refs/heads/main", "refs/tags/v1", "v1", "{first}", "refs/heads/main^{{{first}}}"],
)
def test_codecommit_source_versions_of_the_user_guide(client, cb, version):
    """sample-source-version.md: branch, tag, commit id, refs/heads/<b>, refs/tags/<t> and
    a reference pinned to a commit on it, refs/heads/main^{<commit id>}."""
    cc = client("codecommit")
    cc.create_repository(repositoryName="app")
    first = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="buildspec.yml",
        fileContent=b"version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
    )["commitId"]
    _tag(client, "app", "v1", first)
    url = cc.get_repository(repositoryName="app")["repositoryMetadata"]["cloneUrlHttp"]
    make_project(cb, source={"type": "CODECOMMIT", "location": url})
    build = run(cb, sourceVersion=version.format(first=first))
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["resolvedSourceVersion"] == first


@pytest.mark.parametrize("version", ["refs/heads/main^{{{other}}}", "refs/pull/1/head"])
def test_codecommit_versions_that_cannot_be_built(client, cb, version):
    cc = client("codecommit")
    cc.create_repository(repositoryName="app")
    first = cc.put_file(
        repositoryName="app", branchName="main", filePath="buildspec.yml", fileContent=b"x"
    )["commitId"]
    other = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="b.txt",
        fileContent=b"y",
        parentCommitId=first,
    )["commitId"]
    cc.create_branch(repositoryName="app", branchName="old", commitId=first)
    url = cc.get_repository(repositoryName="app")["repositoryMetadata"]["cloneUrlHttp"]
    make_project(cb, source={"type": "CODECOMMIT", "location": url})
    pinned = version.format(other=other).replace("refs/heads/main", "refs/heads/old")
    download = phases(run(cb, sourceVersion=pinned))["DOWNLOAD_SOURCE"]
    assert download["phaseStatus"] == "FAILED"
    assert download["contexts"][0]["statusCode"] == "CLIENT_ERROR"


def _tag(client, repository: str, tag: str, commit_id: str) -> None:
    """A lightweight tag, as `git tag v1 <commit>` and a push would make it."""
    from helpers.emulator.codecommit.models import codecommit_lab_backends

    backend = codecommit_lab_backends["123456789012"]["us-east-1"]
    git = backend.get_repository(repository).git()
    git.refs[b"refs/tags/" + tag.encode()] = commit_id.encode()


def test_missing_codecommit_repository_fails_download_source(cb):
    make_project(
        cb,
        source={
            "type": "CODECOMMIT",
            "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/nope",
        },
    )
    build = run(cb)
    download = phases(build)["DOWNLOAD_SOURCE"]
    assert download["phaseStatus"] == "FAILED"
    assert download["contexts"][0]["statusCode"] == "CLIENT_ERROR"
    assert build["buildStatus"] == "FAILED"


def test_timeout_ends_timed_out(cb, monkeypatch):
    monkeypatch.setenv("LAB_CODEBUILD_SECONDS_PER_MINUTE", "0.06")  # 5 minutes -> 0.3 s
    make_project(
        cb, buildspec=spec("  build:\n    commands:\n      - sleep 30\n"), timeoutInMinutes=5
    )
    started = time.monotonic()
    build = run(cb)
    assert time.monotonic() - started < 10
    assert build["buildStatus"] == "TIMED_OUT"
    assert phases(build)["BUILD"]["phaseStatus"] == "TIMED_OUT"
    assert phases(build)["BUILD"]["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"
    assert [p["phaseType"] for p in build["phases"]][-2:] == ["FINALIZING", "COMPLETED"]


def test_stop_build_kills_the_running_build(client):
    workers.set_synchronous(False)
    cb = client("codebuild")
    make_project(
        cb,
        buildspec=spec(
            "  build:\n    commands:\n      - echo started\n      - sleep 30 & sleep 30\n"
        ),
    )
    build_id = cb.start_build(projectName="demo")["build"]["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if build["currentPhase"] == "BUILD" and "started" in output_lines(client, build):
            break
        time.sleep(0.02)
    stopped = cb.stop_build(id=build_id)["build"]
    assert stopped["buildStatus"] == "STOPPED"
    assert phases(stopped)["BUILD"]["phaseStatus"] == "STOPPED"
    assert stopped["buildComplete"] is True
    # Stopping a finished build returns its final status.
    assert cb.stop_build(id=build_id)["build"]["buildStatus"] == "STOPPED"


def test_background_build_in_progress_then_succeeded(client):
    workers.set_synchronous(False)
    cb = client("codebuild")
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - sleep 0.3\n"))
    build = cb.start_build(projectName="demo")["build"]
    assert build["buildStatus"] == "IN_PROGRESS"
    assert build["buildComplete"] is False
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        build = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
        seen.add(build["currentPhase"])
        if build["buildComplete"]:
            break
        time.sleep(0.02)
    assert build["buildStatus"] == "SUCCEEDED"
    assert "BUILD" in seen
    assert threading.active_count() < 50


def test_reports_from_junit(client, cb):
    junit = (
        "<testsuites><testsuite name='suite'>"
        "<testcase classname='t.A' name='ok' time='0.5'/>"
        "<testcase classname='t.A' name='bad' time='0.25'><failure message='boom'/>"
        "</testcase><testcase classname='t.B' name='skip'><skipped/></testcase>"
        "<testcase classname='t.B' name='err'><error message='oops'/></testcase>"
        "</testsuite></testsuites>"
    )
    make_project(
        cb,
        buildspec=spec(
            f'  build:\n    commands:\n      - mkdir -p reports && echo "{junit}" > '
            "reports/junit.xml\n"
        )
        + "reports:\n  unit:\n    files:\n      - '**/*.xml'\n"
        "    base-directory: reports\n",
    )
    build = run(cb)
    assert len(build["reportArns"]) == 1
    group_arn = "arn:aws:codebuild:us-east-1:123456789012:report-group/demo-unit"
    assert (
        cb.batch_get_report_groups(reportGroupArns=[group_arn])["reportGroups"][0]["name"]
        == "demo-unit"
    )
    report = cb.batch_get_reports(reportArns=build["reportArns"])["reports"][0]
    assert report["status"] == "FAILED"
    assert report["reportGroupArn"] == group_arn
    assert report["testSummary"]["total"] == 4
    assert report["testSummary"]["statusCounts"]["SUCCEEDED"] == 1
    assert report["testSummary"]["durationInNanoSeconds"] == 750_000_000
    cases = cb.describe_test_cases(reportArn=report["arn"])["testCases"]
    assert {c["name"]: c["status"] for c in cases} == {
        "ok": "SUCCEEDED",
        "bad": "FAILED",
        "skip": "SKIPPED",
        "err": "ERROR",
    }
    failed = cb.describe_test_cases(reportArn=report["arn"], filter={"status": "FAILED"})[
        "testCases"
    ]
    assert [c["message"] for c in failed] == ["boom"]
    assert cb.list_reports_for_report_group(reportGroupArn=group_arn)["reports"] == [report["arn"]]


def test_retry_build_and_list_builds(cb):
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - echo hi\n"))
    first = run(cb)
    retried = cb.retry_build(id=first["id"])["build"]
    assert retried["buildNumber"] == 2 and retried["id"] != first["id"]
    assert cb.list_builds_for_project(projectName="demo")["ids"] == [retried["id"], first["id"]]
    assert cb.list_builds(sortOrder="ASCENDING")["ids"] == [first["id"], retried["id"]]
    deleted = cb.batch_delete_builds(ids=[first["id"], "demo:nope"])
    assert deleted["buildsDeleted"] == [first["id"]]
    assert deleted["buildsNotDeleted"][0]["id"] == "demo:nope"
    assert cb.batch_get_builds(ids=[first["id"]])["buildsNotFound"] == [first["id"]]


def test_retry_build_without_an_id_is_an_input_error(cb):
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - echo hi\n"))
    with pytest.raises(ClientError) as caught:
        cb.retry_build(idempotencyToken="only-a-token")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert cb.list_builds_for_project(projectName="demo").get("ids", []) == []


def test_wait_for_build_helper_prints_phases_and_log(client, capsys):
    from helpers.codebuild import wait_for_build

    cb = client("codebuild")
    make_project(cb, buildspec=spec("  build:\n    commands:\n      - echo from-the-build\n"))
    workers.set_synchronous(False)
    build_id = cb.start_build(projectName="demo")["build"]["id"]
    build = wait_for_build(cb, build_id, timeout=20, poll_seconds=0.05)
    assert build["buildStatus"] == "SUCCEEDED"
    printed = capsys.readouterr().out
    assert "from-the-build" in printed and "BUILD" in printed and "SUCCEEDED" in printed


def test_pipeline_engine_runs_a_codepipeline_build(client, sync, tmp_path):
    from helpers.emulator.codebuild.models import codebuild_lab_backends
    from helpers.emulator.codebuild.sources import PipelineArtifact

    s3 = client("s3")
    s3.create_bucket(Bucket="pipeline-store")
    cb = client("codebuild")
    (tmp_path / "buildspec.yml").write_text(
        "version: 0.2\nenv:\n  exported-variables:\n    - OUT\nphases:\n  build:\n"
        "    commands:\n      - export OUT=$(cat in.txt)\n      - cp in.txt out.txt\n"
        "artifacts:\n  files:\n    - out.txt\n"
    )
    (tmp_path / "in.txt").write_text("from-source")
    make_project(
        cb, name="piped", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"}
    )
    backend = codebuild_lab_backends["123456789012"]["us-east-1"]
    build = backend.start_pipeline_build(
        "piped",
        inputs={"SourceOutput": PipelineArtifact(directory=tmp_path, revision="abc")},
        outputs={"BuildOutput": ("pipeline-store", "p/BuildOutput/x.zip")},
        pipeline_name="my-pipeline",
    )
    assert build.wait(10)
    described = cb.batch_get_builds(ids=[build.id])["builds"][0]
    assert described["buildStatus"] == "SUCCEEDED", described["phases"]
    assert described["initiator"] == "codepipeline/my-pipeline"
    assert described["resolvedSourceVersion"] == "abc"
    assert described["exportedEnvironmentVariables"] == [{"name": "OUT", "value": "from-source"}]
    assert read_zip(s3, "pipeline-store", "p/BuildOutput/x.zip") == {"out.txt": "from-source"}
    # Such projects are started by their pipeline only.
    with pytest.raises(cb.exceptions.InvalidInputException):
        cb.start_build(projectName="piped")
