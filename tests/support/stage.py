"""A test's stage: fresh settings, the environment that points at it, and a copy of another's."""

from __future__ import annotations

import uuid
from typing import Any

#: BatchWriteItem takes at most 25 items per request.
_BATCH = 25


def new_stage_settings(endpoint_url: str) -> Any:
    """Settings of a new, uniquely named stage on ``endpoint_url`` (nothing created yet)."""
    from learnloop.settings import Settings

    stage = f"t{uuid.uuid4().hex[:10]}"
    return Settings(
        stage=stage,
        region="us-east-1",
        table_prefix=f"{stage}-",
        bucket=f"{stage}-bucket",
        endpoint_url=endpoint_url,
        pseudonym_secret="test-secret",
        # No exploration unless a test asks for it: answers stay deterministic.
        bandit_epsilon=0.0,
        recommend_epsilon=0.0,
    )


def stage_environment(settings: Any) -> dict[str, str]:
    """The variables that point code building its own settings at ``settings``' stage."""
    return {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "LEARNLOOP_STAGE": settings.stage,
        "LEARNLOOP_TABLE_PREFIX": settings.table_prefix,
        "LEARNLOOP_BUCKET": settings.bucket,
        "LEARNLOOP_PSEUDONYM_SECRET": settings.pseudonym_secret,
    }


def copy_stage(source: Any, target: Any, s3: Any, dynamodb: Any) -> int:
    """Copy every item of ``source``'s tables and every object of its bucket into ``target``.

    Both are bootstrapped :class:`~learnloop.store.Tables` with the same ``day_shards``. Items
    go over as stored (raw DynamoDB JSON, Scan then BatchWriteItem), so ``target`` reads
    exactly what was written to ``source``: a module can build an expensive stage once and
    give each test its own copy. ``dynamodb`` is a low-level client. Returns the items copied.
    """
    assert source.settings.day_shards == target.settings.day_shards
    copied = 0
    for entity, model in ((m.entity, m) for m in source.all()):
        table = target.model(entity).Meta.table_name
        items = [
            item
            for page in dynamodb.get_paginator("scan").paginate(TableName=model.Meta.table_name)
            for item in page.get("Items", [])
        ]
        for start in range(0, len(items), _BATCH):
            pending = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + _BATCH]]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        copied += len(items)
    bucket = target.settings.bucket
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source.settings.bucket):
        for listed in page.get("Contents", []):
            s3.copy_object(
                Bucket=bucket,
                Key=listed["Key"],
                CopySource={"Bucket": source.settings.bucket, "Key": listed["Key"]},
            )
    return copied
