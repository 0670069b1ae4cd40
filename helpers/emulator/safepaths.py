"""Turning names, ids and file paths from requests and repositories into filesystem paths.

The local AWS writes repositories, build workspaces, pipeline workspaces and instance
folders under its state folder, and every name in those paths comes from a request (an
account header, a pipeline name, an instance name) or from content (a git tree, a zip, a
buildspec). Nothing here trusts them: each path is made with one of these functions.

* `account_id`, `region`: the only shapes an account or region folder may have.
* `component`: any AWS name as one folder name; `.`, `..`, `/` and `%` are percent-encoded,
  so `..` is a folder of its own and two different names never share a folder.
* `inside`: a relative path joined to a base and refused when it (or a symlink on the
  way) leads out of the base. `write_file` and `make_dirs` never follow a symlink.
* `check_entry_name`, `check_git_tree`: what git itself refuses to check out (`..`, `.git`
  in any spelling NTFS or HFS+ would take for it, `/` or `\\` in a name) and symlinks whose
  target leaves the tree. `check_links` does the same for a folder already on disk.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

_ACCOUNT_ID = re.compile(r"^\d{12}\Z")
_REGION = re.compile(r"^[a-z0-9-]{1,64}\Z")
MAX_NAME_BYTES = 255  # the longest file name Linux takes
MAX_LINK_HOPS = 40  # Linux's limit before ELOOP
SYMLINK_MODE = 0o120000
GITLINK_MODE = 0o160000

# Characters HFS+ ignores when it compares names: ".g\u200cit" is ".git" there (git's
# is_hfs_dotgit).
_HFS_IGNORED = frozenset(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)


class UnsafePath(ValueError):
    """A name or path that must not become (part of) a filesystem path; .path names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"unsafe path {path!r}: {reason}")
        self.path = path
        self.reason = reason


# -- names of the kit's own folders ----------------------------------------------------


def account_id(value: str) -> str:
    """An account id as a folder name: 12 digits, nothing else."""
    if not isinstance(value, str) or not _ACCOUNT_ID.match(value):
        raise UnsafePath(str(value), "an account id is 12 digits")
    return value


def region(value: str) -> str:
    """A region as a folder name: lower-case letters, digits and dashes."""
    if not isinstance(value, str) or not _REGION.match(value):
        raise UnsafePath(str(value), "a region is made of a-z, 0-9 and -")
    return value


def component(value: str) -> str:
    """Any non-empty name as one folder name, the same name always the same folder.

    '%', '/', '\\' and control characters are percent-encoded, and so are the dots of '.'
    and '..'; '%' being encoded, the encoding is one-to-one (no name can spell another's
    folder).
    """
    if not isinstance(value, str) or not value:
        raise UnsafePath(str(value), "a name is not empty")
    encoded = "".join(_encode(char) for char in value)
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    try:
        size = len(encoded.encode())
    except UnicodeEncodeError:
        raise UnsafePath(value, "the name is not valid Unicode") from None
    if size > MAX_NAME_BYTES:
        raise UnsafePath(value, f"the name is longer than {MAX_NAME_BYTES} bytes")
    return encoded


def _encode(char: str) -> str:
    if char in "%/\\" or ord(char) < 0x20 or ord(char) == 0x7F:
        return f"%{ord(char):02X}"
    return char


# -- relative paths under a base folder ------------------------------------------------


def relative_parts(relative: str | PurePosixPath) -> list[str]:
    """The parts of a '/'-separated relative path; '.' and empty parts drop out.

    Refused: an absolute path, a '..' part, a NUL, and a path with no part at all.
    """
    text = str(relative)
    if "\0" in text:
        raise UnsafePath(text, "a path holds no NUL character")
    if text.startswith("/"):
        raise UnsafePath(text, "the path is absolute")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(text, "the path leads up with '..'")
    if not parts:
        raise UnsafePath(text, "the path names nothing")
    return parts


def is_inside(base: Path, path: Path) -> bool:
    """True when path, with every symlink on the way followed, stays in base."""
    real_base = Path(os.path.realpath(base))
    return Path(os.path.realpath(path)).is_relative_to(real_base)


def parent_is_inside(base: Path, path: Path) -> bool:
    """True when path's folder stays in base: for operating on path itself (unlink it,
    create it without following it), not on what a symlink there points to."""
    return path.parent == Path(base) or is_inside(base, path.parent)


def inside(base: Path, relative: str | PurePosixPath) -> Path:
    """base/relative, refused when the path or a symlink on the way leads out of base."""
    path = Path(base).joinpath(*relative_parts(relative))
    if not is_inside(base, path):
        raise UnsafePath(str(relative), "a symbolic link on the way leads out of the folder")
    return path


def make_dirs(base: Path, parts: Iterable[str]) -> Path:
    """Create base/parts... one folder at a time; an existing symlink on the way is refused
    (never followed), so nothing is created outside base."""
    current = Path(base)
    for part in parts:
        current = current / part
        try:
            current.mkdir()
        except FileExistsError:
            if current.is_symlink() or not current.is_dir():
                raise UnsafePath(
                    str(current.relative_to(base)),
                    "a file or symbolic link stands where a folder goes",
                ) from None
    return current


