"""Out-of-core training of the linear predictors: the path above one function's memory.

Every predictor and journal model is a ridge or an L2 logistic regression, so both can be fit
from statistics of a size fixed by the feature count, not the row count:

- :class:`StreamingRidge` keeps the row count, the means and the centred cross-products
  (``X'X``, ``X'y``) and merges chunks with Chan's pairwise update. One pass; the solve is the
  same normal equations scikit-learn's ``Ridge`` (cholesky) solves, so the coefficients agree to
  floating-point rounding (tested to 1e-9). The penalty is chosen by the same efficient
  leave-one-out error ``RidgeCV`` uses, computed in a second pass.
- :class:`StreamingLogistic` minimises scikit-learn's objective
  (``0.5·|w|² + C·Σ log-loss``, intercept unpenalised) by Newton's method, one pass over the
  chunks per iteration for the gradient and the (d+1)² Hessian. It converges to the optimum
  that ``LogisticRegression(lbfgs)`` stops near (lbfgs' own tolerance is 1e-4); tested to
  1e-4 in predicted probability.

Why this rather than the container path or ``SGDRegressor.partial_fit``: these are exact (the
same model, not an approximation whose error depends on a learning rate and epochs), memory is
O(d²) whatever the rows, and the ridge state is a few hundred floats that a resumable job can
checkpoint between invocations. Rows are first spooled to local disk (:class:`Spool`: raw
float64 files read back by ``numpy.memmap``; a Lambda has up to 10 GB of ``/tmp``, a Fargate
task 200 GB) so the logistic Newton passes re-read disk, not the tables.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(1000, 3)); y = X @ [1.0, -2.0, 0.5] + 3.0
>>> model = StreamingRidge(alpha=1e-9)
>>> for start in range(0, 1000, 128):
...     _ = model.partial_fit(X[start:start + 128], y[start:start + 128])
>>> np.round(model.solve().coef_, 6).tolist(), round(float(model.intercept_), 6)
([1.0, -2.0, 0.5], 3.0)
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
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
from learnloop.predictors.estimators import TrainedPredictor

#: Rows read into memory at a time by the streaming path.
CHUNK_ROWS = 65_536
#: At most this many rows of the hold-out (the evaluation set registration scores) and of the
#: drift reference are published; evenly spaced in time, so a rerun picks the same rows.
SAMPLE_ROWS = 100_000

Chunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
"""A re-iterable source of ``(X, y)`` chunks: each call starts a new pass."""


class StreamingRidge:
    """Ridge regression (intercept unpenalised) from merged per-chunk statistics.

    Parameters
    ----------
    alpha : float, default 1.0
        L2 penalty, as ``sklearn.linear_model.Ridge``'s.

    Attributes
    ----------
    n_rows_ : int
        Rows seen.
    coef_, intercept_ : numpy.ndarray, float
        Set by :meth:`solve`.

    Examples
    --------
    >>> import numpy as np
    >>> a = StreamingRidge(alpha=1.0).partial_fit(np.array([[0.0], [1.0]]), np.array([0.0, 1.0]))
    >>> b = StreamingRidge(alpha=1.0).partial_fit(np.array([[2.0]]), np.array([2.0]))
    >>> round(float(a.merge(b).solve().coef_[0]), 4)  # Ridge(alpha=1).fit on all three rows
    0.6667
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)
        self.n_rows_ = 0
        self._mean_x: np.ndarray | None = None
        self._mean_y = 0.0
        self._cxx: np.ndarray | None = None
        self._cxy: np.ndarray | None = None

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> StreamingRidge:
        """Add the rows of one chunk."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(y) == 0:
            return self
        chunk = StreamingRidge(self.alpha)
        chunk.n_rows_ = len(y)
        chunk._mean_x = X.mean(axis=0)
        chunk._mean_y = float(y.mean())
        centred = X - chunk._mean_x
        chunk._cxx = centred.T @ centred
        chunk._cxy = centred.T @ (y - chunk._mean_y)
        return self.merge(chunk)

    def merge(self, other: StreamingRidge) -> StreamingRidge:
        """Fold ``other``'s rows into this one (Chan et al.'s pairwise update); returns self."""
        if other.n_rows_ == 0 or other._mean_x is None:
            return self
        if self.n_rows_ == 0 or self._mean_x is None:
            self.n_rows_, self._mean_y = other.n_rows_, other._mean_y
            self._mean_x = other._mean_x.copy()
            self._cxx, self._cxy = other._cxx.copy(), other._cxy.copy()  # type: ignore[union-attr]
            return self
        n_a, n_b = self.n_rows_, other.n_rows_
        n = n_a + n_b
        dx = other._mean_x - self._mean_x
        dy = other._mean_y - self._mean_y
        weight = n_a * n_b / n
        self._cxx = self._cxx + other._cxx + weight * np.outer(dx, dx)  # type: ignore[operator]
        self._cxy = self._cxy + other._cxy + weight * dx * dy  # type: ignore[operator]
        self._mean_x = self._mean_x + dx * n_b / n
        self._mean_y = self._mean_y + dy * n_b / n
        self.n_rows_ = n
        return self

    def copy(self) -> StreamingRidge:
        """An independent copy of the statistics."""
        return StreamingRidge(self.alpha).merge(self)

    def solve(self, alpha: float | None = None) -> StreamingRidge:
        """Solve for ``coef_`` and ``intercept_`` (optionally with another penalty)."""
        if self._mean_x is None or self._cxx is None or self._cxy is None:
            raise InsufficientDataError("no rows to fit", n_rows=0, min_rows=1)
        if alpha is not None:
            self.alpha = float(alpha)
        gram = self._cxx + self.alpha * np.eye(len(self._mean_x))
        self.coef_ = np.linalg.solve(gram, self._cxy)
        self.intercept_ = float(self._mean_y - self._mean_x @ self.coef_)
        return self

    def loo_errors(self, chunks: Chunks, alphas: Sequence[float]) -> np.ndarray:
        """Mean squared leave-one-out error of each penalty on the rows ``chunks`` yields
        (the rows these statistics hold): ``RidgeCV``'s criterion, one more pass.

        With an unpenalised intercept the hat value of row i is
        ``1/n + x̃ᵢ'(X̃'X̃ + alpha·I)⁻¹x̃ᵢ`` (x̃ centred) and its LOO residual is ``rᵢ / (1 - hᵢ)``.
        """
        if self._mean_x is None or self._cxx is None or self._cxy is None:
            raise InsufficientDataError("no rows to fit", n_rows=0, min_rows=1)
        eye = np.eye(len(self._mean_x))
        inverses = [np.linalg.inv(self._cxx + a * eye) for a in alphas]
        coefs = [inv @ self._cxy for inv in inverses]
        totals = np.zeros(len(alphas))
        for X, y in chunks():
            centred = np.asarray(X, dtype=np.float64) - self._mean_x
            target = np.asarray(y, dtype=np.float64) - self._mean_y
            for k, (inv, coef) in enumerate(zip(inverses, coefs, strict=True)):
                hat = 1.0 / self.n_rows_ + np.einsum("ij,jk,ik->i", centred, inv, centred)
                totals[k] += float(np.sum(((target - centred @ coef) / (1.0 - hat)) ** 2))
        return totals / self.n_rows_

    def to_estimator(self) -> Ridge:
        """A fitted ``sklearn.linear_model.Ridge`` with these coefficients (ONNX converts it)."""
        estimator = Ridge(alpha=self.alpha)
        estimator.coef_ = np.asarray(self.coef_, dtype=np.float64)
        estimator.intercept_ = float(self.intercept_)
        estimator.n_features_in_ = len(self.coef_)
        return estimator


class StreamingLogistic:
    """L2 logistic regression fit by Newton's method, one pass over the chunks per step.

    Minimises ``0.5·|w|² + C·Σᵢ log-loss(yᵢ, xᵢ·w + b)`` (``b`` unpenalised), scikit-learn's
    ``LogisticRegression(C=C)`` objective.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 penalty.
    tol : float, default 1e-10
        Stop when the Newton decrement (``g'H⁻¹g``) is below this.
    max_iter : int, default 50
        At most this many passes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> model = StreamingLogistic(C=1.0).fit(lambda: [(X[:2], y[:2]), (X[2:], y[2:])])
    >>> model.predict_proba(np.array([[1.5]]))[0, 1].round(6)
    np.float64(0.5)
    """

    def __init__(self, C: float = 1.0, *, tol: float = 1e-10, max_iter: int = 50) -> None:
        self.C = float(C)
        self.tol = tol
        self.max_iter = max_iter

    def _pass(self, chunks: Chunks, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, int]:
        """Objective, gradient and Hessian at ``w`` (last entry: the intercept)."""
        d = len(w)
        penalty = np.ones(d)
        penalty[-1] = 0.0
        loss = 0.5 * float(np.sum(penalty * w * w))
        grad = penalty * w
        hess = np.diag(penalty)
        n = 0
        for X, y in chunks():
            X = np.asarray(X, dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
            z = X @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-z))
            # log(1 + e^z) - y z, written to stay finite for large |z|
            loss += self.C * float(np.sum(np.logaddexp(0.0, z) - y * z))
            residual = self.C * (p - y)
            grad = grad + np.append(X.T @ residual, residual.sum())
            weight = self.C * p * (1.0 - p)
            weighted = X * weight[:, None]
            hess = hess + np.block(
                [
                    [X.T @ weighted, weighted.sum(axis=0)[:, None]],
                    [weighted.sum(axis=0)[None, :], np.array([[weight.sum()]])],
                ]
            )
            n += len(y)
        return loss, grad, hess, n

    def fit(self, chunks: Chunks) -> StreamingLogistic:
        """Fit on the rows of ``chunks`` (labels 0/1); each Newton step is one pass."""
        w: np.ndarray | None = None
        for X, _ in chunks():
            w = np.zeros(np.asarray(X).shape[1] + 1)
            break
        if w is None:
            raise InsufficientDataError("no rows to fit", n_rows=0, min_rows=1)
        loss, grad, hess, n = self._pass(chunks, w)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            step = np.linalg.solve(hess, grad)
            if float(grad @ step) < self.tol:
                break
            # backtrack (halving) until the objective decreases: Newton can overshoot
            scale = 1.0
            while True:
                trial = w - scale * step
                trial_loss, trial_grad, trial_hess, _ = self._pass(chunks, trial)
                if trial_loss <= loss or scale < 1e-8:
                    break
                scale /= 2.0
            w, loss, grad, hess = trial, trial_loss, trial_grad, trial_hess
            self.n_iter_ += 1
        self.n_rows_ = n
        self.coef_ = w[:-1].copy()
        self.intercept_ = float(w[-1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)`` class probabilities, as scikit-learn's."""
        p = 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_)))
        return np.column_stack([1.0 - p, p])

    def to_estimator(self) -> LogisticRegression:
        """A fitted ``LogisticRegression`` with these coefficients (ONNX converts it)."""
        estimator = LogisticRegression(C=self.C, max_iter=1000)
        estimator.coef_ = self.coef_.reshape(1, -1).copy()
        estimator.intercept_ = np.array([self.intercept_])
        estimator.classes_ = np.array([0, 1])
        estimator.n_features_in_ = len(self.coef_)
        estimator.n_iter_ = np.array([self.n_iter_])
        return estimator


