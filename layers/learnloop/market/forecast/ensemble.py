"""Combining forecast members and calibrating their intervals from out-of-sample errors.

Weights (:func:`inverse_mae_weights`): each member's weight is proportional to the inverse of
its mean absolute error over the most recent out-of-sample rows, so a member that has been
worse lately counts less. Intervals (:func:`conformal_quantile`): locally weighted split
conformal prediction (Lei et al., 2018) — the nonconformity score of an out-of-sample row is
``|actual - predicted| / scale`` with ``scale`` the trailing 20-candle volatility known at the
row, and the interval is ``prediction ± q * scale`` with ``q`` the conformal quantile of recent
scores. Under exchangeable scores the interval covers with probability at least ``coverage``;
markets are not exchangeable, so coverage is measured walk-forward, not assumed.

:func:`combine_walk_forward` applies both honestly over a walk-forward: the weights and the
quantiles of fold ``k`` come only from rows of folds before ``k``. :func:`combination_for_next`
gives the same two things from every row, for the model that serves.

Examples
--------
>>> import numpy as np
>>> inverse_mae_weights({"a": np.array([0.1, 0.1]), "b": np.array([0.3, 0.3])})
{'a': 0.75, 'b': 0.25}
>>> conformal_quantile(np.arange(1.0, 11.0), 0.8)
9.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_COVERAGE",
    "ENSEMBLE",
    "MIN_SCALE",
    "Combination",
    "WalkForwardCombination",
    "combination_for_next",
    "combine_walk_forward",
    "conformal_quantile",
    "inverse_mae_weights",
]

ENSEMBLE = "ensemble"
DEFAULT_COVERAGE = 0.8
#: A floor on the interval's scale: a flat stretch (zero volatility) would give a zero width.
MIN_SCALE = 1e-4


def inverse_mae_weights(errors: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Weights proportional to ``1 / mean(|error|)``, summing to 1 (equal when no errors yet).

    Examples
    --------
    >>> inverse_mae_weights({"a": np.array([]), "b": np.array([])})
    {'a': 0.5, 'b': 0.5}
    """
    names = list(errors)
    maes = [float(np.mean(np.abs(errors[n]))) if len(errors[n]) else math.nan for n in names]
    if not names:
        return {}
    if any(not math.isfinite(m) for m in maes):
        return {n: 1.0 / len(names) for n in names}
    inverse = [1.0 / max(m, 1e-12) for m in maes]
    total = sum(inverse)
    return {n: round(v / total, 12) for n, v in zip(names, inverse, strict=True)}


