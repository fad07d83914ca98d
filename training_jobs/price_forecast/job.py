"""The price forecast job: walk-forward, combine, calibrate, export, publish — per symbol.

``python -m training_jobs.price_forecast`` (``learnloop train price_forecast``) reads one
symbol's candles (``--data FILE``, or the candle store by default), builds the causal features
of :mod:`learnloop.market.forecast.features` and runs an expanding-window walk-forward over the
last ``--eval-rows`` candles, refitting both members (:mod:`~training_jobs.price_forecast.
members`) every ``--step`` candles. The folds' out-of-sample predictions set, fold by fold and
from earlier folds only, the ensemble weights (inverse MAE over the last 90 rows) and the
conformal quantiles (the last 365 rows); the first ``--warmup-folds`` folds only calibrate.
The scored folds give the manifest's metrics beside the naive baselines (persistence, drift,
always up). Then both members are refit on every row, and the weights and quantiles for the
next candle are taken from every out-of-sample row.

Text sentiment (issue 16): when the stage stores texts naming the series' asset (the pair
mapped by :func:`learnloop.symbols.sentiment_symbol`: ``BTC-USD`` → ``BTC``) on at least
``--min-sentiment-days`` (30) of its days, the features gain the previous complete day's
sentiment (:func:`~learnloop.market.forecast.features.sentiment_features`) and the manifest's
``extra.sentiment`` names the symbol serving reads; otherwise the features, and so the model,
are those of a stage without texts. ``--no-sentiment`` turns it off; a run on ``--data`` with
``--out`` reads no store, so no sentiment.

Published to ``models/price_forecast_{symbol}/{version}/``: ``gbm.onnx`` and ``lstm.onnx``
(serving), ``gbm_validation.onnx`` and ``lstm_validation.onnx`` (the last fold's members: the
twins fair promotion scores, as the predictors' ``validation.onnx``), ``reference.npz`` (the
training rows' features, what :mod:`learnloop.drift.forecast` compares recent candles with),
``manifest.json`` last
(``extra.kind = "price_forecast"``, key metric ``mae``) and the last fold's candles as the
version's evaluation set. Each member's ONNX must equal its scikit-learn / torch output to
``--max-onnx-diff`` (1e-5) or nothing is published (exit 2). Exit 1: unusable data.

Examples
--------
>>> main(["--data", "BTC-USD-daily.csv", "--symbol", "BTC-USD", "--out", "fc/"])
... # doctest: +SKIP
[BTC-USD] 2534 candles, 2014-09-17 to 2021-08-24
...
0
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from learnloop.exceptions import LearnloopError
from learnloop.market.candles import CandleSeries, parse_candles_file, read_candles
from learnloop.market.forecast.ensemble import (
    DEFAULT_COVERAGE,
    ENSEMBLE,
    WalkForwardCombination,
    combination_for_next,
    combine_walk_forward,
)
from learnloop.market.forecast.evaluation import (
    baseline_predictions,
    score_forecasts,
    walk_forward_folds,
)
from learnloop.market.forecast.features import (
    FEATURE_NAMES,
    SENTIMENT_FEATURE_NAMES,
    VOLATILITY_FEATURE,
    WARMUP,
    DailySentiment,
    build_features,
    feature_names,
    sentiment_features,
    sequences,
    target_log_return,
)
from learnloop.market.forecast.serving import INTERVAL_SECONDS, forecast_model_name
from learnloop.settings import Settings
from training_jobs.exceptions import TrainingDataError
from training_jobs.price_forecast.members import GradientBoostingMember, LSTMMember

#: One symbol's candles, oldest first: the candle store's series.
Candles = CandleSeries

__all__ = [
    "MAX_ONNX_DIFF",
    "Candles",
    "PriceForecastTraining",
    "build_artifact",
    "main",
    "read_stored_candles",
    "read_stored_sentiment",
    "stored_symbols",
    "train_price_forecast",
]

MAX_ONNX_DIFF = 1e-5
MEMBERS = ("gbm", "lstm")
#: Days with scored texts a series needs before its forecast uses sentiment: fewer leave the
#: columns nearly all zero, a feature the members could only overfit.
MIN_SENTIMENT_DAYS = 30


def stored_symbols(settings: Settings, interval: str) -> list[str]:
    """Every symbol the candle store holds ``interval`` candles of (what a run without
    ``--symbol`` trains)."""
    from learnloop.market.candle_store import list_series
    from learnloop.store.tables import Tables

    return sorted(s for s, i in list_series(Tables(settings)) if i == interval)


def read_stored_sentiment(candles: Candles, settings: Settings) -> tuple[str, DailySentiment]:
    """``(text symbol, daily sentiment)`` of the series' asset over its candles' days, from
    the stage's texts (:func:`learnloop.sentiment.daily.daily_sentiment`)."""
    from learnloop.sentiment.daily import daily_sentiment, forecast_sentiment_symbol
    from learnloop.store.tables import Tables

    symbol = forecast_sentiment_symbol(settings, candles.symbol)
    days = np.asarray(candles.open_time).astype("datetime64[D]")
    first, last = (d.astype(object) for d in (days[0] - 1, days[-1]))
    return symbol, daily_sentiment(Tables(settings), symbol, first, last)


