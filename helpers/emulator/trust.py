"""The local server obeys only its learner: loopback names, no foreign web page, signed calls.

The server runs what buildspecs and appspec hooks say, so whoever can talk to it can run
commands as the learner. Every request passes these checks before anything runs:

1. **Host** must be a loopback name or address (or the --host the server was given):
   a web page that rebinds its own DNS name to 127.0.0.1 still sends its own name.
2. **Origin** (or, without it, **Referer**) must be absent or a loopback origin: a page
   on another origin is refused, signed or not, and no reply grants it CORS access.
3. **Signature.** An AWS API call must be signed with SigV4 (Authorization header or
   presigned query) by credentials the server knows (identities.py): recomputed here from
   the request as received, the secret never travelling. A refused call changes nothing.
   The kit's own routes (git, webhooks) are not API calls: each authenticates as AWS does
   for it (git: the CodeCommit credential helper's signature; webhooks: their secret or
   IP range) and says so in its docstring.
4. **moto's own endpoints** (/moto-api/: dashboard, state, reset) are off unless the server
   was started with them on, and then need a signature too.

Refusals use the error AWS gives, in the caller's protocol (JSON, query XML, S3 XML).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import io
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.auth import HmacV1Auth
from botocore.utils import normalize_url_path

from . import identities, routes

HEALTH_PATH = "/_lab/health"
MOTO_API_PREFIX = "/moto-api"
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)  # AWS refuses signatures older or newer than this
ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH_PART = re.compile(r"(?<!\w)(\w+)=([^,\s]*)")  # the lookbehind keeps it linear
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class Refused(Exception):
    """A request the server will not serve: an AWS error kind and a message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# The error AWS answers for each kind of refusal, per protocol: (HTTP status, code).
ERRORS = {
    "missing": {
        "json": (403, "MissingAuthenticationTokenException"),
        "query": (403, "MissingAuthenticationToken"),
        "s3": (403, "AccessDenied"),
    },
    "incomplete": {
        "json": (400, "IncompleteSignatureException"),
        "query": (400, "IncompleteSignature"),
        "s3": (400, "AuthorizationHeaderMalformed"),
    },
    "unknown_key": {
        "json": (403, "UnrecognizedClientException"),
        "query": (403, "InvalidClientTokenId"),
        "s3": (403, "InvalidAccessKeyId"),
    },
    "bad_token": {
        "json": (403, "UnrecognizedClientException"),
        "query": (403, "InvalidClientTokenId"),
        "s3": (400, "InvalidToken"),
    },
    "expired_token": {
        "json": (400, "ExpiredTokenException"),
        "query": (400, "ExpiredToken"),
        "s3": (400, "ExpiredToken"),
    },
    "signature": {
        "json": (403, "InvalidSignatureException"),
        "query": (403, "SignatureDoesNotMatch"),
        "s3": (403, "SignatureDoesNotMatch"),
    },
    "skewed": {
        "json": (403, "InvalidSignatureException"),
        "query": (400, "RequestExpired"),
        "s3": (403, "RequestTimeTooSkewed"),
    },
    "presign_expired": {
        "json": (403, "InvalidSignatureException"),
        "query": (400, "RequestExpired"),
        "s3": (403, "AccessDenied"),
    },
    "payload": {
        "json": (400, "InvalidSignatureException"),
        "query": (400, "SignatureDoesNotMatch"),
        "s3": (400, "XAmzContentSHA256Mismatch"),
    },
    "forbidden": {
        "json": (403, "AccessDeniedException"),
        "query": (403, "AccessDenied"),
        "s3": (403, "AccessDenied"),
    },
    "account": {
        "json": (400, "ValidationException"),
        "query": (400, "ValidationError"),
        "s3": (400, "InvalidArgument"),
    },
    "off": {"json": (404, "NotFound"), "query": (404, "NotFound"), "s3": (404, "NotFound")},
}


@dataclass(frozen=True)
class Signed:
    """What a valid signature says: who signed, and the scope they signed for."""

    identity: identities.Identity
    region: str
    service: str


class TrustedOnly:
    """WSGI middleware: refuse whatever is not the learner's own request (module docstring)."""

    def __init__(
        self, app: Callable, extra_hosts: Iterable[str] = (), moto_api: bool = False
    ) -> None:
        self.app = app
        self.extra_hosts = {host.lower() for host in extra_hosts if host}
        self.moto_api = moto_api

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        try:
            check_host(environ.get("HTTP_HOST", ""), self.extra_hosts)
            check_origin(origin, environ.get("HTTP_REFERER"))
            if _is_preflight(environ):
                return _grant_preflight(environ, start_response)
            self._authenticate(environ)
        except Refused as refusal:
            return error_reply(environ, start_response, refusal)
        return self.app(environ, _cors_for(origin, start_response))

    def _authenticate(self, environ: dict) -> None:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH or routes.find(path) is not None:
            return  # the health probe says nothing; kit routes authenticate themselves
        if path.startswith(MOTO_API_PREFIX) and not self.moto_api:
            raise Refused(
                "off",
                "moto's own endpoints are off on this server; start it "
                "with --moto-api to use them (they then need a signature too).",
            )
        check_account_header(environ.get("HTTP_X_MOTO_ACCOUNT_ID"))
        environ["lab.signed"] = verify(environ, read_body(environ))


