"""Build caches (build-caching.md): what a project's `cache` carries from one build to the next.

* LOCAL with LOCAL_CUSTOM_CACHE: the files under the buildspec's `cache: paths:` are kept
  in the local AWS's state folder (codebuild/<account>/<region>/_cache/<project>/custom)
  after a build and put back into the next build's folders. AWS keeps a local cache on the
  build host, best-effort: a build on another host starts cold. Here there is one host, so
  the cache is always found until InvalidateProjectCache (or the local AWS's reset).
  AWS links the cached folders with symlinks; the kit copies the files, so two builds of
  the project at once never write into one folder.
* LOCAL_SOURCE_CACHE: AWS caches the git metadata of GitHub, GitHub Enterprise Server and
  Bitbucket sources and ignores the mode for other sources; the kit's sources are checked
  out from local repositories already (no network), so the mode is accepted and logged.
* LOCAL_DOCKER_LAYER_CACHE: accepted; there is no Docker offline, the log says so.
* S3: a zip of the cache paths' files stored in the local S3 at
  <location>/<cacheNamespace or project name>-codebuild-cache.zip after the build and
  extracted before the next one. (The buildspec's cache `key` and `fallback-keys` are not
  in the user guide this kit follows; they are not read.)

Cache paths come from a buildspec, so from a repository: each is relative to the source
folder (CODEBUILD_SRC_DIR), or under the build's home folder when it starts with `~/`,
`$HOME/` or `/root/` (where AWS images keep caches like /root/.m2); any other absolute
path and any '..' are refused with a log line. Files reached through a symlink that leads
out are refused too (artifacts.select_files), and an S3 archive is extracted only into the
source and home folders, with limits on its size and number of entries.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import moto_backends, safepaths
from ..core import LabHandlers
from .artifacts import ArtifactError, select_files
from .buildspec import ArtifactSpec
from .models import Build, CodeBuildLabBackend, Project, codebuild_lab_backends

CACHE_FOLDER = "_cache"  # next to the build workspaces, whose names are uuids
BASES = ("src", "home")  # the build folders a cache may fill
HOME_PREFIXES = ("~/", "$HOME/", "${HOME}/", "/root/")
MAX_ARCHIVE_ENTRIES = 100_000
MAX_ARCHIVE_BYTES = 2 * 1024**3
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()

Log = Callable[[str], None]


def _project_lock(folder: Path) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(str(folder), threading.Lock())


def local_folder(backend: CodeBuildLabBackend, project_name: str) -> Path:
    return backend.root / CACHE_FOLDER / safepaths.component(project_name)


def s3_location(cache: dict, project_name: str) -> tuple[str, str]:
    """(bucket, key) of a project's S3 cache archive."""
    location = (cache.get("location") or "").split(":::", 1)[-1].strip("/")
    bucket, _, prefix = location.partition("/")
    name = f"{cache.get('cacheNamespace') or project_name}-codebuild-cache.zip"
    return bucket, f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name


def _modes(cache: dict) -> list[str]:
    return list(cache.get("modes") or []) if cache.get("type") == "LOCAL" else []


# -- cache paths -------------------------------------------------------------------------


def checked_paths(paths: list[str], log: Log) -> list[tuple[str, str]]:
    """(base folder, pattern inside it) for each cache path that stays in the build."""
    checked = []
    for raw in paths:
        text = raw.strip().replace("\\", "/")
        base = "src"
        for prefix in HOME_PREFIXES:
            if text.startswith(prefix):
                base, text = "home", text[len(prefix) :]
                break
        while text.startswith("./"):
            text = text[2:]
        try:
            safepaths.relative_parts(text)
        except safepaths.UnsafePath as error:
            log(f"Skipping cache path {raw.strip()}: {error.reason} (it must stay in the build)")
            continue
        checked.append((base, text))
    return checked


