"""A user's risk profile from their journal's trades: ``GET /v1/users/{user_id}/risk-profile``.

Read from the user's own ``trade_created`` / ``trade_updated`` / ``trade_deleted`` /
``trade_closed`` events (one Query of their events partition) on every request; nothing is
stored per user, so deleting the user's events (``DELETE /v1/users/{user_id}``) deletes
everything a profile is made of. Users who opted out or were deleted get no profile.

Figures, each worth points towards *aggressive* (+) or *conservative* (-):

==========================  ================================================  ===========
figure                      meaning                                           points
==========================  ================================================  ===========
``size_after_loss``         median size of trades opened after a losing        >=1.5: +2,
                            close / the user's median size                     >=1.2: +1,
                                                                               <=0.8: -1
``size_dispersion``         largest size / median size                         >=5: +1, <=2: -1
``median_holding_hours``    median time from open to close                     <1: +1, >168: -1
``loss_to_win``             mean loss / mean win (absolute P&L)                >=1.5: +1,
                                                                               <=0.8: -1
``loss_per_position``       median loss / the losing trade's size              >=0.10: +1,
                                                                               <=0.03: -1
==========================  ================================================  ===========

A total of 2 or more is *aggressive*, -2 or less *conservative*, anything between
*moderate*; figures that cannot be computed (no losses yet, no holding times) score 0. Fewer
than 5 closed trades give no profile (``profile: null`` and the reason). Size is the trade's
notional, ``quantity * price`` (its latest ``trade_updated`` values).

Examples
--------
>>> classify(3), classify(-2), classify(1)
('aggressive', 'conservative', 'moderate')
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import Field

from learnloop.clock import iso, utcnow
from learnloop.store.tables import Tables
from learnloop.validation import Identifier, Strict, validate

__all__ = ["MIN_CLOSED_TRADES", "RiskProfileIn", "classify", "risk_profile", "score_trades"]

MIN_CLOSED_TRADES = 5
DEFAULT_DAYS = 90
MAX_DAYS = 730
_TYPES = ("trade_created", "trade_updated", "trade_deleted", "trade_closed")
_DIGITS = 6


class _Consent(Protocol):
    def dropped(self, user_ids: Iterable[str]) -> set[str]: ...


class RiskProfileIn(Strict):
    """The path's ``user_id`` and the query's ``days`` (1-730, default 90)."""

    user_id: Identifier
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS


@dataclass
class _Trade:
    opened_at: str
    notional: float | None
    quantity: float | None
    price: float | None


def classify(score: int) -> str:
    """The profile of a total score."""
    if score >= 2:
        return "aggressive"
    if score <= -2:
        return "conservative"
    return "moderate"


def _points(value: float | None, rules: list[tuple[str, float, int]]) -> int:
    if value is None:
        return 0
    for op, bound, points in rules:
        if (
            (op == ">=" and value >= bound)
            or (op == "<=" and value <= bound)
            or (op == "<" and value < bound)
            or (op == ">" and value > bound)
        ):
            return points
    return 0


_RULES: dict[str, list[tuple[str, float, int]]] = {
    "size_after_loss": [(">=", 1.5, 2), (">=", 1.2, 1), ("<=", 0.8, -1)],
    "size_dispersion": [(">=", 5.0, 1), ("<=", 2.0, -1)],
    "median_holding_hours": [("<", 1.0, 1), (">", 168.0, -1)],
    "loss_to_win": [(">=", 1.5, 1), ("<=", 0.8, -1)],
    "loss_per_position": [(">=", 0.10, 1), ("<=", 0.03, -1)],
}


def score_trades(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The profile of trade events (``{"type", "occurred_at", "properties"}``, any order).

    Examples
    --------
    >>> events = [{"type": "trade_created", "occurred_at": f"2026-01-0{i}T00:00:00Z",
    ...            "properties": {"trade_id": f"t{i}", "symbol": "BTC", "side": "buy",
    ...                           "quantity": 1, "price": 100}} for i in range(1, 7)]
    >>> events += [{"type": "trade_closed", "occurred_at": f"2026-01-0{i}T12:00:00Z",
    ...             "properties": {"trade_id": f"t{i}", "pnl": 1.0 if i % 2 else -1.0,
    ...                            "holding_seconds": 43200}} for i in range(1, 7)]
    >>> result = score_trades(events)
    >>> result["profile"], result["score"], result["figures"]["size_after_loss"]
    ('conservative', -2, 1.0)
    """
    ordered = sorted(events, key=lambda e: (str(e.get("occurred_at")), _TYPES.index(e["type"])))
    trades: dict[str, _Trade] = {}
    closes: dict[str, tuple[str, float, float | None]] = {}
    for event in ordered:
        props = event.get("properties") or {}
        trade_id = str(props.get("trade_id"))
        kind = event["type"]
        if kind == "trade_created":
            q, p = _number(props.get("quantity")), _number(props.get("price"))
            trades[trade_id] = _Trade(str(event["occurred_at"]), _notional(q, p), q, p)
        elif kind == "trade_updated" and trade_id in trades:
            trade = trades[trade_id]
            trade.quantity = _number(props.get("quantity")) or trade.quantity
            trade.price = _number(props.get("price")) or trade.price
            trade.notional = _notional(trade.quantity, trade.price)
        elif kind == "trade_deleted":
            trades.pop(trade_id, None)
            closes.pop(trade_id, None)
        elif kind == "trade_closed":
            pnl = _number(props.get("pnl"), allow_negative=True)
            if pnl is not None:
                holding = _number(props.get("holding_seconds"), allow_zero=True)
                closes[trade_id] = (str(event["occurred_at"]), pnl, holding)
    sizes = [t.notional for t in trades.values() if t.notional]
    typical = statistics.median(sizes) if sizes else None
    wins = [pnl for _, pnl, _ in closes.values() if pnl > 0]
    losses = [-pnl for _, pnl, _ in closes.values() if pnl < 0]
    holdings = [
        _holding(trades.get(tid), closed_at, held) for tid, (closed_at, _, held) in closes.items()
    ]
    hours = [h / 3600 for h in holdings if h is not None]
    loss_shares = [
        -pnl / trades[tid].notional  # type: ignore[operator]
        for tid, (_, pnl, _) in closes.items()
        if pnl < 0 and tid in trades and trades[tid].notional
    ]
    figures: dict[str, float | None] = {
        "typical_size": _round(typical),
        "size_after_loss": _round(_size_after_loss(trades, closes, typical)),
        "size_dispersion": _round(max(sizes) / typical) if sizes and typical else None,
        "median_holding_hours": _round(statistics.median(hours)) if hours else None,
        "win_rate": _round(len(wins) / len(closes)) if closes else None,
        "loss_to_win": _round(statistics.fmean(losses) / statistics.fmean(wins))
        if losses and wins
        else None,
        "loss_per_position": _round(statistics.median(loss_shares)) if loss_shares else None,
        "max_loss_streak": _loss_streak(closes),
    }
    points = {name: _points(figures[name], rules) for name, rules in _RULES.items()}
    signals = [{"figure": name, "value": figures[name], "points": points[name]} for name in _RULES]
    score = sum(points.values())
    enough = len(closes) >= MIN_CLOSED_TRADES
    return {
        "profile": classify(score) if enough else None,
        "score": score if enough else None,
        "reason": None
        if enough
        else f"{len(closes)} closed trades; a profile needs at least {MIN_CLOSED_TRADES}",
        "trades": {"opened": len(trades), "closed": len(closes)},
        "figures": figures,
        "signals": signals,
    }


