"""The per-container cache of each scope's production bandit policy."""

from __future__ import annotations

from typing import Any

import pytest

from learnloop.bandits import configured
from learnloop.bandits.configured import PolicyCache, ServedPolicy


def test_the_policy_is_read_once_per_ttl_and_absence_is_cached_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    served = {"content": ServedPolicy("bandit_policy", "v1", {"prior": [2.0, 2.0]})}

    def production_policy(tables: Any, scope: str) -> ServedPolicy | None:
        reads.append(scope)
        return served.get(scope)

    monkeypatch.setattr(configured, "production_policy", production_policy)
    now = [0.0]
    cache = PolicyCache(tables=None, ttl_seconds=30, clock=lambda: now[0])  # type: ignore[arg-type]
    assert cache.get("content") == served["content"]
    assert cache.get("timing") is None
    now[0] = 29.0
    assert cache.get("content") == served["content"] and cache.get("timing") is None
    assert reads == ["content", "timing"]  # no GetItem per request, not even for "none"
    served["content"] = ServedPolicy("bandit_policy", "v2", {"prior": [3.0, 1.0]})
    now[0] = 30.0
    assert cache.get("content").version == "v2"  # type: ignore[union-attr]
    assert reads == ["content", "timing", "content"]


def test_a_failed_read_keeps_serving_what_was_served(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynamodb.exceptions import GetError

    served = ServedPolicy("bandit_policy", "v1", {"prior": [2.0, 2.0]})
    answers: list[Any] = [served, GetError("throttled")]

    def production_policy(tables: Any, scope: str) -> ServedPolicy | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    monkeypatch.setattr(configured, "production_policy", production_policy)
    cache = PolicyCache(tables=None, ttl_seconds=0)  # type: ignore[arg-type]
    assert cache.get("content") == served
    assert cache.get("content") == served  # the read failed: still v1, select does not fail
