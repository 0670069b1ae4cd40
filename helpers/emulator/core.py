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
import math
import re
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.validate import ParamValidator
from moto.core.exceptions import JsonRESTError

from . import constraints, workers

if TYPE_CHECKING:
    from moto.core.responses import BaseResponse

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


# The models' inputs nest at most 11 deep; deeper JSON is refused before it is walked.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def read_params(body: bytes | str) -> dict:
    """The JSON object a JSON-protocol request carries, or SerializationException as AWS
    answers for a body it cannot read: not UTF-8, not JSON, not an object, nested too deep,
    NaN or Infinity, or text with a lone UTF-16 surrogate (no Unicode text has one)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SerializationException(f"Request body is not valid UTF-8: {error}") from None
    if not body:
        return {}
    try:
        params = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise SerializationException("Request body is nested too deeply") from None
    except ValueError as error:
        raise SerializationException(f"Request body is not valid JSON: {error}") from None
    if not isinstance(params, dict):
        raise SerializationException("Request body must be a JSON object")
    _check_json_values(params)
    return params


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_json_values(params: dict) -> None:
    """Depth and text of decoded JSON, walked without recursion (json.loads allows ~1000)."""
    pending: list[tuple[dict | list, int]] = [(params, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise SerializationException(
                f"Request body is nested more than {MAX_JSON_DEPTH} levels deep"
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            for text in (key, item):
                if isinstance(text, str) and _SURROGATE.search(text):
                    raise SerializationException(
                        "Request body has a lone UTF-16 surrogate (\\ud800-\\udfff), "
                        "which is not Unicode text"
                    )
            if isinstance(item, (dict, list)):
                pending.append((item, depth + 1))


def operation_of(service: str, target: str | None) -> str:
    """The operation an X-Amz-Target names: only the model's operations of service, so no
    other attribute of moto's response class (the kit's _lab_* helpers) can be called."""
    model = service_model(service)
    prefix, _, operation = (target or "").partition(".")
    if prefix != model.metadata["targetPrefix"] or operation not in model.operation_names:
        raise UnknownOperationException(
            f"{target!r} is not an operation of {service}"
            if target
            else "The request has no X-Amz-Target header naming an operation"
        )
    return operation


def check_request(service: str, operation: str, params: dict) -> None:
    """Reject a request that does not fit the operation's input shape, as AWS would.

    botocore checks this on the client side, but the aws CLI with --cli-input-json,
    raw HTTP and other SDKs reach the server too.
    """
    input_shape = service_model(service).operation_model(operation).input_shape
    if input_shape is None:
        return
    _check_numbers(params, input_shape)
    report = ParamValidator().validate(_decode_blobs(params, input_shape), input_shape)
    if report.has_errors():
        raise ValidationException("Parameter validation failed:\n" + report.generate_report())
    if service in CONSTRAINT_ERRORS:
        found = constraints.violations(params, input_shape, _checked_patterns(service, operation))
        if found:
            raise error_classes(service)[CONSTRAINT_ERRORS[service]](constraints.report(found))


# What a JSON number may hold for each numeric shape type (AWS reads them as Java types).
INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
NUMBER_TYPES = ("integer", "long", "double", "float")
# Timestamps travel as epoch seconds; these are datetime's first and last seconds.
TIMESTAMP_RANGE = (-62135596800, 253402300799)


def _check_numbers(value: Any, shape, path: str = "") -> None:
    """SerializationException for a number AWS could not read into its type: an integer
    beyond int32/int64, a double beyond a float, a timestamp that is not epoch seconds
    within datetime's years (botocore's validator crashes on 2**64)."""
    if value is None or shape is None:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            _check_numbers(value.get(name), member, f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(item, shape.member, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, shape.value, f"{path}.{key}")
    elif kind in NUMBER_TYPES and isinstance(value, bool):
        raise SerializationException(f"{value!r} at '{path}' is not a number")
    elif kind in INTEGER_RANGES and _is_number(value):
        low, high = INTEGER_RANGES[kind]
        if not (isinstance(value, int) and low <= value <= high):
            raise SerializationException(
                f"{value!r} at '{path}' is not a {kind} between {low} and {high}"
            )
    elif kind in ("double", "float") and _is_number(value):
        if not (abs(value) <= 1.7976931348623157e308 and not math.isnan(value)):
            raise SerializationException(f"{value!r} at '{path}' is not a finite number")
    elif kind == "timestamp":
        low, high = TIMESTAMP_RANGE
        if not (_is_number(value) and low <= value <= high):
            raise SerializationException(
                f"{value!r} at '{path}' is not a timestamp in epoch seconds "
                f"between {low} and {high}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# How each service names a request that breaks the model's lengths, enums or patterns.
# CodeCommit and CodeDeploy answer with an error per member (InvalidRepositoryName...,
# InvalidApplicationName...), which their handlers raise themselves.
CONSTRAINT_ERRORS = {"codepipeline": "ValidationException", "codebuild": "InvalidInputException"}

# CodePipeline's not-found errors cover ids and names "specified in an invalid format",
# so only these patterns are checked up front, plus the names a pipeline declares where
# it declares them (UpdatePipeline looks the pipeline up by its name first).
PIPELINE_PATTERNS = frozenset(
    {
        "DisabledReason",
        "ClientRequestToken",
        "EnvironmentVariableName",
        "PipelineVariableName",
        "OutputVariablesKey",
        "AccountId",
        "AllowedAccount",
        "RoleArn",
        "ArtifactStoreLocation",
        "ArtifactName",
        "ActionNamespace",
    }
)
DECLARED_NAMES = {
    "CreatePipeline": {"PipelineName", "StageName", "ActionName"},
    "UpdatePipeline": {"StageName", "ActionName"},
}


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


class LabHandlers:
    """What a handlers mixin uses of moto's BaseResponse.

    The methods of a handlers class run as methods of moto's response class (install_handlers
    copies them there), so `self` is a BaseResponse; this base declares the attributes they
    read so that mypy checks them. Annotations only: install_handlers copies what the handlers
    class itself defines (vars()), never anything of this base.
    """

    current_account: str  # set by BaseResponse.setup_class
    region: str
    headers: Any  # werkzeug Headers over HTTP, a dict under mock_aws
    body: Any  # str, or bytes for raw bodies
    querystring: dict[str, list[Any]]
    lab_params: dict | None  # the decoded JSON request, set by the dispatch guard


Settle = Callable[[Any], Any]


def install_handlers(
    service: str,
    response_class: type[BaseResponse],
    handlers_class: type[LabHandlers],
    settle: Settle | None = None,
) -> None:
    """Copy the operations of handlers_class onto moto's response class for service.

    Each operation method takes the decoded JSON request (a dict) and returns the reply
    as a dict. The request is checked against the botocore input shape first; an
    unexpected exception becomes an InternalFailure reply (logged) instead of a crash.

    settle(handler), given, runs after each successful operation in synchronous mode
    (workers.synchronous(): tests), so the work an operation started has ended when its
    reply is sent; domain code then never asks which mode it runs in.
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
        setattr(response_class, name, _as_moto_method(service, by_snake[name], function, settle))
    # What neither the kit nor moto serves answers a clear error, not moto's HTTP 500.
    for name, operation in by_snake.items():
        if not callable(getattr(response_class, name, None)):
            setattr(response_class, name, _not_served(service, operation))
    _guard_dispatch(service, response_class)


