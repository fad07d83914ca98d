"""The ledger keys the ``drift_check`` job writes, owned here so readers never spell them.

Examples
--------
>>> from datetime import date
>>> LATEST_KEY, day_key(date(2026, 11, 20))
('drift_check#latest', 'drift_check#2026-11-20')
"""

from __future__ import annotations

from datetime import date

JOB = "drift_check"
#: The latest check's result: what ``GET /v1/admin/alerts`` and the dashboard read.
LATEST_KEY = f"{JOB}#latest"


def day_key(day: date | str) -> str:
    """The history item of the check that ran on ``day`` (``YYYY-MM-DD``)."""
    return f"{JOB}#{day if isinstance(day, str) else day.isoformat()}"


__all__ = ["JOB", "LATEST_KEY", "day_key"]
