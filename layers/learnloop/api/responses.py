"""JSON responses and the one error envelope of the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from learnloop.exceptions import (
    BadRequestError,
    ClientError,
    LearnloopError,
    MethodNotAllowedError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from learnloop.observability import logger
from learnloop.store.faults import RETRY_AFTER_SECONDS, is_store_fault

JSON_HEADERS = {"Content-Type": "application/json"}

#: Chalice's own error codes (it answers 405/415 before any view runs) → ours.
_CHALICE_ERRORS: dict[str, type[ClientError]] = {
    "MethodNotAllowedError": MethodNotAllowedError,
    "UnsupportedMediaType": UnsupportedMediaTypeError,
    "BadRequest": BadRequestError,
    "BadRequestError": BadRequestError,
    "NotFoundError": NotFoundError,
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(error: LearnloopError) -> Response:
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json_response(error.to_body(), error.status, headers)


def internal_error_response() -> Response:
    body = {"error": {"code": "internal_error", "message": "internal error", "details": []}}
    return json_response(body, 500)


def store_unavailable_response(retry_after: int = 1) -> Response:
    """503 with ``Retry-After``: the store was throttled, failed or unreachable; nothing the
    client sent was wrong, and the same request may simply be sent again (every write is
    idempotent)."""
    body = {
        "error": {
            "code": "store_unavailable",
            "message": "the data store is busy or unavailable; retry after the Retry-After delay",
            "details": [],
        }
    }
    return json_response(body, 503, {"Retry-After": str(retry_after)})


def error_envelope_middleware(
    event: Request, get_response: Callable[[Request], Response]
) -> Response:
    """Chalice ``http`` middleware: every error leaves in the API's envelope, never a bare 500."""
    try:
        response = get_response(event)
    except Exception as exc:
        if is_store_fault(exc):
            logger.warning("store fault", exc_info=True)
            return store_unavailable_response(RETRY_AFTER_SECONDS)
        logger.exception("unhandled error")
        return internal_error_response()
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        error_cls = _CHALICE_ERRORS.get(str(body["Code"]))
        if error_cls is not None:
            error = error_cls(str(body.get("Message", "")))
            converted = error_response(error)
            converted.headers.update({k: v for k, v in response.headers.items() if k == "Allow"})
            return converted
        if response.status_code >= 500:
            return internal_error_response()
    return response
