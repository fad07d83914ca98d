"""Key formats shared by every table: day partitions and composite keys.

Examples
--------
>>> from datetime import datetime, timezone
>>> ts = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
>>> day_shard(ts, "user-1", shards=4)
'2026-11-20#0'
>>> item_key("meme", "abc")
'meme#abc'
"""

from __future__ import annotations

import zlib
from datetime import date, datetime

from learnloop.clock import as_utc


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
