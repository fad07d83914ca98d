"""Issue 19: the job searches ALS's penalty relative to the confidence of a positive (alpha times
the mean weight after re-weighting), and starts from a few a-priori settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import optuna
import pytest

from training_jobs.two_tower import tuning
from training_jobs.two_tower.als import confidence_scale

# Skewed toy data: one heavy user, one popular item, so BM25 moves weights off 1.
PAIRS = [(f"u{u}", "hit") for u in range(12)] + [("u0", f"m{i}") for i in range(8)]


def fixed_trial(**values: Any) -> optuna.trial.FixedTrial:
    base = {"factors": 32, "alpha": 1.0, "iterations": 15, "weighting": "none"}
    return optuna.trial.FixedTrial({**base, "regularization_per_confidence": 3.0, **values})


def test_the_penalty_scales_with_alpha_and_the_weighting() -> None:
    scales = {"none": 1.0, "bm25": 2.0}
    low = tuning._suggest("als", fixed_trial(alpha=1.0), {}, scales)
    high = tuning._suggest("als", fixed_trial(alpha=40.0), {}, scales)
    bm25 = tuning._suggest("als", fixed_trial(alpha=40.0, weighting="bm25"), {}, scales)
    assert low["regularization"] == pytest.approx(3.0)
    assert high["regularization"] == pytest.approx(120.0)
    assert bm25["regularization"] == pytest.approx(240.0)
    # A pinned alpha sets the scale, not the one the sampler drew.
    pinned = tuning._suggest("als", fixed_trial(alpha=40.0), {"alpha": 2.0}, scales)
    assert pinned["alpha"] == 2.0 and pinned["regularization"] == pytest.approx(6.0)


def test_the_confidence_scale_is_the_mean_weight_of_a_positive() -> None:
    assert confidence_scale(PAIRS, "none") == 1.0
    assert confidence_scale([("u", "a"), ("u", "a")], "none") == 2.0  # repeats add up
    bm25 = confidence_scale(PAIRS, "bm25")
    assert bm25 > 0 and bm25 != pytest.approx(1.0)
    assert confidence_scale([], "bm25") == 1.0


class _Fake:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def fit(self, pairs: Iterable[Any], **_: Any) -> _Fake:
        return self

    def user_ndcg(self, pairs: Iterable[Any], **_: Any) -> dict[str, float]:
        return {"u0": 0.1}


def test_the_als_study_starts_from_the_a_priori_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "build", lambda candidate, params, seed: _Fake(params))
    search = tuning.tune(PAIRS, [("u1", "m0")], candidates=("als",), max_trials=5)
    first = [t.params for t in search.trials[: len(tuning.ALS_SEEDS)]]
    bm25 = confidence_scale(PAIRS, "bm25")
    expected = [
        s["regularization_per_confidence"] * s["alpha"] * (bm25 if s["weighting"] == "bm25" else 1)
        for s in tuning.ALS_SEEDS
    ]
    assert [p["alpha"] for p in first] == [s["alpha"] for s in tuning.ALS_SEEDS]
    assert [p["weighting"] for p in first] == [s["weighting"] for s in tuning.ALS_SEEDS]
    assert [p["regularization"] for p in first] == pytest.approx(expected)
    # The first is the house defaults, so a zero budget still scores them.
    assert first[0]["regularization"] == tuning.ALS_DEFAULTS["regularization"]
    assert len(search.trials) == 5
