"""Request validation shared by every route: the base body model, common field types, and
pydantic errors turned into the API's 422 details (one entry per bad field, with its path).

Examples
--------
>>> field_path(("events", 3, "properties", "price"))
'events[3].properties.price'
>>> class FeedbackIn(Strict):
...     user_id: Identifier
...     helpful: bool
>>> try:
...     validate(FeedbackIn, {"user_id": "u1"})
... except ValidationError as exc:
...     exc.details[0]["field"]
'helpful'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

from learnloop.clock import as_utc
from learnloop.exceptions import ValidationError

#: Ids are opaque to us but never contain '/', whitespace or control characters, so they are
#: safe in keys, paths and exports.
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*$"),
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
#: DynamoDB numbers stop at a magnitude of 1e-130 (it refuses smaller ones); a score that
#: small is zero for every purpose here, so it is stored as zero rather than failing the write.
_TINIEST_STORED = 1e-100


def storable(value: float) -> float:
    """``value``, or ``0.0`` when DynamoDB could not store its magnitude.

    Examples
    --------
    >>> storable(5e-324), storable(0.25)
    (0.0, 0.25)
    """
    return 0.0 if abs(value) < _TINIEST_STORED else value


Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), AfterValidator(storable)]
Count = Annotated[int, Field(ge=0, le=10**12)]


def _utc(value: datetime) -> datetime:
    return as_utc(value)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class Strict(pydantic.BaseModel):
    """Unknown fields are errors: a typo should not silently drop data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
