"""What the admin routes read: daily rollups, bandit posteriors, drift alerts.

Each function takes the stage's tables (and the request's query) and returns a JSON-ready
dict; the routes in ``functions/app.py`` only call them.
"""

from __future__ import annotations

from learnloop.admin.alerts import DRIFT_LEDGER_KEY, latest_alerts
from learnloop.admin.bandits import bandit_posteriors
from learnloop.admin.stats import MAX_RANGE_DAYS, daily_stats

__all__ = [
    "DRIFT_LEDGER_KEY",
    "MAX_RANGE_DAYS",
    "bandit_posteriors",
    "daily_stats",
    "latest_alerts",
]
