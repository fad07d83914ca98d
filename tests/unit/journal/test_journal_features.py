"""Journal rows: rebuilt from events in any order, and blind to what came after their moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from learnloop.journal.features import (
    CHURN_FEATURES,
    INSIGHT_FEATURES,
    TRADE_FEATURES,
    churn_row,
    churned,
    epoch,
    insight_row,
    journals_from_events,
    pattern_of,
    recurred,
    topic_of,
    trade_row,
)
from learnloop.journal.training import datasets
from learnloop_tools.demo.journal.world import JournalWorld

START = datetime(2026, 9, 1, tzinfo=UTC)


def world_events(days: int = 6, traders: int = 8) -> list[dict[str, Any]]:
    world = JournalWorld.generate(n_traders=traders, seed=11, start=START)
    rng = np.random.default_rng(0)
    return [e for d in range(days) for e in world.simulate_day(d, rng).events]


def test_rows_never_read_what_happened_after_their_moment() -> None:
    events = world_events()
    cut = START + timedelta(days=3)
    early = journals_from_events([e for e in events if epoch(e["occurred_at"]) <= cut.timestamp()])
    whole = journals_from_events(events)
    for user, journal in early.items():
        full = whole[user]
        by_id = {t.trade_id: t for t in full.trades}
        for trade in journal.trades:
            # every trade opened before the cut: its row is the same with or without the future
            assert trade_row(journal, trade) == trade_row(full, by_id[trade.trade_id])
        assert churn_row(journal, cut.timestamp()) == churn_row(full, cut.timestamp())
        assert insight_row(journal, "fomo_warning", cut.timestamp()) == insight_row(
            full, "fomo_warning", cut.timestamp()
        )


def test_a_trade_row_sees_its_entry_emotion_but_never_its_own_result() -> None:
    events = [
        _event("trade_created", "09:00", trade_id="t1", quantity=1, price=100),
        _event("trade_closed", "09:30", trade_id="t1", pnl=-5.0, outcome="loss"),
        _event("emotion_analyzed", "09:34", emotion="angry", confidence=0.8, trade_id="t2"),
        _event("trade_created", "09:35", trade_id="t2", quantity=3, price=100),
        _event("trade_closed", "10:00", trade_id="t2", pnl=30.0, outcome="win"),
        _event("pattern_detected", "10:00", pattern_type="Revenge trading", trade_id="t2"),
    ]
    journal = journals_from_events(events[::-1])["u1"]  # any order
    t2 = journal.trades[1]
    row = trade_row(journal, t2)
    assert row["emotion_angry"] == 1.0 and row["emotion_confidence"] == 0.8
    assert (row["loss_streak"], row["last_loss"], row["win_streak"]) == (1.0, 1.0, 0.0)
    assert row["upsized_after_loss"] > 1.0 and row["trades_1h"] == 1.0
    assert t2.patterns == {"revenge_trading"} and t2.won is True
    assert set(row) == set(TRADE_FEATURES)


def test_redelivered_events_change_nothing() -> None:
    events = world_events(days=3, traders=3)
    once = journals_from_events(events)
    twice = journals_from_events(events + events)
    for user, journal in once.items():
        assert [trade_row(journal, t) for t in journal.trades] == [
            trade_row(twice[user], t) for t in twice[user].trades
        ]


def test_labels_wait_until_they_are_known() -> None:
    journals = journals_from_events(world_events(days=10))
    journal = next(iter(journals.values()))
    at = (START + timedelta(days=2)).timestamp()
    later = [a for a in journal.activity if a > at]
    assert churned(journal, at) is (not later or later[0] > at + 14 * 86400)
    # ten days of data: no churn row is labelled yet (14 days must pass)
    sets = datasets(journals, (START + timedelta(days=10)).timestamp())
    assert len(sets["journal_churn"]) == 0
    for insight in journal.insights:
        if recurred(journal, insight, insight.at + 3600) is not None:
            raise AssertionError("a recurrence label an hour after the insight")
    assert sets["journal_outcome"].features == TRADE_FEATURES
    assert sets["journal_churn"].features == CHURN_FEATURES
    assert sets["journal_insight_quality"].features == INSIGHT_FEATURES


def test_pattern_and_topic_names() -> None:
    assert [pattern_of(p) for p in ("REVENGE", "over-trading", "fomo buy", "tilt")] == [
        "revenge_trading",
        "overtrading",
        "fomo",
        None,
    ]
    assert topic_of("streak_review") == "streak" and topic_of("weekly digest") == "other"


def _event(kind: str, hhmm: str, **properties: Any) -> dict[str, Any]:
    return {
        "user_id": "u1",
        "type": kind,
        "occurred_at": f"2026-11-20T{hhmm}:00Z",
        "properties": properties,
    }
