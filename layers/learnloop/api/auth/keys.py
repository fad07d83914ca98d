"""API keys: issued once in plain text, stored only as a SHA-256 hash, scoped.

Keys carry 256 bits of randomness, so a fast hash is enough: no password-style stretching is
needed to resist guessing, and a lookup costs one GetItem.

Examples
--------
>>> hash_key("ll_abc")[:12]
'd2a4a0f86504'
>>> Scope.ADMIN.grants(Scope.INGEST)
True
>>> Scope.READ.grants(Scope.INGEST)
False
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ForbiddenError, UnauthorizedError, ValidationError
from learnloop.store.tables import Tables

KEY_PREFIX = "ll_"


class Scope(StrEnum):
    """What a key may do; ``admin`` grants every scope."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"

    def grants(self, needed: Scope) -> bool:
        """Whether a key with this scope may call a route that needs ``needed``."""
        return self is Scope.ADMIN or self is needed


def hash_key(secret: str) -> str:
    """The stored form of a key: hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who called: the key's name, display prefix and scopes."""

    name: str
    prefix: str
    scopes: frozenset[Scope]
    #: The stored hash of the key: a stable, non-secret id (rate-limit buckets use it).
    key_hash: str = ""

    def can(self, needed: Scope) -> bool:
        return any(scope.grants(needed) for scope in self.scopes)


_SCOPE_VALUES = frozenset(s.value for s in Scope)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: ``secret`` is shown once and never stored."""

    secret: str
    name: str
    scopes: frozenset[Scope]
    prefix: str


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scopes from their names; an unknown name is a :class:`ValidationError`."""
    scopes: set[Scope] = set()
    for value in values:
        try:
            scopes.add(Scope(value))
        except ValueError:
            raise ValidationError(
                f"unknown scope {value!r}; expected one of {', '.join(s.value for s in Scope)}",
                details=[{"field": "scope", "message": f"unknown scope {value!r}"}],
            ) from None
    if not scopes:
        raise ValidationError("a key needs at least one scope", details=[{"field": "scope"}])
    return frozenset(scopes)


def create_api_key(
    tables: Tables, *, name: str, scopes: Iterable[str], now: datetime | None = None
) -> IssuedKey:
    """Create and store a key; the returned ``secret`` is the only copy of its text.

    Examples
    --------
    >>> issued = create_api_key(tables, name="web", scopes=["ingest"])  # doctest: +SKIP
    >>> issued.secret.startswith("ll_")  # doctest: +SKIP
    True
    """
    parsed = parse_scopes(scopes)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = secret[:10]
    record = tables.api_keys(
        hash_key(secret),
        name=name,
        prefix=prefix,
        scopes={s.value for s in parsed},
        created_at=iso(now or utcnow()),
    )
    record.save(condition=tables.api_keys.key_hash.does_not_exist())
    return IssuedKey(secret=secret, name=name, scopes=parsed, prefix=prefix)


def revoke_api_key(tables: Tables, secret_or_hash: str, *, now: datetime | None = None) -> bool:
    """Revoke a key by its text or its hash; ``False`` when there is no such key."""
    key_hash = secret_or_hash if len(secret_or_hash) == 64 else hash_key(secret_or_hash)
    try:
        record = tables.api_keys.get(key_hash)
    except tables.api_keys.DoesNotExist:
        return False
    record.update(actions=[tables.api_keys.revoked_at.set(iso(now or utcnow()))])
    return True


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`, with a short cache.

    Parameters
    ----------
    tables
        Where keys are stored.
    cache_seconds
        How long a lookup (found or not) is reused; also the longest a revoked key keeps working.
    clock
        Monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        tables: Tables,
        *,
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = tables
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request; :class:`UnauthorizedError` when there is no valid key."""
        if not authorization:
            raise UnauthorizedError("missing Authorization header; send 'Bearer <api key>'")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("Authorization must be 'Bearer <api key>'")
        principal = self._lookup(hash_key(token))
        if principal is None:
            raise UnauthorizedError("unknown or revoked API key")
        return principal

    def authorize(self, authorization: str | None, needed: Scope) -> Principal:
        """:meth:`authenticate`, then :class:`ForbiddenError` unless the key grants ``needed``."""
        principal = self.authenticate(authorization)
        if not principal.can(needed):
            raise ForbiddenError(
                f"this key lacks the '{needed.value}' scope",
                details=[{"field": "Authorization", "message": f"scope '{needed.value}' required"}],
            )
        return principal

    def _lookup(self, key_hash: str) -> Principal | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key_hash)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        principal = self._read(key_hash)
        with self._lock:
            if len(self._cache) > 10_000:  # bound memory under a flood of random keys
                self._cache.clear()
            self._cache[key_hash] = (now, principal)
        return principal

    def _read(self, key_hash: str) -> Principal | None:
        try:
            record = self.tables.api_keys.get(key_hash)
        except self.tables.api_keys.DoesNotExist:
            return None
        if record.revoked_at:
            return None
        scopes = frozenset(Scope(s) for s in record.scopes if s in _SCOPE_VALUES)
        return Principal(
            name=record.name, prefix=record.prefix, scopes=scopes, key_hash=record.key_hash
        )
