"""A warm `aws` CLI for the learner's kernel: the real AWS CLI, without its start-up time.

A plain `aws` spends ~0.3 s (seconds on a busy machine) importing itself before it sends
one request. activate() starts a daemon that has imported awscli once (daemon.py) and puts
a tiny launcher named `aws` (launcher.py) first on this process's PATH; every `!aws ...`
of a notebook, and git's credential helper, then runs as a child forked from the daemon,
with the caller's argv, environment, working directory, umask and standard streams. If
the daemon is gone or refuses, the launcher runs the plain CLI: nothing else changes.

Trust: the socket and the launcher live in a private folder (0700, this user's) under
$XDG_RUNTIME_DIR or the system's temporary folder, never in the checkout; the daemon
checks each peer's uid. It ends with this process (atexit, or its own watch of its
parent when this one is killed hard) or after IDLE_SECONDS without a command.

LAB_WARM_CLI=0 turns it off (the launcher then runs the plain CLI too).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from .. import offline_credentials, settings

ENABLE_VARIABLE = "LAB_WARM_CLI"
SOCKET_VARIABLE = "LAB_WARM_CLI_SOCKET"
IDLE_SECONDS = 2 * 3600
FOLDER_NAME = "warm-cli"
HERE = Path(__file__).resolve().parent

_daemon: subprocess.Popen | None = None


def enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """On unless LAB_WARM_CLI=0, where Unix sockets can carry descriptors and awscli is here."""
    return (
        environ.get(ENABLE_VARIABLE, "1").strip() != "0"
        and hasattr(socket, "send_fds")
        and hasattr(os, "fork")
        and importlib.util.find_spec("awscli") is not None
    )


def private_dir() -> Path | None:
    """This user's folder for the socket and launcher; None if it is not private."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime and is_private(Path(runtime)) else None
    if base is None:
        base = Path(tempfile.gettempdir()) / f"lab-kit-{os.getuid()}"
        base.mkdir(mode=0o700, exist_ok=True)
    folder = base / FOLDER_NAME
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder if is_private(base) and is_private(folder) else None


def is_private(folder: Path) -> bool:
    """A real folder (not a link), owned by this user, that no one else may enter."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


def socket_path(folder: Path, pid: int | None = None) -> Path:
    return folder / f"aws-{os.getpid() if pid is None else pid}.sock"


def launcher(folder: Path) -> Path:
    """The `aws` launcher for this Python, written once (atomically) in folder/bin-<hash>/."""
    source = (HERE / "launcher.py").read_text()
    real = offline_credentials.aws_cli()
    if any(c.isspace() for c in sys.executable) or len(sys.executable) > 200:
        raise OSError("this Python's path does not fit a launcher's first line")
    text = f"#!{sys.executable} -SI\n" + source.replace('REAL_AWS = ""', f"REAL_AWS = {real!r}", 1)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    bin_dir = folder / f"bin-{digest}"
    path = bin_dir / "aws"
    if not path.exists():
        bin_dir.mkdir(mode=0o700, exist_ok=True)
        temporary = bin_dir / f".aws-{os.getpid()}"
        temporary.write_text(text)
        temporary.chmod(0o700)
        os.replace(temporary, path)
    return path


def start(folder: Path) -> Path:
    """The daemon of this process (started if it is not running); its socket's path."""
    global _daemon
    path = socket_path(folder)
    if _daemon is not None and _daemon.poll() is None:
        return path
    remove_leftovers(folder)
    log = open(folder / f"aws-{os.getpid()}.log", "ab")  # noqa: SIM115 (the daemon's stderr)
    with log:
        _daemon = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "daemon.py"),
                str(path),
                str(os.getpid()),
                str(IDLE_SECONDS),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    return path


def remove_leftovers(folder: Path) -> None:
    """Sockets and logs of daemons whose kernels have ended (a daemon killed hard leaves
    them); empty logs go with them."""
    for file in [*folder.glob("aws-*.sock"), *folder.glob("aws-*.log")]:
        pid = file.stem.removeprefix("aws-")
        if pid.isdigit() and int(pid) != os.getpid() and not settings.process_alive(int(pid)):
            file.unlink(missing_ok=True)


def stop() -> None:
    """End this process's daemon (it removes its socket) and its empty log."""
    global _daemon
    daemon, _daemon = _daemon, None
    if daemon is None:
        return
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=5)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    socket_file = Path(str(daemon.args[2]))  # type: ignore[index]
    socket_file.unlink(missing_ok=True)  # if it died without removing it
    log = socket_file.with_suffix(".log")
    if log.exists() and log.stat().st_size == 0:
        log.unlink(missing_ok=True)


def daemon_pid() -> int | None:
    return _daemon.pid if _daemon is not None and _daemon.poll() is None else None


def is_running() -> bool:
    return _daemon is not None and _daemon.poll() is None


def activate(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Start the daemon and put the launcher first on environ's PATH; the launcher's path.

    None (and environ left without the launcher) when LAB_WARM_CLI=0 or this machine
    cannot run it: `aws` is then the plain CLI.
    """
    deactivate(environ)
    if not enabled(environ):
        return None
    try:
        folder = private_dir()
        if folder is None:
            return None
        command = launcher(folder)
        environ[SOCKET_VARIABLE] = str(start(folder))
    except OSError:
        return None
    environ["PATH"] = os.pathsep.join([str(command.parent), environ.get("PATH", "")])
    return str(command)


def deactivate(environ: MutableMapping[str, str] = os.environ) -> None:
    """Take the launcher off environ's PATH (the daemon, if any, keeps running)."""
    environ.pop(SOCKET_VARIABLE, None)
    folders = environ.get("PATH", "").split(os.pathsep)
    kept = [f for f in folders if not (Path(f).name.startswith("bin-") and FOLDER_NAME in f)]
    environ["PATH"] = os.pathsep.join(kept)


atexit.register(stop)