def read_stored_candles(symbol: str, interval: str, settings: Settings) -> Candles:
    """Every stored candle of ``symbol`` (the candle store's ``read_candles``)."""
    return read_candles(
        symbol, interval, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC), settings=settings
    )


@dataclass
class PriceForecastTraining:
    """What :func:`train_price_forecast` produced.

    Attributes
    ----------
    members, twins : dict
        Both members refit on every row (served), and the last fold's (validation twins).
    onnx : dict of str to bytes
        ``gbm.onnx``, ``lstm.onnx``, ``gbm_validation.onnx``, ``lstm_validation.onnx``.
    scores : dict
        :func:`~learnloop.market.forecast.evaluation.score_forecasts` of the members, the
        ensemble and the baselines on the scored walk-forward rows.
    weights, quantiles : dict
        For the next candle (from every out-of-sample row).
    validation : dict
        The twins' ``weights``, ``quantiles`` and ``trained_through``.
    fit_seconds : dict
        Seconds spent fitting each member over the walk-forward and the final refit.
    evaluation : dict
        The last fold's rows: ``X``, ``sequences``, ``y``, ``close``, ``open_time``.
    """

    candles: Candles
    window: int
    members: dict[str, Any]
    twins: dict[str, Any]
    onnx: dict[str, bytes]
    scores: dict[str, dict[str, Any]]
    weights: dict[str, float]
    quantiles: dict[str, float]
    validation: dict[str, Any]
    fit_seconds: dict[str, float]
    onnx_max_abs_diff: dict[str, float]
    rows: int
    scored_rows: int
    folds: int
    evaluation: dict[str, Any] = field(default_factory=dict)
    combination: WalkForwardCombination | None = None
    coverage: float = DEFAULT_COVERAGE
    #: The training rows' features (``reference.npz``: what drift compares recent candles with).
    reference: dict[str, Any] = field(default_factory=dict)
    #: The candle index of each walk-forward row (row-aligned with ``combination``).
    tested: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: The columns of ``X`` (:data:`FEATURE_NAMES`, plus the sentiment ones when used).
    feature_names: tuple[str, ...] = FEATURE_NAMES
    #: ``{"symbol", "days", "features"}`` when the features include text sentiment, else None.
    sentiment: dict[str, Any] | None = None


