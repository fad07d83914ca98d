"""Train the engagement (ridge) and follow-through (logistic) predictors on joined rows.

Both trainers validate on the latest ``holdout`` share of the rows by timestamp (the model is
judged on the future it will face, not on a shuffled past), report the metrics the registry
compares, and by default refit on every row afterwards so the published model has seen the most
recent data. Features come from :mod:`learnloop.predictors.features`, the same code
serving uses. Runs in the scheduled ``learn`` job, so scikit-learn is imported here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.metrics import (
    accuracy_score,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from learnloop.exceptions import InsufficientDataError, ValidationError
from learnloop.predictors.features import (
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
)

ENGAGEMENT_MODEL = "engagement"
FOLLOW_THROUGH_MODEL = "follow_through"

Timestamp = datetime | str | float
#: Ridge penalties the engagement model chooses from (efficient leave-one-out, RidgeCV).
#: Engagement rates are hundredths: a fixed alpha of 1.0 shrank real effects by a third.
RIDGE_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-4, 2, 13))


@dataclass(frozen=True)
class TrainedPredictor:
    """A fitted estimator with what its manifest records.

    Attributes
    ----------
    name : str
        Model name, the ``{name}`` of ``models/{name}/{version}/``.
    estimator : Any
        The fitted scikit-learn estimator.
    feature_names : tuple[str, ...]
        Its input columns, in order.
    metrics : dict[str, float or None]
        Validation metrics; None where a metric is undefined (e.g. AUC on one class).
    n_rows : int
        Rows trained and validated on.
    window_start, window_end : datetime
        Earliest and latest row timestamp (UTC).
    n_validation : int
        Rows in the chronological hold-out.
    validation_estimator : Any
        The same recipe fit on the rows before the hold-out: the model ``metrics`` describe
        (published as ``validation.onnx``, the twin registration compares).
    holdout : dict of str to numpy.ndarray
        The hold-out rows: ``X``, ``y``, ``posted_at`` (ISO) and ``decision_id`` (empty
        strings when unknown), the evaluation set the publisher writes.
    trained_through, holdout_from : datetime or None
        The newest row the twin trained on and the oldest held-out row.
    reference : dict of str to numpy.ndarray
        Every row the published model trained on: ``X`` and ``decision_id``, the drift check's
        reference distribution.
    training_path : str
        ``"memory"`` (scikit-learn on the whole matrix) or ``"streaming"``
        (:mod:`learnloop.predictors.streaming`, above ``settings.streaming_training_rows``).
    """

    name: str
    estimator: Any
    feature_names: tuple[str, ...]
    metrics: dict[str, float | None]
    n_rows: int
    window_start: datetime
    window_end: datetime
    n_validation: int = field(default=0)
    validation_estimator: Any = field(default=None, repr=False)
    holdout: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    trained_through: datetime | None = None
    holdout_from: datetime | None = None
    reference: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    training_path: str = "memory"


def train_engagement_model(
    rows: Sequence[Mapping[str, Any]],
    targets: Sequence[float],
    timestamps: Sequence[Timestamp],
    *,
    alpha: float | None = None,
    holdout: float = 0.2,
    min_rows: int = 50,
    refit: bool = True,
    ids: Sequence[str] | None = None,
) -> TrainedPredictor:
    """Ridge regression of engagement rate on :data:`ENGAGEMENT_FEATURES`.

    Parameters
    ----------
    rows : sequence of mapping
        Content rows, as :func:`~learnloop.predictors.features.engagement_matrix`
        takes them.
    targets : sequence of float
        The engagement rate each row earned.
    timestamps : sequence of datetime, ISO-8601 str or epoch seconds
        When each row was posted; orders the chronological split.
    alpha : float, optional
        Ridge's L2 penalty. By default it is chosen from :data:`RIDGE_ALPHAS` by efficient
        leave-one-out cross-validation (``RidgeCV``) on the rows before the hold-out, so the
        hold-out never tunes it; the refit uses the same penalty.
    holdout : float, default 0.2
        In (0, 1): the latest share of rows, by timestamp, held out for validation.
    min_rows : int, default 50
        Fewer rows than this raise :class:`InsufficientDataError`.
    refit : bool, default True
        Refit on all rows after validation; False returns the model the metrics describe.
    ids : sequence of str, optional
        The decision id of each row, kept with the hold-out rows.

    Returns
    -------
    TrainedPredictor
        Named ``"engagement"``, with metrics ``r2`` and ``mse`` (``r2`` is None when the
        hold-out targets are constant).

    Raises
    ------
    InsufficientDataError
        With fewer than ``min_rows`` rows.
    ValidationError
        On misaligned inputs, a bad feature row, target or timestamp.

    Examples
    --------
    >>> rows = [{"quality_score": q / 100, "content_type": "factual", "posted_hour": q % 24,
    ...          "length": "short"} for q in range(100)]
    >>> targets = [0.01 + 0.05 * r["quality_score"] for r in rows]
    >>> model = train_engagement_model(rows, targets, list(range(100)), alpha=1e-6)
    >>> model.name, model.n_rows, model.n_validation, round(model.metrics["r2"], 3)
    ('engagement', 100, 20, 1.0)
    """
    y, stamps = _prepare(
        rows, targets, timestamps, holdout=holdout, min_rows=min_rows, model=ENGAGEMENT_MODEL
    )
    X = engagement_matrix(rows).astype(np.float64)
    train, val = _chronological_split(stamps, holdout)

    if alpha is None:
        alpha = float(RidgeCV(alphas=RIDGE_ALPHAS).fit(X[train], y[train]).alpha_)
    estimator = Ridge(alpha=alpha)
    validated = clone(estimator).fit(X[train], y[train])
    predicted = validated.predict(X[val])
    constant = len(val) < 2 or float(np.ptp(y[val])) == 0.0
    metrics: dict[str, float | None] = {
        "r2": None if constant else float(r2_score(y[val], predicted)),
        "mse": float(mean_squared_error(y[val], predicted)),
    }
    estimator = estimator.fit(X, y) if refit else validated
    return _trained(
        ENGAGEMENT_MODEL,
        estimator,
        ENGAGEMENT_FEATURES,
        metrics,
        stamps,
        (train, val),
        validated,
        X,
        y,
        ids,
    )


def train_follow_through_model(
    rows: Sequence[Mapping[str, Any]],
    targets: Sequence[float],
    timestamps: Sequence[Timestamp],
    *,
    C: float = 1.0,
    holdout: float = 0.2,
    min_rows: int = 50,
    refit: bool = True,
    ids: Sequence[str] | None = None,
) -> TrainedPredictor:
    """Logistic regression of follow-through (``followers_gained > 0``).

    Parameters
    ----------
    rows : sequence of mapping
        Rows with ``novelty_score``, ``expertise_level`` and ``viral_score``, as
        :func:`~learnloop.predictors.features.follow_through_matrix` takes them.
    targets : sequence of float
        The followers each row gained; the label is ``targets > 0``.
    timestamps : sequence of datetime, ISO-8601 str or epoch seconds
        When each row was posted; orders the chronological split.
    C : float, default 1.0
        Inverse L2 penalty of the logistic regression.
    holdout : float, default 0.2
        In (0, 1): the latest share of rows held out for validation.
    min_rows : int, default 50
        Fewer rows than this raise :class:`InsufficientDataError`.
    refit : bool, default True
        Refit on all rows after validation.
    ids : sequence of str, optional
        The decision id of each row, kept with the hold-out rows.

    Returns
    -------
    TrainedPredictor
        Named ``"follow_through"``, with metrics ``accuracy``, ``precision``, ``recall`` and
        ``auc`` on the hold-out (precision and recall are 0 when undefined; ``auc`` is None
        when the hold-out has a single class).

    Raises
    ------
    InsufficientDataError
        With fewer than ``min_rows`` rows, or when the training rows hold only one class.
    ValidationError
        On misaligned inputs, a bad feature row, target or timestamp.

    Examples
    --------
    >>> rows = [{"novelty_score": (i % 10) / 10, "expertise_level": 0.5, "viral_score": i % 100}
    ...         for i in range(200)]
    >>> gained = [3 if r["novelty_score"] > 0.45 else 0 for r in rows]
    >>> model = train_follow_through_model(rows, gained, list(range(200)), C=100.0)
    >>> model.name, model.metrics["accuracy"] == 1.0, model.feature_names[-1]
    ('follow_through', True, 'viral_score_scaled')
    """
    values, stamps = _prepare(
        rows, targets, timestamps, holdout=holdout, min_rows=min_rows, model=FOLLOW_THROUGH_MODEL
    )
    y = (values > 0).astype(np.int64)
    X = follow_through_matrix(rows).astype(np.float64)
    train, val = _chronological_split(stamps, holdout)
    if len(np.unique(y[train])) < 2:
        only = "followers gained" if y[train][0] else "no followers gained"
        raise InsufficientDataError(
            f"follow-through model needs both outcomes in its training rows; all "
            f"{len(train)} have {only}",
            n_rows=len(y),
            min_rows=min_rows,
            details=[{"field": "targets", "message": f"every training row has {only}"}],
        )

    estimator = LogisticRegression(C=C, max_iter=1000)
    validated = clone(estimator).fit(X[train], y[train])
    probability = validated.predict_proba(X[val])[:, 1]
    label = (probability >= 0.5).astype(np.int64)
    metrics: dict[str, float | None] = {
        "accuracy": float(accuracy_score(y[val], label)),
        "precision": float(precision_score(y[val], label, zero_division=0)),
        "recall": float(recall_score(y[val], label, zero_division=0)),
        "auc": float(roc_auc_score(y[val], probability)) if len(np.unique(y[val])) > 1 else None,
    }
    estimator = estimator.fit(X, y) if refit else validated
    return _trained(
        FOLLOW_THROUGH_MODEL,
        estimator,
        FOLLOW_THROUGH_FEATURES,
        metrics,
        stamps,
        (train, val),
        validated,
        X,
        y.astype(np.float64),
        ids,
    )


def _prepare(
    rows: Sequence[Mapping[str, Any]],
    targets: Sequence[float],
    timestamps: Sequence[Timestamp],
    *,
    holdout: float,
    min_rows: int,
    model: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets and epoch-second timestamps, after checking sizes, parameters and values."""
    if not (isinstance(holdout, float | int) and 0.0 < holdout < 1.0):
        raise ValidationError(
            f"holdout must be in (0, 1), got {holdout!r}",
            details=[{"field": "holdout", "message": "must be in (0, 1)"}],
        )
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
        raise ValidationError(
            f"min_rows must be an integer >= 2, got {min_rows!r}",
            details=[{"field": "min_rows", "message": "must be an integer >= 2"}],
        )
    if not len(rows) == len(targets) == len(timestamps):
        raise ValidationError(
            f"{len(rows)} rows, {len(targets)} targets and {len(timestamps)} timestamps",
            details=[
                {"field": "targets", "message": "rows, targets and timestamps differ in length"}
            ],
        )
    if len(rows) < min_rows:
        raise InsufficientDataError(
            f"{model.replace('_', '-')} model needs at least {min_rows} rows to train, "
            f"got {len(rows)}",
            n_rows=len(rows),
            min_rows=min_rows,
            details=[{"field": "rows", "message": f"{len(rows)} < {min_rows}"}],
        )
    details: list[dict[str, Any]] = []
    y = np.zeros(len(targets), dtype=np.float64)
    for i, value in enumerate(targets):
        if _is_finite_number(value):
            y[i] = float(value)
        else:
            details.append({"field": f"targets[{i}]", "index": i, "message": "not a number"})
    stamps = np.zeros(len(timestamps), dtype=np.float64)
    for i, stamp in enumerate(timestamps):
        seconds = _epoch_seconds(stamp)
        if seconds is None:
            details.append(
                {"field": f"timestamps[{i}]", "index": i, "message": f"not a timestamp: {stamp!r}"}
            )
        else:
            stamps[i] = seconds
    if details:
        raise ValidationError(
            f"invalid targets or timestamps, first: {details[0]['field']}", details=details[:20]
        )
    return y, stamps


