"""Technical indicators of a candle series, and ``GET /v1/market/{symbol}/indicators``.

The arithmetic is TA-Lib's (the ``TA-Lib`` wheel: its C library and numpy, 9 MB installed
without its C sources, inside the inference layer's budget; ``ta`` and ``pandas-ta`` would
bring pandas, ~60 MB). Its conventions, which the tests check against an independent
computation: EMA (and MACD's EMAs) start from the simple mean of the first ``period``
values, then ``ema = ema + (x - ema) * 2 / (period + 1)``; RSI uses Wilder's smoothing
(seeded by the mean gain and loss of the first ``period`` changes); Bollinger bands use the
population standard deviation; OBV starts at the first volume. Two are composed here:

* MACD is ``EMA(fast) - EMA(slow)`` of TA-Lib's EMA, and its signal the EMA of that line from
  its first value; TA-Lib's own ``MACD`` seeds the fast EMA at the slow one's start, so its
  line is not the textbook difference for the first few hundred candles.
* VWAP (TA-Lib has none): for intervals under a day, the session VWAP from each UTC midnight;
  for daily and weekly candles, the rolling VWAP of the last ``period`` candles. Both use the
  typical price ``(high + low + close) / 3``.

Values before an indicator has enough history are ``None`` in the API (NaN here).

Examples
--------
>>> import numpy as np
>>> sma(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
[nan, 1.5, 2.5, 3.5]
>>> wma(np.array([1.0, 2.0, 3.0]), 3)[-1]  # (1*1 + 2*2 + 3*3) / 6
np.float64(2.3333333333333335)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from learnloop.clock import utcnow
from learnloop.market.candle_store import INTERVALS, Interval, Symbol
from learnloop.market.candles import CandleSeries, read_candles
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

__all__ = [
    "INDICATORS",
    "IndicatorsIn",
    "bollinger",
    "compute_indicators",
    "ema",
    "macd",
    "market_indicators",
    "obv",
    "rsi",
    "sma",
    "stochastic",
    "vwap",
    "wma",
]

FloatArray = npt.NDArray[np.float64]

#: Candles read before ``from`` so EMA-type values there no longer depend on where the read
#: started: the seed's weight after 250 + 3 * period steps is below 1e-8 for every default.
WARMUP_CANDLES = 250
#: Candles one response carries at most.
MAX_POINTS = 2000
DEFAULT_PERIOD = 20


def _talib() -> Any:
    import talib  # the C extension loads only where indicators are computed

    return talib


def _f64(values: npt.ArrayLike) -> FloatArray:
    return np.ascontiguousarray(values, dtype=np.float64)


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average of the last ``period`` values."""
    return np.asarray(_talib().SMA(_f64(values), timeperiod=period), dtype=np.float64)


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded by the first SMA.

    Examples
    --------
    >>> ema([1.0, 2.0, 3.0, 4.0], 2).tolist()  # seed 1.5, then 1.5 + (3 - 1.5) * 2/3 ...
    [nan, 1.5, 2.5, 3.5]
    """
    return np.asarray(_talib().EMA(_f64(values), timeperiod=period), dtype=np.float64)


def wma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Linearly weighted moving average (the newest value weighs ``period``)."""
    return np.asarray(_talib().WMA(_f64(values), timeperiod=period), dtype=np.float64)


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's relative strength index, 0-100."""
    return np.asarray(_talib().RSI(_f64(close), timeperiod=period), dtype=np.float64)


