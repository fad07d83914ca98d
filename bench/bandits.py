"""Benchmark: learnloop's ThompsonSampling against mabwiser's on simulated Bernoulli arms.

Each run draws an environment (5-10 arms, success probabilities uniform in [0.05, 0.6]); both
policies play it for ``--horizon`` decisions, one at a time, learning with ``partial_fit`` every
``--batch`` decisions, as the scheduled job does. Runs use common random numbers: the same
environment, the same per-step uniform draws for the rewards, and the same policy seed for both.
Regret is the pseudo-regret ``sum(p_best - p_chosen)``. The goal is ours/mabwiser <= 1.0.

Both draw Beta(s + 1, f + 1) per arm, in arm order, from ``numpy.random.default_rng(seed)``, so
with the same seed they make the same decisions: the bench counts the runs where they do. A
third row runs mabwiser with an independent seed, for a comparison that is not draw-for-draw.

Usage::

    PYTHONPATH=layers python bench/bandits.py [--runs 20] [--horizon 2000] [--batch 10] [--json]

With ``--json`` the last line printed is one JSON object of every section's figures.
mabwiser is a bench-only dependency (the ``dev`` extra), imported here only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

_LAYERS = Path(__file__).resolve().parents[1] / "layers"
_OTHER_SEED = 1_000_003


class Policy(Protocol):
    """What both libraries offer: mabwiser's vocabulary."""

    def fit(self, decisions: list[Any], rewards: list[float]) -> Any: ...
    def partial_fit(self, decisions: list[Any], rewards: list[float]) -> Any: ...
    def predict(self) -> Any: ...


