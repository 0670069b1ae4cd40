"""helpers/shared_loader.py: botocore sessions of one process share one loader."""

from __future__ import annotations

import boto3
import botocore.session

from helpers import shared_loader


def test_sessions_share_one_loader_and_its_parsed_models():
    shared_loader.install()
    first, second = botocore.session.Session(), botocore.session.Session()
    loader = first.get_component("data_loader")
    assert second.get_component("data_loader") is loader
    model = first.get_service_model("codepipeline")
    assert second.get_service_model("codepipeline")._service_description is (
        model._service_description
    )


def test_boto3_sessions_do_not_grow_the_search_paths():
    shared_loader.install()
    boto3.Session()
    paths = list(botocore.session.Session().get_component("data_loader").search_paths)
    for _ in range(3):
        boto3.Session()
    assert botocore.session.Session().get_component("data_loader").search_paths == paths
    assert len(paths) == len(set(paths))


def test_another_data_path_gets_a_loader_of_its_own(tmp_path, monkeypatch):
    shared_loader.install()
    default = botocore.session.Session().get_component("data_loader")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    other = botocore.session.Session().get_component("data_loader")
    assert other is not default
    assert str(tmp_path) in other.search_paths
