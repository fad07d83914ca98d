"""The journal section of the daily rollup: what the admin journal routes read.

``rollup_daily`` stores, per UTC day, ``daily_stats.journal`` (:func:`journal_day`):

``active``
    The keyed pseudonyms (first 16 hex digits, :func:`user_key`) of the users with an event
    that day: DAU / WAU / MAU and cohort retention are unions of these sets.
``patterns``
    Per pattern type, and for trades with no pattern (``baseline``): occurrences, outcome
    counts and the P&L's count, sum and sum of squares; the day's occurrences joined with the
    day's ``trade_closed`` results (an occurrence's own outcome first).
``timeline``
    Per user key, the day's closed trades (``[closed_at, trade_id, outcome, pnl, patterns]``)
    and their first insight of each type (``{type: [created_at, pattern_type]}``): what
    insight effectiveness compares, per user, around each first insight.
``quality``
    Per insight type: insights stored that day and their complexity match (count and sum),
    and the verdicts last given that day (count, helpful, engagement count and sum).

Sums merge over days exactly (:func:`merge_days`), so a range is read as its rollup items,
one BatchGetItem per 100 days, never a Query per day and shard. Today and yesterday (until
the job has run) are computed live by the same function, so they read as they will once
rolled up (:func:`sections`). The user key is a pseudonym, so a deletion finds and
recomputes the days that name the user (:mod:`learnloop.privacy.deletion`). One item holds at
most 400 KB: about 4,000 closed trades a day; past that the timeline would need its own store.

Examples
--------
>>> [sorted(d) for d in merge_days([{"active": ["a"]}, {"active": ["b", "a"]}])["active_days"]]
[['a'], ['a', 'b']]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from learnloop.journal.occurrences import (
    OUTCOMES,
    TRADE_CLOSED_EVENT,
    occurrence_row,
    outcome_of,
    trade_results,
    with_trade_results,
)
from learnloop.store.queries import as_record, batch_get, query_day
from learnloop.store.records import INSIGHT_RECORD
from learnloop.store.tables import Tables
from learnloop.users.pseudonym import pseudonymize

#: Hex digits of the pseudonym that key a user in the section (64 bits: no collisions among
#: any realistic number of users, and a quarter of the full pseudonym's size).
KEY_CHARS = 16
Record = Mapping[str, Any]
#: The rollup item's field.
SECTION = "journal"
INSIGHT_EVENT = "insight_generated"


def user_key(user_id: str, secret: str) -> str:
    """The key of a user in the journal section: the start of their keyed pseudonym.

    Examples
    --------
    >>> len(user_key("u1", "secret"))
    16
    """
    return pseudonymize(user_id, secret)[:KEY_CHARS]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _empty_sums() -> dict[str, Any]:
    return {"occurrences": 0, "outcomes": dict.fromkeys(OUTCOMES, 0), "pnl": [0, 0.0, 0.0]}


def _add(sums: dict[str, Any], row: Mapping[str, Any]) -> None:
    pnl = _number(row.get("pnl"))
    outcome = outcome_of(row.get("outcome"), pnl)
    if outcome is not None:
        sums["outcomes"][outcome] += 1
    if pnl is not None:
        n, total, squares = sums["pnl"]
        sums["pnl"] = [n + 1, total + pnl, squares + pnl * pnl]


def pattern_sums(
    occurrences: Sequence[Mapping[str, Any]], trades: Mapping[tuple[str, str], Mapping[str, Any]]
) -> dict[str, Any]:
    """Outcome counts and P&L sums per pattern type and for trades with no occurrence
    (``baseline``): what :func:`learnloop.journal.analytics.pattern_outcomes` reports,
    before the rates and intervals."""
    patterns: dict[str, dict[str, Any]] = {}
    patterned: set[tuple[str, str]] = set()
    for row in with_trade_results([dict(o) for o in occurrences], trades):
        sums = patterns.setdefault(str(row["pattern_type"]), _empty_sums())
        sums["occurrences"] += 1
        _add(sums, row)
        if row.get("trade_id"):
            patterned.add((str(row["user_id"]), str(row["trade_id"])))
    baseline = _empty_sums()
    for key, result in trades.items():
        if key not in patterned:
            baseline["occurrences"] += 1  # here: trades
            _add(baseline, result)
    return {"patterns": patterns, "baseline": baseline}


def _quality_sums(
    insight_items: Sequence[Mapping[str, Any]], types: Mapping[str, str], target: float
) -> dict[str, dict[str, Any]]:
    quality: dict[str, dict[str, Any]] = {}

    def of(kind: str) -> dict[str, Any]:
        return quality.setdefault(
            kind,
            {"insights": 0, "match": [0, 0.0], "verdicts": 0, "helpful": 0, "engaged": [0, 0.0]},
        )

    for item in insight_items:
        if item.get("record") == INSIGHT_RECORD:
            sums = of(str(item.get("insight_type") or "unknown"))
            sums["insights"] += 1
            complexity, level = _number(item.get("complexity")), _number(item.get("user_level"))
            if complexity is not None and level is not None:
                sums["match"] = [
                    sums["match"][0] + 1,
                    sums["match"][1] + 1 - abs(complexity - level),
                ]
        elif str(item.get("record", "")).startswith("feedback#") and isinstance(
            item.get("helpful"), bool
        ):
            sums = of(types.get(str(item["insight_id"]), "unknown"))
            sums["verdicts"] += 1
            sums["helpful"] += int(item["helpful"])
            seconds = _number(item.get("engagement_seconds"))
            if seconds is not None and seconds >= 0:
                engaged = min(seconds / target, 1.0)
                sums["engaged"] = [sums["engaged"][0] + 1, sums["engaged"][1] + engaged]
    return quality


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


def insight_rows_of(items: Iterable[Record], events: Iterable[Record]) -> list[dict[str, Any]]:
    """The insights created in a day: its stored insight ``items``, and ``insight_generated``
    ``events`` for insights never stored (the item wins when both exist)."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.get("record") == INSIGHT_RECORD:
            rows[str(item["insight_id"])] = dict(item)
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
                # what the estimator needs: the pattern it is about and the trade behind it
                "properties": {
                    k: properties[k]
                    for k in ("pattern_type", "trade_id")
                    if isinstance(properties.get(k), str)
                },
            }
    return list(rows.values())


