"""The job's model search: every candidate tuned on the same per-user split, within a budget.

Optuna (MIT, well kept; its TPE sampler is seeded, so a run is repeatable) drives one study per
candidate through its ask/tell interface, which lets the job decide before each trial whether
it still fits the time left. A fixed successive-halving grid was the alternative; TPE was chosen
because the settings that matter differ by candidate and interact (temperature only means
something with normalised embeddings, dropout only with the two-tower losses), which a grid
covers coarsely at the same cost, and Optuna's sampler needs no hand-made rungs.

* Candidates (``CANDIDATES``), cheapest first: ``ease`` (the closed-form item-item model:
  its penalty and the rank it is published at; under a second a trial at MovieLens-100K
  scale; the job leaves it out above :data:`.ease.MAX_ITEMS` items), ``als`` (``implicit``'s
  ALS: factors, regularisation up to strong values, confidence alpha, sweeps, BM25
  re-weighting or none; about a second a trial), then ``two_tower`` (loss, dimension, weight
  decay, history dropout, normalisation and temperature; the epoch count is chosen by early
  stopping on the validation users).
* Each study's first trial is the candidate's defaults (``enqueue_trial``), so every candidate
  is scored at least once however small the budget; ALS's next two are a-priori settings
  (``ALS_SEEDS``).
* ALS's penalty is searched relative to the confidence of a positive (``alpha`` times its mean
  weight after re-weighting, :func:`.als.confidence_scale`), not on its own: the useful penalty
  grows with the confidence, and two independent ranges left TPE sampling mismatched pairs.
* Budget: ``ease`` and ``als`` may use their ``SHARES`` of ``budget_seconds``,
  ``two_tower`` the rest of it (what the others left included). Before each later trial the
  search checks that one more trial, as long as the slowest so far, still ends within the
  candidate's allowance; ``max_trials`` caps each study. The clock is injected (tests count
  trials with a fake one).
* Score: NDCG@10 per validation user, on every validation fold (the job passes two: each
  user's newest positives before the test part, and as many of their older ones drawn at
  random, see :mod:`.selection`); a user's score is the mean over the folds that hold them, a
  trial's score the mean over users. Each trial keeps its per-user scores, so the selection
  can compare settings on paired per-user differences (:func:`.selection.one_standard_error`).

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 9}") for u in range(30) for j in range(4)]
>>> valid = [(f"u{u}", f"meme#{(u + 5) % 9}") for u in range(30)]
>>> result = tune(pairs, valid, candidates=("ease", "als"), budget_seconds=60, max_trials=2)
>>> [t.candidate for t in result.trials], result.best("als").params["factors"]
(['ease', 'ease', 'als', 'als'], 64)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training_jobs.two_tower.estimator import EmbeddingRecommender, ItemCatalog, TwoTowerRecommender

__all__ = [
    "ALS_SEEDS",
    "CANDIDATES",
    "DEFAULT_BUDGET_SECONDS",
    "EASE_DEFAULTS",
    "SHARES",
    "Search",
    "Trial",
    "build",
    "score_folds",
    "tune",
]

#: The candidates the job trains, in search order (cheapest first).
CANDIDATES = ("ease", "als", "two_tower")
#: The default search budget: with the text embedding, the scoring fits, the refit and the
#: export, the job stays within 5 minutes on 2 cores at MovieLens-100K scale.
DEFAULT_BUDGET_SECONDS = 150.0
#: The share of the budget each candidate before the last may use (what one leaves goes on).
#: EASE's trials cost a second and it has two settings, so a small share buys 20 or more;
#: ALS's cost a fifth of a two-tower trial, so its share buys several times as many, and on
#: MovieLens-100K the ALS settings spread far more on validation (0.30-0.48 NDCG@10) than the
#: two-tower ones.
SHARES = {"ease": 0.15, "als": 0.4}
#: EASE's first trial: Steck's (2019) penalty for MovieLens-20M, published at rank 64.
EASE_DEFAULTS: dict[str, Any] = {"regularization": 500.0, "factors": 64}
#: Two-tower defaults of the search's first trial: normalised embeddings with a temperature
#: (the unnormalised default collapsed item cosines into 0.89-0.93 on MovieLens-100K).
TWO_TOWER_DEFAULTS: dict[str, Any] = {
    "loss": "multinomial",
    "embedding_dim": 64,
    "normalize": True,
    "temperature": 0.1,
    "weight_decay": 0.01,
    "history_dropout": 0.5,
    "batch_size": 64,
    "epochs": 120,
    "patience": 8,
}
#: ALS defaults: strong regularisation and a low confidence weight did best on MovieLens-100K
#: both on a per-user last-items validation split and on a random one carved from the bench's
#: training part (never its test part).
ALS_DEFAULTS: dict[str, Any] = {
    "factors": 64,
    "regularization": 10.0,
    "alpha": 1.0,
    "iterations": 15,
    "weighting": "none",
}
#: The ALS study's first trials, in its search space (``regularization_per_confidence`` is the
#: penalty over ``alpha`` x the mean weight of a positive), chosen a priori, none from a test
#: split: the defaults above; Hu, Koren & Volinsky's (2008) confidence ``alpha = 40`` with a
#: penalty of one positive's confidence; and implicit's BM25 re-weighting (its examples' K1 and
#: B) with the defaults' ratio. TPE then samples around whichever scores best.
ALS_SEEDS: tuple[dict[str, Any], ...] = (
    {
        "factors": 64,
        "alpha": 1.0,
        "iterations": 15,
        "weighting": "none",
        "regularization_per_confidence": 10.0,
    },
    {
        "factors": 64,
        "alpha": 40.0,
        "iterations": 15,
        "weighting": "none",
        "regularization_per_confidence": 1.0,
    },
    {
        "factors": 64,
        "alpha": 1.0,
        "iterations": 15,
        "weighting": "bm25",
        "regularization_per_confidence": 10.0,
    },
)


@dataclass(frozen=True)
class Trial:
    """One fitted setting: its validation NDCG@10, the epochs early stopping kept, its time."""

    candidate: str
    params: dict[str, Any]
    score: float
    best_epoch: int
    seconds: float
    #: Mean NDCG@10 on each validation fold.
    folds: dict[str, float] = field(default_factory=dict)
    #: Each validation user's NDCG@10 (mean over the folds holding them); not in the manifest.
    user_scores: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as the manifest records it (per-user scores left out)."""
        return {
            "candidate": self.candidate,
            "params": self.params,
            "validation_ndcg@10": self.score,
            "folds": {name: round(value, 6) for name, value in self.folds.items()},
            "best_epoch": self.best_epoch,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Search:
    """Every trial, in order, and how the budget was spent."""

    trials: list[Trial] = field(default_factory=list)
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    seconds: float = 0.0
    stopped: dict[str, str] = field(default_factory=dict)

    def best(self, candidate: str) -> Trial:
        """The candidate's best trial (the first of equals).

        Raises
        ------
        KeyError
            When the candidate has no trial.
        """
        mine = [t for t in self.trials if t.candidate == candidate]
        if not mine:
            raise KeyError(candidate)
        return max(mine, key=lambda t: (t.score, -mine.index(t)))

    def winner(self) -> Trial:
        """The best trial over every candidate (ties: the earlier candidate's)."""
        tried = list(dict.fromkeys(t.candidate for t in self.trials))
        bests = [self.best(c) for c in tried]
        return max(bests, key=lambda t: (t.score, -bests.index(t)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: trials, budget, time spent, why each study stopped."""
        return {
            "library": "optuna",
            "sampler": "TPE (seeded; first trial = defaults)",
            "budget_seconds": self.budget_seconds,
            "seconds": round(self.seconds, 3),
            "stopped": dict(self.stopped),
            "trials": [t.to_dict() for t in self.trials],
        }


def build(
    candidate: str, params: Mapping[str, Any], random_state: int | None
) -> EmbeddingRecommender:
    """An unfitted estimator of ``candidate`` with ``params``.

    Examples
    --------
    >>> type(build("als", {"factors": 8}, 0)).__name__
    'ALSRecommender'
    """
    if candidate == "ease":
        from training_jobs.two_tower.ease import EASERecommender

        return EASERecommender(**{**params, "random_state": random_state})
    if candidate == "als":
        from training_jobs.two_tower.als import ALSRecommender

        return ALSRecommender(**{**params, "random_state": random_state})
    if candidate == "two_tower":
        return TwoTowerRecommender(**{**params, "random_state": random_state})
    raise ValueError(f"unknown candidate {candidate!r}; expected one of {', '.join(CANDIDATES)}")


def _suggest(
    candidate: str,
    trial: Any,
    fixed: Mapping[str, Any],
    scales: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """A trial's settings: the candidate's search space, with ``fixed`` settings pinned.

    ``scales`` is the mean weight of a positive under each ALS ``weighting``
    (:func:`.als.confidence_scale`; 1.0 when missing).

    Examples
    --------
    >>> import optuna
    >>> trial = optuna.trial.FixedTrial({"factors": 32, "alpha": 4.0, "iterations": 15,
    ...     "weighting": "bm25", "regularization_per_confidence": 2.5})
    >>> _suggest("als", trial, {}, {"bm25": 1.5})["regularization"]
    15.0
    """
    scales = scales or {}
    params: dict[str, Any] = {}
    if candidate == "ease":
        # The useful penalty grows with the counts in X^T X (about 100 to 500 on MovieLens).
        params["regularization"] = trial.suggest_float("regularization", 5.0, 5000.0, log=True)
        params["factors"] = trial.suggest_categorical("factors", [32, 64, 128])
    elif candidate == "als":
        params["factors"] = trial.suggest_categorical("factors", [16, 32, 64, 128])
        params["alpha"] = trial.suggest_float("alpha", 0.5, 50.0, log=True)
        params["iterations"] = trial.suggest_int("iterations", 10, 30, step=5)
        params["weighting"] = trial.suggest_categorical("weighting", ["none", "bm25"])
        # implicit weighs a positive's error by alpha x its (re-)weighted count and every
        # user's and item's factors by the penalty, so the penalty that matters is relative to
        # that confidence: searched apart, TPE paired strong penalties with weak confidence
        # (60 with alpha 0.7 scored 0.06). A pinned alpha or weighting sets the scale.
        alpha = fixed.get("alpha") or params["alpha"]
        weighting = fixed.get("weighting") or params["weighting"]
        ratio = trial.suggest_float("regularization_per_confidence", 0.03, 100.0, log=True)
        params["regularization"] = ratio * alpha * scales.get(weighting, 1.0)
    else:
        params["loss"] = trial.suggest_categorical("loss", ["multinomial", "in_batch"])
        params["embedding_dim"] = trial.suggest_categorical("embedding_dim", [64, 128])
        params["weight_decay"] = trial.suggest_float("weight_decay", 1e-4, 0.3, log=True)
        params["history_dropout"] = trial.suggest_float("history_dropout", 0.2, 0.8)
        params["normalize"] = trial.suggest_categorical("normalize", [True, False])
        # A temperature rescales cosines; unnormalised dot products carry their own scale.
        params["temperature"] = (
            trial.suggest_float("temperature", 0.03, 1.0, log=True) if params["normalize"] else 1.0
        )
        multinomial = params["loss"] == "multinomial"
        params["batch_size"] = 64 if multinomial else 2048
        # in_batch epochs cost ~4x multinomial's (a step per 2048 positives): fewer, sooner.
        params["epochs"] = 120 if multinomial else 30
        params["patience"] = 8 if multinomial else 3
    params.update({k: v for k, v in fixed.items() if v is not None})
    return params


def score_folds(
    model: Any, folds: Mapping[str, Sequence[tuple[str, str]]], *, k: int = 10
) -> tuple[dict[str, float], dict[str, float]]:
    """A fitted model's mean NDCG@k on each fold, and each user's NDCG@k (the mean over the
    folds that hold them).

    Examples
    --------
    >>> class Fixed:
    ...     def user_ndcg(self, pairs, k=10):
    ...         return {u: 0.5 if i == "hit" else 0.0 for u, i in pairs}
    >>> score_folds(Fixed(), {"a": [("u1", "hit"), ("u2", "miss")], "b": [("u1", "miss")]})
    ({'a': 0.25, 'b': 0.0}, {'u1': 0.25, 'u2': 0.0})
    """
    per_fold = {name: model.user_ndcg(pairs, k=k) for name, pairs in folds.items()}
    means = {
        name: float(sum(scores.values()) / len(scores)) if scores else 0.0
        for name, scores in per_fold.items()
    }
    users = sorted({user for scores in per_fold.values() for user in scores})
    combined = {}
    for user in users:
        values = [scores[user] for scores in per_fold.values() if user in scores]
        combined[user] = float(sum(values) / len(values))
    return means, combined


def tune(
    train: Sequence[tuple[str, str]],
    valid: Sequence[tuple[str, str]] | Mapping[str, Sequence[tuple[str, str]]],
    *,
    catalog: ItemCatalog | None = None,
    candidates: Sequence[str] = CANDIDATES,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    max_trials: int = 40,
    fixed: Mapping[str, Mapping[str, Any]] | None = None,
    random_state: int | None = 42,
    clock: Callable[[], float] = time.monotonic,
    echo: Callable[[str], None] = lambda line: None,
) -> Search:
    """Search each candidate's settings on ``train`` scored on ``valid`` (see the module).

    Parameters
    ----------
    train : sequence of (str, str)
        Training positives ``(user, item_key)``.
    valid : sequence of (str, str), or mapping of str to them
        Held-out positives, or validation folds by name (scored apart, see the module; the
        two-tower model stops early on all of them together).
    catalog : ItemCatalog, optional
        Items to embed (with text for the two-tower model).
    candidates : sequence of str
        Which of ``CANDIDATES`` to train.
    budget_seconds : float
        The time the search may take (the first trial of each candidate always runs).
    max_trials : int
        Most trials per candidate.
    fixed : mapping, optional
        ``{candidate: {setting: value}}`` pinned in every trial (``None`` values ignored).
    random_state : int or None
        Seeds the samplers and the models.
    clock : callable
        Seconds, monotonic (injected for tests).
    echo : callable
        Where a line per trial goes.

    Returns
    -------
    Search
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown or not candidates:
        raise ValueError(f"candidates must be among {', '.join(CANDIDATES)}; got {unknown}")
    fixed = fixed or {}
    folds = (
        {name: list(pairs) for name, pairs in valid.items()}
        if isinstance(valid, Mapping)
        else {"validation": list(valid)}
    )
    stopping = [pair for pairs in folds.values() for pair in pairs]
    search = Search(budget_seconds=budget_seconds)
    started = clock()
    ordered = [c for c in CANDIDATES if c in candidates]
    for position, candidate in enumerate(ordered):
        spent = clock() - started
        left = budget_seconds - spent
        last = position == len(ordered) - 1
        allowance = left if last else min(left, budget_seconds * SHARES[candidate])
        candidate_start = clock()
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=random_state)
        )
        seeds = {"ease": (EASE_DEFAULTS,), "als": ALS_SEEDS}.get(candidate, (TWO_TOWER_DEFAULTS,))
        for seed in seeds:
            study.enqueue_trial(
                {
                    k: v
                    for k, v in seed.items()
                    if k not in fixed.get(candidate, {})
                    and k not in ("batch_size", "epochs", "patience")
                },
                skip_if_exists=True,
            )
        scales = _confidence_scales(train) if candidate == "als" else {}
        slowest = 0.0
        for number in range(max_trials):
            used = clock() - candidate_start
            if number > 0 and used + slowest > allowance:
                search.stopped[candidate] = (
                    f"budget: {number} trials in {used:.1f} s of {max(allowance, 0):.1f} s"
                )
                break
            trial = study.ask()
            params = _suggest(candidate, trial, fixed.get(candidate, {}), scales)
            if candidate == "two_tower" and not params["normalize"]:
                params["temperature"] = 1.0
            trial_start = clock()
            model = build(candidate, params, random_state)
            if hasattr(model, "max_seconds"):
                # a slow setting stops at the end of the allowance, not a trial later
                model.max_seconds = max(allowance - used, 1.0)
            model.fit(train, catalog=catalog, validation=stopping)
            means, users = score_folds(model, folds)
            score = sum(users.values()) / len(users) if users else 0.0
            score = score if math.isfinite(score) else 0.0
            seconds = clock() - trial_start
            slowest = max(slowest, seconds)
            study.tell(trial, score)
            best_epoch = int(getattr(model, "best_epoch_", 0))
            search.trials.append(Trial(candidate, params, score, best_epoch, seconds, means, users))
            echo(
                f"{candidate} trial {number + 1}: validation NDCG@10 {score:.4f} "
                f"(epochs {best_epoch}, {seconds:.1f} s) {_short(params)}"
            )
        else:
            search.stopped[candidate] = f"max_trials: {max_trials}"
    search.seconds = clock() - started
    return search


def _confidence_scales(train: Sequence[tuple[str, str]]) -> dict[str, float]:
    from training_jobs.two_tower.als import WEIGHTINGS, confidence_scale

    return {weighting: confidence_scale(train, weighting) for weighting in WEIGHTINGS}


def _short(params: Mapping[str, Any]) -> str:
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
