"""learnloop's Lambda entry points: routes, schedules and triggers, declared.

Every handler is one call into the ``learnloop`` library; nothing happens at import beyond
building the app, the logger and the metrics.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware, Cron, Rate
from chalice.app import CloudWatchEvent, Response

from learnloop import experiments, ingest, jobs
from learnloop.api import Api, Call, dashboard, error_envelope_middleware, json_response
from learnloop.api.auth import Scope
from learnloop.api.openapi import openapi_document
from learnloop.bandits.posteriors import bandit_posteriors
from learnloop.drift.alerts import latest_alerts
from learnloop.market.coin_sentiment import market_sentiment
from learnloop.models import operations as models
from learnloop.observability import logger, metrics
from learnloop.predictors.predict import predict_engagement, predict_follow_through
from learnloop.privacy import admin_export, deletion
from learnloop.recommender import recommend
from learnloop.rollups.stats import daily_stats
from learnloop.sentiment.classify import classify
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


# --- health ------------------------------------------------------------------------------------


@app.route("/v1/health", methods=["GET"])
@api.endpoint(scope=None)
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok", "stage": call.settings.stage}


# --- ingest ------------------------------------------------------------------------------------


@app.route("/v1/reactions", methods=["PUT"])
@api.endpoint(scope=Scope.INGEST)
def put_reaction(call: Call) -> Response:
    body = ingest.put_reaction(call.tables, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


@app.route("/v1/reactions/{user_id}/{content_type}/{external_id}", methods=["DELETE"])
@api.endpoint(scope=Scope.INGEST)
def delete_reaction(
    call: Call, user_id: str, content_type: str, external_id: str
) -> dict[str, Any]:
    return ingest.delete_reaction(
        call.tables, user_id=user_id, content_type=content_type, external_id=external_id
    )


@app.route("/v1/events", methods=["POST"])
@api.endpoint(scope=Scope.INGEST)
def post_events(call: Call) -> Response:
    result = ingest.ingest_events(call.tables, call.json(), consent=call.services.consent)
    return json_response(result.to_body(), result.status)


@app.route("/v1/content/{decision_id}", methods=["PUT"])
@api.endpoint(scope=Scope.INGEST)
def put_content(call: Call, decision_id: str) -> dict[str, Any]:
    return ingest.put_content(call.tables, decision_id, call.json())


@app.route("/v1/outcomes", methods=["POST"])
@api.endpoint(scope=Scope.INGEST)
def post_outcomes(call: Call) -> dict[str, Any]:
    return ingest.ingest_outcomes(call.tables, call.json())


@app.route("/v1/insights", methods=["POST"])
@api.endpoint(scope=Scope.INGEST)
def post_insight(call: Call) -> Response:
    body = ingest.put_insight(call.tables, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


@app.route("/v1/insights/{insight_id}/feedback", methods=["POST"])
@api.endpoint(scope=Scope.INGEST)
def post_insight_feedback(call: Call, insight_id: str) -> Response:
    body = ingest.put_feedback(call.tables, insight_id, call.json(), consent=call.services.consent)
    return json_response(body, 202 if body.get("dropped") else 200)


# --- serving -----------------------------------------------------------------------------------


@app.route("/v1/bandit/select", methods=["POST"])
@api.endpoint(scope=Scope.READ)
def bandit_select(call: Call) -> dict[str, Any]:
    from learnloop.bandits.select import select  # numpy stays off the ingest cold path

    return select(call.tables, call.json(), arms=call.services.arms_cache)


@app.route("/v1/predict/engagement", methods=["POST"])
@api.endpoint(scope=Scope.READ)
def post_predict_engagement(call: Call) -> dict[str, Any]:
    return predict_engagement(call.services.model_cache, call.json())


@app.route("/v1/predict/follow-through", methods=["POST"])
@api.endpoint(scope=Scope.READ)
def post_predict_follow_through(call: Call) -> dict[str, Any]:
    return predict_follow_through(call.services.model_cache, call.json())


# --- serving: recommendations (two-tower) ------------------------------------------------------


@app.route("/v1/recommendations", methods=["GET"])
@api.endpoint(scope=Scope.READ)
def get_recommendations(call: Call) -> dict[str, Any]:
    return recommend.recommend(
        call.tables, call.services.recommender_cache, call.query, consent=call.services.consent
    )


@app.route("/v1/users/{user_id}/similar", methods=["GET"])
@api.endpoint(scope=Scope.READ)
def get_similar_users(call: Call, user_id: str) -> dict[str, Any]:
    return recommend.similar_users(
        call.tables,
        call.services.recommender_cache,
        user_id,
        call.query,
        consent=call.services.consent,
    )


@app.route("/v1/items/{content_type}/{external_id}/similar", methods=["GET"])
@api.endpoint(scope=Scope.READ)
def get_similar_items(call: Call, content_type: str, external_id: str) -> dict[str, Any]:
    return recommend.similar_items(
        call.tables,
        call.services.recommender_cache,
        content_type,
        external_id,
        call.query,
        text_encoders=call.services.text_encoder_cache,
    )


# --- serving: sentiment -------------------------------------------------------------------------


@app.route("/v1/sentiment", methods=["POST"])
@api.endpoint(scope=Scope.READ)
def post_sentiment(call: Call) -> dict[str, Any]:

    return classify(call.services.sentiment_cache, call.json())


@app.route("/v1/sentiment/market", methods=["GET"])
@api.endpoint(scope=Scope.READ)
def get_market_sentiment(call: Call) -> dict[str, Any]:

    return market_sentiment(call.tables, call.query)


# --- experiments: assignment (read), definitions and results (admin) ------------------------


@app.route("/v1/experiments/{experiment_id}/assignment", methods=["GET"])
@api.endpoint(scope=Scope.READ)
def get_experiment_assignment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.assign(call.tables, experiment_id, call.query, consent=call.services.consent)


@app.route("/v1/admin/experiments", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def list_experiments(call: Call) -> dict[str, Any]:
    return experiments.list_experiments(call.tables)


@app.route("/v1/admin/experiments/{experiment_id}", methods=["PUT"])
@api.endpoint(scope=Scope.ADMIN)
def put_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.put_experiment(call.tables, experiment_id, call.json())


@app.route("/v1/admin/experiments/{experiment_id}", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def get_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.experiment_with_results(call.tables, experiment_id)


@app.route("/v1/admin/experiments/{experiment_id}/stop", methods=["POST"])
@api.endpoint(scope=Scope.ADMIN)
def stop_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    return experiments.stop_experiment(call.tables, experiment_id)


# --- admin: models ----------------------------------------------------------------------------


@app.route("/v1/models", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def list_models(call: Call) -> dict[str, Any]:
    return models.list_models(call.tables)


@app.route("/v1/models/{name}/promote", methods=["POST"])
@api.endpoint(scope=Scope.ADMIN)
def promote_model(call: Call, name: str) -> dict[str, Any]:
    return models.promote(call.tables, name, call.json(), actor=call.actor)


@app.route("/v1/models/{name}/rollback", methods=["POST"])
@api.endpoint(scope=Scope.ADMIN)
def rollback_model(call: Call, name: str) -> dict[str, Any]:
    return models.rollback(call.tables, name, call.json_or_none(), actor=call.actor)


# --- privacy: consent, deletion, admin export -------------------------------------------------


@app.route("/v1/users/{user_id}/consent", methods=["PUT"])
@api.endpoint(scope=Scope.INGEST)
def put_consent(call: Call, user_id: str) -> dict[str, Any]:

    return consent.set_consent(call.tables, user_id, call.json(), cache=call.services.consent)


@app.route("/v1/users/{user_id}", methods=["DELETE"])
@api.endpoint(scope=Scope.ADMIN)
def delete_user(call: Call, user_id: str) -> Response:

    receipt = deletion.delete_user(call.tables, user_id, clock=call.services.clock)
    return json_response(receipt, deletion.receipt_status(receipt))


@app.route("/v1/admin/export", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def get_admin_export(call: Call) -> Response:

    reply = admin_export.admin_export(call.tables, call.query)
    return Response(
        reply.body, status_code=reply.status, headers={"Content-Type": reply.content_type}
    )


# --- api surface: OpenAPI, admin stats, dashboard ----------------------------------------------


@app.route("/v1/openapi.json", methods=["GET"])
@api.endpoint(scope=None)
def get_openapi(call: Call) -> dict[str, Any]:
    return openapi_document()


@app.route("/v1/admin/stats", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def admin_stats(call: Call) -> dict[str, Any]:
    return daily_stats(call.tables, call.query)


@app.route("/v1/admin/bandits", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def admin_bandits(call: Call) -> dict[str, Any]:
    return bandit_posteriors(call.tables, arms=call.services.arms_cache)


@app.route("/v1/admin/alerts", methods=["GET"])
@api.endpoint(scope=Scope.ADMIN)
def admin_alerts(call: Call) -> dict[str, Any]:
    return latest_alerts(call.tables)


@app.route("/admin", methods=["GET"])
@api.endpoint(scope=None)
def admin_page(call: Call) -> Response:
    return dashboard.serve_page()


@app.route("/admin/assets/{name}", methods=["GET"])
@api.endpoint(scope=None)
def admin_asset(call: Call, name: str) -> Response:
    return dashboard.serve_asset(name)


# --- triggers ----------------------------------------------------------------------------------


@app.on_cw_event(models.MODEL_DROPPED_PATTERN, name="on_model_dropped")
def on_model_dropped(event: CloudWatchEvent) -> list[dict[str, Any]]:
    return models.on_model_dropped(event.to_dict(), api.services().tables)


# --- schedules ---------------------------------------------------------------------------------


@app.schedule(Cron(15, 0, "*", "*", "?", "*"), name="rollup_daily")
def rollup_daily(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.run_scheduled("rollup_daily", event.time, api.services().tables)


@app.schedule(Cron(45, 0, "*", "*", "?", "*"), name="export_training_data")
def export_training_data(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.run_scheduled("export_training_data", event.time, api.services().tables)


@app.schedule(Rate(4, unit=Rate.HOURS), name="learn")
def learn(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.run_scheduled("learn", event.time, api.services().tables)


@app.schedule(Cron(30, 1, "*", "*", "?", "*"), name="drift_check")
def drift_check(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.run_scheduled("drift_check", event.time, api.services().tables)


@app.schedule(Rate(1, unit=Rate.HOURS), name="privacy_purge")
def privacy_purge(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.run_scheduled("privacy_purge", event.time, api.services().tables)
