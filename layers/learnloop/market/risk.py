"""Risk figures of a return series or a portfolio, and position sizes: ``POST /v1/risk/metrics``.

Returns are simple per-period returns (``close_t / close_{t-1} - 1``). The definitions, which
the tests check against hand-computed values:

* historical VaR at confidence ``c``: ``-q`` where ``q`` is the ``1 - c`` quantile of the
  returns (numpy's default, linear interpolation); CVaR: minus the mean of the returns at or
  below ``q``. Losses are positive numbers.
* parametric (normal) VaR: ``-(mu + z * sigma)`` with ``z`` the ``1 - c`` normal quantile;
  CVaR: ``-(mu - sigma * pdf(z) / (1 - c))``; ``sigma`` is the sample standard deviation.
* volatility: the sample standard deviation, and times ``sqrt(periods_per_year)``.
* Sharpe: ``(mean - rf) / sigma * sqrt(P)``; Sortino: ``(mean - rf) / downside * sqrt(P)``
  with ``downside = sqrt(mean(min(r - rf, 0) ** 2))``; ``rf`` is the annual risk-free rate
  over ``P`` periods.
* maximum drawdown: the largest fall of ``prod(1 + r)`` from its running peak (the start
  counts as a peak).
* beta: ``cov(r, b) / var(b)`` (sample) against a benchmark's returns on the same periods.
* position sizes: fixed-fractional ``equity * risk_fraction / stop_distance`` (the stop
  defaults to the 99 % historical VaR), Kelly ``p - (1 - p) / (avg_win / avg_loss)`` from the
  returns' win rate and payoff, clipped to ``[0, kelly_cap]``, and the volatility target
  ``equity * min(target / annual_vol, max_leverage)``.

Examples
--------
>>> import numpy as np
>>> r = np.array([0.02, -0.01, 0.03, -0.02, 0.01])
>>> round(historical_var(r, 0.95), 6), round(max_drawdown(r)[0], 6)
(0.018, 0.02)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from learnloop.clock import utcnow
from learnloop.market.candle_store import INTERVALS, Interval, Symbol
from learnloop.market.candles import CandleSeries, read_candles
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

__all__ = [
    "CONFIDENCES",
    "RiskMetricsIn",
    "beta",
    "historical_cvar",
    "historical_var",
    "kelly_fraction",
    "max_drawdown",
    "parametric_cvar",
    "parametric_var",
    "position_sizes",
    "risk_metrics",
    "risk_report",
    "sharpe_ratio",
    "sortino_ratio",
]

FloatArray = npt.NDArray[np.float64]
CONFIDENCES = (0.95, 0.99)
MAX_RETURNS = 100_000
MAX_SYMBOLS = 20
_DIGITS = 10
_YEAR_SECONDS = 365 * 86_400  # crypto trades every day

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]
#: A simple return cannot lose more than everything.
Return = Annotated[float, Field(allow_inf_nan=False, ge=-1.0, le=1e6)]
Bounded = Annotated[date, Field(ge=date(1970, 1, 2), le=date(2099, 12, 31))]


def historical_var(returns: FloatArray, confidence: float) -> float:
    """Minus the ``1 - confidence`` quantile of ``returns`` (linear interpolation)."""
    return float(-np.quantile(returns, 1.0 - confidence))


def historical_cvar(returns: FloatArray, confidence: float) -> float:
    """Minus the mean of the returns at or below the ``1 - confidence`` quantile."""
    q = np.quantile(returns, 1.0 - confidence)
    return float(-returns[returns <= q].mean())


def parametric_var(returns: FloatArray, confidence: float) -> float:
    """Normal VaR: ``-(mean + z * std)``, ``z`` the ``1 - confidence`` quantile."""
    z = NormalDist().inv_cdf(1.0 - confidence)
    return float(-(returns.mean() + z * returns.std(ddof=1)))


def parametric_cvar(returns: FloatArray, confidence: float) -> float:
    """Normal expected shortfall: ``-(mean - std * pdf(z) / (1 - confidence))``."""
    z = NormalDist().inv_cdf(1.0 - confidence)
    tail = NormalDist().pdf(z) / (1.0 - confidence)
    return float(-(returns.mean() - returns.std(ddof=1) * tail))


def sharpe_ratio(
    returns: FloatArray, periods_per_year: float, risk_free: float = 0.0
) -> float | None:
    """Annualised Sharpe ratio (``None`` when the returns do not vary)."""
    sigma = returns.std(ddof=1)
    if sigma == 0:
        return None
    excess = returns.mean() - risk_free / periods_per_year
    return float(excess / sigma * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: FloatArray, periods_per_year: float, risk_free: float = 0.0
) -> float | None:
    """Annualised Sortino ratio (``None`` without a return below the risk-free rate)."""
    rf = risk_free / periods_per_year
    downside = math.sqrt(float(np.mean(np.minimum(returns - rf, 0.0) ** 2)))
    if downside == 0:
        return None
    return float((returns.mean() - rf) / downside * math.sqrt(periods_per_year))


def max_drawdown(returns: FloatArray) -> tuple[float, int, int]:
    """``(drawdown, peak, trough)``: the deepest fall of ``prod(1 + r)`` from a running peak;
    ``peak`` and ``trough`` index the wealth path (0 is the start, ``i + 1`` after return ``i``)."""
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peaks = np.maximum.accumulate(wealth)
    drawdowns = 1.0 - wealth / peaks
    trough = int(np.argmax(drawdowns))
    peak = int(np.argmax(wealth[: trough + 1])) if trough else 0
    return float(drawdowns[trough]), peak, trough


def beta(returns: FloatArray, benchmark: FloatArray) -> tuple[float | None, float | None]:
    """``(beta, correlation)`` of ``returns`` to ``benchmark`` (``None`` if it never moves)."""
    var_b = benchmark.var(ddof=1)
    if var_b == 0:
        return None, None
    cov = float(np.cov(returns, benchmark, ddof=1)[0, 1])
    sd = returns.std(ddof=1)
    corr = cov / (sd * math.sqrt(var_b)) if sd > 0 else None
    return cov / float(var_b), corr


def kelly_fraction(returns: FloatArray) -> float | None:
    """``p - (1 - p) / b``: ``p`` the share of positive returns, ``b`` the mean gain over the
    mean loss (``None`` without both gains and losses)."""
    gains, losses = returns[returns > 0], returns[returns < 0]
    if not len(gains) or not len(losses):
        return None
    p = len(gains) / len(returns)
    payoff = gains.mean() / -losses.mean()
    return float(p - (1.0 - p) / payoff)


class PositionIn(Strict):
    """How to size a position: equity and each method's knob."""

    equity: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
    risk_fraction: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.01
    stop_distance: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    kelly_cap: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.25
    target_volatility: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 0.2
    max_leverage: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 1.0


