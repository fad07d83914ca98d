"""The OpenAPI document: built from the app's one declaration per route, valid 3.1, served open."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice import Chalice
from openapi_spec_validator import validate
from support.api import call

from learnloop.api import Api, Call
from learnloop.api.openapi import build_document
from learnloop.api.route_spec import undeclared


def test_every_route_of_the_app_is_declared_once_and_documented(app_module: Any) -> None:
    routes = app_module.api.routes
    missing = undeclared(app_module.app.routes, routes)
    assert missing == set(), f"routes added without api.route (undocumented): {missing}"
    declared = [(route.method, route.path) for route in routes]
    assert len(declared) == len(set(declared))
    served = {(m, p) for p, methods in app_module.app.routes.items() for m in methods}
    assert set(declared) == served
    document = app_module.api.openapi_document()
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    assert documented == served
    # Deployment reads the scope off the view; it is the declared one.
    for route in routes:
        view = app_module.app.routes[route.path][route.method].view_function
        assert view.learnloop_scope == route.scope, (route.method, route.path)


def test_a_route_added_with_plain_app_route_is_caught() -> None:
    app = Chalice(app_name="undeclared")
    api = Api(app)

    @api.route("GET", "/v1/health", scope=None, summary="Liveness", tag="meta")
    def health(call: Call) -> dict[str, Any]:
        return {}

    @app.route("/v1/sneaky", methods=["POST"])
    def sneaky() -> dict[str, Any]:
        return {}

    assert undeclared(app.routes, api.routes) == {("POST", "/v1/sneaky")}
    assert list(api.openapi_document()["paths"]) == ["/v1/health"]


def test_a_route_declared_twice_is_refused_and_registered_once() -> None:
    api = Api(Chalice(app_name="twice"))
    declare = api.route("GET", "/v1/health", scope=None, summary="Liveness", tag="meta")
    declare(lambda call: {})
    with pytest.raises(ValueError, match="Duplicate"):
        declare(lambda call: {})
    assert len(api.routes) == 1


def test_a_route_declared_after_the_document_was_built_is_in_it() -> None:
    api = Api(Chalice(app_name="late"))
    api.route("GET", "/v1/health", scope=None, summary="Liveness", tag="meta")(lambda call: {})
    assert list(api.openapi_document()["paths"]) == ["/v1/health"]
    api.route("GET", "/v1/late", scope=None, summary="Late", tag="meta")(lambda call: {})
    assert list(api.openapi_document()["paths"]) == ["/v1/health", "/v1/late"]


def test_the_document_is_valid_openapi_3_1_with_the_request_models(app_module: Any) -> None:
    document = build_document(app_module.api.routes)
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


def test_every_operation_names_its_scope_and_errors_use_the_shared_schema(
    app_module: Any,
) -> None:
    document = build_document(app_module.api.routes)
    for route in app_module.api.routes:
        operation = document["paths"][route.path][route.method.lower()]
        if route.scope is None:
            assert "401" not in operation["responses"]
            continue
        assert operation["x-required-scope"] == route.scope.value
        for status in ("401", "403", "429"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}


def test_openapi_json_is_served_without_a_key(client: Any, app_module: Any) -> None:
    response = call(client, "GET", "/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == build_document(app_module.api.routes)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/admin/export", {"kind": "reactions", "from": "2026-11-20", "format": "csv"}),
        ("/v1/admin/export", {"kind": "reactions", "from": "2026-11-20"}),
        ("/admin/assets/{name}", {"name": "dashboard.js"}),
        ("/admin/assets/{name}", {"name": "dashboard.css"}),
    ],
)
def test_non_json_answers_carry_a_documented_media_type(
    client: Any, app_module: Any, keys: dict, path: str, query: dict[str, str]
) -> None:
    from urllib.parse import urlencode

    documented = build_document(app_module.api.routes)["paths"][path]["get"]["responses"]["200"]
    url = path.format(**query) if "{" in path else f"{path}?{urlencode(query)}"
    response = call(client, "GET", url, key=keys["admin"] if "{" not in path else None)
    assert response.status_code == 200, response.body
    media = response.headers["Content-Type"].split(";")[0].strip()
    assert media in documented["content"]
