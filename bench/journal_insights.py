"""Calibration of the insight-effectiveness interval on the journal world, over many seeds.

Each seed is the demo's world (``learnloop demo --world journal``: ``--traders`` traders,
``--days`` days with the fresh days included, the world drawn from the seed and the days from
seed + 1), simulated in process: the effectiveness estimator reads only the events sent, so
no server is needed. On every seed both intervals are drawn on the same data:

* ``bootstrap``: the percentile user bootstrap (the interval before);
* ``jackknife``: the delete-one-user jackknife with a Student-t quantile (the default now).

For each warning type it reports how often the 95 % interval excludes zero: for the null types
(the FOMO and overtrading warnings change nothing in the world) that is the false-flag rate,
which should be about 0.05; for the helpful type (the revenge warning) the share of seeds where
the interval lies below zero (power). Rates carry a Clopper-Pearson 95 % interval. The null
types' mean effect over the seeds (with its standard error) shows whether the estimator itself
is biased, which no interval can fix. Overtrading is graded per active day
(``pattern_day_rate``) and also shown per trade (``pattern_rate``), the metric before.

Usage::

    nice -n 15 python bench/journal_insights.py [--seeds 40] [--first-seed 1] [--json]

Progress goes to stderr, one line a seed; with ``--json`` the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import print_report

#: (insight type, metric, planted helpful?) rows the bench grades.
CASES: tuple[tuple[str, str, bool], ...] = (
    ("revenge_trading_warning", "pattern_rate", True),
    ("fomo_warning", "pattern_rate", False),
    ("overtrading_warning", "pattern_day_rate", False),
    ("overtrading_warning", "pattern_rate", False),
)
METHODS = ("bootstrap", "jackknife")


def world_events(seed: int, traders: int, days: int) -> list[dict[str, Any]]:
    """The events the demo sends for ``seed`` (its world and its day generator)."""
    import numpy as np

    from learnloop_tools.demo.journal.world import JournalWorld

    world = JournalWorld.generate(n_traders=traders, seed=seed)
    rng = np.random.default_rng(seed + 1)
    events: list[dict[str, Any]] = []
    for index in range(days):
        events += world.simulate_day(index, rng).events
    return events


def clopper_pearson(k: int, n: int) -> list[float] | None:
    from scipy.stats import binomtest

    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--traders", type=int, default=60)
    parser.add_argument("--days", type=int, default=25, help="the demo's 22 days + 3 fresh")
    parser.add_argument("--n", type=int, default=10, help="trades on each side of an insight")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    from learnloop_tools.demo.journal.grade import effectiveness_report

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    # results[method][case] = list of (effect, interval) per seed (None: no interval)
    results: dict[str, dict[str, list[tuple[float | None, list[float] | None]]]] = {
        m: {f"{k}/{metric}": [] for k, metric, _ in CASES} for m in METHODS
    }
    seconds = {m: 0.0 for m in METHODS}
    began = time.perf_counter()
    for number, seed in enumerate(seeds, 1):
        events = world_events(seed, args.traders, args.days)
        line = []
        for method in METHODS:
            started = time.perf_counter()
            report = {
                r["insight_type"]: r
                for r in effectiveness_report(events, n=args.n, interval=method)
            }
            seconds[method] += time.perf_counter() - started
            for kind, metric, _ in CASES:
                found = report.get(kind, {}).get("metrics", {}).get(metric, {})
                results[method][f"{kind}/{metric}"].append(
                    (found.get("effect"), found.get("interval"))
                )
            flags = [
                "F"
                if (iv := results[method][f"{k}/{m}"][-1][1]) and (iv[0] > 0 or iv[1] < 0)
                else "."
                for k, m, _ in CASES
            ]
            line.append(f"{method} {''.join(flags)}")
        print(
            f"seed {seed:>4} ({number}/{len(seeds)}, {time.perf_counter() - began:.0f} s)  "
            + "  ".join(line),
            file=sys.stderr,
            flush=True,
        )

    figures: dict[str, Any] = {
        "seeds": [seeds[0], seeds[-1]],
        "traders": args.traders,
        "days": args.days,
        "n": args.n,
        "seconds": {m: round(s, 1) for m, s in seconds.items()},
        "cases": {},
    }
    rows: list[tuple[str, str]] = []
    for kind, metric, helpful in CASES:
        key = f"{kind}/{metric}"
        case: dict[str, Any] = {"planted_helpful": helpful}
        effects = [e for e, iv in results["jackknife"][key] if iv is not None and e is not None]
        if effects:
            mean = sum(effects) / len(effects)
            sd = math.sqrt(sum((e - mean) ** 2 for e in effects) / max(1, len(effects) - 1))
            case["mean_effect"] = round(mean, 4)
            case["mean_effect_se"] = round(sd / math.sqrt(len(effects)), 4)
        for method in METHODS:
            drawn = [iv for _, iv in results[method][key] if iv is not None]
            hits = sum(1 for iv in drawn if (iv[1] < 0 if helpful else iv[0] > 0 or iv[1] < 0))
            width = sum(iv[1] - iv[0] for iv in drawn) / len(drawn) if drawn else None
            rate = hits / len(drawn) if drawn else None
            case[method] = {
                "seeds_with_interval": len(drawn),
                "power" if helpful else "false_flags": hits,
                "rate": round(rate, 4) if rate is not None else None,
                "rate_interval": clopper_pearson(hits, len(drawn)),
                "mean_width": round(width, 4) if width is not None else None,
            }
            label = "power (below 0)" if helpful else "false-flag rate"
            ci = case[method]["rate_interval"]
            rows.append(
                (
                    f"{kind} {metric}: {label}, {method}",
                    f"{hits}/{len(drawn)} = {rate:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
                    if rate is not None and ci
                    else "n/a",
                )
            )
        if "mean_effect" in case:
            rows.append(
                (
                    f"{kind} {metric}: mean effect over seeds",
                    f"{case['mean_effect']:+.4f} (se {case['mean_effect_se']:.4f})",
                )
            )
        figures["cases"][key] = case
    rows.append(
        (
            "seconds (bootstrap / jackknife)",
            f"{seconds['bootstrap']:.0f} / {seconds['jackknife']:.0f}",
        )
    )
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
