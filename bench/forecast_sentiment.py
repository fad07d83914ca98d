"""Does the price forecast use text sentiment when sentiment leads returns? A synthetic check.

There is no public price series with matching text sentiment here (the BTC file has none, so
``bench/market.py`` trains exactly as before: no sentiment columns). This script generates
one: daily candles whose next-day log return is ``beta * score[d] + noise``, where ``score``
is the day's source-weighted text sentiment (an AR(1) in [-1, 1]), and runs the price
forecast job's own walk-forward (``train_price_forecast``, its default members) three times
on the same candles:

- ``without``: no sentiment (what a stage without texts trains);
- ``leading``: the daily sentiment that drives the returns;
- ``unrelated``: sentiment drawn the same way but independent of the returns (does adding
  useless columns cost anything?).

Figures per run and model (GBM, LSTM, ensemble) over the same scored days: MAE ratio to
persistence, directional accuracy with its Wilson 95 % interval, 80 % interval coverage, and
a paired bootstrap 95 % interval (days resampled, 2,000 times) of the MAE difference against
``without``.

Usage::

    PYTHONPATH=layers:. nice -n 10 python bench/forecast_sentiment.py [--days 1200]
        [--beta 0.01] [--noise 0.02] [--eval-days 360] [--step 60] [--json]

With ``--json`` the last line is one JSON object: ``{"days", "beta", "noise", "runs": {run:
{"models": {...}, "vs_without": {...}, "sentiment", "seconds"}}}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import print_report  # noqa: E402

MODELS = ("gbm", "lstm", "ensemble")


def synthetic(days: int, beta: float, noise: float, seed: int = 0) -> tuple[Any, Any, Any]:
    """``(candles, leading, unrelated)``: daily candles of ``BTC-USD`` and two daily sentiment
    maps (``{"YYYY-MM-DD": {"score", "mean", "count"}}``); the return of day ``d + 1`` is
    ``beta * leading[d].score + N(0, noise)``."""
    import numpy as np

    from training_jobs.price_forecast.job import Candles

    rng = np.random.default_rng(seed)

    def scores() -> Any:
        z = np.zeros(days)
        for d in range(1, days):
            z[d] = 0.5 * z[d - 1] + rng.normal(0.0, 0.9)
        return np.tanh(z)

    lead, other = scores(), scores()
    returns = np.zeros(days)
    returns[1:] = beta * lead[:-1] + rng.normal(0.0, noise, days - 1)
    close = 100.0 * np.exp(np.cumsum(returns))
    spread = np.abs(rng.normal(0.0, noise / 2, days))
    opened = np.datetime64("2021-01-01T00:00:00", "s") + np.arange(days) * np.timedelta64(
        86400, "s"
    )
    volume = rng.lognormal(14.0, 0.3, days)
    opens = np.concatenate([[close[0]], close[:-1]])  # each day opens at the last close
    candles = Candles(
        "BTC-USD", "1d", opened, opens, np.maximum(opens, close) * (1 + spread),
        np.minimum(opens, close) * (1 - spread), close, volume,
    )  # fmt: skip

    def daily(score: Any) -> dict[str, dict[str, float]]:
        counts = rng.poisson(20, days) + 1
        return {
            str(opened[d].astype("datetime64[D]")): {
                "score": float(score[d]),
                "mean": float(np.clip(score[d] + rng.normal(0.0, 0.1), -1, 1)),
                "count": int(counts[d]),
            }
            for d in range(days)
        }

    return candles, daily(lead), daily(other)


def paired(training: Any, base: Any, model: str, draws: Any) -> dict[str, float]:
    """MAE(training) - MAE(base) of ``model`` on the same scored days, with a bootstrap 95 %
    interval (of the next day's log return)."""
    import numpy as np

    a, b = training.combination, base.combination
    assert np.array_equal(training.tested, base.tested), "the runs scored different days"
    from learnloop.market.forecast.features import target_log_return

    rows = np.flatnonzero(a.scored)
    y = target_log_return(training.candles.close)[training.tested[rows]]
    diff = np.abs(a.predictions[model][rows] - y) - np.abs(b.predictions[model][rows] - y)
    means = diff[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mae_difference": float(diff.mean()), "low": float(low), "high": float(high)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1200, help="synthetic days (1200)")
    parser.add_argument("--beta", type=float, default=0.01, help="return per unit of score")
    parser.add_argument("--noise", type=float, default=0.02, help="daily return noise (sd)")
    parser.add_argument("--eval-days", type=int, default=360, help="days scored (360)")
    parser.add_argument("--step", type=int, default=60, help="days per fold (60)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from training_jobs.price_forecast.job import train_price_forecast

    torch.set_num_threads(1)
    candles, leading, unrelated = synthetic(args.days, args.beta, args.noise)
    runs: dict[str, Any] = {}
    trainings: dict[str, Any] = {}
    for name, daily in (("without", None), ("leading", leading), ("unrelated", unrelated)):
        print(f"{name}: walk-forward ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        trainings[name] = train_price_forecast(
            candles,
            eval_rows=args.eval_days,
            step=args.step,
            warmup_folds=3,
            log=lambda line: print(line, file=sys.stderr),
            sentiment=daily,
            sentiment_symbol="BTC" if daily is not None else None,
        )
        runs[name] = {
            "models": {m: trainings[name].scores[m] for m in MODELS},
            "sentiment": trainings[name].sentiment,
            "seconds": round(time.perf_counter() - started, 1),
        }
    rows = int(trainings["without"].combination.scored.sum())
    draws = np.random.default_rng(0).integers(0, rows, (2000, rows))
    lines: list[tuple[str, str]] = []
    for name, run in runs.items():
        if name != "without":
            run["vs_without"] = {
                m: paired(trainings[name], trainings["without"], m, draws) for m in MODELS
            }
        for m in MODELS:
            s = run["models"][m]
            text = (
                f"MAE ratio {s['mae_ratio']:.4f}  dir. acc. {s['directional_accuracy']:.3f} "
                f"[{s['directional_low']:.3f}, {s['directional_high']:.3f}]  80 % cover "
                f"{s['coverage']:.3f}"
            )
            if "vs_without" in run:
                v = run["vs_without"][m]
                text += (
                    f"  MAE vs without {v['mae_difference']:+.5f} "
                    f"[{v['low']:+.5f}, {v['high']:+.5f}]"
                )
            lines.append((f"{name} {m}", text))
        lines.append((f"{name} seconds", f"{run['seconds']:.0f}"))
    figures = {
        "days": args.days,
        "beta": args.beta,
        "noise": args.noise,
        "scored_days": rows,
        "runs": runs,
    }
    print_report(lines, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