def conformal_quantile(scores: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> float:
    """The split-conformal quantile: the ``ceil((n + 1) * coverage)``-th smallest score
    (inf when ``n`` is too small for that rank).

    Examples
    --------
    >>> conformal_quantile(np.array([1.0, 2.0]), 0.8)
    inf
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(scores)
    rank = math.ceil((n + 1) * coverage)
    return float(scores[rank - 1]) if 1 <= rank <= n else math.inf


@dataclass(frozen=True)
class Combination:
    """The ensemble weights and each model's interval quantile (in units of ``scale``)."""

    weights: dict[str, float]
    quantiles: dict[str, float]
    calibration_rows: int


@dataclass
class WalkForwardCombination:
    """What :func:`combine_walk_forward` produced, row-aligned with its inputs.

    Attributes
    ----------
    predictions : dict of str to numpy.ndarray
        Each member's and the ensemble's predicted log returns.
    lower, upper : dict of str to numpy.ndarray
        Each one's interval (NaN where its fold had too few earlier rows to calibrate).
    scored : numpy.ndarray of bool
        Rows whose fold had at least ``min_calibration`` earlier rows: the ones to score.
    weights : list of dict
        The ensemble weights used in each fold.
    """

    predictions: dict[str, np.ndarray]
    lower: dict[str, np.ndarray]
    upper: dict[str, np.ndarray]
    scored: np.ndarray
    weights: list[dict[str, float]] = field(default_factory=list)


def _combination(
    predictions: Mapping[str, np.ndarray],
    ensemble: np.ndarray | None,
    actual: np.ndarray,
    scale: np.ndarray,
    *,
    coverage: float,
    weight_window: int,
    calibration_window: int,
) -> Combination:
    """Weights from the last ``weight_window`` rows, quantiles from the last
    ``calibration_window`` rows of the given (earlier, out-of-sample) rows."""
    recent = slice(max(0, len(actual) - weight_window), len(actual))
    weights = inverse_mae_weights({n: p[recent] - actual[recent] for n, p in predictions.items()})
    calibrate = slice(max(0, len(actual) - calibration_window), len(actual))
    safe = np.maximum(scale[calibrate], MIN_SCALE)
    quantiles = {
        n: conformal_quantile(np.abs(actual[calibrate] - p[calibrate]) / safe, coverage)
        for n, p in predictions.items()
    }
    if ensemble is not None:
        quantiles[ENSEMBLE] = conformal_quantile(
            np.abs(actual[calibrate] - ensemble[calibrate]) / safe, coverage
        )
    return Combination(weights, quantiles, len(actual[calibrate]))


def combine_walk_forward(
    predictions: Mapping[str, np.ndarray],
    actual: np.ndarray,
    scale: np.ndarray,
    fold: np.ndarray,
    *,
    coverage: float = DEFAULT_COVERAGE,
    weight_window: int = 90,
    calibration_window: int = 365,
    min_calibration: int = 30,
) -> WalkForwardCombination:
    """Combine out-of-sample member predictions fold by fold, using only earlier folds.

    Parameters
    ----------
    predictions : mapping of str to numpy.ndarray
        Each member's out-of-sample predicted log returns, time-ordered.
    actual : numpy.ndarray
        The realised log returns.
    scale : numpy.ndarray
        The interval scale per row (trailing volatility known at the row).
    fold : numpy.ndarray of int
        The walk-forward fold of each row (non-decreasing).
    coverage : float, default 0.8
        The intervals' nominal coverage.
    weight_window, calibration_window : int
        How many of the most recent earlier rows set the weights and the quantiles.
    min_calibration : int, default 30
        Folds with fewer earlier rows are predicted but not scored (``scored`` False).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(0, 0.01, 200)
    >>> preds = {"good": y + rng.normal(0, 0.001, 200), "bad": y + rng.normal(0, 0.02, 200)}
    >>> combo = combine_walk_forward(preds, y, np.full(200, 0.01), np.arange(200) // 20)
    >>> combo.weights[-1]["good"] > 0.9, int(combo.scored.sum())
    (True, 160)
    """
    actual = np.asarray(actual, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    fold = np.asarray(fold)
    members = {n: np.asarray(p, dtype=np.float64) for n, p in predictions.items()}
    names = [*members, ENSEMBLE]
    n = len(actual)
    ensemble = np.full(n, np.nan)
    lower = {name: np.full(n, np.nan) for name in names}
    upper = {name: np.full(n, np.nan) for name in names}
    scored = np.zeros(n, dtype=bool)
    used: list[dict[str, float]] = []
    for k in np.unique(fold):
        rows = np.flatnonzero(fold == k)
        before = np.flatnonzero(fold < k)
        combo = _combination(
            {name: p[before] for name, p in members.items()},
            ensemble[before],
            actual[before],
            scale[before],
            coverage=coverage,
            weight_window=weight_window,
            calibration_window=calibration_window,
        )
        used.append(combo.weights)
        ensemble[rows] = sum(w * members[name][rows] for name, w in combo.weights.items())
        safe = np.maximum(scale[rows], MIN_SCALE)
        for name in names:
            centre = ensemble[rows] if name == ENSEMBLE else members[name][rows]
            q = combo.quantiles[name]
            if math.isfinite(q):
                lower[name][rows], upper[name][rows] = centre - q * safe, centre + q * safe
        scored[rows] = len(before) >= min_calibration
    return WalkForwardCombination(
        predictions={**members, ENSEMBLE: ensemble},
        lower=lower,
        upper=upper,
        scored=scored,
        weights=used,
    )


def combination_for_next(
    walk_forward: WalkForwardCombination,
    actual: np.ndarray,
    scale: np.ndarray,
    *,
    coverage: float = DEFAULT_COVERAGE,
    weight_window: int = 90,
    calibration_window: int = 365,
) -> Combination:
    """The weights and quantiles for forecasts after the last row, from every row of a walk-
    forward (what the served model uses).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = rng.normal(0, 0.01, 300)
    >>> combo = combine_walk_forward({"m": y * 0.0}, y, np.full(300, 0.01), np.arange(300) // 30)
    >>> next_ = combination_for_next(combo, y, np.full(300, 0.01))
    >>> next_.weights, 1.0 < next_.quantiles["ensemble"] < 1.7
    ({'m': 1.0}, True)
    """
    members = {n: p for n, p in walk_forward.predictions.items() if n != ENSEMBLE}
    return _combination(
        members,
        walk_forward.predictions[ENSEMBLE],
        np.asarray(actual, dtype=np.float64),
        np.asarray(scale, dtype=np.float64),
        coverage=coverage,
        weight_window=weight_window,
        calibration_window=calibration_window,
    )
