"""From positives to the model the job publishes: split per user, tune, compare, refit.

:func:`select_model` is the whole decision of ``learnloop train two_tower`` (the job adds the
reading, the export and the writing around it; ``bench/movielens.py`` calls it too, so the
bench scores exactly what the job would publish):

1. split the positives per user, leave-last-k-out by time (:func:`per_user_split`): every user
   with enough history has their newest positives in the test part and the ones just before
   in the validation part;
2. carve a second validation fold from the training part (:func:`random_fold`: per eligible
   user as many positives as their chronological validation part, drawn at random from the
   older ones), tune every candidate on what is left, each trial scored per user on both
   folds (:func:`~training_jobs.two_tower.tuning.tune`); the newest items alone are a noisy
   guide (on MovieLens-100K every ALS setting scored 0.055-0.068 there, and the noise favoured
   weakly regularised settings that generalise worst), items missing at random a steadier one;
3. choose with the one-standard-error rule on paired per-user scores
   (:func:`one_standard_error`): the simplest trial whose mean per-user shortfall to the best
   trial is within one standard error of that shortfall, so a setting wins on complexity only
   when the data cannot tell it from the best, and the best wins when it is clearly better;
4. fit the chosen settings (and each other candidate's best) on training + validation (the
   two-tower model for the epoch count early stopping chose) and score it on the test users,
   beside the popularity baseline on the same users: the manifest's metrics and the
   popularity floor the registry applies;
5. refit the chosen settings on every positive: the published model.

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

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training_jobs.exceptions import TrainingDataError
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

__all__ = [
    "METRIC_KS",
    "Choice",
    "Selection",
    "one_standard_error",
    "random_fold",
    "select_model",
    "simplicity",
]

METRIC_KS = (5, 10, 20)
#: How the job chooses among the trials (recorded in the manifest with its data).
SELECTION_RULE = (
    "one standard error on paired per-user validation ndcg@10: the simplest trial whose mean "
    "per-user shortfall to the best trial is at most the standard error of that shortfall"
)
#: The validation folds the trials are scored on, as the manifest describes them.
FOLDS = {
    "chronological": "each eligible user's positives just before their test part",
    "random": "as many of each eligible user's older positives, drawn at random (seeded)",
}
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
        The chosen trial (:attr:`choice`).
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
    choice : Choice, optional
        The one-standard-error decision and its data.
    folds : dict
        Rows in each validation fold.
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
    choice: Choice | None = None
    folds: dict[str, int] = field(default_factory=dict)

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
            "rule": SELECTION_RULE,
            "folds": {
                name: {"rows": rows, "data": FOLDS.get(name, name)}
                for name, rows in self.folds.items()
            },
            "choice": None if self.choice is None else self.choice.to_dict(),
            "chosen": {
                "params": self.winner.params,
                "validation_ndcg@10": self.winner.score,
                "folds": self.winner.folds,
            },
            "validation": {
                c: self.search.best(c).score
                for c in dict.fromkeys(t.candidate for t in self.search.trials)
            },
            "test": self.heldout,
            "tuning": self.search.to_dict(),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def random_fold(
    train: Sequence[Interaction], per_user: Mapping[str, int], *, random_state: int | None = 42
) -> tuple[list[Interaction], list[Interaction]]:
    """Hold out, for each user in ``per_user``, that many of their ``train`` positives drawn at
    random, when at least as many stay in training; returns ``(kept, held_out)``.

    The chronological fold only asks "what next?", where every setting scores alike; items
    missing at random also ask "what else does this user like?", which tells settings apart
    (and is what a user browsing the catalog meets).

    Examples
    --------
    >>> rows = [Interaction("a", f"m#{n}", f"2026-11-0{n}") for n in range(1, 5)]
    >>> kept, held = random_fold(rows, {"a": 1, "b": 1}, random_state=0)
    >>> len(kept), len(held), held[0].user
    (3, 1, 'a')
    """
    by_user: dict[str, list[Interaction]] = {}
    for row in train:
        by_user.setdefault(row.user, []).append(row)
    rng = random.Random(random_state)
    held: set[Interaction] = set()
    for user in sorted(per_user):
        rows = sorted(by_user.get(user, []))
        k = per_user[user]
        if k >= 1 and len(rows) >= 2 * k:
            held.update(rng.sample(rows, k))
    kept = [row for row in train if row not in held]
    return kept, [row for row in train if row in held]


def simplicity(trial: Trial) -> tuple[Any, ...]:
    """The order the one-standard-error rule prefers (smaller is simpler).

    EASE first (closed form, one penalty), then ALS, then the two-tower model (more settings,
    text); within one, fewer factors (the dimension), stronger regularisation, no
    re-weighting, lower confidence weight, fewer sweeps or epochs.

    Examples
    --------
    >>> a = Trial("als", {"factors": 32, "regularization": 30.0}, 0.1, 15, 1.0)
    >>> b = Trial("als", {"factors": 32, "regularization": 1.0}, 0.1, 15, 1.0)
    >>> c = Trial("two_tower", {"embedding_dim": 32, "weight_decay": 0.3}, 0.1, 9, 9.0)
    >>> e = Trial("ease", {"factors": 64, "regularization": 300.0}, 0.1, 1, 1.0)
    >>> sorted([c, b, a, e], key=simplicity) == [e, a, b, c]
    True
    """
    p = trial.params
    if trial.candidate == "ease":
        return (0, int(p.get("factors", 0)), -float(p.get("regularization", 0.0)), 0, 0.0, 0)
    if trial.candidate == "als":
        return (
            1,
            int(p.get("factors", 0)),
            -float(p.get("regularization", 0.0)),
            0 if p.get("weighting", "none") == "none" else 1,
            float(p.get("alpha", 0.0)),
            int(p.get("iterations", 0)),
        )
    return (
        2,
        int(p.get("embedding_dim", 0)),
        -float(p.get("weight_decay", 0.0)),
        0,
        0.0,
        int(trial.best_epoch),
    )


@dataclass
class Choice:
    """What :func:`one_standard_error` chose, and the data it chose on.

    Attributes
    ----------
    chosen, best : Trial
        The chosen trial and the one with the best mean validation score.
    users : int
        Validation users every trial was scored on (the pairs compared).
    table : list of dict
        Per trial (search order): its number, candidate, mean, mean shortfall to the best,
        the standard error of that shortfall, and whether it is within one.
    """

    chosen: Trial
    best: Trial
    users: int
    table: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as the manifest records it."""
        return {
            "rule": SELECTION_RULE,
            "chosen_trial": next(r["trial"] for r in self.table if r["chosen"]),
            "best_trial": next(r["trial"] for r in self.table if r["best"]),
            "users": self.users,
            "trials": self.table,
        }


