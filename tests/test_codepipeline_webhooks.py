"""Webhooks: definitions and their errors, and POSTs to the URL that start (or do not start)
the pipeline - over HTTP against the local server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from helpers.codepipeline import post_to_webhook
from helpers.emulator.codepipeline import webhooks
from tests.pipelines import create_role, declaration, source_action

PUSH = {
    "ref": "refs/heads/main",
    "repository": {"full_name": "learner/app"},
    "commits": [{"id": "abc"}],
    "deleted": False,
}


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def hook(name: str = "lab-hook", pipeline: str = "lab-pipeline", **extra) -> dict:
    return {
        "name": name,
        "targetPipeline": pipeline,
        "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
        "authentication": "GITHUB_HMAC",
        "authenticationConfiguration": {"SecretToken": "s3cr3t"},
        **extra,
    }


def sign(secret: str, body: bytes, algorithm=hashlib.sha256, prefix="sha256") -> str:
    return f"{prefix}=" + hmac.new(secret.encode(), body, algorithm).hexdigest()


def test_put_list_delete_and_errors(lab):
    lab.create()
    reply = lab.cp.put_webhook(webhook=hook(), tags=[{"key": "team", "value": "lab"}])["webhook"]
    assert reply["definition"]["authenticationConfiguration"]["SecretToken"] == "****"
    assert reply["arn"].endswith(":webhook:lab-hook")
    assert reply["url"].startswith("https://us-east-1.webhooks.aws/trigger?t=")
    assert reply["tags"] == [{"key": "team", "value": "lab"}]
    again = lab.cp.put_webhook(webhook=hook(filters=[{"jsonPath": "$.ref"}]))["webhook"]
    assert again["url"] == reply["url"]  # redefined, same URL
    assert [w["definition"]["name"] for w in lab.cp.list_webhooks()["webhooks"]] == ["lab-hook"]
    lab.cp.register_webhook_with_third_party(webhookName="lab-hook")
    lab.cp.deregister_webhook_with_third_party(webhookName="lab-hook")
    assert (
        error_code(lab.cp.register_webhook_with_third_party, webhookName="nope")
        == "WebhookNotFoundException"
    )
    assert (
        error_code(lab.cp.put_webhook, webhook=hook(pipeline="nope")) == "PipelineNotFoundException"
    )
    assert (
        error_code(lab.cp.put_webhook, webhook=hook(filters=[{"jsonPath": "ref"}]))
        == "InvalidWebhookFilterPatternException"
    )
    assert (
        error_code(
            lab.cp.put_webhook,
            webhook=hook(filters=[{"jsonPath": "$.ref", "matchEquals": "{Nope}"}]),
        )
        == "InvalidWebhookFilterPatternException"
    )
    for kind, config in (
        ("GITHUB_HMAC", {}),
        ("IP", {"AllowedIPRange": "not-a-cidr"}),
        ("IP", {"SecretToken": "x"}),
        ("UNAUTHENTICATED", {"SecretToken": "x"}),
    ):
        assert (
            error_code(
                lab.cp.put_webhook,
                webhook=hook(authentication=kind, authenticationConfiguration=config),
            )
            == "InvalidWebhookAuthenticationParametersException"
        )
    assert (
        error_code(lab.cp.put_webhook, webhook=hook(targetAction="Build")) == "ValidationException"
    )
    lab.cp.delete_webhook(name="lab-hook")
    lab.cp.delete_webhook(name="lab-hook")  # AWS: no error for a missing webhook
    assert lab.cp.list_webhooks()["webhooks"] == []


def test_filters_and_signatures_in_process(lab):
    lab.create()
    url = lab.cp.put_webhook(
        webhook=hook(
            filters=[
                {"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"},
                {"jsonPath": "$['repository'].full_name", "matchEquals": "learner/app"},
                {"jsonPath": "$.commits[0].id"},
            ]
        )
    )["webhook"]["url"]
    webhook_id = url.split("t=")[1].split("&")[0]
    body = json.dumps(PUSH).encode()

    def post(payload: bytes, signature: str) -> int:
        return webhooks.deliver(
            "123456789012", "us-east-1", webhook_id, payload, {"X-Hub-Signature-256": signature}
        )[0]

    before = len(
        lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")["pipelineExecutionSummaries"]
    )
    assert post(body, sign("wrong", body)) == 401
    other = json.dumps(dict(PUSH, ref="refs/heads/dev")).encode()
    assert post(other, sign("s3cr3t", other)) == 200  # ignored
    empty = json.dumps(dict(PUSH, commits=[])).encode()
    assert post(empty, sign("s3cr3t", empty)) == 200  # ignored: $.commits[0].id selects none
    summaries = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ]
    assert len(summaries) == before
    status, _ = webhooks.deliver(
        "123456789012",
        "us-east-1",
        webhook_id,
        body,
        {"X-Hub-Signature": sign("s3cr3t", body, hashlib.sha1, "sha1")},
    )
    assert status == 200
    latest = lab.cp.list_pipeline_executions(pipelineName="lab-pipeline")[
        "pipelineExecutionSummaries"
    ][0]
    assert latest["trigger"] == {
        "triggerType": "Webhook",
        "triggerDetail": "arn:aws:codepipeline:us-east-1:123456789012:webhook:lab-hook",
    }
    assert lab.cp.list_webhooks()["webhooks"][0]["lastTriggered"]


def test_json_path_subset():
    doc = {"a": {"b": [1, {"c": True}]}, "x-y": "z"}
    assert webhooks.select(doc, webhooks.parse_path("$.a.b[1].c")) == [True]
    assert webhooks.select(doc, webhooks.parse_path("$['x-y']")) == ["z"]
    assert webhooks.select(doc, webhooks.parse_path("$.a.b[*]")) == [1, {"c": True}]
    assert webhooks.select(doc, webhooks.parse_path("$.a.b[-1].c")) == [True]
    for bad in ("a.b", "$..", "$.a[", "$[x]"):
        with pytest.raises(webhooks.JsonPathError):
            webhooks.parse_path(bad)


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_signed_post_over_http_starts_the_pipeline(server_client, background):
    suffix = uuid.uuid4().hex[:6]
    name, bucket, repo = f"hook-pipeline-{suffix}", f"hook-artifacts-{suffix}", f"hook-{suffix}"
    cp, s3, cc = server_client("codepipeline"), server_client("s3"), server_client("codecommit")
    s3.create_bucket(Bucket=bucket)
    create_role(server_client("iam"))
    cc.create_repository(repositoryName=repo)
    cc.put_file(
        repositoryName=repo,
        branchName="main",
        filePath="a.txt",
        fileContent=b"a",
        commitMessage="first",
    )
    pipeline = declaration(
        name=name,
        stages=[
            {"name": "Source", "actions": [source_action(RepositoryName=repo)]},
            {
                "name": "Approve",
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                    }
                ],
            },
        ],
    )
    pipeline["artifactStore"]["location"] = bucket
    cp.create_pipeline(pipeline=pipeline)
    webhook = cp.put_webhook(webhook=hook(name=f"hook-{suffix}", pipeline=name))["webhook"]
    url = webhook["url"]
    assert url.startswith(cp.meta.endpoint_url + "/webhooks/us-east-1/123456789012/")

    def executions() -> int:
        return len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"])

    assert executions() == 1  # the one CreatePipeline started
    body = json.dumps(PUSH).encode()
    assert _post(url, body, {"X-Hub-Signature-256": sign("wrong", body)}) == 401
    other = json.dumps(dict(PUSH, ref="refs/heads/feature")).encode()
    assert _post(url, other, {"X-Hub-Signature-256": sign("s3cr3t", other)}) == 200
    assert _post(url, b"not json", {"X-Hub-Signature-256": sign("s3cr3t", b"not json")}) == 400
    assert executions() == 1
    status, text = post_to_webhook(url, PUSH, secret="s3cr3t")
    assert status == 200 and "pipelineExecutionId" in text
    deadline = time.monotonic() + 10
    while executions() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    latest = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert latest["trigger"]["triggerType"] == "Webhook"
    # IP authentication: the test client is 127.0.0.1
    cp.put_webhook(
        webhook=hook(
            name=f"hook-{suffix}",
            pipeline=name,
            authentication="IP",
            authenticationConfiguration={"AllowedIPRange": "10.0.0.0/8"},
        )
    )
    assert _post(url, body, {}) == 403
    cp.put_webhook(
        webhook=hook(
            name=f"hook-{suffix}",
            pipeline=name,
            authentication="IP",
            authenticationConfiguration={"AllowedIPRange": "127.0.0.0/8"},
        )
    )
    assert _post(url, body, {}) == 200
    assert _post(url.rsplit("/", 1)[0] + "/unknown", body, {}) == 404
    cp.delete_webhook(name=f"hook-{suffix}")
    cp.delete_pipeline(name=name)
