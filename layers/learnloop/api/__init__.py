"""The HTTP API's plumbing: routing adapter, error envelope, per-container services."""

from __future__ import annotations

from learnloop.api.responses import error_envelope_middleware, json_response
from learnloop.api.routing import Api, Call
from learnloop.api.services import Services, get_services, set_services

__all__ = [
    "Api",
    "Call",
    "Services",
    "error_envelope_middleware",
    "get_services",
    "json_response",
    "set_services",
]
