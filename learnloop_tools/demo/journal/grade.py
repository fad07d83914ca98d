"""Grade the journal models against the world's hidden truth (the report's and the tests'
figures). Pure functions of predictions and :class:`~learnloop_tools.demo.journal.world.Trade`
records; scikit-learn's metrics.

Examples
--------
>>> from learnloop_tools.demo.journal.world import JournalWorld
>>> import numpy as np
>>> world = JournalWorld.generate(n_traders=20, seed=2)
>>> trades = [t for d in range(3) for t in world.simulate_day(d, np.random.default_rng(d)).trades]
>>> perfect = {t.trade_id: {t.pattern} if t.pattern else set() for t in trades}
>>> pattern_figures(perfect, trades)["overall"]["precision"] in (1.0, None)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from learnloop.journal.analytics import (
    DEFAULT_TRADES_AFTER,
    closed_trades,
    insight_effectiveness,
)
from learnloop.journal.features import PATTERN_TYPES
from learnloop_tools.demo.journal.world import HELPFUL_INSIGHT, Trade

#: What the issue asks the journal world to show.
OUTCOME_AUC_GAP = 0.05
CHURN_AUC = 0.75
PATTERN_PRECISION = PATTERN_RECALL = 0.8


def outcome_figures(predicted: Sequence[float], trades: Sequence[Trade]) -> dict[str, Any]:
    """The outcome model's AUC on fresh trades next to the hidden truth's (its ``p_win``)."""
    won = np.asarray([t.won for t in trades], dtype=int)
    if len(set(won.tolist())) < 2:
        return {"trades": len(trades), "model_auc": None, "truth_auc": None, "gap": None}
    model = float(roc_auc_score(won, np.asarray(predicted)))
    truth = float(roc_auc_score(won, np.asarray([t.p_win for t in trades])))
    return {
        "trades": len(trades),
        "win_rate": float(won.mean()),
        "model_auc": model,
        "truth_auc": truth,
        "gap": truth - model,
        "met": truth - model <= OUTCOME_AUC_GAP,
    }


def churn_figures(
    predicted: Mapping[str, float],
    churned: Mapping[str, bool],
    *,
    last_day: set[str] | None = None,
) -> dict[str, Any]:
    """The churn model's AUC on the users active in the 14 days before the cut-off, and on
    those of them active on its last day (``last_day``): the harder half, where no gap in
    activity gives the answer away."""

    def auc_of(users: list[str]) -> float | None:
        labels = [int(churned[u]) for u in users]
        if len(set(labels)) < 2:
            return None
        return float(roc_auc_score(labels, [predicted[u] for u in users]))

    users = sorted(set(predicted) & set(churned))
    auc = auc_of(users)
    out: dict[str, Any] = {
        "users": len(users),
        "churned": sum(1 for u in users if churned[u]),
        "auc": auc,
        "met": auc is not None and auc >= CHURN_AUC,
    }
    if last_day is not None:
        recent = [u for u in users if u in last_day]
        out["active_last_day"] = {
            "users": len(recent),
            "churned": sum(1 for u in recent if churned[u]),
            "auc": auc_of(recent),
        }
    return out


def pattern_figures(detected: Mapping[str, set[str]], trades: Sequence[Trade]) -> dict[str, Any]:
    """Precision and recall of the detectors on the planted patterns of ``trades`` (those
    ``detected`` scored), per pattern and over all three."""
    scored = [t for t in trades if t.trade_id in detected]
    out: dict[str, Any] = {}
    totals = [0, 0, 0]
    for pattern in PATTERN_TYPES:
        tp = sum(1 for t in scored if t.pattern == pattern and pattern in detected[t.trade_id])
        fp = sum(1 for t in scored if t.pattern != pattern and pattern in detected[t.trade_id])
        fn = sum(1 for t in scored if t.pattern == pattern and pattern not in detected[t.trade_id])
        out[pattern] = _pr(tp, fp, fn)
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
    out["overall"] = _pr(*totals)
    out["trades"] = len(scored)
    out["met"] = all(
        (out[p]["precision"] or 0) >= PATTERN_PRECISION
        and (out[p]["recall"] or 0) >= PATTERN_RECALL
        for p in PATTERN_TYPES
        if out[p]["planted"]
    )
    return out


def pattern_outcome_table(trades: Sequence[Trade]) -> list[dict[str, Any]]:
    """Loss rate and mean P&L per reported pattern (and none), with 95 % Wilson intervals,
    worst first: what the planted harmful patterns do to outcomes."""
    groups: dict[str, list[Trade]] = {}
    for trade in trades:
        key = trade.pattern if trade.flagged and trade.pattern else "none"
        groups.setdefault(key, []).append(trade)
    rows = []
    for key, group in groups.items():
        losses = sum(1 for t in group if not t.won)
        low, high = _wilson(losses, len(group))
        rows.append(
            {
                "pattern": key,
                "trades": len(group),
                "loss_rate": losses / len(group),
                "interval": [low, high],
                "mean_pnl": float(np.mean([t.pnl for t in group])),
            }
        )
    return sorted(rows, key=lambda r: -r["loss_rate"])


def effectiveness_report(
    events: Sequence[Mapping[str, Any]],
    *,
    n: int = DEFAULT_TRADES_AFTER,
    interval: str = "jackknife",
) -> list[dict[str, Any]]:
    """:func:`learnloop.journal.analytics.insight_effectiveness` (every metric) on the events
    the world sent: its insights, closed trades and reported patterns."""
    insights, occurrences = [], []
    for event in events:
        properties = event.get("properties") or {}
        if event["type"] == "insight_generated":
            insights.append(
                {
                    "insight_id": properties["insight_id"],
                    "user_id": event["user_id"],
                    "insight_type": properties.get("insight_type"),
                    "created_at": event["occurred_at"],
                    "properties": {
                        k: properties[k] for k in ("pattern_type", "trade_id") if k in properties
                    },
                }
            )
        elif event["type"] == "pattern_detected":
            occurrences.append(
                {
                    "user_id": event["user_id"],
                    "trade_id": properties.get("trade_id"),
                    "pattern_type": properties.get("pattern_type"),
                }
            )
    return insight_effectiveness(
        insights, closed_trades(events), occurrences, n=n, interval=interval
    )


#: The metric each insight type is graded on (others: ``pattern_rate``, the share of trades
#: flagged with the insight's pattern). Overtrading is a day-level pattern (a burst of trades
#: in one day), so its warning is graded per active day.
GRADED_METRIC: dict[str, str] = {"overtrading_warning": "pattern_day_rate"}


def insight_effect(
    events: Sequence[Mapping[str, Any]],
    *,
    n: int = DEFAULT_TRADES_AFTER,
    interval: str = "jackknife",
) -> list[dict[str, Any]]:
    """The product's insight effectiveness (:func:`learnloop.journal.analytics.
    insight_effectiveness`, what ``GET /v1/admin/journal/insights`` answers) on the events
    the world sent, per insight type: the change of the insight's pattern rate (share of the
    user's trades the app flagged with it; per active day for overtrading, see
    :data:`GRADED_METRIC`) in the ``n`` trades after each user's first insight of the type,
    against users not yet treated; ``planted`` marks the one type the world made helpful, and
    ``met`` says whether the interval says what the world did (below zero for the helpful
    type, including zero for the others). ``interval`` is passed on (``"bootstrap"``: the
    interval before the jackknife, for the calibration bench)."""
    report = effectiveness_report(events, n=n, interval=interval)
    rows = []
    for row in report:
        metric = GRADED_METRIC.get(row["insight_type"], "pattern_rate")
        figures = row["metrics"][metric]
        planted = row["insight_type"] == HELPFUL_INSIGHT
        span = figures["interval"]
        met = (
            span is not None and span[1] < 0 if planted else span is None or span[0] <= 0 <= span[1]
        )
        rows.append(
            {
                "insight_type": row["insight_type"],
                "metric": metric,
                "planted": planted,
                "treated_users": row["treated_users"],
                "control_users": row["control_users"],
                "treated_change": figures["treated_change"],
                "control_change": figures["control_change"],
                "effect": figures["effect"],
                "interval": span,
                "n": n,
                "met": met,
            }
        )
    return rows


def _pr(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {
        "planted": tp + fn,
        "detected": tp + fp,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


__all__ = [
    "CHURN_AUC",
    "GRADED_METRIC",
    "OUTCOME_AUC_GAP",
    "PATTERN_PRECISION",
    "PATTERN_RECALL",
    "churn_figures",
    "effectiveness_report",
    "insight_effect",
    "outcome_figures",
    "pattern_figures",
    "pattern_outcome_table",
]
