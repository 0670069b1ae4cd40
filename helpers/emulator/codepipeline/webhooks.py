"""Webhooks: PutWebhook, ListWebhooks, DeleteWebhook, (De)RegisterWebhookWithThirdParty, and
the URL that really starts the pipeline when something POSTs to it.

The URL is served by the local server (routes.register): POST
http://<server>/webhooks/<region>/<account>/<id>. Under mock_aws, with no server, the URL
has AWS's shape (https://<region>.webhooks.aws/trigger?t=<id>&v=1) and deliver() plays
the part of the endpoint.

What the endpoint checks, as AWS documents it:
- authentication GITHUB_HMAC: the X-Hub-Signature-256 (sha256=...) or X-Hub-Signature
  (sha1=...) header is the HMAC of the body with SecretToken; otherwise 401.
- IP: the caller's address is inside AllowedIPRange (a CIDR); otherwise 403.
- UNAUTHENTICATED: anyone.
- Every filter's JSONPath, applied to the JSON body, selects a value equal to matchEquals,
  in which {Key} stands for the target action's configuration value Key. A payload that
  does not match "is ignored" (AWS's words): 200, and nothing starts.
A match starts the target pipeline with trigger Webhook (triggerDetail: the webhook ARN).

JSONPath: the subset webhooks use - $.a.b, $['a'], $.list[0], * wildcards.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field

from ..core import now
from . import exceptions as err
from . import runtime

REDACTED = "****"  # AWS: "If a secret token was provided, it will be redacted in the response"
PREFIX = "/webhooks/"

_SEGMENT = re.compile(
    r"""\.(?P<name>[A-Za-z_$@\-][\w$@\-]*)|\.(?P<star>\*)|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<bstar>\*)\]|\[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]"""
)


# One step of a JSONPath: ("key", name), ("index", position) or ("any", None).
Step = tuple[str, str | int | None]


class JsonPathError(ValueError):
    pass


def parse_path(path: str) -> list[Step]:
    """'$.a[0].b' -> [("key", "a"), ("index", 0), ("key", "b")]; JsonPathError if invalid."""
    if not path.startswith("$"):
        raise JsonPathError("a JSONPath starts with $")
    steps: list[Step] = []
    position = 1
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            raise JsonPathError(f"unexpected {path[position:]!r}")
        if match["name"] is not None:
            steps.append(("key", match["name"]))
        elif match["key"] is not None:
            steps.append(("key", match["key"]))
        elif match["index"] is not None:
            steps.append(("index", int(match["index"])))
        else:
            steps.append(("any", None))
        position = match.end()
    return steps


def select(document: object, steps: list[Step]) -> list:
    values = [document]
    for kind, arg in steps:
        found = []
        for value in values:
            if kind == "key" and isinstance(value, dict) and arg in value:
                found.append(value[arg])
            elif (
                kind == "index"
                and isinstance(value, list)
                and isinstance(arg, int)
                and -len(value) <= arg < len(value)
            ):
                found.append(value[arg])
            elif kind == "any":
                found.extend(
                    value.values()
                    if isinstance(value, dict)
                    else value
                    if isinstance(value, list)
                    else []
                )
        values = found
    return values


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


@dataclass
class Webhook:
    definition: dict
    arn: str
    id: str
    url: str
    tags: dict[str, str] = field(default_factory=dict)
    registered: bool = False
    last_triggered: object = None

    def describe(self) -> dict:
        definition = json.loads(json.dumps(self.definition))
        auth = definition.get("authenticationConfiguration") or {}
        if auth.get("SecretToken"):
            auth["SecretToken"] = REDACTED
        reply = {"definition": definition, "url": self.url, "arn": self.arn}
        if self.last_triggered is not None:
            reply["lastTriggered"] = self.last_triggered
        if self.tags:
            reply["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        return reply


class Webhooks:
    """The webhooks of one account and region, by name."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.items: dict[str, Webhook] = {}
        self.lock = threading.RLock()

    def put(
        self,
        definition: dict,
        tags: list[dict] | None,
        pipeline_declaration: dict,
        base_url: str | None,
    ) -> Webhook:
        action = _target_action(definition, pipeline_declaration)
        _check_authentication(definition)
        for rule in definition["filters"]:
            try:
                parse_path(rule["jsonPath"])
            except JsonPathError as error:
                raise err.InvalidWebhookFilterPatternException(
                    f"The filter jsonPath {rule['jsonPath']} is not valid: {error}"
                ) from None
            for key in re.findall(r"\{([^{}]*)\}", rule.get("matchEquals") or ""):
                if key not in (action.get("configuration") or {}):
                    raise err.InvalidWebhookFilterPatternException(
                        f"matchEquals names {{{key}}}, which is not a configuration key of "
                        f"action {action['name']}"
                    )
        tag_map = {}
        for tag in tags or []:
            if tag["key"].startswith("aws:"):
                raise err.InvalidTagsException(
                    "Not allowed to modify system tags. System tags start with 'aws:'."
                )
            tag_map[tag["key"]] = tag["value"]
        if len(tag_map) > 50:
            raise err.TooManyTagsException("A resource can have at most 50 tags")
        with self.lock:
            existing = self.items.get(definition["name"])
            if existing is not None:  # PutWebhook on a name in use redefines it, same URL
                existing.definition = definition
                if tags is not None:
                    existing.tags = tag_map
                return existing
            webhook_id = secrets.token_hex(16)
            if base_url:
                url = f"{base_url.rstrip('/')}{PREFIX}{self.region}/{self.account}/{webhook_id}"
            else:
                url = f"https://{self.region}.webhooks.aws/trigger?t={webhook_id}&v=1"
            webhook = Webhook(
                definition,
                f"arn:aws:codepipeline:{self.region}:{self.account}:webhook:{definition['name']}",
                webhook_id,
                url,
                tag_map,
            )
            self.items[definition["name"]] = webhook
            return webhook

    def get(self, name: str | None) -> Webhook:
        webhook = self.items.get(name or "")
        if webhook is None:
            raise err.WebhookNotFoundException(f"The webhook {name} was not found")
        return webhook

    def by_id(self, webhook_id: str) -> Webhook | None:
        return next((w for w in self.items.values() if w.id == webhook_id), None)

    def delete(self, name: str) -> None:
        with self.lock:
            self.items.pop(name, None)  # AWS: deleting a missing webhook succeeds


