"""Journal analytics on small hand-built data: every expected figure is worked out by hand in
the comments, and the intervals are also checked against scipy (an independent oracle)."""

from __future__ import annotations

import math
from datetime import date

import pytest
from scipy import stats

from learnloop.journal.analytics import (
    activity,
    closed_trades,
    cohort_retention,
    insight_effectiveness,
    pattern_outcomes,
)
from learnloop.journal.occurrences import trade_results
from learnloop.journal.quality import QualityWeights, quality_score
from learnloop.journal.stats import mean_interval, t_quantile, wilson_interval

D = date


def test_t_quantiles_match_scipy() -> None:
    for df in (1, 2, 3, 7, 30, 31, 47.2, 120, 10_000):
        assert t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-5)
    # Fractional degrees of freedom (Welch) up to 30 round down: a wider interval.
    for df in (1.5, 4.5, 10.3, 29.5):
        assert t_quantile(df) == t_quantile(math.floor(df)) > stats.t.ppf(0.975, df)


def test_wilson_matches_its_formula() -> None:
    # 3 losses of 4: p = .75, z = 1.959964; centre = (p + z²/8) / (1 + z²/4), half as below.
    z = 1.959964
    centre = (0.75 + z * z / 8) / (1 + z * z / 4)
    half = z * math.sqrt(0.75 * 0.25 / 4 + z * z / 64) / (1 + z * z / 4)
    assert wilson_interval(3, 4) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert wilson_interval(3, 4) == pytest.approx((0.300642, 0.954413), abs=2e-6)
    assert wilson_interval(0, 0) is None


def test_activity_counts_daily_weekly_and_monthly_users() -> None:
    days = {
        "u1": {D(2026, 11, 1), D(2026, 11, 20)},
        "u2": {D(2026, 11, 14)},
        "u3": {D(2026, 10, 25)},
        "u4": {D(2026, 10, 1)},  # more than 30 days before: in no window
    }
    # 11-20: DAU u1; WAU (11-14..11-20) u1, u2; MAU (10-22..11-20) u1, u2, u3.
    # 11-21: DAU none; WAU (11-15..11-21) u1; MAU (10-23..11-21) u1, u2, u3.
    assert activity(days, D(2026, 11, 20), D(2026, 11, 21)) == [
        {"date": "2026-11-20", "dau": 1, "wau": 2, "mau": 3},
        {"date": "2026-11-21", "dau": 0, "wau": 1, "mau": 3},
    ]


def test_weekly_cohort_retention() -> None:
    days = {
        # cohort 11-02 (Monday): active in weeks 11-02, 11-09, 11-16
        "u1": {D(2026, 11, 2), D(2026, 11, 10), D(2026, 11, 17)},
        # cohort 11-02: week 11-02 only
        "u2": {D(2026, 11, 4)},
        # cohort 11-09: weeks 11-09 and 11-16
        "u3": {D(2026, 11, 11), D(2026, 11, 20)},
    }
    assert cohort_retention(days, D(2026, 11, 2), D(2026, 11, 22)) == [
        {"cohort": "2026-11-02", "users": 2, "retention": [1.0, 0.5, 0.5]},
        {"cohort": "2026-11-09", "users": 1, "retention": [1.0, 1.0]},
        {"cohort": "2026-11-16", "users": 0, "retention": [None]},
    ]


def closed(user: str, trade: str, at: str, pnl: float) -> dict:
    return {
        "user_id": user,
        "type": "trade_closed",
        "occurred_at": at,
        "properties": {"trade_id": trade, "pnl": pnl},
    }


def occurrence(user: str, trade: str, pattern: str) -> dict:
    return {
        "occurrence_id": f"{user}-{trade}",
        "user_id": user,
        "trade_id": trade,
        "pattern_type": pattern,
        "outcome": None,
        "pnl": None,
        "detected_at": "2026-11-20T00:00:00Z",
    }


