"""Paths the local server answers that are not AWS API calls (git over HTTP, webhooks).

A service registers a WSGI app for a path prefix; the server sends matching requests
there and everything else to moto.
"""

from __future__ import annotations

from collections.abc import Callable

WsgiApp = Callable

_routes: dict[str, WsgiApp] = {}


def register(prefix: str, app: WsgiApp) -> None:
    _routes[prefix] = app


def find(path: str) -> WsgiApp | None:
    for prefix, app in _routes.items():
        if path.startswith(prefix):
            return app
    return None
