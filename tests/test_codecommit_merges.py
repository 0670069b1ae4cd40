"""The local CodeCommit's merges: fast-forward, squash, three-way; conflicts and their
resolution, as AWS's API gives them (replies checked against the model)."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

BASE_TEXT = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\n"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cc(client):
    return client("codecommit")


def put(cc, branch: str, parent: str | None, path: str, content: bytes, **extra) -> str:
    args = {"parentCommitId": parent} if parent else {}
    return cc.put_file(
        repositoryName="app",
        branchName=branch,
        filePath=path,
        fileContent=content,
        commitMessage=f"{branch}: {path}",
        **args,
        **extra,
    )["commitId"]


@pytest.fixture
def base(cc) -> str:
    """main with README.md and notes.txt; a branch 'feature' at the same commit."""
    cc.create_repository(repositoryName="app")
    first = put(cc, "main", None, "README.md", BASE_TEXT)
    second = put(cc, "main", first, "notes.txt", b"notes\n")
    cc.create_branch(repositoryName="app", branchName="feature", commitId=second)
    return second


def tip(cc, branch: str) -> str:
    return cc.get_branch(repositoryName="app", branchName=branch)["branch"]["commitId"]


def read(cc, path: str, specifier: str) -> bytes:
    return cc.get_file(repositoryName="app", filePath=path, commitSpecifier=specifier)[
        "fileContent"
    ]


def diverge(cc, base: str, source_text: bytes, destination_text: bytes) -> tuple[str, str]:
    source = put(cc, "feature", base, "README.md", source_text)
    destination = put(cc, "main", base, "README.md", destination_text)
    return source, destination


# Fast-forward --------------------------------------------------------------------------


def test_fast_forward_moves_the_destination_to_the_source(cc, base):
    source = put(cc, "feature", base, "new.txt", b"new\n")
    options = cc.get_merge_options(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    assert options["mergeOptions"] == ["FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE"]
    assert options["baseCommitId"] == base
    reply = cc.merge_branches_by_fast_forward(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    assert reply["commitId"] == source
    assert tip(cc, "main") == source


def test_fast_forward_refused_when_the_branches_diverged(cc, base):
    put(cc, "feature", base, "a.txt", b"a\n")
    put(cc, "main", base, "b.txt", b"b\n")
    assert cc.get_merge_options(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )["mergeOptions"] == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_fast_forward(
            repositoryName="app",
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
        )
    assert error_code(exc) == "ManualMergeRequiredException"


def test_fast_forward_into_a_target_branch_and_a_commit_destination(cc, base):
    source = put(cc, "feature", base, "new.txt", b"new\n")
    cc.create_branch(repositoryName="app", branchName="release", commitId=base)
    cc.merge_branches_by_fast_forward(
        repositoryName="app",
        sourceCommitSpecifier=source,
        destinationCommitSpecifier=base,
        targetBranch="release",
    )
    assert tip(cc, "release") == source
    assert tip(cc, "main") == base
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_fast_forward(
            repositoryName="app", sourceCommitSpecifier=source, destinationCommitSpecifier=base
        )
    assert error_code(exc) == "InvalidTargetBranchException"
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_fast_forward(
            repositoryName="app",
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
            targetBranch="nope",
        )
    assert error_code(exc) == "BranchDoesNotExistException"


# Squash and three-way ------------------------------------------------------------------


def test_three_way_merges_changes_to_different_lines_of_a_file(cc, base):
    source, destination = diverge(
        cc,
        base,
        BASE_TEXT.replace(b"two", b"TWO"),
        BASE_TEXT.replace(b"six", b"SIX"),
    )
    reply = cc.merge_branches_by_three_way(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        authorName="Maria Garcia",
        email="maria@example.com",
        commitMessage="Merge feature",
        conflictDetailLevel="LINE_LEVEL",
    )
    assert tip(cc, "main") == reply["commitId"]
    commit = cc.get_commit(repositoryName="app", commitId=reply["commitId"])["commit"]
    assert commit["parents"] == [destination, source]
    assert commit["message"] == "Merge feature"
    assert commit["author"]["name"] == "Maria Garcia"
    assert commit["author"]["email"] == "maria@example.com"
    assert commit["treeId"] == reply["treeId"]
    merged = read(cc, "README.md", "main")
    assert merged == b"one\nTWO\nthree\nfour\nfive\nSIX\nseven\n"
    info = cc.get_merge_commit(
        repositoryName="app", sourceCommitSpecifier=source, destinationCommitSpecifier="main"
    )
    assert info["mergedCommitId"] == reply["commitId"]
    assert info["baseCommitId"] == source  # source is in main now


def test_squash_makes_one_commit_with_the_destination_as_its_parent(cc, base):
    source = put(cc, "feature", base, "a.txt", b"a\n")
    source = put(cc, "feature", source, "b.txt", b"b\n")
    destination = put(cc, "main", base, "c.txt", b"c\n")
    reply = cc.merge_branches_by_squash(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        commitMessage="Squash feature",
    )
    commit = cc.get_commit(repositoryName="app", commitId=reply["commitId"])["commit"]
    assert commit["parents"] == [destination]
    assert commit["message"] == "Squash feature"
    for path in ("a.txt", "b.txt", "c.txt", "README.md"):
        read(cc, path, "main")


def test_identical_changes_on_both_sides_merge(cc, base):
    same = BASE_TEXT.replace(b"four", b"FOUR")
    diverge(cc, base, same, same)
    cc.merge_branches_by_three_way(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    assert read(cc, "README.md", "main") == same


def test_different_changes_to_the_same_lines_conflict(cc, base):
    diverge(cc, base, BASE_TEXT.replace(b"three", b"source"), BASE_TEXT.replace(b"three", b"dest"))
    before = tip(cc, "main")
    for merge in (cc.merge_branches_by_three_way, cc.merge_branches_by_squash):
        with pytest.raises(ClientError) as exc:
            merge(
                repositoryName="app",
                sourceCommitSpecifier="feature",
                destinationCommitSpecifier="main",
            )
        assert error_code(exc) == "ManualMergeRequiredException"
    assert tip(cc, "main") == before
    conflicts = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )
    assert conflicts["mergeable"] is False
    common = {
        "repositoryName": "app",
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
    }
    assert cc.get_merge_options(**common)["mergeOptions"] == []
    assert cc.get_merge_options(**common, conflictResolutionStrategy="ACCEPT_SOURCE")[
        "mergeOptions"
    ] == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    [metadata] = conflicts["conflictMetadataList"]
    assert metadata["filePath"] == "README.md"
    assert metadata["contentConflict"] is True
    assert metadata["numberOfConflicts"] == 1
    assert metadata["mergeOperations"] == {"source": "M", "destination": "M"}
    assert metadata["isBinaryFile"] == {"source": False, "destination": False, "base": False}
    assert metadata["fileSizes"]["base"] == len(BASE_TEXT)


def test_file_level_detail_treats_any_change_on_both_sides_as_a_conflict(cc, base):
    diverge(cc, base, BASE_TEXT.replace(b"two", b"TWO"), BASE_TEXT.replace(b"six", b"SIX"))
    for level, mergeable in (("LINE_LEVEL", True), ("FILE_LEVEL", False)):
        reply = cc.get_merge_conflicts(
            repositoryName="app",
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
            mergeOption="SQUASH_MERGE",
            conflictDetailLevel=level,
        )
        assert reply["mergeable"] is mergeable
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_squash(
            repositoryName="app",
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
            conflictDetailLevel="FILE_LEVEL",
        )
    assert error_code(exc) == "ManualMergeRequiredException"


def test_delete_against_modify_conflicts(cc, base):
    cc.delete_file(
        repositoryName="app",
        branchName="feature",
        filePath="notes.txt",
        parentCommitId=base,
    )
    put(cc, "main", base, "notes.txt", b"changed notes\n")
    reply = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )
    [metadata] = reply["conflictMetadataList"]
    assert metadata["mergeOperations"] == {"source": "D", "destination": "M"}
    assert "source" not in metadata["fileSizes"]


def test_file_mode_changes_merge_and_conflict(cc, base):
    cc.create_commit(
        repositoryName="app",
        branchName="feature",
        parentCommitId=base,
        setFileModes=[{"filePath": "notes.txt", "fileMode": "EXECUTABLE"}],
    )
    put(cc, "main", base, "README.md", b"changed\n")
    cc.merge_branches_by_three_way(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    mode = cc.get_file(repositoryName="app", filePath="notes.txt")["fileMode"]
    assert mode == "EXECUTABLE"
    # now main and feature set different modes on README.md
    cc.create_commit(
        repositoryName="app",
        branchName="feature",
        parentCommitId=tip(cc, "feature"),
        setFileModes=[{"filePath": "README.md", "fileMode": "EXECUTABLE"}],
    )
    cc.create_commit(
        repositoryName="app",
        branchName="main",
        parentCommitId=tip(cc, "main"),
        setFileModes=[{"filePath": "README.md", "fileMode": "SYMLINK"}],
    )
    [metadata] = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )["conflictMetadataList"]
    assert metadata["objectTypeConflict"] or metadata["fileModeConflict"]


def test_the_default_detail_level_is_file_level(cc, base):
    # Changes to different lines of one file conflict unless LINE_LEVEL is asked for (the
    # model: "If unspecified, the default FILE_LEVEL is used").
    diverge(cc, base, BASE_TEXT.replace(b"two", b"TWO"), BASE_TEXT.replace(b"six", b"SIX"))
    conflicts = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )
    assert conflicts["mergeable"] is False
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_three_way(
            repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
        )
    assert error_code(exc) == "ManualMergeRequiredException"
    line_level = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
        conflictDetailLevel="LINE_LEVEL",
    )
    assert line_level["mergeable"] is True


def test_describe_merge_conflicts_gives_hunks_of_each_side(cc, base):
    diverge(cc, base, BASE_TEXT.replace(b"three", b"source"), BASE_TEXT.replace(b"three", b"dest"))
    reply = cc.describe_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
        filePath="README.md",
        conflictDetailLevel="LINE_LEVEL",
    )
    [hunk] = reply["mergeHunks"]
    assert hunk["isConflict"] is True
    assert base64.b64decode(hunk["source"]["hunkContent"]) == b"source\n"
    assert base64.b64decode(hunk["destination"]["hunkContent"]) == b"dest\n"
    assert base64.b64decode(hunk["base"]["hunkContent"]) == b"three\n"
    assert (hunk["base"]["startLine"], hunk["base"]["endLine"]) == (2, 3)
    with pytest.raises(ClientError) as exc:
        cc.describe_merge_conflicts(
            repositoryName="app",
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
            mergeOption="FAST_FORWARD_MERGE",
            filePath="README.md",
        )
    assert error_code(exc) == "InvalidMergeOptionException"
    batch = cc.batch_describe_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
        filePaths=["README.md", "nope.txt"],
    )
    assert [c["conflictMetadata"]["filePath"] for c in batch["conflicts"]] == ["README.md"]
    assert batch["errors"][0]["filePath"] == "nope.txt"


def test_conflict_paging(cc, base):
    source = put(cc, "feature", base, "README.md", b"s1\n")
    put(cc, "feature", source, "notes.txt", b"s2\n")
    destination = put(cc, "main", base, "README.md", b"d1\n")
    put(cc, "main", destination, "notes.txt", b"d2\n")
    first = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
        maxConflictFiles=1,
    )
    second = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
        maxConflictFiles=1,
        nextToken=first["nextToken"],
    )
    paths = [m["filePath"] for r in (first, second) for m in r["conflictMetadataList"]]
    assert paths == ["README.md", "notes.txt"]
    assert "nextToken" not in second


@pytest.mark.parametrize(
    ("strategy", "expected"), [("ACCEPT_SOURCE", b"source\n"), ("ACCEPT_DESTINATION", b"dest\n")]
)
def test_accept_source_or_destination_resolves_conflicts(cc, base, strategy, expected):
    diverge(cc, base, b"source\n", b"dest\n")
    cc.merge_branches_by_three_way(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        conflictResolutionStrategy=strategy,
    )
    assert read(cc, "README.md", "main") == expected


def test_conflict_resolution_entries(cc, base):
    diverge(cc, base, b"source\n", b"dest\n")
    cc.delete_file(
        repositoryName="app",
        branchName="feature",
        filePath="notes.txt",
        parentCommitId=tip(cc, "feature"),
    )
    put(cc, "main", tip(cc, "main"), "notes.txt", b"dest notes\n")
    common = {
        "repositoryName": "app",
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
    }
    with pytest.raises(ClientError) as exc:  # notes.txt left unresolved
        cc.merge_branches_by_three_way(
            **common,
            conflictResolution={
                "replaceContents": [
                    {"filePath": "README.md", "replacementType": "USE_NEW_CONTENT", "content": b"x"}
                ]
            },
        )
    assert error_code(exc) == "ManualMergeRequiredException"
    bad = [
        (
            {"replaceContents": [{"filePath": "README.md", "replacementType": "USE_NEW_CONTENT"}]},
            "ReplacementContentRequiredException",
        ),
        (
            {
                "replaceContents": [
                    {"filePath": "README.md", "replacementType": "KEEP_BASE", "content": b"x"}
                ]
            },
            "InvalidReplacementContentException",
        ),
        (
            {"deleteFiles": [{"filePath": "README.md"}, {"filePath": "README.md"}]},
            "MultipleConflictResolutionEntriesException",
        ),
        ({"deleteFiles": [{"filePath": "other.txt"}]}, "InvalidConflictResolutionException"),
    ]
    for resolution, code in bad:
        with pytest.raises(ClientError) as exc:
            cc.merge_branches_by_squash(**common, conflictResolution=resolution)
        assert error_code(exc) == code, resolution
    unreferenced = cc.create_unreferenced_merge_commit(
        **common,
        mergeOption="THREE_WAY_MERGE",
        conflictResolution={
            "replaceContents": [
                {
                    "filePath": "README.md",
                    "replacementType": "USE_NEW_CONTENT",
                    "content": b"both\n",
                }
            ],
            "deleteFiles": [{"filePath": "notes.txt"}],
        },
    )
    assert read(cc, "README.md", unreferenced["commitId"]) == b"both\n"
    assert unreferenced["commitId"] not in {tip(cc, "main"), tip(cc, "feature")}
    reply = cc.merge_branches_by_squash(
        **common,
        conflictResolution={
            "replaceContents": [
                {"filePath": "README.md", "replacementType": "KEEP_BASE"},
                {
                    "filePath": "notes.txt",
                    "replacementType": "KEEP_DESTINATION",
                    "fileMode": "EXECUTABLE",
                },
            ]
        },
    )
    assert read(cc, "README.md", "main") == BASE_TEXT
    assert cc.get_file(repositoryName="app", filePath="notes.txt")["fileMode"] == "EXECUTABLE"
    assert tip(cc, "main") == reply["commitId"]


def test_create_unreferenced_merge_commit_moves_no_branch_and_refuses_fast_forward(cc, base):
    put(cc, "feature", base, "new.txt", b"new\n")
    common = {
        "repositoryName": "app",
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
    }
    reply = cc.create_unreferenced_merge_commit(**common, mergeOption="SQUASH_MERGE")
    assert tip(cc, "main") == base
    assert read(cc, "new.txt", reply["commitId"]) == b"new\n"
    with pytest.raises(ClientError) as exc:
        cc.create_unreferenced_merge_commit(**common, mergeOption="FAST_FORWARD_MERGE")
    assert error_code(exc) == "InvalidMergeOptionException"


def test_keep_empty_folders(cc, base):
    first = put(cc, "main", base, "docs/a.txt", b"a\n")
    cc.create_branch(repositoryName="app", branchName="cleanup", commitId=first)
    cc.delete_file(
        repositoryName="app", branchName="cleanup", filePath="docs/a.txt", parentCommitId=first
    )
    put(cc, "main", first, "other.txt", b"o\n")
    common = {
        "repositoryName": "app",
        "sourceCommitSpecifier": "cleanup",
        "destinationCommitSpecifier": "main",
        "mergeOption": "THREE_WAY_MERGE",
    }
    kept = cc.create_unreferenced_merge_commit(**common, keepEmptyFolders=True)
    read(cc, "docs/.gitkeep", kept["commitId"])
    dropped = cc.create_unreferenced_merge_commit(**common)
    with pytest.raises(ClientError):
        read(cc, "docs/.gitkeep", dropped["commitId"])


def test_bad_merge_requests_get_aws_errors(cc, base):
    common = {"repositoryName": "app", "sourceCommitSpecifier": "feature"}
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_squash(**common, destinationCommitSpecifier="nope")
    assert error_code(exc) == "CommitDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.get_merge_conflicts(
            **common,
            destinationCommitSpecifier="main",
            mergeOption="THREE_WAY_MERGE",
            maxConflictFiles=0,
        )
    assert error_code(exc) == "InvalidMaxConflictFilesException"
    with pytest.raises(ClientError) as exc:
        cc.get_merge_conflicts(
            **common,
            destinationCommitSpecifier="main",
            mergeOption="THREE_WAY_MERGE",
            nextToken="garbage!",
        )
    assert error_code(exc) == "InvalidContinuationTokenException"


def test_merging_what_the_destination_already_holds_writes_no_commit(cc, base):
    source = put(cc, "feature", base, "new.txt", b"new\n")
    cc.merge_branches_by_fast_forward(
        repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    for merge in (cc.merge_branches_by_three_way, cc.merge_branches_by_squash):
        reply = merge(
            repositoryName="app", sourceCommitSpecifier=base, destinationCommitSpecifier="main"
        )
        assert reply["commitId"] == source == tip(cc, "main")


def test_hostile_conflict_resolution_paths_get_invalid_path(cc, base):
    diverge(cc, base, b"source\n", b"dest\n")
    for path in ("../outside", ".git/config", "a/../../b"):
        with pytest.raises(ClientError) as exc:
            cc.merge_branches_by_three_way(
                repositoryName="app",
                sourceCommitSpecifier="feature",
                destinationCommitSpecifier="main",
                conflictResolution={"deleteFiles": [{"filePath": path}]},
            )
        assert error_code(exc) in ("InvalidPathException", "InvalidConflictResolutionException")


def test_merges_are_served_over_http(server_client):
    cc = server_client("codecommit")
    name = "merge-over-http"
    cc.create_repository(repositoryName=name)
    first = cc.put_file(repositoryName=name, branchName="main", filePath="a", fileContent=b"a")
    cc.create_branch(repositoryName=name, branchName="topic", commitId=first["commitId"])
    cc.put_file(
        repositoryName=name,
        branchName="topic",
        filePath="b",
        fileContent=b"b",
        parentCommitId=first["commitId"],
    )
    try:
        reply = cc.merge_branches_by_three_way(
            repositoryName=name, sourceCommitSpecifier="topic", destinationCommitSpecifier="main"
        )
        blob = cc.get_file(repositoryName=name, filePath="b", commitSpecifier=reply["commitId"])
        assert cc.get_blob(repositoryName=name, blobId=blob["blobId"])["content"] == b"b"
    finally:
        cc.delete_repository(repositoryName=name)


def test_a_file_on_one_side_and_a_folder_on_the_other_is_an_object_type_conflict(cc, base):
    put(cc, "feature", base, "docs", b"a file\n")
    put(cc, "main", base, "docs/guide.md", b"a folder's file\n")
    reply = cc.get_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="THREE_WAY_MERGE",
    )
    assert reply["mergeable"] is False
    [metadata] = reply["conflictMetadataList"]
    assert (metadata["filePath"], metadata["objectTypeConflict"]) == ("docs", True)
    with pytest.raises(ClientError) as exc:
        cc.merge_branches_by_three_way(
            repositoryName="app", sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
        )
    assert error_code(exc) == "ManualMergeRequiredException"


def test_describe_a_file_both_sides_changed_without_conflict(cc, base):
    diverge(cc, base, BASE_TEXT.replace(b"two", b"TWO"), BASE_TEXT.replace(b"six", b"SIX"))
    reply = cc.describe_merge_conflicts(
        repositoryName="app",
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        mergeOption="SQUASH_MERGE",
        filePath="README.md",
        maxMergeHunks=1,
        conflictDetailLevel="LINE_LEVEL",
    )
    assert reply["conflictMetadata"]["numberOfConflicts"] == 0
    assert [h["isConflict"] for h in reply["mergeHunks"]] == [False]
    assert reply["nextToken"]
