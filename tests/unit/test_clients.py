"""Clients are built once per service, region and endpoint, and reused (no network here)."""

from __future__ import annotations

import boto3

from learnloop.settings import Settings
from learnloop.store.clients import dynamodb_client, s3_client


def test_one_client_per_service_region_and_endpoint_is_built_and_reused() -> None:
    here = Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:1")
    first = s3_client(here)
    assert s3_client(here) is first
    # Another stage on the same endpoint shares it: a client is not tied to a stage.
    assert s3_client(here.with_overrides(stage="other", bucket="other")) is first
    assert s3_client(here.with_overrides(endpoint_url="http://127.0.0.1:2")) is not first
    assert s3_client(here.with_overrides(region="us-east-1")) is not first
    assert dynamodb_client(here) is dynamodb_client(here) is not first
    assert first.meta.region_name == "eu-west-1"
    assert first.meta.endpoint_url == "http://127.0.0.1:1"
    assert first.meta.config.s3 == {"addressing_style": "path"}
    assert dynamodb_client(here).meta.service_model.service_name == "dynamodb"


def test_a_given_session_builds_a_new_client() -> None:
    here = Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:1")
    session = boto3.session.Session(
        aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1"
    )
    built = s3_client(here, session=session)
    assert built is not s3_client(here)
    assert built is not s3_client(here, session=session)
    assert built.meta.config.s3 == {"addressing_style": "path"}
