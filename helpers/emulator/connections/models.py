"""Connections per account and region, and the handshake that makes one AVAILABLE.

What AWS documents (dtconsole user guide, connections-create.md; the API reference): a
connection made by the API or the CLI is PENDING until someone finishes the handshake
with the provider in the console ("Update pending connection": the provider's app is
installed and authorized); only then is it AVAILABLE and usable by a pipeline. One
resource answers both APIs: CodeConnections (arn:aws:codeconnections:...) and its former
name CodeStar Connections (arn:aws:codestar-connections:...); each ARN names the service
the connection was created with, and either API takes either ARN.

Offline the learner's side of the handshake is helpers.connections.complete_handshake,
which reaches complete_handshake() here through the local server (git_host's handshake
route). The providers served are the cloud ones the local git host stands for (GitHub,
GitLab, Bitbucket); the self-managed ones need a host (CreateHost), which the kit does not
serve.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field

from moto.core.base_backend import BackendDict, BaseBackend

from ..core import ValidationException
from .exceptions import (
    LimitExceededException,
    ResourceNotFoundException,
    UnsupportedProviderTypeException,
)

# ProviderType -> the path segment of the local git host (<endpoint>/<segment>/owner/name.git)
PROVIDERS = {"GitHub": "github", "GitLab": "gitlab", "Bitbucket": "bitbucket"}
SERVICES = ("codeconnections", "codestar-connections")
MAX_CONNECTIONS = 250  # AWS's quota per account and region (connections-limits.md)
MAX_TAGS = 200  # the model's TagList max
_ARN = re.compile(
    r"^arn:aws:(codeconnections|codestar-connections):([a-z0-9-]{1,64}):(\d{12}):"
    r"connection/([0-9a-f-]{36})$"
)


@dataclass
class Connection:
    connection_id: str
    name: str
    provider_type: str
    account_id: str
    region: str
    service: str  # the API it was created with: its ARN's service
    status: str = "PENDING"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:{self.service}:{self.region}:{self.account_id}:"
            f"connection/{self.connection_id}"
        )

    @property
    def host_segment(self) -> str:
        """Where the local git host serves this provider's repositories."""
        return PROVIDERS[self.provider_type]


def parse_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(service, region, account, connection id) of a connection ARN, or None."""
    match = _ARN.match(arn or "")
    return match.groups() if match else None  # type: ignore[return-value]


class ConnectionsLabBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.connections: dict[str, Connection] = {}  # by connection id
        self.lock = threading.RLock()

    def create_connection(self, service: str, params: dict) -> Connection:
        provider = params.get("ProviderType")
        if params.get("HostArn"):
            raise ResourceNotFoundException(
                f"Host {params['HostArn']} not found: the lab kit's local connections do "
                "not serve hosts (CreateHost); connect GitHub, GitLab or Bitbucket."
            )
        if provider not in PROVIDERS:
            raise UnsupportedProviderTypeException(
                f"Provider type {provider!r} needs a host or is not served by the lab kit's "
                f"local connections: use one of {', '.join(PROVIDERS)}."
            )
        tags = _tags(params.get("Tags") or [])
        with self.lock:
            if len(self.connections) >= MAX_CONNECTIONS:
                raise LimitExceededException(
                    f"An account can have at most {MAX_CONNECTIONS} connections per Region"
                )
            connection = Connection(
                str(uuid.uuid4()),
                params["ConnectionName"],
                provider,
                self.account_id,
                self.region_name,
                service,
                tags=tags,
            )
            self.connections[connection.connection_id] = connection
        return connection

    def get_connection(self, arn: str) -> Connection:
        parsed = parse_arn(arn)
        found = None
        if parsed and parsed[1:3] == (self.region_name, self.account_id):
            found = self.connections.get(parsed[3])
        if found is None:
            raise ResourceNotFoundException(f"Connection {arn} does not exist")
        return found

    def delete_connection(self, arn: str) -> None:
        with self.lock:
            self.connections.pop(self.get_connection(arn).connection_id)

    def list_connections(self, provider: str | None) -> list[Connection]:
        return [
            c for c in self.connections.values() if provider is None or c.provider_type == provider
        ]

    def tag_resource(self, arn: str, tags: list[dict]) -> None:
        connection = self.get_connection(arn)
        merged = {**connection.tags, **_tags(tags)}
        if len(merged) > MAX_TAGS:
            raise LimitExceededException(f"A resource can have at most {MAX_TAGS} tags")
        connection.tags = merged

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        connection = self.get_connection(arn)
        for key in keys:
            connection.tags.pop(key, None)


def _tags(tags: list[dict]) -> dict[str, str]:
    found = {}
    for tag in tags:
        if tag["Key"].startswith("aws:"):
            raise ValidationException("Tag keys starting with aws: are reserved")
        found[tag["Key"]] = tag["Value"]
    return found


connection_lab_backends = BackendDict(ConnectionsLabBackend, "codestar-connections")


def find_connection(account: str, arn: str) -> Connection | None:
    """The connection an ARN names in its own region (the pipeline engine's look-up), or
    None; never creates a backend for a region the ARN names."""
    parsed = parse_arn(arn)
    if parsed is None or parsed[2] != account or account not in connection_lab_backends:
        return None
    regions = connection_lab_backends[account]
    if parsed[1] not in regions:
        return None
    return regions[parsed[1]].connections.get(parsed[3])


def complete_handshake(account: str, arn: str) -> Connection:
    """Make the connection AVAILABLE (the learner finished the provider's handshake)."""
    connection = find_connection(account, arn)
    if connection is None:
        raise ResourceNotFoundException(f"Connection {arn} does not exist")
    connection.status = "AVAILABLE"
    return connection
