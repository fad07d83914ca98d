"""The journal models end to end on moto: a small journal world's events in over HTTP, the
``learn`` job trains and publishes them, registration promotes them, the routes serve them,
drift watches them; and every route's validation, scope and refusal paths."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from support.api import call, error_of, fields_of

from learnloop.drift.check import drift_check
from learnloop.jobs.learn import learn
from learnloop.journal.features import JOURNAL_MODELS
from learnloop.models.registration import register_model
from learnloop_tools.demo.journal.world import JournalWorld

pytestmark = pytest.mark.heavy(30)  # seconds in CI: see tests/conftest.py

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 20
NOW = START + timedelta(days=DAYS)
ROUTES = (
    "outcome",
    "churn",
    "patterns/detected",
    "optimal-state",
    "behaviour-change",
    "insight-quality",
)
GOOD_QUERY = {
    "outcome": {"quantity": "2", "price": "100", "emotion": "calm", "side": "buy"},
    "churn": {},
    "patterns/detected": {"limit": "5"},
    "optimal-state": {},
    "behaviour-change": {"insight_type": "revenge_trading_warning"},
    "insight-quality": {"insight_type": "fomo_warning"},
}


@pytest.fixture
def settings(aws_endpoint: str) -> Any:
    from support.stage import new_stage_settings

    # one day shard and short windows: moto answers each index query by scanning the table
    return replace(
        new_stage_settings(aws_endpoint),
        day_shards=1,
        training_window_days=DAYS + 1,
        drift_window_days=3,
    )


def path(user: str, route: str, query: dict[str, str]) -> str:
    return f"/v1/journal/{user}/{route}" + (f"?{urlencode(query)}" if query else "")


def send_world(client: Any, keys: dict[str, str]) -> JournalWorld:
    # every warning rolled out in the first days: enough insights for the insight models
    world = JournalWorld.generate(n_traders=12, seed=7, start=START, rollout_days=(0, 6))
    rng = np.random.default_rng(0)
    events: list[dict[str, Any]] = []
    for index in range(DAYS):
        events += world.simulate_day(index, rng).events
    for start in range(0, len(events), 500):
        response = call(
            client,
            "POST",
            "/v1/events",
            key=keys["ingest"],
            body={"events": events[start : start + 500]},
        )
        assert response.status_code == 200, response.body
    return world


def test_learn_trains_publishes_and_serves_every_journal_model(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The data-quality counters are not what this test is about (test_data_quality.py covers
    # them) and were two thirds of its time: moto parses and validates every counter's update
    # (~50 ms each) and this world's trades fall in ~2,400 distinct user-minutes. A trading
    # world flags nothing (its busiest minute holds a handful of events), so skipping them
    # leaves every stored row, and so everything asserted below, as it was.
    monkeypatch.setattr("learnloop.ingest.events.record_rows", lambda *args, **kwargs: {})
    world = send_world(client, keys)
    result = learn(tables, NOW, s3=s3)
    trained = result.journal
    assert set(trained) == set(JOURNAL_MODELS), trained
    for name, info in trained.items():
        assert "version" in info, (name, info)
        manifest = json.loads(
            s3.get_object(Bucket=tables.settings.bucket, Key=info["manifest_key"])["Body"].read()
        )
        # the registry compares what the manifest names, on the twin's hold-out
        assert manifest["key_metric"]["name"] == ("r2" if name == "journal_pnl" else "auc")
        assert {"model.onnx", "validation.onnx", "reference.npz"} <= set(manifest["files"])
        registered = register_model(
            tables, s3, bucket=tables.settings.bucket, key=info["manifest_key"], now=NOW
        )
        assert registered.status == "production", registered
    assert trained["journal_outcome"]["metrics"]["auc"] > 0.6
    assert trained["journal_pnl"]["metrics"]["interval_half_width"] > 0

    # nothing new: nothing retrained
    again = learn(tables, NOW + timedelta(hours=4), s3=s3)
    assert "no journal event since" in again.journal["all"]["skipped"]

    user = next(t.user_id for t in world.traders if t.active)
    at = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    replies = {}
    for route in ROUTES:
        response = call(
            client, "GET", path(user, route, {**GOOD_QUERY[route], "at": at}), key=keys["read"]
        )
        assert response.status_code == 200, (route, response.body)
        replies[route] = json.loads(response.body)
    outcome = replies["outcome"]
    assert 0 < outcome["win_probability"] < 1
    interval = outcome["pnl_interval"]
    assert interval["low"] < outcome["expected_pnl"] < interval["high"]
    assert 0 <= replies["churn"]["churn_probability"] <= 1
    detected = replies["patterns/detected"]
    assert len(detected["trades"]) == 5 and not detected["unavailable"]
    assert set(detected["trades"][0]["probabilities"]) == {"revenge_trading", "overtrading", "fomo"}
    assert all(0 < t["win_probability"] < 1 for t in detected["trades"])
    state = replies["optimal-state"]
    assert len(state["by_emotion"]) == 9 and len(state["best"]) == 3
    # the world's truth: calm precedes wins more than anger does
    ranked = [row["emotion"] for row in state["by_emotion"]]
    assert ranked.index("calm") < ranked.index("angry")
    assert replies["behaviour-change"]["topic"] == "revenge_trading"
    assert 0 <= replies["insight-quality"]["helpful_probability"] <= 1

    drift = drift_check(tables, NOW, s3=s3, models=["journal_outcome", "journal_churn"])
    report = drift.models["journal_outcome"]
    assert report["recent_rows"] > 50 and "emotion" in report["features"]
    assert report["performance"]["metric"] == "auc"


def test_the_journal_read_for_an_answer_ends_at_at(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    from learnloop.journal.predict import user_journal

    world = JournalWorld.generate(n_traders=1, seed=3, start=START)
    rng = np.random.default_rng(1)
    events = [e for i in range(4) for e in world.simulate_day(i, rng).events]
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": events})
    assert response.status_code == 200, response.body
    opened = sorted(e["occurred_at"] for e in events if e["type"] == "trade_created")
    cut = datetime.fromisoformat(opened[len(opened) // 2].replace("Z", "+00:00"))
    journal = user_journal(tables, "trader-0000", cut)
    whole = user_journal(tables, "trader-0000", START + timedelta(days=5))
    assert 0 < len(journal.trades) < len(whole.trades)
    assert all(t.opened_at <= cut.timestamp() for t in journal.trades)
    assert all(t.closed_at is None or t.closed_at <= cut.timestamp() for t in journal.trades)
    assert max(journal.activity) <= cut.timestamp()


BAD_QUERIES = [
    ("outcome", {"price": "100"}, "quantity"),
    ("outcome", {"quantity": "-1", "price": "100"}, "quantity"),
    ("outcome", {"quantity": "nan", "price": "100"}, "quantity"),
    ("outcome", {"quantity": "1", "price": "100", "side": "short"}, "side"),
    ("outcome", {"quantity": "1", "price": "1", "emotion_confidence": "2"}, "emotion_confidence"),
    ("outcome", {"quantity": "1", "price": "1", "emotion": ""}, "emotion"),
    ("churn", {"at": "yesterday"}, "at"),
    ("churn", {"at": "2026-11-20T10:00:00"}, "at"),
    ("churn", {"bogus": "1"}, "bogus"),
    ("patterns/detected", {"limit": "0"}, "limit"),
    ("patterns/detected", {"limit": "1e9"}, "limit"),
    ("patterns/detected", {"threshold": "1"}, "threshold"),
    ("optimal-state", {"at": "2026-13-01T00:00:00Z"}, "at"),
    ("behaviour-change", {}, "insight_type"),
    ("insight-quality", {"insight_type": "x" * 201}, "insight_type"),
]


def test_bad_queries_and_user_ids_are_422_naming_the_field(
    client: Any, keys: dict[str, str]
) -> None:
    for route, query, field in BAD_QUERIES:
        response = call(client, "GET", path("u1", route, query), key=keys["read"])
        assert response.status_code == 422, (route, query, response.body)
        assert field in fields_of(response), (route, query)
    for user in ("bad user", "a" * 129, "-leading", "%00", "..", "u1;drop"):
        for route in ROUTES:
            response = call(client, "GET", path(user, route, GOOD_QUERY[route]), key=keys["read"])
            # a path a router cannot match is a 404 before any handler runs
            assert response.status_code in (404, 422), (user, route, response.status_code)
            if response.status_code == 422:
                assert "user_id" in fields_of(response)


def test_without_production_models_every_route_is_409(client: Any, keys: dict[str, str]) -> None:
    for route in ROUTES:
        response = call(client, "GET", path("u1", route, GOOD_QUERY[route]), key=keys["read"])
        assert response.status_code == 409, (route, response.body)
        assert error_of(response)["code"] == "no_production_model"


def test_a_deleted_or_opted_out_user_is_404(client: Any, keys: dict[str, str]) -> None:
    response = call(
        client, "PUT", "/v1/users/u9/consent", key=keys["ingest"], body={"consent": "opted_out"}
    )
    assert response.status_code == 200, response.body
    for route in ROUTES:
        response = call(client, "GET", path("u9", route, GOOD_QUERY[route]), key=keys["read"])
        assert response.status_code == 404, (route, response.body)


def test_the_routes_need_the_read_scope_and_are_in_openapi(
    client: Any, keys: dict[str, str]
) -> None:
    for route in ROUTES:
        target = path("u1", route, GOOD_QUERY[route])
        assert call(client, "GET", target).status_code == 401
        assert call(client, "GET", target, key=keys["ingest"]).status_code == 403
    document = json.loads(call(client, "GET", "/v1/openapi.json").body)
    for route in ROUTES:
        operation = document["paths"][f"/v1/journal/{{user_id}}/{route}"]["get"]
        assert operation["tags"] == ["journal"]
        assert {p["name"] for p in operation["parameters"]} >= {"user_id"}
