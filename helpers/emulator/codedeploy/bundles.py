"""Application revisions: read the bundle from the local S3 and unpack it safely.

The real agent downloads the bundle from S3 during DownloadBundle; a problem there
(missing object, wrong ETag, unreadable archive) fails that lifecycle event with
UnknownError, which is what BundleError turns into.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .. import moto_backends, safepaths

SERVER_BUNDLE_TYPES = ("zip", "tar", "tgz")


class BundleError(Exception):
    """The bundle cannot be downloaded or unpacked; the message is what the agent reports."""


@dataclass
class Bundle:
    data: bytes
    bundle_type: str
    environment: dict[str, str] = field(default_factory=dict)


def bundle_type_of(s3_location: dict) -> str | None:
    """The declared bundleType, or the one the key's extension implies."""
    if s3_location.get("bundleType"):
        return s3_location["bundleType"]
    key = s3_location.get("key", "").lower()
    for suffix, kind in ((".zip", "zip"), (".tar", "tar"), (".tgz", "tgz"), (".tar.gz", "tgz")):
        if key.endswith(suffix):
            return kind
    return None


def fetch(account: str, revision: dict) -> Bundle:
    """Download the revision's bundle (S3 only offline)."""
    kind = revision.get("revisionType")
    if kind == "GitHub":
        raise BundleError(
            "The local AWS cannot download revisions from GitHub (it works offline). "
            "Upload the bundle to the local S3 and deploy it as an S3 revision."
        )
    if kind != "S3":
        raise BundleError(f"Revision type {kind} cannot be deployed to EC2/on-premises instances.")
    location = revision["s3Location"]
    if not moto_backends.owns_bucket(account, location["bucket"]):
        raise BundleError("The specified bucket does not exist")
    obj = moto_backends.get_object(
        account, location["bucket"], location["key"], location.get("version")
    )
    if obj is None:
        raise BundleError("The specified key does not exist.")
    etag = (obj.etag or "").strip('"')
    wanted = (location.get("eTag") or "").strip('"')
    if wanted and wanted != etag:
        raise BundleError(
            f"The eTag of the object ({etag}) does not match the revision's eTag ({wanted})."
        )
    environment = {
        "BUNDLE_BUCKET": location["bucket"],
        "BUNDLE_KEY": location["key"],
        "BUNDLE_ETAG": etag,
    }
    if location.get("version"):
        environment["BUNDLE_VERSION"] = location["version"]
    return Bundle(obj.data, bundle_type_of(location) or "zip", environment)


def unpack(bundle: Bundle, destination: Path) -> None:
    """Unpack into destination; entries that would land outside it are refused (zip: a
    path with '..'; tar: also links, by tarfile's data filter)."""
    if destination.is_symlink():
        raise BundleError(f"The revision folder {destination.name} is a symbolic link.")
    destination.mkdir(parents=True, exist_ok=True)
    try:
        if bundle.bundle_type == "zip":
            with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
                for name in archive.namelist():
                    _check_inside(destination, name)
                archive.extractall(destination)
                _restore_zip_modes(archive, destination)
        else:
            mode: Literal["r:gz", "r:*"] = "r:gz" if bundle.bundle_type == "tgz" else "r:*"
            with tarfile.open(fileobj=io.BytesIO(bundle.data), mode=mode) as archive:
                archive.extractall(destination, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise BundleError(
            f"The bundle could not be unpacked as {bundle.bundle_type}: {error}"
        ) from None
    _strip_single_top_folder(destination)


def _check_inside(destination: Path, name: str) -> None:
    if not safepaths.is_inside(destination, destination / name):
        raise BundleError(f"The bundle holds a path outside the revision: {name}")


def _restore_zip_modes(archive: zipfile.ZipFile, destination: Path) -> None:
    """zipfile drops Unix permissions; keep the executable bits scripts were zipped with."""
    for info in archive.infolist():
        mode = (info.external_attr >> 16) & 0o777
        if mode and not info.is_dir():
            (destination / info.filename).chmod(mode | 0o600)


def _strip_single_top_folder(destination: Path) -> None:
    """Like the agent: a bundle whose only entry is a folder holding the appspec is unwrapped."""
    entries = list(destination.iterdir())
    if len(entries) != 1 or not entries[0].is_dir():
        return
    top = entries[0]
    if not any(child.name.lower().startswith("appspec") for child in top.iterdir()):
        return
    # Rename the folder first: it may hold an entry with its own name.
    holder = top.rename(destination / ".codedeploy-unwrap")
    for child in list(holder.iterdir()):
        child.rename(destination / child.name)
    holder.rmdir()
