"""Upsert and delete reactions (likes and dislikes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso, utcnow
from learnloop.exceptions import StoreError
from learnloop.ingest.batches import parse_batch
from learnloop.ingest.schemas import ReactionIn, ReactionKeyIn
from learnloop.observability import metrics
from learnloop.quality import reaction_row, record_rows
from learnloop.store.batch import write_in_parallel
from learnloop.store.keys import day_shard, item_key
from learnloop.store.records import Reaction
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import validate

#: BatchGetItem takes at most 100 keys per request.
_BATCH_GET = 100


def reaction_view(record: Reaction) -> dict[str, Any]:
    """The API's representation of a stored reaction."""
    return {
        "user_id": record.user_id,
        "content_type": record.content_type,
        "external_id": record.external_id,
        "reaction": record.reaction,
        "content": record.content,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def put_reaction(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Upsert a reaction and return what is stored.

    ``created_at`` keeps the first write's time; ``updated_at`` moves to this reaction's time.
    A delivery older than what is stored (a retry arriving late) changes nothing, so the newest
    reaction wins whatever order deliveries come in; one dated before the reaction's deletion
    is not stored either (the reply says ``"deleted": True``). A reaction of a user who opted
    out or was deleted is not stored: the reply is ``{"dropped": True, ...}`` (the API answers 202).

    Examples
    --------
    >>> put_reaction(tables, {"user_id": "u1", "content_type": "meme",
    ...                       "external_id": "m1", "reaction": "like"})  # doctest: +SKIP
    {'user_id': 'u1', 'content_type': 'meme', 'external_id': 'm1', 'reaction': 'like', ...}
    """
    now = now or utcnow()
    settings = tables.settings
    reaction = validate(
        ReactionIn,
        body,
        context={
            "content_types": settings.content_types,
            "now": now,
            "max_age_days": settings.max_event_age_days,
        },
    )

    if dropped_users(tables, [reaction.user_id], cache=consent):
        metrics.add_metric(name="ReactionsDropped", unit="Count", value=1)
        return {
            "dropped": True,
            "user_id": reaction.user_id,
            "content_type": reaction.content_type,
            "external_id": reaction.external_id,
        }
    reacted_at = iso(reaction.occurred_at or now)
    model = tables.reactions
    record = model(reaction.user_id, item_key(reaction.content_type, reaction.external_id))
    # Counted in its user-minute first (one UpdateItem): a bot's burst is stored flagged.
    row = reaction_row(reaction.user_id, record.item_key, reaction.occurred_at or now)
    flag = record_rows(tables, "reactions", [row], now=now).get((row.user_id, row.row_id))
    actions: list[Any] = [
        model.content_type.set(reaction.content_type),
        model.external_id.set(reaction.external_id),
        model.reaction.set(reaction.reaction),
        model.created_at.set(model.created_at | reacted_at),
        model.updated_at.set(reacted_at),
        model.day_shard.set(
            day_shard(reaction.occurred_at or now, reaction.user_id, shards=settings.day_shards)
        ),
    ]
    if reaction.content is not None:
        actions.append(model.content.set(reaction.content))
    actions.append(model.quality.set(flag) if flag else model.quality.remove())
    marks = tables.ingest_marks
    tombstone = _tombstone(record.item_key)
    try:
        # One transaction: this PUT is newer than any deletion of the reaction (the tombstone)
        # and than the reaction stored; a delayed older PUT changes nothing.
        with TransactWrite(connection=marks._get_connection().connection) as transaction:
            transaction.condition_check(
                marks,
                reaction.user_id,
                tombstone,
                condition=marks.deleted_at.does_not_exist() | (marks.deleted_at < reacted_at),
            )
            transaction.update(
                record,
                actions=actions,
                condition=model.updated_at.does_not_exist() | (model.updated_at <= reacted_at),
            )
    except TransactWriteError as exc:
        reasons = [r.code if r is not None else None for r in exc.cancellation_reasons]
        if "ConditionalCheckFailed" not in reasons:
            raise StoreError(f"could not store the reaction: {exc.cause_response_message}") from exc
        if reasons[0] == "ConditionalCheckFailed":  # deleted after this reaction was made
            metrics.add_metric(name="ReactionsStale", unit="Count", value=1)
            return {
                "user_id": reaction.user_id,
                "content_type": reaction.content_type,
                "external_id": reaction.external_id,
                "reaction": None,
                "deleted": True,
            }
        record.refresh()
        return reaction_view(record)
    record.refresh(consistent_read=True)  # created_at may be an earlier write's
    return reaction_view(record)


def _tombstone(item_key: str) -> str:
    return f"deleted#{item_key}"


def delete_reaction(
    tables: Tables,
    *,
    user_id: str,
    content_type: str,
    external_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Delete one reaction; deleting one that is not there is not an error (retries are safe).

    A tombstone (an ``ingest_marks`` item) records when: a PUT dated before the deletion that
    arrives after it is not stored.

    Returns
    -------
    dict
        ``{"deleted": bool}``: whether a stored reaction was removed.
    """
    key = validate(
        ReactionKeyIn,
        {"user_id": user_id, "content_type": content_type, "external_id": external_id},
        context={"content_types": tables.settings.content_types},
    )
    model = tables.reactions
    record = model(key.user_id, item_key(key.content_type, key.external_id))
    settings = tables.settings
    now = now or utcnow()
    # The tombstone first: a PUT dated before now that is still on its way (a retry, a slow
    # queue) must not bring the reaction back. It can expire once such a PUT would be refused
    # as too old anyway.
    tables.ingest_marks(
        key.user_id,
        _tombstone(record.item_key),
        deleted_at=iso(now),
        expires_at=now + timedelta(days=settings.max_event_age_days + 1),
    ).save()
    try:
        record.delete(condition=model.user_id.exists())
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return {"deleted": False}
        raise StoreError(f"could not delete the reaction: {exc.cause_response_message}") from exc
    return {"deleted": True}


@dataclass(frozen=True)
class BatchResult:
    """What a batch of reactions did: stored now, already stored as sent (a redelivery or a
    re-run), older than what is stored, dated before the reaction's deletion, or dropped
    (opt-out); ``flagged`` of the stored ones carry a data-quality flag."""

    accepted: int = 0
    duplicates: int = 0
    stale: int = 0
    deleted: int = 0
    dropped: int = 0
    flagged: int = 0

    def to_body(self) -> dict[str, int]:
        return asdict(self)

    @property
    def status(self) -> int:
        """202 when every reaction was dropped (opt-out), else 200."""
        return 202 if self.dropped and self.dropped == sum(asdict(self).values()) else 200

    def __add__(self, other: BatchResult) -> BatchResult:
        mine, theirs = asdict(self), asdict(other)
        return BatchResult(**{name: mine[name] + theirs[name] for name in mine})


def reaction_context(tables: Tables, now: datetime) -> dict[str, Any]:
    """The validation context of a reaction row (allowed types, now, oldest age)."""
    settings = tables.settings
    return {
        "content_types": settings.content_types,
        "now": now,
        "max_age_days": settings.max_event_age_days,
    }


def ingest_reactions(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> BatchResult:
    """``POST /v1/reactions/batch``: ``{"reactions": [...]}``, 1 to 500, all valid or none
    stored (one 422 naming every bad row and field), then written as :func:`write_reactions`.

    Examples
    --------
    >>> ingest_reactions(tables, {"reactions": [{"user_id": "u1", "content_type": "coin",
    ...     "external_id": "BTC", "reaction": "like"}]}).to_body()  # doctest: +SKIP
    {'accepted': 1, 'duplicates': 0, 'stale': 0, 'deleted': 0, 'dropped': 0, 'flagged': 0}
    """
    now = now or utcnow()
    reactions = parse_batch(
        body, ReactionIn, field="reactions", context=reaction_context(tables, now)
    )
    return write_reactions(tables, reactions, now=now, consent=consent)


def write_reactions(
    tables: Tables,
    reactions: Sequence[ReactionIn],
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
    flags: Mapping[tuple[str, str], str] | None = None,
    workers: int = 4,
) -> BatchResult:
    """Store validated reactions in batches, with :func:`put_reaction`'s rules.

    Of several rows for one (user, item) the newest wins; a row older than what is stored,
    or dated before the reaction's deletion (its tombstone), is not stored; ``created_at``
    keeps the earliest time. What is stored is read first (BatchGetItem, 100 keys a request)
    and the rows are then put with BatchWriteItem (25 a request, ``workers`` at once): two
    round trips per 100 rows and no transaction, so this is the bulk path. A row stored
    exactly as sent is not written again (``duplicates``): a re-run changes nothing.

    Unlike the single PUT's transaction, a single PUT of the same reaction landing between
    the read and the write can be overwritten by an older batch row: the bulk path is for
    backfills and client-side batching of fresh reactions, where that does not arise.

    Parameters
    ----------
    flags
        ``(user_id, item_key)`` → data-quality reasons decided by the caller (a bulk import
        judges its whole file in memory); default: count the rows in their user-minutes'
        counters (:func:`learnloop.quality.record_rows`), as the single PUT does.
    """
    now = now or utcnow()
    settings = tables.settings
    dropped_ids = dropped_users(tables, {r.user_id for r in reactions}, cache=consent)
    kept = [r for r in reactions if r.user_id not in dropped_ids]
    newest: dict[tuple[str, str], tuple[str, ReactionIn]] = {}
    for reaction in kept:
        key = (reaction.user_id, item_key(reaction.content_type, reaction.external_id))
        reacted_at = iso(reaction.occurred_at or now)
        if key not in newest or newest[key][0] <= reacted_at:
            newest[key] = (reacted_at, reaction)
    if flags is None:
        rows = [
            reaction_row(user_id, key, reaction.occurred_at or now)
            for (user_id, key), (_, reaction) in newest.items()
        ]
        flags = record_rows(tables, "reactions", rows, now=now)
    keys = list(newest)
    stored, tombstones = _stored_and_tombstones(tables, keys, workers=workers)
    model = tables.reactions
    items = []
    counts = {"duplicates": len(kept) - len(newest), "stale": 0, "deleted": 0, "flagged": 0}
    for key, (reacted_at, reaction) in newest.items():
        deleted_at = tombstones.get(key)
        if deleted_at is not None and deleted_at >= reacted_at:
            counts["deleted"] += 1
            continue
        old = stored.get(key)
        if old is not None and old.updated_at > reacted_at:
            counts["stale"] += 1
            continue
        flag = flags.get(key)
        record = model(
            key[0],
            key[1],
            content_type=reaction.content_type,
            external_id=reaction.external_id,
            reaction=reaction.reaction,
            content=reaction.content
            if reaction.content is not None
            else (old.content if old is not None else None),
            created_at=min(old.created_at, reacted_at) if old is not None else reacted_at,
            updated_at=reacted_at,
            day_shard=day_shard(
                reaction.occurred_at or now, reaction.user_id, shards=settings.day_shards
            ),
            quality=flag,
        )
        if old is not None and _compared(old) == _compared(record):
            counts["duplicates"] += 1
            continue
        counts["flagged"] += bool(flag)
        items.append(record)
    write_in_parallel(model, items, workers=workers)
    metrics.add_metric(name="ReactionsAccepted", unit="Count", value=len(items))
    return BatchResult(accepted=len(items), dropped=len(reactions) - len(kept), **counts)


#: What a stored reaction is read with and compared on (the rest follows from its key and
#: ``updated_at``); fewer attributes read is faster, markedly so on moto.
_COMPARED = ("created_at", "updated_at", "reaction", "content", "quality")


def _compared(record: Reaction) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in _COMPARED)


def _stored_and_tombstones(
    tables: Tables, keys: Sequence[tuple[str, str]], *, workers: int
) -> tuple[dict[tuple[str, str], Reaction], dict[tuple[str, str], str]]:
    """The stored reactions of ``keys`` and the deletion times of their tombstones."""
    model, marks = tables.reactions, tables.ingest_marks
    chunks = [list(keys[i : i + _BATCH_GET]) for i in range(0, len(keys), _BATCH_GET)]

    def read(chunk: list[tuple[str, str]]) -> tuple[list[Reaction], list[Any]]:
        found = list(model.batch_get(chunk, attributes_to_get=["user_id", "item_key", *_COMPARED]))
        marked = list(
            marks.batch_get(
                [(user_id, _tombstone(key)) for user_id, key in chunk],
                attributes_to_get=["user_id", "mark", "deleted_at"],
            )
        )
        return found, marked

    stored: dict[tuple[str, str], Reaction] = {}
    tombstones: dict[tuple[str, str], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(chunks)))) as pool:
        for found, marked in pool.map(read, chunks):
            stored.update({(r.user_id, r.item_key): r for r in found})
            tombstones.update(
                {
                    (m.user_id, m.mark.removeprefix("deleted#")): m.deleted_at
                    for m in marked
                    if m.deleted_at
                }
            )
    return stored, tombstones
