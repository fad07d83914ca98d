"""The API's OpenAPI 3.1 document: a registry of routes and the builder that reads it."""

from __future__ import annotations

from learnloop.api.openapi.document import ERROR_SCHEMA, build_document, openapi_document
from learnloop.api.openapi.routes import ROUTES, QueryParam, RouteSpec, undocumented

__all__ = [
    "ERROR_SCHEMA",
    "ROUTES",
    "QueryParam",
    "RouteSpec",
    "build_document",
    "openapi_document",
    "undocumented",
]
