"""Pseudonymized rows of reactions, events and outcomes: what leaves the tables.

One function per kind turns a stored record (a plain dict of its attributes) into the row that
training exports (contract B) and the admin export write. Rows carry the user's keyed
pseudonym, never the id, and no free text: an event keeps only the declared, structured
properties of its type (ids, labels, numbers), a custom type only its numbers and booleans, and
no property equal to the raw user id.

Examples
--------
>>> row = event_row(
...     {"user_id": "u1", "event_id": "e1", "type": "insight_helpful",
...      "occurred_at": "2026-11-20T10:00:00.000000Z",
...      "properties": {"insight_id": "i9", "note": "free text"}},
...     "p1", content_types=("ai_insight",))
>>> row["user"], row["properties"], row["item_key"]
('p1', {'insight_id': 'i9'}, 'ai_insight#i9')
>>> event_row({"user_id": "u1", "event_id": "e2", "type": "acme.clicked",
...            "occurred_at": "t", "properties": {"n": 2, "who": "u1", "text": "hi"}},
...           "p1", content_types=())["properties"]
{'n': 2}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from learnloop.ingest.event_types import EVENT_TYPES
from learnloop.store.keys import item_key_of  # re-exported: exports name items this way

Record = Mapping[str, Any]

#: Snapshot fields that hold an item's text, in order of preference.
TEXT_FIELDS: tuple[str, ...] = ("text", "title", "caption", "headline", "description", "body")


def _plain(value: Any) -> Any:
    # DynamoDB hands numbers back as Decimal; rows hold int or float.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def reaction_row(record: Record, pseudonym: str) -> dict[str, Any]:
    """The export row of one stored reaction (contract B, ``reactions.jsonl``).

    Examples
    --------
    >>> reaction_row({"user_id": "u1", "item_key": "meme#m1", "content_type": "meme",
    ...               "external_id": "m1", "reaction": "like", "created_at": "a",
    ...               "updated_at": "b"}, "p1")["item_key"]
    'meme#m1'
    """
    return {
        "user": pseudonym,
        "item_key": record["item_key"],
        "content_type": record["content_type"],
        "external_id": record["external_id"],
        "reaction": record["reaction"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def safe_properties(event_type: str, properties: Mapping[str, Any], user_id: str) -> dict[str, Any]:
    """The properties of an event that may leave the tables.

    A known type keeps its declared fields (structured: ids, labels, numbers); a custom type
    keeps numbers and booleans only, since its strings may be prose. A value equal to the user
    id is never kept.

    Examples
    --------
    >>> safe_properties("trade_created", {"trade_id": "t1", "symbol": "BTC", "side": "buy",
    ...                 "quantity": 1, "price": 2, "comment": "my notes"}, "u1")
    {'trade_id': 't1', 'symbol': 'BTC', 'side': 'buy', 'quantity': 1, 'price': 2}
    """
    model = EVENT_TYPES.get(event_type)
    kept: dict[str, Any] = {}
    for name, value in properties.items():
        value = _plain(value)
        if value is None or value == user_id:
            continue
        if model is not None:
            if name in model.model_fields and isinstance(value, str | int | float | bool):
                kept[name] = value
        elif isinstance(value, bool | int | float):
            kept[name] = value
    return kept


def event_row(record: Record, pseudonym: str, *, content_types: Sequence[str]) -> dict[str, Any]:
    """The export row of one stored event (contract B, ``events.jsonl``)."""
    properties = _plain(record.get("properties") or {})
    row: dict[str, Any] = {
        "user": pseudonym,
        "event_id": record["event_id"],
        "type": record["type"],
        "occurred_at": record["occurred_at"],
        "properties": safe_properties(record["type"], properties, record["user_id"]),
    }
    item_key = item_key_of(properties, content_types)
    if item_key is not None:
        row["item_key"] = item_key
    return row


#: The columns of an exported outcome, in order.
OUTCOME_COLUMNS = (
    "decision_id",
    "collected_at",
    "impressions",
    "likes",
    "retweets",
    "replies",
    "bookmarks",
    "followers_gained",
    "viral_score",
    "engagement_rate",
)


def outcome_row(record: Record) -> dict[str, Any]:
    """The export row of one stored outcome (no user in it; admin export only)."""
    return {name: _plain(record.get(name)) for name in OUTCOME_COLUMNS}


def item_rows(reactions: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per item in ``reactions``, from its latest content snapshot (``items.jsonl``).

    Examples
    --------
    >>> item_rows([
    ...     {"item_key": "meme#m1", "content_type": "meme", "external_id": "m1",
    ...      "updated_at": "1", "content": {"title": "old"}},
    ...     {"item_key": "meme#m1", "content_type": "meme", "external_id": "m1",
    ...      "updated_at": "2", "content": {"title": "new", "lang": "en"}},
    ... ])
    [{'item_key': 'meme#m1', 'content_type': 'meme', 'external_id': 'm1', 'text': 'new', 'metadata': {'lang': 'en'}, 'updated_at': '2'}]
    """  # noqa: E501
    latest: dict[str, Record] = {}
    for record in reactions:
        fold_item(latest, record)
    return item_rows_of(latest)


def fold_item(latest: dict[str, Any], record: Record) -> None:
    """Keep ``record`` in ``latest`` (item key → reaction) when its snapshot is the one
    :func:`item_rows` picks so far: one pass, one record per item in memory."""
    key = record["item_key"]
    current = latest.get(key)
    has_snapshot = record.get("content") is not None
    if (
        current is None
        or (has_snapshot and current.get("content") is None)
        or (
            has_snapshot == (current.get("content") is not None)
            and record["updated_at"] > current["updated_at"]
        )
    ):
        latest[key] = record


