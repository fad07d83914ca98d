"""ONNX stand-ins for the towers of a factor model (ALS, EASE), in the two-tower artifact format.

A factor model publishes user and item matrices whose dot products are its scores, so serving
needs nothing new. Two small ONNX graphs stand in for the towers, with the two-tower export's
inputs (``user_index`` + ``history``; ``item_index`` + ``content_type``):

* user tower: a known user's row of ``user_embeddings_``; for ``user_index = -1`` the mean
  of the ``history`` items' rows of :meth:`~.estimator.EmbeddingRecommender.history_matrix`
  (the item embeddings for ALS; EASE's own history factors), as serving's ``history_vector``
  computes it for a user the model has not seen;
* item tower: an item's row of ``item_embeddings_`` (zeros for ``item_index = -1``: a factor
  model cannot embed an item from its text, so there is no ``text_embedding`` input).

Examples
--------
>>> from training_jobs.two_tower.als import ALSRecommender
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
>>> model = ALSRecommender(factors=4, iterations=3, random_state=0).fit(pairs)
>>> towers = export_factor_towers(model)
>>> towers.spec["model"], check_factor_towers(model, towers) < 1e-5
('als', True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learnloop.exceptions import NotFittedError
from learnloop.models.artifacts import MAX_IR_VERSION, TARGET_OPSET
from training_jobs.two_tower.estimator import EmbeddingRecommender
from training_jobs.two_tower.onnx_export import (
    ITEM_TOWER_FILE,
    USER_TOWER_FILE,
    ExportedTowers,
    TowerMismatchError,
    towers_spec,
)

__all__ = ["check_factor_towers", "export_factor_towers", "score_basis"]


def score_basis(
    users: np.ndarray, items: np.ndarray, power: float
) -> tuple[np.ndarray, np.ndarray]:
    """Factors with the same products ``users @ items.T``, in the basis of its singular
    vectors: ``P S^(1 - power)`` and ``Q S^power`` (see the module).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    >>> u2, v2 = score_basis(u, v, 1.0)
    >>> bool(np.allclose(u @ v.T, u2 @ v2.T)), u2.shape, v2.shape
    (True, (7, 3), (5, 3))
    """
    # Thin QR of each side, then the SVD of the small core: never the full score matrix.
    qu, ru = np.linalg.qr(users)
    qv, rv = np.linalg.qr(items)
    a, singular, bt = np.linalg.svd(ru @ rv.T, full_matrices=False)
    width = users.shape[1]
    out_users = np.zeros((users.shape[0], width))
    out_items = np.zeros((items.shape[0], width))
    out_users[:, : len(singular)] = (qu @ a) * singular ** (1.0 - power)
    out_items[:, : len(singular)] = (qv @ bt.T) * singular**power
    # A zero row (an item never trained) stays exactly zero, not rounding noise.
    out_users[~users.any(axis=1)] = 0.0
    out_items[~items.any(axis=1)] = 0.0
    return out_users, out_items


def export_factor_towers(model: EmbeddingRecommender) -> ExportedTowers:
    """ONNX stand-ins for the towers of a fitted factor model (see the module), with the same
    input names and manifest spec as the two-tower export.

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    """
    from onnx import TensorProto, helper, numpy_helper

    if not hasattr(model, "item_embeddings_"):
        raise NotFittedError(f"{type(model).__name__} is not fitted; nothing to export")
    users, items, pooled = model.user_embeddings_, model.item_embeddings_, model.history_matrix()
    name = model.candidate
    n_items, dim = items.shape
    zero = np.zeros((1, dim), np.float32)

    def const(name: str, array: np.ndarray) -> Any:
        return numpy_helper.from_array(np.ascontiguousarray(array), name)

    def model_bytes(graph: Any) -> bytes:
        onnx_model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", TARGET_OPSET)], producer_name="learnloop"
        )
        onnx_model.ir_version = min(MAX_IR_VERSION, onnx_model.ir_version)
        data: bytes = onnx_model.SerializeToString()
        return data

    # Row 0 of each padded table is the unknown id (-1 + 1).
    user_graph = helper.make_graph(
        [
            helper.make_node("Add", ["user_index", "one"], ["slot"]),
            helper.make_node("Gather", ["user_table", "slot"], ["known"], axis=0),
            helper.make_node("MatMul", ["history", "history_table"], ["sums"]),
            helper.make_node("ReduceSum", ["history", "axis1"], ["count"], keepdims=1),
            helper.make_node("Max", ["count", "one_f"], ["safe_count"]),
            helper.make_node("Div", ["sums", "safe_count"], ["mean"]),
            helper.make_node("Greater", ["user_index", "minus_one"], ["is_known"]),
            helper.make_node("Unsqueeze", ["is_known", "axis1"], ["is_known_2d"]),
            helper.make_node("Where", ["is_known_2d", "known", "mean"], ["user_embedding"]),
        ],
        f"{name}_user_tower",
        [
            helper.make_tensor_value_info("user_index", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("history", TensorProto.FLOAT, ["batch", n_items]),
        ],
        [helper.make_tensor_value_info("user_embedding", TensorProto.FLOAT, ["batch", dim])],
        [
            const("user_table", np.vstack([zero, users])),
            const("history_table", pooled),
            const("one", np.array(1, np.int64)),
            const("minus_one", np.array(-1, np.int64)),
            const("one_f", np.array(1.0, np.float32)),
            const("axis1", np.array([1], np.int64)),
        ],
    )
    # content_type is taken (the two-tower item tower's inputs) and does not change an item's
    # factors: multiplying it by zero keeps it a used input of the graph.
    item_graph = helper.make_graph(
        [
            helper.make_node("Add", ["item_index", "one"], ["slot"]),
            helper.make_node("Gather", ["item_table", "slot"], ["factors"], axis=0),
            helper.make_node("Cast", ["content_type"], ["type_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["type_f", "zero_f"], ["nothing"]),
            helper.make_node("Unsqueeze", ["nothing", "axis1"], ["nothing_2d"]),
            helper.make_node("Add", ["factors", "nothing_2d"], ["item_embedding"]),
        ],
        f"{name}_item_tower",
        [
            helper.make_tensor_value_info("item_index", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("content_type", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("item_embedding", TensorProto.FLOAT, ["batch", dim])],
        [
            const("item_table", np.vstack([zero, items])),
            const("one", np.array(1, np.int64)),
            const("zero_f", np.array(0.0, np.float32)),
            const("axis1", np.array([1], np.int64)),
        ],
    )
    spec = towers_spec(
        model,
        n_items=n_items,
        dim=dim,
        item_inputs=[("item_index", "int64", ["batch"]), ("content_type", "int64", ["batch"])],
        normalized=False,
        model=name,
    )
    return ExportedTowers(
        {USER_TOWER_FILE: model_bytes(user_graph), ITEM_TOWER_FILE: model_bytes(item_graph)}, spec
    )


def check_factor_towers(
    model: EmbeddingRecommender, towers: ExportedTowers, tol: float = 1e-4
) -> float:
    """The largest difference between the ONNX towers and the published matrices.

    Raises
    ------
    TowerMismatchError
        Above ``tol``.
    """
    import onnxruntime as ort

    users = ort.InferenceSession(towers.files[USER_TOWER_FILE], providers=["CPUExecutionProvider"])
    items = ort.InferenceSession(towers.files[ITEM_TOWER_FILE], providers=["CPUExecutionProvider"])
    n_users, n_items = len(model.user_ids_), len(model.item_ids_)
    history = np.zeros((n_users, n_items), np.float32)
    for u, rows in enumerate(model.history_):
        history[u, list(rows)] = 1.0
    known = users.run(None, {"user_index": np.arange(n_users), "history": history})[0]
    cold = users.run(None, {"user_index": np.full(1, -1), "history": history[:1]})[0]
    expected_cold = model.history_matrix()[list(model.history_[0])].mean(axis=0)
    embedded = items.run(
        None,
        {
            "item_index": np.arange(n_items),
            "content_type": model.item_content_types_.astype(np.int64),
        },
    )[0]
    worst = max(
        float(np.abs(known - model.user_embeddings_).max()),
        float(np.abs(cold[0] - expected_cold).max()),
        float(np.abs(embedded - model.item_embeddings_).max()),
    )
    if worst > tol:
        raise TowerMismatchError(
            f"{model.candidate} towers differ from the factors by {worst:.2e} (> {tol})"
        )
    return worst