class Spool:
    """Rows on local disk: feature matrix, targets and timestamps as raw float64 files.

    Append chunks with :meth:`append`, then read them back in chunks (``numpy.memmap``), so
    memory holds one chunk whatever the row count. Use as a context manager (the directory is
    removed on exit).

    Examples
    --------
    >>> import numpy as np
    >>> with Spool(2) as spool:
    ...     spool.append(np.ones((3, 2)), np.zeros(3), np.arange(3.0))
    ...     spool.append(np.ones((2, 2)), np.ones(2), np.arange(3.0, 5.0))
    ...     [len(y) for _, y in spool.chunks(chunk_rows=4)()], spool.n_rows
    ([4, 1], 5)
    """

    def __init__(self, n_features: int, directory: str | None = None) -> None:
        self.n_features = n_features
        self._dir = tempfile.TemporaryDirectory(prefix="learnloop-spool-", dir=directory)
        root = Path(self._dir.name)
        self._paths = {k: root / f"{k}.f64" for k in ("X", "y", "stamps")}
        self._files = {k: open(p, "ab") for k, p in self._paths.items()}  # noqa: SIM115
        self.n_rows = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the files."""
        for handle in self._files.values():
            handle.close()
        self._dir.cleanup()

    def append(self, X: np.ndarray, y: np.ndarray, stamps: np.ndarray) -> None:
        """Add rows (``X`` of shape ``(n, n_features)``)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features or not len(X) == len(y) == len(stamps):
            raise ValidationError(
                f"spool of {self.n_features} features: got X {X.shape}, {len(y)} targets, "
                f"{len(stamps)} stamps",
                details=[{"field": "X", "message": "rows, targets and stamps must align"}],
            )
        self._files["X"].write(X.tobytes())
        self._files["y"].write(np.ascontiguousarray(y, dtype=np.float64).tobytes())
        self._files["stamps"].write(np.ascontiguousarray(stamps, dtype=np.float64).tobytes())
        self.n_rows += len(X)

    def _map(self, key: str) -> np.ndarray:
        self._files[key].flush()
        if self.n_rows == 0:
            return np.zeros((0, self.n_features) if key == "X" else 0)
        shape = (self.n_rows, self.n_features) if key == "X" else (self.n_rows,)
        return np.memmap(self._paths[key], dtype=np.float64, mode="r", shape=shape)

    @property
    def X(self) -> np.ndarray:
        """The feature matrix, memory-mapped."""
        return self._map("X")

    @property
    def y(self) -> np.ndarray:
        """The targets, memory-mapped."""
        return self._map("y")

    @property
    def stamps(self) -> np.ndarray:
        """The timestamps (epoch seconds), memory-mapped."""
        return self._map("stamps")

    def chunks(self, mask: np.ndarray | None = None, *, chunk_rows: int = CHUNK_ROWS) -> Chunks:
        """A re-iterable source of ``(X, y)`` chunks of the rows where ``mask`` is true."""

        def passes() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            X, y = self.X, self.y
            for start in range(0, self.n_rows, chunk_rows):
                stop = min(start + chunk_rows, self.n_rows)
                keep = slice(None) if mask is None else mask[start:stop]
                block_x, block_y = np.asarray(X[start:stop])[keep], np.asarray(y[start:stop])[keep]
                if len(block_y):
                    yield block_x, block_y

        return passes


