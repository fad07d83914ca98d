"""What the fair comparison adds to a registration: scoring both models on the evaluation set
and the paired bootstrap (500 seeded resamples), per model kind and set size.

Everything runs in memory (no S3, no DynamoDB): the figures are the CPU registration spends on
top of its checks. Run::

    .venv/bin/python bench/promotion.py [--rows 1000,10000] [--resamples 500] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers"), str(ROOT)]

from bench._report import print_report  # noqa: E402
from learnloop.models.conversion import to_onnx  # noqa: E402
from learnloop.models.evaluation import (  # noqa: E402
    Scores,
    score_predictor,
    score_two_tower,
    weighted_macro_f1,
)
from learnloop.models.promotion import paired_bootstrap  # noqa: E402


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def predictor(n: int, metric: str, resamples: int) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression, Ridge

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(n, 12))
    y = X @ rng.normal(size=12) + rng.normal(size=n)
    if metric == "auc":
        y = (y > np.median(y)).astype(float)
        models = [LogisticRegression().fit(X, y), LogisticRegression(C=0.01).fit(X, y)]
    else:
        models = [Ridge().fit(X, y), Ridge(alpha=100.0).fit(X, y)]
    onnx = [to_onnx(m, [f"f{i}" for i in range(12)]) for m in models]
    (cand, prod), score_s = _timed(lambda: [score_predictor(o, X, y, metric) for o in onnx])
    _, boot_s = _timed(lambda: paired_bootstrap(cand, prod, 1.0, resamples))
    return {"score_s": score_s, "bootstrap_s": boot_s}


def sentiment(n: int, resamples: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    labels = np.asarray(["negative", "neutral", "positive"])
    truth = labels[rng.integers(0, 3, n)]
    guess = np.where(rng.uniform(size=n) < 0.7, truth, labels[rng.integers(0, 3, n)])
    other = truth[::-1].copy()
    cand = Scores(truth, guess, weighted_macro_f1(truth, guess), {})
    prod = Scores(truth, other, weighted_macro_f1(truth, other), {})
    _, boot_s = _timed(lambda: paired_bootstrap(cand, prod, 1.0, resamples))
    return {"bootstrap_s": boot_s}


def two_tower(users: int, items: int, resamples: int) -> dict[str, float]:
    rng = np.random.default_rng(0)

    def npy(a: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, a.astype(np.float32), allow_pickle=False)
        return buffer.getvalue()

    keys = [f"meme#i{i}" for i in range(items)]
    ids = [f"{u:064x}" for u in range(users)]
    files = {
        "items.json": json.dumps(
            {"item_keys": keys, "popularity": rng.integers(0, 50, items).tolist()}
        ).encode(),
        "users.json": json.dumps({"users": ids}).encode(),
        "item_embeddings.npy": npy(rng.normal(size=(items, 64))),
        "user_embeddings.npy": npy(rng.normal(size=(users, 64))),
    }
    pairs_users = np.asarray([ids[i % users] for i in range(users * 3)])
    pairs_items = np.asarray([keys[int(i)] for i in rng.integers(0, items, users * 3)])
    (cand, prod), score_s = _timed(
        lambda: [score_two_tower(files, pairs_users, pairs_items) for _ in range(2)]
    )
    _, boot_s = _timed(lambda: paired_bootstrap(cand, prod, 1.0, resamples))
    return {"score_s": score_s, "bootstrap_s": boot_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000", help="evaluation set sizes")
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.rows.split(",")]
    figures: dict[str, Any] = {"resamples": args.resamples}
    rows: list[tuple[str, str]] = []
    for n in sizes:
        for metric in ("r2", "auc"):
            result = predictor(n, metric, args.resamples)
            figures[f"{metric}_{n}"] = result
            rows.append(
                (
                    f"{metric}, {n} rows: score both / bootstrap",
                    f"{result['score_s'] * 1000:.0f} ms / {result['bootstrap_s'] * 1000:.0f} ms",
                )
            )
        result = sentiment(n, args.resamples)
        figures[f"macro_f1_{n}"] = result
        rows.append((f"macro_f1, {n} texts: bootstrap", f"{result['bootstrap_s'] * 1000:.0f} ms"))
    result = two_tower(1000, 5000, args.resamples)
    figures["ndcg_1000_users_5000_items"] = result
    rows.append(
        (
            "ndcg@10, 1000 users x 5000 items: score both / bootstrap",
            f"{result['score_s'] * 1000:.0f} ms / {result['bootstrap_s'] * 1000:.0f} ms",
        )
    )
    print_report(rows, figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
