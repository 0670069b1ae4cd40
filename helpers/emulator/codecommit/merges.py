"""CodeCommit's merges: fast-forward, squash and three-way, with AWS's conflict model.

A pure function of the repository's objects: merge() writes blobs, trees and a commit
but moves no branch (the caller does, with its own compare-and-swap), so MergeBranches*,
MergePullRequest* and CreateUnreferencedMergeCommit share it. conflicts() gives the
per-file metadata and hunks that GetMergeConflicts and DescribeMergeConflicts answer.

The line merge is diff3 on difflib's matching blocks: a region of the base both sides
leave alone is stable; between stable regions a change on one side wins, an identical
change on both sides merges, different changes conflict. Git's own merge (and so
CodeCommit's) finds the same conflicts on ordinary edits; they may cut hunks differently
where several alignments are equally short.
"""

from __future__ import annotations

import base64
import bisect
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dulwich.graph import can_fast_forward, find_merge_base
from dulwich.objects import ObjectID
from dulwich.repo import Repo

from . import exceptions as err
from . import files as file_rules
from . import gitstore
from .gitstore import MODE_BY_NAME, FileEntry

FAST_FORWARD = "FAST_FORWARD_MERGE"
SQUASH = "SQUASH_MERGE"
THREE_WAY = "THREE_WAY_MERGE"
OPTIONS = (FAST_FORWARD, SQUASH, THREE_WAY)
DETAIL_LEVELS = ("FILE_LEVEL", "LINE_LEVEL")
STRATEGIES = ("NONE", "ACCEPT_SOURCE", "ACCEPT_DESTINATION", "AUTOMERGE")
REPLACEMENT_TYPES = ("KEEP_BASE", "KEEP_SOURCE", "KEEP_DESTINATION", "USE_NEW_CONTENT")
MAX_RESOLUTION_ENTRIES = 100  # AWS's quota on conflict resolution entries per merge
DEFAULT_NAME = "lab-learner"
DEFAULT_EMAIL = "learner@example.com"
SIDES = ("source", "destination", "base")


# Line merge ---------------------------------------------------------------------------


@dataclass
class Hunk:
    """A changed region: [start, end) lines of each version (0-based, as AWS's examples)."""

    is_conflict: bool
    base: tuple[int, int]
    source: tuple[int, int]
    destination: tuple[int, int]
    merged: list[bytes]  # the lines this region merges to (source's side for a conflict)


@dataclass
class LineMerge:
    lines: list[bytes]  # the merged file with conflicts taken from `prefer`
    hunks: list[Hunk]

    @property
    def conflicts(self) -> int:
        return sum(h.is_conflict for h in self.hunks)


def _matches(base: list[bytes], other: list[bytes]) -> dict[int, int]:
    """base line -> the line of other it is matched with (unchanged)."""
    pairs: dict[int, int] = {}
    blocks = difflib.SequenceMatcher(None, base, other, autojunk=False).get_matching_blocks()
    for block in blocks:
        for offset in range(block.size):
            pairs[block.a + offset] = block.b + offset
    return pairs


def merge_lines(
    base: list[bytes], source: list[bytes], destination: list[bytes], prefer: str = "source"
) -> LineMerge:
    """diff3 of three versions of a file's lines; conflicting regions take prefer's side."""
    in_source, in_destination = _matches(base, source), _matches(base, destination)
    # Base lines both sides keep; matches are monotone, so the next one at or after i is
    # also after j and k.
    stable_lines = sorted(set(in_source) & set(in_destination))
    out: list[bytes] = []
    hunks: list[Hunk] = []
    i = j = k = 0
    while True:
        at = bisect.bisect_left(stable_lines, i)
        stable = stable_lines[at] if at < len(stable_lines) else None
        if stable == i and in_source[i] == j and in_destination[i] == k:
            out.append(base[i])
            i, j, k = i + 1, j + 1, k + 1
            continue
        o_end = len(base) if stable is None else stable
        s_end = len(source) if stable is None else in_source[stable]
        d_end = len(destination) if stable is None else in_destination[stable]
        old, ours, theirs = base[i:o_end], source[j:s_end], destination[k:d_end]
        if old or ours or theirs:
            conflict = ours != old and theirs != old and ours != theirs
            if ours == old:
                merged = theirs
            elif theirs == old or not conflict:
                merged = ours
            else:
                merged = theirs if prefer == "destination" else ours
            hunks.append(Hunk(conflict, (i, o_end), (j, s_end), (k, d_end), merged))
            out.extend(merged)
        if stable is None:
            return LineMerge(out, hunks)
        i, j, k = o_end, s_end, d_end


