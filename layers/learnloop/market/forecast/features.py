"""Forecast features from one symbol's candles, each row using only what was known at its close.

Row ``t`` of :func:`build_features` describes the market at the close of candle ``t``: every
column is a function of ``open/high/low/close/volume[: t + 1]`` only (trailing windows, never
centred ones), so a model that forecasts candle ``t + 1`` from row ``t`` never sees the
future. :func:`target_log_return` is the thing forecast: ``log(close[t + 1] / close[t])``
(NaN on the last row, whose next close is unknown). ``tests/unit/market/
test_forecast_features.py`` perturbs every value after ``t`` and checks rows ``<= t`` do not
move.

When the symbol has text sentiment (issue 16: the sentiment aggregates as features), three
more columns follow (:data:`SENTIMENT_FEATURE_NAMES`): the source-weighted score, the plain
mean polarity and ``log1p`` of the number of scored texts of **the last UTC day that had ended
when candle t closed** (:func:`sentiment_days`): for a daily candle, its own day, the day before
the forecast's target; for an hourly candle, yesterday. A day with no text is ``0, 0, 0``.
The same test perturbs every later day's sentiment too.

The indicators here are small hand-written numpy functions (trailing means, Wilder's RSI, an
EMA) rather than the market indicators module, so the forecast has no dependency beyond numpy;
each is a few lines and checked against a direct loop in the tests.

Examples
--------
>>> import numpy as np
>>> close = np.linspace(100.0, 120.0, 60)
>>> X = build_features(close, close * 1.01, close * 0.99, np.full(60, 5.0))
>>> X.shape == (60, len(FEATURE_NAMES))
True
>>> bool(np.isnan(X[WARMUP - 1]).any()), bool(np.isfinite(X[WARMUP]).all())
(True, True)
>>> round(float(target_log_return(close)[0]), 6)
0.003384
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "FEATURE_NAMES",
    "SENTIMENT_FEATURE_NAMES",
    "VOLATILITY_FEATURE",
    "WARMUP",
    "DailySentiment",
    "build_features",
    "ema",
    "feature_names",
    "log_returns",
    "rolling_mean",
    "rolling_std",
    "rsi",
    "sentiment_days",
    "sentiment_features",
    "sequences",
    "target_log_return",
]

#: The columns of :func:`build_features`, in order.
FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_2",
    "ret_3",
    "ret_sum_5",
    "ret_sum_10",
    "ret_mean_20",
    "vol_5",
    "vol_20",
    "vol_ratio",
    "rsi_14",
    "close_sma_20",
    "close_ema_50",
    "range_hl",
    "close_in_range",
    "log_volume_change",
    "volume_z_20",
)
#: Appended after :data:`FEATURE_NAMES` when a version uses the symbol's text sentiment.
SENTIMENT_FEATURE_NAMES: tuple[str, ...] = (
    "sentiment_score",
    "sentiment_mean",
    "sentiment_log_count",
)
#: One symbol's daily text sentiment: ``{"YYYY-MM-DD": {"score": source-weighted mean,
#: "mean": mean polarity, "count": scored texts}}`` (:func:`learnloop.sentiment.daily.
#: daily_sentiment`); days without texts may be absent.
DailySentiment = Mapping[str, Mapping[str, float | None]]
_DAY = 86400
#: The column the conformal interval scales by (20-candle volatility of log returns).
VOLATILITY_FEATURE = "vol_20"
#: Rows before this index lack some trailing window (NaN somewhere); the longest window is the
#: 50-candle EMA (warmed up over 50 returns, one more row for the first return).
WARMUP = 51


def log_returns(close: np.ndarray) -> np.ndarray:
    """``log(close[t] / close[t - 1])``; NaN at ``t = 0``.

    Examples
    --------
    >>> log_returns(np.array([1.0, np.e, 1.0])).round(6).tolist()
    [nan, 1.0, -1.0]
    """
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    out[1:] = np.log(close[1:] / close[:-1])
    return out


def target_log_return(close: np.ndarray) -> np.ndarray:
    """What row ``t`` forecasts: ``log(close[t + 1] / close[t])``; NaN on the last row.

    Examples
    --------
    >>> target_log_return(np.array([1.0, np.e])).round(6).tolist()
    [1.0, nan]
    """
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    out[:-1] = np.log(close[1:] / close[:-1])
    return out


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``values[t - window + 1 : t + 1]``; NaN until the window is full or
    when it holds a NaN.

    Examples
    --------
    >>> rolling_mean(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [nan, 1.5, 2.5, 3.5]
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    if len(values) < window:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    out[window - 1 :] = windows.mean(axis=1)
    return out


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing sample standard deviation (``ddof=1``) over ``window`` values.

    Examples
    --------
    >>> rolling_std(np.array([1.0, 3.0, 5.0]), 2).tolist()
    [nan, 1.4142135623730951, 1.4142135623730951]
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    if len(values) < window:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    out[window - 1 :] = windows.std(axis=1, ddof=1)
    return out


def ema(values: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average (``alpha = 2 / (span + 1)``) seeded with the mean of the
    first ``span`` finite values; NaN before that. A causal recursion: row ``t`` uses rows
    ``<= t`` only.

    Examples
    --------
    >>> ema(np.array([1.0, 2.0, 3.0, 4.0]), 2).round(4).tolist()
    [nan, 1.5, 2.5, 3.5]
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    if len(finite) < span:
        return out
    start = finite[0] + span - 1
    alpha = 2.0 / (span + 1.0)
    level = float(np.mean(values[finite[0] : start + 1]))
    out[start] = level
    for t in range(start + 1, len(values)):
        level = alpha * values[t] + (1.0 - alpha) * level
        out[t] = level
    return out


def rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Wilder's relative strength index in [0, 100] (100 when there was no loss).

    Examples
    --------
    >>> float(rsi(np.arange(1.0, 20.0), 14)[-1])
    100.0
    """
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    if len(close) <= period:
        return out
    change = np.diff(close)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    avg_gain, avg_loss = gain[:period].mean(), loss[:period].mean()
    for t in range(period, len(close)):
        if t > period:
            avg_gain = (avg_gain * (period - 1) + gain[t - 1]) / period
            avg_loss = (avg_loss * (period - 1) + loss[t - 1]) / period
        out[t] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


