"""Exercise checks: a clear word on what is right, or what is still wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CheckFailed(AssertionError):
    """An exercise is not done yet; the message tells the learner what to look at."""


def check(condition: bool, success: str, failure: str) -> None:
    """Pass with a tick and the success note, or raise CheckFailed with the hint."""
    if not condition:
        raise CheckFailed(f"Not yet: {failure}")
    print(f"\u2714 {success}")


def attempt(call: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call an AWS API and return its reply, or None when it raised a ClientError."""
    from botocore.exceptions import ClientError

    try:
        return call(*args, **kwargs)
    except ClientError:
        return None


def defined(namespace: dict, name: str, hint: str) -> Any:
    """The learner's variable, or CheckFailed saying which cell should set it."""
    if name not in namespace or namespace[name] is None:
        raise CheckFailed(f"Not yet: `{name}` is not set. {hint}")
    return namespace[name]
