"""``drift_check``: each production predictor's recent inputs and accuracy against its training.

For each production predictor (``engagement``: ridge, ``follow_through``: logistic) the job
reads the version the registry's production alias names and its manifest (features, training
window, validation metrics), then compares the *recent window* (outcomes collected in the last
``settings.drift_window_days`` days, 7 by default) with the *reference*: the rows of the
model's training window (posted between the manifest's ``window.start`` and ``window.end``,
as of its ``created_at``). Rows are the same content ⨝ outcomes join training uses, read
through day partitions (never a Scan), and become features through the same builders.

* **Feature drift**: the Population Stability Index of every input
  (:func:`learnloop.drift.statistics.feature_psi`: ``drift_bins`` (10) quantile bins of the
  reference for numeric inputs, fewer when there are under 20 rows a bin
  (:data:`MIN_ROWS_PER_BIN`); one bin per level for the dummy-coded content type, length and
  time slot). PSI above ``drift_psi_threshold`` (0.2) alerts, except for the inputs the
  product's own policy sets (``drift_policy_features``: the hour and slot the timing bandit
  picks), which are reported with ``"policy": true`` and never alert.
* **Performance drift**: the production ONNX model, loaded as serving loads it (sha256
  checked against the manifest, onnxruntime), scores the recent rows; its key metric (R² for
  engagement, AUC for follow-through; MSE is reported too) more than ``drift_r2_tolerance``
  (0.1) or ``drift_auc_tolerance`` (0.05) below the manifest's validation metric alerts.
* Fewer than ``drift_min_rows`` (50) recent rows: the model is skipped and the result says why.

The two-tower recommender (recall@10 of its rankings on the recent likes vs its validation)
and the sentiment head (its predicted label mix on recent texts vs its training mix) are
checked too, by :mod:`learnloop.drift.served`; the journal models
(:mod:`learnloop.journal.training`) like the predictors, on the rows of their recent window. What
the job then *does* about the alerts
(retrain, or request a retrain) is :mod:`learnloop.drift.actions`.

The recent window can overlap the training window (``learn`` retrains every 4 hours); each
model's report counts the ``overlap_rows`` so a reader knows how much of the check is
in-sample.

The result is written to the ledger as ``drift_check#latest`` (what ``GET /v1/admin/alerts``
reads) and ``drift_check#{YYYY-MM-DD}`` (history, one item per day). Both writes are
conditional on not replacing a later check, so re-running for the same ``now`` writes the
identical items and a backfill never moves ``latest`` back in time. Each alert is logged
(warning) and counted as the Powertools metric ``DriftAlert`` (dimensions ``model``, ``metric``).

Runs with the ingest and inference layers (numpy, onnxruntime): no scikit-learn or scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pynamodb.exceptions import PutError

from learnloop.clock import as_utc, iso
from learnloop.drift.ledger import JOB, LATEST_KEY, day_key
from learnloop.drift.served import (
    SENTIMENT,
    TWO_TOWER,
    recent_reactions,
    sentiment_drift,
    two_tower_drift,
)
from learnloop.drift.statistics import feature_psi, mse, r2, roc_auc
from learnloop.exceptions import ModelLoadError, StoreError
from learnloop.journal.features import CATEGORICAL_FEATURES as JOURNAL_CATEGORIES
from learnloop.journal.features import JOURNAL_MODELS
from learnloop.models.artifacts import REFERENCE_FILE
from learnloop.models.cache import MODEL_FILE, ProductionRef, S3ArtifactLoader, load_model
from learnloop.models.evaluation import EvaluationSetError, decode_set
from learnloop.models.registry import production_record
from learnloop.observability import logger
from learnloop.predictors.features import (
    CATEGORICAL_FEATURES,
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
)
from learnloop.predictors.training import (
    JoinedRow,
    engagement_data,
    follow_through_data,
    joined_rows,
)
from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables

#: Numeric inputs get at most one quantile bin per this many rows of the smaller sample: with
#: few rows, chance alone lifts PSI (its expectation is about (bins - 1) * (1/n + 1/m)), so
#: 50 recent rows are binned in 2, 200 or more in ``drift_bins`` (10).
MIN_ROWS_PER_BIN = 20
#: Metric values in the result are rounded to this many decimals (comparisons use the exact ones).
_DECIMALS = 6

Dataset = tuple[list[dict[str, Any]], list[float], list[str]]


@dataclass(frozen=True)
class _Predictor:
    """What the drift check needs to know of one predictor."""

    features: tuple[str, ...]
    data: Callable[[list[JoinedRow]], Dataset]
    matrix: Callable[[Sequence[Mapping[str, Any]]], np.ndarray]
    score: Callable[[np.ndarray, np.ndarray], dict[str, float | None]]
    key_metric: str
    tolerance: Callable[[Settings], float]


def _regression_scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    return {"r2": r2(y, predicted), "mse": mse(y, predicted)}


def _classification_scores(y: np.ndarray, probability: np.ndarray) -> dict[str, float | None]:
    return {"auc": roc_auc(y, probability), "positive_share": float(np.mean(y))}


#: Model name → how to check it; the names of the ``learn`` job's predictors.
PREDICTORS: dict[str, _Predictor] = {
    "engagement": _Predictor(
        features=ENGAGEMENT_FEATURES,
        data=engagement_data,
        matrix=engagement_matrix,
        score=_regression_scores,
        key_metric="r2",
        tolerance=lambda s: s.drift_r2_tolerance,
    ),
    "follow_through": _Predictor(
        features=FOLLOW_THROUGH_FEATURES,
        data=follow_through_data,
        matrix=follow_through_matrix,
        score=_classification_scores,
        key_metric="auc",
        tolerance=lambda s: s.drift_auc_tolerance,
    ),
}


#: Every model the check covers, in report order: the predictors, then the served models,
#: then the journal models (:mod:`learnloop.journal.training`).
MODELS: tuple[str, ...] = (*PREDICTORS, TWO_TOWER, SENTIMENT, *JOURNAL_MODELS)


@dataclass
class DriftResult:
    """What one ``drift_check`` run found.

    Attributes
    ----------
    checked_at : str
        The run's logical time (ISO 8601, UTC).
    window : dict
        The recent window: ``start``, ``end`` (ISO 8601) and ``days``.
    models : dict
        Model name → its report: ``version``, ``recent_rows``, ``reference_rows``,
        ``overlap_rows``, ``features`` (name → ``psi``, ``kind``), ``performance``
        (``metric``, ``recent``, ``validation``, ``tolerance``, ...); or ``skipped`` with why.
    alerts : list of dict
        ``{"model", "feature", "metric", "value", "threshold", "message"}`` each; ``feature``
        is None for a performance alert.
    recorded : list of str
        The ledger keys written (``drift_check#latest`` is left out when a later check
        already holds it).
    """

    checked_at: str
    window: dict[str, Any]
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)

    def ledger_value(self) -> dict[str, Any]:
        """The ledger item's ``value``: ``checked_at``, ``window``, ``models``, ``alerts``."""
        return {
            "checked_at": self.checked_at,
            "window": self.window,
            "models": self.models,
            "alerts": self.alerts,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"job": "drift_check", **ledger_value(), "recorded": [...]}``."""
        return {"job": JOB, **self.ledger_value(), "recorded": list(self.recorded)}


def drift_check(
    tables: Tables,
    now: datetime,
    *,
    s3: Any | None = None,
    window_days: int | None = None,
    models: Sequence[str] | None = None,
    forecasts: bool | None = None,
    record: bool = True,
) -> DriftResult:
    """Compare each production predictor's recent window with its training window.

    Parameters
    ----------
    tables : Tables
        The stage's tables; thresholds and windows come from ``tables.settings``.
    now : datetime
        The run's logical time; the recent window ends here.
    s3 : boto3 S3 client, optional
        Reads the production ONNX and manifest; defaults to the stage's client.
    window_days : int, optional
        The recent window; defaults to ``settings.drift_window_days``.
    models : sequence of str, optional
        Names of :data:`MODELS` to check (default: all).
    forecasts : bool, optional
        Check the price forecasts too (default: when ``models`` is None).
    record : bool, default True
        Write the result to the ledger and log its alerts (a resumable run checks model by
        model and records the whole once, :func:`record_result`).

    Returns
    -------
    DriftResult
        Also written to the ledger (``drift_check#latest`` and ``drift_check#{date}``).

    Examples
    --------
    >>> result = drift_check(tables, datetime(2026, 11, 21, 1, 30, tzinfo=UTC))  # doctest: +SKIP
    >>> result.to_dict()["alerts"]  # doctest: +SKIP
    [{'model': 'engagement', 'feature': 'quality_score', 'metric': 'psi', 'value': 0.41...,
      'threshold': 0.2, 'message': 'engagement 20261120T230000Z: quality_score drifted ...'}]
    """

    settings = tables.settings
    now = as_utc(now)
    days = window_days if window_days is not None else settings.drift_window_days
    start = now - timedelta(days=days)
    if s3 is None:
        s3 = s3_client(settings)
    recent = [
        row
        for row in joined_rows(tables, now, window=timedelta(days=days))
        if row.outcome["collected_at"] > iso(start)
    ]
    result = DriftResult(
        checked_at=iso(now), window={"start": iso(start), "end": iso(now), "days": days}
    )
    loader = S3ArtifactLoader(tables, s3)
    check = _Check(tables, loader, recent, days)
    reactions: list[Any] | None = None
    for name in models if models is not None else MODELS:
        if name in JOURNAL_MODELS:
            report, alerts = check.journal_model(name, now)
        elif name in PREDICTORS:
            report, alerts = check.model(name, PREDICTORS[name])
        else:
            if reactions is None:  # read once, for both served models
                reactions = recent_reactions(tables, now, days)
            if name == TWO_TOWER:
                report, alerts = two_tower_drift(
                    tables, loader, now, days=days, reactions=reactions
                )
            else:
                report, alerts = sentiment_drift(
                    tables,
                    loader,
                    now,
                    days=days,
                    contents=[row.content for row in recent],
                    reactions=reactions,
                )
        result.models[name] = report
        result.alerts.extend(alerts)
    if forecasts if forecasts is not None else models is None:
        # every stored series' production price forecast
        from learnloop.drift.forecast import forecast_checks

        for name, (report, alerts) in forecast_checks(tables, loader, now):
            result.models[name] = report
            result.alerts.extend(alerts)
    if record:
        record_result(tables, result)
    logger.info(
        "drift check finished",
        extra={
            "checked_at": result.checked_at,
            "alerts": len(result.alerts),
            "models": {n: r.get("skipped", "checked") for n, r in result.models.items()},
        },
    )
    return result


def record_result(tables: Tables, result: DriftResult) -> None:
    """Write ``result`` to the ledger (``result.recorded``) and log each alert."""
    result.recorded = _record(tables, result)
    for alert in result.alerts:
        _emit(alert)


class _Check:
    """One run's shared reads: the recent rows, and each training window's rows once."""

    def __init__(self, tables: Tables, loader: Any, recent: list[JoinedRow], days: int) -> None:
        self.tables = tables
        self.settings = tables.settings
        self.loader = loader
        self.recent = recent
        self.days = days
        self._references: dict[tuple[str, str, str], list[JoinedRow]] = {}
        self._journal: dict[str, Any] | None = None

    def journal_model(
        self, name: str, now: datetime
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A journal model checked like a predictor: its ``reference.npz`` against the rows
        of the recent window (:func:`learnloop.journal.training.recent_datasets`)."""
        from learnloop.journal.training import KEY_METRICS, recent_datasets

        loaded = self._production(name)
        if isinstance(loaded, dict):
            return loaded, []
        version, manifest, model, files = loaded
        if self._journal is None:  # one read of the journal events for every journal model
            self._journal = recent_datasets(self.tables, now, days=self.days)
        data = self._journal[name]
        if tuple(manifest.get("feature_names") or ()) != data.features:
            return {"version": version, "skipped": "the model takes other features"}, []
        report: dict[str, Any] = {"version": version, "recent_rows": len(data)}
        if len(data) < self.settings.drift_min_rows:
            report["skipped"] = (
                f"{len(data)} rows in the last {self.days} days; "
                f"a drift check needs at least {self.settings.drift_min_rows}"
            )
            return report, []
        metric = KEY_METRICS[name][0]
        predictor = _Predictor(
            features=data.features,
            data=lambda rows: ([], [], []),
            matrix=lambda rows: np.zeros((0, len(data.features))),
            score=_regression_scores if metric == "r2" else _classification_scores,
            key_metric=metric,
            tolerance=(lambda s: s.drift_r2_tolerance)
            if metric == "r2"
            else (lambda s: s.drift_auc_tolerance),
        )
        alerts: list[dict[str, Any]] = []
        report["features"] = self._features(
            name,
            version,
            predictor,
            manifest,
            files.get(REFERENCE_FILE),
            data.X,
            report,
            alerts,
            recent_ids=set(data.ids),
        )
        report["performance"] = self._performance(
            name, version, predictor, manifest, model, data.X, data.y, alerts
        )
        return report, alerts

    def model(
        self, name: str, predictor: _Predictor
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        loaded = self._production(name)
        if isinstance(loaded, dict):
            return loaded, []
        version, manifest, model, files = loaded
        features = tuple(manifest.get("feature_names") or ())
        if features != predictor.features:
            return {
                "version": version,
                "skipped": f"the model takes features {list(features)}; "
                f"this code builds {list(predictor.features)}",
            }, []
        rows, targets, _ = predictor.data(self.recent)
        report: dict[str, Any] = {"version": version, "recent_rows": len(rows)}
        minimum = self.settings.drift_min_rows
        if len(rows) < minimum:
            report["skipped"] = (
                f"{len(rows)} rows in the last {self.days} days; "
                f"a drift check needs at least {minimum}"
            )
            return report, []
        X = predictor.matrix(rows)
        alerts: list[dict[str, Any]] = []
        report["features"] = self._features(
            name, version, predictor, manifest, files.get(REFERENCE_FILE), X, report, alerts
        )
        report["performance"] = self._performance(
            name, version, predictor, manifest, model, X, np.asarray(targets), alerts
        )
        return report, alerts

    def _production(
        self, name: str
    ) -> tuple[str, dict[str, Any], Any, dict[str, bytes]] | dict[str, Any]:
        """``name``'s production version, manifest, loaded ONNX model and files (the model and
        its stored reference rows); a ``skipped`` report when there is none or it does not load."""
        alias = production_record(self.tables, name)
        if alias is None or not alias.target:
            return {"skipped": f"{name} has no production version"}
        version = str(alias.target)
        ref = ProductionRef(
            name=name, version=version, s3_prefix=alias.s3_prefix or f"models/{name}/{version}/"
        )
        try:
            manifest, files = self.loader.read_artifact(ref, only=(MODEL_FILE,))
            model = load_model(name, version, files[MODEL_FILE])
            if REFERENCE_FILE in (manifest.get("files") or {}):
                files.update(self.loader.read_artifact(ref, only=(REFERENCE_FILE,))[1])
        except ModelLoadError as exc:
            logger.warning("drift check: production model does not load", extra={"model": name})
            return {"version": version, "skipped": f"the production model does not load: {exc}"}
        return version, dict(manifest), model, dict(files)

    def _features(
        self,
        name: str,
        version: str,
        predictor: _Predictor,
        manifest: Mapping[str, Any],
        stored: bytes | None,
        X: np.ndarray,
        report: dict[str, Any],
        alerts: list[dict[str, Any]],
        recent_ids: set[str] | None = None,
    ) -> dict[str, Any]:
        if recent_ids is None:
            recent_ids = {row.content["decision_id"] for row in self.recent}
        arrays = _stored_reference(stored, len(predictor.features))
        if arrays is not None:
            # The trainer stored its rows' inputs: no second read of the training window, and
            # the reference outlives the tables' retention.
            reference_X = np.asarray(arrays["X"], dtype=np.float64)
            ids = arrays.get("decision_id", np.asarray([], dtype=str))
            report["overlap_rows"] = int(sum(str(i) in recent_ids for i in ids))
            report["reference"] = REFERENCE_FILE
        else:
            reference = self._reference(manifest)
            report["overlap_rows"] = sum(
                row.content["decision_id"] in recent_ids for row in reference
            )
            reference_X = predictor.matrix(predictor.data(reference)[0])
            report["reference"] = "training window"
        report["reference_rows"] = len(reference_X)
        window = manifest.get("window") or {}
        if len(reference_X) < self.settings.drift_min_rows:
            return {
                "skipped": f"{len(reference_X)} rows of the training window "
                f"({window.get('start')} to {window.get('end')}) can be read; a drift check "
                f"needs at least {self.settings.drift_min_rows}"
            }
        threshold = self.settings.drift_psi_threshold
        bins = max(
            2, min(self.settings.drift_bins, min(len(reference_X), len(X)) // MIN_ROWS_PER_BIN)
        )
        report["bins"] = bins
        found = feature_psi(
            reference_X,
            X,
            predictor.features,
            categories={**CATEGORICAL_FEATURES, **JOURNAL_CATEGORIES},
            bins=bins,
        )
        out: dict[str, Any] = {}
        for feature, info in found.items():
            value = float(info["psi"])
            out[feature] = {"psi": round(value, _DECIMALS), "kind": info["kind"]}
            if feature in self.settings.drift_policy_features:
                out[feature]["policy"] = True
                continue
            if value > threshold:
                alerts.append(
                    {
                        "model": name,
                        "feature": feature,
                        "metric": "psi",
                        "value": round(value, _DECIMALS),
                        "threshold": threshold,
                        "message": f"{name} {version}: {feature} drifted, PSI {value:.3f} > "
                        f"{threshold:g} (last {self.days} days vs the training window)",
                    }
                )
        return out

    def _performance(
        self,
        name: str,
        version: str,
        predictor: _Predictor,
        manifest: Mapping[str, Any],
        model: Any,
        X: np.ndarray,
        y: np.ndarray,
        alerts: list[dict[str, Any]],
    ) -> dict[str, Any]:
        predicted = model.predict(X)
        if model.is_classifier:
            predicted = predicted[:, -1]
        scores = predictor.score(y.astype(np.float64), predicted.astype(np.float64))
        metric = predictor.key_metric
        recent = scores[metric]
        validation = (manifest.get("metrics") or {}).get(metric)
        tolerance = predictor.tolerance(self.settings)
        out: dict[str, Any] = {
            "metric": metric,
            "recent": _rounded(recent),
            "validation": _rounded(validation),
            "tolerance": tolerance,
            **{f"recent_{k}": _rounded(v) for k, v in scores.items() if k != metric},
        }
        if recent is None or validation is None:
            which = "the recent rows" if recent is None else "the manifest"
            out["not_compared"] = f"{metric} is undefined on {which}"
            return out
        floor = float(validation) - tolerance
        if recent < floor:
            alerts.append(
                {
                    "model": name,
                    "feature": None,
                    "metric": metric,
                    "value": round(recent, _DECIMALS),
                    "threshold": round(floor, _DECIMALS),
                    "message": f"{name} {version}: {metric} {recent:.3f} on the last {self.days} "
                    f"days ({len(y)} rows) vs {float(validation):.3f} at validation, more than "
                    f"{tolerance:g} lower",
                }
            )
        return out

    def _reference(self, manifest: Mapping[str, Any]) -> list[JoinedRow]:
        """The rows of a manifest's training window, as the trainer saw them (read once)."""
        window = manifest.get("window") or {}
        created, first, last = manifest.get("created_at"), window.get("start"), window.get("end")
        if not (created and first and last):
            return []
        key = (str(created), str(first), str(last))
        if key not in self._references:
            as_of, start, end = (_parse(v) for v in key)
            rows = joined_rows(self.tables, as_of, window=max(as_of - start, timedelta(0)))
            self._references[key] = [
                row
                for row in rows
                if row.content.get("posted_at") and start <= _parse(row.content["posted_at"]) <= end
            ]
        return self._references[key]


def _stored_reference(stored: bytes | None, width: int) -> dict[str, np.ndarray] | None:
    """The arrays of an artifact's ``reference.npz``; None (read the window instead) when it is
    absent or unusable."""
    if stored is None:
        return None
    try:
        arrays = decode_set(stored)
    except EvaluationSetError:
        logger.warning("drift check: reference.npz does not load; reading the training window")
        return None
    X = arrays.get("X")
    if X is None or X.ndim != 2 or X.shape[1] != width:
        return None
    return arrays


def _record(tables: Tables, result: DriftResult) -> list[str]:
    """Write the dated and the latest ledger item, each unless a later check holds it."""
    ledger = tables.ledger
    value = result.ledger_value()
    written = []
    for key in (day_key(result.checked_at[:10]), LATEST_KEY):
        entry = ledger(key, created_at=result.checked_at, value=value)
        try:
            entry.save(
                condition=ledger.key.does_not_exist() | (ledger.created_at <= result.checked_at)
            )
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise StoreError(
                f"could not record the drift check: {exc.cause_response_message}"
            ) from exc
        written.append(key)
    return written


def _emit(alert: Mapping[str, Any]) -> None:
    """One warning log line and one ``DriftAlert`` metric (EMF, flushed at once) per alert."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    logger.warning("drift alert", extra={"alert": dict(alert)})
    if is_metrics_disabled():
        return  # single_metric prints its EMF line even where Metrics is switched off (local)
    with single_metric(
        name="DriftAlert", unit=MetricUnit.Count, value=1, namespace="learnloop"
    ) as metric:
        metric.add_dimension(name="model", value=str(alert["model"]))
        metric.add_dimension(name="metric", value=str(alert["metric"]))


def _parse(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DECIMALS)


__all__ = ["JOB", "MIN_ROWS_PER_BIN", "MODELS", "PREDICTORS", "DriftResult", "drift_check"]
