"""Key formats shared by every table: timestamps, day partitions, composite keys.

Examples
--------
>>> from datetime import datetime, timezone
>>> ts = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
>>> iso(ts)
'2026-11-20T09:30:00.000000Z'
>>> day_shard(ts, "user-1", shards=4)
'2026-11-20#0'
>>> item_key("meme", "abc")
'meme#abc'
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(ts: datetime) -> datetime:
    """``ts`` converted to UTC; naive datetimes are taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    """A fixed-width UTC timestamp whose string order is its time order."""
    return as_utc(ts).strftime(_ISO_FORMAT)


def shard_of(key: str, shards: int) -> int:
    """A stable shard number for ``key`` (crc32: the same in every process and language)."""
    return zlib.crc32(key.encode("utf-8")) % shards


def day_shard(ts: datetime, key: str, *, shards: int) -> str:
    """The ``{yyyy-mm-dd}#{shard}`` partition a record of ``key`` at ``ts`` belongs to."""
    return f"{as_utc(ts).date().isoformat()}#{shard_of(key, shards)}"


def day_partitions(day: date, *, shards: int) -> list[str]:
    """Every partition key of ``day``: what a scheduled job queries to read one day."""
    return [f"{day.isoformat()}#{shard}" for shard in range(shards)]


def item_key(content_type: str, external_id: str) -> str:
    """The reactions range key of one piece of content."""
    return f"{content_type}#{external_id}"