def _selected(
    workspace: Path, paths: list[tuple[str, str]], log: Log
) -> Iterator[tuple[Path, str]]:
    """(file, '<base>/<path>') for every file the cache paths select."""
    for base, pattern in paths:
        root = workspace / base
        if not root.is_dir():
            continue
        try:
            files = select_files(root, ArtifactSpec(files=[pattern]))
        except ArtifactError as error:
            if "no matching" not in str(error):
                log(f"Skipping cache path {pattern}: {error}")
            continue
        for file, name in files:
            yield file, f"{base}/{name}"


def _place(workspace: Path, name: str, log: Log) -> Path | None:
    """Where a cached file '<base>/<path>' goes in the build (None: refused). Cached files
    override source files of the same name, as in AWS."""
    base, _, relative = name.partition("/")
    if base not in BASES:
        log(f"Skipping cached file {name}: outside the build's folders")
        return None
    try:
        parts = safepaths.relative_parts(relative)
        folder = safepaths.make_dirs(workspace / base, parts[:-1])
    except safepaths.UnsafePath as error:
        log(f"Skipping cached file {name}: {error.reason}")
        return None
    target = folder / parts[-1]
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        log(f"Skipping cached file {name}: a folder stands there")
        return None
    return target


# -- restore and save (the build runner calls these) -------------------------------------


def restore(backend: CodeBuildLabBackend, build: Build, log: Log) -> None:
    """Before the build's commands: put the project's cache into the build's folders."""
    cache = build.config.cache
    kind = cache.get("type") or "NO_CACHE"
    if kind == "S3":
        _restore_s3(build, cache, log)
        return
    modes = _modes(cache)
    if "LOCAL_SOURCE_CACHE" in modes:
        log(
            "LOCAL_SOURCE_CACHE: the source is checked out from the local AWS's own "
            "repository (no network to save); AWS caches git metadata of GitHub, GitHub "
            "Enterprise Server and Bitbucket sources only"
        )
    if "LOCAL_DOCKER_LAYER_CACHE" in modes:
        log(
            "LOCAL_DOCKER_LAYER_CACHE: accepted, but there is no Docker in the lab kit's "
            "local builds, so no layers are cached"
        )
    if "LOCAL_CUSTOM_CACHE" in modes:
        try:
            _restore_local(backend, build, log)
        except OSError as error:
            log(f"Unable to restore the local cache: {error}; the build starts without it")


def save(backend: CodeBuildLabBackend, build: Build, paths: list[str], log: Log) -> None:
    """After the build's commands: keep the cache paths' files for the next build. A cache
    that cannot be saved is logged; it never fails the build."""
    cache = build.config.cache
    kind = cache.get("type") or "NO_CACHE"
    wanted = kind == "S3" or "LOCAL_CUSTOM_CACHE" in _modes(cache)
    if not wanted:
        return
    if not paths:
        log("No cache paths in the buildspec (cache: paths:): nothing to cache")
        return
    files = list(_selected(build.workspace, checked_paths(paths, log), log))
    try:
        if kind == "S3":
            _save_s3(build, cache, files, log)
        else:
            _save_local(backend, build, files, log)
    except (OSError, safepaths.UnsafePath) as error:  # a full disk, a file gone meanwhile
        log(f"Unable to save the cache: {error}")


def _restore_local(backend: CodeBuildLabBackend, build: Build, log: Log) -> None:
    folder = local_folder(backend, build.project_name)
    stored = folder / "custom"
    with _project_lock(folder):
        if not stored.is_dir():
            log("Local cache is empty: nothing to restore (LOCAL_CUSTOM_CACHE)")
            return
        count = 0
        for current, _dirs, names in os.walk(stored):
            for file_name in names:
                source = Path(current) / file_name
                if source.is_symlink() or not source.is_file():
                    continue
                target = _place(build.workspace, source.relative_to(stored).as_posix(), log)
                if target is not None:
                    shutil.copy2(source, target)
                    count += 1
    log(f"Restored {count} file(s) from the local cache (LOCAL_CUSTOM_CACHE)")