# Per-file merge -----------------------------------------------------------------------


@dataclass
class FileMerge:
    """One path's three versions and what merging them gives."""

    path: str
    base: FileEntry | None
    source: FileEntry | None
    destination: FileEntry | None
    result: FileEntry | None = None
    content_conflict: bool = False
    mode_conflict: bool = False
    object_type_conflict: bool = False
    hunks: list[Hunk] = field(default_factory=list)
    data: dict[str, bytes] = field(default_factory=dict)  # side -> content

    @property
    def conflict(self) -> bool:
        return self.content_conflict or self.mode_conflict or self.object_type_conflict

    @property
    def number_of_conflicts(self) -> int:
        if self.content_conflict:
            return max(1, sum(h.is_conflict for h in self.hunks))
        return int(self.conflict)

    def entry(self, side: str) -> FileEntry | None:
        return {"source": self.source, "destination": self.destination, "base": self.base}[side]


def _same(a: FileEntry | None, b: FileEntry | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.sha, a.mode) == (b.sha, b.mode)


def _object_type(entry: FileEntry | None) -> str | None:
    if entry is None:
        return None
    return "SYMBOLIC_LINK" if entry.mode == MODE_BY_NAME["SYMLINK"] else "FILE"


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:8000]  # git's own test


def _pick(base: Any, source: Any, destination: Any) -> tuple[Any, bool]:
    """Three-way choice of one value: (merged, conflict). A conflict keeps source's."""
    if source == destination or destination == base:
        return source, False
    if source == base:
        return destination, False
    return source, True


def merge_file(git: Repo, item: FileMerge, line_level: bool, prefer: str) -> FileMerge:
    """Merge one path whose sides differ; fills result, the conflict flags and hunks."""
    base, source, destination = item.base, item.source, item.destination
    for side in SIDES:
        entry = item.entry(side)
        if entry is not None:
            item.data[side] = gitstore.read_blob(git, entry.sha)
    if _same(source, destination) or _same(destination, base):
        item.result = source
        return item
    if _same(source, base):
        item.result = destination
        return item
    if source is None or destination is None:  # deleted on one side, changed on the other
        item.content_conflict = True
        item.result = source if prefer == "source" else destination
        return item
    if _object_type(source) != _object_type(destination):
        item.object_type_conflict = True
        item.result = source if prefer == "source" else destination
        return item
    base_mode = base.mode if base else None
    mode, item.mode_conflict = _pick(base_mode, source.mode, destination.mode)
    if item.mode_conflict and prefer == "destination":
        mode = destination.mode
    sha = _merge_content(git, item, line_level, prefer)
    item.result = FileEntry(item.path, mode, sha)
    return item


def _merge_content(git: Repo, item: FileMerge, line_level: bool, prefer: str) -> str:
    assert item.source is not None and item.destination is not None
    base_sha = item.base.sha if item.base else None
    sha, conflict = _pick(base_sha, item.source.sha, item.destination.sha)
    if not conflict:
        return sha
    texts = [item.data.get(side, b"") for side in SIDES]
    symlink = MODE_BY_NAME["SYMLINK"] in (item.source.mode, item.destination.mode)
    if not line_level or symlink or any(_is_binary(text) for text in texts):
        # FILE_LEVEL (or binary, or a link's target): a file changed on both sides is one
        # conflict, the whole file.
        source, destination, base = (t.splitlines(keepends=True) for t in texts)
        whole = destination if prefer == "destination" else source
        spans = ((0, len(base)), (0, len(source)), (0, len(destination)))
        item.hunks = [Hunk(True, *spans, merged=whole)]
        item.content_conflict = True
        return item.destination.sha if prefer == "destination" else item.source.sha
    source, destination, base = (t.splitlines(keepends=True) for t in texts)
    merged = merge_lines(base, source, destination, prefer)
    item.hunks = merged.hunks
    item.content_conflict = merged.conflicts > 0
    return gitstore.write_blob(git, b"".join(merged.lines))


