"""Consent: opting out of (and back into) collection, and the cheap check ingest makes.

A user who opted out, or whose data was deleted, has their new reactions, events, insights and
insight feedback accepted (202) and dropped: nothing is stored. Their state lives in the users
table: the user's own item (``consent``, ``pseudonym``, ``excluded = "opted_out"``) or a
tombstone (see :mod:`learnloop.users.tombstones`), both in the sparse ``by_exclusion`` index.

The check (:class:`ConsentCache`) holds the stage's whole excluded set per container: the
pseudonyms of the ``by_exclusion`` index, re-read (two Queries) once it is
``consent_cache_seconds`` old, so a request costs no call at all, whichever user it names.
Freshness: an opt-out or deletion made through *another* container reaches this one within
``consent_cache_seconds`` (10 s by default) plus the index's propagation (normally well under a
second); the container that takes the change knows it at once (:meth:`ConsentCache.note`,
kept for two TTLs, which outlasts both). A stage with more than ``MAX_EXCLUDED_SET`` excluded
users asks per user instead: one BatchGetItem for every user of a request not seen in the last
``consent_cache_seconds``. Imports nothing heavy.

Examples
--------
>>> cache = ConsentCache(tables, ttl_seconds=10)  # doctest: +SKIP
>>> set_consent(tables, "u1", {"consent": "opted_out"}, cache=cache)["consent"]  # doctest: +SKIP
'opted_out'
>>> cache.dropped(["u1", "u2"])  # doctest: +SKIP
{'u1'}
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ConflictError
from learnloop.store.tables import Tables
from learnloop.users.pseudonym import pseudonymize
from learnloop.users.tombstones import DELETED, OPTED_OUT, get_tombstone, tombstone_key
from learnloop.validation import Identifier, Strict, validate

OPTED_IN = "opted_in"
_BATCH_GET_LIMIT = 100
#: A container forgets its whole cache past this many users rather than grow without bound.
_MAX_CACHED_USERS = 50_000
#: Past this many excluded users a container stops holding the whole set (each re-read would
#: cost more than it saves) and asks per user.
MAX_EXCLUDED_SET = 10_000


class UserKeyIn(Strict):
    """A user id from a path: ``/v1/users/{user_id}/...``."""

    user_id: Identifier


class ConsentIn(Strict):
    """``PUT /v1/users/{user_id}/consent``."""

    consent: Literal["opted_in", "opted_out"]


class UserDeletedError(ConflictError):
    """Consent was set for a user whose data was deleted: a deleted id stays excluded (409)."""

    code = "user_deleted"


def lookup_dropped(tables: Tables, user_ids: Iterable[str]) -> set[str]:
    """The users among ``user_ids`` whose data must not be stored (opted out or deleted).

    One BatchGetItem per 50 users (each user's item and their tombstone), no cache.

    Examples
    --------
    >>> lookup_dropped(tables, ["u1", "u2"])  # doctest: +SKIP
    set()
    """
    users = sorted(set(user_ids))
    if not users:
        return set()
    secret = tables.settings.pseudonym_secret
    owner = {}
    for user_id in users:
        owner[user_id] = user_id
        owner[tombstone_key(pseudonymize(user_id, secret))] = user_id
    keys = list(owner)
    dropped: set[str] = set()
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        chunk = keys[start : start + _BATCH_GET_LIMIT]
        for item in tables.users.batch_get(chunk, attributes_to_get=["user_id", "excluded"]):
            if item.excluded in (OPTED_OUT, DELETED):
                dropped.add(owner[item.user_id])
    return dropped


class ConsentCache:
    """Per-container memory of who is dropped, trusted for ``ttl_seconds`` (see the module).

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    ttl_seconds : float
        How long one read is trusted: the longest an opt-out or a deletion made through
        another container takes to reach this one (plus the index's propagation). 0 disables
        the cache.
    clock : callable, optional
        Monotonic seconds (tests pass a fake).
    max_excluded : int, optional
        Most excluded users held as a set; past it, users are looked up one by one.

    Examples
    --------
    >>> cache = ConsentCache(tables, ttl_seconds=10)  # doctest: +SKIP
    >>> cache.dropped(["u1"])  # doctest: +SKIP
    set()
    """

    def __init__(
        self,
        tables: Tables,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_excluded: int = MAX_EXCLUDED_SET,
    ) -> None:
        self.tables = tables
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_excluded = max_excluded
        self._known: dict[str, tuple[float, bool]] = {}
        self._excluded: tuple[float, frozenset[str]] | None = None
        #: changes this container made: user → (until, dropped); they win over the set
        self._noted: dict[str, tuple[float, bool]] = {}
        #: until when the stage's set is known to be too large to hold
        self._too_many_until = 0.0
        self._lock = threading.Lock()

    def dropped(self, user_ids: Iterable[str]) -> set[str]:
        """The users among ``user_ids`` whose data must not be stored."""
        now = self.clock()
        users = set(user_ids)
        if not users:
            return set()
        excluded = self._excluded_set(now)
        if excluded is not None:
            secret = self.tables.settings.pseudonym_secret
            with self._lock:
                noted = {u: self._noted.get(u) for u in users}
            result = set()
            for user_id, change in noted.items():
                if change is not None and change[0] > now:  # this container's own change
                    if change[1]:
                        result.add(user_id)
                elif pseudonymize(user_id, secret) in excluded:
                    result.add(user_id)
            return result
        return self._per_user(users, now)

    def _excluded_set(self, now: float) -> frozenset[str] | None:
        """The stage's excluded pseudonyms while fresh (re-read when stale); None when the
        cache is off or the set is too large to hold."""
        if self.ttl_seconds <= 0 or now < self._too_many_until:
            return None
        with self._lock:
            cached = self._excluded
        if cached is not None and cached[0] > now:
            return cached[1]
        found = _excluded_up_to(self.tables, self.max_excluded)
        with self._lock:
            if found is None:
                self._too_many_until = now + self.ttl_seconds
                self._excluded = None
                return None
            self._excluded = (now + self.ttl_seconds, found)
        return found

    def _per_user(self, users: set[str], now: float) -> set[str]:
        result: set[str] = set()
        stale: list[str] = []
        with self._lock:
            for user_id in users:
                noted = self._noted.get(user_id)
                known = noted if noted is not None and noted[0] > now else self._known.get(user_id)
                if known is None or known[0] <= now:
                    stale.append(user_id)
                elif known[1]:
                    result.add(user_id)
        if not stale:
            return result
        found = lookup_dropped(self.tables, stale)
        result |= found
        if self.ttl_seconds > 0:
            with self._lock:
                if len(self._known) + len(stale) > _MAX_CACHED_USERS:
                    self._known.clear()
                expires = now + self.ttl_seconds
                for user_id in stale:
                    self._known[user_id] = (expires, user_id in found)
        return result

    def excluded_pseudonyms(self) -> frozenset[str]:
        """:func:`excluded_pseudonyms`, re-read once the last read is ``ttl_seconds`` old.

        Changes this container noted are applied on top (the index may lag behind them)."""
        now = self.clock()
        found = self._excluded_set(now)
        if found is None:
            found = frozenset(excluded_pseudonyms(self.tables))
        secret = self.tables.settings.pseudonym_secret
        with self._lock:
            noted = [(u, n[1]) for u, n in self._noted.items() if n[0] > now]
        if not noted:
            return found
        add = {pseudonymize(u, secret) for u, dropped in noted if dropped}
        drop = {pseudonymize(u, secret) for u, dropped in noted if not dropped}
        return frozenset((found | add) - drop)

    def note(self, user_id: str, *, dropped: bool) -> None:
        """Record a change this container just made (an opt-out, an opt-in, a deletion): it
        holds at once, and for two TTLs, by when every re-read shows it."""
        with self._lock:
            if len(self._noted) > _MAX_CACHED_USERS:
                self._noted.clear()
            self._noted[user_id] = (self.clock() + 2 * self.ttl_seconds, dropped)
            self._known.pop(user_id, None)


def _excluded_up_to(tables: Tables, limit: int) -> frozenset[str] | None:
    """:func:`excluded_pseudonyms`, or None once more than ``limit`` are found."""
    index = tables.users.by_exclusion
    found: set[str] = set()
    for part in (OPTED_OUT, DELETED):
        for item in index.query(part):
            if item.pseudonym:
                found.add(item.pseudonym)
            if len(found) > limit:
                return None
    return frozenset(found)


def dropped_users(
    tables: Tables, user_ids: Iterable[str], *, cache: ConsentCache | None = None
) -> set[str]:
    """:meth:`ConsentCache.dropped` when a cache is given, else :func:`lookup_dropped`."""
    return cache.dropped(user_ids) if cache is not None else lookup_dropped(tables, user_ids)


def set_consent(
    tables: Tables,
    user_id: str,
    body: Any,
    *,
    now: datetime | None = None,
    cache: ConsentCache | None = None,
) -> dict[str, Any]:
    """Record a user's consent: ``{"consent": "opted_in" | "opted_out"}``.

    Setting the state a user already has changes nothing (``updated_at`` stays), so a retried
    request is harmless. Opting out stops collection from now on; what was stored before stays
    but is left out of exports and training (delete the user to remove it).

    Raises
    ------
    ValidationError
        When the user id or the body is invalid (422 naming the field).
    UserDeletedError
        When the user was deleted (409): their id stays excluded.

    Examples
    --------
    >>> set_consent(tables, "u1", {"consent": "opted_out"})  # doctest: +SKIP
    {'user_id': 'u1', 'consent': 'opted_out', 'updated_at': '2026-11-21T10:00:00.000000Z'}
    """
    now = now or utcnow()
    key = validate(UserKeyIn, {"user_id": user_id})
    consent = validate(ConsentIn, body).consent
    pseudonym = pseudonymize(key.user_id, tables.settings.pseudonym_secret)
    if get_tombstone(tables, pseudonym) is not None:
        raise UserDeletedError(
            f"user {key.user_id!r} was deleted; a deleted id stays excluded",
            details=[{"field": "user_id", "message": "deleted"}],
        )
    model = tables.users
    try:
        record = model.get(key.user_id, consistent_read=True)
    except model.DoesNotExist:
        record = None
    if record is None or record.consent != consent:
        record = model(key.user_id)
        record.update(
            actions=[
                model.consent.set(consent),
                model.pseudonym.set(pseudonym),
                model.excluded.set(OPTED_OUT) if consent != OPTED_IN else model.excluded.remove(),
                model.updated_at.set(iso(now)),
            ]
        )
    if cache is not None:
        cache.note(key.user_id, dropped=consent != OPTED_IN)
    return {"user_id": record.user_id, "consent": record.consent, "updated_at": record.updated_at}


def excluded_pseudonyms(tables: Tables) -> set[str]:
    """Every pseudonym exports and training leave out: opted-out and deleted users.

    Two Queries of the users table's sparse ``by_exclusion`` index; never a Scan.

    Examples
    --------
    >>> excluded_pseudonyms(tables)  # doctest: +SKIP
    {'8a629605d37d74d6...'}
    """
    index = tables.users.by_exclusion
    return {item.pseudonym for part in (OPTED_OUT, DELETED) for item in index.query(part)}


__all__ = [
    "OPTED_IN",
    "ConsentCache",
    "ConsentIn",
    "UserDeletedError",
    "UserKeyIn",
    "dropped_users",
    "excluded_pseudonyms",
    "lookup_dropped",
    "set_consent",
]
