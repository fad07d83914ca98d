"""The clock: UTC "now" and the fixed-width timestamps every table and export stores.

Examples
--------
>>> from datetime import datetime, timezone
>>> iso(datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc))
'2026-11-20T09:30:00.000000Z'
>>> iso(datetime(1, 1, 1, tzinfo=timezone.utc))
'0001-01-01T00:00:00.000000Z'
>>> as_utc(datetime(2026, 11, 20, 9, 30)).tzinfo
datetime.timezone.utc
"""

from __future__ import annotations

from datetime import UTC, datetime

# No %Y: glibc does not zero-pad years before 1000 ("1-01-01T..."), which breaks the order.
_ISO_FORMAT = "-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(ts: datetime) -> datetime:
    """``ts`` converted to UTC; naive datetimes are taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    """A fixed-width UTC timestamp whose string order is its time order."""
    utc = as_utc(ts)
    return f"{utc.year:04d}" + utc.strftime(_ISO_FORMAT)


__all__ = ["as_utc", "iso", "utcnow"]
