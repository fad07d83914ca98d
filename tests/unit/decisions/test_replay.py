"""Decision records → OPE inputs for candidate bandit configurations, on hand-made records."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

from learnloop.bandits.thompson import ThompsonSampling
from learnloop.bandits.ucb import UCB1
from learnloop.decisions.ope import InverseProbabilityWeighting
from learnloop.decisions.replay import (
    EpsilonGreedyUCB,
    ThompsonCandidate,
    compare_with_production,
    parse_candidate,
    replay,
)
from learnloop.exceptions import ValidationError
from learnloop.models.promotion import beats_production


def record(arm: str, reward: float | None, propensity: float = 0.5, **extra: Any) -> dict:
    return {
        "decision_id": f"d-{arm}-{reward}",
        "surface": "bandit",
        "scope": "content",
        "chosen": [arm],
        "shown": [{"item": arm, "position": 0, "propensity": propensity}],
        "reward": reward,
        **extra,
    }


def test_replay_uses_the_logged_arm_propensity_and_reward() -> None:
    records = [record("a", 1.0, 0.8), record("b", None, 0.2), record("a", 0.0, 0.8)]
    result = replay(records, EpsilonGreedyUCB(epsilon=1.0), scope="content")
    assert result.arms == ["a", "b"]
    assert result.data.actions.tolist() == [0, 1, 0]
    assert result.data.propensities.tolist() == [0.8, 0.2, 0.8]
    assert result.data.rewards.tolist() == [1.0, 0.0, 0.0]  # no feedback: no reward
    assert result.decision_ids == ["d-a-1.0", "d-b-None", "d-a-0.0"]


def test_replay_learns_between_batches_only() -> None:
    # UCB with alpha 0 and epsilon 0.2: before any data every arm is untried (0.5 / 0.5); after
    # the first batch of two (a: 1, b: 0) a scores 1 and b 0 → 0.8 + 0.1 on a, 0.1 on b.
    records = [record("a", 1.0), record("b", 0.0), record("a", 1.0), record("b", 1.0)]
    result = replay(records, EpsilonGreedyUCB(alpha=0.0, epsilon=0.2), batch_size=2)
    assert result.data.target_distribution is not None
    np.testing.assert_allclose(
        result.data.target_distribution, [[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.9, 0.1]]
    )
    # IPW by hand: w = [1, 1, 1.8, 0.2], r = [1, 0, 1, 1] → (1 + 0 + 1.8 + 0.2) / 4
    estimate = InverseProbabilityWeighting(n_resamples=0).estimate(result.data).estimate
    assert estimate == pytest.approx(0.75)


def test_records_that_cannot_be_evaluated_are_counted_by_reason() -> None:
    records = [
        record("a", 1.0),
        record("a", 1.0, surface="recommendations"),
        record("a", 1.0, scope="timing"),
        {**record("a", 1.0), "chosen": []},
        {**record("a", 1.0), "shown": []},
        {**record("a", 1.0), "chosen": ["a", "b"], "policy": "ucb1"},  # b's propensity?
        {**record("a", 1.0), "chosen": ["a", "b"], "policy": "thompson"},
        record("b", None),
    ]
    result = replay(records, EpsilonGreedyUCB(), scope="content", missing_reward=None)
    assert result.data.n == 1
    assert result.skipped == {
        "not_bandit": 1,
        "other_scope": 1,
        "none_chosen": 1,
        "no_propensity": 2,
        "other_policy_slate": 1,
        "no_reward": 1,
    }


def slate(policy: str, arms: list[str], propensities: list[float], clicked: list[str]) -> dict:
    return {
        "decision_id": f"d-{'-'.join(arms)}",
        "surface": "bandit",
        "scope": "content",
        "policy": policy,
        "chosen": arms,
        "shown": [
            {"item": a, "position": j, "propensity": p}
            for j, (a, p) in enumerate(zip(arms, propensities, strict=True))
        ],
        "feedback": [{"type": "click", "item": a, "value": 1.0} for a in clicked],
        "reward": float(len(clicked)) if clicked else None,
    }


def test_thompson_selects_of_n_arms_are_n_draws_with_their_own_rewards() -> None:
    records = [
        slate("thompson", ["a", "b"], [0.6, 0.4], ["b"]),
        slate("thompson", ["a", "a"], [0.6, 0.6], ["a"]),  # one click on a drawn twice
        slate("thompson", ["b", "a"], [0.4, 0.6], []),
    ]
    result = replay(records, ThompsonCandidate(random_state=0), batch_size=10)
    assert result.data.n == 6
    assert result.data.actions.tolist() == [0, 1, 0, 0, 1, 0]
    assert result.data.propensities.tolist() == [0.6, 0.4, 0.6, 0.6, 0.4, 0.6]
    assert result.data.rewards.tolist() == [0.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    # One batch: every row is one draw of the candidate before it learned anything.
    assert (result.data.target_distribution == result.data.target_distribution[0]).all()
    assert result.decision_ids[:2] == ["d-a-b", "d-a-b"]


def test_ucb1_slates_are_valued_position_by_position() -> None:
    # Logged by uniform-first slates over three arms: each (arm, position) had 1/3.
    records = [
        slate("ucb1", ["a", "b"], [1 / 3, 1 / 3], ["a"]),
        slate("ucb1", ["c", "a"], [1 / 3, 1 / 3], ["a"]),
        slate("ucb1", ["b", "c"], [1 / 3, 1 / 3], []),
    ]
    candidate = EpsilonGreedyUCB(alpha=0.0, epsilon=0.0)
    candidate.learn(["a", "b", "c"], [1.0, 0.5, 0.0])  # a, then b, then c: always [a, b]
    result = replay(records, candidate, batch_size=10)
    assert result.arms == ["a", "b", "c"]
    target = result.data.target_distribution
    assert target[0].tolist() == [1.0, 0.0, 0.0] and target[1].tolist() == [0.0, 1.0, 0.0]
    # Only the first slate's a at 0 and b at 1 are what the candidate shows: 3 x 1 click / 3.
    estimate = InverseProbabilityWeighting(n_resamples=0).estimate(result.data).estimate
    assert estimate * result.data.n / len(records) == pytest.approx(1.0)


def test_no_usable_record_names_the_records() -> None:
    with pytest.raises(ValidationError) as caught:
        replay([record("a", 1.0, surface="recommendations")], EpsilonGreedyUCB())
    assert caught.value.details[0]["field"] == "records"
    with pytest.raises(ValidationError) as caught:
        replay([record("a", 1.0)], EpsilonGreedyUCB(), batch_size=0)
    assert caught.value.details[0]["field"] == "batch_size"


def test_a_uniform_candidate_on_uniform_logs_gives_the_logged_mean() -> None:
    rng = np.random.default_rng(0)
    arms = rng.choice(["a", "b", "c", "d"], size=200)
    rewards = (rng.random(200) < 0.3).astype(float)
    records = [record(str(a), float(r), 0.25) for a, r in zip(arms, rewards, strict=True)]
    result = replay(records, EpsilonGreedyUCB(epsilon=1.0))
    estimate = InverseProbabilityWeighting(n_resamples=0).estimate(result.data).estimate
    assert estimate == pytest.approx(rewards.mean())


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ThompsonCandidate(prior=(0.0, 1.0)), "prior"),
        (lambda: ThompsonCandidate(discount=0.0), "discount"),
        (lambda: ThompsonCandidate(n_draws=0), "n_draws"),
        (lambda: EpsilonGreedyUCB(epsilon=1.5), "epsilon"),
        (lambda: EpsilonGreedyUCB(alpha=-1.0), "alpha"),
        (lambda: EpsilonGreedyUCB(reward_scale=0.0), "reward_scale"),
    ],
)
def test_bad_candidate_settings_name_the_field(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make()
    assert caught.value.details[0]["field"] == field


# -- the candidates score as the production bandits do ------------------------------------------


def test_ucb_candidate_scores_match_production_ucb1() -> None:
    arms = ["9", "13", "18", "21"]
    decisions = ["9", "13", "13", "18", "9", "13"]
    rewards = [0.02, 0.05, 0.04, 0.01, 0.03, 0.06]
    for reward_scale in (None, 0.1):
        production = UCB1(arms=arms, alpha=1.5, reward_scale=reward_scale).fit(decisions, rewards)
        candidate = EpsilonGreedyUCB(alpha=1.5, epsilon=0.0, reward_scale=reward_scale)
        candidate.learn(decisions, rewards)
        expected = production.predict_expectations()
        np.testing.assert_allclose(candidate.scores(arms), [expected[a] for a in arms])


def test_thompson_candidate_matches_production_choice_frequencies() -> None:
    arms = ["a", "b", "c"]
    counts = {"a": (6.0, 4.0), "b": (4.0, 6.0), "c": (1.0, 1.0)}
    production = ThompsonSampling.from_counts(counts, arms=arms, random_state=1)
    picks = [production.predict() for _ in range(4000)]
    frequencies = np.array([picks.count(a) / len(picks) for a in arms])
    candidate = ThompsonCandidate(n_draws=20_000, random_state=2)
    candidate.learn(
        ["a"] * 10 + ["b"] * 10 + ["c"] * 2,
        [1.0] * 6 + [0.0] * 4 + [1.0] * 4 + [0.0] * 6 + [1.0, 0.0],
    )
    np.testing.assert_allclose(candidate.probabilities(arms), frequencies, atol=0.03)


def test_thompson_candidate_discounts_as_production_does() -> None:
    production = ThompsonSampling(arms=["a", "b"], discount=0.5).fit([], [])
    candidate = ThompsonCandidate(discount=0.5)
    for batch, rewards in ((["a", "b", "a"], [1.0, 0.0, 1.0]), (["b", "a"], [1.0, 0.0])):
        production.partial_fit(batch, rewards)
        candidate.learn(batch, rewards)
    assert candidate.successes_ == pytest.approx(production.successes_)
    assert candidate.failures_ == pytest.approx(production.failures_)


# -- specs and the comparison with production ---------------------------------------------------


def test_candidate_specs_build_configured_candidates() -> None:
    thompson = parse_candidate("thompson:prior=2/3,discount=0.9,n_draws=50", random_state=1)
    assert isinstance(thompson, ThompsonCandidate)
    assert (thompson.prior, thompson.discount, thompson.n_draws) == ((2.0, 3.0), 0.9, 50)
    ucb = parse_candidate("ucb1:alpha=0.5,epsilon=0.2,reward_scale=0.1")
    assert isinstance(ucb, EpsilonGreedyUCB)
    assert (ucb.alpha, ucb.epsilon, ucb.reward_scale) == (0.5, 0.2, 0.1)
    assert isinstance(parse_candidate("ucb1"), EpsilonGreedyUCB)


@pytest.mark.parametrize(
    "spec",
    [
        "greedy",
        "ucb1:prior=1/1",
        "thompson:alpha=1",
        "thompson:prior=1",
        "ucb1:epsilon=x",
        "ucb1:epsilon=2",
    ],
)
def test_bad_candidate_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_candidate(spec)
    assert caught.value.details[0]["field"] in {"candidate", "epsilon"}


def test_promotion_needs_the_lower_bound_to_beat_production() -> None:
    # production logged a and b uniformly; a pays 1, b pays 0: mean reward 0.5
    records = [record(arm, reward) for arm, reward in [("a", 1.0), ("b", 0.0)] * 100]
    greedy = replay(records, EpsilonGreedyUCB(alpha=0.0, epsilon=0.0), batch_size=10)
    uniform = replay(records, EpsilonGreedyUCB(epsilon=1.0))

    def beats(margin: float = 0.0) -> Any:
        return functools.partial(beats_production, margin=margin)

    better = compare_with_production(greedy, rule=beats(), n_resamples=200, random_state=0)
    assert better.production.estimate == pytest.approx(0.5)
    assert better.candidate.estimate > 0.9
    assert better.promote
    same = compare_with_production(uniform, rule=beats(), n_resamples=200, random_state=0)
    assert same.candidate.estimate == pytest.approx(0.5)
    assert not same.promote
    strict = compare_with_production(greedy, rule=beats(0.6), n_resamples=200, random_state=0)
    assert not strict.promote
    assert set(better.to_dict()) == {"candidate", "production", "promote"}
    with pytest.raises(ValidationError):
        compare_with_production(greedy, rule=beats(), estimator="magic")