def one_standard_error(
    trials: Sequence[Trial], *, key: Callable[[Trial], Any] = simplicity
) -> Choice:
    """The simplest trial (by ``key``) within one standard error of the best, on paired
    per-user scores.

    For each trial, ``d_u = best_u - trial_u`` over the users every trial was scored on; the
    trial is within one standard error when ``mean(d) <= sd(d) / sqrt(n)``. The best trial
    (highest mean, the first of equals) always qualifies; ties in ``key`` go to the better
    mean. Trials without per-user scores are compared on their means alone (then only the
    best qualifies, unless another equals it).

    Raises
    ------
    ValueError
        Without trials.

    Examples
    --------
    >>> users = [f"u{n}" for n in range(50)]
    >>> noisy = {u: 0.30 + (0.2 if n % 2 else -0.2) for n, u in enumerate(users)}
    >>> flat = {u: 0.29 for u in users}
    >>> big = Trial("als", {"factors": 128}, 0.30, 15, 1.0, user_scores=noisy)
    >>> small = Trial("als", {"factors": 32}, 0.29, 15, 1.0, user_scores=flat)
    >>> one_standard_error([big, small]).chosen.params
    {'factors': 32}
    """
    if not trials:
        raise ValueError("no trials to choose from")
    order = list(trials)
    best = max(order, key=lambda t: (t.score, -order.index(t)))
    common = set(best.user_scores)
    for trial in order:
        common &= set(trial.user_scores)
    users = sorted(common)
    table = []
    within: list[Trial] = []
    for number, trial in enumerate(order):
        if users:
            d = [best.user_scores[u] - trial.user_scores[u] for u in users]
            mean = sum(d) / len(d)
            sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else 0.0
            se = sd / math.sqrt(len(d))
        else:
            mean, se = best.score - trial.score, 0.0
        ok = trial is best or mean <= se
        if ok:
            within.append(trial)
        table.append(
            {
                "trial": number,
                "candidate": trial.candidate,
                "mean": round(trial.score, 6),
                "shortfall": round(mean, 6),
                "se": round(se, 6),
                "within_1se": ok,
                "best": trial is best,
                "chosen": False,
            }
        )
    chosen = min(within, key=lambda t: (key(t), -t.score, order.index(t)))
    table[order.index(chosen)]["chosen"] = True
    return Choice(chosen=chosen, best=best, users=len(users), table=table)


