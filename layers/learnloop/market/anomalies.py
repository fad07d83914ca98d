"""Price, volume and flash-crash flags on candles: the ``market_anomalies`` job and
``GET /v1/market/anomalies``.

Each candle is scored against the ``window`` candles before it (never after: a flag does not
change when later candles arrive) with a robust z-score, ``0.6745 * (x - median) / MAD``, so
one wild candle cannot hide the next by inflating a standard deviation. Three signals:

* ``price``: the log return ``ln(close / previous close)``, flagged when ``|z| >= threshold``;
* ``volume``: ``ln(1 + volume)``, flagged when ``z >= threshold`` (spikes, not droughts);
* ``flash_crash``: a plunge that bounced. Both the fall from the open, ``ln(low / open)``, and
  the lower shadow, ``ln(low / min(open, close))``, score ``z <= -threshold``, and the close
  took back at least ``recovery`` of the fall (``(close - low) / (open - low)``). The fall
  alone would flag a big down day that bounced a little; the shadow alone flags the rare deep
  wick of a quiet day (a shadow's spread is small next to its tail).

A MAD of zero (a flat stretch) falls back to the mean absolute deviation (scaled to match a
normal's sigma); a window with no spread at all flags nothing. The robust z-score was chosen
over an isolation forest: numpy alone, every flag explains itself (median, spread, score),
and a threshold in sigmas is a knob an operator can reason about.

Examples
--------
>>> import numpy as np
>>> x = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 40.0])  # median 2, MAD 0.5
>>> robust_z(x, window=8, min_periods=8)[-1].round(2)  # 0.6745 * 38 / 0.5
np.float64(51.26)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from learnloop.clock import utcnow
from learnloop.market.candle_store import (
    INTERVALS,
    Interval,
    Symbol,
    candle_time,
    list_series,
    series_key,
)
from learnloop.market.candles import CandleSeries, read_candles
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

__all__ = [
    "KINDS",
    "AnomaliesIn",
    "Anomaly",
    "detect_anomalies",
    "list_anomalies",
    "market_anomalies",
    "robust_z",
]

FloatArray = npt.NDArray[np.float64]
KINDS = ("price", "volume", "flash_crash")
DEFAULT_WINDOW = 60
DEFAULT_THRESHOLD = 6.0
DEFAULT_RECOVERY = 0.5
MIN_PERIODS = 20
#: The job re-checks at least this many recent candles of each series per run...
RECHECK_CANDLES = 30
#: ...and at least this much time (an hourly job over minute candles).
RECHECK_SPAN = timedelta(hours=2)
MAX_LISTED = 500
_MAD_TO_SIGMA = 0.6744897501960817  # the normal's 0.75 quantile: MAD / this estimates sigma
_MEAN_AD_TO_SIGMA = math.sqrt(math.pi / 2)


def robust_z(
    values: FloatArray, *, window: int = DEFAULT_WINDOW, min_periods: int = MIN_PERIODS
) -> FloatArray:
    """Each value's robust z-score against the ``window`` values before it (NaN: too few)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    out = np.full(n, np.nan)
    if n <= min_periods:
        return out
    clean = np.where(np.isfinite(x), x, np.nan)
    # Row i holds the ``window`` values before position i (NaN-padded in front near the start).
    padded = np.r_[np.full(window, np.nan), clean[:-1]]
    past = np.lib.stride_tricks.sliding_window_view(padded, window)[min_periods:]
    counts = np.sum(~np.isnan(past), axis=1)
    usable = counts >= min_periods
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are masked out below
        median = np.nanmedian(past, axis=1)
        spread = np.abs(past - median[:, None])
        mad = np.nanmedian(spread, axis=1)
        mean_ad = np.nanmean(spread, axis=1)
        current = clean[min_periods:]
        z = np.where(
            mad > 0,
            _MAD_TO_SIGMA * (current - median) / np.where(mad > 0, mad, 1.0),
            (current - median) / np.where(mean_ad > 0, _MEAN_AD_TO_SIGMA * mean_ad, np.nan),
        )
    z[~usable | ~np.isfinite(current)] = np.nan
    out[min_periods:] = z
    return out


@dataclass(frozen=True)
class Anomaly:
    """One flag: which candle, what kind, its z-score and the value scored."""

    symbol: str
    interval: str
    open_time: str
    kind: str
    score: float
    value: float
    detail: dict[str, float]


