"""Daily rollups: hand-computed small days, order invariance, no user ids, velocity bounds."""

from __future__ import annotations

import doctest
import json
import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from learnloop.exceptions import LearnloopError, RollupError
from learnloop.rollups import compute
from learnloop.rollups.compute import (
    coin_reaction_counts,
    coin_velocity,
    compute_daily_stats,
    percentile,
)

DAY = date(2026, 11, 20)
TS = "2026-11-20T{:02d}:00:00.000000Z"


def reaction(user: str, content_type: str, external_id: str, value: str, hour: int = 9) -> dict:
    return {
        "user_id": user,
        "content_type": content_type,
        "external_id": external_id,
        "reaction": value,
        "created_at": TS.format(hour),
        "updated_at": TS.format(hour),
    }


def event(user: str, event_id: str, type_: str, properties: dict | None = None) -> dict:
    return {
        "user_id": user,
        "event_id": event_id,
        "type": type_,
        "occurred_at": TS.format(10),
        "properties": properties or {},
    }


def outcome(decision_id: str, rate: float, hour: int = 12, **counts: int) -> dict:
    return {
        "decision_id": decision_id,
        "collected_at": TS.format(hour),
        "impressions": counts.get("impressions", 100),
        "likes": counts.get("likes", 1),
        "retweets": counts.get("retweets", 0),
        "replies": counts.get("replies", 0),
        "bookmarks": counts.get("bookmarks", 0),
        "followers_gained": counts.get("followers_gained", 0),
        "viral_score": 10,
        "engagement_rate": rate,
    }


def feedback(insight_id: str, user: str, helpful: bool | None) -> dict:
    return {"insight_id": insight_id, "user_id": user, "helpful": helpful}


REACTIONS = [
    reaction("alice-7", "coin", "BTC", "like"),
    reaction("bob-8", "coin", "BTC", "like"),
    reaction("carol-9", "coin", "BTC", "dislike"),
    reaction("alice-7", "coin", "ETH", "dislike"),
    reaction("alice-7", "meme", "m1", "like"),
    reaction("bob-8", "meme", "m1", "like"),
    reaction("bob-8", "meme", "m2", "like"),
    reaction("dave-10", "news", "n1", "dislike"),
]
EVENTS = [
    event("alice-7", "e1", "app_open"),
    event("erin-11", "e2", "app_open"),
    event("erin-11", "e3", "pattern_detected", {"pattern_type": "double_top"}),
    event("frank-12", "e4", "pattern_detected", {"pattern_type": "double_top"}),
    event("frank-12", "e5", "pattern_detected", {"pattern_type": "breakout"}),
    event("frank-12", "e6", "pattern_detected", {}),
]
OUTCOMES = [
    outcome("d1", 0.0),
    outcome("d2", 0.015),
    outcome("d3", 0.03),
    outcome("d4", 0.08),
    outcome("d5", 0.5),
]
FEEDBACK = [
    feedback("i1", "alice-7", True),
    feedback("i1", "bob-8", False),
    feedback("i2", "alice-7", True),
    feedback("i2", "gina-13", None),
]
USERS = ["alice-7", "bob-8", "carol-9", "dave-10", "erin-11", "frank-12", "gina-13"]


def stats(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "reactions": REACTIONS,
        "events": EVENTS,
        "outcomes": OUTCOMES,
        "feedback": FEEDBACK,
        "previous_reactions_by_coin": {"BTC": 1},
    }
    kwargs.update(overrides)
    return compute_daily_stats(DAY, **kwargs)


def test_doctests_run() -> None:
    assert doctest.testmod(compute).failed == 0


def test_date_and_active_users_count_distinct_users_of_events_and_reactions() -> None:
    result = stats()
    assert result["date"] == "2026-11-20"
    # alice, bob, carol, dave react; erin, frank send events; gina only gave feedback.
    assert result["users_active"] == 6
    assert result["totals"] == {"events": 6, "reactions": 8, "outcomes": 5, "insight_feedback": 3}


def test_events_by_type_and_pattern_frequency() -> None:
    result = stats()
    assert result["events_by_type"] == {"app_open": 2, "pattern_detected": 4}
    assert result["pattern_frequency"] == {"breakout": 1, "double_top": 2, "unknown": 1}


def test_reactions_by_content_type() -> None:
    assert stats()["reactions_by_content_type"] == {
        "coin": {"like": 2, "dislike": 2},
        "meme": {"like": 3, "dislike": 0},
        "news": {"like": 0, "dislike": 1},
    }


