"""The ledger keys the ``drift_check`` job writes, owned here so readers never spell them.

Examples
--------
>>> from datetime import date
>>> LATEST_KEY, day_key(date(2026, 11, 20))
('drift_check#latest', 'drift_check#2026-11-20')
>>> action_key("2026-11-20T01:30:00+00:00", "engagement")
'drift_action#2026-11-20T01:30:00+00:00#engagement'
>>> cooldown_key("sentiment")
'drift_retrain#sentiment'
"""

from __future__ import annotations

from datetime import date

JOB = "drift_check"
#: The latest check's result: what ``GET /v1/admin/alerts`` and the dashboard read.
LATEST_KEY = f"{JOB}#latest"
#: ``by_pending`` partition of retrain requests the runtime cannot carry out itself
#: (container training jobs); the local stack's ``learnloop retrain --pending`` reads it.
RETRAIN_JOB = "retrain"


def day_key(day: date | str) -> str:
    """The history item of the check that ran on ``day`` (``YYYY-MM-DD``)."""
    return f"{JOB}#{day if isinstance(day, str) else day.isoformat()}"


def action_key(checked_at: str, model: str) -> str:
    """What one check did about one model's alerts (written once: redelivery-safe)."""
    return f"drift_action#{checked_at}#{model}"


def cooldown_key(model: str) -> str:
    """When the model was last retrained (or a retrain requested) because of drift."""
    return f"drift_retrain#{model}"


__all__ = ["JOB", "LATEST_KEY", "RETRAIN_JOB", "action_key", "cooldown_key", "day_key"]
