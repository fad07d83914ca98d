"""The drift_check job against moto's server: feature drift (PSI), performance drift, too little
data, idempotent re-runs and the admin alerts route.

Real production models are trained and registered (``train_and_publish`` then
``register_model``) on a training window once per module; each test gets its own stage holding
a copy of that one (items and objects as stored), posts a recent window, and runs the job.
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from support.api import call
from support.stage import copy_stage, new_stage_settings

from learnloop.drift.check import drift_check
from learnloop.drift.ledger import LATEST_KEY
from learnloop.ingest import ingest_outcomes, put_content
from learnloop.jobs import run_job
from learnloop.journal.features import JOURNAL_MODELS
from learnloop.models.registration import register_model
from learnloop.predictors.training import train_and_publish

pytestmark = pytest.mark.heavy(190)  # seconds in CI: see tests/conftest.py

TRAINED_AT = datetime(2026, 11, 10, 23, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
TYPES = ("educational", "factual", "entertaining", "promotional", "meme")


def engagement(quality: float, rng: np.random.Generator) -> float:
    return 0.01 + 0.05 * quality + float(rng.normal(0.0, 0.002))


def follows(novelty: float, rng: np.random.Generator) -> int:
    return int(novelty + float(rng.normal(0.0, 0.05)) > 0.5)


def post_window(
    tables: Any,
    prefix: str,
    n: int,
    *,
    end: datetime,
    days: int,
    seed: int,
    quality: tuple[float, float] = (0.0, 1.0),
    rate: Any = engagement,
    follow: Any = follows,
    hours: tuple[int, ...] = (),
) -> None:
    """``n`` decisions posted over the ``days`` before ``end``, each with one outcome 3 h later
    (posted at one of ``hours`` when given, as a timing policy would pick them)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        posted = end - timedelta(hours=3, minutes=int(rng.integers(0, (days * 24 - 4) * 60)))
        if hours:
            posted = posted.replace(hour=int(rng.choice(hours)))
            if posted > end - timedelta(hours=3):
                posted -= timedelta(days=1)
        q = float(rng.uniform(*quality))
        novelty = float(rng.uniform())
        content = {
            "posted_at": posted.isoformat(),
            "bandit_arm": "a",
            "content_type": TYPES[int(rng.integers(0, len(TYPES)))],
            "quality_score": q,
            "novelty_score": novelty,
            "expertise_level": float(rng.uniform()),
            "length": ("short", "medium", "long")[int(rng.integers(0, 3))],
        }
        impressions = 10_000
        outcome = {
            "decision_id": f"{prefix}-{i}",
            "collected_at": (posted + timedelta(hours=3)).isoformat(),
            "impressions": impressions,
            "likes": max(0, round(rate(q, rng) * impressions)),
            "followers_gained": follow(novelty, rng),
            "viral_score": float(rng.uniform(0, 100)),
        }
        rows.append((f"{prefix}-{i}", content, outcome))

    def write(row: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
        put_content(tables, row[0], row[1], now=end)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, rows))
    for start in range(0, n, 100):
        ingest_outcomes(tables, {"outcomes": [r[2] for r in rows[start : start + 100]]}, now=end)


def produce_models(tables: Any, s3: Any, n: int = 300) -> dict[str, dict[str, Any]]:
    """A training window of ``n`` decisions, both predictors trained and put in production."""
    post_window(tables, "train", n, end=TRAINED_AT, days=20, seed=1)
    published = train_and_publish(tables, s3, TRAINED_AT)
    for info in published.values():
        registered = register_model(
            tables, s3, bucket=tables.settings.bucket, key=info["manifest_key"], now=TRAINED_AT
        )
        assert registered.status == "production", registered
    return published


