"""Ridge and logistic trainers: coefficient recovery, chronological hold-out, too little data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from learnloop.exceptions import InsufficientDataError, LearnloopError, ValidationError
from learnloop.predictors.estimators import (
    TrainedPredictor,
    train_engagement_model,
    train_follow_through_model,
)
from learnloop.predictors.features import (
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
)

CONTENT_TYPES = ["educational", "factual", "entertaining", "promotional", "meme"]
START = datetime(2026, 11, 1, tzinfo=UTC)


def engagement_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "quality_score": float(rng.random()),
            "content_type": CONTENT_TYPES[rng.integers(len(CONTENT_TYPES))],
            "posted_hour": int(rng.integers(24)),
            "length": ("short", "medium", "long")[rng.integers(3)],
        }
        for _ in range(n)
    ]


def follow_through_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "novelty_score": float(rng.random()),
            "expertise_level": float(rng.random()),
            "viral_score": float(rng.uniform(0, 100)),
        }
        for _ in range(n)
    ]


def hours(n: int) -> list[datetime]:
    return [START + timedelta(hours=i) for i in range(n)]


# Engagement-rate scale: effects of a few hundredths, per-post noise sd 0.01.
TRUE_RIDGE = np.array(
    [0.04, 0.015, 0.005, 0.02, -0.01, 0.006, -0.004, 0.008, -0.005, 0.003, 0.01, 0.012]
)
TRUE_RIDGE_INTERCEPT = 0.02
TRUE_LOGISTIC = np.array([2.0, -1.5, 3.0])
TRUE_LOGISTIC_INTERCEPT = -1.0


def test_ridge_recovers_the_generators_coefficients() -> None:
    """Tolerance: |coef - true| <= 0.005 for every coefficient and the intercept (n = 5000,
    noise sd 0.01, alpha chosen by leave-one-out; the standard errors are below 0.001)."""
    rng = np.random.default_rng(0)
    rows = engagement_rows(5000, seed=1)
    X = engagement_matrix(rows).astype(np.float64)
    y = X @ TRUE_RIDGE + TRUE_RIDGE_INTERCEPT + rng.normal(0.0, 0.01, len(rows))
    model = train_engagement_model(rows, y.tolist(), hours(len(rows)))
    assert isinstance(model, TrainedPredictor)
    assert model.name == "engagement"
    assert model.feature_names == ENGAGEMENT_FEATURES
    np.testing.assert_allclose(model.estimator.coef_, TRUE_RIDGE, rtol=0, atol=0.005)
    assert model.estimator.intercept_ == pytest.approx(TRUE_RIDGE_INTERCEPT, abs=0.005)
    # The hold-out error is the noise: MSE within 10 % of 0.01².
    assert model.metrics["mse"] == pytest.approx(1e-4, rel=0.1)
    assert model.metrics["r2"] > 0.6
    assert (model.n_rows, model.n_validation) == (5000, 1000)
    assert (model.window_start, model.window_end) == (START, START + timedelta(hours=4999))


def test_logistic_recovers_the_generators_coefficients() -> None:
    """Tolerance: |coef - true| <= 0.15 for every coefficient and the intercept (n = 50000,
    C = 1.0; the standard errors are 0.033-0.039, so 0.15 is about 4 of them)."""
    rng = np.random.default_rng(0)
    rows = follow_through_rows(50_000, seed=2)
    X = follow_through_matrix(rows).astype(np.float64)
    probability = 1 / (1 + np.exp(-(X @ TRUE_LOGISTIC + TRUE_LOGISTIC_INTERCEPT)))
    followed = rng.random(len(rows)) < probability
    # followers_gained: a positive count when followed, else 0 or an unfollow (-1).
    gained = np.where(followed, rng.integers(1, 6, len(rows)), -rng.integers(0, 2, len(rows)))
    model = train_follow_through_model(rows, gained.tolist(), hours(len(rows)))
    assert model.name == "follow_through"
    assert model.feature_names == FOLLOW_THROUGH_FEATURES
    np.testing.assert_allclose(model.estimator.coef_[0], TRUE_LOGISTIC, rtol=0, atol=0.15)
    assert model.estimator.intercept_[0] == pytest.approx(TRUE_LOGISTIC_INTERCEPT, abs=0.15)
    assert set(model.metrics) == {"accuracy", "precision", "recall", "auc"}
    assert all(0.6 < v <= 1.0 for v in model.metrics.values())


def test_validation_is_the_latest_share_by_timestamp() -> None:
    """The latest 20 % (rows given out of order) follow another rule; a model that never saw
    them misses by exactly the shift, so the hold-out MSE is the shift squared."""
    rows = engagement_rows(500, seed=3)
    order = np.random.default_rng(4).permutation(len(rows))
    stamps = [START + timedelta(minutes=int(i)) for i in order]
    latest = order >= 400
    y = 0.05 * engagement_matrix(rows)[:, 0] + np.where(latest, 0.5, 0.0)
    model = train_engagement_model(rows, y.tolist(), stamps, alpha=1e-6, refit=False)
    assert model.metrics["mse"] == pytest.approx(0.25, rel=1e-3)
    assert model.n_validation == 100


def test_refit_trains_the_published_model_on_every_row() -> None:
    rows = engagement_rows(500, seed=3)
    y = np.where(np.arange(500) >= 400, 0.5, 0.0)
    validated = train_engagement_model(rows, y.tolist(), hours(500), refit=False)
    refit = train_engagement_model(rows, y.tolist(), hours(500))
    assert validated.metrics == refit.metrics
    assert validated.estimator.intercept_ < 0.05 < refit.estimator.intercept_


def test_timestamps_may_be_iso_strings_or_epoch_seconds() -> None:
    rows = engagement_rows(60, seed=5)
    y = [0.01] * 60
    iso = train_engagement_model(rows, y, [t.isoformat().replace("+00:00", "Z") for t in hours(60)])
    epoch = train_engagement_model(rows, y, [t.timestamp() for t in hours(60)])
    assert iso.window_start == epoch.window_start == START
    assert iso.window_end == epoch.window_end == START + timedelta(hours=59)


def test_constant_hold_out_has_no_r2() -> None:
    rows = engagement_rows(60, seed=5)
    model = train_engagement_model(rows, [0.02] * 60, hours(60))
    assert model.metrics["r2"] is None
    assert model.metrics["mse"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("trainer", ["engagement", "follow_through"])
def test_too_little_data_says_how_much_is_needed(trainer: str) -> None:
    if trainer == "engagement":
        rows, train = engagement_rows(12, seed=6), train_engagement_model
    else:
        rows, train = follow_through_rows(12, seed=6), train_follow_through_model
    with pytest.raises(InsufficientDataError) as caught:
        train(rows, [1] * 12, hours(12))
    assert isinstance(caught.value, LearnloopError)
    assert caught.value.code == "insufficient_data"
    assert "at least 50 rows" in caught.value.message
    assert "got 12" in caught.value.message
    assert (caught.value.n_rows, caught.value.min_rows) == (12, 50)
    train(rows, [0, 1] * 6, hours(12), min_rows=10)  # enough when the caller says so


def test_single_class_training_rows_are_insufficient() -> None:
    rows = follow_through_rows(100, seed=7)
    gained = [0] * 80 + [3] * 20  # every positive is in the hold-out
    with pytest.raises(InsufficientDataError, match="both outcomes"):
        train_follow_through_model(rows, gained, hours(100))


def test_single_class_hold_out_has_no_auc() -> None:
    rows = follow_through_rows(100, seed=8)
    gained = [i % 2 for i in range(80)] + [2] * 20
    model = train_follow_through_model(rows, gained, hours(100))
    assert model.metrics["auc"] is None
    assert isinstance(model.metrics["accuracy"], float)
    assert isinstance(model.metrics["recall"], float)


@pytest.mark.parametrize(
    ("targets", "timestamps", "field"),
    [
        ([0.1] * 59, hours(60), "targets"),
        ([0.1] * 59 + [float("nan")], hours(60), "targets[59]"),
        ([0.1] * 60, [*hours(59), "not a time"], "timestamps[59]"),
    ],
)
def test_bad_inputs_raise_validation_error(targets: list, timestamps: list, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        train_engagement_model(engagement_rows(60, seed=9), targets, timestamps)
    assert caught.value.details[0]["field"] == field


def test_bad_feature_row_raises_validation_error() -> None:
    rows = engagement_rows(60, seed=9)
    rows[7]["quality_score"] = 3.0
    with pytest.raises(ValidationError) as caught:
        train_engagement_model(rows, [0.1] * 60, hours(60))
    assert caught.value.details[0]["field"] == "rows[7].quality_score"


@pytest.mark.parametrize("holdout", [0.0, 1.0, -0.2])
def test_holdout_must_be_a_proper_share(holdout: float) -> None:
    with pytest.raises(ValidationError, match="holdout"):
        train_engagement_model(engagement_rows(60, seed=9), [0.1] * 60, hours(60), holdout=holdout)


def test_the_default_penalty_is_chosen_on_the_training_rows_and_beats_a_fixed_one() -> None:
    # As in the demo's world: engagement rates are hundredths, quality varies little around
    # its mean and a week holds ~150 posts. A fixed alpha of 1.0 shrinks the effects hard.
    rng = np.random.default_rng(0)
    n = 150
    quality = np.clip(rng.normal(0.5, 0.12, n), 0.0, 1.0)
    kinds = rng.choice(["educational", "factual", "entertaining", "promotional"], n)
    effect = {"educational": 0.0, "factual": -0.004, "entertaining": 0.004, "promotional": -0.01}
    rows = [
        {
            "quality_score": float(q),
            "content_type": str(t),
            "posted_hour": int(h),
            "length": "short",
        }
        for q, t, h in zip(quality, kinds, rng.integers(0, 24, n), strict=True)
    ]
    y = 0.002 + 0.09 * quality + np.array([effect[t] for t in kinds]) + rng.normal(0, 0.006, n)
    chosen = train_engagement_model(rows, y.tolist(), list(range(n)))
    fixed = train_engagement_model(rows, y.tolist(), list(range(n)), alpha=1.0)
    assert chosen.estimator.alpha < 1.0
    assert chosen.estimator.alpha == chosen.validation_estimator.alpha  # one recipe, both fits
    assert chosen.metrics["r2"] > fixed.metrics["r2"] + 0.05
