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


def test_admins_see_and_pin_the_evaluation_set(
    client: Any, tables: Any, s3: Any, keys: dict[str, str]
) -> None:
    from support.api import call, fields_of

    truth = random_data(n_users=6, n_items=10, seed=1)
    missing = call(client, "GET", "/v1/models/two_tower/evaluation", key=keys["admin"])
    assert missing.status_code == 404
    first = write_pairs_set(tables, s3, best_items(truth, k=2))
    register(tables, s3, drop_two_tower(tables, s3, truth, minute=0, evaluation=first))
    shown = call(client, "GET", "/v1/models/two_tower/evaluation", key=keys["admin"])
    assert shown.status_code == 200 and shown.json_body["set"] == first
    pinned = write_pairs_set(tables, s3, best_items(truth, k=1), source="domain")
    body = {"key": pinned["key"], "sha256": pinned["sha256"], "source": "domain"}
    put = call(client, "PUT", "/v1/models/two_tower/evaluation", key=keys["admin"], body=body)
    assert put.status_code == 200, put.body
    assert put.json_body["set"] == pinned and put.json_body["pinned"] is True
    assert put.json_body["history"][-1]["set"] == first
    # A later domain set does not replace a pinned one.
    later = write_pairs_set(tables, s3, best_items(truth, k=3), source="domain")
    register(tables, s3, drop_two_tower(tables, s3, truth, minute=1, evaluation=later))
    assert registered_set(tables, "two_tower")["set"] == pinned
    wrong = {**body, "sha256": "0" * 64}
    bad = call(client, "PUT", "/v1/models/two_tower/evaluation", key=keys["admin"], body=wrong)
    assert bad.status_code == 422 and "key" in fields_of(bad)
    assert (
        call(client, "GET", "/v1/models/two_tower/evaluation", key=keys["read"]).status_code == 403
    )


def test_a_corrupt_domain_set_is_never_registered(tables: Any, s3: Any) -> None:
    truth = random_data(n_users=6, n_items=10, seed=1)
    first = write_pairs_set(tables, s3, best_items(truth, k=2))
    register(tables, s3, drop_two_tower(tables, s3, truth, minute=0, evaluation=first))
    domain = write_pairs_set(tables, s3, best_items(truth, k=1), source="domain")
    broken = {**domain, "sha256": "e" * 64}
    result = register(tables, s3, drop_two_tower(tables, s3, truth, minute=1, evaluation=broken))
    assert result.status == "candidate" and "sha256" in (result.reason or "")
    assert registered_set(tables, "two_tower")["set"] == first
