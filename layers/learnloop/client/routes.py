"""Typed methods for every route of the learnloop API. GENERATED: do not edit by hand.

Made by ``learnloop_tools/client_codegen.py`` from the routes ``functions/app.py`` declares;
run ``make client`` after declaring a route (``tests/unit/client/test_client_sync.py`` fails
until the file matches). Each method returns the decoded JSON answer.

Examples
--------
>>> sorted(ROUTES)[:2]
['admin_alerts', 'admin_asset']
>>> ROUTES["put_reaction"]
RouteInfo(method='PUT', path='/v1/reactions', name='put_reaction', scope='ingest', \
replay_safe=True)
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from learnloop.client.base import BaseClient, RouteInfo

# Request bodies, from the routes' pydantic models (what the OpenAPI document lists).


class ReactionIn(TypedDict):
    user_id: str
    content_type: str
    external_id: str
    reaction: Literal["like", "dislike"]
    content: NotRequired[dict[str, Any] | None]
    occurred_at: NotRequired[str | None]


class EventIn(TypedDict):
    event_id: NotRequired[str | None]
    type: str
    user_id: str
    occurred_at: str
    session_id: NotRequired[str | None]
    properties: NotRequired[dict[str, Any]]


class EventBatchIn(TypedDict):
    events: list[EventIn]


class ContentIn(TypedDict):
    posted_at: str
    content_type: NotRequired[str | None]
    decision_type: NotRequired[str | None]
    bandit_arm: NotRequired[str | None]
    topic: NotRequired[str | None]
    hook_type: NotRequired[str | None]
    style: NotRequired[str | None]
    length: NotRequired[Literal["short", "medium", "long"] | None]
    quality_score: NotRequired[float | None]
    novelty_score: NotRequired[float | None]
    expertise_level: NotRequired[float | None]
    text: NotRequired[str | None]


class ReactionBatchIn(TypedDict):
    reactions: list[ReactionIn]


class ContentItemIn(TypedDict):
    posted_at: str
    content_type: NotRequired[str | None]
    decision_type: NotRequired[str | None]
    bandit_arm: NotRequired[str | None]
    topic: NotRequired[str | None]
    hook_type: NotRequired[str | None]
    style: NotRequired[str | None]
    length: NotRequired[Literal["short", "medium", "long"] | None]
    quality_score: NotRequired[float | None]
    novelty_score: NotRequired[float | None]
    expertise_level: NotRequired[float | None]
    text: NotRequired[str | None]
    decision_id: str


class ContentBatchIn(TypedDict):
    content: list[ContentItemIn]


class OutcomeIn(TypedDict):
    decision_id: str
    collected_at: NotRequired[str | None]
    impressions: int
    likes: NotRequired[int]
    retweets: NotRequired[int]
    replies: NotRequired[int]
    bookmarks: NotRequired[int]
    followers_gained: NotRequired[int]
    viral_score: NotRequired[float]


class OutcomeBatchIn(TypedDict):
    outcomes: list[OutcomeIn]


class InsightIn(TypedDict):
    insight_id: str
    user_id: str
    insight_type: str
    text: NotRequired[str | None]
    properties: NotRequired[dict[str, Any] | None]
    created_at: NotRequired[str | None]
    confidence: NotRequired[float | None]
    trade_id: NotRequired[str | None]
    complexity: NotRequired[float | None]
    user_level: NotRequired[float | None]


class FeedbackIn(TypedDict):
    user_id: str
    helpful: bool
    occurred_at: NotRequired[str | None]
    user_feedback: NotRequired[str | None]
    engagement_seconds: NotRequired[float | None]


class TextIn(TypedDict):
    text_id: str
    source: str
    text: str
    symbols: NotRequired[list[str]]
    user_id: NotRequired[str | None]
    page: NotRequired[str | None]
    published_at: NotRequired[str | None]


class TextBatchIn(TypedDict):
    texts: list[TextIn]


class SelectIn(TypedDict):
    scope: Literal["content", "timing"]
    candidates: NotRequired[list[str] | None]
    n: NotRequired[int]
    seed: NotRequired[int | None]
    user_id: NotRequired[str | None]


class DecisionsFeedbackIn(TypedDict):
    decision_id: str
    type: Literal["click", "conversion", "reward"]
    item: NotRequired[str | None]
    value: NotRequired[float | None]


class EngagementRowIn(TypedDict):
    quality_score: float
    content_type: NotRequired[str | None]
    posted_hour: int
    length: Literal["short", "medium", "long"]


class PredictEngagementIn(TypedDict):
    rows: list[EngagementRowIn]
    user_id: NotRequired[str | None]


class FollowThroughRowIn(TypedDict):
    novelty_score: float
    expertise_level: float
    viral_score: float


class PredictFollowThroughIn(TypedDict):
    rows: list[FollowThroughRowIn]


class SentimentIn(TypedDict):
    texts: list[str]
    user_id: NotRequired[str | None]


class LabelledRow(TypedDict):
    text: str
    label: str | int


class LabelledIn(TypedDict):
    rows: list[LabelledRow]
    labels: NotRequired[dict[str, str] | None]
    mode: NotRequired[Literal["append", "replace"]]


class VariantIn(TypedDict):
    name: str
    weight: float
    models: NotRequired[dict[str, Any] | None]


class ExperimentIn(TypedDict):
    name: str
    description: NotRequired[str | None]
    variants: list[VariantIn]
    goal_event_type: str
    status: NotRequired[Literal["draft", "running", "stopped"] | None]


class CandleIn(TypedDict):
    open_time: int | str
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandleBatchIn(TypedDict):
    symbol: str
    interval: Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
    candles: list[CandleIn]


PortfolioIn = TypedDict(
    "PortfolioIn",
    {
        "symbols": list[str],
        "weights": list[float],
        "interval": NotRequired[Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]],
        "from": NotRequired[str | None],
        "to": NotRequired[str | None],
    },
)


class PositionIn(TypedDict):
    equity: float
    risk_fraction: NotRequired[float]
    stop_distance: NotRequired[float | None]
    kelly_cap: NotRequired[float]
    target_volatility: NotRequired[float]
    max_leverage: NotRequired[float]


class RiskMetricsIn(TypedDict):
    returns: NotRequired[list[float] | None]
    portfolio: NotRequired[PortfolioIn | None]
    benchmark: NotRequired[str | None]
    benchmark_returns: NotRequired[list[float] | None]
    risk_free_rate: NotRequired[float]
    periods_per_year: NotRequired[float | None]
    position: NotRequired[PositionIn | None]


class PromoteIn(TypedDict):
    version: str
    reason: NotRequired[str]


class RollbackIn(TypedDict):
    reason: NotRequired[str]


class EvaluationSetIn(TypedDict):
    key: str
    sha256: str
    source: Literal["holdout", "domain", "reference"]
    rows: NotRequired[int | None]
    pinned: NotRequired[bool]


class ConsentIn(TypedDict):
    consent: Literal["opted_in", "opted_out"]


class OccurrenceIn(TypedDict):
    occurrence_id: NotRequired[str | None]
    user_id: str
    pattern_type: str
    trade_id: NotRequired[str | None]
    severity: NotRequired[Literal["low", "medium", "high"] | None]
    confidence: NotRequired[float | None]
    was_warned: NotRequired[bool | None]
    outcome: NotRequired[Literal["win", "loss", "breakeven"] | None]
    pnl: NotRequired[float | None]
    detected_at: NotRequired[str | None]


#: Every route, by method name.
ROUTES: dict[str, RouteInfo] = {
    "health": RouteInfo("GET", "/v1/health", "health", None, True),
    "put_reaction": RouteInfo("PUT", "/v1/reactions", "put_reaction", "ingest", True),
    "delete_reaction": RouteInfo(
        "DELETE",
        "/v1/reactions/{user_id}/{content_type}/{external_id}",
        "delete_reaction",
        "ingest",
        True,
    ),
    "post_events": RouteInfo("POST", "/v1/events", "post_events", "ingest", True),
    "put_content": RouteInfo("PUT", "/v1/content/{decision_id}", "put_content", "ingest", True),
    "post_reactions_batch": RouteInfo(
        "POST", "/v1/reactions/batch", "post_reactions_batch", "ingest", True
    ),
    "post_content_batch": RouteInfo(
        "POST", "/v1/content/batch", "post_content_batch", "ingest", True
    ),
    "post_outcomes": RouteInfo("POST", "/v1/outcomes", "post_outcomes", "ingest", False),
    "post_insight": RouteInfo("POST", "/v1/insights", "post_insight", "ingest", True),
    "post_insight_feedback": RouteInfo(
        "POST", "/v1/insights/{insight_id}/feedback", "post_insight_feedback", "ingest", True
    ),
    "post_texts": RouteInfo("POST", "/v1/texts", "post_texts", "ingest", True),
    "bandit_select": RouteInfo("POST", "/v1/bandit/select", "bandit_select", "read", False),
    "post_feedback": RouteInfo("POST", "/v1/feedback", "post_feedback", "ingest", True),
    "post_predict_engagement": RouteInfo(
        "POST", "/v1/predict/engagement", "post_predict_engagement", "read", True
    ),
    "post_predict_follow_through": RouteInfo(
        "POST", "/v1/predict/follow-through", "post_predict_follow_through", "read", True
    ),
    "get_recommendations": RouteInfo(
        "GET", "/v1/recommendations", "get_recommendations", "read", True
    ),
    "get_similar_users": RouteInfo(
        "GET", "/v1/users/{user_id}/similar", "get_similar_users", "read", True
    ),
    "get_similar_items": RouteInfo(
        "GET", "/v1/items/{content_type}/{external_id}/similar", "get_similar_items", "read", True
    ),
    "post_sentiment": RouteInfo("POST", "/v1/sentiment", "post_sentiment", "read", True),
    "get_symbol_sentiment": RouteInfo(
        "GET", "/v1/sentiment/symbols/{symbol}", "get_symbol_sentiment", "read", True
    ),
    "get_page_sentiment": RouteInfo(
        "GET", "/v1/sentiment/pages/{page}", "get_page_sentiment", "read", True
    ),
    "get_funnel_sentiment": RouteInfo(
        "GET", "/v1/sentiment/funnel", "get_funnel_sentiment", "read", True
    ),
    "get_user_sentiment": RouteInfo(
        "GET", "/v1/sentiment/users/{user_id}", "get_user_sentiment", "read", True
    ),
    "get_market_sentiment": RouteInfo(
        "GET", "/v1/sentiment/market", "get_market_sentiment", "read", True
    ),
    "put_labelled_sentiment": RouteInfo(
        "PUT", "/v1/admin/labelled/sentiment", "put_labelled_sentiment", "admin", True
    ),
    "get_market_forecast": RouteInfo(
        "GET", "/v1/market/{symbol}/forecast", "get_market_forecast", "read", True
    ),
    "get_experiment_assignment": RouteInfo(
        "GET",
        "/v1/experiments/{experiment_id}/assignment",
        "get_experiment_assignment",
        "read",
        True,
    ),
    "list_experiments": RouteInfo(
        "GET", "/v1/admin/experiments", "list_experiments", "admin", True
    ),
    "put_experiment": RouteInfo(
        "PUT", "/v1/admin/experiments/{experiment_id}", "put_experiment", "admin", True
    ),
    "get_experiment": RouteInfo(
        "GET", "/v1/admin/experiments/{experiment_id}", "get_experiment", "admin", True
    ),
    "stop_experiment": RouteInfo(
        "POST", "/v1/admin/experiments/{experiment_id}/stop", "stop_experiment", "admin", False
    ),
    "post_candles": RouteInfo("POST", "/v1/market/candles", "post_candles", "ingest", True),
    "get_market_indicators": RouteInfo(
        "GET", "/v1/market/{symbol}/indicators", "get_market_indicators", "read", True
    ),
    "get_market_anomalies": RouteInfo(
        "GET", "/v1/market/anomalies", "get_market_anomalies", "read", True
    ),
    "get_risk_profile": RouteInfo(
        "GET", "/v1/users/{user_id}/risk-profile", "get_risk_profile", "read", True
    ),
    "post_risk_metrics": RouteInfo("POST", "/v1/risk/metrics", "post_risk_metrics", "read", True),
    "list_models": RouteInfo("GET", "/v1/models", "list_models", "admin", True),
    "promote_model": RouteInfo(
        "POST", "/v1/models/{name}/promote", "promote_model", "admin", False
    ),
    "rollback_model": RouteInfo(
        "POST", "/v1/models/{name}/rollback", "rollback_model", "admin", False
    ),
    "get_evaluation_set": RouteInfo(
        "GET", "/v1/models/{name}/evaluation", "get_evaluation_set", "admin", True
    ),
    "put_evaluation_set": RouteInfo(
        "PUT", "/v1/models/{name}/evaluation", "put_evaluation_set", "admin", True
    ),
    "put_consent": RouteInfo("PUT", "/v1/users/{user_id}/consent", "put_consent", "ingest", True),
    "delete_user": RouteInfo("DELETE", "/v1/users/{user_id}", "delete_user", "admin", True),
    "get_admin_export": RouteInfo("GET", "/v1/admin/export", "get_admin_export", "admin", True),
    "get_openapi": RouteInfo("GET", "/v1/openapi.json", "get_openapi", None, True),
    "admin_stats": RouteInfo("GET", "/v1/admin/stats", "admin_stats", "admin", True),
    "admin_decision_stats": RouteInfo(
        "GET", "/v1/admin/decisions/stats", "admin_decision_stats", "admin", True
    ),
    "admin_bandits": RouteInfo("GET", "/v1/admin/bandits", "admin_bandits", "admin", True),
    "admin_alerts": RouteInfo("GET", "/v1/admin/alerts", "admin_alerts", "admin", True),
    "admin_page": RouteInfo("GET", "/admin", "admin_page", None, True),
    "admin_asset": RouteInfo("GET", "/admin/assets/{name}", "admin_asset", None, True),
    "post_occurrence": RouteInfo(
        "POST", "/v1/journal/occurrences", "post_occurrence", "ingest", False
    ),
    "get_user_patterns": RouteInfo(
        "GET", "/v1/journal/{user_id}/patterns", "get_user_patterns", "read", True
    ),
    "get_insight_quality": RouteInfo(
        "GET", "/v1/insights/{insight_id}/quality", "get_insight_quality", "read", True
    ),
    "admin_journal_activity": RouteInfo(
        "GET", "/v1/admin/journal/activity", "admin_journal_activity", "admin", True
    ),
    "admin_journal_patterns": RouteInfo(
        "GET", "/v1/admin/journal/patterns", "admin_journal_patterns", "admin", True
    ),
    "admin_journal_insights": RouteInfo(
        "GET", "/v1/admin/journal/insights", "admin_journal_insights", "admin", True
    ),
    "get_journal_outcome": RouteInfo(
        "GET", "/v1/journal/{user_id}/outcome", "get_journal_outcome", "read", True
    ),
    "get_journal_churn": RouteInfo(
        "GET", "/v1/journal/{user_id}/churn", "get_journal_churn", "read", True
    ),
    "get_journal_patterns": RouteInfo(
        "GET", "/v1/journal/{user_id}/patterns/detected", "get_journal_patterns", "read", True
    ),
    "get_journal_optimal_state": RouteInfo(
        "GET", "/v1/journal/{user_id}/optimal-state", "get_journal_optimal_state", "read", True
    ),
    "get_journal_behaviour_change": RouteInfo(
        "GET",
        "/v1/journal/{user_id}/behaviour-change",
        "get_journal_behaviour_change",
        "read",
        True,
    ),
    "get_journal_insight_quality": RouteInfo(
        "GET", "/v1/journal/{user_id}/insight-quality", "get_journal_insight_quality", "read", True
    ),
}
_ROUTES = ROUTES


class RouteMethods(BaseClient):
    """One method per route (see :class:`learnloop.client.Client`)."""

    def health(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Liveness and the stage served.

        ``GET /v1/health`` (no key).
        """
        return self._route(
            _ROUTES["health"],
            key=key,
            timeout=timeout,
        )

    def put_reaction(
        self,
        body: ReactionIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Upsert a like or dislike.

        ``PUT /v1/reactions`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["put_reaction"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def delete_reaction(
        self,
        user_id: str,
        content_type: str,
        external_id: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Delete a reaction (idempotent).

        ``DELETE /v1/reactions/{user_id}/{content_type}/{external_id}`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["delete_reaction"],
            path_params={
                "user_id": user_id,
                "content_type": content_type,
                "external_id": external_id,
            },
            key=key,
            timeout=timeout,
        )

    def post_events(
        self,
        body: EventBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A batch of 1-500 analytics events.

        ``POST /v1/events`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_events"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def put_content(
        self,
        decision_id: str,
        body: ContentIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Metadata of a published decision.

        ``PUT /v1/content/{decision_id}`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["put_content"],
            path_params={"decision_id": decision_id},
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_reactions_batch(
        self,
        body: ReactionBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A batch of 1-500 reactions (all valid or none stored; idempotent).

        ``POST /v1/reactions/batch`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_reactions_batch"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_content_batch(
        self,
        body: ContentBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Metadata of 1-500 published decisions (all valid or none stored; idempotent).

        ``POST /v1/content/batch`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_content_batch"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_outcomes(
        self,
        body: OutcomeIn | OutcomeBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One outcome or a batch of outcomes.

        ``POST /v1/outcomes`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_outcomes"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_insight(
        self,
        body: InsightIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """An AI insight shown to a user.

        ``POST /v1/insights`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_insight"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_insight_feedback(
        self,
        insight_id: str,
        body: FeedbackIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Helpful / not-helpful feedback on an insight.

        ``POST /v1/insights/{insight_id}/feedback`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_insight_feedback"],
            path_params={"insight_id": insight_id},
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_texts(
        self,
        body: TextBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """1-64 posts, news or comments: sentiment scored and stored (idempotent by text_id).

        ``POST /v1/texts`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_texts"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def bandit_select(
        self,
        body: SelectIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Choose arms (Thompson sampling / UCB1).

        ``POST /v1/bandit/select`` (scope ``read``).
        """
        return self._route(
            _ROUTES["bandit_select"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_feedback(
        self,
        body: DecisionsFeedbackIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A click, conversion or reward on a logged decision (idempotent).

        ``POST /v1/feedback`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_feedback"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_predict_engagement(
        self,
        body: PredictEngagementIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Predicted engagement rate per row.

        ``POST /v1/predict/engagement`` (scope ``read``).
        """
        return self._route(
            _ROUTES["post_predict_engagement"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def post_predict_follow_through(
        self,
        body: PredictFollowThroughIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Follow-through probability per row.

        ``POST /v1/predict/follow-through`` (scope ``read``).
        """
        return self._route(
            _ROUTES["post_predict_follow_through"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_recommendations(
        self,
        *,
        user_id: str,
        content_type: str | None = None,
        k: int | None = None,
        seed: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Items for a user, never one they reacted to.

        ``GET /v1/recommendations`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_recommendations"],
            query={"user_id": user_id, "content_type": content_type, "k": k, "seed": seed},
            key=key,
            timeout=timeout,
        )

    def get_similar_users(
        self,
        user_id: str,
        *,
        k: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Users of the most similar embeddings (pseudonyms).

        ``GET /v1/users/{user_id}/similar`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_similar_users"],
            path_params={"user_id": user_id},
            query={"k": k},
            key=key,
            timeout=timeout,
        )

    def get_similar_items(
        self,
        content_type: str,
        external_id: str,
        *,
        k: int | None = None,
        content_type_: str | None = None,
        user_id: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Items of the most similar embeddings.

        ``GET /v1/items/{content_type}/{external_id}/similar`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_similar_items"],
            path_params={"content_type": content_type, "external_id": external_id},
            query={"k": k, "content_type": content_type_, "user_id": user_id},
            key=key,
            timeout=timeout,
        )

    def post_sentiment(
        self,
        body: SentimentIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Negative / neutral / positive probabilities of 1-64 texts.

        ``POST /v1/sentiment`` (scope ``read``).
        """
        return self._route(
            _ROUTES["post_sentiment"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_symbol_sentiment(
        self,
        symbol: str,
        *,
        window: Literal["day", "hour"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Source-weighted text sentiment of a symbol per hour or day: score, volume, trend.

        ``GET /v1/sentiment/symbols/{symbol}`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_symbol_sentiment"],
            path_params={"symbol": symbol},
            query={"window": window, "from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def get_page_sentiment(
        self,
        page: str,
        *,
        window: Literal["day", "hour"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Text sentiment of the comments posted on one page of the app, per hour or day.

        ``GET /v1/sentiment/pages/{page}`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_page_sentiment"],
            path_params={"page": page},
            query={"window": window, "from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def get_funnel_sentiment(
        self,
        *,
        pages: str,
        window: Literal["day", "hour"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Text sentiment of each step of a funnel of pages, in order, with the change per step.

        ``GET /v1/sentiment/funnel`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_funnel_sentiment"],
            query={"pages": pages, "window": window, "from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def get_user_sentiment(
        self,
        user_id: str,
        *,
        window: Literal["day", "hour"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Text sentiment of what one user wrote, per hour or day.

        ``GET /v1/sentiment/users/{user_id}`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_user_sentiment"],
            path_params={"user_id": user_id},
            query={"window": window, "from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def get_market_sentiment(
        self,
        *,
        days: int | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Per-coin reaction sentiment over the last N days (daily series, weighted mean).

        ``GET /v1/sentiment/market`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_market_sentiment"],
            query={"days": days, "to": to},
            key=key,
            timeout=timeout,
        )

    def put_labelled_sentiment(
        self,
        body: LabelledIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Store labelled texts for the sentiment jobs (append without duplicates, or replace).

        ``PUT /v1/admin/labelled/sentiment`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["put_labelled_sentiment"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_market_forecast(
        self,
        symbol: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The next candle's close: the ensemble, each member and an 80 % interval (ONNX).

        ``GET /v1/market/{symbol}/forecast`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_market_forecast"],
            path_params={"symbol": symbol},
            key=key,
            timeout=timeout,
        )

    def get_experiment_assignment(
        self,
        experiment_id: str,
        *,
        user_id: str,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A user's variant (deterministic; the control when not running or opted out).

        ``GET /v1/experiments/{experiment_id}/assignment`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_experiment_assignment"],
            path_params={"experiment_id": experiment_id},
            query={"user_id": user_id},
            key=key,
            timeout=timeout,
        )

    def list_experiments(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Every experiment.

        ``GET /v1/admin/experiments`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["list_experiments"],
            key=key,
            timeout=timeout,
        )

    def put_experiment(
        self,
        experiment_id: str,
        body: ExperimentIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Create or update an experiment (variants locked once started).

        ``PUT /v1/admin/experiments/{experiment_id}`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["put_experiment"],
            path_params={"experiment_id": experiment_id},
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_experiment(
        self,
        experiment_id: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """An experiment with its results per variant.

        ``GET /v1/admin/experiments/{experiment_id}`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["get_experiment"],
            path_params={"experiment_id": experiment_id},
            key=key,
            timeout=timeout,
        )

    def stop_experiment(
        self,
        experiment_id: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Stop an experiment (idempotent).

        ``POST /v1/admin/experiments/{experiment_id}/stop`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["stop_experiment"],
            path_params={"experiment_id": experiment_id},
            key=key,
            timeout=timeout,
        )

    def post_candles(
        self,
        body: CandleBatchIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A batch of 1-1000 OHLCV candles of one symbol and interval (idempotent).

        ``POST /v1/market/candles`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_candles"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_market_indicators(
        self,
        symbol: str,
        *,
        interval: Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        names: str | None = None,
        period: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """SMA, EMA, WMA, RSI, MACD, Bollinger, stochastic, VWAP, OBV, volume SMA.

        ``GET /v1/market/{symbol}/indicators`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_market_indicators"],
            path_params={"symbol": symbol},
            query={"interval": interval, "from": from_, "to": to, "names": names, "period": period},
            key=key,
            timeout=timeout,
        )

    def get_market_anomalies(
        self,
        *,
        symbol: str | None = None,
        interval: Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"] | None = None,
        from_: str | None = None,
        to: str | None = None,
        kind: Literal["price", "volume", "flash_crash"] | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Price, volume and flash-crash flags of stored candles, newest first.

        ``GET /v1/market/anomalies`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_market_anomalies"],
            query={"symbol": symbol, "interval": interval, "from": from_, "to": to, "kind": kind},
            key=key,
            timeout=timeout,
        )

    def get_risk_profile(
        self,
        user_id: str,
        *,
        days: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Conservative / moderate / aggressive from the user's trades, with its figures.

        ``GET /v1/users/{user_id}/risk-profile`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_risk_profile"],
            path_params={"user_id": user_id},
            query={"days": days},
            key=key,
            timeout=timeout,
        )

    def post_risk_metrics(
        self,
        body: RiskMetricsIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """VaR, CVaR, volatility, Sharpe, Sortino, drawdown, beta and position sizes.

        ``POST /v1/risk/metrics`` (scope ``read``).
        """
        return self._route(
            _ROUTES["post_risk_metrics"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def list_models(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Models, versions, metrics, production history.

        ``GET /v1/models`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["list_models"],
            key=key,
            timeout=timeout,
        )

    def promote_model(
        self,
        name: str,
        body: PromoteIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Point production at a version.

        ``POST /v1/models/{name}/promote`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["promote_model"],
            path_params={"name": name},
            body=body,
            key=key,
            timeout=timeout,
        )

    def rollback_model(
        self,
        name: str,
        body: RollbackIn | None = None,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Point production back at the previous version.

        ``POST /v1/models/{name}/rollback`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["rollback_model"],
            path_params={"name": name},
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_evaluation_set(
        self,
        name: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The evaluation set versions of a model are compared on.

        ``GET /v1/models/{name}/evaluation`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["get_evaluation_set"],
            path_params={"name": name},
            key=key,
            timeout=timeout,
        )

    def put_evaluation_set(
        self,
        name: str,
        body: EvaluationSetIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Pin the evaluation set versions of a model are compared on.

        ``PUT /v1/models/{name}/evaluation`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["put_evaluation_set"],
            path_params={"name": name},
            body=body,
            key=key,
            timeout=timeout,
        )

    def put_consent(
        self,
        user_id: str,
        body: ConsentIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Opt a user in or out of collection.

        ``PUT /v1/users/{user_id}/consent`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["put_consent"],
            path_params={"user_id": user_id},
            body=body,
            key=key,
            timeout=timeout,
        )

    def delete_user(
        self,
        user_id: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Delete a user everywhere; returns a receipt.

        ``DELETE /v1/users/{user_id}`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["delete_user"],
            path_params={"user_id": user_id},
            key=key,
            timeout=timeout,
        )

    def get_admin_export(
        self,
        *,
        kind: Literal["reactions", "events", "outcomes", "decisions"],
        from_: str,
        format: Literal["csv", "jsonl"] | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Pseudonymized rows of a date range (inline or a presigned URL).

        ``GET /v1/admin/export`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["get_admin_export"],
            query={"kind": kind, "from": from_, "format": format, "to": to},
            key=key,
            timeout=timeout,
        )

    def get_openapi(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """This OpenAPI 3.1 document.

        ``GET /v1/openapi.json`` (no key).
        """
        return self._route(
            _ROUTES["get_openapi"],
            key=key,
            timeout=timeout,
        )

    def admin_stats(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Daily rollups of a date range.

        ``GET /v1/admin/stats`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_stats"],
            query={"from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def admin_decision_stats(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Click-through and reward of logged decisions per policy, version, position, variant.

        ``GET /v1/admin/decisions/stats`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_decision_stats"],
            query={"from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def admin_bandits(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Every bandit arm's posterior.

        ``GET /v1/admin/bandits`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_bandits"],
            key=key,
            timeout=timeout,
        )

    def admin_alerts(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The latest drift alerts.

        ``GET /v1/admin/alerts`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_alerts"],
            key=key,
            timeout=timeout,
        )

    def admin_page(
        self,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The admin dashboard page.

        ``GET /admin`` (no key).
        """
        return self._route(
            _ROUTES["admin_page"],
            key=key,
            timeout=timeout,
        )

    def admin_asset(
        self,
        name: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The dashboard's scripts and styles.

        ``GET /admin/assets/{name}`` (no key).
        """
        return self._route(
            _ROUTES["admin_asset"],
            path_params={"name": name},
            key=key,
            timeout=timeout,
        )

    def post_occurrence(
        self,
        body: OccurrenceIn,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A detected trading pattern on a user's trade (idempotent).

        ``POST /v1/journal/occurrences`` (scope ``ingest``).
        """
        return self._route(
            _ROUTES["post_occurrence"],
            body=body,
            key=key,
            timeout=timeout,
        )

    def get_user_patterns(
        self,
        user_id: str,
        *,
        from_: str | None = None,
        to: str | None = None,
        limit: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A user's pattern occurrences and their outcomes, per pattern.

        ``GET /v1/journal/{user_id}/patterns`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_user_patterns"],
            path_params={"user_id": user_id},
            query={"from": from_, "to": to, "limit": limit},
            key=key,
            timeout=timeout,
        )

    def get_insight_quality(
        self,
        insight_id: str,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """An insight's quality score (feedback, engagement, complexity match).

        ``GET /v1/insights/{insight_id}/quality`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_insight_quality"],
            path_params={"insight_id": insight_id},
            key=key,
            timeout=timeout,
        )

    def admin_journal_activity(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """DAU / WAU / MAU per day and weekly cohort retention.

        ``GET /v1/admin/journal/activity`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_journal_activity"],
            query={"from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def admin_journal_patterns(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Pattern → outcome: loss rate and mean P&L per pattern, with intervals.

        ``GET /v1/admin/journal/patterns`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_journal_patterns"],
            query={"from": from_, "to": to},
            key=key,
            timeout=timeout,
        )

    def admin_journal_insights(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        n: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Insight effectiveness (before / after vs users without) and quality per type.

        ``GET /v1/admin/journal/insights`` (scope ``admin``).
        """
        return self._route(
            _ROUTES["admin_journal_insights"],
            query={"from": from_, "to": to, "n": n},
            key=key,
            timeout=timeout,
        )

    def get_journal_outcome(
        self,
        user_id: str,
        *,
        quantity: float,
        price: float,
        symbol: str | None = None,
        side: Literal["buy", "sell"] | None = None,
        emotion: str | None = None,
        emotion_confidence: float | None = None,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Win probability, expected P&L and its 90 % interval of a trade about to be placed.

        ``GET /v1/journal/{user_id}/outcome`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_outcome"],
            path_params={"user_id": user_id},
            query={
                "quantity": quantity,
                "price": price,
                "symbol": symbol,
                "side": side,
                "emotion": emotion,
                "emotion_confidence": emotion_confidence,
                "at": at,
            },
            key=key,
            timeout=timeout,
        )

    def get_journal_churn(
        self,
        user_id: str,
        *,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Probability of no journal activity in the next 14 days.

        ``GET /v1/journal/{user_id}/churn`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_churn"],
            path_params={"user_id": user_id},
            query={"at": at},
            key=key,
            timeout=timeout,
        )

    def get_journal_patterns(
        self,
        user_id: str,
        *,
        limit: int | None = None,
        threshold: float | None = None,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Revenge trading, overtrading and FOMO detected on the user's recent trades.

        ``GET /v1/journal/{user_id}/patterns/detected`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_patterns"],
            path_params={"user_id": user_id},
            query={"limit": limit, "threshold": threshold, "at": at},
            key=key,
            timeout=timeout,
        )

    def get_journal_optimal_state(
        self,
        user_id: str,
        *,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The emotion, time of day and streak states that precede the user's wins.

        ``GET /v1/journal/{user_id}/optimal-state`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_optimal_state"],
            path_params={"user_id": user_id},
            query={"at": at},
            key=key,
            timeout=timeout,
        )

    def get_journal_behaviour_change(
        self,
        user_id: str,
        *,
        insight_type: str,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Probability that an insight's pattern recurs in the user's next 10 trades.

        ``GET /v1/journal/{user_id}/behaviour-change`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_behaviour_change"],
            path_params={"user_id": user_id},
            query={"insight_type": insight_type, "at": at},
            key=key,
            timeout=timeout,
        )

    def get_journal_insight_quality(
        self,
        user_id: str,
        *,
        insight_type: str,
        at: str | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Probability that the user marks an insight of this type helpful (learned).

        ``GET /v1/journal/{user_id}/insight-quality`` (scope ``read``).
        """
        return self._route(
            _ROUTES["get_journal_insight_quality"],
            path_params={"user_id": user_id},
            query={"insight_type": insight_type, "at": at},
            key=key,
            timeout=timeout,
        )
