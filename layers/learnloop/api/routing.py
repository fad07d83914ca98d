"""Adapt library functions to Chalice routes: auth, limits, JSON parsing and errors in one place.

A route in ``functions/app.py`` stays a declaration::

    @app.route("/v1/reactions", methods=["PUT"])
    @api.endpoint(scope=Scope.INGEST)
    def put_reaction(call: Call) -> dict:
        return ingest.put_reaction(call.tables, call.json())
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice import Chalice
from chalice.app import Request, Response

from learnloop.api.auth.keys import Principal, Scope
from learnloop.api.responses import error_response, internal_error_response, json_response
from learnloop.api.services import Services, get_services
from learnloop.exceptions import BadRequestError, LearnloopError, PayloadTooLargeError
from learnloop.observability import logger
from learnloop.settings import Settings
from learnloop.store.tables import Tables

#: Deeper JSON than this is refused before parsing (a cheap guard against stack exhaustion).
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class Call:
    """One authenticated request, as a view function sees it."""

    request: Request
    principal: Principal | None
    services: Services

    @property
    def tables(self) -> Tables:
        return self.services.tables

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params or {}

    @property
    def actor(self) -> str:
        """Who is calling, for audit trails: the API key's name and prefix."""
        if self.principal is None:
            return "anonymous"
        return f"{self.principal.name} ({self.principal.prefix})"

    def json_or_none(self) -> Any:
        """The parsed body, or ``None`` when the request has none."""
        raw = self.request.raw_body or b""
        return self.json() if raw.strip() else None

    def json(self) -> Any:
        """The body parsed as JSON; :class:`BadRequestError` when it is not JSON or not UTF-8."""
        raw = self.request.raw_body or b""
        if isinstance(raw, str):  # Chalice types it loosely; it is bytes at run time
            raw = raw.encode("utf-8")
        if not raw.strip():
            raise BadRequestError("the request body is empty; send a JSON object")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError("the request body is not valid UTF-8") from None
        if _nesting_depth(text) > MAX_JSON_DEPTH:
            raise BadRequestError(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequestError(
                f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}"
            ) from None


def _nesting_depth(text: str) -> int:
    # Counts brackets outside strings; linear and allocation-free.
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class Api:
    """Wraps view functions of one Chalice app.

    Parameters
    ----------
    app
        The Chalice app whose ``current_request`` the views read.
    services
        Returns the container's services (default: built from the environment on first use).
    """

    def __init__(self, app: Chalice, services: Callable[[], Services] = get_services) -> None:
        self.app = app
        self._services = services

    def services(self) -> Services:
        """The container's services: what the app's schedules and triggers hand their jobs."""
        return self._services()

    def endpoint(
        self, *, scope: Scope | None, status: int = 200
    ) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
        """Decorate a view taking ``(call, **path_params)`` and returning a JSON-able body.

        ``scope=None`` makes the route public. Errors become the API's error envelope.
        """

        def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
            @functools.wraps(view)
            def handler(**path: str) -> Response:
                try:
                    call = self._call(scope)
                    result = view(call, **path)
                except LearnloopError as exc:
                    if exc.status >= 500:
                        logger.exception("request failed")
                        return internal_error_response()
                    return error_response(exc)
                if isinstance(result, Response):
                    return result
                return json_response(result, status)

            # Deployment groups routes into Lambda functions by the scope they need.
            handler.learnloop_scope = scope  # type: ignore[attr-defined]
            return handler

        return decorate

    def _call(self, scope: Scope | None) -> Call:
        request = self.app.current_request
        assert request is not None  # Chalice sets it before any view runs
        services = self._services()
        principal = None
        if scope is not None:
            principal = services.authenticator.authorize(
                request.headers.get("authorization"), scope
            )
            # One token per request from this key's bucket for the scope (429 when empty).
            services.rate_limiter.acquire(principal.key_hash, scope.value)
        size = len(request.raw_body or b"")
        if size > services.settings.max_body_bytes:
            raise PayloadTooLargeError(
                f"the body is {size} bytes; the limit is {services.settings.max_body_bytes}",
                details=[{"field": "body", "message": "too large"}],
            )
        return Call(request=request, principal=principal, services=services)
