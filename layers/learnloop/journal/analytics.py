"""Journal analytics: activity and retention, pattern → outcome, insight effectiveness.

Pure functions over plain dicts (the shapes of the stored records) do the arithmetic, so tests
check them against hand-computed values; ``*_report`` functions read a date range through the
``by_day`` indexes (never a Scan) and call them. Every figure is an aggregate: users are counted,
never named.

Examples
--------
>>> from datetime import date
>>> activity({"u1": {date(2026, 11, 20)}, "u2": {date(2026, 11, 14)}},
...          date(2026, 11, 20), date(2026, 11, 20))[0]
{'date': '2026-11-20', 'dau': 1, 'wau': 2, 'mau': 2}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from learnloop.clock import utcnow
from learnloop.journal.occurrences import (
    OUTCOMES,
    TRADE_CLOSED_EVENT,
    occurrence_row,
    outcome_of,
    trade_results,
    with_trade_results,
)
from learnloop.journal.stats import mean_interval, welch_interval, wilson_interval
from learnloop.store.queries import as_record, days_between, query_days
from learnloop.store.records import INSIGHT_RECORD
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

#: The longest range an analytics route reads.
MAX_RANGE_DAYS = 92
DEFAULT_RANGE_DAYS = 28
#: Trades compared before and after an insight, unless the query says otherwise.
DEFAULT_TRADES_AFTER = 10
INSIGHT_EVENT = "insight_generated"
_FIRST = date(2000, 1, 1)
_LAST = date(2100, 12, 31)
Day = Annotated[date, Field(ge=_FIRST, le=_LAST)]
_DIGITS = 6

Record = Mapping[str, Any]


class JournalRangeIn(Strict):
    """The query of the admin journal routes: ``from``, ``to`` (inclusive) and, for insight
    effectiveness, ``n`` (trades compared on each side of an insight)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    n: Annotated[int, Field(ge=1, le=100)] = DEFAULT_TRADES_AFTER


def parse_range(
    query: Mapping[str, str] | None, *, today: date | None = None
) -> tuple[date, date, int]:
    """``(first, last, n)`` of a query; default: the 28 days up to today (UTC).

    Raises
    ------
    ValidationError
        A bad date or ``n``, ``from`` after ``to`` or a range over 92 days (422).

    Examples
    --------
    >>> parse_range({"from": "2026-11-01", "to": "2026-11-03"})
    (datetime.date(2026, 11, 1), datetime.date(2026, 11, 3), 10)
    """
    params = validate(JournalRangeIn, dict(query or {}))
    last = params.to or (today or utcnow().date())
    first = params.from_ or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise invalid(
            [
                {
                    "field": "from",
                    "message": f"the range must be at most {MAX_RANGE_DAYS} days",
                    "type": "range",
                }
            ]
        )
    return first, last, params.n


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS) + 0.0


def _day(stamp: str) -> date:
    return date.fromisoformat(str(stamp)[:10])


# --- activity and retention ----------------------------------------------------------------------


def active_days(events: Iterable[Record]) -> dict[str, set[date]]:
    """``{user_id: {days with at least one event}}``.

    Examples
    --------
    >>> active_days([{"user_id": "u1", "occurred_at": "2026-11-20T10:00:00Z"}])
    {'u1': {datetime.date(2026, 11, 20)}}
    """
    days: dict[str, set[date]] = {}
    for event in events:
        days.setdefault(str(event["user_id"]), set()).add(_day(event["occurred_at"]))
    return days


