"""Custom action types, their jobs and job workers; third-party jobs."""

from __future__ import annotations

import io
import zipfile

import pytest
from botocore.exceptions import ClientError

from helpers.jobworker import JobError, JobWorker, Result, zip_files
from tests.pipelines import ROLE, s3_deploy_action, source_action

CHECKER = {"category": "Test", "owner": "Custom", "provider": "LabChecker", "version": "1"}
PARTNER = {"category": "Test", "owner": "ThirdParty", "provider": "LabPartner", "version": "1"}


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def create_checker(cp, version: str = "1", queryable: bool = False) -> dict:
    return cp.create_custom_action_type(
        category="Test",
        provider="LabChecker",
        version=version,
        settings={
            "entityUrlTemplate": "https://checker.example.com/{Config:Level}",
            "executionUrlTemplate": "https://checker.example.com/runs/{ExternalExecutionId}",
        },
        configurationProperties=[
            {
                "name": "Level",
                "required": True,
                "key": True,
                "secret": False,
                "queryable": queryable,
                "type": "String",
                "description": "How strict",
            },
            {"name": "ApiKey", "required": False, "key": False, "secret": True},
        ],
        inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        tags=[{"key": "team", "value": "lab"}],
    )


def checker_action(name: str = "Check", version: str = "1", outputs=("Checked",), **config) -> dict:
    return {
        "name": name,
        "actionTypeId": dict(CHECKER, version=version),
        "configuration": {"Level": "strict", **config},
        "inputArtifacts": [{"name": "SourceOutput"}],
        "outputArtifacts": [{"name": n} for n in outputs],
        "namespace": "CheckVars",
    }


def checker_pipeline(lab, deploy: bool = True, **config) -> str:
    stages = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Check", "actions": [checker_action(**config)]},
    ]
    if deploy:
        lab.s3.create_bucket(Bucket="lab-site")
        stages.append(
            {
                "name": "Deploy",
                "actions": [s3_deploy_action(inputs=("Checked",), ObjectKey="checked")],
            }
        )
    return lab.create(stages=stages)


def poll(cp, type_id=CHECKER, **params) -> list[dict]:
    return cp.poll_for_jobs(actionTypeId=type_id, **params)["jobs"]


def test_custom_action_type_lifecycle(lab):
    created = create_checker(lab.cp)
    assert created["actionType"]["id"] == CHECKER
    assert created["tags"] == [{"key": "team", "value": "lab"}]
    listed = lab.cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"]
    assert [t["id"] for t in listed] == [CHECKER]
    props = {p["name"]: p for p in listed[0]["actionConfigurationProperties"]}
    assert props["ApiKey"]["secret"] is True and props["Level"]["required"] is True
    got = lab.cp.get_action_type(**CHECKER)["actionType"]
    assert got["executor"]["type"] == "JobWorker"
    assert got["executor"]["jobTimeout"] == 43200  # the shape's maximum (AWS: 24 h jobs)
    # the same definition again changes nothing; another one under the same version fails
    create_checker(lab.cp)
    assert (
        error_code(
            lab.cp.create_custom_action_type,
            category="Test",
            provider="LabChecker",
            version="1",
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
        )
        == "ValidationException"
    )
    # UpdateActionType: a full declaration
    got["properties"] = [dict(p, optional=True) for p in got["properties"]]
    got["executor"]["jobTimeout"] = 600
    lab.cp.update_action_type(actionType=got)
    again = lab.cp.get_action_type(**CHECKER)["actionType"]
    assert again["executor"]["jobTimeout"] == 600
    assert all(p["optional"] for p in again["properties"])
    assert (
        error_code(
            lab.cp.update_action_type, actionType=dict(got, id=dict(CHECKER, provider="Nope"))
        )
        == "ActionTypeNotFoundException"
    )
    lab.cp.delete_custom_action_type(category="Test", provider="LabChecker", version="1")
    assert lab.cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"] == []
    assert error_code(lab.cp.poll_for_jobs, actionTypeId=CHECKER) == "ActionTypeNotFoundException"
    assert error_code(lab.cp.get_action_type, **CHECKER) == "ActionTypeNotFoundException"
    assert (
        error_code(
            lab.cp.poll_for_jobs,
            actionTypeId=dict(CHECKER, owner="AWS", provider="CodeBuild", category="Build"),
        )
        == "ValidationException"
    )


