"""Where the kit keeps things: the repository root, the state folder, the learner prefix."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import string
import tempfile
import time
from pathlib import Path

KIT_TAG_KEY = "lab:kit"
KIT_TAG_VALUE = "codepipeline-lab-kit"
OWNER_TAG_KEY = "lab:owner"

# Short, lower case, starting with a letter: valid in S3 bucket, IAM, CodeCommit,
# CodeBuild, CodeDeploy and CodePipeline names alike.
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,11}$")
PREFIX_FILE_NAME = ".lab-prefix"


def repo_root() -> Path:
    """The kit's checkout: helpers/ is installed in place (pip install -e .)."""
    return Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """The one folder for what the kit keeps on disk (git repositories, workspaces...).

    LAB_STATE_DIR overrides it; the default, .lab-state/ in the checkout, is git-ignored.
    """
    configured = os.environ.get("LAB_STATE_DIR")
    path = Path(configured).expanduser() if configured else repo_root() / ".lab-state"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def learner_prefix() -> str:
    """The learner's prefix: LAB_PREFIX if set, else the one saved in .lab-prefix (made once)."""
    configured = os.environ.get("LAB_PREFIX")
    if configured:
        return validate_prefix(configured)
    prefix_file = repo_root() / PREFIX_FILE_NAME
    if not prefix_file.exists():
        _create_prefix_file(prefix_file)
    return validate_prefix(prefix_file.read_text().strip())


def _create_prefix_file(prefix_file: Path) -> None:
    """Write a new prefix, unless another kernel starting at the same moment (a lab and its
    solution opened together, `pytest labs -n 4`) wrote one first: then theirs is ours."""
    descriptor, name = tempfile.mkstemp(prefix=PREFIX_FILE_NAME, dir=prefix_file.parent)
    staged = Path(name)
    with os.fdopen(descriptor, "w") as out:
        out.write(new_prefix() + "\n")
    os.chmod(staged, 0o644)  # as write_text made it: mkstemp's is the user's only
    try:
        os.link(staged, prefix_file)  # atomic, and fails if the file exists
    except FileExistsError:
        pass
    except OSError:  # no hard links on this file system: last writer wins, whole
        os.replace(staged, prefix_file)
    finally:
        staged.unlink(missing_ok=True)


def new_prefix() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "lab" + "".join(secrets.choice(alphabet) for _ in range(5))


def validate_prefix(prefix: str) -> str:
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(
            f"Learner prefix {prefix!r} is not valid: use 3-12 lower-case letters and digits, "
            "starting with a letter (it becomes part of every resource name)."
        )
    return prefix


def kit_tags(prefix: str) -> dict[str, str]:
    return {KIT_TAG_KEY: KIT_TAG_VALUE, OWNER_TAG_KEY: prefix}


WORK_DIR_NAME = "work"
NOTEBOOK_FOLDERS = ("labs", "solutions")


def notebook_folder() -> str:
    """'labs' or 'solutions' when this process is a kernel of one of the course's notebooks
    (JupyterLab, nbval and nbclient start a kernel in its notebook's folder), else ''."""
    try:
        here = Path.cwd()
    except OSError:  # the folder it started in was removed
        return ""
    if here.parent == repo_root() and here.name in NOTEBOOK_FOLDERS:
        return here.name
    return ""


def work_dir(prefix: str) -> Path:
    """This process's folder for the learner's git clones and files:
    work/<prefix>/<labs|solutions|kernel>-<pid>/.

    One per kernel: a lab and its solution open at the same time (or run by two pytest
    workers) each clone into their own folder, so neither deletes the other's files.
    Folders of kernels that have ended go when the next one starts (teardown removes all).
    """
    path = state_dir() / WORK_DIR_NAME / validate_prefix(prefix)
    path /= f"{notebook_folder() or 'kernel'}-{os.getpid()}"
    if not path.exists():
        for ended in ended_work_dirs(prefix, kernels_only=True):
            shutil.rmtree(ended, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
    return path


def ended_work_dirs(prefix: str, kernels_only: bool = False) -> list[Path]:
    """What work/<prefix>/ holds that no running kernel uses: the folders of kernels that
    have ended and, unless kernels_only, anything else there (an older kit's clones)."""
    base = state_dir() / WORK_DIR_NAME / prefix
    ended = []
    for entry in sorted(base.glob("*")):
        pid = entry.name.rpartition("-")[2]
        if not (entry.is_dir() and not entry.is_symlink() and pid.isdigit()):
            if not kernels_only:
                ended.append(entry)
        elif os.name == "nt":  # os.kill(pid, 0) would end the process there: can't tell
            if not kernels_only:
                ended.append(entry)
        elif not process_alive(int(pid)):
            ended.append(entry)
    return ended


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # another user's process, or no way to tell: keep its folder
    return True


EMULATOR_DIR_NAME = "local-aws"
PROCESS_MARKER = "process.json"


def emulator_dir() -> Path:
    """This process's folder for the local AWS's files (repositories, workspaces, instances).

    One per process: each notebook kernel runs a local server of its own, and a server's
    files must not clash with another's. Its marker says whose it is (learner prefix, user)
    and which process made it, so teardown.py removes only this learner's folders of
    processes that have ended.
    """
    path = state_dir() / EMULATOR_DIR_NAME / str(os.getpid())
    marker = path / PROCESS_MARKER
    if not marker.exists():
        path.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(process_marker()))
    return path


def process_marker() -> dict:
    """Whose a local server's folder is: the learner, the user, and this very process."""
    try:
        prefix = learner_prefix()
    except ValueError:
        prefix = None  # no valid prefix: teardown will leave the folder alone
    return {
        "pid": os.getpid(),
        "started": time.time(),
        "prefix": prefix,
        "uid": user_id(),
        "process_start": process_start(os.getpid()),
    }


def process_start(pid: int) -> str | None:
    """An identity of process pid that a later process reusing the pid does not share: the
    boot and the start time in clock ticks since boot (Linux /proc); None elsewhere."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot}:{fields[19]}"  # field 22, starttime


def user_id() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def require_owner(name: str, tags: dict[str, str], prefix: str) -> None:
    """Refuse to touch a resource an earlier run left unless it carries this learner's tag."""
    if tags.get(OWNER_TAG_KEY) != prefix:
        raise RuntimeError(
            f"{name} exists but is not yours (no {OWNER_TAG_KEY}={prefix} "
            "tag); choose another LAB_PREFIX."
        )