def test_pattern_outcomes_rank_the_harmful_pattern_first_with_intervals() -> None:
    pnls = {"t1": -10.0, "t2": -20.0, "t3": -30.0, "t4": 20.0, "t5": 10.0, "t6": -10.0}
    events = [
        closed("u1", t, f"2026-11-20T0{i}:00:00Z", p) for i, (t, p) in enumerate(pnls.items())
    ]
    events += [
        closed("u2", "t7", "a", 5.0),
        closed("u2", "t8", "b", 15.0),
        closed("u2", "t9", "c", -5.0),
    ]
    occurrences = [occurrence("u1", t, "revenge") for t in ("t1", "t2", "t3", "t4")]
    occurrences += [occurrence("u1", t, "fomo") for t in ("t5", "t6")]
    table = pattern_outcomes(occurrences, trade_results(events))
    revenge, fomo = table["patterns"]
    assert (revenge["pattern_type"], fomo["pattern_type"]) == ("revenge", "fomo")
    # revenge: 3 losses of 4, P&L -10, -20, -30, +20: mean -10, sd sqrt(1400 / 3).
    assert revenge["outcomes"] == {"win": 1, "loss": 3, "breakeven": 0}
    assert revenge["loss_rate"] == 0.75 and revenge["mean_pnl"] == -10.0
    assert revenge["loss_rate_interval"] == wilson_interval(3, 4)
    half = t_quantile(3) * math.sqrt(1400 / 3) / 2
    assert revenge["mean_pnl_interval"] == pytest.approx([-10 - half, -10 + half], abs=1e-6)
    low, high = stats.t.interval(0.95, 3, loc=-10, scale=stats.sem([-10, -20, -30, 20]))
    assert revenge["mean_pnl_interval"] == pytest.approx([low, high], abs=1e-5)
    # The baseline: u2's three trades without a pattern, 1 loss of 3.
    assert table["baseline"]["trades"] == 3
    assert table["baseline"]["loss_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert revenge["lift"] == pytest.approx(0.75 - 1 / 3, abs=1e-6)
    assert fomo["loss_rate"] == 0.5 and fomo["mean_pnl"] == 0.0


def test_insight_effectiveness_compares_each_first_insight_with_not_yet_treated_users() -> None:
    L, W = -10.0, 10.0  # a loss and a win
    trades = {
        "A": [("11-08", L), ("11-09", L), ("11-10", L), ("11-11", W), ("11-13", L)],
        "B": [("11-10", L), ("11-11", L), ("11-12", W), ("11-13", W), ("11-14", W)],
        "C": [("11-08", L), ("11-09", W), ("11-11", L), ("11-13", W), ("11-14", W)],
        "D": [("11-08", W), ("11-09", W), ("11-11", W), ("11-13", L), ("11-14", W)],
    }
    events = [
        closed(user, f"{user}{i}", f"2026-{day}T12:00:00Z", pnl)
        for user, rows in trades.items()
        for i, (day, pnl) in enumerate(rows)
    ]
    insights = [
        {"insight_id": "i1", "user_id": "A", "insight_type": "risk",
         "created_at": "2026-11-10T08:00:00Z", "properties": {"pattern_type": "revenge"}},
        {"insight_id": "i3", "user_id": "A", "insight_type": "risk",  # not A's first
         "created_at": "2026-11-12T08:00:00Z", "properties": {"pattern_type": "revenge"}},
        {"insight_id": "i2", "user_id": "B", "insight_type": "risk",
         "created_at": "2026-11-12T00:00:00Z", "properties": {"pattern_type": "revenge"}},
    ]  # fmt: skip
    flagged = [occurrence("A", "A0", "revenge"), occurrence("A", "A1", "revenge")]
    flagged += [occurrence("B", "B0", "revenge"), occurrence("C", "C2", "fomo")]
    (report,) = insight_effectiveness(insights, closed_trades(events), flagged, n=2)
    # Windows of 2 trades; the insight's own day is left out on both sides.
    # Cohort A (11-10): A's loss rate 1 (08, 09) -> .5 (11, 13): -.5. Controls around 11-10:
    # B has no trade before it; C .5 -> .5 (0); D 0 -> .5 (+.5): mean .25. A: -.75.
    # Cohort B (11-12): B 1 (10, 11) -> 0 (13, 14): -1. A was treated first: no control.
    # C (09, 11) .5 -> (13, 14) 0: -.5; D (09, 11) 0 -> (13, 14) .5: +.5: mean 0. B: -1.
    assert (report["treated_users"], report["control_users"]) == (2, 2)
    loss = report["metrics"]["loss_rate"]
    assert (loss["treated_change"], loss["control_change"], loss["effect"]) == (
        -0.75,
        0.125,
        -0.875,
    )
    assert loss["interval"] is None  # two treated users: too few for an interval
    # Mean P&L: A -10 -> 0 (+10) vs C 0, D -10 (mean -5): 15; B -10 -> 10 (+20) vs C +10,
    # D -10 (mean 0): 20. Effect 17.5.
    pnl = report["metrics"]["mean_pnl"]
    assert (pnl["treated_change"], pnl["control_change"], pnl["effect"]) == (15.0, -2.5, 17.5)
    # Revenge recurrence: A 1 -> 0, B .5 -> 0; no control has revenge (C's fomo is not).
    recur = report["metrics"]["pattern_rate"]
    assert (recur["treated_change"], recur["control_change"], recur["effect"]) == (
        -0.75,
        0.0,
        -0.75,
    )
    # One trade a day: per active day, the revenge rate is the per-trade one.
    days = report["metrics"]["pattern_day_rate"]
    assert (days["treated_change"], days["effect"]) == (recur["treated_change"], recur["effect"])
    # The jackknife has no random draws: the same data give the same report.
    assert insight_effectiveness(insights, closed_trades(events), flagged, n=2) == [report]


def test_mean_interval_matches_scipy() -> None:
    values = [3.0, -1.0, 4.0, 1.5, 9.0]
    mean, low, high = mean_interval(values)  # type: ignore[misc]
    ci = stats.t.interval(0.95, 4, loc=sum(values) / 5, scale=stats.sem(values))
    assert (low, high) == pytest.approx(ci, abs=1e-5)
    assert mean == 3.3


def test_quality_score_is_the_briefs_formula_and_rescales_missing_terms() -> None:
    weights = QualityWeights(feedback=0.4, engagement=0.3, complexity=0.3, target_seconds=60)
    feedback = [
        {"helpful": True, "engagement_seconds": 30},  # engagement .5
        {"helpful": False, "engagement_seconds": 120},  # capped at 1
        {"helpful": True},
    ]
    # positive 2/3, engagement (.5 + 1) / 2 = .75, match 1 - |.9 - .4| = .5:
    # .4 * 2/3 + .3 * .75 + .3 * .5 = .641667.
    full = quality_score({"complexity": 0.9, "user_level": 0.4}, feedback, weights)
    assert full["score"] == pytest.approx(0.4 * 2 / 3 + 0.225 + 0.15, abs=1e-6)
    assert full["terms"] == ["positive_rate", "engagement", "complexity_match"]
    # No complexity given: (.4 * 2/3 + .3 * .75) / .7 * 1.0.
    partial = quality_score({}, feedback, weights)
    assert partial["score"] == pytest.approx((0.4 * 2 / 3 + 0.225) / 0.7, abs=1e-6)
    assert quality_score({}, [], weights)["score"] is None
