"""Recommendation latency: exact vs approximate top-10 over 100k and 1M items, and the route.

**In process**, for each catalogue size a :class:`~learnloop.recommender.index.TwoTowerIndex`
of generated float32 embeddings (4 content types, 1,000 users) is measured over
``--queries`` queries each:

* the floor: one full read of the item matrix (``matrix.sum()``), the least any exact search
  must pay (memory bandwidth), and a bare ``matrix @ user`` (the scoring alone);
* exact ``recommend`` top-10 for a known user, excluding 20 items they interacted with
  (p50/p99), the same filtered to one content type, the unknown-user fallback (Thompson draws
  over popularity) and ``similar_items`` (cosine);
* the same searches through the version's faiss IVF indexes
  (:mod:`learnloop.recommender.ann`, ``recommend_ann_probes`` cells per query), their build
  time and size, and **recall@10 against exact** on the same queries.

The embeddings are low-rank plus noise around 1,000 centres (``--data structured``), as
trained embeddings are; ``--data gaussian`` draws isotropic vectors instead, where no index
finds neighbourhoods (the worst case for any ANN method).

**Over HTTP** (``--http``): the local stack in-process (embedded moto, Chalice's server on
127.0.0.1) with ``--reactions`` reactions (100k by default) and a tenth as many item-naming
events, and a production two-tower model over their items. ``GET /v1/recommendations`` p50/p90:

* *before*: moto's own Query (which gathers and sorts the whole table) and no history cache,
  reading reactions only: what the route cost before this change;
* *after, first read*: every request a user not read before (two keyed Queries);
* *after, cached*: the same users again within ``recommend_history_seconds``.

Goals: ANN p50 <= 0.5 ms at 100k with recall@10 >= 0.95; the route p50 <= 20 ms at 100k
reactions. BLAS and faiss run on one thread unless ``OPENBLAS_NUM_THREADS`` says otherwise.

Usage::

    python bench/recommend.py [--queries 300] [--sizes 100000 1000000] [--dim 64]
                              [--probes 16] [--data structured] [--http] [--json]

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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
APP = ROOT / "functions" / "app.py"
TYPES = ("meme", "news", "coin", "ai_insight")


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000.0
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
    }


def _timed(calls: list[Callable[[], Any]], warmup: int = 20) -> dict[str, float]:
    for call in calls[:warmup]:
        call()
    samples = []
    for call in calls:
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def embeddings(n: int, dim: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """``n`` rows: isotropic Gaussian, or low-rank (16) around 1,000 centres plus noise."""
    if kind == "gaussian":
        return rng.normal(size=(n, dim)).astype(np.float32)
    structure = np.random.default_rng(12345)  # the same centres for items and users
    centres, basis = structure.normal(size=(1000, 16)), structure.normal(size=(16, dim)) / 4
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # bounded temporaries at 1M rows
        stop = min(n, start + 100_000)
        latent = centres[rng.integers(0, 1000, stop - start)]
        latent = latent + 0.5 * rng.normal(size=latent.shape)
        out[start:stop] = latent @ basis + 0.05 * rng.normal(size=(stop - start, dim))
    return out


def recall_at_10(found: list[list[int]], exact: list[list[int]]) -> float:
    pairs = zip(found, exact, strict=True)
    hits = [len(set(f) & set(e)) / max(1, min(10, len(e))) for f, e in pairs]
    return float(np.mean(hits))


def bench_size(
    n_items: int, dim: int, queries: int, probes: int, data: str, seed: int = 0
) -> dict[str, Any]:
    from learnloop.recommender.ann import ANN_ITEMS_COSINE_FILE, ANN_ITEMS_FILE, AnnIndex
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
        item_matrix=embeddings(n_items, dim, rng, data),
        users=[f"user{u}" for u in range(n_users)],
        user_matrix=embeddings(n_users, dim, rng, data),
    )
    # The indexes number items in the artifact's order: here, keys' order.
    artifact_order = np.asarray([index.item_row[k] for k in keys])
    matrix_in_artifact_order = index.item_matrix[artifact_order]
    start = time.perf_counter()
    ann_ip = AnnIndex("ip", n_probes=probes).fit(matrix_in_artifact_order)
    build_ip = time.perf_counter() - start
    start = time.perf_counter()
    ann_cos = AnnIndex("cosine", n_probes=probes).fit(matrix_in_artifact_order)
    build_cos = time.perf_counter() - start
    del matrix_in_artifact_order
    index.ann = {ANN_ITEMS_FILE: ann_ip, ANN_ITEMS_COSINE_FILE: ann_cos}

    matrix = index.item_matrix
    users = rng.integers(0, n_users, queries)
    reacted = [[keys[j] for j in rng.integers(0, n_items, 20)] for _ in range(queries)]
    vectors = [index.user_matrix[u] for u in users]
    items = [keys[j] for j in rng.integers(0, n_items, queries)]

    def top10(**options: Any) -> list[Callable[[], Any]]:
        return [
            lambda v=v, r=r: index.recommend(v, k=10, exclude=r, **options)
            for v, r in zip(vectors, reacted, strict=True)
        ]

    similar = [lambda i=i: index.similar_items(i, k=10) for i in items]

    def answers(calls: list[Callable[[], Any]]) -> list[list[int]]:
        return [[row for row, _ in call()] for call in calls]

    index.ann_min_rows = n_items + 1  # exact
    figures: dict[str, Any] = {
        "n_items": n_items,
        "dim": dim,
        "data": data,
        "matrix_mb": matrix.nbytes / 1e6,
        "floor_read": _timed([lambda: matrix.sum() for _ in range(queries)]),
        "matmul": _timed([lambda v=v: matrix @ v for v in vectors]),
        "top10": _timed(top10()),
        "top10_one_type": _timed(top10(content_type="news")),
        "popular_fallback": _timed(
            [
                lambda s=s, r=r: index.popular(k=10, exclude=r, random_state=s)
                for s, r in enumerate(reacted)
            ]
        ),
        "similar_items": _timed(similar),
    }
    exact_top = answers(top10())
    exact_type = answers(top10(content_type="news"))
    exact_similar = answers(similar)
    index.ann_min_rows = 1  # approximate
    figures.update(
        {
            "ann_probes": probes,
            "ann_lists": int(ann_ip.index_.nlist),
            "ann_build_s": {"ip": build_ip, "cosine": build_cos},
            "ann_mb": {"ip": len(ann_ip.to_bytes()) / 1e6, "cosine": len(ann_cos.to_bytes()) / 1e6},
            "ann_search_only": _timed(
                [lambda v=v: ann_ip.search(v, 30) for v in vectors]  # the index's part alone
            ),
            "ann_top10": _timed(top10()),
            "ann_top10_one_type": _timed(top10(content_type="news")),
            "ann_similar_items": _timed(similar),
            "recall@10": recall_at_10(answers(top10()), exact_top),
            "recall@10_one_type": recall_at_10(answers(top10(content_type="news")), exact_type),
            "recall@10_similar": recall_at_10(answers(similar), exact_similar),
        }
    )
    floor = figures["floor_read"]["p50_ms"]
    figures["top10_over_floor"] = figures["top10"]["p50_ms"] / floor if floor else None
    return figures


# --- over HTTP on the embedded stack ------------------------------------------------------


def _model_files(items: list[str], users: list[str], dim: int, rng: Any) -> dict[str, bytes]:
    import io

    def npy(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array.astype(np.float32), allow_pickle=False)
        return buffer.getvalue()

    info = {
        "item_keys": items,
        "content_types": [k.split("#", 1)[0] for k in items],
        "popularity": [1] * len(items),
    }
    return {
        "item_embeddings.npy": npy(embeddings(len(items), dim, rng, "structured")),
        "items.json": json.dumps(info).encode(),
        "user_embeddings.npy": npy(embeddings(len(users), dim, rng, "structured")),
        "users.json": json.dumps({"users": users}).encode(),
    }


class _CallCounter:
    """Counts the AWS calls the API's request threads make (botocore, by operation), so a
    phase reports calls per request; the runner's schedules run on other threads."""

    def __init__(self) -> None:
        import collections
        import threading

        import botocore.client

        self.counts: collections.Counter[str] = collections.Counter()
        self._threading = threading
        self._client = botocore.client.BaseClient
        self._original = self._client._make_api_call
        counter = self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if "process_request" in threading.current_thread().name:
                counter.counts[operation] += 1
            return counter._original(client, operation, params)

        self._client._make_api_call = counted  # type: ignore[method-assign]

    def per_request(self, requests: int) -> dict[str, float]:
        """Calls per request since the last call, by operation (and ``total``); resets."""
        figures = {op: n / max(requests, 1) for op, n in sorted(self.counts.items())}
        figures["total"] = sum(self.counts.values()) / max(requests, 1)
        self.counts.clear()
        return figures

    def close(self) -> None:
        self._client._make_api_call = self._original  # type: ignore[method-assign]


