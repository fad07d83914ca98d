"""Deadline-aware, resumable jobs: one small mechanism every scheduled job uses.

A job is a sequence of **units**: named, idempotent steps that each return a small JSON-ready
result (a day rolled up, a chunk of outcomes counted, one export file written). An invocation
runs units while its :class:`Deadline` leaves room for one more (the longest unit seen so far,
plus a margin), records each finished unit in a **checkpoint** (one ledger item,
``checkpoint#{job}#{run}``), and stops early with a resume token when time runs short. The
next invocation, chained at once (in-process locally, an asynchronous self-invoke on AWS),
skips the units already recorded and carries on; the last one combines every unit's result,
so the result is the one an uninterrupted run gives.

A crash (or a timeout) *after* a unit's checkpoint redoes nothing; one *before* it redoes that
unit, which is why every unit must be idempotent (they are: each rewrites the same item or
object, or claims what it counts in the ledger first). A run that keeps failing stops: the
checkpoint counts invocations and a run past :data:`MAX_INVOCATIONS` raises
:class:`JobStuckError` (on AWS the asynchronous invoke then retries twice and goes to the
function's dead-letter queue).

Examples
--------
>>> ticks = iter(range(100))
>>> deadline = Deadline(lambda: 10.0 - next(ticks), margin=0.0)
>>> deadline.remaining() > 0
True
>>> Deadline.never().expired()
False
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.exceptions import StoreError
from learnloop.observability import logger
from learnloop.store.tables import Tables

#: Ledger key prefix of the checkpoints.
CHECKPOINT_PREFIX = "checkpoint#"
#: A checkpoint nobody resumes is dropped by the table's TTL after this long.
CHECKPOINT_TTL = timedelta(days=7)
#: Invocations of one run before it is declared stuck (a unit that never fits, a crash loop).
MAX_INVOCATIONS = 200
#: Seconds kept free at the end of an invocation (Lambda must still return and re-invoke).
DEFAULT_MARGIN = 20.0
#: The key of an unfinished result that carries the resume token.
RESUME = "resume"


class JobStuckError(StoreError):
    """A resumable run was invoked :data:`MAX_INVOCATIONS` times without finishing."""

    code = "job_stuck"


class Deadline:
    """The time an invocation has left, from any ``remaining()`` seconds function.

    ``expired(need)`` is true once fewer than ``need + margin`` seconds remain. Tests pass a
    fake ``remaining``; Lambda passes ``context.get_remaining_time_in_millis``.

    Examples
    --------
    >>> left = iter([30.0, 5.0])
    >>> deadline = Deadline(lambda: next(left), margin=10.0)
    >>> deadline.expired(), deadline.expired()
    (False, True)
    """

    def __init__(self, remaining: Callable[[], float], *, margin: float = DEFAULT_MARGIN) -> None:
        self._remaining = remaining
        self.margin = margin

    @classmethod
    def after(
        cls,
        seconds: float,
        *,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        """A deadline ``seconds`` from now on ``clock`` (``--deadline-seconds`` locally)."""
        end = clock() + seconds
        return cls(lambda: end - clock(), margin=margin)

    @classmethod
    def from_context(cls, context: Any, *, margin: float = DEFAULT_MARGIN) -> Deadline:
        """The deadline of a Lambda invocation (its context's remaining time)."""
        return cls(lambda: context.get_remaining_time_in_millis() / 1000.0, margin=margin)

    @classmethod
    def never(cls) -> Deadline:
        """No deadline: the run goes to the end in one invocation."""
        return cls(lambda: float("inf"), margin=0.0)

    def remaining(self) -> float:
        """Seconds left."""
        return float(self._remaining())

    def expired(self, need: float = 0.0) -> bool:
        """Whether fewer than ``need`` seconds (plus the margin) are left."""
        return self.remaining() - self.margin < need


@dataclass
class Unit:
    """One idempotent step of a job: ``run()`` returns its JSON-ready result."""

    id: str
    run: Callable[[], Any]


@dataclass
class Checkpoint:
    """A run's progress in the ledger: the units done (with their results) and free state.

    ``state`` holds what must not change between invocations of one run (the window a run
    reads, a snapshot it works from); it is written once, with the first unit.
    """

    key: str
    done: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    invocations: int = 0

    @classmethod
    def load(cls, tables: Tables, key: str) -> Checkpoint:
        """The stored checkpoint of ``key``, or a fresh one."""
        try:
            entry = tables.ledger.get(key, consistent_read=True)
        except tables.ledger.DoesNotExist:
            return cls(key)
        value = dict(entry.value or {})
        return cls(
            key,
            done=dict(value.get("done") or {}),
            state=dict(value.get("state") or {}),
            invocations=int(value.get("invocations", 0)),
        )

    def save(self, tables: Tables) -> None:
        """Store the progress (one put; the last writer of one run is its only writer)."""
        now = utcnow()
        value = {"done": self.done, "state": self.state, "invocations": self.invocations}
        tables.ledger(
            self.key, created_at=iso(now), value=value, expires_at=now + CHECKPOINT_TTL
        ).save()

    def clear(self, tables: Tables) -> None:
        """Forget the run: it finished (a later run by hand starts afresh)."""
        tables.ledger(self.key).delete()


@dataclass
class Progress:
    """What :func:`run_units` got done: ``finished`` and every unit's result so far."""

    finished: bool
    results: dict[str, Any]
    checkpoint: Checkpoint
    ran: int = 0


def run_key(job: str, now: datetime, options: Mapping[str, Any]) -> str:
    """The checkpoint key of the run of ``job`` for ``now`` and its plain ``options``.

    Options that are not plain values (a client, a callback) do not identify a run.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> run_key("learn", datetime(2026, 12, 7, tzinfo=timezone.utc), {})
    'checkpoint#learn#2026-12-07T00:00:00.000000Z#44136fa355b3'
    """
    plain = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in sorted(options.items())
        if isinstance(v, str | int | float | bool | date) or v is None
    }
    digest = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:12]
    return f"{CHECKPOINT_PREFIX}{job}#{iso(now)}#{digest}"


