"""Registration of dropped model versions against moto's server: only sound, better models ship."""

from __future__ import annotations

from typing import Any

import pytest
from support.model_drops import T0, drop, rehash, ridge_onnx

from learnloop.exceptions import NotFoundError, ValidationError
from learnloop.models.artifacts import sha256_hex
from learnloop.models.registration import on_s3_event, register_model
from learnloop.models.registry import ModelRegistry, production_record
from learnloop_tools.local.s3_events import object_created_event


def register(tables: Any, s3: Any, key: str, **kwargs: Any) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0, **kwargs)


@pytest.fixture
def first(tables: Any, s3: Any) -> str:
    """A first version, registered and therefore in production."""
    key = drop(tables, s3, minute=0, metrics={"r2": 0.5})
    result = register(tables, s3, key)
    assert (result.status, result.promoted, result.duplicate) == ("production", True, False)
    return result.version


def assert_production(tables: Any, version: str) -> None:
    alias = production_record(tables, "engagement")
    assert alias is not None and alias.target == version
    assert alias.s3_prefix == f"models/engagement/{version}/"


def test_the_first_drop_is_promoted_and_serving_finds_it(tables: Any, s3: Any, first: str) -> None:
    alias = production_record(tables, "engagement")
    assert alias is not None
    onnx = s3.get_object(Bucket=tables.settings.bucket, Key=f"{alias.s3_prefix}model.onnx")
    record = tables.models.get("engagement", first)
    assert sha256_hex(onnx["Body"].read()) == record.manifest["files"]["model.onnx"]["sha256"]
    assert record.status == "production" and record.manifest_sha256
    assert ModelRegistry(tables).history("engagement")[0]["actor"] == "registration"


def test_a_better_or_equal_model_is_promoted(tables: Any, s3: Any, first: str) -> None:
    result = register(tables, s3, drop(tables, s3, minute=1, metrics={"r2": 0.5}))
    assert result.promoted and result.status == "production"
    assert_production(tables, result.version)
    assert tables.models.get("engagement", first).status == "archived"


def test_a_worse_model_stays_a_candidate_with_the_reason(tables: Any, s3: Any, first: str) -> None:
    result = register(tables, s3, drop(tables, s3, minute=1, metrics={"r2": 0.3}))
    assert (result.status, result.promoted) == ("candidate", False)
    assert "worse" in (result.reason or "") and "r2" in (result.reason or "")
    assert tables.models.get("engagement", result.version).reason == result.reason
    assert_production(tables, first)


def _corrupt_onnx(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["model.onnx"] = b"not an onnx model at all"
    rehash(manifest, files)  # the sha256 matches: only loading can catch it


def _wrong_sha(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["files"]["model.onnx"]["sha256"] = "0" * 64


def _missing_fields(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    del manifest["created_at"], manifest["metrics"]


def _no_file_hash(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    del manifest["files"]["model.onnx"]["sha256"]


def _wrong_width(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["model.onnx"] = ridge_onnx(n_features=2)
    rehash(manifest, files)


def _renamed_features(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["feature_names"] = ["quality_score", "hour", "novelty_score"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_corrupt_onnx, "does not load"),
        (_wrong_sha, "sha256 mismatch"),
        (_missing_fields, "missing fields: created_at, metrics"),
        (_no_file_hash, "files.model.onnx.sha256"),
        (_wrong_width, "does not take the manifest's 3 features"),
        (_renamed_features, "trained on features"),
    ],
    ids=["corrupt-onnx", "sha256", "fields", "file-hash", "shape", "feature-names"],
)
def test_an_unsound_drop_is_rejected_and_production_stays(
    tables: Any, s3: Any, first: str, edit: Any, expected: str
) -> None:
    key = drop(tables, s3, minute=1, metrics={"r2": 0.9}, edit=edit)
    result = register(tables, s3, key)
    assert (result.status, result.promoted) == ("rejected", False)
    assert expected in (result.reason or "")
    record = tables.models.get("engagement", result.version)
    assert (record.status, record.reason) == ("rejected", result.reason)
    assert_production(tables, first)
    assert len(ModelRegistry(tables).history("engagement")) == 1


def test_an_unsound_first_drop_leaves_no_production(tables: Any, s3: Any) -> None:
    result = register(tables, s3, drop(tables, s3, edit=_wrong_sha))
    assert result.status == "rejected"
    assert production_record(tables, "engagement") is None


def test_a_duplicated_drop_registers_once(tables: Any, s3: Any) -> None:
    key = drop(tables, s3)
    once = register(tables, s3, key)
    again = register(tables, s3, key)
    assert (once.duplicate, again.duplicate) == (False, True)
    assert (again.status, again.version) == ("production", once.version)
    registry = ModelRegistry(tables)
    assert len(registry.versions("engagement")) == 1
    assert len(registry.history("engagement")) == 1


def test_concurrent_deliveries_register_once(tables: Any, s3: Any, first: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    key = drop(tables, s3, minute=1, metrics={"r2": 0.7})
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: register(tables, s3, key), range(4)))
    assert sum(not r.duplicate for r in results) == 1
    assert {r.status for r in results} == {"production"}
    assert len(ModelRegistry(tables).history("engagement")) == 2


def test_policies(tables: Any, s3: Any, first: str) -> None:
    never = register(tables, s3, drop(tables, s3, minute=1, metrics={"r2": 0.9}), policy="never")
    assert (never.status, never.promoted) == ("candidate", False)
    worse = register(tables, s3, drop(tables, s3, minute=2, metrics={"r2": 0.1}), policy="always")
    assert (worse.status, worse.promoted) == ("production", True)
    with pytest.raises(ValidationError):
        register(tables, s3, drop(tables, s3, minute=3), policy="sometimes")


def test_the_s3_event_handler_ignores_everything_but_manifests(tables: Any, s3: Any) -> None:
    bucket = tables.settings.bucket
    key = drop(tables, s3)
    model_key = key.replace("manifest.json", "model.onnx")
    assert on_s3_event(object_created_event(bucket, model_key), tables, s3, bucket) == []
    assert on_s3_event(object_created_event("other", key), tables, s3, bucket) == []
    assert production_record(tables, "engagement") is None
    [result] = on_s3_event(object_created_event(bucket, key), tables, s3, bucket)
    assert result.promoted
    [again] = on_s3_event(object_created_event(bucket, key), tables, s3, bucket)
    assert again.duplicate


def test_a_missing_manifest_is_not_found(tables: Any, s3: Any) -> None:
    with pytest.raises(NotFoundError):
        register(tables, s3, "models/engagement/20261120T090000Z/manifest.json")