# -- Host and Origin ------------------------------------------------------------------


def is_loopback_host(hostname: str) -> bool:
    name = hostname.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host(host_header: str, extra_hosts: AbstractSet[str] = frozenset()) -> None:
    hostname = host_name(host_header)
    if not hostname:
        raise Refused("forbidden", "A Host header is required.")
    if not (is_loopback_host(hostname) or hostname.lower() in extra_hosts):
        raise Refused(
            "forbidden",
            f"Host {hostname!r} is not this machine: the local AWS "
            "answers only loopback names (localhost, 127.0.0.1, [::1]).",
        )


def check_origin(origin: str | None, referer: str | None) -> None:
    """Browsers send Origin (or at least Referer) on cross-site requests; SDKs send neither."""
    given = origin if origin is not None else referer
    if given is None:
        return
    parts = urlsplit(given.strip())
    if parts.scheme in ("http", "https") and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise Refused(
        "forbidden",
        f"Requests from the web page {given!r} are refused: the local "
        "AWS obeys only programs on this machine, not web pages.",
    )


def host_name(host_header: str) -> str:
    host = host_header.strip()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_preflight(environ: dict) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


def _grant_preflight(environ: dict, start_response: Callable) -> list[bytes]:
    """A loopback page (JupyterLab) may ask; it still has to sign what it then sends."""
    headers = [("Content-Length", "0"), ("Vary", "Origin")]
    origin = environ.get("HTTP_ORIGIN")
    if origin:
        headers += [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD"),
            (
                "Access-Control-Allow-Headers",
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
            ),
        ]
    start_response("200 OK", headers)
    return [b""]


def _cors_for(origin: str | None, start_response: Callable) -> Callable:
    """moto grants CORS to any origin; only a loopback origin (checked above) keeps it."""

    def respond(status, headers, exc_info=None):
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        if origin:
            kept += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return start_response(status, kept, exc_info)

    return respond


def check_account_header(value: str | None) -> None:
    """moto's x-moto-account-id picks the account; only a 12-digit id is an account id."""
    if value is not None and not _ACCOUNT_ID.match(value):
        raise Refused("account", "x-moto-account-id must be a 12-digit account id.")


# -- SigV4 ----------------------------------------------------------------------------


def read_body(environ: dict) -> bytes:
    """The request body, read once and put back for the application to read again."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def verify(environ: dict, body: bytes, now: dt.datetime | None = None) -> Signed:
    """Check the request's SigV4 signature; Refused says why it is not valid."""
    now = now or dt.datetime.now(dt.timezone.utc)
    query = environ.get("QUERY_STRING", "")
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization is not None and authorization.startswith("AWS "):
        return verify_s3_v2(environ, authorization, now)
    if authorization is not None:
        claim = _header_claim(authorization, environ)
    elif "X-Amz-Signature=" in query or "X-Amz-Credential=" in query:
        claim = _query_claim(query, now)
    elif "AWSAccessKeyId=" in query:
        return verify_s3_v2(environ, None, now)
    else:
        raise Refused(
            "missing",
            "Missing Authentication Token: the local AWS accepts only "
            "requests signed with your credentials (boto3 and the aws CLI sign).",
        )
    _check_time(claim["date"], claim["scope"][0], now, claim["presigned"])
    identity = identity_of(claim["access_key"], claim["token"], now)
    payload = _payload_hash(environ, body, claim)
    canonical = canonical_request(
        environ,
        claim["signed_headers"],
        payload,
        s3=claim["scope"][2] == "s3",
        drop_signature=claim["presigned"],
    )
    scope = "/".join(claim["scope"])
    expected = signature(identity.secret_key, claim["date"], scope, canonical)
    if not hmac.compare_digest(expected, claim["signature"]):
        raise Refused(
            "signature",
            "The request signature we calculated does not match the "
            "signature you provided. Check your AWS Secret Access Key and signing "
            "method.",
        )
    return Signed(identity, claim["scope"][1], claim["scope"][2])


