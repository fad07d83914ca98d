"""Issue 19: a refit recommender is compared with production on the same split, not on held-out
rows it trained on (the job refits production's settings; registration decides on both)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.planted import export_days, planted, put_exports
from support.stage import stage_environment

from learnloop.models.champion import CHAMPION_FILE
from learnloop.models.registration import register_model
from learnloop.models.registry import production_record
from training_jobs.two_tower import main
from training_jobs.two_tower.champion import production_of
from training_jobs.two_tower.job import train_two_tower

# Settings that generalise on the planted world (production), and settings that memorise: on
# the users' newest positives they score far lower, but refit on every positive they rank the
# held-out rows they trained on first (NDCG 1.0 against production's 0.81).
GENERALISES = {"factors": 4, "regularization": 1.0, "alpha": 5.0, "iterations": 15}
MEMORISES = {"factors": 200, "regularization": 1e-4, "alpha": 100.0, "iterations": 30}
ALS_FLAGS = ["--candidates", "als", "--budget-seconds", "0", "--text-encoder", "none",
             "--no-exclusion-lookup", "--quiet"]  # fmt: skip


@pytest.fixture
def stage(tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stage's settings in the environment and the planted world's exports in its bucket."""
    settings = tables.settings
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    rows, items = planted(n_users=40, seed=2)
    put_exports(s3, settings.bucket, export_days(rows, items))
    return settings


def register(tables: Any, s3: Any, key: str) -> Any:
    now = datetime.now(UTC)
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=now)


def train(s3: Any, bucket: str, als: dict[str, Any], **kwargs: Any) -> Any:
    return train_two_tower(
        s3, bucket, candidates=("als",), budget_seconds=0, als_params=als, echo=lambda _: None,
        **kwargs,
    )  # fmt: skip


def flags(als: dict[str, Any]) -> list[str]:
    return ALS_FLAGS + [f"--als-{k}={v}" for k, v in als.items()]


def test_a_candidate_that_wins_only_on_rows_it_trained_on_is_not_promoted(
    tables: Any, s3: Any, stage: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = stage.bucket
    # production: the generalising settings (a minute ago, so the newer run is not "too old")
    first = train(s3, bucket, GENERALISES, now=datetime.now(UTC) - timedelta(minutes=1))
    assert "champion" not in first.manifest["extra"]  # no production to compare with yet
    assert register(tables, s3, first.keys[-1]).promoted
    # the memorising candidate, through the job's entry point (it reads production itself)
    assert main(flags(MEMORISES)) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    key = next(k for k in summary["keys"] if k.endswith("manifest.json"))
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    champion = manifest["extra"]["champion"]
    assert champion["status"] == "compared" and champion["production_version"] == first.version
    assert champion["production"]["params"]["factors"] == 4
    assert champion["candidate"]["params"]["factors"] == 200
    assert CHAMPION_FILE in manifest["files"]
    # the floor does not stop it: it beats popularity on the held-out users
    assert manifest["extra"]["popularity_floor"]["passed"]

    result = register(tables, s3, key)
    comparison = result.comparison
    assert (result.status, result.promoted) == ("candidate", False), result.reason
    assert (comparison["method"], comparison["rule"], comparison["decision"]) == (
        "same_split",
        "not_worse",
        "keep",
    )
    # the data: which users, which split, both figures (and the settings behind them)
    assert comparison["users"] == champion["users"] == manifest["extra"]["test_users"]
    assert comparison["users_sha256"] == champion["users_sha256"]
    assert comparison["set"] == manifest["evaluation"]
    assert comparison["split"]["test"] == manifest["extra"]["split"]["test"]
    assert comparison["candidate"] == pytest.approx(manifest["metrics"]["ndcg@10"])
    assert comparison["candidate"] < comparison["production"]
    assert comparison["interval"][1] < 0
    assert set(comparison["per_user"]) == {"ndcg@10", "recall@10"}
    assert comparison["production_settings"]["params"]["regularization"] == 1.0
    assert "same 40 held-out users" in result.reason
    assert production_record(tables, "two_tower").target == first.version  # type: ignore[union-attr]

    # Without the job's figures the registered set decides, on rows both refits trained on:
    # there the memorising candidate wins, which is what the same-split rule prevents.
    later = datetime.now(UTC) + timedelta(minutes=1)
    unfair = train(s3, bucket, MEMORISES, now=later)
    inflated = register(tables, s3, unfair.keys[-1])
    assert inflated.comparison["candidate"] == 1.0 > inflated.comparison["production"]
    assert inflated.promoted, inflated.reason


def test_same_settings_compare_as_a_tie_and_a_stale_comparison_is_not_used(
    tables: Any, s3: Any, stage: Any
) -> None:
    bucket = stage.bucket
    now = datetime.now(UTC)
    first = train(s3, bucket, GENERALISES, now=now - timedelta(minutes=2))
    assert register(tables, s3, first.keys[-1]).promoted
    production = production_of(tables, "two_tower")
    assert production is not None and production[0] == first.version
    again = train(s3, bucket, GENERALISES, now=now - timedelta(minutes=1), production=production)
    champion = again.manifest["extra"]["champion"]
    assert champion["delta"] == {"ndcg@10": 0.0, "recall@10": 0.0}
    assert "one fit scored for both" in champion["notes"][0]
    tie = register(tables, s3, again.keys[-1])
    assert tie.promoted and tie.comparison["method"] == "same_split", tie.reason
    # A version compared with the previous production is not decided on those figures.
    stale = train(s3, bucket, MEMORISES, now=now, production=production)
    result = register(tables, s3, stale.keys[-1])
    assert "method" not in result.comparison
    assert f"compared with {first.version}" in result.comparison["same_split"]["note"]