def _guard_dispatch(service: str, response_class: type[BaseResponse]) -> None:
    """Check every request of service before moto reads it: the operation (only the model's,
    named by X-Amz-Target; moto would also take an Action from the query string or a form
    body) and the body against the input shape. moto's own parser (CodeDeploy's) and
    operations moto serves would otherwise meet unchecked JSON and answer HTTP 500."""
    if getattr(response_class._dispatch, "lab_guarded", False):
        return
    moto_dispatch = response_class._dispatch

    @functools.wraps(moto_dispatch)
    def _dispatch(self, request, full_url=None, headers=None):
        operation = operation_of(service, request.headers.get("X-Amz-Target"))
        self.lab_params = read_params(request.data)
        check_request(service, operation, self.lab_params)
        return moto_dispatch(self, request, full_url, headers)

    def _get_action(self) -> str:
        return operation_of(service, self.headers.get("X-Amz-Target"))

    # A mark on the wrapper (functools.wraps types it without room for one) and moto's methods
    # replaced on its class: monkeypatching moto, which mypy's types do not foresee.
    _dispatch.lab_guarded = True  # type: ignore[attr-defined]
    response_class._dispatch = _dispatch  # type: ignore[method-assign]
    response_class._get_action = _get_action  # type: ignore[method-assign]


