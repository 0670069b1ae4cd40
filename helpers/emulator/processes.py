"""The process groups the local AWS starts, so that a stopped server stops its work.

Build shells and CodeDeploy hook scripts each run in a session (and process group) of
their own, so one signal to the group ends them with their background children. Every
group this process starts is registered here:

* in memory, with a callback that tells its owner (a build, a deployment) it is being
  stopped, so the owner does not start the next command;
* in `<emulator_dir>/processes.json`, with an identity that a recycled pid does not share
  (the boot id and the leader's start time from /proc/<pid>/stat).

kill_all() ends every registered group: LocalServer.stop(), `python -m helpers.emulator`
on Ctrl+C or SIGTERM, and interpreter exit (a notebook kernel's shutdown or restart;
close() also refuses new groups from then on). A server killed with SIGKILL runs none of
that: reap_leftovers(), called when the next server starts on the same state folder, ends
the groups its file still lists. Files of live servers (pid alive with the recorded start
time) are left alone.

The identity checks need Linux's /proc. Elsewhere a server still kills its own groups as
it always did, but reap_leftovers() does nothing (it could not tell a recycled pid).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import settings

log = logging.getLogger("helpers.emulator.processes")

FILE_NAME = "processes.json"
PROC = Path("/proc")
BOOT_ID = PROC / "sys/kernel/random/boot_id"


class ServerStopping(RuntimeError):
    """The server is stopping: no new build shell or hook script starts."""


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    pgid: int
    sid: int
    start: int  # clock ticks after boot
    zombie: bool


@dataclass
class Group:
    pgid: int
    start: int | None
    on_kill: Callable[[], None] | None = None


_lock = threading.RLock()
_groups: dict[int, Group] = {}
_closed = False


# --- what /proc says --------------------------------------------------------------------


def has_proc() -> bool:
    return (PROC / "self/stat").exists()


def process_info(pid: int) -> ProcessInfo | None:
    """pid's group, session and start time from /proc/<pid>/stat; None if there is none."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    return ProcessInfo(pid, int(fields[2]), int(fields[3]), int(fields[19]), fields[0] == "Z")


def all_processes() -> list[ProcessInfo]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = process_info(int(entry.name))
            if info is not None:
                found.append(info)
    return found


def boot_id() -> str | None:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return None


def is_same_group(pgid: int, start: int | None) -> bool:
    """True while group pgid is still the one whose leader started at `start`.

    The kernel never hands out a pid still in use as a group id, so: if the leader is
    there, its start time decides; if only its children are left, they must be in the
    session the leader made (scripts start with setsid) and younger than the leader.
    """
    if start is None:
        return True  # no /proc when it started: the caller holds the process, as before
    leader = process_info(pgid)
    if leader is not None:
        return leader.pgid == pgid and leader.start == start
    members = [info for info in all_processes() if info.pgid == pgid]
    return bool(members) and all(info.sid == pgid and info.start >= start for info in members)


def _kill_group(pgid: int, start: int | None) -> bool:
    if not is_same_group(pgid, start):
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- this process's groups --------------------------------------------------------------


def spawn(
    command: list[str], on_kill: Callable[[], None] | None = None, **popen_options
) -> subprocess.Popen:
    """Popen in a new session, registered; ServerStopping once close() has run.

    on_kill is called (before the kill) when kill_all() ends the group: the owner marks
    itself stopped so it does not start its next command.
    """
    with _lock:
        if _closed:
            raise ServerStopping("the local AWS is stopping")
        process = subprocess.Popen(command, start_new_session=True, **popen_options)
        register(process, on_kill)
        return process


def register(process: subprocess.Popen, on_kill: Callable[[], None] | None = None) -> None:
    """Record process's group (process must lead a session of its own)."""
    info = process_info(process.pid) if has_proc() else None
    with _lock:
        _groups[process.pid] = Group(process.pid, info.start if info else None, on_kill)
        _save()


def unregister(process: subprocess.Popen) -> None:
    with _lock:
        if _groups.pop(process.pid, None) is not None:
            _save()


def kill(process: subprocess.Popen) -> None:
    """End process's whole group (if it is still the one registered) and forget it."""
    with _lock:
        group = _groups.get(process.pid)
    start = group.start if group else None
    if group is None and has_proc() and process.poll() is not None:
        return  # not ours any more, and its pid may have been reused
    _kill_group(process.pid, start)
    if group is not None and not _group_exists(process.pid):
        unregister(process)


def forget_if_ended(process: subprocess.Popen) -> None:
    """Unregister process's group once nothing in it runs (a hook's daemon keeps it)."""
    if not _group_exists(process.pid):
        unregister(process)


def kill_all() -> int:
    """End every group this process started; the number ended."""
    ended = 0
    with _lock:  # a build starting its next shell now waits, then sees it was stopped
        for group in list(_groups.values()):
            if group.on_kill is not None:
                try:
                    group.on_kill()
                except Exception:  # stopping the rest matters more than one owner's state
                    log.exception("stopping the owner of process group %s", group.pgid)
            ended += _kill_group(group.pgid, group.start)
        _groups.clear()
        _save()
    return ended


def close() -> int:
    """Refuse new groups, then end every group: the process is exiting."""
    global _closed
    with _lock:
        _closed = True
    return kill_all()


def _save() -> None:
    """Write this process's registry file (under _lock): what the next server reaps."""
    for pgid in [pgid for pgid in _groups if not _group_exists(pgid)]:
        del _groups[pgid]
    try:
        file = settings.emulator_dir() / FILE_NAME
        if not _groups:
            file.unlink(missing_ok=True)
            return
        me = process_info(os.getpid())
        record = {
            "server": {"pid": os.getpid(), "start": me.start if me else None},
            "boot": boot_id(),
            "groups": [
                {"pgid": group.pgid, "start": group.start}
                for group in _groups.values()
                if group.start is not None
            ],
        }
        temporary = file.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        os.replace(temporary, file)
    except OSError as error:  # a full disk must not fail the build itself
        log.warning("cannot record the local AWS's processes: %s", error)


# --- what servers that died left --------------------------------------------------------


def reap_leftovers(state_folder: Path | None = None) -> int:
    """End the groups recorded by servers on this state folder that died without stopping
    (kill -9, a kernel killed hard); the number ended. Live servers' groups stay."""
    if not has_proc():
        return 0
    base = (state_folder or settings.state_dir()) / settings.EMULATOR_DIR_NAME
    boot = boot_id()
    ended = 0
    for file in sorted(base.glob(f"*/{FILE_NAME}")):
        record = _read(file)
        if record is None or _owner_alive(record, boot):
            continue
        if record.get("boot") == boot:  # after a reboot none of them can be running
            for group in record.get("groups", []):
                ended += _reap_group(group)
        file.unlink(missing_ok=True)
    return ended


def _read(file: Path) -> dict | None:
    try:
        record = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _owner_alive(record: dict, boot: str | None) -> bool:
    server = record.get("server")
    if not isinstance(server, dict) or record.get("boot") != boot:
        return False
    try:
        info = process_info(int(server["pid"]))
    except (KeyError, TypeError, ValueError):
        return False
    return info is not None and not info.zombie and info.start == server.get("start")


def _reap_group(group) -> int:
    try:
        pgid, start = int(group["pgid"]), int(group["start"])
    except (KeyError, TypeError, ValueError):
        return 0
    if pgid <= 1:
        return 0
    return int(_kill_group(pgid, start))


atexit.register(close)
