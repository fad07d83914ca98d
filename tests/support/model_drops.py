"""Drop real (small) model versions in a stage's bucket, as the learn job publishes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from learnloop.models.artifacts import (
    MANIFEST_FILE,
    MODEL_FILE,
    VALIDATION_FILE,
    artifact_prefix,
    build_manifest,
    new_version,
    sha256_hex,
    write_artifact,
)
from learnloop.models.conversion import to_onnx
from learnloop.models.evaluation import write_set

FEATURES = ["quality_score", "novelty_score", "hour"]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def ridge_onnx(n_features: int = len(FEATURES), names: list[str] | None = None) -> bytes:
    """A fitted Ridge regressor on ``n_features`` columns, as ONNX."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, n_features)).astype(np.float32)
    estimator = Ridge().fit(X, X.sum(axis=1))
    return to_onnx(estimator, names or [f"f{i}" for i in range(n_features)])


def linear_onnx(coef: list[float], intercept: float = 0.0) -> bytes:
    """A linear regressor with exactly these coefficients over :data:`FEATURES`, as ONNX."""
    from sklearn.linear_model import Ridge

    estimator = Ridge().fit(np.eye(len(coef)), np.arange(len(coef), dtype=float))
    estimator.coef_ = np.asarray(coef, dtype=np.float64)
    estimator.intercept_ = float(intercept)
    return to_onnx(estimator, FEATURES)


def holdout_set(
    tables: Any,
    s3: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    name: str = "engagement",
    start: datetime | None = None,
    feature_names: list[str] | None = None,
) -> dict[str, Any]:
    """Upload hold-out rows (posted hourly from ``start``) as an evaluation set; its ref."""
    start = start or T0
    posted = [(start + timedelta(hours=i)).isoformat() for i in range(len(y))]
    arrays = {
        "X": np.asarray(X, dtype=np.float64),
        "y": np.asarray(y, dtype=np.float64),
        "posted_at": posted,
        "decision_id": [f"d{i}" for i in range(len(y))],
        "feature_names": feature_names or FEATURES,
    }
    return write_set(s3, tables.settings.bucket, name, arrays, source="holdout", rows=len(y))


def drop(
    tables: Any,
    s3: Any,
    *,
    name: str = "engagement",
    minute: int = 0,
    metrics: dict[str, Any] | None = None,
    model: bytes | None = None,
    feature_names: list[str] | None = None,
    edit: Any = None,
    twin: bytes | None = None,
    evaluation: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Write a version at ``T0 + minute`` and return its manifest key.

    ``twin`` is its ``validation.onnx``, ``evaluation`` the manifest's evaluation set (from
    :func:`holdout_set`), ``extra`` the manifest's ``extra``. ``edit(manifest, files)`` may
    tamper with either before they are uploaded (the manifest is then written as is,
    bypassing :func:`write_artifact`'s own checks).
    """
    version = new_version(T0 + timedelta(minutes=minute))
    names = FEATURES if feature_names is None else feature_names
    files = {MODEL_FILE: ridge_onnx(names=FEATURES) if model is None else model}
    if twin is not None:
        files[VALIDATION_FILE] = twin
    manifest = build_manifest(
        name,
        version,
        files,
        names,
        {"r2": 0.5} if metrics is None else metrics,
        ("2026-11-01", "2026-11-19"),
        40,
        extra=extra,
        now=T0,
    )
    if evaluation is not None:
        manifest["evaluation"] = evaluation
    bucket = tables.settings.bucket
    if edit is None:
        return write_artifact(s3, bucket, name, version, files, manifest)[-1]
    edit(manifest, files)
    prefix = artifact_prefix(name, version)
    for file, content in files.items():
        s3.put_object(Bucket=bucket, Key=prefix + file, Body=content)
    s3.put_object(Bucket=bucket, Key=prefix + MANIFEST_FILE, Body=json.dumps(manifest).encode())
    return prefix + MANIFEST_FILE


def rehash(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    """Make the manifest's sha256 values match ``files`` again (after tampering with bytes)."""
    for file, content in files.items():
        manifest["files"][file] = {"sha256": sha256_hex(content), "size": len(content)}
