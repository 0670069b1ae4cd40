"""CodeBuild source credentials (access-tokens.md): import, list, delete; the token is never
shown again; one credential per server type, replaced unless shouldOverwrite is false."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers.emulator.codebuild.source_credentials import source_credential_backends

ACCOUNT, REGION = "123456789012", "us-east-1"
CONNECTION = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/"
    + "0" * 8
    + "-"
    + ("0000-0000-0000-" + "0" * 12)
)


@pytest.fixture
def cb(client):
    return client("codebuild")


def error_code(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_import_list_delete_and_the_token_is_never_shown(cb):
    arn = cb.import_source_credentials(
        serverType="GITHUB", authType="PERSONAL_ACCESS_TOKEN", token="ghp_secret123"
    )["arn"]
    assert arn == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:token/github"
    listed = cb.list_source_credentials()
    assert listed["sourceCredentialsInfos"] == [
        {"arn": arn, "serverType": "GITHUB", "authType": "PERSONAL_ACCESS_TOKEN"}
    ]
    assert "ghp_secret123" not in repr(listed)
    stored = source_credential_backends[ACCOUNT][REGION].credentials["GITHUB"]
    assert "ghp_secret123" not in repr(vars(stored))  # only a fingerprint is kept
    assert cb.delete_source_credentials(arn=arn)["arn"] == arn
    assert cb.list_source_credentials()["sourceCredentialsInfos"] == []
    code, _ = error_code(cb.delete_source_credentials, arn=arn)
    assert code == "ResourceNotFoundException"


def test_one_credential_per_server_type_and_should_overwrite(cb):
    first = cb.import_source_credentials(
        serverType="BITBUCKET", authType="BASIC_AUTH", token="app-pass", username="learner"
    )["arn"]
    # Default shouldOverwrite is true: the same server type is replaced, same ARN.
    again = cb.import_source_credentials(
        serverType="BITBUCKET", authType="PERSONAL_ACCESS_TOKEN", token="other"
    )["arn"]
    assert again == first
    infos = cb.list_source_credentials()["sourceCredentialsInfos"]
    assert [(i["serverType"], i["authType"]) for i in infos] == [
        ("BITBUCKET", "PERSONAL_ACCESS_TOKEN")
    ]
    code, message = error_code(
        cb.import_source_credentials,
        serverType="BITBUCKET",
        authType="PERSONAL_ACCESS_TOKEN",
        token="third",
        shouldOverwrite=False,
    )
    assert code == "ResourceAlreadyExistsException"
    assert "BITBUCKET" in message
    # Another server type is another credential.
    cb.import_source_credentials(
        serverType="GITLAB", authType="PERSONAL_ACCESS_TOKEN", token="glpat", shouldOverwrite=False
    )
    infos = cb.list_source_credentials()["sourceCredentialsInfos"]
    assert sorted(i["arn"].rsplit("/", 1)[-1] for i in infos) == ["bitbucket", "gitlab"]


def test_connection_credential_shows_its_resource(cb):
    cb.import_source_credentials(serverType="GITHUB", authType="CODECONNECTIONS", token=CONNECTION)
    (info,) = cb.list_source_credentials()["sourceCredentialsInfos"]
    assert info["resource"] == CONNECTION


@pytest.mark.parametrize(
    "params, words",
    [
        ({"serverType": "GITHUB", "authType": "OAUTH", "token": "x"}, "console"),
        ({"serverType": "GITHUB", "authType": "BASIC_AUTH", "token": "x"}, "not supported"),
        ({"serverType": "BITBUCKET", "authType": "BASIC_AUTH", "token": "x"}, "username"),
        ({"serverType": "GITHUB", "authType": "CODECONNECTIONS", "token": "x"}, "connection"),
        ({"serverType": "GITLAB", "authType": "SECRETS_MANAGER", "token": "x"}, "secret"),
    ],
)
def test_invalid_credentials_are_refused(cb, params, words):
    code, message = error_code(cb.import_source_credentials, **params)
    assert code == "InvalidInputException"
    assert words in message
    assert cb.list_source_credentials()["sourceCredentialsInfos"] == []


def test_credentials_over_http(server_client):
    cb = server_client("codebuild", region="eu-west-3")
    arn = cb.import_source_credentials(
        serverType="GITHUB_ENTERPRISE", authType="PERSONAL_ACCESS_TOKEN", token="t0ken"
    )["arn"]
    assert arn.endswith(":token/github_enterprise")
    assert arn in [i["arn"] for i in cb.list_source_credentials()["sourceCredentialsInfos"]]
    cb.delete_source_credentials(arn=arn)