# The merge of two commits -------------------------------------------------------------


@dataclass
class MergeResult:
    source_commit_id: str
    destination_commit_id: str
    base_commit_id: str | None
    files: dict[str, FileMerge]  # the paths both sides changed (or one side, merged trivially)
    tree: dict[str, FileEntry]  # the merged tree, conflicts taken from the strategy's side

    @property
    def conflicting(self) -> list[FileMerge]:
        return [item for path, item in sorted(self.files.items()) if item.conflict]


def merge_base(git: Repo, source: str, destination: str) -> str | None:
    bases = find_merge_base(git, [ObjectID(source.encode()), ObjectID(destination.encode())])
    return bases[0].decode() if bases else None


def is_ancestor(git: Repo, ancestor: str, descendant: str) -> bool:
    """True when descendant contains ancestor (a fast-forward from ancestor reaches it)."""
    return can_fast_forward(git, ObjectID(ancestor.encode()), ObjectID(descendant.encode()))


def three_way(
    git: Repo,
    source: str,
    destination: str,
    *,
    conflict_detail_level: str = "FILE_LEVEL",
    conflict_resolution_strategy: str = "NONE",
) -> MergeResult:
    """Merge the trees of two commits against their merge base (conflicts recorded)."""
    check_detail_level(conflict_detail_level)
    check_strategy(conflict_resolution_strategy)
    prefer = "destination" if conflict_resolution_strategy == "ACCEPT_DESTINATION" else "source"
    base = merge_base(git, source, destination)
    old = gitstore.files(git, base)
    ours, theirs = gitstore.files(git, source), gitstore.files(git, destination)
    tree: dict[str, FileEntry] = {}
    changed: dict[str, FileMerge] = {}
    for path in sorted(set(old) | set(ours) | set(theirs)):
        b, s, d = old.get(path), ours.get(path), theirs.get(path)
        if _same(s, d) or _same(d, b) or _same(s, b):
            result = s if (_same(s, d) or _same(d, b)) else d
        else:
            item = merge_file(
                git, FileMerge(path, b, s, d), conflict_detail_level == "LINE_LEVEL", prefer
            )
            changed[path] = item
            result = item.result
        if result is not None:
            tree[path] = FileEntry(path, result.mode, result.sha)
    _check_folders_and_files(tree, changed, ours, theirs, old)
    return MergeResult(source, destination, base, changed, tree)


def _check_folders_and_files(
    tree: dict[str, FileEntry],
    changed: dict[str, FileMerge],
    source: Mapping[str, FileEntry],
    destination: Mapping[str, FileEntry],
    base: Mapping[str, FileEntry],
) -> None:
    """A path that is a file on one side and a folder on the other: an object type conflict
    (the file wins in the tree, so the tree stays writable)."""
    folders = {p.rsplit("/", 1)[0] for p in tree if "/" in p}
    expanded = {"/".join(f.split("/")[:n]) for f in folders for n in range(1, f.count("/") + 2)}
    for path in sorted(expanded & set(tree)):
        for inner in [p for p in tree if p.startswith(path + "/")]:
            del tree[inner]
        item = changed.setdefault(
            path, FileMerge(path, base.get(path), source.get(path), destination.get(path))
        )
        item.object_type_conflict = True


def resolve_conflicts(
    git: Repo, result: MergeResult, resolution: Mapping[str, Any] | None, strategy: str
) -> None:
    """Apply conflictResolution (and the strategy) to result.tree; raises
    ManualMergeRequiredException when a conflict is left unresolved."""
    resolved = _apply_resolution(git, result, resolution or {})
    if strategy in ("ACCEPT_SOURCE", "ACCEPT_DESTINATION"):
        return  # three_way already took that side for every conflict
    left = [item.path for item in result.conflicting if item.path not in resolved]
    if left:
        raise err.ManualMergeRequiredException(
            "The merge cannot be completed because of conflicts in "
            f"{', '.join(left[:10])}{'...' if len(left) > 10 else ''}. Resolve the conflicts "
            "(conflictResolution) or choose a conflict resolution strategy."
        )