def run_units(
    tables: Tables,
    checkpoint: Checkpoint,
    units: Iterable[Unit],
    deadline: Deadline | None,
) -> Progress:
    """Run the units ``checkpoint`` has not recorded, in order, while ``deadline`` allows.

    Each invocation runs at least one unit (so a chain always moves), then starts another
    only while the deadline leaves room for the longest unit seen so far. ``units`` may be a
    generator: units after the stop are never built.

    Examples
    --------
    >>> progress = run_units(tables, Checkpoint.load(tables, key),
    ...                      [Unit("a", lambda: 1), Unit("b", lambda: 2)], Deadline.never())
    ... # doctest: +SKIP
    >>> progress.finished, progress.results  # doctest: +SKIP
    (True, {'a': 1, 'b': 2})
    """
    deadline = deadline or Deadline.never()
    checkpoint.invocations += 1
    if checkpoint.invocations > MAX_INVOCATIONS:
        raise JobStuckError(
            f"{checkpoint.key} did not finish in {MAX_INVOCATIONS} invocations; "
            "its checkpoint is kept for a look"
        )
    longest = 0.0
    ran = 0
    for unit in units:
        if unit.id in checkpoint.done:
            continue
        if ran and deadline.expired(longest):
            checkpoint.save(tables)
            logger.info(
                "job paused at its deadline",
                extra={"checkpoint": checkpoint.key, "done": len(checkpoint.done), "ran": ran},
            )
            return Progress(False, dict(checkpoint.done), checkpoint, ran)
        before = deadline.remaining()
        checkpoint.done[unit.id] = unit.run()
        checkpoint.save(tables)
        ran += 1
        spent = before - deadline.remaining()
        longest = max(longest, spent if spent == spent else 0.0)  # inf - inf is nan
    return Progress(True, dict(checkpoint.done), checkpoint, ran)


def resumable(
    tables: Tables,
    job: str,
    now: datetime,
    options: Mapping[str, Any],
    plan: Callable[[Checkpoint], Iterable[Unit]],
    combine: Callable[[dict[str, Any], Checkpoint], dict[str, Any]],
    deadline: Deadline | None,
) -> dict[str, Any]:
    """Run a job's ``plan`` under ``deadline``; the combined result once every unit is done,
    else ``{"job", "finished": False, "resume": {...}, "units_done"}`` to re-invoke with.

    ``plan(checkpoint)`` lists the units (it may read or set ``checkpoint.state`` first);
    ``combine(results, checkpoint)`` turns every unit's result into the job's result.
    """
    checkpoint = Checkpoint.load(tables, run_key(job, now, options))
    progress = run_units(tables, checkpoint, plan(checkpoint), deadline)
    if not progress.finished:
        return {
            "job": job,
            "finished": False,
            RESUME: {"job": job, "now": iso(now), "key": checkpoint.key},
            "units_done": len(progress.results),
        }
    result = combine(progress.results, checkpoint)
    checkpoint.clear(tables)
    return result


def run_chained(
    run: Callable[[Deadline], dict[str, Any]],
    deadline: Callable[[], Deadline],
    *,
    max_invocations: int = MAX_INVOCATIONS,
) -> tuple[dict[str, Any], int]:
    """Invoke ``run`` with a fresh ``deadline()`` until it finishes; returns the result and
    how many invocations it took (what ``learnloop job run --deadline-seconds`` does).

    Examples
    --------
    >>> calls = iter([{"finished": False, "resume": {}}, {"job": "x"}])
    >>> run_chained(lambda d: next(calls), Deadline.never)
    ({'job': 'x'}, 2)
    """
    for invocation in range(1, max_invocations + 1):
        result = run(deadline())
        if RESUME not in result:
            return result, invocation
    raise JobStuckError(f"the job did not finish in {max_invocations} invocations")


__all__ = [
    "CHECKPOINT_PREFIX",
    "MAX_INVOCATIONS",
    "RESUME",
    "Checkpoint",
    "Deadline",
    "JobStuckError",
    "Progress",
    "Unit",
    "resumable",
    "run_chained",
    "run_key",
    "run_units",
]
