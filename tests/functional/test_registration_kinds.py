"""Registration of multi-file artifacts (two_tower, text_encoder) against moto's server."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from support.model_drops import T0
from support.text_encoders import tiny_encoder_onnx, tiny_tokenizer_json
from support.two_tower import drop_two_tower, item_tower_onnx, npy, random_data

from learnloop.models.artifacts import build_manifest, new_version, sha256_hex, write_artifact
from learnloop.models.registration import register_model
from learnloop.models.registry import ModelRegistry, production_record


def register(tables: Any, s3: Any, key: str, **kwargs: Any) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0, **kwargs)


def rehash(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    for file, content in files.items():
        manifest["files"][file] = {"sha256": sha256_hex(content), "size": len(content)}


# --- two_tower ---------------------------------------------------------------------------------


@pytest.fixture
def first_two_tower(tables: Any, s3: Any) -> str:
    result = register(tables, s3, drop_two_tower(tables, s3, minute=0, metrics={"ndcg@10": 0.3}))
    assert (result.status, result.promoted) == ("production", True), result.reason
    return result.version


def test_a_sound_two_tower_drop_goes_to_production(
    tables: Any, s3: Any, first_two_tower: str
) -> None:
    alias = production_record(tables, "two_tower")
    assert alias is not None and alias.target == first_two_tower
    record = tables.models.get("two_tower", first_two_tower)
    assert record.manifest["extra"]["kind"] == "two_tower"
    assert len(record.manifest["files"]) == 6


def test_two_tower_promotion_compares_ndcg_at_10(
    tables: Any, s3: Any, first_two_tower: str
) -> None:
    worse = register(tables, s3, drop_two_tower(tables, s3, minute=1, metrics={"ndcg@10": 0.2}))
    assert (worse.status, worse.promoted) == ("candidate", False)
    assert "ndcg@10" in (worse.reason or "") and "worse" in (worse.reason or "")
    better = register(tables, s3, drop_two_tower(tables, s3, minute=2, metrics={"ndcg@10": 0.4}))
    assert (better.status, better.promoted) == ("production", True)
    assert production_record(tables, "two_tower").target == better.version  # type: ignore[union-attr]


def _pickled_npy(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"rce": "exec"}] * 8, dtype=object), allow_pickle=True)
    files["item_embeddings.npy"] = buffer.getvalue()
    rehash(manifest, files)  # the sha256 matches: only loading without pickle catches it


def _truncated_npy(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["user_embeddings.npy"] = files["user_embeddings.npy"][:-7]
    rehash(manifest, files)


def _short_id_map(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    users = json.loads(files["users.json"])
    files["users.json"] = json.dumps({"users": users["users"][:-1]}).encode()
    rehash(manifest, files)


def _item_map_lengths(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    items = json.loads(files["items.json"])
    items["content_types"] = items["content_types"][:-1]
    files["items.json"] = json.dumps(items).encode()
    rehash(manifest, files)


def _mismatched_dims(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["user_embeddings.npy"] = npy(np.ones((5, 3), dtype=np.float32))
    rehash(manifest, files)


def _non_finite(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    matrix = np.ones((8, 4), dtype=np.float32)
    matrix[2, 1] = np.nan
    files["item_embeddings.npy"] = npy(matrix)
    rehash(manifest, files)


def _float64(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["item_embeddings.npy"] = npy(np.ones((8, 4), dtype=np.float64))
    rehash(manifest, files)


def _wrong_sha(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["files"]["items.json"]["sha256"] = "0" * 64


def _missing_tower(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    del files["item_tower.onnx"], manifest["files"]["item_tower.onnx"]


def _corrupt_tower(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["user_tower.onnx"] = b"\x08\x07 not onnx"
    rehash(manifest, files)


def _undeclared_input(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["extra"]["towers"]["item"]["inputs"] = manifest["extra"]["towers"]["item"]["inputs"][
        :2
    ]


def _tower_width(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    rng = np.random.default_rng(1)
    files["item_tower.onnx"] = item_tower_onnx(
        rng.normal(size=(8, 6)), rng.normal(size=(2, 6)), rng.normal(size=(384, 6))
    )
    rehash(manifest, files)


def _declared_dim(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["extra"]["embedding_dim"] = 64


def _no_towers(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    del manifest["extra"]["towers"]


def _unknown_kind(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["extra"]["kind"] = "three_tower"


UNSOUND_TWO_TOWER: list[tuple[Any, str]] = [
    (_pickled_npy, "item_embeddings.npy does not load"),
    (_truncated_npy, "user_embeddings.npy does not load"),
    (_short_id_map, "user_embeddings.npy has 5 rows but users.json lists 4 ids"),
    (_item_map_lengths, "8 item_keys but 7 content_types"),
    (_mismatched_dims, "user_embeddings.npy is 3 wide"),
    (_non_finite, "item_embeddings.npy holds non-finite values"),
    (_float64, "expected 2-D float32"),
    (_wrong_sha, "sha256 mismatch: items.json"),
    (_missing_tower, "missing fields: files.item_tower.onnx"),
    (_corrupt_tower, "user_tower.onnx does not load"),
    (_undeclared_input, "the manifest declares ['content_type', 'item_index']"),
    (_tower_width, "not [batch, 4]"),
    (_declared_dim, "extra.embedding_dim is 64"),
    (_no_towers, "extra.towers is missing"),
    (_unknown_kind, "unknown model kind 'three_tower'"),
]


def test_an_unsound_two_tower_drop_is_rejected_with_the_reason(
    tables: Any, s3: Any, first_two_tower: str
) -> None:
    # One stage for every case (a fresh one per case would cost a second each).
    for minute, (edit, expected) in enumerate(UNSOUND_TWO_TOWER, start=1):
        key = drop_two_tower(tables, s3, minute=minute, metrics={"ndcg@10": 0.9}, edit=edit)
        result = register(tables, s3, key)
        assert (result.status, result.promoted) == ("rejected", False), edit.__name__
        assert expected in (result.reason or ""), (edit.__name__, result.reason)
        assert tables.models.get("two_tower", result.version).reason == result.reason
    assert production_record(tables, "two_tower").target == first_two_tower  # type: ignore[union-attr]
    assert len(ModelRegistry(tables).history("two_tower")) == 1


def test_a_two_tower_redelivery_registers_once(tables: Any, s3: Any) -> None:
    key = drop_two_tower(tables, s3, data=random_data(seed=3))
    once, again = register(tables, s3, key), register(tables, s3, key)
    assert (once.duplicate, again.duplicate, again.status) == (False, True, "production")
    assert len(ModelRegistry(tables).versions("two_tower")) == 1


# --- text_encoder ------------------------------------------------------------------------------


def drop_text_encoder(
    tables: Any,
    s3: Any,
    *,
    minute: int = 0,
    model: bytes | None = None,
    tokenizer: bytes | None = None,
    metrics: dict[str, Any] | None = None,
) -> str:
    version = new_version(T0.replace(minute=minute))
    files = {
        "model.onnx": tiny_encoder_onnx() if model is None else model,
        "tokenizer.json": tiny_tokenizer_json() if tokenizer is None else tokenizer,
    }
    manifest = build_manifest(
        "text_encoder",
        version,
        files,
        ["input_ids", "attention_mask"],
        {"cosine_min": 0.9999} if metrics is None else metrics,
        (T0, T0),
        20,
        extra={"kind": "text_encoder", "embedding_dim": 384},
        now=T0,
    )
    return write_artifact(s3, tables.settings.bucket, "text_encoder", version, files, manifest)[-1]


def test_a_sound_text_encoder_goes_to_production(tables: Any, s3: Any) -> None:
    result = register(tables, s3, drop_text_encoder(tables, s3))
    assert (result.status, result.promoted) == ("production", True)
    worse = register(
        tables, s3, drop_text_encoder(tables, s3, minute=1, metrics={"cosine_min": 0.99})
    )
    assert (worse.status, worse.promoted) == ("candidate", False)
    assert "cosine_min" in (worse.reason or "")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model": b"garbage"}, "model.onnx does not load"),
        ({"tokenizer": b"{not json"}, "tokenizer.json does not load"),
        ({"model": tiny_encoder_onnx(dim=16)}, "not [batch, 384]"),
    ],
    ids=["corrupt-model", "corrupt-tokenizer", "width"],
)
def test_an_unsound_text_encoder_is_rejected(
    tables: Any, s3: Any, change: dict[str, bytes], expected: str
) -> None:
    result = register(tables, s3, drop_text_encoder(tables, s3, **change))
    assert result.status == "rejected"
    assert expected in (result.reason or ""), result.reason
    assert production_record(tables, "text_encoder") is None


# --- sentiment ---------------------------------------------------------------------------------


def _sentiment_drop(tables: Any, s3: Any, *, minute: int, macro_f1: float, edit: Any = None) -> str:
    from datetime import timedelta

    from support.sentiment import labelled_texts, tiny_encoder

    from training_jobs.sentiment.job import build_artifact, train_sentiment

    texts, labels = labelled_texts(12)
    training = train_sentiment(texts, labels, tiny_encoder(), Cs=(1.0,), cv=3)
    training.metrics["macro_f1"] = macro_f1
    version = new_version(T0 + timedelta(minutes=minute))
    files, manifest = build_artifact(
        training, {"name": "text_encoder", "version": new_version(T0)}, version=version
    )
    if edit is not None:
        edit(manifest)
    return write_artifact(s3, tables.settings.bucket, "sentiment", version, files, manifest)[-1]


def test_sentiment_heads_are_promoted_on_macro_f1_and_checked(tables: Any, s3: Any) -> None:
    first = register(tables, s3, _sentiment_drop(tables, s3, minute=0, macro_f1=0.8))
    assert (first.status, first.promoted) == ("production", True), first.reason
    worse = register(tables, s3, _sentiment_drop(tables, s3, minute=1, macro_f1=0.7))
    assert worse.status == "candidate"
    assert "macro_f1" in (worse.reason or "")

    def two_labels(manifest: dict[str, Any]) -> None:
        manifest["extra"]["labels"] = ["negative", "positive"]

    bad = register(tables, s3, _sentiment_drop(tables, s3, minute=2, macro_f1=0.9, edit=two_labels))
    assert bad.status == "rejected" and "extra.labels" in (bad.reason or "")
    assert production_record(tables, "sentiment").target == first.version  # type: ignore[union-attr]
