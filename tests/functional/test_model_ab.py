"""Model A/B over the real app: an experiment whose variants name engagement (and two-tower)
versions; each user is served their variant's version, consistently; results per variant
carry the decision log's click-through."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from support.api import call
from support.model_drops import T0
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.experiments import variant_for
from learnloop.models.artifacts import artifact_prefix
from learnloop.models.cache import PRODUCTION_ALIAS
from learnloop.models.conversion import to_onnx
from learnloop.models.registration import register_model
from learnloop.predictors.features import ENGAGEMENT_FEATURES, engagement_matrix
from learnloop.users.pseudonym import pseudonymize

OLD, NEW = "20261120T093000Z", "20261121T093000Z"
ROW = {"quality_score": 0.8, "content_type": "educational", "posted_hour": 9, "length": "long"}
USERS = [f"user{i}" for i in range(24)]


def ridge(slope: float) -> Ridge:
    rng = np.random.default_rng(3)
    X = engagement_matrix(
        [
            {"quality_score": float(rng.random()), "posted_hour": 9, "length": "short"}
            for _ in range(100)
        ]
    )
    return Ridge(alpha=1.0).fit(X, 0.01 + slope * X[:, 0])


def publish(tables: Any, s3: Any, version: str, slope: float, *, production: bool) -> None:
    prefix = artifact_prefix("engagement", version)
    onnx = to_onnx(ridge(slope), list(ENGAGEMENT_FEATURES))
    s3.put_object(Bucket=tables.settings.bucket, Key=f"{prefix}model.onnx", Body=onnx)
    status = "production" if production else "candidate"
    tables.models(
        "engagement", version, status=status, s3_prefix=prefix, created_at=T0.isoformat()
    ).save()
    if production:
        tables.models(
            "engagement", PRODUCTION_ALIAS, target=version, s3_prefix=prefix, created_at="x"
        ).save()


def start(
    client: Any, keys: dict[str, str], experiment_id: str, model: str, versions: list
) -> list:
    variants = [
        {"name": "control", "weight": 0.5, "models": {model: versions[0]}},
        {"name": "challenger", "weight": 0.5, "models": {model: versions[1]}},
    ]
    body = {"name": "A/B", "goal_event_type": "app.converted", "variants": variants}
    response = call(
        client,
        "PUT",
        f"/v1/admin/experiments/{experiment_id}",
        key=keys["admin"],
        body={**body, "status": "running"},
    )
    assert response.status_code == 200, response.body
    return variants


def test_each_user_gets_their_variants_engagement_version_every_time(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    publish(tables, s3, OLD, 0.05, production=True)
    publish(tables, s3, NEW, 0.5, production=False)
    variants = start(client, keys, "engagement-ab", "engagement", [OLD, NEW])
    served: dict[str, set[str]] = {}
    predictions: dict[str, float] = {}
    for _ in range(2):
        for user in USERS:
            response = call(
                client,
                "POST",
                "/v1/predict/engagement",
                key=keys["read"],
                body={"rows": [ROW], "user_id": user},
            )
            assert response.status_code == 200, response.body
            body = response.json_body
            expected = variant_for("engagement-ab", user, variants)
            assert body["variant"] == {"experiment_id": "engagement-ab", "variant": expected}
            assert body["version"] == (OLD if expected == "control" else NEW)
            served.setdefault(user, set()).add(body["version"])
            predictions[body["version"]] = body["predictions"][0]
    assert all(len(versions) == 1 for versions in served.values())  # consistent per user
    assert set().union(*served.values()) == {OLD, NEW}  # both versions serve someone
    assert predictions[NEW] > predictions[OLD]  # really two models, not two labels
    anonymous = call(
        client, "POST", "/v1/predict/engagement", key=keys["read"], body={"rows": [ROW]}
    )
    assert anonymous.json_body["version"] == OLD and "variant" not in anonymous.json_body


def test_an_unknown_variant_version_serves_production(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    publish(tables, s3, OLD, 0.05, production=True)
    start(client, keys, "broken-ab", "engagement", [OLD, "20991231T000000Z"])
    versions = {
        call(
            client,
            "POST",
            "/v1/predict/engagement",
            key=keys["read"],
            body={"rows": [ROW], "user_id": user},
        ).json_body["version"]
        for user in USERS
    }
    assert versions == {OLD}


@pytest.fixture
def two_towers(tables: Any, s3: Any) -> list[str]:
    versions = []
    for minute, seed in ((0, 0), (5, 1)):
        rng = np.random.default_rng(seed)
        data = TwoTowerData(
            item_keys=[f"meme#it{i}" for i in range(30)],
            item_matrix=rng.normal(size=(30, 8)).astype(np.float32),
            users=[pseudonymize(u, tables.settings.pseudonym_secret) for u in USERS],
            user_matrix=rng.normal(size=(len(USERS), 8)).astype(np.float32),
        )
        key = drop_two_tower(tables, s3, data, minute=minute, metrics={"ndcg@10": 0.3})
        result = register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0)
        versions.append(result.version)
    return versions


def test_recommendation_variants_are_logged_and_results_carry_their_ctr(
    client: Any, keys: dict[str, str], tables: Any, two_towers: list[str]
) -> None:
    variants = start(client, keys, "ranker-ab", "two_tower", two_towers)
    clicked = {"control": 0, "challenger": 0}
    shown = {"control": 0, "challenger": 0}
    for i, user in enumerate(USERS):
        response = call(
            client,
            "GET",
            f"/v1/recommendations?{urlencode({'user_id': user, 'k': 3})}",
            key=keys["read"],
        )
        assert response.status_code == 200, response.body
        body = response.json_body
        expected = variant_for("ranker-ab", user, variants)
        assert body["variant"]["variant"] == expected
        assert body["version"] == two_towers[0 if expected == "control" else 1]
        shown[expected] += 3
        if i % 2 == 0:
            feedback = {"decision_id": body["decision_id"], "type": "click"}
            assert (
                call(client, "POST", "/v1/feedback", key=keys["ingest"], body=feedback).status_code
                == 200
            )
            clicked[expected] += 1
    result = call(client, "GET", "/v1/admin/experiments/ranker-ab", key=keys["admin"]).json_body
    per_variant = result["results"]["decisions"]
    for name in ("control", "challenger"):
        [group] = per_variant[name]["by_policy"]
        assert group["variant"] == f"ranker-ab:{name}"
        assert (group["clicks"], group["impressions"]) == (clicked[name], shown[name])


def test_sentiment_variants_serve_their_head(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    from support.sentiment import drop_sentiment, drop_text_encoder, labelled_texts, register

    key, encoder = drop_text_encoder(tables, s3)
    assert register(tables, s3, key).status == "production"
    texts, labels = labelled_texts(20)
    heads = []
    for minute, seed_texts in ((1, (texts, labels)), (2, labelled_texts(20, seed=1))):
        manifest = drop_sentiment(
            tables, s3, *seed_texts, minute=minute, source="holdout", encoder_version=encoder
        )
        result = register(tables, s3, manifest)
        assert result.status in ("production", "candidate", "archived"), result.reason
        heads.append(result.version)
    variants = start(client, keys, "sentiment-ab", "sentiment", heads)
    for user in USERS[:12]:
        body = {"texts": ["the coin up"], "user_id": user}
        first = call(client, "POST", "/v1/sentiment", key=keys["read"], body=body).json_body
        again = call(client, "POST", "/v1/sentiment", key=keys["read"], body=body).json_body
        expected = variant_for("sentiment-ab", user, variants)
        assert first["variant"]["variant"] == expected
        assert first["version"] == again["version"] == heads[0 if expected == "control" else 1]