def feature_names(sentiment: bool = False) -> tuple[str, ...]:
    """The columns of :func:`build_features`, with or without the sentiment ones.

    Examples
    --------
    >>> len(feature_names()), feature_names(sentiment=True)[-1]
    (16, 'sentiment_log_count')
    """
    return FEATURE_NAMES + SENTIMENT_FEATURE_NAMES if sentiment else FEATURE_NAMES


def sentiment_days(open_time: np.ndarray, interval_seconds: int) -> np.ndarray:
    """The UTC day whose sentiment row ``t`` may use: the last day that had ended when candle
    ``t`` closed (``open_time + interval``). Every text of that day was published before the
    close; a day still running at the close is never used.

    Examples
    --------
    >>> days = np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[s]")
    >>> sentiment_days(days, 86400).astype(str).tolist()  # a daily candle: its own day
    ['2026-01-05', '2026-01-06']
    >>> hours = np.array(["2026-01-05T00:00", "2026-01-05T23:00"], dtype="datetime64[s]")
    >>> sentiment_days(hours, 3600).astype(str).tolist()  # hourly: yesterday until 24:00
    ['2026-01-04', '2026-01-05']
    """
    closes = np.asarray(open_time).astype("datetime64[s]") + np.timedelta64(interval_seconds, "s")
    return closes.astype("datetime64[D]") - np.timedelta64(1, "D")


def sentiment_features(
    open_time: np.ndarray, interval_seconds: int, daily: DailySentiment
) -> np.ndarray:
    """The ``[n, 3]`` sentiment columns (:data:`SENTIMENT_FEATURE_NAMES`) of each candle:
    its :func:`sentiment_days` day's score, mean and ``log1p(count)``; ``0, 0, 0`` for a day
    without scored texts.

    Examples
    --------
    >>> opened = np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[s]")
    >>> daily = {"2026-01-05": {"score": 0.5, "mean": 0.25, "count": 3}}
    >>> sentiment_features(opened, 86400, daily).round(4).tolist()
    [[0.5, 0.25, 1.3863], [0.0, 0.0, 0.0]]
    """
    days = sentiment_days(open_time, interval_seconds).astype(str)
    out = np.zeros((len(days), len(SENTIMENT_FEATURE_NAMES)))
    for i, day in enumerate(days):
        entry = daily.get(str(day))
        count = float((entry or {}).get("count") or 0.0)
        if entry is None or count <= 0:
            continue
        score, mean = entry.get("score"), entry.get("mean")
        out[i] = (
            float(score) if score is not None else 0.0,  # every source weighted 0
            float(mean) if mean is not None else 0.0,
            np.log1p(count),
        )
    return out


