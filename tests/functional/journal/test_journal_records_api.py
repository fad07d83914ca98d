"""The journal's records over HTTP: occurrences (events and route), the per-user read, insight
fields, one helpfulness signal from both channels, and the insight quality route."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from support.api import call, error_of, fields_of

from learnloop.rollups.job import rollup_day

DAY = "2026-11-20"


def event(kind: str, user: str, at: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, "user_id": user, "occurred_at": at, "properties": properties}


def post_events(client: Any, keys: dict, *events: dict[str, Any]) -> Any:
    reply = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": list(events)})
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


PATTERN = event(
    "pattern_detected",
    "u1",
    f"{DAY}T10:00:00Z",
    pattern_type="revenge_trading",
    trade_id="t1",
    severity="high",
    confidence=0.9,
    was_warned=True,
)
CLOSED = event("trade_closed", "u1", f"{DAY}T11:00:00Z", trade_id="t1", pnl=-40.0)


def test_pattern_events_become_occurrences_once_and_link_to_the_trade_outcome(
    client: Any, keys: dict, tables: Any
) -> None:
    first = post_events(client, keys, PATTERN, CLOSED)
    again = post_events(client, keys, PATTERN, CLOSED)  # redelivery
    assert first == {"accepted": 2, "duplicates": 0, "dropped": 0}
    assert again == {"accepted": 0, "duplicates": 2, "dropped": 0}
    stored = list(tables.pattern_occurrences.query("u1"))
    assert len(stored) == 1
    occurrence = stored[0]
    assert (occurrence.pattern_type, occurrence.trade_id, occurrence.severity) == (
        "revenge_trading",
        "t1",
        "high",
    )
    assert occurrence.was_warned is True and occurrence.source == "event"
    assert occurrence.outcome is None  # the event did not say; the read joins the trade

    reply = call(client, "GET", f"/v1/journal/u1/patterns?from={DAY}&to={DAY}", key=keys["read"])
    assert reply.status_code == 200, reply.body
    body = json.loads(reply.body)
    assert [o["outcome"] for o in body["occurrences"]] == ["loss"]
    assert body["occurrences"][0]["pnl"] == -40.0
    assert body["patterns"] == [
        {
            "pattern_type": "revenge_trading",
            "count": 1,
            "with_outcome": 1,
            "losses": 1,
            "loss_rate": 1.0,
            "mean_pnl": -40.0,
            "warned": 1,
            "last_detected_at": "2026-11-20T10:00:00.000000Z",
        }
    ]
    assert body["truncated"] is False


OCCURRENCE = {
    "user_id": "u2",
    "pattern_type": "fomo",
    "trade_id": "t9",
    "severity": "medium",
    "confidence": 0.7,
    "was_warned": False,
    "outcome": "win",
    "pnl": 12.5,
    "detected_at": f"{DAY}T09:00:00Z",
}


def test_the_occurrence_route_is_idempotent_and_respects_consent(
    client: Any, keys: dict, tables: Any
) -> None:
    first = call(client, "POST", "/v1/journal/occurrences", key=keys["ingest"], body=OCCURRENCE)
    second = call(client, "POST", "/v1/journal/occurrences", key=keys["ingest"], body=OCCURRENCE)
    assert first.status_code == second.status_code == 200, first.body
    assert json.loads(first.body) == json.loads(second.body)
    assert json.loads(first.body)["outcome"] == "win"
    assert [o.source for o in tables.pattern_occurrences.query("u2")] == ["route"]

    call(client, "PUT", "/v1/users/u3/consent", key=keys["ingest"], body={"consent": "opted_out"})
    dropped = call(
        client,
        "POST",
        "/v1/journal/occurrences",
        key=keys["ingest"],
        body=OCCURRENCE | {"user_id": "u3"},
    )
    assert dropped.status_code == 202
    assert list(tables.pattern_occurrences.query("u3")) == []


OCCURRENCE_ERRORS = [
    ({"severity": "extreme"}, "severity"),
    ({"confidence": 1.5}, "confidence"),
    ({"pnl": "lots"}, "pnl"),
    ({"outcome": "draw"}, "outcome"),
    ({"detected_at": "2026-11-20T09:00:00"}, "detected_at"),
    ({"detected_at": "2999-01-01T00:00:00Z"}, "detected_at"),
    ({"user_id": "a b"}, "user_id"),
    ({"pattern_type": ""}, "pattern_type"),
    ({"colour": "red"}, "colour"),
]


def test_occurrence_validation_names_the_field(client: Any, keys: dict) -> None:
    for change, field in OCCURRENCE_ERRORS:
        reply = call(
            client, "POST", "/v1/journal/occurrences", key=keys["ingest"], body=OCCURRENCE | change
        )
        assert reply.status_code == 422, change
        assert fields_of(reply) == {field}


PATTERNS_ERRORS = [
    ("limit=0", "limit"),
    ("limit=1001", "limit"),
    ("from=2026-13-01", "from"),
    ("from=2026-11-21&to=2026-11-20", "from"),
    ("when=now", "when"),
]


def test_user_patterns_validation(client: Any, keys: dict) -> None:
    for query, field in PATTERNS_ERRORS:
        reply = call(client, "GET", f"/v1/journal/u1/patterns?{query}", key=keys["read"])
        assert reply.status_code == 422, query
        assert fields_of(reply) == {field}
    reply = call(client, "GET", "/v1/journal/%2e%2e/patterns", key=keys["read"])
    assert reply.status_code == 422
    assert fields_of(reply) == {"user_id"}


INSIGHT = {
    "insight_id": "i1",
    "user_id": "u1",
    "insight_type": "risk",
    "text": "You trade bigger after a loss.",
    "confidence": 0.8,
    "trade_id": "t1",
    "complexity": 0.8,
    "user_level": 0.6,
    "created_at": f"{DAY}T08:00:00Z",
}


def test_one_helpfulness_signal_from_the_route_and_the_events(
    client: Any, keys: dict, tables: Any
) -> None:
    assert call(client, "POST", "/v1/insights", key=keys["ingest"], body=INSIGHT).status_code == 200
    stored = tables.insights.get("i1", "insight")
    assert (stored.confidence, stored.trade_id, stored.complexity) == (0.8, "t1", 0.8)
    route = call(
        client,
        "POST",
        "/v1/insights/i1/feedback",
        key=keys["ingest"],
        body={
            "user_id": "u1",
            "helpful": False,
            "occurred_at": f"{DAY}T09:00:00Z",
            "user_feedback": "Not my style",
            "engagement_seconds": 30,
        },
    )
    assert route.status_code == 200, route.body
    helpful = [
        event("insight_helpful", f"v{i}", f"{DAY}T10:0{i}:00Z", insight_id="i1") for i in range(3)
    ]
    post_events(
        client,
        keys,
        *helpful,
        # u1 changes their mind later on the other channel; a verdict older than the stored
        # one (v0 at 09:30, after its 10:00 one) changes nothing.
        event("insight_helpful", "u1", f"{DAY}T12:00:00Z", insight_id="i1", engagement_seconds=90),
        event("insight_not_helpful", "v0", f"{DAY}T09:30:00Z", insight_id="i1"),
    )
    post_events(client, keys, *helpful)  # redelivered: the same verdicts
    verdicts = {
        r.record: (r.helpful, r.source)
        for r in tables.insights.query("i1")
        if r.record.startswith("feedback#")
    }
    assert verdicts == {
        "feedback#u1": (True, "event"),
        "feedback#v0": (True, "event"),
        "feedback#v1": (True, "event"),
        "feedback#v2": (True, "event"),
    }
    mine = tables.insights.get("i1", "feedback#u1")
    # The event's verdict kept the route's free text beside it, and took its engagement.
    assert (mine.user_feedback, mine.engagement_seconds) == ("Not my style", 90)

    stats = rollup_day(tables, date(2026, 11, 20)).stats
    assert stats["insight_feedback"] == {"helpful": 4, "not_helpful": 0, "total": 4}
    assert stats["insight_helpful_rate"] == 1.0
    assert stats["insights_generated"] == 1

    # positive 4/4 = 1, engagement mean(min(90/60, 1)) = 1, match 1 - |0.8 - 0.6| = 0.8:
    # 0.4 * 1 + 0.3 * 1 + 0.3 * 0.8 = 0.94.
    quality = call(client, "GET", "/v1/insights/i1/quality", key=keys["read"])
    assert quality.status_code == 200, quality.body
    body = json.loads(quality.body)
    assert (body["score"], body["positive_rate"], body["engagement"]) == (0.94, 1.0, 1.0)
    assert body["complexity_match"] == 0.8 and body["feedback"] == 4
    missing = call(client, "GET", "/v1/insights/nope/quality", key=keys["read"])
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


INSIGHT_ERRORS = [
    ({"confidence": -0.1}, "confidence"),
    ({"trade_id": "a/b"}, "trade_id"),
    ({"complexity": 2}, "complexity"),
    ({"user_level": "expert"}, "user_level"),
]
FEEDBACK_ERRORS = [
    ({"user_feedback": "x" * 2001}, "user_feedback"),
    ({"engagement_seconds": -1}, "engagement_seconds"),
    ({"engagement_seconds": 10**6}, "engagement_seconds"),
]


def test_insight_and_feedback_fields_are_validated(client: Any, keys: dict) -> None:
    for change, field in INSIGHT_ERRORS:
        reply = call(client, "POST", "/v1/insights", key=keys["ingest"], body=INSIGHT | change)
        assert reply.status_code == 422, change
        assert fields_of(reply) == {field}
    call(client, "POST", "/v1/insights", key=keys["ingest"], body=INSIGHT)
    for change, field in FEEDBACK_ERRORS:
        reply = call(
            client,
            "POST",
            "/v1/insights/i1/feedback",
            key=keys["ingest"],
            body={"user_id": "u1", "helpful": True} | change,
        )
        assert reply.status_code == 422, change
        assert fields_of(reply) == {field}
