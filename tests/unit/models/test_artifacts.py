"""ONNX export parity, manifest hashes, and the S3 write order the registry relies on."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import onnx
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from learnloop.exceptions import NotFittedError, ValidationError
from learnloop.models.artifacts import build_manifest, new_version, write_artifact
from learnloop.models.conversion import onnx_predict, to_onnx
from learnloop.predictors.estimators import train_engagement_model, train_follow_through_model
from learnloop.predictors.features import (
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
)

VERSION = "20261120T093000Z"
RNG = np.random.default_rng(0)
TYPES = ["educational", "factual", "entertaining", "promotional", "meme"]


class FakeS3:
    """An in-memory bucket that remembers the order objects arrived in."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.order: list[str] = []
        self.content_types: dict[str, str] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str, **_: Any) -> dict:
        self.objects[(Bucket, Key)] = bytes(Body)
        self.order.append(Key)
        self.content_types[Key] = ContentType
        return {"ETag": hashlib.md5(Body).hexdigest()}


def engagement_data(n: int) -> tuple[list[dict], list[float]]:
    rows = [
        {
            "quality_score": float(RNG.random()),
            "content_type": TYPES[RNG.integers(len(TYPES))],
            "posted_hour": int(RNG.integers(24)),
            "length": ("short", "medium", "long")[RNG.integers(3)],
        }
        for _ in range(n)
    ]
    y = 0.02 + 0.05 * engagement_matrix(rows)[:, 0] + RNG.normal(0, 0.01, n)
    return rows, y.tolist()


def follow_through_data(n: int) -> tuple[list[dict], list[int]]:
    rows = [
        {
            "novelty_score": float(RNG.random()),
            "expertise_level": float(RNG.random()),
            "viral_score": float(RNG.uniform(0, 100)),
        }
        for _ in range(n)
    ]
    logit = follow_through_matrix(rows) @ np.array([2.0, -1.0, 3.0]) - 1.5
    gained = (RNG.random(n) < 1 / (1 + np.exp(-logit))).astype(int) * 2
    return rows, gained.tolist()


@pytest.fixture(scope="module")
def ridge_model():
    rows, y = engagement_data(400)
    return train_engagement_model(rows, y, list(range(400)))


@pytest.fixture(scope="module")
def logistic_model():
    rows, y = follow_through_data(400)
    return train_follow_through_model(rows, y, list(range(400)))


def test_ridge_onnx_matches_scikit_learn(ridge_model) -> None:
    model = to_onnx(ridge_model.estimator, ridge_model.feature_names)
    X = engagement_matrix(engagement_data(1000)[0])
    np.testing.assert_allclose(
        onnx_predict(model, X), ridge_model.estimator.predict(X), rtol=0, atol=1e-5
    )


def test_logistic_onnx_probabilities_match_scikit_learn(logistic_model) -> None:
    model = to_onnx(logistic_model.estimator, logistic_model.feature_names)
    X = follow_through_matrix(follow_through_data(1000)[0])
    np.testing.assert_allclose(
        onnx_predict(model, X), logistic_model.estimator.predict_proba(X), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("which", ["ridge", "logistic"])
def test_onnx_graph_loads_on_old_runtimes(which: str, ridge_model, logistic_model) -> None:
    trained = ridge_model if which == "ridge" else logistic_model
    proto = onnx.load_from_string(to_onnx(trained.estimator, trained.feature_names))
    onnx.checker.check_model(proto)
    assert proto.ir_version <= 9
    assert {o.domain: o.version for o in proto.opset_import}[""] <= 17
    assert len({o.domain for o in proto.opset_import}) == len(proto.opset_import)
    (graph_input,) = proto.graph.input
    assert graph_input.name == "features"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = graph_input.type.tensor_type.shape.dim
    assert not dims[0].HasField("dim_value")  # any batch size
    assert dims[1].dim_value == len(trained.feature_names)
    assert "ZipMap" not in {node.op_type for node in proto.graph.node}
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(metadata["feature_names"]) == list(trained.feature_names)


def test_to_onnx_checks_its_inputs() -> None:
    with pytest.raises(NotFittedError):
        to_onnx(Ridge(), ["a"])
    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ValidationError, match="2 feature names"):
        to_onnx(fitted, ["a", "b"])


