"""GET /v1/admin/export: pseudonymized rows inline, or a presigned URL for large ranges."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import UTC, datetime
from typing import Any

from support.api import call, fields_of

from learnloop.ingest import ingest_events, ingest_outcomes, put_reaction
from learnloop.privacy.admin_export import admin_export
from learnloop.store import Tables
from learnloop.users.consent import set_consent
from learnloop.users.pseudonym import pseudonymize

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def seed(tables: Any) -> None:
    for user, day, item in (
        ("ann", 20, "m1"),
        ("ben", 21, "m2"),
        ("cy", 21, "m3"),
        ("ann", 19, "m4"),
    ):
        put_reaction(
            tables,
            {
                "user_id": user,
                "content_type": "meme",
                "external_id": item,
                "reaction": "like",
                "occurred_at": f"2026-11-{day}T10:00:00Z",
            },
            now=NOW,
        )
    ingest_events(
        tables,
        {
            "events": [
                {
                    "event_id": "e1",
                    "type": "trade_created",
                    "user_id": "ann",
                    "occurred_at": "2026-11-20T09:00:00Z",
                    "properties": {
                        "trade_id": "t1",
                        "symbol": "BTC",
                        "side": "buy",
                        "quantity": 1.5,
                        "price": 100,
                        "note": "my secret plan",
                    },
                },
                {
                    "event_id": "e2",
                    "type": "alert_shown",
                    "user_id": "cy",
                    "occurred_at": "2026-11-21T09:00:00Z",
                    "properties": {"alert_id": "a1"},
                },
            ]
        },
        now=NOW,
    )
    ingest_outcomes(
        tables,
        {
            "outcomes": [
                {
                    "decision_id": "d1",
                    "collected_at": "2026-11-20T12:00:00Z",
                    "impressions": 100,
                    "likes": 3,
                },
                {"decision_id": "d2", "collected_at": "2026-11-21T12:00:00Z", "impressions": 50},
            ]
        },
        now=NOW,
    )
    set_consent(tables, "cy", {"consent": "opted_out"}, now=NOW)


def get(client: Any, key: str, query: str) -> Any:
    return call(client, "GET", f"/v1/admin/export?{query}", key=key)


def test_reactions_jsonl_inline_pseudonymized_without_opted_out(
    client: Any, keys: dict, tables: Any
) -> None:
    seed(tables)
    secret = tables.settings.pseudonym_secret
    reply = get(client, keys["admin"], "kind=reactions&format=jsonl&from=2026-11-20&to=2026-11-21")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    body = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
    rows = [json.loads(line) for line in body.splitlines()]
    assert [(r["user"], r["item_key"]) for r in rows] == [
        (pseudonymize("ann", secret), "meme#m1"),
        (pseudonymize("ben", secret), "meme#m2"),
    ]
    assert "ann" not in body and "ben" not in body


def test_events_and_outcomes_as_csv(client: Any, keys: dict, tables: Any) -> None:
    seed(tables)
    reply = get(client, keys["admin"], "kind=events&format=csv&from=2026-11-20&to=2026-11-21")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
    table = list(csv.DictReader(io.StringIO(body)))
    assert [r["event_id"] for r in table] == ["e1"]  # cy opted out
    assert json.loads(table[0]["properties"]) == {
        "trade_id": "t1",
        "symbol": "BTC",
        "side": "buy",
        "quantity": 1.5,
        "price": 100,
    }
    assert "secret plan" not in body

    reply = get(client, keys["admin"], "kind=outcomes&format=csv&from=2026-11-20&to=2026-11-21")
    body = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
    table = list(csv.DictReader(io.StringIO(body)))
    assert [(r["decision_id"], r["likes"], r["engagement_rate"]) for r in table] == [
        ("d1", "3", "0.03"),
        ("d2", "0", "0.0"),
    ]


def test_bad_queries_name_the_field(client: Any, keys: dict) -> None:
    admin = keys["admin"]
    for query, field in (
        ("kind=bikes&from=2026-11-20", "kind"),
        ("kind=events&format=xml&from=2026-11-20", "format"),
        ("kind=events&from=2026-13-01", "from"),
        ("kind=events", "from"),
        ("kind=events&from=2026-11-20&to=2026-11-19", "to"),
        ("kind=events&from=2025-01-01&to=2026-11-19", "to"),
        ("kind=events&from=2026-11-20&limit=3", "limit"),
    ):
        reply = get(client, admin, query)
        assert reply.status_code == 422, query
        assert fields_of(reply) == {field}, query
    assert get(client, keys["ingest"], "kind=events&from=2026-11-20").status_code == 403


def test_large_exports_go_through_a_presigned_url(
    tables: Any, s3: Any, _dynamodb_client: Any
) -> None:
    seed(tables)
    small = tables.settings.with_overrides(admin_export_inline_bytes=10)
    inline = admin_export(tables, {"kind": "reactions", "from": "2026-11-19", "to": "2026-11-21"})
    reply = admin_export(
        Tables(small, dynamodb_client=_dynamodb_client),
        {"kind": "reactions", "from": "2026-11-19", "to": "2026-11-21"},
        s3=s3,
    )
    assert reply.content_type == "application/json"
    body = json.loads(reply.body)
    assert body["key"].startswith("admin-exports/reactions/2026-11-19_2026-11-21/")
    assert body["rows"] == 3 and body["bytes"] == len(inline.body.encode())
    with urllib.request.urlopen(body["url"], timeout=10) as response:  # moto, on 127.0.0.1
        assert response.read().decode() == inline.body


def test_deleting_a_user_purges_their_pseudonym_from_admin_exports(
    tables: Any, s3: Any, _dynamodb_client: Any
) -> None:
    from learnloop.privacy.deletion import delete_user

    seed(tables)
    small = Tables(
        tables.settings.with_overrides(admin_export_inline_bytes=10),
        dynamodb_client=_dynamodb_client,
    )
    query = {"from": "2026-11-19", "to": "2026-11-21"}
    keys = [
        json.loads(admin_export(small, {**query, "kind": kind, "format": fmt}, s3=s3).body)["key"]
        for kind, fmt in (("reactions", "csv"), ("reactions", "jsonl"), ("events", "jsonl"))
    ]
    ann = pseudonymize("ann", tables.settings.pseudonym_secret)
    bucket = tables.settings.bucket

    def text(key: str) -> str:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    assert all(ann in text(key) for key in keys)
    receipt = delete_user(tables, "ann", s3=s3, now=NOW)
    assert set(receipt["admin_exports"]) == set(keys)
    assert receipt["admin_exports"][keys[0]] == 2  # ann's two reactions
    left = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="admin-exports/")["Contents"]
    ]
    for key in left:
        assert ann not in text(key)
    # What remains is still a well-formed export of the others' rows.
    rows = list(csv.DictReader(io.StringIO(text(keys[0]))))
    assert [r["item_key"] for r in rows] == ["meme#m2"]  # ben's (cy opted out)
