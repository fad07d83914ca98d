"""Admin reads: daily stats by key (never a Scan), bandit posteriors, drift alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from support.api import call, error_of, fields_of

from learnloop.drift.ledger import LATEST_KEY
from learnloop.rollups.job import rollup_day
from learnloop.rollups.stats import MAX_RANGE_DAYS

DAY1, DAY2 = date(2026, 11, 19), date(2026, 11, 20)


@contextmanager
def operations(client: Any) -> Iterator[list[str]]:
    """The DynamoDB operations the shared client sends meanwhile (botocore's event hooks)."""
    seen: list[str] = []

    def hook(model: Any, **kwargs: Any) -> None:
        seen.append(model.name)

    client.meta.events.register("before-call.dynamodb", hook)
    try:
        yield seen
    finally:
        client.meta.events.unregister("before-call.dynamodb", hook)


def events_on(day: date, types: list[str]) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_id": f"{day}-{i}",
                "type": kind,
                "user_id": f"u{i % 3}",
                "occurred_at": f"{day.isoformat()}T10:{i:02d}:00Z",
                "properties": {"alert_id": f"a{i}"} if kind.startswith("alert") else {},
            }
            for i, kind in enumerate(types)
        ]
    }


@pytest.fixture
def rolled_up(client: Any, keys: dict[str, str], tables: Any) -> None:
    ingest = keys["ingest"]
    posted = call(
        client,
        "POST",
        "/v1/events",
        key=ingest,
        body=events_on(DAY1, ["alert_shown", "alert_shown", "myapp.opened"]),
    )
    assert posted.status_code == 200, posted.body
    call(client, "POST", "/v1/events", key=ingest, body=events_on(DAY2, ["alert_shown"]))
    for user, item, value in [("u1", "m1", "like"), ("u2", "m1", "dislike"), ("u1", "n1", "like")]:
        content_type = "meme" if item.startswith("m") else "news"
        reaction = {
            "user_id": user,
            "content_type": content_type,
            "external_id": item,
            "reaction": value,
            "occurred_at": f"{DAY2.isoformat()}T09:00:00Z",
        }
        assert call(client, "PUT", "/v1/reactions", key=ingest, body=reaction).status_code == 200
    rollup_day(tables, DAY1)
    rollup_day(tables, DAY2)


def test_stats_returns_each_day_and_the_sums_by_key_reads_only(
    client: Any, keys: dict[str, str], rolled_up: None, _dynamodb_client: Any
) -> None:
    with operations(_dynamodb_client) as seen:
        response = call(
            client, "GET", "/v1/admin/stats?from=2026-11-18&to=2026-11-20", key=keys["admin"]
        )
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert [d["date"] for d in body["days"]] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert body["days"][0]["stats"] is None, "a day never rolled up"
    assert body["days"][1]["stats"]["events_by_type"] == {"alert_shown": 2, "myapp.opened": 1}
    assert body["totals"]["events_by_type"] == {"alert_shown": 3, "myapp.opened": 1}
    assert body["totals"]["reactions_by_content_type"] == {
        "meme": {"dislike": 1, "like": 1},
        "news": {"dislike": 0, "like": 1},
    }
    assert body["totals"]["days_with_stats"] == 2
    assert "Scan" not in seen and "Query" not in seen
    assert "BatchGetItem" in seen


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-21&to=2026-11-20", "from"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("to=0001-01-05", "to"),
        ("from=9999-12-31", "from"),
        ("since=2026-11-01", "since"),
    ],
)
def test_bad_or_oversized_ranges_are_422_naming_the_field(
    client: Any, keys: dict[str, str], query: str, field: str
) -> None:
    response = call(client, "GET", f"/v1/admin/stats?{query}", key=keys["admin"])
    assert response.status_code == 422, response.body
    assert field in fields_of(response)


