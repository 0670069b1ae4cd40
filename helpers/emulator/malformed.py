"""Bounds on what a request may cost the local server, and malformed calls refused early.

Three layers, outermost first:

1. **BoundedWSGIServer** (the socket server): each connection has a read timeout, so a
   client that stalls mid-request cannot hold its thread for ever, and at most
   MAX_CONNECTIONS connections are served at once; one more is answered 503 (which SDKs
   retry) instead of getting a thread.
2. **bounded(app)** (WSGI, before authentication): reads the whole body once, up to a cap
   (16 MiB for JSON APIs, more for S3 objects and git pushes), into memory, so whatever
   runs after it (signature hashing, moto) reads a buffer, never the socket. Too large:
   413; shorter than its Content-Length or stalled: 400 or 408. Answers are in the
   caller's protocol (JSON, query XML or S3 XML).
3. **reject_malformed(app)** (WSGI, after authentication, before moto): a call to one of
   the kit's four JSON services (by its X-Amz-Target or the service it is signed for) must
   be POST / naming an operation of the service's model and carry a JSON object; anything
   else is refused (UnknownOperationException, SerializationException) before moto's
   routing or parsers see it. The same checks run again inside moto's
   dispatch (core._guard_dispatch), with the check of the body against the input shape.
"""

from __future__ import annotations

import functools
import io
import json
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer

from .core import AwsError, UnknownOperationException, operation_of, read_params, service_model

MiB = 1024 * 1024
MAX_JSON_BODY = 16 * MiB  # far above any request of the four JSON APIs
MAX_OTHER_BODY = 256 * MiB  # S3 PutObject / UploadPart, git push: artifacts, bundles
READ_TIMEOUT_SECONDS = 30.0  # one read of a request (or the wait for the next) stalls at most
MAX_CONNECTIONS = 64  # served at once; each holds a thread
_READ_CHUNK = 1 * MiB

# The kit's JSON services by their X-Amz-Target prefix (CodeCommit_20150413, ...).
KIT_SERVICES = ("codepipeline", "codebuild", "codedeploy", "codecommit")
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,\s&]+/[^/,\s&]*/[^/,\s&]*/([^/,\s&]+)/")

# (HTTP status, JSON __type, XML Code) for each way a request can be refused here.
REFUSALS = {
    "too_large": (413, "RequestEntityTooLargeException", "EntityTooLarge"),
    "bad_length": (400, "SerializationException", "InvalidArgument"),
    "incomplete": (400, "SerializationException", "IncompleteBody"),
    "timeout": (408, "RequestTimeoutException", "RequestTimeout"),
    "busy": (503, "ThrottlingException", "SlowDown"),
}
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


class TooLarge(Exception):
    """The body is larger than the server takes."""


# -- bounded(): the body, read once and capped ----------------------------------------


def bounded(app: Callable) -> Callable:
    """WSGI middleware: buffer the body (capped) so no later layer reads the socket."""

    def bounded_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        limit = body_limit(environ)
        try:
            body = read_capped(environ, limit)
        except TooLarge:
            return refuse(
                environ,
                start_response,
                "too_large",
                f"The request body is larger than this server takes ({limit // MiB} MiB).",
            )
        except ValueError as error:
            return refuse(environ, start_response, "bad_length", str(error))
        except TimeoutError:
            return refuse(
                environ,
                start_response,
                "timeout",
                "The request body was not sent within the server's read timeout.",
            )
        except (EOFError, OSError):  # closed early, or chunks that do not parse
            return refuse(
                environ,
                start_response,
                "incomplete",
                "The request body is "
                "not all there: shorter than its Content-Length, or bad chunks.",
            )
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is no longer chunked
        environ["wsgi.input_terminated"] = True
        return app(environ, start_response)

    return bounded_app


def body_limit(environ: dict) -> int:
    return MAX_JSON_BODY if _protocol(environ) == "json" else MAX_OTHER_BODY


def read_capped(environ: dict, limit: int) -> bytes:
    """The whole body, at most limit bytes (TooLarge beyond). ValueError for a bad
    Content-Length, EOFError when the client closes before sending all it announced."""
    stream = environ.get("wsgi.input")
    declared = environ.get("CONTENT_LENGTH", "").strip()
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if stream is None or (not declared and not chunked):
        return b""  # HTTP/1.1: no length and not chunked means no body
    if chunked:
        return _read_until_end(stream, limit)
    if not (declared.isascii() and declared.isdigit()):
        raise ValueError(f"Content-Length {declared!r} is not a number of bytes.")
    length = int(declared)
    if length > limit:
        raise TooLarge
    return _read_exactly(stream, length)


def _read_exactly(stream, length: int) -> bytes:
    parts, missing = [], length
    while missing:
        part = stream.read(min(missing, _READ_CHUNK))
        if not part:
            raise EOFError
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _read_until_end(stream, limit: int) -> bytes:
    parts, total = [], 0
    while part := stream.read(_READ_CHUNK):
        total += len(part)
        if total > limit:
            raise TooLarge
        parts.append(part)
    return b"".join(parts)


# -- reject_malformed(): calls to the kit's JSON services -----------------------------


