"""Validation shared by the batch routes and the bulk import: one row at a time, every bad
row and field collected.

A batch route refuses the whole request with one 422 naming every bad row (nothing stored,
as ``POST /v1/events``); a bulk import stores the good rows and reports the bad ones, by
line. Both go through :func:`validate_rows`, so there is one validator per kind.

Examples
--------
>>> from learnloop.ingest.schemas import ReactionIn
>>> good, bad = validate_rows(
...     [{"user_id": "u1", "content_type": "coin", "external_id": "BTC", "reaction": "like"},
...      {"user_id": "u1", "content_type": "coin", "external_id": "ETH", "reaction": "meh"}],
...     ReactionIn, field="reactions")
>>> [index for index, _ in good], [(d["index"], d["field"]) for d in bad]
([0], [(1, 'reactions[1].reaction')])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from learnloop.validation import error_details, invalid

T = TypeVar("T", bound=pydantic.BaseModel)

#: Rows one batch request may carry (as ``POST /v1/events``).
MAX_BATCH_ROWS = 500


def validate_rows(
    raw: Sequence[Any],
    model: type[T],
    *,
    field: str,
    context: Mapping[str, Any] | None = None,
) -> tuple[list[tuple[int, T]], list[dict[str, Any]]]:
    """Each row of ``raw`` validated by ``model``: ``(index, row)`` of the good ones and the
    422 details (``field`` like ``reactions[3].reaction``, with ``index``) of the bad ones."""
    good: list[tuple[int, T]] = []
    details: list[dict[str, Any]] = []
    ctx = dict(context or {})
    for index, item in enumerate(raw):
        try:
            good.append((index, model.model_validate(item, context=ctx)))
        except pydantic.ValidationError as exc:
            details.extend(error_details(exc, (field, index)))
    return good, details


def parse_batch(
    body: Any,
    model: type[T],
    *,
    field: str,
    max_rows: int = MAX_BATCH_ROWS,
    context: Mapping[str, Any] | None = None,
) -> list[T]:
    """``{field: [...]}`` with 1 to ``max_rows`` rows, all valid, or one 422 naming every bad
    row and field (and any unknown top-level field): nothing is stored.

    Raises
    ------
    ValidationError
        The body is not ``{field: [...]}``, holds too few or too many rows, or any row is bad.
    """
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        raise invalid(
            [{"field": field, "message": f"must be a list of {field}", "type": "list_type"}]
        )
    raw = body[field]
    details: list[dict[str, Any]] = [
        {"field": key, "message": "unknown field", "type": "extra_forbidden"}
        for key in sorted(set(body) - {field})
    ]
    if not 1 <= len(raw) <= max_rows:
        details.append(
            {
                "field": field,
                "message": f"must hold 1 to {max_rows} {field}, got {len(raw)}",
                "type": "too_long" if raw else "too_short",
            }
        )
        raise invalid(details)
    good, bad = validate_rows(raw, model, field=field, context=context)
    details.extend(bad)
    if details:
        raise invalid(details)
    return [row for _, row in good]


__all__ = ["MAX_BATCH_ROWS", "parse_batch", "validate_rows"]
