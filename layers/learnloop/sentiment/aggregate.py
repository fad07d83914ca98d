"""Source-weighted sentiment of scored texts per time window: pure functions, no store.

Each text has a ``polarity`` in [-1, 1] (``p(positive) - p(negative)``). In one window (an
hour or a UTC day) the texts of each source are averaged, and the window's score is the
weighted mean of those source means::

    score = sum(w[s] * mean[s] for s in present) / sum(w[s] for s in present)

``present`` is the sources with at least one scored text in the window and a weight above 0.
Weights are renormalised over them, so a window with only news and reddit is
``(0.4 * news + 0.2 * reddit) / 0.6``: a missing source neither pulls the score to 0 nor
counts as neutral. A source not in the weights gets ``unknown_weight`` (0 leaves it out of the
score; it still counts in the volume). A window with no scored text has ``score`` None.
Volume counts every text, scored or not.

Trend: each window's ``change`` is its score minus the previous window's (None when either is
None); the range's ``trend`` is the least-squares ``slope`` of the windows' scores per window
and the ``change`` between the last two windows that have a score.

Examples
--------
>>> rows = [
...     {"source": "news", "polarity": 0.8, "published_at": "2026-11-20T09:00:00Z"},
...     {"source": "news", "polarity": 0.4, "published_at": "2026-11-20T10:00:00Z"},
...     {"source": "twitter", "polarity": -0.5, "published_at": "2026-11-20T11:00:00Z"},
... ]
>>> weights = {"news": 0.4, "twitter": 0.3, "reddit": 0.2, "telegram": 0.1}
>>> weighted_score(source_means(rows), weights)  # (0.4 * 0.6 + 0.3 * -0.5) / 0.7
0.128571
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

__all__ = [
    "WINDOWS",
    "Window",
    "aggregate",
    "bucket_starts",
    "source_means",
    "weighted_score",
]

Window = Literal["hour", "day"]
WINDOWS: tuple[str, ...] = ("hour", "day")
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
_DIGITS = 6

Row = Mapping[str, Any]


def source_means(rows: Iterable[Row]) -> dict[str, tuple[int, float]]:
    """``{source: (scored texts, mean polarity)}`` over the rows that have a polarity.

    Examples
    --------
    >>> source_means([{"source": "news", "polarity": 1}, {"source": "news", "polarity": 0},
    ...               {"source": "reddit", "polarity": None}])
    {'news': (2, 0.5)}
    """
    sums: dict[str, list[float]] = {}
    for row in rows:
        polarity = _number(row.get("polarity"))
        if polarity is not None:
            sums.setdefault(str(row.get("source")), []).append(polarity)
    return {
        source: (len(values), math.fsum(values) / len(values))
        for source, values in sorted(sums.items())
    }


def weighted_score(
    means: Mapping[str, tuple[int, float]],
    weights: Mapping[str, float],
    *,
    unknown_weight: float = 0.1,
) -> float | None:
    """The weighted mean of the source means, renormalised over the sources present.

    Examples
    --------
    >>> w = {"news": 0.4, "twitter": 0.3, "reddit": 0.2, "telegram": 0.1}
    >>> weighted_score({"reddit": (5, -0.2)}, w)  # one source: its own mean
    -0.2
    >>> weighted_score({"news": (1, 1.0), "discord": (1, 0.0)}, w)  # (0.4 * 1) / 0.5
    0.8
    >>> weighted_score({"discord": (3, 0.5)}, w, unknown_weight=0) is None
    True
    """
    total = numerator = 0.0
    for source, (count, mean) in means.items():
        weight = weights.get(source, unknown_weight)
        if count > 0 and weight > 0:
            total += weight
            numerator += weight * mean
    return _round(numerator / total) if total > 0 else None


def bucket_starts(first: date, last: date, window: Window) -> list[datetime]:
    """The start of every window from ``first`` 00:00 to the end of ``last`` (UTC, naive).

    Examples
    --------
    >>> len(bucket_starts(date(2026, 11, 20), date(2026, 11, 21), "hour"))
    48
    >>> bucket_starts(date(2026, 11, 20), date(2026, 11, 21), "day")[1].isoformat()
    '2026-11-21T00:00:00'
    """
    step = timedelta(hours=1) if window == "hour" else timedelta(days=1)
    start = datetime(first.year, first.month, first.day)
    end = datetime(last.year, last.month, last.day) + timedelta(days=1)
    starts = []
    while start < end:
        starts.append(start)
        start += step
    return starts


def aggregate(
    rows: Iterable[Row],
    *,
    first: date,
    last: date,
    window: Window,
    weights: Mapping[str, float],
    unknown_weight: float = 0.1,
    count_users: bool = False,
) -> dict[str, Any]:
    """The range's source-weighted score, volume and trend, and one entry per window.

    Parameters
    ----------
    rows : iterable of mappings
        Texts: ``source``, ``polarity`` (None when unscored), ``label``, ``published_at``
        (ISO 8601 UTC) and, with ``count_users``, ``user_id``. Rows outside the range are
        ignored.
    first, last : date
        The range, inclusive (UTC days).
    window : ``"hour"`` or ``"day"``
        The width of a window.
    weights : mapping of str to float
        Source weights (:attr:`learnloop.settings.Settings.sentiment_source_weights`).
    unknown_weight : float
        The weight of a source not in ``weights``.
    count_users : bool
        Add ``users``: distinct authors (page aggregates).

    Returns
    -------
    dict
        ``score``, ``volume``, ``scored``, ``labels``, ``sources`` (``{source: {"volume",
        "scored", "mean", "weight"}}``; ``weight`` is the share the source had in the score,
        after renormalisation), ``trend`` (``slope``, ``change``), ``series`` (``[{"start",
        "score", "volume", "scored", "change", "sources": {source: {"volume", "mean"}}}]``,
        every window of the range, oldest first) and, with ``count_users``, ``users``.

    Examples
    --------
    >>> out = aggregate(
    ...     [{"source": "news", "polarity": 0.5, "label": "positive",
    ...       "published_at": "2026-11-20T10:00:00.000000Z"},
    ...      {"source": "reddit", "polarity": -0.5, "label": "negative",
    ...       "published_at": "2026-11-21T10:00:00.000000Z"}],
    ...     first=date(2026, 11, 20), last=date(2026, 11, 21), window="day",
    ...     weights={"news": 0.4, "reddit": 0.2})
    >>> out["score"], [w["score"] for w in out["series"]], out["trend"]
    (0.166667, [0.5, -0.5], {'slope': -1.0, 'change': -1.0})
    """
    starts = bucket_starts(first, last, window)
    width = 13 if window == "hour" else 10
    keys = [start.isoformat()[:width] for start in starts]
    index = {key: i for i, key in enumerate(keys)}
    buckets: list[list[Row]] = [[] for _ in keys]
    kept: list[Row] = []
    for row in rows:
        published = str(row.get("published_at") or "")
        i = index.get(published[:width])
        if i is not None:
            buckets[i].append(row)
            kept.append(row)

    series: list[dict[str, Any]] = []
    previous: float | None = None
    for start, bucket in zip(starts, buckets, strict=True):
        means = source_means(bucket)
        score = weighted_score(means, weights, unknown_weight=unknown_weight)
        series.append(
            {
                "start": start.isoformat() + "Z",
                "score": score,
                "volume": len(bucket),
                "scored": sum(count for count, _ in means.values()),
                "change": _round(score - previous)
                if score is not None and previous is not None
                else None,
                "sources": {
                    source: {"volume": count, "mean": _round(mean)}
                    for source, (count, mean) in means.items()
                },
            }
        )
        previous = score

    means = source_means(kept)
    score = weighted_score(means, weights, unknown_weight=unknown_weight)
    used = {
        source: weights.get(source, unknown_weight)
        for source, (count, _) in means.items()
        if weights.get(source, unknown_weight) > 0
    }
    weight_total = math.fsum(used.values())
    volumes: dict[str, int] = {}
    for row in kept:
        volumes[str(row.get("source"))] = volumes.get(str(row.get("source")), 0) + 1
    labels = dict.fromkeys(LABELS, 0)
    for row in kept:
        label = row.get("label")
        if label in labels:
            labels[str(label)] += 1
    result: dict[str, Any] = {
        "score": score,
        "volume": len(kept),
        "scored": sum(count for count, _ in means.values()),
        "labels": labels,
        "sources": {
            source: {
                "volume": volumes[source],
                "scored": means[source][0] if source in means else 0,
                "mean": _round(means[source][1]) if source in means else None,
                "weight": _round(used[source] / weight_total) if source in used else 0.0,
            }
            for source in sorted(volumes)
        },
        "trend": _trend(series),
        "series": series,
    }
    if count_users:
        result["users"] = len({str(r["user_id"]) for r in kept if r.get("user_id")})
    return result


def _trend(series: list[dict[str, Any]]) -> dict[str, float | None]:
    points = [(i, w["score"]) for i, w in enumerate(series) if w["score"] is not None]
    change = _round(points[-1][1] - points[-2][1]) if len(points) >= 2 else None
    if len(points) < 2:
        return {"slope": None, "change": change}
    mean_x = math.fsum(x for x, _ in points) / len(points)
    mean_y = math.fsum(y for _, y in points) / len(points)
    sxx = math.fsum((x - mean_x) ** 2 for x, _ in points)
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in points)
    return {"slope": _round(sxy / sxx), "change": change}


def _number(value: Any) -> float | None:
    # DynamoDB hands numbers back as Decimal; bools and non-finite values are not polarities.
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _round(value: float) -> float:
    return round(float(value), _DIGITS) + 0.0