def position_sizes(
    returns: FloatArray, position: PositionIn, periods_per_year: float
) -> dict[str, Any]:
    """The three position sizes (notional, in the equity's currency) and what they rest on."""
    stop = position.stop_distance
    stop_source = "given"
    if stop is None:
        stop, stop_source = historical_var(returns, 0.99), "historical_var_99"
    fixed = position.equity * position.risk_fraction / stop if stop > 0 else None
    kelly = kelly_fraction(returns)
    capped = None if kelly is None else min(max(kelly, 0.0), position.kelly_cap)
    annual_vol = returns.std(ddof=1) * math.sqrt(periods_per_year)
    leverage = (
        min(position.target_volatility / annual_vol, position.max_leverage) if annual_vol else None
    )
    return {
        "equity": position.equity,
        "fixed_fractional": {
            "notional": _num(fixed),
            "risk_fraction": position.risk_fraction,
            "stop_distance": _num(stop),
            "stop_source": stop_source,
        },
        "kelly": {
            "fraction": _num(kelly),
            "capped_fraction": _num(capped),
            "cap": position.kelly_cap,
            "notional": _num(None if capped is None else position.equity * capped),
        },
        "volatility_target": {
            "target": position.target_volatility,
            "annual_volatility": _num(annual_vol),
            "leverage": _num(leverage),
            "notional": _num(None if leverage is None else position.equity * leverage),
        },
    }