def detect_anomalies(
    series: CandleSeries,
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    recovery: float = DEFAULT_RECOVERY,
    min_periods: int = MIN_PERIODS,
) -> list[Anomaly]:
    """Every flag of ``series``, oldest first (see the module docstring for the rules).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    >>> open_ = np.r_[100.0, close[:-1]]
    >>> shadow = np.exp(-np.abs(rng.normal(0, 0.003, 120)))
    >>> low, high = np.minimum(open_, close) * shadow, np.maximum(open_, close) / shadow
    >>> low[90] = open_[90] * 0.8  # a plunge...
    >>> close[90] = open_[90] * 0.99  # ...that bounced
    >>> t = (np.arange(120) * 86400).astype("datetime64[s]")
    >>> s = CandleSeries("X", "1d", t, open_, high, low, close, np.full(120, 1e3))
    >>> [(a.open_time, a.kind) for a in detect_anomalies(s)]
    [('1970-04-01T00:00:00Z', 'flash_crash')]
    """
    n = len(series)
    if n < min_periods + 2:
        return []
    times = series.iso_times()
    returns = np.r_[np.nan, np.log(series.close[1:] / series.close[:-1])]
    z_return = robust_z(returns, window=window, min_periods=min_periods)
    log_volume = np.log1p(series.volume)
    z_volume = robust_z(log_volume, window=window, min_periods=min_periods)
    fall_z = robust_z(np.log(series.low / series.open), window=window, min_periods=min_periods)
    shadow = np.log(series.low / np.minimum(series.open, series.close))
    shadow_z = robust_z(shadow, window=window, min_periods=min_periods)
    # The flash crash's score: the weaker of its two signals.
    z_wick = np.fmax(fall_z, shadow_z)
    fall = series.open - series.low
    with np.errstate(invalid="ignore", divide="ignore"):
        recovered = np.where(fall > 0, (series.close - series.low) / np.where(fall > 0, fall, 1), 0)
    found: list[Anomaly] = []

    def flag(i: int, kind: str, score: float, value: float, **detail: float) -> None:
        found.append(
            Anomaly(
                series.symbol,
                series.interval,
                times[i],
                kind,
                round(float(score), 4),
                round(float(value), 8),
                {k: round(float(v), 8) for k, v in detail.items()},
            )
        )

    for i in range(n):
        if np.isfinite(z_return[i]) and abs(z_return[i]) >= threshold:
            flag(i, "price", z_return[i], math.expm1(returns[i]), close=series.close[i])
        if np.isfinite(z_volume[i]) and z_volume[i] >= threshold:
            flag(i, "volume", z_volume[i], series.volume[i])
        if np.isfinite(z_wick[i]) and z_wick[i] <= -threshold and recovered[i] >= recovery:
            flag(
                i,
                "flash_crash",
                z_wick[i],
                series.low[i] / series.open[i] - 1.0,
                low=series.low[i],
                open=series.open[i],
                close=series.close[i],
                recovered=recovered[i],
                fall_z=fall_z[i],
                shadow_z=shadow_z[i],
            )
    return found


