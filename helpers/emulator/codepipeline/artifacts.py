"""The artifact store: artifacts travel between actions as zips in the pipeline's S3
bucket (moto's S3), under keys shaped as AWS shapes them:
<pipeline name, first 20 chars>/<artifact name, first 10 chars>/<7 random characters>.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import string
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import moto_backends, safepaths
from ..codebuild.sources import unzip

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str

    def describe(self) -> dict:
        return {"bucket": self.bucket, "key": self.key}


def new_location(bucket: str, pipeline_name: str, artifact_name: str) -> Location:
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(7))
    return Location(bucket, f"{pipeline_name[:20]}/{artifact_name[:10]}/{suffix}")


def zip_folder(folder: Path) -> bytes:
    """The folder as a zip; a symlink goes in as a symlink (its target, never the content
    it points to), and one leading out of the folder is refused (safepaths.UnsafePath)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(folder):  # does not descend into linked folders
            dirs.sort()
            linked = [name for name in dirs if (Path(root) / name).is_symlink()]
            for name in sorted(files + linked):
                path = Path(root) / name
                arcname = path.relative_to(folder).as_posix()
                if path.is_symlink():
                    _add_symlink(archive, folder, path, arcname)
                elif path.is_file():
                    archive.write(path, arcname)
    return buffer.getvalue()


def _add_symlink(archive: zipfile.ZipFile, folder: Path, path: Path, arcname: str) -> None:
    if not safepaths.is_inside(folder, path):
        raise safepaths.UnsafePath(
            arcname, f"the symbolic link's target {os.readlink(path)!r} leaves the folder"
        )
    info = zipfile.ZipInfo(arcname)
    info.create_system = 3  # Unix: the mode bits below are read back by unzip
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, os.readlink(path))


def put(account: str, location: Location, data: bytes) -> None:
    moto_backends.put_object(account, location.bucket, location.key, data)


def get(account: str, location: Location) -> bytes:
    """The artifact's bytes; raises LookupError when it is not in the store."""
    try:
        item = moto_backends.get_object(account, location.bucket, location.key)
    except moto_backends.S3Refused:  # the store's bucket is gone
        item = None
    if item is None:
        raise LookupError(
            f"artifact s3://{location.bucket}/{location.key} is not in the artifact store"
        )
    return item.data


def extract(account: str, location: Location, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    unzip(get(account, location), dest)
