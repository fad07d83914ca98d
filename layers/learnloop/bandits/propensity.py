"""Propensities: the probability that the bandit's policy shows what it showed.

Off-policy evaluation reweights each logged decision by ``1 / propensity``, so every decision
the bandits make is logged with the probability of its choice under the policy that made it
(see docs/learning.md, "Propensities").

Thompson sampling
    An arm's propensity is the probability that its posterior draw is the largest. There is
    no closed form beyond two arms, so it is estimated by Monte Carlo: ``draws`` joint draws
    from every arm's Beta posterior, counting how often each arm wins. The estimate is
    unbiased with standard error ``sqrt(p (1 - p) / draws)`` (at most ``0.5 / sqrt(draws)``:
    0.031 with the default 256 draws). Every arm's draws come in one vectorised call.
UCB1
    UCB1 is deterministic (propensity 1 or 0), which no reweighting can evaluate a different
    policy from. An explicit ε-greedy layer makes it stochastic with a known probability: with
    probability ``epsilon`` the first arm is drawn uniformly from the candidates, otherwise it
    is UCB1's choice (ties split evenly). The arms after the first are the best remaining by
    UCB1 score, so their probabilities follow exactly from the first's.

Examples
--------
>>> import numpy as np
>>> p = thompson_propensities([31.0, 1.0], [71.0, 1.0], draws=256, random_state=0)
>>> p.shape, float(p.sum())
((2,), 1.0)
>>> epsilon_greedy_propensities([0.2, 0.5, 0.1], epsilon=0.3).round(3).tolist()
[0.1, 0.8, 0.1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from learnloop.exceptions import ValidationError

__all__ = [
    "epsilon_greedy_propensities",
    "propensity_standard_error",
    "slate_propensities",
    "thompson_propensities",
]


def thompson_propensities(
    alpha: Sequence[float] | np.ndarray,
    beta: Sequence[float] | np.ndarray,
    *,
    draws: int,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Monte Carlo estimate of each arm's probability of the highest Beta posterior draw.

    Parameters
    ----------
    alpha, beta : array-like of float
        Every arm's Beta posterior parameters (``successes + 1``, ``failures + 1``).
    draws : int
        Joint posterior draws (at least 1); the standard error is ``sqrt(p (1 - p) / draws)``.
    random_state : int, numpy.random.Generator or None
        Seeds the draws.

    Returns
    -------
    numpy.ndarray
        One probability per arm, summing to 1.

    Examples
    --------
    >>> thompson_propensities([1000.0, 1.0], [1.0, 1000.0], draws=64, random_state=1).tolist()
    [1.0, 0.0]
    """
    if draws < 1:
        raise ValidationError(
            "draws must be at least 1", details=[{"field": "draws", "message": "must be >= 1"}]
        )
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    samples = rng.beta(a, b, size=(draws, len(a)))
    wins = np.bincount(samples.argmax(axis=1), minlength=len(a))
    return wins / float(draws)


def propensity_standard_error(propensity: float, draws: int) -> float:
    """The standard error of a Monte Carlo propensity estimate: ``sqrt(p (1 - p) / draws)``.

    Examples
    --------
    >>> round(propensity_standard_error(0.5, 256), 4)
    0.0312
    """
    return math.sqrt(max(propensity * (1.0 - propensity), 0.0) / draws)


def epsilon_greedy_propensities(
    scores: Sequence[float] | np.ndarray, *, epsilon: float
) -> np.ndarray:
    """Each arm's probability of being played by ε-greedy over ``scores``.

    The best-scoring arms (ties included, ``inf`` too) share ``1 - epsilon``; every arm gets
    ``epsilon / len(scores)`` more.

    Examples
    --------
    >>> epsilon_greedy_propensities([float("inf"), float("inf"), 0.4], epsilon=0.0).tolist()
    [0.5, 0.5, 0.0]
    """
    values = np.asarray(scores, dtype=np.float64)
    best = values == values.max()
    return np.where(best, (1.0 - epsilon) / best.sum(), 0.0) + epsilon / len(values)


def slate_propensities(
    first: np.ndarray, order: Sequence[int], slate: Sequence[int]
) -> list[float]:
    """The probability of each item of ``slate`` at its position, when only the first is drawn.

    The first item is drawn with probabilities ``first``; the rest of the slate is the best
    of ``order`` (every item, best first) without the first. So item ``x`` is at position
    ``j >= 1`` when the first ranks at or below ``j`` and ``order[j - 1] == x``, or ranks above
    it and ``order[j] == x``.

    Parameters
    ----------
    first : numpy.ndarray
        Each item's probability of being drawn first.
    order : sequence of int
        Every item index, best first.
    slate : sequence of int
        The items shown, by index, in order.

    Returns
    -------
    list of float
        The probability of ``slate[j]`` at position ``j``, for each ``j``.

    Examples
    --------
    >>> slate_propensities(np.array([0.9, 0.05, 0.05]), [0, 1, 2], [0, 1])
    [0.9, 0.9]
    >>> slate_propensities(np.array([0.9, 0.05, 0.05]), [0, 1, 2], [1, 0])
    [0.05, 0.1]
    """
    # by_rank[r]: the probability that the item ranked r is drawn first.
    by_rank = first[np.asarray(order, dtype=np.intp)]
    above = np.concatenate([[0.0], np.cumsum(by_rank)])  # above[j]: first ranks < j
    result = [float(first[slate[0]])]
    for j, item in enumerate(slate[1:], start=1):
        probability = 0.0
        if order[j - 1] == item:
            probability += 1.0 - above[j]
        if j < len(order) and order[j] == item:
            probability += above[j]
        result.append(round(float(min(max(probability, 0.0), 1.0)), 12))
    return result
