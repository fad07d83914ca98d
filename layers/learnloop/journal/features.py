"""The journal models' features: a user's journal rebuilt from events, and feature rows as of a
moment, with no look-ahead (numpy only; training and serving both build rows here).

A :class:`Journal` is one user's trades (``trade_created`` joined with its ``trade_closed``,
``emotion_analyzed`` and ``pattern_detected`` events), insights (``insight_generated`` and the
last ``insight_helpful`` / ``insight_not_helpful`` of each) and activity times. Every builder
takes the moment ``at`` it describes and reads only what had happened by then, within the last
:data:`HISTORY_DAYS`: a trade's row sees the trades *closed* before it opened, never its own
result, and serving builds the same row for a trade about to be placed.

Rows
----
:data:`TRADE_FEATURES`
    One trade at its opening: hour, side, emotion at entry, streaks, time since the last close,
    trades in the last hour and day against the user's usual rate, size against the user's
    usual size, whether it re-enters the last symbol. The outcome, P&L and pattern-detection models.
:data:`CHURN_FEATURES`
    One user at the end of a day: days since the last event, recent trade counts, active days,
    losing streak, loss share, patterns and insights. Label: no event in the next
    :data:`CHURN_DAYS` days.
:data:`INSIGHT_FEATURES`
    One insight when it was generated: its topic, whether the user's recent trades show the
    topic's pattern, the user's past feedback. The behaviour-change model (does the pattern
    recur in the next :data:`RECURRENCE_TRADES` trades) and the insight-quality model
    (was it marked helpful).

Examples
--------
>>> events = [
...     {"user_id": "u1", "type": "trade_created", "occurred_at": "2026-11-20T09:00:00Z",
...      "properties": {"trade_id": "t1", "symbol": "BTC", "side": "buy", "quantity": 1,
...                     "price": 100}},
...     {"user_id": "u1", "type": "trade_closed", "occurred_at": "2026-11-20T10:00:00Z",
...      "properties": {"trade_id": "t1", "pnl": -5.0}},
...     {"user_id": "u1", "type": "trade_created", "occurred_at": "2026-11-20T10:05:00Z",
...      "properties": {"trade_id": "t2", "symbol": "BTC", "side": "buy", "quantity": 3,
...                     "price": 100}},
... ]
>>> journal = journals_from_events(events)["u1"]
>>> [t.trade_id for t in journal.trades], journal.trades[0].won
(['t1', 't2'], False)
>>> row = trade_row(journal, journal.trades[1])
>>> row["loss_streak"], row["same_symbol"], round(row["size_ratio"], 3)
(1.0, 1.0, 1.099)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

#: Emotions with their own column; any other is ``emotion_other``.
EMOTIONS: tuple[str, ...] = (
    "calm",
    "confident",
    "neutral",
    "anxious",
    "fearful",
    "frustrated",
    "angry",
    "greedy",
    "excited",
)
#: The patterns the detector learns (one binary model each); ``pattern_type`` values are
#: normalised with :func:`pattern_of`.
PATTERN_TYPES: tuple[str, ...] = ("revenge_trading", "overtrading", "fomo")
#: What an insight is about (:func:`topic_of` of its ``insight_type``).
INSIGHT_TOPICS: tuple[str, ...] = (*PATTERN_TYPES, "emotion", "streak")
#: The registry names of the journal models (``models/{name}/{version}/``).
OUTCOME_MODEL = "journal_outcome"
PNL_MODEL = "journal_pnl"
CHURN_MODEL = "journal_churn"
BEHAVIOUR_MODEL = "journal_behaviour_change"
QUALITY_MODEL = "journal_insight_quality"
#: Pattern → its detector's registry name.
PATTERN_MODELS: dict[str, str] = {p: f"journal_pattern_{p}" for p in PATTERN_TYPES}
#: Every journal model, in training order.
JOURNAL_MODELS: tuple[str, ...] = (
    OUTCOME_MODEL,
    PNL_MODEL,
    CHURN_MODEL,
    *PATTERN_MODELS.values(),
    BEHAVIOUR_MODEL,
    QUALITY_MODEL,
)
#: The event types a journal is built from.
JOURNAL_EVENT_TYPES: tuple[str, ...] = (
    "trade_created",
    "trade_closed",
    "emotion_analyzed",
    "pattern_detected",
    "insight_generated",
    "insight_helpful",
    "insight_not_helpful",
)
#: The churn label's horizon: no event in this many days after the snapshot.
CHURN_DAYS = 14
#: How far back a row looks: training and serving read the same history.
HISTORY_DAYS = 60
#: The behaviour-change label: does the insight's pattern recur in this many trades after it.
RECURRENCE_TRADES = 10
#: An ``emotion_analyzed`` event linked to a trade counts as its entry emotion when it arrives
#: by this long after the trade opened (the app's journal note); later ones could know the result.
EMOTION_GRACE_SECONDS = 60.0
#: Without a linked emotion, the user's latest emotion within this long before the trade.
EMOTION_RECENT_SECONDS = 6 * 3600.0

_HOUR = 3600.0
_DAY = 86400.0
_NO_CLOSE_HOURS = HISTORY_DAYS * 24.0

TRADE_FEATURES: tuple[str, ...] = (
    "hour_sin",
    "hour_cos",
    "side_buy",
    "log_trades_total",
    "loss_streak",
    "win_streak",
    "last_loss",
    "log_hours_since_close",
    "recent_win_rate",
    "trades_1h",
    "log_trades_24h",
    "trade_rate_ratio",
    "size_ratio",
    "same_symbol",
    "recent_win_close",
    "upsized_after_loss",
    "upsized_after_win",
    "emotion_confidence",
    *(f"emotion_{e}" for e in EMOTIONS),
    "emotion_other",
)
CHURN_FEATURES: tuple[str, ...] = (
    "log_days_since_activity",
    "log_tenure_days",
    "log_trades_7d",
    "log_trades_prev_7d",
    "active_days_14",
    "loss_streak",
    "recent_win_rate",
    "loss_share_7d",
    "log_patterns_14d",
    "log_insights_30d",
    "helpful_rate",
)
INSIGHT_FEATURES: tuple[str, ...] = (
    *(f"topic_{t}" for t in INSIGHT_TOPICS),
    "topic_other",
    "relevant_share",
    "pattern_share_20",
    "log_prior_insights",
    "helpful_rate",
    "log_feedback_count",
    "loss_streak",
    "log_trades_total",
)

#: The dummy-coded inputs, as the drift check's PSI groups them (category → (baseline level,
#: indicator columns)), like :data:`learnloop.predictors.features.CATEGORICAL_FEATURES`.
CATEGORICAL_FEATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "emotion": ("none", (*(f"emotion_{e}" for e in EMOTIONS), "emotion_other")),
    "topic": ("other", tuple(f"topic_{t}" for t in INSIGHT_TOPICS)),
}


@dataclass
class Trade:
    """One trade: its opening, and its result once closed (epoch seconds, UTC)."""

    trade_id: str
    opened_at: float
    symbol: str = ""
    side: str = "buy"
    quantity: float = 0.0
    price: float = 0.0
    closed_at: float | None = None
    pnl: float | None = None
    outcome: str | None = None
    emotion: str | None = None
    emotion_confidence: float | None = None
    patterns: set[str] = field(default_factory=set)
    #: When the app first reported each pattern (a row as of a moment counts only those).
    detected_at: dict[str, float] = field(default_factory=dict)

    @property
    def notional(self) -> float:
        """Quantity times entry price (0 when unknown)."""
        return self.quantity * self.price

    @property
    def won(self) -> bool | None:
        """Whether it closed as a win (``outcome``, else ``pnl > 0``); None while open."""
        if self.outcome is not None:
            return self.outcome == "win"
        return None if self.pnl is None else self.pnl > 0


@dataclass
class Insight:
    """One generated insight and the user's last verdict on it (None: no feedback)."""

    insight_id: str
    at: float
    insight_type: str = ""
    helpful: bool | None = None
    feedback_at: float | None = None

    @property
    def topic(self) -> str:
        return topic_of(self.insight_type)


