"""A flaky store (issue 18): faults answer 503 with ``Retry-After``, and a client that retries
gets every write stored exactly once.

A proxy in front of moto's server injects, per request to the store: 6% throttling (400
``ThrottlingException``), 4% ``InternalFailure`` (500), 3% dropped responses (forwarded, then
the connection closed) and 3% connection resets before forwarding: 16% of store requests fail.
The SDK retries some of them itself; what it cannot absorb reaches the client as a 503, and
the client sends the same request again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.api import call
from support.fault_proxy import FaultProxy

pytestmark = pytest.mark.heavy(35)  # seconds in CI: see tests/conftest.py

# Enough requests that every kind of fault is injected (the test checks it); more only
# repeat the same paths at CI's expense.
N_EVENTS = 200
EVENTS_PER_BATCH = 10
N_REACTIONS = 60
MAX_ATTEMPTS = 30


@pytest.fixture
def flaky(
    aws_endpoint: str, tables: Any, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, FaultProxy]]:
    """A Chalice test client whose services reach the store through the fault proxy."""
    from botocore.retries.standard import ExponentialBackoff
    from chalice.test import Client

    # The SDK's retries run as configured, without their sleeps: the proxy's faults are random,
    # not load, so waiting between attempts changes nothing but the test's time.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)

    from learnloop.api import Services, set_services
    from learnloop.api.auth import Authenticator
    from learnloop.store import Tables

    proxy = FaultProxy(aws_endpoint, throttle=0.06, error=0.04, drop=0.03, reset=0.03, seed=18)
    proxy.start()
    settings = tables.settings.with_overrides(endpoint_url=proxy.url)
    via_proxy = Tables(settings)
    set_services(
        Services(settings=settings, tables=via_proxy, authenticator=Authenticator(via_proxy))
    )
    try:
        with Client(app_module.app) as client:
            yield client, proxy
    finally:
        set_services(None)
        proxy.stop()


def send_until_acknowledged(client: Any, method: str, path: str, key: str, body: Any) -> Any:
    """What a well-behaved client does: resend the same request on 503 (and only on 503)."""
    for _ in range(MAX_ATTEMPTS):
        response = call(client, method, path, key=key, body=body)
        if response.status_code != 503:
            return response
        assert response.headers.get("Retry-After", "").isdigit(), response.headers
        # A real client sleeps Retry-After seconds; the proxy's faults are random, not load.
    raise AssertionError(f"{path} still unavailable after {MAX_ATTEMPTS} attempts")


def test_a_client_that_retries_gets_every_write_stored_once(
    flaky: tuple[Any, FaultProxy], keys: dict[str, str], tables: Any
) -> None:
    client, proxy = flaky
    key = keys["ingest"]
    acknowledged: set[str] = set()
    statuses: list[int] = []
    for start in range(0, N_EVENTS, EVENTS_PER_BATCH):
        batch = [
            {
                "event_id": f"e{i}",
                "type": "app.opened",
                "user_id": f"u{i % 37}",
                "occurred_at": f"2026-11-20T10:{i % 60:02d}:{i % 53:02d}Z",
            }
            for i in range(start, start + EVENTS_PER_BATCH)
        ]
        response = send_until_acknowledged(client, "POST", "/v1/events", key, {"events": batch})
        statuses.append(response.status_code)
        if response.status_code == 200:
            acknowledged |= {event["event_id"] for event in batch}
    reactions_acked: set[tuple[str, str]] = set()
    for i in range(N_REACTIONS):
        body = {
            "user_id": f"u{i % 23}",
            "content_type": "meme",
            "external_id": f"m{i}",
            "reaction": "like",
        }
        response = send_until_acknowledged(client, "PUT", "/v1/reactions", key, body)
        statuses.append(response.status_code)
        if response.status_code == 200:
            reactions_acked.add((body["user_id"], f"meme#m{i}"))

    assert set(statuses) == {200}, sorted(set(statuses))
    assert proxy.injected["throttle"] and proxy.injected["error"], proxy.injected
    assert proxy.injected["drop"] and proxy.injected["reset"], proxy.injected
    stored_events = [item.event_id for item in tables.events.scan()]
    assert len(acknowledged) == N_EVENTS
    assert set(stored_events) == acknowledged, "0 lost"
    assert len(stored_events) == len(set(stored_events)), "0 doubled"
    stored_reactions = [(r.user_id, r.item_key) for r in tables.reactions.scan()]
    assert set(stored_reactions) == reactions_acked and len(stored_reactions) == N_REACTIONS


def test_an_unreachable_store_is_503_with_retry_after_not_500(
    client: Any, keys: dict[str, str], services: Any, app_module: Any
) -> None:
    import socket

    from learnloop.api import Services, set_services
    from learnloop.api.auth import Authenticator
    from learnloop.store import Tables

    # A port nothing listens on: every store request is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = services.settings.with_overrides(endpoint_url=dead, read_timeout_seconds=1.0)
    down = Tables(settings)
    set_services(Services(settings=settings, tables=down, authenticator=Authenticator(down)))
    event = {"type": "app.opened", "user_id": "u1", "occurred_at": "2026-11-20T10:00:00Z"}
    for method, path, body in [
        ("POST", "/v1/events", {"events": [event]}),
        ("GET", "/v1/models", None),
    ]:
        response = call(client, method, path, key=keys["admin"], body=body)
        assert response.status_code == 503, (path, response.body)
        assert response.headers["Retry-After"] == "1"
        assert json.loads(response.body)["error"]["code"] == "store_unavailable"
