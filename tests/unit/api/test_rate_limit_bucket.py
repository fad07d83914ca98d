"""The token bucket's arithmetic (GCRA): burst, refusal, refill, and the long-run rate."""

from __future__ import annotations

import pytest

from learnloop.api.ratelimit import Limit, decide
from learnloop.api.ratelimit.bucket import MICROS

NOW = 1_800_000_000 * MICROS


def run(limit: Limit, times: list[int]) -> list[bool]:
    tat: int | None = None
    allowed = []
    for now in times:
        decision = decide(limit, tat, now)
        allowed.append(decision.allowed)
        tat = decision.tat
    return allowed


def test_a_full_bucket_allows_exactly_the_burst_at_once() -> None:
    limit = Limit(rate=10.0, burst=5)
    assert run(limit, [NOW] * 8) == [True] * 5 + [False] * 3


def test_remaining_counts_down_and_a_refusal_says_when_to_retry() -> None:
    limit = Limit(rate=4.0, burst=2)
    first = decide(limit, None, NOW)
    second = decide(limit, first.tat, NOW)
    third = decide(limit, second.tat, NOW)
    assert (first.remaining, second.remaining) == (1, 0)
    assert not third.allowed and third.tat == second.tat, "a refusal does not consume"
    assert third.retry_after == pytest.approx(0.25)
    assert third.retry_after_header == 1
    assert decide(limit, second.tat, NOW + 250_000).allowed


def test_the_bucket_refills_at_the_rate_and_never_beyond_the_burst() -> None:
    limit = Limit(rate=2.0, burst=3)
    tat = decide(limit, decide(limit, decide(limit, None, NOW).tat, NOW).tat, NOW).tat
    # An hour idle refills to the burst, not to 7200 tokens.
    later = NOW + 3600 * MICROS
    assert run(limit, [later] * 5) == [True] * 3 + [False] * 2
    assert decide(limit, tat, later).remaining == 2


def test_over_a_long_run_the_allowed_rate_is_the_limit() -> None:
    # 50 requests per second offered for 20 s against 5/s with burst 10.
    limit = Limit(rate=5.0, burst=10)
    times = [NOW + i * (MICROS // 50) for i in range(50 * 20)]
    allowed = sum(run(limit, times))
    assert allowed == pytest.approx(10 + 5 * 20, abs=1)


def test_a_slow_client_is_never_refused() -> None:
    limit = Limit(rate=1.0, burst=1)
    assert all(run(limit, [NOW + i * MICROS for i in range(100)]))
