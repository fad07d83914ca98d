"""Risk profiles from trade events: the figures and the class they add up to."""

from __future__ import annotations

from typing import Any

from learnloop.market.risk_profile import score_trades


def trades(specs: list[tuple[float, float, float]]) -> list[dict[str, Any]]:
    """One trade a day: ``(notional, pnl, holding_hours)``; opened at 00:00, closed after."""
    events: list[dict[str, Any]] = []
    for day, (notional, pnl, hours) in enumerate(specs, start=1):
        tid = f"t{day}"
        opened = f"2026-01-{day:02d}T00:00:00.000000Z"
        closed = f"2026-01-{day:02d}T{min(int(hours), 23):02d}:30:00.000000Z"
        events.append(
            {
                "type": "trade_created",
                "occurred_at": opened,
                "properties": {
                    "trade_id": tid,
                    "symbol": "BTC",
                    "side": "buy",
                    "quantity": notional / 100,
                    "price": 100,
                },
            }
        )
        events.append(
            {
                "type": "trade_closed",
                "occurred_at": closed,
                "properties": {"trade_id": tid, "pnl": pnl, "holding_seconds": hours * 3600},
            }
        )
    return events


def test_doubling_down_after_losses_on_short_trades_is_aggressive() -> None:
    # After each loss the next trade is 3x the usual size; losses are 20 % of the position.
    specs = [(1000, 50, 0.2), (1000, -200, 0.2), (3000, -600, 0.3), (9000, 300, 0.1)]
    specs += [(1000, 40, 0.2), (1000, -200, 0.5), (3000, 90, 0.2)]
    result = score_trades(trades(specs))
    figures = result["figures"]
    assert figures["typical_size"] == 1000
    assert figures["size_after_loss"] == 3.0  # median of 3000, 9000, 3000 over 1000
    assert figures["size_dispersion"] == 9.0
    assert figures["median_holding_hours"] == 0.2
    assert figures["loss_per_position"] == 0.2
    assert figures["max_loss_streak"] == 2
    points = {s["figure"]: s["points"] for s in result["signals"]}
    assert points == {
        "size_after_loss": 2,
        "size_dispersion": 1,
        "median_holding_hours": 1,
        "loss_to_win": 1,  # mean loss 333.3 / mean win 120
        "loss_per_position": 1,
    }
    assert (result["profile"], result["score"]) == ("aggressive", 6)


def test_small_steady_sizes_cut_after_losses_held_for_days_are_conservative() -> None:
    specs = [(1000, 30, 200), (1000, -20, 200), (700, 25, 200), (1000, 30, 200)]
    specs += [(1000, -20, 200), (700, 20, 200)]
    result = score_trades(trades(specs))
    assert result["figures"]["size_after_loss"] == 0.7
    assert result["figures"]["loss_per_position"] == 0.02
    assert (result["profile"], result["score"]) == ("conservative", -5)


def test_too_few_closed_trades_give_no_profile_and_deleted_trades_do_not_count() -> None:
    events = trades([(1000, 10, 1)] * 4)
    result = score_trades(events)
    assert result["profile"] is None and "4 closed trades" in result["reason"]
    events += trades([(1000, 10, 1)] * 5)[-2:]  # t5 is new; t5 created and closed
    events.append(
        {
            "type": "trade_deleted",
            "occurred_at": "2026-02-01T00:00:00Z",
            "properties": {"trade_id": "t5"},
        }
    )
    assert score_trades(events)["trades"] == {"opened": 4, "closed": 4}


def test_trade_updates_change_the_size_and_junk_properties_are_ignored() -> None:
    events = trades([(1000, 10, 1)] * 5)
    events.append(
        {
            "type": "trade_updated",
            "occurred_at": "2026-01-01T00:10:00Z",
            "properties": {"trade_id": "t1", "quantity": 50},
        }
    )
    events.append(
        {
            "type": "trade_closed",
            "occurred_at": "2026-01-09T00:00:00Z",
            "properties": {"trade_id": "t9", "pnl": "lots"},
        }
    )
    result = score_trades(events)
    assert result["figures"]["size_dispersion"] == 5.0
    assert result["trades"] == {"opened": 5, "closed": 5}
