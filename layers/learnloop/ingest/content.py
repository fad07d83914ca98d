"""Upsert content metadata (one published decision)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.ingest.batches import parse_batch
from learnloop.ingest.schemas import ContentIn, ContentItemIn, DecisionKeyIn
from learnloop.store.batch import write_in_parallel
from learnloop.store.keys import day_shard
from learnloop.store.queries import batch_get
from learnloop.store.records import Content
from learnloop.store.tables import Tables
from learnloop.validation import validate

_FIELDS = (
    "content_type",
    "decision_type",
    "bandit_arm",
    "topic",
    "hook_type",
    "style",
    "length",
    "quality_score",
    "novelty_score",
    "expertise_level",
    "text",
)


def content_view(record: Content) -> dict[str, Any]:
    """The API's representation of stored content metadata."""
    view: dict[str, Any] = {"decision_id": record.decision_id}
    view.update({name: getattr(record, name) for name in _FIELDS})
    view.update(
        posted_at=record.posted_at, created_at=record.created_at, updated_at=record.updated_at
    )
    return view


def put_content(
    tables: Tables, decision_id: str, body: Any, *, now: datetime | None = None
) -> dict[str, Any]:
    """Replace a decision's metadata (PUT semantics), keeping its first ``created_at``.

    Examples
    --------
    >>> put_content(tables, "d-1", {"posted_at": "2026-11-20T09:00:00Z",
    ...                             "quality_score": 0.7})  # doctest: +SKIP
    {'decision_id': 'd-1', 'quality_score': 0.7, ...}
    """
    now = now or utcnow()
    key = validate(DecisionKeyIn, {"decision_id": decision_id})
    content = validate(ContentIn, body, context={"now": now})
    model = tables.content
    stamp = iso(now)
    record = model(key.decision_id)
    actions: list[Any] = [
        model.posted_at.set(iso(content.posted_at)),
        model.created_at.set(model.created_at | stamp),
        model.updated_at.set(stamp),
        model.day_shard.set(
            day_shard(content.posted_at, key.decision_id, shards=tables.settings.day_shards)
        ),
    ]
    for name in _FIELDS:
        value = getattr(content, name)
        attribute = getattr(model, name)
        # PUT replaces: a field left out of the body is removed from the stored item.
        actions.append(attribute.remove() if value is None else attribute.set(value))
    record.update(actions=actions)
    return content_view(record)


def ingest_content(tables: Tables, body: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """``POST /v1/content/batch``: ``{"content": [{"decision_id", ...}]}``, 1 to 500, all
    valid or none stored (one 422 naming every bad row and field); each row replaces its
    decision's metadata as ``PUT /v1/content/{decision_id}`` does.

    Examples
    --------
    >>> ingest_content(tables, {"content": [{"decision_id": "d-1",
    ...     "posted_at": "2026-11-20T09:00:00Z"}]})  # doctest: +SKIP
    {'accepted': 1, 'duplicates': 0}
    """
    now = now or utcnow()
    rows = parse_batch(body, ContentItemIn, field="content", context={"now": now})
    return write_content(tables, rows, now=now)


def write_content(
    tables: Tables, rows: Sequence[ContentItemIn], *, now: datetime | None = None, workers: int = 4
) -> dict[str, int]:
    """Store validated content rows in batches (the last row of a decision wins).

    ``created_at`` of a decision already stored is kept (read first, 100 keys a request); a
    row whose decision is stored exactly so already is not written again (``duplicates``),
    so a redelivery or a re-run changes nothing.
    """
    now = now or utcnow()
    stamp = iso(now)
    model = tables.content
    latest = {row.decision_id: row for row in rows}
    stored = {r.decision_id: r for r in batch_get(model, list(latest))}
    items = []
    duplicates = len(rows) - len(latest)
    for decision_id, row in latest.items():
        old = stored.get(decision_id)
        fields = {name: getattr(row, name) for name in _FIELDS}
        record = model(
            decision_id,
            posted_at=iso(row.posted_at),
            created_at=old.created_at if old is not None else stamp,
            updated_at=stamp,
            day_shard=day_shard(row.posted_at, decision_id, shards=tables.settings.day_shards),
            **{name: value for name, value in fields.items() if value is not None},
        )
        if old is not None and _same(old, record):
            duplicates += 1
            continue
        items.append(record)
    write_in_parallel(model, items, workers=workers)
    return {"accepted": len(items), "duplicates": duplicates}


def _same(old: Content, new: Content) -> bool:
    """Equal but for ``updated_at`` (when it was last sent)."""
    mine = {k: v for k, v in old.attribute_values.items() if k != "updated_at" and v is not None}
    theirs = {k: v for k, v in new.attribute_values.items() if k != "updated_at" and v is not None}
    return mine == theirs
