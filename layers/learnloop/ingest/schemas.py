"""Request bodies of the ingest API, as pydantic models (what the Powertools Parser uses).

Settings-dependent checks (allowed content types, clock skew) read the validation context:
``Model.model_validate(data, context=ValidationContext(...).as_dict())``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from learnloop.validation import (
    Count,
    Identifier,
    ShortText,
    Strict,
    Unit,
    UtcDatetime,
    plausible_time,
    storable,
)

MAX_SNAPSHOT_BYTES = 32 * 1024
MAX_PROPERTIES_BYTES = 16 * 1024
#: Free-text feedback on an insight is capped: a comment, not a document.
MAX_USER_FEEDBACK_CHARS = 2_000


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


# Kept under its old name for the validators below (and any route built on them): it now
# refuses implausibly old times too (``LEARNLOOP_MAX_EVENT_AGE_DAYS``), not only future ones.
_not_in_future = plausible_time


class ReactionKeyIn(Strict):
    """The key of one reaction, as in ``DELETE /v1/reactions/{user_id}/{type}/{id}``."""

    user_id: Identifier
    content_type: Identifier
    external_id: Identifier

    @field_validator("content_type")
    @classmethod
    def _known_content_type(cls, value: str, info: ValidationInfo) -> str:
        allowed = (info.context or {}).get("content_types")
        if allowed and value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value


class ReactionIn(ReactionKeyIn):
    """``PUT /v1/reactions``: a like or dislike, upserted per (user, content type, item)."""

    reaction: Literal["like", "dislike"]
    #: A snapshot of the content as the user saw it (title, url, symbol, ...), at most 32 KB.
    content: dict[str, Any] | None = None
    #: When the user reacted; defaults to when the request arrived.
    occurred_at: UtcDatetime | None = None

    @field_validator("content")
    @classmethod
    def _snapshot_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and _json_size(value) > MAX_SNAPSHOT_BYTES:
            raise ValueError(f"content snapshot must be at most {MAX_SNAPSHOT_BYTES} bytes as JSON")
        return value

    _occurred_at_bound = field_validator("occurred_at")(_not_in_future)


class EventIn(Strict):
    """One analytics event; ``properties`` are checked per ``type`` by :mod:`.events`."""

    event_id: Identifier | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    user_id: Identifier
    occurred_at: UtcDatetime
    session_id: Identifier | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    _occurred_at_bound = field_validator("occurred_at")(_not_in_future)

    @field_validator("properties")
    @classmethod
    def _properties_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        if _json_size(value) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties must be at most {MAX_PROPERTIES_BYTES} bytes as JSON")
        return value


class EventBatchIn(Strict):
    """``POST /v1/events``: 1 to 500 events, all valid or none stored."""

    events: list[EventIn] = Field(min_length=1, max_length=500)


class DecisionKeyIn(Strict):
    decision_id: Identifier


class InsightKeyIn(Strict):
    insight_id: Identifier


class ContentIn(Strict):
    """``PUT /v1/content/{decision_id}``: metadata of one published decision."""

    posted_at: UtcDatetime
    content_type: Identifier | None = None
    decision_type: ShortText | None = None
    bandit_arm: ShortText | None = None
    topic: ShortText | None = None
    hook_type: ShortText | None = None
    style: ShortText | None = None
    length: Literal["short", "medium", "long"] | None = None
    quality_score: Unit | None = None
    novelty_score: Unit | None = None
    expertise_level: Unit | None = None
    text: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class ContentItemIn(ContentIn):
    """One row of ``POST /v1/content/batch`` (and of a content import): a decision's id and
    its metadata, as ``PUT /v1/content/{decision_id}`` takes them."""

    decision_id: Identifier


class ContentBatchIn(Strict):
    """``POST /v1/content/batch``: 1 to 500 decisions' metadata, all valid or none stored."""

    content: list[ContentItemIn] = Field(min_length=1, max_length=500)


class ReactionBatchIn(Strict):
    """``POST /v1/reactions/batch``: 1 to 500 reactions, all valid or none stored."""

    reactions: list[ReactionIn] = Field(min_length=1, max_length=500)


class OutcomeIn(Strict):
    """The engagement a decision had earned at ``collected_at``."""

    decision_id: Identifier
    collected_at: UtcDatetime | None = None
    impressions: Count
    likes: Count = 0
    retweets: Count = 0
    replies: Count = 0
    bookmarks: Count = 0
    followers_gained: Annotated[int, Field(ge=-(10**9), le=10**9)] = 0
    viral_score: Annotated[
        float, Field(ge=0.0, le=100.0, allow_inf_nan=False), AfterValidator(storable)
    ] = 0.0

    _collected_at_bound = field_validator("collected_at")(_not_in_future)


class OutcomeBatchIn(Strict):
    """``POST /v1/outcomes``: one outcome, or ``{"outcomes": [...]}`` with up to 500."""

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=500)


class InsightIn(Strict):
    """``POST /v1/insights``: an AI insight shown to a user."""

    insight_id: Identifier
    user_id: Identifier
    insight_type: ShortText
    text: Annotated[str, StringConstraints(max_length=8_000)] | None = None
    properties: dict[str, Any] | None = None
    created_at: UtcDatetime | None = None
    #: The generator's confidence in the insight.
    confidence: Unit | None = None
    #: The trade the insight is about.
    trade_id: Identifier | None = None
    #: How advanced the insight is (0 beginner .. 1 expert) and how experienced its user is:
    #: their match is one term of the insight quality score (:mod:`learnloop.journal.quality`).
    complexity: Unit | None = None
    user_level: Unit | None = None

    _created_at_bound = field_validator("created_at")(_not_in_future)

    @field_validator("properties")
    @classmethod
    def _properties_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and _json_size(value) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties must be at most {MAX_PROPERTIES_BYTES} bytes as JSON")
        return value


class FeedbackIn(Strict):
    """``POST /v1/insights/{insight_id}/feedback``: was this insight helpful to this user?"""

    user_id: Identifier
    helpful: bool
    occurred_at: UtcDatetime | None = None
    #: The user's own words. Stored for the app to read back, never exported (exports keep
    #: its length only); deleting the user removes it.
    user_feedback: Annotated[str, StringConstraints(max_length=MAX_USER_FEEDBACK_CHARS)] | None = (
        None
    )
    #: Seconds the user spent on the insight (the quality score's engagement term).
    engagement_seconds: Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)] | None = None

    _occurred_at_bound = field_validator("occurred_at")(_not_in_future)
