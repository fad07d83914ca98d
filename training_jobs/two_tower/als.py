"""The matrix-factorisation candidate: ``implicit``'s ALS, published in the two-tower format.

Implicit-feedback ALS (Hu, Koren & Volinsky 2008) from the well-kept ``implicit`` library
(MIT; one wheel, numpy/scipy only). It is trained in the two-tower job on the same splits as
the towers and, when it wins on the common held-out users, published as a ``two_tower``
artifact: its user and item factors are ``user_embeddings.npy`` / ``item_embeddings.npy``
(score = dot product, as serving computes it), and two small ONNX graphs stand in for the
towers with the same inputs (``user_index`` + ``history``; ``item_index`` + ``content_type``):

* user tower: a known user's factors; for ``user_index = -1`` the mean factors of the
  ``history`` items (what serving's ``history_vector`` does for a user the model has not seen);
* item tower: an item's factors (zeros for ``item_index = -1``: ALS cannot embed an item from
  its text, so there is no ``text_embedding`` input and serving does not embed new items).

Similar items are the cosine neighbours of the item factors (serving's ``/similar``). ALS's
factors are determined only up to an invertible map ``M`` (``U M^-T`` and ``V M`` score every
pair alike), and cosines depend on that choice. The published factors are therefore put in the
basis of the score matrix's singular vectors, ``U V^T = P S Q^T``: items ``Q S^g``, users
``P S^(1-g)`` with ``g = similarity_power``. Recommendations do not change (same dot products);
with ``g = 1`` the cosine of two items is the cosine of their predicted-score columns over all
users ("the model expects the same people to like them"), which agrees with co-occurrence
neighbours more than implicit's raw factors do (bench/movielens.py).

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
>>> model = ALSRecommender(factors=4, iterations=3, random_state=0).fit(pairs)
>>> model.item_embeddings_.shape, model.user_embeddings_.shape
((6, 4), (12, 4))
>>> towers = export_als_towers(model)
>>> check_als_towers(model, towers) < 1e-5
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from learnloop.exceptions import NotFittedError, ValidationError
from learnloop.models.artifacts import MAX_IR_VERSION, TARGET_OPSET
from training_jobs.two_tower.estimator import EmbeddingRecommender, EpochCallback, ItemCatalog
from training_jobs.two_tower.onnx_export import (
    ITEM_TOWER_FILE,
    USER_TOWER_FILE,
    ExportedTowers,
    TowerMismatchError,
    towers_spec,
)

__all__ = ["WEIGHTINGS", "ALSRecommender", "check_als_towers", "export_als_towers", "score_basis"]


class ALSRecommender(EmbeddingRecommender):
    """Implicit-feedback ALS with the job's estimator interface.

    Parameters
    ----------
    factors : int
        Embedding width.
    regularization : float
        L2 weight on the factors.
    alpha : float
        Confidence of a positive: ``1 + alpha`` (implicit's ``alpha``).
    iterations : int
        ALS sweeps.
    weighting : {"none", "bm25"}
        Re-weight the user-item matrix before factorising (``"bm25"``: implicit's
        ``bm25_weight``, which damps heavy users and popular items).
    similarity_power : float
        ``g`` in the published basis (see the module); ``None`` keeps implicit's factors.
    n_threads : int
        implicit's threads.
    random_state : int or None
        Seed of the initial factors.

    Attributes
    ----------
    user_ids_, item_ids_, user_embeddings_, item_embeddings_, popularity_, history_
        As :class:`~training_jobs.two_tower.estimator.TwoTowerRecommender`'s; items without
        positives have zero factors.
    best_epoch_ : int
        ``iterations`` (so the job refits every candidate the same way).
    fit_seconds_ : float
        Wall time of ``fit``.
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        weighting: str = "none",
        similarity_power: float | None = 1.0,
        n_threads: int = 2,
        random_state: int | None = None,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.weighting = weighting
        self.similarity_power = similarity_power
        self.n_threads = n_threads
        self.random_state = random_state

    @property
    def embedding_dim(self) -> int:
        """Width of the published embeddings (``factors``)."""
        return self.factors

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as ``__init__`` takes them."""
        return {name: getattr(self, name) for name in _PARAMS}

    def fit(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        catalog: ItemCatalog | None = None,
        validation: Iterable[tuple[str, str]] | None = None,
        callback: EpochCallback | None = None,
    ) -> ALSRecommender:
        """Factorise the positives ``(user, item_key)`` (``validation`` and ``callback`` are
        accepted for the job's common interface and unused: ALS runs ``iterations`` sweeps).

        Raises
        ------
        ValidationError
            On bad hyperparameters.
        NotEnoughInteractionsError
            Without at least two users, two items and two positives.
        """
        from implicit.cpu.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits

        if self.factors < 1 or self.iterations < 1 or self.regularization < 0 or self.alpha <= 0:
            raise ValidationError(
                "invalid ALS hyperparameters",
                details=[{"field": "factors", "message": "factors, iterations, alpha must be > 0"}],
            )
        if self.weighting not in WEIGHTINGS:
            raise ValidationError(
                "invalid ALS weighting",
                details=[{"field": "weighting", "message": f"one of {', '.join(WEIGHTINGS)}"}],
            )
        started = time.perf_counter()
        rows_u, rows_i = self._index_pairs(pairs, catalog)
        shape = (len(self.user_ids_), len(self.item_ids_))
        matrix = csr_matrix((np.ones(len(rows_u), np.float32), (rows_u, rows_i)), shape=shape)
        if self.weighting == "bm25":
            from implicit.nearest_neighbours import bm25_weight

            matrix = bm25_weight(matrix, K1=100, B=0.8).tocsr().astype(np.float32)
        # ALS runs its own threads; BLAS threads beside them only contend (implicit warns).
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.n_threads,
                random_state=self.random_state,
            )
            model.fit(matrix, show_progress=False)
        users = np.asarray(model.user_factors, dtype=np.float64)
        items = np.asarray(model.item_factors, dtype=np.float64)
        items[self.popularity_ == 0] = 0.0  # never trained: their initial draw means nothing
        if self.similarity_power is not None:
            users, items = score_basis(users, items, self.similarity_power)
        self.user_embeddings_ = np.ascontiguousarray(users, dtype=np.float32)
        self.item_embeddings_ = np.ascontiguousarray(items, dtype=np.float32)
        self.best_epoch_ = self.iterations
        self.validation_curve_: list[float] = []
        self.fit_seconds_ = time.perf_counter() - started
        return self


_PARAMS = (
    "factors",
    "regularization",
    "alpha",
    "iterations",
    "weighting",
    "similarity_power",
    "n_threads",
    "random_state",
)
#: ``weighting`` choices.
WEIGHTINGS = ("none", "bm25")


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


def export_als_towers(model: ALSRecommender) -> ExportedTowers:
    """ONNX stand-ins for the towers of a fitted ALS model (see the module docstring), with
    the same input names and manifest spec as the two-tower export.

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    """
    from onnx import TensorProto, helper, numpy_helper

    if not hasattr(model, "item_embeddings_"):
        raise NotFittedError("ALSRecommender is not fitted; nothing to export")
    users, items = model.user_embeddings_, model.item_embeddings_
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
            helper.make_node("MatMul", ["history", "item_table"], ["sums"]),
            helper.make_node("ReduceSum", ["history", "axis1"], ["count"], keepdims=1),
            helper.make_node("Max", ["count", "one_f"], ["safe_count"]),
            helper.make_node("Div", ["sums", "safe_count"], ["mean"]),
            helper.make_node("Greater", ["user_index", "minus_one"], ["is_known"]),
            helper.make_node("Unsqueeze", ["is_known", "axis1"], ["is_known_2d"]),
            helper.make_node("Where", ["is_known_2d", "known", "mean"], ["user_embedding"]),
        ],
        "als_user_tower",
        [
            helper.make_tensor_value_info("user_index", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("history", TensorProto.FLOAT, ["batch", n_items]),
        ],
        [helper.make_tensor_value_info("user_embedding", TensorProto.FLOAT, ["batch", dim])],
        [
            const("user_table", np.vstack([zero, users])),
            const("item_table", items),
            const("one", np.array(1, np.int64)),
            const("minus_one", np.array(-1, np.int64)),
            const("one_f", np.array(1.0, np.float32)),
            const("axis1", np.array([1], np.int64)),
        ],
    )
    # content_type is taken (the two-tower item tower's inputs) and does not change an ALS
    # item's factors: multiplying it by zero keeps it a used input of the graph.
    item_graph = helper.make_graph(
        [
            helper.make_node("Add", ["item_index", "one"], ["slot"]),
            helper.make_node("Gather", ["item_table", "slot"], ["factors"], axis=0),
            helper.make_node("Cast", ["content_type"], ["type_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["type_f", "zero_f"], ["nothing"]),
            helper.make_node("Unsqueeze", ["nothing", "axis1"], ["nothing_2d"]),
            helper.make_node("Add", ["factors", "nothing_2d"], ["item_embedding"]),
        ],
        "als_item_tower",
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
        model="als",
    )
    return ExportedTowers(
        {USER_TOWER_FILE: model_bytes(user_graph), ITEM_TOWER_FILE: model_bytes(item_graph)}, spec
    )


def check_als_towers(model: ALSRecommender, towers: ExportedTowers, tol: float = 1e-4) -> float:
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
    expected_cold = model.item_embeddings_[list(model.history_[0])].mean(axis=0)
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
        raise TowerMismatchError(f"ALS towers differ from the factors by {worst:.2e} (> {tol})")
    return worst


def confidence_scale(pairs: Iterable[tuple[str, str]], weighting: str) -> float:
    """The mean weight of a positive after ``weighting``: implicit's confidence of a positive
    is ``alpha`` times it, so a penalty comparable across settings is a multiple of both.

    Binary data weigh 1 each (repeats add up); BM25 (``K1=100, B=0.8``, as
    :meth:`ALSRecommender.fit` applies it) weighs rare items and light users up, so its mean
    moves further from 1 the more skewed the data (1.68 on MovieLens-100K). 1.0 without
    positives.

    Examples
    --------
    >>> confidence_scale([("u1", "a"), ("u2", "a"), ("u2", "b")], "none")
    1.0
    >>> confidence_scale([("u1", "a"), ("u2", "a"), ("u2", "b"), ("u3", "c")], "bm25") > 0
    True
    """
    from scipy.sparse import csr_matrix

    listed = list(pairs)
    if not listed:
        return 1.0
    _, rows = np.unique([u for u, _ in listed], return_inverse=True)
    _, cols = np.unique([i for _, i in listed], return_inverse=True)
    matrix = csr_matrix((np.ones(len(listed), np.float32), (rows, cols)))
    if weighting == "bm25":
        from implicit.nearest_neighbours import bm25_weight

        matrix = bm25_weight(matrix, K1=100, B=0.8).tocsr()
    values = np.asarray(matrix.data, dtype=np.float64)
    mean = float(values.mean()) if values.size else 1.0
    return mean if math.isfinite(mean) and mean > 0 else 1.0
