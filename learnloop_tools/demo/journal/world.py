"""Simulated traders with a hidden truth, for ``learnloop demo --world journal`` and tests.

Everything is seeded: :meth:`JournalWorld.generate` draws the traders from ``seed`` and
:meth:`JournalWorld.simulate_day` draws a day with the generator it is given. The simulation
emits the events an app would send (``trade_created``, ``emotion_analyzed``, ``trade_closed``,
``pattern_detected``, ``insight_generated``, ``insight_helpful`` / ``insight_not_helpful``) and
keeps, beside them, what only the world knows.

The hidden truth
----------------
Traders
    Each has a skill (a logit offset, Normal(0.2, 0.3)), a trading rate (1 to 3 trades a day
    spread over a ten-hour session), a usual position size, and three propensities:
    **revenge trading** (after a loss, re-entering within 2-20 minutes at 2-4 times the usual
    size, angry or frustrated), **FOMO** (after a win, re-entering the same symbol within
    5-40 minutes at 1.5-3 times the size, greedy or excited) and **overtrading** (a day with a
    burst of 6-10 short trades 2-6 minutes apart; the burst's third trade onwards is the pattern).
    A planted pattern is a property of the trade, known only to the world.
Outcomes
    ``P(win) = sigmoid(skill + emotion effect + hour effect - 0.25 * min(loss streak, 4)
    + pattern effect)`` with emotion effects from calm (+0.4) to angry (-0.6), the 13-17 UTC
    hours +0.3 and 0-5 UTC -0.4, and patterns that cause losses: revenge -1.2, FOMO -1.0,
    overtrading -0.8. P&L is the notional times a return of 0.5-3 % (losses 1.5 times larger
    on revenge trades). :attr:`Trade.p_win` holds each trade's true probability.
The app's detector
    Flags a planted pattern with probability 0.9 (a ``pattern_detected`` event when the trade
    closes) and a trade without one with probability 0.01: the labels the detector model
    learns from are the app's, not the truth.
Insights
    Each warning reaches each trader on a day of its own drawn from 3 to 29 (a staggered
    rollout: every trader trades a while without it, and in a world of 25 days about a
    sixth never gets it); that morning the trader sees one (onboarding), so the first insight
    of each type comes at a time that depends neither on the trader's recent trades nor on
    the other types. After a flagged trade the app generates an insight on that pattern with
    probability 0.5 (naming the pattern and the trade), and an emotion or streak tip now and
    then. **One insight type helps** (:data:`HELPFUL_INSIGHT`, the revenge-trading warning):
    a trader's first one cuts their revenge-trading propensity to :data:`HELPFUL_EFFECT`
    (10 %) of what it was, for good; later ones change nothing more. Every other type (the
    overtrading and FOMO warnings, the tips) changes no behaviour: the nulls an
    effectiveness estimate must not flag. Receptive traders (40 %) mark relevant insights
    helpful with probability 0.8 (others 0.2): what users say, not what insights do.
Churn
    At each day's end an active trader quits for good with probability
    ``sigmoid(-7.5 + 0.7 * loss streak + 0.5 * [the day lost money])``: losing streaks drive churn.

Examples
--------
>>> import numpy as np
>>> world = JournalWorld.generate(n_traders=5, seed=1)
>>> day = world.simulate_day(0, np.random.default_rng(0))
>>> {"trade_created", "trade_closed", "emotion_analyzed"} <= {e["type"] for e in day.events}
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

EMOTION_EFFECT: dict[str, float] = {
    "calm": 0.4,
    "confident": 0.2,
    "neutral": 0.0,
    "anxious": -0.2,
    "fearful": -0.3,
    "frustrated": -0.4,
    "angry": -0.6,
    "greedy": -0.4,
    "excited": -0.2,
}
#: Emotions of ordinary trades, and their weights.
_CALM_MIX = {"calm": 0.3, "confident": 0.25, "neutral": 0.25, "anxious": 0.1, "excited": 0.1}
_TILTED_MIX = {"anxious": 0.3, "frustrated": 0.3, "fearful": 0.2, "neutral": 0.2}
PATTERN_EFFECT: dict[str, float] = {"revenge_trading": -1.2, "fomo": -1.0, "overtrading": -0.8}
SYMBOLS = ("BTC", "ETH", "SOL", "AAPL", "TSLA", "EURUSD", "NVDA", "SPY")
#: The one insight type that changes behaviour, and what it multiplies the propensity by.
HELPFUL_INSIGHT = "revenge_trading_warning"
#: The days (from, to exclusive) on which the insights feature reaches a trader.
ROLLOUT_DAYS = (3, 30)
HELPFUL_EFFECT = 0.1
INSIGHT_TYPES = {
    "revenge_trading": "revenge_trading_warning",
    "overtrading": "overtrading_warning",
    "fomo": "fomo_warning",
}


@dataclass
class Trader:
    """One simulated trader's hidden traits and state."""

    user_id: str
    skill: float
    rate: float
    session_start: float
    size: float
    propensity: dict[str, float]
    receptive: bool
    #: The first day the app shows the trader each pattern's insights.
    insights_from: dict[str, int] = field(default_factory=dict)
    #: The insight types the trader has seen.
    seen: set[str] = field(default_factory=set)
    active: bool = True
    quit_day: int | None = None
    loss_streak: int = 0
    last_symbol: str = "BTC"
    clock: float = 0.0


