"""Choose arms from the bandits' stored statistics: Thompson sampling for content, UCB1 for
posting hours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from learnloop.bandits.arms import ArmsCache
from learnloop.bandits.thompson import ThompsonSampling
from learnloop.bandits.ucb import UCB1
from learnloop.bandits.updates import CONTENT_SCOPE, TIMING_SCOPE
from learnloop.exceptions import ConflictError
from learnloop.store.tables import Tables
from learnloop.validation import Identifier, Strict, validate

HOURS: tuple[str, ...] = tuple(str(h) for h in range(24))


class SelectIn(Strict):
    """``POST /v1/bandit/select``."""

    scope: Literal["content", "timing"]
    candidates: Annotated[list[Identifier], Field(min_length=1, max_length=200)] | None = None
    n: Annotated[int, Field(ge=1, le=100)] = 1
    #: Seeds the draws, for reproducible simulations; leave it out in production.
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None


def select(
    tables: Tables,
    body: Any,
    *,
    arms: ArmsCache | None = None,
    random_state: int | None = None,
) -> dict[str, Any]:
    """Choose ``n`` arms (``n`` independent draws: one per decision about to be made).

    Content arms use Thompson sampling on Beta(successes + 1, failures + 1); timing arms (UTC
    hours "0".."23") use UCB1 on mean engagement rate. Candidates not seen yet start at the
    prior (Thompson) or are tried first (UCB1).

    ``arms`` (the container's :class:`ArmsCache`) saves a Query per request.

    Raises
    ------
    ConflictError
        When the scope has no arms yet and no candidates were given.

    Examples
    --------
    >>> select(tables, {"scope": "content", "candidates": ["hook:a", "hook:b"]})  # doctest: +SKIP
    {'scope': 'content', 'policy': 'thompson', 'arms': ['hook:b'], 'arm': 'hook:b', ...}
    """
    request = validate(SelectIn, body)
    random_state = request.seed if request.seed is not None else random_state
    stored = (
        arms.get(request.scope)
        if arms is not None
        else {arm.arm: arm for arm in tables.bandit_arms.query(request.scope)}
    )
    candidates = _candidates(request.scope, request.candidates, list(stored))
    if not candidates:
        raise ConflictError(
            f"the {request.scope!r} bandit has no arms yet; pass 'candidates'",
            details=[{"field": "candidates", "message": "required until arms exist"}],
        )
    if request.scope == CONTENT_SCOPE:
        counts = {
            a: (float(stored[a].successes), float(stored[a].failures))
            for a in candidates
            if a in stored
        }
        thompson = ThompsonSampling.from_counts(counts, arms=candidates, random_state=random_state)
        chosen = [thompson.predict() for _ in range(request.n)]
        return {
            "scope": request.scope,
            "policy": "thompson",
            "arms": chosen,
            "arm": chosen[0],
            "posteriors": thompson.posterior_summary(n_draws=4000),
        }
    stats = {
        a: _whole_pulls(float(stored[a].pulls), float(stored[a].reward_sum))
        for a in candidates
        if a in stored
    }
    ucb = UCB1.from_stats(stats, arms=candidates, random_state=random_state)
    expectations = ucb.predict_expectations()
    first = ucb.predict()
    # Hours are slots, not repeatable draws: n > 1 returns the n best distinct hours.
    ranked = sorted((a for a in candidates if a != first), key=lambda a: -expectations[a])
    chosen = [first, *ranked[: request.n - 1]]
    return {
        "scope": request.scope,
        "policy": "ucb1",
        "arms": chosen,
        "arm": chosen[0],
        # Unpulled hours score +inf, which JSON cannot carry: they are reported as null.
        "expectations": {a: (v if math.isfinite(v) else None) for a, v in expectations.items()},
        "mean_rewards": ucb.mean_rewards(),
    }


def _whole_pulls(pulls: float, reward_sum: float) -> tuple[int, float]:
    """Stored pulls as the whole number UCB1 counts, keeping the arm's mean reward.

    With ``LEARNLOOP_BANDIT_DISCOUNT`` < 1 stored pulls decay to fractions; truncating 1.9
    pulls to 1 would nearly double the hour's mean. Under half a pull the hour is forgotten:
    it counts as unpulled and is tried again.

    Examples
    --------
    >>> pulls, total = _whole_pulls(1.9, 0.057)
    >>> pulls, round(total / pulls, 6), _whole_pulls(0.4, 0.02)
    (2, 0.03, (0, 0.0))
    """
    whole = round(pulls)
    if whole == 0:
        return 0, 0.0
    return whole, reward_sum * whole / pulls


def _candidates(scope: str, given: Sequence[str] | None, stored: list[str]) -> list[str]:
    if given:
        return list(dict.fromkeys(given))
    if scope == TIMING_SCOPE:
        return list(HOURS)
    return sorted(stored)
