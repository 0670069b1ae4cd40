"""Lambda run for real: Invoke runs a Python function in a subprocess (no Docker)."""

from __future__ import annotations

import base64
import io
import json
import stat
import time
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import settings
from tests.shapes import check_replies

HANDLER_CODE = """
import json
import os
import time

SHOWN = ("AWS_", "GREETING", "_HANDLER", "LAMBDA_")


def handler(event, context):
    print("hello from", context.function_name)
    if event.get("fail"):
        raise ValueError("the event asked me to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "env": {k: v for k, v in os.environ.items() if k.startswith(SHOWN)},
    }
"""


def zipped(files: dict[str, str | bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


@pytest.fixture
def role(client) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = client("iam")
    return iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]


@pytest.fixture
def make_function(client, role):
    lam = client("lambda")

    def make(name: str = "hello", code: bytes | None = None, **options) -> dict:
        spec = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": role,
            "Handler": "lambda_function.handler",
            "Code": {"ZipFile": code or zipped({"lambda_function.py": HANDLER_CODE})},
            "Environment": {"Variables": {"GREETING": "hi"}},
        }
        spec.update(options)
        return lam.create_function(**spec)

    return make


def invoke(lam, name: str, event: dict | None = None, **options) -> tuple[dict, object]:
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **options)
    return reply, json.loads(reply["Payload"].read() or b"null")


def log_messages(client, name: str) -> list[str]:
    logs = client("logs")
    group = f"/aws/lambda/{name}"
    messages = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        messages += [e["message"] for e in events["events"]]
    return messages


def test_invoke_runs_the_handler_with_event_context_and_environment(client, make_function):
    make_function(MemorySize=256, Timeout=10)
    reply, result = invoke(client("lambda"), "hello", {"name": "Ada"})
    assert reply["StatusCode"] == 200
    assert "FunctionError" not in reply
    assert reply["ExecutedVersion"] == "$LATEST"
    assert result["event"] == {"name": "Ada"}
    context = result["context"]
    assert context["function_name"] == "hello"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:hello"
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == "/aws/lambda/hello"
    assert context["log_stream_name"].endswith("]" + context["log_stream_name"].split("]")[1])
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 10000
    env = result["env"]
    assert env["GREETING"] == "hi"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "lambda_function.handler"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == context["log_stream_name"]
    # The execution role's temporary credentials, as Lambda gives them.
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SESSION_TOKEN"]
    # A local server of this process if one runs (tests may have started one), else a closed
    # local port: never the real AWS.
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_an_exception_is_an_unhandled_function_error_as_aws_reports_it(client, make_function):
    make_function()
    reply, result = invoke(client("lambda"), "hello", {"fail": True})
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "the event asked me to fail"
    assert any("lambda_function.py" in line and "handler" in line for line in result["stackTrace"])
    assert not any("bootstrap.py" in line for line in result["stackTrace"])
    assert any(
        m.startswith("[ERROR] ValueError: the event asked me to fail")
        for m in log_messages(client, "hello")
    )


def test_a_function_that_runs_too_long_is_killed_at_its_timeout(client, make_function):
    make_function(Timeout=1)
    started = time.monotonic()
    reply, result = invoke(client("lambda"), "hello", {"sleep": 30})
    assert time.monotonic() - started < 10
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Sandbox.Timedout"
    assert result["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert any(
        m.endswith("Task timed out after 1.00 seconds") for m in log_messages(client, "hello")
    )


def test_output_and_report_lines_go_to_cloudwatch_logs_and_the_tail(client, make_function):
    make_function(MemorySize=512)
    reply, _ = invoke(client("lambda"), "hello", LogType="Tail")
    tail = base64.b64decode(reply["LogResult"]).decode()
    assert tail.startswith("START RequestId: ")
    assert "hello from hello" in tail
    messages = log_messages(client, "hello")
    assert messages[0].startswith("START RequestId: ") and "Version: $LATEST" in messages[0]
    assert "hello from hello" in messages
    assert any(m.startswith("END RequestId: ") for m in messages)
    report = next(m for m in messages if m.startswith("REPORT RequestId: "))
    for figure in ("Duration: ", "Billed Duration: ", "Memory Size: 512 MB", "Max Memory Used: "):
        assert figure in report
    reply, _ = invoke(client("lambda"), "hello")
    assert "LogResult" not in reply  # only with LogType Tail


