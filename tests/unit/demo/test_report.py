"""The demo report: hand-computed summary figures and the files written."""

from __future__ import annotations

import dataclasses
import doctest
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from learnloop.exceptions import SimulationError
from learnloop_tools.demo import report as report_module
from learnloop_tools.demo.report import (
    REPORT_FILES,
    DayRecord,
    recovery,
    summarize,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2026, 1, 1)


def day(i: int, pulls: dict[str, int], successes: dict[str, int], regret: float,
        regret_random: float, engagement: float | None) -> DayRecord:  # fmt: skip
    return DayRecord(
        day_index=i,
        date=START + timedelta(days=i),
        pulls=pulls,
        successes=successes,
        regret=regret,
        regret_random=regret_random,
        mean_engagement=engagement,
        oracle_arm="best",
    )


#: Four days, two arms, 4 posts a day. Random regret is 4 * (0.5 - 0.35) = 0.6 a day.
DAYS = [
    day(0, {"best": 1, "other": 3}, {"best": 1, "other": 0}, 0.9, 0.6, 0.02),
    day(1, {"best": 2, "other": 2}, {"best": 1, "other": 1}, 0.6, 0.6, 0.025),
    day(2, {"best": 3, "other": 1}, {"best": 2, "other": 0}, 0.3, 0.6, 0.03),
    day(3, {"best": 4, "other": 0}, {"best": 3, "other": 0}, 0.0, 0.6, 0.035),
]


def test_doctests_run() -> None:
    assert doctest.testmod(report_module).failed == 0


def test_summary_hand_computed() -> None:
    summary = summarize(DAYS, expected_success={"best": 0.5, "other": 0.2})
    assert summary["days"] == 4
    assert summary["posts"] == 16
    assert summary["oracle_arm"] == "best"
    assert summary["arms"] == {
        "best": {"pulls": 10, "successes": 7, "success_rate": 0.7, "expected_success": 0.5},
        "other": {"pulls": 6, "successes": 1, "success_rate": 0.166667, "expected_success": 0.2},
    }
    assert summary["best_arm_share"] == 0.625  # 10 / 16
    assert summary["best_arm_share_last_quarter"] == 1.0  # the last ceil(4 / 4) = 1 day: 4 / 4
    assert summary["regret_vs_oracle"] == 1.8
    assert summary["regret_random"] == 2.4
    assert summary["regret_ratio"] == 0.75
    assert summary["regret_slope_first_half"] == 0.1875  # (0.9 + 0.6) / 8 posts
    assert summary["regret_slope_last_half"] == 0.0375  # (0.3 + 0.0) / 8 posts
    assert summary["regret_sublinear"] is True
    assert summary["mean_engagement"] == 0.0275
    assert summary["mean_engagement_first_half"] == 0.0225
    assert summary["mean_engagement_last_half"] == 0.0325


def test_summary_is_order_free_and_json_ready() -> None:
    summary = summarize(list(reversed(DAYS)))
    assert summary == summarize(DAYS)
    assert json.loads(json.dumps(summary)) == summary


def test_last_quarter_and_halves_of_an_odd_run() -> None:
    days = [
        day(i, {"best": b, "other": 4 - b}, {}, r, 0.5, None)
        for i, (b, r) in enumerate([(0, 1.0), (1, 1.0), (2, 0.5), (3, 2.0), (4, 0.0)])
    ]
    summary = summarize(days)
    # 5 days: the last ceil(5 / 4) = 2 days hold 3 + 4 best pulls of 8.
    assert summary["best_arm_share_last_quarter"] == 0.875
    # Halves are days 0-1 and 3-4; day 2 is in neither: 2.0 / 8 vs 2.0 / 8.
    assert summary["regret_slope_first_half"] == 0.25
    assert summary["regret_slope_last_half"] == 0.25
    assert summary["regret_sublinear"] is False
    assert summary["mean_engagement"] is None
    assert summary["arms"]["best"]["success_rate"] == 0.0


def test_rising_regret_is_not_sublinear() -> None:
    days = [day(i, {"best": 1, "other": 1}, {}, 0.1 * i, 0.4, 0.01) for i in range(6)]
    assert summarize(days)["regret_sublinear"] is False


def test_one_day_and_days_without_posts() -> None:
    single = summarize([day(0, {"best": 0, "other": 0}, {}, 0.0, 0.0, None)])
    assert single["regret_sublinear"] is None
    assert single["best_arm_share_last_quarter"] is None
    assert single["regret_ratio"] is None
    assert single["arms"]["best"]["success_rate"] is None


