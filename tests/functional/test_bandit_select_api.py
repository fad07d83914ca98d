"""POST /v1/bandit/select reads the arms the learn job wrote."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import call, error_of, fields_of


def seed_arms(tables: Any) -> None:
    tables.bandit_arms("content", "good", successes=90, failures=10, pulls=100, reward_sum=5).save()
    tables.bandit_arms("content", "bad", successes=5, failures=95, pulls=100, reward_sum=1).save()
    tables.bandit_arms("timing", "9", successes=0, failures=0, pulls=50, reward_sum=3.0).save()
    tables.bandit_arms("timing", "21", successes=0, failures=0, pulls=50, reward_sum=0.5).save()


def test_thompson_prefers_the_arm_with_more_successes(client: Any, keys: dict, tables: Any) -> None:
    seed_arms(tables)
    response = call(
        client, "POST", "/v1/bandit/select", key=keys["read"], body={"scope": "content", "n": 50}
    )
    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["policy"] == "thompson"
    assert body["arms"].count("good") >= 48
    posterior = body["posteriors"]["good"]
    assert (posterior["alpha"], posterior["beta"]) == (91, 11)


def test_new_candidates_start_at_the_prior(client: Any, keys: dict, tables: Any) -> None:
    response = call(
        client,
        "POST",
        "/v1/bandit/select",
        key=keys["read"],
        body={"scope": "content", "candidates": ["x", "y"]},
    )
    assert response.status_code == 200
    assert response.json_body["arm"] in {"x", "y"}
    assert response.json_body["posteriors"]["x"]["alpha"] == 1


def test_timing_tries_unpulled_hours_then_the_best(client: Any, keys: dict, tables: Any) -> None:
    seed_arms(tables)
    unpulled = call(client, "POST", "/v1/bandit/select", key=keys["read"], body={"scope": "timing"})
    assert unpulled.json_body["arm"] not in {"9", "21"}
    known = call(
        client,
        "POST",
        "/v1/bandit/select",
        key=keys["read"],
        body={"scope": "timing", "candidates": ["9", "21"]},
    )
    assert known.json_body["policy"] == "ucb1"
    assert known.json_body["arm"] == "9"


def test_decayed_hours_keep_their_mean(client: Any, keys: dict, tables: Any) -> None:
    # LEARNLOOP_BANDIT_DISCOUNT < 1 leaves fractional pulls: 1.9 pulls of mean 0.03 must not
    # read as 1 pull of mean 0.057, and an hour decayed under half a pull is tried again.
    tables.bandit_arms("timing", "7", pulls=1.9, reward_sum=0.057).save()
    tables.bandit_arms("timing", "9", pulls=40.0, reward_sum=1.6).save()
    tables.bandit_arms("timing", "21", pulls=0.4, reward_sum=0.02).save()
    response = call(
        client,
        "POST",
        "/v1/bandit/select",
        key=keys["read"],
        body={"scope": "timing", "candidates": ["7", "9", "21"]},
    )
    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["mean_rewards"]["7"] == pytest.approx(0.03)
    assert body["mean_rewards"]["9"] == pytest.approx(0.04)
    assert body["arm"] == "21" and body["expectations"]["21"] is None  # forgotten: unpulled


def test_no_arms_and_no_candidates_is_409(client: Any, keys: dict) -> None:
    response = call(
        client, "POST", "/v1/bandit/select", key=keys["read"], body={"scope": "content"}
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_bad_scope_is_422_and_ingest_key_is_403(client: Any, keys: dict) -> None:
    bad = call(client, "POST", "/v1/bandit/select", key=keys["read"], body={"scope": "mood"})
    assert bad.status_code == 422 and fields_of(bad) == {"scope"}
    forbidden = call(
        client, "POST", "/v1/bandit/select", key=keys["ingest"], body={"scope": "content"}
    )
    assert forbidden.status_code == 403


def test_arms_are_cached_for_a_few_seconds(tables: Any) -> None:
    from learnloop.bandits.arms import ArmsCache

    now = [100.0]
    cache = ArmsCache(tables, ttl_seconds=5, clock=lambda: now[0])
    tables.bandit_arms("content", "a", successes=1, failures=0, pulls=1, reward_sum=0).save()
    assert set(cache.get("content")) == {"a"}
    tables.bandit_arms("content", "b", successes=1, failures=0, pulls=1, reward_sum=0).save()
    now[0] += 4
    assert set(cache.get("content")) == {"a"}  # still fresh: no Query
    now[0] += 2
    assert set(cache.get("content")) == {"a", "b"}


def test_an_arm_nobody_pulls_forgets_at_the_pace_of_the_others(
    client: Any, keys: dict, tables: Any, settings: Any
) -> None:
    # learn decays an arm only when it writes it: "old" was last written two days before
    # "new", so with a daily discount of 0.5 its counts are worth a quarter when read.
    tables.bandit_arms(
        "content", "old", successes=80, failures=20, decayed_at="2026-11-20T00:00:00.000000Z"
    ).save()
    tables.bandit_arms(
        "content", "new", successes=8, failures=2, decayed_at="2026-11-22T00:00:00.000000Z"
    ).save()
    body = {"scope": "content", "candidates": ["old", "new"], "seed": 1}
    kept = call(client, "POST", "/v1/bandit/select", key=keys["read"], body=body).json_body
    assert kept["posteriors"]["old"]["alpha"] == 81  # no forgetting: counts as stored

    from learnloop.bandits.posteriors import bandit_posteriors
    from learnloop.bandits.select import select
    from learnloop.store import Tables

    forgetting = Tables(settings.with_overrides(bandit_discount=0.5))
    read = select(forgetting, body)
    old, new = read["posteriors"]["old"], read["posteriors"]["new"]
    assert (old["alpha"], old["beta"]) == (pytest.approx(1 + 80 / 4), pytest.approx(1 + 20 / 4))
    assert (new["alpha"], new["beta"]) == (9, 3)
    shown = {a["arm"]: a for a in bandit_posteriors(forgetting)["scopes"]["content"]["arms"]}
    assert (shown["old"]["alpha"], shown["new"]["alpha"]) == (pytest.approx(21), 9)