def activity(days: Mapping[str, set[date]], first: date, last: date) -> list[dict[str, Any]]:
    """DAU, WAU and MAU of every day from ``first`` to ``last``.

    WAU and MAU are the distinct users active in the 7 and 30 days ending that day, so
    ``days`` must cover the 29 days before ``first`` too.
    """
    series = []
    for day in days_between(first, last):
        week, month = day - timedelta(days=6), day - timedelta(days=29)
        dau = wau = mau = 0
        for active in days.values():
            dau += day in active
            wau += any(week <= d <= day for d in active)
            mau += any(month <= d <= day for d in active)
        series.append({"date": day.isoformat(), "dau": dau, "wau": wau, "mau": mau})
    return series


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week.

    Examples
    --------
    >>> week_of(date(2026, 11, 22))
    datetime.date(2026, 11, 16)
    """
    return day - timedelta(days=day.weekday())


def cohort_retention(
    days: Mapping[str, set[date]], first: date, last: date
) -> list[dict[str, Any]]:
    """Weekly cohorts by first active week within ``first``..``last``, and each week's retention.

    A user's cohort is the ISO week (Monday) of their first active day in the range; week ``k``
    retention is the share of the cohort active in the ``k``-th week after it (week 0 is 1).
    Weeks that end after ``last`` are left out; users active before ``first`` are not new and
    belong to no cohort, so pass only what the range read.

    Examples
    --------
    >>> d = {"u1": {date(2026, 11, 2), date(2026, 11, 10)}, "u2": {date(2026, 11, 3)}}
    >>> cohort_retention(d, date(2026, 11, 2), date(2026, 11, 15))
    [{'cohort': '2026-11-02', 'users': 2, 'retention': [1.0, 0.5]}, {'cohort': '2026-11-09', 'users': 0, 'retention': [None]}]
    """  # noqa: E501
    weeks: dict[date, list[set[date]]] = {}
    for active in days.values():
        inside = {d for d in active if first <= d <= last}
        if inside:
            weeks.setdefault(week_of(min(inside)), []).append({week_of(d) for d in inside})
    cohorts = []
    week = week_of(first)
    while week <= last:
        members = weeks.get(week, [])
        retention: list[float | None] = []
        later = week
        while later <= last:
            returning = sum(1 for m in members if later in m)
            retention.append(_round(returning / len(members)) if members else None)
            later += timedelta(days=7)
        cohorts.append({"cohort": week.isoformat(), "users": len(members), "retention": retention})
        week += timedelta(days=7)
    return cohorts


# --- pattern → outcome ---------------------------------------------------------------------------


def pattern_outcomes(
    occurrences: Sequence[Record], trades: Mapping[tuple[str, str], Mapping[str, Any]]
) -> dict[str, Any]:
    """Loss rate and mean P&L per pattern type, with counts and 95 % intervals, and a baseline.

    Parameters
    ----------
    occurrences
        :func:`~learnloop.journal.occurrences.occurrence_row` rows; one without an outcome
        takes its trade's from ``trades``.
    trades
        ``{(user_id, trade_id): {"outcome", "pnl"}}`` of closed trades
        (:func:`~learnloop.journal.occurrences.trade_results`).

    Returns
    -------
    dict
        ``patterns``: per type ``occurrences``, ``with_outcome``, ``outcomes``
        (``{"win", "loss", "breakeven"}`` counts: the heatmap), ``loss_rate`` and
        ``loss_rate_interval`` (Wilson), ``pnl_count``, ``mean_pnl`` and ``mean_pnl_interval``
        (t), ``lift`` (loss rate minus the baseline's); ranked by loss rate's lower bound,
        then loss rate, then count, so a pattern that reliably loses comes first.
        ``baseline``: the same figures over closed trades without any occurrence.
    """
    rows = with_trade_results([dict(o) for o in occurrences], trades)
    groups: dict[str, list[Record]] = {}
    patterned: set[tuple[str, str]] = set()
    for row in rows:
        groups.setdefault(str(row["pattern_type"]), []).append(row)
        if row.get("trade_id"):
            patterned.add((str(row["user_id"]), str(row["trade_id"])))
    unpatterned = [dict(result) for key, result in trades.items() if key not in patterned]
    baseline = _outcome_figures(unpatterned)
    patterns = []
    for pattern, group in groups.items():
        figures = _outcome_figures(group)
        base_rate = baseline["loss_rate"]
        lift = (
            _round(figures["loss_rate"] - base_rate)
            if figures["loss_rate"] is not None and base_rate is not None
            else None
        )
        patterns.append(
            {"pattern_type": pattern, "occurrences": len(group), **figures, "lift": lift}
        )

    def rank(p: dict[str, Any]) -> tuple[float, float, int, str]:
        interval = p["loss_rate_interval"]
        return (
            -(interval[0] if interval else -1.0),
            -(p["loss_rate"] if p["loss_rate"] is not None else -1.0),
            -p["occurrences"],
            p["pattern_type"],
        )

    patterns.sort(key=rank)
    return {"patterns": patterns, "baseline": {"trades": len(unpatterned), **baseline}}


def _outcome_figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    pnls = []
    for row in rows:
        pnl = row.get("pnl")
        outcome = outcome_of(row.get("outcome"), None if pnl is None else float(pnl))
        if outcome is not None:
            counts[outcome] += 1
        if pnl is not None:
            pnls.append(float(pnl))
    n = sum(counts.values())
    mean = mean_interval(pnls)
    return {
        "with_outcome": n,
        "outcomes": counts,
        "loss_rate": _round(counts["loss"] / n) if n else None,
        "loss_rate_interval": wilson_interval(counts["loss"], n),
        "pnl_count": len(pnls),
        "mean_pnl": mean[0] if mean else (_round(pnls[0]) if pnls else None),
        "mean_pnl_interval": [mean[1], mean[2]] if mean else None,
    }


# --- insight effectiveness -----------------------------------------------------------------------


def closed_trades(events: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
    """``{user_id: [{"trade_id", "at", "outcome", "pnl"}]}``, oldest first, from events.

    A trade closed twice keeps its latest result.
    """
    results = trade_results(events)
    at: dict[tuple[str, str], str] = {}
    for event in events:
        properties = event.get("properties") or {}
        if event.get("type") == TRADE_CLOSED_EVENT and isinstance(properties.get("trade_id"), str):
            key = (str(event["user_id"]), properties["trade_id"])
            at[key] = max(at.get(key, ""), str(event["occurred_at"]))
    trades: dict[str, list[dict[str, Any]]] = {}
    for (user, trade), result in results.items():
        trades.setdefault(user, []).append({"trade_id": trade, "at": at[(user, trade)], **result})
    for rows in trades.values():
        rows.sort(key=lambda r: (r["at"], r["trade_id"]))
    return trades


def _window_figures(
    trades: Sequence[Mapping[str, Any]], patterns: set[str] | None, flagged: Mapping[str, set[str]]
) -> dict[str, float | None]:
    """Loss rate, mean P&L and pattern rate of a window of one user's trades."""
    with_outcome = [t for t in trades if t.get("outcome") is not None]
    pnls = [float(t["pnl"]) for t in trades if t.get("pnl") is not None]

    def recurred(trade: Mapping[str, Any]) -> bool:
        types = flagged.get(str(trade["trade_id"]), set())
        return bool(types if patterns is None else types & patterns)

    return {
        "loss_rate": (
            sum(t["outcome"] == "loss" for t in with_outcome) / len(with_outcome)
            if with_outcome
            else None
        ),
        "mean_pnl": math.fsum(pnls) / len(pnls) if pnls else None,
        "pattern_rate": sum(recurred(t) for t in trades) / len(trades) if trades else None,
    }


METRICS: tuple[str, ...] = ("loss_rate", "mean_pnl", "pattern_rate")


def insight_effectiveness(
    insights: Sequence[Record],
    trades: Mapping[str, Sequence[Mapping[str, Any]]],
    occurrences: Sequence[Record],
    *,
    n: int = DEFAULT_TRADES_AFTER,
) -> list[dict[str, Any]]:
    """Per insight type: did outcomes improve and patterns recur less after the insight?

    For each user who got an insight of a type, the change of each metric from their last
    ``n`` trades before their first such insight to their first ``n`` trades after it. The
    comparison users (no insight of that type) are split at the median time of the treated
    users' insights, with the same ``n`` trades on each side. The effect is the difference of
    the mean changes (a difference in differences) with a 95 % Welch interval over users; a user
    needs at least one trade on each side. Metrics: ``loss_rate``, ``mean_pnl`` and
    ``pattern_rate`` (share of trades with an occurrence of the insight's
    ``properties.pattern_type``, or of any pattern when the insight names none).

    Parameters
    ----------
    insights
        ``{"insight_id", "user_id", "insight_type", "created_at", "properties"}`` rows.
    trades
        :func:`closed_trades`.
    occurrences
        Occurrence rows (``user_id``, ``trade_id``, ``pattern_type``).
    n
        Trades compared on each side.

    Returns
    -------
    list of dict
        ``{"insight_type", "treated_users", "control_users", "split_at", "metrics": {metric:
        {"treated_change", "control_change", "effect", "interval", "significant"}}}``.
    """
    flagged: dict[str, dict[str, set[str]]] = {}
    for row in occurrences:
        if row.get("trade_id"):
            per_trade = flagged.setdefault(str(row["user_id"]), {})
            per_trade.setdefault(str(row["trade_id"]), set()).add(str(row["pattern_type"]))
    by_type: dict[str, dict[str, tuple[str, set[str] | None]]] = {}
    for insight in sorted(insights, key=lambda i: (str(i["created_at"]), str(i["insight_id"]))):
        kind = str(insight.get("insight_type") or "unknown")
        properties = insight.get("properties") or {}
        pattern = properties.get("pattern_type") if isinstance(properties, Mapping) else None
        # A user's first insight of the type is the treatment.
        by_type.setdefault(kind, {}).setdefault(
            str(insight["user_id"]),
            (str(insight["created_at"]), {pattern} if isinstance(pattern, str) else None),
        )
    report = []
    for kind in sorted(by_type):
        treated = by_type[kind]
        times = sorted(at for at, _ in treated.values())
        split = times[len(times) // 2]
        patterns: set[str] | None = None
        named = [p for _, p in treated.values() if p is not None]
        if named:
            patterns = set().union(*named)
        changes: dict[str, dict[str, list[float]]] = {
            group: {m: [] for m in METRICS} for group in ("treated", "control")
        }
        users = {"treated": 0, "control": 0}
        for user, rows in trades.items():
            group, at = ("treated", treated[user][0]) if user in treated else ("control", split)
            before = [t for t in rows if t["at"] < at][-n:]
            after = [t for t in rows if t["at"] >= at][:n]
            if not before or not after:
                continue
            users[group] += 1
            own = flagged.get(user, {})
            b, a = _window_figures(before, patterns, own), _window_figures(after, patterns, own)
            for metric in METRICS:
                if a[metric] is not None and b[metric] is not None:
                    changes[group][metric].append(a[metric] - b[metric])  # type: ignore[operator]
        metrics = {}
        for metric in METRICS:
            t, c = changes["treated"][metric], changes["control"][metric]
            interval = welch_interval(t, c)
            metrics[metric] = {
                "treated_change": _round(math.fsum(t) / len(t)) if t else None,
                "control_change": _round(math.fsum(c) / len(c)) if c else None,
                "effect": interval[0] if interval else None,
                "interval": [interval[1], interval[2]] if interval else None,
                "significant": bool(interval and (interval[1] > 0 or interval[2] < 0)),
            }
        report.append(
            {
                "insight_type": kind,
                "treated_users": users["treated"],
                "control_users": users["control"],
                "split_at": split,
                "metrics": metrics,
            }
        )
    return report


# --- reading a range ------------------------------------------------------------------------------


def _events(
    tables: Tables,
    days: list[date],
    *,
    types: Sequence[str] | None = None,
    attributes: Sequence[str] = ("user_id", "sk", "event_id", "type", "occurred_at", "properties"),
) -> list[dict[str, Any]]:
    events = tables.events
    condition = events.type.is_in(*types) if types else None
    return [
        as_record(e)
        for e in query_days(
            events,
            days,
            shards=tables.settings.day_shards,
            attributes=attributes,
            filter_condition=condition,
        )
    ]


def _occurrences(tables: Tables, days: list[date]) -> list[dict[str, Any]]:
    return [
        occurrence_row(as_record(o))
        for o in query_days(tables.pattern_occurrences, days, shards=tables.settings.day_shards)
    ]


def insight_rows(
    tables: Tables, days: list[date], events: Iterable[Record]
) -> list[dict[str, Any]]:
    """The insights created in ``days``: stored insight items, and ``insight_generated``
    ``events`` for insights never stored (the item wins when both exist)."""
    rows: dict[str, dict[str, Any]] = {}
    for item in query_days(tables.insights, days, shards=tables.settings.day_shards):
        if item.record == INSIGHT_RECORD:
            rows[item.insight_id] = as_record(item)
    for event in events:
        if event.get("type") != INSIGHT_EVENT:
            continue
        properties = event.get("properties") or {}
        insight_id = properties.get("insight_id")
        if isinstance(insight_id, str) and insight_id not in rows:
            rows[insight_id] = {
                "insight_id": insight_id,
                "user_id": event["user_id"],
                "insight_type": properties.get("insight_type"),
                "created_at": event["occurred_at"],
                "properties": {},
            }
    return list(rows.values())


def activity_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/activity``: DAU / WAU / MAU per day and weekly cohort retention.

    Reads the events of the range and of the 29 days before it (for WAU and MAU).
    """
    first, last, _ = parse_range(query, today=today)
    # Who and when only: the cheapest read of every event of the range.
    events = _events(
        tables,
        days_between(first - timedelta(days=29), last),
        attributes=("user_id", "occurred_at"),
    )
    days = active_days(events)
    inside = {u: {d for d in ds if d >= first} for u, ds in days.items()}
    new = {u: ds for u, ds in inside.items() if ds and min(days[u]) >= first}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "activity": activity(days, first, last),
        "retention": cohort_retention(new, first, last),
    }


def patterns_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/patterns``: the pattern → outcome table of a range."""
    first, last, _ = parse_range(query, today=today)
    days = days_between(first, last)
    closed = _events(tables, days, types=[TRADE_CLOSED_EVENT])
    table = pattern_outcomes(_occurrences(tables, days), trade_results(closed))
    return {"from": first.isoformat(), "to": last.isoformat(), **table}


def insights_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/insights``: effectiveness and quality per insight type."""
    from learnloop.journal.quality import quality_by_type

    first, last, n = parse_range(query, today=today)
    days = days_between(first, last)
    # One read of the range's events for both the insights and the trades.
    events = _events(tables, days, types=[TRADE_CLOSED_EVENT, INSIGHT_EVENT])
    insights = insight_rows(tables, days, events)
    closed = closed_trades(events)
    effectiveness = insight_effectiveness(insights, closed, _occurrences(tables, days), n=n)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "n": n,
        "effectiveness": effectiveness,
        "quality": quality_by_type(tables, insights),
    }


__all__ = [
    "METRICS",
    "JournalRangeIn",
    "active_days",
    "activity",
    "activity_report",
    "closed_trades",
    "cohort_retention",
    "insight_effectiveness",
    "insight_rows",
    "insights_report",
    "parse_range",
    "pattern_outcomes",
    "patterns_report",
    "week_of",
]
