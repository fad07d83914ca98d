"""The admin journal routes over HTTP, on a few hand-built traders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from support.api import call, fields_of

from learnloop.journal.rollup import ROLLUP_SECTIONS, user_key
from learnloop.rollups.job import rollup_day

RANGE = "from=2026-11-02&to=2026-11-15"


def event(kind: str, user: str, at: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, "user_id": user, "occurred_at": at, "properties": properties}


def seed(client: Any, keys: dict) -> None:
    events = []
    # u1 trades on 11-03 and 11-10 (two weeks), u2 only on 11-04: cohort 11-02 keeps 1 of 2.
    for user, day, trade, pnl, pattern in (
        ("u1", "03", "a", -10.0, "revenge"),
        ("u1", "03", "b", -20.0, "revenge"),
        ("u1", "10", "c", 5.0, None),
        ("u2", "04", "d", -5.0, "revenge"),
        ("u2", "04", "e", 8.0, "fomo"),
        ("u2", "04", "f", 2.0, None),
    ):
        at = f"2026-11-{day}T12:00:00Z"
        events.append(event("trade_closed", user, at, trade_id=trade, pnl=pnl))
        if pattern:
            events.append(event("pattern_detected", user, at, pattern_type=pattern, trade_id=trade))
    reply = call(client, "POST", "/v1/events", key=keys["admin"], body={"events": events})
    assert reply.status_code == 200, reply.body
    insight = {
        "insight_id": "i1",
        "user_id": "u1",
        "insight_type": "risk",
        "complexity": 0.5,
        "user_level": 0.5,
        "created_at": "2026-11-05T00:00:00Z",
    }
    assert call(client, "POST", "/v1/insights", key=keys["ingest"], body=insight).status_code == 200
    feedback = {"user_id": "u1", "helpful": True, "occurred_at": "2026-11-06T00:00:00Z"}
    reply = call(client, "POST", "/v1/insights/i1/feedback", key=keys["ingest"], body=feedback)
    assert reply.status_code == 200


def get(client: Any, keys: dict, path: str) -> dict[str, Any]:
    reply = call(client, "GET", path, key=keys["admin"])
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


def roll_up_and_drop_the_raw_records(tables: Any) -> None:
    """Roll up the days that hold records, then delete the records: whatever the reports
    say next comes from the rollup items alone."""
    for day in (3, 4, 5, 6, 10):
        rollup_day(tables, date(2026, 11, day), sections=ROLLUP_SECTIONS)
    for model in (tables.events, tables.pattern_occurrences, tables.insights):
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)


def test_activity_patterns_and_insights_reports_read_the_daily_rollup(
    client: Any, keys: dict, tables: Any
) -> None:
    seed(client, keys)
    roll_up_and_drop_the_raw_records(tables)
    stored = tables.daily_stats.get("2026-11-03").stats["journal"]
    # users appear under their keyed pseudonym, never their id
    assert stored["active"] == [user_key("u1", tables.settings.pseudonym_secret)]
    assert "u1" not in json.dumps(stored)
    activity = get(client, keys, f"/v1/admin/journal/activity?{RANGE}")
    # past days the job never rolled up are listed (and read as empty), not read raw
    assert (
        "2026-11-02" in activity["not_rolled_up"] and "2026-11-03" not in activity["not_rolled_up"]
    )
    by_day = {d["date"]: d for d in activity["activity"]}
    assert by_day["2026-11-04"] == {"date": "2026-11-04", "dau": 1, "wau": 2, "mau": 2}
    # 11-11: the week 11-05..11-11 holds u1 (11-10) only.
    assert by_day["2026-11-11"] == {"date": "2026-11-11", "dau": 0, "wau": 1, "mau": 2}
    assert activity["retention"] == [
        {"cohort": "2026-11-02", "users": 2, "retention": [1.0, 0.5]},
        {"cohort": "2026-11-09", "users": 0, "retention": [None]},
    ]

    patterns = get(client, keys, f"/v1/admin/journal/patterns?{RANGE}")
    revenge, fomo = patterns["patterns"]
    # revenge: 3 losses of 3 (-10, -20, -5), fomo: 1 win (8); baseline: c (5), f (2).
    assert (revenge["pattern_type"], revenge["loss_rate"], revenge["mean_pnl"]) == (
        "revenge",
        1.0,
        round(-35 / 3, 6),
    )
    assert revenge["outcomes"] == {"win": 0, "loss": 3, "breakeven": 0}
    assert (fomo["pattern_type"], fomo["loss_rate"], fomo["mean_pnl_interval"]) == (
        "fomo",
        0.0,
        None,  # one value: no interval
    )
    assert patterns["baseline"]["trades"] == 2 and patterns["baseline"]["loss_rate"] == 0.0

    insights = get(client, keys, f"/v1/admin/journal/insights?{RANGE}&n=2")
    (effect,) = insights["effectiveness"]
    # u1 got the insight (before: a, b losses; after: c win); u2 has no trade after the split.
    assert (effect["insight_type"], effect["treated_users"], effect["control_users"]) == (
        "risk",
        1,
        0,
    )
    assert effect["metrics"]["loss_rate"]["treated_change"] == -1.0
    assert effect["metrics"]["loss_rate"]["interval"] is None  # one user: no interval
    (quality,) = insights["quality"]
    # One helpful verdict, no engagement measured, a perfect match: (.4 + .3) / .7 = 1.
    assert (quality["insight_type"], quality["score"], quality["terms"]) == (
        "risk",
        1.0,
        ["positive_rate", "complexity_match"],
    )


def test_admin_journal_query_validation(client: Any, keys: dict) -> None:
    for path, field in (
        ("/v1/admin/journal/activity?from=2026-11-20&to=2026-11-01", "from"),
        ("/v1/admin/journal/patterns?from=2026-01-01&to=2026-11-01", "from"),  # > 92 days
        ("/v1/admin/journal/patterns?to=yesterday", "to"),
        ("/v1/admin/journal/insights?n=0", "n"),
        ("/v1/admin/journal/insights?n=101", "n"),
        ("/v1/admin/journal/insights?colour=red", "colour"),
    ):
        reply = call(client, "GET", path, key=keys["admin"])
        assert reply.status_code == 422, path
        assert fields_of(reply) == {field}
    assert call(client, "GET", "/v1/admin/journal/patterns", key=keys["read"]).status_code == 403


def test_today_is_read_live_before_any_rollup(client: Any, keys: dict) -> None:
    now = datetime.now(UTC)
    at = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events = [event("trade_closed", "u9", at, trade_id="z", pnl=-3.0)]
    reply = call(client, "POST", "/v1/events", key=keys["admin"], body={"events": events})
    assert reply.status_code == 200, reply.body
    today = now.date().isoformat()
    query = f"from={today}&to={today}"
    activity = get(client, keys, f"/v1/admin/journal/activity?{query}")
    assert activity["activity"] == [{"date": today, "dau": 1, "wau": 1, "mau": 1}]
    patterns = get(client, keys, f"/v1/admin/journal/patterns?{query}")
    assert patterns["baseline"]["outcomes"]["loss"] == 1 and patterns["not_rolled_up"] == []
