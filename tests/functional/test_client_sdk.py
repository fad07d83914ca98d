"""learnloop.client against the real app over HTTP (the local API server on this test's stage),
and through a fault proxy in front of the store: what the client acknowledges is stored once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from support.fault_proxy import FaultProxy

from learnloop.client import AuthError, Client, RequestValidationError, RetryPolicy
from learnloop_tools.demo.client import ApiCallError, ApiClient

pytestmark = pytest.mark.heavy(45)  # seconds in CI: see tests/conftest.py


@pytest.fixture(scope="module")
def sdk_app() -> ModuleType:
    """functions/app.py under a name of its own (the local server makes its app thread-local)."""
    from learnloop_tools.local.api_server import find_app_path, load_app_module

    return load_app_module(find_app_path(), module_name="learnloop_sdk_test_app")


@pytest.fixture
def api_url(sdk_app: ModuleType, services: Any) -> Iterator[str]:
    from learnloop_tools.local.api_server import LocalApiServer

    server = LocalApiServer(sdk_app.app, port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _event(i: int) -> dict[str, Any]:
    return {
        "type": "app.opened",
        "user_id": f"u{i % 7}",
        "occurred_at": f"2026-11-20T10:{i % 60:02d}:{i % 53:02d}Z",
    }


def test_typed_methods_round_trip(api_url: str, keys: dict[str, str], tables: Any) -> None:
    ingest = Client(api_url, key=keys["ingest"])
    assert ingest.health()["status"] == "ok"
    reaction = {"user_id": "u1", "content_type": "meme", "external_id": "m:1", "reaction": "like"}
    assert ingest.put_reaction(reaction)["reaction"] == "like"
    assert [r.item_key for r in tables.reactions.scan()] == ["meme#m:1"]
    ingest.delete_reaction("u1", "meme", "m:1")
    assert list(tables.reactions.scan()) == []
    stats = Client(api_url, key=keys["admin"]).admin_stats(from_="2026-11-01", to="2026-11-02")
    assert isinstance(stats, dict)


def test_put_reactions_uses_the_batch_route_and_a_resend_is_all_duplicates(
    api_url: str, keys: dict[str, str], tables: Any
) -> None:
    ingest = Client(api_url, key=keys["ingest"])
    reactions = [
        {
            "user_id": f"u{i % 5}",
            "content_type": "meme",
            "external_id": f"m{i}",
            "reaction": "like",
            "occurred_at": f"2026-11-20T10:{i % 60:02d}:00Z",
        }
        for i in range(230)
    ]
    first = ingest.put_reactions(reactions, batch_size=100)
    assert (first.requests, first.totals["accepted"]) == (3, 230)
    again = ingest.put_reactions(reactions, batch_size=100)
    assert (again.totals["accepted"], again.totals["duplicates"]) == (0, 230)
    assert sum(tables.reactions.count(f"u{u}") for u in range(5)) == 230


def test_a_422_names_the_field_and_a_wrong_scope_is_an_auth_error(
    api_url: str, keys: dict[str, str]
) -> None:
    ingest = Client(api_url, key=keys["ingest"])
    with pytest.raises(RequestValidationError) as caught:
        ingest.put_reaction(
            {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "love"}
        )
    assert caught.value.fields == ["reaction"]
    with pytest.raises(AuthError):
        Client(api_url, key=keys["read"]).put_reaction(
            {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"}
        )


def test_send_events_batches_and_a_resend_is_all_duplicates(
    api_url: str, keys: dict[str, str], tables: Any
) -> None:
    ingest = Client(api_url, key=keys["ingest"])
    events = [{**_event(i), "event_id": f"e{i}"} for i in range(1_050)]
    first = ingest.send_events(events)
    assert (first.requests, first.rows) == (3, 1_050)
    assert first.totals == {"accepted": 1_050, "duplicates": 0, "dropped": 0}
    again = ingest.send_events(events, batch_size=350)
    assert again.totals == {"accepted": 0, "duplicates": 1_050, "dropped": 0}
    assert len(list(tables.events.scan())) == 1_050


def test_the_demo_http_layer_is_the_client(api_url: str, keys: dict[str, str]) -> None:
    demo = ApiClient(api_url, key=keys["ingest"])
    assert isinstance(demo, Client)
    assert demo.request("GET", "/v1/health")["status"] == "ok"
    with pytest.raises(ApiCallError) as caught:
        demo.request("POST", "/v1/events", {"events": []})
    assert caught.value.status == 422


def test_through_store_faults_every_acknowledged_event_is_stored_once(
    sdk_app: ModuleType, aws_endpoint: str, tables: Any, keys: dict[str, str]
) -> None:
    from learnloop.api import Services, set_services
    from learnloop.api.auth import Authenticator
    from learnloop.store import Tables
    from learnloop_tools.local.api_server import LocalApiServer

    proxy = FaultProxy(aws_endpoint, throttle=0.15, error=0.10, drop=0.03, reset=0.03, seed=11)
    proxy.start()
    settings = tables.settings.with_overrides(endpoint_url=proxy.url)
    via_proxy = Tables(settings)
    set_services(
        Services(
            settings=settings,
            tables=via_proxy,
            authenticator=Authenticator(Tables(tables.settings), cache_seconds=60),
        )
    )
    server = LocalApiServer(sdk_app.app, port=0)
    server.start()
    waits: list[float] = []
    try:
        client = Client(
            server.url,
            key=keys["ingest"],
            retry=RetryPolicy(attempts=30),
            sleep=waits.append,  # the faults are random, not load: no need to wait
            rng=random.Random(3),
        )
        summary = client.send_events((_event(i) for i in range(120)), batch_size=10)
    finally:
        server.stop()
        set_services(None)
        proxy.stop()
    # A batch the store applied but whose answer was lost comes back as duplicates on resend.
    totals = summary.totals
    assert summary.rows == 120 and totals["accepted"] + totals["duplicates"] == 120, summary
    assert proxy.injected["throttle"] and proxy.injected["error"], proxy.injected
    assert waits and all(wait == 1.0 for wait in waits)  # the 503s' Retry-After
    stored = [item.event_id for item in tables.events.scan()]
    assert len(stored) == 120 and len(set(stored)) == 120  # 0 lost, 0 doubled
