"""Forecast features use only the past: changing any candle after t leaves rows <= t as they were,
and changing the text sentiment of any day not over when candle t closed does not either.

The check (:func:`assert_no_lookahead`) is itself tested on a feature that peeks (a centred
mean): it must catch it, or the no-look-ahead test proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from learnloop.market.forecast.features import (
    FEATURE_NAMES,
    WARMUP,
    build_features,
    ema,
    feature_names,
    rolling_mean,
    rolling_std,
    rsi,
    sentiment_days,
    sentiment_features,
    sequences,
    target_log_return,
)

Builder = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def candles(n: int = 160, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    spread = np.abs(rng.normal(0.0, 0.01, n))
    volume = rng.uniform(1e5, 1e6, n)
    return close, close * (1 + spread), close * (1 - spread), volume


def assert_no_lookahead(build: Builder, cuts: tuple[int, ...] = (60, 90, 120, 158)) -> None:
    """For each cut t: rewrite every candle after t (prices x3 and noise, volume x10) and
    require rows 0..t to be identical (NaN where NaN)."""
    close, high, low, volume = candles()
    before = build(close, high, low, volume)
    rng = np.random.default_rng(1)
    for t in cuts:
        later = slice(t + 1, None)
        c, h, lo, v = close.copy(), high.copy(), low.copy(), volume.copy()
        noise = rng.uniform(2.0, 4.0, len(c) - t - 1)
        c[later] *= noise
        h[later] = c[later] * 1.05
        lo[later] = c[later] * 0.95
        v[later] *= 10.0
        after = build(c, h, lo, v)
        np.testing.assert_array_equal(before[: t + 1], after[: t + 1], err_msg=f"cut {t}")


def test_no_feature_peeks_at_the_future() -> None:
    assert_no_lookahead(build_features)


def test_the_check_catches_a_feature_that_peeks() -> None:
    def peeking(
        close: np.ndarray, high: np.ndarray, low: np.ndarray, vol: np.ndarray
    ) -> np.ndarray:
        X = build_features(close, high, low, vol)
        centred = np.convolve(np.log(close), np.ones(5) / 5, mode="same")  # uses t+1, t+2
        return np.column_stack([X, centred])

    with pytest.raises(AssertionError):
        assert_no_lookahead(peeking)


def test_the_target_is_the_next_log_return_and_unknown_on_the_last_row() -> None:
    close = np.array([100.0, 110.0, 99.0])
    y = target_log_return(close)
    np.testing.assert_allclose(y[:2], [np.log(1.1), np.log(0.9)])
    assert np.isnan(y[-1])
    # the target of row t changes when close[t + 1] does: it is the future, by design
    close2 = close.copy()
    close2[1] = 120.0
    assert target_log_return(close2)[0] != y[0]


def test_warm_up_rows_are_nan_and_later_rows_finite() -> None:
    X = build_features(*candles())
    assert X.shape == (160, len(FEATURE_NAMES))
    assert np.isnan(X[:WARMUP]).all()
    assert np.isfinite(X[WARMUP:]).all()


def test_trailing_indicators_equal_a_direct_loop() -> None:
    close = candles()[0]
    r = np.diff(np.log(close))
    for t in (30, 100, 150):
        assert rolling_mean(close, 20)[t] == pytest.approx(close[t - 19 : t + 1].mean(), 1e-12)
        assert rolling_std(r, 20)[t] == pytest.approx(np.std(r[t - 19 : t + 1], ddof=1), 1e-12)
    level = close[:50].mean()
    for value in close[50:]:
        level = (2 / 51) * value + (1 - 2 / 51) * level
    assert ema(close, 50)[-1] == pytest.approx(level, rel=1e-12)
    # Wilder's RSI by its definition
    change = np.diff(close)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    g, lo = gain[:14].mean(), loss[:14].mean()
    for t in range(14, len(change)):
        g, lo = (g * 13 + gain[t]) / 14, (lo * 13 + loss[t]) / 14
    assert rsi(close, 14)[-1] == pytest.approx(100 - 100 / (1 + g / lo), rel=1e-12)


def test_sequences_end_at_their_row() -> None:
    X = np.arange(30.0).reshape(10, 3)
    windows = sequences(X, np.array([4, 9]), 3)
    assert windows.shape == (2, 3, 3) and windows.dtype == np.float32
    np.testing.assert_array_equal(windows[1], X[7:10])
    with pytest.raises(ValueError, match="fewer than 3"):
        sequences(X, np.array([1]), 3)


# --- text sentiment columns: the last UTC day complete at the candle's close ----------------


def daily_sentiment(n_days: int = 200, seed: int = 3) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01", "D")
    return {
        str(start + d): {
            "score": float(rng.uniform(-1, 1)),
            "mean": float(rng.uniform(-1, 1)),
            "count": int(rng.integers(1, 50)),
        }
        for d in range(-1, n_days)
        if rng.uniform() < 0.8  # some days have no text
    }


def sentiment_builder(
    interval: int, daily: dict[str, dict[str, float]], *, shift_days: int = 0
) -> Callable[[dict[str, dict[str, float]]], np.ndarray]:
    """build_features with the sentiment of each candle's sentiment day (+ ``shift_days``:
    a builder that peeks when > 0)."""
    close, high, low, volume = candles()
    opened = np.datetime64("2020-01-01T00:00", "s") + np.arange(len(close)) * np.timedelta64(
        interval, "s"
    )

    def build(days: dict[str, dict[str, float]]) -> np.ndarray:
        shifted = {
            str(np.datetime64(day, "D") - np.timedelta64(shift_days, "D")): v
            for day, v in days.items()
        }
        return build_features(
            close, high, low, volume, sentiment_features(opened, interval, shifted)
        )

    build.opened = opened  # type: ignore[attr-defined]
    return build


def assert_sentiment_no_lookahead(
    build: Callable[[dict[str, dict[str, float]]], np.ndarray],
    interval: int,
    cuts: tuple[int, ...] = (60, 90, 120, 158),
) -> None:
    """For each cut t: rewrite the sentiment of every day that had not ended when candle t
    closed and require rows 0..t to be identical."""
    daily = daily_sentiment()
    before = build(daily)
    moved = 0
    closes = build.opened + np.timedelta64(interval, "s")  # type: ignore[attr-defined]
    for t in cuts:
        changed = {
            day: (
                {"score": -v["score"], "mean": 0.9, "count": v["count"] * 7}
                if np.datetime64(day, "D") + np.timedelta64(1, "D") > closes[t]
                else v
            )
            for day, v in daily.items()
        }
        # a text on a day that had none before must not show either
        for d in range(0, 400):
            day = str(np.datetime64("2020-01-01", "D") + d)
            if np.datetime64(day, "D") + np.timedelta64(1, "D") > closes[t]:
                changed.setdefault(day, {"score": 1.0, "mean": 1.0, "count": 3})
        after = build(changed)
        np.testing.assert_array_equal(before[: t + 1], after[: t + 1], err_msg=f"cut {t}")
        moved += int(not np.array_equal(before[t + 1 :], after[t + 1 :]))
    assert moved  # later rows did read the rewritten days: the check is not vacuous


@pytest.mark.parametrize("interval", [86400, 3600, 4 * 3600])
def test_no_sentiment_feature_peeks_at_a_day_not_over(interval: int) -> None:
    assert_sentiment_no_lookahead(sentiment_builder(interval, daily_sentiment()), interval)


@pytest.mark.parametrize("interval", [86400, 3600])
def test_the_sentiment_check_catches_a_feature_that_reads_the_next_day(interval: int) -> None:
    with pytest.raises(AssertionError):
        assert_sentiment_no_lookahead(
            sentiment_builder(interval, daily_sentiment(), shift_days=1), interval
        )


def test_sentiment_columns_by_hand() -> None:
    opened = np.array(
        ["2026-01-05T00:00", "2026-01-06T00:00", "2026-01-07T00:00"], dtype="datetime64[s]"
    )
    daily = {
        "2026-01-05": {"score": 0.4, "mean": 0.2, "count": 4},
        "2026-01-06": {"score": None, "mean": -0.5, "count": 2},  # every source weighted 0
        "2026-01-07": {"score": 0.9, "mean": 0.9, "count": 0},  # nothing scored: missing
    }
    cols = sentiment_features(opened, 86400, daily)
    np.testing.assert_allclose(
        cols, [[0.4, 0.2, np.log(5.0)], [0.0, -0.5, np.log(3.0)], [0.0, 0.0, 0.0]]
    )
    hourly = np.array(["2026-01-06T00:00", "2026-01-06T22:00", "2026-01-06T23:00"], "datetime64[s]")
    # an hourly candle reads yesterday until the day is over: the one closing at 24:00 reads it
    assert sentiment_days(hourly, 3600).astype(str).tolist() == [
        "2026-01-05",
        "2026-01-05",
        "2026-01-06",
    ]


def test_without_sentiment_the_features_are_those_of_before() -> None:
    close, high, low, volume = candles()
    X = build_features(close, high, low, volume)
    assert X.shape[1] == len(FEATURE_NAMES) == len(feature_names())
    opened = np.datetime64("2020-01-01", "s") + np.arange(len(close)) * np.timedelta64(86400, "s")
    with_sentiment = build_features(
        close, high, low, volume, sentiment_features(opened, 86400, daily_sentiment())
    )
    assert with_sentiment.shape[1] == len(feature_names(sentiment=True)) == X.shape[1] + 3
    np.testing.assert_array_equal(with_sentiment[:, : X.shape[1]], X)
    with pytest.raises(ValueError, match="sentiment"):
        build_features(close, high, low, volume, np.zeros((3, 3)))
