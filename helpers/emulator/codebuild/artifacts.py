"""UPLOAD_ARTIFACTS: choosing the files a buildspec names and putting them into moto's S3.

Follows build-spec-ref.md: `files` globs (`**` allowed) relative to the source folder or
`base-directory` (itself a glob of top-level folders, which are not kept in the output),
`discard-paths`, `exclude-paths`; the project's artifacts decide where they go: bucket
(`location`), `path`, `namespaceType` BUILD_ID, `name` and `packaging` ZIP or NONE.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import moto_backends, safepaths
from .buildspec import ArtifactSpec


class ArtifactError(Exception):
    """Fails UPLOAD_ARTIFACTS with CLIENT_ERROR and this message."""


@dataclass
class Destination:
    bucket: str
    key: str  # the zip's key, or the folder prefix for packaging NONE
    packaging: str  # ZIP or NONE


@dataclass
class Uploaded:
    location: str  # arn:aws:s3:::bucket/key
    sha256: str | None = None
    md5: str | None = None


def select_files(src_dir: Path, spec: ArtifactSpec) -> list[tuple[Path, str]]:
    """(file, name inside the artifact) for every file the spec selects.

    Only files inside src_dir are taken: a pattern with '..', a base directory or a file
    reached through a symlink that leads out of src_dir fails (ArtifactError); the file
    returned is the symlink-free path that was checked, so it is read as checked.
    """
    roots = [src_dir]
    if spec.base_directory:
        base = spec.base_directory.strip().strip("/")
        roots = sorted(p for p in _glob(src_dir, base) if p.is_dir())
        if not roots:
            raise ArtifactError(f"no matching base directory path found for {base}")
        for root in roots:
            _check_inside(src_dir, root)
    selected: dict[str, Path] = {}
    for root in roots:
        for pattern in spec.files:
            pattern = pattern.strip()
            while pattern.startswith("./"):
                pattern = pattern[2:]
            for match in _glob(root, pattern):
                for file in _files_under(match):
                    relative = file.relative_to(root).as_posix()
                    if any(fnmatch.fnmatch(relative, excluded) for excluded in spec.exclude_paths):
                        continue
                    name = file.name if spec.discard_paths else relative
                    selected.setdefault(name, _check_inside(src_dir, file))
    if not selected:
        raise ArtifactError("no matching artifact paths found")
    return [(file, name) for name, file in sorted(selected.items())]


def _files_under(match: Path) -> list[Path]:
    """The files a glob match stands for: itself, or every file below a folder (without
    descending into linked folders)."""
    if not match.is_dir():
        return [match] if match.is_file() else []
    found = []
    for folder, _, files in os.walk(match):
        found += [Path(folder) / name for name in files if (Path(folder) / name).is_file()]
    return sorted(found)


def _check_inside(src_dir: Path, path: Path) -> Path:
    """path with its symlinks resolved, refused when that leaves src_dir."""
    if not safepaths.is_inside(src_dir, path):
        raise ArtifactError(
            f"{path.relative_to(src_dir).as_posix()} is outside the source "
            "folder (a symbolic link leads out of it)"
        )
    return Path(os.path.realpath(path))


def _glob(root: Path, pattern: str) -> list[Path]:
    if not pattern or pattern.startswith("/"):
        return []
    if ".." in PurePosixPath(pattern).parts:
        raise ArtifactError(f"the path {pattern} leaves the source folder")
    if pattern in ("**", "**/"):
        pattern = "**/*"
    try:
        return list(root.glob(pattern))
    except (ValueError, NotImplementedError):
        return []


def upload(
    account: str, files: list[tuple[Path, str]], destination: Destination, build_arn: str
) -> Uploaded:
    metadata = {"x-amz-meta-codebuild-buildarn": build_arn}
    if not moto_backends.bucket_exists(account, destination.bucket):
        raise ArtifactError(f"the specified bucket does not exist: {destination.bucket}")
    if destination.packaging == "ZIP":
        data = _zip(files)
        moto_backends.put_object(account, destination.bucket, destination.key, data, metadata)
        return Uploaded(
            f"arn:aws:s3:::{destination.bucket}/{destination.key}",
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
        )
    prefix = destination.key.rstrip("/")
    for file, name in files:
        object_key = f"{prefix}/{name}" if prefix else name
        moto_backends.put_object(
            account, destination.bucket, object_key, file.read_bytes(), metadata
        )
    return Uploaded(f"arn:aws:s3:::{destination.bucket}/{prefix}")


def _zip(files: list[tuple[Path, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, name in files:
            archive.write(file, name)  # keeps the file mode (executable scripts stay so)
    return buffer.getvalue()


def object_key(path: str | None, build_uuid: str | None, name: str) -> str:
    """path/[build-id/]name, as CodeBuild composes an artifact's key."""
    parts = [(path or "").strip("/"), build_uuid or "", name.strip("/")]
    return "/".join(part for part in parts if part)