def _chronological_split(stamps: np.ndarray, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the earlier rows (training) and the latest ``holdout`` share (validation)."""
    order = np.argsort(stamps, kind="stable")
    n_val = min(len(order) - 1, max(1, round(len(order) * holdout)))
    return order[:-n_val], order[-n_val:]


def _trained(
    name: str,
    estimator: Any,
    feature_names: tuple[str, ...],
    metrics: dict[str, float | None],
    stamps: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    validated: Any,
    X: np.ndarray,
    y: np.ndarray,
    ids: Sequence[str] | None,
) -> TrainedPredictor:
    train, val = split
    if ids is not None and len(ids) != len(stamps):
        raise ValidationError(
            f"{len(ids)} ids for {len(stamps)} rows",
            details=[{"field": "ids", "message": "one decision id per row"}],
        )
    every_id = np.asarray(["" if ids is None else str(ids[i]) for i in range(len(stamps))])
    decision_ids = every_id[val]
    posted_at = np.asarray([datetime.fromtimestamp(float(stamps[i]), UTC).isoformat() for i in val])
    return TrainedPredictor(
        name=name,
        estimator=estimator,
        feature_names=tuple(feature_names),
        metrics=metrics,
        n_rows=len(stamps),
        window_start=datetime.fromtimestamp(float(stamps.min()), UTC),
        window_end=datetime.fromtimestamp(float(stamps.max()), UTC),
        n_validation=len(val),
        validation_estimator=validated,
        holdout={"X": X[val], "y": y[val], "posted_at": posted_at, "decision_id": decision_ids},
        trained_through=datetime.fromtimestamp(float(stamps[train].max()), UTC),
        holdout_from=datetime.fromtimestamp(float(stamps[val].min()), UTC),
        reference={"X": X, "decision_id": every_id},
    )


def _is_finite_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real | Decimal)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def _epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch of a datetime (naive = UTC), ISO-8601 string or number."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value) if _is_finite_number(value) else None