def train_price_forecast(
    candles: Candles,
    *,
    eval_rows: int = 365,
    step: int = 30,
    warmup_folds: int = 3,
    window: int = 20,
    coverage: float = DEFAULT_COVERAGE,
    gbm: Callable[[], GradientBoostingMember] = GradientBoostingMember,
    lstm: Callable[[], LSTMMember] = LSTMMember,
    log: Callable[[str], None] = print,
    sentiment: DailySentiment | None = None,
    sentiment_symbol: str | None = None,
    min_sentiment_days: int = MIN_SENTIMENT_DAYS,
) -> PriceForecastTraining:
    """Walk-forward evaluate, combine and calibrate both members, then refit them on every row.

    Parameters
    ----------
    candles : Candles
        One symbol's series, oldest first.
    eval_rows : int, default 365
        Candles scored by the walk-forward (the most recent ones).
    step : int, default 30
        Candles per fold.
    warmup_folds : int, default 3
        Folds before the scored ones that only calibrate the weights and intervals.
    window : int, default 20
        The LSTM's sequence length.
    coverage : float, default 0.8
        The prediction intervals' nominal coverage.
    gbm, lstm : callable
        Member factories (tests pass small ones).
    sentiment : mapping, optional
        The asset's daily text sentiment (``{"YYYY-MM-DD": {"score", "mean", "count"}}``);
        used as features when at least ``min_sentiment_days`` of the candles' sentiment days
        have scored texts, else ignored (the features are those without sentiment).
    sentiment_symbol : str, optional
        The text symbol it was read for (recorded for serving).

    Raises
    ------
    TrainingDataError
        Too few candles for the warm-up, the walk-forward and a training set.

    Examples
    --------
    >>> result = train_price_forecast(candles, eval_rows=60, step=20)  # doctest: +SKIP
    >>> result.scores["ensemble"]["coverage"]  # doctest: +SKIP
    0.8
    """
    columns: np.ndarray | None = None
    used: dict[str, Any] | None = None
    if sentiment is not None:
        columns = sentiment_features(
            candles.open_time, INTERVAL_SECONDS.get(candles.interval, 86400), sentiment
        )
        days = int(np.count_nonzero(columns[:, -1] > 0))
        if days >= min_sentiment_days:
            used = {
                "symbol": sentiment_symbol,
                "days": days,
                "features": list(SENTIMENT_FEATURE_NAMES),
            }
            log(f"      text sentiment of {sentiment_symbol} on {days} days: used as features")
        else:
            log(
                f"      text sentiment of {sentiment_symbol} on {days} days (fewer than "
                f"{min_sentiment_days}): not used"
            )
            columns = None
    names = feature_names(sentiment=used is not None)
    X = build_features(candles.close, candles.high, candles.low, candles.volume, columns)
    y = target_log_return(candles.close)
    scale = X[:, FEATURE_NAMES.index(VOLATILITY_FEATURE)]
    start = WARMUP + window - 1
    usable = np.flatnonzero(
        (np.arange(len(y)) >= start) & np.isfinite(X).all(axis=1) & np.isfinite(y)
    )
    first_test = len(usable) - eval_rows - warmup_folds * step
    if eval_rows < step or first_test < max(200, 4 * step):
        raise TrainingDataError(
            f"{candles.symbol}: {len(usable)} usable candles; a walk-forward over {eval_rows} "
            f"with {warmup_folds} warm-up folds of {step} needs at least "
            f"{eval_rows + warmup_folds * step + max(200, 4 * step)}"
        )
    folds = walk_forward_folds(usable, first_test=first_test, step=step)
    tested = np.concatenate([test for _, test in folds])
    fold_of = np.concatenate([np.full(len(test), k) for k, (_, test) in enumerate(folds)])
    oos = {m: np.empty(len(tested)) for m in MEMBERS}
    baselines: dict[str, list[np.ndarray]] = {}
    seconds = dict.fromkeys(MEMBERS, 0.0)
    twins: dict[str, Any] = {}
    at = 0
    for k, (train, test) in enumerate(folds):
        fitted = _fit_members(X, y, train, window, gbm, lstm)
        for m in MEMBERS:
            seconds[m] += fitted[m].fit_seconds_
        oos["gbm"][at : at + len(test)] = fitted["gbm"].predict(X[test])
        oos["lstm"][at : at + len(test)] = fitted["lstm"].predict(sequences(X, test, window))
        for name, values in baseline_predictions(y[train], len(test)).items():
            baselines.setdefault(name, []).append(values)
        at += len(test)
        twins = fitted
        log(
            f"      fold {k + 1}/{len(folds)}: trained on {len(train)}, tested "
            f"{len(test)} ({_day(candles.open_time[test[0]])} to "
            f"{_day(candles.open_time[test[-1]])})"
        )
    combination = combine_walk_forward(
        oos,
        y[tested],
        scale[tested],
        fold_of,
        coverage=coverage,
        min_calibration=warmup_folds * step,
    )
    scored = combination.scored
    predictions = {name: p[scored] for name, p in combination.predictions.items()}
    predictions.update({name: np.concatenate(v)[scored] for name, v in baselines.items()})
    intervals = {
        name: (combination.lower[name][scored], combination.upper[name][scored])
        for name in (*MEMBERS, ENSEMBLE)
    }
    rows = tested[scored]
    scores = score_forecasts(y[rows], candles.close[rows], predictions, intervals)
    following = combination_for_next(combination, y[tested], scale[tested], coverage=coverage)
    log(f"      refitting both members on {len(usable)} candles")
    members = _fit_members(X, y, usable, window, gbm, lstm)
    for m in MEMBERS:
        seconds[m] += members[m].fit_seconds_
    last_train, last_test = folds[-1]
    onnx = {
        "gbm.onnx": members["gbm"].to_onnx(list(names)),
        "lstm.onnx": members["lstm"].to_onnx(),
        "gbm_validation.onnx": twins["gbm"].to_onnx(list(names)),
        "lstm_validation.onnx": twins["lstm"].to_onnx(),
    }
    S_last = sequences(X, last_test, window)
    diffs = {
        "gbm": _max_diff(onnx["gbm.onnx"], X[last_test], members["gbm"].predict(X[last_test])),
        "lstm": _max_diff(onnx["lstm.onnx"], S_last, members["lstm"].predict(S_last)),
        "gbm_validation": _max_diff(
            onnx["gbm_validation.onnx"], X[last_test], twins["gbm"].predict(X[last_test])
        ),
        "lstm_validation": _max_diff(
            onnx["lstm_validation.onnx"], S_last, twins["lstm"].predict(S_last)
        ),
    }
    last_fold = fold_of == fold_of.max()
    prior = combine_walk_forward(
        {m: oos[m][~last_fold] for m in MEMBERS},
        y[tested][~last_fold],
        scale[tested][~last_fold],
        fold_of[~last_fold],
        coverage=coverage,
    )
    twin_combo = combination_for_next(
        prior, y[tested][~last_fold], scale[tested][~last_fold], coverage=coverage
    )
    return PriceForecastTraining(
        candles=candles,
        window=window,
        members=members,
        twins=twins,
        onnx=onnx,
        scores=scores,
        weights=following.weights,
        quantiles=following.quantiles,
        validation={
            "weights": combination.weights[-1],
            "quantiles": twin_combo.quantiles,
            # the last close the twins trained on: the target of their last training row
            "trained_through": _iso(candles.open_time[last_train[-1] + 1]),
            "rows": len(last_train),
        },
        fit_seconds=seconds,
        onnx_max_abs_diff=diffs,
        rows=len(usable),
        scored_rows=int(scored.sum()),
        folds=len(folds),
        evaluation={
            "X": X[last_test],
            "sequences": S_last,
            "y": y[last_test],
            "close": candles.close[last_test],
            "open_time": [_iso(t) for t in candles.open_time[last_test]],
            "feature_names": list(names),
        },
        combination=combination,
        coverage=coverage,
        tested=tested,
        reference={"X": X[usable], "open_time": [_iso(t) for t in candles.open_time[usable]]},
        feature_names=names,
        sentiment=used,
    )


