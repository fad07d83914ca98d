"""The model lifecycle through the app: S3 drop trigger → registry → admin routes → predictions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from support.api import call, error_of, fields_of
from support.model_drops import drop

from learnloop_tools.local.s3_events import object_created_event


def deliver(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Invoke the app's S3-drop trigger the way EventBridge would."""
    response = client.lambda_.invoke("on_model_dropped", object_created_event(bucket, key))
    return response.payload  # type: ignore[no-any-return]


def test_drops_register_and_admins_can_roll_back_and_promote(
    client: Any, tables: Any, s3: Any, keys: dict
) -> None:
    bucket = tables.settings.bucket
    first = deliver(client, bucket, drop(tables, s3, minute=0, metrics={"r2": 0.5}))
    second_key = drop(tables, s3, minute=1, metrics={"r2": 0.6})
    second = deliver(client, bucket, second_key)
    again = deliver(client, bucket, second_key)  # EventBridge delivers at least once
    assert first[0]["promoted"] and second[0]["promoted"]
    assert again[0]["duplicate"] is True
    v1, v2 = first[0]["version"], second[0]["version"]

    listed = call(client, "GET", "/v1/models", key=keys["admin"]).json_body["models"]
    assert listed["engagement"]["production"] == v2

    back = call(
        client,
        "POST",
        "/v1/models/engagement/rollback",
        key=keys["admin"],
        body={"reason": "bad canary"},
    )
    assert back.status_code == 200, back.body
    assert (back.json_body["from"], back.json_body["to"]) == (v2, v1)
    forward = call(
        client,
        "POST",
        "/v1/models/engagement/promote",
        key=keys["admin"],
        body={"version": v2, "reason": "fixed upstream"},
    )
    assert forward.json_body["to"] == v2
    history = call(client, "GET", "/v1/models", key=keys["admin"]).json_body["models"][
        "engagement"
    ]["history"]
    assert [h["reason"] for h in history[:2]] == ["fixed upstream", "bad canary"]
    assert "test-admin" in history[0]["actor"]


def test_model_routes_need_admin_and_valid_input(client: Any, keys: dict) -> None:
    assert call(client, "GET", "/v1/models", key=keys["read"]).status_code == 403
    missing = call(
        client,
        "POST",
        "/v1/models/engagement/promote",
        key=keys["admin"],
        body={"version": "20260101T000000Z"},
    )
    assert missing.status_code == 404
    bad = call(
        client, "POST", "/v1/models/engagement/promote", key=keys["admin"], body={"version": "../x"}
    )
    assert bad.status_code == 422 and fields_of(bad) == {"version"}
    none = call(client, "POST", "/v1/models/engagement/rollback", key=keys["admin"])
    assert none.status_code in (404, 409)
    assert error_of(none)["code"] in ("not_found", "conflict")


def test_a_learned_model_serves_predictions_equal_to_scikit_learns(
    client: Any, tables: Any, s3: Any, keys: dict
) -> None:
    from learnloop.predictors.estimators import train_engagement_model
    from learnloop.predictors.features import engagement_matrix
    from learnloop.predictors.training import publish

    rng = np.random.default_rng(3)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        {
            "quality_score": float(q),
            "content_type": "educational",
            "posted_hour": int(h),
            "length": "short",
        }
        for q, h in zip(rng.uniform(size=200), rng.integers(0, 24, size=200), strict=True)
    ]
    targets = [0.01 + 0.05 * r["quality_score"] + float(rng.normal(0, 0.002)) for r in rows]
    stamps = [t0 + timedelta(hours=i) for i in range(200)]
    trained = train_engagement_model(rows, targets, stamps)
    no_model = call(
        client, "POST", "/v1/predict/engagement", key=keys["read"], body={"rows": rows[:3]}
    )
    assert no_model.status_code == 409
    published = publish(tables, s3, trained, t0 + timedelta(days=9))
    assert deliver(client, tables.settings.bucket, published["manifest_key"])[0]["promoted"]

    response = call(
        client, "POST", "/v1/predict/engagement", key=keys["read"], body={"rows": rows[:50]}
    )
    assert response.status_code == 200, response.body
    assert response.json_body["version"] == published["version"]
    expected = trained.estimator.predict(engagement_matrix(rows[:50]))
    assert np.allclose(response.json_body["predictions"], expected, atol=1e-5)
    bad = call(
        client,
        "POST",
        "/v1/predict/engagement",
        key=keys["read"],
        body={"rows": [{**rows[0], "posted_hour": 24}]},
    )
    assert bad.status_code == 422 and fields_of(bad) == {"rows[0].posted_hour"}


@pytest.mark.parametrize("path", ["/v1/predict/engagement", "/v1/predict/follow-through"])
def test_predict_routes_need_the_read_scope(client: Any, keys: dict, path: str) -> None:
    assert call(client, "POST", path, key=keys["ingest"], body={"rows": []}).status_code == 403
