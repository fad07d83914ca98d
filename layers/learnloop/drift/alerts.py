"""``GET /v1/admin/alerts``: the latest drift check's alerts, or that none ran yet.

The ``drift_check`` job (:mod:`learnloop.drift.check`) records its latest result as the ledger
item ``drift_check#latest`` (and the same value under ``drift_check#{YYYY-MM-DD}``, the
history) with ``value = {"checked_at": iso, "window": {...}, "models": {...}, "alerts":
[{"model", "feature", "metric", "value", "threshold", "message"}, ...]}``; this reads it with
one GetItem and answers ``checked_at``, ``alerts`` (``feature`` is None for a performance
alert) and ``skipped``: each model the check could not judge, with the reason (too little recent
data, no production version), so "no alerts" is never mistaken for "no drift".

``actions`` is what the checks did about their alerts, newest first (at most 20; see
:func:`learnloop.drift.actions.timeline`): ``{"at", "model", "trigger", "action", "version",
"reason", "outcome", "outcome_reason"}``, the outcome read from the registry now.
"""

from __future__ import annotations

from typing import Any

from learnloop.drift.ledger import LATEST_KEY
from learnloop.store.tables import Tables


def latest_alerts(tables: Tables) -> dict[str, Any]:
    """``{"checked_at": iso | None, "alerts": [...], "skipped": {model: reason},
    "actions": [...]}``; ``checked_at`` is None before any check.

    Examples
    --------
    >>> latest_alerts(tables)  # doctest: +SKIP
    {'checked_at': None, 'alerts': [], 'skipped': {}, 'actions': []}
    """
    from learnloop.drift.actions import timeline

    try:
        entry = tables.ledger.get(LATEST_KEY)
    except tables.ledger.DoesNotExist:
        return {"checked_at": None, "alerts": [], "skipped": {}, "actions": []}
    value = entry.value if isinstance(entry.value, dict) else {}
    alerts = value.get("alerts")
    models = value.get("models")
    skipped = {
        str(name): str(report["skipped"])
        for name, report in (models.items() if isinstance(models, dict) else [])
        if isinstance(report, dict) and report.get("skipped")
    }
    return {
        "checked_at": value.get("checked_at") or entry.created_at,
        "alerts": alerts if isinstance(alerts, list) else [],
        "skipped": skipped,
        "actions": timeline(tables),
    }
