"""AI insights and users' helpful / not-helpful feedback on them.

Feedback arrives on two channels, ``POST /v1/insights/{id}/feedback`` and the
``insight_helpful`` / ``insight_not_helpful`` events; both write the same item
(``feedback#{user_id}`` in the insight's partition) through :func:`write_feedback`, so a
user's verdict on an insight is one signal whichever way it came, and the latest by time wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

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
            _set_or_remove(model.confidence, insight.confidence),
            _set_or_remove(model.trade_id, insight.trade_id),
            _set_or_remove(model.complexity, insight.complexity),
            _set_or_remove(model.user_level, insight.user_level),
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
        "confidence": record.confidence,
        "trade_id": record.trade_id,
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
    applied = write_feedback(
        tables,
        key.insight_id,
        feedback.user_id,
        helpful=feedback.helpful,
        at=at,
        source="route",
        user_feedback=feedback.user_feedback,
        engagement_seconds=feedback.engagement_seconds,
    )
    return {
        "insight_id": key.insight_id,
        "user_id": feedback.user_id,
        "helpful": feedback.helpful,
        "applied": applied,
    }


def write_feedback(
    tables: Tables,
    insight_id: str,
    user_id: str,
    *,
    helpful: bool,
    at: datetime,
    source: str,
    user_feedback: str | None = None,
    engagement_seconds: float | None = None,
) -> bool:
    """Store ``user_id``'s verdict on ``insight_id`` unless a later one is already stored.

    One conditional UpdateItem: the verdict applies when the item is new or its ``updated_at``
    is not after ``at``, so redelivery (same ``at``) rewrites the same values and a late,
    older verdict never replaces a newer one. Free text and engagement are only set when
    given, so an event's verdict keeps what the route stored beside it.

    Returns
    -------
    bool
        Whether the verdict was applied (``False``: a later one is stored).

    Examples
    --------
    >>> write_feedback(tables, "i1", "u1", helpful=True, at=now, source="event")  # doctest: +SKIP
    True
    """
    model = tables.insights
    stamp = iso(at)
    actions: list[Action] = [
        model.user_id.set(user_id),
        model.helpful.set(helpful),
        model.source.set(source),
        model.created_at.set(model.created_at | stamp),
        model.updated_at.set(stamp),
        model.day_shard.set(day_shard(at, user_id, shards=tables.settings.day_shards)),
    ]
    if user_feedback is not None:
        actions.append(model.user_feedback.set(user_feedback))
    if engagement_seconds is not None:
        actions.append(model.engagement_seconds.set(engagement_seconds))
    try:
        model(insight_id, feedback_record(user_id)).update(
            actions=actions,
            condition=model.updated_at.does_not_exist() | (model.updated_at <= stamp),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()
