"""The towers of a fitted :class:`TwoTowerRecommender` as ONNX that onnxruntime >= 1.16 loads.

Graph inputs follow one convention for the serving side: ``user_index`` is a row of
``users.json`` and ``item_index`` a row of ``items.json``, ``-1`` for a user or item the model
has not seen (its id slot is the unknown one); ``content_type`` indexes the manifest's
``extra.towers.content_types`` (``-1`` unknown); ``history`` is a 0/1 row over ``items.json``
(the items the user liked), averaged inside the graph.

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 5}") for u in range(8) for j in range(2)]
>>> from training_jobs.two_tower.estimator import TwoTowerRecommender
>>> model = TwoTowerRecommender(embedding_dim=4, epochs=1, random_state=0).fit(pairs)
>>> towers = export_towers(model)
>>> sorted(towers.files), towers.spec["user_tower"]["outputs"][0]["name"]
(['item_tower.onnx', 'user_tower.onnx'], 'user_embedding')
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from learnloop.exceptions import NotFittedError
from learnloop.models.artifacts import MAX_IR_VERSION, TARGET_OPSET
from training_jobs.exceptions import TrainingDataError

USER_TOWER_FILE = "user_tower.onnx"
ITEM_TOWER_FILE = "item_tower.onnx"


class TowerMismatchError(TrainingDataError):
    """An exported tower does not reproduce the torch embeddings (within the tolerance)."""

    code = "tower_mismatch"


@dataclass(frozen=True)
class ExportedTowers:
    """The two ONNX files (name → bytes) and their input/output spec for the manifest."""

    files: dict[str, bytes]
    spec: dict[str, Any]


def export_towers(model: Any) -> ExportedTowers:
    """Export both towers of a fitted model (opset 17, IR version <= 9, dynamic batch).

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    """
    import torch

    from training_jobs.two_tower.model import ItemTower, UserTower  # torch loads only to export

    if not hasattr(model, "net_"):
        raise NotFittedError("TwoTowerRecommender is not fitted; nothing to export")
    net = model.net_
    net.eval()
    n_items, dim = len(model.item_ids_), model.embedding_dim
    text_dim = 0 if model.text_embeddings_ is None else int(model.text_embeddings_.shape[1])
    user_inputs = (torch.zeros(2, dtype=torch.long), torch.zeros(2, n_items))
    item_inputs: tuple[Any, ...] = (
        torch.zeros(2, dtype=torch.long),
        torch.zeros(2, dtype=torch.long),
    )
    item_names = ["item_index", "content_type"]
    if text_dim:
        item_inputs = (*item_inputs, torch.zeros(2, text_dim))
        item_names.append("text_embedding")
    user_bytes = _export(UserTower(net), user_inputs, ["user_index", "history"], "user_embedding")
    item_bytes = _export(ItemTower(net), item_inputs, item_names, "item_embedding")
    item_shapes: dict[str, tuple[str, list[Any]]] = {
        "item_index": ("int64", ["batch"]),
        "content_type": ("int64", ["batch"]),
        "text_embedding": ("float32", ["batch", text_dim]),
    }
    spec = towers_spec(
        model,
        n_items=n_items,
        dim=dim,
        item_inputs=[(name, *item_shapes[name]) for name in item_names],
        normalized=bool(model.normalize),
    )
    return ExportedTowers({USER_TOWER_FILE: user_bytes, ITEM_TOWER_FILE: item_bytes}, spec)


def towers_spec(
    model: Any,
    /,
    *,
    n_items: int,
    dim: int,
    item_inputs: list[tuple[str, str, list[Any]]],
    normalized: bool,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest's ``towers`` entry serving reads: each tower's file, inputs (``item_inputs``:
    ``(name, dtype, shape)``) and output, the content-type vocabulary and the score."""
    return {
        "user_tower": {
            "file": USER_TOWER_FILE,
            "inputs": [
                {"name": "user_index", "dtype": "int64", "shape": ["batch"]},
                {"name": "history", "dtype": "float32", "shape": ["batch", n_items]},
            ],
            "outputs": [{"name": "user_embedding", "dtype": "float32", "shape": ["batch", dim]}],
        },
        "item_tower": {
            "file": ITEM_TOWER_FILE,
            "inputs": [
                {"name": name, "dtype": dtype, "shape": shape} for name, dtype, shape in item_inputs
            ],
            "outputs": [{"name": "item_embedding", "dtype": "float32", "shape": ["batch", dim]}],
        },
        "content_types": list(model.content_type_vocabulary_),
        "unknown_index": -1,
        "normalized": normalized,
        "score": "dot",
        **extra,
    }


def _export(module: Any, args: tuple[Any, ...], inputs: list[str], output: str) -> bytes:
    import onnx
    import torch

    buffer = io.BytesIO()
    axes: dict[str, dict[int, str]] = {name: {0: "batch"} for name in [*inputs, output]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            args,
            buffer,  # type: ignore[arg-type]  # file-like objects are accepted
            input_names=inputs,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=TARGET_OPSET,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


def tower_embeddings(model: Any, towers: ExportedTowers) -> tuple[np.ndarray, np.ndarray]:
    """Every known user's and item's embedding computed by the ONNX towers (onnxruntime).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Users ``(n_users, d)`` and items ``(n_items, d)``, float32, row-aligned with
        ``model.user_ids_`` and ``model.item_ids_``.
    """
    import onnxruntime as ort

    n_users, n_items = len(model.user_ids_), len(model.item_ids_)
    history = np.zeros((n_users, n_items), dtype=np.float32)
    for row, items in enumerate(model.history_):
        history[row, list(items)] = 1.0
    user = ort.InferenceSession(towers.files[USER_TOWER_FILE], providers=["CPUExecutionProvider"])
    users = user.run(
        ["user_embedding"],
        {"user_index": np.arange(n_users, dtype=np.int64), "history": history},
    )[0]
    item = ort.InferenceSession(towers.files[ITEM_TOWER_FILE], providers=["CPUExecutionProvider"])
    feeds: dict[str, np.ndarray] = {
        "item_index": np.arange(n_items, dtype=np.int64),
        "content_type": model.item_content_types_.astype(np.int64),
    }
    if model.text_embeddings_ is not None:
        feeds["text_embedding"] = model.text_embeddings_.astype(np.float32)
    items = item.run(["item_embedding"], feeds)[0]
    return users, items


def check_towers(model: Any, towers: ExportedTowers, *, atol: float = 1e-4) -> float:
    """The largest absolute difference between the ONNX towers' and torch's embeddings.

    Raises
    ------
    TowerMismatchError
        When it exceeds ``atol``.
    """
    users, items = tower_embeddings(model, towers)
    worst = float(
        max(
            np.abs(users - model.user_embeddings_).max(),
            np.abs(items - model.item_embeddings_).max(),
        )
    )
    if worst > atol:
        raise TowerMismatchError(f"ONNX towers differ from torch by {worst:.2e} (> {atol:g})")
    return worst


__all__ = [
    "ITEM_TOWER_FILE",
    "USER_TOWER_FILE",
    "ExportedTowers",
    "TowerMismatchError",
    "check_towers",
    "export_towers",
    "tower_embeddings",
]