def risk_report(
    returns: FloatArray,
    *,
    periods_per_year: float,
    risk_free: float = 0.0,
    benchmark: FloatArray | None = None,
    position: PositionIn | None = None,
) -> dict[str, Any]:
    """Every figure of :mod:`learnloop.market.risk` for one return series (at least 2)."""
    r = np.asarray(returns, dtype=np.float64)
    dd, peak, trough = max_drawdown(r)
    sigma = float(r.std(ddof=1))
    report: dict[str, Any] = {
        "observations": len(r),
        "periods_per_year": periods_per_year,
        "mean_return": _num(float(r.mean())),
        "volatility": {
            "per_period": _num(sigma),
            "annualised": _num(sigma * math.sqrt(periods_per_year)),
        },
        "var": {
            "historical": {_pct(c): _num(historical_var(r, c)) for c in CONFIDENCES},
            "parametric": {_pct(c): _num(parametric_var(r, c)) for c in CONFIDENCES},
        },
        "cvar": {
            "historical": {_pct(c): _num(historical_cvar(r, c)) for c in CONFIDENCES},
            "parametric": {_pct(c): _num(parametric_cvar(r, c)) for c in CONFIDENCES},
        },
        "sharpe": _num(sharpe_ratio(r, periods_per_year, risk_free)),
        "sortino": _num(sortino_ratio(r, periods_per_year, risk_free)),
        "max_drawdown": {"value": _num(dd), "peak": peak, "trough": trough},
        "beta": None,
        "position": None,
    }
    if benchmark is not None:
        b, corr = beta(r, np.asarray(benchmark, dtype=np.float64))
        report["beta"] = {"value": _num(b), "correlation": _num(corr)}
    if position is not None:
        report["position"] = position_sizes(r, position, periods_per_year)
    return report


class PortfolioIn(Strict):
    """Weights of stored symbols; returns are rebalanced each period (``sum w_i r_i``)."""

    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=MAX_SYMBOLS)]
    weights: Annotated[list[Finite], Field(min_length=1, max_length=MAX_SYMBOLS)]
    interval: Interval = "1d"
    from_: Annotated[Bounded | None, Field(alias="from")] = None
    to: Bounded | None = None


class RiskMetricsIn(Strict):
    """Either ``returns`` (2-100000 simple returns) or a ``portfolio`` of stored symbols."""

    returns: Annotated[list[Return], Field(min_length=2, max_length=MAX_RETURNS)] | None = None
    portfolio: PortfolioIn | None = None
    benchmark: Symbol | None = None
    benchmark_returns: (
        Annotated[list[Return], Field(min_length=2, max_length=MAX_RETURNS)] | None
    ) = None
    risk_free_rate: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] = 0.0
    periods_per_year: Annotated[float, Field(gt=0, le=600_000, allow_inf_nan=False)] | None = None
    position: PositionIn | None = None


def risk_metrics(tables: Tables, body: Any, *, today: date | None = None) -> dict[str, Any]:
    """``POST /v1/risk/metrics``: risk figures of ``returns`` or of a stored-candle portfolio.

    Parameters
    ----------
    tables : Tables
        The stage's tables (candles of a portfolio and its benchmark).
    body : Any
        :class:`RiskMetricsIn`.
    today : date, optional
        A portfolio's default ``to`` (default: the current UTC date; ``from`` defaults to a
        year before ``to``).

    Returns
    -------
    dict
        :func:`risk_report`'s figures, plus ``portfolio`` (symbols, weights, the periods used)
        and ``beta.benchmark`` when asked.

    Raises
    ------
    ValidationError
        Neither or both of ``returns`` and ``portfolio``; weights and symbols of different
        lengths; a symbol or benchmark without enough stored candles; ``benchmark_returns``
        of another length (422, naming the field).

    Examples
    --------
    >>> report = risk_metrics(tables, {"returns": [0.01, -0.02, 0.03]})  # doctest: +SKIP
    >>> report["var"]["historical"]["95"]  # doctest: +SKIP
    0.017
    """
    request = validate(RiskMetricsIn, body)
    if (request.returns is None) == (request.portfolio is None):
        raise invalid([{"field": "returns", "message": "send returns or portfolio (one of them)"}])
    benchmark: FloatArray | None = None
    portfolio_info: dict[str, Any] | None = None
    if request.returns is not None:
        returns = np.asarray(request.returns, dtype=np.float64)
        periods = request.periods_per_year or 365.0
        if request.benchmark is not None:
            raise invalid(
                [
                    {
                        "field": "benchmark",
                        "message": "a benchmark symbol needs a portfolio; send benchmark_returns",
                    }
                ]
            )
        if request.benchmark_returns is not None:
            if len(request.benchmark_returns) != len(returns):
                message = f"{len(request.benchmark_returns)} values for {len(returns)} returns"
                raise invalid([{"field": "benchmark_returns", "message": message}])
            benchmark = np.asarray(request.benchmark_returns, dtype=np.float64)
    else:
        assert request.portfolio is not None
        if request.benchmark_returns is not None:
            raise invalid(
                [
                    {
                        "field": "benchmark_returns",
                        "message": "with a portfolio, name a benchmark symbol",
                    }
                ]
            )
        returns, benchmark, portfolio_info = _portfolio_returns(
            tables, request.portfolio, request.benchmark, today=today
        )
        periods = request.periods_per_year or _YEAR_SECONDS / INTERVALS[request.portfolio.interval]
    report = risk_report(
        returns,
        periods_per_year=periods,
        risk_free=request.risk_free_rate,
        benchmark=benchmark,
        position=request.position,
    )
    if report["beta"] is not None and request.benchmark is not None:
        report["beta"]["benchmark"] = request.benchmark.upper()
    report["portfolio"] = portfolio_info
    return report


