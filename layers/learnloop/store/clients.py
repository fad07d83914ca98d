"""boto3 clients built from settings; callers may always inject their own instead."""

from __future__ import annotations

from typing import Any

import boto3

from learnloop.settings import Settings


def s3_client(settings: Settings, *, session: boto3.session.Session | None = None) -> Any:
    """An S3 client for ``settings`` (path-style addressing, which every emulator accepts)."""
    from botocore.config import Config

    session = session or boto3.session.Session()
    return session.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def dynamodb_client(settings: Settings, *, session: boto3.session.Session | None = None) -> Any:
    """A low-level DynamoDB client for ``settings``."""
    session = session or boto3.session.Session()
    return session.client(
        "dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url
    )