def test_custom_action_definition_checks(lab):
    create_checker(lab.cp)
    stages = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Check", "actions": [dict(checker_action(), configuration={})]},
    ]
    assert (
        error_code(
            lab.cp.create_pipeline,
            pipeline={
                "name": "p",
                "roleArn": ROLE,
                "stages": stages,
                "artifactStore": {"type": "S3", "location": "lab-artifacts"},
            },
        )
        == "InvalidActionDeclarationException"
    )
    stages[1]["actions"] = [checker_action(version="2")]
    assert (
        error_code(
            lab.cp.create_pipeline,
            pipeline={
                "name": "p",
                "roleArn": ROLE,
                "stages": stages,
                "artifactStore": {"type": "S3", "location": "lab-artifacts"},
            },
        )
        == "InvalidActionDeclarationException"
    )
    two_queryable = [
        {"name": n, "required": True, "key": True, "secret": False, "queryable": True}
        for n in ("A", "B")
    ]
    assert (
        error_code(
            lab.cp.create_custom_action_type,
            category="Test",
            provider="Q",
            version="1",
            configurationProperties=two_queryable,
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
        )
        == "ValidationException"
    )


def test_job_data_acknowledge_continuation_and_outputs(lab):
    create_checker(lab.cp)
    execution_id = checker_pipeline(lab, ApiKey="s3cr3t")
    assert lab.execution(execution_id)["status"] == "InProgress"
    [job] = poll(lab.cp, maxBatchSize=5)
    assert poll(lab.cp) == []  # dispatched: no other poll gets it
    data = job["data"]
    assert job["accountId"] == "123456789012"
    assert data["actionTypeId"] == CHECKER
    assert data["actionConfiguration"]["configuration"] == {"Level": "strict", "ApiKey": "s3cr3t"}
    context = data["pipelineContext"]
    assert context["pipelineName"] == "lab-pipeline"
    assert context["stage"] == {"name": "Check"}
    assert context["pipelineExecutionId"] == execution_id
    assert context["pipelineArn"].endswith(":lab-pipeline")
    action_state = lab.action_state("Check", "Check")
    assert action_state["entityUrl"] == "https://checker.example.com/strict"
    assert context["action"] == {
        "name": "Check",
        "actionExecutionId": action_state["latestExecution"]["actionExecutionId"],
    }
    assert set(data["artifactCredentials"]) == {"accessKeyId", "secretAccessKey", "sessionToken"}
    [source] = data["inputArtifacts"]
    location = source["location"]["s3Location"]
    zipped = lab.s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])
    with zipfile.ZipFile(io.BytesIO(zipped["Body"].read())) as archive:
        assert archive.read("message.txt") == b"v1"
    assert (
        source["revision"]
        == lab.cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"]
    )
    [output] = data["outputArtifacts"]
    assert output["name"] == "Checked" and "continuationToken" not in data

    assert (
        error_code(lab.cp.acknowledge_job, jobId=job["id"], nonce="wrong")
        == "InvalidNonceException"
    )
    assert lab.cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"] == "InProgress"
    assert lab.cp.get_job_details(jobId=job["id"])["jobDetails"]["id"] == job["id"]
    assert (
        error_code(
            lab.cp.put_job_success_result,
            jobId=job["id"],
            continuationToken="step-2",
            outputVariables={"a": "b"},
        )
        == "ValidationException"
    )
    lab.cp.put_job_success_result(
        jobId=job["id"],
        continuationToken="step-2",
        executionDetails={
            "summary": "half way",
            "externalExecutionId": "run-1",
            "percentComplete": 50,
        },
    )
    assert error_code(lab.cp.put_job_success_result, jobId=job["id"]) == "InvalidJobStateException"
    latest = lab.action_state("Check", "Check")["latestExecution"]
    assert latest["status"] == "InProgress" and latest["percentComplete"] == 50
    assert latest["summary"] == "half way" and latest["externalExecutionId"] == "run-1"
    # The type's executionUrlTemplate, completed with the worker's externalExecutionId.
    assert latest["externalExecutionUrl"] == "https://checker.example.com/runs/run-1"

    [second] = poll(lab.cp)
    assert second["id"] != job["id"]
    assert second["data"]["continuationToken"] == "step-2"
    lab.cp.acknowledge_job(jobId=second["id"], nonce=second["nonce"])
    out = second["data"]["outputArtifacts"][0]["location"]["s3Location"]
    lab.s3.put_object(
        Bucket=out["bucketName"], Key=out["objectKey"], Body=zip_files({"report.txt": "all good"})
    )
    lab.cp.put_job_success_result(
        jobId=second["id"],
        outputVariables={"Verdict": "pass"},
        executionDetails={"summary": "done"},
    )
    assert lab.execution(execution_id)["status"] == "Succeeded"
    check = lab.actions(execution_id)["Check"]
    assert check["output"]["outputVariables"] == {"Verdict": "pass"}
    assert (
        lab.s3.get_object(Bucket="lab-site", Key="checked/report.txt")["Body"].read() == b"all good"
    )
    assert (
        error_code(lab.cp.get_job_details, jobId="00000000-0000-0000-0000-000000000000")
        == "JobNotFoundException"
    )
    assert (
        error_code(lab.cp.acknowledge_job, jobId="00000000-0000-0000-0000-000000000000", nonce="n")
        == "JobNotFoundException"
    )