def item_rows_of(latest: Mapping[str, Record]) -> list[dict[str, Any]]:
    """The ``items.jsonl`` rows of the picked reactions (:func:`fold_item`), by item key."""
    rows = []
    for key in sorted(latest):
        record = latest[key]
        user_id = record.get("user_id")
        snapshot = {
            name: value
            for name, value in _plain(record.get("content") or {}).items()
            if user_id is None or value != user_id
        }
        text = None
        for name in TEXT_FIELDS:
            if isinstance(snapshot.get(name), str):
                text = snapshot.pop(name)
                break
        rows.append(
            {
                "item_key": key,
                "content_type": record["content_type"],
                "external_id": record["external_id"],
                "text": text,
                "metadata": snapshot,
                "updated_at": record["updated_at"],
            }
        )
    return rows


def decision_row(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The export row of one logged decision (``decisions.jsonl``): its user is the pseudonym
    it was logged with (``None``: logged without one).

    Examples
    --------
    >>> decision_row({"decision_id": "d1", "user_id": "p1", "day": "2026-11-20", "reward": 1.0})
    {'decision_id': 'd1', 'reward': 1.0, 'user': 'p1'}
    """
    row = {k: _plain(v) for k, v in decision.items() if k not in ("user_id", "day")}
    row["user"] = decision.get("user_id")
    return row


#: What an exported occurrence keeps (contract B, ``occurrences.jsonl``).
OCCURRENCE_COLUMNS = (
    "occurrence_id",
    "pattern_type",
    "trade_id",
    "severity",
    "confidence",
    "was_warned",
    "outcome",
    "pnl",
    "detected_at",
    "source",
)


def occurrence_row(record: Record, pseudonym: str) -> dict[str, Any]:
    """The export row of one pattern occurrence: every structured field, the user pseudonymized
    (a field whose value is the raw user id is left empty).

    Examples
    --------
    >>> occurrence_row({"user_id": "u1", "occurrence_id": "o1", "pattern_type": "fomo",
    ...                 "pnl": Decimal("-2"), "detected_at": "t"}, "p1")["pnl"]
    -2
    """
    user_id = record.get("user_id")
    # As for events: an id that is the raw user id is not kept.
    row = {
        name: None if record.get(name) == user_id else _plain(record.get(name))
        for name in OCCURRENCE_COLUMNS
    }
    row["user"] = pseudonym
    return row


def insight_row(record: Record, pseudonym: str) -> dict[str, Any]:
    """The export row of one insight: its features, never its text (``insights.jsonl``).

    Examples
    --------
    >>> row = insight_row({"insight_id": "i1", "record": "insight", "user_id": "u1",
    ...                    "insight_type": "tip", "text": "secret", "confidence": 0.5,
    ...                    "created_at": "t"}, "p1")
    >>> "text" in row, row["kind"], row["confidence"]
    (False, 'insight', 0.5)
    """
    row = {
        name: _plain(record.get(name))
        for name in (
            "insight_id",
            "insight_type",
            "confidence",
            "trade_id",
            "complexity",
            "user_level",
            "created_at",
        )
    }
    properties = record.get("properties")
    pattern = properties.get("pattern_type") if isinstance(properties, Mapping) else None
    row.update(kind="insight", user=pseudonym, pattern_type=pattern)
    return row


def feedback_row(record: Record, pseudonym: str, owner: str | None) -> dict[str, Any]:
    """The export row of one user's verdict on an insight (``insights.jsonl``).

    The free-text ``user_feedback`` never leaves the table: only its length does. ``owner``
    is the insight owner's pseudonym, so deleting the owner purges the verdicts on their
    insights from stored exports too, as from the table.

    Examples
    --------
    >>> row = feedback_row({"insight_id": "i1", "record": "feedback#u2", "user_id": "u2",
    ...                     "helpful": True, "user_feedback": "so true", "updated_at": "t"},
    ...                    "p2", "p1")
    >>> row["feedback_length"], "user_feedback" in row, row["insight_user"]
    (7, False, 'p1')
    """
    text = record.get("user_feedback")
    return {
        "kind": "feedback",
        "insight_id": record["insight_id"],
        "user": pseudonym,
        "insight_user": owner,
        "helpful": record.get("helpful"),
        "engagement_seconds": _plain(record.get("engagement_seconds")),
        "feedback_length": len(text) if isinstance(text, str) else None,
        "source": record.get("source"),
        "updated_at": record.get("updated_at"),
    }


def dumps_row(row: Mapping[str, Any]) -> str:
    """One JSON line: sorted keys, compact, UTF-8 as is, so equal rows give equal bytes."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jsonl(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """``rows`` as JSON Lines (each line ends in a newline)."""
    return "".join(dumps_row(row) + "\n" for row in rows).encode("utf-8")


__all__ = [
    "OCCURRENCE_COLUMNS",
    "TEXT_FIELDS",
    "decision_row",
    "dumps_row",
    "event_row",
    "feedback_row",
    "fold_item",
    "insight_row",
    "item_key_of",
    "item_rows",
    "item_rows_of",
    "jsonl",
    "occurrence_row",
    "outcome_row",
    "reaction_row",
    "safe_properties",
]
