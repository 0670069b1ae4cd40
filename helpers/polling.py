"""How long the lab helpers sleep between polls of something that runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .emulator import changes


def pauses(poll_seconds: float, first: float = 0.05) -> Iterator[float]:
    """Quick at first, since offline builds and deployments end in a fraction of a second,
    then every poll_seconds, as real AWS moves in seconds: 0.05, 0.1, 0.2 ... poll_seconds."""
    pause = min(first, poll_seconds)
    while True:
        yield pause
        pause = min(poll_seconds, pause * 2)


class Pauses:
    """The pauses of one wait (pauses()), each ended early by a change of the local AWS
    running in this process (emulator/changes.py), so a helper polling the kernel's own
    server polls again the moment what it waits for may have happened.

    Polling real AWS or a server in another process, nothing ends a pause early: the
    helper polls at pauses()'s pace, as before. A pause a change ended early does not count
    towards the back-off: after a quiet pause the next one is longer, as in pauses().
    """

    def __init__(self, poll_seconds: float, first: float = 0.05) -> None:
        self._schedule = pauses(poll_seconds, first)
        self._next = next(self._schedule)
        self._wake = threading.Event()
        changes.listen(self._wake)  # before the first poll: a change during it counts

    def sleep(self) -> bool:
        """Pause until the next change or the end of the pause; True if a change ended it
        (or wake() was called)."""
        woken = self._wake.wait(self._next)
        self._wake.clear()  # the poll that follows sees whatever set it
        if not woken:
            self._next = next(self._schedule)
        return woken

    def wake(self) -> None:
        """End the current pause now (another thread: a stop request)."""
        self._wake.set()
