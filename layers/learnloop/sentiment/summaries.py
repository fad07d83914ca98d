"""``GET /v1/sentiment/{symbols,pages,users}/{id}`` and ``/v1/sentiment/funnel``: text sentiment
aggregated per window.

Each route reads one sparse index of the ``texts`` table over the range (one Query on the
symbol, page or user, by ``published_at``; never a Scan) and aggregates it on read with
:func:`learnloop.sentiment.aggregate.aggregate`, so a text counts the moment it is stored and
a change of source weights applies to the past too. A Query reads at most
:data:`MAX_ROWS` texts, newest first; past that the answer says ``truncated`` and from when it
is complete (``complete_from``), rather than running out of time.

Query: ``window`` (``day``, default, or ``hour``), ``from`` and ``to`` (``YYYY-MM-DD``, UTC,
inclusive). Defaults: ``to`` today; ``from`` 6 days before ``to`` for days, ``to`` itself for
hours. At most 92 days of days or 7 days of hours.

Examples
--------
>>> symbol_sentiment(tables, "btc", {"window": "day"})["symbol"]  # doctest: +SKIP
'BTC'
>>> window_range({"window": "hour", "from": "2026-11-01", "to": "2026-11-20"})
Traceback (most recent call last):
learnloop.exceptions.ValidationError: invalid fields: from
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from learnloop.clock import utcnow
from learnloop.sentiment.aggregate import Window, aggregate
from learnloop.sentiment.texts import SymbolName
from learnloop.store.tables import Tables
from learnloop.validation import Identifier, Strict, invalid, validate

__all__ = [
    "MAX_DAYS",
    "MAX_FUNNEL_PAGES",
    "MAX_HOUR_DAYS",
    "MAX_ROWS",
    "WindowQueryIn",
    "funnel_sentiment",
    "page_sentiment",
    "symbol_sentiment",
    "user_sentiment",
    "window_range",
]

MAX_DAYS = 92
#: 168 hourly windows: a week is as far as an hourly chart stays readable.
MAX_HOUR_DAYS = 7
#: Texts one request aggregates per symbol, page or user (about 5 MB of index items read).
MAX_ROWS = 50_000
#: Steps of a funnel: one Query each.
MAX_FUNNEL_PAGES = 10
_ATTRIBUTES = ["text_id", "record", "source", "polarity", "label", "published_at", "user_id"]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class WindowQueryIn(Strict):
    """``window`` (``day`` | ``hour``), ``from`` and ``to`` (``YYYY-MM-DD``)."""

    model_config = ConfigDict(populate_by_name=True)

    window: Literal["day", "hour"] = "day"
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None


class _SymbolIn(Strict):
    symbol: SymbolName


class _PageIn(Strict):
    page: Identifier


class _UserIn(Strict):
    user_id: Identifier


class _FunnelIn(Strict):
    pages: list[Identifier] = Field(min_length=2, max_length=MAX_FUNNEL_PAGES)


def window_range(
    query: Mapping[str, str] | None, *, today: date | None = None
) -> tuple[Window, date, date]:
    """The validated ``(window, from, to)`` of a query.

    Raises
    ------
    ValidationError
        ``window`` not ``day`` or ``hour``, a date that is not ``YYYY-MM-DD``, ``from`` after
        ``to``, or a range longer than allowed for the window (422, naming the field).

    Examples
    --------
    >>> window_range({"to": "2026-11-20"})
    ('day', datetime.date(2026, 11, 14), datetime.date(2026, 11, 20))
    >>> window_range({"window": "hour", "to": "2026-11-20"})[1:]
    (datetime.date(2026, 11, 20), datetime.date(2026, 11, 20))
    """
    request = validate(WindowQueryIn, dict(query or {}))
    window: Window = request.window
    longest = MAX_DAYS if window == "day" else MAX_HOUR_DAYS
    last = request.to or (today or utcnow().date())
    first = request.from_ or (last - timedelta(days=6) if window == "day" else last)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    if (last - first).days + 1 > longest:
        raise invalid(
            [
                {
                    "field": "from",
                    "message": f"a {window} window spans at most {longest} days",
                    "type": "range",
                }
            ]
        )
    return window, first, last


def symbol_sentiment(
    tables: Tables, symbol: str, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """The source-weighted sentiment of the texts naming ``symbol`` (upper-cased).

    Returns
    -------
    dict
        ``{"symbol", "window", "from", "to", "weights", "truncated", "complete_from",
        "score", "volume", "scored", "labels", "sources", "trend", "series"}`` (see
        :func:`learnloop.sentiment.aggregate.aggregate`).

    Raises
    ------
    ValidationError
        A bad symbol or query (422, naming the field).

    Examples
    --------
    >>> symbol_sentiment(tables, "BTC", {"window": "week"})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: window
    """
    key = validate(_SymbolIn, {"symbol": symbol}).symbol
    return {"symbol": key, **_summary(tables, "by_symbol", key, query, today=today)}


def page_sentiment(
    tables: Tables, page: str, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """The sentiment of the texts posted on ``page`` (with ``users``: distinct authors).

    Examples
    --------
    >>> page_sentiment(tables, "checkout", {})["users"]  # doctest: +SKIP
    12
    """
    key = validate(_PageIn, {"page": page}).page
    return {"page": key, **_summary(tables, "by_page", key, query, today=today, users=True)}


def user_sentiment(
    tables: Tables, user_id: str, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """The sentiment of the texts ``user_id`` wrote.

    Examples
    --------
    >>> user_sentiment(tables, "u1", {"window": "day"})["volume"]  # doctest: +SKIP
    3
    """
    key = validate(_UserIn, {"user_id": user_id}).user_id
    return {"user_id": key, **_summary(tables, "by_user", key, query, today=today)}


def funnel_sentiment(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """The sentiment of each step of a funnel, ``pages=landing,signup,checkout`` in order.

    Each step is :func:`page_sentiment` over the same range without its series, plus
    ``change``: its score minus the previous step's (None when either has no score), so the
    step where users sour stands out.

    Raises
    ------
    ValidationError
        ``pages`` missing, fewer than 2 or more than 10, or not ids; a bad range (422).

    Examples
    --------
    >>> funnel_sentiment(tables, {"pages": "landing"})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: pages
    """
    query = dict(query or {})
    raw = query.pop("pages", None)
    pages = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else raw
    steps = validate(_FunnelIn, {"pages": pages}).pages
    if len(set(steps)) != len(steps):
        raise invalid([{"field": "pages", "message": "a page appears twice", "type": "unique"}])
    window, first, last = window_range(query, today=today)
    summaries = []
    previous: float | None = None
    for page in steps:
        summary = _summary(tables, "by_page", page, query, today=today, users=True)
        summary.pop("series")
        score = summary["score"]
        change = None
        if score is not None and previous is not None:
            change = round(score - previous, 6) + 0.0
        summaries.append({"page": page, **_step(summary), "change": change})
        previous = score
    return {"window": window, "from": first.isoformat(), "to": last.isoformat(), "steps": summaries}


def _step(summary: dict[str, Any]) -> dict[str, Any]:
    keep = ("score", "volume", "scored", "users", "labels", "sources", "trend", "truncated")
    return {key: summary[key] for key in keep}


def _summary(
    tables: Tables,
    index: str,
    key: str,
    query: Mapping[str, str] | None,
    *,
    today: date | None,
    users: bool = False,
) -> dict[str, Any]:
    window, first, last = window_range(query, today=today)
    model = tables.texts
    rows: list[dict[str, Any]] = []
    truncated = False
    # Newest first, so a range too big to read whole is complete at its recent end.
    for item in getattr(model, index).query(
        key,
        range_key_condition=model.published_at.between(first.isoformat(), f"{last}T~"),
        scan_index_forward=False,
        attributes_to_get=_ATTRIBUTES,
    ):
        if len(rows) == MAX_ROWS:
            truncated = True
            break
        rows.append(item.attribute_values)
    settings = tables.settings
    weights = dict(settings.sentiment_source_weights)
    summary = aggregate(
        rows,
        first=first,
        last=last,
        window=window,
        weights=weights,
        unknown_weight=settings.sentiment_unknown_source_weight,
        count_users=users,
    )
    return {
        "window": window,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "weights": weights,
        "unknown_source_weight": settings.sentiment_unknown_source_weight,
        "truncated": truncated,
        "complete_from": rows[-1]["published_at"] if truncated else None,
        **summary,
    }