def test_job_failure_fails_the_action(lab):
    create_checker(lab.cp)
    execution_id = checker_pipeline(lab, deploy=False)
    [job] = poll(lab.cp)
    assert (
        error_code(
            lab.cp.put_job_failure_result,
            jobId=job["id"],
            failureDetails={"type": "Oops", "message": "x"},
        )
        == "ValidationException"
    )
    lab.cp.put_job_failure_result(
        jobId=job["id"],
        failureDetails={"type": "ConfigurationError", "message": "Level strict needs an ApiKey"},
    )
    assert lab.execution(execution_id)["status"] == "Failed"
    error = lab.action_state("Check", "Check")["latestExecution"]["errorDetails"]
    assert error == {"code": "ConfigurationError", "message": "Level strict needs an ApiKey"}
    assert (
        error_code(
            lab.cp.put_job_failure_result,
            jobId=job["id"],
            failureDetails={"type": "JobFailed", "message": "again"},
        )
        == "InvalidJobStateException"
    )


def test_job_times_out(lab, monkeypatch):
    monkeypatch.setenv("LAB_CODEPIPELINE_TIMEOUT_SCALE", "0.0005")  # 5 minutes -> 0.15 s
    create_checker(lab.cp)
    stages = [
        {"name": "Source", "actions": [source_action()]},
        {"name": "Check", "actions": [dict(checker_action(), timeoutInMinutes=5)]},
    ]
    execution_id = lab.create(stages=stages)
    execution = lab.wait(execution_id, timeout=10)
    assert execution["status"] == "Failed"
    error = lab.action_state("Check", "Check")["latestExecution"]["errorDetails"]
    assert "timed out" in error["message"]
    assert poll(lab.cp) == []


def test_queryable_property_selects_jobs(lab):
    create_checker(lab.cp, queryable=True)
    checker_pipeline(lab, deploy=False)
    assert error_code(lab.cp.poll_for_jobs, actionTypeId=CHECKER) == "ValidationException"
    assert (
        error_code(lab.cp.poll_for_jobs, actionTypeId=CHECKER, queryParam={"ApiKey": "x"})
        == "ValidationException"
    )
    assert poll(lab.cp, queryParam={"Level": "lenient"}) == []
    [job] = poll(lab.cp, queryParam={"Level": "strict"})
    assert job["data"]["actionConfiguration"]["configuration"]["Level"] == "strict"