def risk_profile(
    tables: Tables,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: _Consent | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """``GET /v1/users/{user_id}/risk-profile``: the user's profile over the last ``days``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    user_id : str
        The app's user id.
    query : mapping
        ``days`` (1-730, default 90).
    consent : optional
        The consent cache (``dropped(user_ids)``); users it drops get no profile.
    today : date, optional
        The last day (default: the current UTC date).

    Returns
    -------
    dict
        ``{"user_id", "days", "profile", "score", "reason", "trades", "figures", "signals"}``.

    Raises
    ------
    ValidationError
        A bad ``user_id`` or ``days`` (422).

    Examples
    --------
    >>> risk_profile(tables, "u1", {"days": "30"})["profile"]  # doctest: +SKIP
    'moderate'
    """
    request = validate(RiskProfileIn, {"user_id": user_id, **dict(query or {})})
    last = today or utcnow().date()
    start = datetime(last.year, last.month, last.day) - timedelta(days=request.days - 1)
    head = {"user_id": request.user_id, "days": request.days}
    if consent is not None and request.user_id in consent.dropped([request.user_id]):
        empty = score_trades([])
        return {**head, **empty, "reason": "the user opted out or was deleted"}
    model = tables.events
    found = model.query(
        request.user_id,
        range_key_condition=model.sk >= iso(start),
        filter_condition=model.type.is_in(*_TYPES),
    )
    events = [
        {"type": e.type, "occurred_at": e.occurred_at, "properties": e.properties or {}}
        for e in found
    ]
    return {**head, **score_trades(events)}


def _number(value: Any, *, allow_negative: bool = False, allow_zero: bool = False) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if allow_negative or number > 0 or (allow_zero and number == 0):
        return number
    return None


def _notional(quantity: float | None, price: float | None) -> float | None:
    return quantity * price if quantity and price else None


def _holding(trade: _Trade | None, closed_at: str, held: float | None) -> float | None:
    if held is not None:
        return held
    if trade is None:
        return None
    try:
        opened = datetime.fromisoformat(trade.opened_at.replace("Z", "+00:00"))
        closed = datetime.fromisoformat(closed_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    seconds = (closed - opened).total_seconds()
    return seconds if seconds >= 0 else None


def _size_after_loss(
    trades: Mapping[str, _Trade],
    closes: Mapping[str, tuple[str, float, float | None]],
    typical: float | None,
) -> float | None:
    if not typical:
        return None
    results = sorted((closed_at, pnl) for closed_at, pnl, _ in closes.values())
    after_loss = []
    for trade in trades.values():
        before = [pnl for closed_at, pnl in results if closed_at <= trade.opened_at]
        if before and before[-1] < 0 and trade.notional:
            after_loss.append(trade.notional)
    return statistics.median(after_loss) / typical if after_loss else None


def _loss_streak(closes: Mapping[str, tuple[str, float, float | None]]) -> int:
    streak = best = 0
    for _, pnl in sorted((closed_at, pnl) for closed_at, pnl, _ in closes.values()):
        streak = streak + 1 if pnl < 0 else 0
        best = max(best, streak)
    return best


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)
