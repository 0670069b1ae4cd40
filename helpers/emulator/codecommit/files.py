"""Files and folders of a commit: CodeCommit's path rules, changes, reads and differences."""

from __future__ import annotations

import stat
from typing import Any

from .. import safepaths
from . import exceptions as err
from . import gitstore
from .gitstore import MODE_BY_NAME, FileEntry

MAX_FILE_BYTES = 6 * 1024 * 1024  # PutFile and CreateCommit limit per file


def clean_path(path: str | None, required=err.PathRequiredException) -> str:
    """A repository path as CodeCommit takes it: relative, '/'-separated, no '..', no '.git'
    (in any spelling a case-insensitive filesystem would read as .git), no backslash."""
    if path is None or path == "":
        raise required("A file path is required.")
    parts = [p for p in path.strip().split("/") if p]
    try:
        for part in parts or [""]:
            safepaths.check_entry_name(part, path)
    except safepaths.UnsafePath:
        raise err.InvalidPathException(f"The path {path!r} is not valid.") from None
    return "/".join(parts)


def folder_path(path: str | None) -> str:
    """A folder path; '' or '/' is the root."""
    parts = [p for p in (path or "").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise err.InvalidPathException(f"The path {path!r} is not valid.")
    return "/".join(parts)


def file_mode(name: str | None, default: int = MODE_BY_NAME["NORMAL"]) -> int:
    if name is None:
        return default
    if name not in MODE_BY_NAME:
        raise err.InvalidFileModeException(f"The file mode {name!r} is not valid.")
    return MODE_BY_NAME[name]


def check_no_conflict(entries: dict[str, FileEntry], path: str) -> None:
    """A file cannot replace a folder, nor sit below a file."""
    if any(existing.startswith(path + "/") for existing in entries):
        raise err.FileNameConflictsWithDirectoryNameException(
            f"The file name {path} is the same as a folder name in the repository."
        )
    parts = path.split("/")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in entries:
            raise err.DirectoryNameConflictsWithFileNameException(
                f"The folder name {'/'.join(parts[:depth])} is the same as a file name."
            )


def put(
    entries: dict[str, FileEntry],
    git,
    path: str,
    content: bytes,
    mode: int | None,
    same_content_error: bool,
) -> str:
    """Add or replace a file; returns 'added' or 'updated'."""
    if len(content) > MAX_FILE_BYTES:
        raise err.FileContentSizeLimitExceededException(
            "The file cannot be added because it is larger than 6 MB."
        )
    existing = entries.get(path)
    if existing is None:
        check_no_conflict(entries, path)
    new_mode = mode if mode is not None else (existing.mode if existing else MODE_BY_NAME["NORMAL"])
    blob_id = gitstore.write_blob(git, content)
    if existing and existing.sha == blob_id and existing.mode == new_mode and same_content_error:
        raise err.SameFileContentException(
            "The file could not be added because the provided file content is the same as "
            "the current file content, and the file mode is unchanged."
        )
    entries[path] = FileEntry(path, new_mode, blob_id)
    return "updated" if existing else "added"


def delete(entries: dict[str, FileEntry], git, path: str, keep_empty_folders: bool) -> FileEntry:
    existing = entries.pop(path, None)
    if existing is None:
        raise err.FileDoesNotExistException(f"The file {path} does not exist.")
    parent = path.rpartition("/")[0]
    if keep_empty_folders and parent and not any(p.startswith(parent + "/") for p in entries):
        # Git stores no empty folders: CodeCommit keeps one with a .gitkeep file.
        keep = f"{parent}/.gitkeep"
        entries[keep] = FileEntry(keep, MODE_BY_NAME["NORMAL"], gitstore.write_blob(git, b""))
    return existing


def read_file(git, commit_id: str, path: str) -> FileEntry:
    entry = gitstore.files(git, commit_id).get(path)
    if entry is None:
        raise err.FileDoesNotExistException(
            f"The file {path} does not exist in commit {commit_id}."
        )
    return entry


def read_folder(git, commit_id: str, path: str) -> dict:
    tree_id = gitstore.subtree(git, commit_id, path)
    if tree_id is None:
        raise err.FolderDoesNotExistException(f"The folder {path} does not exist in {commit_id}.")
    reply: dict[str, Any] = {
        "commitId": commit_id,
        "folderPath": "/" + path if path else "/",
        "treeId": tree_id,
        "subFolders": [],
        "files": [],
        "symbolicLinks": [],
        "subModules": [],
    }
    for name, mode, sha in gitstore.tree_entries(git, tree_id):
        absolute = f"{path}/{name}" if path else name
        if stat.S_ISDIR(mode):
            reply["subFolders"].append(
                {"treeId": sha, "absolutePath": absolute, "relativePath": name}
            )
        elif mode == 0o160000:
            reply["subModules"].append(
                {"commitId": sha, "absolutePath": absolute, "relativePath": name}
            )
        elif mode == MODE_BY_NAME["SYMLINK"]:
            reply["symbolicLinks"].append(
                {
                    "blobId": sha,
                    "absolutePath": absolute,
                    "relativePath": name,
                    "fileMode": "SYMLINK",
                }
            )
        else:
            reply["files"].append(
                {
                    "blobId": sha,
                    "absolutePath": absolute,
                    "relativePath": name,
                    "fileMode": gitstore.mode_name(mode),
                }
            )
    return reply


def differences(
    git, before: str | None, after: str, before_path: str | None, after_path: str | None
) -> list[dict]:
    """Changed files between two commits (before None: everything in after is added)."""
    old = _under(gitstore.files(git, before), before_path)
    new = _under(gitstore.files(git, after), after_path)
    if before_path and not old and before is not None:
        raise err.PathDoesNotExistException(f"The path {before_path} does not exist.")
    if after_path and not new:
        raise err.PathDoesNotExistException(f"The path {after_path} does not exist.")
    changes = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a and b and (a.sha, a.mode) == (b.sha, b.mode):
            continue
        change: dict[str, Any] = {"changeType": "M" if a and b else ("A" if b else "D")}
        if a:
            change["beforeBlob"] = {"blobId": a.sha, "path": a.path, "mode": f"{a.mode:o}"}
        if b:
            change["afterBlob"] = {"blobId": b.sha, "path": b.path, "mode": f"{b.mode:o}"}
        changes.append(change)
    return changes


def _under(entries: dict[str, FileEntry], folder: str | None) -> dict[str, FileEntry]:
    if not folder:
        return entries
    folder = folder.strip("/")
    return {p: e for p, e in entries.items() if p == folder or p.startswith(folder + "/")}
