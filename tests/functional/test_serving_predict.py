"""Predictions from a production ONNX model written to moto's S3 and DynamoDB over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from learnloop.exceptions import ConflictError, NoProductionModelError, ValidationError
from learnloop.models.artifacts import artifact_prefix, to_onnx
from learnloop.models.cache import PRODUCTION_ALIAS, ModelCache, S3ModelLoader
from learnloop.predictors import estimators, predict
from learnloop.predictors.features import (
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
)

VERSION = "20261120T093000Z"

ENGAGEMENT_ROWS: list[dict[str, Any]] = [
    {"quality_score": 0.8, "content_type": "educational", "posted_hour": 9, "length": "long"},
    {"quality_score": 0.3, "content_type": "factual", "posted_hour": 14, "length": "medium"},
    {"quality_score": 0.55, "content_type": "meme", "posted_hour": 23, "length": "short"},
    {"quality_score": 1, "posted_hour": 0, "length": "short"},
]
FOLLOW_ROWS: list[dict[str, Any]] = [
    {"novelty_score": 0.9, "expertise_level": 0.2, "viral_score": 80},
    {"novelty_score": 0.1, "expertise_level": 0.7, "viral_score": 5.5},
    {"novelty_score": 0, "expertise_level": 1, "viral_score": 100},
]


def _publish(tables: Any, s3: Any, name: str, onnx: bytes) -> None:
    prefix = artifact_prefix(name, VERSION)
    s3.put_object(Bucket=tables.settings.bucket, Key=f"{prefix}model.onnx", Body=onnx)
    tables.models(
        name, PRODUCTION_ALIAS, target=VERSION, s3_prefix=prefix, created_at="2026-11-20"
    ).save()


@pytest.fixture(scope="module")
def ridge() -> Ridge:
    rng = np.random.default_rng(7)
    X = engagement_matrix(
        [
            {
                "quality_score": float(rng.random()),
                "content_type": str(rng.choice(["educational", "factual", "meme", "promotional"])),
                "posted_hour": int(rng.integers(0, 24)),
                "length": str(rng.choice(["short", "medium", "long"])),
            }
            for _ in range(200)
        ]
    )
    y = 0.01 + 0.05 * X[:, 0] + 0.01 * X[:, 1] + rng.normal(0, 0.005, len(X))
    return Ridge(alpha=1.0).fit(X, y)


@pytest.fixture(scope="module")
def logistic() -> LogisticRegression:
    rng = np.random.default_rng(8)
    X = rng.random((200, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 2] + rng.normal(0, 0.2, 200) > 1).astype(int)
    return LogisticRegression().fit(X, y)


@pytest.fixture
def cache(tables: Any, s3: Any) -> ModelCache:
    return ModelCache(S3ModelLoader(tables, s3))


def test_model_names_match_the_trainers() -> None:
    assert predict.ENGAGEMENT_MODEL == estimators.ENGAGEMENT_MODEL
    assert predict.FOLLOW_THROUGH_MODEL == estimators.FOLLOW_THROUGH_MODEL


def test_engagement_predictions_match_scikit_learn(
    tables: Any, s3: Any, cache: ModelCache, ridge: Ridge
) -> None:
    _publish(tables, s3, "engagement", to_onnx(ridge, ENGAGEMENT_FEATURES))
    reply = predict.predict_engagement(cache, {"rows": ENGAGEMENT_ROWS})
    assert (reply["model"], reply["version"]) == ("engagement", VERSION)
    expected = ridge.predict(engagement_matrix(ENGAGEMENT_ROWS))
    np.testing.assert_allclose(reply["predictions"], expected, atol=1e-5)
    assert all(isinstance(p, float) for p in reply["predictions"])
    json.dumps(reply)


def test_follow_through_predictions_are_probabilities_of_class_one(
    tables: Any, s3: Any, cache: ModelCache, logistic: LogisticRegression
) -> None:
    _publish(tables, s3, "follow_through", to_onnx(logistic, FOLLOW_THROUGH_FEATURES))
    reply = predict.predict_follow_through(cache, {"rows": FOLLOW_ROWS})
    assert (reply["model"], reply["version"]) == ("follow_through", VERSION)
    expected = logistic.predict_proba(follow_through_matrix(FOLLOW_ROWS))[:, 1]
    np.testing.assert_allclose(reply["predictions"], expected, atol=1e-5)


def test_services_build_the_cache_lazily(services: Any, tables: Any, s3: Any, ridge: Ridge) -> None:
    _publish(tables, s3, "engagement", to_onnx(ridge, ENGAGEMENT_FEATURES))
    assert services.model_cache is services.model_cache
    reply = predict.predict_engagement(services.model_cache, {"rows": ENGAGEMENT_ROWS[:1]})
    assert reply["version"] == VERSION


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": [ENGAGEMENT_ROWS[0], {**ENGAGEMENT_ROWS[0], "quality_score": 1.5}]},
         "rows[1].quality_score"),
        ({"rows": [{**ENGAGEMENT_ROWS[0], "posted_hour": 24}]}, "rows[0].posted_hour"),
        ({"rows": [{**ENGAGEMENT_ROWS[0], "posted_hour": 9.0}]}, "rows[0].posted_hour"),
        ({"rows": [{**ENGAGEMENT_ROWS[0], "length": "huge"}]}, "rows[0].length"),
        ({"rows": [{**ENGAGEMENT_ROWS[0], "quality_score": True}]}, "rows[0].quality_score"),
        ({"rows": [{**ENGAGEMENT_ROWS[0], "colour": "red"}]}, "rows[0].colour"),
        ({"rows": [{"content_type": "factual", "posted_hour": 1, "length": "short"}]},
         "rows[0].quality_score"),
        ({"rows": []}, "rows"),
        ({"rows": [ENGAGEMENT_ROWS[0]] * 1001}, "rows"),
        ([ENGAGEMENT_ROWS[0]], "body"),
    ],
)  # fmt: skip
def test_bad_engagement_bodies_name_the_field(cache: ModelCache, body: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        predict.predict_engagement(cache, body)
    assert info.value.status == 422
    assert field in [d["field"] for d in info.value.details]


def test_bad_follow_through_rows_name_the_field(cache: ModelCache) -> None:
    rows = [FOLLOW_ROWS[0], {**FOLLOW_ROWS[1], "viral_score": 101}, {"novelty_score": -0.1}]
    with pytest.raises(ValidationError) as info:
        predict.predict_follow_through(cache, {"rows": rows})
    fields = {d["field"] for d in info.value.details}
    assert {"rows[1].viral_score", "rows[2].novelty_score", "rows[2].viral_score"} <= fields


def test_no_production_alias_is_a_conflict(cache: ModelCache) -> None:
    with pytest.raises(NoProductionModelError) as info:
        predict.predict_engagement(cache, {"rows": ENGAGEMENT_ROWS[:1]})
    assert isinstance(info.value, ConflictError) and info.value.status == 409
    assert info.value.message == (
        "no production model for 'engagement' yet; run learn or promote one"
    )


def test_serving_imports_no_training_library() -> None:
    code = (
        "import json, sys\n"
        "import learnloop.predictors.predict, learnloop.models.cache\n"
        "import learnloop.predictors.features\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "learnloop" in loaded and "numpy" in loaded
    assert loaded.isdisjoint({"sklearn", "torch", "sentence_transformers", "skl2onnx"})
