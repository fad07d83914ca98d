"""Timestamps at the edges of time and numbers JSON can carry but we cannot store (issue 18).

Every route's body goes through the same parser and the same ``UtcDatetime`` type, so these
edge cases are 422s naming the field, never 500s, and nothing odd is ever stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.api import call, fields_of

EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",  # overflows when moved to UTC
    "0001-01-01T00:00:00Z",  # stored as "1-01-01T..." before
    "9999-12-31T23:59:59-14:00",  # overflows the other way
    "1969-12-31T23:59:59Z",
    "1990-06-01T00:00:00Z",  # parses, but older than the oldest age allowed
]

# (method, path, body with the timestamp in ``{t}``, the field it sits in)
TIMED_BODIES = [
    (
        "PUT",
        "/v1/reactions",
        {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"},
        "occurred_at",
    ),
    ("POST", "/v1/events", None, "events[0].occurred_at"),
    ("POST", "/v1/outcomes", {"decision_id": "d1", "impressions": 10}, "outcomes[0].collected_at"),
    ("POST", "/v1/insights", {"insight_id": "i1", "user_id": "u1", "insight_type": "t"}, None),
    ("POST", "/v1/insights/i1/feedback", {"user_id": "u1", "helpful": True}, "occurred_at"),
    ("PUT", "/v1/content/d1", {}, "posted_at"),
]


def timed(body: dict[str, Any] | None, field: str | None, value: str) -> dict[str, Any]:
    if body is None:  # events
        return {"events": [{"type": "x.y", "user_id": "u1", "occurred_at": value}]}
    name = (field or "created_at").removeprefix("outcomes[0].")
    return {**body, name: value}


@pytest.mark.parametrize(("method", "path", "body", "field"), TIMED_BODIES)
def test_times_at_the_edges_are_422_naming_the_field(
    client: Any, keys: dict[str, str], method: str, path: str, body: Any, field: str | None
) -> None:
    for value in EDGE_TIMES:
        if path == "/v1/content/d1" and value.startswith("1990"):
            continue  # a post's date is metadata, not an event: only the absolute bounds apply
        response = call(client, method, path, key=keys["admin"], body=timed(body, field, value))
        assert response.status_code == 422, (path, value, response.body)
        assert (field or "created_at") in fields_of(response), (path, value)


def test_the_oldest_age_is_a_setting(settings: Any, tables: Any, _dynamodb_client: Any) -> None:
    from datetime import UTC, datetime

    from learnloop.exceptions import ValidationError
    from learnloop.ingest.reactions import put_reaction
    from learnloop.store import Tables

    now = datetime(2026, 12, 1, tzinfo=UTC)
    body = {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"}
    week_old = {**body, "occurred_at": "2026-11-24T00:00:00Z"}
    assert put_reaction(tables, week_old, now=now)["reaction"] == "like"
    strict = Tables(settings.with_overrides(max_event_age_days=1), dynamodb_client=_dynamodb_client)
    with pytest.raises(ValidationError) as caught:
        put_reaction(strict, week_old, now=now)
    assert caught.value.details[0]["field"] == "occurred_at"
    assert "more than 1 days old" in caught.value.details[0]["message"]


def test_the_default_oldest_age_comes_from_the_environment() -> None:
    from learnloop.settings import Settings

    assert Settings.from_env({}).max_event_age_days == 3650
    assert Settings.from_env({"LEARNLOOP_MAX_EVENT_AGE_DAYS": "30"}).max_event_age_days == 30


def test_stored_timestamps_are_fixed_width_and_ordered() -> None:
    from datetime import UTC, datetime

    from learnloop.clock import iso

    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000Z"
    assert iso(datetime(999, 1, 1, tzinfo=UTC)) < iso(datetime(1970, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    # Non-finite, and finite but too large for DynamoDB (it refuses them on write).
    "literal",
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1e130", "-2.5e126"],
)
def test_non_finite_numbers_in_snapshots_and_properties_are_refused_not_stored(
    client: Any, keys: dict[str, str], tables: Any, literal: str
) -> None:
    key = keys["admin"]
    reaction = (
        '{"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like", '
        '"content": {"title": "cat", "score": NUMBER}}'
    )
    response = call(
        client, "PUT", "/v1/reactions", key=key, raw=reaction.replace("NUMBER", literal).encode()
    )
    assert response.status_code == 422 and fields_of(response) == {"content.score"}
    events = (
        '{"events": [{"type": "x.y", "user_id": "u1", "occurred_at": "2026-11-20T10:00:00Z", '
        '"properties": {"price": NUMBER}}]}'
    )
    response = call(
        client, "POST", "/v1/events", key=key, raw=events.replace("NUMBER", literal).encode()
    )
    assert response.status_code == 422 and fields_of(response) == {"events[0].properties.price"}
    insight = (
        '{"insight_id": "i1", "user_id": "u1", "insight_type": "t", "properties": {"p": [NUMBER]}}'
    )
    response = call(
        client, "POST", "/v1/insights", key=key, raw=insight.replace("NUMBER", literal).encode()
    )
    assert response.status_code == 422 and fields_of(response) == {"properties.p[0]"}
    assert list(tables.reactions.scan()) == []
    assert list(tables.events.scan()) == []
    assert list(tables.insights.scan()) == []


def test_numbers_too_small_to_store_are_zero_in_every_field(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    # DynamoDB refuses magnitudes under 1e-130 ("Number underflow"); schemathesis found a 500
    # on a pattern occurrence's confidence of 3.7e-173. Read as zero anywhere, as typed scores
    # already were; the largest storable numbers pass unchanged.
    for i, literal in enumerate(["3.7e-173", "-1e-400", "0", "9.9e125"]):
        reaction = (
            f'{{"user_id": "u{i}", "content_type": "meme", "external_id": "m1", '
            f'"reaction": "like", "content": {{"score": {literal}}}}}'
        )
        response = call(client, "PUT", "/v1/reactions", key=keys["admin"], raw=reaction.encode())
        assert response.status_code == 200, (literal, response.body)
    scores = {r.user_id: r.content["score"] for r in tables.reactions.scan()}
    assert scores == {"u0": 0, "u1": 0, "u2": 0, "u3": pytest.approx(9.9e125)}
    occurrence = {"user_id": "u1", "pattern_type": "fomo", "confidence": 3.7e-173}
    response = call(client, "POST", "/v1/journal/occurrences", key=keys["ingest"], body=occurrence)
    assert response.status_code == 200, response.body