def bench_http(n_reactions: int, requests: int, before_requests: int) -> dict[str, Any]:
    import requests as http

    from learnloop.api import get_services
    from learnloop.clock import iso, utcnow
    from learnloop.models.artifacts import artifact_prefix, build_manifest, write_artifact
    from learnloop.models.cache import PRODUCTION_ALIAS
    from learnloop.recommender.history import HistoryCache
    from learnloop.store.clients import s3_client
    from learnloop.store.keys import day_shard
    from learnloop.store.tables import Tables
    from learnloop.users.pseudonym import pseudonymize
    from learnloop_tools.local import Runner
    from learnloop_tools.local.moto_server import MotoBackendAccess

    # The "before" read gathers the whole table per request: give it time to answer.
    os.environ.setdefault("LEARNLOOP_READ_TIMEOUT_SECONDS", "600")
    rng = np.random.default_rng(1)
    per_user = 50
    n_users = max(1, n_reactions // per_user)
    n_items = max(100, n_reactions // 20)
    items = [f"{TYPES[i % 3]}#m{i}" for i in range(n_items)]
    user_ids = [f"user-{u}" for u in range(n_users)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        Runner(port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP) as runner,
    ):
        settings = runner.settings
        tables = Tables(settings)
        backend = MotoBackendAccess()
        now = utcnow()
        stamp = iso(now)
        rows = []
        for u, user in enumerate(user_ids):
            for j in rng.choice(n_items, size=per_user, replace=False):
                key = items[int(j)]
                kind, _, external = key.partition("#")
                rows.append(
                    {
                        "user_id": {"S": user},
                        "item_key": {"S": key},
                        "content_type": {"S": kind},
                        "external_id": {"S": external},
                        "reaction": {"S": "like" if (u + int(j)) % 3 else "dislike"},
                        "created_at": {"S": stamp},
                        "updated_at": {"S": stamp},
                        "day_shard": {"S": day_shard(now, user, shards=settings.day_shards)},
                    }
                )
        events = []
        for i in range(n_reactions // 10):
            user = user_ids[i % n_users]
            key = items[int(rng.integers(0, n_items))]
            kind, _, external = key.partition("#")
            event_id = f"e{i:08d}"
            events.append(
                {
                    "user_id": {"S": user},
                    "sk": {"S": f"{stamp}#{event_id}"},
                    "event_id": {"S": event_id},
                    "type": {"S": "acme.item_viewed"},
                    "occurred_at": {"S": stamp},
                    "received_at": {"S": stamp},
                    "properties": {
                        "S": json.dumps({"content_type": kind, "external_id": external})
                    },
                    "day_shard": {"S": day_shard(now, user, shards=settings.day_shards)},
                }
            )
        assert backend.write_items(tables.reactions.Meta.table_name, settings.region, rows)
        assert backend.write_items(tables.events.Meta.table_name, settings.region, events)
        # A production two-tower version over these users and items (alias written directly).
        version = "20261207T000000Z"
        pseudonyms = [pseudonymize(u, settings.pseudonym_secret) for u in user_ids]
        files = _model_files(items, pseudonyms, 64, rng)
        manifest = build_manifest(
            "two_tower", version, files, [], {}, ("2026-12-01", "2026-12-06"), len(rows),
            extra={"kind": "two_tower", "embedding_dim": 64},
        )  # fmt: skip
        s3 = s3_client(settings)
        write_artifact(s3, settings.bucket, "two_tower", version, files, manifest)
        prefix = artifact_prefix("two_tower", version)
        tables.models(
            "two_tower", PRODUCTION_ALIAS, target=version, s3_prefix=prefix, created_at=stamp
        ).save()
        services = get_services()
        session = http.Session()
        session.headers["Authorization"] = f"Bearer {runner.keys['read']}"

        def get(user: str) -> float:
            start = time.perf_counter()
            reply = session.get(
                f"{runner.api_url}/v1/recommendations", params={"user_id": user, "k": 10}
            )
            elapsed = time.perf_counter() - start
            assert reply.status_code == 200, reply.text
            return elapsed

        get(user_ids[0])  # loads the model
        order = [user_ids[int(i)] for i in rng.permutation(n_users)]
        from moto.dynamodb.models.table import Table

        keyed = (Table.query, Table.all_items)
        moto_own = getattr(Table, "_learnloop_moto_query", None)
        before = None
        if moto_own is not None and before_requests > 0:
            Table.query, Table.all_items = moto_own  # type: ignore[method-assign]
            services._lazy["user_history"] = HistoryCache(tables, ttl_seconds=0, events=0)
            try:
                before = _percentiles([get(u) for u in order[:before_requests]])
            finally:
                Table.query, Table.all_items = keyed  # type: ignore[method-assign]
        services._lazy["user_history"] = HistoryCache(
            tables, ttl_seconds=600, events=settings.recommend_history_events
        )
        fresh = order[before_requests : before_requests + requests]
        counter = _CallCounter()
        try:
            first = _percentiles([get(u) for u in fresh])
            first["calls_per_request"] = counter.per_request(len(fresh))  # type: ignore[assignment]
            cached = _percentiles([get(u) for u in fresh])
            cached["calls_per_request"] = counter.per_request(len(fresh))  # type: ignore[assignment]
        finally:
            counter.close()
        return {
            "reactions": len(rows),
            "events": len(events),
            "users": n_users,
            "items": n_items,
            "before": before,
            "before_requests": before_requests,
            "first_read": first,
            "cached": cached,
            "requests": len(fresh),
        }


def _print_sizes(results: dict[str, dict[str, Any]]) -> None:
    rows = [
        ("one full read of the matrix (floor)", "floor_read"),
        ("matrix @ user (scoring alone)", "matmul"),
        ("exact top-10, 20 excluded", "top10"),
        ("exact top-10, one content type", "top10_one_type"),
        ("unknown user: popular + exploration", "popular_fallback"),
        ("exact similar_items top-10 (cosine)", "similar_items"),
        ("ANN: index search alone (30 ids)", "ann_search_only"),
        ("ANN top-10, 20 excluded", "ann_top10"),
        ("ANN top-10, one content type", "ann_top10_one_type"),
        ("ANN similar_items top-10", "ann_similar_items"),
    ]
    header = f"{'p50 / p99 (ms)':<40}" + "".join(f"{f'{int(n):,} items':>22}" for n in results)
    print(header)
    print("-" * len(header))
    for label, key in rows:
        cells = "".join(
            f"{r[key]['p50_ms']:>12.3f} / {r[key]['p99_ms']:<7.3f}" for r in results.values()
        )
        print(f"{label:<40}{cells}")
    for label, key in (
        ("ANN recall@10 (top-10)", "recall@10"),
        ("ANN recall@10 (one type)", "recall@10_one_type"),
        ("ANN recall@10 (similar items)", "recall@10_similar"),
    ):
        print(f"{label:<40}" + "".join(f"{r[key]:>22.3f}" for r in results.values()))
    for label, key in (("ANN build s (ip / cosine)", "ann_build_s"), ("ANN index MB", "ann_mb")):
        cells = "".join(
            f"{r[key]['ip']:>13.1f} / {r[key]['cosine']:<6.1f}" for r in results.values()
        )
        print(f"{label:<40}{cells}")
    sizes = "".join(f"{r['matrix_mb']:>19.1f} MB" for r in results.values())
    print(f"{'item matrix':<40}{sizes}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300, help="queries per measure")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="none: HTTP only"
    )
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--probes", type=int, default=16, help="IVF cells read per query")
    parser.add_argument("--data", choices=("structured", "gaussian"), default="structured")
    parser.add_argument("--http", action="store_true", help="also measure the route over HTTP")
    parser.add_argument("--reactions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="HTTP requests per phase")
    parser.add_argument("--before-requests", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    for path in (ROOT / "layers", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    import faiss

    faiss.omp_set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    results = {}
    for n in args.sizes:
        print(f"measuring {n:,} items x {args.dim} dims ({args.queries} queries each) ...")
        results[str(n)] = bench_size(n, args.dim, args.queries, args.probes, args.data)

    if results:
        _print_sizes(results)
    figures: dict[str, Any] = {"sizes": results, "probes": args.probes, "data": args.data}
    if "100000" in results:
        r = results["100000"]
        goal = r["ann_top10"]["p50_ms"] <= 0.5 and r["recall@10"] >= 0.95
        figures["ann_goal_met"] = goal
        print(
            f"goal ANN p50 <= 0.5 ms with recall@10 >= 0.95 at 100,000 items: "
            f"{r['ann_top10']['p50_ms']:.3f} ms, recall {r['recall@10']:.3f} "
            f"({'met' if goal else 'missed'})"
        )
    if args.http:
        print(f"measuring GET /v1/recommendations over HTTP with {args.reactions:,} reactions ...")
        http = bench_http(args.reactions, args.requests, args.before_requests)
        figures["http"] = http
        print(f"{'GET /v1/recommendations':<40}{'p50 (ms)':>12}{'p90 (ms)':>12}{'requests':>10}")
        phases = (
            ("before: moto scan-like Query, no cache", http["before"], http["before_requests"]),
            ("after: first read (two keyed Queries)", http["first_read"], http["requests"]),
            ("after: cached history", http["cached"], http["requests"]),
        )
        for label, value, count in phases:
            if value is not None:
                print(f"{label:<40}{value['p50_ms']:>12.1f}{value['p90_ms']:>12.1f}{count:>10}")
        for label, value in (("first read", http["first_read"]), ("cached", http["cached"])):
            calls = value["calls_per_request"]
            shown = ", ".join(f"{op} {n:.2f}" for op, n in calls.items() if op != "total")
            print(f"AWS calls per request ({label}): {calls['total']:.2f} ({shown})")
        # The goal is judged on a user this container served lately (history cached); a
        # user's first read in a container adds their two keyed Queries (reported above).
        goal = http["cached"]["p50_ms"] <= 20.0
        figures["http_goal_met"] = goal
        print(
            f"goal route p50 <= 20 ms at {http['reactions']:,} reactions (history cached): "
            f"{http['cached']['p50_ms']:.1f} ms ({'met' if goal else 'missed'}); first read "
            f"{http['first_read']['p50_ms']:.1f} ms"
        )
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    main()
