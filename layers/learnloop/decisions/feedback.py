"""``POST /v1/feedback``: a click, conversion or reward on a logged decision, by ``decision_id``.

A route of its own rather than an event type of ``/v1/events``: feedback names a decision, not a
user (the app need not resend who it was), and it is stored in the decision's own partition
(range key ``feedback#{type}#{item}``), so joining a decision with its feedback is one Query and
the same feedback delivered twice is one item. The first delivery wins; a redelivery answers
200 with ``duplicate: true`` and the stored value.

With a line sink (``LEARNLOOP_DECISION_SINK=stdout|spool``) a decision reaches the table a little
after its answer, and a click can come first. Feedback on a time-ordered id that is not loaded
yet is accepted (``pending: true``) when the id's time lies within the log's TTL: its partition
and day come from the id, and the item is checked when :func:`~learnloop.decisions.log.
read_decisions` joins it (feedback on an item the decision did not show is left out there).
Only an id that cannot be a logged decision (not time-ordered and unknown, expired, or from the
future) answers 404.

Examples
--------
>>> put_feedback(tables, {"decision_id": "9f...", "type": "click"})  # doctest: +SKIP
{'decision_id': '9f...', 'type': 'click', 'item': 'hook:a', 'value': 1.0, 'duplicate': False,
 'pending': False}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from pynamodb.exceptions import PutError

from learnloop.clock import iso, utcnow
from learnloop.decisions.log import FIRST_SHOWN, decision_time
from learnloop.exceptions import NotFoundError, ValidationError
from learnloop.store.keys import day_shard
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
        No logged decision has this id and none can still be loaded under it (404): not a
        time-ordered id, expired, or logging is off.

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
    now = now or utcnow()
    model = tables.decisions
    try:
        decision = model.get(request.decision_id, DECISION_RECORD)
    except model.DoesNotExist:
        return _put_pending(tables, request, now)
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
        created_at=iso(now),
        # The decision's day and owner: the day's Query joins it, deletion finds it.
        day_shard=decision.day_shard,
        user_id=decision.user_id,
        type=request.type,
        item=item,
        value=value,
        expires_at=decision.expires_at,
    )
    return _save_once(tables, request, record, item=item, value=value, pending=False)


#: A decision id from slightly in the future is a clock skew between containers, not a forgery.
_CLOCK_SKEW = timedelta(minutes=5)


def _put_pending(tables: Tables, request: FeedbackIn, now: datetime) -> dict[str, Any]:
    """Feedback on a decision not in the table (yet): kept when its id can be a logged one."""
    settings = tables.settings
    made = decision_time(request.decision_id)
    ttl = timedelta(days=settings.decision_log_ttl_days)
    if not settings.decision_log or made is None or not now - ttl <= made <= now + _CLOCK_SKEW:
        raise NotFoundError(
            f"no logged decision {request.decision_id!r}",
            details=[{"field": "decision_id", "message": "unknown, expired or not logged"}],
        )
    item = request.item if request.item is not None else FIRST_SHOWN
    value = request.value if request.value is not None else 1.0
    record = tables.decisions(
        request.decision_id,
        decision_feedback_record(request.type, item),
        created_at=iso(now),
        # The partition the decision will be loaded into; its owner is found through the
        # decision when the user is deleted (learnloop.privacy.deletion).
        day_shard=day_shard(made, request.decision_id, shards=settings.day_shards),
        user_id=None,
        type=request.type,
        item=item,
        value=value,
        expires_at=made + ttl,
    )
    answer_item = request.item  # None: the first item shown, once the decision is loaded
    return _save_once(tables, request, record, item=answer_item, value=value, pending=True)


def _save_once(
    tables: Tables,
    request: FeedbackIn,
    record: Any,
    *,
    item: str | None,
    value: float,
    pending: bool,
) -> dict[str, Any]:
    model = tables.decisions
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
        "pending": pending,
    }
