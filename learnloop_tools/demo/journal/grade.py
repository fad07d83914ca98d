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

from learnloop.journal.features import PATTERN_TYPES
from learnloop_tools.demo.journal.world import Trade

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


def insight_effect(
    trades: Sequence[Trade],
    insight_after: set[str],
    *,
    next_trades: int = 10,
    resamples: int = 500,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per pattern: how often it recurs in the user's next ``next_trades`` trades after a
    flagged trade an insight followed, against flagged trades no insight followed; the
    difference with a 95 % bootstrap interval (negative: the insight helped)."""
    by_user: dict[str, list[Trade]] = {}
    for trade in trades:
        by_user.setdefault(trade.user_id, []).append(trade)
    outcomes: dict[str, dict[bool, list[float]]] = {p: {True: [], False: []} for p in PATTERN_TYPES}
    for user_trades in by_user.values():
        user_trades.sort(key=lambda t: t.opened_at)
        for i, trade in enumerate(user_trades):
            if not (trade.flagged and trade.pattern):
                continue
            after = user_trades[i + 1 : i + 1 + next_trades]
            if len(after) < next_trades:
                continue
            recurred = any(t.pattern == trade.pattern for t in after)
            outcomes[trade.pattern][trade.trade_id in insight_after].append(float(recurred))
    rng = np.random.default_rng(seed)
    rows = []
    for pattern, groups in outcomes.items():
        treated, control = np.asarray(groups[True]), np.asarray(groups[False])
        if len(treated) < 5 or len(control) < 5:
            continue
        diffs = [
            rng.choice(treated, len(treated)).mean() - rng.choice(control, len(control)).mean()
            for _ in range(resamples)
        ]
        rows.append(
            {
                "pattern": pattern,
                "with_insight": float(treated.mean()),
                "without": float(control.mean()),
                "n": [len(treated), len(control)],
                "difference": float(treated.mean() - control.mean()),
                "interval": [float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))],
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
    "OUTCOME_AUC_GAP",
    "PATTERN_PRECISION",
    "PATTERN_RECALL",
    "churn_figures",
    "insight_effect",
    "outcome_figures",
    "pattern_figures",
    "pattern_outcome_table",
]