def build_features(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    sentiment: np.ndarray | None = None,
) -> np.ndarray:
    """The ``[n, len(FEATURE_NAMES)]`` float64 feature matrix (plus the sentiment columns when
    given); rows before :data:`WARMUP` hold NaN.

    Parameters
    ----------
    close, high, low, volume : numpy.ndarray
        One symbol's candles, oldest first, the same length.
    sentiment : numpy.ndarray, optional
        :func:`sentiment_features` of the same candles, appended as the last columns.

    Returns
    -------
    numpy.ndarray
        Row ``t`` from candles ``<= t`` only: lagged and summed log returns, trailing means
        and volatilities of returns, RSI(14), the close against its SMA(20) and EMA(50), the
        candle's range and where the close sits in it, and volume change / z-score.

    Examples
    --------
    >>> c = np.exp(np.cumsum(np.full(80, 0.01)))
    >>> X = build_features(c, c, c, np.ones(80))
    >>> round(float(X[-1, FEATURE_NAMES.index("ret_1")]), 6)
    0.01
    """
    close = np.asarray(close, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    volume = np.asarray(volume, dtype=np.float64)
    n = len(close)
    if not len(high) == len(low) == len(volume) == n:
        raise ValueError("close, high, low and volume must have the same length")
    r = log_returns(close)

    def lag(values: np.ndarray, k: int) -> np.ndarray:
        out = np.full(n, np.nan)
        out[k:] = values[: n - k] if k else values
        return out

    vol_5, vol_20 = rolling_std(r, 5), rolling_std(r, 20)
    log_volume = np.log1p(np.clip(volume, 0, None))
    volume_change = np.full(n, np.nan)
    volume_change[1:] = np.diff(log_volume)
    volume_mean, volume_std = rolling_mean(log_volume, 20), rolling_std(log_volume, 20)
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = {
            "ret_1": r,
            "ret_2": lag(r, 1),
            "ret_3": lag(r, 2),
            "ret_sum_5": rolling_mean(r, 5) * 5.0,
            "ret_sum_10": rolling_mean(r, 10) * 10.0,
            "ret_mean_20": rolling_mean(r, 20),
            "vol_5": vol_5,
            "vol_20": vol_20,
            "vol_ratio": vol_5 / vol_20,
            "rsi_14": rsi(close, 14) / 100.0,
            "close_sma_20": close / rolling_mean(close, 20) - 1.0,
            "close_ema_50": close / ema(close, 50) - 1.0,
            "range_hl": span / close,
            # a candle with no range closes "in the middle"
            "close_in_range": np.where(span > 0, (close - low) / np.where(span > 0, span, 1), 0.5),
            "log_volume_change": volume_change,
            "volume_z_20": np.where(
                volume_std > 0,
                (log_volume - volume_mean) / np.where(volume_std > 0, volume_std, 1),
                0.0,
            ),
        }
    X = np.column_stack([columns[name] for name in FEATURE_NAMES])
    if sentiment is not None:
        sentiment = np.asarray(sentiment, dtype=np.float64)
        if sentiment.shape != (n, len(SENTIMENT_FEATURE_NAMES)):
            raise ValueError(f"sentiment must be [{n}, {len(SENTIMENT_FEATURE_NAMES)}]")
        X = np.column_stack([X, sentiment])
    X[~np.isfinite(X)] = np.nan
    X[:WARMUP] = np.nan  # one warm-up for every column: rows are usable from the same index
    return X


def sequences(X: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """The ``[len(rows), window, k]`` float32 windows ``X[t - window + 1 : t + 1]`` ending at
    each row ``t`` of ``rows`` (what the LSTM reads; trailing, so still causal).

    Raises
    ------
    ValueError
        When a row's window starts before row 0.

    Examples
    --------
    >>> sequences(np.arange(10.0).reshape(5, 2), np.array([2, 4]), 2)[:, :, 0].tolist()
    [[2.0, 4.0], [6.0, 8.0]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and rows.min() < window - 1:
        raise ValueError(f"row {int(rows.min())} has fewer than {window} rows before it")
    offsets = np.arange(-window + 1, 1)
    return np.asarray(X[rows[:, None] + offsets[None, :]], dtype=np.float32)