def _too_large(interactions: Sequence[Interaction], candidates: Sequence[str]) -> dict[str, str]:
    """The candidates these data are too large for, with the reason (EASE: its item limit)."""
    from training_jobs.two_tower import ease

    if "ease" not in candidates:
        return {}
    items = len({row.item_key for row in interactions})
    if items <= ease.MAX_ITEMS:
        return {}
    return {"ease": f"skipped: {items} items with positives > {ease.MAX_ITEMS} (closed form)"}


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
    ease_params: Mapping[str, Any] | None = None,
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
    params, als_params, ease_params : mapping, optional
        Two-tower, ALS and EASE settings pinned in every trial (``random_state`` in
        ``params`` seeds everything).
    candidates : sequence of str
        Candidates to train (EASE is left out above :data:`.ease.MAX_ITEMS` items with
        positives, and ``extra.selection.search.stopped`` says so).
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
    per_user: dict[str, int] = {}
    for row in split.valid:
        per_user[row.user] = per_user.get(row.user, 0) + 1
    kept, held = random_fold(split.train, per_user, random_state=seed)
    folds = {"chronological": valid, "random": pairs_of(held)}
    echo(f"validation folds: {len(valid)} chronological, {len(held)} random")
    seconds: dict[str, float] = {}
    # Every fit of a candidate (the search, the test fit, the refit) must take the data: the
    # closed form's limit is checked on every positive, not on the search's share of them.
    skipped = _too_large(interactions, candidates)
    for candidate, reason in skipped.items():
        echo(f"{candidate} skipped: {reason}")
    kept_candidates = [c for c in candidates if c not in skipped]
    if not kept_candidates:
        raise TrainingDataError(f"no candidate can train on these data: {skipped}")
    search = tune(
        pairs_of(kept),
        folds,
        catalog=catalog,
        candidates=kept_candidates,
        budget_seconds=budget_seconds,
        max_trials=max_trials,
        fixed={"two_tower": params, "als": dict(als_params or {}), "ease": dict(ease_params or {})},
        random_state=seed,
        clock=clock,
        echo=echo,
    )
    search.stopped.update(skipped)
    seconds["search"] = search.seconds
    choice = one_standard_error(search.trials)
    winner = choice.chosen
    echo(
        f"one-standard-error rule over {choice.users} users: best {choice.best.candidate} "
        f"{choice.best.score:.4f}, chosen {winner.candidate} {winner.score:.4f} "
        f"{winner.params}"
    )
    mark = clock()
    heldout: dict[str, dict[str, float]] = {}
    users = 0
    fitted: dict[str, EmbeddingRecommender] = {}
    for candidate in dict.fromkeys(t.candidate for t in search.trials):
        best = winner if candidate == winner.candidate else search.best(candidate)
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
    quality = similarity_report(
        published.item_embeddings_, published.history_, queries=published.similarity_queries()
    )
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
        choice=choice,
        folds={name: len(pairs) for name, pairs in folds.items()},
    )
