"""Git plumbing for the local CodeCommit, with dulwich: bare repositories on disk.

dulwich (pure Python) rather than the git CLI: it writes blobs, trees and commits
straight into a bare repository without a working tree or a subprocess per call, its
refs support compare-and-swap (what CodeCommit's parentCommitId rules need even against
a concurrent `git push`), and dulwich.web serves the same repositories over git's smart
HTTP protocol, so `git clone` and `git push` work against the local server.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from .. import safepaths

ZERO_SHA = b"0" * 40

_Kind = TypeVar("_Kind", bound=ShaFile)

# CodeCommit's file modes and git's.
MODE_BY_NAME = {"NORMAL": 0o100644, "EXECUTABLE": 0o100755, "SYMLINK": 0o120000}
NAME_BY_MODE = {mode: name for name, mode in MODE_BY_NAME.items()}


@dataclass
class FileEntry:
    path: str
    mode: int
    sha: str


def init_bare(path: Path) -> Repo:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Repo.init_bare(str(path), mkdir=True)


def branch_ref(branch: str) -> Ref:
    return Ref(b"refs/heads/" + branch.encode())


def branches(repo: Repo) -> dict[str, str]:
    """Branch name -> commit id."""
    prefix = b"refs/heads/"
    return {
        ref[len(prefix) :].decode(): sha.decode()
        for ref, sha in repo.get_refs().items()
        if ref.startswith(prefix)
    }


def resolve(repo: Repo, specifier: str) -> str | None:
    """A branch, tag, HEAD or full commit id -> the commit id, or None."""
    candidates = [branch_ref(specifier), Ref(b"refs/tags/" + specifier.encode())]
    if specifier == "HEAD":
        candidates.insert(0, Ref(b"HEAD"))
    for ref in candidates:
        try:
            sha = repo.refs[ref]
        except KeyError:
            continue
        obj = repo[sha]
        while isinstance(obj, Tag):  # annotated tag -> its commit
            obj = repo[obj.object[1]]
        return obj.id.decode()
    if len(specifier) == 40 and all(c in "0123456789abcdef" for c in specifier):
        try:
            if repo[specifier.encode()].type_name == b"commit":
                return specifier
        except KeyError:
            return None
    return None


def commit(repo: Repo, commit_id: str) -> Commit:
    """The commit of a resolved commit id (see resolve)."""
    return _object(repo, commit_id, Commit)


def files(repo: Repo, commit_id: str | None) -> dict[str, FileEntry]:
    """Every file (blob or symlink) of a commit's tree, by path."""
    if commit_id is None:
        return {}
    tree_id = commit(repo, commit_id).tree
    return {
        entry.path.decode(): FileEntry(entry.path.decode(), entry.mode, entry.sha.decode())
        for entry in repo.object_store.iter_tree_contents(tree_id)
        if not stat.S_ISDIR(entry.mode) and entry.mode != 0o160000
    }


def write_blob(repo: Repo, content: bytes) -> str:
    blob = Blob.from_string(content)
    repo.object_store.add_object(blob)
    return blob.id.decode()


def read_blob(repo: Repo, sha: str) -> bytes:
    return _object(repo, sha, Blob).data


def write_tree(repo: Repo, entries: dict[str, FileEntry]) -> str:
    if not entries:
        tree = Tree()
        repo.object_store.add_object(tree)
        return tree.id.decode()
    return commit_tree(
        repo.object_store,
        [(e.path.encode(), ObjectID(e.sha.encode()), e.mode) for e in entries.values()],
    ).decode()


def write_commit(
    repo: Repo, tree_id: str, parents: list[str], message: str, name: str, email: str
) -> str:
    new = Commit()
    new.tree = tree_id.encode()
    new.parents = [ObjectID(p.encode()) for p in parents]
    ident = f"{name} <{email}>".encode()
    new.author = new.committer = ident
    new.author_time = new.commit_time = int(time.time())
    new.author_timezone = new.commit_timezone = 0
    new.encoding = b"UTF-8"
    new.message = message.encode()
    repo.object_store.add_object(new)
    return new.id.decode()


def move_branch(repo: Repo, branch: str, old: str | None, new: str) -> bool:
    """Compare-and-swap a branch: False when it no longer points at old."""
    ref = branch_ref(branch)
    if old is None:
        return repo.refs.add_if_new(ref, ObjectID(new.encode()))
    return repo.refs.set_if_equals(ref, ObjectID(old.encode()), ObjectID(new.encode()))


def set_head(repo: Repo, branch: str) -> None:
    """HEAD names the default branch, so `git clone` checks it out."""
    repo.refs.set_symbolic_ref(Ref(b"HEAD"), branch_ref(branch))


def tree_entries(repo: Repo, tree_id: str) -> list[tuple[str, int, str]]:
    """The direct children of a tree: (name, mode, sha)."""
    tree = _object(repo, tree_id, Tree)
    return [(e.path.decode(), e.mode, e.sha.decode()) for e in tree.iteritems()]


def subtree(repo: Repo, commit_id: str, folder: str) -> str | None:
    """The tree id of folder ('' for the root) in a commit, or None."""
    tree_id = commit(repo, commit_id).tree.decode()
    for part in [p for p in folder.split("/") if p]:
        for name, mode, sha in tree_entries(repo, tree_id):
            if name == part and stat.S_ISDIR(mode):
                tree_id = sha
                break
        else:
            return None
    return tree_id


def export(repo: Repo, commit_id: str, dest: Path) -> None:
    """Write the files of a commit into dest (a plain folder, no .git).

    The tree is checked first (safepaths.check_git_tree raises UnsafePath) and nothing is
    written through a symlink, so a hostile tree cannot write outside dest.
    """
    safepaths.check_git_tree(repo.object_store, commit(repo, commit_id).tree)
    dest.mkdir(parents=True, exist_ok=True)
    for entry in files(repo, commit_id).values():
        data = read_blob(repo, entry.sha)
        if entry.mode == MODE_BY_NAME["SYMLINK"]:
            safepaths.make_symlink(dest, entry.path, data.decode())
            continue
        mode = 0o755 if entry.mode == MODE_BY_NAME["EXECUTABLE"] else 0o644
        safepaths.write_file(dest, entry.path, data, mode)
    safepaths.check_links(dest)


def _object(repo: Repo, sha: str, kind: type[_Kind]) -> _Kind:
    """The object sha names, which the caller knows to be a kind (a tree entry's mode or a
    resolved id says so); anything else is a broken repository."""
    found = repo[ObjectID(sha.encode())]
    if not isinstance(found, kind):
        raise TypeError(f"{sha} is a {found.type_name.decode()}, not a {kind.type_name.decode()}")
    return found


def mode_name(mode: int) -> str:
    return NAME_BY_MODE.get(mode, "NORMAL")
