"""An ε-greedy exploration layer over a ranking, with an exact propensity per shown slot.

A recommender's top-k list is deterministic given the model (propensity 1 for what it shows,
0 for the rest), so no logged list could tell how another ranking would have done. This layer
makes it stochastic in a known way. The model ranks ``k + m`` items; the first ``k`` are the
list, the next ``m`` (``m >= k``) the *pool*. Each slot independently shows the model's item
with probability ``1 - epsilon``, or with probability ``epsilon`` is *explored*: it takes an item
drawn uniformly without replacement from the pool. The explored slots' items are then a
uniformly random ordered subset of the pool, so each one is marginally uniform, and:

- the model's item at rank ``j`` is shown at position ``j`` with probability ``1 - epsilon``;
- a pool item is shown at position ``j`` with probability ``epsilon / m``.

When the ranking has fewer than ``2 k`` items there is no pool of at least ``k`` and nothing is
explored (every propensity is 1).

Examples
--------
>>> ranked = [(r, 1.0 - r / 10) for r in range(6)]
>>> shown = explore_ranking(ranked, k=3, epsilon=0.0, random_state=0)
>>> [(row, p) for row, _, p in shown]
[(0, 1.0), (1, 1.0), (2, 1.0)]
>>> [p for _, _, p in explore_ranking(ranked, k=3, epsilon=1.0, random_state=0)]
[0.333333, 0.333333, 0.333333]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["explore_ranking"]


def explore_ranking(
    ranked: Sequence[tuple[int, float]],
    *,
    k: int,
    epsilon: float,
    random_state: int | Sequence[int] | np.random.Generator | None = None,
) -> list[tuple[int, float, float]]:
    """The ``k`` items to show, each with its score and the probability of its slot.

    Parameters
    ----------
    ranked : sequence of (row, score)
        The model's ranking, best first, ``k`` plus the exploration pool.
    k : int
        How many to show.
    epsilon : float
        Each slot's probability of being explored, in [0, 1].
    random_state : int, sequence of int, numpy.random.Generator or None
        Seeds the exploration.

    Returns
    -------
    list of (row, score, propensity)
        In display order; propensities rounded to 6 decimals.
    """
    head = list(ranked[:k])
    pool = list(ranked[k:])
    if epsilon <= 0 or len(pool) < len(head) or not head:
        return [(row, score, 1.0) for row, score in head]
    rng = np.random.default_rng(random_state)
    explored = rng.random(len(head)) < epsilon
    picks = iter(rng.permutation(len(pool))[: int(explored.sum())])
    pool_probability = round(epsilon / len(pool), 6)
    shown = []
    for slot, (row, score) in enumerate(head):
        if explored[slot]:
            p_row, p_score = pool[int(next(picks))]
            shown.append((p_row, p_score, pool_probability))
        else:
            shown.append((row, score, round(1.0 - epsilon, 6)))
    return shown
