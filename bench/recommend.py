"""Recommendation latency: exact top-10 over 10k and 100k items x 64 dims vs the bandwidth floor.

For each catalogue size, builds a :class:`~learnloop.recommender.index.TwoTowerIndex` of
random float32 embeddings (4 content types, 1,000 users) and measures, over ``--queries``
queries each:

* the floor: one full read of the item matrix (``matrix.sum()``), the least any exact search
  must pay (memory bandwidth), and a bare ``matrix @ user`` (the scoring alone);
* ``recommend`` top-10 for a known user, excluding 20 items they reacted to (p50/p99);
* the same filtered to one content type (a quarter of the rows, a contiguous slice);
* the unknown-user fallback (Thompson draws over popularity) and ``similar_items`` (cosine).

The goal is p50 <= 2 ms at 100k items; the ratio to the floor says how close exact search
runs to the memory bandwidth. BLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` says
otherwise.

Usage::

    python bench/recommend.py [--queries 500] [--sizes 10000 100000] [--dim 64] [--json]

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread, as in a Lambda of one or two vCPUs (and on a shared machine, where threads
# only contend); set before numpy loads. Override with OPENBLAS_NUM_THREADS=2.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402 - after the thread settings

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("meme", "news", "coin", "ai_insight")


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000.0
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


def _timed(calls: list[Callable[[], Any]], warmup: int = 20) -> dict[str, float]:
    for call in calls[:warmup]:
        call()
    samples = []
    for call in calls:
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def bench_size(n_items: int, dim: int, queries: int, seed: int = 0) -> dict[str, Any]:
    from learnloop.recommender.index import TwoTowerIndex

    rng = np.random.default_rng(seed)
    n_users = 1000
    keys = [f"{TYPES[i % len(TYPES)]}#item{i}" for i in range(n_items)]
    index = TwoTowerIndex(
        "two_tower",
        "bench",
        item_keys=keys,
        content_types=[TYPES[i % len(TYPES)] for i in range(n_items)],
        popularity=rng.integers(0, 500, n_items).tolist(),
        item_matrix=rng.normal(size=(n_items, dim)).astype(np.float32),
        users=[f"user{u}" for u in range(n_users)],
        user_matrix=rng.normal(size=(n_users, dim)).astype(np.float32),
    )
    matrix = index.item_matrix
    users = rng.integers(0, n_users, queries)
    reacted = [[keys[j] for j in rng.integers(0, n_items, 20)] for _ in range(queries)]
    vectors = [index.user_matrix[u] for u in users]
    items = [keys[j] for j in rng.integers(0, n_items, queries)]
    figures = {
        "n_items": n_items,
        "dim": dim,
        "matrix_mb": matrix.nbytes / 1e6,
        "floor_read": _timed([lambda: matrix.sum() for _ in range(queries)]),
        "matmul": _timed([lambda v=v: matrix @ v for v in vectors]),
        "top10": _timed(
            [
                lambda v=v, r=r: index.recommend(v, k=10, exclude=r)
                for v, r in zip(vectors, reacted, strict=True)
            ]
        ),
        "top10_one_type": _timed(
            [
                lambda v=v, r=r: index.recommend(v, k=10, content_type="news", exclude=r)
                for v, r in zip(vectors, reacted, strict=True)
            ]
        ),
        "popular_fallback": _timed(
            [
                lambda s=s, r=r: index.popular(k=10, exclude=r, random_state=s)
                for s, r in enumerate(reacted)
            ]
        ),
        "similar_items": _timed([lambda i=i: index.similar_items(i, k=10) for i in items]),
    }
    floor = figures["floor_read"]["p50_ms"]
    figures["top10_over_floor"] = figures["top10"]["p50_ms"] / floor if floor else None
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500, help="queries per measure")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    if str(ROOT / "layers") not in sys.path:
        sys.path.insert(0, str(ROOT / "layers"))

    results = {}
    for n in args.sizes:
        print(f"measuring {n:,} items x {args.dim} dims ({args.queries} queries each) ...")
        results[str(n)] = bench_size(n, args.dim, args.queries)

    rows = [
        ("one full read of the matrix (floor)", "floor_read"),
        ("matrix @ user (scoring alone)", "matmul"),
        ("recommend top-10, 20 excluded", "top10"),
        ("recommend top-10, one content type", "top10_one_type"),
        ("unknown user: popular + exploration", "popular_fallback"),
        ("similar_items top-10 (cosine)", "similar_items"),
    ]
    header = f"{'p50 / p99 (ms)':<40}" + "".join(f"{f'{int(n):,} items':>22}" for n in results)
    print(header)
    print("-" * len(header))
    for label, key in rows:
        cells = "".join(
            f"{r[key]['p50_ms']:>12.3f} / {r[key]['p99_ms']:<7.3f}" for r in results.values()
        )
        print(f"{label:<40}{cells}")
    ratios = "".join(f"{r['top10_over_floor']:>21.2f}x" for r in results.values())
    print(f"{'top-10 p50 / floor p50':<40}{ratios}")
    sizes = "".join(f"{r['matrix_mb']:>19.1f} MB" for r in results.values())
    print(f"{'item matrix':<40}{sizes}")
    largest = results[str(max(args.sizes))]
    goal = largest["top10"]["p50_ms"] <= 2.0
    print(
        f"goal p50 <= 2 ms at {max(args.sizes):,} items: "
        f"{largest['top10']['p50_ms']:.3f} ms ({'met' if goal else 'missed'})"
    )
    figures = {"sizes": results, "goal_met": goal}
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    main()
