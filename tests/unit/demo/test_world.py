"""The demo's simulated world: reproducible, and its hidden truth is what the data shows."""

from __future__ import annotations

import dataclasses
import doctest
import math

import numpy as np
import pytest

from learnloop.exceptions import LearnloopError, SimulationError
from learnloop.ingest.engagement import engagement_rate
from learnloop_tools.demo import world as world_module
from learnloop_tools.demo.world import (
    CONTENT_TYPES,
    LENGTHS,
    REACTION_CONTENT_TYPES,
    SUCCESS_THRESHOLD,
    SimulatedPost,
    World,
    length_bucket,
)

N_POSTS = 20_000


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11)


@pytest.fixture(scope="module")
def posts(world: World) -> list[SimulatedPost]:
    """Posts over every arm and uniformly random hours."""
    rng = np.random.default_rng(123)
    return [
        world.post(world.arms[i % len(world.arms)], int(rng.integers(24)), rng)
        for i in range(N_POSTS)
    ]


def test_doctests_run() -> None:
    assert doctest.testmod(world_module).failed == 0


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_same_world_and_posts() -> None:
    a, b = World.generate(seed=5), World.generate(seed=5)
    assert a.hidden_truth() == b.hidden_truth()
    assert a.users == b.users and a.items == b.items
    posts_a = [a.post(arm, 9, np.random.default_rng(3)) for arm in a.arms]
    posts_b = [b.post(arm, 9, np.random.default_rng(3)) for arm in b.arms]
    assert posts_a == posts_b
    user, item = a.users[0], a.items[0]
    reactions_a = [a.react(user, item, rng) for rng in [np.random.default_rng(9)] * 50]
    reactions_b = [b.react(user, item, rng) for rng in [np.random.default_rng(9)] * 50]
    assert reactions_a == reactions_b


def test_different_seeds_differ() -> None:
    truths = [World.generate(seed=s).hidden_truth() for s in range(4)]
    assert len({str(t) for t in truths}) == 4


def test_generator_seed_is_accepted() -> None:
    world = World.generate(seed=np.random.default_rng(5))
    assert world.seed is None
    assert world.hidden_truth()["arms"] == World.generate(seed=5).hidden_truth()["arms"]


# --- the arms ----------------------------------------------------------------------------------


def test_default_arms_have_one_clear_best(world: World) -> None:
    probabilities = sorted(world.success_probabilities.values(), reverse=True)
    assert len(world.arms) == 6
    assert probabilities[0] == pytest.approx(0.55)
    assert all(0.15 - 1e-9 <= p <= 0.40 + 1e-9 for p in probabilities[1:])
    assert world.success_probabilities[world.oracle_arm] == probabilities[0]
    assert world.regret(world.oracle_arm) == 0.0
    for arm in world.arms:
        assert world.expected_success(arm) == pytest.approx(
            world.success_probabilities[arm], abs=1e-6
        )


def test_oracle_is_best_at_every_hour(world: World) -> None:
    for hour in range(24):
        best = max(world.arms, key=lambda arm: world.expected_success(arm, hour))
        assert best == world.oracle_arm
        assert world.random_policy_success(hour) < world.expected_success(world.oracle_arm, hour)


def test_best_hours_stand_out(world: World) -> None:
    assert len(world.best_hours) == 3 and world.peak_hour in world.best_hours
    at = [world.expected_success(world.oracle_arm, h) for h in range(24)]
    assert max(range(24), key=at.__getitem__) == world.peak_hour
    others = [at[h] for h in range(24) if h not in world.best_hours]
    assert min(at[h] for h in world.best_hours) > max(others) + 0.05
    assert max(range(24), key=world.hour_multiplier.__getitem__) == world.peak_hour


def test_best_arm_empirical_success_matches_hidden_probability(
    world: World, posts: list[SimulatedPost]
) -> None:
    # 3,333 posts per arm: the standard error of a rate near 0.5 is ~0.009; allow ~3.3 of them.
    for arm in world.arms:
        outcomes = [p.success for p in posts if p.arm == arm]
        assert np.mean(outcomes) == pytest.approx(world.expected_success(arm), abs=0.03)


def test_success_at_a_fixed_hour_matches(world: World) -> None:
    rng = np.random.default_rng(7)
    for hour in (world.peak_hour, (world.peak_hour + 12) % 24):
        rate = np.mean([world.post(world.oracle_arm, hour, rng).success for _ in range(3000)])
        assert rate == pytest.approx(world.expected_success(world.oracle_arm, hour), abs=0.03)


