"""Champion and challenger scored on the same data (issue 13, part 1), against moto's server.

Predictors: the candidate's validation twin and production's are scored on the candidate's
hold-out rows; the old rule compared each version's own hold-out metric, measured on
different windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from support.model_drops import FEATURES, T0, drop, holdout_set, linear_onnx

from learnloop.models.registration import register_model
from learnloop.models.registry import ModelRegistry, production_record
from learnloop.predictors.estimators import train_engagement_model
from learnloop.predictors.training import publish


def register(tables: Any, s3: Any, key: str, now: datetime = T0, **kwargs: Any) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=now, **kwargs)


def window(
    start: datetime, days: int, slope: float, noise: float, *, seed: int, late_slope: float | None
) -> tuple[list[dict[str, Any]], list[float], list[str]]:
    """Hourly posts from ``start``: engagement = 0.02 + slope x quality + noise; the newest
    fifth (the trainer's hold-out) follows ``late_slope`` when given."""
    rng = np.random.default_rng(seed)
    n = days * 24
    rows, targets, stamps = [], [], []
    for i in range(n):
        posted = (start + timedelta(hours=i)).isoformat()
        quality = float(rng.uniform())
        k = late_slope if late_slope is not None and i >= n * 0.8 else slope
        rows.append(
            {
                "quality_score": quality,
                "content_type": "factual",
                "posted_at": posted,
                "length": "short",
                "text": "",
            }
        )
        targets.append(0.02 + k * quality + float(rng.normal(0, noise)))
        stamps.append(posted)
    return rows, targets, stamps


def publish_window(tables: Any, s3: Any, now: datetime, **spec: Any) -> tuple[str, Any]:
    rows, targets, stamps = window(**spec)
    trained = train_engagement_model(rows, targets, stamps)
    published = publish(tables, s3, trained, now)
    return published["manifest_key"], trained


def test_publish_writes_the_twin_and_the_hold_out_as_an_evaluation_set(
    tables: Any, s3: Any
) -> None:
    key, trained = publish_window(
        tables,
        s3,
        T0 + timedelta(days=5),
        start=T0,
        days=5,
        slope=0.05,
        noise=0.01,
        seed=1,
        late_slope=None,
    )
    result = register(tables, s3, key, now=T0 + timedelta(days=5))
    manifest = tables.models.get("engagement", result.version).manifest
    assert "validation.onnx" in manifest["files"]
    assert manifest["evaluation"]["source"] == "holdout"
    assert manifest["evaluation"]["rows"] == trained.n_validation == 24
    assert manifest["evaluation"]["key"] == (
        f"evaluation/engagement/{manifest['evaluation']['sha256']}.npz"
    )
    validation = manifest["extra"]["validation"]
    assert validation["trained_through"] < validation["holdout_from"]


def test_a_newcomer_better_on_common_data_replaces_production_from_an_easy_window(
    tables: Any, s3: Any
) -> None:
    # Production drew an easy window (little noise): its own hold-out R² is high.
    easy, _ = publish_window(
        tables,
        s3,
        T0 + timedelta(days=5),
        start=T0,
        days=5,
        slope=0.05,
        noise=0.005,
        seed=1,
        late_slope=None,
    )
    first = register(tables, s3, easy, now=T0 + timedelta(days=5))
    assert first.promoted and first.metrics["r2"] > 0.8
    # The world changed (steeper slope) and got noisier: the newcomer's own R² is lower, but
    # on its hold-out rows, which neither model trained on, it beats production.
    hard, _ = publish_window(
        tables,
        s3,
        T0 + timedelta(days=11),
        start=T0 + timedelta(days=6),
        days=5,
        slope=0.15,
        noise=0.04,
        seed=2,
        late_slope=None,
    )
    newcomer = register(tables, s3, hard, now=T0 + timedelta(days=11))
    assert newcomer.metrics["r2"] < first.metrics["r2"]  # the old rule would keep production
    assert (newcomer.status, newcomer.promoted) == ("production", True), newcomer.reason
    comparison = newcomer.comparison
    assert comparison["rule"] == "not_worse" and comparison["decision"] == "promote"
    assert comparison["set"]["source"] == "holdout"
    assert comparison["production_version"] == first.version
    assert comparison["candidate"] > comparison["production"]
    assert comparison["candidate"] == pytest.approx(newcomer.metrics["r2"])
    assert comparison["interval"][0] <= comparison["delta"] <= comparison["interval"][1]
    assert "r2" in (newcomer.reason or "") and first.version in (newcomer.reason or "")
    listed = ModelRegistry(tables).versions("engagement")
    assert any(v["comparison"] and v["comparison"]["rule"] == "not_worse" for v in listed)


def test_a_newcomer_worse_on_common_data_is_kept_out(tables: Any, s3: Any) -> None:
    # Production drew a noisy window: its own hold-out R² is low.
    noisy, _ = publish_window(
        tables,
        s3,
        T0 + timedelta(days=10),
        start=T0,
        days=10,
        slope=0.05,
        noise=0.03,
        seed=3,
        late_slope=None,
    )
    first = register(tables, s3, noisy, now=T0 + timedelta(days=10))
    # The newcomer learned a flattened slope, then met clean rows of the usual world: its own
    # R² beats production's own, yet production's twin scores far better on those rows.
    skewed, _ = publish_window(
        tables,
        s3,
        T0 + timedelta(days=16),
        start=T0 + timedelta(days=11),
        days=5,
        slope=0.035,
        noise=0.001,
        seed=4,
        late_slope=0.05,
    )
    newcomer = register(tables, s3, skewed, now=T0 + timedelta(days=16))
    assert newcomer.metrics["r2"] > first.metrics["r2"]  # the old rule would promote it
    assert (newcomer.status, newcomer.promoted) == ("candidate", False)
    assert newcomer.comparison["decision"] == "keep"
    assert newcomer.comparison["production"] > newcomer.comparison["candidate"]
    assert (newcomer.reason or "").startswith("not_worse: worse than production")
    assert production_record(tables, "engagement").target == first.version  # type: ignore[union-attr]


def _common_rows(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.array([1.0, -0.5, 0.25])
    X = rng.uniform(size=(n, len(FEATURES)))
    return X, X @ truth + rng.normal(0, noise, n), truth


def test_a_loss_within_the_tolerance_is_a_tie_and_the_newer_version_wins(
    tables: Any, s3: Any
) -> None:
    X, y, truth = _common_rows(400, 0.2, seed=5)
    first = register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    assert first.promoted
    slightly_off = list(truth * 0.96)
    ref = holdout_set(tables, s3, X, y, start=T0 + timedelta(hours=1))
    newcomer = register(
        tables,
        s3,
        drop(
            tables,
            s3,
            minute=60,
            twin=linear_onnx(slightly_off),
            evaluation=ref,
            metrics={"r2": 0.1},
        ),
    )
    delta = newcomer.comparison["delta"]
    assert -tables.settings.promotion_tolerance <= delta < 0  # a small loss
    assert newcomer.promoted, newcomer.reason
    assert "a tie within" in (newcomer.reason or "")
    assert "no validation twin" not in " ".join(newcomer.comparison.get("notes", []))


@pytest.mark.parametrize(
    ("days", "promoted", "rule"), [(1, False, "not_worse"), (8, True, "max_age")]
)
def test_old_production_is_replaced_unless_the_newcomer_is_significantly_worse(
    tables: Any, s3: Any, days: int, promoted: bool, rule: str
) -> None:
    X, y, truth = _common_rows(12, 0.3, seed=6)
    register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    later = T0 + timedelta(days=days)
    ref = holdout_set(tables, s3, X, y, start=T0 + timedelta(hours=1))
    newcomer = register(
        tables,
        s3,
        drop(tables, s3, minute=days * 1440, twin=linear_onnx(list(truth * 0.8)), evaluation=ref),
        now=later,
    )
    comparison = newcomer.comparison
    assert comparison["delta"] < -tables.settings.promotion_tolerance  # worse, not by much
    assert comparison["interval"][1] >= -tables.settings.promotion_tolerance
    assert (newcomer.promoted, comparison["rule"]) == (promoted, rule), newcomer.reason


def test_production_age_is_measured_in_the_training_jobs_time_not_at_registration(
    tables: Any, s3: Any
) -> None:
    # Two versions trained a day apart in the job's logical time (a replay: the demo, a
    # backfill) and registered 30 wall-clock days later: production is a day old, not 30.
    X, y, truth = _common_rows(12, 0.3, seed=6)
    register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    ref = holdout_set(tables, s3, X, y, start=T0 + timedelta(hours=1))
    newcomer = register(
        tables,
        s3,
        drop(tables, s3, minute=1440, twin=linear_onnx(list(truth * 0.8)), evaluation=ref),
        now=T0 + timedelta(days=30),
    )
    comparison = newcomer.comparison
    assert comparison["production_age_days"] == pytest.approx(1.0, abs=0.01)
    assert comparison["delta"] < -tables.settings.promotion_tolerance  # worse, not by much
    assert (newcomer.promoted, comparison["rule"]) == (False, "not_worse"), newcomer.reason


def test_old_production_stays_when_the_newcomer_is_significantly_worse(
    tables: Any, s3: Any
) -> None:
    X, y, truth = _common_rows(300, 0.05, seed=7)
    register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    ref = holdout_set(tables, s3, X, y, start=T0 + timedelta(hours=1))
    newcomer = register(
        tables,
        s3,
        drop(tables, s3, minute=8 * 1440, twin=linear_onnx(list(-truth)), evaluation=ref),
        now=T0 + timedelta(days=8),
    )
    assert not newcomer.promoted
    assert newcomer.comparison["rule"] == "max_age"
    assert newcomer.comparison["interval"][1] < -tables.settings.promotion_tolerance
    assert "significantly worse" in (newcomer.reason or "")


def test_other_feature_names_are_not_comparable_and_production_stays(tables: Any, s3: Any) -> None:
    X, y, truth = _common_rows(50, 0.1, seed=8)
    first = register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    other = ["quality_score", "novelty_score", "minute"]
    ref = holdout_set(tables, s3, X, y, feature_names=other)

    def rename(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        manifest["feature_names"] = other

    newcomer = register(
        tables,
        s3,
        drop(tables, s3, minute=1, model=linear_onnx(list(truth)), evaluation=ref, edit=rename),
    )
    assert newcomer.status in ("candidate", "rejected")
    assert production_record(tables, "engagement").target == first.version  # type: ignore[union-attr]


def test_a_missing_or_corrupt_evaluation_set_leaves_a_candidate_with_the_reason(
    tables: Any, s3: Any
) -> None:
    X, y, truth = _common_rows(50, 0.1, seed=9)
    first = register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    ref = holdout_set(tables, s3, X, y)
    missing = {**ref, "key": "evaluation/engagement/" + "0" * 64 + ".npz", "sha256": "0" * 64}
    gone = register(tables, s3, drop(tables, s3, minute=1, evaluation=missing))
    assert gone.status == "candidate" and "is missing" in (gone.reason or ""), gone.reason
    corrupt = {**ref, "sha256": "f" * 64}
    bad = register(tables, s3, drop(tables, s3, minute=2, evaluation=corrupt))
    assert bad.status == "candidate" and "sha256" in (bad.reason or ""), bad.reason
    malformed = register(tables, s3, drop(tables, s3, minute=3, evaluation={"key": 3}))
    assert malformed.status == "candidate" and "evaluation" in (malformed.reason or "")
    assert production_record(tables, "engagement").target == first.version  # type: ignore[union-attr]


def test_a_redelivered_manifest_returns_the_recorded_comparison(tables: Any, s3: Any) -> None:
    X, y, truth = _common_rows(100, 0.2, seed=10)
    register(tables, s3, drop(tables, s3, minute=0, twin=linear_onnx(list(truth))))
    ref = holdout_set(tables, s3, X, y, start=T0 + timedelta(hours=1))
    key = drop(tables, s3, minute=5, twin=linear_onnx(list(truth * 1.01)), evaluation=ref)
    once = register(tables, s3, key)
    again = register(tables, s3, key)
    assert again.duplicate and (again.status, again.comparison) == (once.status, once.comparison)
    history = ModelRegistry(tables).history("engagement")
    assert sum(1 for h in history if h["to"] == once.version) == (1 if once.promoted else 0)


def test_the_policy_defaults_to_the_setting(tables: Any, s3: Any) -> None:
    from dataclasses import replace

    from learnloop.store import Tables

    never = Tables(replace(tables.settings, promotion_policy="never"))
    result = register(never, s3, drop(tables, s3, minute=0))
    assert (result.status, result.promoted) == ("candidate", False)
    assert "never" in (result.reason or "")


def test_an_unsound_validation_twin_is_rejected(tables: Any, s3: Any) -> None:
    from support.model_drops import ridge_onnx

    result = register(tables, s3, drop(tables, s3, minute=0, twin=b"not onnx"))
    assert result.status == "rejected" and "validation.onnx does not load" in (result.reason or "")
    narrow = register(tables, s3, drop(tables, s3, minute=1, twin=ridge_onnx(n_features=2)))
    assert narrow.status == "rejected" and "validation.onnx" in (narrow.reason or "")
