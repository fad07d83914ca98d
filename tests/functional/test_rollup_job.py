"""rollup_daily against moto's server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from learnloop.ingest import ingest_events, ingest_outcomes, put_feedback, put_insight, put_reaction
from learnloop.jobs import run_job
from learnloop.rollups.job import rollup_day

NOW = datetime(2026, 11, 21, 0, 15, tzinfo=UTC)
DAY = date(2026, 11, 20)


def seed(tables: Any) -> None:
    for user, reaction in (("u1", "like"), ("u2", "like"), ("u3", "dislike")):
        put_reaction(
            tables,
            {
                "user_id": user,
                "content_type": "coin",
                "external_id": "BTC",
                "reaction": reaction,
                "occurred_at": "2026-11-20T10:00:00Z",
            },
            now=NOW,
        )
    ingest_events(
        tables,
        {
            "events": [
                {
                    "type": "pattern_detected",
                    "user_id": "u4",
                    "occurred_at": "2026-11-20T11:00:00Z",
                    "properties": {"pattern_type": "fomo"},
                },
                {
                    "type": "alert_shown",
                    "user_id": "u1",
                    "occurred_at": "2026-11-20T12:00:00Z",
                    "properties": {"alert_id": "a"},
                },
                {
                    "type": "alert_shown",
                    "user_id": "u1",
                    "occurred_at": "2026-11-19T12:00:00Z",
                    "properties": {"alert_id": "other-day"},
                },
            ]
        },
        now=NOW,
    )
    ingest_outcomes(
        tables,
        {
            "decision_id": "d1",
            "collected_at": "2026-11-20T09:00:00Z",
            "impressions": 100,
            "likes": 5,
        },
        now=NOW,
    )
    put_insight(
        tables,
        {
            "insight_id": "i1",
            "user_id": "u1",
            "insight_type": "risk",
            "created_at": "2026-11-20T08:00:00Z",
        },
        now=NOW,
    )
    put_feedback(
        tables,
        "i1",
        {"user_id": "u1", "helpful": True, "occurred_at": "2026-11-20T09:00:00Z"},
        now=NOW,
    )
    put_feedback(
        tables,
        "i1",
        {"user_id": "u2", "helpful": False, "occurred_at": "2026-11-20T09:30:00Z"},
        now=NOW,
    )


def test_rollup_of_a_day(tables: Any) -> None:
    seed(tables)
    stats = run_job("rollup_daily", tables, NOW)
    assert stats["date"] == "2026-11-20" and stats["changed"] is True
    item = tables.daily_stats.get("2026-11-20").stats
    assert item["users_active"] == 4
    assert item["events_by_type"] == {"alert_shown": 1, "pattern_detected": 1}
    assert item["pattern_frequency"] == {"fomo": 1}
    assert item["reactions_by_content_type"]["coin"] == {"dislike": 1, "like": 2}
    assert item["insight_helpful_rate"] == 0.5
    assert item["engagement_rate_distribution"]["count"] == 1
    btc = item["coin_sentiment"]["BTC"]
    assert btc["positive_share"] == round(2 / 3, 6)
    assert 0.0 <= btc["velocity"] <= 1.0


def test_rerunning_a_day_yields_the_identical_item(tables: Any) -> None:
    seed(tables)
    first = rollup_day(tables, DAY)
    stored = json.dumps(tables.daily_stats.get("2026-11-20").stats, sort_keys=True)
    second = rollup_day(tables, DAY)
    assert second.changed is False
    assert second.stats == first.stats
    assert json.dumps(tables.daily_stats.get("2026-11-20").stats, sort_keys=True) == stored


def test_rollups_hold_no_user_ids(tables: Any) -> None:
    seed(tables)
    rollup_day(tables, DAY)
    text = json.dumps(tables.daily_stats.get("2026-11-20").stats)
    assert not any(user in text for user in ("u1", "u2", "u3", "u4"))