def spool_matrix(
    X: np.ndarray, y: np.ndarray, stamps: np.ndarray, *, chunk_rows: int = CHUNK_ROWS
) -> Spool:
    """A :class:`Spool` of arrays already in memory (the journal models build theirs whole)."""
    X = np.asarray(X, dtype=np.float64)
    spool = Spool(X.shape[1], directory=os.environ.get("LEARNLOOP_SPOOL_DIR") or None)
    for start in range(0, len(X), chunk_rows):
        stop = start + chunk_rows
        spool.append(X[start:stop], np.asarray(y)[start:stop], np.asarray(stamps)[start:stop])
    return spool


def train_streaming(
    name: str,
    kind: str,
    spool: Spool,
    feature_names: Sequence[str],
    *,
    alpha: float | None = 1.0,
    alphas: Sequence[float] = (),
    C: float = 1.0,
    holdout: float = 0.2,
    min_rows: int = 50,
    ids: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    sample_rows: int = SAMPLE_ROWS,
    interval_level: float | None = None,
) -> TrainedPredictor:
    """Train a ridge (``kind="ridge"``) or logistic (``"logistic"``) predictor out of core.

    The same recipe as :func:`~learnloop.predictors.estimators.train_engagement_model`,
    :func:`~learnloop.journal.estimators.train_classifier` and
    :func:`~learnloop.journal.estimators.train_return_model`: the latest ``holdout`` share by
    time validates the twin fit on the rows before it, then the model is refit on every row.
    Metrics are computed on the whole hold-out (its predictions, one float a row, are the only
    per-row array besides the timestamps' order); the published hold-out and drift reference
    are at most ``sample_rows`` rows, evenly spaced in time (all of them below that, so then
    the artifacts equal the in-memory path's).

    Parameters
    ----------
    alpha : float or None
        Ridge penalty; None chooses it from ``alphas`` by leave-one-out on the training rows.
    interval_level : float, optional
        Ridge only: add the split-conformal ``interval_half_width`` metric at this level (the
        journal P&L model's).

    Returns
    -------
    TrainedPredictor

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(0, 1, 200).reshape(-1, 1)
    >>> with spool_matrix(X, 2 * X[:, 0], np.arange(200.0)) as spool:
    ...     model = train_streaming("m", "ridge", spool, ("x",), alpha=1e-9, chunk_rows=64)
    >>> round(float(model.estimator.coef_[0]), 6), model.n_validation
    (2.0, 40)
    """
    n = spool.n_rows
    if n < min_rows:
        raise InsufficientDataError(
            f"{name} needs at least {min_rows} rows to train, got {n}",
            n_rows=n,
            min_rows=min_rows,
            details=[{"field": "rows", "message": f"{n} < {min_rows}"}],
        )
    stamps = np.asarray(spool.stamps)
    order = np.argsort(stamps, kind="stable")
    n_val = min(n - 1, max(1, round(n * holdout)))
    train_idx, val_idx = order[:-n_val], order[-n_val:]
    in_val = np.zeros(n, dtype=bool)
    in_val[val_idx] = True
    train_chunks = spool.chunks(~in_val, chunk_rows=chunk_rows)
    y_all = np.asarray(spool.y)
    if kind == "logistic":
        y_all = (y_all > 0.5).astype(np.float64)
    y_val = y_all[val_idx]
    X_val_rows = _rows(spool, val_idx, chunk_rows)

    metrics: dict[str, float | None]
    if kind == "ridge":
        train_stats = StreamingRidge()
        for X, y in train_chunks():
            train_stats.partial_fit(X, y)
        if alpha is None:
            errors = train_stats.loo_errors(train_chunks, alphas)
            alpha = float(alphas[int(np.argmin(errors))])
        validated = train_stats.copy().solve(alpha)
        predicted = X_val_rows @ validated.coef_ + validated.intercept_
        constant = n_val < 2 or float(np.ptp(y_val)) == 0.0
        metrics = {
            "r2": None if constant else float(r2_score(y_val, predicted)),
            "mse": float(mean_squared_error(y_val, predicted)),
        }
        if interval_level is not None:
            residual = np.abs(y_val - predicted)
            rank = min(1.0, math.ceil((n_val + 1) * interval_level) / n_val)
            metrics["mae"] = float(np.mean(residual))
            metrics["interval_half_width"] = float(np.quantile(residual, rank, method="higher"))
        val_stats = StreamingRidge().partial_fit(X_val_rows, y_val)
        full = train_stats.copy().merge(val_stats).solve(alpha)
        estimator, twin = full.to_estimator(), validated.to_estimator()
    elif kind == "logistic":
        train_y = y_all[train_idx]
        if len(np.unique(train_y)) < 2:
            raise InsufficientDataError(
                f"{name} needs both classes in its training rows",
                n_rows=n,
                min_rows=min_rows,
                details=[{"field": "targets", "message": "one class only"}],
            )
        binary = _binary(train_chunks)
        twin_model = StreamingLogistic(C).fit(binary)
        probability = twin_model.predict_proba(X_val_rows)[:, 1]
        label = (probability >= 0.5).astype(np.int64)
        two_classes = len(np.unique(y_val)) > 1
        metrics = {
            "auc": float(roc_auc_score(y_val, probability)) if two_classes else None,
            "log_loss": float(log_loss(y_val, probability, labels=[0, 1])),
            "accuracy": float(accuracy_score(y_val, label)),
            "precision": float(precision_score(y_val, label, zero_division=0)),
            "recall": float(recall_score(y_val, label, zero_division=0)),
            "positive_share": float(y_all.mean()),
        }
        estimator = StreamingLogistic(C).fit(_binary(spool.chunks(chunk_rows=chunk_rows)))
        estimator, twin = estimator.to_estimator(), twin_model.to_estimator()
    else:
        raise ValidationError(
            f"kind must be 'ridge' or 'logistic', got {kind!r}",
            details=[{"field": "kind", "message": "must be 'ridge' or 'logistic'"}],
        )

    every_id = (lambda i: "") if ids is None else (lambda i: str(ids[i]))
    held = _evenly(val_idx, sample_rows)
    reference = np.sort(_evenly(np.arange(n), sample_rows))
    held_rows = X_val_rows if len(held) == n_val else _rows(spool, held, chunk_rows)
    return TrainedPredictor(
        name=name,
        estimator=estimator,
        feature_names=tuple(feature_names),
        metrics=metrics,
        n_rows=n,
        window_start=datetime.fromtimestamp(float(stamps.min()), UTC),
        window_end=datetime.fromtimestamp(float(stamps.max()), UTC),
        n_validation=n_val,
        validation_estimator=twin,
        holdout={
            "X": held_rows,
            "y": y_all[held],
            "posted_at": np.asarray(
                [datetime.fromtimestamp(float(stamps[i]), UTC).isoformat() for i in held]
            ),
            "decision_id": np.asarray([every_id(int(i)) for i in held]),
        },
        trained_through=datetime.fromtimestamp(float(stamps[train_idx].max()), UTC),
        holdout_from=datetime.fromtimestamp(float(stamps[val_idx].min()), UTC),
        reference={
            "X": _rows(spool, reference, chunk_rows),
            "decision_id": np.asarray([every_id(int(i)) for i in reference]),
        },
        training_path="streaming",
    )


