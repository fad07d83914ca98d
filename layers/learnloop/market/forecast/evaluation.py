"""Walk-forward evaluation of next-candle forecasts against naive baselines (numpy only).

A forecast for row ``t`` is a predicted log return ``log(close[t + 1] / close[t])``; its price
is ``close[t] * exp(prediction)``. :func:`walk_forward_folds` cuts the rows into an expanding
window: fold ``k`` trains on every row before its test block and is scored on the block, so
every scored prediction is out of sample and made only from the past. The target of the last
training row is the close of the first test row's candle, known when that row is forecast.

The baselines (:func:`baseline_predictions`): ``persistence`` (tomorrow's close is today's: a
log return of 0), ``drift`` (the mean log return of the rows trained on) and ``always_up``
(a direction only: its point error is undefined). :func:`score_forecasts` reports, per model:
MAE of the price forecast and its ratio to persistence's on the same rows, directional
accuracy with a Wilson 95 % interval (:func:`wilson_interval`), and the share of actual log
returns inside the prediction interval (when the model has one).

Examples
--------
>>> import numpy as np
>>> [(len(tr), len(te)) for tr, te in walk_forward_folds(np.arange(10), first_test=6, step=2)]
[(6, 2), (8, 2)]
>>> wilson_interval(50, 100)
(0.403832, 0.596168)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = [
    "BASELINES",
    "Z_95",
    "baseline_predictions",
    "directional_accuracy",
    "score_forecasts",
    "walk_forward_folds",
    "wilson_interval",
]

Z_95 = 1.959963984540054
BASELINES = ("persistence", "drift", "always_up")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (rounded to 6 digits).

    Better than the normal approximation near 0 and 1 and for small ``n``.

    Examples
    --------
    >>> wilson_interval(0, 10)
    (0.0, 0.277533)
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)


def walk_forward_folds(
    rows: np.ndarray, *, first_test: int, step: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over time-ordered ``rows``: ``(train, test)`` index arrays.

    Parameters
    ----------
    rows : numpy.ndarray
        Row indices (oldest first) that have features and a known target.
    first_test : int
        Position in ``rows`` of the first test row; fold ``k`` tests
        ``rows[first_test + k * step : first_test + (k + 1) * step]`` and trains on every row
        before it.
    step : int
        Test rows per fold (the model is refit once per fold).

    Examples
    --------
    >>> folds = walk_forward_folds(np.arange(7), first_test=3, step=3)
    >>> [(tr.tolist(), te.tolist()) for tr, te in folds]
    [([0, 1, 2], [3, 4, 5]), ([0, 1, 2, 3, 4, 5], [6])]
    """
    rows = np.asarray(rows)
    if step < 1 or first_test < 1:
        raise ValueError("step and first_test must be at least 1")
    return [
        (rows[:start], rows[start : start + step]) for start in range(first_test, len(rows), step)
    ]


def baseline_predictions(y_train: np.ndarray, n_test: int) -> dict[str, np.ndarray]:
    """The naive forecasts of one fold's ``n_test`` rows (log returns): ``persistence`` 0,
    ``drift`` the training mean, ``always_up`` a tiny positive number (a direction only:
    :func:`score_forecasts` reports no point error for it).

    Examples
    --------
    >>> baseline_predictions(np.array([0.01, 0.03]), 2)["drift"].tolist()
    [0.02, 0.02]
    """
    drift = float(np.nanmean(y_train)) if len(y_train) else 0.0
    return {
        "persistence": np.zeros(n_test),
        "drift": np.full(n_test, drift),
        "always_up": np.full(n_test, 1e-12),
    }


def directional_accuracy(actual: np.ndarray, predicted: np.ndarray) -> tuple[int, int]:
    """``(hits, n)``: rows where the predicted and actual log returns are both > 0 or both
    <= 0.

    Examples
    --------
    >>> directional_accuracy(np.array([0.1, -0.1, 0.2]), np.array([0.3, 0.1, 0.0]))
    (1, 3)
    """
    up_actual, up_predicted = np.asarray(actual) > 0, np.asarray(predicted) > 0
    return int(np.sum(up_actual == up_predicted)), len(up_actual)


def score_forecasts(
    actual: np.ndarray,
    close: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    intervals: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, dict[str, float | int | None]]:
    """Each model's figures on the same rows.

    Parameters
    ----------
    actual : numpy.ndarray
        The realised log returns ``log(close[t + 1] / close[t])``.
    close : numpy.ndarray
        ``close[t]``, the price each forecast starts from.
    predictions : mapping of str to numpy.ndarray
        Predicted log returns per model; must include ``persistence`` (the MAE ratio's base).
    intervals : mapping of str to (lower, upper), optional
        Prediction intervals of log returns, per model.

    Returns
    -------
    dict
        ``{model: {"mae", "mae_log_return", "mae_ratio", "directional_accuracy",
        "directional_low", "directional_high", "coverage", "interval_width", "n"}}``;
        ``always_up`` has no MAE (it forecasts a direction), models without an interval no
        coverage.

    Examples
    --------
    >>> y = np.array([0.1, -0.1]); c = np.array([100.0, 100.0])
    >>> scores = score_forecasts(y, c, {"persistence": np.zeros(2), "m": np.array([0.1, 0.0])})
    >>> scores["m"]["mae_ratio"] < 1.0, scores["m"]["directional_accuracy"]
    (True, 1.0)
    """
    actual = np.asarray(actual, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    truth = close * np.exp(actual)
    base = float(np.mean(np.abs(truth - close))) if len(actual) else float("nan")
    result: dict[str, dict[str, float | int | None]] = {}
    for name, predicted in predictions.items():
        predicted = np.asarray(predicted, dtype=np.float64)
        hits, n = directional_accuracy(actual, predicted)
        low, high = wilson_interval(hits, n)
        entry: dict[str, float | int | None] = {"n": n}
        if name == "always_up":
            entry.update(mae=None, mae_log_return=None, mae_ratio=None)
        else:
            mae = float(np.mean(np.abs(close * np.exp(predicted) - truth))) if n else math.nan
            entry.update(
                mae=mae,
                mae_log_return=float(np.mean(np.abs(predicted - actual))) if n else math.nan,
                mae_ratio=mae / base if base > 0 else None,
            )
        entry.update(
            directional_accuracy=hits / n if n else None,
            directional_low=low,
            directional_high=high,
            coverage=None,
            interval_width=None,
        )
        if intervals and name in intervals:
            lower, upper = (np.asarray(v, dtype=np.float64) for v in intervals[name])
            inside = (actual >= lower) & (actual <= upper)
            entry["coverage"] = float(inside.mean()) if n else None
            entry["interval_width"] = float(np.mean(upper - lower)) if n else None
        result[name] = entry
    return result
