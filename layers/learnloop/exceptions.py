"""Every error learnloop raises is a subclass of :class:`LearnloopError`.

Errors that reach an HTTP client carry their status and a stable ``code``; the API turns
them into ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class LearnloopError(Exception):
    """Base of every learnloop error."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_body(self) -> dict[str, Any]:
        """The JSON error envelope of the API."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigurationError(LearnloopError):
    """The environment or a config file is wrong; raised at start-up, not per request."""

    code = "configuration_error"


class ClientError(LearnloopError):
    """Base of errors caused by the caller's input (4xx)."""

    status = 400
    code = "bad_request"


class BadRequestError(ClientError):
    status = 400
    code = "bad_request"


class UnauthorizedError(ClientError):
    status = 401
    code = "unauthorized"


class ForbiddenError(ClientError):
    status = 403
    code = "forbidden"


class NotFoundError(ClientError):
    status = 404
    code = "not_found"


class MethodNotAllowedError(ClientError):
    status = 405
    code = "method_not_allowed"


class ConflictError(ClientError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(ClientError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ClientError):
    status = 415
    code = "unsupported_media_type"


class ValidationError(ClientError):
    """The body parsed but broke the schema; ``details`` names every field."""

    status = 422
    code = "validation_error"


class RateLimitedError(ClientError):
    """Too many requests for this key; ``retry_after`` (seconds) becomes ``Retry-After``."""

    status = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int = 1,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class StoreError(LearnloopError):
    """DynamoDB or S3 failed in a way a retry did not fix."""

    code = "store_error"


class RollupError(LearnloopError):
    """A rollup was given impossible input (a negative count, a percentile outside [0, 100])."""

    code = "rollup_error"


class SimulationError(LearnloopError):
    """The demo's simulated world was configured or used impossibly (an unknown arm, an
    unreachable success probability, no simulated days to summarize)."""

    code = "simulation_error"


class NotFittedError(LearnloopError):
    """A model or bandit was asked to predict or export before it was fitted."""

    code = "not_fitted"


class InsufficientDataError(LearnloopError):
    """Too few rows (or a single class) to train a model; the job skips training and says why."""

    code = "insufficient_data"

    def __init__(
        self,
        message: str,
        *,
        n_rows: int | None = None,
        min_rows: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.n_rows = n_rows
        self.min_rows = min_rows


class NoProductionModelError(ConflictError):
    """A prediction was asked of a model that has no production version yet (409)."""

    code = "no_production_model"


class ModelLoadError(LearnloopError):
    """A model version's bytes could not be read or loaded (corrupt ONNX, S3 failure), or the
    model does not take the features this server builds; serving keeps its last good model."""

    code = "model_load_error"
