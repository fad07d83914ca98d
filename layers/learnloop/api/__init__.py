"""The HTTP API's plumbing: route declarations, error envelope, per-container services."""

from __future__ import annotations

from learnloop.api.responses import error_envelope_middleware, json_response
from learnloop.api.route_spec import DATE_SCHEMA, IDENTIFIER_SCHEMA, QueryParam, RouteSpec
from learnloop.api.routing import Api, Call
from learnloop.api.services import Services, get_services, set_services

__all__ = [
    "DATE_SCHEMA",
    "IDENTIFIER_SCHEMA",
    "Api",
    "Call",
    "QueryParam",
    "RouteSpec",
    "Services",
    "error_envelope_middleware",
    "get_services",
    "json_response",
    "set_services",
]
