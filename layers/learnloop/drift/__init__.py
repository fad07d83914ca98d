"""Drift: is the production model still right about today's data?

- ``statistics``: PSI per feature and the metrics drift compares (numpy only).
- ``check``: the daily ``drift_check`` job; it writes the ``drift_check#…`` ledger items.
- ``alerts``: ``GET /v1/admin/alerts``, read from what ``check`` wrote.
"""

from __future__ import annotations

__all__: list[str] = []
