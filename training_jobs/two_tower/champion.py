"""Production's settings against the winner's, fit on the same split: the job's side of the
fair comparison (:mod:`learnloop.models.champion` is registration's side).

The published model is refit on every positive, so it has seen every row any held-out set
could hold; scoring it against production there rewards memorising. When the stage has a
production version, the job therefore

1. reads production's settings from its manifest (``extra.model``, ``extra.hyperparameters``:
   exactly what that run published, epoch count included);
2. fits them and the winner's published settings on the same training part (training +
   validation of this run's per-user split, the catalog of this run);
3. scores both on the same test users (each eligible user's newest positives, items the user
   had before left out, as :meth:`~training_jobs.two_tower.estimator.EmbeddingRecommender.evaluate`
   does) and keeps each user's NDCG@10 and recall@10;
4. ships those per-user figures as ``champion.npz`` and a summary as ``extra.champion``:
   production's version and settings, the winner's, the split, how many users (and a hash of
   who), both means, the mean differences with a paired bootstrap interval over users.

Registration re-applies its rule to the per-user figures; a version below the popularity
baseline is still never promoted. When production's settings cannot be refit (another
candidate, settings this code no longer takes) the summary says ``not_comparable`` and why.

Examples
--------
>>> from training_jobs.two_tower.data import Interaction
>>> from training_jobs.two_tower.selection import select_model
>>> rows = [Interaction(f"u{u}", f"meme#{(u + j) % 9}", f"2026-11-{j + 1:02d}")
...         for u in range(30) for j in range(6)]
>>> chosen = select_model(rows, candidates=("als",), budget_seconds=0)
>>> production = {"extra": {"model": "als", "hyperparameters": {"factors": 8}}}
>>> result = compare_with_production(chosen, "20261101T000000Z", production)
>>> result.summary["status"], result.summary["users"], sorted(result.files)
('compared', 30, ['champion.npz'])
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from learnloop.models.champion import (
    CHAMPION_FILE,
    COMPARED,
    PER_USER,
    paired_interval,
    per_user_file,
)
from training_jobs.metrics import ndcg_at_k, recall_at_k, top_k_excluding
from training_jobs.two_tower.estimator import EmbeddingRecommender, ItemCatalog, pairs_of
from training_jobs.two_tower.selection import Selection
from training_jobs.two_tower.tuning import CANDIDATES, build

__all__ = ["ChampionResult", "compare_with_production", "per_user_scores", "production_of"]

#: Resamples of the job's own interval (registration recomputes it with the stage's).
RESAMPLES = 1000
K = 10
RULE = (
    "the winner's and production's settings fit on the same training part (training + "
    "validation of this run's per-user split) and scored on the same test users"
)


@dataclass
class ChampionResult:
    """``extra.champion`` and the files to ship (``champion.npz`` when compared)."""

    summary: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def production_of(tables: Any, name: str) -> tuple[str, dict[str, Any]] | None:
    """``(version, manifest)`` of ``name``'s production version, or None when it has none."""
    from learnloop.models.registry import production_record

    alias = production_record(tables, name)
    if alias is None or alias.target is None:
        return None
    try:
        record = tables.models.get(name, alias.target, consistent_read=True)
    except tables.models.DoesNotExist:
        return None
    return str(alias.target), dict(record.manifest or {})


def per_user_scores(
    model: EmbeddingRecommender, test: Sequence[tuple[str, str]], users: Sequence[str], k: int = K
) -> dict[str, np.ndarray]:
    """Each of ``users``' NDCG@k and recall@k on their ``test`` positives under ``model``
    (items the user trained on are left out of the ranking and of the relevant items).

    Returns
    -------
    dict of str to numpy.ndarray
        ``ndcg@k`` and ``recall@k``, aligned with ``users``.
    """
    item_row = {key: r for r, key in enumerate(model.item_ids_)}
    user_row = {user: r for r, user in enumerate(model.user_ids_)}
    wanted: dict[str, set[int]] = {u: set() for u in users}
    for user, item in test:
        if user in wanted and item in item_row:
            wanted[user].add(item_row[item])
    rows = [user_row[u] for u in users]
    seen = [model.history_[r] for r in rows]
    relevant = [wanted[u] - s for u, s in zip(users, seen, strict=True)]
    top = top_k_excluding(model.user_embeddings_[rows] @ model.item_embeddings_.T, seen, k)
    # one user at a time through the shared definitions, so the mean is evaluate()'s figure
    return {
        f"ndcg@{k}": np.array([ndcg_at_k(top[n : n + 1], [r], k) for n, r in enumerate(relevant)]),
        f"recall@{k}": np.array(
            [recall_at_k(top[n : n + 1], [r], k) for n, r in enumerate(relevant)]
        ),
    }


def _scored_users(model: EmbeddingRecommender, test: Sequence[tuple[str, str]]) -> list[str]:
    """Test users the model knows with at least one test item they had not trained on."""
    item_row = {key: r for r, key in enumerate(model.item_ids_)}
    user_row = {user: r for r, user in enumerate(model.user_ids_)}
    users = set()
    for user, item in test:
        u, i = user_row.get(user), item_row.get(item)
        if u is not None and i is not None and i not in model.history_[u]:
            users.add(user)
    return sorted(users)