def write_file(base: Path, relative: str, data: bytes, mode: int = 0o644) -> Path:
    """Write a new file at base/relative without following any symlink; the folders on the
    way are created; an existing file or link at that path is refused."""
    parts = relative_parts(relative)
    folder = make_dirs(base, parts[:-1])
    target = folder / parts[-1]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(target, flags, mode)
    except FileExistsError:
        raise UnsafePath(relative, "the path is written twice") from None
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    os.chmod(target, mode)  # the umask may have taken bits off
    return target


def make_symlink(base: Path, relative: str, target: str) -> Path:
    """Create the symlink base/relative -> target; refused when it would lead out of base."""
    parts = relative_parts(relative)
    if link_escapes(target, parts):
        raise UnsafePath(relative, f"the symbolic link's target {target!r} leaves the folder")
    folder = make_dirs(base, parts[:-1])
    link = folder / parts[-1]
    try:
        link.symlink_to(target)
    except FileExistsError:
        raise UnsafePath(relative, "the path is written twice") from None
    return link


def check_links(base: Path) -> None:
    """Refuse a folder holding a symlink that leads out of it (followed as the system would,
    through the other links)."""
    for folder, dirs, files in os.walk(base):  # does not descend into linked folders
        for name in sorted(dirs + files):
            path = Path(folder) / name
            if path.is_symlink() and not is_inside(base, path):
                raise UnsafePath(
                    path.relative_to(base).as_posix(),
                    f"the symbolic link's target {os.readlink(path)!r} leaves the folder",
                )


# -- names and trees from a repository -------------------------------------------------


def is_dotgit(name: str) -> bool:
    """'.git' as a case-insensitive filesystem (NTFS, HFS+) could read the name."""
    folded = "".join(char for char in name if ord(char) not in _HFS_IGNORED).casefold()
    folded = folded.split(":", 1)[0]  # NTFS streams: .git::$INDEX_ALLOCATION
    folded = folded.rstrip(" .")  # NTFS drops trailing spaces and dots
    return folded in (".git", "git~1")  # git~1: the 8.3 short name of .git


def check_entry_name(name: bytes | str, shown: str | None = None) -> str:
    """One tree entry's name, decoded; refused: empty, '.', '..', '/', '\\', NUL, .git in
    any spelling, not UTF-8, too long. shown is the entry's full path, for the message."""
    if isinstance(name, bytes):
        try:
            text = name.decode()
        except UnicodeDecodeError:
            raise UnsafePath(name.decode(errors="replace"), "the name is not UTF-8") from None
    else:
        text = name
    where = shown or text
    if text in ("", ".", ".."):
        raise UnsafePath(where, "a file or folder cannot be named '', '.' or '..'")
    if any(char in text for char in "/\\\0"):
        raise UnsafePath(where, "a name holds no '/', '\\' or NUL")
    if is_dotgit(text):
        raise UnsafePath(where, "a repository cannot hold a .git folder or file")
    if len(text.encode()) > MAX_NAME_BYTES:
        raise UnsafePath(where, f"the name is longer than {MAX_NAME_BYTES} bytes")
    return text


def check_git_tree(object_store, tree_id: bytes | str) -> None:
    """Refuse a git tree (with its subtrees) that is unsafe to write to disk.

    object_store is a dulwich object store (repo.object_store); raises UnsafePath naming
    the first bad entry: a bad name (check_entry_name) or a symlink whose target, followed
    through the tree's own symlinks, leaves the tree.
    """
    root = tree_id.encode() if isinstance(tree_id, str) else tree_id
    links: dict[tuple[str, ...], str] = {}
    pending: list[tuple[tuple[str, ...], bytes]] = [((), root)]
    while pending:
        prefix, sha = pending.pop()
        for entry in object_store[sha].iteritems():
            shown = "/".join(prefix + (entry.path.decode(errors="replace"),))
            name = check_entry_name(entry.path, shown)
            path = prefix + (name,)
            if stat.S_ISDIR(entry.mode):
                pending.append((path, entry.sha))
            elif entry.mode == SYMLINK_MODE:
                links[path] = _link_target(object_store, entry.sha, shown)
    for path, target in sorted(links.items()):
        if link_escapes(target, list(path), links):
            raise UnsafePath(
                "/".join(path), f"the symbolic link's target {target!r} leaves the repository"
            )


def _link_target(object_store, sha: bytes, shown: str) -> str:
    data = object_store[sha].data
    try:
        target = data.decode()
    except UnicodeDecodeError:
        raise UnsafePath(shown, "the symbolic link's target is not UTF-8") from None
    if not target or "\0" in target:
        raise UnsafePath(shown, "the symbolic link has no target")
    return target


def link_escapes(
    target: str, link_parts: list[str], links: dict[tuple[str, ...], str] | None = None
) -> bool:
    """Whether the symlink at link_parts (relative to the top of a tree) pointing to
    target leads out of the tree, following the tree's other symlinks (links, by path)
    as the system would. A loop counts as leading out: it cannot be read anyway."""
    links = links or {}
    if target.startswith("/"):
        return True
    folder = list(link_parts[:-1])
    todo = target.split("/")
    hops = 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not folder:
                return True
            folder.pop()
            continue
        nested = links.get((*folder, part))
        if nested is None:
            folder.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS or nested.startswith("/"):
            return True
        todo = nested.split("/") + todo
    return False
