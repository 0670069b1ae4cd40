"""CodeBuild batch builds (batch-build.md, batch-build-buildspec.md): build-list, build-graph,
build-matrix, restrictions, combined artifacts, stop, retry, delete, and the pipeline's
CodeBuild action with BatchEnabled."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests import pipelines
from tests.test_codebuild_builds import ENVIRONMENT, ROLE, output_lines

BATCH_ROLE = "arn:aws:iam::123456789012:role/codebuild-batch"


def spec(
    batch: str, commands: str = '      - echo "id=$CODEBUILD_BATCH_BUILD_IDENTIFIER"\n'
) -> str:
    return "version: 0.2\nbatch:\n" + batch + "phases:\n  build:\n    commands:\n" + commands


MATRIX = spec(
    "  build-matrix:\n"
    "    static:\n      ignore-failure: false\n"
    "    dynamic:\n      env:\n        variables:\n"
    "          LANG_NAME: [python, node]\n          STAGE: [test, lint]\n",
    '      - echo "id=$CODEBUILD_BATCH_BUILD_IDENTIFIER lang=$LANG_NAME stage=$STAGE"\n',
)


def make_project(cb, buildspec: str, name: str = "batchy", batch_config=None, **extra) -> dict:
    source = extra.pop("source", None) or {"type": "NO_SOURCE", "buildspec": buildspec}
    return cb.create_project(
        name=name,
        source=source,
        artifacts=extra.pop("artifacts", None) or {"type": "NO_ARTIFACTS"},
        environment={**ENVIRONMENT, **extra.pop("environment", {})},
        serviceRole=ROLE,
        buildBatchConfig=batch_config or {"serviceRole": BATCH_ROLE},
        **extra,
    )["project"]


def wait_batch(cb, batch_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        batch = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
        if batch["complete"] or time.monotonic() > deadline:
            return batch
        time.sleep(0.02)


def run_batch(cb, project: str = "batchy", **params) -> dict:
    batch = cb.start_build_batch(projectName=project, **params)["buildBatch"]
    return wait_batch(cb, batch["id"])


def groups(batch: dict) -> dict[str, dict]:
    return {g["identifier"]: g for g in batch["buildGroups"]}


def builds_of(cb, batch: dict) -> dict[str, dict]:
    arns = {g["identifier"]: g["currentBuildSummary"]["arn"] for g in batch["buildGroups"]}
    found = cb.batch_get_builds(ids=list(arns.values()))["builds"]
    by_arn = {b["arn"]: b for b in found}
    return {identifier: by_arn[arn] for identifier, arn in arns.items()}


@pytest.fixture
def cb(client, synchronous):
    return client("codebuild")


@pytest.fixture
def bg(client, background):
    return client("codebuild")


# -- build-matrix, build-list, build-graph ---------------------------------------------


def test_matrix_runs_one_build_per_combination_with_its_values(client, cb):
    make_project(cb, MATRIX)
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED" and batch["complete"] is True
    assert batch["currentPhase"] == "SUCCEEDED"
    assert [p["phaseType"] for p in batch["phases"]] == [
        "SUBMITTED",
        "DOWNLOAD_BATCHSPEC",
        "IN_PROGRESS",
        "SUCCEEDED",
    ]
    assert batch["buildBatchNumber"] == 1
    assert batch["arn"].endswith(f":build-batch/{batch['id']}")
    assert batch["id"].startswith("batchy:")
    assert batch["buildBatchConfig"]["serviceRole"] == BATCH_ROLE
    builds = builds_of(cb, batch)
    assert len(builds) == 4
    seen = set()
    for identifier, build in builds.items():
        assert build["buildStatus"] == "SUCCEEDED"
        assert build["buildBatchArn"] == batch["arn"]
        line = next(x for x in output_lines(client, build) if x.startswith("id="))
        assert line.startswith(f"id={identifier} ")
        seen.add(line.split(" ", 1)[1])
    assert seen == {
        f"lang={lang} stage={stage}" for lang in ("python", "node") for stage in ("test", "lint")
    }
    assert all(g["ignoreFailure"] is False for g in batch["buildGroups"])
    second = run_batch(cb)
    assert second["buildBatchNumber"] == 2


def test_build_list_task_env_overrides_and_ignore_failure(client, cb):
    make_project(
        cb,
        spec(
            "  build-list:\n"
            "    - identifier: small\n"
            "      env:\n        variables:\n          WHO: first\n"
            "    - identifier: large\n"
            "      env:\n        compute-type: BUILD_GENERAL1_LARGE\n"
            "        image: aws/codebuild/amazonlinux2-x86_64-standard:5.0\n"
            "        variables:\n          WHO: second\n          FAIL: 'yes'\n"
            "      ignore-failure: true\n",
            '      - echo "who=$WHO"\n      - test "$FAIL" != yes\n',
        ),
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED"  # the failure of `large` is ignored
    assert groups(batch)["large"]["ignoreFailure"] is True
    builds = builds_of(cb, batch)
    assert builds["small"]["buildStatus"] == "SUCCEEDED"
    assert builds["large"]["buildStatus"] == "FAILED"
    assert builds["large"]["environment"]["computeType"] == "BUILD_GENERAL1_LARGE"
    assert builds["large"]["environment"]["image"].endswith("standard:5.0")
    assert builds["small"]["environment"]["computeType"] == "BUILD_GENERAL1_SMALL"
    assert "who=first" in output_lines(client, builds["small"])
    assert "who=second" in output_lines(client, builds["large"])


def test_a_failed_build_fails_the_batch(cb):
    make_project(
        cb,
        spec(
            "  build-list:\n    - identifier: good\n    - identifier: bad\n"
            "      env:\n        variables:\n          FAIL: 'yes'\n",
            '      - test "$FAIL" != yes\n',
        ),
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    assert batch["currentPhase"] == "FAILED"
    in_progress = next(p for p in batch["phases"] if p["phaseType"] == "IN_PROGRESS")
    assert in_progress["phaseStatus"] == "FAILED"
    assert groups(batch)["good"]["currentBuildSummary"]["buildStatus"] == "SUCCEEDED"


def test_graph_starts_a_task_after_its_dependencies_end(cb):
    make_project(
        cb,
        spec(
            "  build-graph:\n"
            "    - identifier: first\n"
            "    - identifier: second\n      depend-on: [first]\n"
            "    - identifier: third\n      depend-on: [first, second]\n"
        ),
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert groups(batch)["third"]["dependsOn"] == ["first", "second"]
    builds = builds_of(cb, batch)
    assert builds["second"]["startTime"] >= builds["first"]["endTime"]
    assert builds["third"]["startTime"] >= builds["second"]["endTime"]


def test_graph_does_not_start_tasks_whose_dependency_failed(cb):
    make_project(
        cb,
        spec(
            "  build-graph:\n"
            "    - identifier: broken\n      env:\n        variables:\n          FAIL: 'yes'\n"
            "    - identifier: after\n      depend-on: [broken]\n"
            "    - identifier: alone\n",
            '      - test "$FAIL" != yes\n',
        ),
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    found = groups(batch)
    assert "currentBuildSummary" not in found["after"]
    assert found["alone"]["currentBuildSummary"]["buildStatus"] == "SUCCEEDED"


def test_task_buildspec_files_come_from_the_source(client, cb):
    s3 = client("s3")
    s3.create_bucket(Bucket="batch-src")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "buildspec.yml",
            spec(
                "  build-list:\n    - identifier: main\n    - identifier: other\n"
                "      buildspec: other.yml\n",
                "      - echo main-spec\n",
            ),
        )
        archive.writestr(
            "other.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo other-spec\n"
        )
    s3.put_object(Bucket="batch-src", Key="src.zip", Body=buffer.getvalue())
    make_project(cb, "", source={"type": "S3", "location": "batch-src/src.zip"})
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    builds = builds_of(cb, batch)
    assert "main-spec" in output_lines(client, builds["main"])
    assert "other-spec" in output_lines(client, builds["other"])


def test_a_buildspec_without_batch_section_fails_in_download_batchspec(cb):
    make_project(cb, "version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\n")
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    phase = next(p for p in batch["phases"] if p["phaseType"] == "DOWNLOAD_BATCHSPEC")
    assert phase["phaseStatus"] == "FAILED"
    assert phase["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
    assert "batch" in phase["contexts"][0]["message"]
    assert batch["buildGroups"] == []


@pytest.mark.parametrize(
    "batch_section, words",
    [
        ("  build-list:\n    - identifier: a\n    - identifier: a\n", "repeated"),
        ("  build-list:\n    - identifier: 'bad id'\n", "identifier"),
        ("  build-graph:\n    - identifier: a\n      depend-on: [b]\n", "depends on b"),
        (
            "  build-graph:\n    - identifier: a\n      depend-on: [b]\n"
            "    - identifier: b\n      depend-on: [a]\n",
            "cycle",
        ),
        ("  build-list: {}\n", "list"),
    ],
)
def test_a_wrong_batch_section_is_named(cb, batch_section, words):
    make_project(cb, spec(batch_section))
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    assert words in batch["phases"][1]["contexts"][0]["message"]


# -- the batch configuration -----------------------------------------------------------


def test_start_needs_batch_configuration(cb):
    cb.create_project(
        name="plain",
        source={"type": "NO_SOURCE", "buildspec": MATRIX},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=ROLE,
    )
    with pytest.raises(ClientError) as caught:
        cb.start_build_batch(projectName="plain")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    batch = cb.start_build_batch(
        projectName="plain", buildBatchConfigOverride={"serviceRole": BATCH_ROLE}
    )["buildBatch"]
    assert wait_batch(cb, batch["id"])["buildBatchStatus"] == "SUCCEEDED"
    with pytest.raises(ClientError) as caught:
        cb.start_build_batch(projectName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_maximum_builds_allowed_is_enforced(cb):
    make_project(
        cb,
        MATRIX,
        batch_config={"serviceRole": BATCH_ROLE, "restrictions": {"maximumBuildsAllowed": 3}},
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    phase = batch["phases"][1]
    assert phase["phaseType"] == "DOWNLOAD_BATCHSPEC" and phase["phaseStatus"] == "FAILED"
    assert "maximum number of builds" in phase["contexts"][0]["message"]
    assert "4" in phase["contexts"][0]["message"] and "3" in phase["contexts"][0]["message"]
    assert batch["buildGroups"] == []


def test_compute_types_allowed_is_enforced(cb):
    make_project(
        cb,
        spec(
            "  build-list:\n    - identifier: ok\n"
            "    - identifier: big\n      env:\n        compute-type: BUILD_GENERAL1_LARGE\n"
        ),
        batch_config={
            "serviceRole": BATCH_ROLE,
            "restrictions": {"computeTypesAllowed": ["BUILD_GENERAL1_SMALL"]},
        },
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    message = batch["phases"][1]["contexts"][0]["message"]
    assert "BUILD_GENERAL1_LARGE" in message and "big" in message
    allowed = run_batch(
        cb,
        buildBatchConfigOverride={
            "serviceRole": BATCH_ROLE,
            "restrictions": {
                "computeTypesAllowed": ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"]
            },
        },
    )
    assert allowed["buildBatchStatus"] == "SUCCEEDED"


@pytest.mark.parametrize("packaging", ["ZIP", "NONE"])
def test_combined_artifacts_have_one_folder_per_build(client, cb, packaging):
    s3 = client("s3")
    s3.create_bucket(Bucket="batch-out")
    make_project(
        cb,
        spec(
            "  build-list:\n    - identifier: web\n    - identifier: api\n",
            '      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER" > who.txt\n',
        )
        + "artifacts:\n  files:\n    - who.txt\n",
        artifacts={"type": "S3", "location": "batch-out", "name": "bundle", "packaging": packaging},
        batch_config={"serviceRole": BATCH_ROLE, "combineArtifacts": True},
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert "COMBINE_ARTIFACTS" in [p["phaseType"] for p in batch["phases"]]
    assert batch["artifacts"]["location"] == "arn:aws:s3:::batch-out/bundle"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="batch-out").get("Contents", [])}
    if packaging == "ZIP":
        assert keys == {"bundle"}
        data = s3.get_object(Bucket="batch-out", Key="bundle")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            contents = {n: archive.read(n).decode().strip() for n in archive.namelist()}
    else:
        assert keys == {"bundle/web/who.txt", "bundle/api/who.txt"}
        contents = {
            key[len("bundle/") :]: s3.get_object(Bucket="batch-out", Key=key)["Body"]
            .read()
            .decode()
            .strip()
            for key in keys
        }
    assert contents == {"web/who.txt": "web", "api/who.txt": "api"}


def test_without_combining_each_build_has_its_own_folder(client, cb):
    s3 = client("s3")
    s3.create_bucket(Bucket="batch-out")
    make_project(
        cb,
        spec(
            "  build-list:\n    - identifier: web\n    - identifier: api\n",
            "      - echo x > f.txt\n",
        )
        + "artifacts:\n  files:\n    - f.txt\n",
        artifacts={"type": "S3", "location": "batch-out", "name": "bundle"},
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="batch-out")["Contents"]}
    assert keys == {"web/bundle/f.txt", "api/bundle/f.txt"}
    summary = groups(batch)["web"]["currentBuildSummary"]
    assert summary["primaryArtifact"]["location"] == "arn:aws:s3:::batch-out/web/bundle"


# -- stop, fast-fail, timeout (in the background, as on the server) -----------------------


def wait_for(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_stop_build_batch_stops_its_running_builds(bg):
    make_project(
        bg,
        spec("  build-list:\n    - identifier: one\n    - identifier: two\n", "      - sleep 30\n"),
    )
    batch_id = bg.start_build_batch(projectName="batchy")["buildBatch"]["id"]

    def both_running() -> bool:
        found = bg.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]["buildGroups"]
        return len(found) == 2 and all("currentBuildSummary" in g for g in found)

    wait_for(both_running)
    stopped = bg.stop_build_batch(id=batch_id)["buildBatch"]
    assert stopped["buildBatchStatus"] == "STOPPED"
    assert stopped["currentPhase"] == "STOPPED"
    for group in stopped["buildGroups"]:
        assert group["currentBuildSummary"]["buildStatus"] == "STOPPED"
    again = bg.stop_build_batch(id=batch_id)["buildBatch"]
    assert again["buildBatchStatus"] == "STOPPED"


def test_fast_fail_stops_the_other_builds(bg):
    make_project(
        bg,
        "version: 0.2\nbatch:\n  fast-fail: true\n  build-list:\n"
        "    - identifier: quick\n      env:\n        variables:\n          FAIL: 'yes'\n"
        "    - identifier: slow\n"
        'phases:\n  build:\n    commands:\n      - if [ "$FAIL" = yes ]; then exit 1; fi\n'
        "      - sleep 30\n",
    )
    started = time.monotonic()
    batch = run_batch(bg)
    assert time.monotonic() - started < 20
    assert batch["buildBatchStatus"] == "FAILED"
    found = groups(batch)
    assert found["quick"]["currentBuildSummary"]["buildStatus"] == "FAILED"
    assert found["slow"]["currentBuildSummary"]["buildStatus"] == "STOPPED"


def test_batch_timeout_stops_the_builds(bg, monkeypatch):
    monkeypatch.setenv("LAB_CODEBUILD_SECONDS_PER_MINUTE", "0.5")
    make_project(
        bg,
        spec("  build-list:\n    - identifier: long\n", "      - sleep 30\n"),
        batch_config={"serviceRole": BATCH_ROLE, "timeoutInMins": 1},
    )
    batch = run_batch(bg)
    assert batch["buildBatchStatus"] == "TIMED_OUT"
    phase = next(p for p in batch["phases"] if p["phaseType"] == "IN_PROGRESS")
    assert phase["phaseStatus"] == "TIMED_OUT"
    assert groups(batch)["long"]["currentBuildSummary"]["buildStatus"] == "STOPPED"


# -- retry, list, delete -----------------------------------------------------------------


FLAKY = spec(
    "  build-list:\n    - identifier: steady\n"
    "    - identifier: flaky\n      env:\n        variables:\n          FLAKY: 'yes'\n",
    # fails the first time only: the marker lives in the kit's state folder per batch
    '      - if [ "$FLAKY" = yes ] && [ ! -e "$MARK" ]; then touch "$MARK"; exit 1; fi\n',
)


def test_retry_failed_builds_reruns_only_the_failed_ones(cb, tmp_path):
    make_project(
        cb,
        FLAKY,
        environment={"environmentVariables": [{"name": "MARK", "value": str(tmp_path / "m")}]},
    )
    batch = run_batch(cb)
    assert batch["buildBatchStatus"] == "FAILED"
    steady_arn = groups(batch)["steady"]["currentBuildSummary"]["arn"]
    retried = cb.retry_build_batch(id=batch["id"], retryType="RETRY_FAILED_BUILDS")["buildBatch"]
    retried = wait_batch(cb, retried["id"])
    assert retried["id"] == batch["id"]
    assert retried["buildBatchStatus"] == "SUCCEEDED"
    found = groups(retried)
    assert found["steady"]["currentBuildSummary"]["arn"] == steady_arn
    assert found["steady"]["priorBuildSummaryList"] == []
    assert [s["buildStatus"] for s in found["flaky"]["priorBuildSummaryList"]] == ["FAILED"]
    assert found["flaky"]["currentBuildSummary"]["buildStatus"] == "SUCCEEDED"
    everything = cb.retry_build_batch(id=batch["id"], retryType="RETRY_ALL_BUILDS")["buildBatch"]
    everything = wait_batch(cb, everything["id"])
    assert len(groups(everything)["steady"]["priorBuildSummaryList"]) == 1
    assert len(groups(everything)["flaky"]["priorBuildSummaryList"]) == 2


def test_retry_errors(cb, bg_free=None):
    with pytest.raises(ClientError) as caught:
        cb.retry_build_batch(id="batchy:00000000-0000-0000-0000-000000000000")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        cb.retry_build_batch()
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_list_build_batches_filters_sorts_and_pages(cb):
    make_project(cb, MATRIX)
    make_project(cb, MATRIX, name="other")
    first = run_batch(cb)["id"]
    second = run_batch(cb)["id"]
    other = run_batch(cb, project="other")["id"]
    assert cb.list_build_batches()["ids"] == [other, second, first]
    assert cb.list_build_batches(sortOrder="ASCENDING")["ids"] == [first, second, other]
    assert cb.list_build_batches_for_project(projectName="batchy")["ids"] == [second, first]
    assert cb.list_build_batches(filter={"status": "FAILED"})["ids"] == []
    assert cb.list_build_batches(filter={"status": "SUCCEEDED"})["ids"] == [other, second, first]
    page = cb.list_build_batches(maxResults=2)
    assert page["ids"] == [other, second] and page["nextToken"]
    rest = cb.list_build_batches(maxResults=2, nextToken=page["nextToken"])
    assert rest["ids"] == [first] and "nextToken" not in rest
    with pytest.raises(ClientError) as caught:
        cb.list_build_batches_for_project(projectName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        cb.list_build_batches(nextToken="nonsense")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_delete_build_batch_deletes_its_builds(cb):
    make_project(cb, MATRIX)
    batch = run_batch(cb)
    arns = [g["currentBuildSummary"]["arn"] for g in batch["buildGroups"]]
    reply = cb.delete_build_batch(id=batch["id"])
    assert reply["statusCode"] == "BUILD_BATCH_DELETED"
    assert sorted(reply["buildsDeleted"]) == sorted(arns)
    assert reply["buildsNotDeleted"] == []
    found = cb.batch_get_build_batches(ids=[batch["id"]])
    assert found["buildBatches"] == [] and found["buildBatchesNotFound"] == [batch["id"]]
    assert cb.batch_get_builds(ids=arns)["builds"] == []
    assert cb.delete_build_batch(id=batch["id"])["statusCode"] == "BUILD_BATCH_NOT_FOUND"
    with pytest.raises(ClientError) as caught:
        cb.batch_get_build_batches(ids=["no-colon"])
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_idempotency_token_returns_the_same_batch(cb):
    make_project(cb, MATRIX)
    one = cb.start_build_batch(projectName="batchy", idempotencyToken="t-1")["buildBatch"]
    two = cb.start_build_batch(projectName="batchy", idempotencyToken="t-1")["buildBatch"]
    assert one["id"] == two["id"]
    assert len(cb.list_build_batches()["ids"]) == 1


# -- over HTTP, against the local server ---------------------------------------------------


def test_batch_over_the_local_server(server_client):
    cb = server_client("codebuild")
    name = f"batch-http-{int(time.time() * 1000)}"
    make_project(cb, MATRIX, name=name)
    batch = run_batch(cb, project=name)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert len(batch["buildGroups"]) == 4
    assert batch["id"] in cb.list_build_batches_for_project(projectName=name)["ids"]
    cb.delete_build_batch(id=batch["id"])
    cb.delete_project(name=name)


# -- the pipeline's CodeBuild action with BatchEnabled ------------------------------------


PIPELINE_BATCH = (
    "version: 0.2\nbatch:\n  build-list:\n    - identifier: build1\n    - identifier: build2\n"
    "phases:\n  build:\n    commands:\n      - mkdir -p out\n"
    '      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $(cat message.txt)" > out/who.txt\n'
    "artifacts:\n  files:\n    - who.txt\n"
    "  base-directory: out\n"
)


def batch_pipeline(lab, buildspec: str, outputs, **config) -> dict:
    lab.cb.delete_project(name="lab-build")
    lab.cb.create_project(
        name="lab-build",
        source={"type": "CODEPIPELINE", "buildspec": buildspec},
        artifacts={"type": "CODEPIPELINE"},
        environment=pipelines.ENVIRONMENT,
        serviceRole=pipelines.BUILD_ROLE,
        buildBatchConfig={"serviceRole": BATCH_ROLE},
    )
    stages = [
        {"name": "Source", "actions": [pipelines.source_action()]},
        {
            "name": "Build",
            "actions": [pipelines.build_action(outputs=outputs, BatchEnabled="true", **config)],
        },
    ]
    execution = lab.wait(lab.create(stages=stages))
    return execution


def read_zip(lab, location: dict) -> dict[str, str]:
    data = lab.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n).decode().strip() for n in archive.namelist()}


def output_location(lab, execution_id: str, name: str) -> dict:
    action = lab.actions(execution_id)["Build"]
    artifact = next(a for a in action["output"]["outputArtifacts"] if a["name"] == name)
    return artifact["s3location"]


def test_pipeline_batch_with_combined_artifacts(lab):
    execution = batch_pipeline(lab, PIPELINE_BATCH, ("BuildOutput",), CombineArtifacts="true")
    assert execution["status"] == "Succeeded"
    action = lab.actions(execution["pipelineExecutionId"])["Build"]
    batch_id = action["output"]["executionResult"]["externalExecutionId"]
    batch = lab.cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert batch["initiator"] == "codepipeline/lab-pipeline"
    assert "COMBINE_ARTIFACTS" in [p["phaseType"] for p in batch["phases"]]
    files = read_zip(lab, output_location(lab, execution["pipelineExecutionId"], "BuildOutput"))
    assert files == {"build1/who.txt": "build1 v1", "build2/who.txt": "build2 v1"}
    with pytest.raises(ClientError) as caught:  # the pipeline retries its own
        lab.cb.retry_build_batch(id=batch_id)
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_pipeline_batch_outputs_named_for_builds(lab):
    execution = batch_pipeline(lab, PIPELINE_BATCH, ("build1", "build2"))
    assert execution["status"] == "Succeeded"
    eid = execution["pipelineExecutionId"]
    assert read_zip(lab, output_location(lab, eid, "build1")) == {"who.txt": "build1 v1"}
    assert read_zip(lab, output_location(lab, eid, "build2")) == {"who.txt": "build2 v1"}


def test_a_failed_batch_fails_the_action(lab):
    failing = PIPELINE_BATCH.replace("      - mkdir -p out", "      - exit 1")
    execution = batch_pipeline(lab, failing, ("BuildOutput",), CombineArtifacts="true")
    assert execution["status"] == "Failed"
    action = lab.actions(execution["pipelineExecutionId"])["Build"]
    assert action["status"] == "Failed"
    result = action["output"]["executionResult"]
    batch = lab.cb.batch_get_build_batches(ids=[result["externalExecutionId"]])["buildBatches"]
    assert batch[0]["buildBatchStatus"] == "FAILED"
    message = result["errorDetails"]["message"]
    assert "Build batch terminated with state: FAILED" in message
    assert "build1: FAILED" in message


# -- teardown ------------------------------------------------------------------------------


def test_teardown_stops_and_deletes_a_projects_batches(bg):
    from helpers import teardown as td

    make_project(bg, spec("  build-list:\n    - identifier: long\n", "      - sleep 30\n"))
    running = bg.start_build_batch(projectName="batchy")["buildBatch"]["id"]
    wait_for(
        lambda: (
            "currentBuildSummary"
            in (
                bg.batch_get_build_batches(ids=[running])["buildBatches"][0]["buildGroups"] or [{}]
            )[0]
        )
    )
    td._delete_project(bg, "batchy")
    assert bg.list_build_batches()["ids"] == []
    assert bg.list_builds()["ids"] == []
    assert bg.list_projects()["projects"] == []


# -- the batchspec reader ------------------------------------------------------------------


def test_matrix_combines_every_dynamic_value_and_applies_the_static_ones():
    from helpers.emulator.codebuild import batchspec

    parsed = batchspec.parse(
        "version: 0.2\nbatch:\n  build-matrix:\n"
        "    static:\n      ignore-failure: true\n"
        "      env:\n        type: LINUX_CONTAINER\n        privileged-mode: true\n"
        "    dynamic:\n      buildspec: [matrix1.yml, matrix2.yml]\n"
        "      env:\n        compute-type: [BUILD_GENERAL1_SMALL, BUILD_GENERAL1_LARGE]\n"
        "        variables:\n          MY_VAR: [VALUE1, VALUE2]\n"
    )
    assert parsed.kind == "build-matrix" and len(parsed.tasks) == 8
    combinations = {
        (t.buildspec, t.env.settings["computeType"], t.env.variables["MY_VAR"])
        for t in parsed.tasks
    }
    assert len(combinations) == 8
    for task in parsed.tasks:
        assert task.ignore_failure is True
        assert task.env.settings["type"] == "LINUX_CONTAINER"
        assert task.env.settings["privilegedMode"] is True
    identifiers = [t.identifier for t in parsed.tasks]
    assert len(set(identifiers)) == 8
    assert identifiers[0] == "matrix1_yml_BUILD_GENERAL1_SMALL_VALUE1"
