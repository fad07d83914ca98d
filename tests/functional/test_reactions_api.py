"""PUT/DELETE /v1/reactions against moto's server."""

from __future__ import annotations

import json
from typing import Any

from support.api import call, error_of, fields_of


def reaction(**overrides: Any) -> dict[str, Any]:
    body = {
        "user_id": "u1",
        "content_type": "meme",
        "external_id": "m1",
        "reaction": "like",
        "content": {"title": "cat"},
    }
    body.update(overrides)
    return body


def test_put_twice_keeps_one_item_and_first_created_at(
    client: Any, keys: dict, tables: Any
) -> None:
    first = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body=reaction(occurred_at="2026-11-20T10:00:00Z"),
    )
    second = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body=reaction(reaction="dislike", occurred_at="2026-11-20T11:00:00Z"),
    )
    assert first.status_code == second.status_code == 200
    assert second.json_body["created_at"] == first.json_body["created_at"]
    assert second.json_body["updated_at"] > first.json_body["updated_at"]
    assert second.json_body["reaction"] == "dislike"
    assert tables.reactions.count("u1") == 1
    stored = tables.reactions.get("u1", "meme#m1")
    assert stored.reaction == "dislike"
    assert stored.created_at == first.json_body["created_at"]


def test_a_late_older_delivery_does_not_overwrite_a_newer_one(client: Any, keys: dict) -> None:
    call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body=reaction(reaction="dislike", occurred_at="2026-11-20T11:00:00Z"),
    )
    late = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body=reaction(reaction="like", occurred_at="2026-11-20T10:00:00Z"),
    )
    assert late.status_code == 200
    assert late.json_body["reaction"] == "dislike"


def test_content_type_must_be_configured(client: Any, keys: dict) -> None:
    response = call(
        client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction(content_type="podcast")
    )
    assert response.status_code == 422
    assert fields_of(response) == {"content_type"}
    assert "meme" in error_of(response)["details"][0]["message"]


def test_snapshot_over_32kb_is_422(client: Any, keys: dict, tables: Any) -> None:
    response = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body=reaction(content={"blob": "x" * 33_000}),
    )
    assert response.status_code == 422
    assert fields_of(response) == {"content"}
    assert tables.reactions.count("u1") == 0


def test_every_bad_field_is_named(client: Any, keys: dict) -> None:
    response = call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body={"user_id": "", "content_type": "meme", "reaction": "love", "extra": 1},
    )
    assert response.status_code == 422
    assert fields_of(response) == {"user_id", "external_id", "reaction", "extra"}


def test_delete_is_idempotent(client: Any, keys: dict, tables: Any) -> None:
    call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction())
    path = "/v1/reactions/u1/meme/m1"
    first = call(client, "DELETE", path, key=keys["ingest"])
    again = call(client, "DELETE", path, key=keys["ingest"])
    assert (first.status_code, first.json_body) == (200, {"deleted": True})
    assert (again.status_code, again.json_body) == (200, {"deleted": False})
    assert tables.reactions.count("u1") == 0


def test_delete_validates_the_path(client: Any, keys: dict) -> None:
    response = call(client, "DELETE", "/v1/reactions/u1/podcast/m1", key=keys["ingest"])
    assert response.status_code == 422
    assert fields_of(response) == {"content_type"}


def test_reaction_is_findable_by_item(client: Any, keys: dict, tables: Any) -> None:
    for user in ("u1", "u2"):
        call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction(user_id=user))
    users = sorted(r.user_id for r in tables.reactions.by_item.query("meme#m1"))
    assert users == ["u1", "u2"]
    assert json.loads(json.dumps(tables.reactions.get("u2", "meme#m1").content)) == {"title": "cat"}


def test_a_deleted_reaction_does_not_come_back_with_an_older_delayed_put(
    client: Any, keys: dict, tables: Any
) -> None:
    path = "/v1/reactions/u1/meme/m1"
    made = reaction(occurred_at="2026-11-20T10:00:00Z")
    assert call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=made).status_code == 200
    assert call(client, "DELETE", path, key=keys["ingest"]).json_body == {"deleted": True}
    late = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=made)  # a delayed retry
    assert late.status_code == 200 and late.json_body["deleted"] is True, late.body
    assert tables.reactions.count("u1") == 0
    # Deleted before it ever arrived: the first delivery is stale as well.
    early = reaction(external_id="m2", occurred_at="2026-11-20T10:00:00Z")
    call(client, "DELETE", "/v1/reactions/u1/meme/m2", key=keys["ingest"])
    call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=early)
    assert tables.reactions.count("u1") == 0
    # A reaction made after the deletion is stored.
    fresh = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction())
    assert fresh.json_body["reaction"] == "like" and tables.reactions.count("u1") == 1
