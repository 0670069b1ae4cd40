"""Invoke, as Lambda answers it, over moto's Lambda (which keeps everything else).

moto serves CreateFunction, GetFunction, versions, aliases, permissions and the rest; the
kit replaces only how an invocation runs (moto_backends.run_lambda_invocations_with):
RequestResponse runs the function and waits, Event runs it in the background (HTTP 202),
DryRun checks that it could run (HTTP 204). Lambda is a REST-JSON service, so it is not
installed through core.install_handlers (whose operations are JSON-protocol targets).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .. import core, moto_backends, processes, workers
from . import runtime

_errors = core.error_classes("lambda")


def _header(headers: Any, name: str) -> str | None:
    """A request header whatever the carrier (werkzeug Headers, a dict under mock_aws)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return None if value is None else str(value)


def _endpoint_url(headers: Any) -> str | None:
    """The local server's address when the call came over HTTP to it (not under mock_aws)."""
    host = _header(headers, "Host") or ""
    if not host or host.endswith("amazonaws.com"):
        return None
    return f"http://{host}"


def _event_text(body: Any) -> str:
    """The payload as JSON text; InvalidRequestContentException as Lambda answers."""
    if body is None:
        return "{}"
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _errors["InvalidRequestContentException"](
                "Could not parse request body into json: the payload is not UTF-8"
            ) from None
    if not body:
        return "{}"
    try:
        if body.lstrip().startswith("{"):
            core.read_params(body)  # depth, NaN, lone surrogates: as the kit reads JSON
        else:
            json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise _errors["InvalidRequestContentException"](
            "Could not parse request body into json: the payload is nested too deeply"
        ) from None
    except (ValueError, core.SerializationException) as error:
        raise _errors["InvalidRequestContentException"](
            f"Could not parse request body into json: Could not parse payload into json: {error}"
        ) from None
    return str(body)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _client_context(headers: Any) -> dict | None:
    text = _header(headers, "X-Amz-Client-Context")
    if not text:
        return None
    try:
        value = json.loads(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        raise _errors["InvalidRequestContentException"](
            "Client context must be a base64-encoded JSON object"
        ) from None
    return value if isinstance(value, dict) else None


def _refused(refusal: runtime.InvocationRefused) -> Exception:
    if refusal.kind == "NotImplementedByLabKit":
        return core.NotImplementedByLabKit(refusal.message)
    return _errors[refusal.kind](refusal.message)


def invoke_for_moto(
    function: moto_backends.LambdaFunction,
    invoked_arn: str,
    body: Any,
    headers: Any,
    reply: dict,
) -> bytes:
    """One invocation of moto's Lambda: the reply payload; the headers go into reply."""
    kind = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if kind not in ("RequestResponse", "Event", "DryRun"):
        raise _errors["InvalidParameterValueException"](
            f"Invalid invocation type {kind!r}: use RequestResponse, Event or DryRun"
        )
    event = _event_text(body)
    client_context = _client_context(headers)
    endpoint = _endpoint_url(headers)
    try:
        runtime.check_runnable(function)
        runtime.code_folder(function)
    except runtime.InvocationRefused as refusal:
        raise _refused(refusal) from None
    reply["x-amz-executed-version"] = function.version
    if kind == "DryRun":
        return b""
    if kind == "Event":

        def run_in_background() -> None:
            runtime.invoke(
                function,
                event,
                invoked_arn=invoked_arn,
                endpoint_url=endpoint,
                client_context=client_context,
            )

        workers.start(f"lambda-{function.name}", run_in_background)
        return b""
    try:
        done = runtime.invoke(
            function,
            event,
            invoked_arn=invoked_arn,
            endpoint_url=endpoint,
            client_context=client_context,
        )
    except runtime.InvocationRefused as refusal:
        raise _refused(refusal) from None
    except processes.ServerStopping:
        raise _errors["ServiceException"]("The local AWS is stopping") from None
    if done.function_error:
        reply["x-amz-function-error"] = done.function_error
    reply["x-amz-log-result"] = done.log_result
    return done.payload


def check_invoke_request(name: str, qualifier: str | None, body: Any) -> None:
    """An Invoke request as the model constrains it, before moto reads any of it."""
    members = core.service_model("lambda").operation_model("Invoke").input_shape.members
    for member, value in (("FunctionName", name), ("Qualifier", qualifier)):
        if value is None:
            continue
        limits = members[member].metadata
        if not (
            limits["min"] <= len(value) <= limits["max"] and re.fullmatch(limits["pattern"], value)
        ):
            raise core.ValidationException(
                f"1 validation error detected: Value '{value}' at '{member[0].lower()}"
                f"{member[1:]}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {limits['pattern']}"
            )
    _event_text(body)


def install() -> None:
    moto_backends.run_lambda_invocations_with(invoke_for_moto, check_invoke_request)
