"""Exposures, conversions and their statistics per variant, from the events table.

An exposure is an ``experiment_exposure`` event with properties ``{experiment_id, variant}``;
a conversion is the experiment's goal event from a user who was exposed, at or after their
first exposure. Users are counted, not events, and each user belongs to the variant of their
first exposure (a client bug that shows a user two variants cannot count them twice).

Why computed on read rather than from the ``daily_stats`` rollups: per-day counts cannot
de-duplicate users across days, nor attribute a conversion on Wednesday to a Monday exposure,
without storing per-user state in a table meant for aggregates only; they would lag by a day;
and a changed goal event would need every day re-rolled. An experiment's window is bounded
(:data:`MAX_WINDOW_DAYS`), the read goes through the events' day partitions (never a Scan)
and only the two event types involved come back (a server-side filter).

Examples
--------
>>> records = [
...     {"user_id": "u1", "type": "experiment_exposure", "occurred_at": "2026-11-20T10:00:00Z",
...      "properties": {"experiment_id": "e", "variant": "a"}},
...     {"user_id": "u1", "type": "app.bought", "occurred_at": "2026-11-20T11:00:00Z"},
...     {"user_id": "u2", "type": "app.bought", "occurred_at": "2026-11-20T11:00:00Z"},
... ]
>>> tally = tally_users(records, experiment_id="e", variants=["a", "b"],
...                     goal_event_type="app.bought")
>>> tally.exposed, tally.converted
({'a': 1, 'b': 0}, {'a': 1, 'b': 0})
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from learnloop.clock import as_utc, iso, utcnow
from learnloop.decisions.log import read_decisions
from learnloop.experiments.schemas import EXPOSURE_EVENT_TYPE
from learnloop.experiments.statistics import (
    probability_best,
    sample_ratio_test,
    two_proportion_z_test,
    wilson_interval,
)
from learnloop.rollups.decisions import MAX_DECISION_RANGE_DAYS, decision_stats
from learnloop.store.queries import days_between, query_days
from learnloop.store.records import Experiment
from learnloop.store.tables import Tables
from learnloop.users.consent import excluded_pseudonyms
from learnloop.users.pseudonym import pseudonymize

#: The longest window results read: the first 92 days of the experiment (a quarter).
MAX_WINDOW_DAYS = 92
_DIGITS = 6
_READ_ATTRIBUTES = ("user_id", "type", "occurred_at", "properties")

Record = Mapping[str, Any]


@dataclass
class Tally:
    """Users exposed and converted per variant, and what was left out."""

    exposed: dict[str, int]
    converted: dict[str, int]
    #: Exposures to this experiment naming a variant it does not have.
    unknown_variant_exposures: int = 0
    #: Users left out because they opted out or were deleted.
    excluded_users: int = 0
    first_exposure: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)


def tally_users(
    records: Iterable[Record],
    *,
    experiment_id: str,
    variants: Sequence[str],
    goal_event_type: str,
    start: str = "",
    end: str = "\uffff",
    excluded: Collection[str] = (),
) -> Tally:
    """Count exposed and converted users per variant.

    Parameters
    ----------
    records
        Events as dicts with ``user_id``, ``type``, ``occurred_at`` and ``properties``.
    experiment_id, variants, goal_event_type
        The experiment: its id, its variant names, its goal.
    start, end
        The window, as ISO timestamps (inclusive); events outside it are ignored.
    excluded
        User ids to leave out (opted out or deleted).

    Returns
    -------
    Tally
        Every variant appears, with 0 when nobody saw it.
    """
    known = set(variants)
    first: dict[str, tuple[str, str]] = {}
    goals: dict[str, list[str]] = {}
    unknown = 0
    excluded_seen: set[str] = set()
    for record in records:
        at = str(record["occurred_at"])
        if not start <= at <= end:
            continue
        user_id = str(record["user_id"])
        if user_id in excluded:
            excluded_seen.add(user_id)
            continue
        kind = record["type"]
        if kind == EXPOSURE_EVENT_TYPE:
            properties = record.get("properties") or {}
            if properties.get("experiment_id") != experiment_id:
                continue
            variant = properties.get("variant")
            if variant not in known:
                unknown += 1
                continue
            # The earliest exposure wins; ties broken by variant name so order never matters.
            candidate = (at, str(variant))
            if user_id not in first or candidate < first[user_id]:
                first[user_id] = candidate
        elif kind == goal_event_type:
            goals.setdefault(user_id, []).append(at)
    exposed = dict.fromkeys(variants, 0)
    converted = dict.fromkeys(variants, 0)
    for user_id, (at, variant) in first.items():
        exposed[variant] += 1
        if any(goal_at >= at for goal_at in goals.get(user_id, ())):
            converted[variant] += 1
    return Tally(
        exposed=exposed,
        converted=converted,
        unknown_variant_exposures=unknown,
        excluded_users=len(excluded_seen),
        first_exposure=first,
    )


def summarize(
    tally: Tally, variants: Sequence[str], *, random_state: int = 0
) -> list[dict[str, Any]]:
    """Per variant: users exposed / converted, rate with its Wilson 95 % interval, and against
    the control (the first variant) the difference, the z-test's p-value and P(best).

    Examples
    --------
    >>> t = Tally(exposed={"a": 100, "b": 100}, converted={"a": 10, "b": 30})
    >>> rows = summarize(t, ["a", "b"])
    >>> rows[0]["p_value"] is None, rows[1]["difference"], rows[1]["prob_best"] > 0.99
    (True, 0.2, True)
    """
    exposed = [tally.exposed[v] for v in variants]
    converted = [tally.converted[v] for v in variants]
    best = probability_best(converted, exposed, random_state=random_state)
    control_n, control_c = exposed[0], converted[0]
    rows = []
    for index, name in enumerate(variants):
        n, c = exposed[index], converted[index]
        low, high = wilson_interval(c, n)
        row: dict[str, Any] = {
            "variant": name,
            "users_exposed": n,
            "users_converted": c,
            "conversion_rate": _round(c / n) if n else None,
            "ci_low": _round(low),
            "ci_high": _round(high),
            "difference": None,
            "p_value": None,
            "prob_best": _round(best[index]),
        }
        if index > 0 and n and control_n:
            test = two_proportion_z_test(control_c, control_n, c, n)
            row["difference"] = _round(test.difference)
            row["z"] = _round(test.z)
            row["p_value"] = test.p_value  # unrounded: a tiny p-value is information
        rows.append(row)
    return rows


def results_window(
    experiment: Experiment, *, now: datetime | None = None
) -> tuple[datetime, datetime, bool] | None:
    """``(start, end, truncated)`` of the experiment's running window, or None before it ran.

    The window starts when the experiment started and ends when it stopped (or now), but
    spans at most :data:`MAX_WINDOW_DAYS` days.
    """
    if not experiment.started_at:
        return None
    start = datetime.fromisoformat(experiment.started_at.replace("Z", "+00:00"))
    end = as_utc(now or utcnow())
    if experiment.stopped_at:
        end = min(end, datetime.fromisoformat(experiment.stopped_at.replace("Z", "+00:00")))
    cap = start + timedelta(days=MAX_WINDOW_DAYS) - timedelta(microseconds=1)
    return start, min(end, cap), end > cap


def experiment_results(
    tables: Tables, experiment: Experiment, *, now: datetime | None = None
) -> dict[str, Any]:
    """The results of ``experiment``, read from the events of its window.

    Returns
    -------
    dict
        ``{"window": {"from", "to", "days", "truncated"} | None, "goal_event_type",
        "control", "variants": [...summarize rows], "sample_ratio": {"chi2", "p_value",
        "mismatch"}, "unknown_variant_exposures", "excluded_users", "decisions": {variant:
        decision stats}}``; ``decisions`` is the click-through and reward of the decisions
        logged under each variant (:func:`learnloop.rollups.decisions.decision_stats`).
        ``mismatch`` true means the exposed users are split too unlike the weights for chance
        (p < 0.001): exposure logging or assignment is broken, and the variants' differences
        cannot be trusted.

    Examples
    --------
    >>> experiment_results(tables, experiment)["variants"][1]["p_value"]  # doctest: +SKIP
    0.00012
    """

    names = [str(v["name"]) for v in experiment.variants]
    window = results_window(experiment, now=now)
    records: list[Record] = []
    reply_window: dict[str, Any] | None = None
    decisions: dict[str, Any] = {name: decision_stats([]) for name in names}
    if window is not None:
        start, end, truncated = window
        days = days_between(start.date(), end.date()) if end >= start else []
        decisions = _decisions_by_variant(tables, experiment.experiment_id, names, days)
        events = tables.events
        found = query_days(
            events,
            days,
            shards=tables.settings.day_shards,
            attributes=_READ_ATTRIBUTES,
            filter_condition=events.type.is_in(EXPOSURE_EVENT_TYPE, experiment.goal_event_type),
        )
        records = [dict(item.attribute_values) for item in found]
        reply_window = {
            "from": iso(start),
            "to": iso(end),
            "days": len(days),
            "truncated": truncated,
        }
        # Stored before an opt-out, an exposure stays in the table; it is not counted.
        secret = tables.settings.pseudonym_secret
        hidden = excluded_pseudonyms(tables) if records else set()
        excluded = {
            user
            for user in {str(r["user_id"]) for r in records}
            if pseudonymize(user, secret) in hidden
        }
        tally = tally_users(
            records,
            experiment_id=experiment.experiment_id,
            variants=names,
            goal_event_type=experiment.goal_event_type,
            start=iso(start),
            end=iso(end),
            excluded=excluded,
        )
    else:
        tally = tally_users([], experiment_id="", variants=names, goal_event_type="")
    return {
        "window": reply_window,
        "goal_event_type": experiment.goal_event_type,
        "control": names[0],
        "variants": summarize(tally, names),
        "sample_ratio": _sample_ratio(tally, experiment),
        "unknown_variant_exposures": tally.unknown_variant_exposures,
        "excluded_users": tally.excluded_users,
        "decisions": decisions,
    }


def _decisions_by_variant(
    tables: Tables, experiment_id: str, names: list[str], days: list[date]
) -> dict[str, Any]:
    """Per variant: the click-through and reward of the decisions logged under it
    (:func:`learnloop.rollups.decisions.decision_stats`), over the window's last
    :data:`~learnloop.rollups.decisions.MAX_DECISION_RANGE_DAYS` days."""
    grouped: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    if days:
        last = days[-1]
        first = max(days[0], last - timedelta(days=MAX_DECISION_RANGE_DAYS - 1))
        for record in read_decisions(tables, first, last):
            variant = record.get("variant") or {}
            if variant.get("experiment_id") == experiment_id and variant.get("variant") in grouped:
                grouped[variant["variant"]].append(record)
    return {name: decision_stats(records) for name, records in grouped.items()}


def _sample_ratio(tally: Tally, experiment: Experiment) -> dict[str, Any]:
    names = [str(v["name"]) for v in experiment.variants]
    weights = [float(v["weight"]) for v in experiment.variants]
    test = sample_ratio_test([tally.exposed[n] for n in names], weights)
    return {"chi2": _round(test.chi2), "p_value": test.p_value, "mismatch": test.mismatch}


def _round(value: float) -> float:
    return round(float(value), _DIGITS)


__all__ = [
    "MAX_WINDOW_DAYS",
    "Tally",
    "experiment_results",
    "results_window",
    "summarize",
    "tally_users",
]
