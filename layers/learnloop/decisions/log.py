"""The decision log: what each select / recommendations answer showed, and with what probability.

Every ``POST /v1/bandit/select`` and ``GET /v1/recommendations`` answer carries a
``decision_id`` and is logged as one item of the ``decisions`` table::

    decision_id, created_at, day_shard, user_id (keyed pseudonym or null), surface
    ("bandit" | "recommendations"), scope, policy, policy_version, variant, context,
    shown: [{"item", "position", "propensity"}], chosen: [item], propensity_draws, expires_at

Writes are buffered per container and sent as one BatchWriteItem, flushed before the answer
returns (Lambda runs no background work after it), or earlier when 25 are waiting. Items expire
after ``decision_log_ttl_days`` (DynamoDB TTL). ``LEARNLOOP_DECISION_LOG=off`` stops logging;
answers still carry a ``decision_id`` (feedback on it then answers 404).

Consent: a user who opted out or was deleted is logged *without* an id (``user_id`` null).
What such a record holds (the arms or the popular list shown, and their propensities) was
computed from nothing personal, and leaving those decisions out entirely would bias every
click-through rate and off-policy estimate towards users who did not opt out.

Examples
--------
>>> log = DecisionLog(tables)  # doctest: +SKIP
>>> shown = [{"item": "hook:a", "position": 0, "propensity": 0.7}]
>>> decision_id = log.add(surface="bandit", scope="content", policy="thompson",  # doctest: +SKIP
...     policy_version="2026-11-20T09:30:00.000000Z", user_id="u1", context={"n": 1},
...     shown=shown, chosen=["hook:a"])
>>> log.flush()  # doctest: +SKIP
1
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from learnloop.clock import iso, utcnow
from learnloop.observability import logger
from learnloop.store.batch import BATCH_WRITE_LIMIT
from learnloop.store.keys import day_shard
from learnloop.store.queries import days_between, query_days
from learnloop.store.records import DECISION_RECORD, DecisionRecord
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.users.pseudonym import pseudonymize

__all__ = [
    "BANDIT_SURFACE",
    "RECOMMENDATIONS_SURFACE",
    "DecisionLog",
    "new_decision_id",
    "read_decisions",
]

BANDIT_SURFACE = "bandit"
RECOMMENDATIONS_SURFACE = "recommendations"


def new_decision_id() -> str:
    """A new random decision id (32 hex characters).

    Examples
    --------
    >>> len(new_decision_id()), new_decision_id() != new_decision_id()
    (32, True)
    """
    return uuid.uuid4().hex


class DecisionLog:
    """A container's buffer of decisions, written in BatchWriteItem requests.

    Parameters
    ----------
    tables : Tables
        The stage's tables (settings give ``decision_log``, the TTL and the secret).
    consent : ConsentCache, optional
        The container's consent cache: who is logged without an id.

    Examples
    --------
    >>> log = DecisionLog(tables)  # doctest: +SKIP
    >>> log.enabled  # doctest: +SKIP
    True
    """

    def __init__(self, tables: Tables, *, consent: ConsentCache | None = None) -> None:
        self.tables = tables
        self.consent = consent
        self.enabled = tables.settings.decision_log
        self._buffer: list[DecisionRecord] = []
        self._lock = threading.Lock()

    def add(
        self,
        *,
        surface: str,
        scope: str,
        policy: str,
        policy_version: str | None,
        user_id: str | None,
        shown: Sequence[Mapping[str, Any]],
        chosen: Sequence[str],
        context: Mapping[str, Any] | None = None,
        variant: Mapping[str, Any] | None = None,
        propensity_draws: int | None = None,
        now: datetime | None = None,
        anonymous: bool | None = None,
    ) -> str:
        """Buffer one decision and return its id (a no-op but for the id when logging is off).

        ``anonymous`` says whether the user opted out or was deleted when the caller already
        knows; otherwise the consent cache (or table) is asked.
        """
        decision_id = new_decision_id()
        if not self.enabled:
            return decision_id
        settings = self.tables.settings
        now = now or utcnow()
        pseudonym = None
        if user_id is not None:
            if anonymous is None:
                anonymous = bool(dropped_users(self.tables, [user_id], cache=self.consent))
            if not anonymous:
                pseudonym = pseudonymize(user_id, settings.pseudonym_secret)
        item = self.tables.decisions(
            decision_id,
            DECISION_RECORD,
            created_at=iso(now),
            day_shard=day_shard(now, decision_id, shards=settings.day_shards),
            user_id=pseudonym,
            surface=surface,
            scope=scope,
            policy=policy,
            policy_version=policy_version,
            variant=dict(variant) if variant else None,
            context=dict(context or {}),
            shown=[dict(s) for s in shown],
            chosen=list(chosen),
            propensity_draws=propensity_draws,
            expires_at=now + timedelta(days=settings.decision_log_ttl_days),
        )
        with self._lock:
            self._buffer.append(item)
            full = len(self._buffer) >= BATCH_WRITE_LIMIT
        if full:
            self.flush()
        return decision_id

    def flush(self) -> int:
        """Write every buffered decision in one BatchWriteItem (retrying unprocessed items).

        Returns
        -------
        int
            How many decisions were written.
        """
        with self._lock:
            pending, self._buffer = self._buffer, []
        if not pending:
            return 0
        model = self.tables.decisions
        try:
            with model.batch_write() as batch:
                for item in pending:
                    batch.save(item)
        except (PynamoDBException, BotoCoreError, ClientError):
            # A lost log line must not fail the answer the user is waiting for.
            logger.exception("decision log write failed", extra={"decisions": len(pending)})
            return 0
        return len(pending)


def read_decisions(tables: Tables, start: date, end: date) -> Iterator[dict[str, Any]]:
    """Every decision logged from ``start`` to ``end`` (UTC days, inclusive), with its feedback.

    One Query per day partition of the ``by_day`` index (decisions and their feedback share
    it), never a Scan. Days come oldest first; within a day, decisions in ``created_at`` order.

    Returns
    -------
    Iterator of dict
        ``{"decision_id", "created_at", "day", "user_id" (pseudonym or None), "surface",
        "scope", "policy", "policy_version", "variant", "context", "shown": [{"item",
        "position", "propensity"}], "chosen", "propensity_draws", "feedback": [{"type",
        "item", "value"}], "clicks": [item], "reward"}``. ``reward`` is the sum of the
        feedback values (clicks and conversions count 1 unless a value was given), or None
        when no feedback arrived.

    Examples
    --------
    >>> from datetime import date
    >>> day = date(2026, 11, 20)
    >>> rows = list(read_decisions(tables, day, day))  # doctest: +SKIP
    >>> rows[0]["shown"][0]["propensity"], rows[0]["reward"]  # doctest: +SKIP
    (0.71, 1.0)
    """
    shards = tables.settings.day_shards
    for day in days_between(start, end):
        items = query_days(tables.decisions, [day], shards=shards)
        decisions: dict[str, dict[str, Any]] = {}
        feedback: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            if item.record == DECISION_RECORD:
                decisions[item.decision_id] = _decision_dict(item, day)
            else:
                feedback.setdefault(item.decision_id, []).append(
                    {"type": item.type, "item": item.item, "value": float(item.value or 0.0)}
                )
        for decision in sorted(
            decisions.values(), key=lambda d: (d["created_at"], d["decision_id"])
        ):
            got = sorted(
                feedback.get(decision["decision_id"], []), key=lambda f: (f["type"], f["item"])
            )
            decision["feedback"] = got
            decision["clicks"] = [f["item"] for f in got if f["type"] == "click"]
            decision["reward"] = sum(f["value"] for f in got) if got else None
            yield decision


def _decision_dict(item: DecisionRecord, day: date) -> dict[str, Any]:
    draws = item.propensity_draws
    return {
        "decision_id": item.decision_id,
        "created_at": item.created_at,
        "day": day.isoformat(),
        "user_id": item.user_id,
        "surface": item.surface,
        "scope": item.scope,
        "policy": item.policy,
        "policy_version": item.policy_version,
        "variant": item.variant,
        "context": item.context or {},
        "shown": [_plain(s) for s in item.shown or []],
        "chosen": list(item.chosen or []),
        "propensity_draws": int(draws) if draws is not None else None,
    }


def _plain(shown: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "item": shown["item"],
        "position": int(shown["position"]),
        "propensity": float(shown["propensity"]),
    }