def market_anomalies(
    tables: Tables,
    now: datetime,
    *,
    candles: int = RECHECK_CANDLES,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """The scheduled job: flag the recent candles of every stored series.

    Each series' last ``candles`` candles (at least :data:`RECHECK_SPAN` of them) before
    ``now`` are scored against the ``window`` before each; their flags are written and the
    flags of those candles that no longer hold (a corrected candle) are deleted, so running
    the job twice, or after a redelivered batch, leaves the same flags.

    Examples
    --------
    >>> market_anomalies(tables, datetime(2026, 12, 7, tzinfo=UTC))  # doctest: +SKIP
    {'job': 'market_anomalies', 'series': 2, 'candles_checked': 60, 'flagged': 1, ...}
    """
    detected_at = candle_time(now)
    totals = {"checked": 0, "flagged": 0, "removed": 0}
    series_list = list_series(tables)
    for symbol, interval in series_list:
        counts = check_series(
            tables,
            symbol,
            interval,
            now,
            candles=candles,
            window=window,
            threshold=threshold,
            detected_at=detected_at,
        )
        for key, value in counts.items():
            totals[key] += value
    return {
        "job": "market_anomalies",
        "series": len(series_list),
        "candles_checked": totals["checked"],
        "flagged": totals["flagged"],
        "removed": totals["removed"],
    }


def check_series(
    tables: Tables,
    symbol: str,
    interval: str,
    now: datetime,
    *,
    candles: int = RECHECK_CANDLES,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    detected_at: str | None = None,
) -> dict[str, int]:
    """Flag one series' recent candles (one unit of :func:`market_anomalies`); returns
    ``{"checked", "flagged", "removed"}``. Running it again leaves the same flags."""
    detected_at = detected_at or candle_time(now)
    model = tables.market_anomalies
    step = timedelta(seconds=INTERVALS[interval])
    span = max(step * candles, RECHECK_SPAN)
    first_checked = now - span
    series = read_candles(symbol, interval, first_checked - step * (window + 1), now, tables=tables)
    recent = series.open_time >= np.datetime64(first_checked.replace(tzinfo=None), "s")
    checked = int(recent.sum())
    if not recent.any():
        return {"checked": checked, "flagged": 0, "removed": 0}
    first_key = series.iso_times()[int(np.argmax(recent))]
    flags = [
        a
        for a in detect_anomalies(series, window=window, threshold=threshold)
        if a.open_time >= first_key
    ]
    partition = series_key(symbol, interval)
    keep = {f"{a.open_time}#{a.kind}" for a in flags}
    removed = 0
    with model.batch_write() as batch:
        for old in model.query(partition, range_key_condition=model.flag >= first_key):
            if old.flag not in keep:
                batch.delete(old)
                removed += 1
        for a in flags:
            batch.save(
                model(
                    partition,
                    f"{a.open_time}#{a.kind}",
                    symbol=a.symbol,
                    interval=a.interval,
                    open_time=a.open_time,
                    kind=a.kind,
                    score=a.score,
                    value=a.value,
                    detail=a.detail,
                    detected_at=detected_at,
                )
            )
    return {"checked": checked, "flagged": len(flags), "removed": removed}


Day = Annotated[date, Field(ge=date(1970, 1, 2), le=date(2099, 12, 31))]


class AnomaliesIn(Strict):
    """The query: ``symbol``/``interval`` (default every series), ``from``/``to`` (dates,
    default the last 30 days), ``kind``."""

    symbol: Symbol | None = None
    interval: Interval | None = None
    from_: Annotated[Day | None, Field(alias="from")] = None
    to: Day | None = None
    kind: Literal["price", "volume", "flash_crash"] | None = None


def list_anomalies(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/market/anomalies``: stored flags, newest first (at most 500).

    Raises
    ------
    ValidationError
        A bad ``symbol``, ``interval``, ``from``, ``to`` or ``kind`` (422).

    Examples
    --------
    >>> list_anomalies(tables, {"symbol": "BTC-USD"})  # doctest: +SKIP
    {'from': '2026-11-08', 'to': '2026-12-07', 'anomalies': [{'symbol': 'BTC-USD', ...}]}
    """
    request = validate(AnomaliesIn, dict(query or {}))
    last = request.to or (today or utcnow().date())
    first = request.from_ or last - timedelta(days=29)
    if first > last:
        raise invalid([{"field": "from", "message": "from is after to"}])
    low = f"{first.isoformat()}T00:00:00Z"
    high = f"{(last + timedelta(days=1)).isoformat()}T00:00:00Z"
    model = tables.market_anomalies
    wanted = [
        (s, i)
        for s, i in list_series(tables)
        if (request.symbol is None or s == request.symbol.upper())
        and (request.interval is None or i == request.interval)
    ]
    found: list[dict[str, Any]] = []
    for symbol, interval in wanted:
        for item in model.query(
            series_key(symbol, interval), range_key_condition=model.flag.between(low, high)
        ):
            if request.kind is None or item.kind == request.kind:
                found.append(_as_dict(item))
    found.sort(key=lambda a: (a["open_time"], a["symbol"], a["kind"]), reverse=True)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "count": len(found),
        "anomalies": found[:MAX_LISTED],
    }


def _as_dict(item: Any) -> dict[str, Any]:
    return {
        "symbol": item.symbol,
        "interval": item.interval,
        "open_time": item.open_time,
        "kind": item.kind,
        "score": float(item.score),
        "value": float(item.value),
        "detail": item.detail or {},
        "detected_at": item.detected_at,
    }
