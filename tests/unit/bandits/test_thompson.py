"""Thompson sampling: binary rewards, stored counts, discounting, posterior summary, regret."""

from __future__ import annotations

import numpy as np
import pytest

from learnloop.bandits.thompson import ThompsonSampling
from learnloop.exceptions import ValidationError


def test_counts_are_successes_and_failures() -> None:
    bandit = ThompsonSampling(arms=["a", "b"]).fit(["a", "a", "b", "a"], [1, 0, 0, True])
    assert bandit.successes_ == {"a": 2.0, "b": 0.0}
    assert bandit.failures_ == {"a": 1.0, "b": 1.0}


def test_rewards_must_be_binary() -> None:
    with pytest.raises(ValidationError) as caught:
        ThompsonSampling(arms=["a"]).fit(["a", "a", "a"], [1, 0.5, 2])
    assert [d["field"] for d in caught.value.details] == ["rewards[1]", "rewards[2]"]


def test_from_counts_round_trips_and_fills_missing_arms() -> None:
    bandit = ThompsonSampling.from_counts({"b": (3, 1.5)}, arms=["a", "b"], random_state=1)
    assert bandit.to_counts() == {"a": (0.0, 0.0), "b": (3.0, 1.5)}
    assert ThompsonSampling.from_counts(bandit.to_counts()).to_counts() == bandit.to_counts()


def test_from_counts_behaves_like_the_fit_it_stores() -> None:
    decisions = ["a"] * 7 + ["b"] * 5
    rewards = [1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0]
    fitted = ThompsonSampling(arms=["a", "b"], random_state=3).fit(decisions, rewards)
    stored = ThompsonSampling.from_counts(fitted.to_counts(), random_state=3)
    assert stored.predict_expectations() == fitted.predict_expectations()


@pytest.mark.parametrize(
    "counts", [{"a": (-1, 0)}, {"a": (float("nan"), 0)}, {"a": (1,)}, {"zzz": (1, 1)}]
)
def test_from_counts_rejects_bad_counts(counts: dict) -> None:
    with pytest.raises(ValidationError):
        ThompsonSampling.from_counts(counts, arms=["a"])


@pytest.mark.parametrize("discount", [0.0, -0.5, 1.5, float("nan")])
def test_discount_must_be_in_unit_interval(discount: float) -> None:
    with pytest.raises(ValidationError, match="discount"):
        ThompsonSampling(arms=["a"], discount=discount).fit([], [])


def test_discount_multiplies_old_counts_before_each_batch() -> None:
    bandit = ThompsonSampling.from_counts({"a": (10, 10), "b": (4, 0)}, discount=0.5)
    bandit.partial_fit(["a"], [1])
    assert bandit.to_counts() == {"a": (6.0, 5.0), "b": (2.0, 0.0)}
    bandit.partial_fit([], [])  # an empty batch is no evidence of anything: nothing decays
    assert bandit.to_counts() == {"a": (6.0, 5.0), "b": (2.0, 0.0)}


def test_fit_is_one_batch_so_discount_does_not_touch_it() -> None:
    bandit = ThompsonSampling(arms=["a"], discount=0.5).fit(["a"] * 4, [1, 1, 1, 0])
    assert bandit.to_counts() == {"a": (3.0, 1.0)}


def test_discount_follows_drifting_preferences(simulate, bernoulli_env) -> None:
    """After the better arm flips, a discounted bandit moves over; an undiscounted one lags."""

    def late_share_of_b(discount: float, seed: int) -> float:
        bandit = ThompsonSampling(arms=["a", "b"], discount=discount, random_state=seed)
        simulate(bandit, bernoulli_env({"a": 0.7, "b": 0.3}), horizon=1500, seed=seed)
        chosen = simulate(
            bandit, bernoulli_env({"a": 0.3, "b": 0.7}), horizon=600, seed=100 + seed, fit=False
        )
        return chosen[-300:].count("b") / 300

    discounted = np.mean([late_share_of_b(0.95, seed) for seed in range(5)])
    undiscounted = np.mean([late_share_of_b(1.0, seed) for seed in range(5)])
    assert discounted >= 0.9
    assert discounted - undiscounted >= 0.3


def test_regret_grows_sublinearly(simulate, bernoulli_env) -> None:
    probabilities = {"a": 0.1, "b": 0.3, "c": 0.5, "d": 0.55, "e": 0.6}
    first, second = [], []
    for seed in range(5):
        bandit = ThompsonSampling(arms=list(probabilities), random_state=seed)
        chosen = simulate(bandit, bernoulli_env(probabilities), horizon=4000, seed=seed)
        regret = np.cumsum([0.6 - probabilities[arm] for arm in chosen])
        first.append(regret[1999])
        second.append(regret[-1] - regret[1999])
    # Logarithmic regret: the second 2000 rounds cost far less than the first 2000, and the
    # total is a small fraction of uniform play's (4000 * mean gap = 1080).
    assert np.mean(second) <= 0.5 * np.mean(first)
    assert np.mean(first) + np.mean(second) <= 0.1 * 4000 * 0.27


def test_posterior_summary() -> None:
    bandit = ThompsonSampling.from_counts({"a": (30, 70), "b": (0, 0)}, random_state=0)
    summary = bandit.posterior_summary()
    a = summary["a"]
    assert (a["alpha"], a["beta"], a["pulls"]) == (31.0, 71.0, 100.0)
    assert a["mean"] == pytest.approx(31 / 102)
    assert a["ci_low"] < a["mean"] < a["ci_high"]
    # Beta(1, 1) is uniform: its exact 95 % interval is [0.025, 0.975].
    assert summary["b"]["ci_low"] == pytest.approx(0.025, abs=0.005)
    assert summary["b"]["ci_high"] == pytest.approx(0.975, abs=0.005)
    assert bandit.posterior_summary() == summary  # seeded by random_state: reproducible


def test_posterior_interval_matches_exact_beta_quantiles() -> None:
    stats = pytest.importorskip("scipy.stats")
    summary = ThompsonSampling.from_counts({"a": (30, 70)}, random_state=0).posterior_summary()
    low, high = stats.beta.ppf([0.025, 0.975], 31, 71)
    assert summary["a"]["ci_low"] == pytest.approx(low, abs=0.005)
    assert summary["a"]["ci_high"] == pytest.approx(high, abs=0.005)


def test_posterior_summary_does_not_disturb_predict() -> None:
    def choices(summarize: bool) -> list[str]:
        bandit = ThompsonSampling.from_counts({"a": (3, 3), "b": (3, 3)}, random_state=9)
        out = []
        for _ in range(20):
            if summarize:
                bandit.posterior_summary(n_draws=100)
            out.append(bandit.predict())
        return out

    assert choices(summarize=True) == choices(summarize=False)