@dataclass
class Journal:
    """One user's journal, every list sorted by time."""

    user_id: str
    trades: list[Trade] = field(default_factory=list)
    insights: list[Insight] = field(default_factory=list)
    activity: list[float] = field(default_factory=list)
    emotions: list[tuple[float, str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index()

    def index(self) -> None:
        """Sort and build the look-ups the builders bisect (after any change to the lists)."""
        self.trades.sort(key=lambda t: (t.opened_at, t.trade_id))
        self.insights.sort(key=lambda i: (i.at, i.insight_id))
        self.activity.sort()
        self.emotions.sort()
        self._opened = [t.opened_at for t in self.trades]
        closed = sorted(
            (t for t in self.trades if t.closed_at is not None and t.won is not None),
            key=lambda t: (t.closed_at or 0.0, t.trade_id),
        )
        self._closed = closed
        self._closed_at = [t.closed_at or 0.0 for t in closed]
        self._emotion_at = [e[0] for e in self.emotions]
        self._insight_at = [i.at for i in self.insights]


def pattern_of(pattern_type: str) -> str | None:
    """The :data:`PATTERN_TYPES` entry a free-text ``pattern_type`` names, else None.

    Examples
    --------
    >>> pattern_of("Revenge Trading"), pattern_of("overtrading"), pattern_of("FOMO_entry")
    ('revenge_trading', 'overtrading', 'fomo')
    >>> pattern_of("doji") is None
    True
    """
    text = "".join(c for c in pattern_type.lower() if c.isalnum())
    if "revenge" in text:
        return "revenge_trading"
    if "overtrad" in text:
        return "overtrading"
    if "fomo" in text or "fearofmissing" in text:
        return "fomo"
    return None


def topic_of(insight_type: str | None) -> str:
    """The :data:`INSIGHT_TOPICS` entry an ``insight_type`` is about, else ``"other"``.

    Examples
    --------
    >>> topic_of("revenge_trading_warning"), topic_of("emotion_tip"), topic_of(None)
    ('revenge_trading', 'emotion', 'other')
    """
    if not insight_type:
        return "other"
    pattern = pattern_of(insight_type)
    if pattern is not None:
        return pattern
    text = insight_type.lower()
    for topic in ("emotion", "streak"):
        if topic in text:
            return topic
    return "other"


def epoch(value: Any) -> float:
    """Epoch seconds of a datetime (naive = UTC) or an ISO-8601 string.

    Examples
    --------
    >>> epoch("1970-01-02T00:00:00Z")
    86400.0
    """
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def journals_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, Journal]:
    """Every user's :class:`Journal` from events (``user_id``, ``type``, ``occurred_at``,
    ``properties``), in any order; a redelivered event changes nothing.

    A trade needs its ``trade_created``; a ``trade_closed`` or ``pattern_detected`` for an
    unknown trade is kept for the user's activity only.
    """
    by_user: dict[str, list[tuple[float, str, Mapping[str, Any]]]] = {}
    for event in events:
        props = event.get("properties") or {}
        by_user.setdefault(str(event["user_id"]), []).append(
            (epoch(event["occurred_at"]), str(event["type"]), props)
        )
    return {user: _journal(user, rows) for user, rows in by_user.items()}


def _journal(user: str, rows: list[tuple[float, str, Mapping[str, Any]]]) -> Journal:
    rows.sort(key=lambda r: r[0])
    trades: dict[str, Trade] = {}
    insights: dict[str, Insight] = {}
    closes: list[tuple[float, Mapping[str, Any]]] = []
    linked: list[tuple[float, Mapping[str, Any]]] = []
    patterns: list[tuple[float, Mapping[str, Any]]] = []
    feedback: list[tuple[float, str, bool]] = []
    emotions: list[tuple[float, str, float]] = []
    activity = []
    for at, kind, props in rows:
        activity.append(at)
        if kind == "trade_created" and props.get("trade_id"):
            trades.setdefault(
                str(props["trade_id"]),
                Trade(
                    trade_id=str(props["trade_id"]),
                    opened_at=at,
                    symbol=str(props.get("symbol") or ""),
                    side=str(props.get("side") or "buy"),
                    quantity=_number(props.get("quantity")),
                    price=_number(props.get("price")),
                ),
            )
        elif kind == "trade_closed":
            closes.append((at, props))
        elif kind == "emotion_analyzed" and props.get("emotion"):
            emotion = str(props["emotion"]).lower()
            confidence = _number(props.get("confidence"), 1.0)
            emotions.append((at, emotion, confidence))
            if props.get("trade_id"):
                linked.append((at, props))
        elif kind == "pattern_detected":
            patterns.append((at, props))
        elif kind == "insight_generated" and props.get("insight_id"):
            insights.setdefault(
                str(props["insight_id"]),
                Insight(str(props["insight_id"]), at, str(props.get("insight_type") or "")),
            )
        elif kind in ("insight_helpful", "insight_not_helpful") and props.get("insight_id"):
            feedback.append((at, str(props["insight_id"]), kind == "insight_helpful"))
    for at, props in closes:
        trade = trades.get(str(props.get("trade_id")))
        if trade is not None and trade.closed_at is None and at >= trade.opened_at:
            trade.closed_at = at
            trade.pnl = _number(props.get("pnl"))
            outcome = props.get("outcome")
            trade.outcome = str(outcome) if outcome in ("win", "loss", "breakeven") else None
    for at, props in linked:
        trade = trades.get(str(props.get("trade_id")))
        if (
            trade is not None
            and trade.emotion is None
            and at <= trade.opened_at + EMOTION_GRACE_SECONDS
        ):
            trade.emotion = str(props["emotion"]).lower()
            trade.emotion_confidence = _number(props.get("confidence"), 1.0)
    for at, props in patterns:  # sorted by time: the first report of a pattern stays
        trade = trades.get(str(props.get("trade_id")))
        pattern = pattern_of(str(props.get("pattern_type") or ""))
        if trade is not None and pattern is not None:
            trade.patterns.add(pattern)
            trade.detected_at.setdefault(pattern, at)
    for at, insight_id, helpful in feedback:  # sorted by time: the last verdict wins
        insight = insights.get(insight_id)
        if insight is not None:
            insight.helpful, insight.feedback_at = helpful, at
    return Journal(
        user_id=user,
        trades=list(trades.values()),
        insights=list(insights.values()),
        activity=activity,
        emotions=emotions,
    )


# --- trade rows ------------------------------------------------------------------------------


def trade_row(journal: Journal, trade: Trade) -> dict[str, float]:
    """:data:`TRADE_FEATURES` of ``trade`` at its opening, from what ``journal`` held by then.

    ``trade`` need not be in the journal (serving scores a trade about to be placed).
    """
    t = trade.opened_at
    since = t - HISTORY_DAYS * _DAY
    lo = bisect.bisect_left(journal._opened, since)
    hi = bisect.bisect_left(journal._opened, t)
    earlier = [x for x in journal.trades[lo:hi] if x.trade_id != trade.trade_id]
    c_lo = bisect.bisect_left(journal._closed_at, since)
    c_hi = bisect.bisect_right(journal._closed_at, t)
    closed = [x for x in journal._closed[c_lo:c_hi] if x.trade_id != trade.trade_id]

    loss_streak = win_streak = 0
    for x in reversed(closed):
        if x.won:
            if loss_streak:
                break
            win_streak += 1
        else:
            if win_streak:
                break
            loss_streak += 1
    last = closed[-1] if closed else None
    hours_since = (t - (last.closed_at or t)) / _HOUR if last else _NO_CLOSE_HOURS
    recent = closed[-10:]
    wins = sum(1 for x in recent if x.won)
    in_1h = sum(1 for x in earlier if x.opened_at >= t - _HOUR)
    in_24h = sum(1 for x in earlier if x.opened_at >= t - _DAY)
    in_14d = sum(1 for x in earlier if x.opened_at >= t - 14 * _DAY)
    sizes = [x.notional for x in earlier[-20:] if x.notional > 0]
    size_ratio = (
        math.log(trade.notional / float(np.median(sizes))) if sizes and trade.notional > 0 else 0.0
    )
    hour = (t % _DAY) / _HOUR
    row = {
        "hour_sin": math.sin(2 * math.pi * hour / 24),
        "hour_cos": math.cos(2 * math.pi * hour / 24),
        "side_buy": 1.0 if trade.side == "buy" else 0.0,
        "log_trades_total": math.log1p(len(earlier)),
        "loss_streak": float(min(loss_streak, 10)),
        "win_streak": float(min(win_streak, 10)),
        "last_loss": 1.0 if last is not None and not last.won else 0.0,
        "log_hours_since_close": math.log1p(max(hours_since, 0.0)),
        "recent_win_rate": (wins + 1) / (len(recent) + 2),
        "trades_1h": float(min(in_1h, 6)),
        "log_trades_24h": math.log1p(in_24h),
        "trade_rate_ratio": (in_24h + 1) / (in_14d / 14 + 1),
        "size_ratio": max(-3.0, min(3.0, size_ratio)),
        "same_symbol": 1.0 if earlier and earlier[-1].symbol == trade.symbol else 0.0,
        "recent_win_close": 1.0 if last is not None and last.won and hours_since <= 2.0 else 0.0,
    }
    # The patterns are conjunctions (re-entering soon after a close, at a larger size): a
    # linear model sees them only as products.
    upsized = max(row["size_ratio"], 0.0)
    soon = hours_since <= 1.0 and last is not None
    row["upsized_after_loss"] = upsized if soon and row["last_loss"] else 0.0
    row["upsized_after_win"] = upsized * row["same_symbol"] if soon and last and last.won else 0.0
    emotion, confidence = trade.emotion, trade.emotion_confidence
    if emotion is None:
        e_lo = bisect.bisect_left(journal._emotion_at, t - EMOTION_RECENT_SECONDS)
        e_hi = bisect.bisect_right(journal._emotion_at, t)
        if e_hi > e_lo:
            _, emotion, confidence = journal.emotions[e_hi - 1]
    row["emotion_confidence"] = float(confidence) if emotion is not None and confidence else 0.0
    for name in EMOTIONS:
        row[f"emotion_{name}"] = 1.0 if emotion == name else 0.0
    row["emotion_other"] = 1.0 if emotion is not None and emotion not in EMOTIONS else 0.0
    return row


def trade_matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Rows of :func:`trade_row` as a float matrix in :data:`TRADE_FEATURES` order."""
    return _matrix(rows, TRADE_FEATURES)


def trade_return(trade: Trade) -> float | None:
    """P&L per unit of notional (what the P&L model predicts; scale-free across users)."""
    if trade.pnl is None or trade.notional <= 0:
        return None
    return trade.pnl / trade.notional


# --- churn rows ------------------------------------------------------------------------------


def churn_row(journal: Journal, at: float) -> dict[str, float]:
    """:data:`CHURN_FEATURES` of the user at ``at`` (epoch seconds)."""
    since = at - HISTORY_DAYS * _DAY
    a_lo = bisect.bisect_left(journal.activity, since)
    a_hi = bisect.bisect_right(journal.activity, at)
    seen = journal.activity[a_lo:a_hi]
    last = seen[-1] if seen else since
    first = seen[0] if seen else at
    opened = journal._opened
    trades_7 = bisect.bisect_right(opened, at) - bisect.bisect_left(opened, at - 7 * _DAY)
    trades_prev = bisect.bisect_left(opened, at - 7 * _DAY) - bisect.bisect_left(
        opened, at - 14 * _DAY
    )
    days = {int(x // _DAY) for x in seen if x > at - 14 * _DAY}
    c_lo = bisect.bisect_left(journal._closed_at, since)
    c_hi = bisect.bisect_right(journal._closed_at, at)
    closed = journal._closed[c_lo:c_hi]
    streak = 0
    for x in reversed(closed):
        if x.won:
            break
        streak += 1
    recent = closed[-10:]
    week = [x for x in closed if (x.closed_at or 0.0) > at - 7 * _DAY]
    # patterns reported by then (a trade open at ``at`` may be flagged after it)
    patterns = sum(
        sum(1 for when in x.detected_at.values() if when <= at)
        for x in journal.trades[bisect.bisect_left(opened, at - 14 * _DAY) :]
        if x.opened_at <= at
    )
    i_lo = bisect.bisect_left(journal._insight_at, at - 30 * _DAY)
    i_hi = bisect.bisect_right(journal._insight_at, at)
    judged = [
        i for i in journal.insights[:i_hi] if i.feedback_at is not None and i.feedback_at <= at
    ]
    return {
        "log_days_since_activity": math.log1p(max(at - last, 0.0) / _DAY),
        "log_tenure_days": math.log1p(max(at - first, 0.0) / _DAY),
        "log_trades_7d": math.log1p(trades_7),
        "log_trades_prev_7d": math.log1p(trades_prev),
        "active_days_14": len(days) / 14,
        "loss_streak": float(min(streak, 10)),
        "recent_win_rate": (sum(1 for x in recent if x.won) + 1) / (len(recent) + 2),
        "loss_share_7d": (sum(1 for x in week if not x.won) + 1) / (len(week) + 2),
        "log_patterns_14d": math.log1p(patterns),
        "log_insights_30d": math.log1p(i_hi - i_lo),
        "helpful_rate": (sum(1 for i in judged if i.helpful) + 1) / (len(judged) + 2),
    }


def churn_matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Rows of :func:`churn_row` in :data:`CHURN_FEATURES` order."""
    return _matrix(rows, CHURN_FEATURES)


def churned(journal: Journal, at: float, *, days: int = CHURN_DAYS) -> bool:
    """The churn label: no event of the user in ``(at, at + days]``."""
    lo = bisect.bisect_right(journal.activity, at)
    return lo >= len(journal.activity) or journal.activity[lo] > at + days * _DAY


def churn_snapshots(journal: Journal, until: float, *, days: int = CHURN_DAYS) -> list[float]:
    """The day ends (UTC midnights) at which the user counts as active (an event in the
    ``days`` before) and whose label is known by ``until``."""
    if not journal.activity:
        return []
    first = math.floor(journal.activity[0] / _DAY) + 1
    last = math.floor((until - days * _DAY) / _DAY)
    out = []
    for day in range(first, last + 1):
        at = day * _DAY
        hi = bisect.bisect_right(journal.activity, at)
        if hi and journal.activity[hi - 1] > at - days * _DAY:
            out.append(float(at))
    return out


# --- insight rows ----------------------------------------------------------------------------


def _reported(trade: Trade, at: float) -> set[str]:
    """The patterns the app had reported on ``trade`` by ``at``."""
    return {p for p, when in trade.detected_at.items() if when <= at}


def insight_row(journal: Journal, insight_type: str | None, at: float) -> dict[str, float]:
    """:data:`INSIGHT_FEATURES` of an insight of ``insight_type`` shown at ``at``."""
    topic = topic_of(insight_type)
    hi = bisect.bisect_left(journal._opened, at)
    lo = bisect.bisect_left(journal._opened, at - HISTORY_DAYS * _DAY)
    earlier = journal.trades[lo:hi]
    last10, last20 = earlier[-10:], earlier[-20:]
    if topic in PATTERN_TYPES:
        relevant = sum(1 for x in last10 if topic in _reported(x, at))
    elif topic == "streak":
        relevant = sum(1 for x in last10 if x.won is False and (x.closed_at or at + 1) <= at)
    elif topic == "emotion":
        relevant = sum(1 for x in last10 if x.emotion in ("angry", "frustrated", "fearful"))
    else:
        relevant = sum(1 for x in last10 if _reported(x, at))
    i_hi = bisect.bisect_left(journal._insight_at, at)
    prior = journal.insights[:i_hi]
    judged = [i for i in prior if i.feedback_at is not None and i.feedback_at <= at]
    c_hi = bisect.bisect_right(journal._closed_at, at)
    streak = 0
    for x in reversed(journal._closed[:c_hi]):
        if x.won:
            break
        streak += 1
    row = {f"topic_{t}": 1.0 if topic == t else 0.0 for t in INSIGHT_TOPICS}
    row["topic_other"] = 1.0 if topic == "other" else 0.0
    row.update(
        {
            "relevant_share": relevant / max(len(last10), 1),
            "pattern_share_20": sum(1 for x in last20 if _reported(x, at)) / max(len(last20), 1),
            "log_prior_insights": math.log1p(len(prior)),
            "helpful_rate": (sum(1 for i in judged if i.helpful) + 1) / (len(judged) + 2),
            "log_feedback_count": math.log1p(len(judged)),
            "loss_streak": float(min(streak, 10)),
            "log_trades_total": math.log1p(len(earlier)),
        }
    )
    return row


def insight_matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Rows of :func:`insight_row` in :data:`INSIGHT_FEATURES` order."""
    return _matrix(rows, INSIGHT_FEATURES)


def recurred(
    journal: Journal, insight: Insight, until: float, *, trades: int = RECURRENCE_TRADES
) -> bool | None:
    """The behaviour-change label: whether the insight's pattern (any pattern when its topic
    is not one) shows in the ``trades`` trades opened after it; None while unknown (fewer
    than half of them opened by ``until`` and ``CHURN_DAYS`` not yet passed)."""
    lo = bisect.bisect_right(journal._opened, insight.at)
    hi = bisect.bisect_right(journal._opened, until)
    after = journal.trades[lo : min(hi, lo + trades)]
    if len(after) < trades and (len(after) < trades // 2 or until < insight.at + CHURN_DAYS * _DAY):
        return None
    topic = insight.topic
    if topic in PATTERN_TYPES:
        return any(topic in x.patterns for x in after)
    return any(x.patterns for x in after)


def _matrix(rows: Sequence[Mapping[str, float]], names: tuple[str, ...]) -> np.ndarray:
    X = np.zeros((len(rows), len(names)), dtype=np.float64)
    for i, row in enumerate(rows):
        for j, name in enumerate(names):
            X[i, j] = float(row.get(name, 0.0))
    return X


def _number(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


__all__ = [
    "BEHAVIOUR_MODEL",
    "CATEGORICAL_FEATURES",
    "CHURN_DAYS",
    "CHURN_FEATURES",
    "CHURN_MODEL",
    "EMOTIONS",
    "HISTORY_DAYS",
    "INSIGHT_FEATURES",
    "INSIGHT_TOPICS",
    "JOURNAL_EVENT_TYPES",
    "JOURNAL_MODELS",
    "OUTCOME_MODEL",
    "PATTERN_MODELS",
    "PATTERN_TYPES",
    "PNL_MODEL",
    "QUALITY_MODEL",
    "RECURRENCE_TRADES",
    "TRADE_FEATURES",
    "Insight",
    "Journal",
    "Trade",
    "churn_matrix",
    "churn_row",
    "churn_snapshots",
    "churned",
    "epoch",
    "insight_matrix",
    "insight_row",
    "journals_from_events",
    "pattern_of",
    "recurred",
    "topic_of",
    "trade_matrix",
    "trade_return",
    "trade_row",
]
