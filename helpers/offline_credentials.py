"""The learner's credentials for the local AWS, and git's way of using them.

The local server obeys only requests signed with its learner's credentials (AWS's SigV4,
as a real account does). When it starts without AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in
its environment, it uses a random pair kept in the state folder, readable by this user
only (0600); notebooks, teardown.py and the classroom tools read the same file, so the
learner never types them.

git reaches CodeCommit over HTTP with the AWS CLI's credential helper, as the CodeCommit
user guide sets it up for HTTPS (setting-up-https-unixes.md), scoped to the local
server's address so the learner's own git configuration is left alone.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import sys
import time
from pathlib import Path

from . import settings

FILE_NAME = "credentials.json"


def path() -> Path:
    return settings.state_dir() / settings.EMULATOR_DIR_NAME / FILE_NAME


def load_or_create() -> tuple[str, str]:
    """The learner's pair from the state folder; made (random, 0600) the first time."""
    file = path()
    pair = _read(file)
    if pair is not None:
        return pair
    file.parent.mkdir(parents=True, exist_ok=True)
    key, secret = random_pair()
    try:
        # O_EXCL: two kernels starting at once agree on one pair (the loser reads it).
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(file)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"aws_access_key_id": key, "aws_secret_access_key": secret}, out)
    return key, secret


def _read_when_written(file: Path, seconds: float = 2.0) -> tuple[str, str]:
    """The pair another kernel starting at the same moment is writing: its file exists
    from os.open on, its content a moment later."""
    deadline = time.monotonic() + seconds
    while (pair := _read(file)) is None:
        if time.monotonic() > deadline:
            raise FileExistsError(f"{file} exists but holds no key pair: remove it")
        time.sleep(0.02)
    return pair


def random_pair() -> tuple[str, str]:
    """A fresh access key id and secret in AWS's formats (20 and 40 characters)."""
    upper = string.ascii_uppercase + string.digits
    key = "AKIA" + "".join(secrets.choice(upper) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return key, secret


def from_environment() -> tuple[str, str] | None:
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    return (key, secret) if key and secret else None


def _read(file: Path) -> tuple[str, str] | None:
    try:
        data = json.loads(file.read_text())
        return data["aws_access_key_id"], data["aws_secret_access_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def aws_cli() -> str:
    """The aws command: the one installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    return shutil.which("aws") or "aws"


def git_config(endpoint: str | None = None, cli: str | None = None) -> dict[str, str]:
    """git settings for the local CodeCommit at endpoint, as GIT_CONFIG_* variables.

    The user guide's `credential.helper = !aws codecommit credential-helper $@` and
    `credential.UseHttpPath = true`, for this endpoint's URLs only (every URL without one:
    tests); `--ignore-host-check`
    because the helper otherwise answers only for *.amazonaws.com. The empty helper first
    drops any helper the learner configured (a stored password would be tried first).
    cli: the aws command to run (the warm CLI's launcher); the plain CLI when None.
    """
    section = f"credential.{endpoint.rstrip('/')}" if endpoint else "credential"
    helper = f"!{cli or aws_cli()} codecommit credential-helper --ignore-host-check $@"
    entries = [
        (f"{section}.helper", ""),
        (f"{section}.helper", helper),
        (f"{section}.UseHttpPath", "true"),
    ]
    config = {"GIT_CONFIG_COUNT": str(len(entries))}
    for index, (key, value) in enumerate(entries):
        config[f"GIT_CONFIG_KEY_{index}"] = key
        config[f"GIT_CONFIG_VALUE_{index}"] = value
    return config
