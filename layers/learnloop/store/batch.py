"""Batch writes that use DynamoDB's whole request budget at once."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from learnloop.store.records import BaseModel

#: BatchWriteItem takes at most 25 items per request.
BATCH_WRITE_LIMIT = 25


def write_in_parallel(
    model: type[BaseModel], items: Sequence[BaseModel], *, workers: int = 4
) -> None:
    """Save ``items`` in 25-item BatchWriteItem requests sent concurrently.

    Each request retries its UnprocessedItems with backoff (PynamoDB's BatchWrite), so every
    item is stored or an error is raised. Writes are idempotent puts: a retry is harmless.
    """
    chunks = [items[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(items), BATCH_WRITE_LIMIT)]

    def write(chunk: Sequence[BaseModel]) -> None:
        with model.batch_write() as batch:
            for item in chunk:
                batch.save(item)

    if len(chunks) <= 1:
        for chunk in chunks:
            write(chunk)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        list(pool.map(write, chunks))
