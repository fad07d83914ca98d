"""The one registry of the API's routes, as the OpenAPI document describes them.

Adding a route to ``functions/app.py`` means adding one :class:`RouteSpec` here (a test fails
until both agree). Request bodies name their pydantic model as ``"module:Class"``; the models
are imported only when the document is built, so importing this registry stays cheap.

Examples
--------
>>> spec = next(r for r in ROUTES if r.path == "/v1/reactions" and r.method == "PUT")
>>> spec.scope.value, spec.path_params
('ingest', ())
>>> next(r for r in ROUTES if r.path.startswith("/v1/insights/{")).path_params
('insight_id',)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from learnloop.api.auth.keys import Scope

#: Path parameters are ids unless a route says otherwise (the ingest ``Identifier`` type).
IDENTIFIER_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*$",
}
DATE_SCHEMA: dict[str, Any] = {"type": "string", "format": "date"}


@dataclass(frozen=True)
class QueryParam:
    """One query parameter: its name, JSON schema and whether it is required."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class RouteSpec:
    """One operation of the API.

    Parameters
    ----------
    method, path
        As declared in ``functions/app.py`` (``{name}`` path parameters).
    scope
        The key scope the route needs; ``None`` for open routes.
    summary
        One line for the document.
    tag
        The group the operation is listed under.
    body
        ``"module:Model"`` names of the accepted request bodies (several: any of them).
    body_required
        Whether a body must be sent (``rollback``'s is optional).
    query
        Query parameters.
    path_schemas
        Schemas of path parameters that are not identifiers.
    status
        The success status.
    errors
        Statuses the route can answer besides the ones every route of its kind can.
    media_type
        The success response's content type (``text/html`` for the dashboard page).
    accepted
        Whether the route may also answer 202: accepted but not stored (the user opted out).
    accepted_description
        What a 202 means when it is not that (a deletion whose exports are still pending).
    """

    method: str
    path: str
    scope: Scope | None
    summary: str
    tag: str
    body: tuple[str, ...] = ()
    body_required: bool = True
    query: tuple[QueryParam, ...] = ()
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: int = 200
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"
    accepted: bool = False
    accepted_description: str | None = None

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the ``{...}`` parameters of :attr:`path`, in order."""
        return tuple(re.findall(r"{([^}]+)}", self.path))

    @property
    def operation_id(self) -> str:
        """A stable id: method and path words (``put_v1_reactions``)."""
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("-", "_").split("/")
        return "_".join([self.method.lower(), *words])


_INGEST = "learnloop.ingest.schemas"
_K = QueryParam("k", {"type": "integer", "minimum": 1, "maximum": 100}, "how many (default 10)")

ROUTES: tuple[RouteSpec, ...] = (
    # --- open ---------------------------------------------------------------------------------
    RouteSpec("GET", "/v1/health", None, "Liveness and the stage served", "meta"),
    RouteSpec("GET", "/v1/openapi.json", None, "This OpenAPI 3.1 document", "meta"),
    # --- ingest -------------------------------------------------------------------------------
    RouteSpec(
        "PUT",
        "/v1/reactions",
        Scope.INGEST,
        "Upsert a like or dislike",
        "ingest",
        body=(f"{_INGEST}:ReactionIn",),
        accepted=True,
    ),
    RouteSpec(
        "DELETE",
        "/v1/reactions/{user_id}/{content_type}/{external_id}",
        Scope.INGEST,
        "Delete a reaction (idempotent)",
        "ingest",
    ),
    RouteSpec(
        "POST",
        "/v1/events",
        Scope.INGEST,
        "A batch of 1-500 analytics events",
        "ingest",
        body=(f"{_INGEST}:EventBatchIn",),
        accepted=True,
    ),
    RouteSpec(
        "PUT",
        "/v1/content/{decision_id}",
        Scope.INGEST,
        "Metadata of a published decision",
        "ingest",
        body=(f"{_INGEST}:ContentIn",),
    ),
    RouteSpec(
        "POST",
        "/v1/outcomes",
        Scope.INGEST,
        "One outcome or a batch of outcomes",
        "ingest",
        body=(f"{_INGEST}:OutcomeIn", f"{_INGEST}:OutcomeBatchIn"),
    ),
    RouteSpec(
        "POST",
        "/v1/insights",
        Scope.INGEST,
        "An AI insight shown to a user",
        "ingest",
        body=(f"{_INGEST}:InsightIn",),
        accepted=True,
    ),
    RouteSpec(
        "POST",
        "/v1/insights/{insight_id}/feedback",
        Scope.INGEST,
        "Helpful / not-helpful feedback on an insight",
        "ingest",
        body=(f"{_INGEST}:FeedbackIn",),
        accepted=True,
        errors=(404,),
    ),
    # --- serving ------------------------------------------------------------------------------
    RouteSpec(
        "POST",
        "/v1/bandit/select",
        Scope.READ,
        "Choose arms (Thompson sampling / UCB1)",
        "serving",
        body=("learnloop.bandits.select:SelectIn",),
        errors=(409,),
    ),
    RouteSpec(
        "POST",
        "/v1/predict/engagement",
        Scope.READ,
        "Predicted engagement rate per row",
        "serving",
        body=("learnloop.predictors.predict:PredictEngagementIn",),
        errors=(409,),
    ),
    RouteSpec(
        "POST",
        "/v1/predict/follow-through",
        Scope.READ,
        "Follow-through probability per row",
        "serving",
        body=("learnloop.predictors.predict:PredictFollowThroughIn",),
        errors=(409,),
    ),
    RouteSpec(
        "GET",
        "/v1/experiments/{experiment_id}/assignment",
        Scope.READ,
        "A user's variant (deterministic; the control when not running or opted out)",
        "experiments",
        query=(QueryParam("user_id", IDENTIFIER_SCHEMA, "the app's user id", required=True),),
        errors=(404,),
    ),
    # --- admin: experiments -------------------------------------------------------------------
    RouteSpec("GET", "/v1/admin/experiments", Scope.ADMIN, "Every experiment", "experiments"),
    RouteSpec(
        "PUT",
        "/v1/admin/experiments/{experiment_id}",
        Scope.ADMIN,
        "Create or update an experiment (variants locked once started)",
        "experiments",
        body=("learnloop.experiments.schemas:ExperimentIn",),
        errors=(409,),
    ),
    RouteSpec(
        "GET",
        "/v1/admin/experiments/{experiment_id}",
        Scope.ADMIN,
        "An experiment with its results per variant",
        "experiments",
        errors=(404,),
    ),
    RouteSpec(
        "POST",
        "/v1/admin/experiments/{experiment_id}/stop",
        Scope.ADMIN,
        "Stop an experiment (idempotent)",
        "experiments",
        errors=(404, 409),
    ),
    # --- admin --------------------------------------------------------------------------------
    RouteSpec(
        "GET",
        "/v1/admin/stats",
        Scope.ADMIN,
        "Daily rollups of a date range",
        "admin",
        query=(
            QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD (default: to - 29 days)"),
            QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD (default: today, UTC)"),
        ),
    ),
    RouteSpec("GET", "/v1/admin/bandits", Scope.ADMIN, "Every bandit arm's posterior", "admin"),
    RouteSpec("GET", "/v1/admin/alerts", Scope.ADMIN, "The latest drift alerts", "admin"),
    RouteSpec(
        "GET", "/v1/models", Scope.ADMIN, "Models, versions, metrics, production history", "admin"
    ),
    RouteSpec(
        "POST",
        "/v1/models/{name}/promote",
        Scope.ADMIN,
        "Point production at a version",
        "admin",
        body=("learnloop.models.operations:PromoteIn",),
        errors=(404, 409),
    ),
    RouteSpec(
        "POST",
        "/v1/models/{name}/rollback",
        Scope.ADMIN,
        "Point production back at the previous version",
        "admin",
        body=("learnloop.models.operations:RollbackIn",),
        body_required=False,
        errors=(404, 409),
    ),
    # --- dashboard (the page is open; its data comes from the admin routes) ---------------
    RouteSpec(
        "GET", "/admin", None, "The admin dashboard page", "dashboard", media_type="text/html"
    ),
    RouteSpec(
        "GET",
        "/admin/assets/{name}",
        None,
        "The dashboard's scripts and styles",
        "dashboard",
        path_schemas={"name": {"type": "string", "minLength": 1, "maxLength": 128}},
        errors=(404,),
        media_type="text/plain",
    ),
    # --- recommendations (two-tower) ------------------------------------------------------
    RouteSpec(
        "GET",
        "/v1/recommendations",
        Scope.READ,
        "Items for a user, never one they reacted to",
        "serving",
        query=(
            QueryParam("user_id", IDENTIFIER_SCHEMA, "the app's user id", required=True),
            QueryParam("content_type", IDENTIFIER_SCHEMA, "only items of this type"),
            _K,
            QueryParam("seed", {"type": "integer", "minimum": 0}, "repeatable exploration"),
        ),
        errors=(409,),
    ),
    RouteSpec(
        "GET",
        "/v1/users/{user_id}/similar",
        Scope.READ,
        "Users of the most similar embeddings (pseudonyms)",
        "serving",
        query=(_K,),
        errors=(404, 409),
    ),
    RouteSpec(
        "GET",
        "/v1/items/{content_type}/{external_id}/similar",
        Scope.READ,
        "Items of the most similar embeddings",
        "serving",
        query=(_K, QueryParam("content_type", IDENTIFIER_SCHEMA, "only items of this type")),
        errors=(404, 409),
    ),
    # --- sentiment ----------------------------------------------------------------------------
    RouteSpec(
        "POST",
        "/v1/sentiment",
        Scope.READ,
        "Negative / neutral / positive probabilities of 1-64 texts",
        "serving",
        body=("learnloop.sentiment.classify:SentimentIn",),
        errors=(409,),
    ),
    RouteSpec(
        "GET",
        "/v1/sentiment/market",
        Scope.READ,
        "Per-coin reaction sentiment over the last N days (daily series, weighted mean)",
        "serving",
        query=(
            QueryParam(
                "days", {"type": "integer", "minimum": 1, "maximum": 92}, "how many (default 7)"
            ),
            QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD (default: today, UTC)"),
        ),
    ),
    # --- privacy ----------------------------------------------------------------------------
    RouteSpec(
        "PUT",
        "/v1/users/{user_id}/consent",
        Scope.INGEST,
        "Opt a user in or out of collection",
        "privacy",
        body=("learnloop.users.consent:ConsentIn",),
        errors=(409,),
    ),
    RouteSpec(
        "DELETE",
        "/v1/users/{user_id}",
        Scope.ADMIN,
        "Delete a user everywhere; returns a receipt",
        "privacy",
        accepted=True,
        accepted_description=(
            "Deleted from every table; some stored export days are still being rewritten by "
            "the privacy_purge job (receipt exports.status = pending)"
        ),
    ),
    RouteSpec(
        "GET",
        "/v1/admin/export",
        Scope.ADMIN,
        "Pseudonymized rows of a date range (inline or a presigned URL)",
        "admin",
        query=(
            QueryParam(
                "kind", {"enum": ["reactions", "events", "outcomes"]}, "what", required=True
            ),
            QueryParam("format", {"enum": ["csv", "jsonl"]}, "default jsonl"),
            QueryParam("from", DATE_SCHEMA, "first day, YYYY-MM-DD", required=True),
            QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD (default: from)"),
        ),
    ),
)


def undocumented(
    app_routes: dict[str, dict[str, Any]], routes: tuple[RouteSpec, ...] = ROUTES
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """``(routes the app serves but the registry lacks, registry entries the app lacks)``.

    ``app_routes`` is a Chalice app's ``routes`` (path → method → entry).

    Examples
    --------
    >>> undocumented({"/v1/health": {"GET": None}}, ROUTES[:1])
    (set(), set())
    >>> undocumented({"/v1/health": {"GET": None, "POST": None}}, ROUTES[:1])
    ({('POST', '/v1/health')}, set())
    """
    served = {(method, path) for path, methods in app_routes.items() for method in methods}
    documented = {(route.method, route.path) for route in routes}
    return served - documented, documented - served
