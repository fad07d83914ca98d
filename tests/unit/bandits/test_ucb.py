"""UCB1 on mean engagement: untried arms first, the best posting hour, stored statistics."""

from __future__ import annotations

import numpy as np
import pytest

from learnloop.bandits.ucb import UCB1
from learnloop.exceptions import ValidationError

HOURS = [str(h) for h in range(24)]


def hour_environment(seed: int):
    """Mean engagement 0.01-0.06 per hour, 0.08 at 18:00 UTC; per-post noise sd 0.02."""
    rng = np.random.default_rng(seed)
    means = {hour: rng.uniform(0.01, 0.06) for hour in HOURS}
    means["18"] = 0.08
    return lambda arm, rng: max(0.0, rng.normal(means[arm], 0.02))


def test_arms_never_pulled_are_tried_first() -> None:
    bandit = UCB1(arms=HOURS, random_state=0).fit(["9"], [0.9])
    tried = []
    for _ in range(23):
        arm = bandit.predict()
        tried.append(arm)
        bandit.partial_fit([arm], [0.0])
    assert sorted(tried) == sorted(set(HOURS) - {"9"})
    assert bandit.predict_expectations()["9"] < float("inf")


def test_untried_arm_scores_inf() -> None:
    expectations = UCB1(arms=["a", "b"]).fit(["a"], [0.02]).predict_expectations()
    assert expectations["b"] == float("inf")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_picks_the_best_hour(simulate, seed: int) -> None:
    bandit = UCB1(arms=HOURS, random_state=seed)
    chosen = simulate(bandit, hour_environment(seed), horizon=5000, seed=seed)
    assert max(bandit.pulls_, key=bandit.pulls_.get) == "18"
    assert chosen[-1000:].count("18") / 1000 >= 0.8


def test_bonus_on_the_reward_scale_beats_the_unit_scale_on_small_rates(simulate) -> None:
    """Why ``reward_scale`` defaults to the observed scale: a [0, 1] bonus never stops exploring
    among hours whose rates differ by hundredths."""
    shares = {}
    for scale in (None, 1.0):
        bandit = UCB1(arms=HOURS, reward_scale=scale, random_state=0)
        chosen = simulate(bandit, hour_environment(0), horizon=5000, seed=0)
        shares[scale] = chosen[-1000:].count("18") / 1000
    assert shares[None] >= 0.8
    assert shares[1.0] <= 0.3


def test_score_formula() -> None:
    bandit = UCB1(arms=["a", "b"], alpha=0.5).fit(["a", "a", "b"], [0.02, 0.04, 0.06])
    bonus = 0.5 * 0.06 * np.sqrt(2 * np.log(3) / np.array([2, 1]))
    expected = np.array([0.03, 0.06]) + bonus
    np.testing.assert_allclose(list(bandit.predict_expectations().values()), expected)


def test_alpha_zero_is_greedy() -> None:
    bandit = UCB1(arms=["a", "b"], alpha=0.0).fit(["a"] * 50 + ["b"], [0.05] * 50 + [0.06])
    assert bandit.predict() == "b"


def test_fixed_reward_scale() -> None:
    bandit = UCB1(arms=["a"], reward_scale=0.1).fit(["a", "a"], [0.0, 0.0])
    assert bandit.predict_expectations()["a"] == pytest.approx(0.1 * np.sqrt(np.log(2)))


def test_from_stats_round_trips_and_matches_fit() -> None:
    decisions, rewards = ["9", "9", "18"], [0.01, 0.03, 0.07]
    fitted = UCB1(arms=HOURS, random_state=4).fit(decisions, rewards)
    stored = UCB1.from_stats(fitted.to_stats(), random_state=4)
    assert stored.to_stats() == fitted.to_stats()
    assert stored.predict_expectations() == fitted.predict_expectations()
    assert stored.mean_rewards()["9"] == pytest.approx(0.02)
    assert stored.mean_rewards()["0"] is None


@pytest.mark.parametrize(
    "stats",
    [{"9": (1.5, 0.1)}, {"9": (-1, 0.0)}, {"9": (0, 0.2)}, {"9": (3, float("inf"))}, {"x": (1, 1)}],
)
def test_from_stats_rejects_bad_statistics(stats: dict) -> None:
    with pytest.raises(ValidationError):
        UCB1.from_stats(stats, arms=HOURS)


@pytest.mark.parametrize(
    "kwargs", [{"alpha": -1.0}, {"alpha": float("inf")}, {"reward_scale": 0.0}]
)
def test_bad_hyperparameters_raise_at_fit(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        UCB1(arms=HOURS, **kwargs).fit([], [])
