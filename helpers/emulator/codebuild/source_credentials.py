"""CodeBuild source credentials: Import/List/DeleteSourceCredentials (access-tokens.md).

What AWS documents, and how it is read here:
- The reply of ImportSourceCredentials and DeleteSourceCredentials is the credential's ARN,
  `arn:aws:codebuild:<region>:<account>:token/<server type>` (access-tokens.md shows
  `token/server-type`; AWS spells the type in lower case, e.g. `token/github`). The ARN
  names the server type only, so an account holds one credential per server type and
  region: importing again for the same server type replaces it ("If you run the
  import-source-credentials command with the same server type and auth type a second time,
  the stored access token is updated"), unless shouldOverwrite is false (the default is
  true), which AWS refuses with ResourceAlreadyExistsException.
- The token is never shown again: ListSourceCredentials gives arn, serverType, authType
  and, for CODECONNECTIONS and SECRETS_MANAGER, resource (the connection or secret ARN
  the token named). The kit keeps only a SHA-256 fingerprint of a token, never the token.
- "An OAUTH connection is not supported by the API and must be created using the CodeBuild
  console" (the model's AuthType): OAUTH is refused with InvalidInputException.
- BASIC_AUTH is Bitbucket's app password, with its username; GitHub and GitHub Enterprise
  take PERSONAL_ACCESS_TOKEN ("username ... is ignored for GitHub").

Offline, nothing checks a token against a provider: the local git host authenticates git
clients with their AWS credentials. A credential still matters to the kit: CreateWebhook
needs one (or a CODECONNECTIONS source auth) for the project's server type, as AWS needs
one to create the webhook on the provider.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

from moto.core.base_backend import BackendDict, BaseBackend

from ..core import LabHandlers
from . import exceptions as err

CONNECTION_ARN = re.compile(
    r"^arn:aws:(codeconnections|codestar-connections):[a-z0-9-]{1,64}:\d{12}:connection/[0-9a-f-]{36}\Z"
)
SECRET_ARN = re.compile(
    r"^arn:aws:secretsmanager:[a-z0-9-]{1,64}:\d{12}:secret:[\w/+=.@-]{1,512}\Z"
)
# Which auth types each server type takes through the API (OAUTH: console only).
AUTH_TYPES = {
    "GITHUB": ("PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"),
    "GITHUB_ENTERPRISE": ("PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"),
    "GITLAB": ("PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"),
    "GITLAB_SELF_MANAGED": ("PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"),
    "BITBUCKET": ("BASIC_AUTH", "PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"),
}


@dataclass
class SourceCredential:
    arn: str
    server_type: str
    auth_type: str
    fingerprint: str  # sha256 of the token: the token itself is never kept
    username: str | None = None
    resource: str | None = None  # the connection or secret ARN


class SourceCredentialsBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.credentials: dict[str, SourceCredential] = {}  # by server type
        self.lock = threading.Lock()

    def arn_for(self, server_type: str) -> str:
        return f"arn:aws:codebuild:{self.region_name}:{self.account_id}:token/{server_type.lower()}"

    def import_credential(self, params: dict) -> SourceCredential:
        server_type, auth_type = params["serverType"], params["authType"]
        token, username = params["token"], params.get("username")
        check_credential(server_type, auth_type, token, username)
        credential = SourceCredential(
            arn=self.arn_for(server_type),
            server_type=server_type,
            auth_type=auth_type,
            fingerprint=hashlib.sha256(token.encode()).hexdigest(),
            username=username if server_type == "BITBUCKET" else None,
            resource=token if auth_type in ("CODECONNECTIONS", "SECRETS_MANAGER") else None,
        )
        with self.lock:
            if server_type in self.credentials and params.get("shouldOverwrite") is False:
                raise err.ResourceAlreadyExistsException(
                    f"Access token with server type {server_type} already exists. Delete its "
                    "source credential and try again, or import with shouldOverwrite true."
                )
            self.credentials[server_type] = credential
        return credential

    def delete_credential(self, arn: str) -> str:
        with self.lock:
            for server_type, credential in list(self.credentials.items()):
                if credential.arn == arn:
                    del self.credentials[server_type]
                    return arn
        raise err.ResourceNotFoundException(f"Could not find source credential with arn {arn}")

    def credential_for(self, server_type: str) -> SourceCredential | None:
        return self.credentials.get(server_type)


def check_credential(server_type: str, auth_type: str, token: str, username: str | None) -> None:
    if auth_type == "OAUTH":
        raise err.InvalidInputException(
            "OAUTH source credentials cannot be imported with the API: connect with OAuth in "
            "the CodeBuild console (offline: use PERSONAL_ACCESS_TOKEN or CODECONNECTIONS)"
        )
    if auth_type not in AUTH_TYPES[server_type]:
        raise err.InvalidInputException(
            f"Auth type {auth_type} is not supported for server type {server_type}; use one of "
            + ", ".join(AUTH_TYPES[server_type])
        )
    if auth_type == "BASIC_AUTH" and not username:
        raise err.InvalidInputException(
            "username is required for BASIC_AUTH (the Bitbucket user of the app password)"
        )
    if auth_type == "CODECONNECTIONS" and not CONNECTION_ARN.match(token):
        raise err.InvalidInputException(
            "For auth type CODECONNECTIONS the token is the connection's ARN "
            "(arn:aws:codeconnections:<region>:<account>:connection/<id>)"
        )
    if auth_type == "SECRETS_MANAGER" and not SECRET_ARN.match(token):
        raise err.InvalidInputException(
            "For auth type SECRETS_MANAGER the token is the secret's ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
        )


def credential_reply(credential: SourceCredential) -> dict:
    reply = {
        "arn": credential.arn,
        "serverType": credential.server_type,
        "authType": credential.auth_type,
    }
    if credential.resource:
        reply["resource"] = credential.resource
    return reply


def _backend(handler: LabHandlers) -> SourceCredentialsBackend:
    return source_credential_backends[handler.current_account][handler.region]


class SourceCredentialHandlers(LabHandlers):
    def import_source_credentials(self, params: dict) -> dict:
        return {"arn": _backend(self).import_credential(params).arn}

    def list_source_credentials(self, params: dict) -> dict:
        credentials = sorted(_backend(self).credentials.values(), key=lambda c: c.server_type)
        return {"sourceCredentialsInfos": [credential_reply(c) for c in credentials]}

    def delete_source_credentials(self, params: dict) -> dict:
        return {"arn": _backend(self).delete_credential(params["arn"])}


source_credential_backends = BackendDict(SourceCredentialsBackend, "codebuild")
