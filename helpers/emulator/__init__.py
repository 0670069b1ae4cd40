"""The local AWS: moto plus the operations and behaviour the kit adds.

SERVICES lists what the kit adds, one module per entry, each with an install(); to serve
a new service, add its handlers module here. install() puts them all into moto; it is
idempotent and needed both for the local server and for tests under moto's mock_aws.
"""

from __future__ import annotations

import importlib

from .. import shared_loader

# Before moto is imported (its modules make botocore sessions as they load): every botocore
# session of the process shares one loader of parsed models (helpers/shared_loader.py).
shared_loader.install()

# Installed in this order; each names a module of this package with an install().
SERVICES: tuple[str, ...] = (
    "codecommit.handlers",
    "codebuild.handlers",
    "codedeploy.handlers",
    "codepipeline.handlers",
    "notifications.handlers",  # CodeStar Notifications, which moto lacks (serve_new_service)
    "connections.handlers",  # CodeConnections / CodeStar Connections and the local git host
    "awslambda.handlers",  # Invoke runs Python functions in a subprocess (no Docker)
    "sessions",  # STS: session credentials and caller identities the signature check uses
)

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from . import moto_backends

    moto_backends.use_kit_input_transformer()  # EventBridge targets, AWS's quoting
    for name in SERVICES:
        importlib.import_module(f".{name}", __name__).install()
    _installed = True


def start_local_server(
    host: str = "127.0.0.1", port: int = 0, credentials: tuple[str, str] | None = None
):
    from .server import start_local_server as start

    return start(host, port, credentials)
