"""MovieLens 100K, the Microsoft Recommenders protocol: popularity, implicit's BPR and ALS, and
the two-tower model, side by side with the published table.

Protocol (Recommenders' examples/06_benchmarks): every rating is an interaction; a 75/25
random split stratified per item (``python_stratified_split(ratio=0.75, filter_by="item",
seed=42)``, reproduced here with numpy: a uniform draw per row, rows ranked within their item,
the first 75 % of each item to train); top 10 per user with the user's training items removed;
every test rating is relevant; precision@10, recall@10, NDCG@10 and MAP (normalised by the
user's test items) over the users in both test and training.

Every model is tuned the same way: a small grid scored by NDCG@10 on a validation split carved
from the training part with the same stratified split (seed 43), then refit on the whole
training part with the best setting (for the two-tower model: for the epoch count early stopping
chose on that validation split) and scored once on the test part. ``fit_seconds`` is that last
fit's wall time; the item text embedding (MiniLM over "title. genres") is timed apart.

``learnloop`` is the model exactly as ``learnloop train two_tower`` trains and selects it with
its defaults, given the protocol's training part as its positives (every rating a like, at its
timestamp) and the item texts: MiniLM text embedding, the per-user split, the budgeted search
over every candidate (EASE, ALS and two-tower), the choice on the validation users, the refit
of the winner on every positive (:func:`training_jobs.two_tower.selection.select_model`). Its refit
model is scored once on the protocol's test part; ``job_seconds`` is the whole run (text
embedding included). The job must not be tuned to this random split: ``chronological`` scores
the same job (and popularity, and ALS with the setting the grid chose above) on a split by time
as the recommender's users meet it (likes only, rating >= 4; each user's newest 20 % of likes
held out, users with at least 5 likes). The item-similarity figures (issue 19) compare, on the
same training part, the model the job published before issue 19 (the estimator's defaults:
in-batch loss, unnormalised, early stopping on the newest 15 % of rows, refit for that epoch
count) with the ``learnloop`` model: the cosine spread of item embeddings and the share of
each item's top-10 most similar items among its top-20 co-occurring ones
(:mod:`training_jobs.two_tower.quality`);
for an ALS winner also ``after_raw_factors``, the same setting with implicit's own factors (no
re-basing, ``similarity_power=None``), which separates the setting's effect from the basis's.

NDCG@10 carries a 95 % bootstrap interval over the test users (``ndcg@10_interval``), and
``learnloop`` its mean per-user difference to every model run beside it on the same users,
with that difference's interval (``ndcg@10_minus``).

Usage::

    python bench/movielens.py /work/shared/data/movielens-100k [--quick] [--no-text] [--json]
        [--models popularity,bpr,als,two_tower,learnloop] [--budget-seconds S]
        [--no-similarity] [--no-chronological]

``--quick`` uses one setting per model (the grid's defaults) instead of the grid. With ``--json``
the last line is ``{"popularity": {...}, "bpr": {...}, "als": {...}, "two_tower": {...},
"learnloop": {...}, "similarity": {...}}`` (the models run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise; before numpy

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers"))

from training_jobs.metrics import ndcg_per_user, ranking_metrics, top_k_excluding  # noqa: E402

K = 10
PUBLISHED = {  # Recommenders README, "Algorithm Comparison" (MovieLens 100k, k=10)
    "BiVAE": {
        "precision@10": 0.411771,
        "recall@10": 0.219145,
        "ndcg@10": 0.475077,
        "map": 0.146126,
    },
    "BPR": {"precision@10": 0.388229, "recall@10": 0.212522, "ndcg@10": 0.441997, "map": 0.132478},
    "SAR": {"precision@10": 0.330753, "recall@10": 0.176385, "ndcg@10": 0.382461, "map": 0.110591},
}
GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]  # fmt: skip


def load(path: Path) -> tuple[np.ndarray, dict[int, str]]:
    """``(n, 4)`` int64 rows of user, item, rating, timestamp (file order) and item texts."""
    ratings = np.loadtxt(path / "u.data", dtype=np.int64)
    texts = {}
    with open(path / "u.item", encoding="latin-1") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("|")
            genres = [g for g, flag in zip(GENRES, fields[5:], strict=False) if flag == "1"]
            texts[int(fields[0])] = f"{fields[1]}. {', '.join(genres)}"
    return ratings, texts


def stratified_split(rows: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Recommenders' ``python_stratified_split(filter_by="item")``: per item, a random
    ``ratio`` of its rows to the first part (rank / count <= ratio, rank counted from 0)."""
    rng = np.random.RandomState(seed)
    draw = rng.rand(len(rows))
    order = np.lexsort((draw, rows[:, 1]))
    items = rows[order, 1]
    starts = np.r_[0, np.flatnonzero(np.diff(items)) + 1]
    counts = np.diff(np.r_[starts, len(items)])
    rank = np.arange(len(items)) - np.repeat(starts, counts)
    first = np.zeros(len(rows), dtype=bool)
    first[order] = rank / np.repeat(counts, counts) <= ratio
    return rows[first], rows[~first]


