"""Training data for the two-tower job: contract-B exports read from S3, positives, the split.

No numpy or torch here: the rows are plain Python, so this reads and tests fast.

Positives are the ``(user, item)`` pairs whose latest reaction is a like, plus the pairs named
by a positive event (``insight_helpful``, ``pattern_viewed``, ``alert_heeded`` by default) that
the user did not later dislike. Each pair counts once, at its first positive moment. Items are
merged over dates, the latest ``updated_at`` winning, so every item ever reacted to is known
(with its text) even when it has no training positive.

Examples
--------
>>> rows = [Interaction("u1", "meme#a", "2026-11-01T00:00:00Z"),
...         Interaction("u2", "meme#b", "2026-11-02T00:00:00Z"),
...         Interaction("u1", "meme#b", "2026-11-03T00:00:00Z")]
>>> train, valid, test = chronological_split(rows, (0.34, 0.33, 0.33))
>>> [r.item_key for r in train], [r.item_key for r in valid], [r.item_key for r in test]
(['meme#a'], ['meme#b'], ['meme#b'])
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from training_jobs.exceptions import NotEnoughInteractionsError, TrainingDataError

EXPORTS_PREFIX = "exports/"
EXPORT_FILES = ("reactions.jsonl", "events.jsonl", "items.jsonl")
#: Event types that say the user valued the item the event names.
POSITIVE_EVENT_TYPES = frozenset({"insight_helpful", "pattern_viewed", "alert_heeded"})
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, order=True)
class Interaction:
    """One positive: ``user`` (a pseudonym) valued ``item_key`` at ``at`` (ISO 8601, UTC)."""

    user: str
    item_key: str
    at: str


@dataclass(frozen=True)
class Item:
    """An item's latest snapshot."""

    item_key: str
    content_type: str
    text: str | None = None
    updated_at: str = ""


@dataclass(frozen=True)
class ExportRef:
    """An export the model was trained on: its date and its manifest's sha256."""

    date: str
    manifest_sha256: str

    def to_dict(self) -> dict[str, str]:
        """``{"date", "manifest_sha256"}``, as the model manifest records it."""
        return {"date": self.date, "manifest_sha256": self.manifest_sha256}


@dataclass
class TrainingData:
    """What the exports hold: positives in time order, items by key, the exports read."""

    interactions: list[Interaction]
    items: dict[str, Item]
    exports: list[ExportRef]
    excluded_rows: int = 0
    negatives: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def window(self) -> tuple[str, str]:
        """The first and last positive's time (``("", "")`` when there is none)."""
        if not self.interactions:
            return ("", "")
        return (self.interactions[0].at, self.interactions[-1].at)


def export_dates(s3: Any, bucket: str) -> list[str]:
    """The dates under ``exports/`` whose ``manifest.json`` exists (it is written last, so only
    complete exports count), oldest first.

    Parameters
    ----------
    s3 : boto3 S3 client
        Anything with ``get_paginator("list_objects_v2")``.
    bucket : str
        The stage's bucket.
    """
    dates = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=EXPORTS_PREFIX):
        for entry in page.get("Contents", []):
            parts = entry["Key"][len(EXPORTS_PREFIX) :].split("/")
            if len(parts) == 2 and parts[1] == "manifest.json" and _DATE_RE.match(parts[0]):
                dates.append(parts[0])
    return sorted(set(dates))


def read_exports(
    s3: Any,
    bucket: str,
    *,
    dates: Iterable[str] | None = None,
    exclude: Collection[str] = frozenset(),
    positive_events: Collection[str] = POSITIVE_EVENT_TYPES,
) -> TrainingData:
    """Read the exports of ``dates`` (default: every complete one) into positives and items.

    Every file is checked against the sha256 its export's manifest records.

    Parameters
    ----------
    s3 : boto3 S3 client
        Injected; anything with ``get_object`` and ``get_paginator``.
    bucket : str
        Where ``exports/{date}/`` live.
    dates : iterable of str, optional
        ``yyyy-mm-dd`` dates to read.
    exclude : collection of str
        Pseudonyms whose rows are dropped (opted-out or deleted users).
    positive_events : collection of str
        Event types that count as a positive for the item they name.

    Returns
    -------
    TrainingData

    Raises
    ------
    TrainingDataError
        When a file is missing, differs from its manifest's sha256, or holds a bad line.
    """
    chosen = export_dates(s3, bucket) if dates is None else sorted(set(dates))
    reactions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    refs = []
    for day in chosen:
        prefix = f"{EXPORTS_PREFIX}{day}/"
        manifest_bytes = _get(s3, bucket, prefix + "manifest.json")
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError as exc:
            raise TrainingDataError(f"{prefix}manifest.json is not JSON") from exc
        recorded = manifest.get("files") or {}
        for name, target in zip(EXPORT_FILES, (reactions, events, items), strict=True):
            if name not in recorded:
                continue  # an export may leave out a file with nothing in it
            body = _get(s3, bucket, prefix + name)
            if hashlib.sha256(body).hexdigest() != recorded[name].get("sha256"):
                raise TrainingDataError(f"{prefix}{name} differs from its manifest's sha256")
            target.extend(_jsonl(body, prefix + name))
        refs.append(ExportRef(day, hashlib.sha256(manifest_bytes).hexdigest()))
    data = build_training_data(
        reactions, events, items, exclude=exclude, positive_events=positive_events
    )
    data.exports = refs
    return data


