"""Risk figures against values computed by hand on a five-return series.

r = [0.02, -0.01, 0.03, -0.02, 0.01]: mean 0.006, squared deviations sum 0.00172, so the
sample variance is 0.00043; sorted r = [-0.02, -0.01, 0.01, 0.02, 0.03]. The benchmark
b = [0.01, -0.02, 0.02, -0.01, 0.0] has mean 0, sample variance 0.001 / 4 and sample
covariance with r of 0.0012 / 4, so beta = 1.2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from learnloop.exceptions import ValidationError
from learnloop.market import risk
from learnloop.market.risk import PositionIn

R = np.array([0.02, -0.01, 0.03, -0.02, 0.01])
B = np.array([0.01, -0.02, 0.02, -0.01, 0.0])
SIGMA = math.sqrt(0.00043)
Z95, Z99 = -1.6448536269514722, -2.3263478740408408  # normal quantiles of 0.05 and 0.01
PDF95, PDF99 = 0.10313564037537128, 0.026652142203458  # normal density there


def close(value: float | None, expected: float) -> None:
    assert value is not None
    assert value == pytest.approx(expected, abs=1e-9)


def test_historical_var_and_cvar_interpolate_the_sorted_returns() -> None:
    # 5 % quantile: index 0.2 between -0.02 and -0.01; 1 %: index 0.04.
    close(risk.historical_var(R, 0.95), 0.018)
    close(risk.historical_var(R, 0.99), 0.0196)
    close(risk.historical_cvar(R, 0.95), 0.02)  # only -0.02 is at or below -0.018
    close(risk.historical_cvar(R, 0.99), 0.02)


def test_parametric_var_and_cvar_use_the_sample_sigma() -> None:
    close(risk.parametric_var(R, 0.95), -(0.006 + Z95 * SIGMA))
    close(risk.parametric_var(R, 0.99), -(0.006 + Z99 * SIGMA))
    close(risk.parametric_cvar(R, 0.95), -(0.006 - SIGMA * PDF95 / 0.05))
    close(risk.parametric_cvar(R, 0.99), -(0.006 - SIGMA * PDF99 / 0.01))


def test_sharpe_sortino_drawdown_and_beta() -> None:
    close(risk.sharpe_ratio(R, 252), 0.006 / SIGMA * math.sqrt(252))
    # rf 2.52 % a year is 0.0001 a period: excess mean 0.0059.
    close(risk.sharpe_ratio(R, 252, 0.0252), 0.0059 / SIGMA * math.sqrt(252))
    # Downside deviation: sqrt((0.01² + 0.02²) / 5) = 0.01.
    close(risk.sortino_ratio(R, 252), 0.6 * math.sqrt(252))
    # Wealth 1, 1.02, 1.0098, 1.040094, 1.01929212, ...: the fall from step 3 to 4 is 2 %.
    assert risk.max_drawdown(R) == (pytest.approx(0.02, abs=1e-12), 3, 4)
    beta, corr = risk.beta(R, B)
    close(beta, 1.2)
    close(corr, 0.0003 / (SIGMA * math.sqrt(0.00025)))
    assert risk.sharpe_ratio(np.array([0.01, 0.01]), 365) is None
    assert risk.sortino_ratio(np.array([0.01, 0.02]), 365) is None


def test_position_sizes() -> None:
    # Kelly: p = 3/5, mean gain 0.02, mean loss 0.015, payoff 4/3: 0.6 - 0.4 * 3/4 = 0.3.
    close(risk.kelly_fraction(R), 0.3)
    sizes = risk.position_sizes(R, PositionIn(equity=10_000, stop_distance=0.05), 252)
    close(sizes["fixed_fractional"]["notional"], 10_000 * 0.01 / 0.05)
    close(sizes["kelly"]["capped_fraction"], 0.25)
    close(sizes["kelly"]["notional"], 2_500)
    annual = SIGMA * math.sqrt(252)
    close(sizes["volatility_target"]["leverage"], 0.2 / annual)
    close(sizes["volatility_target"]["notional"], 10_000 * 0.2 / annual)
    # No stop given: the 99 % historical VaR (0.0196) is the stop.
    default = risk.position_sizes(R, PositionIn(equity=10_000), 252)["fixed_fractional"]
    assert default["stop_source"] == "historical_var_99"
    close(default["notional"], 100 / 0.0196)
    capped = risk.position_sizes(R, PositionIn(equity=1, target_volatility=5), 252)
    close(capped["volatility_target"]["leverage"], 1.0)  # max_leverage


def test_risk_metrics_of_a_return_series() -> None:
    body = {
        "returns": R.tolist(),
        "benchmark_returns": B.tolist(),
        "periods_per_year": 252,
        "position": {"equity": 10_000, "stop_distance": 0.05},
    }
    report = risk.risk_metrics(None, body)  # type: ignore[arg-type]
    assert report["observations"] == 5
    close(report["var"]["historical"]["95"], 0.018)
    close(report["cvar"]["parametric"]["99"], -(0.006 - SIGMA * PDF99 / 0.01))
    close(report["volatility"]["annualised"], SIGMA * math.sqrt(252))
    close(report["beta"]["value"], 1.2)
    assert report["max_drawdown"] == {"value": 0.02, "peak": 3, "trough": 4}
    close(report["position"]["kelly"]["fraction"], 0.3)
    assert report["portfolio"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "returns"),
        ({"returns": [0.1]}, "returns"),
        ({"returns": [0.1, -1.5]}, "returns[1]"),
        ({"returns": [0.1, float("nan")]}, "returns[1]"),
        ({"returns": [0.1, 0.2], "benchmark_returns": [0.1]}, "benchmark_returns"),
        ({"returns": [0.1, 0.2], "benchmark_returns": [0.1, 0.2, 0.3]}, "benchmark_returns"),
        ({"returns": [0.1, 0.2], "benchmark": "BTC"}, "benchmark"),
        ({"returns": [0.1, 0.2], "position": {"equity": -1}}, "position.equity"),
        ({"returns": [0.1, 0.2], "position": {"equity": 1, "kelly_cap": 2}}, "position.kelly_cap"),
        (
            {"returns": [0.1, 0.2], "portfolio": {"symbols": ["A"], "weights": [1]}},
            "returns",
        ),
        ({"portfolio": {"symbols": ["A/B"], "weights": [1]}}, "portfolio.symbols[0]"),
    ],
)
def test_bad_bodies_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        risk.risk_metrics(None, body)  # type: ignore[arg-type]
    assert field in {d["field"] for d in caught.value.details}
