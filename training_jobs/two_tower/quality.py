"""Do the item embeddings separate? Cosine spread and agreement with co-occurrence neighbours.

Two figures, recorded in the manifest (``extra.embedding_quality``) and by
``bench/movielens.py``:

* ``cosine``: percentiles (5, 50, 95) of the cosine between distinct items' embeddings (a
  sample of pairs). Collapsed embeddings sit in a narrow band near 1 (issue 19 saw 0.89-0.93).
* ``cooccurrence_agreement@10``: for each item with enough co-occurrence neighbours, the share
  of its 10 most cosine-similar items that are among its 20 most frequent co-occurring items
  (users who liked both), averaged over those items. Only items with at least ``min_users``
  positives and at least 20 co-occurring items count, so rare items' noisy neighbour lists do
  not decide the figure.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> history = [set(rng.choice(30, 8, replace=False).tolist()) for _ in range(60)]
>>> report = similarity_report(rng.normal(size=(30, 8)), history, min_users=1)
>>> sorted(report)
['cooccurrence_agreement@10', 'cosine', 'items_scored']
>>> -1.0 <= report["cosine"]["p50"] <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["similarity_report"]


def similarity_report(
    item_matrix: np.ndarray,
    history: Sequence[set[int]],
    *,
    k: int = 10,
    neighbours: int = 20,
    min_users: int = 20,
    max_pairs: int = 200_000,
    random_state: int = 0,
    queries: np.ndarray | None = None,
) -> dict[str, Any]:
    """The cosine spread and co-occurrence agreement of ``item_matrix`` (see the module).

    Parameters
    ----------
    item_matrix : numpy.ndarray
        ``(n_items, d)`` item embeddings.
    history : sequence of set of int
        Each user's positive item rows.
    k, neighbours : int
        Top ``k`` by cosine checked against the top ``neighbours`` by co-occurrence.
    min_users : int
        Fewest positives an item needs to be scored.
    max_pairs : int
        Pairs sampled for the cosine percentiles.
    random_state : int
        Seed of that sample.
    queries : numpy.ndarray, optional
        ``(n_items, d)``: rank an item's neighbours by dot product with its row here (a
        model's item-item weights, as serving's ``/similar`` does for EASE) instead of by
        cosine; the cosine spread is still that of ``item_matrix``.

    Returns
    -------
    dict
        ``{"cosine": {"p5", "p50", "p95", "mean"}, "cooccurrence_agreement@10",
        "items_scored"}`` (agreement ``None`` when no item qualifies).
    """
    from scipy.sparse import csr_matrix

    vectors = np.asarray(item_matrix, dtype=np.float64)
    n_items = vectors.shape[0]
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    rng = np.random.default_rng(random_state)
    live = np.flatnonzero(norms > 0)
    a = rng.choice(live, size=max_pairs) if len(live) > 1 else np.empty(0, np.int64)
    b = rng.choice(live, size=max_pairs) if len(live) > 1 else np.empty(0, np.int64)
    distinct = a != b
    cosines = (unit[a[distinct]] * unit[b[distinct]]).sum(axis=1)
    spread: dict[str, float | None] = {"p5": None, "p50": None, "p95": None, "mean": None}
    if len(cosines):
        p5, p50, p95 = np.percentile(cosines, [5, 50, 95])
        spread = {
            "p5": float(p5),
            "p50": float(p50),
            "p95": float(p95),
            "mean": float(cosines.mean()),
        }

    rows = [u for u, items in enumerate(history) for _ in items]
    cols = [i for items in history for i in items]
    users_items = csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(history), n_items)
    )
    counts = np.asarray(users_items.sum(axis=0)).ravel()
    together = (users_items.T @ users_items).toarray()
    np.fill_diagonal(together, 0.0)
    shares = []
    for item in np.flatnonzero((counts >= min_users) & (norms > 0)):
        if np.count_nonzero(together[item]) < neighbours:
            continue
        # Ties at the co-occurrence cut-off are broken by item row (stable), as for cosines.
        near = set(np.argsort(-together[item], kind="stable")[:neighbours].tolist())
        scores = unit @ unit[item] if queries is None else vectors @ queries[item]
        scores[item] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        shares.append(len(near.intersection(top.tolist())) / k)
    return {
        "cosine": spread,
        f"cooccurrence_agreement@{k}": float(np.mean(shares)) if shares else None,
        "items_scored": len(shares),
    }
