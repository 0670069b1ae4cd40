"""A CODEPIPELINE input artifact in CODEBUILD_CLONE_REF format becomes a full git clone.

A CodeStarSourceConnection source with OutputArtifactFormat CODEBUILD_CLONE_REF hands the
build "a JSON file that contains a URL reference to the repository so that downstream
actions can perform Git commands directly" (action-reference-CodestarConnectionSource.md);
on AWS, CodeBuild then clones the repository with its git metadata. Here the reference
(providers/codestar_connection.py writes it) names a repository of the local git host:
the build's source folder becomes a clone of it, checked out at the referenced commit on
its branch, with `.git` (git log, describe, diff work in the build).

The reference is hostile until checked: provider and owner/name through git_host's rules,
the commit a 40-hex id of that repository, the branch a git-safe name; the commit's tree
passes safepaths.check_git_tree before git writes it. git runs without the server's
environment (no GIT_DIR or config of the server's process reaches it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from .. import safepaths
from ..codecommit import gitstore
from ..connections import git_host
from ..connections.models import PROVIDERS

FILE = "codebuild-clone-ref.json"  # the one file of a CODEBUILD_CLONE_REF artifact
COMMIT = re.compile(r"^[0-9a-f]{40}\Z")
BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}\Z")
MAX_BYTES = 64 * 1024


class CloneRefError(Exception):
    """The reference cannot be cloned (the build's DOWNLOAD_SOURCE fails with it)."""


def is_clone_ref(folder: Path) -> bool:
    """The fetched artifact is a clone reference: its one file is FILE."""
    entries = list(folder.iterdir())
    return len(entries) == 1 and entries[0].name == FILE and entries[0].is_file()


def clone(account: str, folder: Path) -> str:
    """Replace the reference in folder by a clone of what it names; the commit id."""
    reference = _read(folder / FILE)
    provider = reference["ProviderType"]
    full_id = reference["FullRepositoryId"]
    repo = git_host.open_repository(account, provider, full_id)
    if repo is None:
        raise CloneRefError(f"{full_id} is not on the local git host ({provider})")
    commit = reference["CommitId"]
    try:
        tree = gitstore.commit(repo, commit).tree
        safepaths.check_git_tree(repo.object_store, tree)
    except KeyError:
        raise CloneRefError(f"commit {commit} is not in {full_id}") from None
    except safepaths.UnsafePath as error:
        raise CloneRefError(f"{full_id} at {commit} cannot be checked out: {error}") from None
    (folder / FILE).unlink()
    branch = reference["BranchName"]
    _git("clone", "--quiet", "--no-checkout", "--", str(repo.path), str(folder))
    _git("-C", str(folder), "checkout", "--quiet", "-B", branch, commit)
    return commit


def _read(path: Path) -> dict[str, str]:
    if path.stat().st_size > MAX_BYTES:
        raise CloneRefError(f"{FILE} is larger than {MAX_BYTES} bytes")
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CloneRefError(f"{FILE} is not JSON: {error}") from None
    if not isinstance(reference, dict):
        raise CloneRefError(f"{FILE} is not a JSON object")
    keys = ("ProviderType", "FullRepositoryId", "BranchName", "CommitId")
    fields: dict[str, str] = {}
    for key in keys:
        value = reference.get(key)
        if not isinstance(value, str):
            raise CloneRefError(f"{FILE} lacks {key} (a string)")
        fields[key] = value
    if fields["ProviderType"] not in PROVIDERS:
        raise CloneRefError(f"{FILE}: unknown ProviderType {fields['ProviderType']!r}")
    try:
        git_host.check_full_repository_id(fields["FullRepositoryId"])
    except git_host.InvalidRepository as error:
        raise CloneRefError(f"{FILE}: {error}") from None
    if not COMMIT.match(fields["CommitId"]):
        raise CloneRefError(f"{FILE}: CommitId is not a commit id")
    if not BRANCH.match(fields["BranchName"]) or fields["BranchName"].endswith((".lock", "/")):
        raise CloneRefError(f"{FILE}: {fields['BranchName']!r} is not a branch name")
    return fields


def _git(*args: str) -> None:
    with tempfile.TemporaryDirectory(prefix="lab-kit-git-") as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LANG": "C.UTF-8",
        }
        done = subprocess.run(  # noqa: S603 (git with the kit's own checked arguments)
            ["git", "-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise CloneRefError(f"git {args[0]} failed: {done.stderr.strip()[-500:]}")