def build_training_data(
    reactions: Iterable[dict[str, Any]],
    events: Iterable[dict[str, Any]],
    items: Iterable[dict[str, Any]],
    *,
    exclude: Collection[str] = frozenset(),
    positive_events: Collection[str] = POSITIVE_EVENT_TYPES,
) -> TrainingData:
    """Positives and items from contract-B rows (any dates, any order).

    Examples
    --------
    >>> r = [{"user": "a", "item_key": "meme#1", "content_type": "meme", "reaction": "like",
    ...       "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"},
    ...      {"user": "a", "item_key": "meme#2", "content_type": "meme", "reaction": "like",
    ...       "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"},
    ...      {"user": "a", "item_key": "meme#2", "content_type": "meme", "reaction": "dislike",
    ...       "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-02T00:00:00Z"}]
    >>> e = [{"user": "b", "event_id": "e1", "type": "insight_helpful", "item_key": "ai_insight#9",
    ...       "occurred_at": "2026-11-03T00:00:00Z", "properties": {}}]
    >>> data = build_training_data(r, e, [], exclude={"c"})
    >>> [(i.user, i.item_key) for i in data.interactions], sorted(data.items)
    ([('a', 'meme#1'), ('b', 'ai_insight#9')], ['ai_insight#9', 'meme#1', 'meme#2'])
    """
    excluded = 0
    latest: dict[tuple[str, str], tuple[str, str, str]] = {}  # pair → (updated, reaction, first)
    catalog: dict[str, Item] = {}
    for row in reactions:
        user, key = row.get("user"), row.get("item_key")
        if not isinstance(user, str) or not isinstance(key, str):
            raise TrainingDataError("a reaction row lacks its user or item_key")
        if user in exclude:
            excluded += 1
            continue
        updated = str(row.get("updated_at") or row.get("created_at") or "")
        created = str(row.get("created_at") or updated)
        reaction = str(row.get("reaction"))
        previous = latest.get((user, key))
        if previous is None or updated >= previous[0]:
            first = created if previous is None else min(previous[2], created)
            latest[(user, key)] = (updated, reaction, first)
        _note_item(catalog, key, row.get("content_type"), None, None)
    positives: dict[tuple[str, str], str] = {}
    negatives = 0
    for (user, key), (_, reaction, first) in latest.items():
        if reaction == "like":
            positives[(user, key)] = first
        else:
            negatives += 1
    for row in events:
        user, key = row.get("user"), row.get("item_key")
        if not isinstance(user, str) or not isinstance(key, str):
            continue  # an event that names no item says nothing about items
        if user in exclude:
            excluded += 1
            continue
        if row.get("type") not in positive_events:
            continue
        if latest.get((user, key), ("", "like", ""))[1] != "like":
            continue  # a later dislike wins over an earlier helpful click
        at = str(row.get("occurred_at") or "")
        if (user, key) not in positives or at < positives[(user, key)]:
            positives[(user, key)] = at
        _note_item(catalog, key, None, None, None)
    for row in items:
        key = row.get("item_key")
        if not isinstance(key, str):
            raise TrainingDataError("an item row lacks its item_key")
        _note_item(
            catalog, key, row.get("content_type"), row.get("text"), str(row.get("updated_at", ""))
        )
    interactions = sorted(
        (Interaction(user, key, at) for (user, key), at in positives.items()),
        key=lambda i: (i.at, i.user, i.item_key),
    )
    return TrainingData(
        interactions=interactions,
        items=dict(sorted(catalog.items())),
        exports=[],
        excluded_rows=excluded,
        negatives=negatives,
        counts={
            "positives": len(interactions),
            "users": len({i.user for i in interactions}),
            "items": len(catalog),
        },
    )


