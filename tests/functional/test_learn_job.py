"""The learn job against moto's server: exactly-once bandit counts, predictors, too little data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from learnloop.bandits.updates import update_bandits
from learnloop.clock import iso
from learnloop.ingest import ingest_outcomes, put_content
from learnloop.jobs.learn import learn
from learnloop.models.evaluation import decode_set
from learnloop.models.registration import register_model
from learnloop.models.registry import ModelRegistry

NOW = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


@pytest.fixture
def shards() -> int:
    """Day shards of the test's stage: one, unless a test asks for the default (4).

    A job's first run reads every shard of 61 days of partitions and moto answers each query by
    scanning the table: about 2 s a run at 4 shards. The ledger's exactly-once logic does not
    depend on the shard count; the two tests that count outcomes spread over every shard
    (``test_counts_each_outcome_once``, ``test_learn_trains_...``) keep the default.
    """
    return 1


@pytest.fixture
def settings(settings: Any, shards: int) -> Any:
    return settings.with_overrides(day_shards=shards)


def post(
    tables: Any,
    i: int,
    *,
    arm: str,
    hour: int,
    rate: float,
    followers: int = 0,
    day: datetime = NOW,
    quality: float = 0.5,
    novelty: float = 0.5,
) -> None:
    posted = day.replace(hour=hour, minute=0) - timedelta(days=1)
    put_content(
        tables,
        f"d-{i}",
        {
            "posted_at": posted.isoformat(),
            "bandit_arm": arm,
            "content_type": "educational",
            "quality_score": quality,
            "novelty_score": novelty,
            "expertise_level": 0.5,
            "length": "short",
        },
        now=NOW,
    )
    impressions = 1000
    ingest_outcomes(
        tables,
        {
            "decision_id": f"d-{i}",
            "collected_at": (posted + timedelta(hours=6)).isoformat(),
            "impressions": impressions,
            "likes": round(rate * impressions),
            "followers_gained": followers,
            "viral_score": 10.0,
        },
        now=NOW,
    )


def arms(tables: Any, scope: str) -> dict[str, tuple[float, float, float, float]]:
    return {
        a.arm: (a.successes, a.failures, a.pulls, round(a.reward_sum, 9))
        for a in tables.bandit_arms.query(scope)
    }


@pytest.mark.parametrize("shards", [4])
def test_counts_each_outcome_once(tables: Any) -> None:
    post(tables, 1, arm="a", hour=9, rate=0.05)
    post(tables, 2, arm="a", hour=9, rate=0.01)
    post(tables, 3, arm="b", hour=17, rate=0.04)
    first = update_bandits(tables, NOW)
    assert first.counted == 3
    assert arms(tables, "content") == {"a": (1, 1, 2, 0.06), "b": (1, 0, 1, 0.04)}
    assert arms(tables, "timing") == {"9": (1, 1, 2, 0.06), "17": (1, 0, 1, 0.04)}


def test_rerun_and_duplicate_delivery_change_no_counts(tables: Any) -> None:
    post(tables, 1, arm="a", hour=9, rate=0.05)
    post(tables, 2, arm="b", hour=9, rate=0.01)
    update_bandits(tables, NOW)
    before = (arms(tables, "content"), arms(tables, "timing"))
    # The same outcome delivered again (a client retry) and the job run twice more.
    post(tables, 1, arm="a", hour=9, rate=0.05)
    again = update_bandits(tables, NOW)
    third = update_bandits(tables, NOW)
    assert (arms(tables, "content"), arms(tables, "timing")) == before
    assert again.counted == third.counted == 0
    # Both outcomes are read again (they arrived inside the safety margin); the ledger skips them.
    assert again.already_counted == 2


def test_a_lost_watermark_still_counts_nothing_twice(tables: Any) -> None:
    # Even if the job's watermark were gone (a crash between commit and watermark write),
    # the ledger keeps the counts exact.
    post(tables, 1, arm="a", hour=9, rate=0.05)
    update_bandits(tables, NOW)
    tables.ledger.get("learn#watermark").delete()
    rerun = update_bandits(tables, NOW)
    assert rerun.counted == 0 and rerun.already_counted == 1
    assert arms(tables, "content") == {"a": (1, 0, 1, 0.05)}


def test_outcomes_wait_for_their_content(tables: Any) -> None:
    ingest_outcomes(
        tables,
        {
            "decision_id": "late",
            "collected_at": "2026-11-20T10:00:00Z",
            "impressions": 100,
            "likes": 9,
        },
        now=NOW,
    )
    first = update_bandits(tables, NOW)
    assert (first.counted, first.waiting_for_content) == (0, 1)
    put_content(tables, "late", {"posted_at": "2026-11-20T08:00:00Z", "bandit_arm": "c"}, now=NOW)
    second = update_bandits(tables, NOW)
    assert second.counted == 1
    assert arms(tables, "content") == {"c": (1, 0, 1, 0.09)}


def test_discount_decays_old_counts_by_elapsed_days(tables: Any) -> None:
    post(tables, 1, arm="a", hour=9, rate=0.05)
    update_bandits(tables, NOW, discount=0.5)
    post(tables, 2, arm="a", hour=9, rate=0.05)
    update_bandits(tables, NOW + timedelta(days=1), discount=0.5)
    successes, failures, pulls, _ = arms(tables, "content")["a"]
    assert (successes, failures, pulls) == (pytest.approx(1.5), 0, pytest.approx(1.5))


def test_a_production_bandit_policy_sets_the_content_arms_discount(tables: Any) -> None:
    policy = {"scope": "content", "policy": "thompson", "prior": [1.0, 1.0], "discount": 0.5}
    version = "20261120T000000Z"
    tables.models(
        "bandit_policy",
        version,
        status="candidate",
        manifest={"extra": {"policy": policy}},
        s3_prefix=f"models/bandit_policy/{version}/",
        created_at=iso(NOW),
        updated_at=iso(NOW),
    ).save()
    ModelRegistry(tables).promote("bandit_policy", version, actor="test", reason="test")
    post(tables, 1, arm="a", hour=9, rate=0.05)
    update_bandits(tables, NOW)
    post(tables, 2, arm="a", hour=9, rate=0.05)
    update_bandits(tables, NOW + timedelta(days=1))
    successes, _, pulls, _ = arms(tables, "content")["a"]
    assert (successes, pulls) == (pytest.approx(1.5), pytest.approx(1.5))
    assert arms(tables, "timing")["9"][2] == 2  # the timing arms keep the stage's 1.0


@pytest.mark.parametrize("shards", [4])
def test_learn_trains_both_predictors_and_publishes_onnx(tables: Any, s3: Any) -> None:
    rng = np.random.default_rng(0)
    for i in range(80):
        quality = float(rng.uniform())
        novelty = float(rng.uniform())
        post(
            tables,
            i,
            arm="a",
            hour=int(rng.integers(0, 24)),
            rate=0.01 + 0.05 * quality,
            followers=int(novelty > 0.5),
            quality=quality,
            novelty=novelty,
        )
    result = learn(tables, NOW, s3=s3)
    assert result.bandits.counted == 80
    for name in ("engagement", "follow_through"):
        info = result.models[name]
        assert info["rows"] == 80
        prefix = f"models/{name}/{info['version']}/"
        listed = s3.list_objects_v2(Bucket=tables.settings.bucket, Prefix=prefix)
        assert {o["Key"] for o in listed["Contents"]} == {
            prefix + "model.onnx",
            prefix + "validation.onnx",
            prefix + "reference.npz",  # the training rows' inputs: drift's reference
            prefix + "manifest.json",
        }
        manifest = json.loads(
            s3.get_object(Bucket=tables.settings.bucket, Key=prefix + "manifest.json")[
                "Body"
            ].read()
        )
        assert manifest["rows"] == 80
        # The hold-out rows (16 of 80), with their decision ids, are the evaluation set.
        evaluation = manifest["evaluation"]
        assert (evaluation["source"], evaluation["rows"]) == ("holdout", 16)
        body = s3.get_object(Bucket=tables.settings.bucket, Key=evaluation["key"])["Body"].read()
        held_out = decode_set(body)
        assert (
            len(set(held_out["decision_id"].tolist())) == 16 and "" not in held_out["decision_id"]
        )
        assert info["manifest_key"] == prefix + "manifest.json"
        # Publishing writes S3 only; registration (the manifest's trigger) records the version.
        assert list(tables.models.query(name)) == []
        registered = register_model(
            tables, s3, bucket=tables.settings.bucket, key=info["manifest_key"], now=NOW
        )
        assert (registered.status, registered.promoted) == ("production", True)  # the first
        assert tables.models.get(name, "@production").target == info["version"]
    assert result.models["engagement"]["metrics"]["r2"] > 0.9
    # Nothing new: no counts move and nothing is retrained.
    rerun = learn(tables, NOW, s3=s3)
    assert rerun.bandits.counted == 0
    assert "skipped" in rerun.models["all"]
    assert len(ModelRegistry(tables).versions("engagement")) == 1


def test_too_little_data_trains_nothing_and_says_why(tables: Any, s3: Any) -> None:
    for i in range(10):
        post(tables, i, arm="a", hour=9, rate=0.05)
    result = learn(tables, NOW, s3=s3)
    assert result.bandits.counted == 10
    for name in ("engagement", "follow_through"):
        assert "10" in result.models[name]["skipped"] and "50" in result.models[name]["skipped"]
    assert "Contents" not in s3.list_objects_v2(Bucket=tables.settings.bucket)


def test_a_run_that_died_after_claiming_is_finished_by_the_next(tables: Any) -> None:
    from learnloop.bandits.updates import Observation, _claim

    post(tables, 1, arm="a", hour=9, rate=0.05)
    post(tables, 2, arm="a", hour=9, rate=0.01)
    observations = [
        Observation("d-1", "a", 9, 0.05, True),
        Observation("d-2", "a", 9, 0.01, False),
    ]
    # A run claims both decisions, then dies before touching any arm.
    assert len(_claim(tables, observations, "dead-run-0", NOW)) == 2
    for entry in tables.ledger.by_pending.query("learn"):
        entry.update(actions=[tables.ledger.created_at.set("2026-01-01T00:00:00.000000Z")])
    result = update_bandits(tables, NOW)
    assert result.recovered == 2
    assert result.counted == 0 and result.already_counted == 2  # claimed by the dead run
    assert arms(tables, "content") == {"a": (1, 1, 2, 0.06)}
    assert list(tables.ledger.by_pending.query("learn")) == []
    update_bandits(tables, NOW)
    assert arms(tables, "content") == {"a": (1, 1, 2, 0.06)}


def test_a_live_runs_fresh_claims_are_not_recovered_by_another(tables: Any) -> None:
    from learnloop.bandits.updates import Observation, _claim

    post(tables, 1, arm="a", hour=9, rate=0.05)
    _claim(tables, [Observation("d-1", "a", 9, 0.05, True)], "live-run-0", NOW)
    result = update_bandits(tables, NOW)
    assert result.recovered == 0
    assert arms(tables, "content") == {}  # left to the live run, within the grace period


def test_applying_a_chunk_twice_counts_it_once(tables: Any) -> None:
    from learnloop.bandits.updates import Observation, _apply, _deltas

    deltas = _deltas([Observation("d-1", "a", 9, 0.05, True)])
    _apply(tables, deltas, "chunk-1", NOW, 1.0)
    _apply(tables, deltas, "chunk-1", NOW, 1.0)
    _apply(tables, deltas, "chunk-2", NOW, 1.0)
    assert arms(tables, "content") == {"a": (2, 0, 2, 0.1)}


def test_concurrent_runs_count_every_outcome_once(tables: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for i in range(40):
        post(tables, i, arm=f"arm{i % 3}", hour=i % 24, rate=0.05 if i % 2 else 0.01)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: update_bandits(tables, NOW), range(4)))
    assert sum(r.counted for r in results) == 40
    pulls = sum(p for _, _, p, _ in arms(tables, "content").values())
    assert pulls == 40


def test_a_run_in_the_past_reaches_back_from_its_own_time(tables: Any) -> None:
    # A replay or backfill long after the fact: outcomes stamped 90 days ago, more than the
    # training window before the wall clock, are still found by a first run for that time.
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    put_content(
        tables, "old", {"posted_at": iso(then - timedelta(hours=8)), "bandit_arm": "a"}, now=then
    )
    ingest_outcomes(
        tables,
        {
            "decision_id": "old",
            "collected_at": iso(then - timedelta(hours=2)),
            "impressions": 100,
            "likes": 9,
        },
        now=then,
    )
    result = update_bandits(tables, then + timedelta(hours=1))
    assert result.counted == 1
    assert arms(tables, "content") == {"a": (1, 0, 1, 0.09)}


def test_claims_take_one_read_and_one_transaction_per_hundred_decisions_and_redelivery_adds_nothing(
    tables: Any, _dynamodb_client: Any
) -> None:
    from learnloop.bandits.updates import Observation, _claim

    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    _dynamodb_client.meta.events.register("before-parameter-build.dynamodb.*", record)
    chunk = [Observation(f"d-{i}", "a", 9, 0.05, True) for i in range(150)]
    try:
        assert len(_claim(tables, chunk, "run-0", NOW)) == 150
        first = list(seen)
        seen.clear()
        # The same chunk delivered again (a resumed run) finds its own claims: still its own.
        assert len(_claim(tables, chunk, "run-0", NOW)) == 150
        again = list(seen)
        seen.clear()
        # Another chunk (another run) claiming the same decisions, plus 10 new ones.
        other = chunk[:40] + [Observation(f"e-{i}", "a", 9, 0.05, True) for i in range(10)]
        assert [o.decision_id for o in _claim(tables, other, "run-1", NOW)] == [
            f"e-{i}" for i in range(10)
        ]
    finally:
        _dynamodb_client.meta.events.unregister("before-parameter-build.dynamodb.*", record)
    # 150 decisions: 2 BatchGetItem, 2 TransactWriteItems, not one PutItem each.
    assert sorted(first) == ["BatchGetItem"] * 2 + ["TransactWriteItems"] * 2
    assert sorted(again) == ["BatchGetItem"] * 2  # nothing written twice
    assert sorted(seen) == ["BatchGetItem", "TransactWriteItems"]
    pending = list(tables.ledger.by_pending.query("learn"))
    assert len(pending) == 160
    assert {e.chunk for e in pending if e.key.startswith("learn#d-")} == {"run-0"}
