"""Top-k ranking metrics with the Microsoft Recommenders definitions, numpy only.

Shared by the two-tower job (its validation and test figures) and ``bench/movielens.py``.
``recommenders`` itself pulls pandas, scikit-surprise and more; ``ranx`` needs numba; and
``implicit.evaluation`` divides precision by ``min(k, n_relevant)`` and MAP differently, so these
few lines are written here rather than imported.

Definitions, over the users that have at least one relevant item (users common to the test
set and the recommendations):

* precision@k = hits in the top k / k
* recall@k = hits in the top k / number of relevant items
* ndcg@k = DCG / ideal DCG with binary gains, ``1 / log2(rank + 1)`` for 1-based ranks
* map@k = sum of precision@rank over the hit ranks within the top k / number of relevant items
  (Recommenders' ``map``: normalised by the user's relevant items, not by k)

Every figure is the mean over users.

Examples
--------
>>> import numpy as np
>>> top = np.array([[3, 1, 2], [0, 2, 1]])
>>> relevant = [{1, 2}, {4}]
>>> m = ranking_metrics(top, relevant, ks=(2,))
>>> m["precision@2"], m["recall@2"]
(0.25, 0.25)
>>> round(m["ndcg@2"], 4), m["map@2"]
(0.1934, 0.125)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np

DEFAULT_KS = (5, 10, 20)


def _hits(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> np.ndarray:
    top = np.asarray(top_items)[:, :k]
    hits = np.zeros(top.shape, dtype=bool)
    for row, items in enumerate(relevant):
        if items:
            members = items if isinstance(items, set | frozenset) else set(items)
            hits[row] = [item in members for item in top[row].tolist()]
    return hits


def _users(relevant: Sequence[Collection[int]]) -> tuple[np.ndarray, np.ndarray]:
    n_relevant = np.array([len(items) for items in relevant], dtype=np.float64)
    return n_relevant > 0, n_relevant


def precision_at_k(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean over users of the share of the top ``k`` that is relevant.

    Parameters
    ----------
    top_items : numpy.ndarray
        ``(n_users, >= k)`` item indices, best first.
    relevant : sequence of collections of int
        Each user's relevant items; users with none are left out of the mean.
    k : int
        The cut-off.

    Returns
    -------
    float
        0.0 when no user has a relevant item.

    Examples
    --------
    >>> import numpy as np
    >>> precision_at_k(np.array([[1, 2], [3, 4]]), [{1}, {4, 3}], 2)
    0.75
    """
    keep, _ = _users(relevant)
    if not keep.any():
        return 0.0
    hits = _hits(top_items, relevant, k)[keep]
    return float(hits.sum(axis=1).mean() / k)


def recall_at_k(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean over users of the share of their relevant items found in the top ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> recall_at_k(np.array([[1, 2], [3, 4]]), [{1, 5}, {4}], 2)
    0.75
    """
    keep, n_relevant = _users(relevant)
    if not keep.any():
        return 0.0
    hits = _hits(top_items, relevant, k)[keep]
    return float((hits.sum(axis=1) / n_relevant[keep]).mean())


def ndcg_at_k(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean over users of DCG / ideal DCG of the top ``k``, binary gains.

    Examples
    --------
    >>> import numpy as np
    >>> ndcg_at_k(np.array([[1, 2]]), [{1}], 2), round(ndcg_at_k(np.array([[2, 1]]), [{1}], 2), 4)
    (1.0, 0.6309)
    """
    keep, _ = _users(relevant)
    if not keep.any():
        return 0.0
    return float(ndcg_per_user(top_items, relevant, k)[keep].mean())


def ndcg_per_user(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> np.ndarray:
    """Each row's DCG / ideal DCG of the top ``k`` (0 for a row without relevant items): the
    per-user figures paired comparisons of two rankings need.

    Examples
    --------
    >>> import numpy as np
    >>> ndcg_per_user(np.array([[1, 2], [2, 1], [0, 1]]), [{1}, {1}, set()], 2).round(4).tolist()
    [1.0, 0.6309, 0.0]
    """
    _, n_relevant = _users(relevant)
    hits = _hits(top_items, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal_n = np.minimum(n_relevant, hits.shape[1]).astype(int)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_n]
    return np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)


def map_at_k(top_items: np.ndarray, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean average precision in the top ``k``, normalised by each user's relevant items.

    Examples
    --------
    >>> import numpy as np
    >>> round(map_at_k(np.array([[1, 9, 2]]), [{1, 2, 3, 4}], 3), 6)  # (1/1 + 2/3) / 4
    0.416667
    """
    keep, n_relevant = _users(relevant)
    if not keep.any():
        return 0.0
    hits = _hits(top_items, relevant, k)[keep]
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    return float(((precision * hits).sum(axis=1) / n_relevant[keep]).mean())


def ranking_metrics(
    top_items: np.ndarray,
    relevant: Sequence[Collection[int]],
    ks: Iterable[int] = DEFAULT_KS,
    *,
    prefix: str = "",
) -> dict[str, float]:
    """``precision@k``, ``recall@k``, ``ndcg@k`` and ``map@k`` for every ``k`` in ``ks``.

    Parameters
    ----------
    top_items : numpy.ndarray
        ``(n_users, >= max(ks))`` item indices, best first (seen items already removed).
    relevant : sequence of collections of int
        Row-aligned relevant items.
    ks : iterable of int
        Cut-offs.
    prefix : str
        Put before every key, e.g. ``"popularity_"``.

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> import numpy as np
    >>> sorted(ranking_metrics(np.array([[0, 1]]), [{0}], ks=(1,), prefix="p_"))
    ['p_map@1', 'p_ndcg@1', 'p_precision@1', 'p_recall@1']
    """
    result: dict[str, float] = {}
    for k in ks:
        result[f"{prefix}precision@{k}"] = precision_at_k(top_items, relevant, k)
        result[f"{prefix}recall@{k}"] = recall_at_k(top_items, relevant, k)
        result[f"{prefix}ndcg@{k}"] = ndcg_at_k(top_items, relevant, k)
        result[f"{prefix}map@{k}"] = map_at_k(top_items, relevant, k)
    return result


def top_k_excluding(scores: np.ndarray, seen: Sequence[Collection[int]], k: int) -> np.ndarray:
    """The ``k`` best-scored item indices per row, with each row's ``seen`` items removed.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(n_users, n_items)`` scores; it is not modified.
    seen : sequence of collections of int
        Row-aligned items never to return.
    k : int
        How many to return (at most ``n_items``).

    Returns
    -------
    numpy.ndarray
        ``(n_users, k)`` int64 indices, best first (ties broken by the lower index).

    Examples
    --------
    >>> import numpy as np
    >>> top_k_excluding(np.array([[0.1, 0.9, 0.5, 0.7]]), [{1}], 2)
    array([[3, 2]])
    """
    masked = np.array(scores, dtype=np.float64, copy=True)
    for row, items in enumerate(seen):
        if items:
            masked[row, list(items)] = -np.inf
    k = min(k, masked.shape[1])
    part = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(masked, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


__all__ = [
    "DEFAULT_KS",
    "map_at_k",
    "ndcg_at_k",
    "ndcg_per_user",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "top_k_excluding",
]
