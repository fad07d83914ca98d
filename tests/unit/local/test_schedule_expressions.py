"""Schedule expressions: next-fire times of rate() and cron(), errors, and the scheduler."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from learnloop.exceptions import ConfigurationError, LearnloopError
from learnloop_tools.local import schedule
from learnloop_tools.local.exceptions import ScheduleExpressionError
from learnloop_tools.local.schedule import Scheduler, parse_schedule

# Friday 20 November 2026, 09:30 UTC.
FRI = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, after: datetime, n: int = 3) -> list[str]:
    parsed = parse_schedule(expression)
    times, moment = [], after
    for _ in range(n):
        moment = parsed.next_after(moment)
        assert moment is not None
        times.append(moment.strftime("%Y-%m-%d %H:%M %a"))
    return times


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "rate(1 minute)",
            ["2026-11-20 09:31 Fri", "2026-11-20 09:32 Fri", "2026-11-20 09:33 Fri"],
        ),
        (
            "rate(5 minutes)",
            ["2026-11-20 09:35 Fri", "2026-11-20 09:40 Fri", "2026-11-20 09:45 Fri"],
        ),
        ("rate(1 hour)", ["2026-11-20 10:30 Fri", "2026-11-20 11:30 Fri", "2026-11-20 12:30 Fri"]),
        ("rate(2 days)", ["2026-11-22 09:30 Sun", "2026-11-24 09:30 Tue", "2026-11-26 09:30 Thu"]),
        (
            "cron(15 2 * * ? *)",
            ["2026-11-21 02:15 Sat", "2026-11-22 02:15 Sun", "2026-11-23 02:15 Mon"],
        ),
        (
            "cron(0/20 * * * ? *)",
            ["2026-11-20 09:40 Fri", "2026-11-20 10:00 Fri", "2026-11-20 10:20 Fri"],
        ),
        (
            "cron(*/30 9-10 * * ? *)",
            ["2026-11-20 10:00 Fri", "2026-11-20 10:30 Fri", "2026-11-21 09:00 Sat"],
        ),
        (
            "cron(0 9 ? * MON-FRI *)",
            ["2026-11-23 09:00 Mon", "2026-11-24 09:00 Tue", "2026-11-25 09:00 Wed"],
        ),
        (
            "cron(0 9 ? * 1,7 *)",
            ["2026-11-21 09:00 Sat", "2026-11-22 09:00 Sun", "2026-11-28 09:00 Sat"],
        ),
        (
            "cron(0 0 1 * ? *)",
            ["2026-12-01 00:00 Tue", "2027-01-01 00:00 Fri", "2027-02-01 00:00 Mon"],
        ),
        (
            "cron(0 12 31 * ? *)",
            ["2026-12-31 12:00 Thu", "2027-01-31 12:00 Sun", "2027-03-31 12:00 Wed"],
        ),
        (
            "cron(0 0 29 FEB ? *)",
            ["2028-02-29 00:00 Tue", "2032-02-29 00:00 Sun", "2036-02-29 00:00 Fri"],
        ),
        ("cron(30 9 20 11 ? 2026-2027)", ["2027-11-20 09:30 Sat"]),
        (
            "cron(0 8 1-7/3 JAN,jul ? *)",
            ["2027-01-01 08:00 Fri", "2027-01-04 08:00 Mon", "2027-01-07 08:00 Thu"],
        ),
    ],
)
def test_next_fire_times(expression: str, expected: list[str]) -> None:
    assert fires(expression, FRI, len(expected)) == expected


def test_fire_times_are_strictly_after_and_minute_aligned() -> None:
    on_the_minute = at("2026-11-20 02:15:00")
    assert parse_schedule("cron(15 2 * * ? *)").next_after(on_the_minute) == at("2026-11-21 02:15")
    ragged = datetime(2026, 11, 20, 2, 14, 59, 999, tzinfo=UTC)
    assert parse_schedule("cron(15 2 * * ? *)").next_after(ragged) == at("2026-11-20 02:15")


def test_naive_times_are_taken_as_utc() -> None:
    assert parse_schedule("rate(1 day)").next_after(datetime(2026, 1, 1)) == at("2026-01-02 00:00")


def test_a_cron_with_no_future_firing_returns_none() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_after(FRI) is None
    assert parse_schedule("cron(0 0 31 FEB ? *)").next_after(FRI) is None


def test_chalice_expression_objects_are_accepted() -> None:
    from chalice import Cron, Rate

    assert parse_schedule(Rate(1, unit=Rate.HOURS)).text == "rate(1 hour)"
    assert parse_schedule(Rate(10, unit=Rate.MINUTES)).next_after(FRI) == FRI + timedelta(
        minutes=10
    )
    assert parse_schedule(Cron(0, 3, "*", "*", "?", "*")).next_after(FRI) == at("2026-11-21 03:00")


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("every 5 minutes", "not a schedule expression"),
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "not a schedule expression"),
        ("cron(0 9 * * *)", "6 fields"),
        ("cron(0 9 * * * *)", "exactly one"),
        ("cron(0 9 ? * ? *)", "exactly one"),
        ("cron(60 9 * * ? *)", "0-59"),
        ("cron(0 24 * * ? *)", "0-23"),
        ("cron(0 9 0 * ? *)", "1-31"),
        ("cron(0 9 ? * 8 *)", "1-7"),
        ("cron(0 9 L * ? *)", "not supported"),
        ("cron(0 9 ? * 6#3 *)", "not supported"),
        ("cron(0 9 15W * ? *)", "not supported"),
        ("cron(0 9 ? * FRI-MON *)", "backwards"),
        ("cron(0/0 9 * * ? *)", "step"),
    ],
)
def test_bad_expressions_name_the_problem(expression: str, hint: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=hint):
        parse_schedule(expression)


def test_errors_are_configuration_errors() -> None:
    assert issubclass(ScheduleExpressionError, ConfigurationError)
    assert issubclass(ScheduleExpressionError, LearnloopError)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_scheduler_fires_due_jobs_with_a_scheduled_event() -> None:
    clock = Clock(FRI)
    scheduler = Scheduler(clock=clock)
    seen: list[dict[str, Any]] = []
    scheduler.add("rollup", "cron(0 10 * * ? *)", seen.append)
    assert scheduler.run_pending(at("2026-11-20 09:59"), wait=True) == []
    assert scheduler.run_pending(at("2026-11-20 10:00"), wait=True) == ["rollup"]
    assert seen[0]["detail-type"] == "Scheduled Event"
    assert seen[0]["time"] == "2026-11-20T10:00:00Z"
    assert seen[0]["resources"][0].endswith(":rule/rollup")
    assert scheduler.schedules["rollup"].next_fire == at("2026-11-21 10:00")


def test_missed_firings_coalesce_into_one() -> None:
    scheduler = Scheduler(clock=Clock(FRI))
    seen: list[dict[str, Any]] = []
    scheduler.add("tick", "rate(1 minute)", seen.append)
    assert scheduler.run_pending(FRI + timedelta(minutes=30), wait=True) == ["tick"]
    assert len(seen) == 1
    assert scheduler.schedules["tick"].next_fire == FRI + timedelta(minutes=31)


def test_a_failing_job_is_counted_and_does_not_stop_others() -> None:
    scheduler = Scheduler(clock=Clock(FRI))
    seen: list[str] = []

    def boom(event: dict[str, Any]) -> None:
        raise RuntimeError("job failed")

    scheduler.add("boom", "rate(1 minute)", boom)
    scheduler.add("ok", "rate(1 minute)", lambda event: seen.append(event["time"]))
    fired = scheduler.run_pending(FRI + timedelta(minutes=1), wait=True)
    assert sorted(fired) == ["boom", "ok"]
    assert scheduler.schedules["boom"].failures == 1
    assert scheduler.schedules["ok"].runs == 1
    assert seen == ["2026-11-20T09:31:00Z"]


def test_fire_runs_a_job_now_and_returns_its_result() -> None:
    scheduler = Scheduler(clock=Clock(FRI))
    scheduler.add("learn", "rate(1 day)", lambda event: {"ran_at": event["time"]})
    assert scheduler.fire("learn") == {"ran_at": "2026-11-20T09:30:00Z"}
    with pytest.raises(KeyError):
        scheduler.fire("missing")


def test_background_thread_fires_and_stops() -> None:
    import threading

    fired = threading.Event()
    clock = Clock(FRI)
    scheduler = Scheduler(clock=clock)
    scheduler.add("tick", "rate(1 minute)", lambda event: fired.set())
    clock.now = FRI + timedelta(minutes=1)  # the job is due as soon as the thread looks
    scheduler.start()
    try:
        assert fired.wait(5)
    finally:
        scheduler.stop(timeout=5)


def test_doctests() -> None:
    assert doctest.testmod(schedule).failed == 0
