"""Propensities: Thompson Monte Carlo against the exact two-arm probability, ε-greedy and
slate probabilities against enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from learnloop.bandits.propensity import (
    epsilon_greedy_propensities,
    propensity_standard_error,
    slate_propensities,
    thompson_propensities,
)
from learnloop.recommender.explore import explore_ranking


def exact_two_arm(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(X1 > X2) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2): the integral of f1 * F2."""
    value, _ = integrate.quad(
        lambda x: stats.beta.pdf(x, a1, b1) * stats.beta.cdf(x, a2, b2), 0.0, 1.0
    )
    return float(value)


@pytest.mark.parametrize(
    ("alpha", "beta"), [((31.0, 11.0), (71.0, 21.0)), ((3.0, 2.0), (2.0, 3.0)), ((1, 1), (1, 1))]
)
def test_thompson_monte_carlo_matches_the_exact_two_arm_probability(
    alpha: tuple[float, float], beta: tuple[float, float]
) -> None:
    draws = 256
    exact = exact_two_arm(alpha[0], beta[0], alpha[1], beta[1])
    error = propensity_standard_error(exact, draws)
    estimates = [
        thompson_propensities(alpha, beta, draws=draws, random_state=seed)[0] for seed in range(200)
    ]
    # Each estimate within 4 stated standard errors; their spread is the stated error.
    assert all(abs(e - exact) <= 4 * error + 1e-12 for e in estimates)
    assert np.std(estimates) == pytest.approx(error, rel=0.25)
    assert np.mean(estimates) == pytest.approx(exact, abs=4 * error / math.sqrt(200))


def test_thompson_propensities_sum_to_one() -> None:
    p = thompson_propensities([2.0, 5.0, 9.0], [9.0, 5.0, 2.0], draws=256, random_state=0)
    assert p.sum() == pytest.approx(1.0) and p.argmax() == 2


def test_epsilon_greedy_splits_ties_and_spreads_epsilon() -> None:
    p = epsilon_greedy_propensities([1.0, 3.0, 3.0, 0.0], epsilon=0.2)
    assert p.tolist() == pytest.approx([0.05, 0.45, 0.45, 0.05]) and p.sum() == pytest.approx(1)


def test_slate_propensities_match_enumeration() -> None:
    scores = np.array([0.3, 0.9, 0.5, 0.1, 0.7])
    first = epsilon_greedy_propensities(scores, epsilon=0.3)
    order = list(np.argsort(-scores, kind="stable"))
    n = 3
    exact: dict[tuple[int, int], float] = {}
    for f in range(len(scores)):
        slate = [f, *[i for i in order if i != f][: n - 1]]
        for j, item in enumerate(slate):
            exact[(j, item)] = exact.get((j, item), 0.0) + float(first[f])
    for f in range(len(scores)):
        slate = [f, *[i for i in order if i != f][: n - 1]]
        got = slate_propensities(first, [int(i) for i in order], slate)
        assert got == pytest.approx([exact[(j, item)] for j, item in enumerate(slate)])


def test_explored_slots_have_the_stated_frequencies() -> None:
    k, pool, epsilon, runs = 3, 4, 0.3, 20_000
    ranked = [(row, 1.0) for row in range(k + pool)]
    counts: dict[tuple[int, int], int] = {}
    stated: dict[tuple[int, int], float] = {}
    rng = np.random.default_rng(0)
    for _ in range(runs):
        for position, (row, _, p) in enumerate(
            explore_ranking(ranked, k=k, epsilon=epsilon, random_state=rng)
        ):
            counts[(position, row)] = counts.get((position, row), 0) + 1
            stated[(position, row)] = p
    for (position, row), p in stated.items():
        assert p == pytest.approx(1 - epsilon if row == position else epsilon / pool, abs=1e-6)
        error = math.sqrt(p * (1 - p) / runs)
        assert counts[(position, row)] / runs == pytest.approx(p, abs=5 * error)
    assert all(
        (position, row) in stated
        for position, row in itertools.product(range(k), range(k, k + pool))
    )


def test_no_pool_no_exploration() -> None:
    shown = explore_ranking([(0, 1.0), (1, 0.5), (2, 0.1)], k=2, epsilon=0.5, random_state=0)
    assert [p for _, _, p in shown] == [1.0, 1.0]