def _fit_members(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    window: int,
    gbm: Callable[[], GradientBoostingMember],
    lstm: Callable[[], LSTMMember],
) -> dict[str, Any]:
    return {
        "gbm": gbm().fit(X[rows], y[rows]),
        "lstm": lstm().fit(sequences(X, rows, window), y[rows]),
    }


def _max_diff(model: bytes, inputs: np.ndarray, expected: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    [out] = session.run(None, {session.get_inputs()[0].name: inputs.astype(np.float32)})[:1]
    return float(np.max(np.abs(np.asarray(out, dtype=np.float64).reshape(-1) - expected)))


def metrics_of(training: PriceForecastTraining) -> dict[str, float | None]:
    """The manifest's metrics: the ensemble's walk-forward figures unprefixed (``mae`` is the
    key metric: mean absolute error of the next log return), each other model's prefixed."""
    metrics: dict[str, float | None] = {}
    for name, entry in training.scores.items():
        prefix = "" if name == ENSEMBLE else f"{name}_"
        metrics[f"{prefix}mae"] = entry["mae_log_return"]
        metrics[f"{prefix}mae_price"] = entry["mae"]
        for key in (
            "mae_ratio",
            "directional_accuracy",
            "directional_low",
            "directional_high",
            "coverage",
            "interval_width",
        ):
            if entry.get(key) is not None:
                metrics[f"{prefix}{key}"] = entry[key]
    for member, seconds in training.fit_seconds.items():
        metrics[f"{member}_fit_seconds"] = round(seconds, 3)
    return metrics


def build_artifact(
    training: PriceForecastTraining,
    *,
    version: str | None = None,
    data_source: str | None = None,
    now: datetime | None = None,
    evaluation: dict[str, Any] | None = None,
) -> tuple[str, dict[str, bytes], dict[str, Any]]:
    """``(name, files, manifest)`` of one forecast version (``extra.kind`` price_forecast)."""
    from learnloop.models.artifacts import REFERENCE_FILE, build_manifest, new_version
    from learnloop.models.evaluation import encode_set

    now = now or datetime.now(UTC)
    version = version or new_version(now)
    candles = training.candles
    name = forecast_model_name(candles.symbol)
    first = int(WARMUP + training.window - 1)
    files = dict(training.onnx)
    if training.reference:
        files[REFERENCE_FILE] = encode_set(training.reference)
    manifest = build_manifest(
        name,
        version,
        files,
        list(training.feature_names),
        metrics_of(training),
        (_iso(candles.open_time[first]), _iso(candles.open_time[-1])),
        training.rows,
        extra={
            "kind": "price_forecast",
            "symbol": candles.symbol,
            "interval": candles.interval,
            "window": training.window,
            "target": "log(close[t + 1] / close[t])",
            "weights": training.weights,
            "quantiles": training.quantiles,
            "coverage": training.coverage,
            "interval_scale": VOLATILITY_FEATURE,
            # the text symbol whose daily sentiment the last features are (None: no sentiment)
            "sentiment": training.sentiment,
            "members": {
                "gbm": {"file": "gbm.onnx", "input": "features", "shape": ["batch", "k"]},
                "lstm": {
                    "file": "lstm.onnx",
                    "input": "sequences",
                    "shape": ["batch", training.window, "k"],
                },
            },
            "validation": training.validation,
            "walk_forward": {
                "folds": training.folds,
                "scored_rows": training.scored_rows,
                "scores": training.scores,
            },
            "onnx_max_abs_diff": training.onnx_max_abs_diff,
            "trained_through": _iso(candles.open_time[-1]),
            "data": data_source,
        },
        now=now,
    )
    if evaluation is not None:
        manifest["evaluation"] = dict(evaluation)
    return name, files, manifest


def write_evaluation_set(s3: Any, bucket: str, name: str, training: PriceForecastTraining) -> Any:
    """Upload the last fold's candles as the version's evaluation set; its manifest entry."""
    from learnloop.models.evaluation import write_set

    rows = len(training.evaluation["y"])
    return write_set(s3, bucket, name, training.evaluation, source="holdout", rows=rows)


def format_scores(scores: dict[str, dict[str, Any]]) -> list[str]:
    """A fixed-width table of :func:`score_forecasts`' figures."""
    lines = [
        f"{'model':<12} {'MAE ratio':>9} {'dir. acc.':>9} {'95 % interval':>16} {'80 % cover':>10}"
    ]
    for name, s in scores.items():
        ratio = "-" if s.get("mae_ratio") is None else f"{s['mae_ratio']:.4f}"
        acc = "-" if s.get("directional_accuracy") is None else f"{s['directional_accuracy']:.4f}"
        span = f"[{s['directional_low']:.3f}, {s['directional_high']:.3f}]"
        cover = "-" if s.get("coverage") is None else f"{s['coverage']:.3f}"
        lines.append(f"{name:<12} {ratio:>9} {acc:>9} {span:>16} {cover:>10}")
    return lines


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    s3: Any = None,
) -> int:
    """Run the job; 0 when every symbol was published, 1 on unusable data, 2 when an ONNX
    member disagrees with its source model.

    Parameters
    ----------
    argv : sequence of str, optional
        ``[--symbol S ...] [--interval 1d] [--data FILE] [--out DIR] [--version V]
        [--eval-rows N] [--step N] [--warmup-folds N] [--window N] [--epochs N] [--trees N]
        [--seed N] [--max-onnx-diff D] [--no-sentiment] [--min-sentiment-days N]``.
    settings, s3
        Where to read and publish (default: from the environment).
    """
    parser = argparse.ArgumentParser(
        prog="python -m training_jobs.price_forecast",
        description="Train each symbol's next-candle forecast (GBM + LSTM) and publish it.",
    )
    parser.add_argument(
        "--symbol",
        action="append",
        default=None,
        help="symbol (repeat; default: every stored series of --interval, or BTC-USD with --data)",
    )
    parser.add_argument("--interval", default="1d", help="candle interval (1d)")
    parser.add_argument(
        "--data", type=Path, default=None, help="a candle file (CSV or JSONL) instead of the store"
    )
    parser.add_argument("--out", type=Path, default=None, help="write to this folder, not S3")
    parser.add_argument("--version", default=None, help="version (default: now, UTC)")
    parser.add_argument("--eval-rows", type=int, default=365, help="candles scored (365)")
    parser.add_argument("--step", type=int, default=30, help="candles per fold (30)")
    parser.add_argument("--warmup-folds", type=int, default=3, help="calibration folds (3)")
    parser.add_argument("--window", type=int, default=20, help="LSTM sequence length (20)")
    parser.add_argument("--epochs", type=int, default=30, help="LSTM max epochs (30)")
    parser.add_argument("--trees", type=int, default=150, help="GBM trees (150)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument(
        "--no-sentiment", action="store_true", help="never use the texts' sentiment as features"
    )
    parser.add_argument(
        "--min-sentiment-days",
        type=int,
        default=MIN_SENTIMENT_DAYS,
        help=f"days with texts before sentiment is used ({MIN_SENTIMENT_DAYS})",
    )
    parser.add_argument(
        "--max-onnx-diff", type=float, default=MAX_ONNX_DIFF, help="ONNX parity tolerance"
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.data is not None and args.symbol is not None and len(args.symbol) != 1:
        parser.error("--data holds one symbol: pass exactly one --symbol")
    needs_store = args.out is None or args.data is None
    if needs_store:
        settings = settings or Settings.from_env()
    symbols = args.symbol or (["BTC-USD"] if args.data is not None else [])
    if not symbols:  # the scheduled run: every series the candle store holds at this interval
        assert settings is not None
        symbols = stored_symbols(settings, args.interval)
        if not symbols:
            print(f"no stored {args.interval} candles: nothing to train", file=sys.stderr)
            return 1
    if args.out is None and s3 is None:
        from learnloop.store.clients import s3_client

        assert settings is not None
        s3 = s3_client(settings)
    _quiet_torch()
    for symbol in symbols:
        try:
            if args.data is not None:
                candles = parse_candles_file(args.data, symbol=symbol, interval=args.interval)
                source = str(args.data)
            else:
                assert settings is not None
                candles = read_stored_candles(symbol, args.interval, settings)
                source = f"candles:{symbol}:{args.interval}"
            print(
                f"[{symbol}] {len(candles.close)} candles, {_day(candles.open_time[0])} to "
                f"{_day(candles.open_time[-1])}"
            )
            sentiment_symbol, sentiment = None, None
            # the store's texts, when this run reads the store or publishes to it
            if settings is not None and not args.no_sentiment and needs_store:
                sentiment_symbol, sentiment = read_stored_sentiment(candles, settings)
            started = time.perf_counter()
            training = train_price_forecast(
                candles,
                eval_rows=args.eval_rows,
                step=args.step,
                warmup_folds=args.warmup_folds,
                window=args.window,
                gbm=lambda: GradientBoostingMember(n_estimators=args.trees, random_state=args.seed),
                lstm=lambda: LSTMMember(max_epochs=args.epochs, random_state=args.seed),
                sentiment=sentiment,
                sentiment_symbol=sentiment_symbol,
                min_sentiment_days=args.min_sentiment_days,
            )
        except (LearnloopError, OSError) as exc:
            print(f"price_forecast: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
        except ImportError as exc:  # no candle store in this installation
            print(f"price_forecast: no candle store ({exc}); pass --data FILE", file=sys.stderr)
            return 1
        print(
            f"[{symbol}] walk-forward over {training.scored_rows} candles, "
            f"{time.perf_counter() - started:.1f} s"
        )
        for line in format_scores(training.scores):
            print(f"      {line}")
        worst = max(training.onnx_max_abs_diff.values())
        print(f"[{symbol}] ONNX vs source models: max |diff| {worst:.2e}")
        if not worst <= args.max_onnx_diff:
            print(f"ONNX differs by more than {args.max_onnx_diff}: not published", file=sys.stderr)
            return 2
        evaluation = None
        name = forecast_model_name(symbol)
        if args.out is None:
            assert settings is not None
            evaluation = write_evaluation_set(s3, settings.bucket, name, training)
        name, files, manifest = build_artifact(
            training, version=args.version, data_source=source, evaluation=evaluation
        )
        if args.out is not None:
            from learnloop.models.artifacts import write_artifact_dir

            folder = args.out / name
            written = write_artifact_dir(folder, files, manifest)
            print(f"[{symbol}] wrote {', '.join(written)} to {folder}")
            continue
        from learnloop.models.artifacts import write_artifact

        assert settings is not None
        keys = write_artifact(s3, settings.bucket, name, manifest["version"], files, manifest)
        print(f"[{symbol}] published s3://{settings.bucket}/{keys[-1]}")
    return 0


def _quiet_torch() -> None:
    """One torch thread: the job shares its machine (the scheduled task has 1 vCPU)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - the train extra always has torch
        return
    torch.set_num_threads(1)


def _day(value: Any) -> str:
    return str(np.datetime64(value, "D"))


def _iso(value: Any) -> str:
    return f"{np.datetime64(value, 's')}Z"
