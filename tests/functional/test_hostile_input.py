"""Hostile input on every route: scopes, sizes, nesting, encodings, batches, odd path ids.

Routes come from the app's own declarations (``api.routes``, which a test keeps equal to
``app.routes``), so a new route is covered here the day it is declared.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.api import call, error_of, fields_of
from support.app import declared_routes

from learnloop.api import RouteSpec
from learnloop.api.auth import Scope

ROUTES = declared_routes()
SECURED = [r for r in ROUTES if r.scope is not None]
WITH_BODY = [r for r in ROUTES if r.body]
WITH_PATH = [r for r in ROUTES if r.path_params]


def concrete(route: RouteSpec, value: str = "x1") -> str:
    path = route.path
    for name in route.path_params:
        path = path.replace("{" + name + "}", value)
    return path


def route_id(route: RouteSpec) -> str:
    return f"{route.method} {route.path}"


def wrong_scopes(needed: Scope) -> list[str]:
    return [s.value for s in Scope if s is not Scope.ADMIN and s is not needed]


def test_every_secured_route_is_401_without_a_key_and_403_with_a_wrong_scope(
    client: Any, keys: dict[str, str]
) -> None:
    assert len(SECURED) >= 15
    for route in SECURED:
        body = {} if route.body else None
        missing = call(client, route.method, concrete(route), body=body)
        assert missing.status_code == 401, route_id(route)
        assert error_of(missing)["code"] == "unauthorized"
        bogus = call(client, route.method, concrete(route), key="ll_not-a-key", body=body)
        assert bogus.status_code == 401, route_id(route)
        assert route.scope is not None
        scopes = wrong_scopes(route.scope)
        assert scopes, route_id(route)
        for scope in scopes:
            wrong = call(client, route.method, concrete(route), key=keys[scope], body=body)
            assert wrong.status_code == 403, (route_id(route), scope)
            assert error_of(wrong)["code"] == "forbidden"
        # Admin grants every scope: whatever it gets, it is past authorization.
        admin = call(client, route.method, concrete(route), key=keys["admin"], body=body)
        assert admin.status_code not in (401, 403, 500), (route_id(route), admin.body)


def test_a_wrong_scheme_is_401(client: Any, keys: dict[str, str]) -> None:
    response = client.http.get("/v1/models", headers={"Authorization": f"Basic {keys['admin']}"})
    assert response.status_code == 401


@pytest.mark.parametrize("route", WITH_BODY, ids=route_id)
def test_oversized_non_utf8_and_deeply_nested_bodies(
    client: Any, keys: dict[str, str], route: RouteSpec
) -> None:
    key = keys["admin"]
    path = concrete(route)
    big = call(client, route.method, path, key=key, raw=b'{"pad": "' + b"x" * 1_100_000 + b'"}')
    assert big.status_code == 413, big.body
    assert error_of(big)["code"] == "payload_too_large"
    latin1 = call(client, route.method, path, key=key, raw='{"user_id": "Zoë"}'.encode("latin-1"))
    assert latin1.status_code == 400
    assert "UTF-8" in error_of(latin1)["message"]
    nested = call(client, route.method, path, key=key, raw=b"[" * 100_000 + b"]" * 100_000)
    assert nested.status_code == 400
    assert "nested" in error_of(nested)["message"]
    lonely = call(client, route.method, path, key=key, raw=b'{"a": ' * 70 + b"1" + b"}" * 70)
    assert lonely.status_code == 400


@pytest.mark.parametrize(
    ("path", "field", "item"),
    [
        (
            "/v1/events",
            "events",
            {"type": "x.y", "user_id": "u1", "occurred_at": "2026-11-20T10:00:00Z"},
        ),
        ("/v1/outcomes", "outcomes", {"decision_id": "d1", "impressions": 10}),
        (
            "/v1/reactions/batch",
            "reactions",
            {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"},
        ),
        (
            "/v1/content/batch",
            "content",
            {"decision_id": "d1", "posted_at": "2026-11-20T10:00:00Z"},
        ),
        (
            "/v1/predict/engagement",
            "rows",
            {"quality_score": 0.5, "posted_hour": 9, "length": "short"},
        ),
        (
            "/v1/predict/follow-through",
            "rows",
            {"novelty_score": 0.5, "expertise_level": 0.5, "viral_score": 10.0},
        ),
        (
            "/v1/market/candles",
            "candles",
            {"open_time": 0, "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0},
        ),
    ],
)
def test_huge_batches_are_refused_before_anything_is_stored(
    client: Any, keys: dict[str, str], tables: Any, path: str, field: str, item: dict[str, Any]
) -> None:
    batches = ("/v1/events", "/v1/outcomes", "/v1/reactions/batch", "/v1/content/batch")
    limit = 500 if path in batches else 1000
    over = call(client, "POST", path, key=keys["admin"], body={field: [item] * (limit + 1)})
    assert over.status_code == 422, over.body
    assert field in {d["field"] for d in error_of(over)["details"]}
    # Far more than fits in a request: refused on size alone.
    huge = json.dumps({field: [item] * 40_000}).encode()
    assert len(huge) > 1_048_576
    assert call(client, "POST", path, key=keys["admin"], raw=huge).status_code == 413
    assert list(tables.events.scan()) == [] and list(tables.outcomes.scan()) == []
    assert list(tables.candles.scan()) == []
    assert list(tables.reactions.scan()) == [] and list(tables.content.scan()) == []


ODD_IDS = [
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fsettings.py",
    "..%5C..%5Cwindows",
    "a%00b",
    "%F0%9F%92%A9",
    "%C3%28",
    "x" * 5000,
    "a%20b",
    "%25",
    "'%3B%20DROP%20TABLE",
]


@pytest.mark.parametrize("route", WITH_PATH, ids=route_id)
def test_odd_and_traversal_ids_in_path_params_are_4xx_never_500(
    client: Any, keys: dict[str, str], route: RouteSpec
) -> None:
    for odd in ODD_IDS:
        body = {} if route.body else None
        response = call(client, route.method, concrete(route, odd), key=keys["admin"], body=body)
        assert 400 <= response.status_code < 500, (route_id(route), odd, response.body)
        error_of(response)


@pytest.mark.parametrize(
    "name",
    [
        "..%2F__init__.py",
        "..%2F..%2Fsettings.py",
        "index.html",
        "assets.py",
        "%2e%2e",
        "dashboard.js%00.py",
        "DASHBOARD.JS",
    ],
)
def test_dashboard_assets_serve_only_their_allowlist(client: Any, name: str) -> None:
    response = client.http.get(f"/admin/assets/{name}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert b"import" not in response.body


UNSTORABLE_NUMBERS = {
    "huge_int": b"1" * 5000,  # past Python's int-from-string limit (a ValueError in json.loads)
    "long_int": b"9" * 39,  # past DynamoDB's 38 digits
    "nan": b"NaN",
    "infinity": b"-Infinity",
    "overflow": b"1e400",
}


@pytest.mark.parametrize("route", WITH_BODY, ids=route_id)
def test_unstorable_numbers_anywhere_in_a_body_are_422_naming_the_field(
    client: Any, keys: dict[str, str], route: RouteSpec
) -> None:
    for name, literal in UNSTORABLE_NUMBERS.items():
        raw = b'{"outer": {"list": [1, ' + literal + b"]}}"
        response = call(client, route.method, concrete(route), key=keys["admin"], raw=raw)
        assert response.status_code == 422, (route_id(route), name, response.body)
        assert "outer.list[1]" in fields_of(response), (route_id(route), name)