def environment(seed: int) -> np.ndarray:
    """Success probabilities of 5-10 arms."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.6, size=int(rng.integers(5, 11)))


def play(
    policy: Policy, arms: list[str], probabilities: np.ndarray, draws: np.ndarray, batch: int
) -> tuple[float, float, list[str]]:
    """Pseudo-regret, wall seconds and decisions of one policy over ``len(draws)`` decisions."""
    index = {arm: i for i, arm in enumerate(arms)}
    best = float(probabilities.max())
    regret = 0.0
    chosen: list[str] = []
    decisions: list[str] = []
    rewards: list[float] = []
    start = time.perf_counter()
    policy.fit([], [])
    for u in draws:
        arm = str(policy.predict())
        p = float(probabilities[index[arm]])
        regret += best - p
        chosen.append(arm)
        decisions.append(arm)
        rewards.append(float(u < p))
        if len(decisions) == batch:
            policy.partial_fit(decisions, rewards)
            decisions, rewards = [], []
    return regret, time.perf_counter() - start, chosen


def bench_thompson_vs_mabwiser(*, runs: int, horizon: int, batch: int, seed: int) -> dict[str, Any]:
    """Mean regret of both Thompson samplers over ``runs`` shared environments."""
    from mabwiser.mab import MAB, LearningPolicy

    if str(_LAYERS) not in sys.path:
        sys.path.insert(0, str(_LAYERS))
    from learnloop.bandits.thompson import ThompsonSampling

    makers: dict[str, Callable[[list[str], int], Policy]] = {
        "learnloop": lambda arms, s: ThompsonSampling(arms=arms, random_state=s),
        "mabwiser": lambda arms, s: MAB(arms, LearningPolicy.ThompsonSampling(), seed=s),
        "mabwiser_other_seed": lambda arms, s: MAB(
            arms, LearningPolicy.ThompsonSampling(), seed=s + _OTHER_SEED
        ),
    }
    identical = 0
    regrets: dict[str, list[float]] = {name: [] for name in makers}
    seconds: dict[str, float] = dict.fromkeys(makers, 0.0)
    for run in range(runs):
        run_seed = seed + run
        probabilities = environment(run_seed)
        arms = [f"arm{i}" for i in range(len(probabilities))]
        draws = np.random.default_rng(10_000 + run_seed).random(horizon)
        decisions = {}
        for name, make in makers.items():
            regret, elapsed, chosen = play(make(arms, run_seed), arms, probabilities, draws, batch)
            regrets[name].append(regret)
            seconds[name] += elapsed
            decisions[name] = chosen
        identical += decisions["learnloop"] == decisions["mabwiser"]
    figures: dict[str, Any] = {"runs": runs, "horizon": horizon, "batch": batch, "seed": seed}
    for name in makers:
        sd = statistics.stdev(regrets[name]) if runs > 1 else 0.0
        figures[name] = {
            "regret_mean": statistics.fmean(regrets[name]),
            "regret_sd": sd,
            "regret_se": sd / runs**0.5,
            "regret_median": statistics.median(regrets[name]),
            "us_per_decision": 1e6 * seconds[name] / (runs * horizon),
        }
    ours = figures["learnloop"]["regret_mean"]
    figures["ratio"] = ours / figures["mabwiser"]["regret_mean"]
    figures["ratio_other_seed"] = ours / figures["mabwiser_other_seed"]["regret_mean"]
    figures["runs_identical_decisions"] = identical
    return figures


def print_thompson_table(figures: dict[str, Any]) -> None:
    print(
        f"Thompson sampling, learnloop vs mabwiser: {figures['runs']} runs, 5-10 Bernoulli arms, "
        f"horizon {figures['horizon']}, partial_fit every {figures['batch']} decisions"
    )
    header = ("policy", "mean regret", "sd", "se", "median", "us/decision")
    print(
        f"{header[0]:<20} {header[1]:>12} {header[2]:>7} {header[3]:>6} {header[4]:>7} "
        f"{header[5]:>12}"
    )
    for name in ("learnloop", "mabwiser", "mabwiser_other_seed"):
        f = figures[name]
        print(
            f"{name:<20} {f['regret_mean']:>12.1f} {f['regret_sd']:>7.1f} {f['regret_se']:>6.1f} "
            f"{f['regret_median']:>7.1f} {f['us_per_decision']:>12.1f}"
        )
    print(
        f"ratio learnloop/mabwiser: {figures['ratio']:.3f} (goal <= 1.0); decisions identical "
        f"in {figures['runs_identical_decisions']}/{figures['runs']} runs"
    )
    print(
        f"ratio learnloop/mabwiser_other_seed: {figures['ratio_other_seed']:.3f} (a noise "
        "reference: the same algorithm on other posterior draws; compare the se column)"
    )


def thompson_section(args: argparse.Namespace) -> dict[str, Any]:
    figures = bench_thompson_vs_mabwiser(
        runs=args.runs, horizon=args.horizon, batch=args.batch, seed=args.seed
    )
    print_thompson_table(figures)
    return figures


def _seed_outcomes(tables: Any, n: int, now: datetime) -> None:
    """``n`` decisions with content and one outcome each, written straight to the tables."""
    from learnloop.clock import iso
    from learnloop.store.keys import day_shard

    shards = tables.settings.day_shards
    with tables.content.batch_write() as contents, tables.outcomes.batch_write() as outcomes:
        for i in range(n):
            decision = f"bench-{i}"
            posted = now - timedelta(hours=1 + i % 240)
            collected = posted + timedelta(minutes=30)
            likes = round((i % 9) / 150 * 1000)
            contents.save(
                tables.content(
                    decision,
                    bandit_arm=f"hook:{i % 6}",
                    posted_at=iso(posted),
                    content_type="educational",
                    quality_score=(i % 10) / 10,
                    novelty_score=0.5,
                    expertise_level=0.5,
                    length="short",
                    created_at=iso(now),
                    updated_at=iso(now),
                    day_shard=day_shard(posted, decision, shards=shards),
                )
            )
            outcomes.save(
                tables.outcomes(
                    decision,
                    iso(collected),
                    impressions=1000,
                    likes=likes,
                    retweets=0,
                    replies=0,
                    bookmarks=0,
                    followers_gained=i % 2,
                    viral_score=10.0,
                    engagement_rate=likes / 1000,
                    received_at=iso(now),
                    received_shard=day_shard(now, decision, shards=shards),
                    day_shard=day_shard(collected, decision, shards=shards),
                )
            )


def bench_learn_job(args: argparse.Namespace) -> dict[str, Any]:
    """Time ``learn`` (bandit counts + both predictors) on N new outcomes against moto's
    server over HTTP, then a second run with nothing new."""
    import logging

    from moto.server import ThreadedMotoServer

    from learnloop.jobs.learn import learn
    from learnloop.observability import logger
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client

    logger.setLevel("WARNING")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    now = datetime.now(UTC)
    rows = []
    try:
        for n in args.learn_sizes:
            stage = f"bench{n}"
            settings = Settings(
                stage=stage,
                table_prefix=f"{stage}-",
                bucket=f"{stage}-bucket",
                endpoint_url=f"http://{host}:{port}",
                learn_safety_margin_seconds=0,
                # moto builds each 1 MB page of a 100k-item table for tens of seconds.
                read_timeout_seconds=1800,
            )
            tables = Tables(settings)
            bootstrap(settings, tables=tables)
            s3 = s3_client(settings)
            started = time.perf_counter()
            _seed_outcomes(tables, n, now)
            seeded = time.perf_counter() - started
            started = time.perf_counter()
            first = learn(tables, now, s3=s3)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = learn(tables, now, s3=s3)
            second_s = time.perf_counter() - started
            assert first.bandits.counted == n and second.bandits.counted == 0
            rows.append(
                {
                    "outcomes": n,
                    "seed_s": round(seeded, 2),
                    "learn_s": round(first_s, 2),
                    "per_outcome_ms": round(1000 * first_s / n, 3),
                    "rerun_nothing_new_s": round(second_s, 3),
                    "models": sorted(k for k, v in first.models.items() if "version" in v),
                }
            )
    finally:
        server.stop()
    print("learn job against the embedded moto server (bandit counts, ridge, logistic, ONNX)")
    print(f"{'outcomes':>9} {'seed s':>8} {'learn s':>8} {'ms/outcome':>11} {'rerun s':>8}  models")
    for row in rows:
        print(
            f"{row['outcomes']:>9} {row['seed_s']:>8} {row['learn_s']:>8} "
            f"{row['per_outcome_ms']:>11} {row['rerun_nothing_new_s']:>8}  {row['models']}"
        )
    return {"runs": rows}


# Each section prints its table and returns its figures, stored under its key.
SECTIONS: list[tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = [
    ("thompson_vs_mabwiser", thompson_section),
    ("learn_job", bench_learn_job),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="environments (default 20)")
    parser.add_argument("--horizon", type=int, default=2000, help="decisions per run")
    parser.add_argument("--batch", type=int, default=10, help="decisions per partial_fit")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first run")
    parser.add_argument(
        "--learn-sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[10_000],
        help="new outcomes per learn run, comma-separated (default 10000; 100000 takes ~40 min "
        "on moto, seeding included)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: dict[str, Any] = {}
    for key, section in SECTIONS:
        figures[key] = section(args)
        print()
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
