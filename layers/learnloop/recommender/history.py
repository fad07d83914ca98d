"""A user's history for serving: the items they interacted with, read by key, cached per container.

Two keyed Queries, never a Scan: the user's reactions (partition ``user_id`` of the reactions
table, keys and verdict only) and their newest ``recommend_history_events`` events (partition
``user_id`` of the events table, newest first, properties only), whose properties may name an
item (:func:`~learnloop.store.keys.item_key_of`: ``content_type`` + ``external_id``,
``item_key``, ``insight_id``). Both tables are keyed by user already, so no new key or index
is needed and existing data serves as is.

A :class:`HistoryCache` keeps each read for ``recommend_history_seconds`` (5 s by default):
a reaction written through another container is excluded at most that long after it was
written. The container that takes the write calls :meth:`HistoryCache.forget`, so a user who
reacts and asks again through the same container sees the reaction at once.

Only the standard library and the store: the events route may import this on ingest.

Examples
--------
>>> history = UserHistory(reacted=frozenset({"meme#a", "meme#b"}), liked=("meme#a",),
...                       interacted=frozenset({"news#c"}))
>>> sorted(history.excluded("all")), sorted(history.excluded("reactions"))
(['meme#a', 'meme#b', 'news#c'], ['meme#a', 'meme#b'])
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from learnloop.store.keys import item_key_of
from learnloop.store.tables import Tables

__all__ = ["HistoryCache", "UserHistory", "read_history"]

#: Users one container remembers; the least recently read are dropped first.
MAX_CACHED_USERS = 20_000


@dataclass(frozen=True)
class UserHistory:
    """What one user did to items, as serving needs it.

    Attributes
    ----------
    reacted : frozenset of str
        Item keys the user liked or disliked (their latest reaction stands).
    liked : tuple of str
        Item keys whose latest reaction is a like (a profile for users the model lacks).
    interacted : frozenset of str
        Item keys named by the user's newest events (viewed, clicked, found helpful, ...).
    """

    reacted: frozenset[str] = frozenset()
    liked: tuple[str, ...] = ()
    interacted: frozenset[str] = frozenset()

    def excluded(self, mode: str = "all") -> frozenset[str]:
        """The items to leave out: every interaction (``all``) or reactions only."""
        return self.reacted | self.interacted if mode == "all" else self.reacted


def read_history(tables: Tables, user_id: str, *, events: int = 1000) -> UserHistory:
    """Read ``user_id``'s history: one Query on the reactions table, one on the events table.

    Parameters
    ----------
    tables : Tables
        The stage's tables (the settings' content types decide which events name an item).
    user_id : str
        The user, as the app names them.
    events : int, default 1000
        The newest events to read (0: reactions only).

    Examples
    --------
    >>> read_history(tables, "u1").reacted  # doctest: +SKIP
    frozenset({'meme#m1'})
    """
    reacted: set[str] = set()
    liked: list[str] = []
    for record in tables.reactions.query(user_id, attributes_to_get=["item_key", "reaction"]):
        reacted.add(record.item_key)
        if record.reaction == "like":
            liked.append(record.item_key)
    interacted: set[str] = set()
    if events > 0:
        content_types = tables.settings.content_types
        newest = tables.events.query(
            user_id, scan_index_forward=False, limit=events, attributes_to_get=["properties"]
        )
        for event in newest:
            key = item_key_of(_mapping(event.properties), content_types)
            if key is not None:
                interacted.add(key)
    return UserHistory(frozenset(reacted), tuple(liked), frozenset(interacted - reacted))


def _mapping(properties: Any) -> Mapping[str, Any]:
    if isinstance(properties, str):  # a JSON string stored by an older writer
        try:
            properties = json.loads(properties)
        except ValueError:
            return {}
    return properties if isinstance(properties, Mapping) else {}


class HistoryCache:
    """Per-container memory of users' histories, each trusted for ``ttl_seconds``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    ttl_seconds : float
        How long one read is trusted: the longest a write made through another container
        goes unseen here. 0 reads every time.
    events : int, default 1000
        The newest events read per user (see :func:`read_history`).
    clock : callable, optional
        Monotonic seconds (tests pass a fake).
    max_users : int, default 20,000
        Users remembered; the least recently read go first.

    Examples
    --------
    >>> cache = HistoryCache(tables, ttl_seconds=5)  # doctest: +SKIP
    >>> cache.get("u1").excluded("all")  # doctest: +SKIP
    frozenset({'meme#m1', 'news#n4'})
    >>> cache.forget("u1")  # doctest: +SKIP
    """

    def __init__(
        self,
        tables: Tables,
        *,
        ttl_seconds: float,
        events: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = MAX_CACHED_USERS,
    ) -> None:
        self.tables = tables
        self.ttl_seconds = ttl_seconds
        self.events = events
        self.clock = clock
        self.max_users = max_users
        self._known: OrderedDict[str, tuple[float, UserHistory]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> UserHistory:
        """``user_id``'s history: the cached read while it is fresh, else a new read."""
        now = self.clock()
        with self._lock:
            known = self._known.get(user_id)
            if known is not None and known[0] > now:
                self._known.move_to_end(user_id)
                return known[1]
        history = read_history(self.tables, user_id, events=self.events)
        if self.ttl_seconds > 0:
            with self._lock:
                self._known[user_id] = (now + self.ttl_seconds, history)
                self._known.move_to_end(user_id)
                while len(self._known) > self.max_users:
                    self._known.popitem(last=False)
        return history

    def forget(self, user_id: str) -> None:
        """Drop ``user_id``'s cached history (they just reacted or sent an event here)."""
        with self._lock:
            self._known.pop(user_id, None)

    def forget_senders(self, batch: Any, rows: str = "events") -> None:
        """Forget every user of a batch (``{"events": [{"user_id": ...}, ...]}``, or the list
        under ``rows``: ``"reactions"``); anything else is ignored (the route has already
        validated or refused it)."""
        events = batch.get(rows) if isinstance(batch, Mapping) else None
        if not isinstance(events, list):
            return
        users = {e.get("user_id") for e in events if isinstance(e, Mapping)}
        with self._lock:
            for user_id in users:
                if isinstance(user_id, str):
                    self._known.pop(user_id, None)
