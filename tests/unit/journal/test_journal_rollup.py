"""The daily rollup's trading-journal figures, on a hand-counted day."""

from __future__ import annotations

from datetime import date
from typing import Any

from learnloop.rollups.compute import compute_daily_stats

DAY = "2026-11-20T"


def event(event_id: str, kind: str, user: str, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "user_id": user,
        "occurred_at": f"{DAY}10:00:00.000000Z",
        "properties": properties,
    }


def test_trades_emotions_patterns_and_insights_of_a_day() -> None:
    events = [
        event("e1", "trade_closed", "u1", trade_id="t1", pnl=30.0, outcome="win"),
        event("e2", "trade_closed", "u1", trade_id="t2", pnl=-10.0),  # a loss by its sign
        event("e3", "trade_closed", "u2", trade_id="t1", pnl=0.0, outcome="breakeven"),
        event("e4", "trade_closed", "u2", trade_id="t3", pnl=-50.0, outcome="loss"),
        event("e4", "trade_closed", "u2", trade_id="t3", pnl=-50.0, outcome="loss"),  # twice
        event("e5", "emotion_analyzed", "u1", emotion="fear", confidence=0.7),
        event("e6", "emotion_analyzed", "u2", emotion="fear", confidence=0.4),
        event("e7", "emotion_analyzed", "u2", emotion="greed", confidence=0.9),
        *(event(f"p{i}", "pattern_detected", "u1", pattern_type="fomo") for i in range(3)),
        *(event(f"q{i}", "pattern_detected", "u2", pattern_type="revenge") for i in range(2)),
        event("g1", "insight_generated", "u1", insight_id="i1"),
        event("g2", "insight_generated", "u2", insight_id="i2"),
    ]
    insights = [
        {"insight_id": "i2", "record": "insight", "created_at": f"{DAY}08:00:00.000000Z"},
        {"insight_id": "i3", "record": "insight", "created_at": f"{DAY}09:00:00.000000Z"},
        {"insight_id": "i0", "record": "insight", "created_at": "2026-11-19T09:00:00.000000Z"},
    ]
    feedback = [
        {"insight_id": "i1", "record": "feedback#u1", "user_id": "u1", "helpful": True},
        {"insight_id": "i2", "record": "feedback#u1", "user_id": "u1", "helpful": False},
        {"insight_id": "i2", "record": "feedback#u3", "user_id": "u3", "helpful": True},
    ]
    stats = compute_daily_stats(
        date(2026, 11, 20),
        reactions=[],
        events=events,
        outcomes=[],
        feedback=feedback,
        insights=insights,
    )
    # 4 trades: win, loss, breakeven, loss -> win rate 1/4; P&L 30 - 10 + 0 - 50 = -30.
    assert stats["trades"] == {
        "closed": 4,
        "wins": 1,
        "losses": 2,
        "breakeven": 1,
        "win_rate": 0.25,
        "pnl_total": -30.0,
        "pnl_mean": -7.5,
    }
    assert stats["emotions"] == {"fear": 2, "greed": 1}
    assert stats["top_patterns"] == [
        {"pattern_type": "fomo", "count": 3},
        {"pattern_type": "revenge", "count": 2},
    ]
    # i1, i2 (events) and i2, i3 (stored that day); i0 was stored the day before.
    assert stats["insights_generated"] == 3
    assert stats["insight_helpful_rate"] == round(2 / 3, 6)
