"""Schedule expressions (the EventBridge / Chalice syntax) and the runner's scheduler thread.

Moto's EventBridge stores rules but never fires them, so the local runner fires the same
expressions itself. Times are UTC, as in EventBridge.

Supported: ``rate(N minute|minutes|hour|hours|day|days)`` (singular exactly when ``N == 1``,
as AWS requires) and six-field ``cron(minutes hours day-of-month month day-of-week year)``
with numbers, ``*``, ``?``, lists ``a,b``, ranges ``a-b``, steps ``*/n``, ``a/n``, ``a-b/n``,
and the names ``JAN``-``DEC`` and ``SUN``-``SAT`` (day-of-week 1 is Sunday). Exactly one of
day-of-month and day-of-week must be ``?``. ``L``, ``W`` and ``#`` are rejected.

Examples
--------
>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
>>> parse_schedule("rate(5 minutes)").next_after(t).isoformat()
'2026-11-20T09:35:00+00:00'
>>> parse_schedule("cron(15 2 * * ? *)").next_after(t).isoformat()
'2026-11-21T02:15:00+00:00'
>>> parse_schedule("cron(0 9 ? * MON-FRI *)").next_after(t).isoformat()  # Friday 09:30
'2026-11-23T09:00:00+00:00'
"""

from __future__ import annotations

import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from learnloop.observability import logger
from learnloop_tools.local.exceptions import ScheduleExpressionError

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_DAYS = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
#: The last year EventBridge accepts; a cron with no firing before it never fires.
MAX_YEAR = 2199


