"""Shared simulation for the bandit tests: a Bernoulli (or real-valued) environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest

from learnloop.bandits.base import Bandit

RewardFn = Callable[[str, np.random.Generator], float]


def play(
    bandit: Bandit,
    reward: RewardFn,
    *,
    horizon: int,
    batch: int = 10,
    seed: int = 0,
    fit: bool = True,
) -> list[str]:
    """Choose ``horizon`` arms one at a time, learning in ``partial_fit`` batches of ``batch``."""
    rng = np.random.default_rng(seed)
    if fit:
        bandit.fit([], [])
    chosen: list[str] = []
    decisions: list[str] = []
    rewards: list[float] = []
    for _ in range(horizon):
        arm = bandit.predict()
        chosen.append(arm)
        decisions.append(arm)
        rewards.append(reward(arm, rng))
        if len(decisions) == batch:
            bandit.partial_fit(decisions, rewards)
            decisions, rewards = [], []
    if decisions:
        bandit.partial_fit(decisions, rewards)
    return chosen


def bernoulli(probabilities: Mapping[str, float]) -> RewardFn:
    """Reward 1 with the arm's probability, else 0."""
    return lambda arm, rng: float(rng.random() < probabilities[arm])


@pytest.fixture
def simulate() -> Callable[..., list[str]]:
    return play


@pytest.fixture
def bernoulli_env() -> Callable[[Mapping[str, float]], RewardFn]:
    return bernoulli