def test_thompson_sampling_finds_the_best_arm(world: World) -> None:
    rng = np.random.default_rng(0)
    wins = np.zeros(len(world.arms))
    losses = np.zeros(len(world.arms))
    chosen = []
    for _ in range(1500):
        arm = int(np.argmax(rng.beta(wins + 1, losses + 1)))
        post = world.post(world.arms[arm], int(rng.integers(24)), rng)
        wins[arm] += post.success
        losses[arm] += not post.success
        chosen.append(world.arms[arm])
    assert np.mean([a == world.oracle_arm for a in chosen[-500:]]) > 0.6


def test_custom_probabilities() -> None:
    world = World.generate(seed=1, n_arms=3, success_probabilities=[0.2, 0.6, 0.1])
    assert world.arms == ("hook:question", "hook:stat", "hook:story")
    assert world.oracle_arm == "hook:stat"
    assert world.expected_success("hook:story") == pytest.approx(0.1, abs=1e-6)


# --- one post ----------------------------------------------------------------------------------


def test_counts_are_consistent_with_the_engagement_rate(posts: list[SimulatedPost]) -> None:
    for post in posts:
        engaged = post.likes + post.retweets + post.replies
        assert post.impressions > 0
        assert post.engagement_rate == engaged / post.impressions
        assert post.engagement_rate == engagement_rate(
            impressions=post.impressions,
            likes=post.likes,
            retweets=post.retweets,
            replies=post.replies,
        )
        assert abs(post.engagement_rate - post.drawn_rate) <= 1 / post.impressions + 1e-12
        # Rounding to counts never moves a post across the success threshold.
        assert post.success == (post.drawn_rate > SUCCESS_THRESHOLD)
        assert 0 <= post.bookmarks <= post.impressions


def test_engagement_rate_is_zero_without_impressions(posts: list[SimulatedPost]) -> None:
    unseen = dataclasses.replace(posts[0], impressions=0, likes=2, retweets=1, replies=0)
    assert unseen.engagement_rate == 0.0
    assert unseen.success is False


def test_fields_fit_the_ingest_schema(posts: list[SimulatedPost]) -> None:
    for post in posts[:2000]:
        assert post.content_type in CONTENT_TYPES
        assert post.length in LENGTHS and post.length == length_bucket(post.text)
        assert 0 < len(post.text) <= 280
        assert post.hook_type == post.arm.split(":")[1]
        for unit in (post.quality_score, post.novelty_score, post.expertise_level):
            assert 0.0 <= unit <= 1.0
        assert 0.0 <= post.viral_score <= 100.0
        assert post.followers_gained >= 0
        content, outcome = post.content_fields(), post.outcome_fields()
        assert content["bandit_arm"] == post.arm and "posted_at" not in content
        assert set(outcome) == {
            "impressions",
            "likes",
            "retweets",
            "replies",
            "bookmarks",
            "followers_gained",
            "viral_score",
        }
    assert {p.length for p in posts} == set(LENGTHS)
    assert {p.content_type for p in posts} == set(CONTENT_TYPES)


def test_engagement_follows_the_linear_truth(world: World, posts: list[SimulatedPost]) -> None:
    truth = world.engagement
    # Least squares on the features ridge uses (the hour effect taken out) recovers the truth.
    columns = [("quality_score", None)]
    columns += [("content_type", ct) for ct in CONTENT_TYPES[1:]]
    columns += [("length", length) for length in ("short", "long")]
    x = np.array(
        [
            [1.0, p.quality_score]
            + [float(p.content_type == ct) for ct in CONTENT_TYPES[1:]]
            + [float(p.length == length) for length in ("short", "long")]
            for p in posts
        ]
    )
    y = np.array([p.engagement_rate - truth.hour[p.hour] for p in posts])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    expected = [truth.intercept, truth.quality]
    expected += [truth.content_type[ct] for ct in CONTENT_TYPES[1:]]
    expected += [truth.length["short"], truth.length["long"]]
    # Standard errors here are ~0.0005 (intercept, slope) and ~0.0001 (indicators).
    assert coef[:2] == pytest.approx(expected[:2], abs=0.003)
    assert coef[2:] == pytest.approx(expected[2:], abs=0.001)
    residual = y - x @ coef
    assert residual.std() == pytest.approx(truth.noise_sd, rel=0.1)