class Evaluation:
    """Index maps of a training part and the relevant test items of its users."""

    def __init__(self, train: np.ndarray, test: np.ndarray) -> None:
        self.users = np.unique(train[:, 0])
        self.items = np.unique(np.r_[train[:, 1], test[:, 1]])
        self.user_row = {int(u): r for r, u in enumerate(self.users)}
        self.item_row = {int(i): r for r, i in enumerate(self.items)}
        self.seen = [set() for _ in self.users]
        for u, i in train[:, :2]:
            self.seen[self.user_row[int(u)]].add(self.item_row[int(i)])
        relevant: dict[int, set[int]] = {}
        for u, i in test[:, :2]:
            if int(u) in self.user_row:
                relevant.setdefault(self.user_row[int(u)], set()).add(self.item_row[int(i)])
        self.eval_rows = np.array(sorted(relevant), dtype=np.int64)
        self.relevant = [relevant[int(r)] for r in self.eval_rows]

    def score(self, scores: np.ndarray) -> dict[str, float]:
        """Metrics of a ``(n_eval_users, n_items)`` score matrix (rows of ``eval_rows``)."""
        top = top_k_excluding(scores, [self.seen[r] for r in self.eval_rows], K)
        m = ranking_metrics(top, self.relevant, ks=(K,))
        return {
            "precision@10": m["precision@10"],
            "recall@10": m["recall@10"],
            "ndcg@10": m["ndcg@10"],
            "map": m["map@10"],
        }

    def user_ndcg(self, scores: np.ndarray) -> np.ndarray:
        """Each evaluated user's NDCG@10 (rows of ``eval_rows``), for intervals over users."""
        top = top_k_excluding(scores, [self.seen[r] for r in self.eval_rows], K)
        return ndcg_per_user(top, self.relevant, K)

    def matrix(self, train: np.ndarray) -> Any:
        from scipy.sparse import csr_matrix

        rows = [self.user_row[int(u)] for u in train[:, 0]]
        cols = [self.item_row[int(i)] for i in train[:, 1]]
        shape = (len(self.users), len(self.items))
        return csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)


def popularity(ev: Evaluation, train: np.ndarray, _: dict[str, Any]) -> tuple[np.ndarray, dict]:
    counts = np.bincount([ev.item_row[int(i)] for i in train[:, 1]], minlength=len(ev.items))
    return np.broadcast_to(counts.astype(np.float64), (len(ev.eval_rows), len(ev.items))), {}


def implicit_model(kind: str) -> Callable[[Evaluation, np.ndarray, dict[str, Any]], Any]:
    def fit(ev: Evaluation, train: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, dict]:
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        matrix = ev.matrix(train)
        params = dict(params)
        alpha = params.pop("alpha", 1.0)
        cls = BayesianPersonalizedRanking if kind == "bpr" else AlternatingLeastSquares
        model = cls(**params, num_threads=2, random_state=42)
        model.fit((matrix * alpha).tocsr() if kind == "als" else matrix, show_progress=False)
        users, items = model.user_factors, model.item_factors
        return np.asarray(users)[ev.eval_rows] @ np.asarray(items).T, {}

    return fit