def _target_action(definition: dict, declaration: dict) -> dict:
    first = declaration["stages"][0]
    action = next((a for a in first["actions"] if a["name"] == definition["targetAction"]), None)
    if action is None:
        raise err.ValidationException(
            f"The webhook's targetAction {definition['targetAction']} is not an action of the "
            f"source (first) stage of pipeline {declaration['name']}"
        )
    return action


def _check_authentication(definition: dict) -> None:
    kind = definition["authentication"]
    config = definition.get("authenticationConfiguration") or {}
    given = {k for k, v in config.items() if v}
    wanted = {"GITHUB_HMAC": {"SecretToken"}, "IP": {"AllowedIPRange"}, "UNAUTHENTICATED": set()}[
        kind
    ]
    if given != wanted:
        needs = " and ".join(sorted(wanted)) or "no properties"
        raise err.InvalidWebhookAuthenticationParametersException(
            f"Authentication {kind} needs {needs} in authenticationConfiguration"
        )
    if kind == "IP":
        try:
            ipaddress.ip_network(config["AllowedIPRange"], strict=False)
        except ValueError:
            raise err.InvalidWebhookAuthenticationParametersException(
                f"AllowedIPRange {config['AllowedIPRange']} is not a valid CIDR range"
            ) from None


# -- a delivery ------------------------------------------------------------------------------


