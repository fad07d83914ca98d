"""``GET /v1/admin/stats?from&to``: the ``daily_stats`` items of a date range, by key.

Every date of the range is one key of a BatchGetItem (never a Scan); a day not rolled up yet
comes back as ``"stats": null``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from learnloop.clock import utcnow
from learnloop.store.queries import batch_get, days_between
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

#: The longest range one request may read (a year, leap day included).
MAX_RANGE_DAYS = 366
#: The range when ``from`` is left out: this many days up to ``to``.
DEFAULT_RANGE_DAYS = 30
# Dates outside these bounds are typos; bounding them also keeps date arithmetic in range.
_FIRST = date(2000, 1, 1)
_LAST = date(2100, 12, 31)
Day = Annotated[date, Field(ge=_FIRST, le=_LAST)]


class StatsRangeIn(Strict):
    """The query of ``GET /v1/admin/stats``: ``from`` and ``to`` as ``YYYY-MM-DD``, inclusive."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None


def daily_stats(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """The rollups of ``from``..``to`` (default: the 30 days up to today, UTC) and their sums.

    Parameters
    ----------
    tables
        The stage's tables.
    query
        The request's query parameters: ``from`` and ``to`` (``YYYY-MM-DD``), both optional.
    today
        "Today" for the default range (default: the current UTC date).

    Returns
    -------
    dict
        ``{"from", "to", "days": [{"date", "stats"}], "totals": {"events_by_type",
        "reactions_by_content_type", "days_with_stats"}}``, days oldest first.

    Raises
    ------
    ValidationError
        A date that is not ``YYYY-MM-DD`` (or outside 2000-2100), ``from`` after ``to``, or a
        range over :data:`MAX_RANGE_DAYS` days (422, naming the field).

    Examples
    --------
    >>> daily_stats(tables, {"from": "2026-11-19", "to": "2026-11-20"})["days"][1]  # doctest: +SKIP
    {'date': '2026-11-20', 'stats': {'users_active': 2, ...}}
    """
    first, last = date_range(query, today=today)
    days = days_between(first, last)
    found = {
        item.date: item.stats
        for item in batch_get(tables.daily_stats, [d.isoformat() for d in days])
    }
    rows = [{"date": d.isoformat(), "stats": found.get(d.isoformat())} for d in days]
    events: Counter[str] = Counter()
    reactions: dict[str, Counter[str]] = {}
    for row in rows:
        stats: dict[str, Any] = found.get(str(row["date"])) or {}
        events.update({str(k): int(v) for k, v in (stats.get("events_by_type") or {}).items()})
        for content_type, tally in (stats.get("reactions_by_content_type") or {}).items():
            reactions.setdefault(str(content_type), Counter()).update(
                {str(k): int(v) for k, v in tally.items()}
            )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": rows,
        "totals": {
            "data_quality": quality_totals(
                [(found.get(str(row["date"])) or {}).get("data_quality") for row in rows]
            ),
            "days_with_stats": sum(1 for row in rows if row["stats"] is not None),
            "events_by_type": dict(sorted(events.items())),
            "reactions_by_content_type": {
                content_type: dict(sorted(tally.items()))
                for content_type, tally in sorted(reactions.items())
            },
        },
    }


def quality_totals(days: list[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The data-quality sections of several days summed (``flagged_users`` counts user-days).

    Examples
    --------
    >>> quality_totals([{"rows": 10, "flagged_rows": 4, "flagged_users": 1, "duplicates": 0,
    ...                  "by_reason": {"burst": 4}}, None])
    {'rows': 10, 'flagged_rows': 4, 'flagged_user_days': 1, 'duplicates': 0, \
'by_reason': {'burst': 4}, 'completeness': 0.6}
    """
    sums: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for day in days:
        if not day:
            continue
        for name in ("rows", "flagged_rows", "flagged_users", "duplicates"):
            sums[name] += int(day.get(name) or 0)
        reasons.update({str(k): int(v) for k, v in (day.get("by_reason") or {}).items()})
    rows = sums["rows"]
    return {
        "rows": rows,
        "flagged_rows": sums["flagged_rows"],
        "flagged_user_days": sums["flagged_users"],
        "duplicates": sums["duplicates"],
        "by_reason": dict(sorted(reasons.items())),
        "completeness": round((rows - sums["flagged_rows"]) / rows, 6) if rows else None,
    }


def date_range(query: Mapping[str, str] | None, *, today: date | None = None) -> tuple[date, date]:
    """The validated ``(from, to)`` of a stats query.

    Examples
    --------
    >>> date_range({"to": "2026-11-20"})
    (datetime.date(2026, 10, 22), datetime.date(2026, 11, 20))
    >>> date_range({"from": "2026-11-21", "to": "2026-11-20"})
    Traceback (most recent call last):
    ...
    learnloop.exceptions.ValidationError: invalid fields: from
    """
    request = validate(StatsRangeIn, dict(query or {}))
    last = request.to or min(today or utcnow().date(), _LAST)
    first = request.from_ or max(last - timedelta(days=DEFAULT_RANGE_DAYS - 1), _FIRST)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise invalid(
            [
                {
                    "field": "from",
                    "message": f"the range may span at most {MAX_RANGE_DAYS} days",
                    "type": "range",
                }
            ]
        )
    return first, last
