"""Train the journal models (scikit-learn; the ``learn`` job only).

Every journal model is a single-matrix predictor as the registry knows them
(:class:`~learnloop.predictors.estimators.TrainedPredictor`): validated on the latest
``holdout`` share of its rows by time, refit on every row, published with its validation twin
so registration compares it fairly with production. Classifiers are L2 logistic regressions
(their inputs are built on comparable scales in :mod:`learnloop.journal.features`, with the
patterns' conjunctions as product features), judged by AUC; the P&L model is a ridge
regression of the return per unit of notional, judged by R², whose 90 % interval is split
conformal: the 90th percentile of the hold-out's absolute residuals, stored in the ONNX
metadata (``interval_half_width``) so serving needs no second read.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 2))
>>> y = (X[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(float)
>>> model = train_classifier("journal_outcome", X, y, np.arange(300.0), ("a", "b"))
>>> model.metrics["auc"] > 0.9, model.n_validation
(True, 60)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from learnloop.exceptions import InsufficientDataError, ValidationError

# The predictors' chronological split and artifact assembly: one recipe for every predictor.
from learnloop.predictors.estimators import (
    TrainedPredictor,
    _chronological_split,
    _trained,
)

#: The P&L interval's coverage (split conformal on the hold-out).
INTERVAL_LEVEL = 0.9
#: Where the P&L model stores its interval's half-width in the ONNX metadata.
INTERVAL_KEY = "interval_half_width"


def train_classifier(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    stamps: np.ndarray,
    feature_names: Sequence[str],
    *,
    C: float = 1.0,
    holdout: float = 0.2,
    min_rows: int = 50,
    ids: Sequence[str] | None = None,
    refit: bool = True,
) -> TrainedPredictor:
    """L2 logistic regression of a 0/1 label, validated on the latest rows.

    Parameters
    ----------
    name : str
        The model's registry name.
    X : numpy.ndarray
        Feature rows, shape ``(n, len(feature_names))``.
    y : numpy.ndarray
        0/1 labels.
    stamps : numpy.ndarray
        Each row's time (epoch seconds): orders the chronological split.
    feature_names : sequence of str
        The columns of ``X``.
    C : float, default 1.0
        Inverse L2 penalty.
    holdout : float, default 0.2
        The latest share of rows held out for validation.
    min_rows : int, default 50
        Fewer rows raise :class:`InsufficientDataError`.
    ids : sequence of str, optional
        A row id each (trade, insight or ``user@time``), kept with the hold-out and reference.
    refit : bool, default True
        Refit on every row after validation.

    Returns
    -------
    TrainedPredictor
        Metrics ``auc`` (None on a one-class hold-out), ``log_loss``, ``accuracy``,
        ``precision``, ``recall`` and ``positive_share``.

    Raises
    ------
    InsufficientDataError
        Too few rows, or training rows of one class.
    ValidationError
        Misaligned inputs or non-finite values.
    """
    X, y, stamps = _checked(name, X, y, stamps, feature_names, holdout, min_rows)
    y = (y > 0.5).astype(np.int64)
    train, val = _chronological_split(stamps, holdout)
    if len(np.unique(y[train])) < 2:
        raise InsufficientDataError(
            f"{name} needs both classes in its training rows; all {len(train)} are {y[train][0]}",
            n_rows=len(y),
            min_rows=min_rows,
            details=[{"field": "targets", "message": "one class only"}],
        )
    estimator = LogisticRegression(C=C, max_iter=2000)
    validated = clone(estimator).fit(X[train], y[train])
    probability = validated.predict_proba(X[val])[:, 1]
    label = (probability >= 0.5).astype(np.int64)
    two_classes = len(np.unique(y[val])) > 1
    metrics: dict[str, float | None] = {
        "auc": float(roc_auc_score(y[val], probability)) if two_classes else None,
        "log_loss": float(log_loss(y[val], probability, labels=[0, 1])),
        "accuracy": float(accuracy_score(y[val], label)),
        "precision": float(precision_score(y[val], label, zero_division=0)),
        "recall": float(recall_score(y[val], label, zero_division=0)),
        "positive_share": float(y.mean()),
    }
    estimator = estimator.fit(X, y) if refit else validated
    return _trained(
        name,
        estimator,
        tuple(feature_names),
        metrics,
        stamps,
        (train, val),
        validated,
        X,
        y.astype(np.float64),
        ids,
    )


def train_return_model(
    name: str,
    X: np.ndarray,
    returns: np.ndarray,
    stamps: np.ndarray,
    feature_names: Sequence[str],
    *,
    alpha: float = 1.0,
    holdout: float = 0.2,
    min_rows: int = 50,
    ids: Sequence[str] | None = None,
    level: float = INTERVAL_LEVEL,
) -> tuple[TrainedPredictor, float]:
    """Ridge regression of each trade's return (P&L / notional) and its conformal interval.

    Returns
    -------
    (TrainedPredictor, float)
        The model (metrics ``r2``, ``mse``, ``mae``, ``interval_half_width``) and the interval's
        half-width in return units: the ``level`` quantile of the hold-out's absolute
        residuals (finite-sample corrected), so ``prediction ± half_width`` covers about
        ``level`` of new trades' returns.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(0, 1, 200).reshape(-1, 1)
    >>> model, width = train_return_model("journal_pnl", X, X[:, 0] * 0.02, np.arange(200.0),
    ...                                    ("x",), alpha=1e-6)
    >>> round(model.metrics["r2"], 3), width < 1e-3
    (1.0, True)
    """
    X, y, stamps = _checked(name, X, returns, stamps, feature_names, holdout, min_rows)
    train, val = _chronological_split(stamps, holdout)
    estimator = Ridge(alpha=alpha)
    validated = clone(estimator).fit(X[train], y[train])
    residual = np.abs(y[val] - validated.predict(X[val]))
    n = len(residual)
    rank = min(1.0, math.ceil((n + 1) * level) / n)
    half_width = float(np.quantile(residual, rank, method="higher"))
    predicted = validated.predict(X[val])
    constant = n < 2 or float(np.ptp(y[val])) == 0.0
    metrics: dict[str, float | None] = {
        "r2": None if constant else float(r2_score(y[val], predicted)),
        "mse": float(mean_squared_error(y[val], predicted)),
        "mae": float(np.mean(residual)),
        "interval_half_width": half_width,
    }
    trained = _trained(
        name,
        estimator.fit(X, y),
        tuple(feature_names),
        metrics,
        stamps,
        (train, val),
        validated,
        X,
        y,
        ids,
    )
    return trained, half_width


def _checked(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    stamps: np.ndarray,
    feature_names: Sequence[str],
    holdout: float,
    min_rows: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    stamps = np.asarray(stamps, dtype=np.float64)
    if not 0.0 < holdout < 1.0:
        raise ValidationError(
            f"holdout must be in (0, 1), got {holdout!r}",
            details=[{"field": "holdout", "message": "must be in (0, 1)"}],
        )
    if X.ndim != 2 or X.shape[1] != len(feature_names) or not len(X) == len(y) == len(stamps):
        raise ValidationError(
            f"{name}: X {X.shape}, {len(y)} targets, {len(stamps)} stamps, "
            f"{len(feature_names)} feature names",
            details=[{"field": "X", "message": "rows, targets and stamps must align"}],
        )
    if len(y) < min_rows:
        raise InsufficientDataError(
            f"{name} needs at least {min_rows} rows to train, got {len(y)}",
            n_rows=len(y),
            min_rows=min_rows,
            details=[{"field": "rows", "message": f"{len(y)} < {min_rows}"}],
        )
    if not (np.isfinite(X).all() and np.isfinite(y).all() and np.isfinite(stamps).all()):
        raise ValidationError(
            f"{name}: non-finite features, targets or stamps",
            details=[{"field": "X", "message": "every value must be finite"}],
        )
    return X, y, stamps


__all__ = ["INTERVAL_KEY", "INTERVAL_LEVEL", "train_classifier", "train_return_model"]
