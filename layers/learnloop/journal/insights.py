"""The journal's side of insight feedback: ``insight_helpful`` / ``insight_not_helpful`` events.

The feedback route and these events write one item per (insight, user) through
:func:`learnloop.ingest.insights.write_feedback`: one helpfulness signal, whichever channel
it came on, the latest verdict by time winning. An event may carry ``engagement_seconds``
(seconds the user spent on the insight); its other properties are not kept here.

Examples
--------
>>> feedback_from_events(tables, result.stored)  # doctest: +SKIP
3
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

from learnloop.ingest.insights import write_feedback
from learnloop.store.records import Event
from learnloop.store.tables import Tables

#: Event type → the verdict it records.
FEEDBACK_EVENTS: dict[str, bool] = {"insight_helpful": True, "insight_not_helpful": False}
#: An ``engagement_seconds`` property is kept only in this range (a day at most).
MAX_ENGAGEMENT_SECONDS = 86_400.0


def engagement_of(properties: dict[str, Any]) -> float | None:
    """A usable ``engagement_seconds`` property, or ``None``.

    Examples
    --------
    >>> engagement_of({"engagement_seconds": 12}), engagement_of({"engagement_seconds": -1})
    (12.0, None)
    >>> engagement_of({"engagement_seconds": True}), engagement_of({})
    (None, None)
    """
    value = properties.get("engagement_seconds")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_ENGAGEMENT_SECONDS else None


def feedback_from_events(tables: Tables, events: Iterable[Event], *, workers: int = 4) -> int:
    """Write the verdict of every helpful / not-helpful event among ``events`` (stored events).

    Returns
    -------
    int
        How many verdicts were applied (a verdict older than the stored one is not).
    """
    writes = []
    for event in events:
        helpful = FEEDBACK_EVENTS.get(event.type)
        properties = dict(event.properties or {})
        insight_id = properties.get("insight_id")
        if helpful is None or not isinstance(insight_id, str):
            continue
        writes.append(
            {
                "insight_id": insight_id,
                "user_id": event.user_id,
                "helpful": helpful,
                "at": datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00")),
                "engagement_seconds": engagement_of(properties),
            }
        )

    def write(w: dict[str, Any]) -> bool:
        return write_feedback(
            tables,
            w["insight_id"],
            w["user_id"],
            helpful=w["helpful"],
            at=w["at"],
            source="event",
            engagement_seconds=w["engagement_seconds"],
        )

    if len(writes) <= 1:
        return sum(write(w) for w in writes)
    with ThreadPoolExecutor(max_workers=min(workers, len(writes))) as pool:
        return sum(pool.map(write, writes))


__all__ = ["FEEDBACK_EVENTS", "engagement_of", "feedback_from_events"]
