"""The decision log over the real app: select / recommendations logged with propensities,
feedback joined by ``decision_id``, CTR per policy in the admin API, exports and deletion."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from support.api import call, error_of, fields_of
from support.model_drops import T0
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.api import Services, set_services
from learnloop.api.auth import Authenticator
from learnloop.clock import utcnow
from learnloop.decisions.log import read_decisions
from learnloop.models.registration import register_model
from learnloop.users.pseudonym import pseudonymize

TODAY = utcnow().date()


@pytest.fixture
def exploring(settings: Any, tables: Any) -> Any:
    """The stage's services with exploration on (the test stage turns it off)."""
    changed = settings.with_overrides(bandit_epsilon=0.2, recommend_epsilon=0.2)
    tables.settings = changed
    services = Services(
        settings=changed, tables=tables, authenticator=Authenticator(tables, cache_seconds=0)
    )
    set_services(services)
    yield tables
    set_services(None)


def seed_arms(tables: Any) -> None:
    at = "2026-11-20T09:00:00.000000Z"
    tables.bandit_arms("content", "good", successes=30, failures=10, updated_at=at).save()
    tables.bandit_arms("content", "bad", successes=10, failures=30, updated_at=at).save()
    tables.bandit_arms("timing", "9", pulls=50, reward_sum=3.0, updated_at=at).save()
    tables.bandit_arms("timing", "21", pulls=50, reward_sum=0.5, updated_at=at).save()


