"""Build the OpenAPI 3.1 document from the routes an app declared (``Api.routes``).

Request schemas are the pydantic models' own JSON schemas (``models_json_schema``, the same
models the routes validate with), so the document cannot drift from what the API accepts.

Examples
--------
>>> from learnloop.api.auth import Scope
>>> events = RouteSpec("POST", "/v1/events", Scope.INGEST, "A batch of events", "ingest",
...                    body=("learnloop.ingest.schemas:EventBatchIn",))
>>> doc = build_document([events])
>>> doc["openapi"], sorted(doc["paths"]["/v1/events"])
('3.1.0', ['post'])
>>> doc["paths"]["/v1/events"]["post"]["x-required-scope"]
'ingest'
>>> "422" in doc["paths"]["/v1/events"]["post"]["responses"]
True
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from learnloop import __version__
from learnloop.api.route_spec import IDENTIFIER_SCHEMA, RouteSpec

JSON = "application/json"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "minLength": 1},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}

_REASONS = {
    400: "Malformed JSON, non-UTF-8 or too deeply nested body",
    401: "Missing, unknown or revoked API key",
    403: "The key lacks the scope this route needs",
    404: "No such resource",
    409: "Conflict with the current state",
    413: "Body over the size limit",
    415: "Body is not application/json",
    422: "Schema violation; details name every bad field",
    429: "Rate limit of this key exceeded; see Retry-After",
    503: "The data store is throttled or unavailable; send the same request after Retry-After",
}


def _model(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _schemas(routes: Iterable[RouteSpec]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Component schemas of every request model, and ``"module:Model"`` → its ``$ref``."""
    from pydantic.json_schema import models_json_schema

    refs = sorted({ref for route in routes for ref in route.body})
    models: list[tuple[Any, Any]] = [(_model(ref), "validation") for ref in refs]
    mapping, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    by_ref = {ref: mapping[(_model(ref), "validation")] for ref in refs}
    return defs.get("$defs", {}), by_ref


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _REASONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds until the key's bucket has a token again"
                if status == 429
                else "Seconds to wait before sending the same request again",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def _operation(route: RouteSpec, body_refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    statuses = set(route.errors)
    if route.scope is not None:
        statuses |= {401, 403, 429, 503}
    if route.body:
        statuses |= {400, 413, 415, 422}
    if route.path_params or route.query:
        statuses.add(422)
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "security": [] if route.scope is None else [{"bearer": []}],
        "responses": {
            str(route.status): {
                "description": "OK",
                "content": {
                    media: {"schema": {"type": "object" if media == JSON else "string"}}
                    for media in route.media_type
                },
            },
            **{str(status): _error(status) for status in sorted(statuses)},
        },
    }
    if route.accepted:
        operation["responses"]["202"] = {
            "description": route.accepted_description
            or "Accepted and dropped, not stored: the user opted out or was deleted",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if route.scope is not None:
        operation["x-required-scope"] = route.scope.value
        operation["description"] = f"Needs a key with the `{route.scope.value}` scope (or admin)."
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": route.path_schemas.get(name, IDENTIFIER_SCHEMA),
        }
        for name in route.path_params
    ]
    parameters += [
        {
            "name": param.name,
            "in": "query",
            "required": param.required,
            "description": param.description,
            "schema": param.schema,
        }
        for param in route.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        schemas = [body_refs[ref] for ref in route.body]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": schema}},
        }
    return operation


def build_document(routes: Iterable[RouteSpec]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``.

    Parameters
    ----------
    routes
        The operations to describe: the whole API's are ``api.routes`` of ``functions/app.py``
        (served, cached, by ``Api.openapi_document``).

    Returns
    -------
    dict
        A JSON-ready OpenAPI 3.1.0 document.
    """
    routes = list(routes)
    component_schemas, body_refs = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, body_refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "learnloop API",
            "version": __version__,
            "description": (
                "A self-hosted learning loop for engagement data. Send `Authorization: Bearer "
                "<key>`; keys have the scopes ingest, read and admin (admin may do everything). "
                'Every error is `{"error": {"code", "message", "details"}}`.'
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **dict(sorted(component_schemas.items()))},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
