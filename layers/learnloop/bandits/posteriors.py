"""``GET /v1/admin/bandits``: every arm's posterior, computed by the bandit classes themselves.

Content arms: Beta(successes + 1, failures + 1) with mean and 95 % interval
(:meth:`ThompsonSampling.posterior_summary`); timing arms: pulls, mean reward and UCB1 score
(:meth:`UCB1.predict_expectations`). Arms are read by Query on their scope, through the
container's :class:`~learnloop.bandits.arms.ArmsCache` when given.
"""

from __future__ import annotations

import math
from typing import Any

from learnloop.bandits.arms import ArmsCache
from learnloop.bandits.configured import production_policy
from learnloop.bandits.updates import CONTENT_SCOPE, TIMING_SCOPE, aligned_factors
from learnloop.store.tables import Tables

#: Posterior draws for the 95 % intervals: intervals within ~0.01 of the exact quantiles.
_DRAWS = 4000


def bandit_posteriors(tables: Tables, *, arms: ArmsCache | None = None) -> dict[str, Any]:
    """The arms of both bandits with their posteriors / confidence bounds.

    Parameters
    ----------
    tables
        The stage's tables.
    arms
        The container's arms cache (default: one Query per scope).

    Returns
    -------
    dict
        ``{"scopes": {"content": {"policy": "thompson", "arms": [...]}, "timing": {"policy":
        "ucb1", "arms": [...]}}}``; arms sorted by name (timing: by hour).

    Examples
    --------
    >>> bandit_posteriors(tables)["scopes"]["content"]["arms"][0]  # doctest: +SKIP
    {'arm': 'hook:story', 'alpha': 31.0, 'beta': 71.0, 'mean': 0.3039, ...}
    """
    from learnloop.bandits.thompson import ThompsonSampling  # numpy: admin path only
    from learnloop.bandits.ucb import UCB1, whole_pulls

    def stored(scope: str) -> dict[str, Any]:
        if arms is not None:
            return arms.get(scope)
        return {arm.arm: arm for arm in tables.bandit_arms.query(scope)}

    # Forgetting as select reads it: every arm as of its scope's latest update.
    served = production_policy(tables, CONTENT_SCOPE)
    discount = tables.settings.bandit_discount
    content = stored(CONTENT_SCOPE)
    content_arms: list[dict[str, Any]] = []
    if content:
        names = sorted(content)
        kept = aligned_factors(
            content, float(served.config.get("discount", discount)) if served else discount
        )
        thompson = ThompsonSampling.from_counts(
            {
                a: (float(content[a].successes) * kept[a], float(content[a].failures) * kept[a])
                for a in names
            },
            random_state=0,
        )
        summary = thompson.posterior_summary(n_draws=_DRAWS)
        content_arms = [
            {"arm": a, **{k: _round(v) for k, v in summary[a].items()}, **_meta(content[a])}
            for a in names
        ]

    timing = stored(TIMING_SCOPE)
    timing_arms: list[dict[str, Any]] = []
    if timing:
        hours = sorted(timing, key=lambda a: (int(a) if a.isdigit() else 99, a))
        factor = aligned_factors(timing, discount)
        stats = {
            a: whole_pulls(float(timing[a].pulls) * factor[a], timing[a].reward_sum * factor[a])
            for a in hours
        }
        ucb = UCB1.from_stats(stats)
        expectations = ucb.predict_expectations()
        means = ucb.mean_rewards()
        timing_arms = [
            {
                "arm": a,
                "pulls": stats[a][0],
                "mean_reward": _round(means[a]),
                # An arm never pulled scores +inf, which JSON cannot carry: null.
                "ucb": _round(expectations[a]),
                **_meta(timing[a]),
            }
            for a in hours
        ]
    return {
        "scopes": {
            CONTENT_SCOPE: {"policy": "thompson", "arms": content_arms},
            TIMING_SCOPE: {"policy": "ucb1", "arms": timing_arms},
        }
    }


def _meta(arm: Any) -> dict[str, Any]:
    return {"updated_at": arm.updated_at}


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
