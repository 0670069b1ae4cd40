"""What every service the kit adds to moto shares: AWS errors, request checking, replies.

moto dispatches an API action to the method of the same snake_case name on the service's
response class, both in-process (mock_aws) and in server mode. The kit writes its
operations as methods of a *handlers* class and copies them onto moto's response class
(install_handlers), so one implementation serves both.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from moto.core.exceptions import JsonRESTError

from . import constraints

log = logging.getLogger("helpers.emulator")

_botocore_session = botocore.session.get_session()


@functools.cache
def service_model(service: str):
    return _botocore_session.get_service_model(service)


class AwsError(JsonRESTError):
    """An AWS error in the JSON protocol shape: {"__type": Name, "message": ...}, HTTP 400.

    Subclasses are named exactly as the error shapes in the botocore model.
    """

    code = 400

    def __init__(self, message: str):
        super().__init__(type(self).__name__, message)


class ValidationException(AwsError):
    pass


class InternalFailure(AwsError):
    code = 500


def to_epoch(value: dt.datetime | float | None) -> float | None:
    """JSON-protocol timestamps travel as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} in a reply")


def check_request(service: str, operation: str, params: dict) -> None:
    """Reject a request that does not fit the operation's input shape, as AWS would.

    botocore checks this on the client side, but the aws CLI with --cli-input-json,
    raw HTTP and other SDKs reach the server too.
    """
    input_shape = service_model(service).operation_model(operation).input_shape
    if input_shape is None:
        return
    report = ParamValidator().validate(_decode_blobs(params, input_shape), input_shape)
    if report.has_errors():
        raise ValidationException("Parameter validation failed:\n" + report.generate_report())
    if service in CONSTRAINT_ERRORS:
        found = constraints.violations(params, input_shape, _checked_patterns(service, operation))
        if found:
            raise type(CONSTRAINT_ERRORS[service], (AwsError,), {})(constraints.report(found))


# How each service names a request that breaks the model's lengths, enums or patterns.
# CodeCommit and CodeDeploy answer with an error per member (InvalidRepositoryName...,
# InvalidApplicationName...), which their handlers raise themselves.
CONSTRAINT_ERRORS = {"codepipeline": "ValidationException", "codebuild": "InvalidInputException"}

# CodePipeline's not-found errors cover ids and names "specified in an invalid format",
# so only these patterns are checked up front, plus the names a pipeline declares where
# it declares them (UpdatePipeline looks the pipeline up by its name first).
PIPELINE_PATTERNS = frozenset({
    "DisabledReason", "ClientRequestToken", "EnvironmentVariableName", "PipelineVariableName",
    "OutputVariablesKey", "AccountId", "AllowedAccount", "RoleArn", "ArtifactStoreLocation",
    "ArtifactName", "ActionNamespace"})
DECLARED_NAMES = {"CreatePipeline": {"PipelineName", "StageName", "ActionName"},
                  "UpdatePipeline": {"StageName", "ActionName"}}


def _checked_patterns(service: str, operation: str) -> frozenset[str] | None:
    """The shapes whose patterns are checked up front (None: all of them)."""
    if service != "codepipeline":
        return None
    return PIPELINE_PATTERNS | DECLARED_NAMES.get(operation, set())


def _decode_blobs(value: Any, shape) -> Any:
    """Blobs arrive base64-encoded in JSON; the validator expects bytes."""
    if value is None or shape is None:
        return value
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            key: _decode_blobs(item, shape.members.get(key)) if key in shape.members else item
            for key, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_decode_blobs(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _decode_blobs(item, shape.value) for key, item in value.items()}
    return value


def install_handlers(service: str, response_class: type, handlers_class: type) -> None:
    """Copy the operations of handlers_class onto moto's response class for service.

    Each operation method takes the decoded JSON request (a dict) and returns the reply
    as a dict. The request is checked against the botocore input shape first; an
    unexpected exception becomes an InternalFailure reply (logged) instead of a crash.
    """
    by_snake = {_snake(op): op for op in service_model(service).operation_names}
    for name, function in vars(handlers_class).items():
        if name.startswith("__") or not callable(function):
            continue
        if name not in by_snake:
            # Helpers of the handlers class go on as they are; name them _lab_* so they
            # cannot clash with moto's own attributes nor be called as an API action.
            setattr(response_class, name, function)
            continue
        setattr(response_class, name, _as_moto_method(service, by_snake[name], function))
    # What neither the kit nor moto serves answers a clear error, not moto's HTTP 500.
    for name, operation in by_snake.items():
        if not callable(getattr(response_class, name, None)):
            setattr(response_class, name, _not_served(service, operation))


class NotImplementedByLabKit(AwsError):
    code = 501


def _not_served(service: str, operation: str) -> Callable:
    def method(self) -> str:
        raise NotImplementedByLabKit(
            f"The lab kit's local {service} does not serve {operation}; "
            "run this step against a real account (LAB_MODE=aws). "
            "See docs/troubleshooting.md#not-implemented-by-lab-kit")

    method.__name__ = _snake(operation)
    return method


def _as_moto_method(service: str, operation: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def method(self) -> str:
        try:
            params = json.loads(self.body) if self.body else {}
        except ValueError as error:
            raise SerializationException(f"Request body is not valid JSON: {error}") from None
        if not isinstance(params, dict):
            raise SerializationException("Request body must be a JSON object")
        check_request(service, operation, params)
        try:
            reply = function(self, params)
        except AwsError:
            raise
        except Exception as error:  # a bug in the kit: report it, keep serving
            log.error("%s.%s failed:\n%s", service, operation, traceback.format_exc())
            raise InternalFailure(f"The lab kit's {operation} failed: {error!r}") from None
        return json.dumps(reply or {}, default=_json_default)

    method.__name__ = _snake(operation)
    return method


class SerializationException(AwsError):
    pass


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and (not name[index - 1].isupper() or (
            index + 1 < len(name) and name[index + 1].islower()
        )):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def account_region(handler) -> tuple[str, str]:
    """The account and region a moto response object is serving."""
    return handler.current_account, handler.region


def paginate(items: list, params: dict, token_key: str = "nextToken",
             size_key: str = "maxResults", default_size: int = 100) -> tuple[list, str | None]:
    """Page through items with an opaque token, as AWS list operations do."""
    token = params.get(token_key)
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token).decode())
        except ValueError:
            raise InvalidNextTokenError(token_key) from None
        if start < 0 or start > len(items):
            raise InvalidNextTokenError(token_key)
    size = params.get(size_key) or default_size
    page = items[start:start + size]
    end = start + size
    next_token = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
    return page, next_token


class InvalidNextTokenError(Exception):
    """Raised by paginate; each service turns it into its own error name."""


def error_classes(service: str) -> dict[str, type[AwsError]]:
    """One AwsError subclass per error shape of the service's botocore model.

    Names and HTTP status codes come from the model, so they cannot drift from AWS's.
    """
    model = service_model(service)
    classes: dict[str, type[AwsError]] = {}
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        if not shape.metadata.get("exception"):
            continue
        status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
        classes[shape_name] = type(shape_name, (AwsError,), {"code": status})
    return classes
