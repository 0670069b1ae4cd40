"""Teardown of CodeBuild source credentials: they take no tags, so only those the kit
recorded when a lab imported them (by server type) go; a credential imported outside the
kit's session stays."""

from __future__ import annotations

import boto3

from tests.test_teardown import PREFIX, planned_names, server_env, teardown_cli

__all__ = ["server_env"]  # the fixture, used by name


def test_recorded_source_credentials_go_and_others_stay(server_env, server_client, capsys):
    from helpers import created

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    created.watch(session, PREFIX)
    ours = session.client("codebuild", endpoint_url=server_env.endpoint)
    codebuild = server_client("codebuild")
    ours.import_source_credentials(
        serverType="GITLAB_SELF_MANAGED", authType="PERSONAL_ACCESS_TOKEN", token="glpat"
    )
    codebuild.import_source_credentials(  # as the aws CLI would: not the kit's record
        serverType="BITBUCKET", authType="BASIC_AUTH", token="app", username="someone"
    )
    planned = planned_names(capsys)
    assert "GITLAB_SELF_MANAGED" in planned
    assert "BITBUCKET" not in planned

    assert teardown_cli.main(["--yes"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    left = {i["serverType"] for i in codebuild.list_source_credentials()["sourceCredentialsInfos"]}
    assert "GITLAB_SELF_MANAGED" not in left and "BITBUCKET" in left
    assert (created.SOURCE_CREDENTIAL, "GITLAB_SELF_MANAGED", "us-east-1") not in created.recorded(
        PREFIX
    )
    codebuild.delete_source_credentials(
        arn=codebuild.import_source_credentials(
            serverType="BITBUCKET", authType="BASIC_AUTH", token="app", username="someone"
        )["arn"]
    )
