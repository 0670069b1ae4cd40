"""Which AWS API calls reach the local server, as IAM action names (e.g. codecommit:GetFile).

The classroom's least-privilege policy is checked against the calls the solution
notebooks really make: run them against a server with recording on, then compare.
"""

from __future__ import annotations

import io
import re
import threading
from functools import cache
from urllib.parse import parse_qs

from .core import service_model

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")

# Where an S3 operation's IAM action has another name.
S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadObject": "GetObject",
    "DeleteObjects": "DeleteObject",
    "ListBuckets": "ListAllMyBuckets",
    "GetBucketTagging": "GetBucketTagging",
    "PutBucketTagging": "PutBucketTagging",
    "CopyObject": "PutObject",
}
# botocore's model names for the signing names the kit's labs use.
MODEL_NAMES = {"events": "events", "logs": "logs", "s3": "s3"}


class CallRecorder:
    """Thread-safe set of IAM action names seen, filled by the server's WSGI app."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self._lock = threading.Lock()

    def record(self, environ: dict) -> None:
        action = iam_action(environ)
        if action:
            with self._lock:
                self.actions.add(action)


def iam_action(environ: dict) -> str | None:
    """The IAM action of an AWS API request (reads, then restores, a form body)."""
    if environ.get("PATH_INFO", "").startswith("/v1/repos/"):
        # git over HTTPS: CodeCommit authorizes it as GitPull or GitPush.
        query = environ.get("QUERY_STRING", "") + environ.get("PATH_INFO", "")
        if "git-receive-pack" in query:
            return "codecommit:GitPush"
        return "codecommit:GitPull" if "git-upload-pack" in query else None
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    service = match.group(1)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        operation = s3_operation(environ)
        return f"s3:{S3_ACTIONS.get(operation, operation)}" if operation else None
    form = _peek_form(environ)
    if "Action" in form:
        return f"{service}:{form['Action'][0]}"
    operation = rest_operation(service, environ)  # REST services (CodeStar Notifications)
    return f"{service}:{operation}" if operation else None


def rest_operation(service: str, environ: dict) -> str | None:
    """Match a request of a REST service other than S3 to an operation by method and path."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    for operation, (http_method, pattern) in _rest_routes(service).items():
        if http_method == method and pattern.fullmatch(path):
            return operation
    return None


@cache
def _rest_routes(service: str) -> dict[str, tuple[str, re.Pattern]]:
    try:
        model = service_model(service)
    except Exception:  # a signing name botocore has no model for: nothing to match
        return {}
    if model.protocol not in ("rest-json", "rest-xml"):
        return {}
    routes = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].partition("?")[0]
        # Each {label} is one path segment or more (an ARN label may hold slashes).
        routes[name] = (http["method"], re.compile(re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(path))))
    return routes


def _peek_form(environ: dict) -> dict:
    if "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
        return parse_qs(environ.get("QUERY_STRING", ""))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # the app still reads the whole body
    return parse_qs(body.decode(errors="replace"))


def s3_operation(environ: dict) -> str | None:
    """Match an S3 REST request to an operation of the botocore model."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    query = set(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    segments = len([p for p in path.split("/") if p])
    best, best_score = None, -1
    for operation, (http_method, depth, needed, key_plus) in _s3_routes().items():
        if http_method != method or not needed <= query:
            continue
        if depth != segments and not (key_plus and segments >= depth):
            continue
        score = len(needed) * 10 + depth
        if score > best_score:
            best, best_score = operation, score
    return best


@cache
def _s3_routes() -> dict[str, tuple[str, int, frozenset, bool]]:
    routes = {}
    model = service_model("s3")
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"]
        path, _, query = uri.partition("?")
        needed = frozenset(q.split("=")[0] for q in query.split("&") if q)
        depth = len([p for p in path.split("/") if p])
        routes[name] = (http["method"], depth, needed, "+}" in path)
    return routes
