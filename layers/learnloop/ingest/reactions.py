"""Upsert and delete reactions (likes and dislikes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso, utcnow
from learnloop.exceptions import StoreError
from learnloop.ingest.schemas import ReactionIn, ReactionKeyIn
from learnloop.observability import metrics
from learnloop.store.keys import day_shard, item_key
from learnloop.store.records import Reaction
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import validate


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