def test_follow_through_matches_the_logistic_truth(
    world: World, posts: list[SimulatedPost]
) -> None:
    truth = world.follow_through
    followed = np.array([p.followers_gained > 0 for p in posts], dtype=float)
    features = np.array(
        [[1.0, p.novelty_score, p.expertise_level, p.viral_score / 100] for p in posts]
    )
    predicted = np.array([truth.probability(*row[1:3], row[3] * 100) for row in features])
    # Overall and per decile of predicted probability (each decile holds 2,000 posts).
    assert followed.mean() == pytest.approx(predicted.mean(), abs=0.01)
    order = np.argsort(predicted)
    for chunk in np.array_split(order, 10):
        assert followed[chunk].mean() == pytest.approx(predicted[chunk].mean(), abs=0.04)
    # Fitting a logistic regression (Newton's method) recovers the weights.
    w = np.zeros(4)
    for _ in range(25):
        p = 1 / (1 + np.exp(-features @ w))
        hessian = features.T @ (features * (p * (1 - p))[:, None])
        w += np.linalg.solve(hessian, features.T @ (followed - p))
    expected = [truth.intercept, truth.novelty, truth.expertise, truth.viral]
    assert w == pytest.approx(expected, abs=0.35)


# --- users and reactions -----------------------------------------------------------------------


def test_population_shape(world: World) -> None:
    assert len(world.users) == 200
    assert len({u.user_id for u in world.users}) == 200
    assert {i.content_type for i in world.items} == set(REACTION_CONTENT_TYPES)
    assert len(world.items_of("coin")) == 30
    assert world.items_of("coin")[0].external_id == "BTC"
    assert len({i.key for i in world.items}) == len(world.items)
    assert world.item("coin", "ETH").key == "coin#ETH"


def test_reactions_follow_hidden_preferences(world: World) -> None:
    rng = np.random.default_rng(4)
    user, item = world.users[3], world.items[17]
    draws = [world.react(user, item, rng) for _ in range(6000)]
    assert set(draws) <= {"like", "dislike", None}
    reacted = [d for d in draws if d is not None]
    assert len(reacted) / len(draws) == pytest.approx(
        world.reaction_probability(user, item), abs=0.03
    )
    assert reacted.count("like") / len(reacted) == pytest.approx(
        world.like_probability(user, item), abs=0.05
    )
    assert world.react(user.user_id, item, np.random.default_rng(1)) == world.react(
        user, item, np.random.default_rng(1)
    )


def test_users_prefer_some_content_types(world: World) -> None:
    user = world.users[0]
    favourite = max(REACTION_CONTENT_TYPES, key=user.type_affinity.__getitem__)
    least = min(REACTION_CONTENT_TYPES, key=user.type_affinity.__getitem__)
    item_of = {ct: world.items_of(ct)[0] for ct in REACTION_CONTENT_TYPES}
    assert world.reaction_probability(user, item_of[favourite]) > world.reaction_probability(
        user, item_of[least]
    )


def test_true_top_items(world: World) -> None:
    user = world.users[5]
    top = world.true_top_items(user, 5)
    probabilities = [world.like_probability(user, i) for i in top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities[-1] >= max(
        world.like_probability(user, i) for i in world.items if i not in top
    )
    without_best = world.true_top_items(user, 5, exclude=[top[0].key])
    assert top[0] not in without_best and without_best[:4] == top[1:]
    coins = world.true_top_items(user, 3, content_type="coin")
    assert all(i.content_type == "coin" for i in coins)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.post("hook:nope", 3, np.random.default_rng(0)),
        lambda w: w.post(w.oracle_arm, 24, np.random.default_rng(0)),
        lambda w: w.post(w.oracle_arm, 3.0, np.random.default_rng(0)),
        lambda w: w.expected_success("hook:nope"),
        lambda w: w.user("nobody"),
        lambda w: w.item("coin", "NOPE"),
    ],
)
def test_bad_use_raises(world: World, call: object) -> None:
    with pytest.raises(SimulationError):
        call(world)  # type: ignore[operator]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_arms": 1},
        {"n_arms": 9},
        {"n_users": 0},
        {"n_arms": 3, "success_probabilities": [0.3, 0.3, 0.1]},
        {"n_arms": 2, "success_probabilities": [0.5]},
        {"n_arms": 2, "success_probabilities": [0.9999, 0.2]},
    ],
)
def test_bad_configuration_raises(kwargs: dict) -> None:
    with pytest.raises(SimulationError) as info:
        World.generate(seed=0, **kwargs)
    assert isinstance(info.value, LearnloopError)


