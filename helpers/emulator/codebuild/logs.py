"""A build's log: every line goes to CloudWatch Logs in moto as it is produced.

Written line by line while the build runs, so GetLogEvents (or helpers.codebuild's
wait_for_build) can follow a build live.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from .. import moto_backends


class BuildLog:
    def __init__(self, account: str, region: str, group: str | None, stream: str | None) -> None:
        """group None: CloudWatch logging is disabled for the build (lines are dropped)."""
        self.group = group
        self.stream = stream
        self._lock = threading.Lock()
        self.secrets: list[str] = []  # values from Parameter Store / Secrets Manager, hidden
        self._stream = (
            moto_backends.LogStream(account, region, group, stream) if group and stream else None
        )

    def line(self, text: str) -> None:
        """One line of command output."""
        if self._stream is None:
            return
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        with self._lock:
            if not self._stream.put(int(time.time() * 1000), text):
                self._stream = None  # the group was deleted mid-build: keep building

    def container(self, text: str) -> None:
        """A line from the build agent, in the format CodeBuild uses."""
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y/%m/%d %H:%M:%S.%f")
        self.line(f"[Container] {stamp} {text}")
