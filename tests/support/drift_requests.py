"""A pending retrain request without a model: the drift job's actions on a made-up check."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from learnloop.drift.actions import act_on_drift

CHECKED_AT = "2026-11-20T01:30:00.000000Z"


def request_retrain(tables: Any, model: str = "two_tower") -> dict[str, Any]:
    """Record what ``drift_check`` records for an alert on ``model`` (a container model)."""
    alert = {
        "model": model,
        "feature": None,
        "metric": "recall@10",
        "value": 0.1,
        "threshold": 0.8,
        "message": f"{model}: recall@10 0.100 vs 0.900 at validation",
    }
    check = SimpleNamespace(checked_at=CHECKED_AT, window={"days": 7}, alerts=[alert])
    from datetime import datetime

    now = datetime.fromisoformat(CHECKED_AT.replace("Z", "+00:00"))
    [action] = act_on_drift(tables, None, check, now)
    return action
