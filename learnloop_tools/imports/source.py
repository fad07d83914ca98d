"""Where an import's bytes come from, and batched writes with progress.

Examples
--------
>>> split_s3_uri("s3://bucket/prices/BTC-USD.csv")
('bucket', 'prices/BTC-USD.csv')
>>> seen = []
>>> write_in_batches(list(range(5)), lambda chunk: len(chunk), batch_size=2, progress=seen.append)
5
>>> seen
[2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from learnloop.exceptions import BadRequestError
from learnloop.settings import Settings

T = TypeVar("T")

#: Rows per write: 40 BatchWriteItem requests, sent 4 at a time.
DEFAULT_BATCH_SIZE = 1000


class ImportSourceError(BadRequestError):
    """The source cannot be read (no such file or object, not an ``s3://`` URI)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ImportSourceError(f"{uri!r} is not s3://bucket/key")
    return bucket, key


def read_source(
    source: str | Path, *, settings: Settings | None = None, s3: Any | None = None
) -> tuple[bytes, str]:
    """The bytes of a local file or an ``s3://bucket/key`` object, and its file name."""
    text = str(source)
    if text.startswith("s3://"):
        bucket, key = split_s3_uri(text)
        if s3 is None:
            from learnloop.store.clients import s3_client

            s3 = s3_client(settings or Settings.from_env())
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # botocore's errors are dynamic classes
            raise ImportSourceError(f"cannot read {text}: {exc}") from exc
        return bytes(body), key.rsplit("/", 1)[-1]
    path = Path(text)
    if not path.is_file():
        raise ImportSourceError(f"no such file: {text}")
    return path.read_bytes(), path.name


def write_in_batches(
    items: Sequence[T],
    write: Callable[[Sequence[T]], int],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``write`` each ``batch_size`` slice of ``items`` in turn; returns what ``write``
    counted. ``progress(n)`` is told each batch's size as it lands."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    written = 0
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        written += write(chunk)
        if progress is not None:
            progress(len(chunk))
    return written
