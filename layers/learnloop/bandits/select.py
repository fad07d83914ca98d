"""Choose arms from the bandits' stored statistics: Thompson sampling for content, UCB1 for
posting hours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from learnloop.bandits.arms import ArmsCache
from learnloop.bandits.configured import PolicyCache, ServedPolicy
from learnloop.bandits.propensity import (
    epsilon_greedy_propensities,
    slate_propensities,
    thompson_propensities,
)
from learnloop.bandits.thompson import ThompsonSampling
from learnloop.bandits.ucb import UCB1, whole_pulls
from learnloop.bandits.updates import CONTENT_SCOPE, TIMING_SCOPE, aligned_factors
from learnloop.decisions.log import BANDIT_SURFACE, DecisionLog, new_decision_id
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
    #: Who the decision is for (logged as a keyed pseudonym; never required).
    user_id: Identifier | None = None


def select(
    tables: Tables,
    body: Any,
    *,
    arms: ArmsCache | None = None,
    random_state: int | None = None,
    decisions: DecisionLog | None = None,
    policies: PolicyCache | None = None,
) -> dict[str, Any]:
    """Choose ``n`` arms (``n`` independent draws: one per decision about to be made).

    Content arms use Thompson sampling on Beta(successes + 1, failures + 1); timing arms (UTC
    hours "0".."23") use UCB1 on mean engagement rate behind an ε-greedy layer
    (``bandit_epsilon``). Candidates not seen yet start at the prior (Thompson) or are tried
    first (UCB1).

    ``arms`` (the container's :class:`ArmsCache`) saves a Query per request. With
    ``decisions`` (the container's :class:`~learnloop.decisions.log.DecisionLog`) the answer
    is logged with each chosen arm's propensity (see :mod:`learnloop.bandits.propensity`);
    the answer carries ``decision_id`` and ``propensities`` either way.

    With ``policies`` (the container's :class:`~learnloop.bandits.configured.PolicyCache`),
    a production ``bandit_policy`` version of the scope configures the choice (Thompson's
    prior; UCB1's ``alpha`` and ε) and its version is the decision's ``policy_version`` (the
    arm state's version moves to ``arms_version``); without one, the defaults serve and
    ``policy_version`` is the arm state's.

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
    settings = tables.settings
    # The propensity and exploration draws get streams of their own, so a seeded request
    # chooses exactly what it chose before they existed.
    rng = np.random.default_rng(None if random_state is None else [random_state, 1])
    version = _arms_version(stored, candidates)
    served = policies.get(request.scope) if policies is not None else None
    config = served.config if served is not None else {}
    # Forgetting, as learn applies it: every arm as of the scope's latest update.
    decay = aligned_factors(stored, float(config.get("discount", settings.bandit_discount)))
    if request.scope == CONTENT_SCOPE:
        counts = {
            a: (float(stored[a].successes) * decay[a], float(stored[a].failures) * decay[a])
            for a in candidates
            if a in stored
        }
        prior = config.get("prior", (1.0, 1.0))
        thompson = ThompsonSampling.from_counts(
            counts, arms=candidates, prior=(prior[0], prior[1]), random_state=random_state
        )
        chosen = [thompson.predict() for _ in range(request.n)]
        alpha, beta = thompson.posterior_parameters()
        draws = settings.propensity_draws
        estimated = thompson_propensities(alpha, beta, draws=draws, random_state=rng)
        probability = dict(zip(candidates, (float(p) for p in estimated), strict=True))
        # Each of the n draws is its own decision: every chosen arm has the same distribution.
        # An arm was chosen, so its probability is not 0 even when no Monte Carlo draw saw it
        # win: it is logged at the estimate's resolution, 1 / draws, never 0.
        shown = [(arm, max(probability[arm], 1.0 / draws)) for arm in chosen]
        reply: dict[str, Any] = {
            "scope": request.scope,
            "policy": "thompson",
            "arms": chosen,
            "arm": chosen[0],
            "posteriors": thompson.posterior_summary(n_draws=4000),
        }
        return _logged(reply, request, version, shown, decisions, draws=draws, served=served)
    stats = {
        a: whole_pulls(float(stored[a].pulls) * decay[a], float(stored[a].reward_sum) * decay[a])
        for a in candidates
        if a in stored
    }
    ucb = UCB1.from_stats(
        stats, arms=candidates, alpha=config.get("alpha", 1.0), random_state=random_state
    )
    expectations = ucb.predict_expectations()
    epsilon = config.get("epsilon", settings.bandit_epsilon)
    first = ucb.predict()
    if epsilon > 0 and rng.random() < epsilon:
        first = candidates[int(rng.integers(len(candidates)))]
    # Hours are slots, not repeatable draws: n > 1 returns the n best distinct hours.
    ranked = sorted((a for a in candidates if a != first), key=lambda a: -expectations[a])
    chosen = [first, *ranked[: request.n - 1]]
    position = {a: i for i, a in enumerate(candidates)}
    first_probability = epsilon_greedy_propensities(
        [expectations[a] for a in candidates], epsilon=epsilon
    )
    order = [position[a] for a in sorted(candidates, key=lambda a: -expectations[a])]
    probabilities = slate_propensities(first_probability, order, [position[a] for a in chosen])
    reply = {
        "scope": request.scope,
        "policy": "ucb1",
        "arms": chosen,
        "arm": chosen[0],
        # Unpulled hours score +inf, which JSON cannot carry: they are reported as null.
        "expectations": {a: (v if math.isfinite(v) else None) for a, v in expectations.items()},
        "mean_rewards": ucb.mean_rewards(),
    }
    context = {"epsilon": epsilon}
    return _logged(
        reply,
        request,
        version,
        list(zip(chosen, probabilities, strict=True)),
        decisions,
        context=context,
        served=served,
    )


def _logged(
    reply: dict[str, Any],
    request: SelectIn,
    version: str,
    shown: list[tuple[str, float]],
    decisions: DecisionLog | None,
    *,
    draws: int | None = None,
    context: dict[str, Any] | None = None,
    served: ServedPolicy | None = None,
) -> dict[str, Any]:
    """``reply`` with its ``decision_id`` and ``propensities``, logged when a log is given."""
    entries = [
        {"item": arm, "position": i, "propensity": round(p, 6)} for i, (arm, p) in enumerate(shown)
    ]
    logged_context = {"n": request.n, **(context or {})}
    arms_version: dict[str, str] = {}
    if served is not None:
        # The configured policy is what chose; the arm state it read stays on record.
        arms_version = {"arms_version": version}
        logged_context.update(arms_version)
        version = served.version
    if request.candidates:
        logged_context["candidates"] = list(dict.fromkeys(request.candidates))
    if decisions is not None:
        decision_id = decisions.add(
            surface=BANDIT_SURFACE,
            scope=request.scope,
            policy=reply["policy"],
            policy_version=version,
            user_id=request.user_id,
            shown=entries,
            chosen=reply["arms"],
            context=logged_context,
            propensity_draws=draws,
        )
        decisions.flush()
    else:
        decision_id = new_decision_id()
    return {
        "decision_id": decision_id,
        **reply,
        "policy_version": version,
        **arms_version,
        "propensities": [e["propensity"] for e in entries],
    }


def _arms_version(stored: dict[str, Any], candidates: list[str]) -> str:
    """The arm state a decision used: the latest ``updated_at`` of its stored arms
    (``"prior"`` when none was ever updated)."""
    stamps = [stored[a].updated_at for a in candidates if a in stored and stored[a].updated_at]
    return max(stamps) if stamps else "prior"


def _candidates(scope: str, given: Sequence[str] | None, stored: list[str]) -> list[str]:
    if given:
        return list(dict.fromkeys(given))
    if scope == TIMING_SCOPE:
        return list(HOURS)
    return sorted(stored)
