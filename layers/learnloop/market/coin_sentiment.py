"""``GET /v1/sentiment/market?days=7&to=``: per-coin sentiment from users' reactions.

No model is involved: ``rollup_daily`` already stores, per day and coin, the reaction counts
(distinct users: one account's latest reaction to any item of the coin is its one vote, see
:func:`learnloop.rollups.compute.coin_votes`) and a score in [0, 1]
(``0.6 * positive_share + 0.4 * velocity``, in ``daily_stats.coin_sentiment``). This route
reads the ``days`` items ending ``to`` (one BatchGetItem, never a Scan) and returns each
coin's daily series and its reactions-weighted mean score, so a day with 500 reactions counts
50 times as much as a day with 10. Days not rolled up yet (today, usually) are simply absent
from the series.

Examples
--------
>>> market_sentiment(tables, {"days": "7", "to": "2026-11-20"})["coins"][0]  # doctest: +SKIP
{'coin': 'BTC', 'score': 0.61, 'reactions': 42, 'likes': 30, 'dislikes': 12,
 'positive_share': 0.714286, 'days_with_reactions': 3, 'series': [...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import Field

from learnloop.clock import utcnow
from learnloop.store.queries import batch_get, days_between
from learnloop.store.tables import Tables
from learnloop.validation import Strict, validate

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "MarketSentimentIn", "market_sentiment"]

DEFAULT_DAYS = 7
#: About a quarter: long enough for a trend, short enough for one small batch read.
MAX_DAYS = 92
_DIGITS = 6


class MarketSentimentIn(Strict):
    """The query: ``days`` (1-92, default 7) ending ``to`` (``YYYY-MM-DD``, default today)."""

    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS
    to: Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))] | None = None


def market_sentiment(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """Each coin's reaction sentiment over the ``days`` days ending ``to``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    query : mapping of str to str
        ``days`` and ``to`` (both optional).
    today : date, optional
        The default ``to`` (default: the current UTC date).

    Returns
    -------
    dict
        ``{"from", "to", "days", "days_with_stats", "coins": [{"coin", "score", "reactions",
        "likes", "dislikes", "positive_share", "days_with_reactions", "series": [{"date",
        "score", "reactions", "likes", "dislikes", "positive_share", "velocity"}]}]}``; coins
        with the most reactions first, series oldest first; ``coins`` is empty without
        rollups.

    Raises
    ------
    ValidationError
        ``days`` outside 1-92 or not an integer, ``to`` not a date (422, naming the field).

    Examples
    --------
    >>> market_sentiment(tables, {"days": "0"})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: days
    """
    request = validate(MarketSentimentIn, dict(query or {}))
    last = request.to or (today or utcnow().date())
    first = last - timedelta(days=request.days - 1)
    keys = [d.isoformat() for d in days_between(first, last)]
    found = {item.date: item.stats for item in batch_get(tables.daily_stats, keys)}
    series: dict[str, list[dict[str, Any]]] = {}
    for day in keys:  # oldest first, so each coin's series is too
        stats = found.get(day)
        coins = stats.get("coin_sentiment") if isinstance(stats, Mapping) else None
        for coin, entry in (coins or {}).items():
            if isinstance(entry, Mapping):
                series.setdefault(str(coin), []).append(_point(day, entry))
    coins = [_summary(coin, points) for coin, points in series.items()]
    coins.sort(key=lambda c: (-c["reactions"], c["coin"]))
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": request.days,
        "days_with_stats": sum(1 for day in keys if found.get(day) is not None),
        "coins": coins,
    }


def _point(day: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    likes, dislikes = _count(entry.get("likes")), _count(entry.get("dislikes"))
    return {
        "date": day,
        "score": _float(entry.get("score")),
        "reactions": likes + dislikes,
        "likes": likes,
        "dislikes": dislikes,
        "positive_share": _float(entry.get("positive_share")),
        "velocity": _float(entry.get("velocity")),
    }


def _summary(coin: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    likes = sum(p["likes"] for p in points)
    dislikes = sum(p["dislikes"] for p in points)
    scored = [p for p in points if p["score"] is not None and p["reactions"] > 0]
    weight = sum(p["reactions"] for p in scored)
    score = sum(p["score"] * p["reactions"] for p in scored) / weight if weight else None
    total = likes + dislikes
    return {
        "coin": coin,
        "score": round(score, _DIGITS) if score is not None else None,
        "reactions": total,
        "likes": likes,
        "dislikes": dislikes,
        "positive_share": round(likes / total, _DIGITS) if total else None,
        "days_with_reactions": sum(1 for p in points if p["reactions"] > 0),
        "series": points,
    }


def _count(value: Any) -> int:
    # DynamoDB JSON comes back as int/float/Decimal; anything else (or negative) counts 0.
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return max(number, 0)


def _float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None
