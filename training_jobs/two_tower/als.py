"""The matrix-factorisation candidate: ``implicit``'s ALS, published in the two-tower format.

Implicit-feedback ALS (Hu, Koren & Volinsky 2008) from the well-kept ``implicit`` library
(MIT; one wheel, numpy/scipy only). It is trained in the two-tower job on the same splits as
the towers and, when it wins on the common held-out users, published as a ``two_tower``
artifact: its user and item factors are ``user_embeddings.npy`` / ``item_embeddings.npy``
(score = dot product, as serving computes it), with the ONNX stand-ins of
:mod:`.factor_export` for the towers.

Similar items are the cosine neighbours of the item factors (serving's ``/similar``). ALS's
factors are determined only up to an invertible map ``M`` (``U M^-T`` and ``V M`` score every
pair alike), and cosines depend on that choice. The published factors are therefore put in the
basis of the score matrix's singular vectors, ``U V^T = P S Q^T``: items ``Q S^g``, users
``P S^(1-g)`` with ``g = similarity_power`` (:func:`.factor_export.score_basis`).
Recommendations do not change (same dot products); with ``g = 1`` the cosine of two items is
the cosine of their predicted-score columns over all users ("the model expects the same people
to like them"), which agrees with co-occurrence neighbours more than implicit's raw factors do
(bench/movielens.py).

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
>>> model = ALSRecommender(factors=4, iterations=3, random_state=0).fit(pairs)
>>> model.item_embeddings_.shape, model.user_embeddings_.shape
((6, 4), (12, 4))
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np

from learnloop.exceptions import ValidationError
from training_jobs.two_tower.estimator import EmbeddingRecommender, EpochCallback, ItemCatalog
from training_jobs.two_tower.factor_export import score_basis

__all__ = ["WEIGHTINGS", "ALSRecommender", "confidence_scale"]


class ALSRecommender(EmbeddingRecommender):
    """Implicit-feedback ALS with the job's estimator interface.

    Parameters
    ----------
    factors : int
        Embedding width.
    regularization : float
        L2 weight on the factors.
    alpha : float
        Confidence of a positive: ``alpha`` times its (re-)weighted count (implicit >= 0.5
        weighs an unobserved pair 1 and a positive ``alpha * r``, not ``1 + alpha * r``: with
        ``alpha < 1`` a like weighs less than a miss).
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

    candidate = "als"

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


#: ``weighting`` choices.
WEIGHTINGS = ("none", "bm25")


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
