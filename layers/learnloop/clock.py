"""The clock: UTC "now" and the fixed-width timestamps every table and export stores.

Examples
--------
>>> from datetime import datetime, timezone
>>> iso(datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc))
'2026-11-20T09:30:00.000000Z'
>>> as_utc(datetime(2026, 11, 20, 9, 30)).tzinfo
datetime.timezone.utc
"""

from __future__ import annotations

from datetime import UTC, datetime

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


__all__ = ["as_utc", "iso", "utcnow"]
