"""The one place model features are derived from raw rows, shared by training and serving.

Serving imports this module, so it imports numpy and nothing heavier. A trained model's
manifest stores the feature names in order; they are :data:`ENGAGEMENT_FEATURES` and
:data:`FOLLOW_THROUGH_FEATURES`, and changing either means retraining.

Engagement rows (the ``content`` table's fields) become 12 features:

==========================  ==================================================================
``quality_score``           as given, 0-1
``content_type_<t>``        1.0 for each ``t`` of :data:`ENGAGEMENT_CONTENT_TYPES`; any other or
                            missing type is the ``other`` bucket: all four are 0 (the baseline)
``length_medium/long``      length bucket indicators; ``short`` is the baseline
``hour_sin/cos``            the hour on the 24-hour circle, so 23:00 is next to 00:00
``slot_morning/...``        the timing slot, 6-hour UTC blocks: night 0-5 (baseline),
                            morning 6-11, afternoon 12-17, evening 18-23
==========================  ==================================================================

Categories are dummy-coded against a baseline (the ``other``, ``short`` and ``night`` levels)
rather than one-hot with every level, so they are not collinear with the model's intercept and
each coefficient is the effect relative to the baseline.

The hour comes from ``posted_hour`` (0-23), or from ``posted_at`` (UTC) when that is missing;
the length from ``length``, or from ``text`` via :func:`length_bucket` when that is missing.

Follow-through rows become ``novelty_score`` (0-1), ``expertise_level`` (0-1) and
``viral_score_scaled`` (``viral_score`` 0-100, divided by 100).

Examples
--------
>>> X = engagement_matrix([
...     {"quality_score": 0.8, "content_type": "educational", "posted_hour": 6, "length": "long"}
... ])
>>> {name: round(v, 3) for name, v in zip(ENGAGEMENT_FEATURES, X[0].tolist())}
... # doctest: +NORMALIZE_WHITESPACE
{'quality_score': 0.8, 'content_type_educational': 1.0, 'content_type_factual': 0.0,
 'content_type_entertaining': 0.0, 'content_type_promotional': 0.0, 'length_medium': 0.0,
 'length_long': 1.0, 'hour_sin': 1.0, 'hour_cos': 0.0, 'slot_morning': 1.0,
 'slot_afternoon': 0.0, 'slot_evening': 0.0}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from learnloop.exceptions import ValidationError

ENGAGEMENT_CONTENT_TYPES: tuple[str, ...] = (
    "educational",
    "factual",
    "entertaining",
    "promotional",
)
"""Content types with their own indicator; every other type falls into the ``other`` bucket."""

OTHER_CONTENT_TYPE = "other"
LENGTHS: tuple[str, ...] = ("short", "medium", "long")
TIME_SLOTS: tuple[str, ...] = ("night", "morning", "afternoon", "evening")
"""6-hour UTC blocks starting at 0, 6, 12 and 18 h."""

ENGAGEMENT_FEATURES: tuple[str, ...] = (
    "quality_score",
    *(f"content_type_{t}" for t in ENGAGEMENT_CONTENT_TYPES),
    *(f"length_{b}" for b in LENGTHS[1:]),
    "hour_sin",
    "hour_cos",
    *(f"slot_{s}" for s in TIME_SLOTS[1:]),
)
FOLLOW_THROUGH_FEATURES: tuple[str, ...] = (
    "novelty_score",
    "expertise_level",
    "viral_score_scaled",
)

#: The dummy-coded categories of :data:`ENGAGEMENT_FEATURES`: category → (baseline level, its
#: indicator columns in order). A row's level is the column that is 1, or the baseline when
#: none is; drift checks compare these levels rather than each indicator on its own.
CATEGORICAL_FEATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "content_type": (
        OTHER_CONTENT_TYPE,
        tuple(f"content_type_{t}" for t in ENGAGEMENT_CONTENT_TYPES),
    ),
    "length": (LENGTHS[0], tuple(f"length_{b}" for b in LENGTHS[1:])),
    "slot": (TIME_SLOTS[0], tuple(f"slot_{s}" for s in TIME_SLOTS[1:])),
}

_SHORT_BELOW = 100
_MEDIUM_BELOW = 280
_MAX_DETAILS = 20


def length_bucket(text_len: int) -> str:
    """The length bucket of a text of ``text_len`` characters.

    Parameters
    ----------
    text_len : int
        Number of characters, >= 0.

    Returns
    -------
    str
        ``"short"`` below 100 characters, ``"medium"`` below 280, else ``"long"``.

    Raises
    ------
    ValidationError
        When ``text_len`` is not a non-negative integer.

    Examples
    --------
    >>> length_bucket(99), length_bucket(100), length_bucket(279), length_bucket(280)
    ('short', 'medium', 'medium', 'long')
    """
    if isinstance(text_len, bool) or not isinstance(text_len, numbers.Integral) or text_len < 0:
        raise ValidationError(
            f"text_len must be an integer >= 0, got {text_len!r}",
            details=[{"field": "text_len", "message": "must be an integer >= 0"}],
        )
    if text_len < _SHORT_BELOW:
        return "short"
    return "medium" if text_len < _MEDIUM_BELOW else "long"


def hour_of(posted_at: datetime | str) -> int:
    """The UTC hour (0-23) of a timestamp; naive datetimes and strings are taken as UTC.

    Parameters
    ----------
    posted_at : datetime or str
        A datetime, or an ISO-8601 string such as ``"2026-11-20T09:30:00Z"``.

    Returns
    -------
    int
        The hour in UTC.

    Raises
    ------
    ValidationError
        When ``posted_at`` is not a datetime or an ISO-8601 string.

    Examples
    --------
    >>> hour_of("2026-11-20T09:30:00.000000Z"), hour_of("2026-11-20T09:30:00+02:00")
    (9, 7)
    """
    ts: datetime | None = posted_at if isinstance(posted_at, datetime) else None
    if isinstance(posted_at, str):
        try:
            ts = datetime.fromisoformat(posted_at)
        except ValueError:
            ts = None
    if ts is None:
        raise ValidationError(
            "posted_at must be a datetime or an ISO-8601 string",
            details=[{"field": "posted_at", "message": "not a timestamp"}],
        )
    return (ts.astimezone(UTC) if ts.tzinfo is not None else ts).hour


def engagement_matrix(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The engagement model's features of ``rows``, in :data:`ENGAGEMENT_FEATURES` order.

    Parameters
    ----------
    rows : sequence of mapping
        Each with ``quality_score`` (0-1), ``content_type`` (str or None: ``other``),
        ``posted_hour`` (whole number 0-23; or ``posted_at``) and ``length``
        (short | medium | long; or ``text``).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(len(rows), len(ENGAGEMENT_FEATURES))``.

    Raises
    ------
    ValidationError
        On any missing or bad value; ``details`` has one entry per bad field, with the row
        ``index`` and ``field`` (``rows[3].quality_score``).

    Examples
    --------
    >>> engagement_matrix([{"quality_score": 0.5, "content_type": "meme", "posted_hour": 0,
    ...                     "text": "gm"}]).tolist()
    [[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]
    """
    out = np.zeros((len(rows), len(ENGAGEMENT_FEATURES)), dtype=np.float32)
    details: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        check = _RowCheck(row, i, details)
        if not check.is_mapping():
            continue
        quality = check.number("quality_score", 0.0, 1.0)
        content_type = check.content_type()
        length = check.length()
        hour = check.hour()
        if quality is not None:
            out[i, 0] = quality
        if content_type in ENGAGEMENT_CONTENT_TYPES:
            out[i, 1 + ENGAGEMENT_CONTENT_TYPES.index(content_type)] = 1.0
        base = 1 + len(ENGAGEMENT_CONTENT_TYPES)
        if length is not None and length != LENGTHS[0]:
            out[i, base + LENGTHS.index(length) - 1] = 1.0
        base += len(LENGTHS) - 1
        if hour is not None:
            angle = 2.0 * math.pi * hour / 24.0
            out[i, base] = math.sin(angle)
            out[i, base + 1] = math.cos(angle)
            slot = hour // 6
            if slot:
                out[i, base + 1 + slot] = 1.0
    _raise_if(details)
    return out


