"""Lab-level connection helpers: the handshake, and where a connected repository lives.

A connection made by the API is PENDING until someone finishes the handshake with the
provider (on AWS: the console's "Update pending connection", which installs the AWS
Connector app on GitHub, GitLab or Bitbucket). Offline, complete_handshake(kit, arn) is that
step: the local server makes the connection AVAILABLE. On a real account it says what to
do in the console and waits for it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

if TYPE_CHECKING:  # lab imports the helpers' shared modules; only mypy needs the Kit
    from .lab import Kit

HANDSHAKE_PATH = "/lab-kit/connections/handshake"  # emulator/connections/handshake.py
PROVIDER_HOSTS = {
    "GitHub": ("github", "https://github.com"),
    "GitLab": ("gitlab", "https://gitlab.com"),
    "Bitbucket": ("bitbucket", "https://bitbucket.org"),
}


def complete_handshake(kit: Kit, connection_arn: str, wait_seconds: float = 600) -> str:
    """Finish the connection's handshake; returns its status (AVAILABLE when done)."""
    if kit.offline:
        return _offline_handshake(kit, connection_arn)
    connections = kit.client("codeconnections")
    print(
        "Open the console: Developer Tools > Settings > Connections, choose the connection, "
        "'Update pending connection', and install or choose the provider's app.\n"
        f"https://console.aws.amazon.com/codesuite/settings/connections?region={kit.region}"
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        status = connections.get_connection(ConnectionArn=connection_arn)["Connection"][
            "ConnectionStatus"
        ]
        if status != "PENDING" or time.monotonic() > deadline:
            return status
        time.sleep(5)


def _offline_handshake(kit: Kit, connection_arn: str) -> str:
    url = f"{kit.endpoint_url}{HANDSHAKE_PATH}"
    body = json.dumps({"ConnectionArn": connection_arn}).encode()
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = kit.session.get_credentials()
    SigV4Auth(credentials, "codeconnections", kit.region).add_auth(request)
    sent = urllib.request.Request(url, data=body, method="POST", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(sent, timeout=30) as reply:  # noqa: S310 (the local server)
            return json.loads(reply.read())["Connection"]["ConnectionStatus"]
    except urllib.error.HTTPError as error:
        raise RuntimeError(
            f"The handshake failed: {error.read().decode(errors='replace')}"
        ) from None


def repository_url(kit: Kit, provider_type: str, full_repository_id: str) -> str:
    """The clone URL of owner/name: the local git host offline, the provider's site on AWS."""
    segment, site = PROVIDER_HOSTS[provider_type]
    base = f"{kit.endpoint_url}/{segment}" if kit.offline else site
    return f"{base}/{full_repository_id}.git"
