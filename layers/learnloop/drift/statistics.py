"""Drift statistics: Population Stability Index and the predictors' scores, numpy only.

The ``drift_check`` job runs in a Lambda with the ingest and inference layers (numpy and
onnxruntime; no scipy or scikit-learn), so everything here is numpy.

PSI compares a current sample with a reference one over the same bins::

    PSI = sum_i (q_i - p_i) * ln(q_i / p_i)

where ``p_i`` and ``q_i`` are the reference and current shares of bin ``i``, each floored at
``epsilon`` so an empty bin does not make it infinite. Numeric features are binned at the
reference's quantiles (:func:`psi`), categorical ones by their levels (:func:`categorical_psi`).
The usual reading: below 0.1 no shift, 0.1-0.2 a moderate one, above 0.2 a significant one.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> reference = rng.normal(size=5000)
>>> round(psi(reference, rng.normal(size=5000)), 2) < 0.02
True
>>> psi(reference, rng.normal(loc=1.0, size=5000)) > 0.2
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from learnloop.exceptions import ValidationError

#: Share a bin is floored at, so an empty bin gives a large but finite PSI term.
EPSILON = 1e-4


def quantile_edges(reference: Sequence[float] | np.ndarray, bins: int = 10) -> np.ndarray:
    """The inner bin edges of ``bins`` equal-count bins of ``reference`` (ties merged).

    The outer bins are open (``(-inf, e_1)`` and ``[e_k, inf)``), so values outside the
    reference's range fall into the first or last bin.

    Parameters
    ----------
    reference : array-like of float
        The reference sample (the model's training window).
    bins : int, default 10
        At least 2.

    Returns
    -------
    numpy.ndarray
        Sorted, distinct edges; at most ``bins - 1`` (fewer when the sample has ties).

    Raises
    ------
    ValidationError
        When ``bins < 2`` or ``reference`` is empty or not finite.

    Examples
    --------
    >>> quantile_edges(range(100), bins=4).tolist()
    [24.75, 49.5, 74.25]
    >>> quantile_edges([0, 0, 0, 1], bins=4).tolist()
    [0.0, 0.25]
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValidationError(
            f"bins must be an integer >= 2, got {bins!r}",
            details=[{"field": "bins", "message": "must be an integer >= 2"}],
        )
    values = _finite(reference, "reference")
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def psi(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    bins: int = 10,
    epsilon: float = EPSILON,
) -> float:
    """Population Stability Index of a numeric feature, over the reference's quantile bins.

    Parameters
    ----------
    reference, current : array-like of float
        The two samples; neither may be empty.
    bins : int, default 10
        Quantile bins of ``reference`` (ties merge bins; see :func:`quantile_edges`).
    epsilon : float, default 1e-4
        Floor of each bin's share.

    Returns
    -------
    float
        >= 0; 0 when both samples fill the bins alike.

    Raises
    ------
    ValidationError
        On an empty or non-finite sample, or ``bins < 2``.

    Examples
    --------
    >>> psi([1, 2, 3, 4], [1, 2, 3, 4], bins=2)
    0.0
    >>> round(psi(range(100), range(50, 150), bins=2), 4)  # all of current in the upper bin
    4.6043
    """
    edges = quantile_edges(reference, bins)
    ref = np.searchsorted(edges, _finite(reference, "reference"), side="right")
    cur = np.searchsorted(edges, _finite(current, "current"), side="right")
    n_bins = len(edges) + 1
    return _psi_of_counts(
        np.bincount(ref, minlength=n_bins), np.bincount(cur, minlength=n_bins), epsilon
    )


def categorical_psi(
    reference: Sequence[object] | np.ndarray,
    current: Sequence[object] | np.ndarray,
    *,
    epsilon: float = EPSILON,
) -> float:
    """Population Stability Index of a categorical feature, one bin per level.

    Levels are the union of both samples' values, so a level new in ``current`` counts
    (its reference share is ``epsilon``).

    Parameters
    ----------
    reference, current : array-like
        Level labels or codes; neither may be empty.
    epsilon : float, default 1e-4
        Floor of each level's share.

    Returns
    -------
    float
        >= 0.

    Raises
    ------
    ValidationError
        On an empty sample.

    Examples
    --------
    >>> categorical_psi(["a", "b"] * 50, ["b", "a"] * 50)
    0.0
    >>> round(categorical_psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20), 4)
    0.4159
    """
    ref = np.asarray(reference)
    cur = np.asarray(current)
    for name, sample in (("reference", ref), ("current", cur)):
        if sample.size == 0:
            raise ValidationError(
                f"{name} is empty", details=[{"field": name, "message": "no values"}]
            )
    levels, codes = np.unique(np.concatenate([ref, cur]), return_inverse=True)
    codes = codes.reshape(-1)
    return _psi_of_counts(
        np.bincount(codes[: ref.size], minlength=len(levels)),
        np.bincount(codes[ref.size :], minlength=len(levels)),
        epsilon,
    )


def feature_psi(
    reference: np.ndarray,
    current: np.ndarray,
    feature_names: Sequence[str],
    *,
    categories: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
    bins: int = 10,
    epsilon: float = EPSILON,
) -> dict[str, dict[str, float | str]]:
    """PSI of every input of a model: each dummy-coded category as one, the rest numeric.

    Parameters
    ----------
    reference, current : numpy.ndarray
        Feature matrices of shape ``(n, len(feature_names))`` (training window, recent).
    feature_names : sequence of str
        The columns, in order.
    categories : mapping, optional
        Category → ``(baseline level, indicator columns)``, as
        :data:`~learnloop.predictors.features.CATEGORICAL_FEATURES`; a category whose
        columns are all present is compared by level (:func:`categorical_psi`), its columns
        not on their own.
    bins, epsilon
        As :func:`psi`.

    Returns
    -------
    dict
        Feature or category name → ``{"psi": float, "kind": "quantile" | "categorical"}``,
        in column order (a category where its first column is).

    Examples
    --------
    >>> X = np.array([[0.1, 1, 0], [0.2, 0, 1], [0.3, 0, 0], [0.4, 1, 0]] * 25, dtype=float)
    >>> groups = {"color": ("red", ("color_blue", "color_green"))}
    >>> report = feature_psi(X, X, ["size", "color_blue", "color_green"], categories=groups)
    >>> {name: (round(v["psi"], 6), v["kind"]) for name, v in report.items()}
    {'size': (0.0, 'quantile'), 'color': (0.0, 'categorical')}
    """
    names = list(feature_names)
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.ndim != 2 or cur.ndim != 2 or ref.shape[1] != len(names) or cur.shape[1] != len(names):
        raise ValidationError(
            f"feature matrices of shapes {ref.shape} and {cur.shape} for {len(names)} features",
            details=[{"field": "features", "message": "one column per feature name"}],
        )
    grouped: dict[str, tuple[str, list[int]]] = {}
    for category, (_, columns) in (categories or {}).items():
        if all(column in names for column in columns):
            indices = [names.index(column) for column in columns]
            for column in columns:
                grouped[column] = (category, indices)
    report: dict[str, dict[str, float | str]] = {}
    for j, name in enumerate(names):
        if name in grouped:
            category, indices = grouped[name]
            if category not in report:
                value = categorical_psi(
                    _levels(ref[:, indices]), _levels(cur[:, indices]), epsilon=epsilon
                )
                report[category] = {"psi": value, "kind": "categorical"}
            continue
        report[name] = {
            "psi": psi(ref[:, j], cur[:, j], bins=bins, epsilon=epsilon),
            "kind": "quantile",
        }
    return report


def r2(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> float | None:
    """The coefficient of determination, as scikit-learn's ``r2_score``; None when undefined.

    Undefined (None) with fewer than two rows or constant targets, as the trainers record it.

    Examples
    --------
    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), r2([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    (1.0, 0.0)
    >>> r2([1.0, 1.0], [1.0, 2.0]) is None
    True
    """
    y, p = _pair(y_true, y_pred)
    total = float(np.sum((y - y.mean()) ** 2)) if len(y) else 0.0
    if len(y) < 2 or total == 0.0:
        return None
    return 1.0 - float(np.sum((y - p) ** 2)) / total


def mse(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> float:
    """Mean squared error.

    Examples
    --------
    >>> mse([0.0, 1.0], [1.0, 1.0])
    0.5
    """
    y, p = _pair(y_true, y_pred)
    return float(np.mean((y - p) ** 2))


def roc_auc(
    labels: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float | None:
    """Area under the ROC curve (ties count half), as ``roc_auc_score``; None with one class.

    The Mann-Whitney statistic: the share of (positive, negative) pairs the scores order
    right, from a sort and two ``searchsorted`` calls, O(n log n).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.5, 0.5]), roc_auc([1, 1], [0.2, 0.9])
    (0.5, None)
    """
    y, s = _pair(labels, scores)
    positives = s[y > 0]
    negatives = np.sort(s[y <= 0])
    if not len(positives) or not len(negatives):
        return None
    below = np.searchsorted(negatives, positives, side="left")
    tied = np.searchsorted(negatives, positives, side="right") - below
    return float((below.sum() + 0.5 * tied.sum()) / (len(positives) * len(negatives)))


def label_mix(labels: Sequence[str], order: Sequence[str]) -> dict[str, float]:
    """The share of each label of ``order`` in ``labels`` (labels outside ``order`` ignored).

    Examples
    --------
    >>> label_mix(["up", "up", "down", "flat"], ["down", "flat", "up"])
    {'down': 0.25, 'flat': 0.25, 'up': 0.5}
    """
    counts = {label: 0 for label in order}
    for label in labels:
        if label in counts:
            counts[label] += 1
    total = sum(counts.values())
    return {label: (n / total if total else 0.0) for label, n in counts.items()}


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Total variation distance of two distributions over the same labels: half the L1
    distance, 0 (equal) to 1 (disjoint); the share of texts whose label would have to change.

    Examples
    --------
    >>> total_variation({"a": 0.5, "b": 0.5}, {"a": 0.9, "b": 0.1})
    0.4
    """
    labels = set(p) | set(q)
    return round(0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in labels), 12)


def mix_psi(p: Mapping[str, float], q: Mapping[str, float], *, epsilon: float = EPSILON) -> float:
    """PSI of two label mixes (shares floored at ``epsilon``), reference ``p``, current ``q``.

    Examples
    --------
    >>> mix_psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5})
    0.0
    """
    labels = sorted(set(p) | set(q))
    reference = np.maximum(np.array([p.get(k, 0.0) for k in labels]), epsilon)
    current = np.maximum(np.array([q.get(k, 0.0) for k in labels]), epsilon)
    return float(np.sum((current - reference) * np.log(current / reference)))


def _levels(indicators: np.ndarray) -> np.ndarray:
    """Level codes of dummy-coded rows: 0 for the baseline (no column set), else column + 1."""
    return np.where(indicators.any(axis=1), indicators.argmax(axis=1) + 1, 0)


def _psi_of_counts(reference: np.ndarray, current: np.ndarray, epsilon: float) -> float:
    p = np.clip(reference / reference.sum(), epsilon, None)
    q = np.clip(current / current.sum(), epsilon, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _finite(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValidationError(
            f"{name} must be a non-empty sample of finite numbers",
            details=[{"field": name, "message": "empty or not finite"}],
        )
    return array


def _pair(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(first, dtype=np.float64).reshape(-1)
    b = np.asarray(second, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValidationError(
            f"{a.size} targets and {b.size} predictions",
            details=[{"field": "predictions", "message": "not one per target"}],
        )
    return a, b


__all__ = [
    "EPSILON",
    "categorical_psi",
    "feature_psi",
    "label_mix",
    "mix_psi",
    "mse",
    "psi",
    "quantile_edges",
    "r2",
    "roc_auc",
    "total_variation",
]
