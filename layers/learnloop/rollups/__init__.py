"""Rollups: one ``daily_stats`` item per day.

- ``compute``: the day's figures from its rows (pure: no store, no clock).
- ``job``: the ``rollup_daily`` job that reads a day's partitions and writes the item.
- ``stats``: ``GET /v1/admin/stats``.
"""

from __future__ import annotations

__all__: list[str] = []
