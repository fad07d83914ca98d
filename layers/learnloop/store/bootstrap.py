"""Create every table and the bucket of a stage; safe to run any number of times."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import TableError

from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.store.records import BaseModel
from learnloop.store.tables import Tables


@dataclass
class BootstrapReport:
    """What :func:`bootstrap` created and what already existed."""

    created_tables: list[str] = field(default_factory=list)
    existing_tables: list[str] = field(default_factory=list)
    bucket_created: bool = False
    #: ``table/index`` of each index added to a table that existed without it.
    created_indexes: list[str] = field(default_factory=list)


def bootstrap(
    settings: Settings, *, tables: Tables | None = None, s3: Any | None = None
) -> BootstrapReport:
    """Create the stage's tables (on-demand, GSIs, TTL) and bucket when missing.

    A table that exists but lacks an index a newer learnloop declares (a stage created by an
    older release) gets the index added, so upgrading never needs a hand-run UpdateTable.

    Parameters
    ----------
    settings
        The stage to create.
    tables, s3
        Injected bound tables and S3 client (default: built from ``settings``).

    Returns
    -------
    BootstrapReport
        Which tables were created and which already existed.

    Examples
    --------
    >>> report = bootstrap(Settings.from_env())  # doctest: +SKIP
    >>> report.created_tables  # doctest: +SKIP
    ['learnloop-dev-reactions', ...]
    """
    tables = tables or Tables(settings)
    report = BootstrapReport()
    # Tables are created in parallel: on AWS each one takes seconds to become ACTIVE.
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(_ensure_table, tables.all()))
    for model, was_created in zip(tables.all(), created, strict=True):
        names = report.created_tables if was_created else report.existing_tables
        names.append(model.Meta.table_name)
    existing = [m for m, was_created in zip(tables.all(), created, strict=True) if not was_created]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for added in pool.map(_ensure_indexes, existing):
            report.created_indexes.extend(added)
    report.bucket_created = _ensure_bucket(s3 or s3_client(settings), settings)
    return report


def _ensure_table(model: type[BaseModel]) -> bool:
    if model.exists():
        return False
    try:
        # create_table also enables TTL on models with a TTLAttribute.
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    except TableError as exc:
        # Another bootstrap created it between exists() and create_table(): fine.
        if "ResourceInUseException" not in str(exc.cause_response_code):
            raise
        return False
    return True


def _ensure_indexes(model: type[BaseModel], *, poll_seconds: float = 2.0) -> list[str]:
    """Add the model's global secondary indexes that its existing table lacks."""
    client = model._get_connection().connection.client
    table_name = model.Meta.table_name
    described = client.describe_table(TableName=table_name)["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()
    added: list[str] = []
    for index in schema["global_secondary_indexes"]:
        name = index["index_name"]
        if name in present:
            continue
        # DynamoDB builds one new index at a time per table, so each waits for the last.
        client.update_table(
            TableName=table_name,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": name,
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        _wait_for_index(client, table_name, name, poll_seconds)
        added.append(f"{table_name}/{name}")
    return added


def _wait_for_index(client: Any, table_name: str, index_name: str, poll_seconds: float) -> None:
    while True:
        described = client.describe_table(TableName=table_name)["Table"]
        statuses = {
            index["IndexName"]: index.get("IndexStatus", "ACTIVE")
            for index in described.get("GlobalSecondaryIndexes", [])
        }
        if statuses.get(index_name) == "ACTIVE":
            return
        time.sleep(poll_seconds)


def _ensure_bucket(s3: Any, settings: Settings) -> bool:
    # In us-east-1 CreateBucket on a bucket you own succeeds, so ask first.
    try:
        s3.head_bucket(Bucket=settings.bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": settings.bucket}
    if settings.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return False
        raise
    return True