def _portfolio_returns(
    tables: Tables, portfolio: PortfolioIn, benchmark: str | None, *, today: date | None
) -> tuple[FloatArray, FloatArray | None, dict[str, Any]]:
    symbols = [s.upper() for s in portfolio.symbols]
    if len(portfolio.weights) != len(symbols):
        message = f"{len(portfolio.weights)} weights for {len(symbols)} symbols"
        raise invalid([{"field": "portfolio.weights", "message": message}])
    if len(set(symbols)) != len(symbols):
        raise invalid([{"field": "portfolio.symbols", "message": "a symbol appears twice"}])
    last = portfolio.to or (today or utcnow().date())
    first = portfolio.from_ or last - timedelta(days=365)
    if first >= last:
        raise invalid([{"field": "portfolio.from", "message": "from must be before to"}])
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    wanted = [*symbols, *([benchmark.upper()] if benchmark else [])]
    series: dict[str, CandleSeries] = {}
    for index, symbol in enumerate(wanted):
        found = read_candles(symbol, portfolio.interval, start, end, tables=tables)
        if len(found) < 3:
            where = f"portfolio.symbols[{index}]" if index < len(symbols) else "benchmark"
            message = (
                f"{len(found)} {portfolio.interval} candles of {symbol} stored from {first} "
                f"to {last}; at least 3 needed"
            )
            raise invalid([{"field": where, "message": message}])
        series[symbol] = found
    common = _common_times([series[s] for s in wanted])
    if len(common) < 3:
        raise invalid(
            [
                {
                    "field": "portfolio.symbols",
                    "message": f"only {len(common)} candle times are shared by every symbol "
                    "(at least 3 needed)",
                }
            ]
        )
    matrix = np.column_stack([_returns_at(series[s], common) for s in symbols])
    returns = matrix @ np.asarray(portfolio.weights, dtype=np.float64)
    bench = _returns_at(series[benchmark.upper()], common) if benchmark else None
    times = [f"{t}Z" for t in np.datetime_as_string(common, unit="s")]
    info = {
        "symbols": symbols,
        "weights": list(portfolio.weights),
        "interval": portfolio.interval,
        "from": times[0],
        "to": times[-1],
        "periods": len(returns),
    }
    return returns, bench, info


def _common_times(all_series: Sequence[CandleSeries]) -> npt.NDArray[np.datetime64]:
    common = all_series[0].open_time
    for s in all_series[1:]:
        common = np.intersect1d(common, s.open_time)
    return common


def _returns_at(series: CandleSeries, times: npt.NDArray[np.datetime64]) -> FloatArray:
    close = series.close[np.searchsorted(series.open_time, times)]
    return close[1:] / close[:-1] - 1.0


def _pct(confidence: float) -> str:
    return str(round(confidence * 100))


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), _DIGITS)