def check_delivery(
    webhook: Webhook, action: dict, body: bytes, headers: dict[str, str], source_ip: str
) -> tuple[int, str]:
    """(HTTP status, message); status 202 means: start the pipeline."""
    definition = webhook.definition
    kind = definition["authentication"]
    config = definition.get("authenticationConfiguration") or {}
    headers = {k.lower(): v for k, v in headers.items()}
    if kind == "GITHUB_HMAC":
        secret = config["SecretToken"].encode()
        good = False
        for header, algorithm in (
            ("x-hub-signature-256", hashlib.sha256),
            ("x-hub-signature", hashlib.sha1),
        ):
            given = headers.get(header)
            if given:
                expected = (
                    f"{given.split('=', 1)[0]}=" + hmac.new(secret, body, algorithm).hexdigest()
                )
                good = hmac.compare_digest(given, expected)
                break
        if not good:
            return 401, "The signature of the request does not match the webhook's secret"
    elif kind == "IP":
        try:
            inside = ipaddress.ip_address(source_ip) in ipaddress.ip_network(
                config["AllowedIPRange"], strict=False
            )
        except ValueError:
            inside = False
        if not inside:
            return 403, f"Requests from {source_ip} are not allowed by the webhook"
    try:
        payload = _payload(body, headers.get("content-type", ""))
    except ValueError:
        return 400, "The request body is not JSON"
    configuration = action.get("configuration") or {}
    for rule in definition["filters"]:
        wanted = re.sub(
            r"\{([^{}]*)\}",
            lambda m: str(configuration.get(m.group(1), "")),
            rule.get("matchEquals") or "",
        )
        values = [_text(v) for v in select(payload, parse_path(rule["jsonPath"]))]
        if not values or (rule.get("matchEquals") and wanted not in values):
            return 200, (
                f"Ignored: the filter {rule['jsonPath']} did not match; no pipeline "
                "execution was started"
            )
    return 202, "started"


def _payload(body: bytes, content_type: str):
    if "application/x-www-form-urlencoded" in content_type:  # GitHub's other content type
        body = urllib.parse.parse_qs(body.decode()).get("payload", ["{}"])[0].encode()
    return json.loads(body or b"{}")


@runtime.settles
def deliver(
    account: str,
    region: str,
    webhook_id: str,
    body: bytes,
    headers: dict[str, str],
    source_ip: str = "127.0.0.1",
) -> tuple[int, str]:
    """One POST to a webhook URL: check it; start the target pipeline if it passes."""
    from .models import codepipeline_lab_backends

    if account not in codepipeline_lab_backends or region not in codepipeline_lab_backends[account]:
        return 404, "No such webhook"
    backend = codepipeline_lab_backends[account][region]
    webhook = backend.webhooks.by_id(webhook_id)
    if webhook is None:
        return 404, "No such webhook"
    pipeline = backend.pipelines.get(webhook.definition["targetPipeline"])
    if pipeline is None:
        return 404, f"The pipeline {webhook.definition['targetPipeline']} does not exist"
    action = next(
        (
            a
            for a in pipeline.declaration["stages"][0]["actions"]
            if a["name"] == webhook.definition["targetAction"]
        ),
        None,
    )
    if action is None:
        return 404, f"The action {webhook.definition['targetAction']} does not exist"
    status, message = check_delivery(webhook, action, body, headers, source_ip)
    if status != 202:
        return status, message
    webhook.last_triggered = now()
    execution = backend.start_execution(
        pipeline, {"triggerType": "Webhook", "triggerDetail": webhook.arn}
    )
    return 200, json.dumps({"pipelineExecutionId": execution.id})


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
}


def wsgi_app(environ, start_response):
    """POST /webhooks/<region>/<account>/<id> on the local server."""
    parts = environ.get("PATH_INFO", "")[len(PREFIX) :].strip("/").split("/")
    if environ.get("REQUEST_METHOD") != "POST":
        status, message = 405, "Webhooks accept POST only"
    elif len(parts) != 3:
        status, message = 404, "No such webhook"
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        region, account, webhook_id = parts
        status, message = deliver(
            account, region, webhook_id, body, headers, environ.get("REMOTE_ADDR", "")
        )
    content_type = "application/json" if message.startswith("{") else "text/plain"
    start_response(f"{status} {_REASONS.get(status, '')}", [("Content-Type", content_type)])
    return [message.encode() + (b"" if content_type == "application/json" else b"\n")]


def install() -> None:
    from .. import routes

    routes.register(PREFIX, wsgi_app)
