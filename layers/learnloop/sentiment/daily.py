"""A symbol's text sentiment per UTC day, as the price forecast reads it (issue 16).

:func:`daily_sentiment` reads the texts naming a symbol over a range of days (one Query on the
sparse ``by_symbol`` index, oldest first) and returns, per day with at least one scored text,
the source-weighted ``score`` (:func:`learnloop.sentiment.aggregate.aggregate` with the
stage's source weights, the number ``GET /v1/sentiment/symbols/{symbol}`` shows), the plain
``mean`` polarity and the ``count`` of scored texts. Days are by ``published_at``: a text
backfilled later counts on the day it was published, in training and in serving alike.

The symbol is a text symbol (``BTC``); the forecast maps its candle pair with
:func:`learnloop.symbols.sentiment_symbol` first (:func:`forecast_sentiment_symbol`).

Examples
--------
>>> daily_sentiment(tables, "BTC", date(2026, 11, 1), date(2026, 11, 30))  # doctest: +SKIP
{'2026-11-20': {'score': 0.128571, 'mean': 0.233333, 'count': 3}}
>>> from learnloop.settings import Settings
>>> forecast_sentiment_symbol(Settings.from_env({}), "btc-usdt")
'BTC'
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from learnloop.sentiment.aggregate import aggregate
from learnloop.symbols import sentiment_symbol

if TYPE_CHECKING:
    from learnloop.settings import Settings
    from learnloop.store.tables import Tables

__all__ = ["daily_sentiment", "forecast_sentiment_symbol"]

_ATTRIBUTES = ["text_id", "record", "source", "polarity", "published_at"]


def forecast_sentiment_symbol(settings: Settings, pair: str) -> str:
    """The text symbol whose sentiment the forecast of candle symbol ``pair`` reads
    (:func:`learnloop.symbols.sentiment_symbol` with ``LEARNLOOP_SYMBOL_ALIASES``).

    Examples
    --------
    >>> from learnloop.settings import Settings
    >>> forecast_sentiment_symbol(Settings.from_env({"LEARNLOOP_SYMBOL_ALIASES": "XBT-USD=BTC"}),
    ...                           "xbt-usd")
    'BTC'
    """
    return sentiment_symbol(pair, settings.symbol_aliases)


def daily_sentiment(
    tables: Tables, symbol: str, first: date, last: date
) -> dict[str, dict[str, float | None]]:
    """``{"YYYY-MM-DD": {"score", "mean", "count"}}`` of every day from ``first`` to ``last``
    (inclusive, UTC) with at least one scored text naming ``symbol`` (upper-cased).

    Examples
    --------
    >>> daily_sentiment(tables, "btc", date(2026, 11, 20), date(2026, 11, 20))  # doctest: +SKIP
    {'2026-11-20': {'score': 0.128571, 'mean': 0.233333, 'count': 3}}
    """
    model = tables.texts
    rows: list[dict[str, Any]] = [
        item.attribute_values
        for item in model.by_symbol.query(
            symbol.strip().upper(),
            range_key_condition=model.published_at.between(first.isoformat(), f"{last}T~"),
            attributes_to_get=_ATTRIBUTES,
        )
    ]
    settings = tables.settings
    summary = aggregate(
        rows,
        first=first,
        last=last,
        window="day",
        weights=dict(settings.sentiment_source_weights),
        unknown_weight=settings.sentiment_unknown_source_weight,
    )
    out: dict[str, dict[str, float | None]] = {}
    for window in summary["series"]:
        sources = window["sources"].values()
        count = sum(int(s["volume"]) for s in sources)
        if count:
            mean = math.fsum(s["volume"] * s["mean"] for s in sources) / count
            out[window["start"][:10]] = {
                "score": window["score"],
                "mean": round(mean, 6),
                "count": count,
            }
    return out
