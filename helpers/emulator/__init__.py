"""The local AWS: moto plus the operations and behaviour the kit adds.

install() puts the kit's additions into moto; it is idempotent and needed both for the
local server and for tests under moto's mock_aws.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from .codecommit import handlers as codecommit_handlers

    codecommit_handlers.install()
    from .codebuild import handlers as codebuild_handlers

    codebuild_handlers.install()
    from .codedeploy import handlers as codedeploy_handlers

    codedeploy_handlers.install()
    from .codepipeline import handlers as codepipeline_handlers

    codepipeline_handlers.install()
    from . import sessions

    sessions.install()
    _installed = True


def start_local_server(host: str = "127.0.0.1", port: int = 0,
                       credentials: tuple[str, str] | None = None):
    from .server import start_local_server as start

    return start(host, port, credentials)
