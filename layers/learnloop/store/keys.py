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
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

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


def item_key_of(properties: Mapping[str, Any], content_types: Sequence[str]) -> str | None:
    """The item an event's properties name, as ``{content_type}#{external_id}``, if any.

    ``content_type`` + ``external_id``, an ``item_key`` of a known content type, or an
    ``insight_id`` (an ``ai_insight`` item) name an item.

    Examples
    --------
    >>> item_key_of({"content_type": "coin", "external_id": "BTC"}, ("coin",))
    'coin#BTC'
    >>> item_key_of({"content_type": "car", "external_id": "x"}, ("coin",)) is None
    True
    """
    content_type, external_id = properties.get("content_type"), properties.get("external_id")
    if isinstance(content_type, str) and isinstance(external_id, str):
        return f"{content_type}#{external_id}" if content_type in content_types else None
    key = properties.get("item_key")
    if isinstance(key, str) and key.partition("#")[0] in content_types and "#" in key:
        return key
    insight_id = properties.get("insight_id")
    if isinstance(insight_id, str) and "ai_insight" in content_types:
        return f"ai_insight#{insight_id}"
    return None
