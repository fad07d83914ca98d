"""A planted flash crash in a synthetic series is flagged, and nothing else in it is."""

from __future__ import annotations

import numpy as np

from learnloop.market.anomalies import detect_anomalies, robust_z
from learnloop.market.candles import CandleSeries

N = 400
CRASH = 300


def synthetic(*, crash: bool, seed: int = 11) -> CandleSeries:
    """Daily candles of a random walk (1.5 % a day), random shadows and volumes."""
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.015, N)))
    open_ = np.r_[30_000.0, close[:-1]]
    shadows = np.exp(np.abs(rng.normal(0, 0.005, (2, N))))
    high = np.maximum(open_, close) * shadows[0]
    low = np.minimum(open_, close) / shadows[1]
    volume = 1e9 * np.exp(rng.normal(0, 0.2, N))
    if crash:
        # Down 25 % inside the day on six times the volume, closing 1 % below the open.
        low[CRASH] = open_[CRASH] * 0.75
        close[CRASH] = open_[CRASH] * 0.99
        high[CRASH] = open_[CRASH] * 1.002
        volume[CRASH] *= 6
        open_[CRASH + 1] = close[CRASH]
        high[CRASH + 1] = max(high[CRASH + 1], open_[CRASH + 1])
        low[CRASH + 1] = min(low[CRASH + 1], open_[CRASH + 1])
    times = (np.arange(N, dtype=np.int64) * 86_400 + 1_600_000_000 // 86_400 * 86_400).astype(
        "datetime64[s]"
    )
    return CandleSeries("SYN", "1d", times, open_, high, low, close, volume)


def test_the_planted_flash_crash_is_flagged_and_nothing_else() -> None:
    series = synthetic(crash=True)
    flags = detect_anomalies(series)
    crash_time = series.iso_times()[CRASH]
    assert {(f.open_time, f.kind) for f in flags} == {
        (crash_time, "flash_crash"),
        (crash_time, "volume"),
    }
    crash = next(f for f in flags if f.kind == "flash_crash")
    assert crash.score < -6 and crash.value == round(0.75 - 1, 8)
    assert crash.detail["recovered"] > 0.9


def test_the_same_series_without_the_crash_has_no_flags() -> None:
    for seed in range(5):
        assert detect_anomalies(synthetic(crash=False, seed=seed)) == []


def test_a_crash_that_closes_at_its_low_is_a_price_anomaly_not_a_flash_crash() -> None:
    series = synthetic(crash=False)
    low, close = series.low.copy(), series.close.copy()
    close[CRASH] = series.open[CRASH] * 0.75
    low[CRASH] = close[CRASH] * 0.999
    dumped = CandleSeries(
        "SYN", "1d", series.open_time, series.open, series.high, low, close, series.volume
    )
    kinds = {(f.open_time, f.kind) for f in detect_anomalies(dumped)}
    assert (dumped.iso_times()[CRASH], "price") in kinds
    assert not any(kind == "flash_crash" for _, kind in kinds)


def test_scores_use_only_the_past() -> None:
    values = np.random.default_rng(3).normal(size=200)
    before = robust_z(values)
    changed = values.copy()
    changed[150:] = 1e6  # the future changes...
    after = robust_z(changed)
    np.testing.assert_array_equal(before[:150], after[:150])  # ...scores before it do not
    assert np.isnan(before[:20]).all()


def test_a_flat_window_scores_nothing_rather_than_infinity() -> None:
    z = robust_z(np.r_[np.ones(30), 2.0])
    assert np.isnan(z).all()


def loop_robust_z(x: np.ndarray, window: int = 60, min_periods: int = 20) -> np.ndarray:
    """The definition, one position at a time."""
    out = np.full(len(x), np.nan)
    for i in range(min_periods, len(x)):
        past = x[max(0, i - window) : i]
        past = past[np.isfinite(past)]
        if len(past) < min_periods or not np.isfinite(x[i]):
            continue
        median = np.median(past)
        mad = np.median(np.abs(past - median))
        if mad > 0:
            out[i] = 0.6744897501960817 * (x[i] - median) / mad
        elif np.mean(np.abs(past - median)) > 0:
            out[i] = (x[i] - median) / (np.sqrt(np.pi / 2) * np.mean(np.abs(past - median)))
    return out


def test_the_vectorised_scores_equal_the_definition() -> None:
    rng = np.random.default_rng(1)
    for x in (
        rng.normal(size=300),
        np.r_[np.nan, rng.standard_t(3, size=150)],
        np.r_[np.ones(40), rng.integers(0, 3, 50).astype(float)],  # MAD 0: the mean-AD fallback
        np.ones(10),
    ):
        np.testing.assert_allclose(robust_z(x), loop_robust_z(x), rtol=0, atol=1e-12)
