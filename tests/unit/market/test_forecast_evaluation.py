"""Walk-forward folds, metrics, the Wilson interval, ensemble weights and conformal coverage."""

from __future__ import annotations

import numpy as np
import pytest

from learnloop.market.forecast.ensemble import (
    combination_for_next,
    combine_walk_forward,
    conformal_quantile,
    inverse_mae_weights,
)
from learnloop.market.forecast.evaluation import (
    baseline_predictions,
    score_forecasts,
    walk_forward_folds,
    wilson_interval,
)


def test_folds_expand_and_every_test_row_comes_after_its_training_rows() -> None:
    rows = np.arange(5, 105)
    folds = walk_forward_folds(rows, first_test=40, step=25)
    assert [len(test) for _, test in folds] == [25, 25, 10]
    tested = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(tested, rows[40:])  # each row tested exactly once
    for train, test in folds:
        assert train.max() < test.min()
        np.testing.assert_array_equal(train, rows[: len(train)])  # expanding from the start


def test_wilson_interval_matches_hand_computed_values() -> None:
    # p = 0.55, n = 200, z = 1.96: centre (0.55 + 1.96²/400) / (1 + 1.96²/200), half-width
    # 1.96 * sqrt(0.55 * 0.45 / 200 + 1.96² / 160000) / (1 + 1.96²/200)
    z = 1.959963984540054
    centre = (0.55 + z * z / 400) / (1 + z * z / 200)
    half = z * np.sqrt(0.55 * 0.45 / 200 + z * z / 160000) / (1 + z * z / 200)
    assert wilson_interval(110, 200) == (round(centre - half, 6), round(centre + half, 6))
    # and scipy's (binomtest(...).proportion_ci(method="wilson"))
    assert wilson_interval(110, 200) == (0.480756, 0.617359)
    assert wilson_interval(10, 10) == (0.722467, 1.0)


def test_scores_against_persistence_on_hand_made_rows() -> None:
    close = np.array([100.0, 200.0, 100.0, 50.0])
    actual = np.log(np.array([1.1, 0.9, 1.2, 0.95]))
    model = np.log(np.array([1.05, 0.95, 1.1, 1.0]))
    scores = score_forecasts(
        actual,
        close,
        {**baseline_predictions(np.array([0.01, 0.03]), 4), "model": model},
        {"model": (model - 0.06, model + 0.06)},
    )
    # persistence errs |close * 0.1|, |200 * 0.1|, |100 * 0.2|, |50 * 0.05| = 10, 20, 20, 2.5
    assert scores["persistence"]["mae"] == pytest.approx(52.5 / 4)
    # the model errs 5, 10, 10, 2.5
    assert scores["model"]["mae"] == pytest.approx(27.5 / 4)
    assert scores["model"]["mae_ratio"] == pytest.approx(27.5 / 52.5)
    # up, down, up, "not up" (a zero return) against up, down, up, down: all four right
    assert scores["model"]["directional_accuracy"] == 1.0
    assert scores["persistence"]["directional_accuracy"] == 0.5  # "not up" every day
    assert scores["always_up"]["directional_accuracy"] == 0.5
    assert scores["always_up"]["mae"] is None
    # |actual - model| = 0.047, 0.054, 0.087, 0.051: three of four inside ±0.06
    assert scores["model"]["coverage"] == 0.75
    assert (scores["model"]["directional_low"], scores["model"]["directional_high"]) == (
        wilson_interval(4, 4)
    )


def test_inverse_mae_weights_favour_the_recently_better_member() -> None:
    weights = inverse_mae_weights({"a": np.full(10, 0.01), "b": np.full(10, 0.03)})
    assert weights == pytest.approx({"a": 0.75, "b": 0.25})
    assert sum(weights.values()) == pytest.approx(1.0)


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    scores = np.arange(1.0, 100.0)  # 99 scores: rank ceil(100 * 0.8) = 80
    assert conformal_quantile(scores, 0.8) == 80.0
    assert conformal_quantile(np.ones(3), 0.8) == np.inf  # rank 4 of 3


def test_conformal_intervals_cover_80_percent_on_noise_of_known_scale() -> None:
    # y = signal + sigma_t * e, e ~ N(0, 1), sigma_t known (the "volatility" feature) and
    # varying 10x; the member predicts the signal exactly, so only the noise is left
    rng = np.random.default_rng(7)
    n = 3000
    sigma = 0.005 + 0.045 * (0.5 + 0.5 * np.sin(np.arange(n) / 150.0))
    signal = 0.002 * np.sin(np.arange(n) / 20.0)
    y = signal + sigma * rng.standard_normal(n)
    combo = combine_walk_forward(
        {"m": signal, "noisy": signal + rng.normal(0, 0.01, n)},
        y,
        sigma,
        np.arange(n) // 50,
        calibration_window=500,
        min_calibration=500,
    )
    rows = combo.scored
    for name in ("m", "ensemble"):
        inside = (y[rows] >= combo.lower[name][rows]) & (y[rows] <= combo.upper[name][rows])
        assert 0.77 <= inside.mean() <= 0.83, (name, inside.mean())
    # scaled by the known sigma, the exact member's quantile is the N(0, 1) 80 % two-sided one
    following = combination_for_next(combo, y, sigma, calibration_window=2000)
    assert following.quantiles["m"] == pytest.approx(1.2816, abs=0.08)
    # and conditional coverage holds in calm and wild stretches alike
    calm, wild = rows & (sigma < 0.015), rows & (sigma > 0.04)
    for part in (calm, wild):
        inside = (y[part] >= combo.lower["m"][part]) & (y[part] <= combo.upper["m"][part])
        assert 0.74 <= inside.mean() <= 0.86


def test_the_combination_of_a_fold_uses_only_earlier_folds() -> None:
    rng = np.random.default_rng(3)
    n = 200
    y = rng.normal(0, 0.01, n)
    preds = {"a": y + rng.normal(0, 0.002, n), "b": y + rng.normal(0, 0.02, n)}
    fold = np.arange(n) // 20
    first = combine_walk_forward(preds, y, np.full(n, 0.01), fold)
    # rewrite everything from fold 5 on: folds 0..4 must not change
    y2 = y.copy()
    y2[100:] = rng.normal(0, 0.5, 100)
    second = combine_walk_forward(preds, y2, np.full(n, 0.01), fold)
    np.testing.assert_array_equal(
        first.predictions["ensemble"][:120], second.predictions["ensemble"][:120]
    )
    np.testing.assert_array_equal(first.upper["ensemble"][:100], second.upper["ensemble"][:100])
    assert first.weights[:6] == second.weights[:6]
    assert first.weights[0] == {"a": 0.5, "b": 0.5}  # nothing earlier: equal weights
    assert first.weights[-1]["a"] > 0.8
