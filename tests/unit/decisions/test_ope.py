"""The off-policy estimators against values computed by hand on tiny logs, and their validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from learnloop.decisions.ope import (
    DirectMethod,
    DoublyRobust,
    IndependentItemIPW,
    InverseProbabilityWeighting,
    LoggedBandit,
    RidgeRewardModel,
    SelfNormalizedIPW,
    effective_sample_size,
    evaluate,
    logged_bandit,
    logged_slates,
)
from learnloop.exceptions import NotFittedError, ValidationError

# Four rows, two actions, no contexts. Weights w = pi(a_i) / mu_i = [0.25, 4, 1.2, 0.8].
# The reward model (per-action means): q(0) = mean(1, 1) = 1, q(1) = mean(0, 1) = 0.5.
TINY: dict[str, Any] = {
    "actions": [0, 1, 0, 1],
    "propensities": [0.8, 0.2, 0.5, 0.5],
    "rewards": [1.0, 0.0, 1.0, 1.0],
    "target_distribution": [[0.2, 0.8], [0.2, 0.8], [0.6, 0.4], [0.6, 0.4]],
}


@pytest.fixture
def tiny() -> LoggedBandit:
    return logged_bandit(**TINY)


def test_ipw_is_the_mean_of_weighted_rewards(tiny: LoggedBandit) -> None:
    # w * r = [0.25, 0, 1.2, 0.8]: sum 2.25 over 4 rows
    result = InverseProbabilityWeighting(n_resamples=0).estimate(tiny)
    assert result.estimate == pytest.approx(0.5625)
    assert (result.n, result.max_weight, result.n_clipped) == (4, 4.0, 0)
    assert result.ci_low == result.ci_high == result.estimate


def test_snipw_divides_by_the_sum_of_weights(tiny: LoggedBandit) -> None:
    # 2.25 / (0.25 + 4 + 1.2 + 0.8)
    assert SelfNormalizedIPW(n_resamples=0).estimate(tiny).estimate == pytest.approx(0.36)


def test_dm_averages_the_reward_model_under_the_target(tiny: LoggedBandit) -> None:
    # rows 0-1: 0.2 * 1 + 0.8 * 0.5 = 0.6; rows 2-3: 0.6 * 1 + 0.4 * 0.5 = 0.8
    assert DirectMethod(n_resamples=0).estimate(tiny).estimate == pytest.approx(0.7)


def test_dr_adds_the_weighted_residuals(tiny: LoggedBandit) -> None:
    # residuals r - q(a) = [0, -0.5, 0, 0.5]; w * residual = [0, -2, 0, 0.4]
    # terms = [0.6 + 0, 0.6 - 2, 0.8 + 0, 0.8 + 0.4] = [0.6, -1.4, 0.8, 1.2]: mean 0.3
    assert DoublyRobust(n_resamples=0).estimate(tiny).estimate == pytest.approx(0.3)


def test_clipping_caps_the_weights_and_counts_them(tiny: LoggedBandit) -> None:
    # w = [0.25, 2, 1.2, 0.8]: row 1's 4 is capped at 2
    dr = DoublyRobust(clip=2.0, n_resamples=0).estimate(tiny)
    assert dr.estimate == pytest.approx((0.6 + (0.6 - 1.0) + 0.8 + 1.2) / 4)
    assert (dr.max_weight, dr.n_clipped) == (2.0, 1)
    snipw = SelfNormalizedIPW(clip=2.0, n_resamples=0).estimate(tiny)
    assert snipw.estimate == pytest.approx(2.25 / 4.25)


def test_effective_sample_size_is_kish(tiny: LoggedBandit) -> None:
    # (sum w)^2 / sum w^2 = 6.25^2 / (0.0625 + 16 + 1.44 + 0.64)
    expected = 6.25**2 / 18.1425
    assert InverseProbabilityWeighting(n_resamples=0).estimate(tiny).ess == pytest.approx(expected)
    assert effective_sample_size([0.0, 0.0]) == 0.0


def test_ridge_reward_model_with_contexts_fits_each_action() -> None:
    # alpha = 0: action 0's rewards are exactly 1 + 2x, action 1's are 2; residuals are zero,
    # so DR equals DM: rows give 0.5*1 + 0.5*2, 3, 2, 0.25*3 + 0.75*2, 5 → mean 13.75 / 5.
    data = logged_bandit(
        actions=[0, 0, 1, 1, 0],
        propensities=[0.5] * 5,
        rewards=[1.0, 3.0, 2.0, 2.0, 5.0],
        contexts=[[0.0], [1.0], [0.0], [1.0], [2.0]],
        target_distribution=[[0.5, 0.5], [1, 0], [0, 1], [0.25, 0.75], [1, 0]],
    )
    model = RidgeRewardModel(alpha=0.0)
    dm = DirectMethod(reward_model=model, n_resamples=0).estimate(data)
    dr = DoublyRobust(reward_model=RidgeRewardModel(alpha=0.0), n_resamples=0).estimate(data)
    assert dm.estimate == pytest.approx(2.75)
    assert dr.estimate == pytest.approx(2.75)
    np.testing.assert_allclose(model.coef_, [[1.0, 2.0], [2.0, 0.0]], atol=1e-9)


def test_ridge_penalty_shrinks_the_slope_but_not_the_intercept() -> None:
    x = np.array([[-1.0], [1.0]])
    model = RidgeRewardModel(alpha=2.0).fit(x, [0, 0], [0.0, 2.0], n_actions=1)
    # centred x: intercept = mean(y) = 1; slope = sum(x y) / (sum(x^2) + alpha) = 2 / 4
    np.testing.assert_allclose(model.coef_, [[1.0, 0.5]])


def test_reward_model_predicts_only_after_fit() -> None:
    with pytest.raises(NotFittedError):
        RidgeRewardModel().predict(None)


def test_snipw_is_zero_when_the_target_never_plays_a_logged_action() -> None:
    data = logged_bandit(
        actions=[0, 0, 0], propensities=[1.0] * 3, rewards=[1, 1, 1], target_probability=[0] * 3
    )
    result = SelfNormalizedIPW(n_resamples=50, random_state=0).estimate(data)
    assert (result.estimate, result.ess, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0, 0.0)


def test_iips_sums_per_position_weighted_rewards() -> None:
    slates = logged_slates(
        propensities=[[0.5, 0.25], [0.2, 0.5], [1.0, 0.5]],
        target_propensities=[[1.0, 0.5], [0.1, 0.0], [1.0, 1.0]],
        rewards=[[1.0, 1.0], [1.0, 1.0], [0.0, 1.0]],
    )
    # slate 0: 2 * 1 + 2 * 1 = 4; slate 1: 0.5 * 1 + 0 = 0.5; slate 2: 0 + 2 * 1 = 2
    result = IndependentItemIPW(n_resamples=0).estimate(slates)
    assert result.estimate == pytest.approx(6.5 / 3)
    assert result.max_weight == 2.0
    clipped = IndependentItemIPW(clip=1.0, n_resamples=0).estimate(slates)
    assert clipped.estimate == pytest.approx((2 + 0.5 + 1) / 3)
    assert clipped.n_clipped == 3


def test_the_bootstrap_is_the_percentile_interval_of_resampled_means(tiny: LoggedBandit) -> None:
    result = InverseProbabilityWeighting(n_resamples=500, random_state=7).estimate(tiny)
    # the same draws, by hand: 500 resamples of the 4 per-row terms
    terms = np.array([0.25, 0.0, 1.2, 0.8])
    idx = np.random.default_rng(7).integers(0, 4, size=(500, 4))
    low, high = np.quantile(terms[idx].mean(axis=1), [0.025, 0.975])
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.ci_low <= result.estimate <= result.ci_high
    again = InverseProbabilityWeighting(n_resamples=500, random_state=7).estimate(tiny)
    assert again == result


def test_the_bootstrap_in_chunks_matches_one_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    from learnloop.decisions import ope

    data = logged_bandit(**TINY)
    whole = SelfNormalizedIPW(n_resamples=300, random_state=3).estimate(data)
    monkeypatch.setattr(ope, "_CHUNK_INDICES", 40)  # 10 resamples per chunk
    chunked = SelfNormalizedIPW(n_resamples=300, random_state=3).estimate(data)
    assert chunked == whole


def test_evaluate_runs_the_named_estimators(tiny: LoggedBandit) -> None:
    results = evaluate(tiny, n_resamples=0)
    assert {name: round(r.estimate, 4) for name, r in results.items()} == {
        "ipw": 0.5625,
        "snipw": 0.36,
        "dm": 0.7,
        "dr": 0.3,
    }
    assert results["dr"].to_dict()["estimator"] == "dr"
    with pytest.raises(ValidationError) as caught:
        evaluate(tiny, ["ipw", "magic"])
    assert caught.value.details[0]["field"] == "estimators"


def _field(**changes: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        logged_bandit(**{**TINY, **changes})
    assert caught.value.status == 422
    return [d["field"] for d in caught.value.details]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"propensities": [0.8, 0.0, 0.5, 0.5]}, "propensities"),
        ({"propensities": [0.8, 1.5, 0.5, 0.5]}, "propensities"),
        ({"propensities": [0.8, 0.2, 0.5]}, "propensities"),
        ({"rewards": [1.0, float("nan"), 1.0, 1.0]}, "rewards"),
        ({"actions": [0, 2, 0, 1]}, "actions"),
        ({"actions": [0, 0.5, 0, 1]}, "actions"),
        ({"actions": [[0, 1], [0, 1]]}, "actions"),
        ({"target_distribution": [[0.2, 0.9]] * 4}, "target_distribution"),
        ({"target_probability": [0.2, 0.8, 0.6, 0.9]}, "target_probability"),
        ({"target_distribution": None}, "target_probability"),
        ({"contexts": [[1.0]] * 3}, "contexts"),
        ({"rewards": ["a", "b", "c", "d"]}, "rewards"),
        ({"n_actions": 3}, "n_actions"),
    ],
)
def test_bad_logs_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert field in _field(**changes)


def test_empty_logs_are_refused() -> None:
    assert _field(
        actions=[], propensities=[], rewards=[], target_distribution=None, target_probability=[]
    ) == ["actions"]


def test_dm_and_dr_need_the_full_target_distribution() -> None:
    data = logged_bandit(actions=[0], propensities=[0.5], rewards=[1.0], target_probability=[1.0])
    for estimator in (DirectMethod(), DoublyRobust()):
        with pytest.raises(ValidationError) as caught:
            estimator.estimate(data)
        assert caught.value.details[0]["field"] == "target_distribution"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"clip": 0.0}, "clip"),
        ({"n_resamples": -1}, "n_resamples"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_bad_settings_name_the_parameter(
    tiny: LoggedBandit, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        InverseProbabilityWeighting(**params).estimate(tiny)
    assert caught.value.details[0]["field"] == field


def test_bad_slates_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        logged_slates(propensities=[[0.5, 0.0]], target_propensities=[[1, 0]], rewards=[[1, 0]])
    assert caught.value.details[0]["field"] == "propensities"
    with pytest.raises(ValidationError) as caught:
        logged_slates(propensities=[[0.5]], target_propensities=[[1, 0]], rewards=[[1, 0]])
    assert caught.value.details[0]["field"] == "propensities"


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_dm_and_dr_refit_the_reward_model_on_every_resample(alpha: float) -> None:
    # rows already sorted by action, so the bootstrap's resamples are these indices
    rng = np.random.default_rng(11)
    n = 60
    actions = np.sort(rng.integers(0, 3, size=n))
    logs: dict[str, Any] = {
        "actions": actions,
        "propensities": rng.uniform(0.2, 0.6, size=n),
        "rewards": rng.random(n),
        "contexts": rng.normal(size=(n, 2)),
        "target_distribution": rng.dirichlet(np.ones(3), size=n),
        "n_actions": 3,
    }
    data = logged_bandit(**logs)
    idx = np.random.default_rng(5).integers(0, n, size=(9, n))
    for estimator in (DirectMethod, DoublyRobust):
        by_hand = [
            estimator(reward_model=RidgeRewardModel(alpha=alpha), n_resamples=0)
            .estimate(
                logged_bandit(**{k: v[rows] if k != "n_actions" else v for k, v in logs.items()})
            )
            .estimate
            for rows in idx
        ]
        result = estimator(
            reward_model=RidgeRewardModel(alpha=alpha), n_resamples=9, random_state=5
        ).estimate(data)
        low, high = np.quantile(by_hand, [0.025, 0.975])
        assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