def test_top_content_ranks_by_net_then_likes_then_key() -> None:
    rows = [
        reaction("u1", "meme", "b", "like"),  # net 1, likes 1
        reaction("u1", "meme", "a", "like"),  # net 1, likes 1: ties with b, "a" first
        reaction("u1", "coin", "z", "like"),  # net 1, likes 2 ...
        reaction("u2", "coin", "z", "like"),
        reaction("u3", "coin", "z", "dislike"),
        reaction("u1", "news", "x", "dislike"),  # net -1
    ]
    top = stats(reactions=rows)["top_content"]
    assert [(t["content_type"], t["external_id"]) for t in top] == [
        ("coin", "z"),
        ("meme", "a"),
        ("meme", "b"),
        ("news", "x"),
    ]
    assert top[0] == {"content_type": "coin", "external_id": "z", "likes": 2, "dislikes": 1}


def test_top_content_keeps_ten() -> None:
    rows = [reaction(f"u{i}", "meme", f"m{j:02d}", "like") for j in range(15) for i in range(j)]
    top = stats(reactions=rows)["top_content"]
    assert len(top) == 10
    assert [t["external_id"] for t in top] == [f"m{j:02d}" for j in range(14, 4, -1)]


def test_repeated_reaction_counts_once_and_latest_wins() -> None:
    rows = [
        reaction("u1", "meme", "m1", "like", hour=8),
        reaction("u1", "meme", "m1", "dislike", hour=11),
        reaction("u1", "meme", "m1", "like", hour=9),
        reaction("u2", "meme", "m1", "love"),  # not a reaction value: ignored
    ]
    result = stats(reactions=rows, events=[])
    assert result["reactions_by_content_type"] == {"meme": {"like": 0, "dislike": 1}}
    assert result["users_active"] == 1


def test_repeated_event_id_counts_once() -> None:
    result = stats(events=[*EVENTS, event("alice-7", "e1", "app_open")])
    assert result["events_by_type"]["app_open"] == 2


def test_insight_helpful_rate_and_counts() -> None:
    result = stats()
    assert result["insight_feedback"] == {"helpful": 2, "not_helpful": 1, "total": 3}
    assert result["insight_helpful_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert result["insight_helpful_rate"] == 0.666667
    insight_row = {"insight_id": "i3", "record": "insight", "helpful": True}
    with_insight_row = stats(feedback=[*FEEDBACK, insight_row])
    assert with_insight_row["insight_feedback"]["total"] == 3


def test_engagement_rate_distribution() -> None:
    dist = stats()["engagement_rate_distribution"]
    rates = [0.0, 0.015, 0.03, 0.08, 0.5]
    assert dist["count"] == 5
    assert dist["mean"] == pytest.approx(sum(rates) / 5)
    assert dist["p50"] == 0.03
    # position (5 - 1) * 0.9 = 3.6 -> 0.08 + 0.6 * (0.5 - 0.08)
    assert dist["p90"] == pytest.approx(0.332)
    assert dist["max"] == 0.5
    assert dist["histogram"]["edges"] == [0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 1.0]
    # [0,.01): 0.0 | [.01,.02): 0.015 | [.03,.05): 0.03 | [.05,.1): 0.08 | [.2, ...): 0.5
    assert dist["histogram"]["counts"] == [1, 1, 0, 1, 1, 0, 1]


def test_latest_outcome_of_a_decision_is_used() -> None:
    rows = [outcome("d1", 0.01, hour=6), outcome("d1", 0.04, hour=18), outcome("d2", 2.0)]
    dist = stats(outcomes=rows)["engagement_rate_distribution"]
    assert dist["count"] == 2
    assert dist["max"] == 2.0  # above 1: lands in the last bucket
    assert dist["histogram"]["counts"] == [0, 0, 0, 1, 0, 0, 1]


def test_outcome_totals_accept_decimals() -> None:
    rows = [
        {**outcome("d1", 0.02, impressions=100, likes=2), "engagement_rate": Decimal("0.02")},
        outcome("d2", 0.05, impressions=40, likes=2, followers_gained=3),
    ]
    result = stats(outcomes=rows)
    assert result["outcome_totals"]["impressions"] == 140
    assert result["outcome_totals"]["likes"] == 4
    assert result["outcome_totals"]["followers_gained"] == 3
    assert result["engagement_rate_distribution"]["mean"] == 0.035


def test_coin_sentiment_hand_computed() -> None:
    coins = stats()["coin_sentiment"]
    # BTC: 2 likes, 1 dislike; yesterday 1 reaction -> velocity 3 / 4.
    assert coins["BTC"] == {
        "likes": 2,
        "dislikes": 1,
        "reactions": 3,
        "previous_reactions": 1,
        "positive_share": 0.666667,
        "velocity": 0.75,
        "score": round(0.6 * 2 / 3 + 0.4 * 0.75, 6),
    }
    # ETH: 1 dislike, none yesterday (absent from the mapping) -> velocity 1.
    assert coins["ETH"]["positive_share"] == 0.0
    assert coins["ETH"]["velocity"] == 1.0
    assert coins["ETH"]["score"] == 0.4
    assert list(coins) == ["BTC", "ETH"]


def test_coin_sentiment_without_previous_day_is_neutral_velocity() -> None:
    coins = stats(previous_reactions_by_coin=None)["coin_sentiment"]
    assert coins["BTC"]["velocity"] == 0.5
    assert coins["BTC"]["previous_reactions"] is None


@pytest.mark.parametrize(
    ("today", "previous", "expected"),
    [(0, 0, 0.5), (0, 5, 0.0), (5, 0, 1.0), (5, 5, 0.5), (1, 3, 0.25), (7, None, 0.5)],
)
def test_coin_velocity_values(today: int, previous: int | None, expected: float) -> None:
    assert coin_velocity(today, previous) == expected


def test_velocity_and_score_stay_in_unit_interval() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        today, previous = rng.randint(0, 10_000), rng.choice([None, rng.randint(0, 10_000)])
        assert 0.0 <= coin_velocity(today, previous) <= 1.0
    for previous in (0, 1, 10**9):
        for likes, dislikes in ((0, 5), (5, 0), (3, 3)):
            rows = [reaction(f"l{i}", "coin", "X", "like") for i in range(likes)]
            rows += [reaction(f"d{i}", "coin", "X", "dislike") for i in range(dislikes)]
            coin = stats(reactions=rows, previous_reactions_by_coin={"X": previous})
            entry = coin["coin_sentiment"]["X"]
            assert 0.0 <= entry["velocity"] <= 1.0
            assert 0.0 <= entry["score"] <= 1.0


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None])
def test_bad_previous_counts_raise(bad: Any) -> None:
    with pytest.raises(RollupError) as info:
        stats(previous_reactions_by_coin={"BTC": bad})
    assert isinstance(info.value, LearnloopError)
    with pytest.raises(RollupError):
        coin_velocity(-1, 0)


