"""Drop real (small) model versions in a stage's bucket, as the learn job publishes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from learnloop.models.artifacts import (
    MANIFEST_FILE,
    MODEL_FILE,
    artifact_prefix,
    build_manifest,
    new_version,
    sha256_hex,
    write_artifact,
)
from learnloop.models.conversion import to_onnx

FEATURES = ["quality_score", "novelty_score", "hour"]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def ridge_onnx(n_features: int = len(FEATURES), names: list[str] | None = None) -> bytes:
    """A fitted Ridge regressor on ``n_features`` columns, as ONNX."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, n_features)).astype(np.float32)
    estimator = Ridge().fit(X, X.sum(axis=1))
    return to_onnx(estimator, names or [f"f{i}" for i in range(n_features)])


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
) -> str:
    """Write a version at ``T0 + minute`` and return its manifest key.

    ``edit(manifest, files)`` may tamper with either before they are uploaded (the manifest is
    then written as is, bypassing :func:`write_artifact`'s own checks).
    """
    version = new_version(T0 + timedelta(minutes=minute))
    names = FEATURES if feature_names is None else feature_names
    files = {MODEL_FILE: ridge_onnx(names=FEATURES) if model is None else model}
    manifest = build_manifest(
        name,
        version,
        files,
        names,
        {"r2": 0.5} if metrics is None else metrics,
        ("2026-11-01", "2026-11-19"),
        40,
        now=T0,
    )
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