def _save_local(
    backend: CodeBuildLabBackend, build: Build, files: list[tuple[Path, str]], log: Log
) -> None:
    folder = local_folder(backend, build.project_name)
    folder.mkdir(parents=True, exist_ok=True)
    fresh = folder / f"custom.{uuid.uuid4().hex}"
    fresh.mkdir()
    for file, name in files:
        parts = name.split("/")
        target = safepaths.make_dirs(fresh, parts[:-1]) / parts[-1]
        shutil.copy2(file, target)
    with _project_lock(folder):
        old = folder / f"old.{uuid.uuid4().hex}"
        if (folder / "custom").exists():
            (folder / "custom").rename(old)
        fresh.rename(folder / "custom")
    shutil.rmtree(old, ignore_errors=True)
    log(f"Saved {len(files)} file(s) to the local cache (LOCAL_CUSTOM_CACHE)")


def _restore_s3(build: Build, cache: dict, log: Log) -> None:
    bucket, key = s3_location(cache, build.project_name)
    log(f"Downloading S3 cache s3://{bucket}/{key}")
    try:
        item = moto_backends.get_object(build.account, bucket, key)
    except moto_backends.S3Refused as error:
        log(f"Unable to download S3 cache: {error.reason}; the build starts without it")
        return
    if item is None:
        log("S3 cache not found (first build, or invalidated): the build starts without it")
        return
    try:
        count = _extract(item.data, build.workspace, log)
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        log(f"Unable to extract S3 cache: {error}; the build starts without it")
        return
    log(f"Restored {count} file(s) from the S3 cache")


def _extract(data: bytes, workspace: Path, log: Log) -> int:
    """Extract the cache archive's regular files into the build's source and home folders;
    an archive over the limits is refused before anything is written."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise ValueError(f"more than {MAX_ARCHIVE_ENTRIES} entries")
        if sum(info.file_size for info in entries) > MAX_ARCHIVE_BYTES:
            raise ValueError(f"more than {MAX_ARCHIVE_BYTES} bytes once extracted")
        count = 0
        for info in entries:
            unix_mode = (info.external_attr >> 16) if info.create_system == 3 else 0
            if stat.S_ISLNK(unix_mode):
                log(f"Skipping cached file {info.filename}: a symbolic link")
                continue
            target = _place(workspace, info.filename.replace("\\", "/"), log)
            if target is None:
                continue
            with archive.open(info) as stream, open(target, "xb") as out:
                shutil.copyfileobj(stream, out)
            os.chmod(target, 0o755 if unix_mode & 0o111 else 0o644)
            count += 1
    return count


def _save_s3(build: Build, cache: dict, files: list[tuple[Path, str]], log: Log) -> None:
    bucket, key = s3_location(cache, build.project_name)
    log(f"Uploading S3 cache s3://{bucket}/{key}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, name in files:
            archive.write(file, name)
    try:
        moto_backends.put_object(build.account, bucket, key, buffer.getvalue())
    except moto_backends.S3Refused as error:
        log(f"Unable to upload S3 cache: {error.reason}")
        return
    log(f"Saved {len(files)} file(s) to the S3 cache")


# -- InvalidateProjectCache --------------------------------------------------------------


def invalidate(backend: CodeBuildLabBackend, project: Project) -> None:
    """Empty both kinds of cache of the project: the local folder and the S3 archive."""
    folder = local_folder(backend, project.name)
    with _project_lock(folder):
        shutil.rmtree(folder, ignore_errors=True)
    cache = project.settings.get("cache") or {}
    if cache.get("type") == "S3":
        bucket, key = s3_location(cache, project.name)
        moto_backends.delete_object(backend.account_id, bucket, key)


class CacheHandlers(LabHandlers):
    def invalidate_project_cache(self, params: dict) -> dict:
        backend = codebuild_lab_backends[self.current_account][self.region]
        invalidate(backend, backend.get_project(params["projectName"]))
        return {}
