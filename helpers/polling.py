"""How long the lab helpers sleep between polls of something that runs."""

from __future__ import annotations

from collections.abc import Iterator


def pauses(poll_seconds: float, first: float = 0.05) -> Iterator[float]:
    """Quick at first, since offline builds and deployments end in a fraction of a second,
    then every poll_seconds, as real AWS moves in seconds: 0.05, 0.1, 0.2 ... poll_seconds."""
    pause = min(first, poll_seconds)
    while True:
        yield pause
        pause = min(poll_seconds, pause * 2)
