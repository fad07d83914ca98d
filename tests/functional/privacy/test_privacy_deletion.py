"""DELETE /v1/users/{user_id}: the user is gone from every table, export and rollup."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from support.api import call

from learnloop.ingest import ingest_events, put_feedback, put_insight, put_reaction
from learnloop.journal.occurrences import put_occurrence
from learnloop.privacy.exports import export_day
from learnloop.rollups.job import rollup_day
from learnloop.sentiment.texts import Scored, ingest_texts
from learnloop.users.consent import excluded_pseudonyms, set_consent
from learnloop.users.pseudonym import pseudonymize

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
PREFIX = "exports/2026-11-20/"
#: Distinctive, so a substring search finds nothing by chance.
USER = "zed-4711"
OTHER = "yara-0815"


def seed(tables: Any) -> None:
    """USER in every table that can hold a user, plus OTHER's data that must survive."""
    for user, item, at in (
        (USER, "BTC", "2026-11-20T09:00:00Z"),
        (USER, "ONLYZED", "2026-11-20T09:30:00Z"),
        (OTHER, "BTC", "2026-11-20T10:00:00Z"),
    ):
        put_reaction(
            tables,
            {
                "user_id": user,
                "content_type": "coin",
                "external_id": item,
                "reaction": "like",
                "occurred_at": at,
                "content": {"title": f"coin {item}"},
            },
            now=NOW,
        )
    ingest_events(
        tables,
        {
            "events": [
                {
                    "event_id": f"z{n}",
                    "type": "pattern_detected",
                    "user_id": USER,
                    "occurred_at": f"2026-11-20T1{n}:00:00Z",
                    "properties": {"pattern_type": "fomo"},
                }
                for n in range(3)
            ]
            + [
                {
                    "event_id": "y1",
                    "type": "alert_shown",
                    "user_id": OTHER,
                    "occurred_at": "2026-11-20T12:00:00Z",
                    "properties": {"alert_id": "a1"},
                },
            ]
        },
        now=NOW,
    )
    # USER's own insight, with OTHER's feedback on it; USER's feedback on OTHER's insight.
    put_insight(
        tables,
        {
            "insight_id": "iz",
            "user_id": USER,
            "insight_type": "tip",
            "text": "zed over-trades",
            "created_at": "2026-11-20T08:00:00Z",
        },
        now=NOW,
    )
    put_insight(
        tables,
        {
            "insight_id": "iy",
            "user_id": OTHER,
            "insight_type": "tip",
            "created_at": "2026-11-20T08:00:00Z",
        },
        now=NOW,
    )
    at = "2026-11-20T13:00:00Z"
    put_feedback(tables, "iz", {"user_id": OTHER, "helpful": True, "occurred_at": at}, now=NOW)
    put_feedback(
        tables,
        "iy",
        {"user_id": USER, "helpful": False, "occurred_at": at, "user_feedback": "zed's words"},
        now=NOW,
    )
    # The trading journal: a pattern occurrence each.
    for user in (USER, OTHER):
        occurrence = {"user_id": user, "pattern_type": "fomo", "trade_id": "t1", "pnl": -3.5}
        put_occurrence(tables, occurrence | {"detected_at": "2026-11-20T14:00:00Z"}, now=NOW)
    set_consent(tables, USER, {"consent": "opted_in"}, now=NOW)
    set_consent(tables, OTHER, {"consent": "opted_in"}, now=NOW)
    tables.ledger(
        f"events#{USER}#2026-11-20", created_at="t", user_id=USER, value={"user": USER}
    ).save()
    tables.ledger("learn#d1", created_at="t").save()
    # USER's comments (one about BTC: a per-symbol item too) and OTHER's, which must survive.
    ingest_texts(
        tables,
        {
            "texts": [
                {
                    "text_id": "tz1",
                    "source": "reddit",
                    "text": "zed: BTC to the moon",
                    "user_id": USER,
                    "symbols": ["BTC"],
                    "page": "coin-btc",
                },
                {"text_id": "tz2", "source": "reddit", "text": "zed again", "user_id": USER},
                {
                    "text_id": "ty1",
                    "source": "reddit",
                    "text": "yara on BTC",
                    "user_id": OTHER,
                    "symbols": ["BTC"],
                },
            ]
        },
        scorer=lambda texts: [Scored("neutral", 0.0, {"neutral": 1.0}, "lexicon") for _ in texts],
        now=NOW,
    )


