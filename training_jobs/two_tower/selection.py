"""From positives to the model the job publishes: split per user, tune, compare, refit.

:func:`select_model` is the whole decision of ``learnloop train two_tower`` (the job adds the
reading, the export and the writing around it; ``bench/movielens.py`` calls it too, so the
bench scores exactly what the job would publish):

1. split the positives per user, leave-last-k-out by time (:func:`per_user_split`): every user
   with enough history has their newest positives in the test part and the ones just before
   in the validation part;
2. tune every candidate on the training part, scored on the validation users
   (:func:`~training_jobs.two_tower.tuning.tune`); the winner is the best validation NDCG@10;
3. fit each candidate's best settings on training + validation (the two-tower model for the
   epoch count early stopping chose) and score it on the test users, beside the popularity
   baseline on the same users: the manifest's metrics and the popularity floor the registry
   applies;
4. refit the winner on every positive with its settings: the published model.

Examples
--------
>>> from training_jobs.two_tower.data import Interaction
>>> rows = [Interaction(f"u{u}", f"meme#{(u + j) % 9}", f"2026-11-{j + 1:02d}")
...         for u in range(30) for j in range(6)]
>>> chosen = select_model(rows, candidates=("als",), budget_seconds=0)
>>> chosen.winner.candidate, len(chosen.published.user_ids_)
('als', 30)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training_jobs.two_tower.data import Interaction, UserSplit, per_user_split
from training_jobs.two_tower.estimator import (
    EmbeddingRecommender,
    EpochCallback,
    ItemCatalog,
    pairs_of,
)
from training_jobs.two_tower.quality import similarity_report
from training_jobs.two_tower.tuning import (
    CANDIDATES,
    DEFAULT_BUDGET_SECONDS,
    Search,
    Trial,
    build,
    tune,
)

__all__ = ["METRIC_KS", "Selection", "select_model"]

METRIC_KS = (5, 10, 20)
#: The rule the job records and registration applies (``models.promotion``).
FLOOR_RULE = "ndcg@10 on the held-out users must be at least the popularity baseline's"


@dataclass
class Selection:
    """What :func:`select_model` decided, and the model to publish.

    Attributes
    ----------
    split : UserSplit
        The per-user split.
    search : Search
        Every tuning trial.
    winner : Trial
        The chosen candidate's best trial.
    heldout : dict
        Per candidate, its test metrics (fit on training + validation with its best
        settings) with the popularity baseline's on the same users.
    metrics : dict
        The winner's test metrics (the manifest's ``metrics``).
    test_users : int
        Users scored on the test part.
    published : EmbeddingRecommender
        The refit (or, without refit, the training + validation) model of the winner.
    embedding_quality : dict
        :func:`~training_jobs.two_tower.quality.similarity_report` of the published items.
    seconds : dict
        Wall time of each step.
    """

    split: UserSplit
    search: Search
    winner: Trial
    heldout: dict[str, dict[str, float]]
    metrics: dict[str, float]
    test_users: int
    published: EmbeddingRecommender
    embedding_quality: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    def popularity_floor(self) -> dict[str, Any]:
        """The floor the registry applies, with the data it was measured on."""
        model = self.metrics.get("ndcg@10", 0.0)
        popular = self.metrics.get("popularity_ndcg@10", 0.0)
        return {
            "rule": FLOOR_RULE,
            "metric": "ndcg@10",
            "candidate": model,
            "popularity": popular,
            "users": self.test_users,
            "data": "test part: each eligible user's newest positives",
            "passed": bool(model >= popular),
        }

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``extra.selection``."""
        return {
            "winner": self.winner.candidate,
            "rule": "best validation ndcg@10 over the candidates, on the same validation users",
            "validation": {
                c: self.search.best(c).score
                for c in dict.fromkeys(t.candidate for t in self.search.trials)
            },
            "test": self.heldout,
            "tuning": self.search.to_dict(),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _final_params(trial: Trial) -> dict[str, Any]:
    # Without a validation part the two-tower model trains for the epochs early stopping kept.
    if trial.candidate == "two_tower":
        return {**trial.params, "epochs": max(1, trial.best_epoch)}
    return dict(trial.params)


def select_model(
    interactions: Sequence[Interaction],
    *,
    catalog: ItemCatalog | None = None,
    params: Mapping[str, Any] | None = None,
    als_params: Mapping[str, Any] | None = None,
    candidates: Sequence[str] = CANDIDATES,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    max_trials: int = 40,
    holdout: float = 0.1,
    refit: bool = True,
    random_state: int | None = 42,
    progress: Callable[[str, int], EpochCallback] | None = None,
    echo: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = time.monotonic,
) -> Selection:
    """Split, tune, compare and refit (see the module).

    Parameters
    ----------
    interactions : sequence of Interaction
        Every positive.
    catalog : ItemCatalog, optional
        Items to embed, with text for the two-tower model.
    params, als_params : mapping, optional
        Two-tower and ALS settings pinned in every trial (``random_state`` in ``params``
        seeds everything).
    candidates : sequence of str
        Candidates to train.
    budget_seconds, max_trials
        The search's budget (see :func:`~training_jobs.two_tower.tuning.tune`).
    holdout : float
        Share of each eligible user's positives in validation and in test.
    refit : bool
        Publish the winner refit on every positive (else: fit on training + validation).
    progress : callable, optional
        ``progress(stage, epochs)`` returns the per-epoch callback of the final fit.
    echo : callable
        Where step lines go.
    clock : callable
        Seconds, monotonic.

    Returns
    -------
    Selection
    """
    params = dict(params or {})
    seed = params.pop("random_state", random_state)
    started = clock()
    split = per_user_split(interactions, holdout=holdout)
    sizes = split.sizes()
    echo(
        f"split per user: {sizes['train']} train, {sizes['validation']} validation, "
        f"{sizes['test']} test ({sizes['eligible_users']} users held out)"
    )
    train, valid, test = pairs_of(split.train), pairs_of(split.valid), pairs_of(split.test)
    seconds: dict[str, float] = {}
    search = tune(
        train,
        valid,
        catalog=catalog,
        candidates=candidates,
        budget_seconds=budget_seconds,
        max_trials=max_trials,
        fixed={"two_tower": params, "als": dict(als_params or {})},
        random_state=seed,
        clock=clock,
        echo=echo,
    )
    seconds["search"] = search.seconds
    winner = search.winner()
    mark = clock()
    heldout: dict[str, dict[str, float]] = {}
    users = 0
    fitted: dict[str, EmbeddingRecommender] = {}
    for candidate in dict.fromkeys(t.candidate for t in search.trials):
        best = search.best(candidate)
        model = build(candidate, _final_params(best), seed).fit(train + valid, catalog=catalog)
        scores = model.evaluate(test, ks=METRIC_KS)
        users = int(scores.pop("users", 0))
        heldout[candidate] = {k: float(v) for k, v in scores.items()}
        fitted[candidate] = model
        echo(
            f"{candidate}: test NDCG@10 {scores.get('ndcg@10', 0.0):.4f} vs popularity "
            f"{scores.get('popularity_ndcg@10', 0.0):.4f} over {users} users"
        )
    seconds["heldout"] = clock() - mark
    echo(f"chosen: {winner.candidate} (validation NDCG@10 {winner.score:.4f})")
    mark = clock()
    if refit:
        published = build(winner.candidate, _final_params(winner), seed)
        callback = progress("refit", int(getattr(published, "epochs", 0))) if progress else None
        published.fit(pairs_of(interactions), catalog=catalog, callback=callback)
    else:
        published = fitted[winner.candidate]
    seconds["refit"] = clock() - mark
    quality = similarity_report(published.item_embeddings_, published.history_)
    seconds["total"] = clock() - started
    return Selection(
        split=split,
        search=search,
        winner=winner,
        heldout=heldout,
        metrics=dict(heldout[winner.candidate]),
        test_users=users,
        published=published,
        embedding_quality=quality,
        seconds=seconds,
    )
