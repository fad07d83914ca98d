"""Turn pydantic errors into the API's 422 details: one entry per bad field, with its path.

Examples
--------
>>> field_path(("events", 3, "properties", "price"))
'events[3].properties.price'
>>> from learnloop.ingest.schemas import FeedbackIn
>>> try:
...     validate(FeedbackIn, {"user_id": "u1"})
... except ValidationError as exc:
...     exc.details[0]["field"]
'helpful'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from learnloop.exceptions import ValidationError

T = TypeVar("T", bound=pydantic.BaseModel)


def field_path(loc: Sequence[int | str]) -> str:
    """``("events", 3, "price")`` → ``"events[3].price"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def error_details(
    exc: pydantic.ValidationError, prefix: Sequence[int | str] = ()
) -> list[dict[str, Any]]:
    """One ``{"field", "message", "type"}`` per error (plus ``index`` inside a batch)."""
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = (*prefix, *error["loc"])
        detail: dict[str, Any] = {
            "field": field_path(loc),
            "message": error["msg"],
            "type": error["type"],
        }
        if len(loc) >= 2 and isinstance(loc[1], int):
            detail["index"] = loc[1]
        details.append(detail)
    return details


def validate(
    model: type[T],
    data: Any,
    *,
    context: Mapping[str, Any] | None = None,
    prefix: Sequence[int | str] = (),
) -> T:
    """``model`` validated from ``data``, or :class:`ValidationError` naming every bad field."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except pydantic.ValidationError as exc:
        raise invalid(error_details(exc, prefix)) from None


def invalid(details: list[dict[str, Any]]) -> ValidationError:
    """The 422 error for ``details``, with a message that names the first bad fields."""
    fields = ", ".join(dict.fromkeys(d["field"] for d in details[:5]))
    more = f" and {len(details) - 5} more" if len(details) > 5 else ""
    return ValidationError(f"invalid fields: {fields}{more}", details=details)
