"""Upsert content metadata (one published decision)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.ingest.schemas import ContentIn, DecisionKeyIn
from learnloop.store.keys import day_shard
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
