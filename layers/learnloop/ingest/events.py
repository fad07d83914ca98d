"""Store batches of analytics events, idempotently by event id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pydantic
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso, utcnow
from learnloop.ingest.event_types import properties_model
from learnloop.ingest.schemas import EventIn
from learnloop.observability import metrics
from learnloop.quality import Row, content_digest, record_rows
from learnloop.store.keys import day_shard
from learnloop.store.records import Event
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import error_details, invalid

_BATCH_GET_LIMIT = 100
#: TransactWriteItems takes 100 actions: 50 events and their marks.
_TRANSACTION_EVENTS = 50


@dataclass(frozen=True)
class IngestResult:
    """What happened to a batch: stored now, already stored before, or dropped (opt-out)."""

    accepted: int
    duplicates: int
    dropped: int = 0
    #: Every event of the batch that is stored (new or already there): what records derived
    #: from events (the journal's occurrences and feedback) are (re)written from.
    stored: tuple[Event, ...] = field(default=(), repr=False, compare=False)

    def to_body(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "dropped": self.dropped}

    @property
    def status(self) -> int:
        """The HTTP status of the reply: 202 when every event was dropped (opt-out), else 200."""
        return 202 if self.dropped and not (self.accepted or self.duplicates) else 200


def derive_event_id(event: EventIn) -> str:
    """A deterministic id for an event sent without one: the same event always maps to it.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> e = EventIn(type="alert_shown", user_id="u1", properties={"alert_id": "a"},
    ...             occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> derive_event_id(e) == derive_event_id(e.model_copy())
    True
    >>> len(derive_event_id(e))
    32
    """
    canonical = json.dumps(
        {
            "type": event.type,
            "user_id": event.user_id,
            "occurred_at": iso(event.occurred_at),
            "session_id": event.session_id,
            "properties": event.properties,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def parse_event_batch(
    body: Any, *, max_events: int, now: datetime, max_age_days: int | None = None
) -> list[EventIn]:
    """Validate a whole batch, collecting every bad index and field before raising.

    Raises
    ------
    ValidationError
        Listing every invalid event's index and field; nothing is stored.
    """
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise invalid(
            [{"field": "events", "message": "must be a list of events", "type": "list_type"}]
        )
    raw = body["events"]
    extra = sorted(set(body) - {"events"})
    details: list[dict[str, Any]] = [
        {"field": key, "message": "unknown field", "type": "extra_forbidden"} for key in extra
    ]
    if not 1 <= len(raw) <= max_events:
        details.append(
            {
                "field": "events",
                "message": f"must hold 1 to {max_events} events, got {len(raw)}",
                "type": "too_long" if raw else "too_short",
            }
        )
        raise invalid(details)
    events: list[EventIn] = []
    context = {"now": now, "max_age_days": max_age_days}
    for index, item in enumerate(raw):
        event, problems = validate_event(item, index, context=context)
        details.extend(problems)
        if event is not None:
            events.append(event)
    if details:
        raise invalid(details)
    return events


def validate_event(
    item: Any, index: int, *, context: dict[str, Any]
) -> tuple[EventIn | None, list[dict[str, Any]]]:
    """One event of a batch (or an import's line ``index``): the event, or the 422 details
    naming its bad fields (``events[3].properties.price``); the type's properties checked."""
    prefix: tuple[int | str, ...] = ("events", index)
    try:
        event = EventIn.model_validate(item, context=context)
    except pydantic.ValidationError as exc:
        return None, error_details(exc, prefix)
    try:
        model = properties_model(event.type)
    except KeyError:
        return None, [
            {
                "field": f"events[{index}].type",
                "index": index,
                "message": f"unknown event type {event.type!r}; custom types need a "
                "namespace, e.g. 'myapp.checkout_started'",
                "type": "unknown_event_type",
            }
        ]
    if model is not None:
        try:
            model.model_validate(event.properties)
        except pydantic.ValidationError as exc:
            return None, error_details(exc, (*prefix, "properties"))
    return event, []


def ingest_events(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> IngestResult:
    """Validate and store a batch of events; events already stored count as duplicates.

    Storage is idempotent by ``event_id`` (an ``ingest_marks`` item per stored event id,
    written in one transaction with the event), so a retried batch never doubles anything,
    even with a new ``occurred_at``, and of identical batches racing exactly one gets each
    event ``accepted``. Events of users who opted out or were deleted are counted as
    ``dropped`` and not stored.

    Examples
    --------
    >>> body = {"events": [{"type": "alert_shown", "user_id": "u1",
    ...          "occurred_at": "2026-11-20T10:00:00Z", "properties": {"alert_id": "a1"}}]}
    >>> ingest_events(tables, body).to_body()  # doctest: +SKIP
    {'accepted': 1, 'duplicates': 0, 'dropped': 0}
    """
    now = now or utcnow()
    settings = tables.settings
    events = parse_event_batch(
        body,
        max_events=settings.max_batch_events,
        now=now,
        max_age_days=settings.max_event_age_days,
    )

    dropped_ids = dropped_users(tables, {event.user_id for event in events}, cache=consent)
    kept = [event for event in events if event.user_id not in dropped_ids]
    dropped = len(events) - len(kept)
    events = kept
    # One record per (user, event id): a retry with a new occurred_at is the same event.
    records: dict[tuple[str, str], Event] = {}
    for event in events:
        record = _to_record(tables, event, received_at=now)
        records.setdefault((record.user_id, record.event_id), record)
    in_batch_duplicates = len(events) - len(records)
    # Counted in their user-minutes (one UpdateItem per user-minute): a flood is stored flagged.
    flags = record_rows(
        tables,
        "events",
        [
            Row(r.user_id, r.occurred_at, r.event_id, content_digest(r.type, r.properties))
            for r in records.values()
        ],
        now=now,
    )
    for key, record in records.items():
        record.quality = flags.get(key)
    stored = _stored_event_ids(tables, list(records))
    new = [record for key, record in records.items() if key not in stored]
    raced = store_exactly_once(tables, new)
    stored |= raced
    new = [record for record in new if (record.user_id, record.event_id) not in raced]
    result = IngestResult(
        accepted=len(new),
        duplicates=in_batch_duplicates + len(stored),
        dropped=dropped,
        stored=tuple(records.values()),
    )
    metrics.add_metric(name="EventsAccepted", unit="Count", value=result.accepted)
    metrics.add_metric(name="EventsDuplicate", unit="Count", value=result.duplicates)
    if dropped:
        metrics.add_metric(name="EventsDropped", unit="Count", value=dropped)
    return result


def _to_record(tables: Tables, event: EventIn, *, received_at: datetime) -> Event:
    settings = tables.settings
    event_id = event.event_id or derive_event_id(event)
    expires_at = (
        event.occurred_at + timedelta(days=settings.events_retention_days)
        if settings.events_retention_days > 0
        else None
    )
    return tables.events(
        event.user_id,
        f"{iso(event.occurred_at)}#{event_id}",
        event_id=event_id,
        type=event.type,
        occurred_at=iso(event.occurred_at),
        received_at=iso(received_at),
        session_id=event.session_id,
        properties=event.properties,
        day_shard=day_shard(event.occurred_at, event.user_id, shards=settings.day_shards),
        expires_at=expires_at,
    )


def _mark(event_id: str) -> str:
    return f"event#{event_id}"


def _stored_event_ids(tables: Tables, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The ``(user_id, event_id)`` of ``keys`` already stored (their mark exists)."""
    found: set[tuple[str, str]] = set()
    marks = [(user_id, _mark(event_id)) for user_id, event_id in keys]
    for start in range(0, len(marks), _BATCH_GET_LIMIT):
        chunk = marks[start : start + _BATCH_GET_LIMIT]
        for item in tables.ingest_marks.batch_get(chunk, attributes_to_get=["user_id", "mark"]):
            found.add((item.user_id, item.mark.removeprefix("event#")))
    return found


def store_exactly_once(
    tables: Tables, records: Sequence[Event], *, workers: int = 4
) -> set[tuple[str, str]]:
    """Store each event with its id's mark in one transaction; the mark must not exist yet.

    Of two requests racing with the same event, one transaction wins and the other's
    condition fails: that event is a duplicate for it, and the rest of its chunk is sent
    again. No event is stored without its mark or the other way round.

    Returns
    -------
    set
        ``(user_id, event_id)`` of the records another request stored first.
    """
    marks = tables.ingest_marks
    chunks = [
        list(records[i : i + _TRANSACTION_EVENTS])
        for i in range(0, len(records), _TRANSACTION_EVENTS)
    ]
    connection = marks._get_connection().connection  # the stage's shared client

    def write(chunk: list[Event]) -> set[tuple[str, str]]:
        lost: set[tuple[str, str]] = set()
        while chunk:
            try:
                with TransactWrite(connection=connection) as transaction:
                    for record in chunk:
                        mark = marks(
                            record.user_id,
                            _mark(record.event_id),
                            ref=record.sk,
                            expires_at=record.expires_at,
                        )
                        transaction.save(mark, condition=marks.user_id.does_not_exist())
                        transaction.save(record)
            except TransactWriteError as exc:
                # Reasons come one per action, in order: a mark's is at 2 * its event's index.
                taken = {
                    index // 2
                    for index, reason in enumerate(exc.cancellation_reasons)
                    if reason is not None and reason.code == "ConditionalCheckFailed"
                }
                if not taken:
                    raise
                lost |= {(chunk[i].user_id, chunk[i].event_id) for i in taken}
                chunk = [record for i, record in enumerate(chunk) if i not in taken]
                continue
            break
        return lost

    if len(chunks) <= 1:
        return set().union(*(write(chunk) for chunk in chunks))
    with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        return set().union(*pool.map(write, chunks))


__all__ = [
    "IngestResult",
    "derive_event_id",
    "ingest_events",
    "parse_event_batch",
    "store_exactly_once",
    "validate_event",
]