def test_hidden_truth_is_json_ready(world: World) -> None:
    import json

    truth = json.loads(json.dumps(world.hidden_truth()))
    assert truth["oracle_arm"] == world.oracle_arm
    assert len(truth["engagement"]["hour"]) == 24
    assert truth["follow_through"]["viral_score_over_100"] == 2.0
    assert math.isclose(
        sum(truth["arms"][a]["success_probability"] for a in world.arms),
        sum(world.success_probabilities.values()),
        abs_tol=1e-5,
    )


# --- the shift ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shifted(world: World) -> World:
    return world.shifted(seed=3)


def test_shift_permutes_the_probabilities_and_keeps_them_exact(
    world: World, shifted: World
) -> None:
    before, after = world.success_probabilities, shifted.success_probabilities
    assert sorted(after.values()) == sorted(before.values())  # the same values, reassigned
    for arm in world.arms:  # quality means were solved again: each arm hits its new value
        assert shifted.expected_success(arm) == pytest.approx(after[arm], abs=1e-6)
    assert after != before


def test_shift_makes_another_arm_best_and_the_old_best_mediocre(
    world: World, shifted: World
) -> None:
    assert shifted.oracle_arm != world.oracle_arm
    assert shifted.success_probabilities[shifted.oracle_arm] == max(
        world.success_probabilities.values()
    )
    others = sorted(p for a, p in world.success_probabilities.items() if a != world.oracle_arm)
    # Six arms: the old best takes the median of the other five values.
    assert shifted.success_probabilities[world.oracle_arm] == others[len(others) // 2]
    assert shifted.regret(world.oracle_arm) > 0.2


def test_shift_changes_the_quality_slope_only(world: World, shifted: World) -> None:
    assert world.engagement.quality == 0.05 and shifted.engagement.quality == 0.09
    assert dataclasses.replace(shifted.engagement, quality=0.05) == world.engagement
    assert shifted.quality_means != world.quality_means
    # Everything else about the world stays: the people, items, hours and follow-through.
    assert shifted.users is world.users and shifted.items is world.items
    assert shifted.peak_hour == world.peak_hour
    assert shifted.follow_through == world.follow_through


def test_posts_after_the_shift_follow_the_new_truth(shifted: World) -> None:
    rng = np.random.default_rng(5)
    posts = [shifted.post(shifted.oracle_arm, int(rng.integers(24)), rng) for _ in range(3000)]
    assert np.mean([p.success for p in posts]) == pytest.approx(0.55, abs=0.03)
    quality = np.array([p.quality_score for p in posts])
    expected = np.array([p.expected_rate for p in posts])
    residual = expected - np.array(
        [shifted.engagement.mean_rate(0.0, p.content_type, p.length, p.hour) for p in posts]
    )
    assert np.allclose(residual, 0.09 * quality)


def test_shift_is_seeded(world: World, shifted: World) -> None:
    again = world.shifted(seed=3)
    assert again.hidden_truth() == shifted.hidden_truth()
    new_bests = {world.shifted(seed=s).oracle_arm for s in range(5)}
    assert len(new_bests) > 1 and world.oracle_arm not in new_bests
    assert world.shifted(seed=np.random.default_rng(3)).oracle_arm == shifted.oracle_arm


def test_shift_with_given_probabilities() -> None:
    world = World.generate(seed=1, n_arms=3, success_probabilities=[0.2, 0.6, 0.1])
    after = world.shifted(success_probabilities=[0.6, 0.3, 0.1], quality_slope=0.07)
    assert after.oracle_arm == "hook:question" and after.engagement.quality == 0.07
    assert after.expected_success("hook:stat") == pytest.approx(0.3, abs=1e-6)


@pytest.mark.parametrize(
    "probabilities",
    [[0.2, 0.6, 0.1], [0.6, 0.6, 0.1], [0.5, 0.2]],  # old best stays best; a tie; wrong length
)
def test_bad_shift_raises(probabilities: list[float]) -> None:
    world = World.generate(seed=1, n_arms=3, success_probabilities=[0.2, 0.6, 0.1])
    with pytest.raises(SimulationError):
        world.shifted(success_probabilities=probabilities)