def test_coin_reaction_counts_feed_the_next_day() -> None:
    today = stats()
    assert coin_reaction_counts(today) == {"BTC": 3, "ETH": 1}
    assert coin_reaction_counts(json.loads(json.dumps(today))) == {"BTC": 3, "ETH": 1}
    assert coin_reaction_counts(None) == {}


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1.0], 90) == 1.0
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 90) == pytest.approx(37.0)
    with pytest.raises(RollupError):
        percentile([1.0], 101)


def test_order_invariance() -> None:
    expected = json.dumps(stats())
    rng = random.Random(42)
    for _ in range(25):
        shuffled = {
            name: rng.sample(rows, len(rows))
            for name, rows in (
                ("reactions", [*REACTIONS, reaction("alice-7", "coin", "BTC", "like")]),
                ("events", EVENTS),
                ("outcomes", OUTCOMES),
                ("feedback", FEEDBACK),
            )
        }
        shuffled["reactions"] = [dict(reversed(list(r.items()))) for r in shuffled["reactions"]]
        assert json.dumps(stats(**shuffled)) == expected
    assert json.dumps(stats(previous_reactions_by_coin={"BTC": 1, "ZZZ": 4})) == expected


def test_output_is_plain_json_without_user_ids() -> None:
    result = stats()
    text = json.dumps(result, allow_nan=False)
    for user in USERS:
        assert user not in text
    assert json.loads(text) == result

    def walk(value: Any) -> None:
        assert value is None or type(value) in (bool, int, float, str, list, dict)
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, float):
            assert value == round(value, 6)

    walk(result)


def test_empty_day() -> None:
    result = compute_daily_stats(DAY, reactions=[], events=[], outcomes=[], feedback=[])
    assert result == {
        "schema_version": 2,
        "date": "2026-11-20",
        "users_active": 0,
        "totals": {"events": 0, "reactions": 0, "outcomes": 0, "insight_feedback": 0},
        "events_by_type": {},
        "reactions_by_content_type": {},
        "top_content": [],
        "insight_feedback": {"helpful": 0, "not_helpful": 0, "total": 0},
        "insight_helpful_rate": None,
        "pattern_frequency": {},
        "outcome_totals": {
            "impressions": 0,
            "likes": 0,
            "retweets": 0,
            "replies": 0,
            "bookmarks": 0,
            "followers_gained": 0,
        },
        "engagement_rate_distribution": {
            "count": 0,
            "mean": None,
            "p50": None,
            "p90": None,
            "max": None,
            "histogram": {
                "edges": [0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 1.0],
                "counts": [0, 0, 0, 0, 0, 0, 0],
            },
        },
        "coin_sentiment": {},
        "trades": {
            "closed": 0,
            "wins": 0,
            "losses": 0,
            "breakeven": 0,
            "win_rate": None,
            "pnl_total": None,
            "pnl_mean": None,
        },
        "emotions": {},
        "top_patterns": [],
        "insights_generated": 0,
    }


def test_accepts_generators() -> None:
    result = compute_daily_stats(
        DAY,
        reactions=iter(REACTIONS),
        events=(e for e in EVENTS),
        outcomes=iter(OUTCOMES),
        feedback=iter(FEEDBACK),
        previous_reactions_by_coin={"BTC": 1},
    )
    assert result == stats()
