"""The local CodeCommit's API: AWS's shapes (checked on every reply), rules and errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def cc(client):
    return client("codecommit")


@pytest.fixture
def repo(cc):
    cc.create_repository(
        repositoryName="app", repositoryDescription="demo", tags={"lab:kit": "codepipeline-lab-kit"}
    )
    first = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="README.md",
        fileContent=b"# App\n",
        commitMessage="Add README",
    )
    return first["commitId"]


def test_create_repository_returns_metadata_with_local_clone_url(cc):
    meta = cc.create_repository(repositoryName="demo", repositoryDescription="d")[
        "repositoryMetadata"
    ]
    assert meta["repositoryName"] == "demo"
    assert meta["Arn"] == "arn:aws:codecommit:us-east-1:123456789012:demo"
    assert meta["cloneUrlHttp"].endswith("/v1/repos/demo")
    assert meta["repositoryDescription"] == "d"
    assert "defaultBranch" not in meta  # an empty repository has no branch yet


def test_repository_name_in_use_and_invalid_names(cc):
    cc.create_repository(repositoryName="demo")
    with pytest.raises(ClientError) as exc:
        cc.create_repository(repositoryName="demo")
    assert error_code(exc) == "RepositoryNameExistsException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for bad in ("has space", "x.git", "a/b"):
        with pytest.raises(ClientError) as exc:
            cc.create_repository(repositoryName=bad)
        assert error_code(exc) == "InvalidRepositoryNameException"


def test_get_missing_repository(cc):
    with pytest.raises(ClientError) as exc:
        cc.get_repository(repositoryName="nope")
    assert error_code(exc) == "RepositoryDoesNotExistException"


def test_first_file_creates_branch_and_default_branch(cc, repo):
    meta = cc.get_repository(repositoryName="app")["repositoryMetadata"]
    assert meta["defaultBranch"] == "main"
    assert cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"] == repo
    assert cc.list_branches(repositoryName="app")["branches"] == ["main"]


def test_put_file_parent_commit_rules(cc, repo):
    with pytest.raises(ClientError) as exc:
        cc.put_file(repositoryName="app", branchName="main", filePath="a.txt", fileContent=b"a")
    assert error_code(exc) == "ParentCommitIdRequiredException"
    second = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="a.txt",
        fileContent=b"a",
        parentCommitId=repo,
    )["commitId"]
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="main",
            filePath="b.txt",
            fileContent=b"b",
            parentCommitId=repo,
        )
    assert error_code(exc) == "ParentCommitIdOutdatedException"
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="main",
            filePath="b.txt",
            fileContent=b"b",
            parentCommitId="0" * 40,
        )
    assert error_code(exc) == "ParentCommitDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="main",
            filePath="a.txt",
            fileContent=b"a",
            parentCommitId=second,
        )
    assert error_code(exc) == "SameFileContentException"
    # Nothing was lost by the refused calls.
    assert cc.get_branch(repositoryName="app", branchName="main")["branch"]["commitId"] == second


def test_put_file_to_missing_branch_of_non_empty_repository(cc, repo):
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="feature",
            filePath="x",
            fileContent=b"x",
            parentCommitId=repo,
        )
    assert error_code(exc) == "BranchDoesNotExistException"


def test_get_file_and_folder(cc, repo):
    commit = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="src/app.py",
        fileContent=b"print('hi')\n",
        fileMode="EXECUTABLE",
        parentCommitId=repo,
    )["commitId"]
    got = cc.get_file(repositoryName="app", filePath="src/app.py")
    assert got["fileContent"] == b"print('hi')\n"
    assert got["fileMode"] == "EXECUTABLE" and got["fileSize"] == 12
    assert got["commitId"] == commit
    old = cc.get_file(repositoryName="app", filePath="README.md", commitSpecifier=repo)
    assert old["commitId"] == repo
    folder = cc.get_folder(repositoryName="app", folderPath="/")
    assert [f["absolutePath"] for f in folder["files"]] == ["README.md"]
    assert [f["absolutePath"] for f in folder["subFolders"]] == ["src"]
    sub = cc.get_folder(repositoryName="app", folderPath="src")
    assert sub["files"][0]["relativePath"] == "app.py"
    with pytest.raises(ClientError) as exc:
        cc.get_file(repositoryName="app", filePath="missing.txt")
    assert error_code(exc) == "FileDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.get_folder(repositoryName="app", folderPath="nowhere")
    assert error_code(exc) == "FolderDoesNotExistException"


def test_file_and_folder_name_conflicts(cc, repo):
    tip = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="docs/a.md",
        fileContent=b"a",
        parentCommitId=repo,
    )["commitId"]
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="main",
            filePath="docs",
            fileContent=b"x",
            parentCommitId=tip,
        )
    assert error_code(exc) == "FileNameConflictsWithDirectoryNameException"
    with pytest.raises(ClientError) as exc:
        cc.put_file(
            repositoryName="app",
            branchName="main",
            filePath="README.md/x",
            fileContent=b"x",
            parentCommitId=tip,
        )
    assert error_code(exc) == "DirectoryNameConflictsWithFileNameException"


def test_delete_file(cc, repo):
    tip = cc.put_file(
        repositoryName="app",
        branchName="main",
        filePath="docs/a.md",
        fileContent=b"a",
        parentCommitId=repo,
    )["commitId"]
    deleted = cc.delete_file(
        repositoryName="app",
        branchName="main",
        filePath="docs/a.md",
        parentCommitId=tip,
        keepEmptyFolders=True,
    )
    assert deleted["filePath"] == "docs/a.md"
    names = [
        f["absolutePath"] for f in cc.get_folder(repositoryName="app", folderPath="docs")["files"]
    ]
    assert names == ["docs/.gitkeep"]
    with pytest.raises(ClientError) as exc:
        cc.delete_file(
            repositoryName="app",
            branchName="main",
            filePath="docs/a.md",
            parentCommitId=deleted["commitId"],
        )
    assert error_code(exc) == "FileDoesNotExistException"


def test_create_commit_with_puts_deletes_and_modes(cc, repo):
    result = cc.create_commit(
        repositoryName="app",
        branchName="main",
        parentCommitId=repo,
        authorName="Ada",
        email="ada@example.com",
        commitMessage="Many changes",
        putFiles=[
            {"filePath": "app.py", "fileContent": b"print(1)\n"},
            {"filePath": "README.md", "fileContent": b"# App v2\n"},
        ],
        setFileModes=[],
    )
    assert [f["absolutePath"] for f in result["filesAdded"]] == ["app.py"]
    assert [f["absolutePath"] for f in result["filesUpdated"]] == ["README.md"]
    second = cc.create_commit(
        repositoryName="app",
        branchName="main",
        parentCommitId=result["commitId"],
        deleteFiles=[{"filePath": "README.md"}],
        setFileModes=[{"filePath": "app.py", "fileMode": "EXECUTABLE"}],
    )
    assert [f["absolutePath"] for f in second["filesDeleted"]] == ["README.md"]
    commit = cc.get_commit(repositoryName="app", commitId=result["commitId"])["commit"]
    assert commit["author"]["name"] == "Ada" and commit["author"]["email"] == "ada@example.com"
    assert commit["parents"] == [repo] and commit["message"] == "Many changes"
    with pytest.raises(ClientError) as exc:
        cc.create_commit(
            repositoryName="app",
            branchName="main",
            parentCommitId=second["commitId"],
            putFiles=[{"filePath": "app.py", "fileContent": b"print(1)\n"}],
        )
    assert error_code(exc) == "NoChangeException"
    with pytest.raises(ClientError) as exc:
        cc.create_commit(
            repositoryName="app",
            branchName="main",
            parentCommitId=second["commitId"],
            putFiles=[{"filePath": "x", "fileContent": b"1"}],
            deleteFiles=[{"filePath": "x"}],
        )
    assert error_code(exc) == "SamePathRequestException"


def test_get_commit_errors(cc, repo):
    with pytest.raises(ClientError) as exc:
        cc.get_commit(repositoryName="app", commitId="f" * 40)
    assert error_code(exc) == "CommitIdDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.get_commit(repositoryName="app", commitId="not-a-sha")
    assert error_code(exc) == "InvalidCommitIdException"


def test_get_differences(cc, repo):
    second = cc.create_commit(
        repositoryName="app",
        branchName="main",
        parentCommitId=repo,
        putFiles=[
            {"filePath": "app.py", "fileContent": b"1"},
            {"filePath": "README.md", "fileContent": b"changed"},
        ],
    )["commitId"]
    changes = cc.get_differences(
        repositoryName="app", beforeCommitSpecifier=repo, afterCommitSpecifier=second
    )["differences"]
    by_path = {(c.get("afterBlob") or c["beforeBlob"])["path"]: c for c in changes}
    assert by_path["app.py"]["changeType"] == "A"
    assert by_path["README.md"]["changeType"] == "M"
    assert by_path["README.md"]["beforeBlob"]["mode"] == "100644"
    everything = cc.get_differences(repositoryName="app", afterCommitSpecifier="main")
    assert {c["changeType"] for c in everything["differences"]} == {"A"}
    page = cc.get_differences(repositoryName="app", afterCommitSpecifier="main", MaxResults=1)
    assert len(page["differences"]) == 1 and page["NextToken"]
    rest = cc.get_differences(
        repositoryName="app", afterCommitSpecifier="main", NextToken=page["NextToken"]
    )
    assert len(rest["differences"]) == 1 and "NextToken" not in rest


def test_branches(cc, repo):
    cc.create_branch(repositoryName="app", branchName="feature", commitId=repo)
    assert cc.get_branch(repositoryName="app", branchName="feature")["branch"]["commitId"] == repo
    with pytest.raises(ClientError) as exc:
        cc.create_branch(repositoryName="app", branchName="feature", commitId=repo)
    assert error_code(exc) == "BranchNameExistsException"
    with pytest.raises(ClientError) as exc:
        cc.create_branch(repositoryName="app", branchName="other", commitId="a" * 40)
    assert error_code(exc) == "CommitDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.delete_branch(repositoryName="app", branchName="main")
    assert error_code(exc) == "DefaultBranchCannotBeDeletedException"
    cc.update_default_branch(repositoryName="app", defaultBranchName="feature")
    assert (
        cc.get_repository(repositoryName="app")["repositoryMetadata"]["defaultBranch"] == "feature"
    )
    deleted = cc.delete_branch(repositoryName="app", branchName="main")["deletedBranch"]
    assert deleted == {"branchName": "main", "commitId": repo}
    with pytest.raises(ClientError) as exc:
        cc.get_branch(repositoryName="app", branchName="main")
    assert error_code(exc) == "BranchDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.update_default_branch(repositoryName="app", defaultBranchName="gone")
    assert error_code(exc) == "BranchDoesNotExistException"


def test_list_batch_update_and_delete_repositories(cc):
    for name in ("b-repo", "a-repo", "c-repo"):
        cc.create_repository(repositoryName=name)
    names = [r["repositoryName"] for r in cc.list_repositories()["repositories"]]
    assert names == ["a-repo", "b-repo", "c-repo"]
    names = [r["repositoryName"] for r in cc.list_repositories(order="descending")["repositories"]]
    assert names == ["c-repo", "b-repo", "a-repo"]
    batch = cc.batch_get_repositories(repositoryNames=["a-repo", "zzz"])
    assert [r["repositoryName"] for r in batch["repositories"]] == ["a-repo"]
    assert batch["repositoriesNotFound"] == ["zzz"]
    cc.update_repository_description(repositoryName="a-repo", repositoryDescription="new")
    assert (
        cc.get_repository(repositoryName="a-repo")["repositoryMetadata"]["repositoryDescription"]
        == "new"
    )
    repository_id = cc.get_repository(repositoryName="a-repo")["repositoryMetadata"]["repositoryId"]
    assert cc.delete_repository(repositoryName="a-repo")["repositoryId"] == repository_id
    assert "repositoryId" not in cc.delete_repository(repositoryName="a-repo")


def test_tags(cc):
    arn = cc.create_repository(repositoryName="t", tags={"a": "1"})["repositoryMetadata"]["Arn"]
    cc.tag_resource(resourceArn=arn, tags={"b": "2"})
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "2"}
    cc.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(ClientError) as exc:
        cc.tag_resource(resourceArn=arn, tags={"aws:x": "1"})
    assert error_code(exc) == "InvalidSystemTagUsageException"
    with pytest.raises(ClientError) as exc:
        cc.list_tags_for_resource(resourceArn="arn:aws:codecommit:us-east-1:123456789012:nope")
    assert error_code(exc) == "RepositoryDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.list_tags_for_resource(resourceArn="not-an-arn")
    assert error_code(exc) == "InvalidResourceArnException"


def test_repositories_are_per_region(client):
    east, west = client("codecommit", "us-east-1"), client("codecommit", "eu-west-1")
    east.create_repository(repositoryName="r")
    with pytest.raises(ClientError):
        west.get_repository(repositoryName="r")


def test_create_commit_needs_exactly_one_of_content_and_source(cc, repo):
    with pytest.raises(ClientError) as exc:
        cc.create_commit(
            repositoryName="app",
            branchName="main",
            parentCommitId=repo,
            putFiles=[{"filePath": "x.txt"}],
        )
    assert error_code(exc) == "SourceFileOrContentRequiredException"
    with pytest.raises(ClientError) as exc:
        cc.create_commit(
            repositoryName="app",
            branchName="main",
            parentCommitId=repo,
            putFiles=[
                {"filePath": "x.txt", "fileContent": b"1", "sourceFile": {"filePath": "README.md"}}
            ],
        )
    assert error_code(exc) == "FileContentAndSourceFileSpecifiedException"
    moved = cc.create_commit(
        repositoryName="app",
        branchName="main",
        parentCommitId=repo,
        putFiles=[
            {"filePath": "docs/README.md", "sourceFile": {"filePath": "README.md", "isMove": True}}
        ],
    )
    assert [f["absolutePath"] for f in moved["filesDeleted"]] == ["README.md"]
    assert cc.get_file(repositoryName="app", filePath="docs/README.md")["fileContent"] == b"# App\n"


def test_get_differences_rejects_max_results_below_one(cc, repo):
    with pytest.raises(ClientError) as exc:
        cc.get_differences(repositoryName="app", afterCommitSpecifier="main", MaxResults=0)
    assert error_code(exc) == "InvalidMaxResultsException"
