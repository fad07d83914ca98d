"""Pattern occurrences: one record per behaviour pattern detected on a user's trade.

An occurrence (revenge trading, overtrading, FOMO, ...) carries its user, trade, type,
severity, confidence, whether the user was warned, and the trade's outcome and P&L when known.
Occurrences come from two channels, both idempotent:

* ``pattern_detected`` events (``POST /v1/events``): :func:`occurrences_from_events` writes one
  occurrence per stored event, keyed by the event's id, so a redelivered batch rewrites the
  same items;
* ``POST /v1/journal/occurrences``: :func:`put_occurrence`, keyed by the ``occurrence_id``
  given or, without one, by a hash of the occurrence, so a retried request is one item.

Consent applies to both: the events of users who opted out or were deleted are dropped before
they get here, and the route answers 202 without storing.

Examples
--------
>>> body = {"user_id": "u1", "pattern_type": "revenge_trading", "trade_id": "t9",
...         "severity": "high", "detected_at": "2026-11-20T10:00:00Z"}
>>> put_occurrence(tables, body)["occurrence_id"]  # doctest: +SKIP
'5f0c...'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from learnloop.clock import iso, utcnow
from learnloop.store.batch import write_in_parallel
from learnloop.store.keys import day_shard
from learnloop.store.records import Event, PatternOccurrence
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import (
    MAX_FUTURE_SKEW,
    Identifier,
    ShortText,
    Strict,
    Unit,
    UtcDatetime,
    invalid,
    validate,
)

PATTERN_EVENT = "pattern_detected"
TRADE_CLOSED_EVENT = "trade_closed"
OUTCOMES: tuple[str, ...] = ("win", "loss", "breakeven")
#: ``GET /v1/journal/{user_id}/patterns``: occurrences listed at most (newest first).
MAX_LIST = 1000
DEFAULT_LIST = 100
#: The window read when ``from`` is left out.
DEFAULT_WINDOW_DAYS = 90
_FIRST = date(2000, 1, 1)
_LAST = date(2100, 12, 31)
Pnl = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Day = Annotated[date, Field(ge=_FIRST, le=_LAST)]


class OccurrenceIn(Strict):
    """``POST /v1/journal/occurrences``: one detected pattern on a user's trade."""

    occurrence_id: Identifier | None = None
    user_id: Identifier
    pattern_type: ShortText
    trade_id: Identifier | None = None
    severity: Literal["low", "medium", "high"] | None = None
    confidence: Unit | None = None
    was_warned: bool | None = None
    outcome: Literal["win", "loss", "breakeven"] | None = None
    pnl: Pnl | None = None
    #: When the pattern was detected; defaults to when the request arrived.
    detected_at: UtcDatetime | None = None

    @field_validator("detected_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None, info: Any) -> datetime | None:
        now = (info.context or {}).get("now")
        if value is not None and now is not None and value > now + MAX_FUTURE_SKEW:
            raise ValueError("must not be more than 1 day in the future")
        return value


class UserPatternsIn(Strict):
    """``GET /v1/journal/{user_id}/patterns``: the user and an optional window and limit."""

    model_config = ConfigDict(populate_by_name=True)

    user_id: Identifier
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIST)] = DEFAULT_LIST


def outcome_of(outcome: str | None, pnl: float | None) -> str | None:
    """The outcome given, else the sign of the P&L (``None`` when neither is known).

    Examples
    --------
    >>> outcome_of(None, -3.0), outcome_of(None, 0.0), outcome_of("win", -1.0)
    ('loss', 'breakeven', 'win')
    >>> outcome_of(None, None) is None
    True
    """
    if outcome in OUTCOMES:
        return outcome
    if pnl is None:
        return None
    return "win" if pnl > 0 else "loss" if pnl < 0 else "breakeven"


