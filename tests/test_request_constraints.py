"""The model's constraints that botocore does not check on the client (maximum lengths,
enums, patterns) are checked by the server, as AWS checks them: a clear 400 in the
service's error name, never a 500 and never a silent acceptance."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers.emulator import constraints, core
from tests.pipelines import approval_action, source_action


def error_of(call, **params) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    reply = caught.value.response
    return (
        reply["Error"]["Code"],
        reply["ResponseMetadata"]["HTTPStatusCode"],
        reply["Error"]["Message"],
    )


def unchecked_client(service: str, endpoint: str):
    """A client that sends what botocore would refuse, as other SDKs and raw HTTP can."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )


def test_too_long_name_is_a_validation_exception(client):
    code, status, message = error_of(client("codepipeline").delete_pipeline, name="p" * 101)
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        f"1 validation error detected: Value '{'p' * 101}' at 'name' failed to "
        "satisfy constraint: Member must have length less than or equal to 100"
    )


def test_transition_reason_must_match_the_model_pattern(client):
    cp = client("codepipeline")
    code, _, message = error_of(
        cp.disable_stage_transition,
        pipelineName="p",
        stageName="Build",
        transitionType="Inbound",
        reason="Freeze, until Monday",
    )
    assert code == "ValidationException"
    assert (
        "at 'reason' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern" in message
    )


def test_ids_in_an_invalid_format_are_not_found_as_documented(client):
    """PipelineNotFoundException and friends cover names and ids "specified in an invalid
    format or [that] cannot be found"; those patterns are not checked up front."""
    code, _, _ = error_of(
        client("codepipeline").get_pipeline_execution,
        pipelineName="no-such-pipeline",
        pipelineExecutionId="not-a-uuid",
    )
    assert code == "PipelineNotFoundException"


def test_codebuild_enum_and_list_length_are_input_errors(local_server):
    cb = unchecked_client("codebuild", local_server.endpoint)
    code, status, message = error_of(cb.list_projects, sortBy="SIZE")
    assert (code, status) == ("InvalidInputException", 400)
    assert "Member must satisfy enum value set: [NAME, CREATED_TIME, LAST_MODIFIED_TIME]" in message
    code, _, message = error_of(cb.batch_get_projects, names=[f"p{i}" for i in range(101)])
    assert code == "InvalidInputException"
    assert (
        "at 'names' failed to satisfy constraint: Member must have length less than or "
        "equal to 100" in message
    )


def test_several_violations_are_counted_and_paths_name_list_members():
    shape = core.service_model("codepipeline").operation_model("StartPipelineExecution").input_shape
    found = constraints.violations(
        {
            "name": "x" * 101,
            "variables": [{"name": "ok", "value": "v"}, {"name": "not ok!", "value": "v"}],
        },
        shape,
        patterns={"PipelineVariableName"},
    )
    assert len(found) == 2
    assert "at 'variables.2.member.name'" in found[1]
    assert constraints.report(found).startswith("2 validation errors detected: Value '")


def test_java_unicode_classes_are_read():
    shape = core.service_model("codebuild").operation_model("CreateProject").input_shape
    tags = shape.members["tags"]
    assert constraints.violations([{"key": "Team name", "value": "Ünïcode:1"}], tags) == []
    assert len(constraints.violations([{"key": "bad#key", "value": "v"}], tags)) == 1


def test_a_valid_pipeline_and_reason_still_pass(lab):
    lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Approve", "actions": [approval_action()]},
        ]
    )
    lab.cp.disable_stage_transition(
        pipelineName="lab-pipeline",
        stageName="Approve",
        transitionType="Inbound",
        reason="Release freeze (QA)",
    )
    assert (
        lab.state()["Approve"]["inboundTransitionState"]["disabledReason"] == "Release freeze (QA)"
    )
