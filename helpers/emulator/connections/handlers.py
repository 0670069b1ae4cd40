"""CodeConnections' and CodeStar Connections' operations and replies.

moto has neither service, so the kit brings the response class too: ConnectionsResponse
is a moto BaseResponse (account, region, errors and replies as moto's services have them)
serving both APIs with one backend (models.py). Its dispatch is the request guard core
gives the other services, for the two ways these APIs are spoken:

* JSON 1.0 with X-Amz-Target (codestar-connections; codeconnections' second protocol, the
  one botocore and the AWS CLI prefer): the target names the API and the operation.
* smithy-rpc-v2-cbor (codeconnections' first protocol, which other SDKs may speak): the
  path names them, the body and the reply are CBOR (cbor.py); the handlers still see and
  return plain dicts.

Either way only the model's operations can be reached, the request is checked against the
input shape (core.check_request) and the model's lengths and patterns (constraints.py).
Hosts, repository links and sync configurations answer the kit's clear 501 error.
"""

from __future__ import annotations

import re
from typing import Any

from moto.core.responses import BaseResponse

from .. import constraints
from ..core import (
    AwsError,
    LabHandlers,
    UnknownOperationException,
    ValidationException,
    check_request,
    compact,
    install_handlers,
    pager,
    read_params,
    service_model,
    with_token,
)
from ..moto_backends import serve_new_service
from . import cbor
from .exceptions import InvalidInputException
from .models import SERVICES, Connection, ConnectionsLabBackend, connection_lab_backends

_page = pager(InvalidInputException, "The NextToken is not valid")


def _by_target_prefix() -> dict[str, str]:
    return {service_model(s).metadata["targetPrefix"]: s for s in SERVICES}


def _by_rpc_service() -> dict[str, str]:
    """codeconnections' rpc-v2 path names the service by the last part of its target
    prefix (CodeConnections_20231201)."""
    return {service_model(s).metadata["targetPrefix"].rsplit(".", 1)[-1]: s for s in SERVICES}


_TARGETS = _by_target_prefix()
_RPC_SERVICES = _by_rpc_service()


def operation_for(method: str, headers: Any, path: str) -> tuple[str, str, bool]:
    """(service, operation, is CBOR) the request names: only the models' operations, by
    POST to the protocol's path, of the API the request is signed for."""
    is_cbor = cbor.is_cbor(headers)
    if is_cbor:
        named = cbor.operation_of(path)
        service = _RPC_SERVICES.get(named[0]) if named else None
        operation = named[1] if named else ""
    else:
        prefix, _, operation = (headers.get("X-Amz-Target") or "").rpartition(".")
        service = _TARGETS.get(prefix) if path == "/" else None
    if (
        method != "POST"
        or service is None
        or operation not in service_model(service).operation_names
        or _signed_service(headers) not in (None, service)
    ):
        raise UnknownOperationException(
            f"{method} {path} {headers.get('X-Amz-Target') or ''} is not an operation of "
            "codeconnections or codestar-connections (POST / with X-Amz-Target, or POST "
            "/service/CodeConnections_20231201/operation/<Operation> in rpc-v2-cbor, signed "
            "for the API it names)"
        )
    return service, operation, is_cbor


_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([a-z0-9-]+)/aws4_request")


def _signed_service(headers: Any) -> str | None:
    """The service the SigV4 signature was made for (None under mock_aws: no signature)."""
    match = _SCOPE.search(headers.get("Authorization") or "")
    return match.group(1) if match else None


