"""Store the engagement each decision earned, with its engagement rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.ingest.engagement import engagement_rate
from learnloop.ingest.schemas import OutcomeBatchIn
from learnloop.observability import metrics
from learnloop.store.batch import write_in_parallel
from learnloop.store.keys import day_shard
from learnloop.store.tables import Tables
from learnloop.validation import validate


def ingest_outcomes(tables: Tables, body: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Store one outcome or a batch (``{"outcomes": [...]}``); all valid or none stored.

    An outcome is keyed by (decision_id, collected_at), so a redelivery overwrites itself
    rather than adding a row.

    Examples
    --------
    >>> ingest_outcomes(tables, {"decision_id": "d-1", "impressions": 100,
    ...                          "likes": 4})  # doctest: +SKIP
    {'accepted': 1, 'outcomes': [{'decision_id': 'd-1', ..., 'engagement_rate': 0.04}]}
    """
    now = now or utcnow()
    if isinstance(body, dict) and "outcomes" not in body:
        body = {"outcomes": [body]}
    batch = validate(
        OutcomeBatchIn,
        body,
        context={"now": now, "max_age_days": tables.settings.max_event_age_days},
    )
    settings = tables.settings
    records = {}
    for outcome in batch.outcomes:
        collected_at = outcome.collected_at or now
        record = tables.outcomes(
            outcome.decision_id,
            iso(collected_at),
            impressions=outcome.impressions,
            likes=outcome.likes,
            retweets=outcome.retweets,
            replies=outcome.replies,
            bookmarks=outcome.bookmarks,
            followers_gained=outcome.followers_gained,
            viral_score=outcome.viral_score,
            engagement_rate=engagement_rate(
                impressions=outcome.impressions,
                likes=outcome.likes,
                retweets=outcome.retweets,
                replies=outcome.replies,
            ),
            received_at=iso(now),
            received_shard=day_shard(now, outcome.decision_id, shards=settings.day_shards),
            day_shard=day_shard(collected_at, outcome.decision_id, shards=settings.day_shards),
        )
        records[(record.decision_id, record.collected_at)] = record
    write_in_parallel(tables.outcomes, list(records.values()))
    metrics.add_metric(name="OutcomesAccepted", unit="Count", value=len(records))
    return {
        "accepted": len(records),
        "outcomes": [
            {
                "decision_id": r.decision_id,
                "collected_at": r.collected_at,
                "engagement_rate": r.engagement_rate,
            }
            for r in records.values()
        ],
    }
