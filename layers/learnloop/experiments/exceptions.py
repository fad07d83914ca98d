"""The errors of experiments: each a 409 the caller can act on."""

from __future__ import annotations

from learnloop.exceptions import ConflictError


class VariantsLockedError(ConflictError):
    """The variants or weights of an experiment that has started cannot change (409):
    the users' buckets would move, and the results would mix two assignments."""

    code = "variants_locked"


class InvalidTransitionError(ConflictError):
    """A status change the lifecycle ``draft → running → stopped`` does not allow (409)."""

    code = "invalid_transition"


class ConcurrentUpdateError(ConflictError):
    """Another request changed the experiment between our read and our write (409: retry)."""

    code = "concurrent_update"


__all__ = ["ConcurrentUpdateError", "InvalidTransitionError", "VariantsLockedError"]