def follow_through_matrix(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The follow-through model's features of ``rows``, in :data:`FOLLOW_THROUGH_FEATURES` order.

    Parameters
    ----------
    rows : sequence of mapping
        Each with ``novelty_score`` (0-1), ``expertise_level`` (0-1) and ``viral_score``
        (0-100).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(len(rows), 3)``; the last column is ``viral_score / 100``.

    Raises
    ------
    ValidationError
        On any missing or bad value; ``details`` names the row ``index`` and ``field``.

    Examples
    --------
    >>> X = follow_through_matrix([{"novelty_score": 0.5, "expertise_level": 0.25,
    ...                             "viral_score": 40}])
    >>> X.dtype, [round(v, 3) for v in X[0].tolist()]
    (dtype('float32'), [0.5, 0.25, 0.4])
    """
    out = np.zeros((len(rows), len(FOLLOW_THROUGH_FEATURES)), dtype=np.float32)
    details: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        check = _RowCheck(row, i, details)
        if not check.is_mapping():
            continue
        values = (
            check.number("novelty_score", 0.0, 1.0),
            check.number("expertise_level", 0.0, 1.0),
            check.number("viral_score", 0.0, 100.0),
        )
        for j, (value, divisor) in enumerate(zip(values, (1.0, 1.0, 100.0), strict=True)):
            if value is not None:
                out[i, j] = value / divisor
    _raise_if(details)
    return out


class _RowCheck:
    """Reads one row's fields, appending a detail for each bad one."""

    def __init__(self, row: Any, index: int, details: list[dict[str, Any]]) -> None:
        self.row = row
        self.index = index
        self.details = details

    def fail(self, field: str, message: str) -> None:
        path = f"rows[{self.index}].{field}" if field else f"rows[{self.index}]"
        self.details.append({"field": path, "index": self.index, "message": message})

    def is_mapping(self) -> bool:
        if isinstance(self.row, Mapping):
            return True
        self.fail("", "not an object")
        return False

    def number(self, field: str, low: float, high: float) -> float | None:
        value = self.row.get(field)
        if value is None:
            self.fail(field, "missing")
            return None
        if not _is_number(value) or not math.isfinite(float(value)):
            self.fail(field, f"not a finite number: {value!r}")
            return None
        if not low <= float(value) <= high:
            self.fail(field, f"{value} is outside [{low:g}, {high:g}]")
            return None
        return float(value)

    def content_type(self) -> str | None:
        value = self.row.get("content_type")
        if value is None:
            return OTHER_CONTENT_TYPE
        if not isinstance(value, str):
            self.fail("content_type", f"not a string: {value!r}")
            return None
        value = value.strip().lower()
        return value if value in ENGAGEMENT_CONTENT_TYPES else OTHER_CONTENT_TYPE

    def length(self) -> str | None:
        value = self.row.get("length")
        if value is None:
            text = self.row.get("text")
            if isinstance(text, str):
                return length_bucket(len(text))
            self.fail("length", "missing (give length or text)")
            return None
        if value not in LENGTHS:
            self.fail("length", f"{value!r} is not one of {', '.join(LENGTHS)}")
            return None
        return str(value)

    def hour(self) -> int | None:
        value = self.row.get("posted_hour")
        if value is None:
            posted_at = self.row.get("posted_at")
            if posted_at is None:
                self.fail("posted_hour", "missing (give posted_hour or posted_at)")
                return None
            try:
                return hour_of(posted_at)
            except ValidationError:
                self.fail("posted_at", f"not a timestamp: {posted_at!r}")
                return None
        if not _is_number(value) or not float(value).is_integer() or not 0 <= float(value) <= 23:
            self.fail("posted_hour", f"not a whole hour 0-23: {value!r}")
            return None
        return int(value)


def _is_number(value: Any) -> bool:
    """A real number, not a bool (``True`` is an ``int`` but not a score)."""
    return isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool | np.bool_)


def _raise_if(details: list[dict[str, Any]]) -> None:
    if details:
        fields = ", ".join(d["field"] for d in details[:5])
        more = f" and {len(details) - 5} more" if len(details) > 5 else ""
        raise ValidationError(
            f"invalid feature rows: {fields}{more}", details=details[:_MAX_DETAILS]
        )
