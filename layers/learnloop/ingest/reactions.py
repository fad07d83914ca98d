"""Upsert and delete reactions (likes and dislikes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

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
    reaction wins whatever order deliveries come in. A reaction of a user who opted out or was
    deleted is not stored: the reply is ``{"dropped": True, ...}`` (the API answers 202).

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
    try:
        record.update(
            actions=actions,
            condition=model.updated_at.does_not_exist() | (model.updated_at <= reacted_at),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise StoreError(f"could not store the reaction: {exc.cause_response_message}") from exc
        record.refresh()
    return reaction_view(record)


def delete_reaction(
    tables: Tables, *, user_id: str, content_type: str, external_id: str
) -> dict[str, Any]:
    """Delete one reaction; deleting one that is not there is not an error (retries are safe).

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
    try:
        record.delete(condition=model.user_id.exists())
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return {"deleted": False}
        raise StoreError(f"could not delete the reaction: {exc.cause_response_message}") from exc
    return {"deleted": True}
