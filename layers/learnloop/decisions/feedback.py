"""``POST /v1/feedback``: a click, conversion or reward on a logged decision, by ``decision_id``.

A route of its own rather than an event type of ``/v1/events``: feedback names a decision, not a
user (the app need not resend who it was), and it is stored in the decision's own partition
(range key ``feedback#{type}#{item}``), so joining a decision with its feedback is one Query and
the same feedback delivered twice is one item. The first delivery wins; a redelivery answers
200 with ``duplicate: true`` and the stored value.

Examples
--------
>>> put_feedback(tables, {"decision_id": "9f...", "type": "click"})  # doctest: +SKIP
{'decision_id': '9f...', 'type': 'click', 'item': 'hook:a', 'value': 1.0, 'duplicate': False}
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from pynamodb.exceptions import PutError

from learnloop.clock import iso, utcnow
from learnloop.exceptions import NotFoundError, ValidationError
from learnloop.store.records import DECISION_RECORD, decision_feedback_record
from learnloop.store.tables import Tables
from learnloop.validation import Identifier, Strict, validate

__all__ = ["FEEDBACK_TYPES", "FeedbackIn", "put_feedback"]

FEEDBACK_TYPES = ("click", "conversion", "reward")
#: An arm ("hook:a") or an item key ("meme#m7"): no whitespace, slash or control characters.
ItemName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+#\-]*$"),
]


class FeedbackIn(Strict):
    """``POST /v1/feedback``."""

    decision_id: Identifier
    type: Literal["click", "conversion", "reward"]
    #: The item (arm or item key) the feedback is about; default: the first one shown.
    item: ItemName | None = None
    #: Required for ``reward``; clicks and conversions count 1 unless given.
    value: Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)] | None = None


def put_feedback(tables: Tables, body: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Store one piece of feedback on a logged decision, once.

    Raises
    ------
    ValidationError
        A bad field, ``reward`` without ``value``, or an ``item`` the decision did not show
        (422, naming the field).
    NotFoundError
        No logged decision has this id (404): unknown, expired, or logging was off.

    Examples
    --------
    >>> put_feedback(tables, {"decision_id": "nope", "type": "click"})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.NotFoundError: no logged decision 'nope'
    """
    request = validate(FeedbackIn, body)
    if request.type == "reward" and request.value is None:
        raise ValidationError(
            "a reward needs a value", details=[{"field": "value", "message": "required for reward"}]
        )
    model = tables.decisions
    try:
        decision = model.get(request.decision_id, DECISION_RECORD)
    except model.DoesNotExist:
        raise NotFoundError(
            f"no logged decision {request.decision_id!r}",
            details=[{"field": "decision_id", "message": "unknown, expired or not logged"}],
        ) from None
    shown = [s["item"] for s in decision.shown or []]
    item = request.item if request.item is not None else (shown[0] if shown else None)
    if item is None or item not in shown:
        raise ValidationError(
            f"decision {request.decision_id!r} did not show {item!r}",
            details=[{"field": "item", "message": "not one of the items the decision showed"}],
        )
    value = request.value if request.value is not None else 1.0
    record = model(
        request.decision_id,
        decision_feedback_record(request.type, item),
        created_at=iso(now or utcnow()),
        # The decision's day and owner: the day's Query joins it, deletion finds it.
        day_shard=decision.day_shard,
        user_id=decision.user_id,
        type=request.type,
        item=item,
        value=value,
        expires_at=decision.expires_at,
    )
    duplicate = False
    try:
        record.save(condition=model.record.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        duplicate = True
        stored = model.get(request.decision_id, record.record, consistent_read=True)
        value = float(stored.value or 0.0)
    return {
        "decision_id": request.decision_id,
        "type": request.type,
        "item": item,
        "value": value,
        "duplicate": duplicate,
    }