class NotImplementedByLabKit(AwsError):
    code = 501


def _not_served(service: str, operation: str) -> Callable:
    def method(self) -> str:
        raise NotImplementedByLabKit(
            f"The lab kit's local {service} does not serve {operation}; "
            "run this step against a real account (LAB_MODE=aws). "
            "See docs/troubleshooting.md#not-implemented-by-lab-kit"
        )

    method.__name__ = _snake(operation)
    # The mark tests read to list what the kit does not serve (see tests/test_codecommit_git.py).
    method.lab_not_served = True  # type: ignore[attr-defined]
    return method


def _as_moto_method(
    service: str, operation: str, function: Callable, settle: Settle | None = None
) -> Callable:
    @functools.wraps(function)
    def method(self) -> str:
        params = getattr(self, "lab_params", None)
        if params is None:  # called without moto's dispatch (the guard checks there)
            params = read_params(self.body)
            check_request(service, operation, params)
        try:
            reply = function(self, params)
        except AwsError:
            raise
        except RecursionError:
            raise SerializationException("The request is nested too deeply") from None
        except (UnicodeError, OverflowError) as error:
            # Text or a number the request carries that nothing can store: the caller's.
            raise SerializationException(f"The request cannot be read: {error}") from None
        except Exception as error:  # a bug in the kit: report it, keep serving
            log.error("%s.%s failed:\n%s", service, operation, traceback.format_exc())
            raise InternalFailure(f"The lab kit's {operation} failed: {error!r}") from None
        if settle is not None and workers.synchronous():
            settle(self)
        return json.dumps(reply or {}, default=_json_default)

    method.__name__ = _snake(operation)
    return method


class SerializationException(AwsError):
    pass


class UnknownOperationException(AwsError):
    pass


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if (
            char.isupper()
            and index
            and (
                not name[index - 1].isupper()
                or (index + 1 < len(name) and name[index + 1].islower())
            )
        ):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def account_region(handler: LabHandlers) -> tuple[str, str]:
    """The account and region a moto response object is serving."""
    return handler.current_account, handler.region


def paginate(
    items: list,
    params: dict,
    token_key: str = "nextToken",
    size_key: str = "maxResults",
    default_size: int = 100,
) -> tuple[list, str | None]:
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
    page = items[start : start + size]
    end = start + size
    next_token = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
    return page, next_token


class InvalidNextTokenError(Exception):
    """Raised by paginate; each service turns it into its own error name (see pager)."""


Page = Callable[..., "tuple[list, str | None]"]


def pager(error: Callable[[str], Exception], message: str) -> Page:
    """paginate as one service answers: a token it did not issue raises error(message).
    The returned function takes paginate's arguments."""

    def page(items: list, params: dict, **options: Any) -> tuple[list, str | None]:
        try:
            return paginate(items, params, **options)
        except InvalidNextTokenError:
            raise error(message) from None

    return page


def with_token(reply: dict, token: str | None, key: str = "nextToken") -> dict:
    """reply with the next page's token, when there is one (AWS leaves it out on the last)."""
    if token:
        reply[key] = token
    return reply


def compact(values: dict, drop: Any = None) -> dict:
    """values without the members equal to drop: AWS leaves unset members out of its
    replies (None, the default)."""
    return {key: value for key, value in values.items() if value != drop}


def error_classes(service: str) -> dict[str, type[AwsError]]:
    """One AwsError subclass per error shape of the service's botocore model.

    Names and HTTP status codes come from the model, so they cannot drift from AWS's.
    Every call returns the same classes, so `except exceptions.X` catches core's raises.
    """
    return dict(_model_error_classes(service))


@functools.cache
def _model_error_classes(service: str) -> dict[str, type[AwsError]]:
    model = service_model(service)
    classes: dict[str, type[AwsError]] = {}
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        if not shape.metadata.get("exception"):
            continue
        status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
        classes[shape_name] = type(shape_name, (AwsError,), {"code": status})
    return classes