def test_the_longest_range_is_accepted_and_the_default_is_30_days(
    client: Any, keys: dict[str, str]
) -> None:
    longest = call(
        client, "GET", "/v1/admin/stats?from=2024-01-01&to=2024-12-31", key=keys["admin"]
    )
    assert longest.status_code == 200
    assert len(json.loads(longest.body)["days"]) == MAX_RANGE_DAYS
    default = json.loads(call(client, "GET", "/v1/admin/stats", key=keys["admin"]).body)
    assert len(default["days"]) == 30
    assert default["to"] == date.today().isoformat() or default["to"] > date.today().isoformat()


def test_bandits_reports_beta_posteriors_and_ucb_stats_of_stored_arms(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    tables.bandit_arms("content", "hook:story", successes=30, failures=70, pulls=100).save()
    tables.bandit_arms("content", "hook:list", successes=2, failures=8, pulls=10).save()
    tables.bandit_arms("timing", "9", pulls=4, reward_sum=0.2).save()
    tables.bandit_arms("timing", "14", pulls=0, reward_sum=0).save()
    response = call(client, "GET", "/v1/admin/bandits", key=keys["admin"])
    assert response.status_code == 200, response.body
    scopes = json.loads(response.body)["scopes"]
    content = {a["arm"]: a for a in scopes["content"]["arms"]}
    assert scopes["content"]["policy"] == "thompson"
    assert (content["hook:story"]["alpha"], content["hook:story"]["beta"]) == (31.0, 71.0)
    assert content["hook:story"]["mean"] == pytest.approx(31 / 102, abs=1e-6)
    assert content["hook:list"]["ci_low"] < content["hook:list"]["mean"]
    assert content["hook:list"]["mean"] < content["hook:list"]["ci_high"]
    timing = scopes["timing"]["arms"]
    assert [a["arm"] for a in timing] == ["9", "14"], "hours in numeric order"
    assert timing[0]["mean_reward"] == pytest.approx(0.05)
    assert timing[0]["ucb"] > timing[0]["mean_reward"]
    assert timing[1]["ucb"] is None and timing[1]["mean_reward"] is None, "never pulled"


def test_bandits_with_no_arms_yet_are_empty_lists(client: Any, keys: dict[str, str]) -> None:
    body = json.loads(call(client, "GET", "/v1/admin/bandits", key=keys["admin"]).body)
    assert body["scopes"]["content"]["arms"] == [] and body["scopes"]["timing"]["arms"] == []


def test_alerts_say_no_check_yet_then_show_the_latest_check(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    first = json.loads(call(client, "GET", "/v1/admin/alerts", key=keys["admin"]).body)
    assert first == {"checked_at": None, "alerts": [], "skipped": {}, "actions": []}
    alert = {
        "model": "engagement",
        "feature": "quality_score",
        "metric": "psi",
        "value": 0.31,
        "threshold": 0.2,
        "message": "quality_score drifted (PSI 0.31)",
    }
    tables.ledger(
        LATEST_KEY,
        created_at="2026-11-20T01:00:00Z",
        value={
            "checked_at": "2026-11-20T01:00:00Z",
            "models": {
                "engagement": {"version": "v1", "features": {}},
                "follow_through": {"skipped": "12 rows in the last 7 days"},
            },
            "alerts": [alert],
        },
    ).save()
    second = json.loads(call(client, "GET", "/v1/admin/alerts", key=keys["admin"]).body)
    assert second == {
        "checked_at": "2026-11-20T01:00:00Z",
        "alerts": [alert],
        "skipped": {"follow_through": "12 rows in the last 7 days"},
        "actions": [],  # the check alerted, and drift acted on nothing: no action items
    }


def test_admin_reads_need_the_admin_scope(client: Any, keys: dict[str, str]) -> None:
    for path in ("/v1/admin/stats", "/v1/admin/bandits", "/v1/admin/alerts"):
        response = call(client, "GET", path, key=keys["read"])
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
