"""Typed errors of :mod:`learnloop.client`: one class per kind of answer a caller handles.

The API answers every error as ``{"error": {"code", "message", "details"}}``; a 422's details
name the fields (``{"field": "events[0].user_id", "message": "..."}``). :func:`error_for`
turns an answer into the matching class, so callers catch what they can act on.

Examples
--------
>>> error = error_for("PUT", "/v1/reactions", 422, {"error": {
...     "code": "validation_error", "message": "invalid body",
...     "details": [{"field": "reaction", "message": "must be like or dislike"}]}})
>>> type(error).__name__, error.fields
('RequestValidationError', ['reaction'])
>>> str(error)
'PUT /v1/reactions answered 422 validation_error: invalid body (reaction: must be like or dislike)'
"""

from __future__ import annotations

from typing import Any

from learnloop.exceptions import LearnloopError


class ClientError(LearnloopError):
    """Base of every error :mod:`learnloop.client` raises."""


class ApiError(ClientError):
    """The API answered with an error status.

    Attributes
    ----------
    method, path
        The request.
    status
        The HTTP status.
    code
        The envelope's stable code (``validation_error``, ``rate_limited``, ...).
    details
        The envelope's details: for a 422, one ``{"field", "message"}`` per bad field.
    body
        The whole decoded answer (``None`` when it was empty).
    retry_after
        Seconds the server asked to wait (``Retry-After``), if it said.
    offset
        For a batched upload: how many rows before this request's first row (the details'
        indices count from that row).
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        *,
        retry_after: float | None = None,
    ) -> None:
        envelope = body.get("error") if isinstance(body, dict) else None
        envelope = envelope if isinstance(envelope, dict) else {}
        code = str(envelope.get("code") or f"http_{status}")
        message = str(envelope.get("message") or body or "")
        details = envelope.get("details")
        details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        named = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details if "field" in d)
        text = f"{method} {path} answered {status} {code}: {message}" + (
            f" ({named})" if named else ""
        )
        super().__init__(text, details=details)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.body = body
        self.retry_after = retry_after
        self.offset = 0

    @property
    def fields(self) -> list[str]:
        """The fields the details name, in order (a 422's bad fields)."""
        return [str(d["field"]) for d in self.details if "field" in d]


class BadRequestError(ApiError):
    """400, 405, 413, 415: the request was malformed (not a field's value)."""


class RequestValidationError(ApiError):
    """422: a field's value was refused; :attr:`~ApiError.fields` names each one."""


class AuthError(ApiError):
    """401 or 403: no key, a revoked key, or a key without the route's scope."""


class NotFoundError(ApiError):
    """404: the route or the thing it names does not exist."""


class ConflictError(ApiError):
    """409: the state does not allow it (no production model, a job already running, ...)."""


class RateLimitedError(ApiError):
    """429 after every retry: the key's rate limit."""


class ServerError(ApiError):
    """5xx after every retry (503: the store stayed busy; 500: a bug on the server)."""


class TransportError(ClientError):
    """No answer: the connection failed or timed out after every retry.

    ``maybe_applied`` is true when the request may have reached the server before the failure
    (a non-idempotent request is never resent in that case, so the caller decides).
    """

    def __init__(self, message: str, *, maybe_applied: bool) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: RequestValidationError,
    429: RateLimitedError,
}


def error_for(
    method: str, path: str, status: int, body: Any, *, retry_after: float | None = None
) -> ApiError:
    """The typed error for an error answer.

    Examples
    --------
    >>> type(error_for("GET", "/v1/x", 503, None)).__name__
    'ServerError'
    >>> error_for("GET", "/v1/x", 418, "teapot").code
    'http_418'
    """
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else BadRequestError
    return cls(method, path, status, body, retry_after=retry_after)


__all__ = [
    "ApiError",
    "AuthError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "NotFoundError",
    "RateLimitedError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
    "error_for",
]
