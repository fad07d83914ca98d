"""Authentication and scopes, through the real app against moto's server."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import call, error_of

REACTION = {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"}


def test_health_is_open(client: Any) -> None:
    response = call(client, "GET", "/v1/health")
    assert response.status_code == 200
    assert response.json_body["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer ll_not-a-real-key"}, {"Authorization": "Basic abc"}],
    ids=["missing", "unknown", "wrong-scheme"],
)
def test_missing_or_unknown_key_is_401(client: Any, keys: dict[str, str], headers: dict) -> None:
    response = call(client, "PUT", "/v1/reactions", body=REACTION, headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_wrong_scope_is_403_and_stores_nothing(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    response = call(client, "PUT", "/v1/reactions", key=keys["read"], body=REACTION)
    assert response.status_code == 403
    assert "ingest" in error_of(response)["message"]
    assert tables.reactions.count("u1") == 0


@pytest.mark.parametrize("scope", ["ingest", "admin"])
def test_ingest_and_admin_keys_may_ingest(client: Any, keys: dict[str, str], scope: str) -> None:
    response = call(client, "PUT", "/v1/reactions", key=keys[scope], body=REACTION)
    assert response.status_code == 200


def test_keys_are_stored_hashed(tables: Any, keys: dict[str, str]) -> None:
    from learnloop.api.auth import hash_key

    stored = [item.key_hash for item in tables.api_keys.scan()]
    assert sorted(stored) == sorted(hash_key(secret) for secret in keys.values())
    assert not any(secret in stored for secret in keys.values())


def test_revoked_key_is_refused(client: Any, keys: dict[str, str], tables: Any) -> None:
    from learnloop.api.auth import revoke_api_key

    assert revoke_api_key(tables, keys["ingest"])
    response = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=REACTION)
    assert response.status_code == 401
