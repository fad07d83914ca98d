"""`learnloop demo` end to end, as a user runs it (a short run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.heavy(141)]

LEARNLOOP = Path(sys.executable).parent / "learnloop"


def test_a_short_demo_learns_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = subprocess.run(
        [
            str(LEARNLOOP),
            "demo",
            "--days",
            "8",
            "--posts-per-day",
            "24",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "state"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best-arm share, last quarter" in result.stdout
    assert "the world shifted on day 3" in result.stdout
    assert (tmp_path / "state" / "local.env").exists()
    for name in ("report.md", "regret.png", "engagement.png", "timeline.png", "summary.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = json.loads((out / "summary.json").read_text())
    summary, days = written["summary"], written["days"]
    assert len(days) == 8
    # The world shifts 40 % into the run: on day 3 another hook becomes the best.
    assert summary["shift_day"] == 3
    assert summary["old_best_arm"] != summary["new_best_arm"] == summary["oracle_arm"]
    assert [d["oracle_arm"] for d in days] == [summary["old_best_arm"]] * 3 + [
        summary["new_best_arm"]
    ] * 5
    truth = summary["hidden_truth"]
    assert truth["oracle_arm"] == summary["old_best_arm"]
    assert truth["after_shift"]["oracle_arm"] == summary["new_best_arm"]
    assert truth["after_shift"]["engagement"]["quality_score"] == 0.09
    # Three days to settle and five to follow are short, but the forgetting bandit moves to
    # the new best arm within the run (the full-length figures are the default demo's).
    assert days[2]["best_arm_share"] >= 0.4  # it had found the old best arm
    old, new = (
        summary["old_best_arm_share_last_quarter"],
        summary["new_best_arm_share_last_quarter"],
    )
    assert new > old and old < days[2]["best_arm_share"]
    assert summary["days_to_recover"] is not None and 1 <= summary["days_to_recover"] <= 5
    assert summary["regret_vs_oracle"] < summary["regret_random"]
    assert summary["bandit_discount"] == 0.8
    assert summary["days_drafts_picked_by_model"] > 0  # the predict endpoint drove decisions
    # Graded each day on fresh posts of that day's regime, next to the truth's own scores.
    grades = [d["extra"]["grades"] for d in days]
    assert all(0.4 < g["truth_r2"] < 0.9 for g in grades)
    assert grades[-1]["versions"]["engagement"] is not None
    assert summary["production_r2_last_quarter"] is not None
    assert summary["truth_r2_last_quarter"] is not None
    assert summary["production_auc_last_quarter"] is not None
    assert summary["ridge_r2"] is not None and summary["ridge_r2"] > 0.0
    assert summary["logistic_auc"] is not None and summary["logistic_auc"] > 0.55
    # Drift runs daily and is reported, whatever it found; promotions come from the registry.
    assert set(summary["drift_alerts"]) == {"count", "per_model", "days"}
    assert summary["drift_retrains"] >= 0
    assert summary["promotions"]["engagement"] >= 1
    assert summary["promotions"]["follow_through"] >= 1
    assert summary["production_changes"]["engagement"]  # the days production moved
    fired = summary["schedules_fired"]
    assert fired["learn"] >= 6 * 8 and fired["rollup_daily"] >= 8  # on their expressions
    assert fired["drift_check"] == 8  # daily at 01:30, so that drift can act
    assert fired["privacy_purge"] == 1  # once, after the last day
