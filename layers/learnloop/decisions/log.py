"""The decision log: what each select / recommendations answer showed, and with what probability.

Every ``POST /v1/bandit/select`` and ``GET /v1/recommendations`` answer carries a
``decision_id`` and is logged as one item of the ``decisions`` table::

    decision_id, created_at, day_shard, user_id (keyed pseudonym or null), surface
    ("bandit" | "recommendations"), scope, policy, policy_version, variant, context,
    shown: [{"item", "position", "propensity"}], chosen: [item], propensity_draws, expires_at

How a decision reaches the table depends on ``LEARNLOOP_DECISION_SINK``
(:mod:`learnloop.decisions.sink`): with ``stdout`` or ``spool`` the request path writes one JSON
line (microseconds) and :mod:`learnloop.decisions.loader` moves the lines to the table in
batches (a CloudWatch Logs subscription on AWS, the runner's ``load_decisions`` schedule
locally), so the log is eventually consistent; with ``table`` (the default) writes are buffered
per container and sent as one BatchWriteItem, flushed before the answer returns (Lambda runs no
background work after it), or earlier when 25 are waiting. Items expire after
``decision_log_ttl_days`` (DynamoDB TTL). ``LEARNLOOP_DECISION_LOG=off`` stops logging; answers
still carry a ``decision_id`` (feedback on it is then never joined).

Decision ids are time-ordered (the first 12 hex digits are the milliseconds of the decision,
the 13th is ``7``, as in a UUIDv7), so feedback that arrives before its decision is loaded
still finds the decision's day partition (:func:`decision_time`).

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

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from learnloop.clock import as_utc, iso, utcnow
from learnloop.decisions.sink import DecisionSink, sink_for
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
    "FIRST_SHOWN",
    "RECOMMENDATIONS_SURFACE",
    "DecisionLog",
    "decision_item",
    "decision_time",
    "new_decision_id",
    "read_decisions",
]

BANDIT_SURFACE = "bandit"
RECOMMENDATIONS_SURFACE = "recommendations"


def new_decision_id(now: datetime | None = None) -> str:
    """A new decision id: 32 hex digits, the first 12 the milliseconds of ``now``.

    Laid out as a UUIDv7 (48-bit Unix milliseconds, version ``7``, 76 random bits), so ids sort
    by time and :func:`decision_time` reads the day back.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    >>> d = new_decision_id(at)
    >>> len(d), d[12], decision_time(d) == at, d != new_decision_id(at)
    (32, '7', True, True)
    """
    millis = int(as_utc(now or utcnow()).timestamp() * 1000)
    return f"{millis:012x}7{os.urandom(10).hex()[:19]}"


#: Ids naming a time outside these years are not time-ordered ids (an older random id).
_ID_YEARS = (2020, 2200)


def decision_time(decision_id: str) -> datetime | None:
    """When a time-ordered decision id was made, or ``None`` for any other id.

    Examples
    --------
    >>> decision_time("01a1f84a95c07" + "0" * 19).isoformat()
    '2026-11-20T09:30:00+00:00'
    >>> decision_time("not-a-decision") is None
    True
    """
    if len(decision_id) != 32 or decision_id[12] != "7":
        return None
    try:
        millis = int(decision_id[:12], 16)
    except ValueError:
        return None
    at = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return at if _ID_YEARS[0] <= at.year < _ID_YEARS[1] else None


class DecisionLog:
    """A container's decision log: lines to a sink, or a buffer written in BatchWriteItem.

    Parameters
    ----------
    tables : Tables
        The stage's tables (settings give ``decision_log``, the sink, the TTL and the secret).
    consent : ConsentCache, optional
        The container's consent cache: who is logged without an id.
    sink : DecisionSink, optional
        Where decisions go; default: the one the settings choose (``None``: the table).

    Examples
    --------
    >>> log = DecisionLog(tables)  # doctest: +SKIP
    >>> log.enabled  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        tables: Tables,
        *,
        consent: ConsentCache | None = None,
        sink: DecisionSink | None = None,
    ) -> None:
        self.tables = tables
        self.consent = consent
        self.enabled = tables.settings.decision_log
        self.sink = sink if sink is not None else sink_for(tables.settings)
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
        """Log one decision and return its id (a no-op but for the id when logging is off).

        With a sink the decision's line is handed over before this returns; without one it is
        buffered until :meth:`flush`. ``anonymous`` says whether the user opted out or was
        deleted when the caller already knows; otherwise the consent cache (or table) is asked.
        """
        now = now or utcnow()
        decision_id = new_decision_id(now)
        if not self.enabled:
            return decision_id
        settings = self.tables.settings
        pseudonym = None
        if user_id is not None:
            if anonymous is None:
                anonymous = bool(dropped_users(self.tables, [user_id], cache=self.consent))
            if not anonymous:
                pseudonym = pseudonymize(user_id, settings.pseudonym_secret)
        line = {
            "decision_id": decision_id,
            "created_at": iso(now),
            "day_shard": day_shard(now, decision_id, shards=settings.day_shards),
            "user_id": pseudonym,
            "surface": surface,
            "scope": scope,
            "policy": policy,
            "policy_version": policy_version,
            "variant": dict(variant) if variant else None,
            "context": dict(context or {}),
            "shown": [dict(s) for s in shown],
            "chosen": list(chosen),
            "propensity_draws": propensity_draws,
            "expires_at": int((now + timedelta(days=settings.decision_log_ttl_days)).timestamp()),
        }
        if self.sink is not None:
            try:
                self.sink.emit(line)
            except (OSError, ValueError):
                # As with a failed table write: the answer the user waits for still goes out.
                logger.exception("decision log line failed", extra={"decision_id": decision_id})
            return decision_id
        item = decision_item(self.tables, line)
        with self._lock:
            self._buffer.append(item)
            full = len(self._buffer) >= BATCH_WRITE_LIMIT
        if full:
            self.flush()
        return decision_id

    def flush(self) -> int:
        """Write every buffered decision in one BatchWriteItem (retrying unprocessed items).

        A no-op with a sink: its lines were handed over by :meth:`add`.

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


def decision_item(tables: Tables, line: Mapping[str, Any]) -> DecisionRecord:
    """The ``decisions`` table item of one decision line (as :class:`DecisionLog` builds it).

    Examples
    --------
    >>> item = decision_item(tables, {"decision_id": "d1", "created_at": "...",  # doctest: +SKIP
    ...     "day_shard": "2026-11-20#1", "expires_at": 1766223000, "shown": [], "chosen": []})
    """
    expires = line.get("expires_at")
    return tables.decisions(
        str(line["decision_id"]),
        DECISION_RECORD,
        created_at=str(line["created_at"]),
        day_shard=str(line["day_shard"]),
        user_id=line.get("user_id"),
        surface=line.get("surface"),
        scope=line.get("scope"),
        policy=line.get("policy"),
        policy_version=line.get("policy_version"),
        variant=line.get("variant"),
        context=line.get("context") or {},
        shown=list(line.get("shown") or []),
        chosen=list(line.get("chosen") or []),
        propensity_draws=line.get("propensity_draws"),
        expires_at=datetime.fromtimestamp(int(expires), tz=UTC) if expires is not None else None,
    )


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
            got = _joined(decision, feedback.get(decision["decision_id"], []))
            decision["feedback"] = got
            decision["clicks"] = [f["item"] for f in got if f["type"] == "click"]
            decision["reward"] = sum(f["value"] for f in got) if got else None
            yield decision


#: The item of feedback given before its decision was loaded, with no item named: the first
#: item the decision showed (what ``POST /v1/feedback`` defaults to).
FIRST_SHOWN = "*"


def _joined(decision: Mapping[str, Any], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A decision's feedback, checked against what it showed.

    Feedback accepted before its decision was loaded could not be checked then: an unnamed
    item is the first shown, and feedback on an item the decision did not show is left out.
    """
    shown = [s["item"] for s in decision["shown"]]
    joined: dict[tuple[str, str], dict[str, Any]] = {}
    for f in given:
        item = shown[0] if f["item"] == FIRST_SHOWN and shown else f["item"]
        if item not in shown:
            continue
        # Named and unnamed feedback on the same item count once, as one delivery would.
        joined.setdefault((f["type"], item), {**f, "item": item})
    return sorted(joined.values(), key=lambda f: (f["type"], f["item"]))


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
