"""The journal's records in the training export: what the models need, no user id, no text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from learnloop.ingest import put_feedback, put_insight
from learnloop.journal.occurrences import put_occurrence
from learnloop.privacy.exports import export_day
from learnloop.users.consent import set_consent
from learnloop.users.pseudonym import pseudonymize

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
PREFIX = "exports/2026-11-20/"


def test_occurrences_and_insights_are_exported_pseudonymized_without_text(
    tables: Any, s3: Any
) -> None:
    at = "2026-11-20T10:00:00Z"
    for user in ("alice-1", "carol-3"):
        occurrence = {
            "user_id": user,
            "occurrence_id": f"o{user[-1]}",
            "pattern_type": "revenge_trading",
            "trade_id": "t1",
            "severity": "high",
            "confidence": 0.8,
            "was_warned": True,
            "pnl": -12.5,
            "detected_at": at,
        }
        put_occurrence(tables, occurrence, now=NOW)
    insight = {
        "insight_id": "i1",
        "user_id": "alice-1",
        "insight_type": "risk",
        "text": "alice-1 doubles down after losses",
        "confidence": 0.6,
        "trade_id": "t1",
        "complexity": 0.4,
        "user_level": 0.5,
        "properties": {"pattern_type": "revenge_trading"},
        "created_at": at,
    }
    put_insight(tables, insight, now=NOW)
    feedback = {
        "user_id": "bob-2",
        "helpful": True,
        "occurred_at": at,
        "user_feedback": "bob-2 says: spot on",
        "engagement_seconds": 42,
    }
    put_feedback(tables, "i1", feedback, now=NOW)
    set_consent(tables, "carol-3", {"consent": "opted_out"}, now=NOW)

    result = export_day(tables, date(2026, 11, 20), s3=s3, now=NOW)
    assert result.rows["occurrences.jsonl"] == 1 and result.rows["insights.jsonl"] == 2
    bucket = tables.settings.bucket
    read = {
        name: s3.get_object(Bucket=bucket, Key=PREFIX + name)["Body"].read().decode()
        for name in ("occurrences.jsonl", "insights.jsonl")
    }
    for text in read.values():
        for raw in ("alice-1", "bob-2", "carol-3", "spot on", "doubles down"):
            assert raw not in text
    secret = tables.settings.pseudonym_secret
    alice, bob = pseudonymize("alice-1", secret), pseudonymize("bob-2", secret)
    (occurrence_row,) = [json.loads(line) for line in read["occurrences.jsonl"].splitlines()]
    assert occurrence_row == {
        "user": alice,
        "occurrence_id": "o1",
        "pattern_type": "revenge_trading",
        "trade_id": "t1",
        "severity": "high",
        "confidence": 0.8,
        "was_warned": True,
        "outcome": None,
        "pnl": -12.5,
        "detected_at": "2026-11-20T10:00:00.000000Z",
        "source": "route",
    }
    feedback_row, insight_row = [json.loads(line) for line in read["insights.jsonl"].splitlines()]
    assert insight_row["user"] == alice and insight_row["kind"] == "insight"
    assert (insight_row["confidence"], insight_row["complexity"], insight_row["user_level"]) == (
        0.6,
        0.4,
        0.5,
    )
    assert insight_row["pattern_type"] == "revenge_trading" and "text" not in insight_row
    assert feedback_row == {
        "kind": "feedback",
        "insight_id": "i1",
        "user": bob,
        "insight_user": alice,
        "helpful": True,
        "engagement_seconds": 42,
        "feedback_length": len("bob-2 says: spot on"),
        "source": "route",
        "updated_at": "2026-11-20T10:00:00.000000Z",
    }
