"""The demo's configuration of the shift, its settings and its closing lines (no stack)."""

from __future__ import annotations

import doctest

import pytest

from learnloop.exceptions import SimulationError
from learnloop_tools.demo import driver as driver_module
from learnloop_tools.demo import local as local_module
from learnloop_tools.demo.driver import DemoConfig, default_shift_day, format_summary
from learnloop_tools.demo.local import DEMO_DEFAULTS, demo_settings


def test_doctests_run() -> None:
    assert doctest.testmod(driver_module).failed == 0
    assert doctest.testmod(local_module).failed == 0


def test_the_world_shifts_40_percent_into_the_run_by_default() -> None:
    assert DemoConfig().shift_at == default_shift_day(16) == 6
    assert default_shift_day(21) == 8
    assert DemoConfig(days=8).shift_at == 3
    assert DemoConfig(days=10, shift_day=2).shift_at == 2
    assert DemoConfig(shift=False).shift_at is None
    assert DemoConfig(shift=False, shift_day=30).shift_at is None  # no shift: nothing to check
    assert "drift_check" not in DemoConfig().final_only  # drift runs daily, so it can act


@pytest.mark.parametrize("shift_day", [0, 5, 9])
def test_a_shift_outside_the_run_is_refused(shift_day: int) -> None:
    with pytest.raises(SimulationError, match="shift_day"):
        DemoConfig(days=5, shift_day=shift_day)


def test_demo_settings_forget_unless_the_user_says_otherwise() -> None:
    env: dict[str, str] = {"LEARNLOOP_TABLE_PREFIX": "mine-"}
    settings = demo_settings(env)
    assert settings.stage == "demo" and settings.table_prefix != "mine-"
    assert settings.bandit_discount == float(DEMO_DEFAULTS["LEARNLOOP_BANDIT_DISCOUNT"]) < 1.0
    # Written back: the embedded app builds its settings from the process environment.
    assert env["LEARNLOOP_BANDIT_DISCOUNT"] == DEMO_DEFAULTS["LEARNLOOP_BANDIT_DISCOUNT"]
    assert demo_settings({"LEARNLOOP_BANDIT_DISCOUNT": "1"}).bandit_discount == 1.0


BASE = {
    "best_arm_share_last_quarter": 0.9,
    "oracle_arm": "hook:list",
    "regret_vs_oracle": 30.0,
    "regret_random": 110.0,
    "regret_sublinear": True,
    "ridge_r2": 0.5,
    "truth_r2": 0.66,
    "ridge_r2_vs_expected": 0.8,
    "logistic_auc": 0.63,
    "truth_auc": 0.65,
    "models": {},
    "days_drafts_picked_by_model": 18,
    "days": 21,
}


def test_format_summary_tells_the_recovery() -> None:
    lines = format_summary(
        BASE
        | {
            "shift_day": 8,
            "old_best_arm": "hook:story",
            "new_best_arm": "hook:list",
            "days_to_recover": 2,
            "new_best_arm_share_last_quarter": 0.9,
            "production_r2_last_quarter": 0.41,
            "truth_r2_last_quarter": 0.7,
            "production_auc_last_quarter": 0.6,
            "truth_auc_last_quarter": 0.65,
            "drift_alerts": {"count": 3, "per_model": {"engagement": 3}, "days": {"engagement": 2}},
            "drift_retrains": 1,
            "promotions": {"engagement": 4},
        }
    ).splitlines()
    assert lines[0] == (
        "the world shifted on day 8: best arm hook:story -> hook:list; the bandit's daily share "
        "of the new one passed 50 % 2 days later; its share over the last quarter: 90.0%"
    )
    assert lines[-2] == (
        "last quarter, daily fresh posts: production R² 0.410 (truth 0.700), production AUC "
        "0.600 (truth 0.650)"
    )
    assert lines[-1] == (
        "drift alerts 3 (days with one: {'engagement': 2}), drift retrains 1, "
        "promotions {'engagement': 4}"
    )


def test_format_summary_without_a_shift_keeps_its_lines() -> None:
    lines = format_summary(BASE).splitlines()
    assert lines[0].startswith("best-arm share, last quarter: 90.0%")
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-shift", "--shift-day", "3"], "--no-shift takes no --shift-day"),
        (["--days", "8", "--shift-day", "8"], "at most 7 for --days 8"),
        (["--shift-day", "0"], "0 is not in the range x>=1"),
    ],
)
def test_the_cli_refuses_a_shift_it_cannot_make(args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from learnloop_tools.cli import main

    # Refused before anything starts: no stack, no environment change.
    result = CliRunner().invoke(main, ["demo", *args])
    assert result.exit_code == 2
    assert message in result.output
