"""Two-tower versions compared on the registered held-out set (issue 13, part 1)."""

from __future__ import annotations

from typing import Any

from support.model_drops import T0
from support.two_tower import best_items, drop_two_tower, random_data, write_pairs_set

from learnloop.models.promotion import registered_set
from learnloop.models.registration import register_model
from learnloop.models.registry import production_record


def register(tables: Any, s3: Any, key: str) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0)


def test_a_retrain_with_better_ndcg_on_the_common_set_is_promoted(tables: Any, s3: Any) -> None:
    truth = random_data(n_users=12, n_items=20, seed=1)
    # What the users went on to like: their best items under the true tastes.
    held_out = write_pairs_set(tables, s3, best_items(truth, k=2))
    first = register(
        tables,
        s3,
        drop_two_tower(
            tables,
            s3,
            random_data(n_users=12, n_items=20, seed=2),
            minute=0,
            metrics={"ndcg@10": 0.6},
            evaluation=held_out,
        ),
    )
    assert first.promoted
    assert registered_set(tables, "two_tower")["set"]["sha256"] == held_out["sha256"]
    own = write_pairs_set(tables, s3, best_items(truth, k=1)[:6])
    retrain = register(
        tables,
        s3,
        drop_two_tower(tables, s3, truth, minute=1, metrics={"ndcg@10": 0.4}, evaluation=own),
    )
    # Its own test NDCG is lower than production's own (the old rule kept production)...
    assert retrain.metrics["ndcg@10"] < first.metrics["ndcg@10"]
    # ...but on the registered held-out set it ranks what the users went on to like.
    assert (retrain.status, retrain.promoted) == ("production", True), retrain.reason
    comparison = retrain.comparison
    assert comparison["set"]["sha256"] == held_out["sha256"] and comparison["metric"] == "ndcg@10"
    assert comparison["candidate"] == 1.0 > comparison["production"]
    assert comparison["extra"]["candidate_hit_rate@10"] == 1.0
    assert comparison["own_set"]["set"]["sha256"] == own["sha256"]
    # a holdout set registers only while the name has none
    assert registered_set(tables, "two_tower")["set"]["sha256"] == held_out["sha256"]
    assert production_record(tables, "two_tower").target == retrain.version  # type: ignore[union-attr]


def test_users_a_model_does_not_know_get_the_popularity_order(tables: Any, s3: Any) -> None:
    from learnloop.models.evaluation import score_two_tower

    data = random_data(n_users=3, n_items=12, seed=4)
    popular = data.item_keys[int(max(range(12), key=lambda i: data.popularity[i]))]
    scores = score_two_tower(
        data.files(), _array(["stranger", "stranger"]), _array([popular, "meme#nope"])
    )
    assert scores.score() > 0.5  # the most popular item is ranked first for a stranger
    seen = {"stranger": {popular}}
    assert (
        score_two_tower(data.files(), _array(["stranger"]), _array([popular]), seen).score() == 0.0
    )  # what a user already reacted to is never recommended again


def _array(values: list[str]) -> Any:
    import numpy as np

    return np.asarray(values)
