"""Where the local server of this process listens: work the server runs for nobody's request
(a pipeline's build, a rule's Lambda function, a trigger's build) reaches the local AWS
there, as AWS_ENDPOINT_URL, the way a build or function started by a learner's call does."""

from __future__ import annotations

import threading

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