def _apply_resolution(git: Repo, result: MergeResult, resolution: Mapping[str, Any]) -> set[str]:
    replaces = list(resolution.get("replaceContents") or [])
    deletes = list(resolution.get("deleteFiles") or [])
    modes = list(resolution.get("setFileModes") or [])
    if len(replaces) + len(deletes) + len(modes) > MAX_RESOLUTION_ENTRIES:
        raise err.MaximumConflictResolutionEntriesExceededException(
            f"A merge takes at most {MAX_RESOLUTION_ENTRIES} conflict resolution entries."
        )
    conflicting = {item.path: item for item in result.conflicting}
    seen: set[str] = set()

    def target(entry: Mapping[str, Any]) -> FileMerge:
        path = file_rules.clean_path(entry.get("filePath"))
        if path in seen:
            raise err.MultipleConflictResolutionEntriesException(
                f"More than one conflict resolution entry names {path}."
            )
        seen.add(path)
        if path not in conflicting:
            raise err.InvalidConflictResolutionException(
                f"{path} has no conflict in this merge: only conflicting files are resolved."
            )
        return conflicting[path]

    for entry in replaces:
        _replace(git, result, target(entry), entry)
    for entry in deletes:
        result.tree.pop(target(entry).path, None)
    for entry in modes:
        item = target(entry)
        mode = file_rules.file_mode(entry.get("fileMode"))
        if entry.get("fileMode") is None:
            raise err.FileModeRequiredException("A file mode is required.")
        if item.path not in result.tree:
            raise err.InvalidConflictResolutionException(f"{item.path} is not in the merge.")
        old = result.tree[item.path]
        result.tree[item.path] = FileEntry(item.path, mode, old.sha)
    return seen


def _replace(git: Repo, result: MergeResult, item: FileMerge, entry: Mapping[str, Any]) -> None:
    kind = entry.get("replacementType")
    if not kind:
        raise err.ReplacementTypeRequiredException("A replacement type is required.")
    if kind not in REPLACEMENT_TYPES:
        raise err.InvalidReplacementTypeException(f"The replacement type {kind} is not valid.")
    content = entry.get("content")
    if kind == "USE_NEW_CONTENT":
        if content is None:
            raise err.ReplacementContentRequiredException("USE_NEW_CONTENT needs the new content.")
        data = _bytes(content)
        if len(data) > file_rules.MAX_FILE_BYTES:
            raise err.FileContentSizeLimitExceededException("The file is larger than 6 MB.")
        keep = item.source or item.destination or item.base
        default_mode = keep.mode if keep else MODE_BY_NAME["NORMAL"]
        mode = file_rules.file_mode(entry.get("fileMode"), default_mode)
        result.tree[item.path] = FileEntry(item.path, mode, gitstore.write_blob(git, data))
        return
    if content is not None:
        raise err.InvalidReplacementContentException(f"{kind} takes no content.")
    side = {"KEEP_BASE": "base", "KEEP_SOURCE": "source", "KEEP_DESTINATION": "destination"}
    kept = item.entry(side[kind])
    if kept is None:
        result.tree.pop(item.path, None)
        return
    mode = file_rules.file_mode(entry.get("fileMode"), kept.mode)
    result.tree[item.path] = FileEntry(item.path, mode, kept.sha)