def derive_occurrence_id(occurrence: OccurrenceIn, detected_at: datetime) -> str:
    """A deterministic id for an occurrence sent without one (a retry maps to the same item).

    Examples
    --------
    >>> o = OccurrenceIn(user_id="u1", pattern_type="fomo")
    >>> at = datetime(2026, 11, 20, tzinfo=UTC)
    >>> derive_occurrence_id(o, at) == derive_occurrence_id(o.model_copy(), at)
    True
    """
    fields = occurrence.model_dump(exclude={"occurrence_id", "detected_at"})
    canonical = json.dumps({**fields, "detected_at": iso(detected_at)}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def put_occurrence(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Store one occurrence (``POST /v1/journal/occurrences``); storing it again is harmless.

    Returns
    -------
    dict
        The stored occurrence, or ``{"dropped": True, ...}`` for a user who opted out or was
        deleted (the API answers 202).

    Raises
    ------
    ValidationError
        Naming every bad field (422).
    """
    now = now or utcnow()
    occurrence = validate(OccurrenceIn, body, context={"now": now})
    if dropped_users(tables, [occurrence.user_id], cache=consent):
        return {"dropped": True, "user_id": occurrence.user_id}
    detected_at = occurrence.detected_at or now
    occurrence_id = occurrence.occurrence_id or derive_occurrence_id(occurrence, detected_at)
    record = _record(
        tables,
        user_id=occurrence.user_id,
        occurrence_id=occurrence_id,
        detected_at=detected_at,
        fields=occurrence.model_dump(exclude={"occurrence_id", "user_id", "detected_at"}),
        source="route",
        now=now,
    )
    record.save()
    return occurrence_row(record.attribute_values)


def occurrences_from_events(
    tables: Tables, events: Iterable[Event], *, now: datetime | None = None
) -> int:
    """Write one occurrence per ``pattern_detected`` event among ``events`` (stored events).

    Every such event is (re)written, duplicates included: the writes are idempotent puts keyed
    by the event id, and rewriting heals an occurrence a crash left unwritten after its
    event was stored.

    Returns
    -------
    int
        How many occurrences were written.
    """
    now = now or utcnow()
    records = []
    for event in events:
        if event.type != PATTERN_EVENT:
            continue
        properties = dict(event.properties or {})
        records.append(
            _record(
                tables,
                user_id=event.user_id,
                occurrence_id=event.event_id,
                detected_at=datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00")),
                fields={name: properties.get(name) for name in _FIELDS},
                source="event",
                now=now,
            )
        )
    write_in_parallel(tables.pattern_occurrences, records)
    return len(records)


_FIELDS = ("pattern_type", "trade_id", "severity", "confidence", "was_warned", "outcome", "pnl")


def _record(
    tables: Tables,
    *,
    user_id: str,
    occurrence_id: str,
    detected_at: datetime,
    fields: Mapping[str, Any],
    source: str,
    now: datetime,
) -> PatternOccurrence:
    stamp = iso(detected_at)
    kept: dict[str, Any] = {n: fields.get(n) for n in _FIELDS if fields.get(n) is not None}
    return tables.pattern_occurrences(
        user_id,
        f"{stamp}#{occurrence_id}",
        occurrence_id=occurrence_id,
        detected_at=stamp,
        source=source,
        updated_at=iso(now),
        day_shard=day_shard(detected_at, user_id, shards=tables.settings.day_shards),
        **kept,
    )


def occurrence_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """An occurrence as the API answers it (numbers as ``float``, the outcome filled in).

    Examples
    --------
    >>> occurrence_row({"occurrence_id": "o1", "user_id": "u1", "pattern_type": "fomo",
    ...                 "detected_at": "2026-11-20T10:00:00.000000Z", "pnl": -2})["outcome"]
    'loss'
    """
    pnl = _float(record.get("pnl"))
    return {
        "occurrence_id": record["occurrence_id"],
        "user_id": record["user_id"],
        "pattern_type": record["pattern_type"],
        "trade_id": record.get("trade_id"),
        "severity": record.get("severity"),
        "confidence": _float(record.get("confidence")),
        "was_warned": record.get("was_warned"),
        "outcome": outcome_of(record.get("outcome"), pnl),
        "pnl": pnl,
        "detected_at": record["detected_at"],
    }


def trade_results(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(user_id, trade_id): {"outcome", "pnl"}}`` from ``trade_closed`` event records.

    An occurrence without its own outcome takes its trade's (the pattern → outcome link).
    A trade closed twice keeps its latest result.

    Examples
    --------
    >>> trade_results([{"user_id": "u1", "type": "trade_closed", "occurred_at": "1",
    ...                 "properties": {"trade_id": "t1", "pnl": 5}}])
    {('u1', 't1'): {'outcome': 'win', 'pnl': 5.0}}
    """
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for event in events:
        if event.get("type") != TRADE_CLOSED_EVENT:
            continue
        properties = event.get("properties") or {}
        trade_id = properties.get("trade_id")
        if not isinstance(trade_id, str):
            continue
        pnl = _float(properties.get("pnl"))
        key = (str(event["user_id"]), trade_id)
        at = str(event.get("occurred_at") or "")
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, {"outcome": outcome_of(properties.get("outcome"), pnl), "pnl": pnl})
    return {key: value for key, (_, value) in latest.items()}


def with_trade_results(
    rows: Iterable[dict[str, Any]], results: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` (:func:`occurrence_row`) with each missing outcome / P&L taken from its trade."""
    linked = []
    for row in rows:
        result = results.get((row["user_id"], row["trade_id"])) if row.get("trade_id") else None
        if result is not None:
            row = dict(row)
            if row["pnl"] is None:
                row["pnl"] = result.get("pnl")
            if row["outcome"] is None:
                row["outcome"] = outcome_of(result.get("outcome"), row["pnl"])
        linked.append(row)
    return linked


def user_patterns(
    tables: Tables, user_id: str, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/journal/{user_id}/patterns``: a user's occurrences and a summary per pattern.

    Reads the user's partitions of occurrences and events (their ``trade_closed`` results)
    between ``from`` and ``to`` (default: the last 90 days): two Queries, never a Scan.

    Returns
    -------
    dict
        ``user_id``, ``from``, ``to``, ``patterns`` (per type: ``count``, ``with_outcome``,
        ``losses``, ``loss_rate``, ``mean_pnl``, ``warned``, ``last_detected_at``; most
        frequent first) and ``occurrences`` (newest first, at most ``limit``;
        ``truncated`` says when more matched).

    Raises
    ------
    ValidationError
        A bad user id, date or limit, or ``from`` after ``to`` (422).
    """
    params = validate(UserPatternsIn, {**dict(query or {}), "user_id": user_id})
    last = params.to or (today or utcnow().date())
    first = params.from_ or last - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    low = iso(datetime.combine(first, time.min, tzinfo=UTC))
    high = iso(datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC))
    occurrences = tables.pattern_occurrences
    stored = [
        occurrence_row(item.attribute_values)
        for item in occurrences.query(
            params.user_id, range_key_condition=occurrences.sk.between(low, high)
        )
    ]
    events = tables.events
    closed = [
        dict(item.attribute_values)
        for item in events.query(
            params.user_id,
            range_key_condition=events.sk.between(low, high),
            filter_condition=events.type == TRADE_CLOSED_EVENT,
        )
    ]
    rows = with_trade_results(stored, trade_results(closed))
    rows.sort(key=lambda r: (r["detected_at"], r["occurrence_id"]), reverse=True)
    return {
        "user_id": params.user_id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "patterns": summarize(rows),
        "occurrences": rows[: params.limit],
        "truncated": len(rows) > params.limit,
    }


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per pattern type: counts, loss rate and mean P&L over the occurrences with a result.

    Examples
    --------
    >>> summarize([{"pattern_type": "fomo", "outcome": "loss", "pnl": -4.0,
    ...             "was_warned": True, "detected_at": "b"},
    ...            {"pattern_type": "fomo", "outcome": "win", "pnl": 2.0,
    ...             "was_warned": None, "detected_at": "a"}])[0]["loss_rate"]
    0.5
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["pattern_type"]), []).append(row)
    summary: list[dict[str, Any]] = []
    for pattern, group in groups.items():
        with_outcome = [r for r in group if r.get("outcome") is not None]
        losses = sum(1 for r in with_outcome if r["outcome"] == "loss")
        pnls = [float(r["pnl"]) for r in group if r.get("pnl") is not None]
        summary.append(
            {
                "pattern_type": pattern,
                "count": len(group),
                "with_outcome": len(with_outcome),
                "losses": losses,
                "loss_rate": round(losses / len(with_outcome), 6) if with_outcome else None,
                "mean_pnl": round(sum(pnls) / len(pnls), 6) if pnls else None,
                "warned": sum(1 for r in group if r.get("was_warned") is True),
                "last_detected_at": max(str(r["detected_at"]) for r in group),
            }
        )
    summary.sort(key=lambda s: (-s["count"], s["pattern_type"]))
    return summary


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


__all__ = [
    "OccurrenceIn",
    "UserPatternsIn",
    "derive_occurrence_id",
    "occurrence_row",
    "occurrences_from_events",
    "outcome_of",
    "put_occurrence",
    "summarize",
    "trade_results",
    "user_patterns",
]
