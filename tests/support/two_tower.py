"""Small two-tower artifacts built to contract C, without torch.

The towers are tiny ONNX graphs written with ``onnx.helper``: the user tower is a Gather of its
embedding table; the item tower adds an id embedding, a content-type embedding and a projected
384-wide text embedding (Gather + Gather + MatMul + Add), like the two-tower job's towers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from support.model_drops import T0

from learnloop.models.artifacts import (
    MANIFEST_FILE,
    artifact_prefix,
    build_manifest,
    new_version,
    write_artifact,
)

TEXT_DIM = 384


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any]) -> bytes:
    from onnx import helper

    graph = helper.make_graph(nodes, "tower", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def user_tower_onnx(table: np.ndarray) -> bytes:
    """``user_index`` int64 [batch] → ``user_embedding`` float32 [batch, d]."""
    from onnx import TensorProto, helper, numpy_helper

    d = table.shape[1]
    return _model(
        [helper.make_node("Gather", ["user_table", "user_index"], ["user_embedding"], axis=0)],
        [helper.make_tensor_value_info("user_index", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("user_embedding", TensorProto.FLOAT, ["batch", d])],
        [numpy_helper.from_array(table.astype(np.float32), "user_table")],
    )


def item_tower_onnx(id_table: np.ndarray, type_table: np.ndarray, projection: np.ndarray) -> bytes:
    """``item_index``, ``content_type`` (int64 [batch]) and ``text_embedding`` (float32
    [batch, 384]) → ``item_embedding`` float32 [batch, d]."""
    from onnx import TensorProto, helper, numpy_helper

    d = id_table.shape[1]
    nodes = [
        helper.make_node("Gather", ["id_table", "item_index"], ["id_part"], axis=0),
        helper.make_node("Gather", ["type_table", "content_type"], ["type_part"], axis=0),
        helper.make_node("MatMul", ["text_embedding", "projection"], ["text_part"]),
        helper.make_node("Add", ["id_part", "type_part"], ["id_type"]),
        helper.make_node("Add", ["id_type", "text_part"], ["item_embedding"]),
    ]
    return _model(
        nodes,
        [
            helper.make_tensor_value_info("item_index", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("content_type", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("text_embedding", TensorProto.FLOAT, ["batch", TEXT_DIM]),
        ],
        [helper.make_tensor_value_info("item_embedding", TensorProto.FLOAT, ["batch", d])],
        [
            numpy_helper.from_array(id_table.astype(np.float32), "id_table"),
            numpy_helper.from_array(type_table.astype(np.float32), "type_table"),
            numpy_helper.from_array(projection.astype(np.float32), "projection"),
        ],
    )


def towers_extra(dim: int) -> dict[str, Any]:
    """``extra.towers`` as the manifest records the towers' inputs and outputs."""
    return {
        "user": {
            "file": "user_tower.onnx",
            "inputs": [{"name": "user_index", "dtype": "int64", "shape": ["batch"]}],
            "outputs": [{"name": "user_embedding", "dtype": "float32", "shape": ["batch", dim]}],
        },
        "item": {
            "file": "item_tower.onnx",
            "inputs": [
                {"name": "item_index", "dtype": "int64", "shape": ["batch"]},
                {"name": "content_type", "dtype": "int64", "shape": ["batch"]},
                {"name": "text_embedding", "dtype": "float32", "shape": ["batch", TEXT_DIM]},
            ],
            "outputs": [{"name": "item_embedding", "dtype": "float32", "shape": ["batch", dim]}],
        },
    }