class TwoTowerFit:
    """Fits the two-tower model on an :class:`Evaluation`'s index, item text embedded once."""

    def __init__(self, texts: dict[int, str] | None) -> None:
        self.texts = texts
        self.embedded: dict[int, np.ndarray] = {}

    def embed(self) -> float:
        """Embed every item's text with MiniLM; returns the seconds it took."""
        from training_jobs.two_tower.text import MiniLMEmbedder

        if self.texts is None:
            return 0.0
        started = time.perf_counter()
        items = sorted(self.texts)
        vectors = MiniLMEmbedder()([self.texts[i] for i in items])
        self.embedded = dict(zip(items, vectors, strict=True))
        return time.perf_counter() - started

    def __call__(
        self,
        ev: Evaluation,
        train: np.ndarray,
        params: dict[str, Any],
        validation: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from training_jobs.two_tower.estimator import ItemCatalog, TwoTowerRecommender

        keys = [f"movie#{int(i)}" for i in ev.items]
        params = dict(params)
        use_text = params.pop("text", True)
        text = None
        if self.texts is not None and use_text:
            text = np.stack([self.embedded[int(i)] for i in ev.items])
        catalog = ItemCatalog(keys, ["movie"] * len(keys), text)
        pairs = [(f"u{int(u)}", f"movie#{int(i)}") for u, i in train[:, :2]]
        valid = None
        if validation is not None:
            valid = [(f"u{int(u)}", f"movie#{int(i)}") for u, i in validation[:, :2]]
        model = TwoTowerRecommender(**{"random_state": 42, **params}).fit(
            pairs, catalog=catalog, validation=valid
        )
        row = {key: n for n, key in enumerate(model.item_ids_)}
        order = [row[k] for k in keys]
        scores = model.score_users([f"u{int(ev.users[r])}" for r in ev.eval_rows])[:, order]
        return scores, {"best_epoch": model.best_epoch_, "epochs_run": len(model.loss_curve_)}


GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {},
    "bpr": {
        "factors": [64, 128],
        "learning_rate": [0.01, 0.05],
        "regularization": [0.01, 0.1],
        "iterations": [200],
    },
    "als": {
        "factors": [32, 64, 128],
        "regularization": [0.05, 1.0, 10.0],
        "alpha": [1.0, 10.0],
        "iterations": [15],
    },
}
#: The two-tower settings tried (explicit, not a product: each loss has its own batch meaning).
#: ``text``: feed the MiniLM title/genre embedding to the item tower. Every setting stops early
#: on the validation split; the refit uses the epoch count it chose.
TWO_TOWER_GRID: list[dict[str, Any]] = [
    {"loss": "in_batch", "embedding_dim": 64, "text": True},
    {"loss": "in_batch", "embedding_dim": 64, "text": False},
    {"loss": "multinomial", "embedding_dim": 64, "batch_size": 32, "history_dropout": 0.7,
     "epochs": 200, "patience": 15, "text": True},
    {"loss": "multinomial", "embedding_dim": 128, "batch_size": 32, "history_dropout": 0.7,
     "epochs": 200, "patience": 15, "text": True},
]  # fmt: skip


def grid(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*space.values())]


STAR_WARS = 50  # u.item's "Star Wars (1977)": issue 19's similarity example
LIKE = 4  # ratings >= 4 are likes in the chronological check (as issue 19's users ran it)


