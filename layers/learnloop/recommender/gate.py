"""A new two-tower version valued on the recommendations production logged: its OPE report.

Registration (:func:`learnloop.models.promotion.decide`) asks this module, through the
``logged_gates`` the app's ``on_model_dropped`` hands it, what a ``two_tower`` candidate would
have earned on the decision log, and applies the one off-policy rule there
(:func:`learnloop.models.promotion.beats_production`) to the report returned here.

Which decisions: ``GET /v1/recommendations`` answers of the last ``policy_evaluation_days``
served by production's version, for a user (pseudonym) the candidate has an embedding for.
Each answer logged every shown item's slot propensity under the ε-greedy exploration layer
(:mod:`learnloop.recommender.explore`) and its clicks.

The candidate's propensity of the logged item ``a`` at slot ``j``, under the same layer with
the logged ``k`` and ``epsilon`` and the stage's pool size ``m``: ``(1 - epsilon)`` when the
candidate ranks ``a`` ``j``-th, plus ``epsilon / m`` when ``a`` is in the candidate's pool
(its ranks ``k`` to ``k + m - 1``); without a pool of at least ``k`` items nothing is explored.
The value is IIPS (:class:`~learnloop.decisions.ope.IndependentItemIPW`): expected clicks per
answer, with a bootstrap interval; production's is the mean clicks per answer on the same
decisions. Caveat: what the user had reacted to at the time (left out of their list) is not
logged, so the candidate ranks every item of the logged content type; an item it would have
shown that the user had already reacted to takes a slot, which biases the candidate's value
down, never up.

With fewer than ``recommender_ope_min_decisions`` usable decisions the report says
``too_few_decisions`` and registration falls back to its offline comparison, recording so.

Examples
--------
>>> target_propensity("b", 1, head=["a", "b"], pool=["c", "d"], epsilon=0.1)
0.9
>>> target_propensity("c", 0, head=["a", "b"], pool=["c", "d"], epsilon=0.1)
0.05
>>> target_propensity("c", 0, head=["a", "b"], pool=["c"], epsilon=0.1)  # no pool: no layer
0.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from learnloop.decisions.log import RECOMMENDATIONS_SURFACE, read_decisions
from learnloop.store.tables import Tables

__all__ = ["target_propensity", "value_on_log"]

#: The estimator and the bootstrap behind a two-tower candidate's report.
ESTIMATOR = "iips"
RESAMPLES = 1000


def target_propensity(
    item: str, slot: int, *, head: Sequence[str], pool: Sequence[str], epsilon: float
) -> float:
    """The candidate layer's probability of showing ``item`` at ``slot`` (see above)."""
    if epsilon <= 0 or len(pool) < len(head):
        return 1.0 if slot < len(head) and head[slot] == item else 0.0
    p = (1.0 - epsilon) if slot < len(head) and head[slot] == item else 0.0
    if item in pool:
        p += epsilon / len(pool)
    return p


def value_on_log(
    tables: Tables,
    name: str,
    version: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    production_version: str,
    now: datetime,
) -> dict[str, Any]:
    """The OPE report of a ``two_tower`` candidate on production's logged recommendations.

    Returns
    -------
    dict
        ``{"status": "estimated" | "too_few_decisions", "value": PolicyValue fields (IIPS,
        clicks per answer), "production": {"estimate", "n"}, "range": {"from", "to"},
        "rows": {"used", "skipped"}, "min_decisions"}``; ``value`` is absent when too few.
    """
    import numpy as np

    from learnloop.decisions.ope import IndependentItemIPW, logged_slates
    from learnloop.recommender.index import load_two_tower

    settings = tables.settings
    last = now.date()
    first = last - timedelta(days=settings.policy_evaluation_days - 1)
    candidate = load_two_tower(name, version, files, manifest)
    rows: list[tuple[list[float], list[float], list[float]]] = []
    skipped = 0
    for d in read_decisions(tables, first, last):
        if d["surface"] != RECOMMENDATIONS_SURFACE or d["policy_version"] != production_version:
            continue
        vector = candidate.user_vector(d["user_id"]) if d["user_id"] else None
        shown = d["shown"]
        if vector is None or not shown:
            skipped += 1
            continue
        context = d["context"] or {}
        k = int(context.get("k") or len(shown))
        epsilon = float(context.get("epsilon") or 0.0)
        wanted = k + (max(k, settings.recommend_explore_pool) if epsilon > 0 else 0)
        content_type = None if d["scope"] in (None, "all") else d["scope"]
        ranked = candidate.recommend(vector, k=wanted, content_type=content_type)
        keys = [candidate.item_keys[row] for row, _ in ranked]
        head, pool = keys[:k], keys[k:]
        clicks = set(d["clicks"])
        rows.append(
            (
                [float(s["propensity"]) for s in shown],
                [
                    target_propensity(
                        s["item"], s["position"], head=head, pool=pool, epsilon=epsilon
                    )
                    for s in shown
                ],
                [1.0 if s["item"] in clicks else 0.0 for s in shown],
            )
        )
    report: dict[str, Any] = {
        "estimator": ESTIMATOR,
        "range": {"from": first.isoformat(), "to": last.isoformat()},
        "rows": {"used": len(rows), "skipped": skipped},
        "min_decisions": settings.recommender_ope_min_decisions,
        "production_version": production_version,
    }
    if len(rows) < settings.recommender_ope_min_decisions:
        return {**report, "status": "too_few_decisions"}
    width = max(len(r[0]) for r in rows)

    def padded(column: int, fill: float) -> Any:
        # Answers may show fewer than k items: pad with slots that weigh and earn nothing.
        return np.array([r[column] + [fill] * (width - len(r[column])) for r in rows])

    slates = logged_slates(
        propensities=padded(0, 1.0), target_propensities=padded(1, 0.0), rewards=padded(2, 0.0)
    )
    value = IndependentItemIPW(n_resamples=RESAMPLES, random_state=0).estimate(slates)
    production = float(slates.rewards.sum(axis=1).mean())
    return {
        **report,
        "status": "estimated",
        "value": value.to_dict(),
        "production": {"estimate": production, "n": slates.n},
    }