def test_manifest_records_sha256_of_the_bytes() -> None:
    files = {"model.onnx": b"\x08\x08onnx bytes", "items.npy": b"\x93NUMPY"}
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    manifest = build_manifest(
        "engagement",
        VERSION,
        files,
        ENGAGEMENT_FEATURES,
        {"r2": 0.41, "mse": 1e-4},
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC)),
        1234,
        extra={"alpha": 1.0},
        now=now,
    )
    for name, content in files.items():
        assert manifest["files"][name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert manifest["files"][name]["size"] == len(content)
    assert manifest["name"] == "engagement"
    assert manifest["version"] == VERSION
    assert manifest["created_at"] == "2026-11-20T09:30:00.000000Z"
    assert manifest["feature_names"] == list(ENGAGEMENT_FEATURES)
    assert manifest["window"] == {
        "start": "2026-11-01T00:00:00.000000Z",
        "end": "2026-11-19T00:00:00.000000Z",
    }
    assert manifest["rows"] == 1234
    assert manifest["extra"] == {"alpha": 1.0}
    assert {"python", "numpy", "scikit-learn", "skl2onnx", "onnxruntime"} <= set(
        manifest["libraries"]
    )
    assert json.loads(json.dumps(manifest)) == manifest


@pytest.mark.parametrize("files", [{}, {"manifest.json": b"{}"}, {"a/b.onnx": b""}, {"x": "str"}])
def test_manifest_rejects_bad_files(files: dict) -> None:
    with pytest.raises(ValidationError):
        build_manifest("m", VERSION, files, ["a"], {}, ("a", "b"), 1)


@pytest.mark.parametrize(("name", "version"), [("Bad Name", VERSION), ("m", "2026-11-20")])
def test_manifest_rejects_bad_name_or_version(name: str, version: str) -> None:
    with pytest.raises(ValidationError):
        build_manifest(name, version, {"model.onnx": b"x"}, ["a"], {}, ("a", "b"), 1)


def test_write_artifact_writes_the_manifest_last(logistic_model) -> None:
    files = {
        "model.onnx": to_onnx(logistic_model.estimator, FOLLOW_THROUGH_FEATURES),
        "calibration.json": b"{}",
    }
    manifest = build_manifest(
        "follow_through",
        VERSION,
        files,
        FOLLOW_THROUGH_FEATURES,
        logistic_model.metrics,
        (logistic_model.window_start, logistic_model.window_end),
        logistic_model.n_rows,
    )
    s3 = FakeS3()
    written = write_artifact(s3, "bucket", "follow_through", VERSION, files, manifest)
    prefix = f"models/follow_through/{VERSION}/"
    assert written == s3.order
    assert s3.order[-1] == prefix + "manifest.json"
    assert sorted(s3.order[:-1]) == sorted(prefix + name for name in files)
    for name, content in files.items():
        stored = s3.objects[("bucket", prefix + name)]
        assert stored == content
        assert hashlib.sha256(stored).hexdigest() == manifest["files"][name]["sha256"]
    assert json.loads(s3.objects[("bucket", prefix + "manifest.json")]) == json.loads(
        json.dumps(manifest)
    )
    assert s3.content_types[prefix + "manifest.json"] == "application/json"
    assert s3.content_types[prefix + "model.onnx"] == "application/octet-stream"


def test_write_artifact_refuses_a_manifest_of_other_bytes() -> None:
    files = {"model.onnx": b"one"}
    manifest = build_manifest("engagement", VERSION, files, ["a"], {}, ("a", "b"), 1)
    s3 = FakeS3()
    with pytest.raises(ValidationError, match="manifest does not match"):
        write_artifact(s3, "bucket", "engagement", VERSION, {"model.onnx": b"two"}, manifest)
    with pytest.raises(ValidationError):
        write_artifact(s3, "bucket", "engagement", "20261120T093001Z", files, manifest)
    assert s3.order == []


def test_new_version() -> None:
    assert new_version(datetime(2026, 1, 2, 3, 4, 5)) == "20260102T030405Z"  # naive is UTC
    assert len(new_version()) == len("YYYYMMDDTHHMMSSZ")
    earlier = new_version(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    later = new_version(datetime(2026, 10, 2, 3, 4, 5, tzinfo=UTC))
    assert earlier < later
