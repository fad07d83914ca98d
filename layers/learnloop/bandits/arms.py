"""A short-lived per-container cache of bandit arms, so selection is not a Query per request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from learnloop.store.tables import Tables


class ArmsCache:
    """The arms of each bandit scope, re-read at most every ``ttl_seconds``.

    A few seconds of staleness is harmless: ``learn`` moves the arms every few hours.

    Examples
    --------
    >>> cache = ArmsCache(tables, ttl_seconds=5)  # doctest: +SKIP
    >>> sorted(cache.get("content"))  # doctest: +SKIP
    ['hook:question', 'hook:story']
    """

    def __init__(
        self,
        tables: Tables,
        *,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = tables
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, scope: str) -> dict[str, Any]:
        """Arm name → stored arm of ``scope`` (one Query when the entry is stale)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(scope)
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        arms = {arm.arm: arm for arm in self.tables.bandit_arms.query(scope)}
        with self._lock:
            self._entries[scope] = (now, arms)
        return arms
