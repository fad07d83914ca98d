"""Every indicator equals an independent computation (pandas' rolling/ewm or a plain loop) to
1e-9 on a fixed series, NaN where the reference has no value yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from learnloop.market import indicators as ind
from learnloop.market.candles import CandleSeries

N = 160


def fixed_series(interval: str = "1d", n: int = N) -> CandleSeries:
    rng = np.random.default_rng(20261207)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[100.0, close[:-1]]
    shadow = np.exp(np.abs(rng.normal(0, 0.01, (2, n))))
    high = np.maximum(open_, close) * shadow[0]
    low = np.minimum(open_, close) / shadow[1]
    volume = rng.uniform(1e3, 5e3, n)
    step = {"1d": 86_400, "1h": 3_600}[interval]
    times = (np.arange(n, dtype=np.int64) * step + 1_767_225_600).astype("datetime64[s]")
    return CandleSeries("TEST", interval, times, open_, high, low, close, volume)


def same(actual: np.ndarray, expected: np.ndarray | pd.Series) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9, equal_nan=True)


def ref_ema(values: np.ndarray, period: int) -> np.ndarray:
    """The SMA of the first ``period`` values, then pandas' recursive EWM (adjust=False)."""
    s = pd.Series(values, dtype=float)
    first = int(np.flatnonzero(~np.isnan(values))[0])
    seeded = s.iloc[first + period - 1 :].copy()
    seeded.iloc[0] = s.iloc[first : first + period].mean()
    out = np.full(len(values), np.nan)
    out[first + period - 1 :] = seeded.ewm(span=period, adjust=False).mean().to_numpy()
    return out


def ref_rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI by hand: mean gain/loss of the first ``period`` changes, then smoothing."""
    change = np.diff(close)
    gains, losses = np.maximum(change, 0), np.maximum(-change, 0)
    out = np.full(len(close), np.nan)
    avg_gain, avg_loss = gains[:period].mean(), losses[:period].mean()
    out[period] = 100 - 100 / (1 + avg_gain / avg_loss)
    for i in range(period, len(change)):
        avg_gain = (avg_gain * (period - 1) + gains[i]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i]) / period
        out[i + 1] = 100 - 100 / (1 + avg_gain / avg_loss)
    return out


def test_moving_averages_equal_pandas() -> None:
    s = fixed_series()
    close = pd.Series(s.close)
    weights = np.arange(1, 21, dtype=float)
    same(ind.sma(s.close, 20), close.rolling(20).mean())
    same(ind.wma(s.close, 20), close.rolling(20).apply(lambda w: w @ weights / weights.sum()))
    same(ind.ema(s.close, 20), ref_ema(s.close, 20))
    same(ind.sma(s.volume, 20), pd.Series(s.volume).rolling(20).mean())


def test_rsi_equals_wilders_hand_computation() -> None:
    s = fixed_series()
    same(ind.rsi(s.close, 14), ref_rsi(s.close, 14))


def test_macd_is_the_difference_of_textbook_emas_and_its_ema() -> None:
    s = fixed_series()
    line, signal, histogram = ind.macd(s.close, 12, 26, 9)
    expected_line = ref_ema(s.close, 12) - ref_ema(s.close, 26)
    expected_signal = ref_ema(expected_line, 9)
    same(line, expected_line)
    same(signal, expected_signal)
    same(histogram, expected_line - expected_signal)
    assert np.isnan(signal[: 25 + 8]).all() and not np.isnan(signal[25 + 8 :]).any()


def test_bollinger_bands_use_the_population_standard_deviation() -> None:
    s = fixed_series()
    close = pd.Series(s.close)
    mean, std = close.rolling(20).mean(), close.rolling(20).std(ddof=0)
    upper, middle, lower = ind.bollinger(s.close, 20, 2.0)
    same(middle, mean)
    same(upper, mean + 2 * std)
    same(lower, mean - 2 * std)


def test_slow_stochastic_equals_rolling_extremes_smoothed_twice() -> None:
    s = fixed_series()
    high, low, close = pd.Series(s.high), pd.Series(s.low), pd.Series(s.close)
    lowest, highest = low.rolling(14).min(), high.rolling(14).max()
    raw_k = 100 * (close - lowest) / (highest - lowest)
    slow_k = raw_k.rolling(3).mean()
    k, d = ind.stochastic(s.high, s.low, s.close, 14, 3, 3)
    same(k, slow_k)
    same(d, slow_k.rolling(3).mean())


def test_obv_adds_or_subtracts_each_volume_by_the_close_move() -> None:
    s = fixed_series()
    expected = np.empty(N)
    expected[0] = s.volume[0]
    for i in range(1, N):
        direction = np.sign(s.close[i] - s.close[i - 1])
        expected[i] = expected[i - 1] + direction * s.volume[i]
    same(ind.obv(s.close, s.volume), expected)


def test_vwap_rolling_for_daily_candles_and_per_utc_session_intraday() -> None:
    daily = fixed_series("1d")
    typical = pd.Series((daily.high + daily.low + daily.close) / 3)
    volume = pd.Series(daily.volume)
    rolling = (typical * volume).rolling(20).sum() / volume.rolling(20).sum()
    same(ind.compute_indicators(daily, ["vwap"], period=20)["vwap"], rolling)

    hourly = fixed_series("1h", 60)  # starts at midnight: sessions of 24, 24 and 12 candles
    frame = pd.DataFrame(
        {
            "pv": (hourly.high + hourly.low + hourly.close) / 3 * hourly.volume,
            "v": hourly.volume,
            "day": hourly.open_time.astype("datetime64[D]"),
        }
    )
    grouped = frame.groupby("day")
    session = grouped["pv"].cumsum() / grouped["v"].cumsum()
    same(ind.compute_indicators(hourly, ["vwap"])["vwap"], session)
    assert hourly.open_time[24].astype("datetime64[D]") != hourly.open_time[23].astype(
        "datetime64[D]"
    )


def test_every_registered_indicator_is_computed_and_unknown_names_are_refused() -> None:
    out = ind.compute_indicators(fixed_series())
    assert set(out) == {
        "sma",
        "ema",
        "wma",
        "rsi",
        "macd",
        "macd_signal",
        "macd_histogram",
        "bollinger_upper",
        "bollinger_middle",
        "bollinger_lower",
        "stochastic_k",
        "stochastic_d",
        "vwap",
        "obv",
        "volume_sma",
    }
    assert all(len(v) == N for v in out.values())
    with pytest.raises(KeyError):
        ind.compute_indicators(fixed_series(), ["ichimoku"])