class ConnectionsResponse(BaseResponse):
    """moto's response class for both services (moto has neither)."""

    use_raw_body = True  # a CBOR body is not text
    lab_service: str
    lab_operation: str
    lab_params: dict | None

    def __init__(self) -> None:
        super().__init__(service_name="codestar-connections")

    def _dispatch(self, request: Any, full_url: str | None = None, headers: Any = None) -> Any:
        is_cbor = cbor.is_cbor(request.headers)
        try:
            service, operation, is_cbor = operation_for(
                request.method, request.headers, request.path
            )
            body = request.data or b""
            params = cbor.decode_request(body) if is_cbor else read_params(body)
            check_request(service, operation, params)
            shape = service_model(service).operation_model(operation).input_shape
            found = constraints.violations(params, shape, None)
            if found:
                raise ValidationException(constraints.report(found))
        except AwsError as error:
            return _reply(is_cbor, None, error.code, {}, error.description)
        self.lab_service, self.lab_operation, self.lab_params = service, operation, params
        status, reply_headers, reply = super()._dispatch(request, full_url, headers)
        return _reply(is_cbor, (service, operation), status, reply_headers, reply)

    def _get_action(self) -> str:
        return self.lab_operation

    # core.install_handlers puts its X-Amz-Target guard on a _dispatch not marked guarded;
    # this one guards both protocols.
    _dispatch.lab_guarded = True  # type: ignore[attr-defined]


def _reply(
    is_cbor: bool, operation: tuple[str, str] | None, status: int, headers: dict, body: Any
) -> tuple[int, dict, Any]:
    """The reply in the request's protocol: the handlers' JSON as is, or as CBOR."""
    headers = dict(headers)
    if not is_cbor:
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return status, headers, body
    headers.pop("Content-Type", None)
    headers.pop("content-type", None)
    if status >= 400 or operation is None:
        data = cbor.encode_error(body)
    else:
        data = cbor.encode_reply(operation[0], operation[1], body)
    headers.update({cbor.HEADER: cbor.VALUE, "Content-Type": cbor.CONTENT_TYPE})
    return status, headers, data


class ConnectionsHandlers(LabHandlers):
    lab_service: str

    def _lab_backend(self) -> ConnectionsLabBackend:
        return connection_lab_backends[self.current_account][self.region]

    def create_connection(self, params: dict) -> dict:
        connection = self._lab_backend().create_connection(self.lab_service, params)
        return compact(
            {"ConnectionArn": connection.arn, "Tags": _tag_list(connection.tags) or None}
        )

    def get_connection(self, params: dict) -> dict:
        return {
            "Connection": connection_reply(
                self._lab_backend().get_connection(params["ConnectionArn"])
            )
        }

    def list_connections(self, params: dict) -> dict:
        found = self._lab_backend().list_connections(params.get("ProviderTypeFilter"))
        if params.get("HostArnFilter"):
            found = []  # no connection of the kit's has a host
        page, token = _page(found, params, token_key="NextToken", size_key="MaxResults")
        return with_token({"Connections": [connection_reply(c) for c in page]}, token, "NextToken")

    def delete_connection(self, params: dict) -> dict:
        self._lab_backend().delete_connection(params["ConnectionArn"])
        return {}

    def tag_resource(self, params: dict) -> dict:
        self._lab_backend().tag_resource(params["ResourceArn"], params["Tags"])
        return {}

    def untag_resource(self, params: dict) -> dict:
        self._lab_backend().untag_resource(params["ResourceArn"], params["TagKeys"])
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        connection = self._lab_backend().get_connection(params["ResourceArn"])
        return {"Tags": _tag_list(connection.tags)}

    def list_hosts(self, params: dict) -> dict:
        return {"Hosts": []}  # the kit serves no hosts; an empty list is the true answer


def connection_reply(connection: Connection) -> dict:
    return {
        "ConnectionName": connection.name,
        "ConnectionArn": connection.arn,
        "ProviderType": connection.provider_type,
        "OwnerAccountId": connection.account_id,
        "ConnectionStatus": connection.status,
    }


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def install() -> None:
    from . import git_host, handshake, urls  # urls imports this module: read once loaded

    for service, url_base in zip(SERVICES, urls.url_bases, strict=True):
        serve_new_service(service, url_base, connection_lab_backends)
    install_handlers("codestar-connections", ConnectionsResponse, ConnectionsHandlers)
    git_host.register()
    handshake.register()