def macd(
    close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(line, signal, histogram)``: ``EMA(fast) - EMA(slow)``, its EMA, their difference."""
    values = _f64(close)
    line = ema(values, fast) - ema(values, slow)
    signal_line = np.full_like(line, np.nan)
    valid = np.flatnonzero(~np.isnan(line))
    if len(valid) >= signal:
        signal_line[valid] = ema(line[valid], signal)
    return line, signal_line, line - signal_line


def bollinger(
    close: npt.ArrayLike, period: int = 20, deviations: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(upper, middle, lower)``: the SMA and ``deviations`` population std-devs around it."""
    upper, middle, lower = _talib().BBANDS(
        _f64(close), timeperiod=period, nbdevup=deviations, nbdevdn=deviations, matype=0
    )
    return _f64(upper), _f64(middle), _f64(lower)


def stochastic(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    k_period: int = 14,
    k_smoothing: int = 3,
    d_period: int = 3,
) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic ``(%K, %D)``: the raw %K over ``k_period`` smoothed by an SMA of
    ``k_smoothing``, and %D its SMA of ``d_period``."""
    # STOCHF's fast %D is the slow %K; TA-Lib's STOCH would hide %K until %D exists.
    _, k = _talib().STOCHF(
        _f64(high),
        _f64(low),
        _f64(close),
        fastk_period=k_period,
        fastd_period=k_smoothing,
        fastd_matype=0,
    )
    k = _f64(k)
    d = np.full_like(k, np.nan)
    valid = np.flatnonzero(~np.isnan(k))
    if len(valid) >= d_period:
        d[valid] = sma(k[valid], d_period)
    return k, d


def obv(close: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """On-balance volume: the first volume, then ± each volume as the close rose or fell."""
    return np.asarray(_talib().OBV(_f64(close), _f64(volume)), dtype=np.float64)


def vwap(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    *,
    period: int | None = None,
    sessions: npt.ArrayLike | None = None,
) -> FloatArray:
    """Volume-weighted average typical price: rolling over ``period`` candles, or cumulative
    within each session (equal ``sessions`` labels, e.g. the UTC day). NaN where no volume.

    Examples
    --------
    >>> vwap([2.0, 4.0], [1.0, 2.0], [1.5, 3.0], [1.0, 3.0], period=2).round(6).tolist()
    [nan, 2.625]
    """
    typical = (_f64(high) + _f64(low) + _f64(close)) / 3.0
    vol = _f64(volume)
    weighted = typical * vol
    out = np.full_like(typical, np.nan)
    if sessions is not None:
        labels = np.asarray(sessions)
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        ends = np.r_[starts[1:], len(labels)]
        for a, b in zip(starts, ends, strict=True):
            pv, v = np.cumsum(weighted[a:b]), np.cumsum(vol[a:b])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[a:b] = np.where(v > 0, pv / np.where(v > 0, v, 1.0), np.nan)
        return out
    if period is None or period < 1:
        raise ValueError("vwap needs a period or session labels")
    if len(typical) < period:
        return out
    kernel = np.ones(period)
    pv = np.convolve(weighted, kernel, mode="valid")
    v = np.convolve(vol, kernel, mode="valid")
    with np.errstate(invalid="ignore", divide="ignore"):
        out[period - 1 :] = np.where(v > 0, pv / np.where(v > 0, v, 1.0), np.nan)
    return out


def _session_labels(series: CandleSeries) -> npt.NDArray[Any]:
    return series.open_time.astype("datetime64[D]")


def _vwap_of(series: CandleSeries, period: int) -> FloatArray:
    if INTERVALS[series.interval] < 86_400:
        return vwap(
            series.high, series.low, series.close, series.volume, sessions=_session_labels(series)
        )
    return vwap(series.high, series.low, series.close, series.volume, period=period)


Indicator = Callable[[CandleSeries, int], dict[str, FloatArray]]

#: Name → what it returns for a series and the request's ``period`` (a registry, not an
#: if-chain). RSI, MACD and the stochastic keep their textbook periods.
INDICATORS: dict[str, Indicator] = {
    "sma": lambda s, p: {"sma": sma(s.close, p)},
    "ema": lambda s, p: {"ema": ema(s.close, p)},
    "wma": lambda s, p: {"wma": wma(s.close, p)},
    "rsi": lambda s, p: {"rsi": rsi(s.close, 14)},
    "macd": lambda s, p: dict(
        zip(("macd", "macd_signal", "macd_histogram"), macd(s.close), strict=True)
    ),
    "bollinger": lambda s, p: dict(
        zip(
            ("bollinger_upper", "bollinger_middle", "bollinger_lower"),
            bollinger(s.close, p),
            strict=True,
        )
    ),
    "stochastic": lambda s, p: dict(
        zip(("stochastic_k", "stochastic_d"), stochastic(s.high, s.low, s.close), strict=True)
    ),
    "vwap": lambda s, p: {"vwap": _vwap_of(s, p)},
    "obv": lambda s, p: {"obv": obv(s.close, s.volume)},
    "volume_sma": lambda s, p: {"volume_sma": sma(s.volume, p)},
}


def compute_indicators(
    series: CandleSeries, names: list[str] | None = None, *, period: int = DEFAULT_PERIOD
) -> dict[str, FloatArray]:
    """Every requested indicator of ``series`` (default: all), one array per output line.

    Examples
    --------
    >>> import numpy as np
    >>> from learnloop.market.candles import CandleSeries
    >>> t = np.arange(30, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")
    >>> c = np.linspace(1.0, 2.0, 30)
    >>> s = CandleSeries("X", "1d", t, c, c + 0.1, c - 0.1, c, np.ones(30))
    >>> sorted(compute_indicators(s, ["macd", "sma"], period=5))
    ['macd', 'macd_histogram', 'macd_signal', 'sma']
    """
    out: dict[str, FloatArray] = {}
    for name in names or list(INDICATORS):
        out.update(INDICATORS[name](series, period))
    return out


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


Day = Annotated[date, Field(ge=date(1970, 1, 2), le=date(2099, 12, 31))]


class IndicatorsIn(Strict):
    """The query: ``interval`` (default ``1d``), ``from``/``to`` (dates, default the last 90
    days), ``names`` (comma-separated, default all) and ``period`` (2-200, default 20)."""

    interval: Interval = "1d"
    from_: Annotated[Day | None, Field(alias="from")] = None
    to: Day | None = None
    names: Annotated[list[str], Field(min_length=1, max_length=len(INDICATORS))] | None = None
    period: Annotated[int, Field(ge=2, le=200)] = DEFAULT_PERIOD

    @field_validator("names", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("names")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = [n for n in value or [] if n not in INDICATORS]
        if unknown:
            raise ValueError(f"unknown {unknown}; names: {', '.join(INDICATORS)}")
        return list(dict.fromkeys(value)) if value else value


class _SymbolIn(Strict):
    symbol: Symbol


def market_indicators(
    tables: Tables,
    symbol: str,
    query: Mapping[str, str] | None,
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """``GET /v1/market/{symbol}/indicators``: indicator series over a date range.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    symbol : str
        The path's symbol (case-insensitive).
    query : mapping
        See :class:`IndicatorsIn`.
    today : date, optional
        The default ``to`` (default: the current UTC date).

    Returns
    -------
    dict
        ``{"symbol", "interval", "from", "to", "period", "open_time": [...],
        "close": [...], "indicators": {"sma": [...], "macd": [...], ...}}``; values are
        ``None`` where an indicator lacks history. Empty lists when nothing is stored.

    Raises
    ------
    ValidationError
        A bad ``symbol``, ``interval``, ``from``, ``to``, ``names`` or ``period`` (422), or a
        range of more than 2000 candles.

    Examples
    --------
    >>> query = {"names": "rsi,macd", "from": "2026-01-01"}
    >>> market_indicators(tables, "BTC-USD", query)  # doctest: +SKIP
    {'symbol': 'BTC-USD', 'interval': '1d', ..., 'indicators': {'rsi': [...], 'macd': [...], ...}}
    """
    name = validate(_SymbolIn, {"symbol": symbol}).symbol.upper()
    request = validate(IndicatorsIn, dict(query or {}))
    last = request.to or (today or utcnow().date())
    step = INTERVALS[request.interval]
    first = request.from_ or last - timedelta(days=89)
    if first > last:
        raise invalid([{"field": "from", "message": "from is after to"}])
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    points = math.ceil((end - start).total_seconds() / step)
    if points > MAX_POINTS:
        message = f"{points} {request.interval} candles; at most {MAX_POINTS} per request"
        raise invalid([{"field": "from", "message": message}])
    warmup = timedelta(seconds=step * (WARMUP_CANDLES + 3 * request.period))
    series = read_candles(name, request.interval, start - warmup, end, tables=tables)
    values = compute_indicators(series, request.names, period=request.period)
    keep = series.open_time >= np.datetime64(start.replace(tzinfo=None), "s")
    return {
        "symbol": name,
        "interval": request.interval,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "period": request.period,
        "open_time": [t for t, k in zip(series.iso_times(), keep, strict=True) if k],
        "close": _json_floats(series.close[keep]),
        "indicators": {key: _json_floats(array[keep]) for key, array in values.items()},
    }


def _json_floats(values: FloatArray) -> list[float | None]:
    return [None if not math.isfinite(v) else round(v, 10) for v in values.tolist()]
