"""The insight-effectiveness interval on hand-built data whose answer is known: the jackknife
against a brute-force one written independently, a planted effect found, null data covered at
about the nominal rate, and the per-day pattern metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from learnloop.journal.analytics import _did, _window_figures, insight_effectiveness
from learnloop.journal.stats import t_quantile

TREATED, USERS = 30, 60


def stacked(seed: int, effect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A staggered design like the journal's: users 0-29 are treated in turn (cohort ``i`` is
    user ``i``), users 30-59 never; a cohort's controls are the never-treated users and the
    later cohorts. A user's changes share a heavy-tailed user term (Student t, 3 df), so a
    control's changes around different cohorts are correlated."""
    rng = np.random.default_rng(seed)
    user = rng.standard_t(3, size=USERS) * 0.3
    noise = rng.normal(0.0, 0.3, size=(TREATED, USERS))
    change = np.full((TREATED, USERS), np.nan)
    for i in range(TREATED):
        for j in range(i + 1, USERS):
            change[i, j] = user[j] + noise[i, j]
    own = np.array([user[i] + noise[i, i] + effect for i in range(TREATED)])
    return own, change, np.arange(TREATED)


def brute_force_jackknife(own: np.ndarray, change: np.ndarray) -> tuple[float, float]:
    """The effect and its jackknife standard error, by leaving each user out with loops."""

    def effect(without: int | None) -> float | None:
        diffs = []
        for i in range(len(own)):
            if i == without:
                continue
            controls = [
                change[i, j]
                for j in range(change.shape[1])
                if j != without and not math.isnan(change[i, j])
            ]
            if controls:
                diffs.append(own[i] - sum(controls) / len(controls))
        return sum(diffs) / len(diffs) if diffs else None

    whole = effect(None)
    assert whole is not None
    left = [e for j in range(change.shape[1]) if (e := effect(j)) is not None]
    mean = sum(left) / len(left)
    g = len(left)
    return whole, math.sqrt((g - 1) / g * sum((e - mean) ** 2 for e in left))


def test_the_jackknife_interval_is_a_brute_force_jackknife_with_a_t_quantile() -> None:
    own, change, columns = stacked(seed=1, effect=0.0)
    figures = _did(own, change, columns, resamples=0)
    effect, se = brute_force_jackknife(own, change)
    half = t_quantile(TREATED - 1) * se
    assert figures["effect"] == pytest.approx(effect, abs=1e-6)
    assert figures["interval"] == pytest.approx([effect - half, effect + half], abs=1e-6)


def test_a_planted_effect_is_found() -> None:
    for seed in range(5):
        own, change, columns = stacked(seed, effect=-0.5)
        figures = _did(own, change, columns, resamples=0)
        assert figures["significant"] and figures["interval"][1] < 0, figures


def test_null_intervals_cover_zero_at_about_the_nominal_rate() -> None:
    # 300 null datasets: a 95 % interval should miss zero about 15 times. The binomial
    # 99.9 % range for 300 draws at 0.05 is 4 to 29 misses.
    misses = sum(
        _did(*stacked(seed, effect=0.0), resamples=0)["significant"] for seed in range(300)
    )
    assert 4 <= misses <= 29, misses


def test_too_few_treated_users_or_an_unknown_interval_give_no_interval() -> None:
    own, change, columns = stacked(seed=2, effect=0.0)
    assert _did(own[:4], change[:4], columns[:4], resamples=0)["interval"] is None
    with pytest.raises(ValueError, match="interval"):
        insight_effectiveness([], {}, [], interval="normal")


def test_the_day_rate_counts_active_days_with_the_pattern() -> None:
    # a burst day of three flagged trades and one calm trade the next day
    trades = [
        {"trade_id": "t1", "at": "2026-11-02T10:00:00Z", "outcome": "loss", "pnl": -1.0},
        {"trade_id": "t2", "at": "2026-11-02T10:05:00Z", "outcome": "loss", "pnl": -1.0},
        {"trade_id": "t3", "at": "2026-11-02T10:10:00Z", "outcome": "win", "pnl": 1.0},
        {"trade_id": "t4", "at": "2026-11-03T10:00:00Z", "outcome": "win", "pnl": 1.0},
    ]
    flagged = {t: {"overtrading"} for t in ("t1", "t2", "t3")}
    figures = _window_figures(trades, {"overtrading"}, flagged)
    assert figures["pattern_rate"] == 0.75  # three trades of four
    assert figures["pattern_day_rate"] == 0.5  # one day of two