def chronological_likes(
    rows: np.ndarray, share: float = 0.2, min_likes: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Likes only; each user with ``min_likes`` likes has their newest ``share`` (at least one,
    ties by item) in the second part, every other like in the first."""
    likes = rows[rows[:, 2] >= LIKE]
    order = np.lexsort((likes[:, 1], likes[:, 3], likes[:, 0]))
    likes = likes[order]
    users = likes[:, 0]
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    counts = np.diff(np.r_[starts, len(users)])
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    n = np.repeat(counts, counts)
    held = np.maximum(1, (share * n).astype(np.int64))
    test = (n >= min_likes) & (rank >= n - held)
    return likes[~test], likes[test]


class MemoEmbedder:
    """MiniLM, loaded once and each distinct text embedded once per bench run: the first job
    pays the whole text step, as the job does; later steps (the chronological check, the
    pre-issue-19 model) reuse its vectors and say so (``text_reused``)."""

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}
        self.model: Any = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        from training_jobs.two_tower.text import MiniLMEmbedder

        self.model = self.model or MiniLMEmbedder()
        new = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if new:
            self.vectors.update(zip(new, self.model(new), strict=True))
        return np.stack([self.vectors[t] for t in texts])


def learnloop_job(
    train: np.ndarray,
    test: np.ndarray,
    texts: dict[int, str] | None,
    budget: float | None,
    embed: MemoEmbedder | None = None,
) -> tuple[dict[str, Any], Any]:
    """The job's model selection on the training part, its published model scored on test."""
    from datetime import UTC, datetime

    from training_jobs.two_tower.data import Interaction, Item
    from training_jobs.two_tower.estimator import catalog_from
    from training_jobs.two_tower.selection import select_model

    embed = embed or MemoEmbedder()
    reused = bool(embed.vectors)
    started = time.perf_counter()
    rows = [
        Interaction(
            f"u{int(u)}", f"movie#{int(i)}", datetime.fromtimestamp(int(t), UTC).isoformat()
        )
        for u, i, _, t in train
    ]
    items = {
        f"movie#{i}": Item(f"movie#{i}", "movie", (texts or {}).get(i))
        for i in sorted(set(train[:, 1].tolist()) | set(test[:, 1].tolist()))
    }
    catalog = catalog_from(items, embed if texts is not None else None)
    text_seconds = time.perf_counter() - started
    kwargs = {} if budget is None else {"budget_seconds": budget}
    chosen = select_model(rows, catalog=catalog, echo=lambda line: print(f"  {line}", flush=True),
                          **kwargs)  # fmt: skip
    job_seconds = time.perf_counter() - started
    model = chosen.published
    ev = Evaluation(train, test)
    row = {key: n for n, key in enumerate(model.item_ids_)}
    order = [row[f"movie#{int(i)}"] for i in ev.items]
    scores = model.score_users([f"u{int(ev.users[r])}" for r in ev.eval_rows])[:, order]
    metrics: dict[str, Any] = dict(ev.score(scores))
    metrics["per_user"] = ev.user_ndcg(scores)
    metrics.update(
        {
            "fit_seconds": round(chosen.seconds.get("refit", 0.0), 2),
            "job_seconds": round(job_seconds, 2),
            "text_seconds": round(text_seconds, 2),
            "text_reused": reused,
            "rule_best_params": chosen.choice.best.params if chosen.choice else None,
            "validation_folds": chosen.winner.folds,
            "search_seconds": round(chosen.search.seconds, 2),
            "trials": len(chosen.search.trials),
            "winner": chosen.winner.candidate,
            "winner_params": chosen.winner.params,
            "job_test_ndcg@10": chosen.metrics.get("ndcg@10"),
            "job_test_popularity_ndcg@10": chosen.metrics.get("popularity_ndcg@10"),
        }
    )
    return metrics, chosen


def chronological(
    ratings: np.ndarray,
    texts: dict[int, str] | None,
    budget: float | None,
    als_params: dict[str, Any] | None,
    embed: MemoEmbedder | None = None,
) -> dict[str, Any]:
    """The job, popularity and ALS (the grid's setting) on :func:`chronological_likes`."""
    train, test = chronological_likes(ratings)
    print(f"chronological: {len(train)} likes to train, {len(test)} newest held out", flush=True)
    result: dict[str, Any] = {
        "split": "likes (rating >= 4); each user's newest 20 % held out (users with >= 5 likes)",
        "train": len(train),
        "test": len(test),
    }
    ev = Evaluation(train, test)
    scores, _ = popularity(ev, train, {})
    result["popularity"] = {k: round(v, 6) for k, v in ev.score(scores).items()}
    if als_params is not None:
        scores, _ = implicit_model("als")(ev, train, als_params)
        result["als"] = {k: round(v, 6) for k, v in ev.score(scores).items()}
        result["als"]["params"] = als_params
    metrics, chosen = learnloop_job(train, test, texts, budget, embed)
    metrics.pop("per_user")
    result["learnloop"] = {
        k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()
    }
    print(
        f"chronological: learnloop ({chosen.winner.candidate}) NDCG@10 {metrics['ndcg@10']:.4f}"
        f", popularity {result['popularity']['ndcg@10']:.4f}"
        + (f", ALS {result['als']['ndcg@10']:.4f}" if "als" in result else ""),
        flush=True,
    )
    return result


def similarity(
    train: np.ndarray,
    texts: dict[int, str] | None,
    chosen: Any,
    *,
    before: bool = True,
    embed: MemoEmbedder | None = None,
) -> dict[str, Any]:
    """Item-similarity figures of the pre-issue-19 job's model (unless ``before`` is false)
    and of the job's model now."""
    from datetime import UTC, datetime

    from training_jobs.two_tower.data import Interaction, Item, chronological_split
    from training_jobs.two_tower.estimator import TwoTowerRecommender, catalog_from, pairs_of
    from training_jobs.two_tower.quality import similarity_report

    rows = [
        Interaction(
            f"u{int(u)}", f"movie#{int(i)}", datetime.fromtimestamp(int(t), UTC).isoformat()
        )
        for u, i, _, t in train
    ]
    items = {f"movie#{i}": Item(f"movie#{i}", "movie", (texts or {}).get(i))
             for i in sorted(set(train[:, 1].tolist()))}  # fmt: skip
    after = chosen.published
    models: list[tuple[str, Any]] = [("after", after)]
    result: dict[str, Any] = {}
    if before:
        catalog = catalog_from(items, (embed or MemoEmbedder()) if texts is not None else None)
        # The job before issue 19: chronological 70/15/15, early stopping, refit on every row.
        first, valid, _ = chronological_split(rows)
        probe = TwoTowerRecommender(random_state=42).fit(
            pairs_of(first), catalog=catalog, validation=pairs_of(valid)
        )
        old = TwoTowerRecommender(random_state=42, epochs=probe.best_epoch_).fit(
            pairs_of(rows), catalog=catalog
        )
        result["before_best_epoch"] = probe.best_epoch_
        models.insert(0, ("before", old))
    for name, model in models:
        report = similarity_report(
            model.item_embeddings_, model.history_, queries=model.similarity_queries()
        )
        star = f"movie#{STAR_WARS}"
        report["star_wars_top10"] = [k for k, _ in model.similar_items(star, n=10)]
        result[name] = report
    result["after"]["model"] = chosen.winner.candidate
    if chosen.winner.candidate == "als":
        from training_jobs.two_tower.als import ALSRecommender

        raw = ALSRecommender(**{**after.get_params(), "similarity_power": None}).fit(pairs_of(rows))
        result["after_raw_factors"] = similarity_report(raw.item_embeddings_, raw.history_)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    ratings, texts = load(Path(args.path))
    train, test = stratified_split(ratings, 0.75, 42)
    sub_train, sub_valid = stratified_split(train, 0.75, 43)
    print(
        f"MovieLens 100K: {len(ratings)} ratings; train {len(train)}, test {len(test)}; "
        f"tuning on {len(sub_train)} / {len(sub_valid)}",
        flush=True,
    )
    wanted = set(args.models.split(","))
    tt = TwoTowerFit(None if args.no_text else texts)
    text_seconds = tt.embed() if "two_tower" in wanted else 0.0
    if not args.no_text and "two_tower" in wanted:
        print(f"embedded {len(texts)} item texts with MiniLM in {text_seconds:.1f} s", flush=True)
    fits = {"popularity": popularity, "bpr": implicit_model("bpr"), "als": implicit_model("als"),
            "two_tower": tt}  # fmt: skip
    fits = {name: fit for name, fit in fits.items() if name in wanted}
    results: dict[str, Any] = {}
    per_user: dict[str, np.ndarray] = {}
    chosen_params: dict[str, dict[str, Any]] = {}
    for name, fit in fits.items():
        settings = TWO_TOWER_GRID if name == "two_tower" else grid(GRIDS[name])
        settings = settings[:1] if args.quick else settings
        tune = Evaluation(sub_train, sub_valid)
        best: tuple[float, dict[str, Any], dict[str, Any]] = (-1.0, {}, {})
        for params in settings if len(settings) > 1 or name == "two_tower" else []:
            started = time.perf_counter()
            if name == "two_tower":
                scores, info = fit(tune, sub_train, params, validation=sub_valid)
            else:
                scores, info = fit(tune, sub_train, params)
            ndcg = tune.score(scores)["ndcg@10"]
            print(
                f"  {name} {params} {info or ''}: validation NDCG@10 {ndcg:.4f} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            if ndcg > best[0]:
                best = (ndcg, params, info)
        params = best[1] if best[0] >= 0 else (settings[0] if settings else {})
        if name == "two_tower":
            params = {**params, "epochs": best[2].get("best_epoch", 30)}
        chosen_params[name] = dict(params)
        final = Evaluation(train, test)
        started = time.perf_counter()
        scores, _ = fit(final, train, params)
        seconds = time.perf_counter() - started
        metrics = final.score(scores)
        metrics["fit_seconds"] = round(seconds, 2)
        results[name] = {k: round(v, 6) for k, v in metrics.items()}
        per_user[name] = final.user_ndcg(scores)
        results[name]["ndcg@10_interval"] = interval(per_user[name])
        print(
            f"{name}: {params} → NDCG@10 {metrics['ndcg@10']:.4f} (fit {seconds:.1f} s)", flush=True
        )
    if not args.no_text and "two_tower" in results:
        results["two_tower"]["text_seconds"] = round(text_seconds, 2)
    if "learnloop" in wanted:
        job_texts = None if args.no_text else texts
        print("learnloop: the two-tower job's selection with its defaults", flush=True)
        embed = MemoEmbedder()
        metrics, chosen = learnloop_job(train, test, job_texts, args.budget_seconds, embed)
        per_user["learnloop"] = metrics.pop("per_user")
        results["learnloop"] = {
            k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()
        }
        results["learnloop"]["ndcg@10_interval"] = interval(per_user["learnloop"])
        # Paired over the same test users: the job against each baseline run beside it.
        results["learnloop"]["ndcg@10_minus"] = {
            name: {
                "delta": round(float((per_user["learnloop"] - other).mean()), 6),
                "interval": interval(per_user["learnloop"] - other),
            }
            for name, other in per_user.items()
            if name != "learnloop"
        }
        print(
            f"learnloop: {chosen.winner.candidate} → NDCG@10 {metrics['ndcg@10']:.4f} "
            f"(job {metrics['job_seconds']:.1f} s)",
            flush=True,
        )
        if not args.no_similarity:
            results["similarity"] = similarity(
                train, job_texts, chosen, before=not args.no_similarity_before, embed=embed
            )
        if not args.no_chronological:
            results["chronological"] = chronological(
                ratings, job_texts, args.budget_seconds, chosen_params.get("als"), embed
            )
    return results


def interval(values: np.ndarray) -> list[float] | None:
    """The 95 % bootstrap interval of the mean of per-user figures (seeded, 2,000 resamples
    of the users), as registration computes its paired intervals."""
    from learnloop.models.champion import paired_interval

    found = paired_interval(values, resamples=2000)
    return None if found is None else [round(found[0], 4), round(found[1], 4)]


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'model':<22}{'precision@10':>14}{'recall@10':>12}{'NDCG@10':>10}{'95 % over users':>18}"
        f"{'MAP':>10}{'fit s':>8}",
    ]
    for name, m in results.items():
        if name in ("similarity", "chronological"):
            continue
        low, high = m.get("ndcg@10_interval") or (float("nan"), float("nan"))
        lines.append(
            f"{name:<22}{m['precision@10']:>14.4f}{m['recall@10']:>12.4f}{m['ndcg@10']:>10.4f}"
            f"{f'[{low:.4f}, {high:.4f}]':>18}{m['map']:>10.4f}{m['fit_seconds']:>8.1f}"
        )
    for name, m in PUBLISHED.items():
        lines.append(
            f"{name + ' (published)':<22}{m['precision@10']:>14.4f}{m['recall@10']:>12.4f}"
            f"{m['ndcg@10']:>10.4f}{'':>18}{m['map']:>10.4f}{'':>8}"
        )
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="the ml-100k folder (u.data, u.item)")
    parser.add_argument("--quick", action="store_true", help="no grid: one setting per model")
    parser.add_argument("--no-text", action="store_true", help="two-tower without item text")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument(
        "--models",
        default="popularity,bpr,als,two_tower,learnloop",
        help="comma-separated models to run (default: %(default)s)",
    )
    parser.add_argument(
        "--budget-seconds", type=float, default=None, help="learnloop's search budget (job default)"
    )
    parser.add_argument(
        "--no-similarity", action="store_true", help="skip the item-similarity figures"
    )
    parser.add_argument(
        "--no-chronological", action="store_true", help="skip the split-by-time check"
    )
    parser.add_argument(
        "--no-similarity-before",
        action="store_true",
        help="skip training the pre-issue-19 model for the 'before' similarity figure",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    results = run(args)
    print()
    print(table(results))
    if "learnloop" in results:
        ll = results["learnloop"]
        met = "met" if ll["ndcg@10"] >= 0.48 else "NOT met"
        print(
            f"\nlearnloop (the job's defaults, winner {ll['winner']}): "
            f"NDCG@10 {ll['ndcg@10']:.4f}: goal >= 0.48 {met}; job "
            f"{ll['job_seconds']:.1f} s (goal <= 300 s on 2 cores)"
        )
        for name, paired in ll.get("ndcg@10_minus", {}).items():
            low, high = paired["interval"] or (float("nan"), float("nan"))
            print(
                f"learnloop - {name}, paired over the same users: {paired['delta']:+.4f} "
                f"[{low:+.4f}, {high:+.4f}]"
            )
    if "chronological" in results:
        chrono = results["chronological"]
        print(
            f"chronological split (likes, newest 20 % per user): learnloop NDCG@10 "
            f"{chrono['learnloop']['ndcg@10']:.4f} (job {chrono['learnloop']['job_seconds']:.1f} s)"
            f", popularity {chrono['popularity']['ndcg@10']:.4f}"
            + (f", ALS (grid setting) {chrono['als']['ndcg@10']:.4f}" if "als" in chrono else "")
        )
    if "similarity" in results:
        for name in ("before", "after", "after_raw_factors"):
            if name not in results["similarity"]:
                continue
            sim = results["similarity"][name]
            cos = sim["cosine"]
            print(
                f"similarity {name}: item cosine p5/p50/p95 {cos['p5']:.3f}/{cos['p50']:.3f}/"
                f"{cos['p95']:.3f}; top-10 in top-20 co-occurrence "
                f"{sim['cooccurrence_agreement@10']:.3f} over {sim['items_scored']} items"
            )
    if "two_tower" not in results or "bpr" not in results:
        if args.json:
            print(json.dumps(results, sort_keys=True))
        return 0
    tt = results["two_tower"]
    print(
        f"\ntwo-tower NDCG@10 {tt['ndcg@10']:.4f}: goal >= 0.45 "
        f"{'met' if tt['ndcg@10'] >= 0.45 else 'NOT met'}, target 0.48 "
        f"{'beaten' if tt['ndcg@10'] >= 0.48 else 'not beaten'}; vs BPR (ours) "
        f"{tt['ndcg@10'] / max(results['bpr']['ndcg@10'], 1e-12):.2f}x; final fit "
        f"{tt['fit_seconds']:.1f} s (budget 60 s on 2 cores: "
        f"{'within' if tt['fit_seconds'] <= 60 else 'OVER'})"
    )
    if args.json:
        print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