def test_event_invocations_run_in_the_background(client, make_function, synchronous):
    make_function()
    reply = client("lambda").invoke(
        FunctionName="hello", InvocationType="Event", Payload=b'{"x": 1}'
    )
    assert reply["StatusCode"] == 202
    assert "hello from hello" in log_messages(client, "hello")


def test_dry_run_checks_without_running(client, make_function):
    make_function()
    reply = client("lambda").invoke(FunctionName="hello", InvocationType="DryRun")
    assert reply["StatusCode"] == 204
    with pytest.raises(ClientError):
        client("logs").describe_log_streams(logGroupName="/aws/lambda/hello")


def test_a_published_version_runs_its_own_code(client, make_function):
    make_function(Publish=True)
    lam = client("lambda")
    lam.update_function_code(
        FunctionName="hello",
        ZipFile=zipped({"lambda_function.py": "def handler(e, c):\n    return 'v2'\n"}),
    )
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    reply, result = invoke(lam, "hello")
    assert result == "v2"
    reply, result = invoke(lam, "hello:live")
    assert reply["ExecutedVersion"] == "1"
    assert result["context"]["invoked_function_arn"].endswith(":function:hello:live")
    assert result["context"]["function_version"] == "1"


def test_import_errors_and_payloads_as_lambda_answers(client, make_function):
    make_function(Handler="missing_module.handler")
    lam = client("lambda")
    reply, result = invoke(lam, "hello")
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    make_function("nohandler", Handler="lambda_function.nothing")
    _, result = invoke(lam, "nohandler")
    assert result["errorType"] == "Runtime.HandlerNotFound"
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="nohandler", Payload=b"{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_other_runtimes_answer_a_clear_kit_error(client, make_function):
    make_function("node", Runtime="nodejs20.x", Handler="index.handler")
    lam = boto3.client("lambda", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="node")
    error = caught.value.response["Error"]
    assert error["Code"] == "NotImplementedByLabKit"
    assert "nodejs20.x" in error["Message"] and "Python" in error["Message"]


@pytest.mark.parametrize(
    "files, links",
    [
        ({"../escaped.py": "x = 1", "lambda_function.py": "def handler(e, c): pass"}, None),
        ({"/tmp/absolute_escape.py": "x = 1"}, None),
        ({"lambda_function.py": "def handler(e, c): pass"}, {"out": "../../../../../etc"}),
    ],
)
def test_a_hostile_zip_is_refused_and_writes_nothing_outside(client, make_function, files, links):
    make_function("hostile", code=zipped(files, links))
    lam = check_replies(boto3.client("lambda", config=Config(retries={"max_attempts": 1})))
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="hostile")
    assert caught.value.response["Error"]["Code"] == "InvalidZipFileException"
    base = settings.emulator_dir() / "lambda"
    assert not (base.parent / "escaped.py").exists()
    assert not list(base.rglob("escaped.py"))