def reject_malformed(app: Callable) -> Callable:
    """WSGI middleware: refuse a malformed call to one of the four services before moto."""

    def checked_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        service = kit_service(environ.get("HTTP_X_AMZ_TARGET")) or _signed_kit_service(environ)
        if service is None:
            if _credential_service(environ) == "lambda" and not _utf8_body(environ):
                # moto's REST parsing decodes every Lambda body as UTF-8 and fails (HTTP 500).
                return _reply(
                    start_response,
                    400,
                    "json",
                    "InvalidRequestContentException",
                    "Could not parse request body into json: the body is not UTF-8",
                )
            return app(environ, start_response)
        try:
            check_call(service, environ)
        except AwsError as error:
            return _reply(start_response, error.code, "json", type(error).__name__, error.message)
        return app(environ, start_response)

    return checked_app


def kit_service(target: str | None) -> str | None:
    """Which of the kit's services an X-Amz-Target prefix names (None: not one of them)."""
    prefix = (target or "").partition(".")[0]
    return _target_prefixes().get(prefix)


@functools.cache
def _target_prefixes() -> dict[str, str]:
    return {service_model(name).metadata["targetPrefix"]: name for name in KIT_SERVICES}


class InvalidSignatureException(AwsError):
    code = 403


def check_call(service: str, environ: dict) -> None:
    """Operation, signing scope, method and body of a call to service (AwsError if wrong)."""
    operation_of(service, environ.get("HTTP_X_AMZ_TARGET"))
    signed_for = _credential_service(environ)
    signing_name = service_model(service).signing_name
    if signed_for is not None and signed_for != signing_name:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{signing_name}'."
        )
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/":
        raise UnknownOperationException(f"{service} answers POST / only.")
    length = int(environ.get("CONTENT_LENGTH") or 0)  # bounded() has set it right
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    read_params(body)


def _utf8_body(environ: dict) -> bool:
    """The body is UTF-8 text (read, and put back for the app)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)  # bounded() has set it right
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _signed_kit_service(environ: dict) -> str | None:
    """One of the four services, when the call is signed for it (its target may be absent:
    moto would then route it by path, e.g. to CodeDeploy's REST-style paths, and fail)."""
    signed_for = _credential_service(environ)
    return signed_for if signed_for in KIT_SERVICES else None


def _credential_service(environ: dict) -> str | None:
    scope = environ.get("HTTP_AUTHORIZATION", "") + " " + environ.get("QUERY_STRING", "")
    match = _CREDENTIAL_SERVICE.search(scope.replace("%2F", "/").replace("%2f", "/"))
    return match.group(1) if match else None


# -- the socket server ----------------------------------------------------------------


# What socketserver hands a server: a connection (TCP, this server's case) or, for UDP,
# a datagram and its socket.
SocketRequest = socket.socket | tuple[bytes, socket.socket]


class BoundedWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server with a read timeout per connection and a connection cap."""

    def __init__(
        self,
        host: str,
        port: int,
        app: Callable,
        handler: type,
        read_timeout: float | None = None,
        max_connections: int | None = None,
    ):
        super().__init__(host, port, app, handler)
        self.read_timeout = READ_TIMEOUT_SECONDS if read_timeout is None else read_timeout
        self.max_connections = MAX_CONNECTIONS if max_connections is None else max_connections
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: SocketRequest, client_address: Any) -> None:
        assert isinstance(request, socket.socket)  # TCP: each request is a connection
        if not self._slots.acquire(blocking=False):
            _refuse_connection(request, self.max_connections)
            self.shutdown_request(request)
            return
        request.settimeout(self.read_timeout)  # handlers keep it (their own timeout is None)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: SocketRequest, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _refuse_connection(connection: socket.socket, cap: int) -> None:
    """503 on a connection past the cap, without reading it (it gets no thread)."""
    status, code, _ = REFUSALS["busy"]
    body = json.dumps(
        {
            "__type": code,
            "message": f"The local AWS is serving {cap} connections already; try again.",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        connection.settimeout(1.0)
        connection.sendall(head + body)
    except OSError:
        pass  # the client went away: nothing to tell it


# -- replies --------------------------------------------------------------------------


def refuse(environ: dict, start_response: Callable, kind: str, message: str) -> list[bytes]:
    """Answer a refusal of kind in the caller's protocol. (werkzeug closes every
    connection after its reply, so an unread body is never taken for the next request.)"""
    status, json_code, xml_code = REFUSALS[kind]
    protocol = _protocol(environ)
    return _reply(
        start_response, status, protocol, json_code if protocol == "json" else xml_code, message
    )


def _protocol(environ: dict) -> str:
    """How the caller reads errors: 'json', 'query' (XML) or 's3' (XML)."""
    content_type = environ.get("CONTENT_TYPE", "")
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
        return "json"
    if content_type.startswith("application/x-www-form-urlencoded"):
        return "query"
    return "s3"


def _reply(
    start_response: Callable, status: int, protocol: str, code: str, message: str
) -> list[bytes]:
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    else:
        error = f"<Code>{code}</Code><Message>{_xml(message)}</Message>"
        if protocol == "query":
            error = f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
            end = f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        else:
            error, end = f"<Error>{error}", f"<RequestId>{request_id}</RequestId></Error>"
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n{error}{end}'.encode()
        headers = [("Content-Type", "application/xml")]
    headers += [("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)]
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
