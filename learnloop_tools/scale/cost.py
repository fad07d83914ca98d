"""Monthly cost and first limits of a traffic level, from measured per-unit usage.

:func:`monthly_cost` multiplies what one event, request, job row and training row consumed
(measured on the embedded stack by :mod:`learnloop_tools.scale.units` and ``bench/scale.py``)
by a day's traffic (:class:`Traffic`) and 30 days, and prices it with :class:`Prices`: AWS
on-demand list prices for us-east-1, as published on the pages cited in ``docs/scale.md``.
:func:`first_limits` says, per route family and job, which hard limit that traffic reaches
first and what lifts it. :func:`personalize_cost` prices the same traffic on Amazon Personalize.

Examples
--------
>>> unit = {"rcu": 0.5, "wcu": 2.0, "gb_seconds": 0.01, "s3_tier1": 0, "s3_tier2": 0,
...         "s3_bytes_in": 0, "lambda_requests": 1.0, "api_requests": 1.0}
>>> cost = monthly_cost({"events": unit}, {"events": 1_000_000}, Prices())
>>> round(cost["total"], 2)  # 30M requests: API 105.00, Lambda 6.00 + 5.00, DynamoDB 1.88 + 37.50
155.38
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DAYS_PER_MONTH = 30
SECONDS_PER_DAY = 86_400
HOURS_PER_MONTH = 730  # AWS's own monthly hours for per-hour prices


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1 (N. Virginia), USD; see docs/scale.md for the sources.

    ``api_rest_tiers`` and ``personalize_tps_tiers`` are ``(units in the tier, price)`` per
    month, the last tier unbounded (``math.inf``).
    """

    region: str = "us-east-1"
    as_of: str = "2026-12-07"
    dynamodb_write_per_million: float = 0.625
    dynamodb_read_per_million: float = 0.125
    dynamodb_storage_gb_month: float = 0.25
    lambda_gb_second: float = 0.0000166667
    lambda_requests_per_million: float = 0.20
    api_rest_tiers: tuple[tuple[float, float], ...] = (
        (333e6, 3.50),
        (667e6, 2.80),
        (19e9, 2.38),
        (math.inf, 1.51),
    )
    s3_tier1_per_thousand: float = 0.005
    s3_tier2_per_thousand: float = 0.0004
    s3_storage_gb_month: float = 0.023
    fargate_vcpu_hour: float = 0.04048
    fargate_gb_hour: float = 0.004445
    personalize_ingest_gb: float = 0.05
    personalize_training_hour: float = 0.24
    personalize_tps_tiers: tuple[tuple[float, float], ...] = (
        (20_000, 0.0556),
        (180_000, 0.0278),
        (math.inf, 0.0139),
    )


def tiered(quantity: float, tiers: Sequence[tuple[float, float]], per: float = 1.0) -> float:
    """Price of ``quantity`` under volume tiers of ``(size, price per `per` units)``.

    >>> tiered(400e6, ((333e6, 3.5), (math.inf, 2.8)), per=1e6)  # 333 * 3.5 + 67 * 2.8
    1353.1
    """
    cost, left = 0.0, quantity
    for size, price in tiers:
        used = min(left, size)
        cost += used / per * price
        left -= used
        if left <= 0:
            break
    return round(cost, 6)


@dataclass(frozen=True)
class Traffic:
    """A day's traffic, as units of the measured kinds per day.

    ``per_event`` scales every kind with the events ingested: e.g. ``{"events": 1.0,
    "select": 0.1}`` means every event is ingested and one in ten leads to a bandit select.
    """

    events_per_day: float
    per_event: Mapping[str, float] = field(default_factory=dict)

    def daily(self) -> dict[str, float]:
        """Units per day of each kind."""
        return {kind: self.events_per_day * share for kind, share in self.per_event.items()}