@dataclass
class TwoTowerData:
    """What a two-tower version holds; ``files()`` serializes it per contract C."""

    item_keys: list[str]
    item_matrix: np.ndarray
    users: list[str]
    user_matrix: np.ndarray
    popularity: list[int] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(0)
        if not self.content_types:
            self.content_types = [k.split("#", 1)[0] for k in self.item_keys]
        if not self.popularity:
            self.popularity = [0] * len(self.item_keys)
        #: The item tower: id table = the item matrix; a type table over the sorted types.
        self.type_vocab = sorted(set(self.content_types))
        self.type_table = rng.normal(size=(len(self.type_vocab), self.dim)).astype(np.float32)
        self.projection = (rng.normal(size=(TEXT_DIM, self.dim)) * 0.01).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.item_matrix.shape[1])

    def files(self) -> dict[str, bytes]:
        return {
            "user_tower.onnx": user_tower_onnx(self.user_matrix),
            "item_tower.onnx": item_tower_onnx(self.item_matrix, self.type_table, self.projection),
            "item_embeddings.npy": npy(self.item_matrix.astype(np.float32)),
            "items.json": json.dumps(
                {
                    "item_keys": self.item_keys,
                    "content_types": self.content_types,
                    "popularity": self.popularity,
                }
            ).encode(),
            "user_embeddings.npy": npy(self.user_matrix.astype(np.float32)),
            "users.json": json.dumps({"users": self.users}).encode(),
        }


def random_data(
    n_users: int = 5,
    n_items: int = 8,
    dim: int = 4,
    *,
    seed: int = 0,
    types: Sequence[str] = ("meme", "news"),
) -> TwoTowerData:
    rng = np.random.default_rng(seed)
    return TwoTowerData(
        item_keys=[f"{types[i % len(types)]}#i{i}" for i in range(n_items)],
        item_matrix=rng.normal(size=(n_items, dim)).astype(np.float32),
        users=[f"{u:064x}" for u in range(n_users)],
        user_matrix=rng.normal(size=(n_users, dim)).astype(np.float32),
        popularity=[int(p) for p in rng.integers(0, 10, n_items)],
    )


def two_tower_manifest(
    data: TwoTowerData,
    files: dict[str, bytes],
    version: str,
    metrics: dict[str, Any],
    name: str = "two_tower",
) -> dict[str, Any]:
    return build_manifest(
        name,
        version,
        files,
        [],
        metrics,
        ("2026-11-01", "2026-11-19"),
        len(data.item_keys),
        extra={
            "kind": "two_tower",
            "embedding_dim": data.dim,
            "towers": towers_extra(data.dim),
            "exports": [{"date": "2026-11-19", "manifest_sha256": "0" * 64}],
        },
        now=T0,
    )


def drop_two_tower(
    tables: Any,
    s3: Any,
    data: TwoTowerData | None = None,
    *,
    minute: int = 0,
    metrics: dict[str, Any] | None = None,
    edit: Any = None,
    name: str = "two_tower",
    evaluation: dict[str, Any] | None = None,
) -> str:
    """Write a two-tower version at ``T0 + minute``; return its manifest key.

    ``evaluation`` is the manifest's evaluation set (from :func:`write_pairs_set`).

    ``edit(manifest, files)`` may tamper with either before upload (bypassing
    :func:`write_artifact`'s checks).
    """
    data = data or random_data()
    version = new_version(T0 + timedelta(minutes=minute))
    files = data.files()
    manifest = two_tower_manifest(
        data, files, version, {"ndcg@10": 0.3} if metrics is None else metrics, name
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


def best_items(data: TwoTowerData, k: int = 2) -> list[tuple[str, str]]:
    """Each user's ``k`` items of highest dot product under ``data``: (user, item) pairs."""
    scores = data.user_matrix @ data.item_matrix.T
    return [
        (user, data.item_keys[int(i)])
        for user, row in zip(data.users, scores, strict=True)
        for i in np.argsort(-row, kind="stable")[:k]
    ]


def write_pairs_set(
    tables: Any, s3: Any, pairs: Sequence[tuple[str, str]], *, source: str = "holdout"
) -> dict[str, Any]:
    """Upload held-out (user, item) pairs as a two-tower evaluation set; its ref."""
    from learnloop.models.evaluation import write_set

    arrays = {"users": [u for u, _ in pairs], "items": [i for _, i in pairs]}
    return write_set(
        s3, tables.settings.bucket, "two_tower", arrays, source=source, rows=len(pairs)
    )