class ScheduleExpression(ABC):
    """A parsed schedule: when does it next fire after a given time?"""

    text: str

    @abstractmethod
    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment`` (UTC), or ``None`` if there is none."""


@dataclass(frozen=True)
class RateExpression(ScheduleExpression):
    """``rate(N unit)``: every ``period``, counted from the previous firing."""

    text: str
    period: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return _utc(moment) + self.period


@dataclass(frozen=True)
class CronExpression(ScheduleExpression):
    """Six-field AWS cron; each field is the set of values it allows (``None`` for ``?``)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def next_after(self, moment: datetime) -> datetime | None:
        t = _utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        # Jumps field by field (year, month, day, hour, minute): at most a few thousand steps.
        while t.year <= MAX_YEAR:
            if t.year not in self.years:
                later = [y for y in self.years if y > t.year]
                if not later:
                    return None
                t = datetime(min(later), 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = _first_of_next_month(t)
            elif not self._day_matches(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None

    def _day_matches(self, t: datetime) -> bool:
        if self.days_of_month is not None:
            return t.day in self.days_of_month
        assert self.days_of_week is not None
        return _aws_weekday(t) in self.days_of_week


def parse_schedule(expression: str | Any) -> ScheduleExpression:
    """Parse a ``rate(...)`` or ``cron(...)`` expression (or a Chalice ``Rate`` / ``Cron``).

    Parameters
    ----------
    expression
        The text EventBridge would be given, or a ``chalice.Rate`` / ``chalice.Cron`` object.

    Returns
    -------
    ScheduleExpression
        :class:`RateExpression` or :class:`CronExpression`.

    Raises
    ------
    ScheduleExpressionError
        When the expression is malformed or uses syntax the local scheduler does not support.

    Examples
    --------
    >>> parse_schedule("rate(1 hour)").period
    datetime.timedelta(seconds=3600)
    >>> sorted(parse_schedule("cron(0/20 * * * ? *)").minutes)
    [0, 20, 40]
    """
    text = expression if isinstance(expression, str) else expression.to_string()
    text = text.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        singular = unit.rstrip("s")
        if value < 1:
            raise ScheduleExpressionError(f"{text}: the rate must be a positive number")
        if (value == 1) != (unit == singular):
            raise ScheduleExpressionError(
                f"{text}: use the singular unit for 1 and the plural otherwise, "
                f"e.g. rate(1 {singular}) or rate({max(value, 2)} {singular}s)"
            )
        return RateExpression(text=text, period=timedelta(seconds=value * _UNIT_SECONDS[singular]))
    cron = _CRON.match(text)
    if cron:
        return _parse_cron(text, cron.group(1).split())
    raise ScheduleExpressionError(
        f"{text!r} is not a schedule expression; expected rate(N minutes|hours|days) or "
        "cron(minutes hours day-of-month month day-of-week year)"
    )


def _parse_cron(text: str, fields: list[str]) -> CronExpression:
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"{text}: cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            f"{text}: exactly one of day-of-month and day-of-week must be '?'"
        )
    return CronExpression(
        text=text,
        minutes=_parse_field(text, "minutes", minutes, 0, 59),
        hours=_parse_field(text, "hours", hours, 0, 23),
        days_of_month=None if dom == "?" else _parse_field(text, "day-of-month", dom, 1, 31),
        months=_parse_field(text, "month", month, 1, 12, _MONTHS),
        days_of_week=None if dow == "?" else _parse_field(text, "day-of-week", dow, 1, 7, _DAYS),
        years=_parse_field(text, "year", year, 1970, MAX_YEAR),
    )


def _parse_field(
    text: str, name: str, value: str, low: int, high: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    allowed: set[int] = set()
    for part in value.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleExpressionError(f"{text}: bad step {part!r} in {name}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _value(text, name, first, low, high, names)
            end = _value(text, name, last, low, high, names)
            if start > end:
                raise ScheduleExpressionError(f"{text}: range {base!r} in {name} runs backwards")
        else:
            start = _value(text, name, base, low, high, names)
            end = high if step_text else start
        allowed.update(range(start, end + 1, step))
    return frozenset(allowed)


def _value(
    text: str, name: str, token: str, low: int, high: int, names: dict[str, int] | None
) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise ScheduleExpressionError(
            f"{text}: {token!r} in {name} is not supported locally (numbers, names, *, ?, "
            "lists, ranges and steps are; L, W and # are not)"
        )
    number = int(token)
    if not low <= number <= high:
        raise ScheduleExpressionError(f"{text}: {name} must be within {low}-{high}, got {number}")
    return number


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aws_weekday(t: datetime) -> int:
    # Python: Monday=0 .. Sunday=6; AWS cron: Sunday=1 .. Saturday=7.
    return (t.weekday() + 1) % 7 + 1


def _first_of_next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def scheduled_event(name: str, when: datetime, *, region: str = "us-east-1") -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a rule named ``name`` would deliver at ``when``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> event = scheduled_event("rollup", datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    >>> event["detail-type"], event["time"]
    ('Scheduled Event', '2026-11-20T02:00:00Z')
    """
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": _utc(when).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{name}"],
        "detail": {},
    }


#: What a scheduled job receives: the EventBridge scheduled event.
Job = Callable[[dict[str, Any]], object]


@dataclass
class Schedule:
    """One registered job and when it next fires."""

    name: str
    expression: ScheduleExpression
    fn: Job
    next_fire: datetime | None
    runs: int = 0
    failures: int = 0
    running: threading.Event = field(default_factory=threading.Event, repr=False)


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fires registered jobs at their schedule's times, from one background thread.

    Each firing runs in its own thread, so a long job does not delay the others; a job still
    running when it is due again is skipped (EventBridge would overlap them; locally, skipping
    is kinder to a laptop). Missed firings (a sleeping laptop) coalesce into one.

    Parameters
    ----------
    clock
        Returns the current UTC time; tests inject a fake one.
    region
        Put into the scheduled events' ``region`` and ARNs.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> start = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
    >>> scheduler = Scheduler(clock=lambda: start)
    >>> fired = []
    >>> _ = scheduler.add("tick", "rate(1 minute)", lambda event: fired.append(event["time"]))
    >>> scheduler.run_pending(start + timedelta(minutes=1), wait=True)
    ['tick']
    >>> fired
    ['2026-11-20T00:01:00Z']
    """

    def __init__(self, *, clock: Callable[[], datetime] = _now, region: str = "us-east-1") -> None:
        self._clock = clock
        self._region = region
        self._schedules: dict[str, Schedule] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []

    @property
    def schedules(self) -> dict[str, Schedule]:
        """The registered schedules by name (a copy)."""
        with self._lock:
            return dict(self._schedules)

    def add(self, name: str, expression: str | Any, fn: Job) -> Schedule:
        """Register (or replace) the job ``name``; it first fires at the expression's next time.

        Raises
        ------
        ScheduleExpressionError
            When ``expression`` does not parse.
        """
        parsed = parse_schedule(expression)
        schedule = Schedule(
            name=name, expression=parsed, fn=fn, next_fire=parsed.next_after(self._clock())
        )
        with self._lock:
            self._schedules[name] = schedule
        self._wake.set()
        return schedule

    def remove(self, name: str) -> None:
        """Forget the job ``name`` (a firing in progress finishes)."""
        with self._lock:
            self._schedules.pop(name, None)
        self._wake.set()

    def fire(self, name: str) -> object:
        """Run ``name``'s job now, in the caller's thread, and return what it returned.

        Raises
        ------
        KeyError
            When no job has that name.
        """
        schedule = self.schedules[name]
        return schedule.fn(scheduled_event(name, self._clock(), region=self._region))

    def run_pending(self, now: datetime | None = None, *, wait: bool = False) -> list[str]:
        """Start every job due at ``now`` and move its next firing on; returns their names.

        ``wait=True`` joins the started jobs before returning (tests).
        """
        now = now or self._clock()
        due: list[tuple[Schedule, datetime]] = []
        with self._lock:
            for schedule in self._schedules.values():
                if schedule.next_fire is None or schedule.next_fire > now:
                    continue
                fire_time = schedule.next_fire
                following = schedule.expression.next_after(fire_time)
                while following is not None and following <= now:
                    following = schedule.expression.next_after(following)
                schedule.next_fire = following
                due.append((schedule, fire_time))
        started = []
        for schedule, fire_time in due:
            if schedule.running.is_set():
                logger.warning("scheduled job still running; skipped", extra={"job": schedule.name})
                continue
            schedule.running.set()
            worker = threading.Thread(
                target=self._run,
                args=(schedule, fire_time),
                name=f"job-{schedule.name}",
                daemon=True,
            )
            worker.start()
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            started.append((schedule.name, worker))
        if wait:
            for _, worker in started:
                worker.join()
        return [name for name, _ in started]

    def _run(self, schedule: Schedule, fire_time: datetime) -> None:
        try:
            schedule.fn(scheduled_event(schedule.name, fire_time, region=self._region))
            schedule.runs += 1
        except Exception:
            schedule.failures += 1
            logger.exception("scheduled job failed", extra={"job": schedule.name})
        finally:
            schedule.running.clear()

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="learnloop-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop firing, then wait up to ``timeout`` seconds for running jobs to finish."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for worker in self._workers:
            worker.join(timeout)
            if worker.is_alive():
                logger.warning("scheduled job still running at stop", extra={"job": worker.name})
        self._workers = []

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_pending()
            with self._lock:
                upcoming = [s.next_fire for s in self._schedules.values() if s.next_fire]
            # Re-check at least every minute so a changed wall clock is noticed.
            delay = 60.0
            if upcoming:
                delay = min(delay, max(0.0, (min(upcoming) - self._clock()).total_seconds()))
            self._wake.wait(delay)
            self._wake.clear()


__all__ = [
    "MAX_YEAR",
    "CronExpression",
    "Job",
    "RateExpression",
    "Schedule",
    "ScheduleExpression",
    "Scheduler",
    "parse_schedule",
    "scheduled_event",
]