def _header_claim(authorization: str, environ: dict) -> dict:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise Refused(
            "incomplete",
            f"Authorization header requires {ALGORITHM} signatures (Signature Version 4).",
        )
    parts = dict(_AUTH_PART.findall(rest))
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise Refused(
            "incomplete",
            "Authorization header requires "
            + ", ".join(f"'{name}'" for name in missing)
            + " parameter(s).",
        )
    date = environ.get("HTTP_X_AMZ_DATE") or ""
    if not date:
        raise Refused(
            "incomplete",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    return {
        "presigned": False,
        "date": date,
        "signature": parts["Signature"],
        "signed_headers": _signed_headers(parts["SignedHeaders"]),
        "token": environ.get("HTTP_X_AMZ_SECURITY_TOKEN"),
        **_credential(parts["Credential"]),
    }


def _query_claim(query: str, now: dt.datetime) -> dict:
    params = dict(parse_qsl(query, keep_blank_values=True))
    needed = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    )
    missing = [name for name in needed if not params.get(name)]
    if missing:
        raise Refused(
            "incomplete", "Query-string authentication requires " + ", ".join(missing) + "."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise Refused("incomplete", f"X-Amz-Algorithm must be {ALGORITHM}.")
    try:
        expires = int(params.get("X-Amz-Expires", "604800"))
        signed_at = dt.datetime.strptime(params["X-Amz-Date"], _AMZ_DATE).replace(
            tzinfo=dt.timezone.utc
        )
    except ValueError:
        raise Refused("incomplete", "X-Amz-Date or X-Amz-Expires is not valid.") from None
    if not 0 < expires <= 604800:
        raise Refused("incomplete", "X-Amz-Expires must be between 1 and 604800 seconds.")
    if now > signed_at + dt.timedelta(seconds=expires):
        raise Refused("presign_expired", "Request has expired.")
    return {
        "presigned": True,
        "date": params["X-Amz-Date"],
        "signature": params["X-Amz-Signature"],
        "signed_headers": _signed_headers(params["X-Amz-SignedHeaders"]),
        "token": params.get("X-Amz-Security-Token"),
        **_credential(params["X-Amz-Credential"]),
    }


def _credential(value: str) -> dict:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise Refused(
            "incomplete",
            f"Credential {value!r} is not <access key>/<date>/<region>/<service>/aws4_request.",
        )
    return {"access_key": parts[0], "scope": tuple(parts[1:])}


def _signed_headers(value: str) -> list[str]:
    names = value.lower().split(";")
    if "host" not in names or any(not name for name in names):
        raise Refused("incomplete", "SignedHeaders must list the host header.")
    return names


def _check_time(date: str, scope_date: str, now: dt.datetime, presigned: bool) -> None:
    try:
        signed_at = dt.datetime.strptime(date, _AMZ_DATE).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise Refused(
            "incomplete", f"X-Amz-Date {date!r} is not in the form YYYYMMDDTHHMMSSZ."
        ) from None
    if scope_date != date[:8]:
        raise Refused("signature", "The credential's date does not match X-Amz-Date.")
    if not presigned and abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise Refused(
            "skewed",
            f"Signature expired: {date} is now earlier or later than "
            "15 minutes from the server's time. Check your machine's clock.",
        )


def identity_of(access_key: str, token: str | None, now: dt.datetime) -> identities.Identity:
    """The identity behind access_key, its session token checked (git_http uses it too)."""
    try:
        identity = identities.lookup(access_key)
    except identities.Unknown:
        raise Refused(
            "unknown_key",
            "The security token included in the request is invalid: "
            "this local AWS has no access key with that id.",
        ) from None
    if identity.session_token is not None or token is not None:
        if (
            token is None
            or identity.session_token is None
            or not hmac.compare_digest(token, identity.session_token)
        ):
            raise Refused("bad_token", "The security token included in the request is invalid.")
        if identity.expired(now):
            raise Refused("expired_token", "The security token included in the request is expired.")
    return identity


def _payload_hash(environ: dict, body: bytes, claim: dict) -> str:
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared:
        if re.fullmatch(r"[0-9a-f]{64}", declared) and declared != hashlib.sha256(body).hexdigest():
            raise Refused(
                "payload",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        return declared
    if claim["presigned"] and claim["scope"][2] == "s3":
        return "UNSIGNED-PAYLOAD"
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    environ: dict,
    signed_headers: list[str],
    payload_hash: str,
    s3: bool = False,
    drop_signature: bool = False,
) -> str:
    """SigV4's canonical request, built as botocore builds it when it signs."""
    raw_path = (
        environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
    ).split("?", 1)[0]
    if "://" in raw_path:  # an absolute request-target
        raw_path = urlsplit(raw_path).path
    path = raw_path if s3 else quote(normalize_url_path(raw_path), safe="/~")
    pairs = []
    for pair in environ.get("QUERY_STRING", "").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if drop_signature and key == "X-Amz-Signature":
            continue
        pairs.append((key, value))
    query = "&".join(f"{key}={value}" for key, value in sorted(pairs))
    headers = "".join(f"{name}:{_header_value(environ, name)}\n" for name in signed_headers)
    return "\n".join(
        [
            environ.get("REQUEST_METHOD", "GET"),
            path or "/",
            query,
            headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def _header_value(environ: dict, name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE", "")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH", "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(value.split())


def signature(secret: str, date: str, scope: str, canonical: str) -> str:
    string_to_sign = "\n".join(
        [ALGORITHM, date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    day, region, service, _ = scope.split("/")
    key = _signing_key(secret, day, region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


# -- S3's legacy signature (boto3 still presigns S3 URLs with it by default) ------------

_V2_AUTH_PARAMS = {"AWSAccessKeyId", "Signature", "Expires"}


def verify_s3_v2(environ: dict, authorization: str | None, now: dt.datetime) -> Signed:
    """S3 Signature Version 2: header `AWS key:signature`, or a presigned query."""
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if authorization is not None:
        access_key, _, given = authorization[4:].strip().rpartition(":")
        when = "" if environ.get("HTTP_X_AMZ_DATE") else environ.get("HTTP_DATE", "")
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    else:
        access_key, given = params.get("AWSAccessKeyId", ""), params.get("Signature", "")
        when = params.get("Expires", "")
        token = params.get("x-amz-security-token")
        try:
            expires = dt.datetime.fromtimestamp(int(when), dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise Refused("incomplete", "Expires must be a number of seconds.") from None
        if now > expires:
            raise Refused("presign_expired", "Request has expired.")
    if not access_key or not given:
        raise Refused("incomplete", "The authorization header is malformed.")
    identity = identity_of(access_key, token, now)
    expected = base64.b64encode(
        hmac.new(
            identity.secret_key.encode(), _v2_string(environ, params, when).encode(), hashlib.sha1
        ).digest()
    ).decode()
    if not hmac.compare_digest(expected, given):
        raise Refused(
            "signature",
            "The request signature we calculated does not match the "
            "signature you provided. Check your key and signing method.",
        )
    return Signed(identity, "us-east-1", "s3")


def _v2_string(environ: dict, params: dict, when: str) -> str:
    def value(name: str) -> str:
        if name in params:
            return params[name]
        return environ.get(name.upper().replace("-", "_"), "") or environ.get(
            "HTTP_" + name.upper().replace("-", "_"), ""
        )

    amz = {key.lower(): val for key, val in params.items() if key.lower().startswith("x-amz-")}
    amz.update(
        {
            key[5:].lower().replace("_", "-"): val
            for key, val in environ.items()
            if key.startswith("HTTP_X_AMZ_")
        }
    )
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path, _, query = raw.partition("?")
    kept = "&".join(
        pair for pair in query.split("&") if pair and pair.split("=", 1)[0] not in _V2_AUTH_PARAMS
    )
    resource = HmacV1Auth(None).canonical_resource(urlsplit(f"{path}?{kept}" if kept else path))
    lines = [
        environ.get("REQUEST_METHOD", "GET"),
        value("content-md5"),
        value("content-type"),
        when,
    ]
    lines += [f"{key}:{' '.join(amz[key].split())}" for key in sorted(amz)]
    return "\n".join(lines + [resource])


# -- Replies --------------------------------------------------------------------------


def protocol(environ: dict) -> str:
    """How the caller expects errors: 'json', 'query' (XML) or 's3' (XML)."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if environ.get("CONTENT_TYPE", "").startswith("application/json"):
        return "json"  # REST-JSON APIs (CodeStar Notifications) have no X-Amz-Target
    credential = environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")
    service = re.search(
        r"Credential=[^/&]+(?:/|%2F)\d+(?:/|%2F)[^/&%]+(?:/|%2F)([a-z0-9-]+)", credential
    )
    if service:
        name = service.group(1)
        if name == "s3":
            return "s3"
        if name in QUERY_PROTOCOL_SERVICES:
            return "query"
        return "json"
    if "Action=" in environ.get("QUERY_STRING", "") or environ.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return "query"
    return "s3"


# Signing names of the services that answer in the query protocol's XML.
QUERY_PROTOCOL_SERVICES = frozenset(
    {
        "iam",
        "sts",
        "ec2",
        "sns",
        "cloudformation",
        "autoscaling",
        "elasticloadbalancing",
        "monitoring",
        "rds",
        "ses",
    }
)


def error_reply(environ: dict, start_response: Callable, refusal: Refused) -> list[bytes]:
    kind = protocol(environ)
    status, code = ERRORS[refusal.kind][kind]
    message = str(refusal)
    request_id = str(uuid.uuid4())
    if kind == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif kind == "query":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender'
            f"</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{_xml(message)}</Message><RequestId>{request_id}</RequestId>"
            "</Error>"
        ).encode()
        headers = [("Content-Type", "application/xml")]
    headers += [("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)]
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