def test_job_worker_end_to_end_with_continuation(bg_lab):
    lab = bg_lab
    create_checker(lab.cp)
    calls = []

    def work(job):
        calls.append(job.continuation_token)
        if job.continuation_token is None:
            return Result(
                summary="started",
                external_execution_id="run-7",
                percent_complete=10,
                continuation_token="poll-1",
            )
        files = job.input_files()
        report = f"{job.configuration['Level']}: {files['message.txt'].decode()}"
        return Result(
            summary="checked",
            outputs={"Checked": zip_files({"report.txt": report})},
            output_variables={"Verdict": "pass"},
        )

    execution_id = checker_pipeline(lab)
    worker = JobWorker(lab.cp, CHECKER, work=work, poll_seconds=0.02).start()
    try:
        execution = lab.wait(execution_id, timeout=30)
    finally:
        worker.stop()
    assert execution["status"] == "Succeeded"
    assert calls == [None, "poll-1"]
    assert [outcome for _, outcome in worker.history] == ["continued", "succeeded"]
    assert (
        lab.s3.get_object(Bucket="lab-site", Key="checked/report.txt")["Body"].read()
        == b"strict: v1"
    )
    check = lab.actions(execution_id)["Check"]
    assert check["output"]["outputVariables"] == {"Verdict": "pass"}
    assert check["output"]["executionResult"]["externalExecutionId"] == "run-7"


def test_job_worker_reports_failures(lab):
    create_checker(lab.cp)
    execution_id = checker_pipeline(lab, deploy=False)

    def work(job):
        raise JobError("the check found 3 problems", "JobFailed")

    worker = JobWorker(lab.cp, CHECKER, work=work)
    assert worker.run_once() == 1
    assert lab.execution(execution_id)["status"] == "Failed"
    error = lab.action_state("Check", "Check")["latestExecution"]["errorDetails"]
    assert error["message"] == "the check found 3 problems"
    assert worker.run_once() == 0


def test_try_worker_records_the_calls_and_leaves_no_job_behind(bg_lab):
    """jobworker.try_worker, the check of lab 06's exercise: the worker's calls in order, the
    action's outcome; a worker that left its job unfinished gets its execution stopped."""
    from helpers import jobworker

    lab = bg_lab
    create_checker(lab.cp)
    first = checker_pipeline(lab, deploy=False)

    def claims_and_leaves():
        jobs = poll(lab.cp)
        if not jobs:
            return None  # not queued yet: try_worker calls again
        lab.cp.acknowledge_job(jobId=jobs[0]["id"], nonce=jobs[0]["nonce"])
        return jobs[0]["id"]

    trial = jobworker.try_worker(
        lab.cp, "lab-pipeline", "Check", "Check", claims_and_leaves, settle_seconds=1
    )
    assert trial.execution_id == first  # the execution already waiting there
    assert trial.order() == ["PollForJobs", "AcknowledgeJob"]
    assert trial.called("PollForJobs") == [{"actionTypeId": CHECKER}]
    assert lab.execution(first)["status"] == "Stopped"

    def completes():
        jobs = poll(lab.cp)
        if not jobs:
            return None  # not queued yet: try_worker calls again
        job = jobs[0]
        lab.cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
        lab.cp.put_job_success_result(jobId=job["id"], outputVariables={"Verdict": "pass"})
        return job["id"]

    trial = jobworker.try_worker(lab.cp, "lab-pipeline", "Check", "Check", completes)
    assert trial.execution_id != first  # none waited: it started one
    assert trial.order() == ["PollForJobs", "AcknowledgeJob", "PutJobSuccessResult"]
    assert trial.action["status"] == "Succeeded"
    assert trial.action["output"]["outputVariables"] == {"Verdict": "pass"}

    def wrong_nonce():
        jobs = poll(lab.cp)
        if not jobs:
            return None  # not queued yet: try_worker calls again
        lab.cp.acknowledge_job(jobId=jobs[0]["id"], nonce=jobs[0]["id"])

    with pytest.raises(ClientError):
        jobworker.try_worker(
            lab.cp, "lab-pipeline", "Check", "Check", wrong_nonce, settle_seconds=1
        )
    assert poll(lab.cp) == []  # its execution was stopped: no job left to find
    with jobworker.recorded_calls(lab.cp) as calls:
        lab.cp.list_pipelines()
    lab.cp.get_pipeline(name="lab-pipeline")  # after the block: not recorded
    assert calls == [("ListPipelines", {})]