def _binary(chunks: Chunks) -> Chunks:
    """The same chunks with 0/1 labels (``y > 0.5``), as the in-memory classifiers cast."""

    def passes() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for X, y in chunks():
            yield X, (y > 0.5).astype(np.float64)

    return passes


def _evenly(indices: np.ndarray, at_most: int) -> np.ndarray:
    """``indices`` when there are at most ``at_most``, else ``at_most`` of them evenly spaced."""
    if len(indices) <= at_most:
        return indices
    return indices[np.linspace(0, len(indices) - 1, at_most).round().astype(np.int64)]


def _rows(spool: Spool, indices: np.ndarray, chunk_rows: int) -> np.ndarray:
    """The feature rows at ``indices`` (in that order), read a chunk of the file at a time."""
    X = spool.X
    out = np.empty((len(indices), spool.n_features))
    by_position = np.argsort(indices, kind="stable")
    sorted_idx = indices[by_position]
    for start in range(0, spool.n_rows, chunk_rows):
        lo, hi = np.searchsorted(sorted_idx, [start, start + chunk_rows])
        if hi > lo:
            block = np.asarray(X[start : start + chunk_rows])
            out[by_position[lo:hi]] = block[sorted_idx[lo:hi] - start]
    return out


__all__ = [
    "CHUNK_ROWS",
    "SAMPLE_ROWS",
    "Chunks",
    "Spool",
    "StreamingLogistic",
    "StreamingRidge",
    "spool_matrix",
    "train_streaming",
]
