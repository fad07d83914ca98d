"""A/B experiments over HTTP: create, assign, expose and convert through /v1/events, results."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from support.api import call, error_of, fields_of

from learnloop.experiments import variant_for

EXPERIMENT = "checkout-2026"
GOAL = "shop.purchase"
BODY: dict[str, Any] = {
    "name": "Checkout button",
    "description": "green vs blue",
    "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
    "goal_event_type": GOAL,
}
#: The planted truth: B converts three times as often as A.
RATES = {"A": 0.10, "B": 0.30}


def put(
    client: Any, keys: dict[str, str], body: dict[str, Any], experiment: str = EXPERIMENT
) -> Any:
    return call(client, "PUT", f"/v1/admin/experiments/{experiment}", key=keys["admin"], body=body)


def started(client: Any, keys: dict[str, str], body: dict[str, Any] | None = None) -> dict:
    reply = put(client, keys, {**(body or BODY), "status": "running"})
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


def assignment(client: Any, keys: dict[str, str], user: str) -> dict[str, Any]:
    reply = call(
        client,
        "GET",
        f"/v1/experiments/{EXPERIMENT}/assignment?user_id={user}",
        key=keys["read"],
    )
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


def post_events(client: Any, keys: dict[str, str], events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        reply = call(
            client,
            "POST",
            "/v1/events",
            key=keys["ingest"],
            body={"events": events[start : start + 500]},
        )
        assert reply.status_code == 200, reply.body


def exposure(user: str, variant: str, at: str) -> dict[str, Any]:
    return {
        "type": "experiment_exposure",
        "user_id": user,
        "occurred_at": at,
        "properties": {"experiment_id": EXPERIMENT, "variant": variant},
    }


def results(client: Any, keys: dict[str, str]) -> dict[str, Any]:
    reply = call(client, "GET", f"/v1/admin/experiments/{EXPERIMENT}", key=keys["admin"])
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


def test_a_planted_effect_is_found(client: Any, keys: dict[str, str]) -> None:
    experiment = started(client, keys)
    at = experiment["started_at"]
    rng = random.Random(20261120)
    users = [f"shopper-{i}" for i in range(500)]
    events: list[dict[str, Any]] = []
    truth: Counter[tuple[str, bool]] = Counter()
    for index, user in enumerate(users):
        # Over HTTP for the first hundred (each ~40 ms on moto); the route is this function.
        variant = variant_for(EXPERIMENT, user, experiment["variants"])
        if index < 100:
            assert assignment(client, keys, user)["variant"] == variant
        events.append(exposure(user, variant, at))
        converted = rng.random() < RATES[variant]
        truth[(variant, converted)] += 1
        if converted:
            # Twice: users are counted, not events.
            events += [
                {"type": GOAL, "user_id": user, "occurred_at": at, "event_id": f"{user}-{n}"}
                for n in range(2)
            ]
    # Noise that must not count: another experiment's exposure, a goal from a stranger.
    events.append(
        {**exposure("shopper-0", "B", at), "properties": {"experiment_id": "x", "variant": "B"}}
    )
    events.append({"type": GOAL, "user_id": "never-exposed", "occurred_at": at})
    post_events(client, keys, events)

    body = results(client, keys)
    report = body["results"]
    assert body["status"] == "running" and report["control"] == "A"
    rows = {row["variant"]: row for row in report["variants"]}
    for variant in ("A", "B"):
        assert rows[variant]["users_exposed"] == truth[(variant, True)] + truth[(variant, False)]
        assert rows[variant]["users_converted"] == truth[(variant, True)]
        assert rows[variant]["ci_low"] < rows[variant]["conversion_rate"] < rows[variant]["ci_high"]
    assert 200 < rows["A"]["users_exposed"] < 300, "a 50/50 split"
    assert rows["B"]["conversion_rate"] == pytest.approx(0.30, abs=0.06)
    assert rows["A"]["conversion_rate"] == pytest.approx(0.10, abs=0.05)
    assert rows["B"]["p_value"] < 0.01 and rows["A"]["p_value"] is None
    assert rows["B"]["difference"] > 0.1
    assert rows["B"]["prob_best"] > 0.95
    assert report["window"]["days"] >= 1 and report["window"]["truncated"] is False
    assert report["sample_ratio"]["mismatch"] is False  # users split as the weights say

    # Stopping: assignment serves the control, results stay readable and identical.
    stop = call(client, "POST", f"/v1/admin/experiments/{EXPERIMENT}/stop", key=keys["admin"])
    assert stop.status_code == 200 and json.loads(stop.body)["status"] == "stopped"
    after = assignment(client, keys, "shopper-1")
    assert (after["variant"], after["in_experiment"], after["reason"]) == (
        "A",
        False,
        "not_running",
    )
    assert results(client, keys)["results"]["variants"] == report["variants"]


def test_exposures_that_do_not_follow_the_weights_are_flagged(
    client: Any, keys: dict[str, str]
) -> None:
    experiment = started(client, keys)
    at = experiment["started_at"]
    users = [f"visitor-{i}" for i in range(400)]
    # A broken client logs B's exposures only a third of the time: B looks rare.
    events = [
        exposure(user, variant, at)
        for i, user in enumerate(users)
        if (variant := variant_for(EXPERIMENT, user, experiment["variants"])) == "A" or i % 3 == 0
    ]
    post_events(client, keys, events)
    ratio = results(client, keys)["results"]["sample_ratio"]
    assert ratio["mismatch"] is True and ratio["p_value"] < 0.001 and ratio["chi2"] > 10.8


def test_assignment_is_deterministic_and_follows_the_weights(
    client: Any, keys: dict[str, str]
) -> None:
    experiment = started(
        client,
        keys,
        {**BODY, "variants": [{"name": "A", "weight": 8}, {"name": "B", "weight": 2}]},
    )
    assert [v["weight"] for v in experiment["variants"]] == [0.8, 0.2]
    seen = {user: assignment(client, keys, user) for user in (f"u{i}" for i in range(80))}
    for user, reply in seen.items():
        assert set(reply) == {
            "experiment_id",
            "user_id",
            "variant",
            "status",
            "in_experiment",
            "reason",
        }
        assert reply["in_experiment"] is True and reply["user_id"] == user
        assert reply["variant"] == variant_for(EXPERIMENT, user, experiment["variants"])
        assert assignment(client, keys, user)["variant"] == reply["variant"]
    share_b = sum(r["variant"] == "B" for r in seen.values()) / len(seen)
    assert 0.05 < share_b < 0.4  # the distribution itself: tests/unit/experiments


def test_a_draft_serves_the_control_and_opted_out_users_are_not_bucketed_or_counted(
    client: Any, keys: dict[str, str]
) -> None:
    created = put(client, keys, BODY)
    assert created.status_code == 200 and json.loads(created.body)["status"] == "draft"
    draft = assignment(client, keys, "u1")
    assert (draft["variant"], draft["in_experiment"], draft["reason"]) == (
        "A",
        False,
        "not_running",
    )
    assert results(client, keys)["results"]["window"] is None

    experiment = started(client, keys)
    at = experiment["started_at"]
    # Find a user bucketed into B, expose them, then they opt out.
    user = next(
        u
        for u in (f"p{i}" for i in range(100))
        if variant_for(EXPERIMENT, u, experiment["variants"]) == "B"
    )
    post_events(
        client, keys, [exposure(user, "B", at), {"type": GOAL, "user_id": user, "occurred_at": at}]
    )
    assert results(client, keys)["results"]["variants"][1]["users_converted"] == 1
    opt_out = call(
        client,
        "PUT",
        f"/v1/users/{user}/consent",
        key=keys["ingest"],
        body={"consent": "opted_out"},
    )
    assert opt_out.status_code == 200
    reply = assignment(client, keys, user)
    assert (reply["variant"], reply["in_experiment"], reply["reason"]) == ("A", False, "excluded")
    report = results(client, keys)["results"]
    assert [r["users_exposed"] for r in report["variants"]] == [0, 0]
    assert report["excluded_users"] == 1


def test_deleting_a_user_removes_their_events_from_the_results_and_nothing_else(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    experiment = started(client, keys)
    at = experiment["started_at"]
    users = ["keep-1", "keep-2", "gone-1"]
    events = [exposure(u, variant_for(EXPERIMENT, u, experiment["variants"]), at) for u in users]
    events += [{"type": GOAL, "user_id": u, "occurred_at": at} for u in users]
    post_events(client, keys, events)
    before = results(client, keys)["results"]["variants"]
    assert sum(r["users_converted"] for r in before) == 3

    deleted = call(client, "DELETE", "/v1/users/gone-1", key=keys["admin"])
    assert deleted.status_code == 200, deleted.body
    assert json.loads(deleted.body)["tables"]["events"] == 2
    after = results(client, keys)
    assert sum(r["users_converted"] for r in after["results"]["variants"]) == 2
    assert sum(r["users_exposed"] for r in after["results"]["variants"]) == 2
    # The experiment itself is untouched: it holds no per-user data.
    assert {k: after[k] for k in ("version", "variants", "status")} == {
        k: experiment[k] for k in ("version", "variants", "status")
    }
    assert "gone-1" not in json.dumps(tables.experiments.get(EXPERIMENT).attribute_values)


def test_put_is_idempotent_and_variants_lock_once_started(
    client: Any, keys: dict[str, str]
) -> None:
    first = json.loads(put(client, keys, BODY).body)
    again = json.loads(put(client, keys, BODY).body)
    assert again == first and first["version"] == 1
    # Weights are relative: [2, 2] is the same split as [1, 1], so nothing changes.
    same = {**BODY, "variants": [{"name": "A", "weight": 2}, {"name": "B", "weight": 2}]}
    assert json.loads(put(client, keys, same).body)["version"] == 1
    # A draft may still change its variants.
    three = {**BODY, "variants": [*BODY["variants"], {"name": "C", "weight": 1}]}
    assert json.loads(put(client, keys, three).body)["version"] == 2
    running = started(client, keys, three)
    assert running["version"] == 3 and running["started_at"]
    # Renaming is fine while running; re-weighting is not.
    renamed = json.loads(put(client, keys, {**three, "name": "Checkout v2"}).body)
    assert renamed["name"] == "Checkout v2" and renamed["started_at"] == running["started_at"]
    reweighted = {**three, "variants": [{"name": "A", "weight": 2}, *three["variants"][1:]]}
    conflict = put(client, keys, reweighted)
    assert conflict.status_code == 409
    error = error_of(conflict)
    assert error["code"] == "variants_locked"
    assert "would move users" in error["message"]
    assert fields_of(conflict) == {"variants"}
    assert put(client, keys, BODY).status_code == 409, "dropping a variant is a change too"
    # Lifecycle: running cannot go back to draft; stopped is final.
    back = put(client, keys, {**three, "status": "draft"})
    assert back.status_code == 409 and error_of(back)["code"] == "invalid_transition"
    stop = call(client, "POST", f"/v1/admin/experiments/{EXPERIMENT}/stop", key=keys["admin"])
    stopped = json.loads(stop.body)
    again_stop = call(client, "POST", f"/v1/admin/experiments/{EXPERIMENT}/stop", key=keys["admin"])
    assert json.loads(again_stop.body)["stopped_at"] == stopped["stopped_at"]
    assert put(client, keys, {**three, "status": "running"}).status_code == 409


def test_list_and_unknown_experiments(client: Any, keys: dict[str, str]) -> None:
    empty = call(client, "GET", "/v1/admin/experiments", key=keys["admin"])
    assert json.loads(empty.body) == {"experiments": []}
    put(client, keys, BODY, experiment="zeta")
    put(client, keys, {**BODY, "status": "running"}, experiment="alpha")
    listed = json.loads(call(client, "GET", "/v1/admin/experiments", key=keys["admin"]).body)
    assert [(e["experiment_id"], e["status"]) for e in listed["experiments"]] == [
        ("alpha", "running"),
        ("zeta", "draft"),
    ]
    for method, path, key in (
        ("GET", "/v1/admin/experiments/nope", "admin"),
        ("POST", "/v1/admin/experiments/nope/stop", "admin"),
        ("GET", "/v1/experiments/nope/assignment?user_id=u1", "read"),
    ):
        reply = call(client, method, path, key=keys[key])
        assert reply.status_code == 404, (path, reply.body)
        assert error_of(reply)["code"] == "not_found"
    missing_user = call(client, "GET", "/v1/experiments/alpha/assignment", key=keys["read"])
    assert missing_user.status_code == 422 and fields_of(missing_user) == {"user_id"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": [{"name": "A", "weight": 1}]}, "variants"),
        ({"variants": [{"name": f"v{i}", "weight": 1} for i in range(11)]}, "variants"),
        ({"variants": [{"name": "A", "weight": 1}, {"name": "A", "weight": 2}]}, "variants"),
        (
            {"variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 0}]},
            "variants[1].weight",
        ),
        (
            {"variants": [{"name": "A", "weight": -1}, {"name": "B", "weight": 1}]},
            "variants[0].weight",
        ),
        (
            {"variants": [{"name": "A", "weight": "x"}, {"name": "B", "weight": 1}]},
            "variants[0].weight",
        ),
        (
            {"variants": [{"name": "A b", "weight": 1}, {"name": "B", "weight": 1}]},
            "variants[0].name",
        ),
        ({"variants": [{"name": "A", "weight": 1}, {"name": "B"}]}, "variants[1].weight"),
        ({"goal_event_type": ""}, "goal_event_type"),
        ({"goal_event_type": "experiment_exposure"}, "goal_event_type"),
        ({"status": "paused"}, "status"),
        ({"colour": "green"}, "colour"),
        ({"name": None}, "name"),
    ],
)
def test_bad_experiments_are_422_naming_the_field(
    client: Any, keys: dict[str, str], change: dict[str, Any], field: str
) -> None:
    reply = put(client, keys, {**BODY, **change})
    assert reply.status_code == 422, reply.body
    assert field in fields_of(reply)
    listed = call(client, "GET", "/v1/admin/experiments", key=keys["admin"])
    assert json.loads(listed.body) == {"experiments": []}


def test_a_goal_no_app_can_send_is_accepted_with_a_warning(
    client: Any, keys: dict[str, str]
) -> None:
    reply = json.loads(put(client, keys, {**BODY, "goal_event_type": "follow_through"}).body)
    assert reply["goal_event_type"] == "follow_through"
    assert reply["warnings"] and "follow_through" in reply["warnings"][0]
    assert json.loads(put(client, keys, BODY).body)["warnings"] == []


def test_exposure_events_are_validated_at_ingest(client: Any, keys: dict[str, str]) -> None:
    bad = {
        "type": "experiment_exposure",
        "user_id": "u1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "properties": {"experiment_id": EXPERIMENT},
    }
    reply = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": [bad]})
    assert reply.status_code == 422
    assert fields_of(reply) == {"events[0].properties.variant"}
