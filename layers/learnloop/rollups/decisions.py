"""Click-through rate and reward of logged decisions, per policy, version, position and variant.

:func:`decision_stats` aggregates decisions as :func:`learnloop.decisions.log.read_decisions`
yields them (joined with their feedback). ``rollup_daily`` stores it in each day's
``daily_stats`` item (key ``decisions``); ``GET /v1/admin/decisions/stats`` computes it live
for a range of days, so feedback that arrives after the rollup ran is counted too.

Definitions: an *impression* is one item shown at one position; ``ctr`` is clicks over
impressions; ``decision_ctr`` is the share of decisions with at least one click;
``reward_mean`` is the mean over decisions of the summed feedback values, a decision without
feedback counting 0 (no click is no reward).

Examples
--------
>>> rows = [{"surface": "bandit", "policy": "thompson", "policy_version": "v1", "variant": None,
...          "shown": [{"item": "a", "position": 0, "propensity": 0.6}], "clicks": ["a"],
...          "feedback": [{"type": "click", "item": "a", "value": 1.0}], "reward": 1.0},
...         {"surface": "bandit", "policy": "thompson", "policy_version": "v1", "variant": None,
...          "shown": [{"item": "b", "position": 0, "propensity": 0.4}], "clicks": [],
...          "feedback": [], "reward": None}]
>>> stats = decision_stats(rows)
>>> stats["decisions"], stats["by_policy"][0]["ctr"], stats["by_policy"][0]["reward_mean"]
(2, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from learnloop.clock import utcnow
from learnloop.decisions.log import read_decisions
from learnloop.rollups.stats import StatsRangeIn
from learnloop.store.queries import days_between
from learnloop.store.tables import Tables
from learnloop.validation import invalid, validate

__all__ = ["MAX_DECISION_RANGE_DAYS", "decision_stats", "decision_stats_range"]

#: ``GET /v1/admin/decisions/stats`` reads every decision of the range: at most a month.
MAX_DECISION_RANGE_DAYS = 31
DEFAULT_DECISION_RANGE_DAYS = 7


def decision_stats(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, CTR and mean reward of ``records`` per policy group and per position.

    Returns
    -------
    dict
        ``{"decisions", "with_feedback", "by_policy": [{"surface", "policy",
        "policy_version", "variant", "decisions", "impressions", "clicks", "conversions",
        "ctr", "decision_ctr", "reward_mean"}], "by_position": [{"surface", "policy",
        "position", "impressions", "clicks", "ctr"}]}``, groups sorted by their keys.
    """
    groups: dict[tuple[Any, ...], dict[str, float]] = {}
    positions: dict[tuple[Any, ...], dict[str, float]] = {}
    total = with_feedback = 0
    for record in records:
        total += 1
        feedback = record.get("feedback") or []
        with_feedback += bool(feedback)
        variant = record.get("variant") or None
        label = f"{variant['experiment_id']}:{variant['variant']}" if variant else None
        key = (record["surface"], record["policy"], record.get("policy_version") or "", label)
        group = groups.setdefault(
            key,
            {
                "decisions": 0,
                "impressions": 0,
                "clicks": 0,
                "conversions": 0,
                "clicked": 0,
                "reward": 0.0,
            },
        )
        clicks = set(record.get("clicks") or [])
        shown = record.get("shown") or []
        group["decisions"] += 1
        group["impressions"] += len(shown)
        group["clicks"] += len(clicks)
        group["clicked"] += bool(clicks)
        group["conversions"] += sum(1 for f in feedback if f["type"] == "conversion")
        group["reward"] += float(record.get("reward") or 0.0)
        for entry in shown:
            at = positions.setdefault(
                (record["surface"], record["policy"], int(entry["position"])),
                {"impressions": 0, "clicks": 0},
            )
            at["impressions"] += 1
            at["clicks"] += entry["item"] in clicks
    return {
        "decisions": total,
        "with_feedback": with_feedback,
        "by_policy": [
            {
                "surface": surface,
                "policy": policy,
                "policy_version": version or None,
                "variant": label,
                "decisions": int(g["decisions"]),
                "impressions": int(g["impressions"]),
                "clicks": int(g["clicks"]),
                "conversions": int(g["conversions"]),
                "ctr": _ratio(g["clicks"], g["impressions"]),
                "decision_ctr": _ratio(g["clicked"], g["decisions"]),
                "reward_mean": _ratio(g["reward"], g["decisions"]),
            }
            for (surface, policy, version, label), g in sorted(
                groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])
            )
        ],
        "by_position": [
            {
                "surface": surface,
                "policy": policy,
                "position": position,
                "impressions": int(p["impressions"]),
                "clicks": int(p["clicks"]),
                "ctr": _ratio(p["clicks"], p["impressions"]),
            }
            for (surface, policy, position), p in sorted(positions.items())
        ],
    }


def decision_stats_range(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/decisions/stats?from&to``: :func:`decision_stats` of every day and of
    the whole range (default: the 7 days up to today, UTC; at most 31 days).

    Raises
    ------
    ValidationError
        A bad date, ``from`` after ``to``, or a range over 31 days (422 naming ``from``).

    Examples
    --------
    >>> decision_stats_range(tables, {"to": "2026-11-20"})["from"]  # doctest: +SKIP
    '2026-11-14'
    """
    request = validate(StatsRangeIn, dict(query or {}))
    last = request.to or (today or utcnow().date())
    first = request.from_ or last - timedelta(days=DEFAULT_DECISION_RANGE_DAYS - 1)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    if (last - first).days + 1 > MAX_DECISION_RANGE_DAYS:
        raise invalid(
            [
                {
                    "field": "from",
                    "message": f"the range may span at most {MAX_DECISION_RANGE_DAYS} days",
                    "type": "range",
                }
            ]
        )
    days = []
    everything: list[Mapping[str, Any]] = []
    for day in days_between(first, last):
        records = list(read_decisions(tables, day, day))
        everything.extend(records)
        days.append({"date": day.isoformat(), **decision_stats(records)})
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "totals": decision_stats(everything),
        "days": days,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 6) if denominator else None