def _settings(manifest: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Production's candidate and settings from its manifest (a version from before the ALS
    candidate has no ``extra.model``: it was the two-tower model)."""
    extra = manifest.get("extra") or {}
    candidate = str(extra.get("model") or "two_tower")
    params = extra.get("hyperparameters")
    if candidate not in CANDIDATES:
        raise ValueError(f"production's model {candidate!r} is not one this job trains")
    if not isinstance(params, Mapping):
        raise ValueError("production's manifest records no extra.hyperparameters")
    return candidate, dict(params)


def compare_with_production(
    selection: Selection,
    production_version: str,
    production_manifest: Mapping[str, Any],
    *,
    catalog: ItemCatalog | None = None,
    text_encoder_name: str | None = None,
    echo: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = time.monotonic,
) -> ChampionResult:
    """Fit production's settings and the winner's on the same training part, score both on
    the same test users (see the module).

    Parameters
    ----------
    selection : Selection
        This run's split, winner and published model (its settings are the winner's).
    production_version : str
        The version production serves now.
    production_manifest : mapping
        Its manifest.
    catalog : ItemCatalog, optional
        This run's catalog (both settings embed the same items and text).
    text_encoder_name : str, optional
        This run's text encoder (a note is recorded when production used another).
    echo : callable
        Where step lines go.
    clock : callable
        Seconds, monotonic.

    Returns
    -------
    ChampionResult
    """
    started = clock()
    split = selection.split
    train = pairs_of(split.train + split.valid)
    test = pairs_of(split.test)
    mine = (selection.winner.candidate, selection.published.get_params())
    summary: dict[str, Any] = {
        "production_version": production_version,
        "rule": RULE,
        "split": {**split.sizes(), "method": "per-user leave-last-out by time (this run's)"},
        "data": "test part: each eligible user's newest positives (the manifest's evaluation set)",
        "candidate": {"model": mine[0], "params": mine[1]},
    }
    notes: list[str] = []
    try:
        theirs = _settings(production_manifest)
        summary["production"] = {"model": theirs[0], "params": theirs[1]}
        models = {"candidate": _fit(*mine, train, catalog)}
        models["production"] = (
            models["candidate"] if theirs == mine else _fit(*theirs, train, catalog)
        )
    except Exception as exc:  # any failure to refit production means no same-split figures
        reason = f"production's settings could not be refit: {type(exc).__name__}: {exc}"
        echo(f"champion: {reason}")
        return ChampionResult({**summary, "status": "not_comparable", "reason": reason[:500]})
    if theirs == mine:
        notes.append("production's settings are the winner's: one fit scored for both")
    used = (production_manifest.get("extra") or {}).get("text_encoder")
    if theirs[0] == "two_tower" and text_encoder_name is not None and used != text_encoder_name:
        notes.append(
            f"production's settings were fit with this run's item text ({text_encoder_name}); "
            f"production itself used {used}"
        )
    users = _scored_users(models["candidate"], test)
    if len(users) < 2:
        reason = f"{len(users)} test users to score: too few to compare"
        return ChampionResult({**summary, "status": "not_comparable", "reason": reason})
    scores = {side: per_user_scores(model, test, users) for side, model in models.items()}
    figures: dict[str, Any] = {}
    for metric in PER_USER:
        delta = scores["candidate"][metric] - scores["production"][metric]
        interval = paired_interval(delta, resamples=RESAMPLES)
        figures[metric] = {
            "candidate": float(scores["candidate"][metric].mean()),
            "production": float(scores["production"][metric].mean()),
            "delta": float(delta.mean()),
            "interval": list(interval) if interval else None,
        }
    summary["candidate"].update({m: figures[m]["candidate"] for m in PER_USER})
    summary["production"].update({m: figures[m]["production"] for m in PER_USER})
    key = figures[f"ndcg@{K}"]
    echo(
        f"champion: NDCG@{K} {key['candidate']:.4f} (winner's settings) vs "
        f"{key['production']:.4f} (production {production_version}'s) on the same "
        f"{len(users)} test users, difference {key['delta']:+.4f}"
    )
    summary.update(
        {
            "status": COMPARED,
            "users": len(users),
            "users_sha256": hashlib.sha256("\n".join(users).encode()).hexdigest(),
            "delta": {m: figures[m]["delta"] for m in PER_USER},
            "interval": {m: figures[m]["interval"] for m in PER_USER},
            "resamples": RESAMPLES,
            "file": CHAMPION_FILE,
            "seconds": round(clock() - started, 3),
        }
    )
    if notes:
        summary["notes"] = notes
    blob = per_user_file(users, scores["candidate"], scores["production"])
    return ChampionResult(summary, {CHAMPION_FILE: blob})


def _fit(
    candidate: str,
    params: Mapping[str, Any],
    train: Sequence[tuple[str, str]],
    catalog: ItemCatalog | None,
) -> EmbeddingRecommender:
    settings = {k: v for k, v in params.items() if k != "random_state"}
    return build(candidate, settings, params.get("random_state")).fit(train, catalog=catalog)