def journal_day(
    tables: Tables,
    day: date,
    *,
    events: Sequence[Mapping[str, Any]] | None = None,
    insight_items: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The journal section of ``day`` (see the module docstring).

    ``events`` and ``insight_items`` are the day's partitions when the caller read them
    already (the rollup does); the day's pattern occurrences are read here, and the insight
    items that feedback of the day refers to (one BatchGetItem per 100).
    """
    settings = tables.settings
    shards = settings.day_shards
    if events is None:
        events = [as_record(e) for e in query_day(tables.events, day, shards=shards)]
    if insight_items is None:
        insight_items = [as_record(i) for i in query_day(tables.insights, day, shards=shards)]
    occurrences = [
        occurrence_row(as_record(o))
        for o in query_day(tables.pattern_occurrences, day, shards=shards)
    ]
    secret = settings.pseudonym_secret
    keys: dict[str, str] = {}

    def key(user: Any) -> str:
        user = str(user)
        if user not in keys:
            keys[user] = user_key(user, secret)
        return keys[user]

    closed = [e for e in events if e.get("type") in (TRADE_CLOSED_EVENT, INSIGHT_EVENT)]
    flagged: dict[tuple[str, str], set[str]] = {}
    for row in occurrences:
        if row.get("trade_id"):
            flagged.setdefault((str(row["user_id"]), str(row["trade_id"])), set()).add(
                str(row["pattern_type"])
            )
    timeline: dict[str, dict[str, Any]] = {}
    for user, rows in closed_trades(closed).items():
        timeline.setdefault(key(user), {"trades": [], "first": {}})["trades"] = [
            [
                t["at"],
                t["trade_id"],
                t.get("outcome"),
                t.get("pnl"),
                sorted(flagged.get((user, t["trade_id"]), ())),
            ]
            for t in rows
        ]
    insights = insight_rows_of([i for i in insight_items], closed)
    for insight in sorted(insights, key=lambda i: (str(i["created_at"]), str(i["insight_id"]))):
        properties = insight.get("properties") or {}
        pattern = properties.get("pattern_type") if isinstance(properties, Mapping) else None
        first = timeline.setdefault(key(insight["user_id"]), {"trades": [], "first": {}})["first"]
        first.setdefault(
            str(insight.get("insight_type") or "unknown"),
            [str(insight["created_at"]), pattern if isinstance(pattern, str) else None],
        )
    # the types of the insights the day's feedback is about, stored that day or before
    types = {str(i["insight_id"]): str(i.get("insight_type") or "unknown") for i in insights}
    wanted = sorted(
        {
            str(i["insight_id"])
            for i in insight_items
            if str(i.get("record", "")).startswith("feedback#")
            and str(i["insight_id"]) not in types
        }
    )
    for item in batch_get(tables.insights, [(w, INSIGHT_RECORD) for w in wanted]):
        types[item.insight_id] = str(item.insight_type or "unknown")
    return {
        "active": sorted({key(e["user_id"]) for e in events if e.get("user_id")}),
        **pattern_sums(occurrences, trade_results(closed)),
        "timeline": timeline,
        "quality": _quality_sums(insight_items, types, settings.insight_engagement_target_seconds),
    }


def merge_days(sections: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sections of a range as the analytics need them: ``active_days`` (one set per
    day), summed ``patterns`` and ``baseline``, the ``trades`` and ``first`` insights per user
    key, and summed ``quality``."""
    active_days: list[set[str]] = []
    patterns: dict[str, dict[str, Any]] = {}
    baseline = _empty_sums()
    trades: dict[str, list[list[Any]]] = {}
    first: dict[str, dict[str, list[Any]]] = {}
    quality: dict[str, dict[str, Any]] = {}

    def add_sums(into: dict[str, Any], sums: Mapping[str, Any]) -> None:
        into["occurrences"] += int(sums.get("occurrences", 0))
        for outcome in OUTCOMES:
            into["outcomes"][outcome] += int((sums.get("outcomes") or {}).get(outcome, 0))
        n, total, squares = sums.get("pnl") or (0, 0.0, 0.0)
        into["pnl"] = [
            into["pnl"][0] + int(n),
            into["pnl"][1] + float(total),
            into["pnl"][2] + float(squares),
        ]

    for section in sections:
        active_days.append(set(section.get("active") or ()))
        for kind, sums in (section.get("patterns") or {}).items():
            add_sums(patterns.setdefault(kind, _empty_sums()), sums)
        add_sums(baseline, section.get("baseline") or _empty_sums())
        for user, entry in (section.get("timeline") or {}).items():
            trades.setdefault(user, []).extend(entry.get("trades") or [])
            mine = first.setdefault(user, {})
            for kind, (at, pattern) in (entry.get("first") or {}).items():
                if kind not in mine or str(at) < str(mine[kind][0]):
                    mine[kind] = [at, pattern]
        for kind, sums in (section.get("quality") or {}).items():
            into = quality.setdefault(
                kind,
                {
                    "insights": 0,
                    "match": [0, 0.0],
                    "verdicts": 0,
                    "helpful": 0,
                    "engaged": [0, 0.0],
                },
            )
            for name in ("insights", "verdicts", "helpful"):
                into[name] += int(sums.get(name, 0))
            for name in ("match", "engaged"):
                count, total = sums.get(name) or (0, 0.0)
                into[name] = [into[name][0] + int(count), into[name][1] + float(total)]
    for rows in trades.values():
        rows.sort(key=lambda r: (str(r[0]), str(r[1])))
    return {
        "active_days": active_days,
        "patterns": patterns,
        "baseline": baseline,
        "trades": trades,
        "first": first,
        "quality": quality,
    }


def sections(
    tables: Tables, days: Sequence[date], *, today: date
) -> tuple[list[dict[str, Any]], list[str]]:
    """The journal sections of ``days`` and the days left out.

    A day's stored rollup section is read (one BatchGetItem per 100 days). Today, and
    yesterday until the 00:15 job has rolled it up, are computed live by the same function
    (a day's partitions: a few queries). An older day with no section is not computed on a
    request (a range of them would read every raw partition, which is what the rollup
    avoids): it counts as empty and is listed, so ``learnloop job run rollup_daily --day D`` (or
    the next run) can fill it.
    """
    stored = {
        item.date: (item.stats or {}).get(SECTION)
        for item in batch_get(tables.daily_stats, [d.isoformat() for d in days])
    }
    out: list[dict[str, Any]] = []
    missing: list[str] = []
    for day in days:
        section = stored.get(day.isoformat())
        if section is not None:
            out.append(section)
        elif day >= today - timedelta(days=1):
            out.append(journal_day(tables, day))
        else:
            missing.append(day.isoformat())
            out.append({})
    return out, missing


#: The sections the journal adds to the daily rollup (``rollup_day(..., sections=...)``).
ROLLUP_SECTIONS = {SECTION: journal_day}


__all__ = [
    "INSIGHT_EVENT",
    "KEY_CHARS",
    "ROLLUP_SECTIONS",
    "SECTION",
    "closed_trades",
    "insight_rows_of",
    "journal_day",
    "merge_days",
    "pattern_sums",
    "sections",
    "user_key",
]
