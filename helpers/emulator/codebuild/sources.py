"""DOWNLOAD_SOURCE: putting a build's source into its workspace.

NO_SOURCE (nothing), S3 (a zip, or a folder prefix ending in /, from moto's S3), CODECOMMIT
(the kit's git-backed repositories), CODEPIPELINE (an input artifact handed over by the
pipeline engine: a local folder or a zip in S3) and GITHUB, GITHUB_ENTERPRISE, GITLAB,
GITLAB_SELF_MANAGED and BITBUCKET (the local git host: git_host_source.py). Other types
cannot be reached offline.
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import moto_backends, safepaths
from . import clone_ref, git_host_source

SOURCE_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")
# sample-source-version.md: a branch, tag or commit id, or a reference (refs/heads/<branch>,
# refs/tags/<tag>), optionally pinned to a commit of it: refs/heads/main^{<full commit id>}.
GIT_REFERENCE = re.compile(
    r"^refs/(?P<kind>heads|tags|pull)/(?P<name>[^\^]+?)(?:\^\{(?P<commit>[0-9a-f]{40})\})?\Z"
)


class SourceError(Exception):
    """Fails DOWNLOAD_SOURCE with CLIENT_ERROR and this message."""


@dataclass
class FetchedSource:
    resolved_version: str | None = None  # a commit id, an S3 object version id


@dataclass
class PipelineArtifact:
    """An input artifact from the pipeline engine: a local folder or an S3 zip."""

    directory: Path | None = None
    bucket: str | None = None
    key: str | None = None
    revision: str | None = None  # the source revision, for CODEBUILD_RESOLVED_SOURCE_VERSION


def fetch(
    account: str,
    region: str,
    source: dict,
    version: str | None,
    dest: Path,
    pipeline_input: PipelineArtifact | None = None,
) -> FetchedSource:
    dest.mkdir(parents=True, exist_ok=True)
    kind = source.get("type")
    if kind == "NO_SOURCE":
        return FetchedSource()
    if kind == "S3":
        bucket, key = split_s3_location(source.get("location") or "")
        return FetchedSource(fetch_s3(account, bucket, key, version, dest))
    if kind == "CODECOMMIT":
        return FetchedSource(
            fetch_codecommit(account, region, source.get("location") or "", version, dest)
        )
    if kind == "CODEPIPELINE":
        if pipeline_input is None:
            raise SourceError("CODEPIPELINE source: no input artifact was given to this build")
        if pipeline_input.directory is not None:
            shutil.copytree(pipeline_input.directory, dest, dirs_exist_ok=True, symlinks=True)
            _check_links(dest)
        else:
            fetch_s3(account, pipeline_input.bucket or "", pipeline_input.key or "", None, dest)
        if clone_ref.is_clone_ref(dest):  # CODEBUILD_CLONE_REF: a full clone instead
            try:
                return FetchedSource(clone_ref.clone(account, dest))
            except clone_ref.CloneRefError as error:
                raise SourceError(str(error)) from None
        return FetchedSource(pipeline_input.revision)
    if kind in git_host_source.PROVIDER_OF_SOURCE:  # the local git host's repositories
        try:
            return FetchedSource(git_host_source.fetch(account, source, version, dest))
        except git_host_source.GitHostSourceError as error:
            raise SourceError(str(error)) from None
    raise SourceError(
        f"{kind} sources cannot be reached offline; use CODECOMMIT, S3, "
        "NO_SOURCE or CODEPIPELINE in the lab"
    )


def _check_links(dest: Path) -> None:
    try:
        safepaths.check_links(dest)
    except safepaths.UnsafePath as error:
        raise SourceError(f"the input artifact cannot be used: {error}") from None


def split_s3_location(location: str) -> tuple[str, str]:
    """'bucket/path/to/source.zip' or 'arn:aws:s3:::bucket/path/to/source.zip'."""
    if location.startswith("arn:"):
        location = location.split(":::", 1)[-1]
    bucket, _, key = location.partition("/")
    if not bucket or not key:
        raise SourceError(f"invalid S3 source location {location!r}: use bucket/key")
    return bucket, key


def fetch_s3(account: str, bucket: str, key: str, version: str | None, dest: Path) -> str | None:
    try:
        if key.endswith("/"):  # a folder: every object under the prefix
            for name, data in moto_backends.objects_under(account, bucket, key):
                _write_inside(dest, name[len(key) :], data)
            return None
        item = moto_backends.get_object(account, bucket, key, version)
    except moto_backends.S3Refused as error:
        raise SourceError(
            f"failed to download source s3://{bucket}/{key}: {error.reason}"
        ) from None
    except OSError as error:  # a key that is also a folder ("a" and "a/b"), a full disk
        raise SourceError(
            f"failed to download source s3://{bucket}/{key}: {type(error).__name__}"
        ) from None
    if item is None:
        raise SourceError(f"NoSuchKey: s3://{bucket}/{key} does not exist")
    try:
        unzip(item.data, dest)
    except zipfile.BadZipFile:
        raise SourceError(f"s3://{bucket}/{key} is not a zip file") from None
    return None  # AWS sets no resolved source version for S3 sources


def fetch_codecommit(
    account: str, region: str, location: str, version: str | None, dest: Path
) -> str:
    from ..codecommit.models import codecommit_lab_backends

    repository = location.rstrip("/").rsplit("/", 1)[-1]
    backend = codecommit_lab_backends[account][region]
    try:
        return backend.checkout(repository, codecommit_version(backend, repository, version), dest)
    except safepaths.UnsafePath as error:
        raise SourceError(
            f"the source version {version or 'default branch'} of {repository} "
            f"cannot be checked out: {error}"
        ) from None
    except SourceError:
        raise
    except Exception as error:
        reason = getattr(error, "message", None) or str(error)
        raise SourceError(
            f"repository not found for primary source and source version "
            f"{version or 'default branch'}: {repository} ({reason})"
        ) from None


def codecommit_version(backend, repository: str, version: str | None) -> str | None:
    """What to check out for a CODECOMMIT sourceVersion: a branch, tag or commit id as it
    is; refs/heads/<branch> and refs/tags/<tag> as the branch or tag; ref^{commit} as that
    commit, which must be on the reference (AWS fetches only the reference to find it)."""
    match = GIT_REFERENCE.match(version or "")
    if match is None:
        return version
    if match["kind"] == "pull":
        raise SourceError(
            f"the source version {version} is a pull request: only GitHub and GitHub "
            "Enterprise Server sources take pull request versions"
        )
    tip = backend.resolve(backend.get_repository(repository), match["name"])
    pinned = match["commit"]
    if pinned is None:
        return tip
    git = backend.get_repository(repository).git()
    if not any(
        entry.commit.id.decode() == pinned for entry in git.get_walker(include=[tip.encode()])
    ):
        raise SourceError(
            f"the commit {pinned} is not on refs/{match['kind']}/{match['name']} of {repository}"
        )
    return pinned


def secondary_folder(workspace: Path, identifier: str) -> Path:
    """Where a secondary source goes: workspace/sources/<sourceIdentifier>. The identifier
    names a folder and an environment variable (CODEBUILD_SRC_DIR_<id>), so only letters,
    digits, '_' and '-' (pipeline artifact names) are taken."""
    if not SOURCE_IDENTIFIER.match(identifier or ""):
        raise SourceError(
            f"invalid secondary source identifier {identifier!r}: use letters, "
            "digits, '_' and '-', at most 128 characters"
        )
    return workspace / "sources" / identifier


def unzip(data: bytes, dest: Path) -> None:
    """Extract a zip, keeping executable bits and symlinks that stay inside dest; a path or
    a symlink that leaves dest fails the extraction (SourceError) before anything is
    written outside."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = info.filename.replace("\\", "/")
                unix_mode = (info.external_attr >> 16) if info.create_system == 3 else 0
                if stat.S_ISLNK(unix_mode):
                    safepaths.make_symlink(dest, name, archive.read(info).decode())
                    continue
                mode = 0o755 if unix_mode & 0o111 else 0o644
                safepaths.write_file(dest, name, archive.read(info), mode)
        safepaths.check_links(dest)
    except (safepaths.UnsafePath, UnicodeDecodeError) as error:
        raise SourceError(f"the source archive cannot be extracted: {error}") from None


def _write_inside(dest: Path, relative: str, data: bytes) -> Path:
    try:
        return safepaths.write_file(dest, relative.replace("\\", "/"), data)
    except safepaths.UnsafePath as error:
        raise SourceError(f"invalid file name {relative!r} in source: {error}") from None
