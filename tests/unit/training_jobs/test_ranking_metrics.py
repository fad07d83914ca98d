"""The ranking metrics against a plain per-user reference of the Recommenders definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training_jobs.metrics import (
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    top_k_excluding,
)


def reference(top: list[int], relevant: set[int], k: int) -> dict[str, float]:
    """One user's figures, written the long way."""
    hits = [item in relevant for item in top[:k]]
    dcg = sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
    idcg = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    ap = sum(sum(hits[: rank + 1]) / (rank + 1) for rank, hit in enumerate(hits) if hit)
    return {
        "precision": sum(hits) / k,
        "recall": sum(hits) / len(relevant),
        "ndcg": dcg / idcg,
        "map": ap / len(relevant),
    }


def test_metrics_match_the_reference_on_random_rankings() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items, k = 40, 30, 10
    top = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = [set(rng.choice(n_items, size=rng.integers(1, 15), replace=False).tolist())
                for _ in range(n_users)]  # fmt: skip
    per_user = [reference(list(t), r, k) for t, r in zip(top, relevant, strict=True)]
    expected = {
        name: float(np.mean([figures[name] for figures in per_user]))
        for name in ("precision", "recall", "ndcg", "map")
    }
    assert precision_at_k(top, relevant, k) == pytest.approx(expected["precision"])
    assert recall_at_k(top, relevant, k) == pytest.approx(expected["recall"])
    assert ndcg_at_k(top, relevant, k) == pytest.approx(expected["ndcg"])
    assert map_at_k(top, relevant, k) == pytest.approx(expected["map"])


def test_users_without_relevant_items_are_left_out_of_the_means() -> None:
    top = np.array([[0, 1], [2, 3]])
    assert precision_at_k(top, [{0, 1}, set()], 2) == 1.0
    assert ndcg_at_k(top, [{0, 1}, set()], 2) == 1.0
    assert ranking_metrics(top, [set(), set()], ks=(2,))["ndcg@2"] == 0.0


def test_map_is_normalised_by_the_relevant_items_not_by_k() -> None:
    # One hit at rank 1 of 10 relevant: AP = 1/10 (normalised by k=2 it would be 1/2).
    assert map_at_k(np.array([[0, 99]]), [set(range(10))], 2) == pytest.approx(0.1)
    # NDCG's ideal is capped at k: 2 hits in 2 slots is perfect even with 10 relevant.
    assert ndcg_at_k(np.array([[0, 1]]), [set(range(10))], 2) == pytest.approx(1.0)


def test_top_k_excluding_removes_seen_items_and_sorts_by_score() -> None:
    scores = np.array([[0.9, 0.1, 0.8, 0.3], [0.0, 0.5, 0.5, 0.2]])
    top = top_k_excluding(scores, [{0}, set()], 3)
    assert top.tolist() == [[2, 3, 1], [1, 2, 3]]  # ties → lower index first
    assert scores[0, 0] == 0.9  # not modified
