"""``rollup_daily``: one ``daily_stats`` item per UTC day, recomputed identically on re-runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from learnloop.clock import as_utc
from learnloop.decisions.log import read_decisions
from learnloop.observability import logger
from learnloop.quality import quality_summary, usable
from learnloop.rollups.compute import coin_reaction_counts, compute_daily_stats
from learnloop.rollups.decisions import decision_stats
from learnloop.store.queries import as_record, query_day
from learnloop.store.tables import Tables


@dataclass(frozen=True)
class RollupResult:
    """What a rollup run computed and whether the stored item changed."""

    date: str
    stats: dict[str, Any]
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": "rollup_daily",
            "date": self.date,
            "changed": self.changed,
            "users_active": self.stats.get("users_active"),
        }


def day_to_roll_up(now: datetime) -> date:
    """The day a run at ``now`` rolls up: the UTC day that ended most recently."""
    return (as_utc(now) - timedelta(days=1)).date()


#: A section a higher layer adds to the day's item, given the day's events and insight items
#: already read: ``section(tables, day, events=..., insight_items=...) -> dict``.
Section = Callable[..., dict[str, Any]]


def rollup_day(
    tables: Tables, day: date, *, sections: Mapping[str, Section] | None = None
) -> RollupResult:
    """Compute and store the ``daily_stats`` item of ``day``.

    Reads the day's partitions of reactions, events, outcomes and insight feedback, plus the
    previous day's item for coin reaction velocity, and adds ``sections`` (name -> function
    of the day, see :data:`Section`). Running it again writes the same item.

    Examples
    --------
    >>> rollup_day(tables, date(2026, 11, 20)).stats["date"]  # doctest: +SKIP
    '2026-11-20'
    """
    shards = tables.settings.day_shards
    every_reaction = [as_record(r) for r in query_day(tables.reactions, day, shards=shards)]
    every_event = [as_record(e) for e in query_day(tables.events, day, shards=shards)]
    # Rows flagged by the data-quality checks (bursts, floods) are stored but count nowhere.
    reactions = [r for r in every_reaction if usable(r)]
    events = [e for e in every_event if usable(e)]
    outcomes = [as_record(o) for o in query_day(tables.outcomes, day, shards=shards)]
    insight_items = [as_record(f) for f in query_day(tables.insights, day, shards=shards)]
    feedback = [f for f in insight_items if str(f["record"]).startswith("feedback#")]
    previous = _stored_stats(tables, day - timedelta(days=1))
    stats = compute_daily_stats(
        day,
        reactions=reactions,
        events=events,
        outcomes=outcomes,
        feedback=feedback,
        previous_reactions_by_coin=coin_reaction_counts(previous) if previous else None,
        insights=[i for i in insight_items if i["record"] == "insight"],
    )
    # Sections of higher layers (the journal's: learnloop.journal.rollup), on the same reads.
    for name, section in (sections or {}).items():
        stats[name] = section(tables, day, events=events, insight_items=insight_items)
    # Click-through and reward of the day's logged decisions (aggregates, no user).
    stats["decisions"] = decision_stats(read_decisions(tables, day, day))
    stats["data_quality"] = quality_summary(every_reaction, every_event)
    changed = _stored_stats(tables, day) != stats
    if changed:
        tables.daily_stats(day.isoformat(), stats=stats).save()
    logger.info("rolled up day", extra={"date": day.isoformat(), "changed": changed})
    return RollupResult(date=day.isoformat(), stats=stats, changed=changed)


def rollup_daily(
    tables: Tables, now: datetime, *, sections: Mapping[str, Section] | None = None
) -> RollupResult:
    """The scheduled job: roll up the day before ``now``."""
    return rollup_day(tables, day_to_roll_up(now), sections=sections)


def _stored_stats(tables: Tables, day: date) -> dict[str, Any] | None:
    try:
        stats: dict[str, Any] = tables.daily_stats.get(day.isoformat()).stats
        return stats
    except tables.daily_stats.DoesNotExist:
        return None
