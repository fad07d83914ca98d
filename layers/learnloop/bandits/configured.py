"""The production ``bandit_policy`` version of each scope: what select runs with, cached.

A ``bandit_policy`` version (registered after an off-policy evaluation,
:mod:`learnloop.decisions.evaluation`) configures one scope's selection: the Thompson prior
for ``content``, UCB1's ``alpha`` and the ε-greedy share for ``timing``; its ``discount`` is
recorded with it. Its configuration sits on the version's record (``manifest.extra.policy``),
so reading it costs two GetItems, not an S3 read, and this cache does that at most every
``ttl_seconds`` per scope (like :class:`learnloop.bandits.arms.ArmsCache`). No production
version, or one that cannot be read, means today's defaults (``None``); a failed read keeps
what was served until the next check.

Examples
--------
>>> cache = PolicyCache(tables, ttl_seconds=30)  # doctest: +SKIP
>>> cache.get("content")  # doctest: +SKIP
ServedPolicy(version='20261207T001500Z', config={'scope': 'content', 'policy': 'thompson', ...})
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from learnloop.models.kinds import BANDIT_POLICY_NAMES, ArtifactRejectedError, policy_config
from learnloop.models.registry import production_record
from learnloop.observability import logger
from learnloop.store.tables import Tables

__all__ = ["PolicyCache", "ServedPolicy", "production_policy"]


@dataclass(frozen=True)
class ServedPolicy:
    """A production ``bandit_policy`` version and its checked configuration."""

    name: str
    version: str
    config: dict[str, Any]


def production_policy(tables: Tables, scope: str) -> ServedPolicy | None:
    """The production ``bandit_policy`` of ``scope`` (two consistent GetItems), or None.

    Examples
    --------
    >>> production_policy(tables, "content").config["prior"]  # doctest: +SKIP
    [2.0, 8.0]
    """
    name = BANDIT_POLICY_NAMES.get(scope)
    alias = production_record(tables, name) if name else None
    if name is None or alias is None or alias.target is None:
        return None
    try:
        record = tables.models.get(name, alias.target, consistent_read=True)
    except tables.models.DoesNotExist:
        return None
    extra = (record.manifest or {}).get("extra") or {}
    try:
        config = policy_config(extra.get("policy"))
    except ArtifactRejectedError:  # registration checked it; a hand-edited record is ignored
        logger.warning("bandit policy unreadable; defaults serve", extra={"version": alias.target})
        return None
    return ServedPolicy(name, alias.target, config)


class PolicyCache:
    """Each scope's production :class:`ServedPolicy`, re-read at most every ``ttl_seconds``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    ttl_seconds : float, default 30.0
        How stale a configuration may be (promotion takes effect within it).
    clock : callable, default time.monotonic
        Seconds; tests inject a fake.
    """

    def __init__(
        self,
        tables: Tables,
        *,
        ttl_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = tables
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, ServedPolicy | None]] = {}
        self._lock = threading.Lock()

    def get(self, scope: str) -> ServedPolicy | None:
        """The production policy of ``scope`` (None: the defaults), from memory when fresh."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(scope)
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        try:
            served = production_policy(self.tables, scope)
        except (PynamoDBException, BotoCoreError, ClientError):
            # A failed read must not fail selection: keep what was served (or the defaults)
            # until the next check.
            logger.exception("bandit policy read failed", extra={"scope": scope})
            served = entry[1] if entry is not None else None
        with self._lock:
            self._entries[scope] = (now, served)
        return served
