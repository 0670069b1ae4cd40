"""Where a local server listens: the one of this process, and whether one answers at an
endpoint.

Work the server runs for nobody's request (a pipeline's build, a rule's Lambda function, a
trigger's build) reaches the local AWS at local_endpoint(), as AWS_ENDPOINT_URL, the way a
build or function started by a learner's call does. is_lab_server() is for clients
(teardown.py, a kernel joining a running server): this module imports neither moto nor
boto3, so asking costs no import of the server (seconds)."""

from __future__ import annotations

import threading
import urllib.request

_endpoints: list[str] = []
_lock = threading.Lock()


def serving(endpoint: str) -> None:
    """A local server listens at endpoint (LocalServer.start)."""
    with _lock:
        _endpoints.append(endpoint)


def stopped_serving(endpoint: str) -> None:
    with _lock:
        if endpoint in _endpoints:
            _endpoints.remove(endpoint)


def local_endpoint() -> str | None:
    """The newest server's endpoint, or None under mock_aws (no server: nothing to call)."""
    with _lock:
        return _endpoints[-1] if _endpoints else None


def is_lab_server(endpoint: str, timeout: float = 10.0) -> bool:
    """True when endpoint answers as the kit's local server. A server that is not there is
    refused at once; the timeout is for one that is there but slow (a loaded machine)."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_lab/health", timeout=timeout) as r:
            return r.status == 200 and b"lab-kit" in r.read()
    except OSError:
        return False