def select(client: Any, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    response = call(client, "POST", "/v1/bandit/select", key=keys["read"], body=body)
    assert response.status_code == 200, response.body
    return response.json_body


def feedback(client: Any, keys: dict[str, str], **body: Any) -> Any:
    return call(client, "POST", "/v1/feedback", key=keys["ingest"], body=body)


def decisions_of(tables: Any) -> dict[str, dict[str, Any]]:
    return {d["decision_id"]: d for d in read_decisions(tables, TODAY, TODAY)}


def test_select_is_logged_with_propensities_and_clicks_reach_the_ctr_per_policy(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    seed_arms(tables)
    answers = [select(client, keys, scope="content", user_id="u1") for _ in range(6)]
    timing = select(client, keys, scope="timing", candidates=["9", "21"])
    logged = decisions_of(tables)
    assert set(logged) == {a["decision_id"] for a in [*answers, timing]}
    first = logged[answers[0]["decision_id"]]
    assert first["surface"] == "bandit" and first["policy"] == "thompson"
    assert first["policy_version"] == "2026-11-20T09:00:00.000000Z"
    assert first["user_id"] == pseudonymize("u1", tables.settings.pseudonym_secret)
    assert first["chosen"] == answers[0]["arms"] and first["propensity_draws"] == 256
    [shown] = first["shown"]
    assert shown["item"] == answers[0]["arm"] and shown["position"] == 0
    # P(good beats bad) for Beta(31, 11) vs Beta(11, 31) is above 0.999.
    assert shown["propensity"] == answers[0]["propensities"][0]
    assert shown["propensity"] > (0.9 if shown["item"] == "good" else -1)
    # UCB1 without exploration (the test stage): the best hour, propensity 1.
    assert logged[timing["decision_id"]]["shown"] == [
        {"item": "9", "position": 0, "propensity": 1.0}
    ]

    for answer in answers[:3]:
        assert (
            feedback(client, keys, decision_id=answer["decision_id"], type="click").status_code
            == 200
        )
    stats = call(client, "GET", "/v1/admin/decisions/stats", key=keys["admin"]).json_body
    thompson = next(g for g in stats["totals"]["by_policy"] if g["policy"] == "thompson")
    assert (thompson["decisions"], thompson["clicks"], thompson["ctr"]) == (6, 3, 0.5)
    assert thompson["reward_mean"] == 0.5
    ucb = next(g for g in stats["totals"]["by_policy"] if g["policy"] == "ucb1")
    assert (ucb["decisions"], ucb["clicks"], ucb["ctr"]) == (1, 0, 0.0)
    assert stats["days"][-1]["date"] == TODAY.isoformat()
    assert {(p["policy"], p["position"]) for p in stats["totals"]["by_position"]} == {
        ("thompson", 0),
        ("ucb1", 0),
    }


def test_feedback_is_idempotent_and_checked(client: Any, keys: dict[str, str], tables: Any) -> None:
    seed_arms(tables)
    answer = select(client, keys, scope="content", n=2)
    decision_id = answer["decision_id"]
    item = answer["arms"][1]
    once = feedback(client, keys, decision_id=decision_id, type="reward", item=item, value=0.25)
    again = feedback(client, keys, decision_id=decision_id, type="reward", item=item, value=9)
    assert once.json_body["duplicate"] is False and again.json_body["duplicate"] is True
    assert again.json_body["value"] == 0.25
    [logged] = decisions_of(tables).values()
    assert logged["reward"] == 0.25 and logged["feedback"] == [
        {"type": "reward", "item": item, "value": 0.25}
    ]

    unknown = feedback(client, keys, decision_id="nope", type="click")
    assert unknown.status_code == 404 and fields_of(unknown) == {"decision_id"}
    no_value = feedback(client, keys, decision_id=decision_id, type="reward")
    assert no_value.status_code == 422 and fields_of(no_value) == {"value"}
    not_shown = feedback(client, keys, decision_id=decision_id, type="click", item="hour:3")
    assert not_shown.status_code == 422 and fields_of(not_shown) == {"item"}
    bad_type = feedback(client, keys, decision_id=decision_id, type="like")
    assert bad_type.status_code == 422 and fields_of(bad_type) == {"type"}
    read_key = call(client, "POST", "/v1/feedback", key=keys["read"], body={})
    assert read_key.status_code == 403 and error_of(read_key)["code"]


def test_exploring_ucb_logs_the_epsilon_greedy_probability(
    client: Any, keys: dict[str, str], exploring: Any
) -> None:
    seed_arms(exploring)
    answers = [select(client, keys, scope="timing", candidates=["9", "21"]) for _ in range(20)]
    logged = decisions_of(exploring)
    for answer in answers:
        [shown] = logged[answer["decision_id"]]["shown"]
        # epsilon 0.2 over 2 arms: the best 0.8 + 0.1, the other 0.1.
        assert shown["propensity"] == pytest.approx(0.9 if shown["item"] == "9" else 0.1)
    assert logged[answers[0]["decision_id"]]["context"]["epsilon"] == 0.2


def test_logging_off_still_answers_with_an_id(
    client: Any, keys: dict[str, str], settings: Any, tables: Any
) -> None:
    tables.settings = settings.with_overrides(decision_log=False)
    set_services(
        Services(
            settings=tables.settings,
            tables=tables,
            authenticator=Authenticator(tables, cache_seconds=0),
        )
    )
    answer = select(client, keys, scope="content", candidates=["a", "b"])
    assert len(answer["decision_id"]) == 32 and answer["propensities"]
    assert decisions_of(tables) == {}


# --- recommendations -------------------------------------------------------------------------


@pytest.fixture
def two_tower(exploring: Any, s3: Any) -> str:
    rng = np.random.default_rng(0)
    secret = exploring.settings.pseudonym_secret
    data = TwoTowerData(
        item_keys=[f"meme#it{i}" for i in range(60)],
        item_matrix=rng.normal(size=(60, 8)).astype(np.float32),
        users=[pseudonymize(u, secret) for u in ("u0", "u1")],
        user_matrix=rng.normal(size=(2, 8)).astype(np.float32),
    )
    key = drop_two_tower(exploring, s3, data, metrics={"ndcg@10": 0.3})
    result = register_model(exploring, s3, bucket=exploring.settings.bucket, key=key, now=T0)
    assert result.status == "production", result.reason
    return result.version


def recommend(client: Any, keys: dict[str, str], **query: Any) -> dict[str, Any]:
    response = call(client, "GET", f"/v1/recommendations?{urlencode(query)}", key=keys["read"])
    assert response.status_code == 200, response.body
    return response.json_body


def test_recommendations_are_logged_with_slot_propensities(
    client: Any, keys: dict[str, str], exploring: Any, two_tower: str
) -> None:
    answers = [recommend(client, keys, user_id="u0", k=5, seed=s) for s in range(8)]
    logged = decisions_of(exploring)
    pool = max(5, exploring.settings.recommend_explore_pool)
    explored = 0
    for answer in answers:
        decision = logged[answer["decision_id"]]
        assert decision["surface"] == "recommendations" and decision["policy"] == "two_tower"
        assert decision["policy_version"] == two_tower
        assert [s["item"] for s in decision["shown"]] == [i["item_key"] for i in answer["items"]]
        for slot in decision["shown"]:
            assert slot["propensity"] in (pytest.approx(0.8), pytest.approx(0.2 / pool))
            explored += slot["propensity"] < 0.5
    # The same user and model: the unexplored slots hold the same item at the same rank.
    base = {}
    for decision in (logged[a["decision_id"]] for a in answers):
        for slot in decision["shown"]:
            if slot["propensity"] > 0.5:
                assert base.setdefault(slot["position"], slot["item"]) == slot["item"]
    assert 0 < explored < 40  # 40 slots at epsilon 0.2: some, not all, explored

    clicked = answers[0]["items"][2]["item_key"]
    assert (
        feedback(
            client, keys, decision_id=answers[0]["decision_id"], type="click", item=clicked
        ).status_code
        == 200
    )
    stats = call(client, "GET", "/v1/admin/decisions/stats", key=keys["admin"]).json_body
    [group] = stats["totals"]["by_policy"]
    assert (group["surface"], group["impressions"], group["clicks"]) == ("recommendations", 40, 1)
    position = {p["position"]: p for p in stats["totals"]["by_position"]}
    assert position[2]["clicks"] == 1 and position[2]["ctr"] == 0.125


def test_opted_out_users_are_logged_without_an_id(
    client: Any, keys: dict[str, str], exploring: Any, two_tower: str
) -> None:
    response = call(
        client, "PUT", "/v1/users/u1/consent", key=keys["ingest"], body={"consent": "opted_out"}
    )
    assert response.status_code == 200
    answer = recommend(client, keys, user_id="u1", k=3)
    assert answer["strategy"] == "popular"
    assert decisions_of(exploring)[answer["decision_id"]]["user_id"] is None


def test_deletion_removes_a_users_decisions_and_their_feedback(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    seed_arms(tables)
    mine = select(client, keys, scope="content", user_id="u9")
    other = select(client, keys, scope="content", user_id="u8")
    assert feedback(client, keys, decision_id=mine["decision_id"], type="click").status_code == 200
    reply = call(client, "DELETE", "/v1/users/u9", key=keys["admin"])
    assert reply.status_code == 200, reply.body
    assert json.loads(reply.body)["tables"]["decisions"] == 2  # the decision and its click
    assert set(decisions_of(tables)) == {other["decision_id"]}
    pseudonym = pseudonymize("u9", tables.settings.pseudonym_secret)
    assert list(tables.decisions.by_user.query(pseudonym)) == []


def test_the_daily_export_carries_decisions_pseudonymized(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    from learnloop.privacy.exports import DECISIONS_FILE, export_day, export_prefix

    seed_arms(tables)
    answer = select(client, keys, scope="content", user_id="u1")
    feedback(client, keys, decision_id=answer["decision_id"], type="conversion")
    result = export_day(tables, TODAY, s3=s3)
    assert result.rows[DECISIONS_FILE] == 1
    body = s3.get_object(Bucket=tables.settings.bucket, Key=export_prefix(TODAY) + DECISIONS_FILE)
    [row] = [json.loads(line) for line in body["Body"].read().splitlines()]
    assert row["user"] == pseudonymize("u1", tables.settings.pseudonym_secret)
    assert "u1" not in json.dumps(row)
    assert row["reward"] == 1.0 and row["shown"][0]["item"] == answer["arm"]


def test_rollup_daily_stores_the_decision_stats(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    from learnloop.rollups.job import rollup_day

    seed_arms(tables)
    answer = select(client, keys, scope="content")
    feedback(client, keys, decision_id=answer["decision_id"], type="click")
    stats = rollup_day(tables, TODAY).stats["decisions"]
    assert stats["decisions"] == 1 and stats["by_policy"][0]["ctr"] == 1.0
    assert rollup_day(tables, TODAY - timedelta(days=1)).stats["decisions"]["decisions"] == 0


def test_decision_stats_range_is_checked(client: Any, keys: dict[str, str]) -> None:
    too_long = call(
        client,
        "GET",
        f"/v1/admin/decisions/stats?from=2026-01-01&to={date(2026, 3, 1).isoformat()}",
        key=keys["admin"],
    )
    assert too_long.status_code == 422 and fields_of(too_long) == {"from"}


def test_the_off_policy_replay_reads_what_select_logged(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    from learnloop.decisions.ope import InverseProbabilityWeighting
    from learnloop.decisions.replay import ThompsonCandidate, replay

    seed_arms(tables)
    answers = [select(client, keys, scope="content") for _ in range(8)]
    for answer in answers[::2]:
        feedback(client, keys, decision_id=answer["decision_id"], type="click")
    result = replay(
        read_decisions(tables, TODAY, TODAY),
        ThompsonCandidate(random_state=0),
        scope="content",
        batch_size=4,
    )
    assert sorted(result.decision_ids) == sorted(a["decision_id"] for a in answers)
    assert result.data.rewards.tolist().count(1.0) == 4
    logged = {a["decision_id"]: a["propensities"][0] for a in answers}
    assert result.data.propensities.tolist() == [logged[d] for d in result.decision_ids]
    value = InverseProbabilityWeighting(n_resamples=0).estimate(result.data)
    assert value.n == 8 and 0.0 <= value.estimate <= 8.0
