"""The local AWS server: moto plus what the kit adds, on one loopback port.

Used three ways: `python -m helpers.emulator` (a server until stopped), start_local_server()
(inside a notebook kernel, on a free port), and, without any server, moto's mock_aws in
tests (install() alone).
"""

from __future__ import annotations

import ast
import functools
import logging
import sys
import threading
import urllib.request

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from .. import offline_credentials
from . import identities, install, processes, routes, serving
from .malformed import BoundedWSGIServer, bounded, reject_malformed
from .recorder import CallRecorder
from .trust import TrustedOnly

log = logging.getLogger("helpers.emulator")

_ast_lock = threading.RLock()  # re-entrant: a parse never waits on itself


def _serialize_ast_parse() -> None:
    """One ast.parse at a time in this process: CPython 3.11 keeps the AST converter's
    recursion depth in shared state, so two threads parsing at once can fail with
    "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). The
    server's threads do parse: werkzeug compiles a moto service's URL rules on its first
    request, and two first requests can arrive together."""
    if getattr(ast.parse, "_lab_serialized", False):
        return
    parse = ast.parse

    @functools.wraps(parse)
    def serialized(*args, **kwargs):
        with _ast_lock:
            return parse(*args, **kwargs)

    serialized._lab_serialized = True  # type: ignore[attr-defined]
    ast.parse = serialized


class LabServerApp:
    """WSGI app: the kit's own routes first (git, webhooks), then moto's AWS API."""

    def __init__(self, extra_hosts: tuple[str, ...] = (), moto_api: bool = False) -> None:
        install()
        _serialize_ast_parse()
        self.aws = reject_malformed(DomainDispatcherApplication(create_backend_app))
        self.recorder: CallRecorder | None = None  # set one to record API calls
        # Nothing runs before trust.py has checked Host, Origin and the signature.
        trusted = TrustedOnly(self.route, extra_hosts=extra_hosts, moto_api=moto_api)
        self.wsgi = bounded(trusted)  # outermost: bodies capped and buffered (malformed.py)

    def __call__(self, environ, start_response):
        return self.wsgi(environ, start_response)

    def route(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if self.recorder is not None:
            self.recorder.record(environ)
        if path == "/_lab/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"codepipeline-lab-kit local AWS\n"]
        app = routes.find(path)
        if app is None:
            return self.aws(environ, start_response)
        try:
            return app(environ, start_response)
        except Exception:  # a bug in a kit route: log it and answer 500, keep serving
            log.exception("%s %s failed", environ.get("REQUEST_METHOD"), path)
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
            return [b"The lab kit's local server failed on this request; see its log.\n"]


class QuietRequestHandler(MotoRequestHandler):
    """No access log: inside a notebook every request would print a line into the cell."""

    def log_request(self, code="-", size="-") -> None:
        pass

    def log_error(self, format: str, *args) -> None:
        if not format.startswith("Request timed out"):  # an idle client, dropped: no news
            super().log_error(format, *args)


class LocalServer:
    """A local AWS server running in a background thread of this process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        credentials: tuple[str, str] | None = None,
        moto_api: bool = False,
    ) -> None:
        processes.reap_leftovers()  # what servers on this state folder left when killed
        handler = MotoRequestHandler if verbose else QuietRequestHandler
        # The learner's pair: given, else from the environment, else the state folder's.
        self.credentials = (
            credentials
            or offline_credentials.from_environment()
            or offline_credentials.load_or_create()
        )
        identities.add_root(*self.credentials)
        self.app = LabServerApp(extra_hosts=(host,), moto_api=moto_api)
        self._server = BoundedWSGIServer(host, port, self.app, handler)  # timeout, cap
        bound_host, self.port = self._server.server_address[:2]
        self.host = str(bound_host)  # typed str | bytes; an AF_INET(6) socket's is str
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lab-local-aws", daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalServer:
        self._thread.start()
        serving.serving(self.endpoint)  # builds and functions call the local AWS here
        return self

    def serve_forever(self) -> None:
        serving.serving(self.endpoint)
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        serving.stopped_serving(self.endpoint)
        processes.kill_all()  # the builds and hook scripts it started end with it
        identities.remove_root(self.credentials[0])


def start_local_server(
    host: str = "127.0.0.1", port: int = 0, credentials: tuple[str, str] | None = None
) -> LocalServer:
    """Start a server in this process; port 0 picks a free port (no clash between learners)."""
    return LocalServer(host, port, credentials=credentials).start()


def reset_local_aws(endpoint: str, credentials: tuple[str, str]) -> None:
    """Empty the local AWS through moto's reset (a server started with moto_api=True).

    Signed with the learner's credentials, as every call to moto's endpoints must be.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=f"{endpoint}/moto-api/reset", data=b"")
    SigV4Auth(Credentials(*credentials), "moto", "us-east-1").add_auth(request)
    urllib.request.urlopen(
        urllib.request.Request(
            request.url, data=b"", method="POST", headers=dict(request.headers.items())
        ),
        timeout=30,
    ).close()
