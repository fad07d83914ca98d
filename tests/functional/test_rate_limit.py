"""Per-key token buckets in DynamoDB (moto over HTTP): 429s, refill, sharing, one write each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support.api import call, error_of

from learnloop.api import Services, set_services
from learnloop.api.auth import Authenticator
from learnloop.api.ratelimit import DynamoDBRateLimiter, Limit
from learnloop.exceptions import RateLimitedError
from learnloop.store import Tables

REACTION = {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def counting(client: Any, operation: str) -> Iterator[list[str]]:
    """Count the requests of ``operation`` the shared DynamoDB client sends (botocore hooks)."""
    seen: list[str] = []

    def hook(**kwargs: Any) -> None:
        seen.append(operation)

    event = f"before-call.dynamodb.{operation}"
    client.meta.events.register(event, hook)
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, hook)


@pytest.fixture
def limited(settings: Any, tables: Any) -> Iterator[Services]:
    """The app's services with tiny limits: ingest 1/s burst 3, read 1/s burst 2."""
    limited_settings = settings.with_overrides(
        rate_limit_ingest_per_second=1.0,
        rate_limit_ingest_burst=3,
        rate_limit_read_per_second=1.0,
        rate_limit_read_burst=2,
    )
    services = Services(
        settings=limited_settings,
        tables=tables,
        authenticator=Authenticator(tables, cache_seconds=0),
    )
    set_services(services)
    yield services
    set_services(None)


def test_a_key_over_its_burst_gets_429_with_retry_after_and_the_envelope(
    app_module: Any, limited: Services, keys: dict[str, str]
) -> None:
    from chalice.test import Client

    with Client(app_module.app) as client:
        statuses = [
            call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=REACTION).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=REACTION)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        error = error_of(refused)
        assert error["code"] == "rate_limited"
        assert "1 requests per second" in error["message"]

        # Another key has its own bucket; the same key on another scope too.
        other = call(client, "PUT", "/v1/reactions", key=keys["admin"], body=REACTION)
        assert other.status_code == 200
        select = {"scope": "content", "candidates": ["a", "b"]}
        read = call(client, "POST", "/v1/bandit/select", key=keys["read"], body=select)
        assert read.status_code == 200
        # Open routes are not limited.
        assert call(client, "GET", "/v1/health").status_code == 200


def test_a_refused_request_writes_nothing_and_an_allowed_one_writes_once(
    tables: Tables, _dynamodb_client: Any
) -> None:
    clock = Clock()
    limiter = DynamoDBRateLimiter(tables, {"ingest": Limit(rate=1, burst=2)}, clock=clock)
    with counting(_dynamodb_client, "UpdateItem") as writes:
        limiter.acquire("k1", "ingest")
        limiter.acquire("k1", "ingest")
        assert len(writes) == 2
        with pytest.raises(RateLimitedError) as refused:
            limiter.acquire("k1", "ingest")
        assert len(writes) == 2, "the container already knew the bucket was empty"
        assert refused.value.retry_after == 1
    clock.now += 1.0
    assert limiter.acquire("k1", "ingest") is not None
    stored = tables.rate_limits.get("k1#ingest")
    assert stored.expires_at is not None


def test_containers_sharing_a_key_never_exceed_the_burst_together(
    tables: Tables, _dynamodb_client: Any
) -> None:
    # Four "containers" (limiters with their own memory) take turns on one key at one instant,
    # each acting on what it last saw, which the others keep making stale. (Turns, not threads:
    # moto does not serialize concurrent UpdateItems on one item as DynamoDB does, so a
    # threaded run would test the emulator.)
    clock = Clock()
    limit = Limit(rate=0.001, burst=12)
    limiters = [DynamoDBRateLimiter(tables, {"read": limit}, clock=clock) for _ in range(4)]
    allowed = refused = 0
    with counting(_dynamodb_client, "UpdateItem") as writes:
        for _ in range(5):
            for limiter in limiters:
                try:
                    limiter.acquire("shared", "read")
                    allowed += 1
                except RateLimitedError:
                    refused += 1
    assert (allowed, refused) == (12, 8)
    # Each allowed request moved the stored bucket exactly one interval: nothing was lost.
    stored = tables.rate_limits.get("shared#read")
    assert stored.tat == int(clock.now * 1_000_000) + 12 * limit.interval
    # A stale guess costs one failed write; no request needs more than two.
    assert len(writes) <= 2 * 20


def test_idle_buckets_refill_across_containers(tables: Tables) -> None:
    clock = Clock()
    first = DynamoDBRateLimiter(tables, {"admin": Limit(rate=2, burst=2)}, clock=clock)
    second = DynamoDBRateLimiter(tables, {"admin": Limit(rate=2, burst=2)}, clock=clock)
    first.acquire("k", "admin")
    first.acquire("k", "admin")
    with pytest.raises(RateLimitedError):
        second.acquire("k", "admin")  # knows nothing yet: learns from the failed write
    clock.now += 0.5
    assert second.acquire("k", "admin") is not None
    with pytest.raises(RateLimitedError):
        first.acquire("k", "admin")


def test_an_unlimited_scope_and_a_failing_store_let_requests_through(
    settings: Any, _dynamodb_client: Any
) -> None:
    # A stage whose tables were never created: the store fails, the request passes.
    missing = Tables(
        settings.with_overrides(table_prefix="nope-"), dynamodb_client=_dynamodb_client
    )
    limiter = DynamoDBRateLimiter(missing, {"ingest": Limit(rate=1, burst=1)})
    assert limiter.acquire("k", "ingest") is None
    assert limiter.acquire("k", "read") is None


def test_a_busy_key_leases_tokens_but_never_overdraws_its_bucket(
    tables: Tables, _dynamodb_client: Any
) -> None:
    # burst 100, leases of 10 while more than half the bucket is left, then one by one.
    clock = Clock()
    limit = Limit(rate=1000, burst=100)
    limiter = DynamoDBRateLimiter(tables, {"ingest": limit}, clock=clock)
    allowed = 0
    with counting(_dynamodb_client, "UpdateItem") as writes:
        for _ in range(120):
            try:
                limiter.acquire("busy", "ingest")
            except RateLimitedError:
                continue
            allowed += 1
    assert allowed == 100, "exactly the burst at one instant, leases included"
    assert len(writes) == 5 + 50, "five leases of ten, then fifty single tokens"
    stored = tables.rate_limits.get("busy#ingest")
    assert stored.tat == int(clock.now * 1_000_000) + 100 * limit.interval


def test_leased_tokens_expire_unspent(tables: Tables, _dynamodb_client: Any) -> None:
    clock = Clock()
    limiter = DynamoDBRateLimiter(tables, {"read": Limit(rate=1000, burst=100)}, clock=clock)
    with counting(_dynamodb_client, "UpdateItem") as writes:
        limiter.acquire("k", "read")  # leases ten
        limiter.acquire("k", "read")
        assert len(writes) == 1
        clock.now += 1.5  # past the lease
        limiter.acquire("k", "read")
        assert len(writes) == 2