def publish_two_tower(tables: Any, s3: Any, version: str, users: list[str]) -> None:
    prefix = f"models/two_tower/{version}/"
    s3.put_object(
        Bucket=tables.settings.bucket,
        Key=prefix + "users.json",
        Body=json.dumps({"users": users}).encode(),
    )
    tables.models(
        "two_tower", version, status="production", s3_prefix=prefix, created_at="t"
    ).save()


def scan_everything(tables: Any, s3: Any) -> dict[str, str]:
    """Every table's items and every object under exports/, as text (a test may Scan)."""
    found = {}
    for model in tables.all():
        for item in model.scan():
            found[f"{model.entity}:{json.dumps(item.attribute_values, default=str)[:80]}"] = (
                json.dumps(item.attribute_values, default=str, sort_keys=True)
            )
    bucket = tables.settings.bucket
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="exports/").get("Contents", []):
        found[f"s3:{obj['Key']}"] = (
            s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
        )
    return found


def test_deletion_removes_the_user_everywhere_but_the_tombstone(
    client: Any, keys: dict, tables: Any, s3: Any
) -> None:
    seed(tables)
    secret = tables.settings.pseudonym_secret
    pseudonym = pseudonymize(USER, secret)
    bucket = tables.settings.bucket
    export_day(tables, DAY, s3=s3, now=NOW)
    rollup_day(tables, DAY)
    publish_two_tower(tables, s3, "20261121T000000Z", [pseudonym, pseudonymize(OTHER, secret)])
    publish_two_tower(tables, s3, "20261122T000000Z", [pseudonymize(OTHER, secret)])
    before = scan_everything(tables, s3)
    assert any(USER in text for text in before.values())
    assert any(pseudonym in text for text in before.values())

    reply = call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"])
    assert reply.status_code == 200, reply.body
    receipt = json.loads(reply.body)
    assert receipt["already_deleted"] is False and receipt["pseudonym"] == pseudonym
    assert receipt["tables"] == {
        "reactions": 2,
        "events": 3,
        # One per event id, and the data-quality counters of the user's minutes (5).
        "ingest_marks": 8,
        "insights": 3,
        "ledger": 1,
        "decisions": 0,
        "texts": 2,
        "users": 1,
        "pattern_occurrences": 1,
    }
    # The texts' per-symbol items went with them; OTHER's text and its BTC item stay.
    assert sorted((t.text_id, t.record) for t in tables.texts.scan()) == [
        ("ty1", "symbol#BTC"),
        ("ty1", "text"),
    ]
    assert receipt["insights"] == {"owned": 1, "feedback_on_owned": 1, "feedback_given": 1}
    assert receipt["journal"] == {"occurrences": 1, "insights": 1, "feedback": 2}
    assert receipt["exports"] == {
        "status": "complete",
        "days_done": 1,
        "days_pending": 0,
        "removed": {
            PREFIX: {
                "reactions.jsonl": 2,
                "events.jsonl": 3,
                "items.jsonl": 1,
                "occurrences.jsonl": 1,
                # USER's insight, OTHER's verdict on it, USER's verdict on OTHER's insight.
                "insights.jsonl": 3,
            }
        },
    }
    assert receipt["daily_stats"] == {"checked": 1, "recomputed": []}
    assert receipt["models"] == {
        "two_tower": [{"version": "20261121T000000Z", "status": "production"}]
    }

    after = scan_everything(tables, s3)
    holding = sorted(where for where, text in after.items() if pseudonym in text)
    assert len(holding) == 1 and holding[0].startswith("users:"), holding
    tombstone = tables.users.get(f"tombstone#{pseudonym}")
    assert tombstone.deleted_at and tombstone.receipt["tables"] == receipt["tables"]
    assert tombstone.receipt["exports"] == receipt["exports"]
    assert [where for where, text in after.items() if USER in text] == []
    assert pseudonym in excluded_pseudonyms(tables)

    # OTHER's data is untouched.
    assert [r.external_id for r in tables.reactions.query(OTHER)] == ["BTC"]
    assert [e.event_id for e in tables.events.query(OTHER)] == ["y1"]
    assert sorted(r.record for r in tables.insights.query("iy")) == ["insight"]
    assert [o.pattern_type for o in tables.pattern_occurrences.query(OTHER)] == ["fomo"]
    assert tables.ledger.get("learn#d1").key == "learn#d1"

    # The rewritten export's manifest matches its files, and a fresh export agrees with it.
    files = {
        name: s3.get_object(Bucket=bucket, Key=PREFIX + name)["Body"].read()
        for name in ("reactions.jsonl", "events.jsonl", "items.jsonl", "manifest.json")
    }
    manifest = json.loads(files["manifest.json"])
    for name in ("reactions.jsonl", "events.jsonl", "items.jsonl"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert manifest["files"][name]["rows"] == len(files[name].splitlines())
    assert manifest["files"]["reactions.jsonl"]["rows"] == 1
    assert manifest["excluded_users"] == 1
    assert export_day(tables, DAY, s3=s3, now=NOW).changed is False

    # Late deliveries for the deleted id are dropped; a second deletion is an empty receipt.
    late = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body={"user_id": USER, "content_type": "coin", "external_id": "BTC", "reaction": "like"},
    )
    assert late.status_code == 202
    repeated = call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"])
    assert repeated.status_code == 200
    again = json.loads(repeated.body)
    assert again["already_deleted"] is True
    assert again["deleted_at"] == receipt["deleted_at"]
    assert set(again["tables"].values()) == {0}
    assert again["exports"]["status"] == "complete" and again["exports"]["removed"] == {}


