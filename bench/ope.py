"""Benchmark: off-policy estimators' error against a known truth, and their cost per 100k rows.

Sections (each prints its table and returns its figures under its key in the JSON):

- ``accuracy``: the simulated contextual bandit world of ``tests/support/ope_world.py`` (4
  contexts, 4 actions, known Bernoulli rewards), logged by a uniform-random and an ε-greedy
  (ε = 0.3) policy, ``--runs`` seeds of ``--n`` decisions each; per estimator the bias, RMSE
  and relative error of the mean against the target policy's true value, the spread across
  seeds, and how often the bootstrap interval (``--resamples``) covers the truth.
- ``speed``: wall time of each estimator on 100,000 logged decisions, point estimate alone and
  with the bootstrap interval (median of ``--repeats``).
- ``logging_overhead``: select/recommend p50 with the decision log off, record-only and on,
  interleaved in the same run (``bench/decision_log.py``, ``--log-calls`` calls per mode).

Usage::

    PYTHONPATH=layers:tests python bench/ope.py [--runs 20] [--n 10000] [--resamples 1000] [--json]

With ``--json`` the last line printed is one JSON object of every section's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread: the estimators' matrix products are small, and on a shared machine extra
# BLAS threads spin against other processes (DM's bootstrap ran 10x slower with two). A Lambda
# at the usual memory sizes has one or two vCPUs anyway.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
for _path in (_ROOT / "layers", _ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from support.ope_world import (  # noqa: E402
    epsilon_greedy_policy,
    simulate,
    target_policy,
    true_value,
    uniform_policy,
)

from learnloop.decisions.ope import (  # noqa: E402
    ESTIMATORS,
    IndependentItemIPW,
    logged_bandit,
    logged_slates,
)

LOGGERS = {"uniform": uniform_policy, "epsilon_greedy": lambda: epsilon_greedy_policy(0.3)}


# -- accuracy -------------------------------------------------------------------------------------


def bench_accuracy(args: argparse.Namespace) -> dict[str, Any]:
    """Bias, RMSE, spread and interval coverage of every estimator over ``args.runs`` seeds."""
    target = target_policy()
    truth = true_value(target)
    figures: dict[str, Any] = {
        "truth": truth,
        "runs": args.runs,
        "n": args.n,
        "resamples": args.resamples,
    }
    for logger_name, make in LOGGERS.items():
        logging = make()
        estimates: dict[str, list[float]] = {name: [] for name in ESTIMATORS}
        covered = dict.fromkeys(ESTIMATORS, 0)
        ess: list[float] = []
        for run in range(args.runs):
            seed = args.seed + run
            data = logged_bandit(**simulate(logging, target, n=args.n, seed=seed))
            for name, cls in ESTIMATORS.items():
                result = cls(n_resamples=args.resamples, random_state=seed).estimate(data)
                estimates[name].append(result.estimate)
                covered[name] += result.ci_low <= truth <= result.ci_high
            ess.append(result.ess)
        rows = {}
        for name, values in estimates.items():
            errors = np.array(values) - truth
            rows[name] = {
                "mean": float(np.mean(values)),
                "bias": float(errors.mean()),
                "relative_error_of_mean": float(abs(errors.mean()) / truth),
                "rmse": float(np.sqrt((errors**2).mean())),
                "sd": float(np.std(values)),
                "coverage": covered[name] / args.runs,
            }
        figures[logger_name] = {
            "logging_value": true_value(logging),
            "ess_mean": statistics.fmean(ess),
            "estimators": rows,
        }
    print_accuracy(figures)
    return figures


def print_accuracy(figures: dict[str, Any]) -> None:
    print(
        f"Accuracy: target value {figures['truth']:.4f}; {figures['runs']} seeds x "
        f"{figures['n']:,} decisions; {figures['resamples']} bootstrap resamples, 95 % interval"
    )
    header = f"{'logger':<15} {'estimator':<9} {'mean':>7} {'bias':>8} {'rel.err':>8} "
    print(header + f"{'rmse':>7} {'sd':>7} {'coverage':>8}")
    for logger_name in LOGGERS:
        block = figures[logger_name]
        for name, row in block["estimators"].items():
            print(
                f"{logger_name:<15} {name:<9} {row['mean']:>7.4f} {row['bias']:>+8.4f} "
                f"{row['relative_error_of_mean']:>7.2%} {row['rmse']:>7.4f} {row['sd']:>7.4f} "
                f"{row['coverage']:>8.0%}"
            )
        print(
            f"{logger_name:<15} (logging policy's own value {block['logging_value']:.4f}, "
            f"mean effective sample size {block['ess_mean']:,.0f})"
        )


# -- speed ----------------------------------------------------------------------------------------


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per 100,000 logged decisions: validation, each estimator, with the bootstrap."""
    n = 100_000
    logs = simulate(epsilon_greedy_policy(0.3), target_policy(), n=n, seed=args.seed)
    data = logged_bandit(**logs)
    figures: dict[str, Any] = {
        "rows": n,
        "resamples": args.resamples,
        "repeats": args.repeats,
        "validate_s": _median_seconds(lambda: logged_bandit(**logs), args.repeats),
    }
    for name, cls in ESTIMATORS.items():
        point = cls(n_resamples=0)
        boot = cls(n_resamples=args.resamples, random_state=0)
        figures[name] = {
            "point_s": _median_seconds(lambda e=point: e.estimate(data), args.repeats),
            "bootstrap_s": _median_seconds(lambda e=boot: e.estimate(data), args.repeats),
        }
    # Slates: 10 positions each, uniform logging propensities, a random target's marginals.
    rng = np.random.default_rng(args.seed)
    slates = logged_slates(
        propensities=np.full((n, 10), 0.1),
        target_propensities=rng.uniform(0.0, 0.3, size=(n, 10)),
        rewards=(rng.random((n, 10)) < 0.1).astype(np.float64),
    )
    point = IndependentItemIPW(n_resamples=0)
    boot = IndependentItemIPW(n_resamples=args.resamples, random_state=0)
    figures["iips_10_positions"] = {
        "point_s": _median_seconds(lambda: point.estimate(slates), args.repeats),
        "bootstrap_s": _median_seconds(lambda: boot.estimate(slates), args.repeats),
    }
    print(
        f"Speed per {n:,} logged decisions (median of {args.repeats}; "
        f"bootstrap = {args.resamples} resamples)"
    )
    print(f"{'step':<18} {'point (ms)':>11} {'with interval (s)':>18}")
    print(f"{'validate':<18} {1000 * figures['validate_s']:>11.1f} {'':>18}")
    for name in [*ESTIMATORS, "iips_10_positions"]:
        row = figures[name]
        print(f"{name:<18} {1000 * row['point_s']:>11.1f} {row['bootstrap_s']:>18.2f}")
    return figures


def bench_logging_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """Select/recommend p50 with the decision log off vs on: ``bench/decision_log.py``."""
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    from bench.decision_log import main as decision_log

    figures: dict[str, Any] = decision_log(["--calls", str(args.log_calls)])
    return figures


# -- sections ------------------------------------------------------------------------------------

# Each section prints its table and returns its figures, stored under its key.
SECTIONS: list[tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = [
    ("accuracy", bench_accuracy),
    ("speed", bench_speed),
    ("logging_overhead", bench_logging_overhead),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="seeds per logger (default 20)")
    parser.add_argument("--n", type=int, default=10_000, help="decisions per seed")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--repeats", type=int, default=3, help="timings per speed figure")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first run")
    parser.add_argument(
        "--log-calls", type=int, default=150, help="timed calls per mode (logging_overhead)"
    )
    parser.add_argument(
        "--sections",
        type=lambda v: v.split(","),
        default=[key for key, _ in SECTIONS],
        help="comma-separated sections to run (default all)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: dict[str, Any] = {}
    for key, section in SECTIONS:
        if key in args.sections:
            figures[key] = section(args)
            print()
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
