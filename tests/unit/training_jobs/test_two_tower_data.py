"""Positives, item merging, exclusion and the chronological split of the two-tower job."""

from __future__ import annotations

import pytest

from training_jobs.exceptions import NotEnoughInteractionsError
from training_jobs.two_tower.data import Interaction, build_training_data, chronological_split


def reaction(user: str, key: str, kind: str, created: str, updated: str | None = None) -> dict:
    content_type, _, external_id = key.partition("#")
    return {"user": user, "item_key": key, "content_type": content_type,
            "external_id": external_id, "reaction": kind, "created_at": created,
            "updated_at": updated or created}  # fmt: skip


def test_latest_reaction_wins_and_positive_events_add_pairs() -> None:
    reactions = [
        reaction("a", "meme#1", "like", "2026-11-01T10:00:00Z"),
        reaction("a", "meme#2", "like", "2026-11-01T10:00:00Z"),
        reaction("a", "meme#2", "dislike", "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z"),
        reaction("b", "meme#1", "dislike", "2026-11-01T10:00:00Z"),
        reaction("b", "meme#1", "like", "2026-11-01T10:00:00Z", "2026-11-02T09:00:00Z"),
    ]
    events = [
        {"user": "a", "type": "insight_helpful", "item_key": "ai_insight#7",
         "occurred_at": "2026-11-04T00:00:00Z", "properties": {}},
        {"user": "a", "type": "insight_helpful", "item_key": "meme#2",  # disliked: no
         "occurred_at": "2026-11-04T00:00:00Z", "properties": {}},
        {"user": "a", "type": "alert_dismissed", "item_key": "news#3",  # not positive
         "occurred_at": "2026-11-04T00:00:00Z", "properties": {}},
        {"user": "c", "type": "pattern_viewed", "occurred_at": "2026-11-04T00:00:00Z",
         "properties": {}},  # names no item
    ]  # fmt: skip
    data = build_training_data(reactions, events, [])
    pairs = {(i.user, i.item_key) for i in data.interactions}
    assert pairs == {("a", "meme#1"), ("b", "meme#1"), ("a", "ai_insight#7")}
    assert data.negatives == 1
    # A pair counts once, at its first positive moment (b's reaction was created on the 1st).
    assert {i.at for i in data.interactions if i.user == "b"} == {"2026-11-01T10:00:00Z"}
    assert data.interactions == sorted(data.interactions, key=lambda i: (i.at, i.user))


def test_excluded_pseudonyms_are_dropped_everywhere() -> None:
    reactions = [reaction(u, "meme#1", "like", "2026-11-01T10:00:00Z") for u in ("a", "gone")]
    events = [{"user": "gone", "type": "insight_helpful", "item_key": "ai_insight#1",
               "occurred_at": "2026-11-01T00:00:00Z"}]  # fmt: skip
    data = build_training_data(reactions, events, [], exclude={"gone"})
    assert [i.user for i in data.interactions] == ["a"]
    assert data.excluded_rows == 2


def test_items_merge_over_dates_latest_snapshot_wins() -> None:
    items = [
        {"item_key": "news#1", "content_type": "news", "text": "new title",
         "updated_at": "2026-11-03T00:00:00Z"},
        {"item_key": "news#1", "content_type": "news", "text": "old title",
         "updated_at": "2026-11-01T00:00:00Z"},
        {"item_key": "meme#2", "content_type": "meme", "text": None,
         "updated_at": "2026-11-01T00:00:00Z"},
    ]  # fmt: skip
    reactions = [reaction("a", "coin#BTC", "like", "2026-11-01T10:00:00Z")]
    data = build_training_data(reactions, [], items)
    assert data.items["news#1"].text == "new title"
    assert data.items["meme#2"].text is None
    assert data.items["coin#BTC"].content_type == "coin"  # known from its reaction alone


def test_chronological_split_is_70_15_15_in_time_order() -> None:
    rows = [Interaction(f"u{n % 7}", f"meme#{n}", f"2026-11-{1 + n // 10:02d}T{n % 10:02d}:00Z")
            for n in range(100)]  # fmt: skip
    train, valid, test = chronological_split(list(reversed(rows)))
    assert (len(train), len(valid), len(test)) == (70, 15, 15)
    assert max(r.at for r in train) <= min(r.at for r in valid)
    assert max(r.at for r in valid) <= min(r.at for r in test)
    assert chronological_split(rows) == (train, valid, test)


def test_chronological_split_refuses_too_few_rows() -> None:
    with pytest.raises(NotEnoughInteractionsError):
        chronological_split([Interaction("u", "meme#1", "2026-11-01")])