@pytest.fixture(scope="module")
def trained_stage(
    aws_endpoint: str, s3: Any, _dynamodb_client: Any
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """A stage with the training window and both models in production, built once: training
    and seeding take seconds, copying the stage a fraction of one."""
    from learnloop.store import Tables, bootstrap

    settings = new_stage_settings(aws_endpoint)
    source = Tables(settings, dynamodb_client=_dynamodb_client)
    bootstrap(settings, tables=source, s3=s3)
    return source, produce_models(source, s3)


@pytest.fixture
def production(
    tables: Any, s3: Any, _dynamodb_client: Any, trained_stage: tuple[Any, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """This test's stage holds what :func:`produce_models` left in the module's stage."""
    source, published = trained_stage
    copy_stage(source, tables, s3, _dynamodb_client)
    return copy.deepcopy(published)


def test_the_reference_is_the_artifacts_own_rows_even_after_the_tables_forgot_them(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    # The trainer stored its rows' inputs (reference.npz); retention may drop the window since.
    for i in range(300):
        tables.content.get(f"train-{i}").delete()
    post_window(tables, "recent", 200, end=NOW, days=7, seed=2, quality=(0.6, 1.0))
    result = drift_check(tables, NOW, s3=s3)
    report = result.models["engagement"]
    assert (report["reference"], report["reference_rows"]) == ("reference.npz", 300)
    # Quality moved up: the shift is still measured against what the model trained on.
    assert ("engagement", "quality_score", "psi") in by_metric(result.alerts)


def by_metric(alerts: list[dict[str, Any]]) -> set[tuple[str, str | None, str]]:
    return {(a["model"], a["feature"], a["metric"]) for a in alerts}


def test_unshifted_recent_window_raises_no_alert(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    # 200 rows: the fewest that still get all 10 bins (one per MIN_ROWS_PER_BIN = 20 rows).
    post_window(tables, "recent", 200, end=NOW, days=7, seed=2)
    result = drift_check(tables, NOW, s3=s3)
    assert result.alerts == [], result.alerts
    engagement_report = result.models["engagement"]
    assert engagement_report["version"] == production["engagement"]["version"]
    assert engagement_report["recent_rows"] == 200
    assert engagement_report["reference_rows"] == 300
    assert engagement_report["bins"] == 10
    assert engagement_report["overlap_rows"] == 0
    assert set(engagement_report["features"]) == {
        "quality_score",
        "content_type",
        "length",
        "hour_sin",
        "hour_cos",
        "slot",
    }
    assert all(f["psi"] < 0.2 for f in engagement_report["features"].values())
    assert engagement_report["features"]["content_type"]["kind"] == "categorical"
    assert engagement_report["features"]["quality_score"]["kind"] == "quantile"
    performance = engagement_report["performance"]
    assert performance["metric"] == "r2" and performance["recent"] > 0.8
    follow = result.models["follow_through"]["performance"]
    assert follow["metric"] == "auc" and follow["recent"] > 0.9


def test_shifted_feature_raises_a_psi_alert_for_that_feature(
    tables: Any,
    s3: Any,
    production: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    post_window(tables, "recent", 150, end=NOW, days=7, seed=3, quality=(0.7, 1.0))
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    result = drift_check(tables, NOW, s3=s3)
    # One CloudWatch EMF line per alert, with the model and metric as dimensions.
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert [(m["model"], m["metric"], m["DriftAlert"]) for m in emitted] == [
        (a["model"], a["metric"], [1.0]) for a in result.alerts
    ]
    psi_alerts = [a for a in result.alerts if a["metric"] == "psi"]
    assert [(a["model"], a["feature"]) for a in psi_alerts] == [("engagement", "quality_score")]
    [alert] = psi_alerts
    assert set(alert) == {"model", "feature", "metric", "value", "threshold", "message"}
    assert alert["value"] > 0.2 and alert["threshold"] == 0.2
    assert "quality_score" in alert["message"] and "PSI" in alert["message"]
    # Inputs of the other model did not move.
    assert all(f["psi"] < 0.2 for f in result.models["follow_through"]["features"].values())


def test_posting_hours_our_timing_policy_moved_are_reported_but_never_alert(
    tables: Any, s3: Any, production: dict[str, Any], _dynamodb_client: Any
) -> None:
    from learnloop.store import Tables

    post_window(tables, "recent", 150, end=NOW, days=7, seed=3, hours=(14, 15))
    result = drift_check(tables, NOW, s3=s3)
    features = result.models["engagement"]["features"]
    moved = {f for f in ("hour_sin", "hour_cos", "slot") if features[f]["psi"] > 0.2}
    assert moved and all(features[f].get("policy") is True for f in moved)
    assert "policy" not in features["quality_score"]
    assert [a for a in result.alerts if a["metric"] == "psi"] == []
    # With no input exempted, the same rows alert on exactly those inputs.
    strict = Tables(
        tables.settings.with_overrides(drift_policy_features=()), dynamodb_client=_dynamodb_client
    )
    flagged = {
        a["feature"]
        for a in drift_check(strict, NOW, s3=s3).alerts
        if a["metric"] == "psi" and a["model"] == "engagement"
    }
    assert flagged == moved


def test_recent_outcomes_from_another_relation_raise_performance_alerts(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    def inverted_rate(quality: float, rng: np.random.Generator) -> float:
        return 0.06 - 0.05 * quality + float(rng.normal(0.0, 0.002))

    def inverted_follows(novelty: float, rng: np.random.Generator) -> int:
        return 1 - follows(novelty, rng)

    post_window(
        tables,
        "recent",
        100,
        end=NOW,
        days=7,
        seed=4,
        rate=inverted_rate,
        follow=inverted_follows,
    )
    result = drift_check(tables, NOW, s3=s3)
    assert by_metric(result.alerts) == {("engagement", None, "r2"), ("follow_through", None, "auc")}
    r2_alert = next(a for a in result.alerts if a["metric"] == "r2")
    validation = production["engagement"]["metrics"]["r2"]
    assert r2_alert["threshold"] == pytest.approx(validation - 0.1, abs=1e-6)
    assert r2_alert["value"] < r2_alert["threshold"]
    assert result.models["follow_through"]["performance"]["recent"] < 0.2


def test_too_little_recent_data_skips_each_model_and_says_why(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    post_window(tables, "recent", 12, end=NOW, days=7, seed=5, quality=(0.9, 1.0))
    result = drift_check(tables, NOW, s3=s3)
    assert result.alerts == []
    for name in ("engagement", "follow_through"):
        report = result.models[name]
        assert report["recent_rows"] == 12
        assert "12 rows in the last 7 days" in report["skipped"] and "50" in report["skipped"]
    # The check still ran and is recorded (the panel shows when).
    assert tables.ledger.get(LATEST_KEY).value["checked_at"] == result.checked_at


def test_no_production_model_is_skipped(tables: Any, s3: Any) -> None:
    result = drift_check(tables, NOW, s3=s3)
    assert result.models == {
        "engagement": {"skipped": "engagement has no production version"},
        "follow_through": {"skipped": "follow_through has no production version"},
        "two_tower": {"skipped": "two_tower has no production version"},
        "sentiment": {"skipped": "sentiment has no production version"},
        **{name: {"skipped": f"{name} has no production version"} for name in JOURNAL_MODELS},
    }


def test_rerun_writes_the_identical_items_and_a_backfill_keeps_latest(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    post_window(tables, "recent", 100, end=NOW, days=7, seed=3, quality=(0.7, 1.0))
    first = drift_check(tables, NOW, s3=s3)
    stored = {
        key: (item.created_at, item.value)
        for key in (LATEST_KEY, "drift_check#2026-11-20")
        for item in [tables.ledger.get(key)]
    }
    again = drift_check(tables, NOW, s3=s3)
    assert again.to_dict() == first.to_dict()
    assert first.recorded == ["drift_check#2026-11-20", LATEST_KEY]
    for key, (created_at, value) in stored.items():
        item = tables.ledger.get(key)
        assert (item.created_at, item.value) == (created_at, value)
    assert stored[LATEST_KEY][1] == first.ledger_value()
    # A check for an earlier day keeps its own dated item and leaves latest alone.
    earlier = drift_check(tables, NOW - timedelta(days=1), s3=s3)
    assert earlier.recorded == ["drift_check#2026-11-19"]
    assert tables.ledger.get(LATEST_KEY).value == first.ledger_value()


def test_admin_alerts_route_returns_what_the_job_found(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    post_window(tables, "recent", 100, end=NOW, days=7, seed=3, quality=(0.7, 1.0))
    result = run_job("drift_check", tables, NOW, s3=s3)
    response = call(client, "GET", "/v1/admin/alerts", key=keys["admin"])
    assert response.status_code == 200
    body = json.loads(response.body)
    skipped = {n: m["skipped"] for n, m in result["models"].items() if m.get("skipped")}
    assert {k: v for k, v in body.items() if k != "actions"} == {
        "checked_at": result["checked_at"],
        "alerts": result["alerts"],
        "skipped": skipped,
    }
    assert ("engagement", "quality_score", "psi") in by_metric(body["alerts"])


def test_no_metric_line_where_metrics_are_switched_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from learnloop.drift.check import _emit

    alert = {"model": "engagement", "feature": "quality_score", "metric": "psi", "value": 0.3}
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # as the local runner sets it
    _emit(alert)
    assert '"_aws"' not in capsys.readouterr().out
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    _emit(alert)
    assert '"DriftAlert"' in capsys.readouterr().out


# --- drift acts: retrain, debounce, the timeline -----------------------------------------------


def inverted_rate(quality: float, rng: np.random.Generator) -> float:
    return 0.06 - 0.05 * quality + float(rng.normal(0.0, 0.002))


def inverted_follows(novelty: float, rng: np.random.Generator) -> int:
    return 1 - follows(novelty, rng)


def post_drifted_window(tables: Any) -> None:
    """100 recent decisions whose outcomes follow another relation: both predictors alert."""
    post_window(
        tables,
        "recent",
        100,
        end=NOW,
        days=7,
        seed=4,
        rate=inverted_rate,
        follow=inverted_follows,
    )


def versions_of(s3: Any, tables: Any, name: str) -> set[str]:
    from learnloop_tools.local.retrain import published_versions

    return published_versions(s3, tables.settings.bucket, name)


def manifest_of(s3: Any, tables: Any, name: str, version: str) -> dict[str, Any]:
    key = f"models/{name}/{version}/manifest.json"
    body = s3.get_object(Bucket=tables.settings.bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def test_a_drifted_predictor_is_retrained_on_the_window_and_the_alerts_show_the_outcome(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    from learnloop.models.artifacts import new_version

    post_drifted_window(tables)
    result = run_job("drift_check", tables, NOW, s3=s3)
    actions = {a["model"]: a for a in result["actions"]}
    assert set(actions) == {"engagement", "follow_through"}
    for name, action in actions.items():
        assert (action["action"], action["version"]) == ("retrain_requested", None), action
        assert action["at"] == result["checked_at"]
        assert [a["model"] for a in action["trigger"]] == [name] * len(action["trigger"])
    assert len(versions_of(s3, tables, "engagement")) == 1  # the check itself trains nothing
    # The next learn run (where scikit-learn is) carries the requests out on the drift window.
    later = NOW + timedelta(hours=2)
    learned = run_job("learn", tables, later, s3=s3)
    assert {r["model"] for r in learned["drift_retrains"]} == {"engagement", "follow_through"}
    body = json.loads(call(client, "GET", "/v1/admin/alerts", key=keys["admin"]).body)
    assert [(a["model"], a["action"], a["outcome"]) for a in body["actions"]] == [
        ("follow_through", "retrained", "pending"),  # published; not registered yet
        ("engagement", "retrained", "pending"),
    ]
    for action in body["actions"]:
        assert action["version"] == new_version(later)
        manifest = manifest_of(s3, tables, action["model"], action["version"])
        # Trained on the drift window only (the 100 recent rows, not the 300 of training).
        assert manifest["rows"] == 100
        assert manifest["extra"]["trigger"] == "drift"
        assert manifest["extra"]["window_days"] == 7
        assert manifest["extra"]["drift_check"] == result["checked_at"]
    # A second learn run finds nothing pending: the requests were carried out once.
    assert run_job("learn", tables, later + timedelta(hours=4), s3=s3)["drift_retrains"] == []
    # The S3 event arrives: registration decides; the timeline reads its decision.
    decided = {}
    for action in body["actions"]:
        name = action["model"]
        key = f"models/{name}/{action['version']}/manifest.json"
        decided[name] = register_model(
            tables, s3, bucket=tables.settings.bucket, key=key, now=later
        )
    body = json.loads(call(client, "GET", "/v1/admin/alerts", key=keys["admin"]).body)
    for action in body["actions"]:
        registered = decided[action["model"]]
        expected = "promoted" if registered.status == "production" else "kept"
        assert action["outcome"] == expected
        record = tables.models.get(action["model"], action["version"])
        assert action["outcome_reason"] == record.reason
        assert registered.reason in record.reason
    assert {k for k in body if k != "actions"} == {"checked_at", "alerts", "skipped"}


def test_a_rerun_of_the_check_does_not_retrain_and_a_cooldown_holds_the_next_checks(
    tables: Any, s3: Any, production: dict[str, Any]
) -> None:
    post_drifted_window(tables)
    first = run_job("drift_check", tables, NOW, s3=s3)
    # At-least-once delivery: the same check again finds its actions and asks for nothing more.
    again = run_job("drift_check", tables, NOW, s3=s3)
    assert again["actions"] == first["actions"]
    run_job("learn", tables, NOW + timedelta(minutes=30), s3=s3)
    published = versions_of(s3, tables, "engagement")
    assert len(published) == 2  # production + one drift retrain
    # The alert persists two hours later: within the 24 h cooldown, nothing is retrained.
    later = run_job("drift_check", tables, NOW + timedelta(hours=2), s3=s3)
    assert {a["model"]: a["action"] for a in later["actions"]} == {
        "engagement": "cooldown",
        "follow_through": "cooldown",
    }
    assert all(a["version"] is None for a in later["actions"])
    assert "not again within 24 h" in later["actions"][0]["reason"]
    run_job("learn", tables, NOW + timedelta(hours=3), s3=s3)
    assert versions_of(s3, tables, "engagement") == published
    # A day later the cooldown is over: the still-drifting model is retrained again.
    next_day = run_job("drift_check", tables, NOW + timedelta(hours=25), s3=s3)
    assert {a["action"] for a in next_day["actions"]} == {"retrain_requested"}
    run_job("learn", tables, NOW + timedelta(hours=26), s3=s3)
    assert len(versions_of(s3, tables, "engagement")) == 3
