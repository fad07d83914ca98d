"""AI insights and users' helpful / not-helpful feedback on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.exceptions import NotFoundError
from learnloop.ingest.schemas import FeedbackIn, InsightIn, InsightKeyIn
from learnloop.store.keys import day_shard
from learnloop.store.records import INSIGHT_RECORD, feedback_record
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import validate


def put_insight(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Store (or re-store) an insight; its first ``created_at`` is kept.

    An insight about a user who opted out or was deleted is not stored: the reply is
    ``{"dropped": True, ...}`` (the API answers 202).
    """
    now = now or utcnow()
    insight = validate(
        InsightIn, body, context={"now": now, "max_age_days": tables.settings.max_event_age_days}
    )

    if dropped_users(tables, [insight.user_id], cache=consent):
        return {"dropped": True, "insight_id": insight.insight_id, "user_id": insight.user_id}
    model = tables.insights
    created = iso(insight.created_at or now)
    record = model(insight.insight_id, INSIGHT_RECORD)
    record.update(
        actions=[
            model.user_id.set(insight.user_id),
            model.insight_type.set(insight.insight_type),
            model.text.set(insight.text) if insight.text is not None else model.text.remove(),
            (
                model.properties.set(insight.properties)
                if insight.properties is not None
                else model.properties.remove()
            ),
            model.created_at.set(model.created_at | created),
            model.updated_at.set(iso(now)),
            model.day_shard.set(
                day_shard(
                    insight.created_at or now, insight.insight_id, shards=tables.settings.day_shards
                )
            ),
        ]
    )
    return {
        "insight_id": record.insight_id,
        "user_id": record.user_id,
        "insight_type": record.insight_type,
        "created_at": record.created_at,
    }


def put_feedback(
    tables: Tables,
    insight_id: str,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Record one user's verdict on an insight; a user's later verdict replaces the earlier.

    The verdict of a user who opted out or was deleted is not stored: the reply is
    ``{"dropped": True, ...}`` (the API answers 202).

    Raises
    ------
    NotFoundError
        When the insight was never stored.
    """
    now = now or utcnow()
    key = validate(InsightKeyIn, {"insight_id": insight_id})
    feedback = validate(
        FeedbackIn, body, context={"now": now, "max_age_days": tables.settings.max_event_age_days}
    )
    model = tables.insights
    if model.count(key.insight_id, model.record == INSIGHT_RECORD, limit=1) == 0:
        raise NotFoundError(
            f"insight {key.insight_id!r} does not exist",
            details=[{"field": "insight_id", "message": "no such insight"}],
        )

    if dropped_users(tables, [feedback.user_id], cache=consent):
        return {"dropped": True, "insight_id": key.insight_id, "user_id": feedback.user_id}
    at = feedback.occurred_at or now
    record = model(
        key.insight_id,
        feedback_record(feedback.user_id),
        user_id=feedback.user_id,
        helpful=feedback.helpful,
        created_at=iso(at),
        updated_at=iso(at),
        day_shard=day_shard(at, feedback.user_id, shards=tables.settings.day_shards),
    )
    record.save()
    return {"insight_id": key.insight_id, "user_id": feedback.user_id, "helpful": feedback.helpful}