def test_a_rollup_that_mentions_the_user_is_recomputed(
    client: Any, keys: dict, tables: Any
) -> None:
    seed(tables)
    ingest_events(  # a pattern label that happens to be the user id ends up in the rollup
        tables,
        {
            "events": [
                {
                    "event_id": "o1",
                    "type": "pattern_detected",
                    "user_id": OTHER,
                    "occurred_at": "2026-11-20T15:00:00Z",
                    "properties": {"pattern_type": USER},
                }
            ]
        },
        now=NOW,
    )
    ingest_events(
        tables,
        {
            "events": [
                {
                    "event_id": "z9",
                    "type": "pattern_detected",
                    "user_id": USER,
                    "occurred_at": "2026-11-20T15:00:00Z",
                    "properties": {"pattern_type": USER},
                }
            ]
        },
        now=NOW,
    )
    rollup_day(tables, DAY)
    assert USER in json.dumps(tables.daily_stats.get("2026-11-20").stats)
    receipt = json.loads(call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"]).body)
    assert receipt["daily_stats"] == {"checked": 1, "recomputed": ["2026-11-20"]}
    stats = tables.daily_stats.get("2026-11-20").stats
    assert stats["pattern_frequency"].get(USER) == 1  # OTHER's event remains, counted once


def test_the_journal_rollup_forgets_a_deleted_user(client: Any, keys: dict, tables: Any) -> None:
    from learnloop.journal.rollup import ROLLUP_SECTIONS, user_key

    seed(tables)
    rollup_day(tables, DAY, sections=ROLLUP_SECTIONS)
    key = user_key(USER, tables.settings.pseudonym_secret)
    journal = tables.daily_stats.get("2026-11-20").stats["journal"]
    assert key in journal["active"] and USER not in json.dumps(journal)
    receipt = json.loads(call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"]).body)
    assert receipt["daily_stats"] == {"checked": 1, "recomputed": ["2026-11-20"]}
    journal = tables.daily_stats.get("2026-11-20").stats["journal"]
    assert key not in json.dumps(journal)
    assert journal["active"] == [user_key(OTHER, tables.settings.pseudonym_secret)]


def test_deletion_needs_admin_and_a_valid_id(client: Any, keys: dict) -> None:
    assert call(client, "DELETE", f"/v1/users/{USER}", key=keys["ingest"]).status_code == 403
    bad = call(client, "DELETE", "/v1/users/no%20spaces", key=keys["admin"])
    assert bad.status_code == 422
