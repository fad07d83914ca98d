"""Empty a stage's tables and bucket (the demo starts every run from nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from learnloop.store.tables import Tables


def reset_stage(tables: Tables, s3: Any, *, keep: Iterable[str] = ("api_keys",)) -> dict[str, int]:
    """Delete every item of the stage's tables but ``keep``, and every object of its bucket.

    This Scans: it is an operator's tool, never a request path.

    Returns
    -------
    dict
        Items (or, under ``"bucket"``, objects) deleted per table.
    """
    kept = set(keep)
    removed: dict[str, int] = {}
    for model in tables.all():
        if model.entity in kept:
            continue
        count = 0
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
                count += 1
        removed[model.entity] = count
    bucket = tables.settings.bucket
    objects = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            objects += len(keys)
    removed["bucket"] = objects
    return removed
