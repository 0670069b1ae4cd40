"""Raw HTTP requests signed as boto3 signs them (SigV4), for tests that bypass boto3."""

from __future__ import annotations

import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers.emulator import server

KEY, SECRET, REGION = "testing", "testing", "us-east-1"


def signed_headers(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    service: str,
    key: str = KEY,
    secret: str = SECRET,
    region: str = REGION,
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return dict(request.headers.items())


def json_request(
    endpoint: str, target: str, body: bytes, service: str, **credentials: str
) -> urllib.request.Request:
    """A signed JSON-protocol POST (X-Amz-Target) that urllib can send."""
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return urllib.request.Request(
        endpoint,
        data=body,
        method="POST",
        headers=signed_headers("POST", endpoint, headers, body, service, **credentials),
    )


def reset_local_aws(endpoint: str) -> None:
    """moto's documented reset, on a server started with moto_api=True (signed)."""
    server.reset_local_aws(endpoint, (KEY, SECRET))