@pytest.mark.parametrize(
    "request_options, code",
    [
        ({"FunctionName": "a:b:c"}, "ValidationException"),
        ({"FunctionName": "../../etc"}, "ValidationException"),
        ({"FunctionName": "hostile-requests", "Qualifier": "no such"}, "ValidationException"),
        ({"FunctionName": "hostile-requests", "Qualifier": "nope"}, "ResourceNotFoundException"),
        (
            {"FunctionName": "hostile-requests", "InvocationType": "Bogus"},
            "InvalidParameterValueException",
        ),
        (
            {"FunctionName": "hostile-requests", "ClientContext": "!!!"},
            "InvalidRequestContentException",
        ),
        (
            {"FunctionName": "hostile-requests", "Payload": b"\xff\xfe"},
            "InvalidRequestContentException",
        ),
        ({"FunctionName": "hostile-requests", "Payload": b"NaN"}, "InvalidRequestContentException"),
        (
            {"FunctionName": "hostile-requests", "Payload": b"[" * 5000 + b"]" * 5000},
            "InvalidRequestContentException",
        ),
    ],
)
def test_hostile_invoke_requests_get_aws_errors_not_5xx(local_server, request_options, code):
    key, secret = local_server.credentials
    session = boto3.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
    )
    unchecked = Config(parameter_validation=False, retries={"max_attempts": 1})
    lam = session.client("lambda", endpoint_url=local_server.endpoint, config=unchecked)
    try:
        lam.get_function(FunctionName="hostile-requests")
    except ClientError:
        iam = session.client("iam", endpoint_url=local_server.endpoint)
        role = iam.create_role(RoleName="hostile-requests", AssumeRolePolicyDocument="{}")
        lam.create_function(
            FunctionName="hostile-requests",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="m.h",
            Code={"ZipFile": zipped({"m.py": "def h(e, c):\n    return e\n"})},
        )
    with pytest.raises(ClientError) as caught:
        lam.invoke(**request_options)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert caught.value.response["Error"]["Code"] == code


def test_a_qualifier_member_in_the_payload_is_only_payload(client, make_function):
    make_function()
    reply, result = invoke(client("lambda"), "hello", {"qualifier": "nope"})
    assert reply["StatusCode"] == 200 and result["event"] == {"qualifier": "nope"}


def test_what_a_function_starts_ends_with_its_invocation(client, make_function):
    from helpers.emulator import processes

    code = (
        "import subprocess\n"
        "def handler(event, context):\n"
        "    return subprocess.Popen(['sleep', '60']).pid\n"
    )
    make_function("spawner", code=zipped({"lambda_function.py": code}))
    _, pid = invoke(client("lambda"), "spawner")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        info = processes.process_info(pid)
        if info is None or info.zombie:
            break
        time.sleep(0.05)
    info = processes.process_info(pid)
    assert info is None or info.zombie


def test_what_a_function_prints_is_capped(client, make_function, monkeypatch):
    from helpers.emulator.awslambda import runtime

    monkeypatch.setattr(runtime, "MAX_OUTPUT_BYTES", 1000)
    code = "def handler(event, context):\n    print('x' * 100000)\n    return 'ok'\n"
    make_function("chatty", code=zipped({"lambda_function.py": code}))
    reply, result = invoke(client("lambda"), "chatty", LogType="Tail")
    assert result == "ok"
    assert sum(len(m) for m in log_messages(client, "chatty")) < 2000


def test_the_kits_engines_invoke_by_name(client, make_function):
    from helpers.emulator.awslambda import runtime

    make_function(Publish=True)
    done = runtime.invoke_by_name("123456789012", "us-east-1", "hello", {"n": 1}, "1")
    assert done.function_error is None and done.executed_version == "1"
    assert done.result()["event"] == {"n": 1}
    assert done.result()["context"]["invoked_function_arn"].endswith(":function:hello:1")
    with pytest.raises(runtime.InvocationRefused) as refused:
        runtime.invoke_by_name("123456789012", "us-east-1", "nope", {})
    assert refused.value.kind == "ResourceNotFoundException"


def test_an_alias_with_routing_weights_sends_some_invocations_to_the_new_version(
    client, make_function, monkeypatch
):
    import itertools
    import random

    monkeypatch.setattr(random, "random", itertools.cycle([0.1, 0.9]).__next__)  # draws
    lam = client("lambda")
    make_function(
        "shifting", code=zipped({"lambda_function.py": "def handler(e, c):\n    return 1\n"})
    )
    lam.publish_version(FunctionName="shifting")
    lam.update_function_code(
        FunctionName="shifting",
        ZipFile=zipped({"lambda_function.py": "def handler(e, c):\n    return 2\n"}),
    )
    lam.publish_version(FunctionName="shifting")
    lam.create_alias(
        FunctionName="shifting",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    seen = []
    for _ in range(2):
        reply, result = invoke(lam, "shifting:live")
        seen.append((reply["ExecutedVersion"], result))
    assert seen == [("2", 2), ("1", 1)]  # 0.1 falls in version 2's 0.5, 0.9 does not