def partner_pipeline(lab) -> str:
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Partner",
                "actions": [
                    {
                        "name": "Scan",
                        "actionTypeId": PARTNER,
                        "configuration": {"ProjectId": "proj-1", "ClientToken": "partner-secret"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
        ]
    )


def test_try_worker_calls_again_a_worker_that_found_no_job_yet(bg_lab):
    """A job reaches the queue a moment after its action shows InProgress: a worker that
    only polled and found nothing is called again, and the trial keeps the call that worked.
    Here the first call polls another group's jobs (none), as if the job had not arrived."""
    from helpers import jobworker

    lab = bg_lab
    create_checker(lab.cp, queryable=True)
    checker_pipeline(lab, deploy=False)
    attempts = []

    def finds_nothing_then_completes():
        attempts.append(1)
        level = "no-such-level" if len(attempts) == 1 else "strict"
        jobs = poll(lab.cp, queryParam={"Level": level})
        if not jobs:
            return None
        lab.cp.acknowledge_job(jobId=jobs[0]["id"], nonce=jobs[0]["nonce"])
        lab.cp.put_job_success_result(jobId=jobs[0]["id"])
        return jobs[0]["id"]

    trial = jobworker.try_worker(
        lab.cp, "lab-pipeline", "Check", "Check", finds_nothing_then_completes
    )
    assert len(attempts) >= 2
    assert trial.returned is not None
    assert trial.order() == ["PollForJobs", "AcknowledgeJob", "PutJobSuccessResult"]
    assert trial.action["status"] == "Succeeded"


def test_third_party_jobs(lab):
    execution_id = partner_pipeline(lab)
    assert (
        error_code(lab.cp.poll_for_third_party_jobs, actionTypeId=CHECKER) == "ValidationException"
    )
    [job] = lab.cp.poll_for_third_party_jobs(actionTypeId=PARTNER)["jobs"]
    assert set(job) == {"clientId", "jobId"}
    assert (
        error_code(lab.cp.get_third_party_job_details, jobId=job["jobId"], clientToken="wrong")
        == "InvalidClientTokenException"
    )
    assert error_code(lab.cp.get_job_details, jobId=job["jobId"]) == "JobNotFoundException"
    details = lab.cp.get_third_party_job_details(jobId=job["jobId"], clientToken="partner-secret")[
        "jobDetails"
    ]
    assert details["data"]["actionConfiguration"]["configuration"]["ProjectId"] == "proj-1"
    assert details["data"]["pipelineContext"]["pipelineExecutionId"] == execution_id
    assert (
        error_code(
            lab.cp.acknowledge_third_party_job,
            jobId=job["jobId"],
            nonce=details["nonce"],
            clientToken="wrong",
        )
        == "InvalidClientTokenException"
    )
    assert (
        lab.cp.acknowledge_third_party_job(
            jobId=job["jobId"], nonce=details["nonce"], clientToken="partner-secret"
        )["status"]
        == "InProgress"
    )
    lab.cp.put_third_party_job_success_result(
        jobId=job["jobId"],
        clientToken="partner-secret",
        continuationToken="c1",
        executionDetails={"summary": "scanning", "percentComplete": 40},
    )
    [follow] = lab.cp.poll_for_third_party_jobs(actionTypeId=PARTNER)["jobs"]
    assert follow["clientId"] == job["clientId"]
    lab.cp.put_third_party_job_failure_result(
        jobId=follow["jobId"],
        clientToken="partner-secret",
        failureDetails={"type": "JobFailed", "message": "2 vulnerabilities"},
    )
    assert lab.execution(execution_id)["status"] == "Failed"
    assert (
        lab.action_state("Partner", "Scan")["latestExecution"]["errorDetails"]["message"]
        == "2 vulnerabilities"
    )
    assert (
        error_code(
            lab.cp.put_third_party_job_success_result,
            jobId=follow["jobId"],
            clientToken="partner-secret",
        )
        == "InvalidJobStateException"
    )


def test_partner_type_is_listed(lab):
    types = lab.cp.list_action_types(actionOwnerFilter="ThirdParty")["actionTypes"]
    ids = {(t["id"]["category"], t["id"]["provider"]) for t in types}
    assert {("Test", "LabPartner"), ("Source", "GitHub")} <= ids
