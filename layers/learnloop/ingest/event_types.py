"""The analytics event types and the properties each one must carry.

Known types are checked against their model (extra properties are kept: apps add fields
before we do). Apps may also send their own types under a namespace, ``acme.checkout_started``,
whose properties are free-form.

Examples
--------
>>> properties_model("trade_created").__name__
'TradeCreated'
>>> properties_model("acme.checkout_started") is None
True
>>> is_custom_type("acme.checkout_started"), is_custom_type("checkout")
(True, False)
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from learnloop.validation import Identifier, ShortText, Unit

CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_.]{0,30}$")


class Properties(BaseModel):
    model_config = ConfigDict(extra="allow")


class TradeCreated(Properties):
    trade_id: Identifier
    symbol: ShortText
    side: Literal["buy", "sell"]
    quantity: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    price: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class TradeUpdated(Properties):
    trade_id: Identifier
    quantity: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    price: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class TradeDeleted(Properties):
    trade_id: Identifier


class TradeClosed(Properties):
    """A trade's result: the outcome the journal models learn from."""

    trade_id: Identifier
    pnl: Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
    symbol: ShortText | None = None
    outcome: Literal["win", "loss", "breakeven"] | None = None
    exit_price: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    holding_seconds: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None


class EmotionAnalyzed(Properties):
    emotion: ShortText
    confidence: Unit
    trade_id: Identifier | None = None


class PatternViewed(Properties):
    pattern_id: Identifier
    pattern_type: ShortText | None = None


class PatternDetected(Properties):
    pattern_type: ShortText
    confidence: Unit | None = None
    pattern_id: Identifier | None = None
    trade_id: Identifier | None = None
    severity: Literal["low", "medium", "high"] | None = None
    was_warned: bool | None = None
    outcome: Literal["win", "loss", "breakeven"] | None = None
    pnl: Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)] | None = None


class InsightFeedback(Properties):
    insight_id: Identifier


class InsightGenerated(Properties):
    insight_id: Identifier
    insight_type: ShortText | None = None


class ChatMessageSent(Properties):
    # Length only: message text is free-form PII and is never collected.
    message_length: Annotated[int, Field(ge=0, le=1_000_000)]
    conversation_id: Identifier | None = None


class AlertEvent(Properties):
    alert_id: Identifier
    alert_type: ShortText | None = None


class PredictionMade(Properties):
    model: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    prediction: Annotated[float, Field(allow_inf_nan=False)]
    version: ShortText | None = None


class ModelUpdated(Properties):
    model: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    version: ShortText


class ExperimentExposure(Properties):
    """A user saw variant ``variant`` of an A/B experiment (see :mod:`learnloop.experiments`)."""

    experiment_id: Identifier
    variant: Identifier


#: Event type → the model its properties must satisfy (a registry, not an if-chain).
EVENT_TYPES: dict[str, type[Properties]] = {
    "trade_created": TradeCreated,
    "trade_updated": TradeUpdated,
    "trade_deleted": TradeDeleted,
    "trade_closed": TradeClosed,
    "emotion_analyzed": EmotionAnalyzed,
    "pattern_viewed": PatternViewed,
    "pattern_detected": PatternDetected,
    "insight_helpful": InsightFeedback,
    "insight_not_helpful": InsightFeedback,
    "insight_generated": InsightGenerated,
    "chat_message_sent": ChatMessageSent,
    "alert_shown": AlertEvent,
    "alert_dismissed": AlertEvent,
    "alert_heeded": AlertEvent,
    "prediction_made": PredictionMade,
    "model_updated": ModelUpdated,
    "experiment_exposure": ExperimentExposure,
}


def is_custom_type(event_type: str) -> bool:
    """Whether ``event_type`` is an app's own namespaced type (``namespace.name``)."""
    return CUSTOM_TYPE.match(event_type) is not None


def properties_model(event_type: str) -> type[Properties] | None:
    """The properties model of a known type; ``None`` for a namespaced custom type.

    Raises
    ------
    KeyError
        When the type is neither known nor namespaced.
    """
    model = EVENT_TYPES.get(event_type)
    if model is None and not is_custom_type(event_type):
        raise KeyError(event_type)
    return model
