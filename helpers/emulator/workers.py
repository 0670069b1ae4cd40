"""Background work for long-running things (builds, deployments, pipeline executions).

Each is an explicit state machine; a worker thread advances it, and describe calls only
read its state. For tests, LAB_SYNC_WORKERS=1 (or set_synchronous(True)) runs the work
to the end inside the call that started it.

Pacing: each step of a build, a deployment or a pipeline action can be made to last a
number of seconds, so a live view shows a run moving. A lab turns it on with
lab.pace(seconds) (set_pace here); LAB_PACE_SECONDS, when set, wins over it, so a test run
can set LAB_PACE_SECONDS=0 and a demonstrating instructor LAB_PACE_SECONDS=2.
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


_pace_seconds = 0.0  # what lab.pace() asked for


def set_pace(seconds: float) -> None:
    """Make each step last `seconds` (0: no pause), unless LAB_PACE_SECONDS says otherwise."""
    global _pace_seconds
    _pace_seconds = max(0.0, float(seconds))


def pace_from_environment() -> float | None:
    """LAB_PACE_SECONDS as a number of seconds, or None when it is unset or empty."""
    value = os.environ.get("LAB_PACE_SECONDS", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        log.warning("LAB_PACE_SECONDS=%r is not a number of seconds: ignored", value)
        return None


def pace_seconds() -> float:
    """How long each step lasts: LAB_PACE_SECONDS when set, else what set_pace said."""
    from_environment = pace_from_environment()
    return _pace_seconds if from_environment is None else from_environment


def pace() -> None:
    """Pause between steps when a lab or an instructor asked for a watchable pace."""
    seconds = pace_seconds()
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
