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

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from learnloop.clock import as_utc, utcnow
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


#: No timestamp the API takes predates this (nor follows ``LATEST``): outside, a time is a
#: client bug, and year-1 or year-9999 times with an offset overflow ``datetime`` arithmetic.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: How far back an event-like time (a reaction, an event, feedback) may be, unless the
#: validation context's ``max_age_days`` (``LEARNLOOP_MAX_EVENT_AGE_DAYS``) says otherwise.
DEFAULT_MAX_AGE_DAYS = 3650
#: How far ahead of the server's clock a client's time may be (clock skew).
MAX_FUTURE_SKEW = timedelta(days=1)


def _utc(value: datetime) -> datetime:
    try:
        utc = as_utc(value)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00
        raise ValueError("must be a time between 1970 and 9000") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("must be a time between 1970 and 9000")
    return utc


def plausible_time(value: datetime | None, info: ValidationInfo) -> datetime | None:
    """``value`` unless it is more than a day ahead of, or too long before, the context's now.

    Use as ``field_validator("occurred_at")(plausible_time)`` on when-it-happened fields; the
    context's ``now`` (default: the clock) and ``max_age_days`` (default
    :data:`DEFAULT_MAX_AGE_DAYS`) set the window.

    Examples
    --------
    >>> from pydantic import field_validator
    >>> class Seen(Strict):
    ...     at: UtcDatetime
    ...     _bound = field_validator("at")(plausible_time)
    >>> now = datetime(2026, 12, 1, tzinfo=UTC)
    >>> try:
    ...     validate(Seen, {"at": "1990-01-01T00:00:00Z"}, context={"now": now})
    ... except ValidationError as exc:
    ...     exc.details[0]["message"]
    'Value error, must not be more than 3650 days old'
    """
    if value is None:
        return value
    context = info.context or {}
    now = context.get("now") or utcnow()
    max_age_days = context.get("max_age_days") or DEFAULT_MAX_AGE_DAYS
    if value > now + MAX_FUTURE_SKEW:
        raise ValueError("must not be more than 1 day in the future")
    if value < now - timedelta(days=max_age_days):
        raise ValueError(f"must not be more than {max_age_days} days old")
    return value


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


#: DynamoDB numbers keep 38 significant digits; a longer integer would be rounded or refused
#: on write, and past 4,300 digits Python's own ``int()`` refuses it (a ``ValueError``).
MAX_INTEGER_DIGITS = 38
#: DynamoDB stores magnitudes under 1e126: a larger number is refused at the door (its write
#: would fail). One too small to store (under 1e-130) is zero for every purpose here, and is
#: read as zero in any field (:func:`learnloop.validation.storable`), as typed scores were.
MAX_MAGNITUDE = 1e126


class _Unstorable:
    """A number JSON can carry but we cannot store faithfully: NaN, ±Infinity, 1e400, 10**50.

    The parser keeps it in place so the 422 can name the field it sits in.
    """

    def __init__(self, literal: str) -> None:
        self.literal = literal

    @property
    def message(self) -> str:
        shown = self.literal if len(self.literal) <= 20 else f"{self.literal[:12]}... "
        return (
            f"must be a finite number of at most {MAX_INTEGER_DIGITS} digits and of magnitude "
            f"under {MAX_MAGNITUDE:g}, got {shown}"
            if self.literal not in ("NaN", "Infinity", "-Infinity")
            else f"must be a finite number, got {self.literal}"
        )


def _parse_int(literal: str) -> int | _Unstorable:
    digits = len(literal) - literal.startswith("-")
    return _Unstorable(literal) if digits > MAX_INTEGER_DIGITS else int(literal)


def _parse_float(literal: str) -> float | _Unstorable:
    value = float(literal)  # never raises: an overlong exponent is inf or 0.0
    if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
        return _Unstorable(literal)
    return storable(value)


def _unstorable_paths(
    value: Any, loc: tuple[int | str, ...]
) -> Iterator[tuple[tuple[int | str, ...], _Unstorable]]:
    if isinstance(value, _Unstorable):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable_paths(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, (*loc, index))


def loads_storable(text: str) -> Any:
    """``text`` parsed as JSON, refusing numbers DynamoDB cannot store faithfully.

    What every route's body and every imported line go through: NaN, ±Infinity, integers
    over 38 digits and magnitudes of 1e126 or more are a 422 naming their field; numbers too
    small to store read as zero.

    Raises
    ------
    json.JSONDecodeError
        ``text`` is not JSON.
    ValidationError
        Naming every unstorable number's field.

    Examples
    --------
    >>> loads_storable('{"a": 1.5, "b": 1e-200}')
    {'a': 1.5, 'b': 0.0}
    >>> try:
    ...     loads_storable('{"p": {"x": NaN}}')
    ... except ValidationError as exc:
    ...     exc.details[0]["field"]
    'p.x'
    """
    found: list[_Unstorable] = []

    def noted(value: Any) -> Any:
        if isinstance(value, _Unstorable):
            found.append(value)
        return value

    parsed = json.loads(
        text,
        parse_int=lambda literal: noted(_parse_int(literal)),
        parse_float=lambda literal: noted(_parse_float(literal)),
        parse_constant=lambda literal: noted(_Unstorable(literal)),
    )
    # Walking the parsed value to name the fields costs more than parsing: only when needed.
    bad = list(_unstorable_paths(parsed, ())) if found else []
    if bad:
        raise invalid(
            [
                {"field": field_path(loc), "message": value.message, "type": "number_range"}
                for loc, value in bad
            ]
        )
    return parsed
