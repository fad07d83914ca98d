"""The out-of-core training path gives the in-memory path's model, and the threshold picks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV

from learnloop.journal.estimators import train_classifier, train_return_model
from learnloop.journal.training import Dataset, _train_streaming
from learnloop.models.conversion import onnx_predict, to_onnx
from learnloop.predictors.estimators import RIDGE_ALPHAS
from learnloop.predictors.streaming import (
    Chunks,
    StreamingLogistic,
    StreamingRidge,
    spool_matrix,
    train_streaming,
)
from learnloop.predictors.training import fit_predictor
from learnloop.settings import Settings

START = datetime(2026, 11, 1, tzinfo=UTC)


def _regression(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X @ [0.02, -0.01, 0.005, 0.0] + 0.03 + 0.01 * rng.normal(size=n)


def _chunks(X: np.ndarray, y: np.ndarray, size: int) -> Chunks:
    return lambda: [(X[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]


def test_streaming_ridge_equals_ridge_whatever_the_chunking() -> None:
    X, y = _regression(2_000)
    expected = Ridge(alpha=0.5).fit(X, y)
    for size in (1, 7, 512, 5_000):
        model = StreamingRidge()
        for block_x, block_y in _chunks(X, y, size)():
            model.partial_fit(block_x, block_y)
        model.solve(0.5)
        assert np.allclose(model.coef_, expected.coef_, rtol=0, atol=1e-10)
        assert model.intercept_ == pytest.approx(expected.intercept_, abs=1e-10)
    # merging two halves is the same as one pass
    halves = StreamingRidge().partial_fit(X[:900], y[:900])
    halves.merge(StreamingRidge().partial_fit(X[900:], y[900:]))
    assert np.allclose(halves.solve(0.5).coef_, expected.coef_, atol=1e-10)


def test_leave_one_out_chooses_ridgecvs_penalty() -> None:
    # a noisy, small problem where the penalty matters, and a clean one where it must be small
    for n, noise in ((60, 0.5), (400, 0.001)):
        rng = np.random.default_rng(n)
        X = rng.normal(size=(n, 6))
        y = X @ rng.normal(size=6) * 0.1 + noise * rng.normal(size=n)
        stats = StreamingRidge().partial_fit(X, y)
        errors = stats.loo_errors(_chunks(X, y, 17), RIDGE_ALPHAS)
        chosen = RIDGE_ALPHAS[int(np.argmin(errors))]
        assert chosen == RidgeCV(alphas=RIDGE_ALPHAS).fit(X, y).alpha_


def test_streaming_logistic_reaches_scikit_learns_optimum() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3_000, 3))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.7 * rng.normal(size=3_000) > 0.2).astype(float)
    model = StreamingLogistic(C=0.7).fit(_chunks(X, y, 250))
    tight = LogisticRegression(C=0.7, tol=1e-12, max_iter=10_000).fit(X, y)
    assert np.allclose(model.coef_, tight.coef_[0], atol=1e-6)
    assert model.intercept_ == pytest.approx(tight.intercept_[0], abs=1e-6)
    # the default lbfgs (tol 1e-4) stops near it: the documented tolerance
    default = LogisticRegression(C=0.7, max_iter=1000).fit(X, y)
    assert np.abs(model.predict_proba(X) - default.predict_proba(X)).max() < 1e-3
    # the estimator it hands to ONNX predicts the same probabilities
    onnx = to_onnx(model.to_estimator(), ("a", "b", "c"))
    served = onnx_predict(onnx, X[:50])
    assert np.allclose(served, model.predict_proba(X[:50]), atol=1e-5)


def _engagement_rows(n: int) -> tuple[list[dict], list[float], list[str], list[str]]:
    rng = np.random.default_rng(7)
    types = ["educational", "factual", "entertaining", "promotional", "meme"]
    rows, targets, stamps = [], [], []
    for i in range(n):
        posted = START + timedelta(minutes=37 * i)
        quality = float(rng.uniform())
        kind = types[i % 5]
        rows.append(
            {
                "quality_score": quality,
                "content_type": kind,
                "posted_at": posted.isoformat(),
                "length": ["short", "medium", "long"][i % 3],
            }
        )
        targets.append(0.01 + 0.04 * quality + 0.01 * (kind == "educational") + rng.normal() * 0.01)
        stamps.append(posted.isoformat())
    return rows, targets, stamps, [f"d{i}" for i in range(n)]


def test_threshold_switches_the_engagement_path_and_the_model_is_the_same() -> None:
    rows, targets, stamps, ids = _engagement_rows(1_500)
    memory = fit_predictor("engagement", rows, targets, stamps, ids=ids, streaming_rows=1_500)
    stream = fit_predictor(
        "engagement", rows, targets, stamps, ids=ids, streaming_rows=1_499, chunk_rows=256
    )
    assert (memory.training_path, stream.training_path) == ("memory", "streaming")
    assert stream.estimator.alpha == memory.estimator.alpha  # same leave-one-out choice
    assert np.allclose(stream.estimator.coef_, memory.estimator.coef_, atol=1e-9)
    assert stream.estimator.intercept_ == pytest.approx(memory.estimator.intercept_, abs=1e-9)
    assert np.allclose(
        stream.validation_estimator.coef_, memory.validation_estimator.coef_, atol=1e-9
    )
    for metric, value in memory.metrics.items():
        assert stream.metrics[metric] == pytest.approx(value, rel=1e-7, abs=1e-12), metric
    # below the sample size the published hold-out and reference are the in-memory ones
    assert np.allclose(stream.holdout["X"], memory.holdout["X"])
    assert list(stream.holdout["decision_id"]) == list(memory.holdout["decision_id"])
    assert list(stream.holdout["posted_at"]) == list(memory.holdout["posted_at"])
    assert np.allclose(stream.reference["X"], memory.reference["X"])
    assert (stream.n_rows, stream.n_validation) == (memory.n_rows, memory.n_validation)
    assert stream.trained_through == memory.trained_through


def test_threshold_switches_the_follow_through_path() -> None:
    rng = np.random.default_rng(11)
    rows = [
        {
            "novelty_score": float(rng.uniform()),
            "expertise_level": float(rng.uniform()),
            "viral_score": float(rng.uniform(0, 100)),
        }
        for _ in range(1_200)
    ]
    gained = [
        float(r["novelty_score"] + 0.3 * rng.normal() > 0.5 + 0.002 * r["viral_score"])
        for r in rows
    ]
    stamps = list(range(1_200))
    memory = fit_predictor("follow_through", rows, gained, stamps, streaming_rows=5_000)
    stream = fit_predictor(
        "follow_through", rows, gained, stamps, streaming_rows=1_000, chunk_rows=100
    )
    assert (memory.training_path, stream.training_path) == ("memory", "streaming")
    X = stream.reference["X"]
    gap = np.abs(stream.estimator.predict_proba(X) - memory.estimator.predict_proba(X)).max()
    assert gap < 1e-3
    assert stream.metrics["auc"] == pytest.approx(memory.metrics["auc"], abs=1e-3)
    assert stream.metrics["accuracy"] == pytest.approx(memory.metrics["accuracy"], abs=2e-3)


def test_samples_cap_what_is_published() -> None:
    X, y = _regression(1_000)
    with spool_matrix(X, y, np.arange(1_000.0)[::-1].copy()) as spool:  # newest rows first
        model = train_streaming("m", "ridge", spool, tuple("abcd"), sample_rows=50)
    assert len(model.holdout["X"]) == 50 and len(model.reference["X"]) == 50
    assert model.n_validation == 200
    # the hold-out is the newest 200 rows: indices 0..199 here; its sample is among them
    newest = {tuple(row) for row in X[:200]}
    assert all(tuple(row) in newest for row in model.holdout["X"])


def test_journal_models_stream_to_the_same_model() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 3))
    stamps = np.arange(900.0)
    ids = [f"t{i}" for i in range(900)]
    returns = X @ [0.01, 0.0, -0.02] + 0.01 * rng.normal(size=900)
    memory, half_width = train_return_model("journal_pnl", X, returns, stamps, ("a", "b", "c"))
    stream = _train_streaming(
        "journal_pnl", Dataset(("a", "b", "c"), X, returns, stamps, ids), min_rows=50
    )
    assert np.allclose(stream.estimator.coef_, memory.estimator.coef_, atol=1e-10)
    assert stream.metrics["interval_half_width"] == pytest.approx(half_width, rel=1e-9)
    for metric in ("r2", "mse", "mae"):
        assert stream.metrics[metric] == pytest.approx(memory.metrics[metric], rel=1e-7)

    labels = (X[:, 0] + rng.normal(size=900) > 0).astype(float)
    memory = train_classifier("journal_outcome", X, labels, stamps, ("a", "b", "c"))
    stream = _train_streaming(
        "journal_outcome", Dataset(("a", "b", "c"), X, labels, stamps, ids), min_rows=50
    )
    assert stream.training_path == "streaming"
    gap = np.abs(stream.estimator.predict_proba(X) - memory.estimator.predict_proba(X)).max()
    assert gap < 1e-3
    assert stream.metrics["auc"] == pytest.approx(memory.metrics["auc"], abs=1e-3)


def test_setting_reads_the_environment() -> None:
    assert Settings.from_env({}).streaming_training_rows == 250_000
    env = {"LEARNLOOP_STREAMING_TRAINING_ROWS": "1000"}
    assert Settings.from_env(env).streaming_training_rows == 1_000
