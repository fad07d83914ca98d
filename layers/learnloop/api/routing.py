"""Declare the API's routes and adapt library functions to them: auth, limits, JSON, errors.

A route in ``functions/app.py`` is one declaration: what it serves and what its documentation
says, both from the same :class:`~learnloop.api.route_spec.RouteSpec`::

    @api.route("PUT", "/v1/reactions", scope=Scope.INGEST, summary="Upsert a like or dislike",
               tag="ingest", body="learnloop.ingest.schemas:ReactionIn", accepted=True)
    def put_reaction(call: Call) -> Response:
        ...
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
from learnloop.api.openapi.document import build_document
from learnloop.api.responses import (
    error_response,
    internal_error_response,
    json_response,
    store_unavailable_response,
)
from learnloop.api.route_spec import QueryParam, RouteSpec
from learnloop.api.services import Services, get_services
from learnloop.exceptions import BadRequestError, LearnloopError, PayloadTooLargeError
from learnloop.observability import logger
from learnloop.settings import Settings
from learnloop.store.faults import RETRY_AFTER_SECONDS, is_store_fault
from learnloop.store.tables import Tables
from learnloop.validation import loads_storable

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
            return loads_storable(text)
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
    """The routes of one Chalice app, each declared once, and the wrapper every view runs in.

    Parameters
    ----------
    app
        The Chalice app the routes are added to and whose ``current_request`` the views read.
    services
        Returns the container's services (default: built from the environment on first use).

    Examples
    --------
    >>> from chalice import Chalice
    >>> api = Api(Chalice(app_name="example"))
    >>> @api.route("GET", "/v1/health", scope=None, summary="Liveness", tag="meta")
    ... def health(call: Call) -> dict[str, str]:
    ...     return {"status": "ok"}
    >>> [(spec.method, spec.path) for spec in api.routes], health.learnloop_scope
    ([('GET', '/v1/health')], None)
    >>> sorted(api.openapi_document()["paths"])
    ['/v1/health']
    """

    def __init__(self, app: Chalice, services: Callable[[], Services] = get_services) -> None:
        self.app = app
        self._services = services
        self._routes: list[RouteSpec] = []
        self._document: dict[str, Any] | None = None

    @property
    def routes(self) -> tuple[RouteSpec, ...]:
        """Every route declared with :meth:`route`, in declaration order."""
        return tuple(self._routes)

    def services(self) -> Services:
        """The container's services: what the app's schedules and triggers hand their jobs."""
        return self._services()

    def openapi_document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of :attr:`routes`, built once per container."""
        if self._document is None:
            self._document = build_document(self._routes)
        return self._document

    def route(
        self,
        method: str,
        path: str,
        *,
        scope: Scope | None,
        summary: str,
        tag: str,
        body: str | tuple[str, ...] = (),
        body_required: bool = True,
        query: tuple[QueryParam, ...] = (),
        path_schemas: Mapping[str, dict[str, Any]] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        media_type: str | tuple[str, ...] = "application/json",
        accepted: bool = False,
        accepted_description: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
        """Declare a route: serve a view taking ``(call, **path_params)`` and document it.

        The arguments are :class:`~learnloop.api.route_spec.RouteSpec`'s (``body`` may be one
        ``"module:Class"`` name). ``scope=None`` makes the route public. A view's return value
        is sent as JSON with ``status`` unless it is a :class:`Response`; errors become the
        API's error envelope.
        """
        spec = RouteSpec(
            method=method,
            path=path,
            scope=scope,
            summary=summary,
            tag=tag,
            body=(body,) if isinstance(body, str) else body,
            body_required=body_required,
            query=query,
            path_schemas=dict(path_schemas or {}),
            status=status,
            errors=errors,
            media_type=(media_type,) if isinstance(media_type, str) else media_type,
            accepted=accepted,
            accepted_description=accepted_description,
        )

        def declare(view: Callable[..., Any]) -> Callable[..., Response]:
            handler = self._wrap(view, spec)
            self.app.route(path, methods=[method])(handler)  # raises on a duplicate route
            self._routes.append(spec)
            self._document = None  # a route declared after the first build is not left out
            return handler

        return declare

    def _wrap(self, view: Callable[..., Any], spec: RouteSpec) -> Callable[..., Response]:
        @functools.wraps(view)
        def handler(**path: str) -> Response:
            try:
                call = self._call(spec.scope)
                result = view(call, **path)
            except LearnloopError as exc:
                if exc.status >= 500:
                    if is_store_fault(exc):  # throttled or down: worth a retry, not a bug
                        logger.warning("store fault", exc_info=True)
                        return store_unavailable_response(RETRY_AFTER_SECONDS)
                    logger.exception("request failed")
                    return internal_error_response()
                return error_response(exc)
            except Exception as exc:
                if is_store_fault(exc):
                    logger.warning("store fault", exc_info=True)
                    return store_unavailable_response(RETRY_AFTER_SECONDS)
                raise
            if isinstance(result, Response):
                return result
            return json_response(result, spec.status)

        # Deployment groups routes into Lambda functions by the scope they need.
        handler.learnloop_scope = spec.scope  # type: ignore[attr-defined]
        return handler

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
