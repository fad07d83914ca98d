"""The OpenAPI document: one entry per route of the app, valid 3.1, served open."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate
from support.api import call

from learnloop.api.openapi import ROUTES, build_document, undocumented


def test_every_route_of_the_app_is_documented_and_nothing_else(app_module: Any) -> None:
    missing, stale = undocumented(app_module.app.routes)
    assert missing == set(), f"routes without an OpenAPI entry (add a RouteSpec): {missing}"
    assert stale == set(), f"OpenAPI entries with no route: {stale}"
    document = build_document()
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    served = {(m, p) for p, methods in app_module.app.routes.items() for m in methods}
    assert documented == served


def test_a_route_left_out_of_the_registry_is_reported(app_module: Any) -> None:
    missing, _ = undocumented(app_module.app.routes, ROUTES[1:])
    assert missing == {(ROUTES[0].method, ROUTES[0].path)}


def test_the_document_is_valid_openapi_3_1_with_the_request_models() -> None:
    document = build_document()
    validate(document)  # raises on an invalid document
    assert document["openapi"] == "3.1.0"
    events = document["paths"]["/v1/events"]["post"]
    schema_ref = events["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    events_schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert events_schema["properties"]["events"]["maxItems"] == 500
    assert events_schema["additionalProperties"] is False
    assert events["security"] == [{"bearer": []}]
    assert events["responses"]["429"]["headers"]["Retry-After"]
    error_ref = events["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref == "#/components/schemas/Error"
    outcomes = document["paths"]["/v1/outcomes"]["post"]["requestBody"]["content"]
    assert len(outcomes["application/json"]["schema"]["anyOf"]) == 2
    assert document["paths"]["/v1/health"]["get"]["security"] == []
    params = document["paths"]["/v1/reactions/{user_id}/{content_type}/{external_id}"]["delete"]
    assert [p["name"] for p in params["parameters"]] == ["user_id", "content_type", "external_id"]


def test_every_operation_names_its_scope_and_errors_use_the_shared_schema() -> None:
    document = build_document()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        if route.scope is None:
            assert "401" not in operation["responses"]
            continue
        assert operation["x-required-scope"] == route.scope.value
        for status in ("401", "403", "429"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}


def test_openapi_json_is_served_without_a_key(client: Any) -> None:
    response = call(client, "GET", "/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == build_document()
