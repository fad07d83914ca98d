"""Content metadata, outcomes and insights."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import call, error_of, fields_of

CONTENT = {
    "posted_at": "2026-11-20T09:00:00Z",
    "content_type": "educational",
    "bandit_arm": "hook:question",
    "quality_score": 0.7,
    "novelty_score": 0.4,
    "expertise_level": 0.6,
    "text": "Why do most traders lose money?",
}


def test_content_put_replaces_but_keeps_created_at(client: Any, keys: dict, tables: Any) -> None:
    first = call(client, "PUT", "/v1/content/d-1", key=keys["ingest"], body=CONTENT)
    body = {k: v for k, v in CONTENT.items() if k != "text"} | {"quality_score": 0.9}
    second = call(client, "PUT", "/v1/content/d-1", key=keys["ingest"], body=body)
    assert first.status_code == second.status_code == 200
    assert second.json_body["created_at"] == first.json_body["created_at"]
    stored = tables.content.get("d-1")
    assert stored.quality_score == 0.9
    assert stored.text is None  # PUT replaces: a field left out is removed
    assert stored.posted_at == "2026-11-20T09:00:00.000000Z"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quality_score": 1.5}, "quality_score"),
        ({"posted_at": "2026-11-20T09:00:00"}, "posted_at"),  # no timezone
        ({"length": "huge"}, "length"),
        ({"quality_score": "high"}, "quality_score"),
    ],
)
def test_content_validation(client: Any, keys: dict, change: dict, field: str) -> None:
    response = call(client, "PUT", "/v1/content/d-1", key=keys["ingest"], body=CONTENT | change)
    assert response.status_code == 422
    assert fields_of(response) == {field}


@pytest.mark.parametrize("decision_id", ["..", "a%20b", "%2e%2e%2fetc"])
def test_content_ids_are_checked(client: Any, keys: dict, decision_id: str) -> None:
    response = call(client, "PUT", f"/v1/content/{decision_id}", key=keys["ingest"], body=CONTENT)
    assert response.status_code == 422
    assert fields_of(response) == {"decision_id"}


def test_outcome_stores_the_engagement_rate(client: Any, keys: dict, tables: Any) -> None:
    outcome = {
        "decision_id": "d-1",
        "collected_at": "2026-11-21T09:00:00Z",
        "impressions": 400,
        "likes": 10,
        "retweets": 4,
        "replies": 2,
        "bookmarks": 3,
        "followers_gained": 1,
        "viral_score": 12.5,
    }
    response = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=outcome)
    again = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=outcome)
    assert response.status_code == again.status_code == 200
    assert response.json_body["outcomes"][0]["engagement_rate"] == pytest.approx(16 / 400)
    stored = list(tables.outcomes.query("d-1"))
    assert len(stored) == 1
    assert stored[0].engagement_rate == pytest.approx(0.04)


def test_outcome_batch_with_zero_impressions(client: Any, keys: dict, tables: Any) -> None:
    batch = {
        "outcomes": [
            {
                "decision_id": "d-1",
                "collected_at": "2026-11-21T09:00:00Z",
                "impressions": 0,
                "likes": 2,
            },
            {
                "decision_id": "d-2",
                "collected_at": "2026-11-21T09:00:00Z",
                "impressions": 10,
                "likes": 1,
            },
        ]
    }
    response = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=batch)
    assert response.json_body["accepted"] == 2
    assert tables.outcomes.get("d-1", "2026-11-21T09:00:00.000000Z").engagement_rate == 0
    assert tables.outcomes.get("d-2", "2026-11-21T09:00:00.000000Z").engagement_rate == 0.1


def test_invalid_outcome_batch_names_index_and_stores_nothing(
    client: Any, keys: dict, tables: Any
) -> None:
    batch = {
        "outcomes": [
            {"decision_id": "d-1", "impressions": 10},
            {"decision_id": "d-2", "impressions": -1, "viral_score": 101},
        ]
    }
    response = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=batch)
    assert response.status_code == 422
    assert fields_of(response) == {"outcomes[1].impressions", "outcomes[1].viral_score"}
    assert {d["index"] for d in error_of(response)["details"]} == {1}
    assert list(tables.outcomes.scan()) == []


def test_insight_feedback(client: Any, keys: dict, tables: Any) -> None:
    insight = {"insight_id": "i-1", "user_id": "u1", "insight_type": "risk", "text": "Slow down."}
    assert call(client, "POST", "/v1/insights", key=keys["ingest"], body=insight).status_code == 200
    for helpful in (True, False):
        response = call(
            client,
            "POST",
            "/v1/insights/i-1/feedback",
            key=keys["ingest"],
            body={"user_id": "u2", "helpful": helpful},
        )
        assert response.status_code == 200
    records = list(tables.insights.query("i-1"))
    assert sorted(r.record for r in records) == ["feedback#u2", "insight"]
    assert next(r for r in records if r.record == "feedback#u2").helpful is False


def test_feedback_on_unknown_insight_is_404(client: Any, keys: dict) -> None:
    response = call(
        client,
        "POST",
        "/v1/insights/nope/feedback",
        key=keys["ingest"],
        body={"user_id": "u2", "helpful": True},
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_scores_too_small_for_dynamodb_are_stored_as_zero(
    client: Any, keys: dict, tables: Any
) -> None:
    # DynamoDB refuses numbers of magnitude below 1e-130; schemathesis found this 500.
    outcome = {"decision_id": "d-tiny", "impressions": 10, "viral_score": 5e-324}
    response = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=outcome)
    assert response.status_code == 200
    assert [o.viral_score for o in tables.outcomes.query("d-tiny")] == [0]
    content = {"posted_at": "2026-11-21T09:00:00Z", "quality_score": 1e-200}
    response = call(client, "PUT", "/v1/content/d-tiny", key=keys["ingest"], body=content)
    assert response.status_code == 200
    assert tables.content.get("d-tiny").quality_score == 0
