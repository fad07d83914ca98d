"""The cost model's arithmetic on cases small enough to compute by hand."""

from __future__ import annotations

import math

import pytest

from learnloop_tools.scale.cost import (
    Prices,
    Traffic,
    monthly_cost,
    personalize_cost,
    route_limits,
    tiered,
)


def test_tiers_fill_in_order() -> None:
    tiers = ((10.0, 2.0), (20.0, 1.0), (math.inf, 0.5))
    assert tiered(5, tiers) == 10.0
    assert tiered(25, tiers) == 10 * 2.0 + 15 * 1.0
    assert tiered(100, tiers) == 10 * 2.0 + 20 * 1.0 + 70 * 0.5
    assert tiered(0, tiers) == 0.0


def test_a_hand_computed_month() -> None:
    # 1,000 requests a day for 30 days = 30,000 requests, each 2 RCU, 3 WCU, 0.5 GB-s,
    # one S3 PUT and two GETs; 10 GB in DynamoDB, 100 GB in S3, 10 task hours of 2 vCPU/8 GB.
    prices = Prices(
        dynamodb_write_per_million=1.0,
        dynamodb_read_per_million=0.5,
        dynamodb_storage_gb_month=0.25,
        lambda_gb_second=0.00002,
        lambda_requests_per_million=0.2,
        api_rest_tiers=((math.inf, 3.5),),
        s3_tier1_per_thousand=0.005,
        s3_tier2_per_thousand=0.0004,
        s3_storage_gb_month=0.023,
        fargate_vcpu_hour=0.04,
        fargate_gb_hour=0.005,
    )
    unit = {
        "rcu": 2,
        "wcu": 3,
        "gb_seconds": 0.5,
        "s3_tier1": 1,
        "s3_tier2": 2,
        "lambda_requests": 1,
        "api_requests": 1,
    }
    cost = monthly_cost(
        {"r": unit},
        {"r": 1_000},
        prices,
        storage_gb=10,
        s3_storage_gb=100,
        fargate_hours=10,
        fargate_vcpu=2,
        fargate_gb=8,
    )
    expected = {
        "api_gateway": 30_000 / 1e6 * 3.5,  # 0.105
        "lambda_requests": 30_000 / 1e6 * 0.2,  # 0.006
        "lambda_duration": 15_000 * 0.00002,  # 0.3
        "dynamodb_reads": 60_000 / 1e6 * 0.5,  # 0.03
        "dynamodb_writes": 90_000 / 1e6 * 1.0,  # 0.09
        "dynamodb_storage": 2.5,
        "s3_requests": 30 * 0.005 + 60 * 0.0004,  # 0.174
        "s3_storage": 2.3,
        "fargate": 10 * (2 * 0.04 + 8 * 0.005),  # 1.2
    }
    for name, value in expected.items():
        assert cost[name] == pytest.approx(value), name
    assert cost["total"] == pytest.approx(sum(expected.values()))  # 6.705


def test_traffic_scales_every_kind_with_events() -> None:
    daily = Traffic(1_000_000, {"events": 1 / 25, "select": 0.1}).daily()
    assert daily == {"events": 40_000, "select": 100_000}


def test_personalize_charges_the_provisioned_minimum_or_the_average() -> None:
    prices = Prices(personalize_tps_tiers=((math.inf, 0.1),))
    quiet = personalize_cost(
        1e6, 8_640, prices, bytes_per_event=1024**3 / 3e7, training_hours_per_month=10
    )
    # 30M events of 1/30M GB = 1 GB; 10 training hours; 0.1 TPS < 1 TPS minimum: 730 TPS-hours
    assert quiet["ingestion"] == pytest.approx(0.05)
    assert quiet["training"] == pytest.approx(2.4)
    assert quiet["recommendations"] == pytest.approx(73.0)
    busy = personalize_cost(1e6, 864_000, prices, bytes_per_event=0, training_hours_per_month=0)
    assert busy["recommendations"] == pytest.approx(10 * 730 * 0.1)  # 10 TPS on average


def test_route_limits_name_the_nearest() -> None:
    found = route_limits(
        "events",
        per_second=100,
        unit={"seconds": 0.05, "max_wcu_one_key": 25},
        hot_partitions=4,
    )
    # 100/s x 25 WCU on 4 partitions of 1,000 WCU/s: 0.625; concurrency 5/1,000; 100/10,000
    assert found["first_limit"] == "partition_wcu"
    assert found["at"] == pytest.approx(0.625)
    assert found["utilisation"]["lambda_concurrency"] == pytest.approx(0.005)
    assert found["utilisation"]["api_rps"] == pytest.approx(0.01)