def chronological_split(
    interactions: Sequence[Interaction],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> tuple[list[Interaction], list[Interaction], list[Interaction]]:
    """Split positives by time: the oldest ``fractions[0]`` train, the next validate, the newest
    test (ties broken by user and item, so the split is deterministic).

    Raises
    ------
    NotEnoughInteractionsError
        When a part would be empty.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions):
        raise ValueError("fractions must be three positive numbers")
    ordered = sorted(interactions, key=lambda i: (i.at, i.user, i.item_key))
    total = sum(fractions)
    n = len(ordered)
    first = round(n * fractions[0] / total)
    second = round(n * (fractions[0] + fractions[1]) / total)
    parts = ordered[:first], ordered[first:second], ordered[second:]
    if any(not part for part in parts):
        raise NotEnoughInteractionsError(
            f"{n} positives cannot be split {fractions[0]:g}/{fractions[1]:g}/{fractions[2]:g}",
            n_rows=n,
            min_rows=3,
        )
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class UserSplit:
    """Positives split per user (see :func:`per_user_split`).

    ``eligible`` lists the users with enough history to hold some out (each has positives in
    ``valid`` and ``test``); other users' positives are all in ``train``.
    """

    train: list[Interaction]
    valid: list[Interaction]
    test: list[Interaction]
    eligible: list[str]

    def sizes(self) -> dict[str, int]:
        """Rows per part and eligible users, as the manifest records them."""
        return {
            "train": len(self.train),
            "validation": len(self.valid),
            "test": len(self.test),
            "eligible_users": len(self.eligible),
        }


def per_user_split(
    interactions: Sequence[Interaction],
    *,
    holdout: float = 0.1,
    min_history: int = 3,
) -> UserSplit:
    """Leave-last-k-out by time, per user: each user's newest ``k`` positives are the test
    part, the ``k`` before them validation, the rest training, with
    ``k = max(1, floor(holdout * n))`` for a user with ``n >= min_history`` positives (users
    with fewer stay whole in training). Every user with enough history is measured, however
    quiet they were lately, and no user's later positives train the model that is scored on
    their earlier ones. Ties in time are broken by item key, so the split is deterministic.

    Parameters
    ----------
    interactions : sequence of Interaction
        The positives (any order).
    holdout : float
        Share of each eligible user's positives in each held-out part (at least one).
    min_history : int
        Fewest positives a user needs to be held out from (at least 3: one of each part).

    Raises
    ------
    NotEnoughInteractionsError
        When no user has ``min_history`` positives.

    Examples
    --------
    >>> rows = [Interaction("a", f"m#{n}", f"2026-11-0{n}") for n in range(1, 5)]
    >>> rows += [Interaction("b", "m#1", "2026-11-09")]
    >>> split = per_user_split(rows)
    >>> [r.item_key for r in split.train], split.valid[0].item_key, split.test[0].item_key
    (['m#1', 'm#2', 'm#1'], 'm#3', 'm#4')
    >>> split.eligible
    ['a']
    """
    if not 0.0 < holdout < 0.5:
        raise ValueError("holdout must be in (0, 0.5)")
    min_history = max(3, min_history)
    by_user: dict[str, list[Interaction]] = {}
    for row in interactions:
        by_user.setdefault(row.user, []).append(row)
    train: list[Interaction] = []
    valid: list[Interaction] = []
    test: list[Interaction] = []
    eligible = []
    for user in sorted(by_user):
        rows = sorted(by_user[user], key=lambda i: (i.at, i.item_key))
        n = len(rows)
        if n < min_history:
            train.extend(rows)
            continue
        k = max(1, int(holdout * n))
        eligible.append(user)
        train.extend(rows[: n - 2 * k])
        valid.extend(rows[n - 2 * k : n - k])
        test.extend(rows[n - k :])
    if not eligible:
        raise NotEnoughInteractionsError(
            f"no user has {min_history} positives to hold some out",
            n_rows=len(interactions),
            min_rows=min_history,
        )
    return UserSplit(train, valid, test, eligible)


def _note_item(
    catalog: dict[str, Item], key: str, content_type: Any, text: Any, updated_at: str | None
) -> None:
    """Record ``key``; ``updated_at`` is ``None`` for a mere mention (a reaction, an event), which
    never replaces a snapshot from items.jsonl; among snapshots the latest wins."""
    content_type = content_type if isinstance(content_type, str) else key.partition("#")[0]
    known = catalog.get(key)
    if updated_at is None:
        if known is None:
            catalog[key] = Item(key, content_type, None, "")
        return
    if known is None or not known.updated_at or updated_at >= known.updated_at:
        text = text if isinstance(text, str) and text.strip() else None
        catalog[key] = Item(key, content_type, text, updated_at or "0")


def _get(s3: Any, bucket: str, key: str) -> bytes:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # botocore's ClientError, NoSuchKey, connection errors
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    return body


def _jsonl(body: bytes, where: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TrainingDataError(f"{where} line {number} is not JSON") from exc
        if not isinstance(row, dict):
            raise TrainingDataError(f"{where} line {number} is not an object")
        rows.append(row)
    return rows


__all__ = [
    "POSITIVE_EVENT_TYPES",
    "ExportRef",
    "Interaction",
    "Item",
    "TrainingData",
    "UserSplit",
    "build_training_data",
    "chronological_split",
    "export_dates",
    "per_user_split",
    "read_exports",
]
