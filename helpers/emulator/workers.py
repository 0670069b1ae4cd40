"""Background work for long-running things (builds, deployments, pipeline executions).

Each is an explicit state machine; a worker thread advances it, and describe calls only
read its state. For tests, LAB_SYNC_WORKERS=1 (or set_synchronous(True)) runs the work
to the end inside the call that started it. LAB_PACE_SECONDS slows each step down, for an
instructor who wants a demo to move at a watchable speed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("helpers.emulator.workers")

_synchronous: bool | None = None


def set_synchronous(value: bool | None) -> None:
    """True: run work inside the starting call; None: follow LAB_SYNC_WORKERS again."""
    global _synchronous
    _synchronous = value


def synchronous() -> bool:
    if _synchronous is not None:
        return _synchronous
    return os.environ.get("LAB_SYNC_WORKERS", "") in ("1", "true", "yes")


def pace() -> None:
    """Pause between steps when an instructor asked for a slower demo."""
    seconds = float(os.environ.get("LAB_PACE_SECONDS", "0") or 0)
    if seconds > 0:
        time.sleep(seconds)


def start(name: str, work: Callable[[], None]) -> threading.Thread | None:
    """Run work in a daemon thread, or right now in synchronous mode."""

    def guarded() -> None:
        try:
            work()
        except Exception:  # the worker must never take the server down
            log.exception("worker %s failed", name)

    if synchronous():
        guarded()
        return None
    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    return thread
