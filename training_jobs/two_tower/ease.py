"""The item-item candidate: EASE, a closed-form linear autoencoder, published as low-rank factors.

EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data") learns an item-item
weight matrix ``B`` with a zero diagonal that reconstructs each user's 0/1 row ``x`` of
interactions as ``x B``, under an L2 penalty ``regularization``. Its solution is closed form:
``P = (X^T X + regularization I)^-1`` and ``B = I - P diag(1 / diag P)``. It has one setting
that matters, trains in a second at MovieLens-100K scale, and on that data ranks better than
tuned ALS (bench/movielens.py).

Serving needs dot products of user and item rows, so ``B`` is published at rank ``factors``
from its truncated SVD ``B ~ L S R^T`` (scikit-learn's ``randomized_svd``):

* ``item_embeddings_ = R S^g`` (``g = similarity_power``): with ``g = 1`` the cosine of two
  items is the cosine of their columns of ``B``, "the same items predict both";
* ``history_embeddings_ = L S^(1-g)``: a user's profile is the mean of their items' rows, so
  ``user . item`` is ``x B`` up to a per-user scale (the ranking is EASE's). Serving computes
  the same mean for a user who arrived after training (the artifact's
  ``history_embeddings.npy``), so their recommendations are EASE's too, not an approximation;
* ``user_embeddings_``: that mean for each training user.

On MovieLens-100K rank 32-128 ranks as well as the full matrix (NDCG@10 within 0.002).

The closed form costs ``O(items^3)`` time and ``items^2`` memory over the items with positives,
so the candidate refuses more than ``max_items`` of them (the search then skips it; ALS and the
two-tower model scale further).

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
>>> model = EASERecommender(regularization=1.0, factors=4, random_state=0).fit(pairs)
>>> model.item_embeddings_.shape, model.history_embeddings_.shape, model.user_embeddings_.shape
((6, 4), (6, 4), (12, 4))
>>> [key for key, _ in model.recommend("u0", n=1)]
['meme#3']
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from learnloop.exceptions import ValidationError
from training_jobs.two_tower.estimator import EmbeddingRecommender, EpochCallback, ItemCatalog

__all__ = ["MAX_ITEMS", "EASERecommender", "ease_weights"]

#: The most items with positives the closed form takes by default: 6,000 items cost three
#: float64 matrices of 288 MB and about 15 s for the inverse on 2 cores.
MAX_ITEMS = 6000


def ease_weights(matrix: Any, regularization: float) -> np.ndarray:
    """EASE's item-item weights ``B`` (zero diagonal) of a users x items 0/1 ``matrix``.

    Examples
    --------
    >>> x = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float)
    >>> b = ease_weights(x, 0.5)
    >>> bool(np.allclose(np.diag(b), 0)), b.shape
    (True, (3, 3))
    """
    product = matrix.T @ matrix
    gram = np.array(product.toarray() if hasattr(product, "toarray") else product, np.float64)
    gram[np.diag_indices_from(gram)] += regularization
    inverse = np.linalg.inv(gram)
    weights: np.ndarray = inverse / -np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights


class EASERecommender(EmbeddingRecommender):
    """EASE with the job's estimator interface, published as rank-``factors`` embeddings.

    Parameters
    ----------
    regularization : float
        The L2 penalty ``lambda`` on ``B`` (> 0). The default is Steck's (2019) setting for
        MovieLens-20M; the job searches it.
    factors : int
        Rank of the published embeddings.
    similarity_power : float
        ``g`` in the published basis (see the module).
    max_items : int
        The most items with positives the closed form takes.
    random_state : int or None
        Seeds the randomized SVD.

    Attributes
    ----------
    user_ids_, item_ids_, user_embeddings_, item_embeddings_, popularity_, history_
        As :class:`~training_jobs.two_tower.estimator.TwoTowerRecommender`'s; items without
        positives have zero embeddings.
    history_embeddings_ : numpy.ndarray
        ``(n_items, factors)``: the rows a user's profile averages (see the module).
    best_epoch_ : int
        1 (closed form; the job reads it from every candidate).
    fit_seconds_ : float
        Wall time of ``fit``.
    """

    candidate = "ease"

    def __init__(
        self,
        *,
        regularization: float = 500.0,
        factors: int = 64,
        similarity_power: float = 1.0,
        max_items: int = MAX_ITEMS,
        random_state: int | None = None,
    ) -> None:
        self.regularization = regularization
        self.factors = factors
        self.similarity_power = similarity_power
        self.max_items = max_items
        self.random_state = random_state

    @property
    def embedding_dim(self) -> int:
        """Width of the published embeddings (``factors``)."""
        return self.factors

    def history_matrix(self) -> np.ndarray:
        """EASE's history factors (see the module)."""
        self._check_fitted()
        return self.history_embeddings_

    def fit(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        catalog: ItemCatalog | None = None,
        validation: Iterable[tuple[str, str]] | None = None,
        callback: EpochCallback | None = None,
    ) -> EASERecommender:
        """Solve EASE on the positives ``(user, item_key)`` (``validation`` and ``callback``
        are accepted for the job's common interface and unused: there are no epochs).

        Raises
        ------
        ValidationError
            On bad hyperparameters, or more than ``max_items`` items with positives.
        NotEnoughInteractionsError
            Without at least two users, two items and two positives.
        """
        from scipy.sparse import csr_matrix
        from sklearn.utils.extmath import randomized_svd

        if self.regularization <= 0 or self.factors < 1:
            raise ValidationError(
                "invalid EASE hyperparameters",
                details=[{"field": "regularization", "message": "regularization, factors > 0"}],
            )
        started = time.perf_counter()
        rows_u, rows_i = self._index_pairs(pairs, catalog)
        # Items without positives have a zero column of B: solve over the others only.
        active = np.flatnonzero(self.popularity_ > 0)
        if len(active) > self.max_items:
            raise ValidationError(
                f"EASE takes at most {self.max_items} items with positives; got {len(active)}",
                details=[{"field": "max_items", "message": "the closed form is O(items^3)"}],
            )
        column = np.full(len(self.item_ids_), -1, dtype=np.int64)
        column[active] = np.arange(len(active))
        shape = (len(self.user_ids_), len(active))
        ones = np.ones(len(rows_u), np.float64)
        matrix = csr_matrix((ones, (rows_u, column[rows_i])), shape=shape)
        weights = ease_weights(matrix, float(self.regularization))
        rank = min(self.factors, len(active))
        left, singular, right_t = randomized_svd(
            weights, rank, n_iter=4, random_state=self.random_state
        )
        history = np.zeros((len(self.item_ids_), self.factors))
        items = np.zeros((len(self.item_ids_), self.factors))
        history[active, :rank] = left * singular ** (1.0 - self.similarity_power)
        items[active, :rank] = right_t.T * singular**self.similarity_power
        # Each user's profile: the mean of their items' history rows (serving's history_vector).
        counts = np.asarray(matrix.sum(axis=1)).ravel()
        users = (matrix @ history[active]) / np.maximum(counts, 1.0)[:, None]
        self.history_embeddings_ = np.ascontiguousarray(history, dtype=np.float32)
        self.item_embeddings_ = np.ascontiguousarray(items, dtype=np.float32)
        self.user_embeddings_ = np.ascontiguousarray(users, dtype=np.float32)
        self.best_epoch_ = 1
        self.validation_curve_: list[float] = []
        self.fit_seconds_ = time.perf_counter() - started
        return self