@pytest.mark.parametrize(
    "days",
    [
        [],
        [DAYS[0], DAYS[0]],
    ],
)
def test_bad_runs_raise(days: list[DayRecord]) -> None:
    with pytest.raises(SimulationError):
        summarize(days)


def test_summary_grades_each_day_against_its_own_oracle() -> None:
    # The world shifted before day 2: "other" is the best arm from then on.
    days = [*DAYS[:2], *(dataclasses.replace(d, oracle_arm="other") for d in DAYS[2:])]
    summary = summarize(days)
    assert summary["oracle_arm"] == "other"  # the regime the run ends in
    assert summary["best_arm_share"] == 0.25  # (1 + 2 + 1 + 0) / 16
    assert summary["best_arm_share_last_quarter"] == 0.0


def test_day_record_derived_fields() -> None:
    record = DAYS[1].as_dict()
    assert record["posts"] == 4
    assert record["best_arm_share"] == 0.5
    assert record["date"] == "2026-01-02"
    assert json.loads(json.dumps(record)) == record


def test_write_report_files(tmp_path: Path) -> None:
    summary = summarize(DAYS) | {"seed": 7, "hidden_truth": {"oracle_arm": "best"}}
    out = tmp_path / "nested" / "report"
    paths = write_report(out, DAYS, summary)
    assert [p.name for p in paths] == list(REPORT_FILES)
    assert all(p.parent == out and p.is_file() and p.stat().st_size > 0 for p in paths)

    for png in (out / "regret.png", out / "engagement.png", out / "timeline.png"):
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert data[12:16] == b"IHDR" and len(data) > 1000

    written = json.loads((out / "summary.json").read_text())
    assert written["summary"] == json.loads(json.dumps(summary))
    assert [d["day_index"] for d in written["days"]] == [0, 1, 2, 3]

    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# learnloop demo report")
    assert "![cumulative regret](regret.png)" in markdown
    assert "![engagement and best-arm share](engagement.png)" in markdown
    assert "| best-arm share, last quarter | 100.0 % |" in markdown
    assert "| regret sublinear | yes |" in markdown
    assert "**seed**: 7" in markdown
    assert markdown.count("\n| 3 | 2026-01-04 |") == 1


def test_write_report_handles_empty_days_and_rewrites(tmp_path: Path) -> None:
    days = [day(0, {"best": 0, "other": 0}, {}, 0.0, 0.0, None), *DAYS[1:]]
    first = write_report(tmp_path, days, summarize(days))
    again = write_report(tmp_path, days, summarize(days))
    assert first == again
    assert (tmp_path / "engagement.png").read_bytes().startswith(PNG_SIGNATURE)


def test_write_report_needs_days(tmp_path: Path) -> None:
    with pytest.raises(SimulationError):
        write_report(tmp_path, [], {})


def test_no_global_backend_change(tmp_path: Path) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    write_report(tmp_path, DAYS, summarize(DAYS))
    assert matplotlib.get_backend() == backend


# --- a world that shifts -----------------------------------------------------------------------


def shifted_day(i: int, new_posts: int, extra: dict | None = None) -> DayRecord:
    """Day ``i`` of 8 with 4 posts, ``new_posts`` of them on arm "new"; "old" is the best arm
    before day 3, "new" from day 3 on."""
    return DayRecord(
        day_index=i,
        date=START + timedelta(days=i),
        pulls={"old": 4 - new_posts, "new": new_posts},
        successes={},
        regret=0.0,
        regret_random=0.0,
        mean_engagement=None,
        oracle_arm="old" if i < 3 else "new",
        extra=extra or {},
    )


ALERTS = [{"model": "engagement", "metric": "psi"}, {"model": "follow_through", "metric": "auc"}]
RETRAINED = {"at": "t1", "model": "engagement", "trigger": "psi", "action": "retrained",
             "version": "v2", "outcome": "promoted", "reason": "better on common data"}  # fmt: skip
#: The same action as first read: requested, not carried out yet.
REQUESTED = {**RETRAINED, "action": "retrain_requested", "version": None, "outcome": "pending"}
COOLDOWN = {"at": "t2", "model": "engagement", "action": "cooldown"}
SHIFTED = [
    shifted_day(0, 0),
    shifted_day(1, 1, {"grades": {"versions": {"engagement": None}}}),
    shifted_day(2, 0, {"grades": {"versions": {"engagement": "v1"}}}),
    shifted_day(3, 1, {"grades": {"versions": {"engagement": "v1"}}}),
    shifted_day(4, 2, {"drift": {"alerts": ALERTS, "actions": [REQUESTED]}}),
    shifted_day(
        5,
        3,
        {
            "grades": {"versions": {"engagement": "v2"}},
            # The alerts route lists recent actions: the request is read again, carried out.
            "drift": {"alerts": ALERTS[:1], "actions": [RETRAINED, COOLDOWN]},
        },
    ),
    shifted_day(
        6,
        3,
        {
            "grades": {
                "production_r2": 0.4,
                "truth_r2": 0.6,
                "production_auc": 0.7,
                "truth_auc": 0.75,
            }
        },
    ),
    shifted_day(7, 4, {"grades": {"production_r2": 0.6, "truth_r2": 0.7, "production_auc": None}}),
]


