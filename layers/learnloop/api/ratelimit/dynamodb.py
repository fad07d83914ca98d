"""Token buckets in the ``rate_limits`` table: at most one conditional UpdateItem per request.

Each container remembers the last ``tat`` it saw per bucket. That is a lower bound of the
stored one (``tat`` only moves forward), so:

* a request the remembered ``tat`` already refuses is refused with no write at all;
* otherwise one UpdateItem takes ``n`` tokens: ``SET tat = :now + nT`` when the bucket was
  full (condition: ``tat <= :now`` or no item), or ``SET tat = tat + nT`` when it was not
  (condition: ``:now < tat <= :now + (burst - n) T``). The second form is an atomic increment,
  so containers sharing a key under load never overwrite each other's requests;
* when the guess of form was wrong (another container moved the bucket), the failed write
  returns the stored item and the request is decided again on it: a second write at most.

``n`` is 1 (exact) unless the bucket is more than half full: then a container *leases*
:func:`lease_size` tokens in one write (a tenth of a second of the rate, at most a tenth of the
burst) and spends them on its next requests for up to :data:`LEASE_SECONDS`, so a busy key
costs one write per several requests. Leased tokens are paid for when taken, so the bucket is
never overdrawn; near the limit every request is decided against the table one by one.

A store failure lets the request through (fail open, logged): a rate limiter that turns a
DynamoDB hiccup into an outage of the whole API protects nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from learnloop.api.ratelimit.bucket import MICROS, Decision, Limit, decide
from learnloop.exceptions import RateLimitedError
from learnloop.observability import logger
from learnloop.settings import Settings
from learnloop.store.tables import Tables

#: Buckets idle longer than it takes to refill, plus this margin, expire (DynamoDB TTL).
_EXPIRY_MARGIN_SECONDS = 3600
#: Bound on the container's memory of buckets under a flood of keys.
_MAX_REMEMBERED = 10_000
#: How long a container may spend tokens it leased.
LEASE_SECONDS = 1.0


def lease_size(limit: Limit) -> int:
    """Tokens one write leases while the bucket is more than half full.

    Examples
    --------
    >>> lease_size(Limit(rate=200, burst=2000)), lease_size(Limit(rate=20, burst=200))
    (20, 2)
    >>> lease_size(Limit(rate=1, burst=3))
    1
    """
    return max(1, min(limit.burst // 10, int(limit.rate * LEASE_SECONDS / 10)))


def limits_from_settings(settings: Settings) -> dict[str, Limit]:
    """Scope → :class:`Limit` from the ``LEARNLOOP_RATE_LIMIT_*`` settings (unlimited left out).

    Examples
    --------
    >>> limits_from_settings(Settings())["admin"]
    Limit(rate=20.0, burst=200)
    >>> "ingest" in limits_from_settings(Settings(rate_limit_ingest_per_second=0))
    False
    """
    limits = {}
    for scope in ("ingest", "read", "admin"):
        rate, burst = settings.rate_limit(scope)
        if rate > 0:
            limits[scope] = Limit(rate=rate, burst=burst)
    return limits


class DynamoDBRateLimiter:
    """Per-(key, scope) token buckets stored in ``tables.rate_limits``.

    Parameters
    ----------
    tables
        The stage's tables; the bucket table is ``tables.rate_limits``.
    limits
        Scope → limit; a scope missing here is not limited.
    clock
        Wall clock in seconds (buckets are shared across containers, so not monotonic).

    Examples
    --------
    >>> limiter = DynamoDBRateLimiter(tables, {"ingest": Limit(rate=1, burst=2)})  # doctest: +SKIP
    >>> limiter.acquire("abc123", "ingest").remaining  # doctest: +SKIP
    1
    """

    def __init__(
        self,
        tables: Tables,
        limits: Mapping[str, Limit],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tables = tables
        self.limits = dict(limits)
        self._clock = clock
        self._seen: dict[str, int] = {}
        #: bucket → (leased tokens left, lease expiry in µs)
        self._leases: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: str, scope: str) -> Decision | None:
        """Take one token from ``key_id``'s bucket for ``scope``.

        Parameters
        ----------
        key_id
            A stable, non-secret id of the API key (its hash).
        scope
            The scope the route needs (``ingest``, ``read``, ``admin``).

        Returns
        -------
        Decision or None
            The allowing decision; ``None`` when the scope is unlimited or the store failed.

        Raises
        ------
        RateLimitedError
            429 with ``retry_after`` when the bucket is empty.
        """
        limit = self.limits.get(scope)
        if limit is None:
            return None
        bucket = f"{key_id}#{scope}"
        now = int(self._clock() * MICROS)
        with self._lock:
            known = self._seen.get(bucket)
            left, expires = self._leases.get(bucket, (0, 0))
            if left > 0 and now < expires:
                self._leases[bucket] = (left - 1, expires)
                return Decision(allowed=True, tat=known or now, remaining=left - 1, retry_after=0.0)
        try:
            decision = self._take(bucket, limit, known, now)
        except RateLimitedError:
            raise
        except Exception:  # the store failed: let the request through, say so
            logger.exception("rate limiter store failed; request allowed")
            return None
        return decision

    def _take(self, bucket: str, limit: Limit, known: int | None, now: int) -> Decision:
        lease = lease_size(limit)
        for _ in range(3):
            cost = 1
            if lease > 1 and decide(limit, known, now, cost=lease).remaining >= limit.burst // 2:
                cost = lease
            decision = decide(limit, known, now, cost=cost)
            if not decision.allowed:
                self._remember(bucket, decision.tat)
                raise RateLimitedError(
                    f"rate limit of {limit.rate:g} requests per second (burst {limit.burst}) "
                    f"exceeded; retry in {decision.retry_after_header} s",
                    retry_after=decision.retry_after_header,
                    details=[{"field": "Authorization", "message": "rate limit exceeded"}],
                )
            written, stored = self._write(bucket, limit, known, now, decision, cost)
            if written:
                self._remember(bucket, decision.tat if stored is None else stored)
                if cost > 1:
                    with self._lock:
                        self._leases[bucket] = (cost - 1, now + int(LEASE_SECONDS * MICROS))
                return decision
            known = stored
        # Three writers raced us in a row: the bucket is busy, not empty; let this one pass.
        return decide(limit, None, now)

    def _write(
        self, bucket: str, limit: Limit, known: int | None, now: int, decision: Decision, cost: int
    ) -> tuple[bool, int | None]:
        """One conditional UpdateItem taking ``cost`` tokens; ``(written, stored tat)``."""
        expires = (now + limit.tolerance) // MICROS + _EXPIRY_MARGIN_SECONDS
        values: dict[str, Any] = {":now": {"N": str(now)}, ":exp": {"N": str(expires)}}
        if known is None or known <= now:
            update = "SET tat = :new, expires_at = :exp"
            condition = "attribute_not_exists(tat) OR tat <= :now"
            values[":new"] = {"N": str(decision.tat)}
        else:
            update = "SET tat = tat + :t, expires_at = :exp"
            condition = "tat > :now AND tat <= :max"
            values[":t"] = {"N": str(cost * limit.interval)}
            values[":max"] = {"N": str(now + limit.tolerance - cost * limit.interval)}
        client = _client(self.tables)
        try:
            reply = client.update_item(
                TableName=self.tables.rate_limits.Meta.table_name,
                Key={"bucket": {"S": bucket}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            item = exc.response.get("Item")
            if item is None:  # an emulator that does not return the item: read it
                item = client.get_item(
                    TableName=self.tables.rate_limits.Meta.table_name,
                    Key={"bucket": {"S": bucket}},
                    ConsistentRead=True,
                ).get("Item")
            return False, _tat_of(item)
        return True, _tat_of(reply.get("Attributes"))

    def _remember(self, bucket: str, tat: int) -> None:
        with self._lock:
            if len(self._seen) > _MAX_REMEMBERED:
                self._seen.clear()
                self._leases.clear()
            self._seen[bucket] = tat


def _tat_of(item: Mapping[str, Any] | None) -> int | None:
    if not item or "tat" not in item:
        return None
    return int(float(item["tat"]["N"]))


def _client(tables: Tables) -> Any:
    # The botocore client every table of the stage shares (see Tables._share_client).
    return tables.rate_limits._get_connection().connection.client