@dataclass
class Trade:
    """One simulated trade and what only the world knows of it."""

    user_id: str
    trade_id: str
    opened_at: datetime
    closed_at: datetime
    symbol: str
    side: str
    quantity: float
    price: float
    emotion: str
    pattern: str | None
    p_win: float
    won: bool
    pnl: float
    flagged: bool


@dataclass
class Day:
    """One simulated day: the events to send and the trades behind them."""

    index: int
    start: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    quit: list[str] = field(default_factory=list)
    #: The trade ids of flagged trades an insight on their pattern followed.
    insight_after: set[str] = field(default_factory=set)


@dataclass
class JournalWorld:
    """The traders and the first simulated day (UTC midnight)."""

    traders: list[Trader]
    start: datetime
    seed: int = 0
    _counter: int = 0

    @classmethod
    def generate(
        cls,
        *,
        n_traders: int = 120,
        seed: int = 0,
        start: datetime | None = None,
        rollout_days: tuple[int, int] = ROLLOUT_DAYS,
    ) -> JournalWorld:
        """Draw ``n_traders`` traders from ``seed``; day 0 starts at ``start`` (UTC midnight;
        default: 2026-09-01); each warning reaches each trader on a day drawn from
        ``rollout_days`` (from, to exclusive)."""
        rng = np.random.default_rng(seed)
        traders = []
        for i in range(n_traders):
            traders.append(
                Trader(
                    user_id=f"trader-{i:04d}",
                    skill=float(rng.normal(0.2, 0.3)),
                    rate=float(rng.uniform(1.0, 3.0)),
                    session_start=float(rng.uniform(6.0, 12.0)),
                    size=float(np.exp(rng.normal(np.log(2000.0), 0.8))),
                    propensity={
                        "revenge_trading": float(rng.uniform(0.0, 0.6)),
                        "fomo": float(rng.uniform(0.0, 0.5)),
                        "overtrading": float(rng.uniform(0.0, 0.25)),
                    },
                    receptive=bool(rng.random() < 0.4),
                )
            )
        # The insights feature reaches each trader on a day of its own (a staggered rollout,
        # drawn from a generator of its own so the traders above stay as they were): every
        # trader has days before their first insight, and later ones are not yet treated.
        rollout = np.random.default_rng([seed, 1])
        for trader in traders:
            trader.insights_from = {
                kind: int(rollout.integers(*rollout_days)) for kind in INSIGHT_TYPES.values()
            }
        begin = start or datetime(2026, 9, 1, tzinfo=UTC)
        return cls(traders=traders, start=begin, seed=seed)

    def day_start(self, index: int) -> datetime:
        return self.start + timedelta(days=index)

    def simulate_day(self, index: int, rng: np.random.Generator) -> Day:
        """Every active trader's trades of day ``index`` and the events the app sends."""
        day = Day(index=index, start=self.day_start(index))
        for trader in self.traders:
            if trader.active:
                self._trader_day(trader, day, rng)
        day.events.sort(key=lambda e: e["occurred_at"])
        return day

    def active_users(self) -> list[str]:
        return [t.user_id for t in self.traders if t.active]

    # --- one trader's day ----------------------------------------------------------------

    def _trader_day(self, trader: Trader, day: Day, rng: np.random.Generator) -> None:
        base = day.start.timestamp()
        for planted, warning in INSIGHT_TYPES.items():
            if day.index == trader.insights_from.get(warning):
                # onboarding: a warning's first day shows it before the session, so each
                # type's first insight comes at its rollout, not after a pattern (a trigger
                # would make the windows before and after it differ by themselves)
                morning = datetime.fromtimestamp(base + 3600.0 * (trader.session_start - 1.0), UTC)
                self._insight(trader, day, warning, planted, morning, rng, relevant=True)
        n = int(rng.poisson(trader.rate))
        planned = sorted(
            base + 3600.0 * (trader.session_start + rng.uniform(0.0, 10.0)) for _ in range(n)
        )
        burst_at = None
        if rng.random() < trader.propensity["overtrading"]:
            burst_at = base + 3600.0 * (trader.session_start + rng.uniform(0.0, 8.0))
        clock = max(trader.clock, base)
        day_pnl = 0.0
        queue: list[tuple[float, str | None, int]] = [(t, None, 0) for t in planned]
        if burst_at is not None:
            queue.append((burst_at, "burst", int(rng.integers(6, 11))))
        queue.sort(key=lambda q: q[0])
        while queue:
            at, kind, count = queue.pop(0)
            if kind == "burst":
                for k in range(count):
                    clock = max(clock, at) + 60.0 * rng.uniform(2.0, 6.0)
                    pattern = "overtrading" if k >= 2 else None
                    trade = self._trade(trader, day, rng, clock, pattern, hold=(3.0, 12.0))
                    clock = trade.closed_at.timestamp()
                    day_pnl += trade.pnl
                # the burst replaced the trades planned during it
                queue = [q for q in queue if q[0] >= clock]
                continue
            clock = max(clock, at)
            trade = self._trade(trader, day, rng, clock, None, hold=(15.0, 180.0))
            clock = trade.closed_at.timestamp()
            day_pnl += trade.pnl
            # a planted pattern may follow the close (one at most: a chain would be a burst)
            follow = None
            if not trade.won and rng.random() < trader.propensity["revenge_trading"]:
                clock += 60.0 * rng.uniform(2.0, 20.0)
                follow = "revenge_trading"
            elif trade.won and rng.random() < trader.propensity["fomo"]:
                clock += 60.0 * rng.uniform(5.0, 40.0)
                follow = "fomo"
            if follow is not None:
                trade = self._trade(trader, day, rng, clock, follow, hold=(10.0, 60.0))
                clock = trade.closed_at.timestamp()
                day_pnl += trade.pnl
        trader.clock = clock
        hazard = _sigmoid(-7.5 + 0.7 * trader.loss_streak + (0.5 if day_pnl < 0 else 0.0))
        if rng.random() < hazard:
            trader.active = False
            trader.quit_day = day.index
            day.quit.append(trader.user_id)

    def _trade(
        self,
        trader: Trader,
        day: Day,
        rng: np.random.Generator,
        at: float,
        pattern: str | None,
        *,
        hold: tuple[float, float],
    ) -> Trade:
        self._counter += 1
        trade_id = f"{trader.user_id}-t{self._counter:06d}"
        symbol = trader.last_symbol if pattern == "fomo" else str(rng.choice(SYMBOLS))
        trader.last_symbol = symbol
        if pattern == "revenge_trading":
            emotion = str(rng.choice(["angry", "frustrated"])) if rng.random() < 0.8 else "anxious"
            scale = rng.uniform(2.0, 4.0)
        elif pattern == "fomo":
            emotion = str(rng.choice(["greedy", "excited"])) if rng.random() < 0.8 else "confident"
            scale = rng.uniform(1.5, 3.0)
        else:
            mix = _TILTED_MIX if trader.loss_streak >= 2 else _CALM_MIX
            emotion = str(rng.choice(list(mix), p=list(mix.values())))
            scale = float(np.exp(rng.normal(0.0, 0.25)))
        price = float(rng.uniform(20.0, 500.0))
        quantity = round(trader.size * scale / price, 6)
        hour = (at % 86400.0) / 3600.0
        hour_effect = 0.3 if 13.0 <= hour < 17.0 else (-0.4 if hour < 5.0 else 0.0)
        logit = (
            trader.skill
            + EMOTION_EFFECT[emotion]
            + hour_effect
            - 0.25 * min(trader.loss_streak, 4)
            + (PATTERN_EFFECT[pattern] if pattern else 0.0)
        )
        p_win = _sigmoid(logit)
        won = bool(rng.random() < p_win)
        size = quantity * price
        move = rng.uniform(0.005, 0.03) * (1.5 if pattern == "revenge_trading" and not won else 1)
        pnl = round(size * move * (1 if won else -1), 2)
        opened = datetime.fromtimestamp(at, UTC)
        closed = opened + timedelta(minutes=float(rng.uniform(*hold)))
        flagged = bool(rng.random() < (0.9 if pattern else 0.01))
        trade = Trade(
            user_id=trader.user_id,
            trade_id=trade_id,
            opened_at=opened,
            closed_at=closed,
            symbol=symbol,
            side="buy" if rng.random() < 0.6 else "sell",
            quantity=quantity,
            price=round(price, 4),
            emotion=emotion,
            pattern=pattern,
            p_win=p_win,
            won=won,
            pnl=pnl,
            flagged=flagged,
        )
        trader.loss_streak = 0 if won else trader.loss_streak + 1
        day.trades.append(trade)
        self._emit(trader, day, trade, rng)
        return trade

    def _emit(self, trader: Trader, day: Day, trade: Trade, rng: np.random.Generator) -> None:
        user = trader.user_id
        events = day.events
        events.append(
            _event(
                user,
                "emotion_analyzed",
                trade.opened_at - timedelta(minutes=1),
                {"emotion": trade.emotion, "confidence": 0.9, "trade_id": trade.trade_id},
            )
        )
        events.append(
            _event(
                user,
                "trade_created",
                trade.opened_at,
                {
                    "trade_id": trade.trade_id,
                    "symbol": trade.symbol,
                    "side": trade.side,
                    "quantity": trade.quantity,
                    "price": trade.price,
                },
            )
        )
        events.append(
            _event(
                user,
                "trade_closed",
                trade.closed_at,
                {
                    "trade_id": trade.trade_id,
                    "pnl": trade.pnl,
                    "symbol": trade.symbol,
                    "outcome": "win" if trade.won else "loss",
                    "holding_seconds": (trade.closed_at - trade.opened_at).total_seconds(),
                },
            )
        )
        if not trade.flagged:
            return
        flagged = trade.pattern or str(rng.choice(list(PATTERN_EFFECT)))
        at = trade.closed_at + timedelta(seconds=5)
        events.append(
            _event(
                user,
                "pattern_detected",
                at,
                {
                    "pattern_type": flagged,
                    "confidence": 0.8,
                    "trade_id": trade.trade_id,
                    "severity": "high" if trade.pattern == "revenge_trading" else "medium",
                    "was_warned": False,
                    "outcome": "win" if trade.won else "loss",
                    "pnl": trade.pnl,
                },
            )
        )
        if day.index < trader.insights_from.get(INSIGHT_TYPES[flagged], 0):
            return
        if rng.random() < 0.5:
            self._insight(
                trader, day, INSIGHT_TYPES[flagged], flagged, at, rng, relevant=True, trade=trade
            )
            day.insight_after.add(trade.trade_id)
        elif rng.random() < 0.05:
            kind = str(rng.choice(["emotion_tip", "streak_review"]))
            self._insight(trader, day, kind, None, at, rng, relevant=False)

    def _insight(
        self,
        trader: Trader,
        day: Day,
        insight_type: str,
        pattern: str | None,
        at: datetime,
        rng: np.random.Generator,
        *,
        relevant: bool,
        trade: Trade | None = None,
    ) -> None:
        self._counter += 1
        insight_id = f"{trader.user_id}-i{self._counter:06d}"
        shown = at + timedelta(seconds=30)
        properties: dict[str, Any] = {"insight_id": insight_id, "insight_type": insight_type}
        if pattern is not None:
            properties["pattern_type"] = pattern
        if trade is not None:
            properties["trade_id"] = trade.trade_id
        day.events.append(_event(trader.user_id, "insight_generated", shown, properties))
        if insight_type == HELPFUL_INSIGHT and insight_type not in trader.seen:
            trader.propensity["revenge_trading"] *= HELPFUL_EFFECT
        trader.seen.add(insight_type)
        if rng.random() < 0.7:
            p = (0.8 if relevant else 0.4) if trader.receptive else (0.2 if relevant else 0.1)
            helpful = rng.random() < p
            day.events.append(
                _event(
                    trader.user_id,
                    "insight_helpful" if helpful else "insight_not_helpful",
                    shown + timedelta(minutes=2),
                    {"insight_id": insight_id},
                )
            )


def _event(user: str, kind: str, at: datetime, properties: dict[str, Any]) -> dict[str, Any]:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"type": kind, "user_id": user, "occurred_at": stamp, "properties": properties}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


__all__ = [
    "EMOTION_EFFECT",
    "HELPFUL_EFFECT",
    "HELPFUL_INSIGHT",
    "PATTERN_EFFECT",
    "Day",
    "JournalWorld",
    "Trade",
    "Trader",
]
