"""The offline handshake: POST <endpoint>/lab-kit/connections/handshake {"ConnectionArn": ...}
makes a connection AVAILABLE, as a learner finishing the provider's handshake in the
console does on AWS (helpers.connections.complete_handshake calls it).

Why this route is safe to serve: it is no AWS API, so trust.py leaves its authentication
to it (after the Host and Origin checks every request passes); it requires what every API
call requires, a valid SigV4 signature (trust.verify: key, secret, session token, clock)
for codeconnections or codestar-connections, and it changes only a connection of the
signer's own account. The body is read as any JSON request body (core.read_params).
"""

from __future__ import annotations

import json

from .. import routes, trust
from ..core import AwsError, ValidationException, read_params
from .handlers import connection_reply
from .models import SERVICES, complete_handshake

PATH = "/lab-kit/connections/handshake"


def handshake_app(environ, start_response):
    try:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != PATH:
            raise ValidationException(f"POST {PATH} is the only request this path takes")
        body = trust.read_body(environ)
        signed = trust.verify(environ, body)
        if signed.service not in SERVICES:
            raise trust.Refused("signature", "Sign this request for codeconnections")
        arn = read_params(body).get("ConnectionArn")
        if not isinstance(arn, str):
            raise ValidationException("ConnectionArn (a string) is required")
        connection = complete_handshake(signed.identity.account_id, arn)
    except trust.Refused as refusal:
        return trust.error_reply(environ, start_response, refusal)
    except AwsError as error:
        start_response(f"{error.code} Error", [("Content-Type", "application/json")])
        return [error.description.encode()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"Connection": connection_reply(connection)}).encode()]


def register() -> None:
    routes.register(PATH, handshake_app)
