"""Drift of a price forecast: its recent candles against its training candles and its own record.

The predictors' checks, adapted to a forecast whose rows are candles:

* **Feature drift**: the PSI of every forecast feature (:func:`learnloop.drift.statistics.
  feature_psi`) between the training rows the job stored in the artifact (``reference.npz``,
  ``X``) and the feature rows of the recent candles, binned as the predictors' check bins
  (at least 20 recent rows a bin). Only the features of one candle alone
  (:data:`ALERTING_FEATURES`: its return, range, close-in-range, volume change) alert above
  the threshold: the rolling ones (20-candle volatility, RSI, distance to a moving average)
  overlap from row to row, so 90 rows hold a handful of independent values and their PSI
  exceeds 0.2 by chance alone (0.45 for ``vol_20`` on a second draw of the same process in
  the tests). Their PSI is reported, not alerted on.
* **Performance drift**: the production ensemble's MAE of the next log return on the recent
  candles whose next close is known, against the walk-forward ``mae`` in its manifest; more than
  ``mae_tolerance`` (25 %) worse alerts. Crypto volatility moves the MAE of any forecast, so
  the report also gives persistence's MAE on the same candles and the ratio: a ratio that
  holds while both MAEs rose is the market, not the model.
* **Interval coverage**: the share of recent realised log returns inside the served 80 %
  intervals; more than ``coverage_tolerance`` (0.1) below the nominal coverage alerts.

Fewer than ``min_rows`` (30) recent candles with a known next close: skipped, saying why.
numpy and onnxruntime only (the production model as serving loads it).

Examples
--------
>>> report, alerts = forecast_drift(model, manifest, reference, candles)  # doctest: +SKIP
>>> report["performance"]["mae_ratio_to_persistence"]  # doctest: +SKIP
1.012
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from learnloop.drift.statistics import feature_psi
from learnloop.exceptions import LearnloopError, ModelLoadError
from learnloop.market.forecast.features import (
    VOLATILITY_FEATURE,
    WARMUP,
    DailySentiment,
    build_features,
    sentiment_features,
    sequences,
    target_log_return,
)

__all__ = ["ALERTING_FEATURES", "forecast_checks", "forecast_drift"]

#: Features of one candle alone (no overlapping window): their PSI can alert.
ALERTING_FEATURES = ("ret_1", "range_hl", "close_in_range", "log_volume_change")
#: As the predictors' check: few rows a bin lift PSI by chance alone.
MIN_ROWS_PER_BIN = 20

Report = tuple[dict[str, Any], list[dict[str, Any]]]


def forecast_drift(
    model: Any,
    manifest: Mapping[str, Any],
    reference: Mapping[str, np.ndarray] | None,
    candles: Any,
    *,
    recent: int = 90,
    min_rows: int = 30,
    psi_threshold: float = 0.2,
    bins: int = 10,
    mae_tolerance: float = 0.25,
    coverage_tolerance: float = 0.1,
    sentiment: DailySentiment | None = None,
) -> Report:
    """Compare a production forecast's last ``recent`` candles with its training and record.

    Parameters
    ----------
    model : PriceForecastModel
        The production version (:func:`learnloop.market.forecast.serving.
        load_forecast_artifact`).
    manifest : mapping
        Its manifest (``metrics.mae``, ``extra.coverage``).
    reference : mapping of str to numpy.ndarray, optional
        The artifact's ``reference.npz`` arrays (``X``: training feature rows); without it the
        feature check is skipped.
    candles : object
        The symbol's candles (``close``, ``high``, ``low``, ``volume`` arrays, oldest first),
        at least ``recent + 51 + window`` of them for a full window.
    sentiment : mapping, optional
        The daily text sentiment of ``model.sentiment_symbol`` over the candles' days (a
        version trained with sentiment; without it such a version's check is skipped).
    recent : int, default 90
        Candles checked (daily candles: a quarter; PSI on a week of 7 rows means nothing).

    Returns
    -------
    tuple
        ``(report, alerts)``; ``report`` has ``version``, ``recent_rows``, ``features`` (PSI
        per feature), ``performance`` (``mae``, ``training_mae``, ``persistence_mae``,
        ``mae_ratio_to_persistence``, ``coverage``, ``nominal_coverage``) or ``skipped``.
    """
    close = np.asarray(candles.close, dtype=np.float64)
    columns = None
    if getattr(model, "sentiment_symbol", None) is not None:
        if sentiment is None:
            return {"version": model.version, "skipped": "no text sentiment was read"}, []
        from learnloop.market.forecast.serving import INTERVAL_SECONDS

        seconds = INTERVAL_SECONDS.get(model.interval, 86_400)
        columns = sentiment_features(candles.open_time, seconds, sentiment)
    X = build_features(close, candles.high, candles.low, candles.volume, columns)
    y = target_log_return(close)
    first = WARMUP + model.window - 1
    rows = np.flatnonzero((np.arange(len(close)) >= first) & np.isfinite(X).all(axis=1))
    rows = rows[np.isfinite(y[rows])][-recent:]
    report: dict[str, Any] = {"version": model.version, "recent_rows": len(rows)}
    if len(rows) < min_rows:
        report["skipped"] = (
            f"{len(rows)} recent candles with a known next close; a forecast drift check "
            f"needs at least {min_rows}"
        )
        return report, []
    alerts: list[dict[str, Any]] = []
    names = list(model.feature_names)
    if reference is not None and "X" in reference:
        reference_X = np.asarray(reference["X"], dtype=np.float64)
        used = max(2, min(bins, min(len(rows), len(reference_X)) // MIN_ROWS_PER_BIN))
        psi = feature_psi(reference_X, X[rows], names, bins=used)
        report["features"] = psi
        report["bins"] = used
        for feature, entry in psi.items():
            value = float(entry.get("psi", 0.0))
            if feature in ALERTING_FEATURES and value > psi_threshold:
                alerts.append(
                    _alert(model, "psi", value, psi_threshold, f"{feature} drifted", feature)
                )
    else:
        report["features"] = {"skipped": "the artifact stores no reference rows"}
    members = _predict(model, X, rows)
    ensemble = sum(model.weights[m] * members[m] for m in members)
    actual = y[rows]
    mae = float(np.mean(np.abs(ensemble - actual)))
    persistence = float(np.mean(np.abs(actual)))
    scale = np.maximum(X[rows, names.index(VOLATILITY_FEATURE)], 1e-4)
    q = model.quantiles["ensemble"]
    coverage = float(np.mean(np.abs(actual - ensemble) <= q * scale))
    nominal = float((manifest.get("extra") or {}).get("coverage", 0.8))
    training_mae = (manifest.get("metrics") or {}).get("mae")
    report["performance"] = {
        "mae": mae,
        "training_mae": training_mae,
        "persistence_mae": persistence,
        "mae_ratio_to_persistence": mae / persistence if persistence > 0 else None,
        "coverage": coverage,
        "nominal_coverage": nominal,
    }
    if isinstance(training_mae, int | float) and mae > training_mae * (1.0 + mae_tolerance):
        limit = training_mae * (1.0 + mae_tolerance)
        alerts.append(_alert(model, "mae", mae, limit, "recent MAE above its walk-forward MAE"))
    if coverage < nominal - coverage_tolerance:
        limit = nominal - coverage_tolerance
        alerts.append(_alert(model, "coverage", coverage, limit, "intervals under-cover"))
    return report, alerts


def _predict(model: Any, X: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    feeds = {
        "gbm": np.ascontiguousarray(X[rows], dtype=np.float32),
        "lstm": sequences(X, rows, model.window),
    }
    out: dict[str, np.ndarray] = {}
    for member, session in model.sessions.items():
        [values] = session.run(None, {session.get_inputs()[0].name: feeds[member]})[:1]
        out[member] = np.asarray(values, dtype=np.float64).reshape(len(rows))
    return out


def _alert(
    model: Any, metric: str, value: float, threshold: float, what: str, feature: str | None = None
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "model": model.name,
        "metric": metric,
        "value": round(value, 6),
        "threshold": round(threshold, 6),
        "message": f"{model.name} {model.version}: {what} ({metric} {value:.4g}, "
        f"threshold {threshold:.4g})",
        # The retrain request needs it: the job trains one symbol (``--symbol``).
        "symbol": model.symbol,
    }
    if feature is not None:
        alert["feature"] = feature
    return alert


def forecast_checks(tables: Any, loader: Any, now: datetime) -> list[tuple[str, Report]]:
    """:func:`forecast_drift` of every stored series' production forecast, as ``drift_check``
    runs it: ``[(model name, (report, alerts)), ...]``, a series without a production forecast
    left out.

    Reads the candle store's series list, each production version (sha256-checked, as serving
    loads it) with its ``reference.npz``, and the series' candles up to ``now``: enough for
    the features' warm-up, the LSTM window, the 50-candle EMA to forget its start, and
    ``recent`` rows.
    """
    from learnloop.market.candle_store import list_series
    from learnloop.market.candles import read_candles
    from learnloop.market.forecast.serving import (
        INTERVAL_SECONDS,
        SERVING_HISTORY,
        forecast_model_name,
        load_forecast_artifact,
    )
    from learnloop.models.artifacts import REFERENCE_FILE
    from learnloop.models.cache import ProductionRef
    from learnloop.models.evaluation import EvaluationSetError, decode_set
    from learnloop.models.registry import production_record

    out: list[tuple[str, Report]] = []
    for symbol, interval in list_series(tables):
        name = forecast_model_name(symbol)
        alias = production_record(tables, name)
        if alias is None or not alias.target:
            continue
        version = str(alias.target)
        ref = ProductionRef(
            name=name, version=version, s3_prefix=alias.s3_prefix or f"models/{name}/{version}/"
        )
        try:
            model = load_forecast_artifact(loader, ref)
            manifest, files = loader.read_artifact(ref, only=(REFERENCE_FILE,))
        except (ModelLoadError, LearnloopError) as exc:
            out.append((name, ({"version": version, "skipped": f"does not load: {exc}"}, [])))
            continue
        if model.interval != interval:
            continue  # the version forecasts another interval of this symbol
        reference: Mapping[str, np.ndarray] | None = None
        if REFERENCE_FILE in files:
            try:
                reference = decode_set(files[REFERENCE_FILE])
            except EvaluationSetError:
                reference = None
        count = WARMUP + model.window + SERVING_HISTORY + 90
        seconds = INTERVAL_SECONDS.get(interval, 86_400) * count
        candles = read_candles(
            symbol, interval, now - timedelta(seconds=seconds), now, tables=tables
        )
        daily = None
        if model.sentiment_symbol is not None and len(candles.open_time):
            from learnloop.sentiment.daily import daily_sentiment

            days = np.asarray(candles.open_time).astype("datetime64[D]")
            first, last = (d.astype(object) for d in (days[0] - 1, days[-1]))
            daily = daily_sentiment(tables, model.sentiment_symbol, first, last)
        out.append((name, forecast_drift(model, manifest, reference, candles, sentiment=daily)))
    return out