def _bytes(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    try:
        return base64.b64decode(str(content), validate=True)
    except ValueError:
        raise err.InvalidReplacementContentException("The content is not valid base64.") from None


# The API for the handlers (branches and pull requests) --------------------------------


@dataclass
class Merged:
    commit_id: str
    tree_id: str
    base_commit_id: str | None


def merge(
    git: Repo,
    source_commit_id: str,
    destination_commit_id: str,
    option: str,
    *,
    author_name: str | None = None,
    email: str | None = None,
    message: str | None = None,
    keep_empty_folders: bool = False,
    conflict_detail_level: str | None = None,
    conflict_resolution_strategy: str | None = None,
    conflict_resolution: Mapping[str, Any] | None = None,
) -> Merged:
    """Merge source into destination (resolved commit ids); writes the merge commit and
    returns it. Moves no branch. A fast-forward returns the source commit itself; a squash
    or three-way merge of a source the destination already contains returns the
    destination itself (no commit is written).

    Raises ManualMergeRequiredException (a fast-forward that is not one, or conflicts left
    unresolved), the conflictResolution errors, InvalidMergeOptionException.
    """
    check_option(option)
    if option == FAST_FORWARD:
        if not is_ancestor(git, destination_commit_id, source_commit_id):
            raise err.ManualMergeRequiredException(
                "The destination is not an ancestor of the source: a fast-forward merge is "
                "not possible. Use a squash or three-way merge."
            )
        tree_id = gitstore.commit(git, source_commit_id).tree.decode()
        return Merged(source_commit_id, tree_id, destination_commit_id)
    if is_ancestor(git, source_commit_id, destination_commit_id):
        # Nothing to merge: destination already holds source (git's "Already up to date").
        tree_id = gitstore.commit(git, destination_commit_id).tree.decode()
        return Merged(destination_commit_id, tree_id, source_commit_id)
    strategy = conflict_resolution_strategy or "NONE"
    result = three_way(
        git,
        source_commit_id,
        destination_commit_id,
        conflict_detail_level=conflict_detail_level or "FILE_LEVEL",
        conflict_resolution_strategy=strategy,
    )
    resolve_conflicts(git, result, conflict_resolution, strategy)
    if keep_empty_folders:
        _keep_emptied_folders(git, result)
    tree_id = gitstore.write_tree(git, result.tree)
    parents = [destination_commit_id]
    if option == THREE_WAY:
        parents.append(source_commit_id)
    default_message = (
        f"Merged {source_commit_id[:7]} into {destination_commit_id[:7]}"
        if option == THREE_WAY
        else f"Squashed {source_commit_id[:7]} into {destination_commit_id[:7]}"
    )
    commit_id = gitstore.write_commit(
        git,
        tree_id,
        parents,
        message or default_message,
        author_name or DEFAULT_NAME,
        email or DEFAULT_EMAIL,
    )
    return Merged(commit_id, tree_id, result.base_commit_id)


def _keep_emptied_folders(git: Repo, result: MergeResult) -> None:
    """Folders the merge empties keep a .gitkeep (git stores no empty folder), as
    DeleteFile's keepEmptyFolders does."""
    before = set(gitstore.files(git, result.destination_commit_id))
    before |= set(gitstore.files(git, result.source_commit_id))
    folders = {p.rsplit("/", 1)[0] for p in before if "/" in p}
    for folder in sorted(folders):
        if not any(p.startswith(folder + "/") for p in result.tree):
            keep = f"{folder}/.gitkeep"
            result.tree[keep] = FileEntry(
                keep, MODE_BY_NAME["NORMAL"], gitstore.write_blob(git, b"")
            )


def merge_options(
    git: Repo,
    source: str,
    destination: str,
    *,
    conflict_detail_level: str | None = None,
    conflict_resolution_strategy: str | None = None,
) -> list[str]:
    """GetMergeOptions: fast-forward only when destination is an ancestor of source; squash
    and three-way only when no conflict is left under the detail level and strategy (the
    API's doc: GetMergeConflicts tells why an option is not available)."""
    if is_ancestor(git, destination, source):
        return list(OPTIONS)
    found = conflicts(
        git,
        source,
        destination,
        THREE_WAY,
        conflict_detail_level=conflict_detail_level,
        conflict_resolution_strategy=conflict_resolution_strategy,
    )
    return [SQUASH, THREE_WAY] if found.mergeable else []


@dataclass
class Conflicts:
    mergeable: bool
    base_commit_id: str | None
    files: list[FileMerge]  # the files in conflict, by path


def conflicts(
    git: Repo,
    source: str,
    destination: str,
    option: str,
    *,
    conflict_detail_level: str | None = None,
    conflict_resolution_strategy: str | None = None,
) -> Conflicts:
    """What merging would meet: for GetMergeConflicts / (Batch)DescribeMergeConflicts and a
    pull request's `mergeable`. A fast-forward has no file conflicts: it is possible or not."""
    check_option(option)
    if option == FAST_FORWARD:
        possible = is_ancestor(git, destination, source)
        return Conflicts(possible, merge_base(git, source, destination), [])
    strategy = conflict_resolution_strategy or "NONE"
    result = three_way(
        git,
        source,
        destination,
        conflict_detail_level=conflict_detail_level or "FILE_LEVEL",
        conflict_resolution_strategy=strategy,
    )
    found = result.conflicting
    mergeable = not found or strategy in ("ACCEPT_SOURCE", "ACCEPT_DESTINATION")
    return Conflicts(mergeable, result.base_commit_id, found)


def merge_commit_of(git: Repo, source: str, destination: str) -> str | None:
    """GetMergeCommit's mergedCommitId: the commit of destination's history that merged
    source (a merge commit with source as a parent, or source itself after a fast-forward)."""
    if not is_ancestor(git, source, destination):
        return None
    if source == destination:
        return source
    walker = git.get_walker(include=[ObjectID(destination.encode())])
    for entry in walker:
        commit = entry.commit
        if ObjectID(source.encode()) in commit.parents and len(commit.parents) > 1:
            return commit.id.decode()
    return source  # reached by fast-forward: destination's history holds source itself


# Replies ------------------------------------------------------------------------------


def conflict_metadata(item: FileMerge) -> dict[str, Any]:
    """ConflictMetadata of one file."""
    present = {side: item.entry(side) for side in SIDES}

    def per_side(value) -> dict[str, Any]:
        return {side: value(side, e) for side, e in present.items() if e is not None}

    return {
        "filePath": item.path,
        "fileSizes": per_side(lambda side, e: len(item.data.get(side, b""))),
        "fileModes": per_side(lambda side, e: gitstore.mode_name(e.mode)),
        "objectTypes": per_side(lambda side, e: _object_type(e)),
        "numberOfConflicts": item.number_of_conflicts,
        "isBinaryFile": per_side(lambda side, e: _is_binary(item.data.get(side, b""))),
        "contentConflict": item.content_conflict,
        "fileModeConflict": item.mode_conflict,
        "objectTypeConflict": item.object_type_conflict,
        "mergeOperations": {
            "source": _change(item.base, item.source),
            "destination": _change(item.base, item.destination),
        },
    }


def _change(base: FileEntry | None, side: FileEntry | None) -> str:
    if base is None:
        return "A"
    return "D" if side is None else "M"


def merge_hunks(item: FileMerge) -> list[dict[str, Any]]:
    """MergeHunks of one file: every changed region, conflicting or not."""
    lines = {side: item.data.get(side, b"").splitlines(keepends=True) for side in SIDES}
    return [
        {
            "isConflict": hunk.is_conflict,
            **{
                side: _hunk_detail(lines[side], getattr(hunk, side))
                for side in SIDES
                if item.entry(side) is not None
            },
        }
        for hunk in item.hunks
    ]


def _hunk_detail(lines: list[bytes], span: tuple[int, int]) -> dict[str, Any]:
    start, end = span
    return {
        "startLine": start,
        "endLine": end,
        "hunkContent": base64.b64encode(b"".join(lines[start:end])).decode(),
    }


# Request checks -----------------------------------------------------------------------


def check_option(option: str | None) -> None:
    if not option:
        raise err.MergeOptionRequiredException("A merge option is required.")
    if option not in OPTIONS:
        raise err.InvalidMergeOptionException(f"The merge option {option} is not valid.")


def check_detail_level(level: str) -> None:
    if level not in DETAIL_LEVELS:
        raise err.InvalidConflictDetailLevelException(
            f"The conflict detail level {level} is not valid."
        )


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise err.InvalidConflictResolutionStrategyException(
            f"The conflict resolution strategy {strategy} is not valid."
        )
