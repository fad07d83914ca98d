"""Next-day BTC forecasts: each member and the ensemble against the naive baselines, walk-forward.

Protocol: the price forecast job's own walk-forward (``training_jobs.price_forecast.job.
train_price_forecast``, its default members: GradientBoostingRegressor, 150 trees, Huber; a
one-layer LSTM of 16 units over 20 days, at most 30 epochs with early stopping) on a daily
candle file (Yahoo's CSV). The last ``--eval-days`` (730: two years) candles are scored; both
members are refit every ``--step`` (30) days on every earlier day (expanding window), after
``--warmup-folds`` (3) folds that only calibrate. Fold by fold, from earlier folds only: the
ensemble weights (inverse MAE over the last 90 out-of-sample days) and the 80 % conformal
intervals (``prediction ± q * vol_20``, ``q`` from the last 365 out-of-sample days).

Figures per model, over the same scored days: MAE of the price forecast and its ratio to
persistence's (tomorrow's close = today's), directional accuracy (up / not up) with its Wilson
95 % interval, 80 % interval coverage and mean width (log return), and fit time (wall
seconds over every fold). Baselines: persistence (no direction: it forecasts no change, which
counts as "not up"), drift (the training mean return), always up (a direction only).

Usage::

    PYTHONPATH=layers:. python bench/market.py ../shared/data/crypto-prices/BTC-USD-daily.csv
        [--eval-days 730] [--step 30] [--json]

With ``--json`` the last line is one JSON object: ``{"data", "symbol", "from", "to", "days",
"folds", "models": {name: {...}}, "weights_last_fold", "fit_seconds", "seconds"}``.
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a daily candle CSV (Yahoo's columns)")
    parser.add_argument("--symbol", default=None, help="its symbol (default: the file's stem)")
    parser.add_argument("--eval-days", type=int, default=730, help="days scored (730)")
    parser.add_argument("--step", type=int, default=30, help="days per fold (30)")
    parser.add_argument("--warmup-folds", type=int, default=3, help="calibration folds (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} not found: nothing to measure")
        return 0

    import numpy as np
    import torch

    from learnloop.market.candles import parse_candles_file
    from training_jobs.price_forecast.job import format_scores, train_price_forecast

    torch.set_num_threads(1)
    symbol = args.symbol or args.data.stem.split("-daily")[0]
    candles = parse_candles_file(args.data, symbol=symbol)
    started = time.perf_counter()
    training = train_price_forecast(
        candles,
        eval_rows=args.eval_days,
        step=args.step,
        warmup_folds=args.warmup_folds,
        log=lambda line: print(line, file=sys.stderr),
    )
    seconds = time.perf_counter() - started
    combination = training.combination
    assert combination is not None
    scored = np.flatnonzero(combination.scored)
    first_day = str(np.datetime64(candles.open_time[training.tested[scored[0]]], "D"))
    print(
        f"{symbol}: walk-forward over {training.scored_rows} days ({first_day} to "
        f"{np.datetime64(candles.open_time[-2], 'D')}, forecasting the next day's close), "
        f"{training.folds} folds of {args.step} days ({args.warmup_folds} calibration only)"
    )
    for line in format_scores(training.scores):
        print(line)
    fit = {m: round(s, 1) for m, s in training.fit_seconds.items()}
    print(f"fit seconds (every fold + the final refit): {fit}; total {seconds:.0f} s")
    print(f"ensemble weights of the last fold: {combination.weights[-1]}")
    intervals = _ratio_intervals(training, np)
    for name, entry in intervals.items():
        verdict = "beats persistence" if entry["below_1"] else "does not beat persistence"
        print(
            f"MAE ratio {name}: {entry['mae_ratio']:.4f}, paired bootstrap 95 % "
            f"[{entry['low']:.4f}, {entry['high']:.4f}]: {verdict}"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "data": str(args.data),
                    "symbol": symbol,
                    "from": first_day,
                    "to": str(np.datetime64(candles.open_time[-2], "D")),
                    "days": training.scored_rows,
                    "folds": training.folds,
                    "models": training.scores,
                    "mae_ratio_intervals": intervals,
                    "weights_last_fold": combination.weights[-1],
                    "fit_seconds": fit,
                    "seconds": round(seconds, 1),
                }
            )
        )
    return 0


def _ratio_intervals(training: Any, np: Any) -> dict[str, dict[str, Any]]:
    """A paired bootstrap (days resampled, 2,000 times, seed 0) of each model's MAE ratio to
    persistence: does its 95 % interval lie below 1?"""
    from learnloop.market.forecast.features import target_log_return

    combination = training.combination
    rows = np.flatnonzero(combination.scored)
    index = training.tested[rows]
    close = training.candles.close[index]
    truth = close * np.exp(target_log_return(training.candles.close)[index])
    base = np.abs(truth - close)
    draws = np.random.default_rng(0).integers(0, len(rows), (2000, len(rows)))
    out: dict[str, dict[str, Any]] = {}
    for name in ("gbm", "lstm", "ensemble"):
        errors = np.abs(close * np.exp(combination.predictions[name][rows]) - truth)
        ratios = errors[draws].mean(axis=1) / base[draws].mean(axis=1)
        low, high = np.percentile(ratios, [2.5, 97.5])
        out[name] = {
            "mae_ratio": float(errors.mean() / base.mean()),
            "low": float(low),
            "high": float(high),
            "below_1": bool(high < 1.0),
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
