"""learnloop.client against a scripted fault server: retries, Retry-After, idempotency keys,
typed errors and timeouts (issue 18). Waits are recorded by an injected ``sleep``, never slept.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from support.scripted_server import DROP, ScriptedServer

from learnloop.client import (
    Client,
    RateLimitedError,
    RequestValidationError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from learnloop.client.errors import AuthError, NotFoundError

OK: Any = (200, {}, {"accepted": 3, "duplicates": 0, "dropped": 0})


def _client(server: ScriptedServer, sleeps: list[float], **options: Any) -> Client:
    return Client(server.url, key="ll_test", sleep=sleeps.append, rng=random.Random(7), **options)


def test_a_429_is_retried_after_exactly_its_retry_after() -> None:
    sleeps: list[float] = []
    with ScriptedServer([(429, {"Retry-After": "3"}, {"error": {}}), (200, {}, {"ok": 1})]) as s:
        assert _client(s, sleeps).health() == {"ok": 1}
    assert sleeps == [3.0]
    assert len(s.requests) == 2


def test_an_http_date_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    past = "Wed, 21 Oct 2015 07:28:00 GMT"  # already passed: retry at once
    with ScriptedServer([(503, {"Retry-After": past}, None), (200, {}, {"ok": 1})]) as s:
        assert _client(s, sleeps).health() == {"ok": 1}
    assert sleeps == [0.0]


def test_a_503_without_retry_after_backs_off_exponentially_with_jitter() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=3.0)
    with ScriptedServer([(503, {}, None)] * 4 + [(200, {}, {"ok": 1})]) as s:
        assert _client(s, sleeps, retry=policy).health() == {"ok": 1}
    assert len(sleeps) == 4
    assert all(0.0 <= wait <= min(3.0, 2.0**n) for n, wait in enumerate(sleeps))
    assert len(set(sleeps)) == 4  # jittered, not a fixed ladder


def test_retries_end_with_a_typed_error_carrying_retry_after() -> None:
    sleeps: list[float] = []
    body = {"error": {"code": "rate_limited", "message": "slow down", "details": []}}
    with (
        ScriptedServer([(429, {"Retry-After": "1"}, body)]) as s,
        pytest.raises(RateLimitedError) as caught,
    ):
        _client(s, sleeps, retry=RetryPolicy(attempts=3)).health()
    assert len(s.requests) == 3 and sleeps == [1.0, 1.0]
    assert caught.value.retry_after == 1.0 and caught.value.code == "rate_limited"


def test_a_retry_after_beyond_the_policy_raises_at_once() -> None:
    sleeps: list[float] = []
    with (
        ScriptedServer([(503, {"Retry-After": "3600"}, None)]) as s,
        pytest.raises(ServerError) as caught,
    ):
        _client(s, sleeps).health()
    assert sleeps == [] and len(s.requests) == 1
    assert caught.value.retry_after == 3600.0


def test_events_get_ids_once_and_every_retry_resends_the_same_ids() -> None:
    sleeps: list[float] = []
    events = [{"type": "alert_shown", "user_id": f"u{i}"} for i in range(3)]
    events[1]["event_id"] = "mine-1"
    with ScriptedServer([(503, {"Retry-After": "0"}, None), DROP, OK]) as s:
        summary = _client(s, sleeps).send_events(events)
    assert summary.totals["accepted"] == 3 and summary.requests == 1
    ids = [[e["event_id"] for e in r["body"]["events"]] for r in s.requests]
    assert len(ids) == 3 and ids[0] == ids[1] == ids[2]
    assert ids[0][1] == "mine-1" and len(set(ids[0])) == 3
    assert "event_id" not in events[0]  # the caller's dicts are left alone


def test_a_lost_answer_is_not_resent_for_a_route_that_is_not_replay_safe() -> None:
    sleeps: list[float] = []
    with (
        ScriptedServer([DROP, (200, {}, {"decision_id": "d"})]) as s,
        pytest.raises(TransportError) as caught,
    ):
        _client(s, sleeps).bandit_select({"user_id": "u1", "arms": ["a", "b"]})
    assert caught.value.maybe_applied is True
    assert len(s.requests) == 1


def test_a_503_is_resent_even_for_a_route_that_is_not_replay_safe() -> None:
    sleeps: list[float] = []
    with ScriptedServer([(503, {"Retry-After": "1"}, None), (200, {}, {"d": 1})]) as s:
        assert _client(s, sleeps).bandit_select({"user_id": "u1"}) == {"d": 1}
    assert sleeps == [1.0]


def test_a_502_is_resent_for_reads_only() -> None:
    sleeps: list[float] = []
    with ScriptedServer([(502, {}, None), (200, {}, {"ok": 1})]) as s:
        assert _client(s, sleeps).health() == {"ok": 1}
    with ScriptedServer([(502, {}, None), (200, {}, {"ok": 1})]) as s, pytest.raises(ServerError):
        _client(s, sleeps).bandit_select({"user_id": "u1"})
    assert len(s.requests) == 1


def test_a_timeout_is_retried_for_a_read_then_reported() -> None:
    sleeps: list[float] = []
    # The answer comes far later than the timeout: a socket timeout bounds each wait for
    # data, so a client thread stalled past the answer's arrival (a loaded CI machine stalled
    # one for 0.4 s) would read it in time; 5 s is beyond any stall. The server's threads are
    # daemons, so the test does not wait for them.
    slow = ("slow", 5.0, (200, {}, {"late": True}))
    with ScriptedServer([slow]) as s:
        client = _client(s, sleeps, timeout=0.1, retry=RetryPolicy(attempts=2))
        with pytest.raises(TransportError) as caught:
            client.health()
    assert len(s.requests) == 2 and len(sleeps) == 1
    assert "timed out" in str(caught.value)


def test_a_422_is_a_validation_error_naming_the_fields_and_the_batch_offset() -> None:
    sleeps: list[float] = []
    bad = {
        "error": {
            "code": "validation_error",
            "message": "invalid body",
            "details": [{"field": "events[1].user_id", "message": "required"}],
        }
    }
    with ScriptedServer([OK, (422, {}, bad)]) as s, pytest.raises(RequestValidationError) as caught:
        _client(s, sleeps).send_events([{"type": "t", "user_id": "u"}] * 5, batch_size=3)
    error = caught.value
    assert error.status == 422 and error.fields == ["events[1].user_id"]
    assert error.offset == 3  # the failing batch starts at the fourth event
    assert sleeps == []  # a 422 is never retried


@pytest.mark.parametrize(
    ("status", "cls"), [(401, AuthError), (403, AuthError), (404, NotFoundError)]
)
def test_client_errors_are_typed_and_not_retried(status: int, cls: type) -> None:
    sleeps: list[float] = []
    with (
        ScriptedServer([(status, {}, {"error": {"code": "x", "message": "no"}})]) as s,
        pytest.raises(cls),
    ):
        _client(s, sleeps).admin_stats()
    assert len(s.requests) == 1 and sleeps == []


def test_paths_queries_and_the_key_go_out_as_declared() -> None:
    sleeps: list[float] = []
    with ScriptedServer([(200, {}, {"items": []})]) as s:
        _client(s, sleeps).get_similar_items("meme", "m#1", k=3, content_type_="gif")
        _client(s, sleeps).admin_stats(from_="2026-01-01", key="ll_other")
    first, second = s.requests
    assert first["path"] == "/v1/items/meme/m%231/similar?k=3&content_type=gif"
    assert first["headers"]["authorization"] == "Bearer ll_test"
    assert second["path"] == "/v1/admin/stats?from=2026-01-01"
    assert second["headers"]["authorization"] == "Bearer ll_other"


def test_a_stage_prefix_in_the_base_url_is_kept() -> None:
    sleeps: list[float] = []
    with ScriptedServer([(200, {}, {"status": "ok"})]) as s:
        Client(s.url + "/prod/", sleep=sleeps.append).health()
    assert s.requests[0]["path"] == "/prod/v1/health"


def test_reactions_and_content_go_out_in_batches_of_the_routes_shape() -> None:
    sleeps: list[float] = []
    reactions = [
        {"user_id": f"u{i}", "content_type": "meme", "external_id": "m1", "reaction": "like"}
        for i in range(7)
    ]
    with ScriptedServer([(200, {}, {"accepted": 3})]) as s:
        client = _client(s, sleeps)
        summary = client.put_reactions(reactions, batch_size=3)
        client.put_contents([{"decision_id": "d1", "content_type": "meme"}])
    assert (summary.requests, summary.rows, summary.totals) == (3, 7, {"accepted": 9})
    paths = [r["path"] for r in s.requests]
    assert paths == ["/v1/reactions/batch"] * 3 + ["/v1/content/batch"]
    assert [len(r["body"]["reactions"]) for r in s.requests[:3]] == [3, 3, 1]
    assert s.requests[3]["body"] == {"content": [{"decision_id": "d1", "content_type": "meme"}]}
