"""learnloop's Lambda entry points: routes, schedules and triggers, declared.

Every route is declared once, with ``api.route``: what it serves and what the OpenAPI document
says of it. Every handler is one call into the ``learnloop`` library; nothing happens at import
beyond building the app, the logger and the metrics (request models are named, not imported).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware, Cron, Rate
from chalice.app import CloudWatchEvent, Response

from learnloop import experiments, ingest, jobs
from learnloop.api import (
    DATE_SCHEMA,
    IDENTIFIER_SCHEMA,
    Api,
    Call,
    QueryParam,
    dashboard,
    error_envelope_middleware,
    json_response,
)
from learnloop.api.auth import Scope
from learnloop.bandits.posteriors import bandit_posteriors
from learnloop.decisions.feedback import put_feedback
from learnloop.drift.alerts import latest_alerts
from learnloop.jobs.imports import IMPORT_CREATED_PATTERN
from learnloop.journal import predict as journal_models
from learnloop.journal.events import ingest_journal_events
from learnloop.journal.occurrences import put_occurrence, user_patterns
from learnloop.market.coin_sentiment import market_sentiment
from learnloop.models import operations as models
from learnloop.observability import logger, metrics
from learnloop.predictors.predict import predict_engagement, predict_follow_through
from learnloop.privacy import admin_export, deletion
from learnloop.recommender import recommend
from learnloop.rollups.decisions import decision_stats_range
from learnloop.rollups.stats import daily_stats
from learnloop.users import consent

app = Chalice(app_name="learnloop")
api = Api(app)

app.register_middleware(
    ConvertToMiddleware(
        logger.inject_lambda_context(
            correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
        )
    ),
    "http",
)
app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "http")
app.register_middleware(error_envelope_middleware, "http")

#: Query parameters several routes share.
USER_ID = QueryParam("user_id", IDENTIFIER_SCHEMA, "the app's user id", required=True)
CONTENT_TYPE = QueryParam("content_type", IDENTIFIER_SCHEMA, "only items of this type")
K = QueryParam("k", {"type": "integer", "minimum": 1, "maximum": 100}, "how many (default 10)")
TO_TODAY = QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD (default: today, UTC)")


# --- health ------------------------------------------------------------------------------------


@api.route("GET", "/v1/health", scope=None, summary="Liveness and the stage served", tag="meta")
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok", "stage": call.settings.stage}


# --- ingest ------------------------------------------------------------------------------------


@api.route(
    "PUT",
    "/v1/reactions",
    scope=Scope.INGEST,
    summary="Upsert a like or dislike",
    tag="ingest",
    body="learnloop.ingest.schemas:ReactionIn",
    accepted=True,
)
def put_reaction(call: Call) -> Response:
    body = ingest.put_reaction(call.tables, call.json(), consent=call.services.consent)
    call.services.user_history.forget(body["user_id"])  # this container serves it at once
    return json_response(body, 202 if body.get("dropped") else 200)


@api.route(
    "DELETE",
    "/v1/reactions/{user_id}/{content_type}/{external_id}",
    scope=Scope.INGEST,
    summary="Delete a reaction (idempotent)",
    tag="ingest",
)
def delete_reaction(
    call: Call, user_id: str, content_type: str, external_id: str
) -> dict[str, Any]:
    call.services.user_history.forget(user_id)
    return ingest.delete_reaction(
        call.tables, user_id=user_id, content_type=content_type, external_id=external_id
    )


@api.route(
    "POST",
    "/v1/events",
    scope=Scope.INGEST,
    summary="A batch of 1-500 analytics events",
    tag="ingest",
    body="learnloop.ingest.schemas:EventBatchIn",
    accepted=True,
)
def post_events(call: Call) -> Response:
    # The journal's occurrences and insight verdicts derive from the events (idempotently).
    payload = call.json()
    result = ingest_journal_events(call.tables, payload, consent=call.services.consent)
    call.services.user_history.forget_senders(payload)
    return json_response(result.to_body(), result.status)


@api.route(
    "PUT",
    "/v1/content/{decision_id}",
    scope=Scope.INGEST,
    summary="Metadata of a published decision",
    tag="ingest",
    body="learnloop.ingest.schemas:ContentIn",
)
def put_content(call: Call, decision_id: str) -> dict[str, Any]:
    return ingest.put_content(call.tables, decision_id, call.json())


@api.route(
    "POST",
    "/v1/reactions/batch",
    scope=Scope.INGEST,
    summary="A batch of 1-500 reactions (all valid or none stored; idempotent)",
    tag="ingest",
    body="learnloop.ingest.schemas:ReactionBatchIn",
    accepted=True,
)
def post_reactions_batch(call: Call) -> Response:
    payload = call.json()
    result = ingest.ingest_reactions(call.tables, payload, consent=call.services.consent)
    call.services.user_history.forget_senders(payload, "reactions")
    return json_response(result.to_body(), result.status)


@api.route(
    "POST",
    "/v1/content/batch",
    scope=Scope.INGEST,
    summary="Metadata of 1-500 published decisions (all valid or none stored; idempotent)",
    tag="ingest",
    body="learnloop.ingest.schemas:ContentBatchIn",
)
def post_content_batch(call: Call) -> dict[str, Any]:
    return ingest.ingest_content(call.tables, call.json())


@api.route(
    "POST",
    "/v1/outcomes",
    scope=Scope.INGEST,
    summary="One outcome or a batch of outcomes",
    tag="ingest",
    body=("learnloop.ingest.schemas:OutcomeIn", "learnloop.ingest.schemas:OutcomeBatchIn"),
)
def post_outcomes(call: Call) -> dict[str, Any]:
    return ingest.ingest_outcomes(call.tables, call.json())


@api.route(
    "POST",
    "/v1/insights",
    scope=Scope.INGEST,
    summary="An AI insight shown to a user",
    tag="ingest",
    body="learnloop.ingest.schemas:InsightIn",
    accepted=True,
)
def post_insight(call: Call) -> Response:
    body = ingest.put_insight(call.tables, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


@api.route(
    "POST",
    "/v1/insights/{insight_id}/feedback",
    scope=Scope.INGEST,
    summary="Helpful / not-helpful feedback on an insight",
    tag="ingest",
    body="learnloop.ingest.schemas:FeedbackIn",
    accepted=True,
    errors=(404,),
)
def post_insight_feedback(call: Call, insight_id: str) -> Response:
    body = ingest.put_feedback(call.tables, insight_id, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


@api.route(
    "POST",
    "/v1/texts",
    scope=Scope.INGEST,
    summary="1-64 posts, news or comments: sentiment scored and stored (idempotent by text_id)",
    tag="ingest",
    body="learnloop.sentiment.texts:TextBatchIn",
    accepted=True,
)
def post_texts(call: Call) -> Response:
    from learnloop.sentiment import texts  # the scorer stays off the other ingest routes

    def scorer(batch: list[str]) -> list[texts.Scored] | None:
        return texts.score_batch(batch, cache=call.services.sentiment_cache)

    body = texts.ingest_texts(
        call.tables, call.json(), scorer=scorer, consent=call.services.consent
    )
    return json_response(body, texts.text_status(body["results"]))


# --- serving -----------------------------------------------------------------------------------


@api.route(
    "POST",
    "/v1/bandit/select",
    scope=Scope.READ,
    summary="Choose arms (Thompson sampling / UCB1)",
    tag="serving",
    body="learnloop.bandits.select:SelectIn",
    errors=(409,),
)
def bandit_select(call: Call) -> dict[str, Any]:
    from learnloop.bandits.select import select  # numpy stays off the ingest cold path

    return select(
        call.tables,
        call.json(),
        arms=call.services.arms_cache,
        decisions=call.services.decision_log,
        policies=call.services.policy_cache,
    )


@api.route(
    "POST",
    "/v1/feedback",
    scope=Scope.INGEST,
    summary="A click, conversion or reward on a logged decision (idempotent)",
    tag="serving",
    body="learnloop.decisions.feedback:FeedbackIn",
    errors=(404,),
)
def post_feedback(call: Call) -> dict[str, Any]:
    return put_feedback(call.tables, call.json())


@api.route(
    "POST",
    "/v1/predict/engagement",
    scope=Scope.READ,
    summary="Predicted engagement rate per row",
    tag="serving",
    body="learnloop.predictors.predict:PredictEngagementIn",
    errors=(409,),
)
def post_predict_engagement(call: Call) -> dict[str, Any]:
    return predict_engagement(
        call.services.model_cache, call.json(), assign=call.services.model_variants.assign
    )


@api.route(
    "POST",
    "/v1/predict/follow-through",
    scope=Scope.READ,
    summary="Follow-through probability per row",
    tag="serving",
    body="learnloop.predictors.predict:PredictFollowThroughIn",
    errors=(409,),
)
def post_predict_follow_through(call: Call) -> dict[str, Any]:
    return predict_follow_through(call.services.model_cache, call.json())


# --- serving: recommendations (two-tower) ------------------------------------------------------


@api.route(
    "GET",
    "/v1/recommendations",
    scope=Scope.READ,
    summary="Items for a user, never one they reacted to",
    tag="serving",
    query=(
        USER_ID,
        CONTENT_TYPE,
        K,
        QueryParam("seed", {"type": "integer", "minimum": 0}, "repeatable exploration"),
    ),
    errors=(409,),
)
def get_recommendations(call: Call) -> dict[str, Any]:
    return recommend.recommend(
        call.tables,
        call.services.recommender_cache,
        call.query,
        consent=call.services.consent,
        decisions=call.services.decision_log,
        assign=call.services.model_variants.assign,
        history=call.services.user_history,
    )


@api.route(
    "GET",
    "/v1/users/{user_id}/similar",
    scope=Scope.READ,
    summary="Users of the most similar embeddings (pseudonyms)",
    tag="serving",
    query=(K,),
    errors=(404, 409),
)
def get_similar_users(call: Call, user_id: str) -> dict[str, Any]:
    return recommend.similar_users(
        call.tables,
        call.services.recommender_cache,
        user_id,
        call.query,
        consent=call.services.consent,
    )


@api.route(
    "GET",
    "/v1/items/{content_type}/{external_id}/similar",
    scope=Scope.READ,
    summary="Items of the most similar embeddings",
    tag="serving",
    query=(
        K,
        CONTENT_TYPE,
        QueryParam("user_id", IDENTIFIER_SCHEMA, "leave out the items this user interacted with"),
    ),
    errors=(404, 409),
)
def get_similar_items(call: Call, content_type: str, external_id: str) -> dict[str, Any]:
    return recommend.similar_items(
        call.tables,
        call.services.recommender_cache,
        content_type,
        external_id,
        call.query,
        text_encoders=call.services.text_encoder_cache,
        history=call.services.user_history,
    )


# --- serving: sentiment -------------------------------------------------------------------------


@api.route(
    "POST",
    "/v1/sentiment",
    scope=Scope.READ,
    summary="Negative / neutral / positive probabilities of 1-64 texts",
    tag="serving",
    body="learnloop.sentiment.classify:SentimentIn",
    errors=(409,),
)
def post_sentiment(call: Call) -> dict[str, Any]:
    from learnloop.sentiment.classify import classify  # numpy stays off the ingest cold path

    return classify(
        call.services.sentiment_cache, call.json(), assign=call.services.model_variants.assign
    )


# --- text sentiment: texts in, aggregates per symbol, page and user ----------------------------

SENTIMENT_WINDOW = (
    QueryParam("window", {"type": "string", "enum": ["day", "hour"]}, "day (default) or hour"),
    QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: 6 days before to; hour: to)"),
    TO_TODAY,
)


@api.route(
    "GET",
    "/v1/sentiment/symbols/{symbol}",
    scope=Scope.READ,
    summary="Source-weighted text sentiment of a symbol per hour or day: score, volume, trend",
    tag="serving",
    query=SENTIMENT_WINDOW,
    path_schemas={
        "symbol": {
            "type": "string",
            "minLength": 1,
            "maxLength": 20,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
        }
    },
)
def get_symbol_sentiment(call: Call, symbol: str) -> dict[str, Any]:
    from learnloop.sentiment.summaries import symbol_sentiment

    return symbol_sentiment(call.tables, symbol, call.query)


@api.route(
    "GET",
    "/v1/sentiment/pages/{page}",
    scope=Scope.READ,
    summary="Text sentiment of the comments posted on one page of the app, per hour or day",
    tag="serving",
    query=SENTIMENT_WINDOW,
)
def get_page_sentiment(call: Call, page: str) -> dict[str, Any]:
    from learnloop.sentiment.summaries import page_sentiment

    return page_sentiment(call.tables, page, call.query)


@api.route(
    "GET",
    "/v1/sentiment/funnel",
    scope=Scope.READ,
    summary="Text sentiment of each step of a funnel of pages, in order, with the change per step",
    tag="serving",
    query=(
        QueryParam(
            "pages",
            {"type": "string", "minLength": 3, "maxLength": 1300},
            "2-10 page ids, comma-separated, in funnel order",
            required=True,
        ),
        *SENTIMENT_WINDOW,
    ),
)
def get_funnel_sentiment(call: Call) -> dict[str, Any]:
    from learnloop.sentiment.summaries import funnel_sentiment

    return funnel_sentiment(call.tables, call.query)


@api.route(
    "GET",
    "/v1/sentiment/users/{user_id}",
    scope=Scope.READ,
    summary="Text sentiment of what one user wrote, per hour or day",
    tag="serving",
    query=SENTIMENT_WINDOW,
)
def get_user_sentiment(call: Call, user_id: str) -> dict[str, Any]:
    from learnloop.sentiment.summaries import user_sentiment

    return user_sentiment(call.tables, user_id, call.query)


@api.route(
    "GET",
    "/v1/sentiment/market",
    scope=Scope.READ,
    summary="Per-coin reaction sentiment over the last N days (daily series, weighted mean)",
    tag="serving",
    query=(
        QueryParam(
            "days", {"type": "integer", "minimum": 1, "maximum": 92}, "how many (default 7)"
        ),
        TO_TODAY,
    ),
)
def get_market_sentiment(call: Call) -> dict[str, Any]:
    return market_sentiment(call.tables, call.query)


@api.route(
    "PUT",
    "/v1/admin/labelled/sentiment",
    scope=Scope.ADMIN,
    summary="Store labelled texts for the sentiment jobs (append without duplicates, or replace)",
    tag="admin",
    body="learnloop.sentiment.labelled:LabelledIn",
)
def put_labelled_sentiment(call: Call) -> dict[str, Any]:
    from learnloop.sentiment.labelled import put_labelled
    from learnloop.store.clients import s3_client

    return put_labelled(s3_client(call.settings), call.settings.bucket, call.json())


# --- market: price forecasts ------------------------------------------------------------------


@api.route(
    "GET",
    "/v1/market/{symbol}/forecast",
    scope=Scope.READ,
    summary="The next candle's close: the ensemble, each member and an 80 % interval (ONNX)",
    tag="market",
    path_schemas={"symbol": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"}},
    errors=(409,),
)
def get_market_forecast(call: Call, symbol: str) -> dict[str, Any]:
    # numpy stays off the ingest cold path
    from learnloop.market.forecast import serving as forecast_serving
    from learnloop.sentiment.daily import daily_sentiment

    return forecast_serving.forecast(
        call.services.forecast_cache,
        symbol,
        candles=lambda sym, interval, count: forecast_serving.recent_candles(
            call.settings, sym, interval, count
        ),
        sentiment=lambda sym, first, last: daily_sentiment(call.tables, sym, first, last),
    )


# --- experiments: assignment (read), definitions and results (admin) ------------------------


@api.route(
    "GET",
    "/v1/experiments/{experiment_id}/assignment",
    scope=Scope.READ,
    summary="A user's variant (deterministic; the control when not running or opted out)",
    tag="experiments",
    query=(USER_ID,),
    errors=(404,),
)
def get_experiment_assignment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.assign(call.tables, experiment_id, call.query, consent=call.services.consent)


@api.route(
    "GET", "/v1/admin/experiments", scope=Scope.ADMIN, summary="Every experiment", tag="experiments"
)
def list_experiments(call: Call) -> dict[str, Any]:
    return experiments.list_experiments(call.tables)


@api.route(
    "PUT",
    "/v1/admin/experiments/{experiment_id}",
    scope=Scope.ADMIN,
    summary="Create or update an experiment (variants locked once started)",
    tag="experiments",
    body="learnloop.experiments.schemas:ExperimentIn",
    errors=(409,),
)
def put_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.put_experiment(call.tables, experiment_id, call.json())


@api.route(
    "GET",
    "/v1/admin/experiments/{experiment_id}",
    scope=Scope.ADMIN,
    summary="An experiment with its results per variant",
    tag="experiments",
    errors=(404,),
)
def get_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.experiment_with_results(call.tables, experiment_id)


@api.route(
    "POST",
    "/v1/admin/experiments/{experiment_id}/stop",
    scope=Scope.ADMIN,
    summary="Stop an experiment (idempotent)",
    tag="experiments",
    errors=(404, 409),
)
def stop_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.stop_experiment(call.tables, experiment_id)


# --- market: candles, indicators, risk, anomalies, risk profiles -------------------------------

MARKET_SYMBOL = {
    "type": "string",
    "minLength": 1,
    "maxLength": 32,
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
}
MARKET_INTERVAL = QueryParam(
    "interval",
    {"enum": ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]},
    "candle interval (default 1d)",
)


@api.route(
    "POST",
    "/v1/market/candles",
    scope=Scope.INGEST,
    summary="A batch of 1-1000 OHLCV candles of one symbol and interval (idempotent)",
    tag="market",
    body="learnloop.market.candle_store:CandleBatchIn",
)
def post_candles(call: Call) -> dict[str, Any]:
    from learnloop.market.candle_store import put_candles  # no numpy on the ingest path

    return put_candles(call.tables, call.json())


@api.route(
    "GET",
    "/v1/market/{symbol}/indicators",
    scope=Scope.READ,
    summary="SMA, EMA, WMA, RSI, MACD, Bollinger, stochastic, VWAP, OBV, volume SMA",
    tag="market",
    path_schemas={"symbol": MARKET_SYMBOL},
    query=(
        MARKET_INTERVAL,
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 89 days)"),
        TO_TODAY,
        QueryParam("names", {"type": "string", "maxLength": 200}, "comma-separated (default all)"),
        QueryParam("period", {"type": "integer", "minimum": 2, "maximum": 200}, "default 20"),
    ),
)
def get_market_indicators(call: Call, symbol: str) -> dict[str, Any]:
    from learnloop.market.indicators import market_indicators  # numpy and TA-Lib: read path

    return market_indicators(call.tables, symbol, call.query)


@api.route(
    "GET",
    "/v1/market/anomalies",
    scope=Scope.READ,
    summary="Price, volume and flash-crash flags of stored candles, newest first",
    tag="market",
    query=(
        QueryParam("symbol", MARKET_SYMBOL, "one symbol (default every series)"),
        MARKET_INTERVAL,
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 29 days)"),
        TO_TODAY,
        QueryParam("kind", {"enum": ["price", "volume", "flash_crash"]}, "one kind"),
    ),
)
def get_market_anomalies(call: Call) -> dict[str, Any]:
    from learnloop.market.anomalies import list_anomalies

    return list_anomalies(call.tables, call.query)


@api.route(
    "GET",
    "/v1/users/{user_id}/risk-profile",
    scope=Scope.READ,
    summary="Conservative / moderate / aggressive from the user's trades, with its figures",
    tag="market",
    query=(
        QueryParam(
            "days", {"type": "integer", "minimum": 1, "maximum": 730}, "how many (default 90)"
        ),
    ),
)
def get_risk_profile(call: Call, user_id: str) -> dict[str, Any]:
    from learnloop.market.risk_profile import risk_profile

    return risk_profile(call.tables, user_id, call.query, consent=call.services.consent)


@api.route(
    "POST",
    "/v1/risk/metrics",
    scope=Scope.READ,
    summary="VaR, CVaR, volatility, Sharpe, Sortino, drawdown, beta and position sizes",
    tag="market",
    body="learnloop.market.risk:RiskMetricsIn",
)
def post_risk_metrics(call: Call) -> dict[str, Any]:
    from learnloop.market.risk import risk_metrics  # numpy: read path

    return risk_metrics(call.tables, call.json())


# --- admin: models ----------------------------------------------------------------------------


@api.route(
    "GET",
    "/v1/models",
    scope=Scope.ADMIN,
    summary="Models, versions, metrics, production history",
    tag="admin",
)
def list_models(call: Call) -> dict[str, Any]:
    return models.list_models(call.tables)


@api.route(
    "POST",
    "/v1/models/{name}/promote",
    scope=Scope.ADMIN,
    summary="Point production at a version",
    tag="admin",
    body="learnloop.models.operations:PromoteIn",
    errors=(404, 409),
)
def promote_model(call: Call, name: str) -> dict[str, Any]:
    return models.promote(call.tables, name, call.json(), actor=call.actor)


@api.route(
    "POST",
    "/v1/models/{name}/rollback",
    scope=Scope.ADMIN,
    summary="Point production back at the previous version",
    tag="admin",
    body="learnloop.models.operations:RollbackIn",
    body_required=False,
    errors=(404, 409),
)
def rollback_model(call: Call, name: str) -> dict[str, Any]:
    return models.rollback(call.tables, name, call.json_or_none(), actor=call.actor)


@api.route(
    "GET",
    "/v1/models/{name}/evaluation",
    scope=Scope.ADMIN,
    summary="The evaluation set versions of a model are compared on",
    tag="admin",
    errors=(404,),
)
def get_evaluation_set(call: Call, name: str) -> dict[str, Any]:
    return models.get_evaluation_set(call.tables, name)


@api.route(
    "PUT",
    "/v1/models/{name}/evaluation",
    scope=Scope.ADMIN,
    summary="Pin the evaluation set versions of a model are compared on",
    tag="admin",
    body="learnloop.models.operations:EvaluationSetIn",
)
def put_evaluation_set(call: Call, name: str) -> dict[str, Any]:
    return models.put_evaluation_set(call.tables, name, call.json(), actor=call.actor)


# --- privacy: consent, deletion, admin export -------------------------------------------------


@api.route(
    "PUT",
    "/v1/users/{user_id}/consent",
    scope=Scope.INGEST,
    summary="Opt a user in or out of collection",
    tag="privacy",
    body="learnloop.users.consent:ConsentIn",
    errors=(409,),
)
def put_consent(call: Call, user_id: str) -> dict[str, Any]:
    return consent.set_consent(call.tables, user_id, call.json(), cache=call.services.consent)


@api.route(
    "DELETE",
    "/v1/users/{user_id}",
    scope=Scope.ADMIN,
    summary="Delete a user everywhere; returns a receipt",
    tag="privacy",
    accepted=True,
    accepted_description=(
        "Deleted from every table; some stored export days are still being rewritten by the "
        "privacy_purge job (receipt exports.status = pending)"
    ),
)
def delete_user(call: Call, user_id: str) -> Response:
    receipt = deletion.delete_user(call.tables, user_id, clock=call.services.clock)
    call.services.consent.note(user_id, dropped=True)  # this container knows at once
    return json_response(receipt, deletion.receipt_status(receipt))


@api.route(
    "GET",
    "/v1/admin/export",
    scope=Scope.ADMIN,
    summary="Pseudonymized rows of a date range (inline or a presigned URL)",
    tag="admin",
    query=(
        QueryParam(
            "kind",
            {"enum": ["reactions", "events", "outcomes", "decisions"]},
            "what",
            required=True,
        ),
        QueryParam("format", {"enum": ["csv", "jsonl"]}, "default jsonl"),
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD", required=True),
        QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD (default: from)"),
    ),
    # The rows inline, or JSON naming a presigned download when they are too large.
    media_type=("application/x-ndjson", "text/csv", "application/json"),
)
def get_admin_export(call: Call) -> Response:
    reply = admin_export.admin_export(call.tables, call.query)
    return Response(
        reply.body, status_code=reply.status, headers={"Content-Type": reply.content_type}
    )


# --- api surface: OpenAPI, admin stats, dashboard ----------------------------------------------


@api.route("GET", "/v1/openapi.json", scope=None, summary="This OpenAPI 3.1 document", tag="meta")
def get_openapi(call: Call) -> dict[str, Any]:
    return api.openapi_document()


@api.route(
    "GET",
    "/v1/admin/stats",
    scope=Scope.ADMIN,
    summary="Daily rollups of a date range",
    tag="admin",
    query=(
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 29 days)"),
        TO_TODAY,
    ),
)
def admin_stats(call: Call) -> dict[str, Any]:
    return daily_stats(call.tables, call.query)


@api.route(
    "GET",
    "/v1/admin/decisions/stats",
    scope=Scope.ADMIN,
    summary="Click-through and reward of logged decisions per policy, version, position, variant",
    tag="admin",
    query=(
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 6 days)"),
        TO_TODAY,
    ),
)
def admin_decision_stats(call: Call) -> dict[str, Any]:
    return decision_stats_range(call.tables, call.query)


@api.route(
    "GET",
    "/v1/admin/bandits",
    scope=Scope.ADMIN,
    summary="Every bandit arm's posterior",
    tag="admin",
)
def admin_bandits(call: Call) -> dict[str, Any]:
    return bandit_posteriors(call.tables, arms=call.services.arms_cache)


@api.route(
    "GET", "/v1/admin/alerts", scope=Scope.ADMIN, summary="The latest drift alerts", tag="admin"
)
def admin_alerts(call: Call) -> dict[str, Any]:
    return latest_alerts(call.tables)


@api.route(
    "GET",
    "/admin",
    scope=None,
    summary="The admin dashboard page",
    tag="dashboard",
    media_type="text/html",
)
def admin_page(call: Call) -> Response:
    return dashboard.serve_page()


@api.route(
    "GET",
    "/admin/assets/{name}",
    scope=None,
    summary="The dashboard's scripts and styles",
    tag="dashboard",
    path_schemas={"name": {"type": "string", "minLength": 1, "maxLength": 128}},
    errors=(404,),
    media_type=("text/javascript", "text/css"),
)
def admin_asset(call: Call, name: str) -> Response:
    return dashboard.serve_asset(name)


# --- trading journal: occurrences, per-user patterns, insight quality, analytics ---------------

JOURNAL_FROM = QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 27 days)")
JOURNAL_RANGE = (JOURNAL_FROM, TO_TODAY)


@api.route(
    "POST",
    "/v1/journal/occurrences",
    scope=Scope.INGEST,
    summary="A detected trading pattern on a user's trade (idempotent)",
    tag="journal",
    body="learnloop.journal.occurrences:OccurrenceIn",
    accepted=True,
)
def post_occurrence(call: Call) -> Response:
    body = put_occurrence(call.tables, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


@api.route(
    "GET",
    "/v1/journal/{user_id}/patterns",
    scope=Scope.READ,
    summary="A user's pattern occurrences and their outcomes, per pattern",
    tag="journal",
    query=(
        QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 89 days)"),
        TO_TODAY,
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "default 100"),
    ),
)
def get_user_patterns(call: Call, user_id: str) -> dict[str, Any]:
    return user_patterns(call.tables, user_id, call.query)


@api.route(
    "GET",
    "/v1/insights/{insight_id}/quality",
    scope=Scope.READ,
    summary="An insight's quality score (feedback, engagement, complexity match)",
    tag="journal",
    errors=(404,),
)
def get_insight_quality(call: Call, insight_id: str) -> dict[str, Any]:
    from learnloop.journal.quality import insight_quality

    return insight_quality(call.tables, insight_id)


@api.route(
    "GET",
    "/v1/admin/journal/activity",
    scope=Scope.ADMIN,
    summary="DAU / WAU / MAU per day and weekly cohort retention",
    tag="admin",
    query=JOURNAL_RANGE,
)
def admin_journal_activity(call: Call) -> dict[str, Any]:
    from learnloop.journal.analytics import activity_report

    return activity_report(call.tables, call.query)


@api.route(
    "GET",
    "/v1/admin/journal/patterns",
    scope=Scope.ADMIN,
    summary="Pattern → outcome: loss rate and mean P&L per pattern, with intervals",
    tag="admin",
    query=JOURNAL_RANGE,
)
def admin_journal_patterns(call: Call) -> dict[str, Any]:
    from learnloop.journal.analytics import patterns_report

    return patterns_report(call.tables, call.query)


@api.route(
    "GET",
    "/v1/admin/journal/insights",
    scope=Scope.ADMIN,
    summary="Insight effectiveness (before / after vs users without) and quality per type",
    tag="admin",
    query=(
        *JOURNAL_RANGE,
        QueryParam("n", {"type": "integer", "minimum": 1, "maximum": 100}, "trades per side"),
    ),
)
def admin_journal_insights(call: Call) -> dict[str, Any]:
    from learnloop.journal.analytics import insights_report

    return insights_report(call.tables, call.query)


# --- serving: the journal models ----------------------------------------------------------------

AT = QueryParam(
    "at", {"type": "string", "format": "date-time"}, "the moment asked about (default: now)"
)
INSIGHT_TYPE = QueryParam(
    "insight_type",
    {"type": "string", "minLength": 1, "maxLength": 200},
    "the insight's type, e.g. revenge_trading_warning",
    required=True,
)


@api.route(
    "GET",
    "/v1/journal/{user_id}/outcome",
    scope=Scope.READ,
    summary="Win probability, expected P&L and its 90 % interval of a trade about to be placed",
    tag="journal",
    query=(
        QueryParam("quantity", {"type": "number", "exclusiveMinimum": 0}, "", required=True),
        QueryParam("price", {"type": "number", "exclusiveMinimum": 0}, "", required=True),
        QueryParam("symbol", {"type": "string", "minLength": 1, "maxLength": 200}),
        QueryParam("side", {"type": "string", "enum": ["buy", "sell"]}, "default buy"),
        QueryParam("emotion", {"type": "string", "minLength": 1, "maxLength": 200}),
        QueryParam("emotion_confidence", {"type": "number", "minimum": 0, "maximum": 1}),
        AT,
    ),
    errors=(404, 409),
)
def get_journal_outcome(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_outcome(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


@api.route(
    "GET",
    "/v1/journal/{user_id}/churn",
    scope=Scope.READ,
    summary="Probability of no journal activity in the next 14 days",
    tag="journal",
    query=(AT,),
    errors=(404, 409),
)
def get_journal_churn(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_churn(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


@api.route(
    "GET",
    "/v1/journal/{user_id}/patterns/detected",
    scope=Scope.READ,
    summary="Revenge trading, overtrading and FOMO detected on the user's recent trades",
    tag="journal",
    query=(
        QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "default 20"),
        QueryParam(
            "threshold",
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "default 0.5",
        ),
        AT,
    ),
    errors=(404, 409),
)
def get_journal_patterns(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_patterns(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


@api.route(
    "GET",
    "/v1/journal/{user_id}/optimal-state",
    scope=Scope.READ,
    summary="The emotion, time of day and streak states that precede the user's wins",
    tag="journal",
    query=(AT,),
    errors=(404, 409),
)
def get_journal_optimal_state(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_optimal_state(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


@api.route(
    "GET",
    "/v1/journal/{user_id}/behaviour-change",
    scope=Scope.READ,
    summary="Probability that an insight's pattern recurs in the user's next 10 trades",
    tag="journal",
    query=(INSIGHT_TYPE, AT),
    errors=(404, 409),
)
def get_journal_behaviour_change(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_behaviour_change(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


@api.route(
    "GET",
    "/v1/journal/{user_id}/insight-quality",
    scope=Scope.READ,
    summary="Probability that the user marks an insight of this type helpful (learned)",
    tag="journal",
    query=(INSIGHT_TYPE, AT),
    errors=(404, 409),
)
def get_journal_insight_quality(call: Call, user_id: str) -> dict[str, Any]:
    return journal_models.journal_insight_quality(
        call.tables, call.services.model_cache, user_id, call.query, consent=call.services.consent
    )


# --- triggers ----------------------------------------------------------------------------------


@app.on_cw_event(models.MODEL_DROPPED_PATTERN, name="on_model_dropped")
def on_model_dropped(event: CloudWatchEvent) -> list[dict[str, Any]]:
    return jobs.model_dropped(event.to_dict(), api.services().tables)


@app.on_cw_event(IMPORT_CREATED_PATTERN, name="on_import")
def on_import(event: CloudWatchEvent) -> dict[str, Any]:
    # An object landed under imports/{kind}/: import it (idempotent under redelivery).
    from learnloop.jobs.imports import on_import_created

    return on_import_created(event.to_dict(), api.services().tables)


@app.lambda_function(name="on_decision_logs")
def on_decision_logs(event: dict[str, Any], context: Any) -> dict[str, int]:
    # A CloudWatch Logs subscription delivery: decision lines the API functions printed.
    from learnloop.decisions.loader import load_log_event

    return load_log_event(api.services().tables, event)


# --- schedules ---------------------------------------------------------------------------------


@app.schedule(Cron(15, 0, "*", "*", "?", "*"), name="rollup_daily")
def rollup_daily(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("rollup_daily", event, api.services().tables)


@app.schedule(Cron(45, 0, "*", "*", "?", "*"), name="export_training_data")
def export_training_data(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("export_training_data", event, api.services().tables)


@app.schedule(Rate(4, unit=Rate.HOURS), name="learn")
def learn(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("learn", event, api.services().tables)


@app.schedule(Cron(30, 1, "*", "*", "?", "*"), name="drift_check")
def drift_check(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("drift_check", event, api.services().tables)


@app.schedule(Cron(0, 2, "*", "*", "?", "*"), name="evaluate_policies")
def evaluate_policies(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("evaluate_policies", event, api.services().tables)


@app.schedule(Rate(1, unit=Rate.HOURS), name="privacy_purge")
def privacy_purge(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("privacy_purge", event, api.services().tables)


@app.schedule(Rate(1, unit=Rate.HOURS), name="market_anomalies")
def market_anomalies(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.handle_schedule("market_anomalies", event, api.services().tables)
