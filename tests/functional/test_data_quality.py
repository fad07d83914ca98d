"""Data quality and bot defence over HTTP: one account's burst of coin likes and a flood of
identical-instant events are stored, flagged, and count in no rollup, no market sentiment and
no training export; ``/v1/admin/stats`` counts them."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from support.api import call

from learnloop.privacy.exports import EVENTS_FILE, REACTIONS_FILE, build_day_files
from learnloop.rollups.job import rollup_day
from learnloop.users.pseudonym import pseudonymize

DAY = date(2026, 11, 19)


def like(client: Any, key: str, user: str, coin: str, at: str) -> None:
    body = {
        "user_id": user,
        "content_type": "coin",
        "external_id": coin,
        "reaction": "like",
        "occurred_at": at,
    }
    response = call(client, "PUT", "/v1/reactions", key=key, body=body)
    assert response.status_code == 200, response.body


def test_one_accounts_60_rapid_coin_likes_count_nowhere(
    client: Any, keys: dict[str, str], tables: Any, settings: Any
) -> None:
    ingest = keys["ingest"]
    # 60 coins liked within one minute: a bot. Two people like a coin each, at human pace.
    for i in range(60):
        like(client, ingest, "bot", f"C{i}", f"2026-11-19T10:00:{i:02d}Z")
    like(client, ingest, "alice", "BTC", "2026-11-19T10:00:30Z")
    for i in range(5):
        like(client, ingest, "bob", f"C{i}", f"2026-11-19T1{i}:00:00Z")

    # Stored, every one flagged: the first 20 too, flagged when the 21st crossed the limit.
    stored = list(tables.reactions.query("bot"))
    assert len(stored) == 60 and {r.quality for r in stored} == {"burst"}
    assert {r.quality for r in tables.reactions.query("bob")} == {None}

    rollup_day(tables, DAY)
    response = call(client, "GET", f"/v1/sentiment/market?days=1&to={DAY}", key=keys["read"])
    coins = {c["coin"]: c["reactions"] for c in json.loads(response.body)["coins"]}
    assert coins == {"BTC": 1, "C0": 1, "C1": 1, "C2": 1, "C3": 1, "C4": 1}

    stats = call(client, "GET", f"/v1/admin/stats?from={DAY}&to={DAY}", key=keys["admin"])
    quality = json.loads(stats.body)["days"][0]["stats"]["data_quality"]
    assert quality["rows"] == 66 and quality["flagged_rows"] == 60
    assert quality["flagged_users"] == 1 and quality["by_reason"] == {"burst": 60}
    assert quality["completeness"] == round(6 / 66, 6)
    totals = json.loads(stats.body)["totals"]["data_quality"]
    assert (totals["flagged_rows"], totals["flagged_user_days"]) == (60, 1)

    files, _ = build_day_files(tables, DAY, excluded=set())
    users = {json.loads(line)["user"] for line in files[REACTIONS_FILE].decode().splitlines()}
    assert pseudonymize("bot", settings.pseudonym_secret) not in users
    assert pseudonymize("bob", settings.pseudonym_secret) in users


def test_300_identical_instant_events_are_stored_flagged(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    flood = [
        {
            "type": "myapp.clicked",
            "user_id": "bot",
            "occurred_at": "2026-11-19T10:00:00Z",
            "properties": {"button": "buy"},
        }
        for _ in range(300)
    ]
    for i, event in enumerate(flood):
        event["event_id"] = f"e{i}"
    human = [
        {
            "type": "myapp.clicked",
            "user_id": "alice",
            "occurred_at": f"2026-11-19T10:0{i}:00Z",
            "properties": {"button": "buy"},
            "event_id": f"a{i}",
        }
        for i in range(3)
    ]
    body = {"events": flood + human}
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=body)
    assert response.json_body == {"accepted": 303, "duplicates": 0, "dropped": 0}
    # A redelivery judges the same and stores nothing twice.
    again = call(client, "POST", "/v1/events", key=keys["ingest"], body=body)
    assert again.json_body == {"accepted": 0, "duplicates": 303, "dropped": 0}

    reasons = {e.quality for e in tables.events.query("bot")}
    assert reasons == {"burst,same_instant,duplicate_content"}
    assert {e.quality for e in tables.events.query("alice")} == {None}
    stats = rollup_day(tables, DAY).stats
    assert stats["data_quality"]["flagged_events"] == 300
    assert stats["data_quality"]["duplicates"] == 300
    assert sum(stats["events_by_type"].values()) == 3
    files, _ = build_day_files(tables, DAY, excluded=set())
    assert len(files[EVENTS_FILE].decode().splitlines()) == 3