def monthly_cost(
    units: Mapping[str, Mapping[str, float]],
    per_day: Mapping[str, float],
    prices: Prices,
    *,
    storage_gb: float = 0.0,
    s3_storage_gb: float = 0.0,
    fargate_hours: float = 0.0,
    fargate_vcpu: float = 2.0,
    fargate_gb: float = 8.0,
) -> dict[str, float]:
    """Monthly USD per service for ``per_day[kind]`` units a day of each measured ``kind``.

    Parameters
    ----------
    units : mapping of kind to usage
        What one unit of ``kind`` consumed: ``rcu``, ``wcu``, ``gb_seconds``, ``s3_tier1``,
        ``s3_tier2``, ``lambda_requests`` (invocations) and ``api_requests`` (API Gateway
        calls), each optional (0).
    per_day : mapping of kind to float
        How many units of each kind a day.
    storage_gb, s3_storage_gb : float
        DynamoDB and S3 data held over the month.
    fargate_hours, fargate_vcpu, fargate_gb : float
        Training task hours a month and the task's size.

    Returns
    -------
    dict
        ``api_gateway``, ``lambda_requests``, ``lambda_duration``, ``dynamodb_reads``,
        ``dynamodb_writes``, ``dynamodb_storage``, ``s3_requests``, ``s3_storage``, ``fargate``
        and ``total``.
    """
    month: dict[str, float] = {}
    for key in ("rcu", "wcu", "gb_seconds", "s3_tier1", "s3_tier2", "lambda_requests"):
        month[key] = DAYS_PER_MONTH * sum(
            float(units[kind].get(key, 0.0)) * count for kind, count in per_day.items()
        )
    api_requests = DAYS_PER_MONTH * sum(
        float(units[kind].get("api_requests", 0.0)) * count for kind, count in per_day.items()
    )
    cost = {
        "api_gateway": tiered(api_requests, prices.api_rest_tiers, per=1e6),
        "lambda_requests": month["lambda_requests"] / 1e6 * prices.lambda_requests_per_million,
        "lambda_duration": month["gb_seconds"] * prices.lambda_gb_second,
        "dynamodb_reads": month["rcu"] / 1e6 * prices.dynamodb_read_per_million,
        "dynamodb_writes": month["wcu"] / 1e6 * prices.dynamodb_write_per_million,
        "dynamodb_storage": storage_gb * prices.dynamodb_storage_gb_month,
        "s3_requests": month["s3_tier1"] / 1e3 * prices.s3_tier1_per_thousand
        + month["s3_tier2"] / 1e3 * prices.s3_tier2_per_thousand,
        "s3_storage": s3_storage_gb * prices.s3_storage_gb_month,
        "fargate": fargate_hours
        * (fargate_vcpu * prices.fargate_vcpu_hour + fargate_gb * prices.fargate_gb_hour),
    }
    cost["total"] = sum(cost.values())
    return cost


def personalize_cost(
    events_per_day: float,
    recommendations_per_day: float,
    prices: Prices,
    *,
    bytes_per_event: float,
    training_hours_per_month: float,
    min_tps: float = 1.0,
) -> dict[str, float]:
    """Amazon Personalize's monthly USD for the same traffic (custom solution + campaign).

    Ingestion is charged per GB of interactions sent; real-time recommendations per TPS-hour,
    the larger of the provisioned minimum and the average requests per second, every hour the
    campaign is up; training per training hour (how many a solution takes is not published:
    ``training_hours_per_month`` is an assumption the caller states).

    >>> c = personalize_cost(1e6, 1e5, Prices(), bytes_per_event=100,
    ...                      training_hours_per_month=30)
    >>> round(c["ingestion"], 3), round(c["training"], 2), round(c["recommendations"], 2)
    (0.14, 7.2, 46.98)
    """
    gb = events_per_day * DAYS_PER_MONTH * bytes_per_event / 1024**3
    tps = max(min_tps, recommendations_per_day / SECONDS_PER_DAY)
    tps_hours = tps * HOURS_PER_MONTH
    cost = {
        "ingestion": gb * prices.personalize_ingest_gb,
        "training": training_hours_per_month * prices.personalize_training_hour,
        "recommendations": tiered(tps_hours, prices.personalize_tps_tiers),
    }
    cost["total"] = sum(cost.values())
    return cost


@dataclass(frozen=True)
class Limits:
    """The hard limits the model checks (AWS defaults; several are adjustable quotas)."""

    lambda_timeout_s: float = 900.0
    lambda_memory_mb: float = 10_240.0
    api_timeout_s: float = 29.0
    partition_wcu_s: float = 1_000.0
    partition_rcu_s: float = 3_000.0
    lambda_concurrency: float = 1_000.0
    api_rps: float = 10_000.0
    api_payload_bytes: float = 10 * 1024**2
    lambda_payload_bytes: float = 6 * 1024**2


def route_limits(
    name: str,
    per_second: float,
    unit: Mapping[str, Any],
    *,
    hot_partitions: float,
    limits: Limits = Limits(),
) -> dict[str, Any]:
    """Headroom of one route family at ``per_second`` requests (peak) against each limit.

    ``unit`` holds the family's measured ``seconds`` (handler time), ``max_wcu_one_key`` /
    ``max_rcu_one_key`` (the most units one request puts on a single day-partition key) and
    ``payload_bytes``; ``hot_partitions`` is how many partition keys share that load (the day
    shards). Returns each limit's utilisation (1.0 = at the limit) and the first to reach 1.
    """
    use = {
        "lambda_concurrency": per_second
        * float(unit.get("seconds", 0.0))
        / limits.lambda_concurrency,
        "api_rps": per_second / limits.api_rps,
        "partition_wcu": per_second
        * float(unit.get("max_wcu_one_key", 0.0))
        / (hot_partitions * limits.partition_wcu_s),
        "partition_rcu": per_second
        * float(unit.get("max_rcu_one_key", 0.0))
        / (hot_partitions * limits.partition_rcu_s),
        "api_timeout": float(unit.get("seconds", 0.0)) / limits.api_timeout_s,
    }
    first = max(use, key=lambda k: use[k])
    return {"route": name, "utilisation": use, "first_limit": first, "at": use[first]}


__all__ = [
    "DAYS_PER_MONTH",
    "Limits",
    "Prices",
    "Traffic",
    "monthly_cost",
    "personalize_cost",
    "route_limits",
    "tiered",
]
