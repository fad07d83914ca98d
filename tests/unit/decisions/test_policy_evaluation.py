"""A candidate's OPE report from hand-made decision records, and its ``bandit_policy`` artifact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from learnloop.decisions.evaluation import candidate_config, evaluate_policy, policy_artifact
from learnloop.exceptions import ValidationError
from learnloop.models.kinds import ArtifactRejectedError, check_bandit_policy, policy_config


def record(arm: str, reward: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "surface": "bandit",
        "scope": "content",
        "policy_version": "prior",
        "created_at": "2026-11-20T09:00:00.000000Z",
        "chosen": [arm],
        "shown": [{"item": arm, "position": 0, "propensity": 0.5}],
        "reward": reward,
        **extra,
    }


def log(n: int = 200) -> list[dict[str, Any]]:
    """Uniform logging over two arms; ``good`` always pays, ``bad`` never: production 0.5."""
    return [record("good", 1.0) if i % 2 == 0 else record("bad", 0.0) for i in range(n)]


def test_the_report_holds_every_figure_the_gate_and_the_rows_used() -> None:
    records = [
        *log(),
        record("good", 1.0, scope="timing"),
        record("good", 1.0, shown=[]),
        {"surface": "recommendations"},
    ]
    report = evaluate_policy(
        records, "thompson:prior=2/2", n_resamples=200, start=date(2026, 11, 20)
    )
    assert report["config"] == {
        "scope": "content",
        "policy": "thompson",
        "prior": [2.0, 2.0],
        "discount": 1.0,
    }
    assert report["rows"]["used"] == 200
    assert report["rows"]["skipped"] == {"other_scope": 1, "no_propensity": 1, "not_bandit": 1}
    assert report["rows"]["arms"] == ["good", "bad"]
    assert report["policy_versions"] == {"prior": 201}
    assert report["production"]["estimate"] == 0.5
    # The first batch of 100 is played at the prior (0.5), the second almost all on good.
    assert report["value"]["estimate"] == pytest.approx(0.75, abs=0.02)
    assert set(report["estimates"]) == {"ipw", "snipw", "dm", "dr"}
    assert report["estimates"]["dr"] == report["value"]
    assert report["ess"] == report["value"]["ess"] < 200
    gate = report["gate"]
    assert gate["rule"] == "ope_lower_bound" and gate["decision"] == "promote"
    assert gate["lower_bound"] == report["value"]["ci_low"] > 0.5
    assert report["range"]["from"] == "2026-11-20"
    assert report["range"]["first_decision"] == "2026-11-20T09:00:00.000000Z"


def test_the_margin_and_the_estimator_decide_the_gate() -> None:
    keep = evaluate_policy(log(), "thompson:prior=2/2", margin=0.3, n_resamples=200)
    assert keep["gate"]["decision"] == "keep" and not keep["gate"]["promote"]
    assert "does not beat" in keep["gate"]["reason"]
    ipw = evaluate_policy(log(), "thompson:prior=2/2", estimator="ipw", n_resamples=200)
    assert ipw["value"]["estimator"] == "ipw" and ipw["estimator"] == "ipw"


def test_a_coin_flip_candidate_does_not_beat_a_log_that_favours_the_good_arm() -> None:
    # Logged 3:1 for good (propensity 0.75): production earns 0.75, a coin flip 0.5.
    records = [
        record("bad", 0.0, shown=[{"item": "bad", "position": 0, "propensity": 0.25}])
        if i % 4 == 3
        else record("good", 1.0, shown=[{"item": "good", "position": 0, "propensity": 0.75}])
        for i in range(200)
    ]
    report = evaluate_policy(records, "thompson:prior=1000000/1000000", n_resamples=200)
    assert report["production"]["estimate"] == 0.75
    assert report["value"]["estimate"] == pytest.approx(0.5, abs=0.05)
    assert report["gate"]["decision"] == "keep"


@pytest.mark.parametrize(
    ("spec", "scope", "field"),
    [
        ("ucb1:epsilon=0.2", "content", "scope"),
        ("thompson", "timing", "scope"),
        ("thompson", "hours", "scope"),
        ("greedy", "content", "candidate"),
        ("thompson:epsilon=0.1", "content", "candidate"),
    ],
)
def test_bad_candidates_name_the_field(spec: str, scope: str, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        candidate_config(spec, scope)
    assert raised.value.details[0]["field"] == field


def test_bad_estimators_and_empty_logs_name_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        evaluate_policy(log(), "thompson", estimator="best")
    assert raised.value.details[0]["field"] == "estimator"
    with pytest.raises(ValidationError) as raised:
        evaluate_policy([], "thompson")
    assert raised.value.details[0]["field"] == "records"


def test_the_artifact_passes_the_kind_check_and_carries_the_report() -> None:
    report = evaluate_policy(log(), "thompson:discount=0.9", n_resamples=100)
    now = datetime(2026, 12, 7, 0, 15, tzinfo=UTC)
    name, version, files, manifest = policy_artifact(report, now=now)
    assert (name, version) == ("bandit_policy", "20261207T001500Z")
    check_bandit_policy(files, manifest)  # does not raise
    assert manifest["extra"]["policy"] == json.loads(files["policy.json"]) == report["config"]
    assert json.loads(files["ope_report.json"])["gate"] == report["gate"]
    assert manifest["metrics"] == {"dr_value": report["value"]["estimate"]}


def test_timing_candidates_are_registered_under_their_own_name() -> None:
    config = candidate_config("ucb1:alpha=0.5,epsilon=0.3", "timing")
    report = {"config": config, "estimator": "dr", "value": {"estimate": 0.1}, "rows": {}}
    name, *_ = policy_artifact(report)
    assert name == "bandit_policy_timing"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f, m: m.update(name="bandit_policy_timing"), "registered as 'bandit_policy'"),
        (lambda f, m: m["extra"]["policy"].update(discount=0.5), "extra.policy differs"),
        (lambda f, m: f.update({"ope_report.json": b"{}"}), "lacks value.estimate"),
        (lambda f, m: f.update({"policy.json": b"[1]"}), "not a JSON object"),
    ],
)
def test_unsound_policies_are_rejected(change: Any, message: str) -> None:
    report = evaluate_policy(log(), "thompson", n_resamples=50)
    _, _, files, manifest = policy_artifact(report)
    change(files, manifest)
    with pytest.raises(ArtifactRejectedError, match=message):
        check_bandit_policy(files, manifest)


@pytest.mark.parametrize(
    "config",
    [
        {"scope": "content", "policy": "thompson", "prior": [0, 1], "discount": 1.0},
        {"scope": "content", "policy": "thompson", "prior": [1, 1], "discount": 0.0},
        {"scope": "content", "policy": "ucb1", "alpha": 1.0, "epsilon": 0.1},
        {"scope": "timing", "policy": "ucb1", "alpha": -1.0, "epsilon": 0.1},
        {"scope": "timing", "policy": "ucb1", "alpha": float("inf"), "epsilon": 0.1},
        {"scope": "timing", "policy": "ucb1", "alpha": 1.0, "epsilon": True},
        {"scope": "weather", "policy": "ucb1"},
    ],
)
def test_policy_configs_out_of_range_are_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(ArtifactRejectedError):
        policy_config(config)
