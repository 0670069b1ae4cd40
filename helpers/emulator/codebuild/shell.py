"""One bash session for a whole build, as buildspec 0.2 runs its commands.

Each command is written to a file in the build's control folder and sourced by the one
long-lived bash process, so `cd` and exported (or plain) shell variables carry over from
command to command and phase to phase. After each command bash prints a marker line
with a per-session random token and the exit status; everything else on stdout/stderr is
the command's output. Commands read stdin from /dev/null, so a command that reads its
input cannot swallow the commands that follow. bash runs in its own process group: a stop,
a timeout or the end of the build kills the group, background children included, and so
does a stopping server (the group is registered in ..processes). A shell restarted after
`exit` is a new group; the old one is killed with it at the end.
"""

from __future__ import annotations

import queue
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import processes

OK = "ok"
TIMED_OUT = "timed-out"
STOPPED = "stopped"


@dataclass
class CommandResult:
    exit_code: int
    outcome: str = OK  # OK (the command ran; see exit_code), TIMED_OUT or STOPPED

    @property
    def succeeded(self) -> bool:
        return self.outcome == OK and self.exit_code == 0


class ShellSession:
    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        control_dir: Path,
        on_output: Callable[[str], None],
        command: list[str] | None = None,  # the shell (env/shell); bash by default
    ) -> None:
        self.command = command or ["bash", "--noprofile", "--norc"]
        self.cwd = cwd
        self.env = env
        self.control_dir = control_dir
        self.on_output = on_output
        self._token = "__LAB_CODEBUILD_" + secrets.token_hex(8)
        self._process: subprocess.Popen | None = None
        self._started: list[subprocess.Popen] = []  # every shell of the session, for _kill
        self._lines: queue.Queue = queue.Queue()
        self._count = 0
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------

    def _start(self) -> bool:
        """A new bash; False when the server is stopping (the session counts as stopped)."""
        self._lines = queue.Queue()
        try:
            self._process = processes.spawn(
                self.command,
                on_kill=self._stopped.set,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except processes.ServerStopping:
            self._stopped.set()
            self._process = None
            return False
        self._started.append(self._process)
        threading.Thread(
            target=self._read,
            args=(self._process, self._lines),
            name="codebuild-shell-reader",
            daemon=True,
        ).start()
        return True

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def restart(self) -> None:
        """A fresh shell (buildspec 0.1 runs every command in its own shell)."""
        self.close()
        self._start()

    def stop(self) -> None:
        """Kill the session now (StopBuild); the command running returns STOPPED."""
        self._stopped.set()
        self._kill()

    def close(self) -> None:
        self._kill()
        self._process = None

    def _kill(self) -> None:
        """Kill every shell of the session with its group (background children too)."""
        for process in self._started:
            processes.kill(process)
        for process in self._started:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._started = [process for process in self._started if process.poll() is None]

    # -- running commands ------------------------------------------------------------

    def run(self, command: str, deadline: float | None = None, echo: bool = True) -> CommandResult:
        """Run one buildspec command in the session; its output goes to on_output."""
        if self._stopped.is_set():
            return CommandResult(-1, STOPPED)
        if not self._alive() and not self._start():  # the last command ended it (exit...)
            return CommandResult(-1, STOPPED)
        self._count += 1
        script = self.control_dir / f"command-{self._count}.sh"
        script.write_text(command + "\n")
        line = f". '{script}' </dev/null\nprintf '\\n%s %d\\n' '{self._token}' \"$?\"\n"
        stdin = self._process.stdin if self._process else None
        assert stdin is not None  # alive or just started, with a pipe (_start)
        try:
            stdin.write(line.encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the shell is gone; the reader reports its end
        return self._wait(deadline, echo)

    def _wait(self, deadline: float | None, echo: bool) -> CommandResult:
        pending_blank = False  # the marker starts with a newline; it is not output
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                kind, value = self._lines.get(timeout=timeout)
            except queue.Empty:
                self._kill()
                return CommandResult(-1, TIMED_OUT)
            if kind == "line":
                if pending_blank and echo:
                    self.on_output("")
                pending_blank = value == ""
                if not pending_blank and echo:
                    self.on_output(value)
            elif kind == "status":
                return CommandResult(value)
            else:  # the shell ended
                if self._stopped.is_set():
                    return CommandResult(-1, STOPPED)
                return CommandResult(self._process.wait() if self._process else -1)

    def read_variables(self, names: list[str], deadline: float | None = None) -> dict[str, str]:
        """Values of shell variables (exported or not) as the session has them now."""
        names = [name for name in names if name.replace("_", "a").isalnum()]
        if not names:
            return {}
        out = self.control_dir / "variables.bin"
        self.run(
            f"for __lab_name in {' '.join(names)}; do "
            f'if [ -n "${{!__lab_name+x}}" ]; then '
            f"printf '%s\\0%s\\0' \"$__lab_name\" \"${{!__lab_name}}\"; fi; done > '{out}'",
            deadline,
            echo=False,
        )
        if not out.exists():
            return {}
        parts = out.read_bytes().decode(errors="replace").split("\0")
        return dict(zip(parts[0:-1:2], parts[1::2], strict=False))

    def _read(self, process: subprocess.Popen, lines: queue.Queue) -> None:
        marker = self._token + " "
        assert process.stdout is not None  # a pipe (_start)
        for raw in iter(process.stdout.readline, b""):
            text = raw.decode(errors="replace").rstrip("\n").rstrip("\r")
            index = text.find(marker)
            if index >= 0:
                if index > 0:
                    lines.put(("line", text[:index]))
                try:
                    lines.put(("status", int(text[index + len(marker) :].strip())))
                except ValueError:
                    lines.put(("status", -1))
                continue
            lines.put(("line", text))
        lines.put(("end", None))
