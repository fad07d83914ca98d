"""POST /v1/reactions/batch and /v1/content/batch: all-or-nothing validation, idempotent,
the single PUT's rules (newest wins, tombstones, first created_at)."""

from __future__ import annotations

from typing import Any

from support.api import call, error_of


def reaction(i: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "user_id": f"u{i % 7}",
        "content_type": "meme",
        "external_id": f"m{i}",
        "reaction": "like" if i % 3 else "dislike",
        "occurred_at": f"2026-11-20T{i % 24:02d}:{i % 60:02d}:00Z",
    }
    body.update(overrides)
    return body


def test_a_batch_is_stored_once_however_often_it_is_sent(
    client: Any, keys: dict, tables: Any
) -> None:
    body = {"reactions": [reaction(i) for i in range(120)]}
    first = call(client, "POST", "/v1/reactions/batch", key=keys["ingest"], body=body)
    assert first.status_code == 200, first.json_body
    assert first.json_body["accepted"] == 120 and first.json_body["flagged"] == 0
    again = call(client, "POST", "/v1/reactions/batch", key=keys["ingest"], body=body)
    assert again.json_body["accepted"] == 0 and again.json_body["duplicates"] == 120
    assert sum(tables.reactions.count(f"u{u}") for u in range(7)) == 120
    stored = tables.reactions.get("u0", "meme#m0")
    assert (stored.reaction, stored.created_at) == ("dislike", "2026-11-20T00:00:00.000000Z")


def test_one_bad_row_refuses_the_batch_naming_every_bad_row(
    client: Any, keys: dict, tables: Any
) -> None:
    rows = [reaction(i) for i in range(10)]
    rows[3]["reaction"] = "love"
    rows[7]["content_type"] = "podcast"
    rows[8]["occurred_at"] = "1990-01-01T00:00:00Z"
    rows[9]["extra"] = 1
    response = call(
        client, "POST", "/v1/reactions/batch", key=keys["ingest"], body={"reactions": rows}
    )
    assert response.status_code == 422
    details = error_of(response)["details"]
    assert {(d["index"], d["field"]) for d in details} == {
        (3, "reactions[3].reaction"),
        (7, "reactions[7].content_type"),
        (8, "reactions[8].occurred_at"),
        (9, "reactions[9].extra"),
    }
    assert tables.reactions.count("u0") == 0


def test_batch_size_and_shape_are_checked(client: Any, keys: dict) -> None:
    for body, field in (
        ({"reactions": []}, "reactions"),
        ({"reactions": [reaction(i) for i in range(501)]}, "reactions"),
        ([reaction(1)], "reactions"),
        ({"reactions": [reaction(1)], "more": 1}, "more"),
    ):
        response = call(client, "POST", "/v1/reactions/batch", key=keys["ingest"], body=body)
        assert response.status_code == 422, body
        assert field in {d["field"] for d in error_of(response)["details"]}


def test_newest_wins_and_a_deleted_reaction_stays_deleted(
    client: Any, keys: dict, tables: Any
) -> None:
    newer = reaction(1, occurred_at="2026-11-20T11:00:00Z", reaction="dislike")
    older = reaction(1, occurred_at="2026-11-20T10:00:00Z", reaction="like")
    # Both in one batch, older last: the newer one is stored.
    body = {"reactions": [newer, older]}
    assert (
        call(client, "POST", "/v1/reactions/batch", key=keys["ingest"], body=body).status_code
        == 200
    )
    assert tables.reactions.get("u1", "meme#m1").reaction == "dislike"
    late = call(
        client, "POST", "/v1/reactions/batch", key=keys["ingest"], body={"reactions": [older]}
    )
    assert late.json_body["stale"] == 1
    deleted = call(client, "DELETE", "/v1/reactions/u1/meme/m1", key=keys["ingest"])
    assert deleted.json_body == {"deleted": True}
    again = call(
        client, "POST", "/v1/reactions/batch", key=keys["ingest"], body={"reactions": [newer]}
    )
    assert again.json_body["deleted"] == 1
    assert tables.reactions.count("u1") == 0


def test_the_read_scope_cannot_write(client: Any, keys: dict) -> None:
    body = {"reactions": [reaction(1)]}
    assert (
        call(client, "POST", "/v1/reactions/batch", key=keys["read"], body=body).status_code == 403
    )
    body = {"content": [{"decision_id": "d1", "posted_at": "2026-11-20T09:00:00Z"}]}
    assert call(client, "POST", "/v1/content/batch", key=keys["read"], body=body).status_code == 403


def test_content_batch_replaces_metadata_and_keeps_created_at(
    client: Any, keys: dict, tables: Any
) -> None:
    rows = [
        {
            "decision_id": f"d{i}",
            "posted_at": "2026-11-20T09:00:00Z",
            "topic": "btc",
            "quality_score": 0.5,
        }
        for i in range(30)
    ]
    first = call(client, "POST", "/v1/content/batch", key=keys["ingest"], body={"content": rows})
    assert first.status_code == 200 and first.json_body == {"accepted": 30, "duplicates": 0}
    created = tables.content.get("d0").created_at
    again = call(client, "POST", "/v1/content/batch", key=keys["ingest"], body={"content": rows})
    assert again.json_body == {"accepted": 0, "duplicates": 30}
    rows[0] = {"decision_id": "d0", "posted_at": "2026-11-20T09:00:00Z", "style": "thread"}
    third = call(client, "POST", "/v1/content/batch", key=keys["ingest"], body={"content": rows})
    assert third.json_body == {"accepted": 1, "duplicates": 29}
    stored = tables.content.get("d0")
    assert (stored.style, stored.topic, stored.created_at) == ("thread", None, created)
    bad = call(
        client,
        "POST",
        "/v1/content/batch",
        key=keys["ingest"],
        body={"content": [rows[1], {"decision_id": "a/b", "posted_at": "x"}]},
    )
    assert bad.status_code == 422
    assert {d["field"] for d in error_of(bad)["details"]} == {
        "content[1].decision_id",
        "content[1].posted_at",
    }