def test_recovery_figures_hand_computed() -> None:
    figures = recovery(list(reversed(SHIFTED)), shift_day=3)
    assert figures["shift_day"] == 3
    assert (figures["old_best_arm"], figures["new_best_arm"]) == ("old", "new")
    # New-arm shares from day 3: 25 %, 50 % (not past half), 75 %: two days after the shift.
    assert figures["days_to_recover"] == 2
    assert figures["new_best_arm_share_last_quarter"] == 0.875  # days 6 and 7: 7 of 8 posts
    assert figures["old_best_arm_share_last_quarter"] == 0.125
    assert figures["production_r2_last_quarter"] == 0.5
    assert figures["truth_r2_last_quarter"] == 0.65
    assert figures["production_auc_last_quarter"] == 0.7  # day 7 has none
    assert figures["truth_auc_last_quarter"] == 0.75
    assert figures["drift_alerts"] == {
        "count": 3,
        "per_model": {"engagement": 2, "follow_through": 1},
        "days": {"engagement": 2, "follow_through": 1},
    }
    assert figures["drift_retrains"] == 1  # the same action read twice counts once
    assert figures["drift_actions"] == [RETRAINED, COOLDOWN]  # in its latest state
    assert figures["production_changes"] == {"engagement": [2, 5]}


def test_recovery_when_the_bandit_never_moves_or_recovers_at_once() -> None:
    stuck = [shifted_day(i, 2 if i >= 3 else 0) for i in range(8)]  # never past 50 %
    figures = recovery(stuck, shift_day=3)
    assert figures["days_to_recover"] is None
    assert figures["new_best_arm_share_last_quarter"] == 0.5
    assert figures["drift_alerts"] == {"count": 0, "per_model": {}, "days": {}}
    assert figures["drift_retrains"] == 0
    at_once = [shifted_day(i, 4 if i >= 3 else 0) for i in range(8)]
    assert recovery(at_once, shift_day=3)["days_to_recover"] == 0


def test_recovery_without_a_shift() -> None:
    figures = recovery(DAYS, shift_day=None)
    assert figures["shift_day"] is None
    assert figures["new_best_arm"] is None and figures["days_to_recover"] is None
    assert figures["production_r2_last_quarter"] is None


@pytest.mark.parametrize("shift_day", [0, 8, 12])
def test_recovery_needs_the_shift_inside_the_run(shift_day: int) -> None:
    with pytest.raises(SimulationError):
        recovery(SHIFTED, shift_day=shift_day)
    with pytest.raises(SimulationError):
        recovery([], shift_day=None)


def test_report_of_a_shifted_run(tmp_path: Path) -> None:
    summary = (
        summarize(SHIFTED, expected_success={"old": 0.3, "new": 0.55})
        | recovery(SHIFTED, shift_day=3)
        | {"promotions": {"engagement": 2}, "bandit_discount": 0.8}
    )
    summary["arms"]["old"]["expected_success_before_shift"] = 0.55
    summary["arms"]["new"]["expected_success_before_shift"] = 0.3
    paths = write_report(tmp_path, SHIFTED, summary)
    assert (tmp_path / "timeline.png").read_bytes().startswith(PNG_SIGNATURE)
    markdown = paths[0].read_text()
    assert "## The world shifts" in markdown
    assert "best arm went from `old` to `new`" in markdown
    assert "factor of 0.8 per simulated day" in markdown
    assert "| days until the new best arm's daily share passes 50 % | 2 |" in markdown
    assert "| new best arm's share, last quarter | 87.5 % |" in markdown
    assert "| production R², last quarter (truth) | 0.5 (0.65) |" in markdown
    assert "| drift retrains | 1 |" in markdown
    assert "| promotions | engagement 2 |" in markdown
    assert "![shift, recovery, production models and drift](timeline.png)" in markdown
    assert "| hidden probability | before the shift |" in markdown
    assert "| `old` | 18 | 0 | 0 | 0.3 | 0.55 |" in markdown
